//! results.rs owns the typed results of the statements that describe things — SHOW, LIST,
//! DESCRIBE, EXPLAIN — as [`Listing`]: plain data each front end renders its own way (the
//! shell as tables and text, the server as ksqlDB's JSON entities) — and what a query's
//! result looks like in ksqlDB's REST API: its header schema, rows as JSON values, final
//! message.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema as ArrowSchema};
use brook_sql::analyzer::MemoryCatalog;
use brook_sql::ast::{SourceKind, StatementKind};
use brook_sql::plan::{Column, ColumnRole, Schema, SqlType};

use serde_json::{json, Map, Value};

use super::transient::QueryRows;
use crate::formats::{self, FormatOptions};

/// What a SHOW / LIST / DESCRIBE / EXPLAIN statement returned.
#[derive(Debug, Clone)]
pub enum Listing {
    /// SHOW STREAMS | TABLES.
    Sources {
        kind: SourceKind,
        sources: Vec<SourceSummary>,
    },
    /// DESCRIBE source [EXTENDED] (one), DESCRIBE STREAMS | TABLES (all of a kind).
    SourceDescriptions {
        descriptions: Vec<SourceDescription>,
        /// DESCRIBE STREAMS | TABLES: a list, even of one.
        many: bool,
    },
    /// SHOW [ALL] TOPICS.
    Topics(Vec<TopicSummary>),
    /// SHOW QUERIES.
    Queries(Vec<QuerySummary>),
    /// SHOW PROPERTIES: every property Brook reads with its value in effect, and those the
    /// session set.
    Properties(Vec<Property>),
    /// SHOW TYPES.
    Types(Vec<TypeSummary>),
    /// SHOW VARIABLES.
    Variables(Vec<Variable>),
    /// SHOW FUNCTIONS.
    Functions(Vec<FunctionSummary>),
    /// DESCRIBE FUNCTION.
    FunctionDescription(FunctionDescription),
    /// EXPLAIN <query id>.
    QueryDescription(QueryDescription),
    /// ASSERT [NOT EXISTS] TOPIC that held: the topic as written, and whether it was asserted
    /// to exist.
    AssertTopic { topic: String, exists: bool },
    /// ASSERT SCHEMA that held: the subject and id asserted.
    AssertSchema {
        subject: Option<String>,
        id: Option<i64>,
        exists: bool,
    },
    /// SHOW [SOURCE | SINK] CONNECTORS, as Kafka Connect at `url` lists them.
    Connectors {
        url: String,
        connectors: Vec<super::connect::ConnectorSummary>,
    },
    /// DESCRIBE CONNECTOR.
    ConnectorDescription(super::connect::ConnectorDescription),
    /// EXPLAIN <statement>: the logical plan it would run.
    Plan {
        statement: String,
        plan: Option<String>,
    },
}

/// A stream or table in SHOW STREAMS | TABLES.
#[derive(Debug, Clone)]
pub struct SourceSummary {
    pub name: String,
    pub kind: SourceKind,
    pub topic: String,
    pub key_format: String,
    pub value_format: String,
    /// The window kind (`TUMBLING`...) of a windowed source.
    pub window: Option<String>,
}

/// A column of a source.
#[derive(Debug, Clone)]
pub struct FieldDescription {
    pub name: String,
    pub ty: SqlType,
    pub role: ColumnRole,
}

/// A persistent query as a source description names it.
#[derive(Debug, Clone)]
pub struct QueryRef {
    pub id: String,
    pub sql: String,
    pub sink: String,
    pub sink_topic: String,
    pub state: String,
}

/// One partition of a source's topic: its offsets and where each reading query is.
#[derive(Debug, Clone)]
pub struct PartitionOffsets {
    pub partition: u32,
    pub start: u64,
    pub end: u64,
    /// The committed offset of each of [`SourceDescription::read_queries`], in order.
    pub committed: Vec<Option<u64>>,
}

