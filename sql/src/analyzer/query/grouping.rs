//! GROUP BY, WINDOW, HAVING and PARTITION BY: the aggregation and its window, or the
//! repartition, and the keys of the rows they produce, with ksqlDB's rules and messages.

use super::*;

/// GROUP BY, WINDOW and HAVING: the aggregation (when there is one) and the keys of the
/// rows it produces; otherwise PARTITION BY's repartition (when there is one), or the rows
/// and keys unchanged.
#[allow(clippy::too_many_arguments)]
pub(super) fn analyze_grouping(
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
    for it in &items {
        if let Some(c) = window_bound_in_aggregate(&it.expr) {
            return err(it.span, window_bound_message(&c));
        }
    }

    let having = match &q.having {
        Some(h) => {
            if q.group_by.is_none() {
                return err(h.span, "HAVING clause requires a GROUP BY clause.");
            }
            let mut t = ExprTyper::new(scope, functions, &custom, "HAVING");
            t.allow_aggregates = true;
            let th = t.type_expr(h)?;
            if let Some(c) = window_bound_in_aggregate(&th) {
                return err(h.span, window_bound_message(&c));
            }
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
                // A column (pseudo-columns too: ksqlDB's processing schema holds them as
                // value columns) names its key; other expressions get a default name.
                let name = match from_select.or_else(|| ctx.default_name(p)) {
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
            // (A persistent join's star already lists each side's keys after its values.)
            let was_key = |i: &SelectEntry| {
                !(persistent && multi)
                    && i.from_star
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

pub(super) fn window_spec(w: &WindowExpr) -> WindowSpec {
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

/// Aggregate calls as ksqlDB prints them in messages (`COUNT(*)` reads `COUNT(ROWTIME)`).
pub(super) fn collect_agg_texts(e: &TypedExpr, out: &mut Vec<String>) {
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

/// A window bound column (WINDOWSTART, WINDOWEND) passed to an aggregate function inside
/// `e`, which ksqlDB rejects: the bounds are only known once the row is aggregated.
fn window_bound_in_aggregate(e: &TypedExpr) -> Option<String> {
    let mut found = None;
    fn walk(e: &TypedExpr, inside: bool, found: &mut Option<String>) {
        if found.is_some() {
            return;
        }
        match &e.kind {
            TypedExprKind::Column(c)
                if inside && (c.name == "WINDOWSTART" || c.name == "WINDOWEND") =>
            {
                *found = Some(c.name.clone());
            }
            TypedExprKind::Aggregate { .. } => {
                for child in e.children() {
                    walk(child, true, found);
                }
            }
            _ => {
                for child in e.children() {
                    walk(child, inside, found);
                }
            }
        }
    }
    walk(e, false, &mut found);
    found
}

fn window_bound_message(column: &str) -> String {
    format!("Window bounds column {column} can only be used in the SELECT clause of windowed aggregations and can not be passed to aggregate functions.")
}
