//! entities.rs owns the JSON entities of ksqlDB's REST API (the classes of ksqlDB's
//! `ksqldb-rest-model`): what `/ksql` answers for each statement result, and the column
//! types `/query-stream` names.

use brook_engine::runtime::results::{
    FieldDescription, FunctionDescription, Listing, QueryDescription, QueryRef, SourceDescription,
};
use brook_engine::runtime::StatementResult;
use brook_engine::sql::ast::SourceKind;
use brook_engine::sql::plan::{ColumnRole, SqlType};
use serde_json::{json, Value};

/// A command's identity and place in the server's command sequence (`currentStatus`).
#[derive(Debug, Clone)]
pub struct CommandInfo {
    pub id: String,
    pub sequence: u64,
}

/// A push query the server is streaming, as SHOW QUERIES lists it.
#[derive(Debug, Clone)]
pub struct PushQueryInfo {
    pub id: String,
    pub sql: String,
}

/// The entity of one statement's result, or None for statements ksqlDB answers without
/// one (INSERT VALUES).
pub fn entity(
    result: &StatementResult,
    statement: &str,
    command: &CommandInfo,
    host: &str,
    push_queries: &[PushQueryInfo],
) -> Option<Value> {
    let mut v = match result {
        StatementResult::Message(m) => current_status(m, None, command),
        StatementResult::QueryStarted { query_id, message } => {
            current_status(message, Some(query_id), command)
        }
        StatementResult::Nothing => current_status("", None, command),
        StatementResult::Inserted { .. } => return None,
        StatementResult::Listing(l) => listing(l, host, push_queries),
        // The caller sends queries and PRINT to the query endpoints.
        StatementResult::Rows(_) | StatementResult::Push(_) | StatementResult::Print(_) => {
            return None
        }
    };
    if let Value::Object(o) = &mut v {
        o.insert("statementText".into(), Value::String(statement.to_string()));
        o.insert("warnings".into(), json!([]));
    }
    Some(v)
}

fn current_status(message: &str, query_id: Option<&str>, command: &CommandInfo) -> Value {
    json!({
        "@type": "currentStatus",
        "commandId": command.id,
        "commandStatus": {"status": "SUCCESS", "message": message, "queryId": query_id},
        "commandSequenceNumber": command.sequence,
    })
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "STREAM",
        SourceKind::Table => "TABLE",
    }
}

