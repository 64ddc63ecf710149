//! Helpers shared by the engine's end-to-end tests (each test file includes this module
//! with `mod common;` and uses a part of it): engine options for tests, reading a topic
//! whole at an isolation level, waiting for the queries, inserting into a stream.

#![allow(dead_code)]

use std::time::Duration;

use brook_engine::log::{Bytes, IsolationLevel, ReadLimit, StoredRecord};
use brook_engine::runtime::{Engine, EngineOptions};

/// Options for tests: no fsync of state, no processing-log stream.
pub fn options() -> EngineOptions {
    EngineOptions {
        fsync_state: false,
        processing_log_stream: false,
        ..EngineOptions::default()
    }
}

/// Every record of `topic` at `isolation`, partition after partition (none if the topic
/// does not exist).
pub fn read_topic(engine: &Engine, topic: &str, isolation: IsolationLevel) -> Vec<StoredRecord> {
    let Ok(t) = engine.log().topic(topic) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in t.partitions() {
        let mut pos = p.start_offset();
        loop {
            let read = p
                .read_isolated(pos, ReadLimit::records(10_000), isolation)
                .unwrap();
            out.extend(read.records);
            if read.next_offset == pos {
                break;
            }
            pos = read.next_offset;
        }
    }
    out
}

/// Every committed record of `topic`.
pub fn committed_records(engine: &Engine, topic: &str) -> Vec<StoredRecord> {
    read_topic(engine, topic, IsolationLevel::ReadCommitted)
}

/// A key or value as text (`<null>` for none).
pub fn text(b: &Option<Bytes>) -> String {
    b.as_deref()
        .map_or("<null>".into(), |b| String::from_utf8_lossy(b).into_owned())
}

/// Waits until the queries have caught up and committed; fails after 20 s.
pub fn idle(engine: &mut Engine) {
    assert!(
        engine.wait_until_idle(Duration::from_secs(20)).unwrap(),
        "the queries did not catch up within 20 s"
    );
}

/// `INSERT INTO s (id, v) VALUES ('k<v>', v)` for each value.
pub fn insert(engine: &mut Engine, values: std::ops::Range<i32>) {
    for v in values {
        engine
            .execute(&format!("INSERT INTO s (id, v) VALUES ('k{v}', {v});"))
            .unwrap();
    }
}
