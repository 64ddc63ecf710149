//! Queries: `FROM` and joins, `WHERE`, the select list, `GROUP BY` / `WINDOW` / `HAVING`,
//! `PARTITION BY`, table functions, and the sink of `CREATE ... AS SELECT` and
//! `INSERT INTO`, with ksqlDB's rules for key columns.

use crate::ast::{
    BinaryOp, Emit, ExprKind, Join, JoinType, Properties, Query, SelectItem, SourceKind, Span,
    WindowExpr, WindowKind,
};
use crate::plan::{
    AggregateCall, Column, ColumnRef, ColumnRole, JoinKind, JoinWithin, LogicalPlan, NamedExpr,
    Node, Schema, SqlType, TableFunctionCall, TypedExpr, TypedExprKind, WindowSpec,
};

use std::collections::BTreeMap;

use super::catalog::{
    CatalogMut, FormatInfo, FunctionCatalog, FunctionKind, SourceEntry, WindowInfo, WindowType,
};
use super::ddl::{self, prop_span, prop_str, RESERVED_COLUMNS};
use super::error::{err, AnalysisError, Result};
use super::expr::{ExprTyper, Scope};
use super::Analyzer;

/// Where a persistent query writes.
pub(crate) struct SinkTarget {
    pub name: String,
    pub kind: SourceKind,
    pub properties: Properties,
    /// The existing stream of `INSERT INTO`.
    pub existing: Option<SourceEntry>,
    /// The statement writing to it, as ksqlDB quotes it in messages.
    pub statement: SinkStatement,
}

/// What kind of statement a persistent query comes from.
pub(crate) enum SinkStatement {
    CreateAs {
        or_replace: bool,
        if_not_exists: bool,
    },
    InsertInto,
}

pub(crate) struct AnalyzedQuery {
    pub plan: LogicalPlan,
    pub sink: Option<SourceEntry>,
}

/// One key column of the rows flowing through the query, and the expressions (over the
/// FROM scope) that are equal to it.
#[derive(Debug, Clone)]
struct KeyCol {
    /// Its name in the current node's output.
    name: String,
    ty: SqlType,
    matches: Vec<TypedExpr>,
    /// How the "must include ... in its projection" message names it.
    what: KeyOrigin,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum KeyOrigin {
    Source,
    Join,
    SyntheticJoin,
    Group,
    Partition,
    /// The left table's primary key, kept by a foreign-key join.
    ForeignKey,
}

const PSEUDO: &[(&str, SqlType)] = &[
    ("ROWTIME", SqlType::BigInt),
    ("ROWPARTITION", SqlType::Int),
    ("ROWOFFSET", SqlType::BigInt),
];

fn pseudo(source: Option<&str>, name: &str, ty: SqlType) -> Column {
    Column {
        source: source.map(str::to_string),
        name: name.to_string(),
        ty,
        role: ColumnRole::Pseudo,
    }
}

/// The scope columns of a source read under `alias`.
fn source_columns(entry: &SourceEntry, alias: &str) -> Vec<Column> {
    let mut cols: Vec<Column> = entry
        .columns
        .iter()
        .map(|c| Column {
            source: Some(alias.to_string()),
            ..c.clone()
        })
        .collect();
    for (n, t) in PSEUDO {
        cols.push(pseudo(Some(alias), n, t.clone()));
    }
    if entry.window.is_some() {
        cols.push(pseudo(Some(alias), "WINDOWSTART", SqlType::BigInt));
        cols.push(pseudo(Some(alias), "WINDOWEND", SqlType::BigInt));
    }
    cols
}

fn column_expr(c: &Column) -> TypedExpr {
    TypedExpr::column(c.source.clone(), c.name.clone(), c.ty.clone())
}

fn is_pseudo_name(n: &str) -> bool {
    RESERVED_COLUMNS.contains(&n)
}

/// Structural equality that ignores how a column was qualified (spans never count).
fn same_expr(a: &TypedExpr, b: &TypedExpr) -> bool {
    a == b
}

struct SelectEntry {
    name: String,
    expr: TypedExpr,
    /// The item as written (for messages).
    text: String,
    aliased: bool,
    /// Expanded from an unqualified `*`.
    from_star: bool,
    span: Span,
}

/// Joins a list as ksqlDB's messages do: `A`, `A and B`, `A, B and C`.
fn and_list(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

/// What every section of a query's analysis reads: the statement, where it writes, and the
/// sources its FROM clause resolved to.
struct QueryCtx<'a> {
    q: &'a Query,
    sink: Option<&'a SinkTarget>,
    /// A CREATE ... AS SELECT or INSERT INTO (not a transient query).
    persistent: bool,
    /// A transient query without EMIT: a pull query.
    pull: bool,
    /// ksqlDB's newer planner: a stream may drop its key from the projection.
    new_planner: bool,
    functions: &'a dyn FunctionCatalog,
    custom: &'a dyn Fn(&str) -> Option<SqlType>,
    properties: &'a BTreeMap<String, String>,
    /// The FROM source, and every source with its alias (the FROM source first).
    first: SourceEntry,
    sources: Vec<(String, SourceEntry)>,
    /// More than one source (a join).
    multi: bool,
    /// Column names more than one joined source has.
    common: Vec<String>,
}

impl QueryCtx<'_> {
    /// The name a select item gets when it has no alias: a column's (qualified after its
    /// source where a join makes the name ambiguous), a struct field's, or none.
    fn default_name(&self, e: &TypedExpr) -> Option<String> {
        match &e.kind {
            TypedExprKind::Column(c) => Some(match (&c.source, self.multi) {
                (Some(s), true) if self.common.contains(&c.name) || is_pseudo_name(&c.name) => {
                    format!("{s}_{}", c.name)
                }
                _ => c.name.clone(),
            }),
            TypedExprKind::Dereference { field, .. } => Some(field.clone()),
            _ => None,
        }
    }

    /// As [`Self::default_name`], for a GROUP BY or PARTITION BY key (a pseudo-column has no
    /// default name there).
    fn key_default_name(&self, e: &TypedExpr) -> Option<String> {
        match &e.kind {
            TypedExprKind::Column(c) if is_pseudo_name(&c.name) => None,
            _ => self.default_name(e),
        }
    }
}

/// Generated column names (`KSQL_COL_n`), skipping every name already taken.
struct NameGen {
    taken: Vec<String>,
    counter: usize,
}

impl NameGen {
    fn next(&mut self) -> String {
        loop {
            let n = format!("KSQL_COL_{}", self.counter);
            self.counter += 1;
            if !self.taken.contains(&n) {
                self.taken.push(n.clone());
                return n;
            }
        }
    }
}

/// The rows after FROM and its joins, and what they are keyed and windowed by.
struct FromClause {
    first: SourceEntry,
    sources: Vec<(String, SourceEntry)>,
    scope: Scope,
    plan: LogicalPlan,
    keys: Vec<KeyCol>,
    result_kind: SourceKind,
    window: Option<WindowInfo>,
}

/// The select list, typed.
struct SelectList {
    items: Vec<SelectEntry>,
    /// The alias each `expr [AS alias]` item ends up with, for the sanitized statement.
    item_aliases: Vec<Option<String>>,
}

/// The rows after GROUP BY / WINDOW / HAVING (or unchanged when not aggregated).
struct Grouped {
    items: Vec<SelectEntry>,
    plan: LogicalPlan,
    keys: Vec<KeyCol>,
    result_kind: SourceKind,
    window: Option<WindowInfo>,
}

/// The projected rows and their columns.
struct Projected {
    plan: LogicalPlan,
    key_columns: Vec<Column>,
    out_cols: Vec<Column>,
}

/// Analyzes a query section by section: FROM and joins, pull-query restrictions, WHERE,
/// the select list, GROUP BY / WINDOW / HAVING, table functions, the projection and its
/// keys, and the sink of a persistent query.
pub(crate) fn analyze_query<C: CatalogMut>(
    a: &Analyzer<C>,
    q: &Query,
    sink: Option<&SinkTarget>,
) -> Result<AnalyzedQuery> {
    let persistent = sink.is_some();
    // With ksqlDB's newer planner a stream may drop its key from the projection.
    let new_planner = a
        .properties()
        .get("ksql.new.query.planner.enabled")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if let (Some(s), Some(_)) = (sink, q.limit) {
        if s.existing.is_none() {
            return err(
                q.span,
                format!(
                    "CREATE {} AS SELECT statements don't support LIMIT clause.",
                    s.kind
                ),
            );
        }
    }
    let functions = a.functions();
    let cat = a.catalog();
    let custom = |n: &str| cat.custom_type(n);

    let from = analyze_from(a, q, persistent, &custom)?;
    let (multi, common) = joined_names(&from.sources);
    let ctx = QueryCtx {
        q,
        sink,
        persistent,
        pull: !persistent && q.emit.is_none(),
        new_planner,
        functions,
        custom: &custom,
        properties: a.properties(),
        first: from.first,
        sources: from.sources,
        multi,
        common,
    };
    let mut scope = from.scope;
    let where_scope = scope.clone();
    add_window_bounds(&mut scope, q, multi);
    check_pull_restrictions(&ctx)?;
    let plan = analyze_where(&ctx, &where_scope, from.plan)?;
    let select = analyze_select(&ctx, &scope)?;
    let mut names = select.names;
    let grouped = analyze_grouping(
        &ctx,
        &scope,
        &mut names,
        select.list.items,
        plan,
        from.keys,
        from.result_kind,
        from.window,
    )?;
    let (items, plan) = table_functions(&ctx, grouped.items, grouped.plan, grouped.result_kind)?;
    let projected = project(&ctx, items, plan, &grouped.keys, grouped.result_kind)?;
    // Whether the table can serve pull queries is known once the query is otherwise valid
    // (ksqlDB reports analysis errors, e.g. duplicate columns, first).
    let (pull, first) = (ctx.pull, &ctx.first);
    // Whether the table can serve pull queries is known once the query is otherwise valid
    // (ksqlDB reports analysis errors, e.g. duplicate columns, first).
    if pull && first.kind == SourceKind::Table && !first.from_query && !first.read_only {
        return err(q.from.source.span, format!("The `{0}` table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_{0} AS SELECT * FROM {0}'. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.", first.name));
    }
    match sink {
        None => Ok(AnalyzedQuery {
            plan: projected.plan,
            sink: None,
        }),
        Some(sink) => analyze_sink(
            &ctx,
            sink,
            &scope,
            &select.list.item_aliases,
            projected,
            grouped.result_kind,
            grouped.window,
        ),
    }
}

