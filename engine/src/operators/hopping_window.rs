//! hopping_window.rs owns HOPPING windows: every `[k·advance, k·advance + size)` holding a
//! row (none starting before 0, as Kafka Streams), so a row updates size/advance windows and
//! each of their updates goes downstream (ksqlDB's changelog for hopping windows). The
//! operator is [`TimeWindowAggregate`] (time_window.rs: grace, retention, EMIT FINAL) with
//! this module's assigner.

use arrow::datatypes::SchemaRef;
use brook_sql::plan::WindowSpec;

use super::aggregate::AggregateInput;
use super::time_window::{TimeWindowAggregate, WindowAssigner};
use crate::formats::windowed::Window;

/// Assigns a row to every hopping window holding it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hopping {
    size: i64,
    advance: i64,
}

impl Hopping {
    pub fn new(size_ms: u64, advance_ms: Option<u64>) -> Self {
        Hopping {
            size: size_ms as i64,
            advance: advance_ms.unwrap_or(size_ms).max(1) as i64,
        }
    }
}

impl WindowAssigner for Hopping {
    fn size(&self) -> i64 {
        self.size
    }

    fn assign(&self, ts: i64, out: &mut Vec<Window>) {
        out.clear();
        let last = ts - ts.rem_euclid(self.advance);
        let mut start = last;
        while start > ts - self.size && start >= 0 {
            out.push(Window {
                start,
                end: start + self.size,
            });
            start -= self.advance;
        }
        out.reverse();
    }
}

/// The GROUP BY operator over hopping windows.
pub(crate) fn hopping(
    input: AggregateInput,
    spec: WindowSpec,
    schema: SchemaRef,
) -> TimeWindowAggregate<Hopping> {
    TimeWindowAggregate::new(
        Hopping::new(spec.size_ms, spec.advance_ms),
        input,
        spec,
        schema,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::window_tests::{count_per_key, run, schema, spec, Run};
    use brook_sql::analyzer::WindowType;

    fn windows(a: &Hopping, ts: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        a.assign(ts, &mut out);
        out.iter().map(|w| (w.start, w.end)).collect()
    }

    #[test]
    fn a_row_falls_into_every_window_that_holds_it_and_none_before_zero() {
        let a = Hopping::new(60_000, Some(10_000));
        assert_eq!(windows(&a, 65_000).len(), 6);
        assert_eq!(windows(&a, 65_000)[0], (10_000, 70_000));
        assert_eq!(windows(&a, 65_000)[5], (60_000, 120_000));
        assert_eq!(windows(&a, 5_000), vec![(0, 60_000)]);
        // An advance that does not divide the size.
        let b = Hopping::new(10, Some(4));
        assert_eq!(windows(&b, 9), vec![(0, 10), (4, 14), (8, 18)]);
    }

    #[test]
    fn each_row_updates_each_of_its_windows() {
        let op = hopping(
            count_per_key(),
            spec(WindowType::Hopping, 10, Some(5), Some(0)),
            schema(),
        );
        let out = run(Box::new(op), &[("a", 7), ("a", 12)], Run::default());
        assert_eq!(
            out,
            vec![
                ("a".into(), Some(1), 0, 10, 7),
                ("a".into(), Some(1), 5, 15, 7),
                ("a".into(), Some(2), 5, 15, 12),
                ("a".into(), Some(1), 10, 20, 12),
            ]
        );
    }

    #[test]
    fn emit_final_emits_each_window_once() {
        let op = hopping(
            count_per_key(),
            crate::operators::window_tests::Final::final_(spec(
                WindowType::Hopping,
                10,
                Some(5),
                None,
            )),
            schema(),
        );
        let out = run(
            Box::new(op),
            &[("a", 7), ("a", 12), ("a", 15), ("a", 20)],
            Run::default(),
        );
        // [0, 10) left the store (retention: size + grace) before stream time reached its
        // end exactly, as in Kafka Streams; the others close one by one.
        assert_eq!(
            out,
            vec![
                ("a".into(), Some(2), 5, 15, 12),
                ("a".into(), Some(2), 10, 20, 15)
            ]
        );
    }
}
