//! The logical plan: what the analyzer hands the engine for a query.
//!
//! A plan is a tree of [`LogicalPlan`] nodes: sources at the leaves, the last step at the
//! root. Data flows `Source → (Join) → Filter → (Repartition) → (FlatMap) → (Aggregate
//! (window) → Filter for HAVING) → Project → (Limit) → Sink`.
//! Every node states its output [`Schema`] (key columns, then value columns, each typed),
//! every expression is a [`TypedExpr`], and every column reference names a column of the
//! node's input schema (`source` qualifier + name). Printing a plan (`Display`) gives the
//! indented text `EXPLAIN` shows:
//!
//! ```text
//! Sink: PAGEVIEWS_PER_USER (table, topic=PAGEVIEWS_PER_USER, key=KAFKA, value=JSON, windowed=TUMBLING)
//!   Project: [USER_ID KEY, KSQL_AGG_VARIABLE_0 AS CNT]
//!     Aggregate: group by [CLICKS.USER_ID] window TUMBLING(SIZE 60000 ms) aggs [COUNT(*) AS KSQL_AGG_VARIABLE_0]
//!       Filter: (CLICKS.PAGE_ID <> '/home')
//!         Source: CLICKS (stream, topic=clicks, key=KAFKA, value=JSON)
//! ```
//!
//! Expressions are evaluated against the schema of the node's input: `CLICKS.PAGE_ID` is
//! the column `PAGE_ID` of the source read as `CLICKS`; `USER_ID` (no qualifier) in the
//! `Project` is the key column the `Aggregate` below it outputs.

pub mod expr;
pub mod types;

use std::fmt;

pub use expr::{ColumnRef, TypedExpr, TypedExprKind};
pub use types::SqlType;

use crate::analyzer::{SourceEntry, WindowInfo, WindowType};
use crate::ast::{JoinType, SourceKind};

/// What part of a record a column lives in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnRole {
    /// Serialized in the record key.
    Key,
    /// Serialized in the record value.
    Value,
    /// `HEADERS`: every header, as `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`.
    Headers,
    /// `HEADER('name')`: the last header with that key, as `BYTES`.
    Header(String),
    /// A pseudo-column the runtime supplies: ROWTIME, ROWPARTITION, ROWOFFSET, WINDOWSTART,
    /// WINDOWEND.
    Pseudo,
}

/// A column of a source or of a plan node's output.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    /// The `FROM`/`JOIN` alias the column is reachable under (`None` for computed columns
    /// and in catalog entries).
    pub source: Option<String>,
    pub name: String,
    pub ty: SqlType,
    pub role: ColumnRole,
}

impl Column {
    pub fn new(name: impl Into<String>, ty: SqlType, role: ColumnRole) -> Self {
        Column {
            source: None,
            name: name.into(),
            ty,
            role,
        }
    }

    pub fn is_key(&self) -> bool {
        self.role == ColumnRole::Key
    }

    pub fn reference(&self) -> ColumnRef {
        ColumnRef {
            source: self.source.clone(),
            name: self.name.clone(),
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.name, self.ty)?;
        match &self.role {
            ColumnRole::Key => f.write_str(" KEY"),
            ColumnRole::Headers => f.write_str(" HEADERS"),
            ColumnRole::Header(k) => write!(f, " HEADER('{k}')"),
            ColumnRole::Value | ColumnRole::Pseudo => Ok(()),
        }
    }
}

/// The columns of a node's output: key columns first, then the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub columns: Vec<Column>,
}

impl Schema {
    pub fn new(columns: Vec<Column>) -> Self {
        Schema { columns }
    }

    pub fn keys(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.is_key())
    }

    pub fn values(&self) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .filter(|c| !c.is_key() && c.role != ColumnRole::Pseudo)
    }

    /// The column a reference names, with its position.
    pub fn find(&self, r: &ColumnRef) -> Option<(usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == r.name && (r.source.is_none() || c.source == r.source))
    }

    /// Key and value columns as `[`K` INT KEY, `V` STRING]`.
    pub fn describe(&self) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .filter(|c| c.role != ColumnRole::Pseudo)
            .map(|c| c.to_string())
            .collect();
        format!("[{}]", cols.join(", "))
    }
}

/// A window of an aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowSpec {
    pub kind: WindowType,
    /// Tumbling and hopping size, session gap.
    pub size_ms: u64,
    /// Hopping advance (equals size for tumbling windows).
    pub advance_ms: Option<u64>,
    pub retention_ms: Option<u64>,
    pub grace_ms: Option<u64>,
    /// `EMIT FINAL`: one result per window, when the window closes (instead of every change).
    pub emit_final: bool,
}

impl WindowSpec {
    pub fn info(&self) -> WindowInfo {
        WindowInfo {
            kind: self.kind,
            size_ms: (self.kind != WindowType::Session).then_some(self.size_ms),
        }
    }
}

