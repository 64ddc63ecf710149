//! runner.rs owns how persistent queries run: a [`QueryHandle`] per query, which the engine
//! keeps, over either
//! - a thread of its own (the default, [`super::EngineOptions::background_queries`]): the
//!   thread owns the [`PersistentQuery`], steps it while its inputs have records, commits it
//!   every `commit.interval.ms` and when asked to (a waiter of
//!   [`super::Engine::wait_until_idle`], TERMINATE, DROP, shutdown), and between batches
//!   sleeps until the log notifies an append to one of its input partitions — no polling. A
//!   query that fails stops with status ERROR and its message; the others go on. Stopping
//!   lets the current batch finish, commits, and joins the thread. A query may run as
//!   several workers, each a thread over its own source partitions that steps and commits
//!   on its own (see the engine's `start_query`: one per partition for a query whose state
//!   is partitioned as its source, up to the cores for one without state); they stop
//!   together.
//! - or the caller's thread (the conformance runners): [`super::Engine::step_queries`] steps
//!   the query in a deterministic order, as ksqlDB's test harness does.
//!
//! PAUSE stops a query between batches (it commits first and keeps its state); RESUME lets
//! it go on from where it stopped.
//!
//! Either way the query publishes its [`Progress`] (status, counts, positions) after each
//! step, which listings ([`QueryInfo`]) and waiters ([`IdleWaiter`]) read without touching
//! the query itself, so none of them needs the engine's lock to run.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use brook_log::Partition;

use super::error::Result;
use super::materialized::Materialization;
use super::metrics::QueryCounters;
use super::query::PersistentQuery;

/// Longest an idle query thread sleeps without a notification (a safety net only: appends
/// and stop requests wake it at once).
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// Whether a query runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryStatus {
    Running,
    /// PAUSEd: it keeps its state and position, and reads nothing until RESUMEd.
    Paused,
    /// It failed and stopped; the error's message.
    Error(String),
}

impl QueryStatus {
    /// `RUNNING` or `ERROR`, as ksqlDB's query listings say it.
    pub fn word(&self) -> &'static str {
        match self {
            QueryStatus::Running => "RUNNING",
            QueryStatus::Paused => "PAUSED",
            QueryStatus::Error(_) => "ERROR",
        }
    }
}

/// Where a query is in one partition it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: u32,
    /// The next offset the query reads.
    pub position: u64,
    /// The partition's end offset when the snapshot was taken.
    pub end_offset: u64,
}

impl PartitionLag {
    /// Records the query has yet to read.
    pub fn lag(&self) -> u64 {
        self.end_offset.saturating_sub(self.position)
    }
}

/// A snapshot of one persistent query, for listings (SHOW QUERIES, EXPLAIN, DESCRIBE
/// EXTENDED, metrics).
#[derive(Debug, Clone)]
pub struct QueryInfo {
    pub id: String,
    /// The statement that started it.
    pub sql: String,
    pub sink_name: String,
    pub sink_topic: String,
    /// Every source it reads (the first is the one its FROM names).
    pub source_names: Vec<String>,
    pub status: QueryStatus,
    /// Records read and records that failed, since it started in this process.
    pub processed: u64,
    pub failed: u64,
    /// Records written to its sink, since it started in this process.
    pub produced: u64,
    /// Records read per second over the last [`super::metrics::RATE_WINDOW`].
    pub records_per_second: f64,
    /// When a record last failed (or the query failed), if it did in this process.
    pub last_error_at: Option<std::time::SystemTime>,
    /// Per input partition: its position and the partition's end.
    pub lag: Vec<PartitionLag>,
    /// Threads that run it, each over its own source partitions (0 when the caller steps
    /// it).
    pub workers: usize,
}

impl QueryInfo {
    /// The names of every source it reads.
    pub fn source_names(&self) -> Vec<&str> {
        self.source_names.iter().map(String::as_str).collect()
    }

    /// Records it has yet to read, over all its input partitions.
    pub fn total_lag(&self) -> u64 {
        self.lag.iter().map(PartitionLag::lag).sum()
    }
}

/// A persistent query that failed in the background, for front ends to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub query_id: String,
    pub message: String,
}

/// What a query publishes after each step.
#[derive(Debug, Clone)]
struct Progress {
    status: QueryStatus,
    processed: u64,
    failed: u64,
    produced: u64,
    positions: Vec<(Arc<Partition>, u64)>,
    uncommitted: bool,
}

