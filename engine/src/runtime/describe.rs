//! describe.rs gathers what `DESCRIBE source [EXTENDED]`, `DESCRIBE STREAMS|TABLES` and
//! `DESCRIBE FUNCTION` report, as the typed values of `results.rs`: the schema with the key
//! marked; with EXTENDED also the formats, the topic, the queries reading and writing the
//! source, their record counts, and each partition's offsets.

use brook_log::Log;
use brook_sql::analyzer::SourceEntry;

use super::results::{
    FieldDescription, FunctionDescription, FunctionVariation, PartitionOffsets, QueryRef,
    SourceDescription,
};
use super::runner::QueryInfo;
use crate::functions::{Category, FunctionRegistry};

/// A query as a description names it.
pub fn query_ref(q: &QueryInfo) -> QueryRef {
    QueryRef {
        id: q.id.clone(),
        sql: q.sql.trim().to_string(),
        sink: q.sink_name.clone(),
        sink_topic: q.sink_topic.clone(),
        state: q.status.word().into(),
    }
}

/// The description of one source.
pub fn source(
    entry: &SourceEntry,
    extended: bool,
    log: &Log,
    queries: &[&QueryInfo],
    statement: Option<&str>,
) -> SourceDescription {
    let readers: Vec<&QueryInfo> = queries
        .iter()
        .copied()
        .filter(|q| q.source_names().iter().any(|n| *n == entry.name))
        .collect();
    let writers: Vec<&QueryInfo> = queries
        .iter()
        .copied()
        .filter(|q| q.sink_name == entry.name)
        .collect();
    let topic = log.topic(&entry.topic).ok();
    let offsets = topic
        .as_ref()
        .map(|t| {
            t.partitions()
                .iter()
                .map(|p| PartitionOffsets {
                    partition: p.id(),
                    start: p.start_offset(),
                    end: p.end_offset(),
                    committed: readers
                        .iter()
                        .map(|q| log.committed_offset(&q.id, &entry.topic, p.id()))
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    SourceDescription {
        name: entry.name.clone(),
        kind: entry.kind,
        extended,
        fields: entry
            .columns
            .iter()
            .map(|c| FieldDescription {
                name: c.name.clone(),
                ty: c.ty.clone(),
                role: c.role.clone(),
            })
            .collect(),
        timestamp: entry.timestamp.as_ref().map(|t| t.column.clone()),
        key_format: entry.key_format.name.clone(),
        value_format: entry.value_format.name.clone(),
        topic: entry.topic.clone(),
        partitions: topic.as_ref().map(|t| t.partition_count()),
        replication: 1,
        window: entry.window.as_ref().map(|w| w.kind.to_string()),
        statement: statement.map(str::to_string),
        read_queries: readers.iter().map(|q| query_ref(q)).collect(),
        write_queries: writers.iter().map(|q| query_ref(q)).collect(),
        processed: readers.iter().map(|q| q.processed).sum(),
        failed: readers.iter().map(|q| q.failed).sum(),
        total_messages: topic.as_ref().map(|t| {
            t.partitions()
                .iter()
                .map(|p| p.end_offset() - p.start_offset())
                .sum()
        }),
        offsets,
    }
}

/// `DESCRIBE FUNCTION name`, or None for an unknown function. `kind` is what the analyzer
/// knows it as (`SCALAR`, `AGGREGATE`, `TABLE`).
pub fn function(
    registry: &FunctionRegistry,
    name: &str,
    kind: Option<&str>,
) -> Option<FunctionDescription> {
    let Some(info) = registry
        .describe(name)
        .or_else(|| crate::catalog::describe_aggregate_or_table(name))
    else {
        let kind = kind?;
        return Some(FunctionDescription {
            name: name.to_uppercase(),
            kind: kind.to_string(),
            aliases: vec![],
            description: String::new(),
            category: None,
            volatile: false,
            variations: vec![],
            described: false,
        });
    };
    Some(FunctionDescription {
        name: info.name,
        kind: match info.category {
            Category::Aggregate | Category::Table => info.category.as_str().into(),
            _ => "SCALAR".into(),
        },
        aliases: info.aliases,
        description: info.description,
        category: Some(format!("{:?}", info.category)),
        volatile: info.volatile,
        variations: info
            .variations
            .into_iter()
            .map(|v| FunctionVariation {
                signature: v.signature,
                returns: v.returns,
                description: v.description,
            })
            .collect(),
        described: true,
    })
}
