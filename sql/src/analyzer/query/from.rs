//! FROM and joins: the sources a query reads, the scope their columns make, the join
//! plan with ksqlDB's rules on join criteria, keys and windows, and the names of columns
//! more than one joined source has.

use super::*;

/// FROM and its joins: the sources, the scope their columns make, the plan reading and
/// joining them, and the key and window of the joined rows.
pub(super) fn analyze_from<C: CatalogMut>(
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
pub(super) fn joined_names(sources: &[(String, SourceEntry)]) -> (bool, Vec<String>) {
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

/// Every `source.column` of the query must name a source of its FROM clause (by alias or
/// name), as ksqlDB's AST builder checks.
pub(super) fn check_qualifiers(q: &Query) -> Result<()> {
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
        .worded(crate::analyzer::error::KsqlWording::Prepare)
        .with_suggestion(crate::suggest(&s.value, known.iter().copied()))),
        None => Ok(()),
    }
}

/// Which `FROM` aliases an expression reads.
pub(super) fn sources_of(e: &TypedExpr) -> Vec<String> {
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
pub(super) fn analyze_join<C: CatalogMut>(
    a: &Analyzer<C>,
    j: &Join,
    custom: &dyn Fn(&str) -> Option<SqlType>,
    left_plan: LogicalPlan,
    scope: &mut Scope,
    keys: &mut Vec<KeyCol>,
    left_kind: SourceKind,
    left_window: Option<crate::analyzer::catalog::WindowInfo>,
    left_sources: &[(String, SourceEntry)],
    right: &SourceEntry,
    right_alias: &str,
    n_joins: usize,
    join_index: usize,
) -> Result<(
    LogicalPlan,
    SourceKind,
    Option<crate::analyzer::catalog::WindowInfo>,
)> {
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
        // ksqlDB gives the right side the left's key format (its window included); a
        // windowed side whose key format must change would be repartitioned, which it
        // refuses. Schema-registry key formats are repartitioned on purpose and pass.
        (Some(l), Some(r)) => {
            let (lf, rf) = (&left_sources[0].1.key_format.name, &right.key_format.name);
            let registry = crate::analyzer::ddl::supports_schema_inference(lf)
                || crate::analyzer::ddl::supports_schema_inference(rf);
            if (l != r || lf != rf) && !registry {
                return err(j.span, "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.");
            }
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

pub(super) fn repartition(input: LogicalPlan, key: &TypedExpr) -> LogicalPlan {
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
