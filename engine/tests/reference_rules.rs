//! ksqlDB rules Brook follows that conformance cases showed, each checked on its own through
//! the engine on a temporary data directory: PARTITION BY key expressions (which read the
//! value, and how a pseudo-column names its key), the key-format rule of windowed joins,
//! list constructors converting their items to the common type, the order ksqlDB holds a
//! JSON map in (which REDUCE shows), ENCODE's hex rules, and the schema-registry rules of
//! `VALUE_SCHEMA_ID` sinks and `WRAP_SINGLE_VALUE=false` inference. The expectations come
//! from ksqlDB's `PartitionByParamsFactory`, `SchemaKStream.selectKey`, `CoercionUtil`,
//! `KsqlJsonDeserializer`, `Encode` and `DefaultSchemaInjector`.

use std::time::Duration;

use brook_engine::conformance::schemas::convert_schema;
use brook_engine::log::{Bytes, ReadLimit, Record};
use brook_engine::runtime::{Engine, EngineOptions};
use brook_sql::analyzer::Catalog;
use serde_json::json;

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    engine
        .execute("SET 'cache.max.bytes.buffering'='0';")
        .unwrap();
    (dir, engine)
}

fn idle(engine: &mut Engine) {
    assert!(
        engine.wait_until_idle(Duration::from_secs(20)).unwrap(),
        "the queries did not catch up within 20 s"
    );
}

/// `(key, value)` of every record of a one-partition topic, as text (`None`: null).
fn records(engine: &Engine, topic: &str) -> Vec<(Option<String>, Option<String>)> {
    let t = engine.log().topic(topic).unwrap();
    let p = t.partition(0).unwrap();
    let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
    p.read(0, ReadLimit::records(1000))
        .unwrap()
        .into_iter()
        .map(|r| (text(r.key.as_deref()), text(r.value.as_deref())))
        .collect()
}

fn raw(engine: &Engine, topic: &str, key: &'static [u8], value: Option<&'static [u8]>) {
    let t = engine.log().topic(topic).unwrap();
    t.append(
        0,
        &[Record::new(
            Some(Bytes::from_static(key)),
            value.map(Bytes::from_static),
            5,
        )],
    )
    .unwrap();
}

