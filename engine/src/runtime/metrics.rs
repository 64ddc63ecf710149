//! metrics.rs owns what a persistent query counts for monitoring beyond its progress (see
//! `runner.rs`): its processing rate over a sliding window and when it last failed. Plain
//! atomics and a small mutex, updated when a query worker publishes its progress and read
//! by listings ([`super::QueryInfo`]); the server's `/metrics` reads them at scrape time, so
//! the engine depends on no metrics crate.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The window the processing rate is measured over (Kafka's `metrics.sample.window.ms`).
pub const RATE_WINDOW: Duration = Duration::from_secs(30);

/// Samples closer together than this are merged (bounds the window to a few hundred).
const SAMPLE_SPACING: Duration = Duration::from_millis(200);

/// A query's monitoring counters, shared by its workers.
#[derive(Debug)]
pub struct QueryCounters {
    rate: Mutex<RateWindow>,
    /// When a record last failed or the query last stopped on an error, in milliseconds
    /// since the epoch (0: never).
    last_error_ms: AtomicU64,
}

impl Default for QueryCounters {
    fn default() -> Self {
        QueryCounters::new(Instant::now())
    }
}

impl QueryCounters {
    pub fn new(started: Instant) -> QueryCounters {
        QueryCounters {
            rate: Mutex::new(RateWindow::new(started)),
            last_error_ms: AtomicU64::new(0),
        }
    }

    /// `records` more were read at `now`.
    pub fn add_records(&self, now: Instant, records: u64) {
        if records > 0 {
            lock(&self.rate).add(now, records);
        }
    }

    /// A record failed or the query failed, now.
    pub fn note_error(&self) {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as u64)
            .max(1);
        self.last_error_ms.store(ms, Ordering::Relaxed);
    }

    /// Records read per second over the last [`RATE_WINDOW`] (or since the query started,
    /// when it is younger).
    pub fn records_per_second(&self, now: Instant) -> f64 {
        lock(&self.rate).rate(now)
    }

    /// When a record last failed (or the query failed), if ever.
    pub fn last_error_at(&self) -> Option<SystemTime> {
        match self.last_error_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(UNIX_EPOCH + Duration::from_millis(ms)),
        }
    }
}

/// Cumulative record counts at instants, over a sliding window.
#[derive(Debug)]
struct RateWindow {
    /// (when, records read up to then), oldest first; the first one is at or before the
    /// window's start once the query is older than the window.
    samples: VecDeque<(Instant, u64)>,
    total: u64,
}

impl RateWindow {
    fn new(started: Instant) -> RateWindow {
        RateWindow {
            samples: VecDeque::from([(started, 0)]),
            total: 0,
        }
    }

    fn add(&mut self, now: Instant, records: u64) {
        self.total += records;
        // The first sample is the query's start: never merged into.
        let merge = self.samples.len() > 1;
        match self.samples.back_mut() {
            Some((at, count)) if merge && now.duration_since(*at) < SAMPLE_SPACING => {
                *count = self.total;
            }
            _ => self.samples.push_back((now, self.total)),
        }
        self.trim(now);
    }

    /// Drops samples older than the window, keeping the newest of them as the baseline.
    fn trim(&mut self, now: Instant) {
        let Some(start) = now.checked_sub(RATE_WINDOW) else {
            return;
        };
        while self.samples.len() > 1 && self.samples[1].0 <= start {
            self.samples.pop_front();
        }
    }

    fn rate(&self, now: Instant) -> f64 {
        let Some(&(base_at, base_count)) = (match now.checked_sub(RATE_WINDOW) {
            // The newest sample at or before the window's start, else the first.
            Some(start) => self
                .samples
                .iter()
                .rev()
                .find(|(at, _)| *at <= start)
                .or(self.samples.front()),
            None => self.samples.front(),
        }) else {
            return 0.0;
        };
        // Records counted after the baseline were read after it, but a baseline older than
        // the window stands for the window's start: nothing was read in between.
        let elapsed = now.saturating_duration_since(base_at).min(RATE_WINDOW);
        if elapsed.is_zero() {
            return 0.0;
        }
        (self.total - base_count) as f64 / elapsed.as_secs_f64()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_records_over_the_window() {
        let t0 = Instant::now();
        let c = QueryCounters::new(t0);
        assert_eq!(c.records_per_second(t0), 0.0);
        c.add_records(t0 + Duration::from_secs(1), 100);
        c.add_records(t0 + Duration::from_secs(2), 100);
        // 200 records in the query's first 4 seconds.
        let r = c.records_per_second(t0 + Duration::from_secs(4));
        assert!((r - 50.0).abs() < 1e-9, "{r}");
        // Idle for long: the rate falls to nothing.
        assert_eq!(c.records_per_second(t0 + Duration::from_secs(100)), 0.0);
        // 300 more after the idle spell, measured over the whole window.
        c.add_records(t0 + Duration::from_secs(100), 300);
        let r = c.records_per_second(t0 + Duration::from_secs(101));
        assert!((r - 10.0).abs() < 1e-9, "{r}");
    }

    #[test]
    fn samples_stay_bounded() {
        let t0 = Instant::now();
        let c = QueryCounters::new(t0);
        for i in 0..100_000u64 {
            c.add_records(t0 + Duration::from_millis(i * 10), 1);
        }
        let n = lock(&c.rate).samples.len();
        assert!(
            n <= (RATE_WINDOW.as_millis() / SAMPLE_SPACING.as_millis()) as usize + 2,
            "{n}"
        );
    }

    #[test]
    fn errors_are_timestamped() {
        let c = QueryCounters::default();
        assert_eq!(c.last_error_at(), None);
        c.note_error();
        assert!(c.last_error_at().is_some());
    }
}
