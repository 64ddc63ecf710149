//! The analyzer: resolves names and types of parsed statements against a catalog, enforces
//! ksqlDB's rules, and turns queries into [`LogicalPlan`]s.
//!
//! An [`Analyzer`] owns a catalog (by default a [`MemoryCatalog`]) and updates it as it
//! accepts `CREATE`, `DROP`, `ALTER` and `CREATE TYPE` statements, so a script is analyzed
//! statement by statement:
//!
//! ```
//! use brook_sql::analyzer::{AnalyzedStatement, Analyzer, NoFunctions};
//! use brook_sql::parse_statements;
//! let mut a = Analyzer::new(NoFunctions);
//! let sts = parse_statements(
//!     "CREATE STREAM clicks (user_id INT KEY, page STRING) WITH (kafka_topic='clicks', value_format='JSON');
//!      CREATE STREAM home AS SELECT user_id, page FROM clicks WHERE page = '/home';",
//! ).unwrap();
//! a.analyze(&sts[0]).unwrap();
//! let AnalyzedStatement::CreateAsSelect { plan, .. } = a.analyze(&sts[1]).unwrap() else { panic!() };
//! assert!(plan.to_string().starts_with("Sink: HOME (stream, topic=HOME, key=KAFKA, value=JSON)"));
//! ```

pub mod catalog;
mod coerce;
mod ddl;
pub mod error;
mod expr;
mod query;

use std::collections::BTreeMap;

pub use catalog::{
    Catalog, CatalogMut, FormatInfo, FunctionCatalog, FunctionKind, MemoryCatalog, NoFunctions,
    RegisteredSchema, SchemaField, SourceEntry, TimestampColumn, WindowInfo, WindowType,
};
pub use ddl::{
    headers_type, supports_schema_inference, FORMATS, KNOWN_PROPERTIES, RESERVED_COLUMNS,
};
pub use error::{AnalysisError, KsqlWording};

use crate::ast::{
    ColumnConstraint, CreateSource, ExplainTarget, Ident, Literal, SourceKind, Span, Statement,
    StatementKind,
};
use crate::plan::{Column, ColumnRole, LogicalPlan, SqlType, TypedExpr};
use crate::suggest;

use ddl::{prop_span, prop_str};
use error::{err, Result};
use expr::{ExprTyper, Scope};

/// The result of analyzing one statement.
#[derive(Debug, Clone, PartialEq)]
pub enum AnalyzedStatement {
    /// `CREATE STREAM|TABLE` over a topic: the entry now in the catalog (`None` when
    /// `IF NOT EXISTS` found the source already there).
    CreateSource {
        entry: Option<SourceEntry>,
        replaced: bool,
    },
    /// `CREATE STREAM|TABLE ... AS SELECT`: the plan ends in a `Sink` writing `entry`.
    CreateAsSelect {
        entry: SourceEntry,
        plan: LogicalPlan,
        replaced: bool,
    },
    /// `CREATE ... IF NOT EXISTS` of a source that exists: nothing to do.
    Skipped,
    /// `INSERT INTO target SELECT ...`: the plan ends in a `Sink` writing `target`.
    InsertInto {
        target: SourceEntry,
        plan: LogicalPlan,
    },
    /// `INSERT INTO target [(cols)] VALUES (...)`: one typed value per column given.
    InsertValues {
        target: SourceEntry,
        values: Vec<(Column, TypedExpr)>,
    },
    /// A transient `SELECT`: push (with `EMIT`) or pull (a lookup, without).
    Query {
        plan: LogicalPlan,
        pull: bool,
    },
    /// `DROP STREAM|TABLE`: the entry removed (`None` with `IF EXISTS` and no such source).
    DropSource {
        entry: Option<SourceEntry>,
        delete_topic: bool,
    },
    /// `ALTER STREAM|TABLE ... ADD COLUMN`: the entry as it now is.
    AlterSource {
        entry: SourceEntry,
    },
    CreateType {
        name: String,
        ty: SqlType,
    },
    DropType {
        name: String,
    },
    /// `EXPLAIN statement`.
    Explain(Box<AnalyzedStatement>),
    /// Statements with nothing to resolve beyond their text (SHOW, DESCRIBE, SET, PRINT,
    /// TERMINATE, ...), checked where a name must exist.
    Other(Box<Statement>),
}