impl fmt::Display for WindowSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            WindowType::Tumbling => write!(f, "TUMBLING(SIZE {} ms", self.size_ms)?,
            WindowType::Hopping => write!(
                f,
                "HOPPING(SIZE {} ms, ADVANCE BY {} ms",
                self.size_ms,
                self.advance_ms.unwrap_or(self.size_ms)
            )?,
            WindowType::Session => write!(f, "SESSION({} ms", self.size_ms)?,
        }
        if let Some(r) = self.retention_ms {
            write!(f, ", RETENTION {r} ms")?;
        }
        if let Some(g) = self.grace_ms {
            write!(f, ", GRACE PERIOD {g} ms")?;
        }
        f.write_str(")")?;
        if self.emit_final {
            f.write_str(" EMIT FINAL")?;
        }
        Ok(())
    }
}

/// An aggregate evaluated by an [`Node::Aggregate`]; its result is the output column
/// `output`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateCall {
    pub name: String,
    /// `COUNT(*)` has no arguments.
    pub args: Vec<TypedExpr>,
    pub ty: SqlType,
    pub output: String,
}

/// A table function evaluated by a [`Node::FlatMap`]; each produced value is the output
/// column `output`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFunctionCall {
    pub name: String,
    pub args: Vec<TypedExpr>,
    pub ty: SqlType,
    pub output: String,
}

/// A named expression: a key of a repartition or group, or a projected column.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedExpr {
    pub name: String,
    pub expr: TypedExpr,
}

/// How two sides are joined, which decides the operator that runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinKind {
    StreamStream,
    StreamTable,
    TableTable,
    /// Table-table join on a column of the left table that is the right table's key.
    ForeignKey,
}

/// The `WITHIN` of a stream-stream join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JoinWithin {
    pub before_ms: u64,
    pub after_ms: u64,
    pub grace_ms: Option<u64>,
}

/// A plan node and the schema of what it outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct LogicalPlan {
    pub node: Node,
    pub schema: Schema,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Reads a stream or table. Its schema has every column qualified by `alias`, including
    /// the pseudo-columns (ROWTIME, ROWPARTITION, ROWOFFSET, and WINDOWSTART/WINDOWEND for
    /// windowed sources).
    Source {
        entry: Box<SourceEntry>,
        alias: String,
    },
    /// Keeps rows where `predicate` is true. Schema: the input's.
    Filter {
        input: Box<LogicalPlan>,
        predicate: TypedExpr,
    },
    /// Evaluates table functions: one output row per produced value (several functions are
    /// zipped, padding with NULL). Schema: the input's plus one value column per call.
    FlatMap {
        input: Box<LogicalPlan>,
        functions: Vec<TableFunctionCall>,
    },
    /// Re-keys rows: the new key columns are `keys` (evaluated over the input); the input's
    /// columns stay reachable as value columns. An empty `keys` (PARTITION BY NULL) leaves no
    /// key.
    Repartition {
        input: Box<LogicalPlan>,
        keys: Vec<NamedExpr>,
    },
    /// Groups by `group_by` (evaluated over the input), optionally windowed. Schema: the
    /// group keys as key columns, then one value column per aggregate, then WINDOWSTART and
    /// WINDOWEND as pseudo-columns when windowed. `repartition` is set when the group keys
    /// differ from the input's key (rows must move to the partition of their group).
    Aggregate {
        input: Box<LogicalPlan>,
        group_by: Vec<NamedExpr>,
        aggregates: Vec<AggregateCall>,
        window: Option<WindowSpec>,
        repartition: bool,
    },
    /// Joins two inputs on `left_key = right_key`. Schema: the key (one column named `key`)
    /// then every column of both inputs (qualified by their aliases).
    Join {
        left: Box<LogicalPlan>,
        right: Box<LogicalPlan>,
        join_type: JoinType,
        kind: JoinKind,
        left_key: TypedExpr,
        right_key: TypedExpr,
        within: Option<JoinWithin>,
        /// Name of the output key column.
        key: String,
    },
    /// Computes the output columns; items marked as keys become the key columns.
    Project {
        input: Box<LogicalPlan>,
        items: Vec<NamedExpr>,
    },
    /// Stops after `limit` rows (transient queries).
    Limit { input: Box<LogicalPlan>, limit: u64 },
    /// Writes rows to a stream or table (CSAS, CTAS, INSERT INTO). Schema: the input's,
    /// minus pseudo-columns.
    Sink {
        input: Box<LogicalPlan>,
        entry: Box<SourceEntry>,
        /// `INSERT INTO` an existing source (not created by this statement).
        insert: bool,
    },
}

