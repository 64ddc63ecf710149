//! The sink of CREATE ... AS SELECT and INSERT INTO: result kind, formats, topic and
//! timestamp column, whether an existing sink accepts the result, and the statement as
//! ksqlDB's AstSanitizer rewrites it for messages.

use super::*;

/// The sink of CREATE ... AS SELECT or INSERT INTO: its kind, formats, topic, timestamp
/// column and, for INSERT INTO, whether the existing sink accepts the result.
pub(super) fn analyze_sink(
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
        let wrap = ddl::default_wrap(
            ctx.properties,
            wrap,
            &value_format,
            out_cols
                .iter()
                .filter(|c| c.role == ColumnRole::Value)
                .count(),
        );
        // A sink topic named after the sink takes `ksql.output.topic.name.prefix`.
        let topic = prop_str(props, "KAFKA_TOPIC").unwrap_or_else(|| match &sink.existing {
            Some(e) => e.topic.clone(),
            None => format!(
                "{}{}",
                ctx.properties
                    .get("ksql.output.topic.name.prefix")
                    .map_or("", String::as_str),
                sink.name
            ),
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
                Some(crate::analyzer::catalog::TimestampColumn {
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
                    s.0 == r.0 && s.2 == r.2 && crate::analyzer::coerce::sink_accepts(&r.1, &s.1)
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
pub(super) fn widen_to_sink(plan: &mut LogicalPlan, sink_columns: &[Column]) {
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
                    item.expr = crate::analyzer::coerce::convert_to(expr, &ty);
                }
            }
        }
    }
}

/// The statement as ksqlDB's `AstSanitizer` rewrites it, printed by its `SqlFormatter`:
/// unqualified columns qualified by the alias of the source that has them, every
/// `expr` item aliased with the name the analyzer gave it, every source aliased.
pub(super) fn sanitized_statement(
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
pub(super) fn qualify_columns(e: &mut crate::ast::Expr, scope: &Scope, bound: &mut Vec<String>) {
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
pub(super) fn children_mut(e: &mut crate::ast::Expr) -> Vec<&mut crate::ast::Expr> {
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
