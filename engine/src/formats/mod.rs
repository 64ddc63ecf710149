//! Key and value formats: bytes on the log <-> Arrow columns, as ksqlDB encodes them.