impl Progress {
    fn of(q: &PersistentQuery) -> Progress {
        Progress {
            status: QueryStatus::Running,
            processed: q.processed,
            failed: q.failed,
            produced: q.produced,
            positions: q.input_positions(),
            uncommitted: q.has_uncommitted(),
        }
    }

    /// Not running, or caught up with every input and committed.
    fn idle(&self) -> bool {
        self.status != QueryStatus::Running
            || (!self.uncommitted && self.positions.iter().all(|(p, at)| *at >= p.end_offset()))
    }
}

/// Rung each time any query publishes progress: waiters re-check then.
#[derive(Debug, Default)]
pub(crate) struct ProgressSignal {
    generation: Mutex<u64>,
    cv: Condvar,
}

impl ProgressSignal {
    fn ring(&self) {
        *lock(&self.generation) += 1;
        self.cv.notify_all();
    }

    fn generation(&self) -> u64 {
        *lock(&self.generation)
    }

    /// Waits until the generation moves past `seen`, or `timeout`.
    fn wait_past(&self, seen: u64, timeout: Duration) {
        let g = lock(&self.generation);
        let _ = self
            .cv
            .wait_timeout_while(g, timeout, |g| *g == seen)
            .unwrap_or_else(|p| p.into_inner());
    }
}

/// One worker of a query (a thread, or the inline query).
#[derive(Debug)]
struct Worker {
    progress: Mutex<Progress>,
    /// Set to have the worker commit as soon as it has caught up.
    flush: AtomicBool,
    /// Set when the worker's thread has ended, however it ended (stopped, failed,
    /// panicked): it makes no more progress, so waiters must not wait for it.
    ended: AtomicBool,
}

/// What a query's threads and the engine share.
#[derive(Debug)]
struct Shared {
    workers: Vec<Worker>,
    /// Set to stop the threads (each finishes its batch and commits first).
    stop: AtomicBool,
    /// Set by the first worker that fails (the one whose error is reported).
    failed: AtomicBool,
    /// Set by PAUSE, cleared by RESUME.
    paused: AtomicBool,
    signal: Arc<ProgressSignal>,
    counters: QueryCounters,
}

impl Shared {
    fn publish(&self, worker: usize, p: Progress) {
        {
            let mut old = lock(&self.workers[worker].progress);
            self.counters
                .add_records(Instant::now(), p.processed.saturating_sub(old.processed));
            let is_error = |s: &QueryStatus| matches!(s, QueryStatus::Error(_));
            let failed_now = is_error(&p.status) && !is_error(&old.status);
            if p.failed > old.failed || failed_now {
                self.counters.note_error();
            }
            *old = p;
        }
        self.signal.ring();
    }

    /// The query's status: the first worker's error, else paused or running.
    fn status(&self) -> QueryStatus {
        let error = self
            .workers
            .iter()
            .map(|w| lock(&w.progress).status.clone())
            .find(|s| matches!(s, QueryStatus::Error(_)));
        match error {
            Some(e) => e,
            None if self.paused.load(Ordering::SeqCst) => QueryStatus::Paused,
            None => QueryStatus::Running,
        }
    }
}

enum Runner {
    /// Stepped by the engine's caller.
    Inline(Box<PersistentQuery>),
    /// Runs on threads of its own, one per worker (empty once joined).
    Threads(Vec<JoinHandle<()>>),
}

/// A running persistent query as the engine keeps it.
pub(crate) struct QueryHandle {
    pub id: String,
    pub sql: String,
    pub sink_name: String,
    pub sink_topic: String,
    pub source_names: Vec<String>,
    /// A CTAS table's rows, shared with the query, for pull queries.
    pub materialized: Option<Materialization>,
    shared: Arc<Shared>,
    runner: Runner,
}

impl std::fmt::Debug for QueryHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryHandle")
            .field("id", &self.id)
            .field("status", &self.shared.status())
            .finish()
    }
}