/// DESCRIBE source [EXTENDED].
#[derive(Debug, Clone)]
pub struct SourceDescription {
    pub name: String,
    pub kind: SourceKind,
    pub extended: bool,
    pub fields: Vec<FieldDescription>,
    /// The timestamp column, when one is set (else ROWTIME).
    pub timestamp: Option<String>,
    pub key_format: String,
    pub value_format: String,
    pub topic: String,
    /// None when the topic is missing.
    pub partitions: Option<u32>,
    pub replication: u32,
    pub window: Option<String>,
    /// The statement of the query writing it (CREATE ... AS SELECT).
    pub statement: Option<String>,
    pub read_queries: Vec<QueryRef>,
    pub write_queries: Vec<QueryRef>,
    /// Records processed and failed by the queries reading it.
    pub processed: u64,
    pub failed: u64,
    /// Records in its topic (None when the topic is missing).
    pub total_messages: Option<u64>,
    pub offsets: Vec<PartitionOffsets>,
}

/// A topic in SHOW TOPICS.
#[derive(Debug, Clone)]
pub struct TopicSummary {
    pub name: String,
    pub partitions: u32,
    pub replication: u32,
}

/// A query in SHOW QUERIES.
#[derive(Debug, Clone)]
pub struct QuerySummary {
    pub id: String,
    /// `PERSISTENT`.
    pub kind: String,
    /// `RUNNING`.
    pub state: String,
    pub sink: String,
    pub sink_topic: String,
    pub sql: String,
}

/// A property set in the session.
#[derive(Debug, Clone)]
pub struct Property {
    pub name: String,
    /// The value in effect.
    pub value: String,
    /// Set in the session (else the default).
    pub overridden: bool,
}

/// A type in SHOW TYPES.
#[derive(Debug, Clone)]
pub struct TypeSummary {
    pub name: String,
    pub ty: SqlType,
}

/// A variable in SHOW VARIABLES.
#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub value: String,
}

/// A function in SHOW FUNCTIONS.
#[derive(Debug, Clone)]
pub struct FunctionSummary {
    pub name: String,
    /// `SCALAR`, `AGGREGATE` or `TABLE`.
    pub kind: String,
    /// ksqlDB's category name (`STRING`, `MATHEMATICAL`, `AGGREGATE`...).
    pub category: String,
}

/// One signature of a function.
#[derive(Debug, Clone)]
pub struct FunctionVariation {
    pub signature: String,
    pub returns: String,
    pub description: Option<String>,
}

/// DESCRIBE FUNCTION.
#[derive(Debug, Clone)]
pub struct FunctionDescription {
    pub name: String,
    /// `SCALAR`, `AGGREGATE` or `TABLE`.
    pub kind: String,
    pub aliases: Vec<String>,
    /// Empty when the registry has no description (aggregates and table functions).
    pub description: String,
    pub category: Option<String>,
    pub volatile: bool,
    pub variations: Vec<FunctionVariation>,
    /// Whether the registry described it (else only its name and kind are known).
    pub described: bool,
}

/// EXPLAIN <query id>.
#[derive(Debug, Clone)]
pub struct QueryDescription {
    pub id: String,
    pub sql: String,
    pub kind: String,
    pub state: String,
    /// Why the query stopped, when its state is ERROR.
    pub error: Option<String>,
    pub sources: Vec<String>,
    pub sink: String,
    pub sink_topic: String,
    pub processed: u64,
    pub failed: u64,
    pub plan: Option<String>,
}

/// What the response of a query depends on besides its rows.
#[derive(Debug, Clone, Copy)]
pub struct QueryShape {
    pub pull: bool,
    /// A single table in `FROM` (a pull query over it reports key columns as `KEY`).
    pub over_table: bool,
    /// A single windowed source in `FROM` (its window bounds are key columns).
    pub windowed: bool,
    pub limit: Option<u64>,
}

impl QueryShape {
    /// The shape of a query statement (None for other statements).
    pub fn of(catalog: &MemoryCatalog, kind: &StatementKind) -> Option<QueryShape> {
        let StatementKind::Query(q) = kind else {
            return None;
        };
        let source = catalog.sources.get(&q.from.source.name.value);
        let single = q.from.joins.is_empty();
        Some(QueryShape {
            pull: q.emit.is_none(),
            over_table: single && source.is_some_and(|s| s.is_table()),
            windowed: single && source.is_some_and(|s| s.window.is_some()),
            limit: q.limit,
        })
    }

    /// The header schema of its result.
    pub fn header_schema(&self, schema: &Schema) -> String {
        header_schema(schema, self.pull && self.over_table, self.windowed)
    }
}

