//! session.rs owns running what the user typed against a server, for the shell over
//! `--server` and for `brook --server URL -e|-f`: statements are parsed here first (a typo
//! is shown with its caret before anything is sent), `SET`/`UNSET` and `DEFINE`/`UNDEFINE`
//! stay in the client and travel with each request as ksqlDB's CLI keeps them, `RUN SCRIPT`
//! reads the file here, queries go to `/query-stream` (push queries stream until LIMIT or
//! Ctrl-C, which closes the query on the server), everything else to `/ksql`.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::anyhow;
use brook_engine::sql::ast::StatementKind;
use brook_engine::sql::{parse_script_statement, split_statements, substitute_variables};
use serde_json::{Map, Value};

use super::entities::write_entity;
use super::rest::{ClientOptions, QueryEvent, QueryStream, RequestContext, RestClient};
use crate::render::table;
use crate::shell::helper::Vocabulary;
use crate::shell::live::LiveTable;
use crate::shell::session::{OutputFormat, CANCEL, STREAMING};

/// How often a streaming query checks for Ctrl-C while no row arrives.
const CANCEL_CHECK: Duration = Duration::from_millis(100);

/// A connection to one server, with the client-side properties and variables.
pub struct RemoteSession {
    client: RestClient,
    properties: std::collections::BTreeMap<String, String>,
    variables: HashMap<String, String>,
    pub vocabulary: Arc<RwLock<Vocabulary>>,
    pub output: OutputFormat,
}

impl RemoteSession {
    /// Connects to the server `options` names (checks it answers `/info`).
    pub fn connect(options: &ClientOptions) -> anyhow::Result<RemoteSession> {
        let client = RestClient::with_options(options)?;
        client.info()?;
        let session = RemoteSession {
            client,
            properties: Default::default(),
            variables: HashMap::new(),
            vocabulary: Arc::new(RwLock::new(Vocabulary::default())),
            output: OutputFormat::Tabular,
        };
        session.refresh_vocabulary();
        Ok(session)
    }

    /// The server's address.
    pub fn url(&self) -> &str {
        self.client.url()
    }

    /// The server's version line from `/info`, for the banner.
    pub fn server_version(&self) -> Option<String> {
        let info = self.client.info().ok()?;
        let i = info.get("KsqlServerInfo").unwrap_or(&info);
        i.get("version").and_then(Value::as_str).map(str::to_string)
    }

    fn context(&self) -> RequestContext {
        RequestContext {
            properties: self.properties.clone(),
            // Variables are substituted here before sending, as the shell parses first.
            variables: Default::default(),
        }
    }

    /// Runs every statement of `text`: parse errors stop everything before the first
    /// statement is sent; otherwise the first failing statement stops the rest.
    pub fn execute(&mut self, text: &str, name: &str, out: &mut dyn Write) -> anyhow::Result<()> {
        let pieces = split_statements(text).map_err(|e| anyhow!("{}", e.render(text, name)))?;
        // Parse all first, on a copy of the variables, so a typo anywhere sends nothing.
        let mut vars = self.variables.clone();
        let mut parsed = Vec::new();
        for piece in &pieces {
            let before = vars.clone();
            let st = parse_script_statement(piece, &mut vars)
                .map_err(|e| anyhow!("{}", e.render(text, name)))?;
            let sent = substitute_variables(piece.text, &before)
                .map_err(|e| anyhow!("{}", e.render(text, name)))?;
            parsed.push((st, sent));
        }
        let result = (|| {
            for (st, sql) in &parsed {
                CANCEL.store(false, Ordering::SeqCst);
                self.run_one(&st.kind, sql, out)?;
            }
            Ok(())
        })();
        self.refresh_vocabulary();
        result
    }

    fn run_one(
        &mut self,
        kind: &StatementKind,
        sql: &str,
        out: &mut dyn Write,
    ) -> anyhow::Result<()> {
        match kind {
            StatementKind::SetProperty { name, value } => {
                self.properties.insert(name.clone(), value.clone());
                writeln!(
                    out,
                    "Successfully changed local property '{name}' to '{value}'."
                )?;
            }
            StatementKind::UnsetProperty { name } => {
                self.properties.remove(name);
                writeln!(out, "Successfully unset local property '{name}'.")?;
            }
            StatementKind::Define { name, value } => {
                self.variables.retain(|k, _| !k.eq_ignore_ascii_case(name));
                self.variables.insert(name.clone(), value.clone());
            }
            StatementKind::Undefine { name } => {
                self.variables.retain(|k, _| !k.eq_ignore_ascii_case(name));
            }
            StatementKind::Show(brook_engine::sql::ast::ShowKind::Variables) => {
                let mut rows: Vec<Vec<String>> = self
                    .variables
                    .iter()
                    .map(|(k, v)| vec![k.clone(), v.clone()])
                    .collect();
                rows.sort();
                writeln!(
                    out,
                    "{}",
                    table(vec!["Variable Name".into(), "Value".into()], rows)
                )?;
            }
            StatementKind::RunScript { path } => {
                let script = std::fs::read_to_string(path)
                    .map_err(|e| anyhow!("cannot read script {path}: {e}"))?;
                self.execute(&script, path, out)?;
            }
            StatementKind::Query(q) => {
                let stream = self.client.query_stream(sql, &self.context())?;
                if q.emit.is_some() {
                    self.stream_push(stream, out)?;
                } else {
                    self.show_pull(stream, out)?;
                }
            }
            StatementKind::Print(_) => {
                let stream = self.client.print(&format!("{sql};"), &self.context())?;
                stream_print(stream, out)?;
            }
            _ => {
                for e in self.client.ksql(&format!("{sql};"), &self.context())? {
                    write_entity(out, &e)?;
                }
            }
        }
        Ok(())
    }