impl AnalyzedStatement {
    /// The plan of a query-bearing statement.
    pub fn plan(&self) -> Option<&LogicalPlan> {
        match self {
            AnalyzedStatement::CreateAsSelect { plan, .. }
            | AnalyzedStatement::InsertInto { plan, .. }
            | AnalyzedStatement::Query { plan, .. } => Some(plan),
            AnalyzedStatement::Explain(inner) => inner.plan(),
            _ => None,
        }
    }
}

/// Resolves and checks statements, keeping a catalog up to date.
pub struct Analyzer<C: CatalogMut = MemoryCatalog> {
    catalog: C,
    functions: Box<dyn FunctionCatalog>,
    /// Session properties (`SET`), e.g. `ksql.persistence.default.format.value`.
    properties: BTreeMap<String, String>,
}

impl Analyzer<MemoryCatalog> {
    /// An analyzer with an empty in-memory catalog.
    pub fn new(functions: impl FunctionCatalog + 'static) -> Self {
        Analyzer::with_catalog(MemoryCatalog::new(), functions)
    }
}

impl<C: CatalogMut> Analyzer<C> {
    pub fn with_catalog(catalog: C, functions: impl FunctionCatalog + 'static) -> Self {
        Analyzer {
            catalog,
            functions: Box::new(functions),
            properties: BTreeMap::new(),
        }
    }

    pub fn catalog(&self) -> &C {
        &self.catalog
    }

    pub fn catalog_mut(&mut self) -> &mut C {
        &mut self.catalog
    }

    pub fn functions(&self) -> &dyn FunctionCatalog {
        &*self.functions
    }

