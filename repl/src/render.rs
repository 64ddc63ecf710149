//! render.rs owns showing statement results as text: query rows and SHOW/DESCRIBE output as
//! aligned tables (comfy-table), descriptions as ksqlDB's CLI lays them out, confirmations as
//! lines.

use std::io::Write;

use arrow::array::{Array, RecordBatch};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use std::fmt::Write as _;

use brook_engine::runtime::results::{FunctionDescription, QueryDescription, SourceDescription};
use brook_engine::runtime::{Listing, QueryRows, StatementResult};
use brook_engine::sql::ast::SourceKind;
use brook_engine::sql::plan::ColumnRole;
use comfy_table::{ContentArrangement, Table};

/// ASCII borders whose header rule has a `+` at every column boundary, like the rules above
/// and below it (comfy-table's ASCII_FULL_CONDENSED draws that rule as one run of `=`).
const TABLE_STYLE: &str = "||--+-++|    ++++++";

/// The text of every cell of the rows; NULL for nulls.
fn cells(rows: &QueryRows) -> Vec<Vec<String>> {
    rows.batches.iter().flat_map(batch_cells).collect()
}

/// The text of every cell of one batch, row by row; NULL for nulls.
pub fn batch_cells(batch: &RecordBatch) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("NULL");
    let formatters: Vec<Option<ArrayFormatter>> = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).ok())
        .collect();
    (0..batch.num_rows())
        .map(|r| {
            formatters
                .iter()
                .zip(batch.columns())
                .map(|(f, c)| match f {
                    Some(f) if !c.is_null(r) => f.value(r).to_string(),
                    _ => "NULL".to_string(),
                })
                .collect()
        })
        .collect()
}

/// The names of the columns a query shows (pseudo-columns are not shown).
pub fn column_names(schema: &brook_engine::sql::plan::Schema) -> Vec<String> {
    schema
        .columns
        .iter()
        .filter(|c| c.role != brook_engine::sql::plan::ColumnRole::Pseudo)
        .map(|c| c.name.clone())
        .collect()
}

/// An aligned table of `headers` over `rows`. On a terminal, wide values wrap within their
/// cells to fit the screen; elsewhere (files, pipes) every value is shown on one line.
pub fn table(headers: Vec<String>, rows: Vec<Vec<String>>) -> Table {
    let mut t = Table::new();
    t.load_preset(TABLE_STYLE)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers);
    for r in rows {
        t.add_row(r);
    }
    t
}

/// Writes a statement's result.
pub fn write_result(out: &mut impl Write, result: &StatementResult) -> std::io::Result<()> {
    match result {
        StatementResult::Message(m) => writeln!(out, "{m}"),
        StatementResult::QueryStarted { message, .. } => writeln!(out, "{message}"),
        StatementResult::Inserted { .. } | StatementResult::Nothing => Ok(()),
        StatementResult::Rows(rows) => {
            let headers = column_names(&rows.schema);
            let body = cells(rows);
            let n = body.len();
            writeln!(out, "{}", table(headers, body))?;
            writeln!(out, "({n} row{})", if n == 1 { "" } else { "s" })
        }
        StatementResult::Listing(l) => write_listing(out, l),
        StatementResult::Push(_) | StatementResult::Print(_) => {
            writeln!(out, "(a live query: run it in the shell, `brook`)")
        }
    }
}

