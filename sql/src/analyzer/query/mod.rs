//! Queries: `analyze_query` runs a query's sections in order — FROM and joins (`from`),
//! pull-query restrictions and WHERE (`filter`), the select list (`select`), GROUP BY /
//! WINDOW / HAVING and PARTITION BY (`grouping`), table functions and the projection with ksqlDB's rules for
//! key columns (`projection`), and the sink of `CREATE ... AS SELECT` and `INSERT INTO`
//! (`sink`). This module holds what the sections share: [`QueryCtx`], the key and select
//! entry types, and small column helpers.

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

mod filter;
mod from;
mod grouping;
mod projection;
mod select;
mod sink;

use filter::{add_window_bounds, analyze_where, check_pull_restrictions};
use from::{analyze_from, joined_names};
use grouping::analyze_grouping;
use projection::{project, table_functions};
use select::analyze_select;
use sink::analyze_sink;

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

/// The typed select list, and the generator of the names items without one get.
struct SelectResult {
    list: SelectList,
    names: NameGen,
}