/// FROM and its joins: the sources, the scope their columns make, the plan reading and
/// joining them, and the key and window of the joined rows.
fn analyze_from<C: CatalogMut>(
    a: &Analyzer<C>,
    q: &Query,
    persistent: bool,
    custom: &dyn Fn(&str) -> Option<SqlType>,
) -> Result<FromClause> {
    let cat = a.catalog();
    // ---- FROM ------------------------------------------------------------------------
    let lookup = |name: &crate::ast::Ident| -> Result<SourceEntry> {
        cat.source(&name.value)
            .ok_or_else(|| a.unknown_source(name, None))
    };
    let first = lookup(&q.from.source.name)?;
    let first_alias = q.from.source.reference_name().value.clone();
    let mut sources: Vec<(String, SourceEntry)> = vec![(first_alias.clone(), first.clone())];
    let mut scope = Scope {
        columns: source_columns(&first, &first_alias),
        qualifiers: vec![(first_alias.clone(), first.name.clone())],
    };
    let mut plan = LogicalPlan {
        schema: Schema::new(scope.columns.clone()),
        node: Node::Source {
            entry: Box::new(first.clone()),
            alias: first_alias.clone(),
        },
    };
    let mut keys: Vec<KeyCol> = first
        .key_columns()
        .map(|c| KeyCol {
            name: c.name.clone(),
            ty: c.ty.clone(),
            matches: vec![TypedExpr::column(
                Some(first_alias.clone()),
                c.name.clone(),
                c.ty.clone(),
            )],
            what: KeyOrigin::Source,
        })
        .collect();
    let mut result_kind = first.kind;
    let mut window = first.window;

    if !q.from.joins.is_empty() {
        if q.emit.is_none() && !persistent {
            return err(q.from.joins[0].span, "Pull queries don't support JOIN clauses. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.");
        }
        let mut all = vec![first.clone()];
        for j in &q.from.joins {
            all.push(lookup(&j.source.name)?);
        }
        let kafka: Vec<&str> = all
            .iter()
            .filter(|s| s.value_format.name == "KAFKA")
            .map(|s| s.name.as_str())
            .collect();
        if !kafka.is_empty() {
            return err(
                q.from.source.span,
                format!("Source(s) {} are using the 'KAFKA' value format. This format does not yet support JOIN.", kafka.join(", ")),
            );
        }
    }
    // ksqlDB's AST builder rejects a qualifier that names no source of the FROM clause
    // before anything is resolved.
    check_qualifiers(q)?;
    let n_joins = q.from.joins.len();
    for (join_index, j) in q.from.joins.iter().enumerate() {
        let right = lookup(&j.source.name)?;
        let right_alias = j.source.reference_name().value.clone();
        if sources.iter().any(|(_, s)| s.name == right.name) {
            return err(
                j.source.span,
                format!(
                    "Can not join '{}' to '{}': self joins are not yet supported.",
                    sources[0].1.name, right.name
                ),
            );
        }
        let joined = analyze_join(
            a,
            j,
            &custom,
            plan,
            &mut scope,
            &mut keys,
            result_kind,
            window,
            &sources,
            &right,
            &right_alias,
            n_joins,
            join_index,
        )?;
        plan = joined.0;
        result_kind = joined.1;
        window = joined.2;
        sources.push((right_alias, right));
    }
    Ok(FromClause {
        first,
        sources,
        scope,
        plan,
        keys,
        result_kind,
        window,
    })
}

/// Whether the query joins, and the column names more than one joined source has: a
/// qualified reference to one of them is named `SOURCE_NAME` in the projection, any other
/// just `NAME` (as ksqlDB's AstSanitizer names them).
fn joined_names(sources: &[(String, SourceEntry)]) -> (bool, Vec<String>) {
    let multi = sources.len() > 1;
    // Column names more than one joined source has: a qualified reference to one of them is
    // named `SOURCE_NAME` in the projection, any other just `NAME` (as ksqlDB's
    // AstSanitizer names them).
    let mut common: Vec<String> = Vec::new();
    for (i, (_, a)) in sources.iter().enumerate() {
        for c in a
            .columns
            .iter()
            .filter(|c| matches!(c.role, ColumnRole::Key | ColumnRole::Value))
        {
            let again = sources[i + 1..]
                .iter()
                .any(|(_, b)| b.columns.iter().any(|d| d.name == c.name));
            if again && !common.contains(&c.name) {
                common.push(c.name.clone());
            }
        }
    }
    (multi, common)
}

/// Window bounds are selectable in windowed aggregations (but not of joins), and not in
/// WHERE, which runs before the window is known (its scope is taken before this).
fn add_window_bounds(scope: &mut Scope, q: &Query, multi: bool) {
    if q.window.is_some() && !multi {
        for n in ["WINDOWSTART", "WINDOWEND"] {
            if !scope.columns.iter().any(|c| c.name == n) {
                scope.columns.push(pseudo(None, n, SqlType::BigInt));
            }
        }
    }
}

/// What pull queries cannot do, and persistent queries over windowed tables.
fn check_pull_restrictions(ctx: &QueryCtx) -> Result<()> {
    let (q, persistent, first) = (ctx.q, ctx.persistent, &ctx.first);
    // ---- pull query restrictions -------------------------------------------------------
    let pull = !persistent && q.emit.is_none();
    if pull {
        if q.limit.is_some()
            && ctx
                .properties
                .get("ksql.query.pull.limit.clause.enabled")
                .is_some_and(|v| v.eq_ignore_ascii_case("false"))
        {
            return err(q.span, "LIMIT clause in pull queries is currently disabled. You can enable them by setting ksql.query.pull.limit.clause.enabled=true. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.");
        }
        if q.group_by.is_some() {
            return err(q.span, "Pull queries don't support GROUP BY clauses. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.");
        }
        if let Some(w) = &q.window {
            return err(w.span, "Pull queries don't support WINDOW clauses. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.");
        }
        if q.partition_by.is_some() {
            return err(q.span, "Pull queries don't support PARTITION BY clauses. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.");
        }
    }
    if persistent && first.window.is_some() && first.kind == SourceKind::Table {
        return err(
            q.from.source.span,
            "KSQL does not support persistent queries on windowed tables.",
        );
    }
    Ok(())
}

/// WHERE: a filter over the FROM rows (window bounds are not known yet).
fn analyze_where(
    ctx: &QueryCtx,
    where_scope: &Scope,
    mut plan: LogicalPlan,
) -> Result<LogicalPlan> {
    let (q, pull, first, multi) = (ctx.q, ctx.pull, &ctx.first, ctx.multi);
    let (functions, custom) = (ctx.functions, ctx.custom);
    // ---- WHERE -------------------------------------------------------------------------
    if let Some(w) = &q.where_clause {
        let mut t = ExprTyper::new(where_scope, functions, &custom, "WHERE");
        if pull && first.kind == SourceKind::Table && !multi {
            t.pull_keys = first
                .key_columns()
                .map(|c| (c.name.clone(), c.ty.clone()))
                .collect();
        }
        let windowed_query = q.window.is_some();
        let pred = t.type_expr(w).map_err(|e| {
            match ["WINDOWSTART", "WINDOWEND"].iter().find(|n| {
                windowed_query && e.message.starts_with(&format!("WHERE column '{n}' cannot"))
            }) {
                Some(n) => AnalysisError {
                    message: format!("Error in WHERE expression: Unknown column {n}."),
                    ..e
                },
                None => e,
            }
        })?;
        if !matches!(pred.ty, SqlType::Boolean | SqlType::Null) {
            return err(
                w.span,
                format!(
                    "Type error in WHERE expression: Should evaluate to boolean but is {w} ({}) instead.",
                    pred.ty
                ),
            );
        }
        if pull {
            let bad: Vec<String> = pred
                .columns()
                .iter()
                .filter(|c| c.name == "ROWOFFSET" || c.name == "ROWPARTITION")
                .map(|c| format!("`{}`", c.name))
                .collect();
            if !bad.is_empty() {
                return err(
                    w.span,
                    format!(
                        "Pull queries don't support the following columns in WHERE clauses: {}",
                        bad.join(", ")
                    ),
                );
            }
        }
        plan = LogicalPlan {
            schema: plan.schema.clone(),
            node: Node::Filter {
                input: Box::new(plan),
                predicate: pred,
            },
        };
    }

    Ok(plan)
}

/// The typed select list, and the generator of the names items without one get.
struct SelectResult {
    list: SelectList,
    names: NameGen,
}