impl QueryHandle {
    fn new(
        workers: &[PersistentQuery],
        paused: bool,
        signal: Arc<ProgressSignal>,
    ) -> (Self, Arc<Shared>) {
        let query = &workers[0];
        let shared = Arc::new(Shared {
            workers: workers
                .iter()
                .map(|q| Worker {
                    progress: Mutex::new(Progress::of(q)),
                    flush: AtomicBool::new(false),
                    ended: AtomicBool::new(false),
                })
                .collect(),
            stop: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            paused: AtomicBool::new(paused),
            signal,
            counters: QueryCounters::default(),
        });
        let handle = QueryHandle {
            id: query.id.clone(),
            sql: query.sql.clone(),
            sink_name: query.sink_name.clone(),
            sink_topic: query.sink_topic().to_string(),
            source_names: query
                .source_names()
                .into_iter()
                .map(str::to_string)
                .collect(),
            materialized: Materialization::union(
                workers.iter().filter_map(|q| q.materialized().cloned()),
            ),
            shared: shared.clone(),
            runner: Runner::Threads(Vec::new()),
        };
        (handle, shared)
    }

    /// A query the caller steps ([`QueryHandle::step`]).
    pub fn inline(query: PersistentQuery, signal: Arc<ProgressSignal>) -> QueryHandle {
        let workers = [query];
        let (mut handle, _) = Self::new(&workers, false, signal);
        let [query] = workers;
        handle.runner = Runner::Inline(Box::new(query));
        handle
    }

    /// Starts the query on threads of its own, one per worker (the workers of one query,
    /// over disjoint source partitions; usually one), `paused` or not; its failures go to
    /// `errors` too.
    pub fn spawn(
        workers: Vec<PersistentQuery>,
        paused: bool,
        signal: Arc<ProgressSignal>,
        errors: Arc<Mutex<Vec<QueryError>>>,
    ) -> std::io::Result<QueryHandle> {
        let (mut handle, shared) = Self::new(&workers, paused, signal);
        let mut threads = Vec::new();
        for (i, q) in workers.into_iter().enumerate() {
            let (shared, errors) = (shared.clone(), errors.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("brook-query-{}", q.id))
                .spawn(move || run_thread(q, &shared, i, &errors));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    // Those started stop again (dropping the handle joins them).
                    handle.runner = Runner::Threads(threads);
                    return Err(e);
                }
            }
        }
        handle.runner = Runner::Threads(threads);
        Ok(handle)
    }

    /// Inline: processes what is new (see [`PersistentQuery::step`]). A threaded query
    /// steps itself: nothing to do.
    pub fn step(&mut self) -> Result<usize> {
        let Runner::Inline(q) = &mut self.runner else {
            return Ok(0);
        };
        if self.shared.paused.load(Ordering::SeqCst) {
            return Ok(0);
        }
        let n = q.step()?;
        if n > 0 {
            self.shared.publish(0, Progress::of(q));
        }
        Ok(n)
    }

    /// Inline: commits. A threaded query commits itself.
    pub fn commit(&mut self) -> Result<()> {
        let Runner::Inline(q) = &mut self.runner else {
            return Ok(());
        };
        let had = q.has_uncommitted();
        q.commit()?;
        if had {
            self.shared.publish(0, Progress::of(q));
        }
        Ok(())
    }

    /// PAUSE (`true`) or RESUME (`false`): a paused query finishes its batch, commits, and
    /// reads nothing more until resumed. Returns whether it was paused before.
    pub fn set_paused(&mut self, paused: bool) -> Result<bool> {
        let was = self.shared.paused.swap(paused, Ordering::SeqCst);
        match &mut self.runner {
            Runner::Inline(q) => {
                if paused {
                    q.commit()?;
                }
                let mut p = Progress::of(q);
                if paused {
                    p.status = QueryStatus::Paused;
                }
                self.shared.publish(0, p);
            }
            Runner::Threads(threads) => {
                for t in threads.iter() {
                    t.thread().unpark();
                }
            }
        }
        Ok(was)
    }

    /// Asks the thread to stop (it finishes its batch and commits); see [`QueryHandle::join`].
    pub fn request_stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Runner::Threads(threads) = &self.runner {
            for t in threads {
                t.thread().unpark();
            }
        }
    }

    /// Waits for a stopping thread to end. Inline: commits.
    pub fn join(&mut self) -> Result<()> {
        match &mut self.runner {
            Runner::Inline(q) => q.commit(),
            Runner::Threads(threads) => {
                self.shared.stop.store(true, Ordering::SeqCst);
                for t in threads.iter() {
                    t.thread().unpark();
                }
                for t in threads.drain(..) {
                    // The thread catches its own panics (see `run_thread`).
                    let _ = t.join();
                }
                Ok(())
            }
        }
    }

    /// A snapshot for listings.
    pub fn info(&self) -> QueryInfo {
        let mut p = Progress {
            status: self.shared.status(),
            processed: 0,
            failed: 0,
            produced: 0,
            positions: Vec::new(),
            uncommitted: false,
        };
        for w in &self.shared.workers {
            let w = lock(&w.progress);
            p.processed += w.processed;
            p.failed += w.failed;
            p.produced += w.produced;
            p.positions.extend(w.positions.iter().cloned());
        }
        p.positions
            .sort_by(|(a, _), (b, _)| (a.topic(), a.id()).cmp(&(b.topic(), b.id())));
        let workers = match &self.runner {
            Runner::Inline(_) => 0,
            Runner::Threads(_) => self.shared.workers.len(),
        };
        QueryInfo {
            id: self.id.clone(),
            sql: self.sql.clone(),
            sink_name: self.sink_name.clone(),
            sink_topic: self.sink_topic.clone(),
            source_names: self.source_names.clone(),
            status: p.status,
            processed: p.processed,
            failed: p.failed,
            produced: p.produced,
            records_per_second: self.shared.counters.records_per_second(Instant::now()),
            last_error_at: self.shared.counters.last_error_at(),
            lag: p
                .positions
                .iter()
                .map(|(part, at)| PartitionLag {
                    topic: part.topic().to_string(),
                    partition: part.id(),
                    position: *at,
                    end_offset: part.end_offset(),
                })
                .collect(),
            workers,
        }
    }

    /// What an [`IdleWaiter`] watches; None for an inline query (only its caller runs it).
    pub fn watch(&self) -> Option<WatchedQuery> {
        match &self.runner {
            Runner::Inline(_) => None,
            Runner::Threads(threads) => Some(WatchedQuery {
                shared: self.shared.clone(),
                threads: threads.iter().map(|t| t.thread().clone()).collect(),
            }),
        }
    }
}

