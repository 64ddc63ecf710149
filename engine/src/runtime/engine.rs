//! engine.rs owns [`Engine`]: one data directory's log, catalog and running queries, and
//! the execution of statements against them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brook_log::{Log, LogOptions, TopicConfig};
use brook_sql::analyzer::{
    AnalyzedStatement, Analyzer, Catalog, MemoryCatalog, RegisteredSchema, SourceEntry,
};
use brook_sql::ast::{
    ConnectorKind, ExplainTarget, Literal, QueryTarget, ShowKind, SourceKind, Statement,
    StatementKind,
};
use brook_sql::{parse_script_statement, split_statements};

use crate::catalog::EngineFunctions;
use crate::functions::{FunctionDef, FunctionRegistry};

use super::codec::{ProvidedSchemas, SourceCodec};
use super::commands::{self, Command};
use super::connect::{ConnectClient, DEFAULT_CONNECT_URL};
use super::describe;
use super::error::{EngineError, Result};
use super::insert::insert_values;
use super::pipeline;
use super::print::TopicPrinter;
use super::processing_log::{PROCESSING_LOG_DDL, PROCESSING_LOG_STREAM};
use super::pull;
use super::push::PushQuery;
use super::query::{
    PersistentQuery, ProcessingGuarantee, DEFAULT_COMMIT_INTERVAL, PROCESSING_GUARANTEE_PROPERTIES,
};
use super::results::{
    FunctionSummary, Listing, QueryDescription, QuerySummary, SourceDescription, SourceSummary,
    TopicSummary, TypeSummary, Variable,
};
use super::runner::{IdleWaiter, ProgressSignal, QueryError, QueryHandle, QueryInfo};
use super::scalable_push::{self, SharedSink};
use super::transient::{self, QueryRows};

/// How an engine behaves beyond what statements say.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// `CREATE STREAM|TABLE` over a topic that does not exist creates it (with `PARTITIONS`
    /// or one partition) instead of failing. The conformance runner sets it, as ksqlDB's
    /// test harness creates the topics a case names.
    pub create_missing_topics: bool,
    /// Declares the `KSQL_PROCESSING_LOG` stream.
    pub processing_log_stream: bool,
    /// Records the catalog in the command topic and replays it on open.
    pub persist_commands: bool,
    /// Functions only ksqlDB's test harness has (TEST_UDF...), for the conformance runner.
    pub conformance_test_functions: bool,
    /// fsync each state commit's changelog append (durability across power loss). The
    /// conformance runner, whose directories are thrown away, turns it off.
    pub fsync_state: bool,
    /// Keys an aggregation's record cache holds before it must emit (0: no cache, every
    /// update goes to the sink, as ksqlDB with `cache.max.bytes.buffering=0`, which its
    /// conformance tests use). With a cache, a key's updates between commits fold into one.
    /// The `cache.max.bytes.buffering` property (or its `ksql.streams.` form) set to 0
    /// turns it off for the queries started after.
    pub record_cache_keys: usize,
    /// Each persistent query runs on a thread of its own, woken by appends to its inputs
    /// (see `runner.rs`). Off, queries run only when the caller steps them
    /// ([`Engine::step_queries`], [`Engine::run_until_idle`]) in a deterministic order: the
    /// conformance runners turn it off, as ksqlDB's test harness is synchronous.
    pub background_queries: bool,
    /// `processing.guarantee` of persistent queries unless a `SET 'processing.guarantee'`
    /// (or its `ksql.streams.` form) says otherwise: exactly-once by default.
    pub processing_guarantee: ProcessingGuarantee,
    /// Scalar functions the embedding program adds to the built-in ones (Rust UDFs: Brook
    /// loads no user code by itself). A kernel that panics fails only the query that
    /// called it (see `runner.rs`).
    pub functions: Vec<Arc<FunctionDef>>,
}

/// Default size of an aggregation's record cache, in keys (ksqlDB's default cache is 10 MB;
/// an entry of a small aggregate is around 100 bytes).
pub const DEFAULT_RECORD_CACHE_KEYS: usize = 100_000;

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            create_missing_topics: false,
            processing_log_stream: true,
            persist_commands: true,
            conformance_test_functions: false,
            fsync_state: true,
            record_cache_keys: DEFAULT_RECORD_CACHE_KEYS,
            background_queries: true,
            processing_guarantee: ProcessingGuarantee::ExactlyOnceV2,
            functions: Vec::new(),
        }
    }
}

/// What a statement did, for the front ends to show.
#[derive(Debug)]
pub enum StatementResult {
    /// DDL, SET, TERMINATE...: a one-line confirmation.
    Message(String),
    /// A persistent query started.
    QueryStarted { query_id: String, message: String },
    /// INSERT VALUES.
    Inserted {
        topic: String,
        partition: u32,
        offset: u64,
    },
    /// SELECT rows.
    Rows(QueryRows),
    /// SHOW / LIST / DESCRIBE / EXPLAIN output, as typed values (see `results.rs`).
    Listing(Listing),
    /// A live push query (only when [`Engine::set_live_push`] is on): the front end polls
    /// it and shows rows as they come, until LIMIT or the user cancels.
    Push(Box<PushQuery>),
    /// PRINT: the front end polls it for lines.
    Print(Box<TopicPrinter>),
    /// Nothing to report (e.g. `CREATE ... IF NOT EXISTS` of an existing source).
    Nothing,
}

/// One data directory's streams, tables and queries.
pub struct Engine {
    dir: PathBuf,
    log: Arc<Log>,
    analyzer: Analyzer<MemoryCatalog>,
    registry: Arc<FunctionRegistry>,
    queries: BTreeMap<String, QueryHandle>,
    /// Rung by queries as they progress (for [`Engine::wait_until_idle`]).
    progress: Arc<ProgressSignal>,
    /// Failures of background queries not yet taken by [`Engine::take_query_errors`].
    query_errors: Arc<Mutex<Vec<QueryError>>>,
    schemas: ProvidedSchemas,
    /// The subjects and ids of the schemas registered, for ASSERT SCHEMA.
    schema_registry: super::assert_schema::Registry,
    /// Properties ALTER SYSTEM changed since the last [`Engine::replace_properties`]: they
    /// carry over into the properties a server puts back after a request.
    altered_system: BTreeMap<String, String>,
    variables: HashMap<String, String>,
    options: EngineOptions,
    /// Replaying the command topic: do not record again, do not redo side effects.
    replaying: bool,
    /// The query id a replayed command started.
    replay_query_id: Option<String>,
    /// Queries PAUSEd by a statement (and not RESUMEd since).
    paused: BTreeSet<String>,
    query_counter: u64,
    /// Operator state (RocksDB under `<data-dir>/@state`), opened by the first stateful query.
    state: Option<brook_state::StateStores>,
    /// `SELECT ... EMIT CHANGES` returns a live [`PushQuery`] instead of replaying the topic.
    live_push: bool,
    /// The shared readers of running queries' sinks that scalable push queries attach to,
    /// by source name (dropped with their last subscriber).
    shared_sinks: HashMap<String, std::sync::Weak<SharedSink>>,
    /// Opened read-only beside another process that writes the directory (see
    /// [`Engine::open_follower`]).
    follower: bool,
    /// The logical plan of each running query, as EXPLAIN shows it.
    plans: HashMap<String, String>,
    /// Commands of the command topic applied so far (a follower applies new ones on
    /// [`Engine::refresh`]).
    commands_applied: usize,
}

