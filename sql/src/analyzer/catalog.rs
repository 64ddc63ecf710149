//! What the analyzer needs to know about the world: the sources and types that exist
//! ([`Catalog`]) and the functions that can be called ([`FunctionCatalog`]), plus an
//! in-memory catalog ([`MemoryCatalog`]) that the analyzer updates as it accepts `CREATE`
//! and `DROP` statements, so a script can be analyzed statement by statement.
//!
//! brook-sql does not depend on the engine: the engine implements these traits over its own
//! catalog and function registry.

use std::collections::BTreeMap;
use std::fmt;

use crate::ast::SourceKind;
use crate::plan::{Column, ColumnRole, SqlType};

/// A key or value serialization format and its options, as a source declares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormatInfo {
    /// Upper-case name: `KAFKA`, `JSON`, `JSON_SR`, `AVRO`, `PROTOBUF`, `PROTOBUF_NOSR`,
    /// `DELIMITED`, `NONE`.
    pub name: String,
    /// Format options (`delimiter`, `fullSchemaName`, `schemaId`, `unwrapPrimitives`...).
    pub properties: BTreeMap<String, String>,
}

impl FormatInfo {
    pub fn new(name: impl Into<String>) -> Self {
        FormatInfo {
            name: name.into(),
            properties: BTreeMap::new(),
        }
    }
}

impl fmt::Display for FormatInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.properties.is_empty() {
            f.write_str("(")?;
            for (i, (k, v)) in self.properties.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k}={v}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// The kind of window a windowed source's keys carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowType {
    Tumbling,
    Hopping,
    Session,
}

impl WindowType {
    pub fn as_str(self) -> &'static str {
        match self {
            WindowType::Tumbling => "TUMBLING",
            WindowType::Hopping => "HOPPING",
            WindowType::Session => "SESSION",
        }
    }
}

impl fmt::Display for WindowType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a windowed source's keys are windowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowInfo {
    pub kind: WindowType,
    /// Window size in ms (not set for session windows).
    pub size_ms: Option<u64>,
}

/// Where a source's record time comes from when it is not the log timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampColumn {
    pub column: String,
    /// A `java.time` pattern for STRING columns.
    pub format: Option<String>,
}

/// A stream or table in the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEntry {
    pub name: String,
    pub kind: SourceKind,
    /// Key columns first, then value columns (and header columns where they were declared).
    /// Pseudo-columns (ROWTIME, WINDOWSTART...) are not listed.
    pub columns: Vec<Column>,
    pub topic: String,
    pub key_format: FormatInfo,
    pub value_format: FormatInfo,
    /// Set for sources whose keys are windowed.
    pub window: Option<WindowInfo>,
    pub timestamp: Option<TimestampColumn>,
    /// Partitions requested in `WITH (PARTITIONS=...)`, if any.
    pub partitions: Option<u32>,
    /// `CREATE SOURCE STREAM|TABLE`: read-only.
    pub read_only: bool,
    /// Created by `CREATE ... AS SELECT` (a table built by a query is materialised and can
    /// serve pull queries).
    pub from_query: bool,
    /// Single-field values are wrapped in a record/object (the default) or not.
    pub wrap_single_value: Option<bool>,
}

impl SourceEntry {
    pub fn key_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.role == ColumnRole::Key)
    }

    pub fn value_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.role != ColumnRole::Key)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn is_table(&self) -> bool {
        self.kind == SourceKind::Table
    }
}

/// A schema held for a topic outside the statement (a schema registry): what `CREATE
/// STREAM s WITH (VALUE_FORMAT='AVRO', ...)` without a column list infers its columns from.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredSchema {
    /// Named fields (a record schema), or one unnamed field for a primitive schema (which
    /// becomes `ROWKEY` for keys and `ROWVAL` for values, as in ksqlDB).
    pub fields: Vec<SchemaField>,
    /// Further records the schema defines, by (full) name: a `*_SCHEMA_FULL_NAME` property
    /// picks one of them instead of `fields` (e.g. one message of a `.proto` file).
    pub records: Vec<(String, Vec<SchemaField>)>,
}

/// A field of a registered schema: its name (`None` for a primitive schema) and type.
pub type SchemaField = (Option<String>, SqlType);

impl RegisteredSchema {
    /// A schema with just its default record.
    pub fn new(fields: Vec<(Option<String>, SqlType)>) -> Self {
        RegisteredSchema {
            fields,
            records: Vec::new(),
        }
    }

    /// The fields of the record `full_name` names (matching the full or the short name),
    /// or of the default record.
    pub fn select(&self, full_name: Option<&str>) -> &[(Option<String>, SqlType)] {
        if let Some(n) = full_name {
            let short = n.rsplit('.').next().unwrap_or(n);
            if let Some((_, f)) = self
                .records
                .iter()
                .find(|(r, _)| r == n || r.rsplit('.').next() == Some(short))
            {
                return f;
            }
        }
        &self.fields
    }
}

