//! Statements: DDL (`CREATE`, `DROP`, `ALTER`), DML (`INSERT`), queries, and the
//! administrative statements (`SHOW`, `DESCRIBE`, `EXPLAIN`, `TERMINATE`, `SET`, `DEFINE`,
//! `ASSERT`, ...), plus the `WITH (...)` property map and column definitions they share.

use std::fmt;

use super::expr::{write_string_literal, Expr, Literal};
use super::ident::{Ident, ResourceName};
use super::query::Query;
use super::span::Span;
use super::types::Type;
use super::window::Duration;
use crate::keywords;

/// A statement and where it was written (from its first token to its last, without `;`).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub kind: StatementKind,
    pub span: Span,
}

/// Stream or table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Stream,
    Table,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Stream => "STREAM",
            SourceKind::Table => "TABLE",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    /// `SELECT ...` (a push query with `EMIT`, a pull query without).
    Query(Query),
    /// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name [(columns)] [WITH (...)]`
    CreateSource(CreateSource),
    /// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`
    CreateAsSelect(CreateAsSelect),
    /// `INSERT INTO name [WITH (...)] SELECT ...`
    InsertInto(InsertInto),
    /// `INSERT INTO name [(columns)] VALUES (...)`
    InsertValues(InsertValues),
    /// `SHOW ...` / `LIST ...`
    Show(ShowKind),
    /// `DESCRIBE name [EXTENDED]`
    DescribeSource { name: Ident, extended: bool },
    /// `DESCRIBE STREAMS|TABLES [EXTENDED]`
    DescribeSources { kind: SourceKind, extended: bool },
    /// `DESCRIBE FUNCTION name`
    DescribeFunction { name: Ident },
    /// `DESCRIBE CONNECTOR name`
    DescribeConnector { name: Ident },
    /// `EXPLAIN statement` or `EXPLAIN query_id`
    Explain(ExplainTarget),
    /// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`
    DropSource {
        kind: SourceKind,
        name: Ident,
        if_exists: bool,
        delete_topic: bool,
    },
    /// `DROP TYPE [IF EXISTS] name`
    DropType { name: Ident, if_exists: bool },
    /// `DROP CONNECTOR [IF EXISTS] name`
    DropConnector { name: Ident, if_exists: bool },
    /// `TERMINATE query_id | ALL`
    Terminate(QueryTarget),
    /// `PAUSE query_id | ALL`
    Pause(QueryTarget),
    /// `RESUME query_id | ALL`
    Resume(QueryTarget),
    /// `PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]`
    Print(Print),
    /// `SET 'name' = 'value'`
    SetProperty { name: String, value: String },
    /// `UNSET 'name'`
    UnsetProperty { name: String },
    /// `ALTER SYSTEM 'name' = 'value'`
    AlterSystem { name: String, value: String },
    /// `DEFINE name = 'value'`: `name` as written (variables are case-insensitive).
    Define { name: String, value: String },
    /// `UNDEFINE name`
    Undefine { name: String },
    /// `RUN SCRIPT 'path'`
    RunScript { path: String },
    /// `CREATE TYPE [IF NOT EXISTS] name AS type`
    CreateType {
        name: Ident,
        if_not_exists: bool,
        ty: Type,
    },
    /// `CREATE SOURCE|SINK CONNECTOR [IF NOT EXISTS] name WITH (...)`
    CreateConnector {
        kind: ConnectorKind,
        name: Ident,
        if_not_exists: bool,
        /// Names as written (Kafka Connect's keys are case-sensitive), not upper-cased.
        properties: Properties,
    },
    /// `ALTER STREAM|TABLE name ADD [COLUMN] c T, ...`
    AlterSource {
        kind: SourceKind,
        name: Ident,
        add_columns: Vec<ColumnDef>,
    },
    /// `ASSERT [NOT EXISTS] TOPIC name [WITH (...)] [TIMEOUT n unit]`
    AssertTopic {
        not_exists: bool,
        topic: ResourceName,
        properties: Properties,
        timeout: Option<Duration>,
    },
    /// `ASSERT [NOT EXISTS] SCHEMA [SUBJECT name] [ID literal] [TIMEOUT n unit]`
    AssertSchema {
        not_exists: bool,
        subject: Option<ResourceName>,
        id: Option<Literal>,
        timeout: Option<Duration>,
    },
    /// `ASSERT VALUES name [(columns)] VALUES (...)` (test files only)
    AssertValues {
        source: Ident,
        columns: Option<Vec<Ident>>,
        values: Vec<Expr>,
    },
    /// `ASSERT NULL VALUES name [(columns)] KEY (...)` (test files only): a tombstone.
    AssertTombstone {
        source: Ident,
        columns: Option<Vec<Ident>>,
        key_values: Vec<Expr>,
    },
    /// `ASSERT STREAM|TABLE name [(columns)] [WITH (...)]` (test files only)
    AssertSource {
        kind: SourceKind,
        name: Ident,
        elements: Vec<ColumnDef>,
        properties: Properties,
    },
}

