//! assert_topic.rs owns `ASSERT [NOT EXISTS] TOPIC name [WITH (PARTITIONS=n, REPLICAS=n)]
//! [TIMEOUT t]`: ksqlDB's check that a topic exists (with that many partitions and replicas)
//! or does not, retried every 100 ms until the timeout (`ksql.assert.topic.default.timeout.ms`,
//! 1000 ms by default), failing with ksqlDB's messages.

use std::time::{Duration, Instant};

use brook_log::Log;
use brook_sql::ast::{Literal, Properties, ResourceName};

/// How often the check is retried within the timeout, as ksqlDB does.
const RETRY: Duration = Duration::from_millis(100);
/// ksqlDB's `ksql.assert.topic.default.timeout.ms`.
pub const DEFAULT_TIMEOUT_PROPERTY: &str = "ksql.assert.topic.default.timeout.ms";
pub const DEFAULT_TIMEOUT_MS: u64 = 1000;

/// Brook's log keeps one copy of each partition.
const REPLICAS: i64 = 1;

/// The topic `name` resolves to: a quoted name as written; an identifier as written, else in
/// upper or lower case (as PRINT resolves it).
fn resolve(log: &Log, name: &ResourceName) -> Option<String> {
    let candidates = if name.is_string {
        vec![name.name.clone()]
    } else {
        vec![
            name.name.clone(),
            name.name.to_uppercase(),
            name.name.to_lowercase(),
        ]
    };
    candidates.into_iter().find(|n| log.topic(n).is_ok())
}

/// One check: Ok when the assertion holds, else ksqlDB's message saying why not.
fn check(
    log: &Log,
    name: &ResourceName,
    properties: &Properties,
    exists: bool,
) -> Result<(), String> {
    let found = resolve(log, name);
    match (exists, found) {
        (false, None) => Ok(()),
        (false, Some(_)) => Err(format!("Topic {} exists", name.name)),
        (true, None) => Err(format!("Topic {} does not exist", name.name)),
        (true, Some(topic)) => {
            let partitions = log
                .topic(&topic)
                .map(|t| t.partition_count() as i64)
                .map_err(|e| format!("Cannot check topic existence: {e}"))?;
            let mut errors = Vec::new();
            for p in &properties.entries {
                let (what, actual) = match p.name.to_lowercase().as_str() {
                    "partitions" => ("partitions", partitions),
                    "replicas" => ("replicas", REPLICAS),
                    _ => {
                        errors.push(format!("Cannot assert unknown topic property: {}", p.name));
                        continue;
                    }
                };
                let matches = matches!(p.value, Literal::Integer(v) if i64::from(v) == actual);
                if !matches {
                    errors.push(format!(
                        "Mismatched configuration for topic {}: For config {what}, expected {} got {actual}",
                        name.name,
                        literal_text(&p.value)
                    ));
                }
            }
            if errors.is_empty() {
                Ok(())
            } else {
                Err(errors.join("\n"))
            }
        }
    }
}

/// A literal as Java's `toString` of its value shows it.
fn literal_text(l: &Literal) -> String {
    match l {
        Literal::Null => "null".into(),
        Literal::Boolean(b) => b.to_string(),
        Literal::Integer(v) => v.to_string(),
        Literal::BigInt(v) => v.to_string(),
        Literal::Decimal(d) => d.clone(),
        Literal::Double(d) => d.to_string(),
        Literal::String(s) => s.clone(),
    }
}

/// Checks the assertion until it holds or `timeout` passes; the error is the last check's
/// message.
pub fn assert_topic(
    log: &Log,
    name: &ResourceName,
    properties: &Properties,
    exists: bool,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let outcome = check(log, name, properties, exists);
        if outcome.is_ok() || Instant::now() + RETRY > deadline {
            return outcome;
        }
        std::thread::sleep(RETRY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brook_log::{LogOptions, TopicConfig};
    use brook_sql::ast::{Property, Span};

    fn name(n: &str, is_string: bool) -> ResourceName {
        ResourceName {
            name: n.into(),
            is_string,
            span: Span::default(),
        }
    }

    fn props(entries: &[(&str, Literal)]) -> Properties {
        Properties {
            entries: entries
                .iter()
                .map(|(n, v)| Property {
                    name: n.to_uppercase(),
                    value: v.clone(),
                    span: Span::default(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_topic_exists_with_its_partitions_or_the_assertion_says_what_differs() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        log.create_topic("orders", TopicConfig::new(3)).unwrap();
        let none = Properties::default();
        let quick = Duration::from_millis(0);
        assert_eq!(
            assert_topic(&log, &name("orders", true), &none, true, quick),
            Ok(())
        );
        assert_eq!(
            assert_topic(&log, &name("ORDERS", false), &none, true, quick),
            Ok(())
        );
        assert_eq!(
            assert_topic(&log, &name("ORDERS", true), &none, true, quick),
            Err("Topic ORDERS does not exist".into())
        );
        assert_eq!(
            assert_topic(&log, &name("orders", true), &none, false, quick),
            Err("Topic orders exists".into())
        );
        assert_eq!(
            assert_topic(&log, &name("gone", true), &none, false, quick),
            Ok(())
        );
        let right = props(&[
            ("partitions", Literal::Integer(3)),
            ("replicas", Literal::Integer(1)),
        ]);
        assert_eq!(
            assert_topic(&log, &name("orders", true), &right, true, quick),
            Ok(())
        );
        let wrong = props(&[
            ("partitions", Literal::Integer(2)),
            ("cleanup", Literal::String("x".into())),
        ]);
        assert_eq!(
            assert_topic(&log, &name("orders", true), &wrong, true, quick),
            Err("Mismatched configuration for topic orders: For config partitions, expected 2 got 3\nCannot assert unknown topic property: CLEANUP".into())
        );
    }

    #[test]
    fn the_check_is_retried_until_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let log = std::sync::Arc::new(Log::open(dir.path(), LogOptions::default()).unwrap());
        let creator = {
            let log = log.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(150));
                log.create_topic("late", TopicConfig::default()).unwrap();
            })
        };
        let none = Properties::default();
        let outcome = assert_topic(
            &log,
            &name("late", true),
            &none,
            true,
            Duration::from_secs(10),
        );
        creator.join().unwrap();
        assert_eq!(outcome, Ok(()));
    }
}