    /// Sets a session property, as `SET 'name'='value'` does.
    pub fn set_property(&mut self, name: &str, value: &str) {
        self.properties.insert(name.to_string(), value.to_string());
    }

    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }

    /// The session's properties, to replace for one request (a server's per-request
    /// `streamsProperties`).
    pub fn properties_mut(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.properties
    }

    /// Analyzes one statement and applies its catalog changes (CREATE, DROP, ALTER, types,
    /// SET). On error the catalog is unchanged.
    pub fn analyze(
        &mut self,
        st: &Statement,
    ) -> std::result::Result<AnalyzedStatement, AnalysisError> {
        self.analyze_inner(st, true).map_err(|e| e.at(st.span))
    }

    /// Analyzes without changing the catalog (what `EXPLAIN` does).
    pub fn check(
        &mut self,
        st: &Statement,
    ) -> std::result::Result<AnalyzedStatement, AnalysisError> {
        self.analyze_inner(st, false).map_err(|e| e.at(st.span))
    }

    fn analyze_inner(&mut self, st: &Statement, apply: bool) -> Result<AnalyzedStatement> {
        use StatementKind as S;
        match &st.kind {
            S::CreateSource(cs) => self.create_source(cs, st.span, apply),
            S::CreateAsSelect(c) => self.create_as_select(c, st.span, apply),
            S::InsertInto(i) => self.insert_into(i, st.span),
            S::InsertValues(i) => self.insert_values(i),
            S::Query(q) => {
                let analyzed = query::analyze_query(self, q, None)?;
                Ok(AnalyzedStatement::Query {
                    pull: q.emit.is_none(),
                    plan: analyzed.plan,
                })
            }
            S::DropSource {
                kind,
                name,
                if_exists,
                delete_topic,
            } => {
                let Some(entry) = self.catalog.source(&name.value) else {
                    if *if_exists {
                        return Ok(AnalyzedStatement::DropSource {
                            entry: None,
                            delete_topic: *delete_topic,
                        });
                    }
                    return Err(self.unknown_source(name, Some(*kind)));
                };
                if entry.kind != *kind {
                    return err(
                        name.span,
                        format!(
                            "Incompatible data source type is {}, but statement was DROP {}",
                            entry.kind, kind
                        ),
                    );
                }
                if *delete_topic && entry.read_only {
                    return err(
                        st.span,
                        format!("Cannot delete topic for read-only source: {}", entry.name),
                    );
                }
                if apply {
                    self.catalog.remove_source(&entry.name);
                }
                Ok(AnalyzedStatement::DropSource {
                    entry: Some(entry),
                    delete_topic: *delete_topic,
                })
            }
            S::CreateType {
                name,
                if_not_exists,
                ty,
            } => {
                let resolved = self.resolve_type(ty, name.span)?;
                if let Some(existing) = self.catalog.custom_type(&name.value) {
                    if *if_not_exists {
                        return Ok(AnalyzedStatement::Skipped);
                    }
                    return err(
                        name.span,
                        format!(
                            "Cannot register custom type '{}' since it is already registered with type: {existing}",
                            name.value
                        ),
                    );
                }
                if apply {
                    self.catalog.put_type(&name.value, resolved.clone());
                }
                Ok(AnalyzedStatement::CreateType {
                    name: name.value.clone(),
                    ty: resolved,
                })
            }
            S::DropType { name, if_exists } => {
                if self.catalog.custom_type(&name.value).is_none() && !*if_exists {
                    return err(name.span, format!("Type {} does not exist.", name.value));
                }
                if apply {
                    self.catalog.remove_type(&name.value);
                }
                Ok(AnalyzedStatement::DropType {
                    name: name.value.clone(),
                })
            }
            S::AlterSource {
                kind,
                name,
                add_columns,
            } => {
                let Some(mut entry) = self.catalog.source(&name.value) else {
                    return Err(self.unknown_source(name, Some(*kind)));
                };
                let what = kind.as_str().to_lowercase();
                if entry.kind != *kind {
                    return err(
                        name.span,
                        format!(
                            "Incompatible data source type is {}, but statement was ALTER {kind}",
                            entry.kind
                        ),
                    );
                }
                if entry.read_only {
                    return err(
                        st.span,
                        format!("Cannot alter {what} '{}': ALTER operations are not supported on source {what}s.", entry.name),
                    );
                }
                if entry.from_query {
                    return err(
                        st.span,
                        "ALTER command is not supported for CREATE ... AS statements.",
                    );
                }
                for c in add_columns {
                    if entry.column(&c.name.value).is_some() {
                        return err(
                            c.span,
                            format!(
                                "Cannot add column `{}` to schema. A column with the same name already exists.",
                                c.name.value
                            ),
                        );
                    }
                    let ty = self.resolve_type(&c.ty, c.span)?;
                    entry
                        .columns
                        .push(Column::new(c.name.value.clone(), ty, ColumnRole::Value));
                }
                if apply {
                    self.catalog.put_source(entry.clone());
                }
                Ok(AnalyzedStatement::AlterSource { entry })
            }
            S::Explain(ExplainTarget::Statement(inner)) => {
                let a = self.analyze_inner(inner, false)?;
                Ok(AnalyzedStatement::Explain(Box::new(a)))
            }
            S::DescribeSource { name, .. } => {
                if self.catalog.source(&name.value).is_none() {
                    return Err(self.unknown_source(name, None));
                }
                Ok(AnalyzedStatement::Other(Box::new(st.clone())))
            }
            S::DescribeFunction { name } => {
                if self.functions.kind(&name.value).is_none() {
                    let names = self.functions.names();
                    return Err(AnalysisError::new(
                        name.span,
                        format!("Can't find any functions with the name '{}'", name.value),
                    )
                    .with_suggestion(suggest(&name.value, names.iter().map(String::as_str))));
                }
                Ok(AnalyzedStatement::Other(Box::new(st.clone())))
            }
            S::SetProperty { name, value } => {
                if apply {
                    self.set_property(name, value);
                }
                Ok(AnalyzedStatement::Other(Box::new(st.clone())))
            }
            S::UnsetProperty { name } => {
                if apply {
                    self.properties.remove(name);
                }
                Ok(AnalyzedStatement::Other(Box::new(st.clone())))
            }
            S::AssertValues { source, .. }
            | S::AssertTombstone { source, .. }
            | S::AssertSource { name: source, .. } => {
                if self.catalog.source(&source.value).is_none() {
                    return Err(self.unknown_source(source, None));
                }
                Ok(AnalyzedStatement::Other(Box::new(st.clone())))
            }
            _ => Ok(AnalyzedStatement::Other(Box::new(st.clone()))),
        }
    }

    pub(crate) fn resolve_type(&self, t: &crate::ast::Type, span: Span) -> Result<SqlType> {
        let cat = &self.catalog;
        SqlType::from_ast(t, &|n| cat.custom_type(n))
            .map_err(|name| AnalysisError::new(span, format!("Can't find type '{name}'")))
    }

    pub(crate) fn unknown_source(&self, name: &Ident, kind: Option<SourceKind>) -> AnalysisError {
        let names = self.catalog.source_names();
        let msg = match kind {
            Some(SourceKind::Stream) => format!("Stream {} does not exist.", name.value),
            Some(SourceKind::Table) => format!("Table {} does not exist.", name.value),
            None => format!("{} does not exist.", name.value),
        };
        AnalysisError::new(name.span, msg)
            .with_suggestion(suggest(&name.value, names.iter().map(String::as_str)))
    }

    /// Checks that a new source or sink may take `name`.
    fn check_new_name(
        &self,
        name: &Ident,
        kind: SourceKind,
        or_replace: bool,
        if_not_exists: bool,
        span: Span,
    ) -> Result<Option<Option<SourceEntry>>> {
        let what = kind.as_str().to_lowercase();
        match self.catalog.source(&name.value) {
            None => Ok(Some(None)),
            Some(_) if if_not_exists => Ok(None),
            Some(existing) => {
                if !or_replace || existing.kind != kind {
                    let existing_what = existing.kind.as_str().to_lowercase();
                    return err(
                        span,
                        format!(
                            "Cannot add {what} '{}': A {existing_what} with the same name already exists",
                            name.value
                        ),
                    );
                }
                if existing.read_only {
                    return err(
                        span,
                        format!("Cannot add {what} '{}': CREATE OR REPLACE is not supported on source {what}s.", name.value),
                    );
                }
                Ok(Some(Some(existing)))
            }
        }
    }

    fn create_source(
        &mut self,
        cs: &CreateSource,
        span: Span,
        apply: bool,
    ) -> Result<AnalyzedStatement> {
        let what = cs.kind.as_str().to_lowercase();
        if cs.or_replace && cs.is_source {
            return err(
                span,
                format!(
                    "Cannot add {what} '{}': CREATE OR REPLACE is not supported on source {what}s.",
                    cs.name.value
                ),
            );
        }
        let Some(existing) =
            self.check_new_name(&cs.name, cs.kind, cs.or_replace, cs.if_not_exists, span)?
        else {
            return Ok(AnalyzedStatement::Skipped);
        };
        let props = &cs.properties;
        ddl::check_known_properties(props)?;
        let Some(topic) = prop_str(props, "KAFKA_TOPIC") else {
            return err(
                span,
                "Missing required property \"KAFKA_TOPIC\" which has no default value.",
            );
        };
        let (default_key, default_value) = ddl::default_formats(&self.properties);
        let (key_format, value_format, wrap) =
            ddl::resolve_formats(props, default_key, default_value)?;
        let Some(value_format) = value_format else {
            return err(span, "Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Either provide one or set a default via the 'ksql.persistence.default.format.value' config.");
        };

        // Columns as declared.
        let mut columns: Vec<Column> = Vec::new();
        for c in &cs.elements {
            let name = c.name.value.clone();
            if RESERVED_COLUMNS.contains(&name.as_str()) {
                return err(
                    c.span,
                    format!("'{name}' is a reserved column name. You cannot use it as a name for a column."),
                );
            }
            if columns.iter().any(|x| x.name == name) {
                return err(c.span, format!("Duplicate column names:\n\t{name}"));
            }
            let role = ddl::column_role(cs.kind, &name, &c.constraint, c.name.span)?;
            let ty = self.resolve_type(&c.ty, c.span)?;
            match &c.constraint {
                ColumnConstraint::Headers if ty != headers_type() => {
                    return err(
                        c.span,
                        format!(
                            "Invalid type for HEADERS column: expected {}, got {ty}",
                            headers_type()
                        ),
                    );
                }
                ColumnConstraint::Header(_) if ty != SqlType::Bytes => {
                    return err(
                        c.span,
                        format!(
                            "Invalid type for HEADER('{}') column: expected BYTES, got {ty}",
                            match &c.constraint {
                                ColumnConstraint::Header(k) => k.as_str(),
                                _ => "",
                            }
                        ),
                    );
                }
                _ => {}
            }
            columns.push(Column::new(name, ty, role));
        }
        if columns
            .iter()
            .filter(|c| c.role == ColumnRole::Headers)
            .count()
            > 1
        {
            return err(span, "Schema already contains a HEADERS column.");
        }

        // Columns from a schema registry.
        let has_keys = columns.iter().any(|c| c.is_key());
        let has_values = columns.iter().any(|c| c.role == ColumnRole::Value);
        for (key, has, format, id_prop) in [
            (true, has_keys, &key_format, "KEY_SCHEMA_ID"),
            (false, has_values, &value_format, "VALUE_SCHEMA_ID"),
        ] {
            let which = if key { "KEY" } else { "VALUE" };
            let id_given = props.get(id_prop).is_some();
            if id_given && !supports_schema_inference(&format.name) {
                return err(
                    prop_span(props, id_prop),
                    format!("{which}_FORMAT should support schema inference when {id_prop} is provided. Current format is {}.", format.name),
                );
            }
            if id_given && has {
                return err(
                    span,
                    format!("Table elements and {id_prop} cannot both exist for create statement."),
                );
            }
            if !has && supports_schema_inference(&format.name) {
                match self.catalog.registered_schema(&topic, key) {
                    Some(schema) => {
                        let full_name = format.properties.get("fullSchemaName").map(String::as_str);
                        let mut inferred = ddl::columns_from_schema(
                            &schema,
                            key,
                            full_name,
                            id_given,
                            &format.name,
                        );
                        if key && cs.kind == SourceKind::Table && inferred.is_empty() {
                            continue;
                        }
                        // WRAP_SINGLE_VALUE=false: the whole record is one anonymous value,
                        // a `ROWVAL` column of the record's STRUCT type.
                        let one_rowval = inferred.len() == 1 && inferred[0].name == "ROWVAL";
                        if !key && wrap == Some(false) && !inferred.is_empty() && !one_rowval {
                            let fields = inferred.drain(..).map(|c| (c.name, c.ty)).collect();
                            inferred.push(Column::new(
                                "ROWVAL",
                                SqlType::Struct(fields),
                                ColumnRole::Value,
                            ));
                        }
                        if key {
                            inferred.append(&mut columns);
                            columns = inferred;
                        } else {
                            columns.append(&mut inferred);
                        }
                    }
                    None if !key
                        && (id_given || cs.elements.is_empty() || !has)
                        && cs
                            .elements
                            .iter()
                            .all(|c| c.constraint != ColumnConstraint::None) =>
                    {
                        return err(
                            span,
                            format!("Schema for message values on topic '{topic}' does not exist in the Schema Registry.\nSubject: {topic}-value\n\nPossible causes include:\n- The topic itself does not exist\n\t-> Use SHOW TOPICS; to check\n- Messages on the topic are not serialized using a format Schema Registry supports\n\t-> Use PRINT '{topic}' FROM BEGINNING; to verify\n- Messages on the topic have not been serialized using a Confluent Schema Registry supported serializer\n\t-> See https://docs.confluent.io/current/schema-registry/docs/serializer-formatter/index.html\n- The schema is registered on a different instance of the Schema Registry\n\t-> Use the REST API to list available subjects\thttps://docs.confluent.io/current/schema-registry/docs/api.html#get--subjects\n- You do not have permissions to access the Schema Registry.Subject: {topic}-value\n\t-> See https://docs.confluent.io/current/schema-registry/docs/security.html"),
                        );
                    }
                    None => {}
                }
            }
        }

        if columns.is_empty() && value_format.name != "NONE" {
            return err(span, "No columns supplied.");
        }
        let key_count = columns.iter().filter(|c| c.is_key()).count();
        if cs.kind == SourceKind::Table && key_count == 0 {
            return err(
                span,
                "Tables require a PRIMARY KEY. Please define the PRIMARY KEY.",
            );
        }
        let window = ddl::window_props(props)?;
        if window.is_some() && key_count == 0 {
            return err(span, "Windowed sources require a key column.");
        }
        ddl::check_formats(&columns, &key_format, &value_format, wrap, span)?;

        let timestamp = self.timestamp_column(props, &columns)?;
        let partitions = match props.get("PARTITIONS") {
            None => None,
            Some(Literal::Integer(n)) if *n > 0 => Some(*n as u32),
            Some(other) => {
                return err(
                    prop_span(props, "PARTITIONS"),
                    format!("Invalid number of partitions: {other}"),
                )
            }
        };
        let wrap = ddl::default_wrap(
            &self.properties,
            wrap,
            &value_format,
            columns
                .iter()
                .filter(|c| c.role == ColumnRole::Value)
                .count(),
        );
        let entry = SourceEntry {
            name: cs.name.value.clone(),
            kind: cs.kind,
            columns,
            topic,
            key_format,
            value_format,
            window,
            timestamp,
            partitions,
            read_only: cs.is_source,
            from_query: false,
            wrap_single_value: wrap,
        };
        let replaced = existing.is_some();
        if let Some(old) = &existing {
            check_replacement(old, &entry, span)?;
        }
        if apply {
            self.catalog.put_source(entry.clone());
        }
        Ok(AnalyzedStatement::CreateSource {
            entry: Some(entry),
            replaced,
        })
    }

    fn timestamp_column(
        &self,
        props: &crate::ast::Properties,
        columns: &[Column],
    ) -> Result<Option<TimestampColumn>> {
        let Some(ts) = prop_str(props, "TIMESTAMP") else {
            return Ok(None);
        };
        let name = ts.to_ascii_uppercase();
        let name = if columns.iter().any(|c| c.name == ts) {
            ts.clone()
        } else {
            name
        };
        let span = prop_span(props, "TIMESTAMP");
        let Some(col) = columns.iter().find(|c| c.name == name) else {
            return err(
                span,
                format!("The TIMESTAMP column set in the WITH clause does not exist in the schema: '{name}'"),
            );
        };
        let format = prop_str(props, "TIMESTAMP_FORMAT");
        let ok = match col.ty {
            SqlType::BigInt | SqlType::Timestamp => true,
            SqlType::String => format.is_some(),
            _ => false,
        };
        if !ok {
            return err(
                span,
                format!("Timestamp column, `{name}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified."),
            );
        }
        Ok(Some(TimestampColumn {
            column: name,
            format,
        }))
    }

    fn create_as_select(
        &mut self,
        c: &crate::ast::CreateAsSelect,
        span: Span,
        apply: bool,
    ) -> Result<AnalyzedStatement> {
        let Some(existing) =
            self.check_new_name(&c.name, c.kind, c.or_replace, c.if_not_exists, span)?
        else {
            return Ok(AnalyzedStatement::Skipped);
        };
        ddl::check_known_properties(&c.properties)?;
        let sink = query::SinkTarget {
            name: c.name.value.clone(),
            kind: c.kind,
            properties: c.properties.clone(),
            existing: None,
            statement: query::SinkStatement::CreateAs {
                or_replace: c.or_replace,
                if_not_exists: c.if_not_exists,
            },
        };
        let analyzed = query::analyze_query(self, &c.query, Some(&sink))?;
        let entry = analyzed.sink.expect("a sink for CREATE AS SELECT");
        self.check_sink_schema_id(&entry, span)?;
        if let Some(old) = &existing {
            check_replacement(old, &entry, span)?;
        }
        if apply {
            self.catalog.put_source(entry.clone());
        }
        Ok(AnalyzedStatement::CreateAsSelect {
            entry,
            plan: analyzed.plan,
            replaced: existing.is_some(),
        })
    }

    /// A CREATE ... AS SELECT with `VALUE_SCHEMA_ID` writes with the registered schema: as
    /// ksqlDB's schema injector, each value column of the query must be the registered
    /// schema's column at the same position, with the same name and type (the schema may
    /// have more columns after them).
    fn check_sink_schema_id(&self, entry: &SourceEntry, span: Span) -> Result<()> {
        let format = &entry.value_format;
        if !format.properties.contains_key("schemaId") {
            return Ok(());
        }
        let Some(schema) = self.catalog.registered_schema(&entry.topic, false) else {
            return Ok(());
        };
        let full_name = format.properties.get("fullSchemaName").map(String::as_str);
        let registered = ddl::columns_from_schema(&schema, false, full_name, true, &format.name);
        let show = |c: &Column| format!("`{}` {}", c.name, c.ty);
        let changed: Vec<String> = entry
            .columns
            .iter()
            .filter(|c| c.role == ColumnRole::Value)
            .enumerate()
            .filter(|(i, c)| {
                registered
                    .get(*i)
                    .is_none_or(|r| r.name != c.name || r.ty != c.ty)
            })
            .map(|(_, c)| show(c))
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        err(
            span,
            format!(
                "The following value columns are changed, missing or reordered: [{}]. Schema from schema registry is [{}]",
                changed.join(", "),
                registered.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
        )
    }

    fn insert_into(
        &mut self,
        i: &crate::ast::InsertInto,
        _span: Span,
    ) -> Result<AnalyzedStatement> {
        let Some(target) = self.catalog.source(&i.target.value) else {
            return Err(self.unknown_source(&i.target, None));
        };
        if target.kind == SourceKind::Table {
            return err(
                i.target.span,
                format!(
                    "INSERT INTO can only be used to insert into a stream. {} is a table.",
                    target.name
                ),
            );
        }
        if target.read_only {
            return err(
                i.target.span,
                format!("Cannot insert into read-only stream: {}", target.name),
            );
        }
        let sink = query::SinkTarget {
            name: target.name.clone(),
            kind: target.kind,
            properties: i.properties.clone(),
            existing: Some(target.clone()),
            statement: query::SinkStatement::InsertInto,
        };
        let analyzed = query::analyze_query(self, &i.query, Some(&sink))?;
        Ok(AnalyzedStatement::InsertInto {
            target,
            plan: analyzed.plan,
        })
    }

    fn insert_values(&mut self, i: &crate::ast::InsertValues) -> Result<AnalyzedStatement> {
        let Some(target) = self.catalog.source(&i.target.value) else {
            return Err(self.unknown_source(&i.target, None));
        };
        if target.window.is_some() {
            return err(
                i.target.span,
                "Cannot insert values into windowed stream/table!",
            );
        }
        if target.read_only {
            return err(
                i.target.span,
                format!(
                    "Cannot insert values into read-only {}: {}",
                    target.kind.as_str().to_lowercase(),
                    target.name
                ),
            );
        }
        let columns: Vec<Column> = match &i.columns {
            Some(names) => {
                let mut v = Vec::new();
                for n in names {
                    if n.value == "ROWPARTITION" || n.value == "ROWOFFSET" {
                        return err(
                            n.span,
                            format!("Inserting into column `{}` is not allowed.", n.value),
                        );
                    }
                    let found = target.column(&n.value).cloned().or_else(|| {
                        ["ROWTIME", "ROWPARTITION", "ROWOFFSET"]
                            .contains(&n.value.as_str())
                            .then(|| {
                                Column::new(n.value.clone(), SqlType::BigInt, ColumnRole::Pseudo)
                            })
                    });
                    match found {
                        Some(c) => v.push(c),
                        None => {
                            return Err(AnalysisError::new(
                                n.span,
                                format!("Column name {} does not exist.", n.value),
                            )
                            .with_suggestion(suggest(
                                &n.value,
                                target.columns.iter().map(|c| c.name.as_str()),
                            )))
                        }
                    }
                }
                v
            }
            // Key columns first, then value columns.
            None => target
                .key_columns()
                .chain(
                    target
                        .columns
                        .iter()
                        .filter(|c| c.role == ColumnRole::Value),
                )
                .cloned()
                .collect(),
        };
        // ksqlDB never writes header columns from INSERT VALUES: naming one, or giving no
        // column list for a source that has them, is an error.
        let header_columns = |cols: &mut dyn Iterator<Item = &Column>| -> Vec<String> {
            cols.filter(|c| matches!(c.role, ColumnRole::Headers | ColumnRole::Header(_)))
                .map(|c| c.name.clone())
                .collect()
        };
        let reject_headers = |names: Vec<String>| -> Result<()> {
            if names.is_empty() {
                Ok(())
            } else {
                err(
                    i.target.span,
                    format!("Cannot insert into HEADER columns: {}", names.join(", ")),
                )
            }
        };
        if i.columns.is_none() {
            reject_headers(header_columns(&mut target.columns.iter()))?;
        }
        if columns.len() != i.values.len() {
            // ksqlDB's AST builder checks this.
            return Err(AnalysisError::new(
                i.target.span,
                format!(
                    "Expected number columns and values to match: {}, {}",
                    columns.len(),
                    i.values.len()
                ),
            )
            .worded(KsqlWording::Prepare));
        }
        reject_headers(header_columns(&mut columns.iter()))?;
        let scope = Scope::default();
        let cat = &self.catalog;
        let custom = |n: &str| cat.custom_type(n);
        let mut out = Vec::new();
        for (c, v) in columns.into_iter().zip(&i.values) {
            let mut typer = ExprTyper::new(&scope, &*self.functions, &custom, "VALUES");
            let t = typer.type_expr(v)?;
            if !assignable(&t, &c.ty) {
                let text = match &v.kind {
                    crate::ast::ExprKind::Literal(Literal::String(s)) => s.clone(),
                    _ => v.to_string(),
                };
                return err(
                    v.span,
                    format!("invalid input syntax for type {}: \"{text}\".", c.ty),
                );
            }
            // A string for a BOOLEAN column is read as ksqlDB's lax coercer reads it.
            let t = if c.ty == SqlType::Boolean {
                coerce::convert_to(t, &c.ty)
            } else {
                t
            };
            out.push((c, t));
        }
        Ok(AnalyzedStatement::InsertValues {
            target,
            values: out,
        })
    }
}

