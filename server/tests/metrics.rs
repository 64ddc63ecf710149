//! End-to-end tests of `GET /metrics` over real HTTP: the Prometheus text a scrape returns
//! after persistent queries processed rows (their counts, lag, errors) and after requests
//! (counted by endpoint and status), with push queries open.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use brook_engine::log::Record;
use brook_server::ServerConfig;
use reqwest::blocking::Client;
use serde_json::{json, Value};

mod common;
use common::Fixture;

fn fixture() -> Fixture {
    Fixture::start(ServerConfig::default())
}

/// What these tests ask of the server beyond the shared fixture.
trait Ask {
    fn metrics(&self, client: &Client) -> String;
    /// Scrapes until `ok` holds of the text (queries run on their own threads).
    fn metrics_when(&self, client: &Client, ok: impl Fn(&str) -> bool) -> String;
}

impl Ask for Fixture {
    fn metrics(&self, client: &Client) -> String {
        let r = client.get(self.url("/metrics")).send().unwrap();
        assert_eq!(r.status(), 200);
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
        r.text().unwrap()
    }

    /// Scrapes until `ok` holds of the text (queries run on their own threads).
    fn metrics_when(&self, client: &Client, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.metrics(client);
            if ok(&text) || Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The value of the sample `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            let (series, _) = l.rsplit_once(' ').unwrap_or((l, ""));
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit_once(' ')?.1.parse().ok())
}

fn query_id(v: &Value) -> String {
    v[0]["commandStatus"]["queryId"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn metrics_count_a_querys_records_lag_and_errors() {
    let f = fixture();
    let c = Client::new();
    let (s, v) = f.ksql(
        &c,
        "CREATE STREAM S (ID INT KEY, N INT) WITH (KAFKA_TOPIC='s', PARTITIONS=2, VALUE_FORMAT='JSON');",
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = f.ksql(&c, "CREATE STREAM BIG AS SELECT ID, N FROM S WHERE N > 10;");
    assert_eq!(s, 200, "{v}");
    let filter = query_id(&v);
    let (s, v) = f.ksql(
        &c,
        "CREATE TABLE COUNTS AS SELECT ID, COUNT(*) AS C FROM S GROUP BY ID;",
    );
    assert_eq!(s, 200, "{v}");
    let counts = query_id(&v);

    let inserts: Vec<String> = [(1, 5), (2, 50), (3, 500), (1, 7), (2, 70)]
        .iter()
        .map(|(id, n)| format!("INSERT INTO S (ID, N) VALUES ({id}, {n});"))
        .collect();
    let (s, v) = f.ksql(&c, &inserts.concat());
    assert_eq!(s, 200, "{v}");
    // A record that is not JSON: both queries log it as a processing error.
    {
        let engine = f.engine.lock().unwrap();
        let topic = engine.log().topic("s").unwrap();
        topic.append(0, &[Record::unkeyed("{not json", 0)]).unwrap();
    }

    let q = |id: &str| [("query_id", id.to_string())];
    let text = f.metrics_when(&c, |t| {
        [&filter, &counts].iter().all(|id| {
            let id = id.as_str();
            sample(t, "brook_query_records_in_total", &[("query_id", id)]) == Some(6.0)
                && sample(t, "brook_query_records_failed_total", &[("query_id", id)]) == Some(1.0)
        })
        // The table's updates leave its record cache at the next commit (1 s).
        && sample(t, "brook_query_records_out_total", &[("query_id", counts.as_str())])
            .is_some_and(|n| n >= 3.0)
    });
    for id in [&filter, &counts] {
        let labels = q(id);
        let l: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            sample(&text, "brook_query_records_in_total", &l),
            Some(6.0),
            "{text}"
        );
        assert_eq!(
            sample(&text, "brook_query_records_failed_total", &l),
            Some(1.0),
            "{text}"
        );
        // Lag per source partition, both read to the end.
        for p in ["0", "1"] {
            let mut lp = l.clone();
            lp.extend([("topic", "s"), ("partition", p)]);
            assert_eq!(sample(&text, "brook_query_lag", &lp), Some(0.0), "{text}");
        }
        let rate = sample(&text, "brook_query_records_per_second", &l).unwrap();
        assert!(rate > 0.0, "{text}");
        let last_error = sample(&text, "brook_query_last_error_timestamp_seconds", &l).unwrap();
        assert!(last_error > 1.0e9, "{text}");
        let mut running = l.clone();
        running.push(("status", "RUNNING"));
        assert_eq!(
            sample(&text, "brook_query_running", &running),
            Some(1.0),
            "{text}"
        );
    }
    // Three of the five good rows pass the filter.
    let fl = [("query_id", filter.as_str()), ("sink", "BIG")];
    assert_eq!(
        sample(&text, "brook_query_records_out_total", &fl),
        Some(3.0),
        "{text}"
    );
    // The count writes at least one update per key (record caches may merge some).
    let out = sample(
        &text,
        "brook_query_records_out_total",
        &[("query_id", counts.as_str())],
    )
    .unwrap();
    assert!((3.0..=5.0).contains(&out), "{text}");
    assert_eq!(sample(&text, "brook_persistent_queries", &[]), Some(2.0));
    assert!(
        sample(&text, "brook_state_size_bytes", &[]).unwrap() > 0.0,
        "{text}"
    );
    assert!(
        sample(&text, "brook_data_dir_size_bytes", &[]).unwrap()
            >= sample(&text, "brook_state_size_bytes", &[]).unwrap()
    );
    assert!(
        text.contains("# TYPE brook_query_records_in_total counter"),
        "{text}"
    );

    // A paused query is not running, and no error is counted for it.
    let (s, v) = f.ksql(&c, &format!("PAUSE {counts};"));
    assert_eq!(s, 200, "{v}");
    let paused = [("query_id", counts.as_str()), ("status", "PAUSED")];
    let text = f.metrics_when(&c, |t| sample(t, "brook_query_running", &paused).is_some());
    assert_eq!(
        sample(&text, "brook_query_running", &paused),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "brook_query_records_failed_total",
            &[("query_id", counts.as_str())]
        ),
        Some(1.0)
    );

    // A terminated query is gone from the metrics.
    let (s, v) = f.ksql(&c, &format!("TERMINATE {filter};"));
    assert_eq!(s, 200, "{v}");
    let text = f.metrics(&c);
    assert_eq!(
        sample(
            &text,
            "brook_query_records_in_total",
            &[("query_id", filter.as_str())]
        ),
        None
    );
}

#[test]
fn metrics_count_requests_by_endpoint_and_status_and_open_push_queries() {
    let f = fixture();
    let c = Client::new();
    for _ in 0..3 {
        assert_eq!(f.ksql(&c, "SHOW STREAMS;").0, 200);
    }
    assert_eq!(f.ksql(&c, "SHOW STREEMS;").0, 400);
    assert_eq!(c.get(f.url("/nope")).send().unwrap().status(), 404);
    assert_eq!(
        c.get(f.url("/status/stream/`X`/create"))
            .send()
            .unwrap()
            .status(),
        404
    );
    assert_eq!(c.get(f.url("/ksql")).send().unwrap().status(), 405);
    let (s, _) = f.ksql(
        &c,
        "CREATE STREAM S (ID INT KEY, N INT) WITH (KAFKA_TOPIC='s', PARTITIONS=1, VALUE_FORMAT='JSON');",
    );
    assert_eq!(s, 200);

    // Two push queries streaming.
    let mut streams = Vec::new();
    for _ in 0..2 {
        let r = c
            .post(f.url("/query-stream"))
            .body(json!({"sql": "SELECT * FROM S EMIT CHANGES;"}).to_string())
            .send()
            .unwrap();
        let mut reader = BufReader::new(r);
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        assert!(header.contains("queryId"), "{header}");
        streams.push(reader);
    }

    let text = f.metrics(&c);
    let requests = |method: &str, endpoint: &str, status: &str| {
        sample(
            &text,
            "brook_http_requests_total",
            &[
                ("method", method),
                ("endpoint", endpoint),
                ("status", status),
            ],
        )
    };
    assert_eq!(requests("POST", "/ksql", "200"), Some(4.0), "{text}");
    assert_eq!(requests("POST", "/ksql", "400"), Some(1.0), "{text}");
    assert_eq!(requests("GET", "unmatched", "404"), Some(1.0), "{text}");
    // Paths with ids are counted under their route's pattern.
    assert_eq!(
        requests("GET", "/status/{kind}/{entity}/{action}", "404"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        requests("POST", "/query-stream", "200"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "brook_push_queries_open", &[]),
        Some(2.0),
        "{text}"
    );
    let wrong_method = requests("GET", "/ksql", "405").or(requests("GET", "unmatched", "405"));
    assert_eq!(wrong_method, Some(1.0), "{text}");

    // Latency by endpoint: one observation per request.
    assert_eq!(
        sample(
            &text,
            "brook_http_request_duration_seconds_count",
            &[("method", "POST"), ("endpoint", "/ksql")]
        ),
        Some(5.0),
        "{text}"
    );
    assert!(text.contains("# TYPE brook_http_request_duration_seconds histogram"));

    // Closing the streams closes the push queries.
    drop(streams);
    let text = f.metrics_when(&c, |t| {
        sample(t, "brook_push_queries_open", &[]) == Some(0.0)
    });
    assert_eq!(
        sample(&text, "brook_push_queries_open", &[]),
        Some(0.0),
        "{text}"
    );
    // The scrapes themselves are counted.
    let scrapes = sample(
        &text,
        "brook_http_requests_total",
        &[("endpoint", "/metrics"), ("status", "200")],
    )
    .unwrap();
    assert!(scrapes >= 1.0, "{text}");
}