fn listing(l: &Listing, host: &str, push_queries: &[PushQueryInfo]) -> Value {
    match l {
        Listing::Sources { kind, sources } => {
            let items: Vec<Value> = sources
                .iter()
                .map(|s| {
                    json!({
                        "type": kind_name(s.kind),
                        "name": s.name,
                        "topic": s.topic,
                        "keyFormat": s.key_format,
                        "valueFormat": s.value_format,
                        "isWindowed": s.window.is_some(),
                    })
                })
                .collect();
            match kind {
                SourceKind::Stream => json!({"@type": "streams", "streams": items}),
                SourceKind::Table => json!({"@type": "tables", "tables": items}),
            }
        }
        Listing::SourceDescriptions { descriptions, many } => {
            let mut items: Vec<Value> = descriptions
                .iter()
                .map(|d| source_description(d, host))
                .collect();
            if !many && items.len() == 1 {
                json!({"@type": "sourceDescription", "sourceDescription": items.remove(0)})
            } else {
                json!({"@type": "source_descriptions", "sourceDescriptions": items})
            }
        }
        Listing::Topics(topics) => json!({
            "@type": "kafka_topics",
            "topics": topics.iter().map(|t| json!({
                "name": t.name,
                "replicaInfo": vec![t.replication; t.partitions as usize],
            })).collect::<Vec<_>>(),
        }),
        Listing::Queries(queries) => {
            let mut items: Vec<Value> = queries
                .iter()
                .map(|q| {
                    running_query(&QueryRef {
                        id: q.id.clone(),
                        sql: q.sql.clone(),
                        sink: q.sink.clone(),
                        sink_topic: q.sink_topic.clone(),
                        state: q.state.clone(),
                    })
                })
                .collect();
            items.extend(push_queries.iter().map(|p| {
                json!({
                    "queryString": p.sql,
                    "sinks": [],
                    "sinkKafkaTopics": [],
                    "id": p.id,
                    "statusCount": {"RUNNING": 1},
                    "queryType": "PUSH",
                    "state": "RUNNING",
                })
            }));
            json!({"@type": "queries", "queries": items})
        }
        Listing::Properties(props) => json!({
            "@type": "properties",
            "properties": props.iter().map(|p| json!({
                "name": p.name, "scope": "KSQL", "value": p.value,
            })).collect::<Vec<_>>(),
            "overwrittenProperties": props.iter().filter(|p| p.overridden).map(|p| &p.name).collect::<Vec<_>>(),
            "defaultProperties": props.iter().filter(|p| !p.overridden).map(|p| &p.name).collect::<Vec<_>>(),
        }),
        Listing::Types(types) => {
            let map: serde_json::Map<String, Value> = types
                .iter()
                .map(|t| (t.name.clone(), schema_info(&t.ty)))
                .collect();
            json!({"@type": "type_list", "types": map})
        }
        Listing::Variables(vars) => json!({
            "@type": "variables",
            "variables": vars.iter().map(|v| json!({"name": v.name, "value": v.value})).collect::<Vec<_>>(),
        }),
        Listing::Functions(fns) => json!({
            "@type": "function_names",
            "functions": fns.iter().map(|f| json!({
                "name": f.name, "type": f.kind, "category": f.category.to_uppercase(),
            })).collect::<Vec<_>>(),
        }),
        Listing::FunctionDescription(f) => function_description(f),
        // ksqlDB's ConnectorList and ConnectorDescription entities.
        Listing::Connectors { connectors, .. } => json!({
            "@type": "connector_list",
            "warnings": [],
            "connectors": connectors.iter().map(|c| json!({
                "name": c.name,
                "type": c.kind,
                "className": c.class,
                "state": c.state,
            })).collect::<Vec<_>>(),
        }),
        Listing::ConnectorDescription(d) => json!({
            "@type": "connector_description",
            "connectorClass": d.class,
            "status": {
                "name": d.name,
                "connector": {
                    "state": d.state,
                    "worker_id": d.worker_id,
                    "trace": d.trace,
                },
                "tasks": d.tasks.iter().map(|t| json!({
                    "id": t.id,
                    "state": t.state,
                    "worker_id": t.worker_id,
                    "trace": t.trace,
                })).collect::<Vec<_>>(),
                "type": d.kind.to_ascii_lowercase(),
            },
            "sources": [],
            "topics": [],
            "warnings": [],
        }),
        Listing::AssertTopic { topic, exists } => json!({
            "@type": "assert_topic",
            "topicName": topic,
            "exists": exists,
        }),
        Listing::AssertSchema {
            subject,
            id,
            exists,
        } => json!({
            "@type": "assert_schema",
            "subject": subject,
            "id": id,
            "exists": exists,
        }),
        Listing::QueryDescription(q) => json!({
            "@type": "queryDescription",
            "queryDescription": query_description(q, host),
        }),
        Listing::Plan { statement, plan } => json!({
            "@type": "queryDescription",
            "queryDescription": {
                "id": "",
                "statementText": statement,
                "windowType": null,
                "fields": [],
                "sources": [],
                "sinks": [],
                "topology": "",
                "executionPlan": plan.clone().unwrap_or_default(),
                "overriddenProperties": {},
                "ksqlHostQueryStatus": {},
                "queryType": "PERSISTENT",
                "queryErrors": [],
                "tasksMetadata": [],
                "state": null,
            },
        }),
    }
}

fn running_query(q: &QueryRef) -> Value {
    json!({
        "queryString": q.sql,
        "sinks": [q.sink],
        "sinkKafkaTopics": [q.sink_topic],
        "id": q.id,
        "statusCount": {q.state.clone(): 1},
        "queryType": "PERSISTENT",
        "state": q.state,
    })
}

fn field(f: &FieldDescription) -> Value {
    let mut v = json!({"name": f.name, "schema": schema_info(&f.ty)});
    match &f.role {
        ColumnRole::Key => {
            v["type"] = json!("KEY");
        }
        ColumnRole::Header(k) => {
            v["type"] = json!("HEADER");
            v["headerKey"] = json!(k);
        }
        ColumnRole::Headers => {
            v["type"] = json!("HEADER");
        }
        ColumnRole::Value | ColumnRole::Pseudo => {}
    }
    v
}

/// ksqlDB's `SchemaInfo` of a type.
pub fn schema_info(ty: &SqlType) -> Value {
    match ty {
        SqlType::Array(t) => {
            json!({"type": "ARRAY", "fields": null, "memberSchema": schema_info(t)})
        }
        SqlType::Map(_, v) => {
            json!({"type": "MAP", "fields": null, "memberSchema": schema_info(v)})
        }
        SqlType::Struct(fs) => json!({
            "type": "STRUCT",
            "fields": fs.iter().map(|(n, t)| json!({"name": n, "schema": schema_info(t)})).collect::<Vec<_>>(),
            "memberSchema": null,
        }),
        SqlType::Decimal { precision, scale } => json!({
            "type": "DECIMAL", "fields": null, "memberSchema": null,
            "parameters": {"precision": precision, "scale": scale},
        }),
        other => json!({"type": type_name(other), "fields": null, "memberSchema": null}),
    }
}

/// The name `/query-stream` gives a column's type (`INTEGER`, `ARRAY<STRING>`...).
pub fn type_name(ty: &SqlType) -> String {
    match ty {
        SqlType::Decimal { .. } | SqlType::Array(_) | SqlType::Map(_, _) | SqlType::Struct(_) => {
            ty.to_string()
        }
        SqlType::Null => "NULL".into(),
        other => {
            let s = other.to_string();
            s.split('(').next().unwrap_or(&s).to_string()
        }
    }
}