/// Where operator state lives inside the data directory ('@' cannot start a topic name).
pub const STATE_DIR: &str = "@state";

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("dir", &self.dir)
            .field("queries", &self.queries.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Engine {
    /// Opens (creating if needed) the data directory and restores its catalog and queries.
    pub fn open(dir: impl AsRef<Path>, options: EngineOptions) -> Result<Engine> {
        let dir = dir.as_ref().to_path_buf();
        let log = Arc::new(Log::open(&dir, LogOptions::default())?);
        Self::open_with_log(dir, log, options, false)
    }

    /// Opens a data directory that another process has open for writing, read-only: its
    /// catalog as recorded so far (and as it grows, on [`Engine::refresh`]), and queries
    /// that only read — push queries, pull queries answered from topics, PRINT, DESCRIBE.
    /// Its persistent queries keep running in the writing process; statements that would
    /// change anything fail with [`EngineError::ReadOnly`].
    pub fn open_follower(dir: impl AsRef<Path>) -> Result<Engine> {
        let dir = dir.as_ref().to_path_buf();
        let log = Arc::new(Log::open_read_only(&dir)?);
        Self::open_with_log(dir, log, EngineOptions::default(), true)
    }

    /// Whether this engine is a read-only follower.
    pub fn is_follower(&self) -> bool {
        self.follower
    }

    /// A follower: applies commands the writer recorded since the last look, and sees
    /// topics it created. Nothing for a writer.
    pub fn refresh(&mut self) -> Result<()> {
        if !self.follower {
            return Ok(());
        }
        self.log.refresh()?;
        self.replay()
    }

    fn open_with_log(
        dir: PathBuf,
        log: Arc<Log>,
        options: EngineOptions,
        follower: bool,
    ) -> Result<Engine> {
        let mut functions = if options.conformance_test_functions {
            EngineFunctions::with_conformance_test_functions()
        } else {
            EngineFunctions::new()
        };
        for def in &options.functions {
            functions.register(FunctionDef::clone(def));
        }
        let registry = Arc::new(functions.registry().clone());
        let mut engine = Engine {
            dir,
            log,
            analyzer: Analyzer::new(functions),
            registry,
            queries: BTreeMap::new(),
            progress: Arc::default(),
            query_errors: Arc::default(),
            schemas: HashMap::new(),
            schema_registry: Default::default(),
            altered_system: BTreeMap::new(),
            variables: HashMap::new(),
            options,
            replaying: false,
            replay_query_id: None,
            paused: BTreeSet::new(),
            query_counter: 0,
            state: None,
            live_push: false,
            shared_sinks: HashMap::new(),
            follower,
            plans: HashMap::new(),
            commands_applied: 0,
        };
        if engine.options.persist_commands {
            engine.replay()?;
        }
        if engine.options.processing_log_stream
            && engine
                .analyzer
                .catalog()
                .source(PROCESSING_LOG_STREAM)
                .is_none()
        {
            let saved = std::mem::replace(&mut engine.replaying, true);
            engine.execute(PROCESSING_LOG_DDL)?;
            engine.replaying = saved;
        }
        Ok(engine)
    }

    fn replay(&mut self) -> Result<()> {
        let cmds = commands::read_all(&self.log)?;
        self.replaying = true;
        let skip = self.commands_applied;
        self.commands_applied = cmds.len();
        for c in cmds.into_iter().skip(skip) {
            for (k, v) in &c.properties {
                self.analyzer.set_property(k, v);
            }
            self.replay_query_id = c.query_id.clone();
            // New queries never reuse a recorded id (its consumer offsets and state).
            if let Some(n) = c
                .query_id
                .as_deref()
                .and_then(|id| id.rsplit('_').next())
                .and_then(|n| n.parse::<u64>().ok())
            {
                self.query_counter = self.query_counter.max(n + 1);
            }
            if let Err(e) = self.execute(&c.sql) {
                self.replaying = false;
                return Err(EngineError::CommandTopic(format!(
                    "replaying `{}` failed: {e}",
                    c.sql
                )));
            }
        }
        self.replay_query_id = None;
        self.replaying = false;
        // Replayed queries were held until now, so that one a later PAUSE stopped reads
        // nothing in between.
        for (id, q) in self.queries.iter_mut() {
            q.set_paused(self.paused.contains(id))?;
        }
        Ok(())
    }

    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn catalog(&self) -> &MemoryCatalog {
        self.analyzer.catalog()
    }

    pub fn registry(&self) -> &Arc<FunctionRegistry> {
        &self.registry
    }

    pub fn properties(&self) -> &BTreeMap<String, String> {
        self.analyzer.properties()
    }

    /// The function registry with the session's `ksql.functions.*` properties, for building
    /// a query's functions.
    fn session_registry(&self) -> Arc<FunctionRegistry> {
        let props = self.analyzer.properties();
        if props.keys().any(|k| k.starts_with("ksql.functions.")) {
            Arc::new(self.registry.with_session_properties(props))
        } else {
            self.registry.clone()
        }
    }

    pub fn set_property(&mut self, name: &str, value: &str) {
        self.analyzer.set_property(name, value);
    }

    /// Replaces every session property; returns the ones it had (a server scopes a
    /// request's properties this way, and puts the old ones back after). What ALTER SYSTEM
    /// set meanwhile is kept: it is the server's, not the request's.
    pub fn replace_properties(
        &mut self,
        mut properties: BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        properties.append(&mut self.altered_system);
        std::mem::replace(self.analyzer.properties_mut(), properties)
    }

    /// The variables DEFINE set, substituted into later statements.
    pub fn variables(&self) -> &HashMap<String, String> {
        &self.variables
    }

    /// Replaces every variable; returns the ones it had (see `replace_properties`).
    pub fn replace_variables(
        &mut self,
        variables: HashMap<String, String>,
    ) -> HashMap<String, String> {
        std::mem::replace(&mut self.variables, variables)
    }

    /// Registers the schema a topic's keys or values were written with (a schema registry's
    /// role): statements may infer columns from it, and AVRO reads and writes use it.
    pub fn register_schema(
        &mut self,
        topic: &str,
        is_key: bool,
        schema: Option<RegisteredSchema>,
        avro: Option<serde_json::Value>,
    ) {
        if schema.is_some() || avro.is_some() {
            self.schema_registry.register(topic, is_key);
        }
        if let Some(s) = schema {
            self.analyzer
                .catalog_mut()
                .register_schema(topic, is_key, s);
        }
        if let Some(a) = avro {
            self.schemas.insert((topic.to_string(), is_key), a);
        }
    }

    /// The formats of a source, for reading or writing its topic directly.
    pub fn codec(&self, entry: &SourceEntry) -> Result<SourceCodec> {
        SourceCodec::new(entry, &self.schemas)
    }

    /// Makes push queries (`EMIT CHANGES`) live: [`StatementResult::Push`] instead of a
    /// replay of what their topics hold. Interactive front ends turn it on.
    /// The shared reader a push query over `plan` attaches to, when it is a scalable push
    /// query (`scalable_push::eligible`); None for an ordinary push query.
    fn shared_sink(
        &mut self,
        plan: &brook_sql::plan::LogicalPlan,
        pipeline: &pipeline::Pipeline,
        earliest: bool,
    ) -> Result<Option<Arc<SharedSink>>> {
        let enabled = self
            .analyzer
            .properties()
            .get(scalable_push::PUSH_V2_ENABLED)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let source = &pipeline.source.codec.entry;
        let writers = self
            .queries
            .values()
            .filter(|q| q.sink_name == source.name)
            .count();
        if pipeline.join.is_some() || !scalable_push::eligible(plan, enabled, earliest, writers) {
            return Ok(None);
        }
        self.shared_sinks.retain(|_, w| w.strong_count() > 0);
        let arrow = &pipeline.source.arrow;
        if let Some(sink) = self
            .shared_sinks
            .get(&source.name)
            .and_then(|w| w.upgrade())
        {
            if sink.fits(&source.topic, arrow) {
                return Ok(Some(sink));
            }
        }
        let sink = Arc::new(SharedSink::new(self.log.topic(&source.topic)?, arrow));
        self.shared_sinks
            .insert(source.name.clone(), Arc::downgrade(&sink));
        Ok(Some(sink))
    }

    /// The shared reader scalable push queries over `source` are attached to, if any.
    pub fn shared_sink_of(&self, source: &str) -> Option<Arc<SharedSink>> {
        self.shared_sinks.get(source).and_then(|w| w.upgrade())
    }

    pub fn set_live_push(&mut self, live: bool) {
        self.live_push = live;
    }

    /// Names of every function (scalar, aggregate, table), for completion.
    pub fn function_names(&self) -> Vec<String> {
        self.analyzer.functions().names()
    }

    /// A snapshot of every persistent query (running, or stopped on an error), by id.
    pub fn queries(&self) -> Vec<QueryInfo> {
        self.queries.values().map(QueryHandle::info).collect()
    }

    /// A snapshot of one persistent query (ids compare case-insensitively).
    pub fn query(&self, id: &str) -> Option<QueryInfo> {
        self.queries
            .values()
            .find(|q| q.id.eq_ignore_ascii_case(id))
            .map(QueryHandle::info)
    }

    /// Failures of background queries since the last call, oldest first (each query that
    /// fails stops with status ERROR and is reported once).
    pub fn take_query_errors(&self) -> Vec<QueryError> {
        std::mem::take(&mut *self.query_errors.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Runs every statement of `sql` in order; stops at the first that fails. Errors are
    /// rendered against `sql` (as `<input>:line:col`).
    pub fn execute(&mut self, sql: &str) -> Result<Vec<StatementResult>> {
        self.execute_named(sql, "<input>")
    }

    /// [`Engine::execute`], naming the script in error messages.
    pub fn execute_named(&mut self, sql: &str, name: &str) -> Result<Vec<StatementResult>> {
        let pieces = split_statements(sql).map_err(|e| EngineError::Parse(e.render(sql, name)))?;
        let mut out = Vec::new();
        for piece in &pieces {
            let st = parse_script_statement(piece, &mut self.variables)
                .map_err(|e| EngineError::Parse(e.render(sql, name)))?;
            let text = piece.text.to_string();
            out.push(self.execute_statement(&st, &text, sql, name)?);
        }
        Ok(out)
    }

    /// Parses every statement of `text` (nothing runs), each with its own text; the first
    /// error is rendered against `text` (as `name:line:col`).
    /// DEFINE and UNDEFINE substitute into the statements after them here, and take effect
    /// on the engine's variables when they run.
    pub fn parse_all(&mut self, text: &str, name: &str) -> Result<Vec<(Statement, String)>> {
        let pieces =
            split_statements(text).map_err(|e| EngineError::Parse(e.render(text, name)))?;
        let mut vars = self.variables.clone();
        pieces
            .iter()
            .map(|piece| {
                let st = parse_script_statement(piece, &mut vars)
                    .map_err(|e| EngineError::Parse(e.render(text, name)))?;
                Ok((st, piece.text.to_string()))
            })
            .collect()
    }

    /// Parses one statement of a script, substituting the engine's variables (DEFINE).
    pub fn parse_piece(
        &mut self,
        piece: &brook_sql::StatementText<'_>,
    ) -> std::result::Result<Statement, brook_sql::ParseError> {
        parse_script_statement(piece, &mut self.variables)
    }

    /// Runs one parsed statement; `text` is its SQL, recorded in the command topic;
    /// `script`/`name` render analysis errors.
    pub fn execute_statement(
        &mut self,
        st: &Statement,
        text: &str,
        script: &str,
        name: &str,
    ) -> Result<StatementResult> {
        match &st.kind {
            StatementKind::SetProperty { name, value } => {
                self.analyzer.set_property(name, value);
                return Ok(StatementResult::Message(format!(
                    "Successfully changed local property '{name}' to '{value}'."
                )));
            }
            StatementKind::UnsetProperty { name } => {
                self.analyzer.set_property(name, "");
                return Ok(StatementResult::Message(format!(
                    "Successfully unset local property '{name}'."
                )));
            }
            // Parsing already applied them for the statements after (they substitute into
            // them); applying them again here keeps the variables right when a front end
            // parses a whole input before running it (see `parse_all`).
            StatementKind::Define { name, value } => {
                self.variables.retain(|k, _| !k.eq_ignore_ascii_case(name));
                self.variables.insert(name.clone(), value.clone());
                return Ok(StatementResult::Nothing);
            }
            StatementKind::Undefine { name } => {
                self.variables.retain(|k, _| !k.eq_ignore_ascii_case(name));
                return Ok(StatementResult::Nothing);
            }
            StatementKind::Explain(ExplainTarget::QueryId(id)) => {
                return self.explain_query(&id.value)
            }
            StatementKind::Show(kind) => return self.show(kind),
            StatementKind::CreateConnector {
                name,
                if_not_exists,
                properties,
                ..
            } => return self.create_connector(&name.value, *if_not_exists, properties),
            StatementKind::DropConnector { name, if_exists } => {
                return self.drop_connector(&name.value, *if_exists)
            }
            StatementKind::DescribeConnector { name } => {
                return self.describe_connector(&name.value)
            }
            StatementKind::DescribeSource { name, extended } => {
                let d = self.describe_source(&name.value, *extended)?;
                return Ok(StatementResult::Listing(Listing::SourceDescriptions {
                    descriptions: vec![d],
                    many: false,
                }));
            }
            StatementKind::DescribeSources { kind, extended } => {
                let names: Vec<String> = self
                    .analyzer
                    .catalog()
                    .sources
                    .values()
                    .filter(|s| s.kind == *kind)
                    .map(|s| s.name.clone())
                    .collect();
                let descriptions = names
                    .iter()
                    .map(|n| self.describe_source(n, *extended))
                    .collect::<Result<Vec<_>>>()?;
                return Ok(StatementResult::Listing(Listing::SourceDescriptions {
                    descriptions,
                    many: true,
                }));
            }
            StatementKind::DescribeFunction { name } => {
                let kind = self.analyzer.functions().kind(&name.value);
                let kind_text = kind.map(|k| format!("{k:?}").to_uppercase());
                return match describe::function(&self.registry, &name.value, kind_text.as_deref()) {
                    Some(d) => Ok(StatementResult::Listing(Listing::FunctionDescription(d))),
                    None => Err(EngineError::Statement(format!(
                        "Can't find any functions with the name '{}'",
                        name.value
                    ))),
                };
            }
            StatementKind::Print(p) => {
                let name = &p.topic.name;
                let topic = if self.log.topic(name).is_ok() || p.topic.is_string {
                    name.clone()
                } else {
                    // An identifier names the topic as written, else in upper or lower case.
                    [name.to_uppercase(), name.to_lowercase()]
                        .into_iter()
                        .find(|n| self.log.topic(n).is_ok())
                        .unwrap_or_else(|| name.clone())
                };
                if self.log.topic(&topic).is_err() {
                    return Err(EngineError::Statement(format!(
                        "Could not find topic '{name}', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive."
                    )));
                }
                let printer =
                    TopicPrinter::new(&self.log, &topic, p.from_beginning, p.interval, p.limit)?;
                return Ok(StatementResult::Print(Box::new(printer)));
            }
            StatementKind::Terminate(target) => return self.terminate(target, text),
            StatementKind::Pause(target) => return self.pause_or_resume(target, true, text),
            StatementKind::Resume(target) => return self.pause_or_resume(target, false, text),
            StatementKind::AssertTopic {
                not_exists,
                topic,
                properties,
                timeout,
            } => {
                let timeout = timeout.map(|t| t.millis).unwrap_or_else(|| {
                    self.analyzer
                        .properties()
                        .get(super::assert_topic::DEFAULT_TIMEOUT_PROPERTY)
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(super::assert_topic::DEFAULT_TIMEOUT_MS)
                });
                let exists = !*not_exists;
                super::assert_topic::assert_topic(
                    &self.log,
                    topic,
                    properties,
                    exists,
                    std::time::Duration::from_millis(timeout),
                )
                .map_err(EngineError::AssertionFailed)?;
                return Ok(StatementResult::Listing(Listing::AssertTopic {
                    topic: topic.name.clone(),
                    exists,
                }));
            }
            StatementKind::AssertSchema {
                not_exists,
                subject,
                id,
                timeout,
            } => {
                let id = match id {
                    None => None,
                    Some(Literal::Integer(v)) => Some(i64::from(*v)),
                    Some(Literal::BigInt(v)) => Some(*v),
                    Some(other) => {
                        return Err(EngineError::Statement(format!(
                            "ASSERT SCHEMA: the schema ID must be an integer, not {other}"
                        )))
                    }
                };
                let timeout = timeout.map(|t| t.millis).unwrap_or_else(|| {
                    self.analyzer
                        .properties()
                        .get(super::assert_schema::DEFAULT_TIMEOUT_PROPERTY)
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(super::assert_schema::DEFAULT_TIMEOUT_MS)
                });
                let exists = !*not_exists;
                let subject = subject.as_ref().map(|s| s.name.clone());
                let registry = self.schema_registry.clone();
                super::assert_schema::assert_schema(
                    || registry.clone(),
                    subject.as_deref(),
                    id,
                    exists,
                    std::time::Duration::from_millis(timeout),
                )
                .map_err(EngineError::AssertionFailed)?;
                return Ok(StatementResult::Listing(Listing::AssertSchema {
                    subject,
                    id,
                    exists,
                }));
            }
            StatementKind::AlterSystem { name, value } => {
                super::properties::check_system_property(name).map_err(EngineError::Statement)?;
                self.analyzer.set_property(name, value);
                self.altered_system.insert(name.clone(), value.clone());
                self.record(text, None)?;
                return Ok(StatementResult::Message(format!(
                    "Successfully changed system property '{name}' to '{value}'."
                )));
            }
            StatementKind::RunScript { path } => {
                let script = std::fs::read_to_string(path).map_err(|e| {
                    EngineError::Statement(format!("cannot read script {path}: {e}"))
                })?;
                let results = self.execute_named(&script, path)?;
                return Ok(results
                    .into_iter()
                    .last()
                    .unwrap_or(StatementResult::Nothing));
            }
            _ => {}
        }
        if self.follower && !self.replaying && statement_writes(&st.kind) {
            return Err(EngineError::ReadOnly);
        }
        let snapshot = self.analyzer.catalog().clone();
        let analyzed = self
            .analyzer
            .analyze(st)
            .map_err(|e| EngineError::Analysis(e.render(script, name)))?;
        match self.apply(analyzed, text) {
            Ok(r) => Ok(r),
            Err(e) => {
                *self.analyzer.catalog_mut() = snapshot;
                Err(e)
            }
        }
    }

    fn record(&mut self, text: &str, query_id: Option<String>) -> Result<()> {
        if self.replaying || !self.options.persist_commands {
            return Ok(());
        }
        commands::append(
            &self.log,
            &Command {
                sql: text.to_string(),
                properties: self.analyzer.properties().clone(),
                query_id,
            },
        )
    }

    fn apply(&mut self, analyzed: AnalyzedStatement, text: &str) -> Result<StatementResult> {
        match analyzed {
            AnalyzedStatement::CreateSource { entry: None, .. } | AnalyzedStatement::Skipped => {
                Ok(StatementResult::Nothing)
            }
            AnalyzedStatement::CreateSource {
                entry: Some(entry),
                replaced,
            } => {
                // Refuse formats that cannot run before anything changes.
                SourceCodec::new(&entry, &self.schemas)?;
                self.ensure_source_topic(&entry)?;
                self.record(text, None)?;
                Ok(StatementResult::Message(format!(
                    "{} {}",
                    kind_word(entry.kind),
                    if replaced { "replaced" } else { "created" }
                )))
            }
            AnalyzedStatement::CreateAsSelect {
                entry,
                plan,
                replaced,
            } => {
                let prefix = match entry.kind {
                    SourceKind::Stream => "CSAS",
                    SourceKind::Table => "CTAS",
                };
                let existing = self
                    .queries
                    .values()
                    .find(|q| q.sink_name == entry.name)
                    .map(|q| q.id.clone());
                let id = match (&self.replay_query_id, replaced, existing) {
                    (Some(id), _, _) => id.clone(),
                    (None, true, Some(old)) => old,
                    _ => self.next_query_id(&format!("{prefix}_{}", entry.name)),
                };
                self.start_query(id, &plan, text)
            }
            AnalyzedStatement::InsertInto { target: _, plan } => {
                let id = match &self.replay_query_id {
                    Some(id) => id.clone(),
                    None => self.next_query_id("INSERTQUERY"),
                };
                self.start_query(id, &plan, text)
            }
            AnalyzedStatement::InsertValues { target, values } => {
                if target.read_only {
                    return Err(EngineError::Statement(format!(
                        "Cannot insert into read-only source: {}",
                        target.name
                    )));
                }
                let topic = self.log.topic(&target.topic)?;
                let (partition, offset) = insert_values(
                    &self.log,
                    &topic,
                    &target,
                    &values,
                    &self.registry,
                    &self.schemas,
                )?;
                Ok(StatementResult::Inserted {
                    topic: target.topic.clone(),
                    partition,
                    offset,
                })
            }
            AnalyzedStatement::Query { plan, pull } => {
                let p = pipeline::build(&plan, &self.session_registry(), &self.schemas)?;
                let earliest = self
                    .analyzer
                    .properties()
                    .get("auto.offset.reset")
                    .is_some_and(|v| v.eq_ignore_ascii_case("earliest"));
                if !pull && self.live_push {
                    if let Some(sink) = self.shared_sink(&plan, &p, earliest)? {
                        let q = PushQuery::attached(p, &sink)?;
                        return Ok(StatementResult::Push(Box::new(q)));
                    }
                    let q = PushQuery::new(&self.log, p, earliest)?;
                    return Ok(StatementResult::Push(Box::new(q)));
                }
                if pull && p.source.codec.entry.is_table() && p.join.is_none() {
                    pull::check(&plan, &p.source.codec.entry, self.analyzer.properties())?;
                }
                // A pull query over a CTAS table answers from its materialization.
                let materialized = self
                    .queries
                    .values()
                    .find(|q| q.sink_name == p.source.codec.entry.name)
                    .and_then(|q| q.materialized.as_ref())
                    .filter(|_| pull && p.join.is_none());
                let rows = match materialized {
                    Some(m) => pull::run(m, p, &plan, &self.registry)?,
                    None => transient::run(&self.log, p, pull, earliest)?,
                };
                Ok(StatementResult::Rows(rows))
            }
            AnalyzedStatement::DropSource { entry: None, .. } => Ok(StatementResult::Nothing),
            AnalyzedStatement::DropSource {
                entry: Some(entry),
                delete_topic,
            } => {
                let writers: Vec<String> = self
                    .queries
                    .values()
                    .filter(|q| q.sink_name == entry.name)
                    .map(|q| q.id.clone())
                    .collect();
                let readers: Vec<String> = self
                    .queries
                    .values()
                    .filter(|q| q.source_names.first() == Some(&entry.name))
                    .map(|q| q.id.clone())
                    .collect();
                if !readers.is_empty() || (!writers.is_empty() && !self.replaying) {
                    // ksqlDB drops a source together with the one query that created it.
                    let only_creator = readers.is_empty() && writers.len() == 1;
                    if !only_creator {
                        return Err(EngineError::Statement(format!(
                            "Cannot drop {}.\nThe following queries read from this source: [{}].\nThe following queries write into this source: [{}].\nYou need to terminate them before dropping {}.",
                            entry.name,
                            readers.join(", "),
                            writers.join(", "),
                            entry.name
                        )));
                    }
                }
                let mut state_left = Vec::new();
                for w in writers {
                    // It stops (committing) and lets go of its stores.
                    if let Some(mut q) = self.queries.remove(&w) {
                        q.join()?;
                    }
                    self.plans.remove(&w);
                    // Its state (the table's rows included) goes with it.
                    if let Err(e) = self.drop_query_state(&w) {
                        state_left.push(format!("{w}: {e}"));
                    }
                }
                if delete_topic && !self.replaying {
                    let _ = self.log.delete_topic(&entry.topic);
                }
                self.record(text, None)?;
                Ok(StatementResult::Message(format!(
                    "Source `{}` (topic: {}) was dropped.{}",
                    entry.name,
                    entry.topic,
                    state_not_removed(&state_left)
                )))
            }
            AnalyzedStatement::AlterSource { entry } => {
                self.record(text, None)?;
                Ok(StatementResult::Message(format!(
                    "{} {} altered.",
                    kind_word(entry.kind),
                    entry.name
                )))
            }
            AnalyzedStatement::CreateType { name, ty } => {
                self.record(text, None)?;
                Ok(StatementResult::Message(format!(
                    "Registered custom type {name} as {ty}"
                )))
            }
            AnalyzedStatement::DropType { name } => {
                self.record(text, None)?;
                Ok(StatementResult::Message(format!("Dropped type '{name}'")))
            }
            AnalyzedStatement::Explain(inner) => Ok(StatementResult::Listing(Listing::Plan {
                statement: text.to_string(),
                plan: inner.plan().map(|p| p.to_string()),
            })),
            AnalyzedStatement::Other(st) => Err(EngineError::NotSupportedYet(unsupported(&st))),
        }
    }

    fn next_query_id(&mut self, prefix: &str) -> String {
        loop {
            let id = format!("{prefix}_{}", self.query_counter);
            self.query_counter += 1;
            if !self.queries.contains_key(&id) {
                return id;
            }
        }
    }

    fn ensure_source_topic(&self, entry: &SourceEntry) -> Result<()> {
        // A follower cannot create topics; the writer creates them.
        if self.log.topic(&entry.topic).is_ok() || self.follower {
            return Ok(());
        }
        let partitions = match (entry.partitions, self.options.create_missing_topics) {
            (Some(p), _) => p,
            (None, true) => 1,
            (None, false) => {
                return Err(EngineError::Statement(format!(
                    "Topic '{}' does not exist. If you want to create a new topic for the {} please re-run the statement providing the required 'PARTITIONS' configuration in the WITH clause (and optionally 'REPLICAS'). For example: CREATE {} {} (ID INT) WITH (KAFKA_TOPIC='{}', PARTITIONS=2, REPLICAS=1, FORMAT='JSON');",
                    entry.topic,
                    kind_word(entry.kind).to_lowercase(),
                    kind_word(entry.kind).to_uppercase(),
                    entry.name,
                    entry.topic
                )))
            }
        };
        self.log
            .topic_or_create(&entry.topic, TopicConfig::new(partitions))?;
        Ok(())
    }

    fn start_query(
        &mut self,
        id: String,
        plan: &brook_sql::plan::LogicalPlan,
        text: &str,
    ) -> Result<StatementResult> {
        if self.follower {
            // The writer runs it; a follower only knows the sink it creates.
            return Ok(StatementResult::QueryStarted {
                message: format!("Query {id} runs in the process writing this directory"),
                query_id: id,
            });
        }
        let p = pipeline::build(plan, &self.session_registry(), &self.schemas)?;
        let sink = p
            .sink
            .clone()
            .expect("a persistent query's plan ends in a sink");
        let source_topic = self.log.topic(&p.source.codec.entry.topic)?;
        let partitions = sink
            .partitions
            .unwrap_or_else(|| source_topic.partition_count());
        let sink_topic = self
            .log
            .topic_or_create(&sink.topic, TopicConfig::new(partitions))?;
        // Stateful operators and the materialization of a CTAS table live in the state store.
        let stateful = has_state(plan) || sink.is_table();
        if stateful {
            self.state_stores()?;
        }
        let guarantee = match PROCESSING_GUARANTEE_PROPERTIES
            .iter()
            .find_map(|k| self.analyzer.properties().get(*k))
        {
            Some(v) => ProcessingGuarantee::parse(v).map_err(EngineError::Statement)?,
            None => self.options.processing_guarantee,
        };
        // CREATE OR REPLACE keeps the query id: the query it replaces stops (committing)
        // and lets go of its state stores first, so the new one opens (and continues) them.
        self.queries.remove(&id);
        let properties = self.analyzer.properties();
        let caching_off = [
            "cache.max.bytes.buffering",
            "ksql.streams.cache.max.bytes.buffering",
        ]
        .iter()
        .any(|p| properties.get(*p).is_some_and(|v| v.trim() == "0"));
        let interval = commit_interval(properties);
        // In the background, a query spreads its source partitions over threads:
        // - a query whose state is partitioned as its source is (GROUP BY the source's key,
        //   or a table's materialization alone) runs one task per source partition, each
        //   on its own thread with its own state stores, materialization and transaction,
        //   committing on its own (Kafka Streams' tasks, one stream thread each);
        // - a query without state spreads its partitions over workers, up to the cores.
        // Everything else (joins, aggregations that would need a repartition) runs on one
        // thread, as do foreground queries.
        let source_count = source_topic.partition_count();
        let tasks = self.options.background_queries
            && stateful
            && source_count > 1
            && partition_local(plan)
            && !has_single_task_state(&self.log, &id);
        let mut workers = Vec::new();
        if tasks {
            for t in 0..source_count {
                let mut q = PersistentQuery::new_task(
                    id.clone(),
                    text.to_string(),
                    pipeline::build(plan, &self.session_registry(), &self.schemas)?,
                    self.log.clone(),
                    sink_topic.clone(),
                    &self.schemas,
                    self.state.as_ref(),
                    guarantee,
                    Some(t),
                )?;
                if !caching_off {
                    // The cache budget is shared by the tasks, as Kafka Streams shares
                    // cache.max.bytes.buffering among its threads.
                    let per_task = self.options.record_cache_keys / source_count as usize;
                    q.enable_record_cache(per_task.max(1));
                }
                q.commit_interval = interval;
                workers.push(q);
            }
        } else {
            let mut query = PersistentQuery::new(
                id.clone(),
                text.to_string(),
                p,
                self.log.clone(),
                sink_topic,
                &self.schemas,
                if stateful { self.state.as_ref() } else { None },
                guarantee,
            )?;
            if !caching_off {
                query.enable_record_cache(self.options.record_cache_keys);
            }
            query.commit_interval = interval;
            let partitions = query.source_partitions();
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let n = if !self.options.background_queries || stateful || !splittable(plan) {
                1
            } else {
                partitions.len().min(cores).max(1)
            };
            workers.push(query);
            for w in 1..n {
                let mut q = PersistentQuery::new(
                    id.clone(),
                    text.to_string(),
                    pipeline::build(plan, &self.session_registry(), &self.schemas)?,
                    self.log.clone(),
                    self.log.topic(&sink.topic)?,
                    &self.schemas,
                    None,
                    guarantee,
                )?;
                q.commit_interval = interval;
                let mine: Vec<u32> = partitions.iter().copied().skip(w).step_by(n).collect();
                q.restrict_to(&mine);
                workers.push(q);
            }
            if n > 1 {
                let first: Vec<u32> = partitions.iter().copied().step_by(n).collect();
                workers[0].restrict_to(&first);
            }
        }
        self.record(text, Some(id.clone()))?;
        let handle = if self.options.background_queries {
            let held = self.replaying;
            QueryHandle::spawn(
                workers,
                held,
                self.progress.clone(),
                self.query_errors.clone(),
            )
            .map_err(|cause| EngineError::QueryThread {
                query: id.clone(),
                cause,
            })?
        } else {
            let query = workers.pop().expect("one worker in the foreground");
            QueryHandle::inline(query, self.progress.clone())
        };
        self.plans.insert(id.clone(), plan.to_string());
        self.queries.insert(id.clone(), handle);
        Ok(StatementResult::QueryStarted {
            message: format!("Created query with ID {id}"),
            query_id: id,
        })
    }

    /// The running queries a TERMINATE / PAUSE / RESUME names: one by id (any case), or all.
    fn target_ids(&self, target: &QueryTarget) -> Result<Vec<String>> {
        match target {
            QueryTarget::All => Ok(self.queries.keys().cloned().collect()),
            QueryTarget::Query(id) => {
                let wanted = id.value.to_uppercase();
                match self.queries.keys().find(|k| k.to_uppercase() == wanted) {
                    Some(k) => Ok(vec![k.clone()]),
                    None => Err(EngineError::Statement(format!(
                        "Unknown queryId: {}",
                        id.value
                    ))),
                }
            }
        }
    }

    /// PAUSE (`pause`) or RESUME the queries `target` names: a paused query commits, keeps
    /// its state and reads nothing until resumed (also after a restart: the statement is
    /// recorded with the others).
    fn pause_or_resume(
        &mut self,
        target: &QueryTarget,
        pause: bool,
        text: &str,
    ) -> Result<StatementResult> {
        let ids = self.target_ids(target)?;
        for id in &ids {
            if pause {
                self.paused.insert(id.clone());
            } else {
                self.paused.remove(id);
            }
            // While replaying, every query is held until the replay ends (see `replay`).
            if !self.replaying {
                if let Some(q) = self.queries.get_mut(id) {
                    q.set_paused(pause)?;
                }
            }
        }
        self.record(text, None)?;
        Ok(StatementResult::Message(
            if pause {
                "Query paused."
            } else {
                "Query resumed."
            }
            .to_string(),
        ))
    }

    fn terminate(&mut self, target: &QueryTarget, text: &str) -> Result<StatementResult> {
        let ids = self.target_ids(target)?;
        // Each stops after its current batch and commits; stop them all before waiting.
        for id in &ids {
            if let Some(q) = self.queries.get(id) {
                q.request_stop();
            }
        }
        let mut state_left = Vec::new();
        for id in &ids {
            if let Some(mut q) = self.queries.remove(id) {
                q.join()?;
            }
            self.paused.remove(id);
            self.plans.remove(id);
            // A terminated query never starts again: its stores and changelogs go.
            if let Err(e) = self.drop_query_state(id) {
                state_left.push(format!("{id}: {e}"));
            }
        }
        self.record(text, None)?;
        Ok(StatementResult::Message(format!(
            "Query terminated: {}{}",
            ids.join(", "),
            state_not_removed(&state_left)
        )))
    }

    /// The operator state of this data directory, opened on first use.
    fn state_stores(&mut self) -> Result<&brook_state::StateStores> {
        if self.state.is_none() {
            let mut options = brook_state::StateOptions::default();
            if !self.options.fsync_state {
                options.changelog_config.flush_messages = None;
            }
            self.state = Some(brook_state::StateStores::open_with(
                &self.dir.join(STATE_DIR),
                self.log.clone(),
                options,
            )?);
        }
        Ok(self.state.as_ref().expect("opened above"))
    }

    /// Removes every state store of the stopped query `id` (its aggregations', joins' and
    /// table materialization's; all are named `<query id>-...`) with its changelog topic,
    /// so that a terminated or dropped query leaves nothing behind.
    fn drop_query_state(&mut self, id: &str) -> Result<()> {
        // No stateful query ran in this process and the directory has no state: nothing
        // to remove.
        if self.follower
            || (self.state.is_none() && !self.dir.join(STATE_DIR).join("CURRENT").exists())
        {
            return Ok(());
        }
        let state = self.state_stores()?;
        let prefix = format!("{id}-");
        for store in state.stores()? {
            if store.name.starts_with(&prefix) {
                state.drop_store(&store.name, true)?;
            }
        }
        Ok(())
    }

    /// SHOW FUNCTIONS: every scalar function (with its aliases), aggregate and table function,
    /// sorted by name, with ksqlDB's type and category names.
    fn function_summaries(&self) -> Vec<FunctionSummary> {
        use crate::catalog::{aggregate_names, TABLE_FUNCTIONS};
        use crate::functions::Category;
        let scalars = self.registry.list().into_iter().map(|(name, category)| {
            let kind = match category {
                Category::Aggregate => "AGGREGATE",
                Category::Table => "TABLE",
                _ => "SCALAR",
            };
            (name, kind, category)
        });
        let aggregates =
            aggregate_names().map(|n| (n.to_string(), "AGGREGATE", Category::Aggregate));
        let tables = TABLE_FUNCTIONS
            .iter()
            .map(|n| (n.to_string(), "TABLE", Category::Table));
        let mut all: Vec<FunctionSummary> = scalars
            .chain(aggregates)
            .chain(tables)
            .map(|(name, kind, category)| FunctionSummary {
                name,
                kind: kind.to_string(),
                category: category.as_str().to_string(),
            })
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all.dedup_by(|a, b| a.name == b.name);
        all
    }

    fn show(&self, kind: &ShowKind) -> Result<StatementResult> {
        let cat = self.analyzer.catalog();
        let listing = match kind {
            ShowKind::Streams { .. } | ShowKind::Tables { .. } => {
                let want = if matches!(kind, ShowKind::Streams { .. }) {
                    SourceKind::Stream
                } else {
                    SourceKind::Table
                };
                let sources = cat
                    .sources
                    .values()
                    .filter(|s| s.kind == want)
                    .map(|s| SourceSummary {
                        name: s.name.clone(),
                        kind: s.kind,
                        topic: s.topic.clone(),
                        key_format: s.key_format.name.clone(),
                        value_format: s.value_format.name.clone(),
                        window: s.window.as_ref().map(|w| w.kind.to_string()),
                    })
                    .collect();
                Listing::Sources {
                    kind: want,
                    sources,
                }
            }
            ShowKind::Topics { all, .. } => {
                let names = if *all {
                    self.log.all_topics()
                } else {
                    self.log.topics()
                };
                Listing::Topics(
                    names
                        .into_iter()
                        .filter(|n| *all || !n.starts_with('_'))
                        .map(|n| TopicSummary {
                            partitions: self
                                .log
                                .topic(&n)
                                .map(|t| t.partition_count())
                                .unwrap_or(0),
                            name: n,
                            replication: 1,
                        })
                        .collect(),
                )
            }
            ShowKind::Queries { .. } => Listing::Queries(
                self.queries()
                    .into_iter()
                    .map(|q| QuerySummary {
                        kind: "PERSISTENT".into(),
                        state: q.status.word().into(),
                        sink: q.sink_name.clone(),
                        sink_topic: q.sink_topic.clone(),
                        sql: q.sql.clone(),
                        id: q.id,
                    })
                    .collect(),
            ),
            ShowKind::Properties => Listing::Properties(super::properties::listing(
                self.analyzer.properties(),
                self.options.processing_guarantee,
            )),
            ShowKind::Types => Listing::Types(
                cat.types
                    .iter()
                    .map(|(k, v)| TypeSummary {
                        name: k.clone(),
                        ty: v.clone(),
                    })
                    .collect(),
            ),
            ShowKind::Variables => {
                let mut vars: Vec<Variable> = self
                    .variables
                    .iter()
                    .map(|(k, v)| Variable {
                        name: k.clone(),
                        value: v.clone(),
                    })
                    .collect();
                vars.sort_by(|a, b| (&a.name, &a.value).cmp(&(&b.name, &b.value)));
                Listing::Variables(vars)
            }
            ShowKind::Functions => Listing::Functions(self.function_summaries()),
            ShowKind::Connectors(kind) => {
                let client = self.connect_client()?;
                let want = kind.map(|k| match k {
                    ConnectorKind::Source => "SOURCE",
                    ConnectorKind::Sink => "SINK",
                });
                let connectors = client
                    .list()?
                    .into_iter()
                    .filter(|c| want.is_none_or(|w| c.kind == w))
                    .collect();
                Listing::Connectors {
                    url: client.url().to_string(),
                    connectors,
                }
            }
            ShowKind::ConnectorPlugins => {
                return Err(EngineError::NotSupportedYet(
                    "SHOW CONNECTOR PLUGINS".into(),
                ))
            }
        };
        Ok(StatementResult::Listing(listing))
    }

    /// The Kafka Connect client for `ksql.connect.url` (the session's, else the server's,
    /// else ksqlDB's default).
    fn connect_client(&self) -> Result<ConnectClient> {
        let url = self
            .analyzer
            .properties()
            .get("ksql.connect.url")
            .filter(|v| !v.is_empty())
            .map(String::as_str)
            .unwrap_or(DEFAULT_CONNECT_URL);
        Ok(ConnectClient::new(url)?)
    }

    /// `CREATE SOURCE|SINK CONNECTOR`: POST /connectors with the WITH properties as config.
    fn create_connector(
        &self,
        name: &str,
        if_not_exists: bool,
        properties: &brook_sql::ast::Properties,
    ) -> Result<StatementResult> {
        let config: Vec<(String, String)> = properties
            .entries
            .iter()
            .map(|p| (p.name.clone(), property_text(&p.value)))
            .collect();
        if !config.iter().any(|(k, _)| k == "connector.class") {
            return Err(EngineError::Statement(
                "Connector config does not contain a connector.class field.".into(),
            ));
        }
        let client = self.connect_client()?;
        if client.create(name, &config)? {
            Ok(StatementResult::Message(format!(
                "Created connector {name}"
            )))
        } else if if_not_exists {
            Ok(StatementResult::Message(format!(
                "Connector {name} already exists"
            )))
        } else {
            Err(EngineError::Statement(format!(
                "Failed to create connector: Connector {name} already exists"
            )))
        }
    }

    /// `DROP CONNECTOR`: DELETE /connectors/name.
    fn drop_connector(&self, name: &str, if_exists: bool) -> Result<StatementResult> {
        let client = self.connect_client()?;
        if client.delete(name)? {
            Ok(StatementResult::Message(format!(
                "Dropped connector \"{name}\""
            )))
        } else if if_exists {
            Ok(StatementResult::Message(format!(
                "Connector {name} does not exist."
            )))
        } else {
            Err(EngineError::Statement(format!(
                "Connector {name} does not exist."
            )))
        }
    }

    /// `DESCRIBE CONNECTOR`: GET /connectors/name/status and /connectors/name.
    fn describe_connector(&self, name: &str) -> Result<StatementResult> {
        let client = self.connect_client()?;
        match client.describe(name)? {
            Some(d) => Ok(StatementResult::Listing(Listing::ConnectorDescription(d))),
            None => Err(EngineError::Statement(format!(
                "Failed to describe connector: Connector {name} not found"
            ))),
        }
    }

    /// `EXPLAIN <query id>`: the query's statement, status, counts and plan.
    fn explain_query(&self, id: &str) -> Result<StatementResult> {
        let q = self
            .query(id)
            .ok_or_else(|| EngineError::Statement(format!("Query with id:{id} does not exist")))?;
        Ok(StatementResult::Listing(Listing::QueryDescription(
            QueryDescription {
                id: q.id.clone(),
                sql: q.sql.trim().to_string(),
                kind: "PERSISTENT".into(),
                state: q.status.word().into(),
                error: match &q.status {
                    super::runner::QueryStatus::Error(message) => Some(message.clone()),
                    super::runner::QueryStatus::Running | super::runner::QueryStatus::Paused => {
                        None
                    }
                },
                sources: q.source_names().iter().map(|s| s.to_string()).collect(),
                sink: q.sink_name.clone(),
                sink_topic: q.sink_topic.clone(),
                processed: q.processed,
                failed: q.failed,
                plan: self.plans.get(&q.id).cloned(),
            },
        )))
    }

    fn describe_source(&self, name: &str, extended: bool) -> Result<SourceDescription> {
        let cat = self.analyzer.catalog();
        let entry = cat
            .sources
            .values()
            .find(|s| s.name == name || s.name == name.to_uppercase())
            .ok_or_else(|| {
                EngineError::Statement(format!(
                    "Could not find STREAM/TABLE '{name}' in the Metastore"
                ))
            })?;
        let infos = self.queries();
        let queries: Vec<&QueryInfo> = infos.iter().collect();
        let statement = infos
            .iter()
            .find(|q| q.sink_name == entry.name)
            .map(|q| q.sql.as_str());
        Ok(describe::source(
            entry, extended, &self.log, &queries, statement,
        ))
    }

    /// Runs one round of every persistent query (one micro-batch per partition each);
    /// commits them all when none had anything to read. Returns the records read. Only
    /// queries run in the foreground (`background_queries` off) are stepped: background
    /// ones run themselves, and this returns 0 for them.
    pub fn step_queries(&mut self) -> Result<u64> {
        let mut progressed = 0u64;
        for q in self.queries.values_mut() {
            progressed += q.step()? as u64;
        }
        if progressed == 0 {
            for q in self.queries.values_mut() {
                q.commit()?;
            }
        }
        Ok(progressed)
    }

    /// Lets every persistent query process all its input and commit. Foreground queries
    /// are stepped here until none has anything left to read; with background queries it
    /// waits for them (without a time limit: see [`Engine::wait_until_idle`]). Returns the
    /// number of records read meanwhile.
    pub fn run_until_idle(&mut self) -> Result<u64> {
        if self.options.background_queries {
            let before = self.processed_total();
            self.idle_waiter().wait(Duration::MAX);
            return Ok(self.processed_total().saturating_sub(before));
        }
        let mut total = 0u64;
        loop {
            let mut progressed = 0usize;
            for q in self.queries.values_mut() {
                progressed += q.step()?;
            }
            if progressed == 0 {
                for q in self.queries.values_mut() {
                    q.commit()?;
                }
                return Ok(total);
            }
            total += progressed as u64;
        }
    }

    fn processed_total(&self) -> u64 {
        self.queries.values().map(|q| q.info().processed).sum()
    }

    /// Waits until every running query has caught up with its inputs (including queries
    /// that read other queries' sinks) and committed; true if so, false if `timeout` passed
    /// first. Queries stopped on an error count as caught up. Foreground queries are run
    /// here instead (see [`Engine::run_until_idle`]).
    pub fn wait_until_idle(&mut self, timeout: Duration) -> Result<bool> {
        if !self.options.background_queries {
            self.run_until_idle()?;
            return Ok(true);
        }
        Ok(self.idle_waiter().wait(timeout))
    }

    /// [`Engine::wait_until_idle`] for a front end that shares the engine behind a lock:
    /// take the waiter under the lock, release it, then wait. It watches the background
    /// queries running now.
    pub fn idle_waiter(&self) -> IdleWaiter {
        IdleWaiter {
            queries: self
                .queries
                .values()
                .filter_map(QueryHandle::watch)
                .collect(),
            signal: self.progress.clone(),
        }
    }

    /// Stops every persistent query: each finishes its current batch and commits, then its
    /// thread ends (all stop at once; a batch takes well under a second). The engine keeps
    /// its catalog; the queries start again when the data directory is next opened.
    pub fn shutdown(&mut self) -> Result<()> {
        for q in self.queries.values() {
            q.request_stop();
        }
        let mut first_error = None;
        for (_, mut q) in std::mem::take(&mut self.queries) {
            if let Err(e) = q.join() {
                first_error.get_or_insert(e);
            }
        }
        self.plans.clear();
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Threads must not outlive the engine's state stores and log.
        let _ = self.shutdown();
    }
}

/// What a DROP or TERMINATE adds to its message when a query's state could not be removed.
fn state_not_removed(failures: &[String]) -> String {
    if failures.is_empty() {
        String::new()
    } else {
        format!(
            " The state of the query could not be removed (it is removed when dropped again): {}",
            failures.join("; ")
        )
    }
}

/// `commit.interval.ms` (or its `ksql.streams.` form) as set, else the default.
fn commit_interval(properties: &BTreeMap<String, String>) -> Duration {
    ["commit.interval.ms", "ksql.streams.commit.interval.ms"]
        .iter()
        .find_map(|k| properties.get(*k))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_COMMIT_INTERVAL)
}

/// Whether a statement changes the data directory (a follower refuses those; front ends
/// send them to the process that writes it).
pub fn statement_writes(kind: &StatementKind) -> bool {
    !matches!(
        kind,
        StatementKind::Query(_)
            | StatementKind::Explain(_)
            | StatementKind::Show(_)
            | StatementKind::DescribeSource { .. }
            | StatementKind::DescribeSources { .. }
            | StatementKind::DescribeFunction { .. }
            | StatementKind::Print(_)
            | StatementKind::SetProperty { .. }
            | StatementKind::UnsetProperty { .. }
            | StatementKind::Define { .. }
            | StatementKind::Undefine { .. }
    )
}

/// Whether a stateless query's source partitions can be processed by independent workers:
/// no join (which pairs records across partitions and topics) and no LIMIT (a count over
/// all of them).
fn splittable(plan: &brook_sql::plan::LogicalPlan) -> bool {
    !matches!(
        plan.node,
        brook_sql::plan::Node::Join { .. } | brook_sql::plan::Node::Limit { .. }
    ) && plan.inputs().into_iter().all(splittable)
}

/// Whether a query's state is partitioned as its source is, so that each source partition
/// can run as a task of its own: it can be split (no join, no LIMIT), nothing re-keys the
/// rows (no PARTITION BY) and every aggregation groups by its input's key (no repartition
/// needed). Like ksqlDB, this takes a source topic to be partitioned by its key.
fn partition_local(plan: &brook_sql::plan::LogicalPlan) -> bool {
    use brook_sql::plan::Node;
    fn local(plan: &brook_sql::plan::LogicalPlan) -> bool {
        !matches!(
            plan.node,
            Node::Repartition { .. }
                | Node::Aggregate {
                    repartition: true,
                    ..
                }
        ) && plan.inputs().into_iter().all(local)
    }
    splittable(plan) && local(plan)
}

/// Whether the data directory already holds state of query `id` run as one task over all
/// its partitions (a data directory from before queries ran as one task per partition): its
/// changelogs are `_brook-<id>-<store>-changelog`, a task's `_brook-<id>-partitions-<p>-...`.
/// Such a query keeps running as one task, so that it continues from its state instead of
/// starting empty at the committed offsets.
fn has_single_task_state(log: &brook_log::Log, id: &str) -> bool {
    let prefix = format!("_brook-{id}-");
    log.topics().iter().any(|t| {
        t.strip_prefix(&prefix)
            .is_some_and(|rest| !rest.starts_with("partitions-") && rest.ends_with("-changelog"))
    })
}

/// Whether a plan keeps operator state (aggregations).
fn has_state(plan: &brook_sql::plan::LogicalPlan) -> bool {
    matches!(
        plan.node,
        brook_sql::plan::Node::Aggregate { .. } | brook_sql::plan::Node::Join { .. }
    ) || plan.inputs().into_iter().any(has_state)
}

fn kind_word(k: SourceKind) -> &'static str {
    match k {
        SourceKind::Stream => "Stream",
        SourceKind::Table => "Table",
    }
}

/// A WITH property's value as Kafka Connect's configuration takes it: a string.
fn property_text(v: &brook_sql::ast::Literal) -> String {
    use brook_sql::ast::Literal;
    match v {
        Literal::String(s) | Literal::Decimal(s) => s.clone(),
        Literal::Null => "null".into(),
        Literal::Boolean(b) => b.to_string(),
        Literal::Integer(i) => i.to_string(),
        Literal::BigInt(i) => i.to_string(),
        Literal::Double(d) => d.to_string(),
    }
}

/// What a statement Brook does not run says, naming the statement as SQL writes it.
fn unsupported(st: &Statement) -> String {
    let debug = format!("{:?}", st.kind);
    let word = debug.split(['(', ' ', '{']).next().unwrap_or("statement");
    format!("{word} in this front end")
}
