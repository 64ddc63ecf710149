//! WHERE and what pull queries may not do: the filter over the FROM rows, and the window
//! bound columns that only the later clauses of a windowed aggregation see.

use super::*;

/// Window bounds are selectable in windowed aggregations (but not of joins), and not in
/// WHERE, which runs before the window is known (its scope is taken before this).
pub(super) fn add_window_bounds(scope: &mut Scope, q: &Query, multi: bool) {
    if q.window.is_some() && !multi {
        for n in ["WINDOWSTART", "WINDOWEND"] {
            if !scope.columns.iter().any(|c| c.name == n) {
                scope.columns.push(pseudo(None, n, SqlType::BigInt));
            }
        }
    }
}

/// What pull queries cannot do, and persistent queries over windowed tables.
pub(super) fn check_pull_restrictions(ctx: &QueryCtx) -> Result<()> {
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
pub(super) fn analyze_where(
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
