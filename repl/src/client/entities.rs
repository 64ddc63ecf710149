//! entities.rs owns showing ksqlDB's REST entities (what `POST /ksql` answers) as the shell
//! shows local results: confirmations as lines, listings as aligned tables, descriptions as
//! text. Field names are ksqlDB's (`ksqldb-rest-model`); an entity this file does not know
//! is shown as its JSON, so nothing the server says is lost.

use std::io::Write;

use serde_json::Value;

use crate::render::table;

fn s(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(t)) => t.clone(),
        Some(other) => other.to_string(),
    }
}

fn items<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Writes one entity.
pub fn write_entity(out: &mut dyn Write, e: &Value) -> std::io::Result<()> {
    let kind = e.get("@type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "currentStatus" => {
            let status = e.get("commandStatus");
            let message = s(status.and_then(|c| c.get("message")));
            if !message.is_empty() {
                writeln!(out, "{message}")?;
            }
        }
        "streams" | "tables" => {
            let list_key = kind;
            let title = if kind == "streams" {
                "Stream Name"
            } else {
                "Table Name"
            };
            let rows = items(e, list_key)
                .iter()
                .map(|x| {
                    vec![
                        s(x.get("name")),
                        s(x.get("topic")),
                        s(x.get("keyFormat")),
                        s(x.get("valueFormat")),
                        s(x.get("isWindowed")),
                    ]
                })
                .collect();
            let headers = [
                title,
                "Kafka Topic",
                "Key Format",
                "Value Format",
                "Windowed",
            ];
            writeln!(out, "{}", table(owned(&headers), rows))?;
        }
        "kafka_topics" => {
            let rows = items(e, "topics")
                .iter()
                .map(|t| {
                    let replicas = items(t, "replicaInfo");
                    vec![
                        s(t.get("name")),
                        replicas.len().to_string(),
                        replicas
                            .iter()
                            .map(|r| s(Some(r)))
                            .collect::<Vec<_>>()
                            .join(" "),
                    ]
                })
                .collect();
            let headers = ["Kafka Topic", "Partitions", "Partition Replicas"];
            writeln!(out, "{}", table(owned(&headers), rows))?;
        }
        "queries" => {
            let rows = items(e, "queries")
                .iter()
                .map(|q| {
                    vec![
                        s(q.get("id")),
                        s(q.get("queryType")),
                        status_of(q),
                        join(q.get("sinks")),
                        join(q.get("sinkKafkaTopics")),
                        s(q.get("queryString")),
                    ]
                })
                .collect();
            let headers = [
                "Query ID",
                "Query Type",
                "Status",
                "Sink Name",
                "Sink Kafka Topic",
                "Query String",
            ];
            writeln!(out, "{}", table(owned(&headers), rows))?;
        }
        "properties" => {
            let overridden: Vec<String> = items(e, "overwrittenProperties")
                .iter()
                .map(|n| s(Some(n)))
                .collect();
            let set = |name: &str| {
                if overridden.iter().any(|n| n == name) {
                    "SESSION".to_string()
                } else {
                    String::new()
                }
            };
            let mut rows: Vec<Vec<String>> = e
                .get("properties")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| vec![k.clone(), set(k), s(Some(v))])
                        .collect()
                })
                .unwrap_or_default();
            // The server may also list them as objects (ksqlDB 0.15+: name, scope, value).
            if rows.is_empty() {
                rows = items(e, "properties")
                    .iter()
                    .map(|p| {
                        let name = s(p.get("name"));
                        vec![name.clone(), set(&name), s(p.get("value"))]
                    })
                    .collect();
            }
            let headers = owned(&["Property", "Default override", "Effective Value"]);
            writeln!(out, "{}", table(headers, rows))?;
        }
        "function_names" => {
            let rows = items(e, "functions")
                .iter()
                .map(|f| {
                    vec![
                        s(f.get("name")),
                        s(f.get("category")).if_empty(s(f.get("type"))),
                    ]
                })
                .collect();
            writeln!(
                out,
                "{}",
                table(owned(&["Function Name", "Category"]), rows)
            )?;
        }
        "type_list" => {
            let rows = e
                .get("types")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| vec![k.clone(), schema_text(v)])
                        .collect()
                })
                .unwrap_or_default();
            writeln!(out, "{}", table(owned(&["Type Name", "Schema"]), rows))?;
        }
        "variables" => {
            let rows = items(e, "variables")
                .iter()
                .map(|v| vec![s(v.get("name")), s(v.get("value"))])
                .collect();
            writeln!(out, "{}", table(owned(&["Variable Name", "Value"]), rows))?;
        }
        "sourceDescription" => {
            if let Some(d) = e.get("sourceDescription") {
                write_source_description(out, d)?;
            }
        }
        "source_descriptions" => {
            for d in items(e, "sourceDescriptions") {
                write_source_description(out, d)?;
                writeln!(out)?;
            }
        }
        "describe_function" => write_function(out, e)?,
        "assert_topic" => {
            let exists = e.get("exists").and_then(Value::as_bool).unwrap_or(true);
            let word = if exists { "exists" } else { "does not exist" };
            writeln!(out, "Topic {} {word}", s(e.get("topicName")))?;
        }
        "assert_schema" => {
            let exists = e.get("exists").and_then(Value::as_bool).unwrap_or(true);
            let word = if exists { "exists" } else { "does not exist" };
            let subject = e
                .get("subject")
                .and_then(Value::as_str)
                .map(|v| format!(" subject name {v}"))
                .unwrap_or_default();
            let id = e
                .get("id")
                .and_then(Value::as_i64)
                .map(|v| format!(" id {v}"))
                .unwrap_or_default();
            writeln!(out, "Schema with{subject}{id} {word}")?;
        }
        "queryDescription" => {
            if let Some(q) = e.get("queryDescription") {
                write_query_description(out, q)?;
            }
        }
        _ => match crate::client::rest::entity_error(e) {
            Some(message) => writeln!(out, "{message}")?,
            None => writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(e).unwrap_or_else(|_| e.to_string())
            )?,
        },
    }
    // ksqlDB attaches warnings to any entity.
    for w in items(e, "warnings") {
        writeln!(out, "WARNING: {}", s(w.get("message")))?;
    }
    Ok(())
}