impl Drop for QueryHandle {
    fn drop(&mut self) {
        if let Runner::Threads(_) = self.runner {
            let _ = self.join();
        }
    }
}

/// A threaded query as an [`IdleWaiter`] sees it.
#[derive(Debug, Clone)]
pub(crate) struct WatchedQuery {
    shared: Arc<Shared>,
    /// Each worker's thread.
    threads: Vec<Thread>,
}

impl WatchedQuery {
    /// (idle, records processed so far); asks each worker that is not idle to commit as
    /// soon as it has caught up. A worker whose thread has ended counts as idle: it will
    /// not catch up (e.g. it stopped because another worker of its query failed, leaving
    /// input unread), and waiting for it would never end. A paused query counts as idle
    /// only while it is still meant to be paused.
    fn check(&self) -> (bool, u64) {
        let mut all_idle = true;
        let mut processed = 0;
        for (i, w) in self.shared.workers.iter().enumerate() {
            let idle = {
                let p = lock(&w.progress);
                processed += p.processed;
                let resuming =
                    p.status == QueryStatus::Paused && !self.shared.paused.load(Ordering::SeqCst);
                // A status of PAUSED published before a RESUME (or before the engine let a
                // replayed query go) that the thread has not acted on yet: it is about to
                // read, not idle.
                (p.idle() && !resuming) || w.ended.load(Ordering::SeqCst)
            };
            if !idle {
                all_idle = false;
                w.flush.store(true, Ordering::SeqCst);
                if let Some(t) = self.threads.get(i) {
                    t.unpark();
                }
            }
        }
        (all_idle, processed)
    }
}

/// Waits for the queries running when it was made to be idle: caught up with their inputs
/// (the sinks of other queries included) and committed. It holds no lock of the engine, so
/// a front end that shares the engine behind a mutex waits with the mutex released.
#[derive(Debug, Clone)]
pub struct IdleWaiter {
    pub(crate) queries: Vec<WatchedQuery>,
    pub(crate) signal: Arc<ProgressSignal>,
}

impl IdleWaiter {
    /// Returns true once every query is idle (failed ones count as idle), false if
    /// `timeout` passed first.
    pub fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        // Idle twice in a row with nothing processed in between: a query whose input is
        // another's sink cannot have been checked just before that one wrote to it.
        let mut last: Option<u64> = None;
        loop {
            let seen = self.signal.generation();
            let mut all_idle = true;
            let mut processed = 0u64;
            for q in &self.queries {
                let (idle, n) = q.check();
                all_idle &= idle;
                processed += n;
            }
            if all_idle && last == Some(processed) {
                return true;
            }
            last = all_idle.then_some(processed);
            let now = Instant::now();
            let left = match deadline {
                Some(d) if now >= d => return false,
                Some(d) => d - now,
                None => Duration::from_secs(1),
            };
            if !all_idle {
                // Progress is published after every step; re-check then (or soon: an
                // append a query has not seen yet publishes nothing).
                self.signal
                    .wait_past(seen, left.min(Duration::from_millis(50)));
            }
        }
    }
}