/// The select list: `*` and `source.*` expanded, `struct->*` expanded, each item typed and
/// named (alias, default name or a generated `KSQL_COL_n`).
fn analyze_select(ctx: &QueryCtx, scope: &Scope) -> Result<SelectResult> {
    let (q, persistent, pull, multi) = (ctx.q, ctx.persistent, ctx.pull, ctx.multi);
    let (functions, custom, sources) = (ctx.functions, ctx.custom, &ctx.sources);
    let mut names = NameGen {
        taken: sources
            .iter()
            .flat_map(|(_, s)| s.columns.iter().map(|c| c.name.clone()))
            .collect(),
        counter: 0,
    };
    for it in &q.select {
        if let SelectItem::Expr {
            alias: Some(al), ..
        } = it
        {
            names.taken.push(al.value.clone());
        }
    }
    let default_name = |e: &TypedExpr| ctx.default_name(e);
    let mut items: Vec<SelectEntry> = Vec::new();
    let mut used_names: Vec<String> = Vec::new();
    let wildcard_columns = |source: Option<&str>| -> Vec<Column> {
        let mut out = Vec::new();
        if source.is_none() {
            // A synthetic join key comes first.
            for c in &scope.columns {
                if c.source.is_none() && c.role == ColumnRole::Key {
                    out.push(c.clone());
                }
            }
        }
        for (alias, entry) in sources.iter() {
            if source.is_some_and(|s| s != alias && s != entry.name) {
                continue;
            }
            let start = out.len();
            for c in &entry.columns {
                out.push(Column {
                    source: Some(alias.clone()),
                    ..c.clone()
                });
            }
            // A transient query over a windowed source shows the window bounds after the
            // key columns, as ksqlDB does.
            if entry.window.is_some() && !persistent && !multi {
                let at = start + entry.columns.iter().filter(|c| c.is_key()).count();
                out.insert(at, pseudo(Some(alias), "WINDOWEND", SqlType::BigInt));
                out.insert(at, pseudo(Some(alias), "WINDOWSTART", SqlType::BigInt));
            }
            // Persistent joins of windowed sources carry each side's window bounds too,
            // after its key.
            if entry.window.is_some() && persistent && multi {
                let at = start + entry.columns.iter().filter(|c| c.is_key()).count();
                out.insert(at, pseudo(Some(alias), "WINDOWEND", SqlType::BigInt));
                out.insert(at, pseudo(Some(alias), "WINDOWSTART", SqlType::BigInt));
            }
        }
        out
    };
    // ksqlDB rejects table functions beside aggregates before it types either.
    {
        let (mut tf, mut agg) = (false, false);
        for it in &q.select {
            if let SelectItem::Expr { expr, .. } = it {
                expr.walk(&mut |e| {
                    if let ExprKind::Function { name, .. } = &e.kind {
                        match functions.kind(&name.value) {
                            Some(FunctionKind::Table) => tf = true,
                            Some(FunctionKind::Aggregate) => agg = true,
                            _ => {}
                        }
                    }
                });
            }
        }
        if tf && agg {
            return err(q.span, "Table functions cannot be used with aggregations.");
        }
    }
    // The alias each `expr [AS alias]` item ends up with, for the sanitized statement.
    let mut item_aliases: Vec<Option<String>> = Vec::new();
    for it in &q.select {
        item_aliases.push(None);
        match it {
            SelectItem::Wildcard { source, span } => {
                if let Some(s) = source {
                    if !sources
                        .iter()
                        .any(|(al, e)| *al == s.value || e.name == s.value)
                    {
                        return Err(AnalysisError::new(
                            s.span,
                            format!("'{}' is not a valid stream/table name or alias.", s.value),
                        ));
                    }
                }
                for c in wildcard_columns(source.as_ref().map(|s| s.value.as_str())) {
                    let e = column_expr(&c);
                    // A star over a join names every column after its source.
                    let name = match (&c.source, multi) {
                        (Some(s), true) => format!("{s}_{}", c.name),
                        _ => default_name(&e).unwrap_or_else(|| c.name.clone()),
                    };
                    items.push(SelectEntry {
                        text: name.clone(),
                        name,
                        expr: e,
                        aliased: false,
                        from_star: source.is_none(),
                        span: *span,
                    });
                }
            }
            SelectItem::StructAll { base, span } => {
                let mut t = ExprTyper::new(scope, functions, &custom, "SELECT");
                let b = t.type_expr(base)?;
                let SqlType::Struct(fields) = &b.ty else {
                    return err(
                        *span,
                        format!("Expected STRUCT type for '{base}->*', got {}", b.ty),
                    );
                };
                for (f, ft) in fields {
                    let e = TypedExpr::new(
                        TypedExprKind::Dereference {
                            base: Box::new(b.clone()),
                            field: f.clone(),
                        },
                        ft.clone(),
                        *span,
                    );
                    items.push(SelectEntry {
                        text: format!("{base}->{f}"),
                        name: f.clone(),
                        expr: e,
                        aliased: false,
                        from_star: false,
                        span: *span,
                    });
                }
            }
            SelectItem::Expr { expr, alias } => {
                // A system column selected under its own name: ksqlDB rejects it before
                // resolving anything (whether or not the source has it).
                // (A qualified column of a join is named after its source instead.)
                if let (true, ExprKind::Column { name, source }) = (persistent, &expr.kind) {
                    let out = alias.as_ref().unwrap_or(name);
                    let renamed = alias.is_none() && source.is_some() && multi;
                    if !renamed && out.value == name.value && is_pseudo_name(&name.value) {
                        return err(
                            out.span,
                            format!("Reserved column name in select: `{}`. Please remove or alias the column.", name.value),
                        );
                    }
                }
                let mut t = ExprTyper::new(scope, functions, &custom, "SELECT");
                t.allow_aggregates = true;
                t.allow_table_functions = true;
                let te = t.type_expr(expr).map_err(|e| {
                    if e.message.starts_with("Cast of") {
                        AnalysisError {
                            message: format!("Invalid Select: {}", e.message),
                            ..e
                        }
                    } else {
                        e
                    }
                })?;
                let (name, aliased) = match alias {
                    Some(al) => {
                        let same_pseudo = te.as_column().is_some_and(|c| c.name == al.value);
                        if is_pseudo_name(&al.value) && same_pseudo && persistent {
                            return err(
                                al.span,
                                format!("Reserved column name in select: `{}`. Please remove or alias the column.", al.value),
                            );
                        }
                        if is_pseudo_name(&al.value)
                            && (persistent
                                || al.value.starts_with("WINDOW")
                                || al.value == "ROWTIME")
                        {
                            return err(
                                al.span,
                                format!("`{}` is a reserved column name. You cannot use it as an alias for a column.", al.value),
                            );
                        }
                        (al.value.clone(), true)
                    }
                    None => match default_name(&te).map(|n| match (&expr.kind, &te.kind) {
                        (ExprKind::Column { source: None, .. }, TypedExprKind::Column(c)) => {
                            c.name.clone()
                        }
                        _ => n,
                    }) {
                        Some(n) => {
                            // A field name already used gets a numbered suffix.
                            let mut n2 = n.clone();
                            if matches!(te.kind, TypedExprKind::Dereference { .. }) {
                                let mut i = 1;
                                while used_names.contains(&n2) {
                                    n2 = format!("{n}_{i}");
                                    i += 1;
                                }
                            }
                            (n2, false)
                        }
                        None => (names.next(), false),
                    },
                };
                used_names.push(name.clone());
                if let Some(last) = item_aliases.last_mut() {
                    *last = Some(name.clone());
                }
                items.push(SelectEntry {
                    name,
                    expr: te,
                    text: expr.to_string(),
                    aliased,
                    from_star: false,
                    span: expr.span,
                });
            }
        }
    }
    if pull {
        let bad: Vec<String> = items
            .iter()
            .flat_map(|i| i.expr.columns().into_iter().cloned().collect::<Vec<_>>())
            .filter(|c| c.name == "ROWOFFSET" || c.name == "ROWPARTITION")
            .map(|c| format!("`{}`", c.name))
            .collect();
        if !bad.is_empty() {
            return err(
                q.span,
                format!(
                    "Pull queries don't support the following columns in SELECT clauses: {}",
                    bad.join(", ")
                ),
            );
        }
    }
    Ok(SelectResult {
        list: SelectList {
            items,
            item_aliases,
        },
        names,
    })
}

