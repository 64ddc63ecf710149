//! Table functions and the projection: the FlatMap of table function calls, which select
//! items are key columns (ksqlDB's rules on keys missing or repeated), and the output
//! schema.

use super::*;

/// Table functions in the select list: a FlatMap producing one row per value, the calls
/// replaced by the columns they produce.
pub(super) fn table_functions(
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
pub(super) fn project(
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
        let is_key = key_items.iter().any(|v| v.first() == Some(&i))
            || (!persistent && key_items.iter().any(|v| v.contains(&i)));
        // A key PARTITION BY names after a pseudo-column (`PARTITION BY ROWTIME`) is a
        // column of the result like any other.
        if persistent && is_pseudo_name(&it.name) && !it.aliased && !is_key {
            return err(
                it.span,
                format!(
                    "Reserved column name in select: `{}`. Please remove or alias the column.",
                    it.name
                ),
            );
        }
        // A transient query's header column selected as it is keeps its role (ksqlDB's
        // result schema says `HEADER('k')` / `HEADERS`).
        let header_role = it
            .expr
            .as_column()
            .filter(|_| !persistent && !is_key)
            .and_then(|r| {
                plan.schema.columns.iter().find(|c| {
                    c.name == r.name
                        && (r.source.is_none() || c.source == r.source)
                        && matches!(c.role, ColumnRole::Header(_) | ColumnRole::Headers)
                })
            })
            .map(|c| c.role.clone());
        let col = Column::new(
            it.name.clone(),
            it.expr.ty.clone(),
            if is_key {
                ColumnRole::Key
            } else {
                header_role.unwrap_or(ColumnRole::Value)
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
    // ksqlDB's newer planner keeps a stream's source key columns in select order.
    let select_order = new_planner
        && result_kind == SourceKind::Stream
        && final_keys.iter().all(|k| k.what == KeyOrigin::Source);
    if !select_order {
        key_columns.sort_by_key(|c| key_rank(c));
    }
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