/// `CREATE ... STREAM|TABLE name (columns) WITH (...)`: a source over an existing topic.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSource {
    pub kind: SourceKind,
    pub name: Ident,
    pub or_replace: bool,
    /// `CREATE SOURCE STREAM|TABLE`: read-only, materialised for pull queries.
    pub is_source: bool,
    pub if_not_exists: bool,
    /// Empty when the schema comes from a schema registry.
    pub elements: Vec<ColumnDef>,
    pub properties: Properties,
}

/// `CREATE ... STREAM|TABLE name WITH (...) AS SELECT ...`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAsSelect {
    pub kind: SourceKind,
    pub name: Ident,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub properties: Properties,
    pub query: Query,
}

/// `INSERT INTO name [WITH (...)] SELECT ...`
#[derive(Debug, Clone, PartialEq)]
pub struct InsertInto {
    pub target: Ident,
    pub properties: Properties,
    pub query: Query,
}

/// `INSERT INTO name [(columns)] VALUES (...)`
#[derive(Debug, Clone, PartialEq)]
pub struct InsertValues {
    pub target: Ident,
    /// `None` when no column list was given (all columns, in schema order).
    pub columns: Option<Vec<Ident>>,
    pub values: Vec<Expr>,
}

/// A column in a `CREATE` column list, `ALTER ... ADD COLUMN` or `ASSERT STREAM`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ColumnDef {
    pub name: Ident,
    pub ty: Type,
    pub constraint: ColumnConstraint,
    pub span: Span,
}

/// What a column is bound to besides the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnConstraint {
    /// A value column.
    None,
    /// `KEY` (streams).
    Key,
    /// `PRIMARY KEY` (tables).
    PrimaryKey,
    /// `HEADERS`: all headers, as `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`.
    Headers,
    /// `HEADER('name')`: the last header with that key, as `BYTES`.
    Header(String),
}

/// The `WITH (name = literal, ...)` map. Names are upper-cased (they are case-insensitive);
/// the order written is kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Properties {
    pub entries: Vec<Property>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// Upper-cased name.
    pub name: String,
    pub value: Literal,
    pub span: Span,
}

impl Properties {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value set for `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Literal> {
        self.property(name).map(|p| &p.value)
    }

    /// The whole entry for `name` (case-insensitive), with its span.
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.entries
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The value for `name` if it is a string literal.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Literal::String(s)) => Some(s),
            _ => None,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Literal)> {
        self.entries.iter().map(|p| (p.name.as_str(), &p.value))
    }
}

/// What `SHOW` / `LIST` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShowKind {
    Streams {
        extended: bool,
    },
    Tables {
        extended: bool,
    },
    Topics {
        all: bool,
        extended: bool,
    },
    Queries {
        extended: bool,
    },
    Properties,
    Functions,
    Types,
    Variables,
    /// `[SOURCE | SINK] CONNECTORS`
    Connectors(Option<ConnectorKind>),
    ConnectorPlugins,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectorKind {
    Source,
    Sink,
}

/// `EXPLAIN` of a statement, or of a running query by id.
#[derive(Debug, Clone, PartialEq)]
pub enum ExplainTarget {
    Statement(Box<Statement>),
    QueryId(Ident),
}

/// `TERMINATE` / `PAUSE` / `RESUME` target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QueryTarget {
    All,
    Query(Ident),
}

/// `PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Print {
    pub topic: ResourceName,
    pub from_beginning: bool,
    /// Print every n-th record (`INTERVAL n` or `SAMPLE n`).
    pub interval: Option<u64>,
    pub limit: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Printing.

fn write_property_name(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !keywords::is_reserved(name);
    if plain {
        f.write_str(name)
    } else {
        write_string_literal(f, name)
    }
}

impl fmt::Display for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, p) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write_property_name(f, &p.name)?;
            write!(f, "={}", p.value)?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for ColumnDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.ty)?;
        match &self.constraint {
            ColumnConstraint::None => Ok(()),
            ColumnConstraint::Key => f.write_str(" KEY"),
            ColumnConstraint::PrimaryKey => f.write_str(" PRIMARY KEY"),
            ColumnConstraint::Headers => f.write_str(" HEADERS"),
            ColumnConstraint::Header(k) => {
                f.write_str(" HEADER(")?;
                write_string_literal(f, k)?;
                f.write_str(")")
            }
        }
    }
}

fn write_comma_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

fn write_columns(f: &mut fmt::Formatter<'_>, columns: &Option<Vec<Ident>>) -> fmt::Result {
    if let Some(cols) = columns {
        f.write_str(" (")?;
        write_comma_list(f, cols)?;
        f.write_str(")")?;
    }
    Ok(())
}