impl LogicalPlan {
    /// The node's inputs.
    pub fn inputs(&self) -> Vec<&LogicalPlan> {
        match &self.node {
            Node::Source { .. } => vec![],
            Node::Filter { input, .. }
            | Node::FlatMap { input, .. }
            | Node::Repartition { input, .. }
            | Node::Aggregate { input, .. }
            | Node::Project { input, .. }
            | Node::Limit { input, .. }
            | Node::Sink { input, .. } => vec![input],
            Node::Join { left, right, .. } => vec![left, right],
        }
    }

    fn write_indented(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        for _ in 0..depth {
            f.write_str("  ")?;
        }
        match &self.node {
            Node::Source { entry, alias } => {
                write!(f, "Source: {}", entry.name)?;
                if *alias != entry.name {
                    write!(f, " AS {alias}")?;
                }
                write!(
                    f,
                    " ({}, topic={}, key={}, value={}",
                    kind_str(entry.kind),
                    entry.topic,
                    entry.key_format,
                    entry.value_format
                )?;
                if let Some(w) = &entry.window {
                    write!(f, ", windowed={}", w.kind)?;
                }
                f.write_str(")")?;
            }
            Node::Filter { predicate, .. } => write!(f, "Filter: {predicate}")?,
            Node::FlatMap { functions, .. } => {
                f.write_str("FlatMap: [")?;
                for (i, c) in functions.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}({}) AS {}", c.name, join_exprs(&c.args), c.output)?;
                }
                f.write_str("]")?;
            }
            Node::Repartition { keys, .. } => {
                f.write_str("Repartition: by [")?;
                write_named(f, keys)?;
                f.write_str("]")?;
            }
            Node::Aggregate {
                group_by,
                aggregates,
                window,
                repartition,
                ..
            } => {
                f.write_str("Aggregate: group by [")?;
                write_named(f, group_by)?;
                f.write_str("]")?;
                if *repartition {
                    f.write_str(" (repartition)")?;
                }
                if let Some(w) = window {
                    write!(f, " window {w}")?;
                }
                f.write_str(" aggs [")?;
                for (i, a) in aggregates.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if a.args.is_empty() {
                        write!(f, "{}(*) AS {}", a.name, a.output)?;
                    } else {
                        write!(f, "{}({}) AS {}", a.name, join_exprs(&a.args), a.output)?;
                    }
                }
                f.write_str("]")?;
            }
            Node::Join {
                join_type,
                kind,
                left_key,
                right_key,
                within,
                key,
                ..
            } => {
                write!(
                    f,
                    "Join: {} ({:?}) on {left_key} = {right_key} key {key}",
                    join_type.as_str(),
                    kind
                )?;
                if let Some(w) = within {
                    write!(f, " within ({} ms, {} ms)", w.before_ms, w.after_ms)?;
                    if let Some(g) = w.grace_ms {
                        write!(f, " grace {g} ms")?;
                    }
                }
            }
            Node::Project { items, .. } => {
                f.write_str("Project: [")?;
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    let is_key = self.schema.keys().any(|k| k.name == it.name);
                    match it.expr.as_column() {
                        Some(c) if c.name == it.name => write!(f, "{}", it.expr)?,
                        _ => write!(f, "{} AS {}", it.expr, it.name)?,
                    }
                    if is_key {
                        f.write_str(" KEY")?;
                    }
                }
                f.write_str("]")?;
            }
            Node::Limit { limit, .. } => write!(f, "Limit: {limit}")?,
            Node::Sink { entry, insert, .. } => {
                write!(
                    f,
                    "{}: {} ({}, topic={}, key={}, value={}",
                    if *insert { "Insert" } else { "Sink" },
                    entry.name,
                    kind_str(entry.kind),
                    entry.topic,
                    entry.key_format,
                    entry.value_format
                )?;
                if let Some(w) = &entry.window {
                    write!(f, ", windowed={}", w.kind)?;
                }
                f.write_str(")")?;
            }
        }
        writeln!(f)?;
        for i in self.inputs() {
            i.write_indented(f, depth + 1)?;
        }
        Ok(())
    }
}

fn kind_str(k: SourceKind) -> &'static str {
    match k {
        SourceKind::Stream => "stream",
        SourceKind::Table => "table",
    }
}

fn join_exprs(args: &[TypedExpr]) -> String {
    args.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_named(f: &mut fmt::Formatter<'_>, items: &[NamedExpr]) -> fmt::Result {
    for (i, k) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        match k.expr.as_column() {
            Some(c) if c.name == k.name => write!(f, "{}", k.expr)?,
            _ => write!(f, "{} AS {}", k.expr, k.name)?,
        }
    }
    Ok(())
}

/// The indented plan, one node per line, children indented under their parent.
impl fmt::Display for LogicalPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_indented(f, 0)
    }
}
