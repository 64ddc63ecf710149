//! describe.rs owns the text of `DESCRIBE source [EXTENDED]`, `DESCRIBE STREAMS|TABLES` and
//! `DESCRIBE FUNCTION`, laid out as ksqlDB's CLI prints them: the schema with the key marked;
//! with EXTENDED also the formats, the topic, the queries reading and writing the source,
//! their record counts, and each partition's offsets.

use std::fmt::Write as _;

use brook_log::Log;
use brook_sql::analyzer::SourceEntry;
use brook_sql::ast::SourceKind;
use brook_sql::plan::ColumnRole;

use super::runner::QueryInfo;
use crate::functions::{Category, FunctionRegistry};

/// The description of one source.
pub fn source(
    entry: &SourceEntry,
    extended: bool,
    log: &Log,
    queries: &[&QueryInfo],
    statement: Option<&str>,
) -> String {
    let mut s = String::new();
    let kind = match entry.kind {
        SourceKind::Stream => "STREAM",
        SourceKind::Table => "TABLE",
    };
    let _ = writeln!(s, "{:<21}: {}", "Name", entry.name);
    if extended {
        let _ = writeln!(s, "{:<21}: {kind}", "Type");
        let ts = match &entry.timestamp {
            Some(t) => t.column.clone(),
            None => "Not set - using <ROWTIME>".to_string(),
        };
        let _ = writeln!(s, "{:<21}: {ts}", "Timestamp field");
        let _ = writeln!(s, "{:<21}: {}", "Key format", entry.key_format.name);
        let _ = writeln!(s, "{:<21}: {}", "Value format", entry.value_format.name);
        let partitions = log
            .topic(&entry.topic)
            .map(|t| t.partition_count().to_string())
            .unwrap_or_else(|_| "topic missing".into());
        let _ = writeln!(
            s,
            "{:<21}: {} (partitions: {partitions}, replication: 1)",
            "Kafka topic", entry.topic
        );
        if let Some(w) = &entry.window {
            let _ = writeln!(s, "{:<21}: {}", "Window", w.kind);
        }
        if let Some(sql) = statement {
            let _ = writeln!(s, "{:<21}: {sql}", "Statement");
        }
        s.push('\n');
    }
    let name_w = entry
        .columns
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0)
        .max("Field".len());
    let rows: Vec<(String, String)> = entry
        .columns
        .iter()
        .map(|c| {
            let mut ty = c.ty.to_string();
            match c.role {
                ColumnRole::Key if entry.is_table() => ty.push_str("  (primary key)"),
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
    if !extended {
        let _ = writeln!(
            s,
            "For runtime statistics and query details run: DESCRIBE <Stream,Table> EXTENDED;"
        );
        return s;
    }
    let readers: Vec<&&QueryInfo> = queries
        .iter()
        .filter(|q| q.source_names().iter().any(|n| *n == entry.name))
        .collect();
    let writers: Vec<&&QueryInfo> = queries
        .iter()
        .filter(|q| q.sink_name == entry.name)
        .collect();
    for (title, list) in [
        ("Queries that read from this", &readers),
        ("Queries that write from this", &writers),
    ] {
        let head = format!("{title} {kind}");
        let _ = writeln!(s, "\n{head}\n{}", "-".repeat(head.len()));
        for q in list.iter() {
            let _ = writeln!(s, "{} ({}) : {}", q.id, q.status.word(), q.sql.trim());
        }
        let _ = writeln!(
            s,
            "\nFor query topology and execution plan please run: EXPLAIN <QueryId>"
        );
    }
    let _ = writeln!(s, "\nLocal runtime statistics\n------------------------");
    let read: u64 = readers.iter().map(|q| q.processed).sum();
    let failed: u64 = readers.iter().map(|q| q.failed).sum();
    let _ = writeln!(
        s,
        "messages processed by queries reading it: {read}, failed: {failed}"
    );
    if let Ok(topic) = log.topic(&entry.topic) {
        let total: u64 = topic
            .partitions()
            .iter()
            .map(|p| p.end_offset() - p.start_offset())
            .sum();
        let _ = writeln!(s, "total-messages in topic {}: {total}", entry.topic);
        let _ = writeln!(
            s,
            "\n Partition | Start Offset | End Offset{}",
            readers
                .iter()
                .map(|q| format!(" | {} offset", q.id))
                .collect::<String>()
        );
        for p in topic.partitions() {
            let mut line = format!(
                " {:<9} | {:<12} | {:<10}",
                p.id(),
                p.start_offset(),
                p.end_offset()
            );
            for q in &readers {
                let at = log
                    .committed_offset(&q.id, &entry.topic, p.id())
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| "-".into());
                let _ = write!(line, " | {at}");
            }
            let _ = writeln!(s, "{line}");
        }
    }
    s
}

/// `DESCRIBE FUNCTION name`, or None for an unknown function.
pub fn function(registry: &FunctionRegistry, name: &str, kind: Option<&str>) -> Option<String> {
    let mut s = String::new();
    let Some(info) = registry
        .describe(name)
        .or_else(|| crate::catalog::describe_aggregate_or_table(name))
    else {
        let kind = kind?;
        let _ = writeln!(s, "{:<13}: {}", "Name", name.to_uppercase());
        let _ = writeln!(s, "{:<13}: {kind}", "Type");
        return Some(s);
    };
    let _ = writeln!(s, "{:<13}: {}", "Name", info.name);
    if !info.aliases.is_empty() {
        let _ = writeln!(s, "{:<13}: {}", "Aliases", info.aliases.join(", "));
    }
    let _ = writeln!(s, "{:<13}: {}", "Overview", info.description);
    let kind = match info.category {
        Category::Aggregate | Category::Table => info.category.as_str(),
        _ => "SCALAR",
    };
    let _ = writeln!(s, "{:<13}: {kind}", "Type");
    let _ = writeln!(s, "{:<13}: {:?}", "Category", info.category);
    if info.volatile {
        let _ = writeln!(s, "{:<13}: volatile (a new value on every call)", "Note");
    }
    for v in &info.variations {
        let _ = writeln!(s, "\n\t{:<12}: {}", "Variation", v.signature);
        let _ = writeln!(s, "\t{:<12}: {}", "Returns", v.returns);
        if let Some(d) = &v.description {
            let _ = writeln!(s, "\t{:<12}: {d}", "Description");
        }
    }
    Some(s)
}