fn write_with(f: &mut fmt::Formatter<'_>, props: &Properties) -> fmt::Result {
    if !props.is_empty() {
        write!(f, " WITH {props}")?;
    }
    Ok(())
}

impl fmt::Display for QueryTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryTarget::All => f.write_str("ALL"),
            QueryTarget::Query(id) => write!(f, "{id}"),
        }
    }
}

impl fmt::Display for ShowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ext = |e: bool| if e { " EXTENDED" } else { "" };
        match self {
            ShowKind::Streams { extended } => write!(f, "SHOW STREAMS{}", ext(*extended)),
            ShowKind::Tables { extended } => write!(f, "SHOW TABLES{}", ext(*extended)),
            ShowKind::Topics { all, extended } => write!(
                f,
                "SHOW {}TOPICS{}",
                if *all { "ALL " } else { "" },
                ext(*extended)
            ),
            ShowKind::Queries { extended } => write!(f, "SHOW QUERIES{}", ext(*extended)),
            ShowKind::Properties => f.write_str("SHOW PROPERTIES"),
            ShowKind::Functions => f.write_str("SHOW FUNCTIONS"),
            ShowKind::Types => f.write_str("SHOW TYPES"),
            ShowKind::Variables => f.write_str("SHOW VARIABLES"),
            ShowKind::Connectors(None) => f.write_str("SHOW CONNECTORS"),
            ShowKind::Connectors(Some(ConnectorKind::Source)) => {
                f.write_str("SHOW SOURCE CONNECTORS")
            }
            ShowKind::Connectors(Some(ConnectorKind::Sink)) => f.write_str("SHOW SINK CONNECTORS"),
            ShowKind::ConnectorPlugins => f.write_str("SHOW CONNECTOR PLUGINS"),
        }
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)
    }
}