/// GROUP BY, WINDOW and HAVING: the aggregation (when there is one) and the keys of the
/// rows it produces; unchanged rows and keys otherwise.
#[allow(clippy::too_many_arguments)]
fn analyze_grouping(
    ctx: &QueryCtx,
    scope: &Scope,
    names: &mut NameGen,
    mut items: Vec<SelectEntry>,
    mut plan: LogicalPlan,
    keys: Vec<KeyCol>,
    mut result_kind: SourceKind,
    mut window: Option<WindowInfo>,
) -> Result<Grouped> {
    let (q, sink, persistent, multi) = (ctx.q, ctx.sink, ctx.persistent, ctx.multi);
    let (functions, custom, sources, first) = (ctx.functions, ctx.custom, &ctx.sources, &ctx.first);
    let key_default_name = |e: &TypedExpr| ctx.key_default_name(e);
    let has_agg = |e: &TypedExpr| e.any(&|x| matches!(x.kind, TypedExprKind::Aggregate { .. }));
    let has_tf = |e: &TypedExpr| e.any(&|x| matches!(x.kind, TypedExprKind::TableFunction { .. }));
    let select_has_agg = items.iter().any(|i| has_agg(&i.expr));
    let select_has_tf = items.iter().any(|i| has_tf(&i.expr));

    let having = match &q.having {
        Some(h) => {
            if q.group_by.is_none() {
                return err(h.span, "HAVING clause requires a GROUP BY clause.");
            }
            let mut t = ExprTyper::new(scope, functions, &custom, "HAVING");
            t.allow_aggregates = true;
            let th = t.type_expr(h)?;
            if q.window.is_some() {
                if let Some(c) = th.columns().into_iter().find(|c| {
                    c.source.is_none() && (c.name == "WINDOWSTART" || c.name == "WINDOWEND")
                }) {
                    return err(h.span, format!("Window bounds column {} can only be used in the SELECT clause of windowed aggregations", c.name));
                }
            }
            if !matches!(th.ty, SqlType::Boolean | SqlType::Null) {
                return err(
                    h.span,
                    format!("Type error in HAVING expression: Should evaluate to boolean but is {h} ({})", th.ty),
                );
            }
            Some((th, h))
        }
        None => None,
    };

    if let (Some(w), None, false) = (&q.window, &q.group_by, select_has_agg) {
        return err(w.span, "WINDOW clause requires a GROUP BY clause.");
    }
    if q.emit == Some(Emit::Final) && q.window.is_none() {
        return err(
            q.span,
            "EMIT FINAL is only supported for windowed aggregations.",
        );
    }

    let final_keys: Vec<KeyCol>;
    let aggregated = q.group_by.is_some() || select_has_agg;
    if aggregated {
        let no_groups = Vec::new();
        let group_by = match &q.group_by {
            Some(g) => g,
            None if !persistent => &no_groups,
            None => {
                let bad: Vec<String> = items
                    .iter()
                    .filter(|i| !has_agg(&i.expr) && !i.expr.columns().is_empty())
                    .map(|i| i.text.clone())
                    .collect();
                if !bad.is_empty() {
                    return err(q.span, format!("Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column(s) to the GROUP BY or remove them from the SELECT.", bad.join(", ")));
                }
                let mut aggs = Vec::new();
                for i in &items {
                    collect_agg_texts(&i.expr, &mut aggs);
                }
                return err(
                    q.span,
                    format!(
                        "CREATE {} AS SELECT statement does not support aggregate function [{}] without a GROUP BY clause.",
                        sink.map(|s| s.kind.as_str()).unwrap_or("TABLE"),
                        aggs.join(", ")
                    ),
                );
            }
        };
        if group_by.is_empty() && q.group_by.is_some() {
            return err(q.span, "GROUP BY requires at least one expression.");
        }
        if select_has_tf {
            return err(q.span, "Table functions cannot be used with aggregations.");
        }
        let kafka: Vec<&str> = sources
            .iter()
            .filter(|(_, s)| s.value_format.name == "KAFKA")
            .map(|(_, s)| s.name.as_str())
            .collect();
        if !kafka.is_empty() {
            return err(q.span, format!("Source(s) {} are using the 'KAFKA' value format. This format does not yet support GROUP BY.", kafka.join(", ")));
        }
        if !select_has_agg && having.as_ref().is_none_or(|(h, _)| !has_agg(h)) {
            return err(
                q.span,
                "GROUP BY requires aggregate functions in either the SELECT or HAVING clause.",
            );
        }
        let mut groups: Vec<TypedExpr> = Vec::new();
        let mut group_texts: Vec<String> = Vec::new();
        for g in group_by {
            let mut t = ExprTyper::new(scope, functions, &custom, "GROUP BY");
            let tg = t.type_expr(g)?;
            if groups.iter().any(|x| same_expr(x, &tg)) {
                return err(g.span, format!("Duplicate GROUP BY expression: {tg}"));
            }
            groups.push(tg);
            group_texts.push(g.to_string());
        }
        // Aggregates of the select list and HAVING, deduplicated.
        let mut aggs: Vec<AggregateCall> = Vec::new();
        let collect = |e: &TypedExpr, aggs: &mut Vec<AggregateCall>| {
            fn walk(e: &TypedExpr, aggs: &mut Vec<AggregateCall>) {
                if let TypedExprKind::Aggregate { name, args } = &e.kind {
                    if !aggs.iter().any(|a| a.name == *name && a.args == *args) {
                        let output = format!("KSQL_AGG_VARIABLE_{}", aggs.len());
                        aggs.push(AggregateCall {
                            name: name.clone(),
                            args: args.clone(),
                            ty: e.ty.clone(),
                            output,
                        });
                    }
                    return;
                }
                for c in e.children() {
                    walk(c, aggs);
                }
            }
            walk(e, aggs);
        };
        for it in &items {
            collect(&it.expr, &mut aggs);
        }
        if let Some((h, _)) = &having {
            collect(h, &mut aggs);
        }
        if first.kind == SourceKind::Table && !multi {
            let bad: Vec<String> = aggs
                .iter()
                .map(|a| a.name.clone())
                .filter(|n| {
                    matches!(
                        n.as_str(),
                        "MIN"
                            | "MAX"
                            | "LATEST_BY_OFFSET"
                            | "EARLIEST_BY_OFFSET"
                            | "TOPK"
                            | "TOPKDISTINCT"
                    )
                })
                .fold(Vec::new(), |mut v, n| {
                    if !v.contains(&n) {
                        v.push(n);
                    }
                    v
                });
            if !bad.is_empty() {
                return err(q.span, format!("The aggregation functions {} cannot be applied to a table source, only to a stream source.", and_list(&bad)));
            }
        }

        // Key names: the projection alias of a select item equal to the group expression.
        let mut key_cols: Vec<KeyCol> = Vec::new();
        for g in &groups {
            let from_select = items
                .iter()
                .find(|i| same_expr(&i.expr, g))
                .map(|i| i.name.clone());
            let name = match from_select.or_else(|| key_default_name(g)) {
                Some(n) => n,
                None => names.next(),
            };
            key_cols.push(KeyCol {
                name,
                ty: g.ty.clone(),
                matches: vec![g.clone()],
                what: KeyOrigin::Group,
            });
        }
        let windowed = q.window.is_some();
        let rewrite = |e: &TypedExpr| -> TypedExpr {
            e.transform(&mut |x| {
                if let Some(k) = key_cols.iter().find(|k| same_expr(&k.matches[0], x)) {
                    return Some(TypedExpr::new(
                        TypedExprKind::Column(ColumnRef {
                            source: None,
                            name: k.name.clone(),
                        }),
                        k.ty.clone(),
                        x.span,
                    ));
                }
                if let TypedExprKind::Aggregate { name, args } = &x.kind {
                    let a = aggs.iter().find(|a| a.name == *name && a.args == *args)?;
                    return Some(TypedExpr::new(
                        TypedExprKind::Column(ColumnRef {
                            source: None,
                            name: a.output.clone(),
                        }),
                        a.ty.clone(),
                        x.span,
                    ));
                }
                if let TypedExprKind::Column(c) = &x.kind {
                    if windowed && (c.name == "WINDOWSTART" || c.name == "WINDOWEND") {
                        return Some(TypedExpr::new(
                            TypedExprKind::Column(ColumnRef {
                                source: None,
                                name: c.name.clone(),
                            }),
                            x.ty.clone(),
                            x.span,
                        ));
                    }
                }
                None
            })
        };
        let leftover = |e: &TypedExpr| -> Vec<ColumnRef> {
            e.columns()
                .into_iter()
                .filter(|c| c.source.is_some())
                .cloned()
                .collect()
        };
        let mut bad_items = Vec::new();
        for it in items.iter_mut() {
            it.expr = rewrite(&it.expr);
            if !leftover(&it.expr).is_empty() {
                bad_items.push(it.text.clone());
            }
        }
        if !bad_items.is_empty() {
            return err(
                q.span,
                format!(
                    "Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column(s) to the GROUP BY or remove them from the SELECT.",
                    bad_items.join(", ")
                ),
            );
        }
        let having = match having {
            Some((h, hs)) => {
                let r = rewrite(&h);
                let left = leftover(&r);
                if !left.is_empty() {
                    let names: Vec<String> = left.iter().map(|c| c.name.clone()).collect();
                    return err(
                        hs.span,
                        format!(
                            "Non-aggregate HAVING expression not part of GROUP BY: {}",
                            names.join(", ")
                        ),
                    );
                }
                Some(r)
            }
            None => None,
        };
        if persistent {
            let missing: Vec<String> = key_cols
                .iter()
                .zip(&group_texts)
                .filter(|(k, _)| {
                    !items.iter().any(|i| {
                        i.expr
                            .as_column()
                            .is_some_and(|c| c.source.is_none() && c.name == k.name)
                    })
                })
                .map(|(_, t)| t.clone())
                .collect();
            if !missing.is_empty() {
                let sink_name = &sink.unwrap().name;
                let (what, list, eg) = if missing.len() == 1 {
                    (
                        "grouping expression",
                        missing[0].clone(),
                        missing[0].clone(),
                    )
                } else {
                    (
                        "grouping expressions",
                        and_list(&missing),
                        missing.join(", "),
                    )
                };
                return err(q.span, format!("Key missing from projection (ie, SELECT). See https://cnfl.io/2LV7ouS.\nThe query used to build `{sink_name}` must include the {what} {list} in its projection (eg, SELECT {eg}...)."));
            }
        }
        let window_spec = q.window.as_ref().map(|w| WindowSpec {
            emit_final: q.emit == Some(Emit::Final),
            ..window_spec(w)
        });
        let input_key_exprs: Vec<&TypedExpr> = keys.iter().map(|k| &k.matches[0]).collect();
        let repartition = groups.len() != input_key_exprs.len()
            || groups
                .iter()
                .zip(&input_key_exprs)
                .any(|(g, k)| !same_expr(g, k));
        if repartition && window.is_some() {
            return err(q.span, "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.");
        }
        let mut cols: Vec<Column> = key_cols
            .iter()
            .map(|k| Column::new(k.name.clone(), k.ty.clone(), ColumnRole::Key))
            .collect();
        for ag in &aggs {
            cols.push(Column::new(
                ag.output.clone(),
                ag.ty.clone(),
                ColumnRole::Value,
            ));
        }
        cols.push(pseudo(None, "ROWTIME", SqlType::BigInt));
        if window_spec.is_some() {
            cols.push(pseudo(None, "WINDOWSTART", SqlType::BigInt));
            cols.push(pseudo(None, "WINDOWEND", SqlType::BigInt));
        }
        plan = LogicalPlan {
            schema: Schema::new(cols),
            node: Node::Aggregate {
                input: Box::new(plan),
                group_by: key_cols
                    .iter()
                    .map(|k| NamedExpr {
                        name: k.name.clone(),
                        expr: k.matches[0].clone(),
                    })
                    .collect(),
                aggregates: aggs.clone(),
                window: window_spec,
                repartition,
            },
        };
        if let Some(h) = having {
            plan = LogicalPlan {
                schema: plan.schema.clone(),
                node: Node::Filter {
                    input: Box::new(plan),
                    predicate: h,
                },
            };
        }
        // Keys are now referenced by name in the aggregate output.
        for k in key_cols.iter_mut() {
            k.matches = vec![TypedExpr::column(None, k.name.clone(), k.ty.clone())];
        }
        final_keys = key_cols;
        result_kind = SourceKind::Table;
        window = window_spec.map(|w| w.info());
    } else if let Some(parts) = &q.partition_by {
        if parts.is_empty() {
            return err(q.span, "PARTITION BY requires at least one expression");
        }
        if result_kind == SourceKind::Table {
            return err(q.span, "Invalid use of PARTITION BY on a TABLE. PARTITION BY can only be used on a STREAM.");
        }
        let mut exprs = Vec::new();
        for p in parts {
            let mut t = ExprTyper::new(scope, functions, &custom, "PARTITION BY");
            let tp = t.type_expr(p).map_err(|e| {
                if e.message.starts_with("PARTITION BY column") {
                    AnalysisError {
                        message: e.message.replacen(
                            "cannot be resolved.",
                            &format!("cannot be resolved. '{}' must be a column in the source schema since PARTITION BY is applied on the input.", p),
                            1,
                        ),
                        ..e
                    }
                } else {
                    e
                }
            })?;
            exprs.push(tp);
        }
        let nulls = exprs.iter().filter(|e| e.is_null_literal()).count();
        if nulls > 0 && exprs.len() > 1 {
            return err(
                q.span,
                "Cannot PARTITION BY multiple columns including NULL",
            );
        }
        if window.is_some() {
            return err(q.span, "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.");
        }
        let mut key_cols: Vec<KeyCol> = Vec::new();
        if nulls == 0 {
            for p in &exprs {
                let from_select = items
                    .iter()
                    .find(|i| same_expr(&i.expr, p))
                    .map(|i| i.name.clone());
                let name = match from_select.or_else(|| key_default_name(p)) {
                    Some(n) => n,
                    None => names.next(),
                };
                key_cols.push(KeyCol {
                    name,
                    ty: p.ty.clone(),
                    matches: vec![p.clone()],
                    what: KeyOrigin::Partition,
                });
            }
        }
        let mut cols: Vec<Column> = key_cols
            .iter()
            .map(|k| Column::new(k.name.clone(), k.ty.clone(), ColumnRole::Key))
            .collect();
        for c in &plan.schema.columns {
            let mut c = c.clone();
            if c.role == ColumnRole::Key {
                c.role = ColumnRole::Value;
            }
            cols.push(c);
        }
        let named: Vec<NamedExpr> = key_cols
            .iter()
            .map(|k| NamedExpr {
                name: k.name.clone(),
                expr: k.matches[0].clone(),
            })
            .collect();
        plan = LogicalPlan {
            schema: Schema::new(cols),
            node: Node::Repartition {
                input: Box::new(plan),
                keys: named,
            },
        };
        for it in items.iter_mut() {
            it.expr = it.expr.transform(&mut |x| {
                key_cols
                    .iter()
                    .find(|k| same_expr(&k.matches[0], x))
                    .map(|k| {
                        TypedExpr::new(
                            TypedExprKind::Column(ColumnRef {
                                source: None,
                                name: k.name.clone(),
                            }),
                            k.ty.clone(),
                            x.span,
                        )
                    })
            });
        }
        for k in key_cols.iter_mut() {
            k.matches = vec![TypedExpr::column(None, k.name.clone(), k.ty.clone())];
        }
        // `SELECT *` includes the new key columns.
        if items.iter().any(|i| i.from_star) {
            let mut front = Vec::new();
            for k in &key_cols {
                if !items.iter().any(|i| i.expr == k.matches[0]) {
                    front.push(SelectEntry {
                        name: k.name.clone(),
                        expr: k.matches[0].clone(),
                        text: k.name.clone(),
                        aliased: false,
                        from_star: true,
                        span: q.span,
                    });
                }
            }
            // The star's old key columns move after its value columns: they are values now.
            let was_key = |i: &SelectEntry| {
                i.from_star
                    && i.expr.as_column().is_some_and(|c| {
                        sources.iter().any(|(alias, entry)| {
                            c.source.as_deref() == Some(alias.as_str())
                                && entry.column(&c.name).is_some_and(|col| col.is_key())
                        })
                    })
            };
            let (old_keys, rest): (Vec<SelectEntry>, Vec<SelectEntry>) =
                items.into_iter().partition(|i| was_key(i));
            let mut rest = rest;
            let star_end = rest
                .iter()
                .rposition(|i| i.from_star)
                .map(|p| p + 1)
                .unwrap_or(rest.len());
            let tail = rest.split_off(star_end);
            front.extend(rest);
            front.extend(old_keys);
            front.extend(tail);
            items = front;
        }
        if persistent {
            let missing: Vec<String> = key_cols
                .iter()
                .zip(&exprs)
                .filter(|(k, _)| {
                    !items.iter().any(|i| {
                        i.expr
                            .as_column()
                            .is_some_and(|c| c.source.is_none() && c.name == k.name)
                    })
                })
                .map(|(_, e)| e.to_string())
                .collect();
            let missing: Vec<String> = if missing.is_empty() {
                missing
            } else {
                exprs.iter().map(|e| e.to_string()).collect()
            };
            if !missing.is_empty() {
                let sink_name = &sink.unwrap().name;
                let (what, list, eg) = if missing.len() == 1 {
                    (
                        "partitioning expression",
                        missing[0].clone(),
                        missing[0].clone(),
                    )
                } else {
                    (
                        "partitioning expressions",
                        and_list(&missing),
                        missing.join(", "),
                    )
                };
                return err(q.span, format!("Key missing from projection (ie, SELECT). See https://cnfl.io/2LV7ouS.\nThe query used to build `{sink_name}` must include the {what} {list} in its projection (eg, SELECT {eg}...)."));
            }
        }
        final_keys = key_cols;
    } else {
        final_keys = keys.clone();
    }
    Ok(Grouped {
        items,
        plan,
        keys: final_keys,
        result_kind,
        window,
    })
}