/// Whether a value of type `t` may be stored in a column of type `col` (widening, and
/// string literals that parse as the column's type).
fn assignable(t: &TypedExpr, col: &SqlType) -> bool {
    if t.ty.can_widen_to(col) || SqlType::common(&t.ty, col).as_ref() == Some(col) {
        return true;
    }
    if let crate::plan::TypedExprKind::Literal(Literal::String(s)) = &t.kind {
        return match col {
            SqlType::Int => s.trim().parse::<i32>().is_ok(),
            SqlType::BigInt => s.trim().parse::<i64>().is_ok(),
            SqlType::Double | SqlType::Decimal { .. } => s.trim().parse::<f64>().is_ok(),
            SqlType::Boolean => coerce::parse_boolean_exact(s).is_some(),
            SqlType::Date | SqlType::Time | SqlType::Timestamp | SqlType::Bytes => true,
            _ => false,
        };
    }
    // Numbers narrow where they fit (ksqlDB coerces literals), values convert to strings,
    // and constructed structs match by field name.
    if t.is_literal() && t.ty.is_numeric() && col.is_numeric() {
        return true;
    }
    if matches!(
        (&t.ty, col),
        (SqlType::Struct(_), SqlType::Struct(_))
            | (SqlType::Array(_), SqlType::Array(_))
            | (SqlType::Map(..), SqlType::Map(..))
    ) || (*col == SqlType::String && t.ty.is_primitive())
    {
        return true;
    }
    if t.ty.is_numeric() && col.is_numeric() {
        return true;
    }
    matches!(col, SqlType::Timestamp | SqlType::Date | SqlType::Time) && t.ty.is_integer()
}

/// `CREATE OR REPLACE` may add value columns at the end but not change existing ones.
fn check_replacement(old: &SourceEntry, new: &SourceEntry, span: Span) -> Result<()> {
    let old_vals: Vec<&Column> = old.value_columns().collect();
    let new_vals: Vec<&Column> = new.value_columns().collect();
    let changed: Vec<String> = old_vals
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            new_vals
                .get(*i)
                .is_none_or(|n| n.name != c.name || n.ty != c.ty)
        })
        .map(|(_, c)| c.to_string())
        .collect();
    if !changed.is_empty() {
        return err(
            span,
            format!(
                "Cannot upgrade data source: DataSource '{}' has schema = {} which is not upgrade compatible with {}. The following value columns are changed, missing or reordered: [{}]. Schema from ...",
                old.name,
                describe(&old.columns),
                describe(&new.columns),
                changed.join(", ")
            ),
        );
    }
    Ok(())
}

fn describe(cols: &[Column]) -> String {
    let v: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
    v.join(", ")
}

#[cfg(test)]
mod tests;