fn error(engine: &mut Engine, sql: &str) -> String {
    match engine.execute(sql) {
        Ok(r) => panic!("accepted: {sql}: {r:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_partition_key_over_value_columns_is_null_for_a_record_without_a_value() {
    let (_d, mut engine) = engine();
    engine
        .execute(
            "CREATE STREAM src (id INT KEY, name STRING) \
             WITH (kafka_topic='src', format='JSON', partitions=1);",
        )
        .unwrap();
    engine
        .execute("CREATE STREAM by_null AS SELECT * FROM src PARTITION BY (name IS NULL);")
        .unwrap();
    engine
        .execute("CREATE STREAM by_key AS SELECT * FROM src PARTITION BY (id + 1);")
        .unwrap();
    raw(&engine, "src", b"1", None);
    raw(&engine, "src", b"2", Some(br#"{"NAME": null}"#));
    idle(&mut engine);
    // `name IS NULL` reads the value: NULL without one, true for a null NAME.
    let by_null = records(&engine, "BY_NULL");
    assert_eq!(by_null[0], (None, None), "{by_null:?}");
    assert_eq!(by_null[1].0.as_deref(), Some("true"), "{by_null:?}");
    // `id + 1` reads only the key: computed for both.
    let by_key = records(&engine, "BY_KEY");
    assert_eq!(by_key[0], (Some("2".into()), None), "{by_key:?}");
    assert_eq!(by_key[1].0.as_deref(), Some("3"), "{by_key:?}");
}

#[test]
fn partition_by_a_pseudo_column_names_the_key_after_it() {
    let (_d, mut engine) = engine();
    engine
        .execute(
            "CREATE STREAM src (k STRING KEY, id BIGINT) \
             WITH (kafka_topic='src', format='JSON', partitions=1);",
        )
        .unwrap();
    engine
        .execute("CREATE STREAM out AS SELECT * FROM src PARTITION BY id, ROWTIME;")
        .unwrap();
    raw(&engine, "src", b"\"a\"", Some(br#"{"ID": 22}"#));
    idle(&mut engine);
    let out = records(&engine, "OUT");
    let key: serde_json::Value = serde_json::from_str(out[0].0.as_deref().unwrap()).unwrap();
    assert_eq!(key, json!({"ID": 22, "ROWTIME": 5}));
}

#[test]
fn windowed_sources_join_only_when_their_key_formats_match() {
    let (_d, mut engine) = engine();
    for (name, window) in [
        ("h5", "WINDOW_TYPE='HOPPING', WINDOW_SIZE='5 SECONDS'"),
        ("h5b", "WINDOW_TYPE='HOPPING', WINDOW_SIZE='5 SECONDS'"),
        ("t2", "WINDOW_TYPE='TUMBLING', WINDOW_SIZE='2 SECONDS'"),
    ] {
        engine
            .execute(&format!(
                "CREATE STREAM {name} (id INT KEY, v BIGINT) \
                 WITH (kafka_topic='{name}', value_format='JSON', partitions=1, {window});"
            ))
            .unwrap();
    }
    let e = error(
        &mut engine,
        "CREATE STREAM j AS SELECT * FROM h5 JOIN t2 WITHIN 1 MINUTE ON h5.id = t2.id;",
    );
    assert!(
        e.contains("Implicit repartitioning of windowed sources is not supported."),
        "{e}"
    );
    engine
        .execute("CREATE STREAM j AS SELECT * FROM h5 JOIN h5b WITHIN 1 MINUTE ON h5.id = h5b.id;")
        .unwrap();
}

#[test]
fn list_constructors_convert_string_literals_to_the_common_type() {
    let (_d, mut engine) = engine();
    engine
        .execute(
            "CREATE STREAM src (id STRING KEY, a INT, b BIGINT) \
             WITH (kafka_topic='src', format='JSON', partitions=1);",
        )
        .unwrap();
    engine
        .execute(
            "CREATE STREAM out AS SELECT id, ARRAY[NULL, 10, '2e1', a, b] AS l, \
             MAP('x' := 1.5, 'y' := '2e1') AS m FROM src;",
        )
        .unwrap();
    raw(&engine, "src", b"\"k\"", Some(br#"{"A": 30, "B": 40}"#));
    idle(&mut engine);
    let out = records(&engine, "OUT");
    let value: serde_json::Value = serde_json::from_str(out[0].1.as_deref().unwrap()).unwrap();
    assert_eq!(value["L"], json!([null, 10, 20, 30, 40]), "{value}");
    // The first typed item sets the type (DECIMAL here); the string reads as its number.
    assert_eq!(value["M"]["y"].as_f64(), Some(20.0), "{value}");
}

#[test]
fn reduce_walks_a_json_map_in_the_order_ksqldb_reads_it() {
    let (_d, mut engine) = engine();
    engine
        .execute(
            "CREATE STREAM src (id STRING KEY, m MAP<STRING, DOUBLE>) \
             WITH (kafka_topic='src', format='JSON', partitions=1);",
        )
        .unwrap();
    // The fold is order-sensitive: ksqlDB reads the object into `new HashMap<>(3)`, whose
    // four buckets put `yes, thanks` and `sure, yeah` (bucket 0, in the object's order)
    // before `nope` (bucket 1).
    engine
        .execute(
            "CREATE STREAM out AS SELECT id, REDUCE(m, CAST(3.2 AS DOUBLE), (s, k, v) => \
             CASE WHEN instr(k, 'ye') > 0 THEN ceil(v * s) ELSE floor(s * v) END) AS r FROM src;",
        )
        .unwrap();
    raw(
        &engine,
        "src",
        b"\"k\"",
        Some(br#"{"M": {"yes, thanks": 3.5, "sure, yeah": 2.1, "nope": 7.3}}"#),
    );
    idle(&mut engine);
    let out = records(&engine, "OUT");
    let value: serde_json::Value = serde_json::from_str(out[0].1.as_deref().unwrap()).unwrap();
    assert_eq!(value["R"].as_f64(), Some(189.0), "{value}");
}

#[test]
fn encode_reads_hex_as_ksqldb_strips_it() {
    let (_d, mut engine) = engine();
    engine
        .execute(
            "CREATE STREAM src (id STRING KEY, s STRING) \
             WITH (kafka_topic='src', format='JSON', partitions=1);",
        )
        .unwrap();
    engine
        .execute("CREATE STREAM out AS SELECT id, ENCODE(s, 'hex', 'utf8') AS u FROM src;")
        .unwrap();
    for v in [
        &br#"{"S": "0x578616d706C6521"}"#[..],
        br#"{"S": "578616d706C6521"}"#,
        br#"{"S": "x'578616d706C6521'"}"#,
        br#"{"S": "X'4578616d706C6521'"}"#,
    ] {
        raw(&engine, "src", b"\"k\"", Some(v));
    }
    idle(&mut engine);
    let got: Vec<serde_json::Value> = records(&engine, "OUT")
        .into_iter()
        .map(|(_, v)| serde_json::from_str::<serde_json::Value>(&v.unwrap()).unwrap()["U"].clone())
        .collect();
    // An odd number of digits after 0x gets a leading 0; bare or X'' digits must be even.
    assert_eq!(
        got,
        vec![
            json!("\u{5}xample!"),
            json!(null),
            json!(null),
            json!("Example!")
        ]
    );
}

fn register_avro_value(engine: &mut Engine, topic: &str, schema: serde_json::Value) {
    let registered = convert_schema("AVRO", &schema, &json!({}));
    engine.register_schema(topic, false, registered, Some(schema));
}

#[test]
fn a_value_schema_id_sink_must_match_the_registered_columns_by_position() {
    let (_d, mut engine) = engine();
    engine
        .execute(
            "CREATE STREAM src (`id` INT KEY, `c1` INT) \
             WITH (kafka_topic='src', value_format='AVRO', partitions=1);",
        )
        .unwrap();
    let record =
        |fields: serde_json::Value| json!({"type": "record", "name": "r", "fields": fields});
    register_avro_value(
        &mut engine,
        "OUT_OK",
        record(
            json!([{"name": "c1", "type": "int"}, {"name": "c2", "type": ["null", "int"], "default": null}]),
        ),
    );
    register_avro_value(
        &mut engine,
        "OUT_BAD",
        record(json!([{"name": "c2", "type": "double"}, {"name": "c1", "type": "int"}])),
    );
    engine
        .execute("CREATE STREAM out_ok WITH (value_schema_id=1) AS SELECT * FROM src;")
        .unwrap();
    let e = error(
        &mut engine,
        "CREATE STREAM out_bad WITH (value_schema_id=2) AS SELECT * FROM src;",
    );
    assert!(
        e.contains(
            "The following value columns are changed, missing or reordered: [`c1` INTEGER]. \
             Schema from schema registry is [`c2` DOUBLE, `c1` INTEGER]"
        ),
        "{e}"
    );
}

#[test]
fn an_unwrapped_record_value_schema_is_one_rowval_struct() {
    let (_d, mut engine) = engine();
    register_avro_value(
        &mut engine,
        "src",
        json!({"type": "record", "name": "r", "fields": [{"name": "F0", "type": ["null", "int"]}]}),
    );
    engine
        .execute(
            "CREATE STREAM src WITH (kafka_topic='src', value_format='AVRO', \
             wrap_single_value=false, partitions=1);",
        )
        .unwrap();
    let src = engine.catalog().source("SRC").unwrap();
    let values: Vec<String> = src
        .value_columns()
        .map(|c| format!("{} {}", c.name, c.ty))
        .collect();
    assert_eq!(values, vec!["ROWVAL STRUCT<`F0` INTEGER>"]);
}