/// Table functions in the select list: a FlatMap producing one row per value, the calls
/// replaced by the columns they produce.
fn table_functions(
    ctx: &QueryCtx,
    mut items: Vec<SelectEntry>,
    mut plan: LogicalPlan,
    result_kind: SourceKind,
) -> Result<(Vec<SelectEntry>, LogicalPlan)> {
    let q = ctx.q;
    let has_tf = |e: &TypedExpr| e.any(&|x| matches!(x.kind, TypedExprKind::TableFunction { .. }));
    let select_has_tf = items.iter().any(|i| has_tf(&i.expr));
    // ---- table functions ---------------------------------------------------------------
    if select_has_tf {
        if result_kind == SourceKind::Table {
            return err(q.span, "Table source is not supported with table functions");
        }
        let mut calls: Vec<TableFunctionCall> = Vec::new();
        for it in items.iter_mut() {
            it.expr = it.expr.transform(&mut |x| {
                if let TypedExprKind::TableFunction { name, args } = &x.kind {
                    let output = format!("KSQL_SYNTH_{}", calls.len());
                    calls.push(TableFunctionCall {
                        name: name.clone(),
                        args: args.clone(),
                        ty: x.ty.clone(),
                        output: output.clone(),
                    });
                    return Some(TypedExpr::column(None, output, x.ty.clone()));
                }
                None
            });
        }
        let mut cols = plan.schema.columns.clone();
        for c in &calls {
            cols.push(Column::new(
                c.output.clone(),
                c.ty.clone(),
                ColumnRole::Value,
            ));
        }
        plan = LogicalPlan {
            schema: Schema::new(cols),
            node: Node::FlatMap {
                input: Box::new(plan),
                functions: calls,
            },
        };
    }
    Ok((items, plan))
}

/// The projection: which items are the key columns (with ksqlDB's rules on keys missing
/// from or repeated in the projection), the value columns, and the output schema.
fn project(
    ctx: &QueryCtx,
    items: Vec<SelectEntry>,
    mut plan: LogicalPlan,
    final_keys: &[KeyCol],
    result_kind: SourceKind,
) -> Result<Projected> {
    let (q, sink, persistent) = (ctx.q, ctx.sink, ctx.persistent);
    let (new_planner, first) = (ctx.new_planner, &ctx.first);
    // ---- projection and keys -----------------------------------------------------------
    // A key column is the first item equal to (one of the expressions equal to) the key;
    // items repeating that same expression are duplicates of the key.
    let mut key_items: Vec<Vec<usize>> = vec![Vec::new(); final_keys.len()];
    for (k, key) in final_keys.iter().enumerate() {
        // The expressions equal to the key in order of preference (a join's left side first).
        let Some(first) = key
            .matches
            .iter()
            .find_map(|m| items.iter().position(|it| same_expr(m, &it.expr)))
        else {
            continue;
        };
        for (i, it) in items.iter().enumerate() {
            if same_expr(&it.expr, &items[first].expr) {
                key_items[k].push(i);
            }
        }
    }
    if persistent {
        for (k, idx) in final_keys.iter().zip(&key_items) {
            if idx.len() > 1 {
                let mut names: Vec<String> = idx.iter().map(|i| items[*i].name.clone()).collect();
                names.sort();
                let msg = match k.what {
                    KeyOrigin::Group => format!(
                        "The projection contains a key column more than once: {}.",
                        and_list(&names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>())
                    ),
                    KeyOrigin::ForeignKey => format!(
                        "The projection contains a key column (`{}_{}`) more than once, aliased as: {}.",
                        first.name,
                        k.name,
                        and_list(&names)
                    ),
                    _ => format!(
                        "The projection contains a key column (`{}`) more than once, aliased as: {}.",
                        k.name,
                        and_list(&names)
                    ),
                };
                return err(q.span, msg);
            }
        }
        if let Some(ts) = prop_str(&sink.unwrap().properties, "TIMESTAMP") {
            let name = ts.to_ascii_uppercase();
            if !items.iter().any(|i| i.name == name || i.name == ts) {
                return err(
                    prop_span(&sink.unwrap().properties, "TIMESTAMP"),
                    format!("The TIMESTAMP column set in the WITH clause does not exist in the schema: '{name}'"),
                );
            }
        }
        // A stream keeps its source's key only if the projection selects it.
        let missing: Vec<&KeyCol> = final_keys
            .iter()
            .zip(&key_items)
            .filter(|(k, idx)| {
                idx.is_empty()
                    && !(k.what == KeyOrigin::Source
                        && result_kind == SourceKind::Stream
                        && new_planner)
            })
            .map(|(k, _)| k)
            .collect();
        if !missing.is_empty() {
            let sink_name = &sink.unwrap().name;
            let msg = match missing[0].what {
                KeyOrigin::Join => {
                    // The join expressions that are columns (a computed side cannot be selected
                    // as the key).
                    let opts: Vec<String> = missing[0]
                        .matches
                        .iter()
                        .take(2)
                        .filter(|m| m.as_column().is_some())
                        .map(|m| m.to_string())
                        .collect();
                    let what = if opts.len() > 1 { "join expressions" } else { "join expression" };
                    format!("The query used to build `{sink_name}` must include the {what} {} in its projection (eg, SELECT {}...).", opts.join(" or "), opts[0])
                }
                KeyOrigin::SyntheticJoin => format!("The query used to build `{sink_name}` must include the join expression {0} in its projection (eg, SELECT {0}...).\n{0} was added as a synthetic key column because the join criteria did not match any source column. This expression must be included in the projection and may be aliased.", missing[0].name),
                KeyOrigin::ForeignKey => {
                    let names: Vec<String> = missing.iter().map(|k| format!("`{}`", k.name)).collect();
                    let (what, col) = if names.len() > 1 { ("columns", "columns") } else { ("column", "column") };
                    format!("Primary key {what} missing in projection. For foreign-key table-table joins, the projection must include all primary key columns from the left input table (`{}`). Missing {col}: {}.", first.name, names.join(", "))
                }
                _ => {
                    // ksqlDB names every key column when any is missing.
                    let names: Vec<String> = final_keys.iter().map(|k| k.name.clone()).collect();
                    let what = if names.len() > 1 { "key columns" } else { "key column" };
                    format!("The query used to build `{sink_name}` must include the {what} {} in its projection (eg, SELECT {}...).", and_list(&names), names.join(", "))
                }
            };
            if missing[0].what == KeyOrigin::ForeignKey {
                return err(q.span, msg);
            }
            return err(
                q.span,
                format!(
                    "Key missing from projection (ie, SELECT). See https://cnfl.io/2LV7ouS.\n{msg}"
                ),
            );
        }
    }

    let mut key_columns = Vec::new();
    let mut value_columns = Vec::new();
    let mut named = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if it.expr.ty == SqlType::Null {
            return err(it.span, "Can't infer a type of null. Please explicitly cast it to a required type, e.g. CAST(null AS VARCHAR).");
        }
        if persistent && is_pseudo_name(&it.name) && !it.aliased {
            return err(
                it.span,
                format!(
                    "Reserved column name in select: `{}`. Please remove or alias the column.",
                    it.name
                ),
            );
        }
        let is_key = key_items.iter().any(|v| v.first() == Some(&i))
            || (!persistent && key_items.iter().any(|v| v.contains(&i)));
        let col = Column::new(
            it.name.clone(),
            it.expr.ty.clone(),
            if is_key {
                ColumnRole::Key
            } else {
                ColumnRole::Value
            },
        );
        let dup = key_columns
            .iter()
            .chain(value_columns.iter())
            .find(|c: &&Column| c.name == it.name);
        if let Some(d) = dup {
            if persistent || !is_key {
                return err(
                    it.span,
                    format!(
                        "Duplicate value columns found in schema: `{}` {}",
                        d.name, it.expr.ty
                    ),
                );
            }
        }
        if is_key {
            key_columns.push(col);
        } else {
            value_columns.push(col);
        }
        // A join's key is whichever side is present: selecting one side's join column as
        // the key reads the join's key column (the side's own column is null in an outer
        // join's row without that side).
        let join_key = key_items
            .iter()
            .position(|v| v.first() == Some(&i))
            .map(|k| &final_keys[k])
            .filter(|k| k.what == KeyOrigin::Join)
            .and_then(|k| {
                plan.schema
                    .columns
                    .iter()
                    .find(|c| c.source.is_none() && c.is_key() && c.name == k.name)
            });
        let expr = match join_key {
            Some(c) => TypedExpr::column(None, c.name.clone(), c.ty.clone()),
            None => it.expr.clone(),
        };
        named.push(NamedExpr {
            name: it.name.clone(),
            expr,
        });
    }
    if persistent && value_columns.is_empty() {
        return err(q.span, "The projection contains no value columns.");
    }
    // Key columns in key order (GROUP BY / PARTITION BY order), then values in select order.
    let key_rank = |c: &Column| {
        key_items
            .iter()
            .position(|v| v.first().is_some_and(|i| items[*i].name == c.name))
            .unwrap_or(usize::MAX)
    };
    key_columns.sort_by_key(|c| key_rank(c));
    let out_cols = if persistent {
        let mut cols = key_columns.clone();
        cols.extend(value_columns.iter().cloned());
        cols
    } else {
        // A transient query's rows keep the select list's order (ksqlDB's header does).
        named
            .iter()
            .filter_map(|n| {
                key_columns
                    .iter()
                    .chain(value_columns.iter())
                    .find(|c| c.name == n.name)
                    .cloned()
            })
            .collect()
    };
    plan = LogicalPlan {
        schema: Schema::new(out_cols.clone()),
        node: Node::Project {
            input: Box::new(plan),
            items: named,
        },
    };
    if let (Some(l), false) = (q.limit, persistent) {
        plan = LogicalPlan {
            schema: plan.schema.clone(),
            node: Node::Limit {
                input: Box::new(plan),
                limit: l,
            },
        };
    }
    Ok(Projected {
        plan,
        key_columns,
        out_cols,
    })
}

