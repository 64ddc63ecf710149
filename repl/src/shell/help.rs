//! help.rs owns the shell's HELP text.

pub const TEXT: &str = r#"Statements end with ';' and may span lines. Tab completes keywords and the names of
streams, tables, columns, functions and topics; Ctrl-R searches history.

Sources and data
  CREATE STREAM s (id STRING KEY, n INT) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');
  CREATE TABLE t (id STRING PRIMARY KEY, n INT) WITH (...);
  CREATE STREAM|TABLE x AS SELECT ...;     a persistent query, kept running
  INSERT INTO s (id, n) VALUES ('a', 1);
  INSERT INTO s SELECT ...;                another persistent query
  DROP STREAM|TABLE x [DELETE TOPIC];

Queries
  SELECT ... FROM table [WHERE ...];       pull: the table's current rows
  SELECT ... FROM s [WINDOW ...] [GROUP BY ...] EMIT CHANGES [LIMIT n];
                                           push: rows as they arrive, until LIMIT or Ctrl-C
                                           (from the start with SET 'auto.offset.reset'='earliest';)
  PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n];   a topic's raw records

Catalog
  SHOW|LIST STREAMS | TABLES | TOPICS | QUERIES | PROPERTIES | FUNCTIONS | TYPES | VARIABLES;
  DESCRIBE x [EXTENDED];  DESCRIBE STREAMS|TABLES [EXTENDED];  DESCRIBE FUNCTION f;
  EXPLAIN <statement> | <query id>;  TERMINATE <query id> | ALL;
  SET 'property'='value';  UNSET 'property';  DEFINE name = 'value';  UNDEFINE name;
  RUN SCRIPT 'file.sql';

Shell
  OUTPUT JSON | TABULAR    how results are shown
  SPOOL <file> | OFF       copy commands and their output to a file (one at a time)
  CLEAR                    clear the screen
  HELP                     this text
  EXIT | QUIT | Ctrl-D     leave (persistent queries stop with the shell and resume when
                           Brook next opens the data directory)
"#;
