//! End-to-end test of `brook bench nexmark` through the real binary: a small run that keeps
//! its data directory, then every query's sink is read back from the log and checked against
//! results computed here from the generated events.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use brook_log::{IsolationLevel, Log, LogOptions, ReadLimit};
use serde_json::Value;

/// Values of a topic's committed records, as JSON, in order (one partition).
fn values(log: &Log, topic: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for p in log.topic(topic).expect("topic exists").partitions() {
        let mut pos = p.start_offset();
        loop {
            let read = p
                .read_isolated(
                    pos,
                    ReadLimit::records(65536),
                    IsolationLevel::ReadCommitted,
                )
                .unwrap();
            for record in &read.records {
                let value = record.value.as_ref().expect("no tombstones");
                out.push(serde_json::from_slice(value).expect("JSON value"));
            }
            if read.next_offset == pos {
                break;
            }
            pos = read.next_offset;
        }
    }
    out
}

fn int(v: &Value, field: &str) -> i64 {
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

fn run_bench(dir: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_brook"))
        .args([
            "bench", "nexmark", "--events", "30000", "--rate", "1000", "--keep",
        ])
        .arg("--dir")
        .arg(dir)
        .output()
        .expect("brook runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "brook bench nexmark failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn every_nexmark_query_writes_the_results_computed_from_the_events() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nexmark");
    let stdout = run_bench(&dir);
    assert!(stdout.contains("wrote 30000 events (600 persons, 1800 auctions, 27600 bids"));
    for q in ["q0", "q1", "q2", "q5", "q7", "q8"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{q} ")))
            .unwrap_or_else(|| panic!("no line for {q} in\n{stdout}"));
        assert!(line.contains("events/s"), "{line}");
    }

    let log = Log::open(&dir, LogOptions::default()).unwrap();
    let bids = values(&log, "nexmark_bid");
    let persons = values(&log, "nexmark_person");
    let auctions = values(&log, "nexmark_auction");
    assert_eq!(
        (persons.len(), auctions.len(), bids.len()),
        (600, 1800, 27600)
    );
    let last_time = int(bids.last().unwrap(), "dateTime");

    // q0: every bid, projected, in order.
    let q0 = values(&log, "Q0");
    assert_eq!(q0.len(), bids.len());
    for (out, bid) in q0.iter().zip(&bids) {
        for (column, field) in [
            ("AUCTION", "auction"),
            ("BIDDER", "bidder"),
            ("PRICE", "price"),
            ("DATETIME", "dateTime"),
            ("EXTRA", "extra"),
        ] {
            assert_eq!(out[column], bid[field], "q0 {column} of {bid}");
        }
        assert!(out.get("URL").is_none());
    }

    // q1: prices in euros (0.908 a dollar).
    let q1 = values(&log, "Q1");
    assert_eq!(q1.len(), bids.len());
    for (out, bid) in q1.iter().zip(&bids) {
        let euros = out["PRICE"].as_f64().expect("numeric PRICE");
        let wanted = int(bid, "price") as f64 * 0.908;
        assert!((euros - wanted).abs() < 1e-6, "q1 {euros} for {bid}");
        assert_eq!(out["AUCTION"], bid["auction"]);
    }

    // q2: the bids on auctions whose id is a multiple of 123.
    let q2: Vec<(i64, i64)> = values(&log, "Q2")
        .iter()
        .map(|v| (int(v, "AUCTION"), int(v, "PRICE")))
        .collect();
    let wanted: Vec<(i64, i64)> = bids
        .iter()
        .map(|b| (int(b, "auction"), int(b, "price")))
        .filter(|(auction, _)| auction % 123 == 0)
        .collect();
    assert!(!wanted.is_empty());
    assert_eq!(q2, wanted);

    // q7: per 10 s window, the bids with the window's highest price. Windows end when a
    // later bid arrives; the last one is still open.
    let mut max_price: BTreeMap<i64, i64> = BTreeMap::new();
    for b in &bids {
        let start = int(b, "dateTime") / 10_000 * 10_000;
        let price = max_price.entry(start).or_default();
        *price = (*price).max(int(b, "price"));
    }
    let closed = |start: i64, size: i64| start + size <= last_time;
    let wanted: BTreeSet<(i64, i64, i64)> = bids
        .iter()
        .filter(|b| {
            let start = int(b, "dateTime") / 10_000 * 10_000;
            closed(start, 10_000) && max_price[&start] == int(b, "price")
        })
        .map(|b| (int(b, "auction"), int(b, "price"), int(b, "dateTime")))
        .collect();
    let q7: BTreeSet<(i64, i64, i64)> = values(&log, "Q7")
        .iter()
        .map(|v| (int(v, "AUCTION"), int(v, "PRICE"), int(v, "DATETIME")))
        .collect();
    assert!(!wanted.is_empty());
    assert_eq!(q7, wanted);

    // q5: per 10 s window sliding by 2 s, the auctions with the most bids. A window's
    // maximum is known once the next window's counts arrive: the last two are left out.
    let mut counts: HashMap<(i64, i64), i64> = HashMap::new();
    for b in &bids {
        let time = int(b, "dateTime");
        let mut start = time / 2_000 * 2_000;
        while start > time - 10_000 {
            *counts.entry((start, int(b, "auction"))).or_default() += 1;
            start -= 2_000;
        }
    }
    let mut most: BTreeMap<i64, i64> = BTreeMap::new();
    for ((start, _), n) in &counts {
        let m = most.entry(*start).or_default();
        *m = (*m).max(*n);
    }
    let q5: BTreeSet<(i64, i64, i64)> = values(&log, "Q5")
        .iter()
        .map(|v| (int(v, "WINDOW_START"), int(v, "AUCTION"), int(v, "NUM")))
        .collect();
    for (start, auction, num) in &q5 {
        assert_eq!(counts[&(*start, *auction)], *num, "q5 count");
        assert_eq!(
            most[start], *num,
            "q5 {auction} is not the hottest of {start}"
        );
    }
    let wanted: BTreeSet<(i64, i64, i64)> = counts
        .iter()
        .filter(|((start, _), n)| closed(*start, 12_000) && most[start] == **n)
        .map(|((start, auction), n)| (*start, *auction, *n))
        .collect();
    assert!(!wanted.is_empty());
    assert!(
        wanted.is_subset(&q5),
        "q5 misses {:?}",
        wanted.difference(&q5)
    );

    // q8: persons who opened an auction in the 10 s window they registered in, once per
    // window; windows close 10 s (their grace) after their end.
    let registered: HashMap<i64, i64> = persons
        .iter()
        .map(|p| (int(p, "id"), int(p, "dateTime") / 10_000 * 10_000))
        .collect();
    let wanted: BTreeSet<(i64, i64)> = auctions
        .iter()
        .filter_map(|a| {
            let start = int(a, "dateTime") / 10_000 * 10_000;
            let seller = int(a, "seller");
            (registered.get(&seller) == Some(&start)).then_some((seller, start))
        })
        .collect();
    let q8: BTreeSet<(i64, i64)> = values(&log, "Q8")
        .iter()
        .map(|v| (int(v, "PERSON_ID"), int(v, "STARTTIME")))
        .collect();
    assert!(
        q8.is_subset(&wanted),
        "q8 extra {:?}",
        q8.difference(&wanted)
    );
    let closed_wanted: BTreeSet<(i64, i64)> = wanted
        .iter()
        .filter(|(_, start)| closed(*start, 20_000))
        .copied()
        .collect();
    assert!(!closed_wanted.is_empty());
    assert!(
        closed_wanted.is_subset(&q8),
        "q8 misses {:?}",
        closed_wanted.difference(&q8)
    );
}

#[test]
fn unknown_queries_and_zero_events_are_refused_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_brook"))
            .args(["bench", "nexmark", "--dir"])
            .arg(tmp.path().join("n"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--queries", "q0,q42"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown Nexmark query 'q42'"));
    let out = run(&["--events", "0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--events"));
    assert!(!tmp.path().join("n").exists());
}
