//! assert_schema.rs owns `ASSERT [NOT EXISTS] SCHEMA [SUBJECT name] [ID n] [TIMEOUT t]`:
//! ksqlDB's check that a schema registry holds a schema under that subject and/or id (or
//! does not), retried every 100 ms until the timeout (`ksql.assert.schema.default.timeout.ms`,
//! 1000 ms by default), failing with ksqlDB's messages.
//!
//! Brook's registry is the schemas registered with the engine for topics' keys and values
//! (`Engine::register_schema`): each registration is a subject named as Confluent's default
//! TopicNameStrategy names it (`<topic>-key`, `<topic>-value`) and takes the next id, from 1,
//! as a new registry hands them out.

use std::time::{Duration, Instant};

/// How often the check is retried within the timeout, as for ASSERT TOPIC.
const RETRY: Duration = Duration::from_millis(100);
/// ksqlDB's `ksql.assert.schema.default.timeout.ms`.
pub const DEFAULT_TIMEOUT_PROPERTY: &str = "ksql.assert.schema.default.timeout.ms";
pub const DEFAULT_TIMEOUT_MS: u64 = 1000;

/// The subjects and ids registered so far.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// Subject of each registration; a registration's id is its position plus one.
    subjects: Vec<String>,
}

impl Registry {
    /// Records a schema registered for `topic`'s keys or values; returns its id.
    pub fn register(&mut self, topic: &str, is_key: bool) -> i64 {
        let suffix = if is_key { "key" } else { "value" };
        self.subjects.push(format!("{topic}-{suffix}"));
        self.subjects.len() as i64
    }

    /// Whether a schema with `subject` (when given) and `id` (when given) is held.
    pub fn holds(&self, subject: Option<&str>, id: Option<i64>) -> bool {
        self.subjects.iter().enumerate().any(|(i, s)| {
            subject.is_none_or(|want| want == s) && id.is_none_or(|want| want == i as i64 + 1)
        })
    }
}

/// One check: Ok when the assertion holds, else ksqlDB's message.
fn check(
    registry: &Registry,
    subject: Option<&str>,
    id: Option<i64>,
    exists: bool,
) -> Result<(), String> {
    let found = registry.holds(subject, id);
    if found == exists {
        return Ok(());
    }
    let subject_text = subject
        .map(|s| format!(" subject name {s}"))
        .unwrap_or_default();
    let id_text = id.map(|i| format!(" id {i}")).unwrap_or_default();
    let word = if exists { "does not exist" } else { "exists" };
    Err(format!("Schema with{subject_text}{id_text} {word}"))
}

/// Checks the assertion until it holds or `timeout` passes (`registry` is asked again each
/// time, as it may be registered to meanwhile); the error is the last check's message.
pub fn assert_schema(
    registry: impl Fn() -> Registry,
    subject: Option<&str>,
    id: Option<i64>,
    exists: bool,
    timeout: Duration,
) -> Result<(), String> {
    if subject.is_none() && id.is_none() {
        return Err("ASSERT SCHEMA statements much include a subject name or an id".into());
    }
    let deadline = Instant::now() + timeout;
    loop {
        let outcome = check(&registry(), subject, id, exists);
        if outcome.is_ok() || Instant::now() + RETRY > deadline {
            return outcome;
        }
        std::thread::sleep(RETRY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        let mut r = Registry::default();
        assert_eq!(r.register("orders", true), 1);
        assert_eq!(r.register("orders", false), 2);
        r
    }

    #[test]
    fn subject_and_id_each_or_both_must_match_one_registration() {
        let r = registry();
        let quick = Duration::ZERO;
        assert!(assert_schema(registry, Some("orders-value"), None, true, quick).is_ok());
        assert!(assert_schema(registry, None, Some(1), true, quick).is_ok());
        assert!(assert_schema(registry, Some("orders-key"), Some(1), true, quick).is_ok());
        assert_eq!(
            check(&r, Some("orders-key"), Some(2), true),
            Err("Schema with subject name orders-key id 2 does not exist".into())
        );
        assert_eq!(
            check(&r, None, Some(7), true),
            Err("Schema with id 7 does not exist".into())
        );
        assert_eq!(
            check(&r, Some("orders-value"), None, false),
            Err("Schema with subject name orders-value exists".into())
        );
        assert!(check(&r, Some("other-value"), None, false).is_ok());
    }

    #[test]
    fn the_check_is_asked_again_until_the_schema_arrives() {
        let asked = std::cell::Cell::new(0);
        let arrives_on_third_look = || {
            asked.set(asked.get() + 1);
            let mut r = Registry::default();
            if asked.get() >= 3 {
                r.register("late", false);
            }
            r
        };
        let outcome = assert_schema(
            arrives_on_third_look,
            Some("late-value"),
            None,
            true,
            Duration::from_secs(30),
        );
        assert_eq!(outcome, Ok(()));
        assert_eq!(asked.get(), 3);
    }
}
