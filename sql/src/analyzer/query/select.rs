//! The select list: `*`, `source.*` and `struct->*` expanded, each item typed and named
//! (its alias, a default name, or a generated `KSQL_COL_n`).

use super::*;

/// The select list: `*` and `source.*` expanded, `struct->*` expanded, each item typed and
/// named (alias, default name or a generated `KSQL_COL_n`).
pub(super) fn analyze_select(ctx: &QueryCtx, scope: &Scope) -> Result<SelectResult> {
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
            // A join repartitioned by PARTITION BY: ksqlDB's repartition takes the join's
            // schema, where each side's pseudo-columns are value columns (`L_ROWTIME`), so
            // a star lists them, each side's values first, then its pseudo-columns, then
            // its keys.
            if persistent && multi && q.partition_by.is_some() {
                let side: Vec<Column> = out.drain(start..).collect();
                let (keys, values): (Vec<Column>, Vec<Column>) =
                    side.into_iter().partition(|c| c.is_key());
                out.extend(values);
                for (name, ty) in PSEUDO {
                    out.push(pseudo(Some(alias), name, ty.clone()));
                }
                out.extend(keys);
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
                            // A field name already used, or naming a column of a source,
                            // gets a numbered suffix (ksqlDB's unique alias for a
                            // dereference).
                            let mut n2 = n.clone();
                            if matches!(te.kind, TypedExprKind::Dereference { .. }) {
                                let mut i = 1;
                                while used_names.contains(&n2) || names.taken.contains(&n2) {
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