/// The body of a query worker's thread: step, commit, sleep until an append, until stopped
/// or failed. A failure (or a panic) becomes the query's ERROR status and stops the query's
/// other workers.
fn run_thread(
    mut q: PersistentQuery,
    shared: &Shared,
    worker: usize,
    errors: &Mutex<Vec<QueryError>>,
) {
    // However the thread ends, waiters learn it (after the last progress it publishes).
    let _ended = Ended(&shared.workers[worker].ended, &shared.signal);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drive(&mut q, shared, worker)
    }));
    let message = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e.to_string(),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            format!("query {} panicked: {what}", q.id)
        }
    };
    // The query's failure is reported once, before its status says ERROR (so whoever sees
    // the status finds the error too); the other workers stop too (they notice within
    // IDLE_WAIT).
    if !shared.failed.swap(true, Ordering::SeqCst) {
        lock(errors).push(QueryError {
            query_id: q.id.clone(),
            message: message.clone(),
        });
    }
    shared.stop.store(true, Ordering::SeqCst);
    let mut p = lock(&shared.workers[worker].progress).clone();
    p.status = QueryStatus::Error(message);
    shared.publish(worker, p);
}

/// Marks a worker's thread as ended when dropped, and wakes waiters.
struct Ended<'a>(&'a AtomicBool, &'a ProgressSignal);

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
        self.1.ring();
    }
}

fn drive(q: &mut PersistentQuery, shared: &Shared, worker: usize) -> Result<()> {
    let flush = &shared.workers[worker].flush;
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            q.commit()?;
            shared.publish(worker, Progress::of(q));
            return Ok(());
        }
        if shared.paused.load(Ordering::SeqCst) {
            q.commit()?;
            let mut p = Progress::of(q);
            p.status = QueryStatus::Paused;
            shared.publish(worker, p);
            while shared.paused.load(Ordering::SeqCst) && !shared.stop.load(Ordering::SeqCst) {
                std::thread::park_timeout(IDLE_WAIT);
            }
            shared.publish(worker, Progress::of(q));
            continue;
        }
        let read = q.step()?;
        if read > 0 {
            shared.publish(worker, Progress::of(q));
            continue;
        }
        // Caught up: commit when asked to or when due.
        if flush.swap(false, Ordering::SeqCst) || q.commit_due() {
            q.commit()?;
            shared.publish(worker, Progress::of(q));
        }
        let timeout = q.time_to_commit().unwrap_or(IDLE_WAIT).min(IDLE_WAIT);
        wait_for_append(&q.input_positions(), timeout, &|| {
            shared.stop.load(Ordering::SeqCst) || flush.load(Ordering::SeqCst)
        });
    }
}

/// Blocks the calling thread until one of `partitions` has a record at or past its
/// position, `interrupted()` holds (checked whenever the thread is unparked), or `timeout`
/// passes. Woken by the log's append notifications ([`Partition::wait_for_append`]), so it
/// costs nothing while it waits. A partition whose topic was deleted is left out.
pub(crate) fn wait_for_append(
    partitions: &[(Arc<Partition>, u64)],
    timeout: Duration,
    interrupted: &dyn Fn() -> bool,
) {
    let deadline = Instant::now().checked_add(timeout);
    let mut waits: Vec<Pin<Box<dyn Future<Output = brook_log::Result<u64>> + Send + '_>>> =
        partitions
            .iter()
            .map(|(p, at)| Box::pin(p.wait_for_append(*at)) as Pin<Box<_>>)
            .collect();
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        let mut i = 0;
        while i < waits.len() {
            match waits[i].as_mut().poll(&mut cx) {
                Poll::Ready(Ok(_)) => return,
                Poll::Ready(Err(_)) => {
                    drop(waits.swap_remove(i));
                }
                Poll::Pending => i += 1,
            }
        }
        if interrupted() {
            return;
        }
        match deadline {
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return;
                }
                std::thread::park_timeout(d - now);
            }
            None => std::thread::park(),
        }
    }
}