    /// A pull query: every row, then one table.
    fn show_pull(&self, stream: QueryStream, out: &mut dyn Write) -> anyhow::Result<()> {
        let names = stream.header.column_names.clone();
        let mut rows = Vec::new();
        loop {
            if CANCEL.load(Ordering::SeqCst) {
                break;
            }
            match stream.next_timeout(CANCEL_CHECK) {
                None => continue,
                Some(QueryEvent::Row(r)) => rows.push(r),
                Some(QueryEvent::End) => break,
                Some(QueryEvent::Error(e)) => return Err(anyhow!(e)),
            }
        }
        if self.output == OutputFormat::Json {
            let objects: Vec<Value> = rows.iter().map(|r| row_object(&names, r)).collect();
            writeln!(out, "{}", Value::Array(objects))?;
            return Ok(());
        }
        let n = rows.len();
        let cells = rows.iter().map(|r| row_cells(r)).collect();
        writeln!(out, "{}", table(names, cells))?;
        writeln!(out, "({n} row{})", if n == 1 { "" } else { "s" })?;
        Ok(())
    }

    /// A push query: rows as they arrive until the server ends it or Ctrl-C.
    fn stream_push(&self, stream: QueryStream, out: &mut dyn Write) -> anyhow::Result<()> {
        let names = stream.header.column_names.clone();
        let columns: Vec<(String, String)> = names
            .iter()
            .cloned()
            .zip(
                stream
                    .header
                    .column_types
                    .iter()
                    .cloned()
                    .chain(std::iter::repeat(String::new())),
            )
            .collect();
        let json = self.output == OutputFormat::Json;
        let live = LiveTable::new(columns, json);
        live.header(out)?;
        STREAMING.store(true, Ordering::SeqCst);
        let outcome = (|| -> anyhow::Result<&'static str> {
            loop {
                if CANCEL.load(Ordering::SeqCst) {
                    return Ok("Query terminated");
                }
                match stream.next_timeout(CANCEL_CHECK) {
                    None => {}
                    Some(QueryEvent::Row(r)) => {
                        let objects = if json {
                            vec![row_object(&names, &r)]
                        } else {
                            Vec::new()
                        };
                        live.rows(out, &[row_cells(&r)], &objects)?;
                    }
                    Some(QueryEvent::End) => return Ok("Query terminated"),
                    Some(QueryEvent::Error(e)) => return Err(anyhow!(e)),
                }
            }
        })();
        STREAMING.store(false, Ordering::SeqCst);
        live.footer(out)?;
        if CANCEL.load(Ordering::SeqCst) {
            // Dropping the stream closes the connection; close-query says so explicitly.
            if let Some(id) = &stream.header.query_id {
                let _ = self.client.close_query(id);
            }
        }
        writeln!(out, "{}", outcome?)?;
        Ok(())
    }

    /// Streams, tables, topics and functions for completion, read from the server.
    fn refresh_vocabulary(&self) {
        let Ok(entities) = self.client.ksql(
            "SHOW STREAMS; SHOW TABLES; SHOW TOPICS; SHOW FUNCTIONS;",
            &RequestContext::default(),
        ) else {
            return;
        };
        let mut v = Vocabulary::default();
        for e in &entities {
            let names = |key: &str| -> Vec<String> {
                e.get(key)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.get("name").and_then(Value::as_str))
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            v.sources.extend(names("streams"));
            v.sources.extend(names("tables"));
            v.topics.extend(names("topics"));
            v.functions.extend(names("functions"));
        }
        if let Ok(mut w) = self.vocabulary.write() {
            *w = v;
        }
    }
}

fn stream_print(stream: QueryStream, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "Press CTRL-C to interrupt")?;
    out.flush()?;
    STREAMING.store(true, Ordering::SeqCst);
    let r = (|| -> anyhow::Result<()> {
        while !CANCEL.load(Ordering::SeqCst) {
            match stream.next_timeout(CANCEL_CHECK) {
                None => {}
                Some(QueryEvent::Row(r)) => {
                    for v in r {
                        writeln!(out, "{}", cell(&v))?;
                    }
                    out.flush()?;
                }
                Some(QueryEvent::End) => break,
                Some(QueryEvent::Error(e)) => return Err(anyhow!(e)),
            }
        }
        Ok(())
    })();
    STREAMING.store(false, Ordering::SeqCst);
    r?;
    writeln!(out, "Topic printing ceased")?;
    Ok(())
}

/// A value as a table cell: strings bare, NULL for null, JSON for the rest.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "NULL".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn row_cells(row: &[Value]) -> Vec<String> {
    row.iter().map(cell).collect()
}

fn row_object(names: &[String], row: &[Value]) -> Value {
    let mut m = Map::new();
    for (i, v) in row.iter().enumerate() {
        let name = names.get(i).cloned().unwrap_or_else(|| format!("COL{i}"));
        m.insert(name, v.clone());
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_become_cells_and_objects() {
        let row = vec![json!("alice"), json!(3), Value::Null, json!({"A": 1})];
        assert_eq!(row_cells(&row), vec!["alice", "3", "NULL", "{\"A\":1}"]);
        let names = vec!["USER".to_string(), "N".to_string()];
        assert_eq!(
            row_object(&names, &row[..2]),
            json!({"USER": "alice", "N": 3})
        );
    }
}