/// The final message of a query's response, if it has one.
pub fn final_message(shape: QueryShape, rows: usize) -> Option<&'static str> {
    let limit_reached = shape.limit.is_some_and(|l| rows as u64 >= l);
    if (!shape.pull || !shape.over_table) && limit_reached {
        Some("Limit Reached")
    } else if shape.pull && !shape.over_table {
        Some("Query Completed")
    } else {
        None
    }
}

/// A result schema as ksqlDB's header writes it: `` `ID` BIGINT KEY, `V` STRING``. Key
/// columns (and the window bounds of a windowed table) say `KEY` only in pull queries over
/// tables; header columns keep their role there too.
///
/// Where roles show and header columns are present, columns are listed by namespace as
/// ksqlDB's logical schema lists them: keys (and window bounds), header columns, values.
pub fn header_schema(schema: &Schema, keys: bool, windowed: bool) -> String {
    let is_bound = |c: &Column| windowed && (c.name == "WINDOWSTART" || c.name == "WINDOWEND");
    let mut columns: Vec<&Column> = schema.columns.iter().collect();
    let has_headers = columns
        .iter()
        .any(|c| matches!(c.role, ColumnRole::Headers | ColumnRole::Header(_)));
    if keys && has_headers {
        columns.sort_by_key(|c| match &c.role {
            ColumnRole::Key => 0,
            _ if is_bound(c) => 0,
            ColumnRole::Headers | ColumnRole::Header(_) => 1,
            ColumnRole::Value | ColumnRole::Pseudo => 2,
        });
    }
    columns
        .into_iter()
        .map(|c| {
            let mut s = format!("`{}` {}", c.name, c.ty);
            let bound = windowed && (c.name == "WINDOWSTART" || c.name == "WINDOWEND");
            if keys {
                match &c.role {
                    ColumnRole::Key => s.push_str(" KEY"),
                    _ if bound => s.push_str(" KEY"),
                    ColumnRole::Headers => s.push_str(" HEADERS"),
                    ColumnRole::Header(k) => s.push_str(&format!(" HEADER('{k}')")),
                    ColumnRole::Value | ColumnRole::Pseudo => {}
                }
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every row's values as the REST API writes them (ksqlDB's JSON forms: decimals as numbers,
/// bytes as base64, structs and maps as objects).
pub fn row_values(rows: &QueryRows) -> Result<Vec<Vec<Value>>, String> {
    batch_values(&rows.batches)
}

/// The rows of `batches` as the REST API writes them (see [`row_values`]).
pub fn batch_values(batches: &[RecordBatch]) -> Result<Vec<Vec<Value>>, String> {
    let mut out = Vec::new();
    for batch in batches {
        // Positional names: a result may repeat a column name.
        let fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| f.as_ref().clone().with_name(format!("c{i}")))
            .collect();
        let schema = Arc::new(ArrowSchema::new(fields));
        let renamed = RecordBatch::try_new(schema.clone(), batch.columns().to_vec())
            .map_err(|e| e.to_string())?;
        let json = formats::create(
            "JSON",
            &FormatOptions {
                wrap_single_value: Some(true),
                ..FormatOptions::value()
            },
            &schema,
        )
        .map_err(|e| e.to_string())?;
        for payload in json.encode(&renamed).map_err(|e| e.to_string())? {
            let obj: Value = match payload {
                Some(p) => serde_json::from_slice(&p).map_err(|e| e.to_string())?,
                None => Value::Null,
            };
            out.push(
                (0..batch.num_columns())
                    .map(|i| obj.get(format!("c{i}")).cloned().unwrap_or(Value::Null))
                    .collect(),
            );
        }
    }
    Ok(out)
}

/// The `/query` response of a query: header, rows, final message.
pub fn query_response(rows: &QueryRows, shape: QueryShape) -> Result<Vec<Value>, String> {
    let mut out = vec![json!({"header": {
        "queryId": "transient",
        "schema": shape.header_schema(&rows.schema),
    }})];
    let values = row_values(rows)?;
    let n = values.len();
    for (i, columns) in values.into_iter().enumerate() {
        let mut row = Map::new();
        row.insert("columns".into(), Value::Array(columns));
        if rows.tombstones.get(i).copied().unwrap_or(false) {
            row.insert("tombstone".into(), Value::Bool(true));
        }
        out.push(json!({ "row": row }));
    }
    if let Some(m) = final_message(shape, n) {
        out.push(json!({ "finalMessage": m }));
    }
    Ok(out)
}