/// The sources and types the analyzer resolves names against.
///
/// Implementations answer by exact (already normalised) name: unquoted identifiers arrive
/// upper-cased.
///
/// ```
/// use brook_sql::analyzer::{Catalog, MemoryCatalog};
/// let cat = MemoryCatalog::new();
/// assert!(cat.source("ORDERS").is_none());
/// ```
pub trait Catalog {
    /// The stream or table called `name`.
    fn source(&self, name: &str) -> Option<SourceEntry>;
    /// Every source name (for `Did you mean` suggestions and `SHOW`).
    fn source_names(&self) -> Vec<String>;
    /// A type registered with `CREATE TYPE`.
    fn custom_type(&self, name: &str) -> Option<SqlType>;
    /// The schema a schema registry holds for `topic`'s keys (`key` set) or values, for
    /// formats that infer columns (AVRO, PROTOBUF, JSON_SR).
    fn registered_schema(&self, _topic: &str, _key: bool) -> Option<RegisteredSchema> {
        None
    }
}

/// A catalog the analyzer can change as it accepts DDL.
pub trait CatalogMut: Catalog {
    fn put_source(&mut self, entry: SourceEntry);
    fn remove_source(&mut self, name: &str) -> Option<SourceEntry>;
    fn put_type(&mut self, name: &str, ty: SqlType);
    fn remove_type(&mut self, name: &str) -> Option<SqlType>;
}

/// Sources, types and registered schemas held in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryCatalog {
    pub sources: BTreeMap<String, SourceEntry>,
    pub types: BTreeMap<String, SqlType>,
    /// `(topic, is_key)` → schema.
    pub schemas: BTreeMap<(String, bool), RegisteredSchema>,
}

impl MemoryCatalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a schema for a topic's keys or values (see [`Catalog::registered_schema`]).
    pub fn register_schema(&mut self, topic: &str, key: bool, schema: RegisteredSchema) {
        self.schemas.insert((topic.to_string(), key), schema);
    }
}

impl Catalog for MemoryCatalog {
    fn source(&self, name: &str) -> Option<SourceEntry> {
        self.sources.get(name).cloned()
    }

    fn source_names(&self) -> Vec<String> {
        self.sources.keys().cloned().collect()
    }

    fn custom_type(&self, name: &str) -> Option<SqlType> {
        self.types.get(name).cloned()
    }

    fn registered_schema(&self, topic: &str, key: bool) -> Option<RegisteredSchema> {
        self.schemas.get(&(topic.to_string(), key)).cloned()
    }
}

impl CatalogMut for MemoryCatalog {
    fn put_source(&mut self, entry: SourceEntry) {
        self.sources.insert(entry.name.clone(), entry);
    }

    fn remove_source(&mut self, name: &str) -> Option<SourceEntry> {
        self.sources.remove(name)
    }

    fn put_type(&mut self, name: &str, ty: SqlType) {
        self.types.insert(name.to_string(), ty);
    }

    fn remove_type(&mut self, name: &str) -> Option<SqlType> {
        self.types.remove(name)
    }
}

/// What kind of function a name denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionKind {
    Scalar,
    /// Folds many rows into one value per group (`COUNT`, `SUM`, `LATEST_BY_OFFSET`...).
    Aggregate,
    /// Turns one row into zero or more (`EXPLODE`, `CUBE_EXPLODE`).
    Table,
}

/// The functions the analyzer can call, with their typing rules.
///
/// Implemented by the engine over its function registry. Names arrive upper-cased. Error
/// strings are shown to the user as they are (ksqlDB's texts: `Function 'X' does not accept
/// parameters (...)`).
///
/// ```
/// use brook_sql::analyzer::{FunctionCatalog, FunctionKind};
/// use brook_sql::plan::SqlType;
/// struct OnlyUcase;
/// impl FunctionCatalog for OnlyUcase {
///     fn kind(&self, name: &str) -> Option<FunctionKind> {
///         (name == "UCASE").then_some(FunctionKind::Scalar)
///     }
///     fn return_type(&self, _: &str, args: &[SqlType]) -> Result<SqlType, String> {
///         match args {
///             [SqlType::String] => Ok(SqlType::String),
///             _ => Err("Function 'UCASE' does not accept parameters".into()),
///         }
///     }
///     fn names(&self) -> Vec<String> { vec!["UCASE".into()] }
/// }
/// assert_eq!(OnlyUcase.kind("UCASE"), Some(FunctionKind::Scalar));
/// ```
pub trait FunctionCatalog: Send + Sync {
    /// Whether `name` is a function, and of which kind; `None` if there is no such function.
    fn kind(&self, name: &str) -> Option<FunctionKind>;
    /// The result type of a call of `name` (of any kind) with these argument types: for an
    /// aggregate, the type of its result per group; for a table function, the type of each
    /// produced value. `SqlType::Null` stands for a `NULL` literal argument.
    fn return_type(&self, name: &str, args: &[SqlType]) -> Result<SqlType, String>;
    /// Every function name (for `Did you mean` and `SHOW FUNCTIONS`).
    fn names(&self) -> Vec<String>;
    /// For aggregates: how many leading arguments are per-row columns; the rest must be
    /// literal constants (e.g. `TOPK(col, 3)` has 1). `None` when any may be columns.
    fn aggregate_column_args(&self, _name: &str) -> Option<usize> {
        None
    }
}

/// A function catalog with no functions, for tests and tools that only need DDL.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFunctions;

impl FunctionCatalog for NoFunctions {
    fn kind(&self, _: &str) -> Option<FunctionKind> {
        None
    }

    fn return_type(&self, name: &str, _: &[SqlType]) -> Result<SqlType, String> {
        Err(format!("Can't find any functions with the name '{name}'"))
    }

    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}
