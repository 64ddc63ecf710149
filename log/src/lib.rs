//! brook-log: the embedded, partitioned, Kafka-like log that Brook's data lives in.
