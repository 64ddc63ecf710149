//! tumbling_window.rs owns TUMBLING windows: `[k·size, k·size + size)`, one per row. The
//! operator is [`TimeWindowAggregate`] (time_window.rs: grace, retention, EMIT FINAL) with
//! this module's assigner.

use arrow::datatypes::SchemaRef;
use brook_sql::plan::WindowSpec;

use super::aggregate::AggregateInput;
use super::time_window::{TimeWindowAggregate, WindowAssigner};
use crate::formats::windowed::Window;

/// Assigns a row to the one tumbling window holding it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tumbling {
    size: i64,
}

impl Tumbling {
    pub fn new(size_ms: u64) -> Self {
        Tumbling {
            size: (size_ms as i64).max(1),
        }
    }
}

impl WindowAssigner for Tumbling {
    fn size(&self) -> i64 {
        self.size
    }

    fn assign(&self, ts: i64, out: &mut Vec<Window>) {
        out.clear();
        let start = ts - ts.rem_euclid(self.size);
        out.push(Window {
            start,
            end: start + self.size,
        });
    }
}

/// The GROUP BY operator over tumbling windows.
pub(crate) fn tumbling(
    input: AggregateInput,
    spec: WindowSpec,
    schema: SchemaRef,
) -> TimeWindowAggregate<Tumbling> {
    TimeWindowAggregate::new(Tumbling::new(spec.size_ms), input, spec, schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::window_tests::{count_per_key, run, spec, Run};
    use brook_sql::analyzer::WindowType;

    fn windows(a: &Tumbling, ts: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        a.assign(ts, &mut out);
        out.iter().map(|w| (w.start, w.end)).collect()
    }

    #[test]
    fn a_row_falls_into_the_window_that_holds_it() {
        let a = Tumbling::new(60_000);
        assert_eq!(windows(&a, 0), vec![(0, 60_000)]);
        assert_eq!(windows(&a, 59_999), vec![(0, 60_000)]);
        assert_eq!(windows(&a, 60_000), vec![(60_000, 120_000)]);
        assert_eq!(windows(&a, -1), vec![(-60_000, 0)]);
    }

    #[test]
    fn counts_per_key_and_window_with_an_update_per_row() {
        let op = tumbling(
            count_per_key(),
            spec(WindowType::Tumbling, 10, None, Some(0)),
            crate::operators::window_tests::schema(),
        );
        let out = run(
            Box::new(op),
            &[("a", 1), ("a", 5), ("b", 7), ("a", 12)],
            Run::default(),
        );
        assert_eq!(
            out,
            vec![
                ("a".into(), Some(1), 0, 10, 1),
                ("a".into(), Some(2), 0, 10, 5),
                ("b".into(), Some(1), 0, 10, 7),
                ("a".into(), Some(1), 10, 20, 12),
            ]
        );
    }

    #[test]
    fn a_row_for_a_closed_window_is_dropped_and_old_windows_expire() {
        let mut op = tumbling(
            count_per_key(),
            spec(WindowType::Tumbling, 10, None, Some(0)),
            crate::operators::window_tests::schema(),
        );
        let out = crate::operators::window_tests::run_on(
            &mut op,
            &[("a", 25), ("a", 3), ("a", 26)],
            Run::default(),
        );
        // ts 3 belongs to [0,10), closed once stream time reached 25 with no grace.
        assert_eq!(
            out,
            vec![
                ("a".into(), Some(1), 20, 30, 25),
                ("a".into(), Some(2), 20, 30, 26)
            ]
        );
        assert_eq!(op.live_groups(), 1);
    }

    #[test]
    fn emit_final_emits_each_window_once_when_it_closes() {
        let op = tumbling(
            count_per_key(),
            crate::operators::window_tests::Final::final_(spec(
                WindowType::Tumbling,
                10,
                None,
                None,
            )),
            crate::operators::window_tests::schema(),
        );
        let out = run(
            Box::new(op),
            &[("b", 1), ("a", 2), ("a", 3), ("a", 10), ("a", 20)],
            Run::default(),
        );
        // Windows closing together come in key order.
        assert_eq!(
            out,
            vec![
                ("a".into(), Some(2), 0, 10, 3),
                ("b".into(), Some(1), 0, 10, 1),
                ("a".into(), Some(1), 10, 20, 10),
            ]
        );
    }

    #[test]
    fn the_record_cache_folds_a_keys_updates_until_the_flush() {
        let op = tumbling(
            count_per_key(),
            spec(WindowType::Tumbling, 10, None, Some(0)),
            crate::operators::window_tests::schema(),
        );
        let out = run(
            Box::new(op),
            &[("a", 1), ("b", 2), ("a", 3)],
            Run { cache: true },
        );
        assert_eq!(
            out,
            vec![
                ("a".into(), Some(2), 0, 10, 3),
                ("b".into(), Some(1), 0, 10, 2)
            ]
        );
    }

    #[test]
    fn state_survives_a_restart_and_expired_windows_leave_the_store() {
        use crate::operators::Operator;
        let dir = tempfile::tempdir().unwrap();
        let stores = crate::operators::window_tests::open_stores(dir.path());
        let make = || {
            tumbling(
                count_per_key(),
                spec(WindowType::Tumbling, 10, None, Some(0)),
                crate::operators::window_tests::schema(),
            )
        };
        let mut op = make();
        assert_eq!(op.attach_state(&stores, "q", 0).unwrap(), None);
        crate::operators::window_tests::run_on(&mut op, &[("a", 1), ("b", 2)], Run::default());
        op.note_offsets(&[(0, 2)]);
        op.commit().unwrap();
        // c's window comes and goes between two commits; a's and b's first windows expire.
        crate::operators::window_tests::run_on(&mut op, &[("c", 21), ("a", 35)], Run::default());
        op.note_offsets(&[(0, 4)]);
        op.commit().unwrap();
        drop(op);
        let mut op = make();
        assert_eq!(
            op.attach_state(&stores, "q", 0).unwrap(),
            Some(vec![(0, 4)])
        );
        let out = crate::operators::window_tests::run_on(&mut op, &[("a", 36)], Run::default());
        assert_eq!(out, vec![("a".into(), Some(2), 30, 40, 36)]);
        assert_eq!(op.live_groups(), 1);
        // The stream time came back too: a row for an expired window is still late.
        let out = crate::operators::window_tests::run_on(&mut op, &[("b", 3)], Run::default());
        assert!(out.is_empty());
    }
}