trait IfEmpty {
    fn if_empty(self, other: String) -> String;
}

impl IfEmpty for String {
    fn if_empty(self, other: String) -> String {
        if self.is_empty() {
            other
        } else {
            self
        }
    }
}

fn owned(headers: &[&str]) -> Vec<String> {
    headers.iter().map(|h| h.to_string()).collect()
}

fn join(v: Option<&Value>) -> String {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(|x| s(Some(x))).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

/// A query's status: `RUNNING:1` as ksqlDB's CLI shows `statusCount`, else its `state`.
fn status_of(q: &Value) -> String {
    if let Some(counts) = q.get("statusCount").and_then(Value::as_object) {
        if !counts.is_empty() {
            return counts
                .iter()
                .map(|(k, v)| format!("{k}:{}", s(Some(v))))
                .collect::<Vec<_>>()
                .join(" ");
        }
    }
    s(q.get("state"))
}

/// A field schema of ksqlDB's entities (`{"type":"ARRAY","memberSchema":{...}}`) as SQL.
fn schema_text(v: &Value) -> String {
    let ty = s(v.get("type"));
    match ty.as_str() {
        "ARRAY" => format!(
            "ARRAY<{}>",
            v.get("memberSchema").map(schema_text).unwrap_or_default()
        ),
        "MAP" => format!(
            "MAP<STRING, {}>",
            v.get("memberSchema").map(schema_text).unwrap_or_default()
        ),
        "STRUCT" => {
            let fields: Vec<String> = items(v, "fields")
                .iter()
                .map(|f| {
                    format!(
                        "{} {}",
                        s(f.get("name")),
                        f.get("schema").map(schema_text).unwrap_or_default()
                    )
                })
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        "" => match v {
            Value::String(t) => t.clone(),
            other => other.to_string(),
        },
        _ => v
            .get("fullType")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or(ty),
    }
}

fn write_source_description(out: &mut dyn Write, d: &Value) -> std::io::Result<()> {
    let label = |l: &str| format!("{l:<20}: ");
    writeln!(out)?;
    writeln!(out, "{}{}", label("Name"), s(d.get("name")))?;
    let kind = s(d.get("type"));
    if !kind.is_empty() {
        writeln!(out, "{}{}", label("Type"), kind)?;
    }
    for (l, k) in [
        ("Timestamp field", "timestamp"),
        ("Key format", "keyFormat"),
        ("Value format", "valueFormat"),
        ("Kafka topic", "topic"),
        ("Partitions", "partitions"),
        ("Window type", "windowType"),
        ("Statement", "statement"),
    ] {
        let v = s(d.get(k));
        if !v.is_empty() && v != "0" {
            writeln!(out, "{}{}", label(l), v)?;
        }
    }
    let rows: Vec<Vec<String>> = items(d, "fields")
        .iter()
        .map(|f| {
            let mut ty = f.get("schema").map(schema_text).unwrap_or_default();
            match f.get("type").and_then(Value::as_str) {
                Some("KEY") => ty.push_str(" (key)"),
                Some("HEADER") => ty.push_str(" (header)"),
                _ => {}
            }
            vec![s(f.get("name")), ty]
        })
        .collect();
    writeln!(out, "{}", table(owned(&["Field", "Type"]), rows))?;
    for (title, key) in [
        ("Queries that read from this source", "readQueries"),
        ("Queries that write from this source", "writeQueries"),
    ] {
        let qs = items(d, key);
        if qs.is_empty() {
            continue;
        }
        writeln!(out, "\n{title}\n{}", "-".repeat(title.len()))?;
        for q in qs {
            writeln!(out, "{} : {}", s(q.get("id")), s(q.get("queryString")))?;
        }
    }
    for (l, k) in [
        ("Local runtime statistics", "statistics"),
        ("Errors", "errorStats"),
    ] {
        let v = s(d.get(k));
        if !v.trim().is_empty() {
            writeln!(out, "\n{l}\n{}\n{}", "-".repeat(l.len()), v.trim_end())?;
        }
    }
    Ok(())
}

fn write_function(out: &mut dyn Write, f: &Value) -> std::io::Result<()> {
    let label = |l: &str| format!("{l:<12}: ");
    writeln!(out)?;
    writeln!(out, "{}{}", label("Name"), s(f.get("name")))?;
    for (l, k) in [
        ("Author", "author"),
        ("Version", "version"),
        ("Overview", "description"),
        ("Type", "type"),
        ("Jar", "path"),
    ] {
        let v = s(f.get(k));
        if !v.is_empty() {
            writeln!(out, "{}{}", label(l), v)?;
        }
    }
    writeln!(out, "{}", label("Variations"))?;
    for v in items(f, "functions") {
        let args: Vec<String> = items(v, "arguments")
            .iter()
            .map(|a| {
                let name = s(a.get("name"));
                let ty = s(a.get("type"));
                if name.is_empty() {
                    ty
                } else {
                    format!("{name} {ty}")
                }
            })
            .collect();
        writeln!(out)?;
        writeln!(
            out,
            "\t{}{}({})",
            label("Variation"),
            s(f.get("name")),
            args.join(", ")
        )?;
        writeln!(out, "\t{}{}", label("Returns"), s(v.get("returnType")))?;
        let d = s(v.get("description"));
        if !d.is_empty() {
            writeln!(out, "\t{}{}", label("Description"), d)?;
        }
    }
    Ok(())
}

fn write_query_description(out: &mut dyn Write, q: &Value) -> std::io::Result<()> {
    let label = |l: &str| format!("{l:<20}: ");
    writeln!(out)?;
    for (l, k) in [
        ("ID", "id"),
        ("Query Type", "queryType"),
        ("SQL", "statementText"),
        ("Status", "state"),
    ] {
        let v = s(q.get(k));
        if !v.is_empty() {
            writeln!(out, "{}{}", label(l), v)?;
        }
    }
    let rows: Vec<Vec<String>> = items(q, "fields")
        .iter()
        .map(|f| {
            vec![
                s(f.get("name")),
                f.get("schema").map(schema_text).unwrap_or_default(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        writeln!(out, "{}", table(owned(&["Field", "Type"]), rows))?;
    }
    for (l, k) in [("Sources", "sources"), ("Sinks", "sinks")] {
        let v = join(q.get(k));
        if !v.is_empty() {
            writeln!(out, "{}{}", label(l), v)?;
        }
    }
    for (l, k) in [
        ("Execution plan", "executionPlan"),
        ("Processing topology", "topology"),
    ] {
        let v = s(q.get(k));
        if !v.trim().is_empty() {
            writeln!(out, "\n{l}\n{}\n{}", "-".repeat(l.len()), v.trim_end())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shown(e: Value) -> String {
        let mut out = Vec::new();
        write_entity(&mut out, &e).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_status_shows_its_message() {
        let text = shown(json!({
            "@type": "currentStatus",
            "statementText": "CREATE STREAM S ...",
            "commandId": "stream/`S`/create",
            "commandStatus": {"status": "SUCCESS", "message": "Stream created"},
            "commandSequenceNumber": 2
        }));
        assert_eq!(text, "Stream created\n");
    }

    #[test]
    fn listings_are_tables() {
        let text = shown(json!({
            "@type": "streams",
            "streams": [{"type": "STREAM", "name": "CLICKS", "topic": "clicks",
                         "keyFormat": "KAFKA", "valueFormat": "JSON", "isWindowed": false}]
        }));
        assert!(text.contains("Stream Name"), "{text}");
        assert!(text.contains("CLICKS"), "{text}");
        assert!(text.contains("clicks"), "{text}");
        let queries = shown(json!({
            "@type": "queries",
            "queries": [{"id": "CTAS_T_1", "queryType": "PERSISTENT", "state": "RUNNING",
                         "sinks": ["T"], "sinkKafkaTopics": ["T"], "queryString": "CREATE TABLE T ..."}]
        }));
        assert!(
            queries.contains("CTAS_T_1") && queries.contains("RUNNING"),
            "{queries}"
        );
    }

    #[test]
    fn a_source_description_lists_fields_with_keys_marked() {
        let text = shown(json!({
            "@type": "sourceDescription",
            "sourceDescription": {
                "name": "CLICKS", "type": "STREAM", "topic": "clicks",
                "keyFormat": "KAFKA", "valueFormat": "JSON",
                "fields": [
                    {"name": "USER_ID", "schema": {"type": "STRING"}, "type": "KEY"},
                    {"name": "TAGS", "schema": {"type": "ARRAY", "memberSchema": {"type": "STRING"}}}
                ],
                "readQueries": [], "writeQueries": []
            }
        }));
        assert!(text.contains("STRING (key)"), "{text}");
        assert!(text.contains("ARRAY<STRING>"), "{text}");
        assert!(text.contains("clicks"), "{text}");
    }

    #[test]
    fn unknown_entities_are_shown_as_json() {
        let text = shown(json!({"@type": "something_new", "x": 1}));
        assert!(text.contains("\"something_new\""), "{text}");
    }
}