/// The sink of CREATE ... AS SELECT or INSERT INTO: its kind, formats, topic, timestamp
/// column and, for INSERT INTO, whether the existing sink accepts the result.
fn analyze_sink(
    ctx: &QueryCtx,
    sink: &SinkTarget,
    scope: &Scope,
    item_aliases: &[Option<String>],
    projected: Projected,
    result_kind: SourceKind,
    window: Option<WindowInfo>,
) -> Result<AnalyzedQuery> {
    let (q, first) = (ctx.q, &ctx.first);
    let Projected {
        plan,
        key_columns,
        out_cols,
    } = projected;
    // ksqlDB reports errors from here on with the statement its AstSanitizer rewrote.
    let statement = sanitized_statement(q, sink, scope, item_aliases);
    let sink_stage = move || -> Result<AnalyzedQuery> {
        if sink.existing.is_none() {
            match (sink.kind, result_kind) {
                (SourceKind::Stream, SourceKind::Table) => {
                    return err(q.span, "Invalid result type. Your SELECT query produces a TABLE. Please use CREATE TABLE AS SELECT statement instead.");
                }
                (SourceKind::Table, SourceKind::Stream) => {
                    return err(q.span, "Invalid result type. Your SELECT query produces a STREAM. Please use CREATE STREAM AS SELECT statement instead.");
                }
                _ => {}
            }
        } else if result_kind == SourceKind::Table {
            return err(q.span, format!("Incompatible data sink and query result. Data sink ({}) type is STREAM but select query result is TABLE.", sink.name));
        }
        let props = &sink.properties;
        let src_key = first.key_format.clone();
        let src_val = first.value_format.clone();
        let (key_default, value_default) = match &sink.existing {
            Some(e) => (e.key_format.clone(), e.value_format.clone()),
            None => {
                // Format options tied to a source's schema do not carry over.
                let mut k = src_key.clone();
                k.properties.remove("schemaId");
                k.properties.remove("fullSchemaName");
                let mut v = src_val.clone();
                v.properties.remove("schemaId");
                v.properties.remove("fullSchemaName");
                (k, v)
            }
        };
        let (mut key_format, value_format, wrap) =
            ddl::resolve_formats(props, key_default, Some(value_default))?;
        let value_format = value_format.unwrap_or(src_val);
        let explicit_key_format =
            props.get("KEY_FORMAT").is_some() || props.get("FORMAT").is_some();
        if key_columns.is_empty() {
            if explicit_key_format
                && props.get("KEY_FORMAT").is_some()
                && key_format.name != "NONE"
                && result_kind == SourceKind::Stream
            {
                return err(
                    prop_span(props, "KEY_FORMAT"),
                    "Key format specified for stream without key columns.",
                );
            }
            if !explicit_key_format {
                key_format = FormatInfo::new("NONE");
            }
        } else if key_format.name == "NONE" && !explicit_key_format {
            key_format = FormatInfo::new(
                ctx.properties
                    .get("ksql.persistence.default.format.key")
                    .map(|s| s.to_ascii_uppercase())
                    .unwrap_or_else(|| "KAFKA".into()),
            );
        }
        ddl::check_formats(&out_cols, &key_format, &value_format, wrap, q.span)?;
        let topic = prop_str(props, "KAFKA_TOPIC").unwrap_or_else(|| match &sink.existing {
            Some(e) => e.topic.clone(),
            None => sink.name.clone(),
        });
        let timestamp = match prop_str(props, "TIMESTAMP") {
            None => None,
            Some(ts) => {
                let name = ts.to_ascii_uppercase();
                let Some(col) = out_cols.iter().find(|c| c.name == name || c.name == ts) else {
                    return err(
                    prop_span(props, "TIMESTAMP"),
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
                    return err(prop_span(props, "TIMESTAMP"), format!("Timestamp column, `{name}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified."));
                }
                Some(super::catalog::TimestampColumn {
                    column: col.name.clone(),
                    format,
                })
            }
        };
        let entry = SourceEntry {
            name: sink.name.clone(),
            kind: sink.existing.as_ref().map(|e| e.kind).unwrap_or(sink.kind),
            columns: out_cols.clone(),
            topic,
            key_format,
            value_format,
            window,
            timestamp,
            partitions: match props.get("PARTITIONS") {
                Some(crate::ast::Literal::Integer(n)) if *n > 0 => Some(*n as u32),
                _ => None,
            },
            read_only: false,
            from_query: true,
            wrap_single_value: wrap,
        };
        if let Some(existing) = &sink.existing {
            // Key, value and header columns, in order, with their namespace: ksqlDB's
            // `LogicalSchema.compatibleSchema` (a sink's header columns are never written by
            // a query, so a sink that has them never matches).
            let strip = |cols: &[Column]| -> Vec<(String, SqlType, ColumnRole)> {
                cols.iter()
                    .filter(|c| c.role != ColumnRole::Pseudo)
                    .map(|c| (c.name.clone(), c.ty.clone(), c.role.clone()))
                    .collect()
            };
            let (sink_cols, result_cols) = (strip(&existing.columns), strip(&entry.columns));
            let compatible = sink_cols.len() == result_cols.len()
                && sink_cols.iter().zip(&result_cols).all(|(s, r)| {
                    s.0 == r.0 && s.2 == r.2 && super::coerce::sink_accepts(&r.1, &s.1)
                });
            if !compatible {
                return err(
                q.span,
                format!(
                    "Incompatible schema between results and sink.\nResult schema is {}\nSink schema is {}",
                    Schema::new(entry.columns.clone()).describe(),
                    Schema::new(existing.columns.clone()).describe()
                ),
            );
            }
            if existing.window.map(|w| w.kind) != entry.window.map(|w| w.kind) {
                return err(q.span, format!("Incompatible data sink and query result. Data sink ({}) has a different window type than the query result.", existing.name));
            }
        }
        let sink_entry = match &sink.existing {
            Some(e) => e.clone(),
            None => entry,
        };
        // A DECIMAL narrower than the sink's column is rescaled to it on the way in.
        let mut plan = plan;
        if sink.existing.is_some() {
            widen_to_sink(&mut plan, &sink_entry.columns);
        }
        let plan = LogicalPlan {
            schema: plan.schema.clone(),
            node: Node::Sink {
                input: Box::new(plan),
                entry: Box::new(sink_entry.clone()),
                insert: sink.existing.is_some(),
            },
        };
        Ok(AnalyzedQuery {
            plan,
            sink: Some(sink_entry),
        })
    };
    sink_stage().map_err(|e| e.with_statement(&statement))
}

/// Casts the projected columns of an INSERT INTO whose types the sink widens (a DECIMAL
/// with fewer digits) to the sink's types, so rows carry the sink's schema.
fn widen_to_sink(plan: &mut LogicalPlan, sink_columns: &[Column]) {
    let sink_type = |name: &str| {
        sink_columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.ty.clone())
    };
    for col in &mut plan.schema.columns {
        if let Some(ty) = sink_type(&col.name) {
            col.ty = ty;
        }
    }
    if let Node::Project { items, .. } = &mut plan.node {
        for item in items {
            if let Some(ty) = sink_type(&item.name) {
                if item.expr.ty != ty {
                    let expr = std::mem::replace(
                        &mut item.expr,
                        TypedExpr::new(
                            TypedExprKind::Literal(crate::ast::Literal::Null),
                            SqlType::Null,
                            crate::ast::Span::default(),
                        ),
                    );
                    item.expr = super::coerce::convert_to(expr, &ty);
                }
            }
        }
    }
}

