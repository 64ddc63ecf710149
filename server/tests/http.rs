//! End-to-end tests of brook-server over real HTTP/1.1 and HTTP/2 (prior knowledge): a
//! server on a loopback port over an engine in a temporary directory, driven by reqwest.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use brook_server::ServerConfig;
use reqwest::blocking::Client;
use serde_json::{json, Value};

mod common;
use common::Fixture;

/// A server with a 64 KiB body limit.
fn fixture() -> Fixture {
    Fixture::start(ServerConfig {
        max_body_bytes: 64 * 1024,
        ..ServerConfig::default()
    })
}

/// What these tests ask of the server beyond the shared fixture.
trait Ask {
    /// Waits until SHOW QUERIES lists exactly `n` push queries.
    fn wait_push_queries(&self, client: &Client, n: usize) -> bool;
}

impl Ask for Fixture {
    /// Waits until SHOW QUERIES lists exactly `n` push queries.
    fn wait_push_queries(&self, client: &Client, n: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let (_, v) = self.ksql(client, "SHOW QUERIES;");
            let push = v[0]["queries"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|q| q["queryType"] == "PUSH")
                .count();
            if push == n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

fn h1() -> Client {
    Client::builder().http1_only().build().unwrap()
}

fn h2() -> Client {
    Client::builder().http2_prior_knowledge().build().unwrap()
}

#[test]
fn statements_answer_ksqldb_entities() {
    let f = fixture();
    for client in [h1(), h2()] {
        let (s, v) = f.ksql(
            &client,
            "CREATE STREAM IF NOT EXISTS S (ID INT KEY, V STRING) WITH (KAFKA_TOPIC='s', PARTITIONS=2, VALUE_FORMAT='JSON');",
        );
        assert_eq!(s, 200, "{v}");
        assert_eq!(v[0]["@type"], "currentStatus");
        assert_eq!(v[0]["commandStatus"]["status"], "SUCCESS");
        assert!(v[0]["commandSequenceNumber"].is_number());
    }
    let c = h1();
    let (_, v) = f.ksql(
        &c,
        "CREATE TABLE T AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;",
    );
    assert_eq!(v[0]["@type"], "currentStatus", "{v}");
    let query_id = v[0]["commandStatus"]["queryId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(query_id.starts_with("CTAS_T"), "{v}");
    assert_eq!(v[0]["commandId"], "table/`T`/create");

    let (_, v) = f.ksql(&c, "SHOW STREAMS; SHOW TABLES; LIST TOPICS; SHOW QUERIES; SHOW PROPERTIES; SHOW FUNCTIONS; SHOW TYPES; SHOW VARIABLES;");
    let types: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["@type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "streams",
            "tables",
            "kafka_topics",
            "queries",
            "properties",
            "function_names",
            "type_list",
            "variables"
        ]
    );
    assert!(v[0]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "S" && s["topic"] == "s"));
    assert_eq!(v[1]["tables"][0]["name"], "T");
    assert!(v[2]["topics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "s" && t["replicaInfo"].as_array().unwrap().len() == 2));
    assert_eq!(v[3]["queries"][0]["id"], query_id.as_str());
    assert!(v[5]["functions"].as_array().unwrap().len() > 50);

    let (_, v) = f.ksql(&c, "DESCRIBE S EXTENDED;");
    let d = &v[0]["sourceDescription"];
    assert_eq!(v[0]["@type"], "sourceDescription");
    assert_eq!(d["fields"][0]["name"], "ID");
    assert_eq!(d["fields"][0]["type"], "KEY");
    assert_eq!(d["fields"][1]["schema"]["type"], "STRING");
    assert_eq!(d["readQueries"][0]["id"], query_id.as_str());
    assert_eq!(d["partitions"], 2);

    let (_, v) = f.ksql(&c, &format!("EXPLAIN {query_id};"));
    assert_eq!(v[0]["@type"], "queryDescription");
    assert_eq!(v[0]["queryDescription"]["id"], query_id.as_str());

    let (_, v) = f.ksql(&c, "DESCRIBE FUNCTION SUBSTRING;");
    assert_eq!(v[0]["@type"], "describe_function");
    assert!(!v[0]["functions"].as_array().unwrap().is_empty());

    // The command's status.
    let r: Value = c.get(f.url("/status")).send().unwrap().json().unwrap();
    assert_eq!(r["commandStatuses"]["table/`T`/create"], "SUCCESS");
    let r = c.get(f.url("/status/table/`T`/create")).send().unwrap();
    assert_eq!(r.status(), 200);
    let r = c.get(f.url("/status/table/`NOPE`/create")).send().unwrap();
    assert_eq!(r.status(), 404);
}

#[test]
fn errors_are_ksqldb_error_entities() {
    let f = fixture();
    let c = h1();
    // Bad SQL.
    let (s, v) = f.ksql(&c, "CREATE STREM X;");
    assert_eq!(s, 400);
    assert_eq!(v["@type"], "statement_error");
    assert_eq!(v["error_code"], 40001);
    assert!(v["message"].as_str().unwrap().contains("line 1:"), "{v}");
    // A failing statement after one that ran: its entity comes with the error.
    let (s, v) = f.ksql(&c, "CREATE STREAM A (V INT) WITH (KAFKA_TOPIC='a', PARTITIONS=1, VALUE_FORMAT='JSON'); DROP STREAM NOPE;");
    assert_eq!(s, 400);
    assert_eq!(v["entities"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["statementText"], "DROP STREAM NOPE;");
    // SELECT belongs to the query endpoints.
    let (s, v) = f.ksql(&c, "SELECT * FROM A EMIT CHANGES;");
    assert_eq!((s, v["error_code"].as_u64()), (400, Some(40002)));
    // Malformed JSON, empty body, wrong shape.
    for body in ["{not json", "", "{\"sql\": 1}"] {
        let r = c.post(f.url("/ksql")).body(body).send().unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let v: Value = r.json().unwrap();
        assert_eq!(v["error_code"], 40000);
    }
    // Unknown endpoint, wrong method.
    let r = c.get(f.url("/nope")).send().unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().unwrap()["error_code"], 40400);
    let r = c.get(f.url("/ksql")).send().unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.json::<Value>().unwrap()["error_code"], 40500);
    // Too large.
    let big = json!({"ksql": "x".repeat(100 * 1024)}).to_string();
    let r = c.post(f.url("/ksql")).body(big).send().unwrap();
    assert_eq!(r.status(), 413);
    // RUN SCRIPT is refused.
    let (s, v) = f.ksql(&c, "RUN SCRIPT '/etc/passwd';");
    assert_eq!(s, 400);
    assert!(
        v["message"].as_str().unwrap().contains("not allowed"),
        "{v}"
    );
    // The server still answers.
    assert_eq!(c.get(f.url("/info")).send().unwrap().status(), 200);
}

#[test]
fn info_endpoints() {
    let f = fixture();
    for c in [h1(), h2()] {
        let v: Value = c.get(f.url("/info")).send().unwrap().json().unwrap();
        assert_eq!(v["KsqlServerInfo"]["serverStatus"], "RUNNING");
        assert!(v["KsqlServerInfo"]["version"].is_string());
        let v: Value = c.get(f.url("/healthcheck")).send().unwrap().json().unwrap();
        assert_eq!(v["isHealthy"], true);
        let v: Value = c
            .get(f.url("/clusterStatus"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert!(v["clusterStatus"].as_object().unwrap().len() == 1);
        let r = c
            .get(f.url("/is_valid_property/ksql.streams.auto.offset.reset"))
            .send()
            .unwrap();
        assert_eq!(r.json::<Value>().unwrap(), Value::Bool(true));
        let r = c
            .get(f.url("/is_valid_property/nonsense.property"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 400);
    }
}

fn setup_stream(f: &Fixture, c: &Client) {
    let (s, v) = f.ksql(
        c,
        "CREATE STREAM S (ID INT KEY, V STRING) WITH (KAFKA_TOPIC='s', PARTITIONS=1, VALUE_FORMAT='JSON');",
    );
    assert_eq!(s, 200, "{v}");
}

#[test]
fn pull_and_limited_push_queries_on_both_apis() {
    let f = fixture();
    let c = h1();
    setup_stream(&f, &c);
    let (s, _) = f.ksql(
        &c,
        "INSERT INTO S (ID, V) VALUES (1, 'a'); INSERT INTO S (ID, V) VALUES (2, 'b');",
    );
    assert_eq!(s, 200);
    // v1, a query over a stream that ends: header, rows, final message.
    let r = c
        .post(f.url("/query"))
        .body(json!({"ksql": "SELECT * FROM S;"}).to_string())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    let items = v.as_array().unwrap();
    assert_eq!(items[0]["header"]["schema"], "`ID` INTEGER, `V` STRING");
    assert_eq!(items[1]["row"]["columns"], json!([1, "a"]));
    assert_eq!(items[3]["finalMessage"], "Query Completed");
    // v1 push with LIMIT, from the start.
    let r = c
        .post(f.url("/query"))
        .body(json!({"ksql": "SELECT V FROM S EMIT CHANGES LIMIT 2;", "streamsProperties": {"auto.offset.reset": "earliest"}}).to_string())
        .send()
        .unwrap();
    let v: Value = r.json().unwrap();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 4, "{v}");
    assert_eq!(items[2]["row"]["columns"], json!(["b"]));
    assert_eq!(items[3]["finalMessage"], "Limit Reached");
    // v2 as one JSON array.
    for client in [h1(), h2()] {
        let r = client
            .post(f.url("/query-stream"))
            .header("Accept", "application/json")
            .body(json!({"sql": "SELECT * FROM S EMIT CHANGES LIMIT 2;", "properties": {"auto.offset.reset": "earliest"}}).to_string())
            .send()
            .unwrap();
        let v: Value = r.json().unwrap();
        assert_eq!(v[0]["columnNames"], json!(["ID", "V"]));
        assert_eq!(v[0]["columnTypes"], json!(["INTEGER", "STRING"]));
        assert_eq!(v[1], json!([1, "a"]));
        assert_eq!(v.as_array().unwrap().len(), 3);
    }
    assert!(f.wait_push_queries(&c, 0));
}

/// Reads a delimited /query-stream response line by line.
fn read_line(reader: &mut impl BufRead) -> Value {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

fn live_push(f: &Fixture, client: Client) {
    let c = h1();
    let r = client
        .post(f.url("/query-stream"))
        .header("Accept", "application/vnd.ksqlapi.delimited.v1")
        .body(json!({"sql": "SELECT ID, V FROM S EMIT CHANGES;"}).to_string())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut reader = BufReader::new(r);
    let meta = read_line(&mut reader);
    let query_id = meta["queryId"].as_str().unwrap().to_string();
    assert!(f.wait_push_queries(&c, 1));
    // Rows inserted while it runs come out.
    for i in 0..3 {
        f.ksql(&c, &format!("INSERT INTO S (ID, V) VALUES ({i}, 'v{i}');"));
        assert_eq!(read_line(&mut reader), json!([i, format!("v{i}")]));
    }
    // /close-query ends it and frees it.
    let r = c
        .post(f.url("/close-query"))
        .body(json!({ "queryId": query_id }).to_string())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    assert!(f.wait_push_queries(&c, 0));
    let r = c
        .post(f.url("/close-query"))
        .body(json!({ "queryId": query_id }).to_string())
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[test]
fn push_query_streams_rows_and_closes_over_http1() {
    let f = fixture();
    setup_stream(&f, &h1());
    live_push(&f, h1());
}

#[test]
fn push_query_streams_rows_and_closes_over_http2() {
    let f = fixture();
    setup_stream(&f, &h1());
    live_push(&f, h2());
}

#[test]
fn dropping_the_connection_ends_the_push_query() {
    let f = fixture();
    let c = h1();
    setup_stream(&f, &c);
    for client in [h1(), h2()] {
        let r = client
            .post(f.url("/query-stream"))
            .body(json!({"sql": "SELECT * FROM S EMIT CHANGES;"}).to_string())
            .send()
            .unwrap();
        let mut reader = BufReader::new(r);
        read_line(&mut reader);
        assert!(f.wait_push_queries(&c, 1));
        // The response and its client go away (an HTTP/2 stream is reset, an HTTP/1.1
        // connection closed).
        drop(reader);
        drop(client);
        assert!(
            f.wait_push_queries(&c, 0),
            "the push query outlived its client"
        );
    }
}

#[test]
fn inserts_stream_acks_each_row() {
    let f = fixture();
    let c = h1();
    setup_stream(&f, &c);
    for client in [h1(), h2()] {
        let body = "{\"target\":\"S\"}\n{\"ID\": 7, \"V\": \"x\"}\n{\"ID\": \"not a number\"}\n{\"id\": 8, \"v\": \"y\"}\nnot json\n";
        let r = client
            .post(f.url("/inserts-stream"))
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().unwrap();
        let acks: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(acks.len(), 4, "{text}");
        assert_eq!(acks[0], json!({"status": "ok", "seq": 0}));
        assert_eq!(acks[1]["status"], "error");
        assert_eq!(acks[2], json!({"status": "ok", "seq": 2}));
        assert_eq!(acks[3]["status"], "error");
    }
    let r = c
        .post(f.url("/query"))
        .body(json!({"ksql": "SELECT * FROM S;"}).to_string())
        .send()
        .unwrap();
    let v: Value = r.json().unwrap();
    // header, 4 rows, final message.
    assert_eq!(v.as_array().unwrap().len(), 6, "{v}");
    // An unknown target is refused up front.
    let r = c
        .post(f.url("/inserts-stream"))
        .body("{\"target\":\"NOPE\"}\n")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[test]
fn a_scalable_push_query_attaches_to_a_running_query() {
    let f = fixture();
    let c = h1();
    setup_stream(&f, &c);
    let (s, v) = f.ksql(
        &c,
        "CREATE STREAM UPPER AS SELECT ID, UCASE(V) AS U FROM S;",
    );
    assert_eq!(s, 200, "{v}");
    let r = c
        .post(f.url("/query-stream"))
        .header("Accept", "application/vnd.ksqlapi.delimited.v1")
        .body(
            json!({"sql": "SELECT * FROM UPPER WHERE ID > 0 EMIT CHANGES;",
                   "properties": {"ksql.query.push.v2.enabled": "true"}})
            .to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut reader = BufReader::new(r);
    let meta = read_line(&mut reader);
    // ksqlDB names scalable push queries apart from transient ones.
    let id = meta["queryId"].as_str().unwrap();
    assert!(id.starts_with("SCALABLE_PUSH_QUERY_"), "{meta}");
    assert_eq!(meta["columnNames"], json!(["ID", "U"]));
    assert!(f.wait_push_queries(&c, 1));
    for i in 0..3 {
        f.ksql(&c, &format!("INSERT INTO S (ID, V) VALUES ({i}, 'v{i}');"));
    }
    // Row 0 is filtered out by the push query's own WHERE.
    assert_eq!(read_line(&mut reader), json!([1, "V1"]));
    assert_eq!(read_line(&mut reader), json!([2, "V2"]));
    // Without the property it is an ordinary push query.
    let r = c
        .post(f.url("/query-stream"))
        .header("Accept", "application/json")
        .body(json!({"sql": "SELECT * FROM UPPER EMIT CHANGES LIMIT 1;", "properties": {"auto.offset.reset": "earliest"}}).to_string())
        .send()
        .unwrap();
    let v: Value = r.json().unwrap();
    assert!(
        v[0]["queryId"].as_str().unwrap().starts_with("transient_"),
        "{v}"
    );
}