/// Writes a SHOW / DESCRIBE / EXPLAIN result.
pub fn write_listing(out: &mut impl Write, listing: &Listing) -> std::io::Result<()> {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let t = match listing {
        Listing::Sources { kind, sources } => {
            let name = match kind {
                SourceKind::Stream => "Stream Name",
                SourceKind::Table => "Table Name",
            };
            table(
                strings(&[
                    name,
                    "Kafka Topic",
                    "Key Format",
                    "Value Format",
                    "Windowed",
                ]),
                sources
                    .iter()
                    .map(|s| {
                        vec![
                            s.name.clone(),
                            s.topic.clone(),
                            s.key_format.clone(),
                            s.value_format.clone(),
                            s.window.clone().unwrap_or_else(|| "false".into()),
                        ]
                    })
                    .collect(),
            )
        }
        Listing::Topics(topics) => table(
            strings(&["Kafka Topic", "Partitions"]),
            topics
                .iter()
                .map(|t| vec![t.name.clone(), t.partitions.to_string()])
                .collect(),
        ),
        Listing::Queries(queries) => table(
            strings(&[
                "Query ID",
                "Query Type",
                "Status",
                "Sink Name",
                "Query String",
            ]),
            queries
                .iter()
                .map(|q| {
                    vec![
                        q.id.clone(),
                        q.kind.clone(),
                        q.state.clone(),
                        q.sink.clone(),
                        q.sql.clone(),
                    ]
                })
                .collect(),
        ),
        Listing::Properties(props) => table(
            strings(&["Property", "Default override", "Effective Value"]),
            props
                .iter()
                .map(|p| {
                    let set = if p.overridden { "SESSION" } else { "" };
                    vec![p.name.clone(), set.to_string(), p.value.clone()]
                })
                .collect(),
        ),
        Listing::Types(types) => table(
            strings(&["Type Name", "Schema"]),
            types
                .iter()
                .map(|t| vec![t.name.clone(), t.ty.to_string()])
                .collect(),
        ),
        Listing::Variables(vars) => table(
            strings(&["Variable Name", "Value"]),
            vars.iter()
                .map(|v| vec![v.name.clone(), v.value.clone()])
                .collect(),
        ),
        Listing::Functions(fns) => table(
            strings(&["Function Name", "Category"]),
            fns.iter()
                .map(|f| vec![f.name.clone(), f.category.clone()])
                .collect(),
        ),
        Listing::Plan { plan, .. } => {
            let text = plan.as_deref().unwrap_or("(no query plan)");
            table(
                strings(&["Plan"]),
                text.lines().map(|l| vec![l.to_string()]).collect(),
            )
        }
        Listing::QueryDescription(q) => return write!(out, "{}", query_text(q)),
        Listing::AssertTopic { topic, exists } => {
            let word = if *exists { "exists" } else { "does not exist" };
            return writeln!(out, "Topic {topic} {word}");
        }
        Listing::AssertSchema {
            subject,
            id,
            exists,
        } => {
            let word = if *exists { "exists" } else { "does not exist" };
            let subject = subject
                .as_ref()
                .map(|s| format!(" subject name {s}"))
                .unwrap_or_default();
            let id = id.map(|i| format!(" id {i}")).unwrap_or_default();
            return writeln!(out, "Schema with{subject}{id} {word}");
        }
        Listing::FunctionDescription(f) => return write!(out, "{}", function_text(f)),
        Listing::Connectors { connectors, .. } => table(
            strings(&["Connector Name", "Type", "Class", "Status"]),
            connectors
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        c.kind.clone(),
                        c.class.clone(),
                        c.state.clone(),
                    ]
                })
                .collect(),
        ),
        Listing::ConnectorDescription(d) => {
            writeln!(out, "Name                 : {}", d.name)?;
            writeln!(out, "Class                : {}", d.class)?;
            writeln!(out, "Type                 : {}", d.kind)?;
            writeln!(out, "State                : {}", d.state)?;
            writeln!(out, "WorkerId             : {}", d.worker_id)?;
            if let Some(trace) = &d.trace {
                writeln!(out, "Trace                : {trace}")?;
            }
            if d.tasks.is_empty() {
                return Ok(());
            }
            writeln!(out)?;
            let t = table(
                strings(&["Task ID", "State", "Error Trace"]),
                d.tasks
                    .iter()
                    .map(|t| {
                        vec![
                            t.id.to_string(),
                            t.state.clone(),
                            t.trace.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
            );
            return writeln!(out, "{t}");
        }
        Listing::SourceDescriptions { descriptions, many } => {
            for d in descriptions {
                write!(out, "{}", source_text(d))?;
                if *many {
                    writeln!(out)?;
                }
            }
            return Ok(());
        }
    };
    writeln!(out, "{t}")
}

/// EXPLAIN <query id>: the query's statement, status, counts and plan.
fn query_text(q: &QueryDescription) -> String {
    let mut text = format!(
        "{:<21}: {}\n{:<21}: {}\n{:<21}: {}\n{:<21}: {}\n{:<21}: {} (failed: {})\n",
        "ID",
        q.id,
        "Query Type",
        q.kind,
        "SQL",
        q.sql,
        "Status",
        q.state,
        "Records processed",
        q.processed,
        q.failed
    );
    if let Some(message) = &q.error {
        text.push_str(&format!("{:<21}: {message}\n", "Error"));
    }
    if let Some(plan) = &q.plan {
        text.push_str("\nExecution plan\n--------------\n");
        text.push_str(plan);
        if !plan.ends_with('\n') {
            text.push('\n');
        }
    }
    text
}

/// DESCRIBE source [EXTENDED], laid out as ksqlDB's CLI prints it.
fn source_text(d: &SourceDescription) -> String {
    let mut s = String::new();
    let kind = match d.kind {
        SourceKind::Stream => "STREAM",
        SourceKind::Table => "TABLE",
    };
    let _ = writeln!(s, "{:<21}: {}", "Name", d.name);
    if d.extended {
        let _ = writeln!(s, "{:<21}: {kind}", "Type");
        let ts = d
            .timestamp
            .clone()
            .unwrap_or_else(|| "Not set - using <ROWTIME>".to_string());
        let _ = writeln!(s, "{:<21}: {ts}", "Timestamp field");
        let _ = writeln!(s, "{:<21}: {}", "Key format", d.key_format);
        let _ = writeln!(s, "{:<21}: {}", "Value format", d.value_format);
        let partitions = d
            .partitions
            .map(|p| p.to_string())
            .unwrap_or_else(|| "topic missing".into());
        let _ = writeln!(
            s,
            "{:<21}: {} (partitions: {partitions}, replication: {})",
            "Kafka topic", d.topic, d.replication
        );
        if let Some(w) = &d.window {
            let _ = writeln!(s, "{:<21}: {w}", "Window");
        }
        if let Some(sql) = &d.statement {
            let _ = writeln!(s, "{:<21}: {sql}", "Statement");
        }
        s.push('\n');
    }
    let name_w = d
        .fields
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0)
        .max("Field".len());
    let rows: Vec<(String, String)> = d
        .fields
        .iter()
        .map(|c| {
            let mut ty = c.ty.to_string();
            match c.role {
                ColumnRole::Key if d.kind == SourceKind::Table => ty.push_str("  (primary key)"),
                ColumnRole::Key => ty.push_str("  (key)"),
                ColumnRole::Header(_) => ty.push_str("  (header)"),
                _ => {}
            }
            (c.name.clone(), ty)
        })
        .collect();
    let ty_w = rows.iter().map(|(_, t)| t.len()).max().unwrap_or(0).max(4);
    let rule = "-".repeat(name_w + ty_w + 5);
    let _ = writeln!(s, " {:<name_w$} | Type", "Field");
    let _ = writeln!(s, "{rule}");
    for (n, t) in &rows {
        let _ = writeln!(s, " {n:<name_w$} | {t}");
    }
    let _ = writeln!(s, "{rule}");
    if !d.extended {
        let _ = writeln!(
            s,
            "For runtime statistics and query details run: DESCRIBE <Stream,Table> EXTENDED;"
        );
        return s;
    }
    for (title, list) in [
        ("Queries that read from this", &d.read_queries),
        ("Queries that write from this", &d.write_queries),
    ] {
        let head = format!("{title} {kind}");
        let _ = writeln!(s, "\n{head}\n{}", "-".repeat(head.len()));
        for q in list.iter() {
            let _ = writeln!(s, "{} ({}) : {}", q.id, q.state, q.sql);
        }
        let _ = writeln!(
            s,
            "\nFor query topology and execution plan please run: EXPLAIN <QueryId>"
        );
    }
    let _ = writeln!(s, "\nLocal runtime statistics\n------------------------");
    let _ = writeln!(
        s,
        "messages processed by queries reading it: {}, failed: {}",
        d.processed, d.failed
    );
    if let Some(total) = d.total_messages {
        let _ = writeln!(s, "total-messages in topic {}: {total}", d.topic);
        let _ = writeln!(
            s,
            "\n Partition | Start Offset | End Offset{}",
            d.read_queries
                .iter()
                .map(|q| format!(" | {} offset", q.id))
                .collect::<String>()
        );
        for p in &d.offsets {
            let mut line = format!(" {:<9} | {:<12} | {:<10}", p.partition, p.start, p.end);
            for at in &p.committed {
                let at = at.map(|o| o.to_string()).unwrap_or_else(|| "-".into());
                let _ = write!(line, " | {at}");
            }
            let _ = writeln!(s, "{line}");
        }
    }
    s
}