/// Every `source.column` of the query must name a source of its FROM clause (by alias or
/// name), as ksqlDB's AST builder checks.
fn check_qualifiers(q: &Query) -> Result<()> {
    let mut known: Vec<&str> = vec![
        q.from.source.name.value.as_str(),
        q.from.source.reference_name().value.as_str(),
    ];
    for j in &q.from.joins {
        known.push(j.source.name.value.as_str());
        known.push(j.source.reference_name().value.as_str());
    }
    let mut exprs: Vec<&crate::ast::Expr> = Vec::new();
    for item in &q.select {
        match item {
            SelectItem::Expr { expr, .. } => exprs.push(expr),
            SelectItem::StructAll { base, .. } => exprs.push(base),
            SelectItem::Wildcard { .. } => {}
        }
    }
    exprs.extend(q.from.joins.iter().map(|j| &j.on));
    exprs.extend(q.where_clause.iter());
    exprs.extend(q.group_by.iter().flatten());
    exprs.extend(q.partition_by.iter().flatten());
    exprs.extend(q.having.iter());
    let mut bad = None;
    for e in exprs {
        e.walk(&mut |x| {
            if let ExprKind::Column {
                source: Some(s), ..
            } = &x.kind
            {
                if bad.is_none() && !known.contains(&s.value.as_str()) {
                    bad = Some(s.clone());
                }
            }
        });
    }
    match bad {
        Some(s) => Err(AnalysisError::new(
            s.span,
            format!("'{}' is not a valid stream/table name or alias.", s.value),
        )
        .worded(super::error::KsqlWording::Prepare)
        .with_suggestion(crate::suggest(&s.value, known.iter().copied()))),
        None => Ok(()),
    }
}

/// The statement as ksqlDB's `AstSanitizer` rewrites it, printed by its `SqlFormatter`:
/// unqualified columns qualified by the alias of the source that has them, every
/// `expr` item aliased with the name the analyzer gave it, every source aliased.
fn sanitized_statement(
    q: &Query,
    sink: &SinkTarget,
    scope: &Scope,
    item_aliases: &[Option<String>],
) -> String {
    let mut q = q.clone();
    // A persistent query without `EMIT` emits changes.
    q.emit.get_or_insert(Emit::Changes);
    let qualify = |e: &mut crate::ast::Expr| qualify_columns(e, scope, &mut Vec::new());
    for (item, alias) in q.select.iter_mut().zip(item_aliases) {
        match item {
            SelectItem::Expr { expr, alias: a } => {
                qualify(expr);
                if a.is_none() {
                    *a = alias.as_ref().map(|n| crate::ast::Ident::quoted(n.clone()));
                }
            }
            SelectItem::StructAll { base, .. } => qualify(base),
            SelectItem::Wildcard { .. } => {}
        }
    }
    let alias_source = |s: &mut crate::ast::AliasedSource| {
        if s.alias.is_none() {
            s.alias = Some(s.name.clone());
        }
    };
    alias_source(&mut q.from.source);
    for j in &mut q.from.joins {
        alias_source(&mut j.source);
        qualify(&mut j.on);
    }
    for e in q
        .where_clause
        .iter_mut()
        .chain(q.having.iter_mut())
        .chain(q.group_by.iter_mut().flatten())
        .chain(q.partition_by.iter_mut().flatten())
    {
        qualify(e);
    }
    match &sink.statement {
        SinkStatement::CreateAs {
            or_replace,
            if_not_exists,
        } => crate::format::create_as_select(&crate::ast::CreateAsSelect {
            kind: sink.kind,
            name: crate::ast::Ident::quoted(sink.name.clone()),
            or_replace: *or_replace,
            if_not_exists: *if_not_exists,
            properties: sink.properties.clone(),
            query: q,
        }),
        SinkStatement::InsertInto => crate::format::insert_into(&crate::ast::InsertInto {
            target: crate::ast::Ident::quoted(sink.name.clone()),
            properties: sink.properties.clone(),
            query: q,
        }),
    }
}

/// Qualifies every unqualified column reference in `e` with the alias of the (single)
/// source in `scope` that has it; lambda variables (`bound`) and unknown names stay as
/// written.
fn qualify_columns(e: &mut crate::ast::Expr, scope: &Scope, bound: &mut Vec<String>) {
    match &mut e.kind {
        ExprKind::Column { source, name } if source.is_none() => {
            if bound.contains(&name.value) {
                return;
            }
            let mut owners = scope
                .columns
                .iter()
                .filter(|c| c.name == name.value)
                .filter_map(|c| c.source.clone());
            if let (Some(owner), None) = (owners.next(), owners.next()) {
                *source = Some(crate::ast::Ident::quoted(owner));
            }
        }
        ExprKind::Lambda { params, body } => {
            let n = bound.len();
            bound.extend(params.iter().map(|p| p.value.clone()));
            qualify_columns(body, scope, bound);
            bound.truncate(n);
        }
        _ => {
            for c in children_mut(e) {
                qualify_columns(c, scope, bound);
            }
        }
    }
}

/// The direct sub-expressions of `e`, mutably.
fn children_mut(e: &mut crate::ast::Expr) -> Vec<&mut crate::ast::Expr> {
    match &mut e.kind {
        ExprKind::Literal(_)
        | ExprKind::Column { .. }
        | ExprKind::TimeUnit(_)
        | ExprKind::TypedLiteral { .. } => vec![],
        ExprKind::Dereference { base, .. } => vec![base],
        ExprKind::Subscript { base, index } => vec![base, index],
        ExprKind::Unary { expr, .. }
        | ExprKind::Not(expr)
        | ExprKind::IsNull { expr, .. }
        | ExprKind::Cast { expr, .. }
        | ExprKind::AtTimeZone { expr, .. } => vec![expr],
        ExprKind::Binary { left, right, .. } | ExprKind::IsDistinctFrom { left, right, .. } => {
            vec![left, right]
        }
        ExprKind::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        ExprKind::InList { expr, list, .. } => {
            let mut v: Vec<&mut crate::ast::Expr> = vec![expr];
            v.extend(list.iter_mut());
            v
        }
        ExprKind::Like { expr, pattern, .. } => vec![expr, pattern],
        ExprKind::Case {
            operand,
            whens,
            else_result,
        } => {
            let mut v: Vec<&mut crate::ast::Expr> = operand.iter_mut().map(|b| &mut **b).collect();
            for w in whens {
                v.push(&mut w.condition);
                v.push(&mut w.result);
            }
            v.extend(else_result.iter_mut().map(|b| &mut **b));
            v
        }
        ExprKind::Array(items) => items.iter_mut().collect(),
        ExprKind::Map(entries) => entries.iter_mut().flat_map(|(k, v)| [k, v]).collect(),
        ExprKind::Struct(fields) => fields.iter_mut().map(|(_, v)| v).collect(),
        ExprKind::Function { args, .. } => args.iter_mut().collect(),
        ExprKind::Lambda { body, .. } => vec![body],
    }
}

fn window_spec(w: &WindowExpr) -> WindowSpec {
    let (kind, size, advance) = match &w.kind {
        WindowKind::Tumbling { size } => (WindowType::Tumbling, size.millis, None),
        WindowKind::Hopping { size, advance } => {
            (WindowType::Hopping, size.millis, Some(advance.millis))
        }
        WindowKind::Session { gap } => (WindowType::Session, gap.millis, None),
    };
    WindowSpec {
        kind,
        size_ms: size,
        advance_ms: advance,
        retention_ms: w.retention.map(|d| d.millis),
        grace_ms: w.grace.map(|d| d.millis),
        emit_final: false,
    }
}

/// Which `FROM` aliases an expression reads.
fn sources_of(e: &TypedExpr) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for c in e.columns() {
        if let Some(s) = &c.source {
            if !v.contains(s) {
                v.push(s.clone());
            }
        }
    }
    v
}