/// A waker that unparks a thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Resolves once one of `partitions` has a record at or past its position: the async form
/// of [`wait_for_append`], for push queries on async front ends. A partition whose topic
/// was deleted never resolves it.
pub(crate) async fn any_append(partitions: Vec<(Arc<Partition>, u64)>) {
    type Wait = Pin<Box<dyn Future<Output = brook_log::Result<u64>> + Send>>;
    let mut waits: Vec<Option<Wait>> = partitions
        .into_iter()
        .map(|(p, at)| Some(Box::pin(async move { p.wait_for_append(at).await }) as Wait))
        .collect();
    std::future::poll_fn(move |cx| {
        for slot in waits.iter_mut() {
            let Some(w) = slot else { continue };
            match w.as_mut().poll(cx) {
                Poll::Ready(Ok(_)) => return Poll::Ready(()),
                Poll::Ready(Err(_)) => *slot = None,
                Poll::Pending => {}
            }
        }
        Poll::Pending
    })
    .await
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking holder leaves plain data (counters, positions) in a usable state.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use brook_log::{Log, LogOptions, Record, TopicConfig};

    /// A query of two workers: the first failed, which stopped the second with input left
    /// unread. Once the second's thread has ended, a waiter must not wait for it.
    #[test]
    fn a_waiter_does_not_wait_for_a_worker_whose_thread_ended() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        let t = log.create_topic("t", TopicConfig::new(1)).unwrap();
        t.append(0, &[Record::unkeyed("v", 0)]).unwrap();
        let behind = Progress {
            status: QueryStatus::Running,
            processed: 0,
            failed: 0,
            produced: 0,
            positions: vec![(t.partition(0).unwrap().clone(), 0)],
            uncommitted: false,
        };
        let failed = Progress {
            status: QueryStatus::Error("No space left on device".into()),
            ..behind.clone()
        };
        let signal = Arc::new(ProgressSignal::default());
        let shared = Arc::new(Shared {
            workers: [failed, behind]
                .into_iter()
                .map(|p| Worker {
                    progress: Mutex::new(p),
                    flush: AtomicBool::new(false),
                    ended: AtomicBool::new(false),
                })
                .collect(),
            stop: AtomicBool::new(true),
            failed: AtomicBool::new(true),
            paused: AtomicBool::new(false),
            signal: signal.clone(),
            counters: QueryCounters::default(),
        });
        let waiter = IdleWaiter {
            queries: vec![WatchedQuery {
                shared: shared.clone(),
                threads: Vec::new(),
            }],
            signal,
        };
        assert!(
            !waiter.wait(Duration::from_millis(100)),
            "the second worker is behind and its thread still runs"
        );
        drop(Ended(&shared.workers[1].ended, &shared.signal));
        assert!(waiter.wait(Duration::from_secs(30)));
    }

    /// A replayed query starts paused and is let go once the replay is done; until its
    /// thread acts on that, the status it published says PAUSED. A waiter must not take
    /// that for idle (`brook run` stopped queries before they had read their input).
    #[test]
    fn a_waiter_does_not_take_a_stale_paused_status_for_idle() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        let t = log.create_topic("t", TopicConfig::new(1)).unwrap();
        t.append(0, &[Record::unkeyed("v", 0)]).unwrap();
        let signal = Arc::new(ProgressSignal::default());
        let shared = Arc::new(Shared {
            workers: vec![Worker {
                progress: Mutex::new(Progress {
                    status: QueryStatus::Paused,
                    processed: 0,
                    failed: 0,
                    produced: 0,
                    positions: vec![(t.partition(0).unwrap().clone(), 0)],
                    uncommitted: false,
                }),
                flush: AtomicBool::new(false),
                ended: AtomicBool::new(false),
            }],
            stop: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            signal: signal.clone(),
            counters: QueryCounters::default(),
        });
        let waiter = IdleWaiter {
            queries: vec![WatchedQuery {
                shared: shared.clone(),
                threads: Vec::new(),
            }],
            signal,
        };
        assert!(
            !waiter.wait(Duration::from_millis(100)),
            "resumed, with input left to read"
        );
        // Really paused: it reads nothing until resumed, so there is nothing to wait for.
        shared.paused.store(true, Ordering::SeqCst);
        assert!(waiter.wait(Duration::from_secs(30)));
    }
}
