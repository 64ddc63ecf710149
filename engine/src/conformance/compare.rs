//! compare.rs owns comparing a case's expected records with the records a run produced:
//! logical JSON equality (numbers by value, a decimal written as a string equals the same
//! number) and the side-by-side rendering of a mismatch.

use serde_json::Value;

/// A record as a case writes it: logical key and value, timestamp, window.
#[derive(Debug, Clone, PartialEq)]
pub struct LogicalRecord {
    pub key: Value,
    pub value: Value,
    pub timestamp: Option<i64>,
    /// `{"start", "end", "type"}`.
    pub window: Option<Value>,
}

impl LogicalRecord {
    pub fn render(&self) -> String {
        let mut s = format!("key={} value={}", compact(&self.key), compact(&self.value));
        if let Some(t) = self.timestamp {
            s.push_str(&format!(" timestamp={t}"));
        }
        if let Some(w) = &self.window {
            s.push_str(&format!(
                " window=[{}, {})",
                w.get("start").map(compact).unwrap_or_default(),
                w.get("end").map(compact).unwrap_or_default()
            ));
        }
        s
    }
}

fn compact(v: &Value) -> String {
    v.to_string()
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// Logical equality of two JSON values.
pub fn json_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => {
            if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
                return x == y;
            }
            match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
                _ => false,
            }
        }
        (Value::Number(_), Value::String(_)) | (Value::String(_), Value::Number(_)) => {
            match (as_number(expected), as_number(actual)) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_equal(x, y))
        }
        // As ksqlDB's ExpectedRecordComparator: a field is looked up as the case writes it,
        // then upper-cased.
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter().all(|(k, v)| {
                    let w = match b.get(k) {
                        Some(Value::Null) | None => b.get(&k.to_uppercase()),
                        w => w,
                    };
                    match w {
                        Some(w) => json_equal(v, w),
                        None => v.is_null(),
                    }
                })
        }
        _ => expected == actual,
    }
}

/// Whether `actual` is the record `expected` describes (a missing expected timestamp or
/// window is not checked).
pub fn record_matches(expected: &LogicalRecord, actual: &LogicalRecord) -> bool {
    json_equal(&expected.key, &actual.key)
        && json_equal(&expected.value, &actual.value)
        && expected
            .timestamp
            .is_none_or(|t| actual.timestamp == Some(t))
        && match (&expected.window, &actual.window) {
            (None, _) => true,
            (Some(e), Some(a)) => {
                json_equal(&e["start"], &a["start"]) && json_equal(&e["end"], &a["end"])
            }
            (Some(_), None) => false,
        }
}

/// The first difference between the expected and actual records of one topic, rendered
/// as expected vs actual, or `None` when they match.
pub fn diff_topic(
    topic: &str,
    expected: &[LogicalRecord],
    actual: &[LogicalRecord],
) -> Option<String> {
    for (i, e) in expected.iter().enumerate() {
        match actual.get(i) {
            None => {
                return Some(format!(
                    "topic {topic}: expected {} records, got {}\n  missing record {}: {}",
                    expected.len(),
                    actual.len(),
                    i + 1,
                    e.render()
                ))
            }
            Some(a) if !record_matches(e, a) => {
                return Some(format!(
                    "topic {topic}, record {} of {}:\n  expected: {}\n  actual:   {}",
                    i + 1,
                    expected.len(),
                    e.render(),
                    a.render()
                ))
            }
            _ => {}
        }
    }
    if actual.len() > expected.len() {
        return Some(format!(
            "topic {topic}: expected {} records, got {}\n  unexpected record {}: {}",
            expected.len(),
            actual.len(),
            expected.len() + 1,
            actual[expected.len()].render()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_equal(&json!(1), &json!(1.0)));
        assert!(json_equal(&json!("1.50"), &json!(1.5)));
        assert!(!json_equal(&json!(1), &json!(2)));
        assert!(!json_equal(&json!({"A": 1}), &json!({"A": 1, "B": null})));
        assert!(json_equal(
            &json!([1, {"X": "a"}]),
            &json!([1.0, {"X": "a"}])
        ));
    }

    #[test]
    fn diff_names_the_record() {
        let r = |v: i64| LogicalRecord {
            key: json!("k"),
            value: json!({"V": v}),
            timestamp: Some(0),
            window: None,
        };
        assert!(diff_topic("T", &[r(1)], &[r(1)]).is_none());
        let d = diff_topic("T", &[r(1), r(2)], &[r(1), r(3)]).unwrap();
        assert!(d.contains("record 2 of 2"), "{d}");
        assert!(d.contains(r#"{"V":2}"#) && d.contains(r#"{"V":3}"#), "{d}");
        let d = diff_topic("T", &[r(1)], &[]).unwrap();
        assert!(d.contains("expected 1 records, got 0"), "{d}");
    }
}