/// DESCRIBE FUNCTION.
fn function_text(f: &FunctionDescription) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{:<13}: {}", "Name", f.name);
    if !f.described {
        let _ = writeln!(s, "{:<13}: {}", "Type", f.kind);
        return s;
    }
    if !f.aliases.is_empty() {
        let _ = writeln!(s, "{:<13}: {}", "Aliases", f.aliases.join(", "));
    }
    let _ = writeln!(s, "{:<13}: {}", "Overview", f.description);
    let _ = writeln!(s, "{:<13}: {}", "Type", f.kind);
    if let Some(c) = &f.category {
        let _ = writeln!(s, "{:<13}: {c}", "Category");
    }
    if f.volatile {
        let _ = writeln!(s, "{:<13}: volatile (a new value on every call)", "Note");
    }
    for v in &f.variations {
        let _ = writeln!(s, "\n\t{:<12}: {}", "Variation", v.signature);
        let _ = writeln!(s, "\t{:<12}: {}", "Returns", v.returns);
        if let Some(d) = &v.description {
            let _ = writeln!(s, "\t{:<12}: {d}", "Description");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_rule_marks_every_column_boundary_like_the_other_rules() {
        let t = table(
            vec!["Stream Name".into(), "Topic".into()],
            vec![
                vec!["CLICKS".into(), "clicks".into()],
                vec!["KSQL_PROCESSING_LOG".into(), "brook_processing_log".into()],
            ],
        )
        .to_string();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 6, "{t}");
        assert_eq!(lines[0], lines[2], "{t}");
        assert_eq!(lines[0], lines[5], "{t}");
        assert_eq!(lines[0].matches('+').count(), 3, "{t}");
        assert_eq!(lines[3], "| CLICKS              | clicks               |");
    }
}