fn source_description(d: &SourceDescription, host: &str) -> Value {
    let offsets: Vec<Value> = d
        .read_queries
        .iter()
        .enumerate()
        .map(|(i, q)| {
            json!({
                "groupId": q.id,
                "topicSummaries": [{
                    "kafkaTopic": d.topic,
                    "offsets": d.offsets.iter().map(|p| json!({
                        "partition": p.partition,
                        "logStartOffset": p.start,
                        "logEndOffset": p.end,
                        "consumerOffset": p.committed.get(i).copied().flatten(),
                    })).collect::<Vec<_>>(),
                }],
            })
        })
        .collect();
    let statistics = match (d.extended, d.total_messages) {
        (true, Some(total)) => format!(
            "total-messages: {total}, messages-processed-by-readers: {}",
            d.processed
        ),
        _ => String::new(),
    };
    let error_stats = if d.extended {
        format!("failed-messages: {}", d.failed)
    } else {
        String::new()
    };
    json!({
        "name": d.name,
        "windowType": d.window,
        "readQueries": d.read_queries.iter().map(running_query).collect::<Vec<_>>(),
        "writeQueries": d.write_queries.iter().map(running_query).collect::<Vec<_>>(),
        "fields": d.fields.iter().map(field).collect::<Vec<_>>(),
        "type": kind_name(d.kind),
        "timestamp": d.timestamp.clone().unwrap_or_default(),
        "statistics": statistics,
        "errorStats": error_stats,
        "extended": d.extended,
        "keyFormat": d.key_format,
        "valueFormat": d.value_format,
        "topic": d.topic,
        "partitions": d.partitions.unwrap_or(0),
        "replication": d.replication,
        "statement": d.statement.clone().unwrap_or_default(),
        "queryOffsetSummaries": offsets,
        "sourceConstraints": [],
        "clusterStatistics": [],
        "clusterErrorStats": [],
        "host": host,
    })
}

fn query_description(q: &QueryDescription, host: &str) -> Value {
    json!({
        "id": q.id,
        "statementText": q.sql,
        "windowType": null,
        "fields": [],
        "sources": q.sources,
        "sinks": [q.sink],
        "topology": "",
        "executionPlan": q.plan.clone().unwrap_or_default(),
        "overriddenProperties": {},
        "ksqlHostQueryStatus": {host: q.state},
        "queryType": q.kind,
        // ksqlDB's QueryError (its time is not kept yet, so it is left out).
        "queryErrors": q.error.iter().map(|m| json!({
            "errorMessage": m,
            "type": "UNKNOWN",
        })).collect::<Vec<_>>(),
        "tasksMetadata": [],
        "state": q.state,
    })
}

/// `NAME(a INT, b VARCHAR...)` → its arguments (name, type, variadic).
fn arguments(signature: &str) -> Vec<Value> {
    let Some(inner) = signature
        .split_once('(')
        .and_then(|(_, rest)| rest.rsplit_once(')'))
        .map(|(inner, _)| inner)
    else {
        return Vec::new();
    };
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, ch) in inner.char_indices() {
        match ch {
            '(' | '<' => depth += 1,
            ')' | '>' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, ty) = p.split_once(' ').unwrap_or(("", p));
            let variadic = ty.ends_with("...");
            json!({
                "name": name,
                "type": ty.trim_end_matches("..."),
                "description": "",
                "isVariadic": variadic,
            })
        })
        .collect()
}

fn function_description(f: &FunctionDescription) -> Value {
    json!({
        "@type": "describe_function",
        "name": f.name,
        "description": f.description,
        "author": "",
        "version": "",
        "path": "internal",
        "type": f.kind,
        "functions": f.variations.iter().map(|v| json!({
            "arguments": arguments(&v.signature),
            "returnType": v.returns,
            "description": v.description.clone().unwrap_or_default(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_split_at_top_level_commas() {
        let a =
            arguments("SUBSTRING(str VARCHAR, pos DECIMAL(4, 2), m MAP<STRING, INT>, x INT...)");
        assert_eq!(a.len(), 4);
        assert_eq!(a[1]["type"], "DECIMAL(4, 2)");
        assert_eq!(a[2]["type"], "MAP<STRING, INT>");
        assert_eq!(a[3]["isVariadic"], true);
        assert_eq!(a[3]["type"], "INT");
    }

    #[test]
    fn current_status_carries_the_command() {
        let cmd = CommandInfo {
            id: "stream/`S`/create".into(),
            sequence: 3,
        };
        let v = entity(
            &StatementResult::Message("Stream created".into()),
            "CREATE STREAM S ...;",
            &cmd,
            "h:1",
            &[],
        )
        .unwrap();
        assert_eq!(v["@type"], "currentStatus");
        assert_eq!(v["commandStatus"]["status"], "SUCCESS");
        assert_eq!(v["commandStatus"]["message"], "Stream created");
        assert_eq!(v["commandSequenceNumber"], 3);
        assert_eq!(v["statementText"], "CREATE STREAM S ...;");
    }
}
