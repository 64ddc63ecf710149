//! ksqlDB functions as DataFusion user-defined functions, with one registry that documents them.