#[allow(clippy::too_many_arguments)]
fn analyze_join<C: CatalogMut>(
    a: &Analyzer<C>,
    j: &Join,
    custom: &dyn Fn(&str) -> Option<SqlType>,
    left_plan: LogicalPlan,
    scope: &mut Scope,
    keys: &mut Vec<KeyCol>,
    left_kind: SourceKind,
    left_window: Option<super::catalog::WindowInfo>,
    left_sources: &[(String, SourceEntry)],
    right: &SourceEntry,
    right_alias: &str,
    n_joins: usize,
    join_index: usize,
) -> Result<(LogicalPlan, SourceKind, Option<super::catalog::WindowInfo>)> {
    let functions = a.functions();
    let right_cols = source_columns(right, right_alias);
    let mut combined = scope.clone();
    combined.columns.extend(right_cols.iter().cloned());
    combined
        .qualifiers
        .push((right_alias.to_string(), right.name.clone()));

    // Window compatibility.
    let rw = right.window;
    match (left_window, rw) {
        (Some(l), None) | (None, Some(l)) => {
            let (ws, wn) = if left_window.is_some() {
                (left_sources[0].1.name.clone(), right.name.clone())
            } else {
                (right.name.clone(), left_sources[0].1.name.clone())
            };
            return err(j.span, format!("Can not join windowed source to non-windowed source.\n`{ws}` is {} windowed\n`{wn}` is not windowed", l.kind));
        }
        (Some(l), Some(r))
            if (l.kind == WindowType::Session) != (r.kind == WindowType::Session) =>
        {
            return err(j.span, format!("Incompatible windowed sources.\nLeft source: {}\nRight source: {}\nSession windowed sources can only be joined to other session windowed sources, and may still not result in expected behaviour as session bounds must be an exact match for the join to work\nHopping and tumbling windowed sources can only be joined to other hopping and tumbling windowed sources", l.kind, r.kind));
        }
        _ => {}
    }

    let ExprKind::Binary { left, op, right: r } = &j.on.kind else {
        return err(j.on.span, format!("Unsupported join expression: {}", j.on));
    };
    if *op == BinaryOp::And {
        let mut t = ExprTyper::new(&combined, functions, custom, "JOIN ON");
        let te = t.type_expr(&j.on)?;
        return err(j.on.span, format!("Invalid join condition: joins on multiple conditions are not yet supported. Got {te}."));
    }
    if *op != BinaryOp::Eq {
        return err(
            j.on.span,
            format!(
                "Unsupported join expression: {}. Only equality joins are supported.",
                j.on
            ),
        );
    }
    let mut t = ExprTyper::new(&combined, functions, custom, "JOIN ON");
    let l = t.type_expr(left)?;
    let rr = t.type_expr(r)?;
    let on_text = TypedExpr::new(
        TypedExprKind::Binary {
            left: Box::new(l.clone()),
            op: BinaryOp::Eq,
            right: Box::new(rr.clone()),
        },
        SqlType::Boolean,
        j.on.span,
    );
    for (side, ast) in [(&l, left), (&rr, r)] {
        let srcs = sources_of(side);
        let left_only = srcs.iter().all(|s| *s != right_alias);
        let right_only = srcs.iter().all(|s| *s == right_alias);
        if srcs.is_empty() || !(left_only || right_only) {
            let shown = match &ast.kind {
                ExprKind::Literal(crate::ast::Literal::Null) => "null".to_string(),
                _ => ast.to_string(),
            };
            return err(ast.span, format!("Invalid comparison expression '{shown}' in join '{on_text}'. Each side of the join comparision must contain references from exactly one source."));
        }
    }
    let l_is_right = sources_of(&l).iter().all(|s| s == right_alias);
    let r_is_right = sources_of(&rr).iter().all(|s| s == right_alias);
    if l_is_right == r_is_right {
        return err(j.on.span, format!("Invalid comparison expression in join '{on_text}'. Each side of the join comparision must contain references from exactly one source."));
    }
    let (lk, rk) = if l_is_right {
        (rr.clone(), l.clone())
    } else {
        (l.clone(), rr.clone())
    };
    if lk.ty != rk.ty {
        return err(
            j.on.span,
            format!(
                "Invalid join condition: types don't match. Got {}{{{}}} = {}{{{}}}.",
                l, l.ty, rr, rr.ty
            ),
        );
    }

    let right_kind = right.kind;
    let (kind, out_kind) = match (left_kind, right_kind) {
        (SourceKind::Stream, SourceKind::Stream) => (JoinKind::StreamStream, SourceKind::Stream),
        (SourceKind::Stream, SourceKind::Table) => (JoinKind::StreamTable, SourceKind::Stream),
        (SourceKind::Table, SourceKind::Table) => (JoinKind::TableTable, SourceKind::Table),
        (SourceKind::Table, SourceKind::Stream) => {
            return err(j.span, format!("Invalid join order: table-stream joins are not supported; only stream-table joins. Got {} {} {}.", left_sources[0].1.name, j.join_type.as_str(), right.name));
        }
    };
    match kind {
        JoinKind::StreamStream if j.within.is_none() => {
            return err(j.span, "Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.confluent.io/current/ksql/docs/syntax-reference.html#create-stream-as-select");
        }
        JoinKind::StreamTable | JoinKind::TableTable if j.within.is_some() => {
            let what = if kind == JoinKind::StreamTable {
                "Stream-Table"
            } else {
                "Table-Table"
            };
            return err(j.span, format!("A window definition was provided for a {what} join. These joins are not windowed. Please drop the window definition (ie. the WITHIN clause) and try to run your {} join again.", what.to_lowercase()));
        }
        JoinKind::StreamTable if matches!(j.join_type, JoinType::Right | JoinType::Full) => {
            let jt = if j.join_type == JoinType::Full {
                "full-outer"
            } else {
                "right-outer"
            };
            return err(j.span, format!("Invalid join type: {jt} join not supported for stream-table join. Got {} {} {}.", left_sources[0].1.name, j.join_type.as_str(), right.name));
        }
        _ => {}
    }

    // The right side of a stream-table or table-table join is looked up by its key.
    let right_keys: Vec<&Column> = right.key_columns().collect();
    let rk_is_right_key = right_keys.len() == 1
        && rk.as_column().is_some_and(|c| {
            c.name == right_keys[0].name && c.source.as_deref() == Some(right_alias)
        });
    let lk_is_left_key = keys.len() == 1 && keys[0].matches.contains(&lk);
    let mut kind = kind;
    if right_kind == SourceKind::Table && !rk_is_right_key {
        if kind == JoinKind::TableTable {
            return err(j.on.span, format!("Invalid join condition: table-table joins require to join on the primary key of the right input table. Got {l} = {rr}."));
        }
        return err(j.on.span, format!("Invalid join condition: stream-table joins require to join on the table's primary key. Got {l} = {rr}."));
    }
    if kind == JoinKind::TableTable && !lk_is_left_key {
        if n_joins > 1 && join_index > 0 {
            return err(j.on.span, format!("Invalid join condition: foreign-key table-table joins are not supported as part of n-way joins. Got {l} = {rr}."));
        }
        match j.join_type {
            JoinType::Right => {
                return err(j.span, "RIGHT OUTER JOIN on a foreign key is not supported")
            }
            JoinType::Full => {
                return err(j.span, "FULL OUTER JOIN on a foreign key is not supported")
            }
            _ => {}
        }
        if left_window.is_some() || rw.is_some() {
            return err(
                j.span,
                "Foreign-key table-table joins are not supported on windowed tables.",
            );
        }
        kind = JoinKind::ForeignKey;
    }

    // Streams not keyed by their join expression are repartitioned first.
    let mut left_plan = left_plan;
    let mut right_plan = LogicalPlan {
        schema: Schema::new(right_cols.clone()),
        node: Node::Source {
            entry: Box::new(right.clone()),
            alias: right_alias.to_string(),
        },
    };
    if kind != JoinKind::ForeignKey {
        if left_kind == SourceKind::Stream && !lk_is_left_key {
            if left_window.is_some() {
                return err(j.span, "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.");
            }
            left_plan = repartition(left_plan, &lk);
        }
        let rk_is_stream_key =
            right_keys.len() == 1 && rk.as_column().is_some_and(|c| c.name == right_keys[0].name);
        if right_kind == SourceKind::Stream && !rk_is_stream_key {
            if rw.is_some() {
                return err(j.span, "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.");
            }
            right_plan = repartition(right_plan, &rk);
        }
    }

    // The key of the result.
    let new_key: Vec<KeyCol> = if kind == JoinKind::ForeignKey {
        keys.iter()
            .map(|k| KeyCol {
                what: KeyOrigin::ForeignKey,
                ..k.clone()
            })
            .collect()
    } else if j.join_type == JoinType::Full
        || (lk.as_column().is_none() && rk.as_column().is_none())
    {
        let mut name = "ROWKEY".to_string();
        let mut i = 1;
        while combined.columns.iter().any(|c| c.name == name) {
            name = format!("ROWKEY_{i}");
            i += 1;
        }
        vec![KeyCol {
            name: name.clone(),
            ty: lk.ty.clone(),
            matches: vec![TypedExpr::column(None, name, lk.ty.clone())],
            what: KeyOrigin::SyntheticJoin,
        }]
    } else {
        // Every expression already equal to the left key stays equal to the new key.
        let mut matches = vec![lk.clone(), rk.clone()];
        if lk_is_left_key {
            for m in &keys[0].matches {
                if !matches.contains(m) {
                    matches.push(m.clone());
                }
            }
        }
        let name = match lk.as_column() {
            Some(c) => format!("{}_{}", c.source.as_deref().unwrap_or(""), c.name),
            None => match rk.as_column() {
                Some(c) => format!("{}_{}", c.source.as_deref().unwrap_or(""), c.name),
                None => "ROWKEY".into(),
            },
        };
        vec![KeyCol {
            name,
            ty: lk.ty.clone(),
            matches,
            what: KeyOrigin::Join,
        }]
    };

    if let Some(k) = new_key.iter().find(|k| k.ty.contains_map()) {
        return err(j.span, format!("Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{}`. Column type: {}. See https://github.com/confluentinc/ksql/issues/6621 for more.", k.name, k.ty));
    }
    let mut cols: Vec<Column> = new_key
        .iter()
        .map(|k| Column::new(k.name.clone(), k.ty.clone(), ColumnRole::Key))
        .collect();
    for c in left_plan.schema.columns.iter().chain(&right_cols) {
        if c.source.is_none() && (c.role == ColumnRole::Pseudo || c.role == ColumnRole::Key) {
            continue;
        }
        let mut c = c.clone();
        if c.role == ColumnRole::Key {
            c.role = ColumnRole::Value;
        }
        cols.push(c);
    }
    for (n, t) in PSEUDO {
        cols.push(pseudo(None, n, t.clone()));
    }
    if left_window.is_some() {
        cols.push(pseudo(None, "WINDOWSTART", SqlType::BigInt));
        cols.push(pseudo(None, "WINDOWEND", SqlType::BigInt));
    }
    let within = j.within.as_ref().map(|w| JoinWithin {
        before_ms: w.before_millis(),
        after_ms: w.after_millis(),
        grace_ms: w.grace.map(|g| g.millis),
    });
    let key_name = new_key.first().map(|k| k.name.clone()).unwrap_or_default();
    let plan = LogicalPlan {
        schema: Schema::new(cols.clone()),
        node: Node::Join {
            left: Box::new(left_plan),
            right: Box::new(right_plan),
            join_type: j.join_type,
            kind,
            left_key: lk,
            right_key: rk,
            within,
            key: key_name,
        },
    };
    // The scope for the rest of the query: both sides, plus the join's own pseudo-columns
    // and a synthetic key if there is one.
    let mut new_scope = combined;
    new_scope.columns.retain(|c| c.source.is_some());
    for k in &new_key {
        if k.what == KeyOrigin::SyntheticJoin {
            new_scope.columns.insert(
                0,
                Column::new(k.name.clone(), k.ty.clone(), ColumnRole::Key),
            );
        }
    }
    for (n, t) in PSEUDO {
        new_scope.columns.push(pseudo(None, n, t.clone()));
    }
    if left_window.is_some() {
        new_scope
            .columns
            .push(pseudo(None, "WINDOWSTART", SqlType::BigInt));
        new_scope
            .columns
            .push(pseudo(None, "WINDOWEND", SqlType::BigInt));
    }
    *scope = new_scope;
    *keys = new_key;
    Ok((
        plan,
        if kind == JoinKind::ForeignKey {
            SourceKind::Table
        } else {
            out_kind
        },
        left_window,
    ))
}

fn repartition(input: LogicalPlan, key: &TypedExpr) -> LogicalPlan {
    let name = match key.as_column() {
        Some(c) => c.name.clone(),
        None => "KSQL_COL_0".into(),
    };
    let mut cols = vec![Column::new(name.clone(), key.ty.clone(), ColumnRole::Key)];
    for c in &input.schema.columns {
        let mut c = c.clone();
        if c.role == ColumnRole::Key {
            c.role = ColumnRole::Value;
        }
        cols.push(c);
    }
    LogicalPlan {
        schema: Schema::new(cols),
        node: Node::Repartition {
            input: Box::new(input),
            keys: vec![NamedExpr {
                name,
                expr: key.clone(),
            }],
        },
    }
}

/// Aggregate calls as ksqlDB prints them in messages (`COUNT(*)` reads `COUNT(ROWTIME)`).
fn collect_agg_texts(e: &TypedExpr, out: &mut Vec<String>) {
    if let TypedExprKind::Aggregate { name, args } = &e.kind {
        let text = if args.is_empty() {
            format!("{name}(ROWTIME)")
        } else {
            e.to_string()
        };
        out.push(text);
        return;
    }
    for c in e.children() {
        collect_agg_texts(c, out);
    }
}