impl fmt::Display for StatementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use StatementKind as S;
        match self {
            S::Query(q) => write!(f, "{q}"),
            S::CreateSource(c) => {
                f.write_str("CREATE ")?;
                if c.or_replace {
                    f.write_str("OR REPLACE ")?;
                }
                if c.is_source {
                    f.write_str("SOURCE ")?;
                }
                write!(f, "{} ", c.kind)?;
                if c.if_not_exists {
                    f.write_str("IF NOT EXISTS ")?;
                }
                write!(f, "{}", c.name)?;
                if !c.elements.is_empty() {
                    f.write_str(" (")?;
                    write_comma_list(f, &c.elements)?;
                    f.write_str(")")?;
                }
                write_with(f, &c.properties)
            }
            S::CreateAsSelect(c) => {
                f.write_str("CREATE ")?;
                if c.or_replace {
                    f.write_str("OR REPLACE ")?;
                }
                write!(f, "{} ", c.kind)?;
                if c.if_not_exists {
                    f.write_str("IF NOT EXISTS ")?;
                }
                write!(f, "{}", c.name)?;
                write_with(f, &c.properties)?;
                write!(f, " AS {}", c.query)
            }
            S::InsertInto(i) => {
                write!(f, "INSERT INTO {}", i.target)?;
                write_with(f, &i.properties)?;
                write!(f, " {}", i.query)
            }
            S::InsertValues(i) => {
                write!(f, "INSERT INTO {}", i.target)?;
                write_columns(f, &i.columns)?;
                f.write_str(" VALUES (")?;
                write_comma_list(f, &i.values)?;
                f.write_str(")")
            }
            S::Show(k) => write!(f, "{k}"),
            S::DescribeSource { name, extended } => {
                write!(f, "DESCRIBE {name}")?;
                if *extended {
                    f.write_str(" EXTENDED")?;
                }
                Ok(())
            }
            S::DescribeSources { kind, extended } => {
                write!(f, "DESCRIBE {kind}S")?;
                if *extended {
                    f.write_str(" EXTENDED")?;
                }
                Ok(())
            }
            S::DescribeFunction { name } => write!(f, "DESCRIBE FUNCTION {name}"),
            S::DescribeConnector { name } => write!(f, "DESCRIBE CONNECTOR {name}"),
            S::Explain(ExplainTarget::Statement(s)) => write!(f, "EXPLAIN {s}"),
            S::Explain(ExplainTarget::QueryId(id)) => write!(f, "EXPLAIN {id}"),
            S::DropSource {
                kind,
                name,
                if_exists,
                delete_topic,
            } => {
                write!(f, "DROP {kind} ")?;
                if *if_exists {
                    f.write_str("IF EXISTS ")?;
                }
                write!(f, "{name}")?;
                if *delete_topic {
                    f.write_str(" DELETE TOPIC")?;
                }
                Ok(())
            }
            S::DropType { name, if_exists } => {
                f.write_str("DROP TYPE ")?;
                if *if_exists {
                    f.write_str("IF EXISTS ")?;
                }
                write!(f, "{name}")
            }
            S::DropConnector { name, if_exists } => {
                f.write_str("DROP CONNECTOR ")?;
                if *if_exists {
                    f.write_str("IF EXISTS ")?;
                }
                write!(f, "{name}")
            }
            S::Terminate(t) => write!(f, "TERMINATE {t}"),
            S::Pause(t) => write!(f, "PAUSE {t}"),
            S::Resume(t) => write!(f, "RESUME {t}"),
            S::Print(p) => {
                write!(f, "PRINT {}", p.topic)?;
                if p.from_beginning {
                    f.write_str(" FROM BEGINNING")?;
                }
                if let Some(i) = p.interval {
                    write!(f, " INTERVAL {i}")?;
                }
                if let Some(l) = p.limit {
                    write!(f, " LIMIT {l}")?;
                }
                Ok(())
            }
            S::SetProperty { name, value } => {
                f.write_str("SET ")?;
                write_string_literal(f, name)?;
                f.write_str("=")?;
                write_string_literal(f, value)
            }
            S::UnsetProperty { name } => {
                f.write_str("UNSET ")?;
                write_string_literal(f, name)
            }
            S::AlterSystem { name, value } => {
                f.write_str("ALTER SYSTEM ")?;
                write_string_literal(f, name)?;
                f.write_str("=")?;
                write_string_literal(f, value)
            }
            S::Define { name, value } => {
                write!(f, "DEFINE {name}=")?;
                write_string_literal(f, value)
            }
            S::Undefine { name } => write!(f, "UNDEFINE {name}"),
            S::RunScript { path } => {
                f.write_str("RUN SCRIPT ")?;
                write_string_literal(f, path)
            }
            S::CreateType {
                name,
                if_not_exists,
                ty,
            } => {
                f.write_str("CREATE TYPE ")?;
                if *if_not_exists {
                    f.write_str("IF NOT EXISTS ")?;
                }
                write!(f, "{name} AS {ty}")
            }
            S::CreateConnector {
                kind,
                name,
                if_not_exists,
                properties,
            } => {
                let k = match kind {
                    ConnectorKind::Source => "SOURCE",
                    ConnectorKind::Sink => "SINK",
                };
                write!(f, "CREATE {k} CONNECTOR ")?;
                if *if_not_exists {
                    f.write_str("IF NOT EXISTS ")?;
                }
                write!(f, "{name} WITH {properties}")
            }
            S::AlterSource {
                kind,
                name,
                add_columns,
            } => {
                write!(f, "ALTER {kind} {name} ")?;
                for (i, c) in add_columns.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "ADD COLUMN {} {}", c.name, c.ty)?;
                }
                Ok(())
            }
            S::AssertTopic {
                not_exists,
                topic,
                properties,
                timeout,
            } => {
                f.write_str("ASSERT ")?;
                if *not_exists {
                    f.write_str("NOT EXISTS ")?;
                }
                write!(f, "TOPIC {topic}")?;
                write_with(f, properties)?;
                if let Some(t) = timeout {
                    write!(f, " TIMEOUT {t}")?;
                }
                Ok(())
            }
            S::AssertSchema {
                not_exists,
                subject,
                id,
                timeout,
            } => {
                f.write_str("ASSERT ")?;
                if *not_exists {
                    f.write_str("NOT EXISTS ")?;
                }
                f.write_str("SCHEMA")?;
                if let Some(s) = subject {
                    write!(f, " SUBJECT {s}")?;
                }
                if let Some(i) = id {
                    write!(f, " ID {i}")?;
                }
                if let Some(t) = timeout {
                    write!(f, " TIMEOUT {t}")?;
                }
                Ok(())
            }
            S::AssertValues {
                source,
                columns,
                values,
            } => {
                write!(f, "ASSERT VALUES {source}")?;
                write_columns(f, columns)?;
                f.write_str(" VALUES (")?;
                write_comma_list(f, values)?;
                f.write_str(")")
            }
            S::AssertTombstone {
                source,
                columns,
                key_values,
            } => {
                write!(f, "ASSERT NULL VALUES {source}")?;
                write_columns(f, columns)?;
                f.write_str(" KEY (")?;
                write_comma_list(f, key_values)?;
                f.write_str(")")
            }
            S::AssertSource {
                kind,
                name,
                elements,
                properties,
            } => {
                write!(f, "ASSERT {kind} {name}")?;
                if !elements.is_empty() {
                    f.write_str(" (")?;
                    write_comma_list(f, elements)?;
                    f.write_str(")")?;
                }
                write_with(f, properties)
            }
        }
    }
}
