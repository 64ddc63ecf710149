//! properties.rs owns what SHOW PROPERTIES lists: every query property Brook reads, with
//! ksqlDB's default and the value in effect (the session's, where SET), plus any other
//! property the session set; and which of them ALTER SYSTEM may set server-wide.

use std::collections::BTreeMap;

use super::query::{ProcessingGuarantee, DEFAULT_COMMIT_INTERVAL};
use super::results::Property;

/// The properties Brook reads, with their defaults (each is also read with its
/// `ksql.streams.` prefix where Kafka Streams defines it).
fn known(guarantee: ProcessingGuarantee) -> Vec<(&'static str, String)> {
    vec![
        ("auto.offset.reset", "latest".into()),
        ("cache.max.bytes.buffering", "10485760".into()),
        (
            "commit.interval.ms",
            DEFAULT_COMMIT_INTERVAL.as_millis().to_string(),
        ),
        ("ksql.assert.schema.default.timeout.ms", "1000".into()),
        ("ksql.assert.topic.default.timeout.ms", "1000".into()),
        ("ksql.new.query.planner.enabled", "false".into()),
        ("ksql.persistence.default.format.key", "KAFKA".into()),
        ("ksql.persistence.default.format.value", String::new()),
        ("ksql.query.pull.limit.clause.enabled", "true".into()),
        ("ksql.query.pull.table.scan.enabled", "true".into()),
        ("ksql.query.push.v2.enabled", "false".into()),
        ("processing.guarantee", guarantee.name().to_string()),
    ]
}

/// SHOW PROPERTIES: the known properties (the session's value where it set one, else the
/// default), then every other property the session set; sorted by name. An UNSET property
/// (set to the empty string) is back at its default; `guarantee` is the engine's default
/// processing guarantee.
pub fn listing(
    session: &BTreeMap<String, String>,
    guarantee: ProcessingGuarantee,
) -> Vec<Property> {
    let set = |name: &str| {
        [name.to_string(), format!("ksql.streams.{name}")]
            .into_iter()
            .find_map(|n| session.get(&n).filter(|v| !v.is_empty()).cloned())
    };
    let known = known(guarantee);
    let mut out: Vec<Property> = known
        .iter()
        .map(|(name, default)| match set(name) {
            Some(value) => Property {
                name: name.to_string(),
                value,
                overridden: true,
            },
            None => Property {
                name: name.to_string(),
                value: default.clone(),
                overridden: false,
            },
        })
        .collect();
    for (name, value) in session {
        let bare = name.strip_prefix("ksql.streams.").unwrap_or(name);
        if value.is_empty() || known.iter().any(|(k, _)| *k == bare) {
            continue;
        }
        out.push(Property {
            name: name.clone(),
            value: value.clone(),
            overridden: true,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// ALTER SYSTEM sets only the properties Brook reads (those SHOW PROPERTIES lists, bare or
/// with their `ksql.streams.` prefix): a server-wide value of anything else would change
/// nothing. The error names what may be set.
pub fn check_system_property(name: &str) -> Result<(), String> {
    let known = known(ProcessingGuarantee::default());
    let bare = name.strip_prefix("ksql.streams.").unwrap_or(name);
    if known.iter().any(|(k, _)| *k == bare) {
        return Ok(());
    }
    let names: Vec<&str> = known.iter().map(|(k, _)| *k).collect();
    Err(format!(
        "Cannot set system property '{name}' with ALTER SYSTEM: Brook reads no such \
         server-wide property. Properties ALTER SYSTEM can set: {}",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alter_system_sets_only_properties_brook_reads() {
        assert!(check_system_property("auto.offset.reset").is_ok());
        assert!(check_system_property("ksql.streams.auto.offset.reset").is_ok());
        assert!(check_system_property("ksql.assert.schema.default.timeout.ms").is_ok());
        let e = check_system_property("ksql.no.such.thing").unwrap_err();
        assert!(e.contains("'ksql.no.such.thing'") && e.contains("commit.interval.ms"));
    }

    #[test]
    fn defaults_show_until_the_session_sets_a_value() {
        let mut session = BTreeMap::new();
        let listed = listing(&session, ProcessingGuarantee::default());
        let reset = listed
            .iter()
            .find(|p| p.name == "auto.offset.reset")
            .unwrap();
        assert_eq!((reset.value.as_str(), reset.overridden), ("latest", false));
        let commit = listed
            .iter()
            .find(|p| p.name == "commit.interval.ms")
            .unwrap();
        assert_eq!(
            commit.value,
            DEFAULT_COMMIT_INTERVAL.as_millis().to_string()
        );

        session.insert("ksql.streams.auto.offset.reset".into(), "earliest".into());
        session.insert("my.own.setting".into(), "x".into());
        session.insert("commit.interval.ms".into(), String::new());
        let listed = listing(&session, ProcessingGuarantee::default());
        let reset = listed
            .iter()
            .find(|p| p.name == "auto.offset.reset")
            .unwrap();
        assert_eq!((reset.value.as_str(), reset.overridden), ("earliest", true));
        assert!(!listed
            .iter()
            .any(|p| p.name == "ksql.streams.auto.offset.reset"));
        let own = listed.iter().find(|p| p.name == "my.own.setting").unwrap();
        assert!(own.overridden);
        let commit = listed
            .iter()
            .find(|p| p.name == "commit.interval.ms")
            .unwrap();
        assert!(!commit.overridden, "UNSET returns to the default");
        let names: Vec<&str> = listed.iter().map(|p| p.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }
}
