//! Tests across formats: exact encodings of known values (as ksqlDB writes them), per-row
//! decode errors, the factory's messages, the logical-JSON helpers, and property-based round
//! trips of random Arrow rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use proptest::prelude::*;
use serde_json::json;

use super::columns::build_array;
use super::value::Val;
use super::*;

fn schema(cols: &[(&str, DataType)]) -> Schema {
    Schema::new(
        cols.iter()
            .map(|(n, t)| Field::new(*n, t.clone(), true))
            .collect::<Vec<_>>(),
    )
}

fn list(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t, true)))
}

fn strukt(cols: &[(&str, DataType)]) -> DataType {
    DataType::Struct(schema(cols).fields().clone())
}

fn batch_of(schema: &SchemaRef, rows: Vec<Vec<Val>>) -> RecordBatch {
    let n = rows.len();
    let mut cols: Vec<Vec<Val>> = schema.fields().iter().map(|_| vec![]).collect();
    for row in rows {
        for (c, v) in cols.iter_mut().zip(row) {
            c.push(v);
        }
    }
    let arrays: Vec<ArrayRef> = cols
        .into_iter()
        .zip(schema.fields())
        .map(|(c, f)| build_array(c, f.data_type()))
        .collect();
    make_batch(schema, arrays, n)
}

fn make(name: &str, opts: &FormatOptions, cols: &[(&str, DataType)]) -> Box<dyn Format> {
    create(name, opts, &schema(cols)).unwrap()
}

fn err(name: &str, opts: &FormatOptions, cols: &[(&str, DataType)]) -> String {
    create(name, opts, &schema(cols)).unwrap_err().to_string()
}

fn encode_one(f: &dyn Format, row: Vec<Val>) -> Option<Vec<u8>> {
    let b = batch_of(f.schema(), vec![row]);
    f.encode(&b).unwrap().pop().unwrap()
}

fn decode_one(f: &dyn Format, payload: &[u8]) -> Result<Vec<Val>, String> {
    let d = f.decode(&[Some(payload)]);
    assert_eq!(d.batch.num_rows(), 1);
    match d.errors.first() {
        Some(e) => {
            assert_eq!(e.row, 0);
            Err(e.message.clone())
        }
        None => Ok(row_values(&d.batch, 0)),
    }
}

// ---------------------------------------------------------------- factory

#[test]
fn factory_names_are_case_insensitive() {
    for name in ["json", "Json", "KAFKA", "kafka", "Delimited", "AvRo"] {
        let f = create(
            name,
            &FormatOptions::default(),
            &schema(&[("A", DataType::Utf8)]),
        );
        assert!(f.is_ok(), "{name}");
    }
    let none = create("none", &FormatOptions::default(), &Schema::empty()).unwrap();
    assert_eq!(none.name(), "NONE");
}

#[test]
fn factory_rejects_unknown_formats() {
    let s = schema(&[("A", DataType::Utf8)]);
    for name in ["PROTOBUF", "protobuf_nosr", "JSON_SR"] {
        assert_eq!(
            create(name, &FormatOptions::default(), &s).unwrap().name(),
            name.to_ascii_uppercase()
        );
    }
    assert_eq!(
        create("foo", &FormatOptions::default(), &s)
            .unwrap_err()
            .to_string(),
        "Unknown format: FOO"
    );
}

#[test]
fn delimiter_only_for_delimited() {
    let opts = FormatOptions {
        delimiter: Some("|".into()),
        ..Default::default()
    };
    assert_eq!(
        err("JSON", &opts, &[("A", DataType::Utf8)]),
        "JSON does not support the following configs: [delimiter]"
    );
}

// ---------------------------------------------------------------- KAFKA

#[test]
fn kafka_exact_bytes() {
    let key = FormatOptions::key();
    let f = make("KAFKA", &key, &[("K", DataType::Int32)]);
    assert_eq!(
        encode_one(f.as_ref(), vec![Val::Int(1)]),
        Some(vec![0, 0, 0, 1])
    );
    assert_eq!(
        f.json_to_payload(&json!(-2)).unwrap(),
        Some(vec![0xff, 0xff, 0xff, 0xfe])
    );
    assert_eq!(f.payload_to_json(Some(&[0, 0, 1, 0])).unwrap(), json!(256));

    let f = make("KAFKA", &key, &[("K", DataType::Int64)]);
    assert_eq!(
        f.json_to_payload(&json!(998877665544332211i64))
            .unwrap()
            .unwrap(),
        998877665544332211i64.to_be_bytes()
    );
    let f = make("KAFKA", &key, &[("K", DataType::Float64)]);
    assert_eq!(
        f.json_to_payload(&json!(1.1)).unwrap().unwrap(),
        1.1f64.to_be_bytes()
    );
    assert_eq!(
        f.payload_to_json(Some(&2.2f64.to_be_bytes())).unwrap(),
        json!(2.2)
    );

    let f = make("KAFKA", &FormatOptions::value(), &[("V", DataType::Utf8)]);
    assert_eq!(
        f.json_to_payload(&json!("bar")).unwrap(),
        Some(b"bar".to_vec())
    );
    assert_eq!(f.json_to_payload(&json!("")).unwrap(), Some(vec![]));
    assert_eq!(f.payload_to_json(Some(b"")).unwrap(), json!(""));
    assert_eq!(f.json_to_payload(&json!(null)).unwrap(), None);

    let f = make("KAFKA", &FormatOptions::value(), &[("B", DataType::Binary)]);
    let p = f
        .json_to_payload(&json!("dmFyaWF0aW9ucw=="))
        .unwrap()
        .unwrap();
    assert_eq!(p, b"variations");
    assert_eq!(
        f.payload_to_json(Some(&p)).unwrap(),
        json!("dmFyaWF0aW9ucw==")
    );
}

#[test]
fn kafka_null_column_is_null_payload() {
    let f = make("KAFKA", &FormatOptions::key(), &[("K", DataType::Utf8)]);
    assert_eq!(encode_one(f.as_ref(), vec![Val::Null]), None);
    let d = f.decode(&[None, Some(b"x")]);
    assert_eq!(d.null_rows, vec![true, false]);
    assert_eq!(
        d.valid_rows().values().iter().collect::<Vec<_>>(),
        vec![false, true]
    );
}

#[test]
fn kafka_truncated_ints_are_row_errors() {
    let f = make("KAFKA", &FormatOptions::value(), &[("V", DataType::Int32)]);
    let d = f.decode(&[Some(&[0, 0, 0, 5]), Some(&[0, 1]), None, Some(&[0; 8])]);
    assert_eq!(d.batch.num_rows(), 4);
    assert_eq!(
        d.errors.iter().map(|e| e.row).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert!(d.errors[0].message.contains("IntegerDeserializer is not 4"));
    assert_eq!(row_values(&d.batch, 0), vec![Val::Int(5)]);
    assert!(d.batch.column(0).is_null(1));

    let f = make("KAFKA", &FormatOptions::value(), &[("V", DataType::Int64)]);
    assert!(decode_one(f.as_ref(), &[1, 2, 3])
        .unwrap_err()
        .contains("LongDeserializer"));
    let f = make("KAFKA", &FormatOptions::value(), &[("V", DataType::Utf8)]);
    assert!(decode_one(f.as_ref(), &[0xff, 0xfe])
        .unwrap_err()
        .contains("UTF-8"));
}

#[test]
fn kafka_refuses_other_types_and_shapes() {
    let v = FormatOptions::value();
    assert_eq!(
        err("KAFKA", &v, &[("A", list(DataType::Int32))]),
        "The 'KAFKA' format does not support type 'ARRAY'"
    );
    assert_eq!(
        err("KAFKA", &v, &[("A", DataType::Boolean)]),
        "The 'KAFKA' format does not support type 'BOOLEAN'"
    );
    assert_eq!(
        err("KAFKA", &v, &[("A", DataType::Decimal128(21, 19))]),
        "The 'KAFKA' format does not support type 'DECIMAL'"
    );
    assert_eq!(
        err("KAFKA", &v, &[("A", strukt(&[("F1", DataType::Float64)]))]),
        "The 'KAFKA' format does not support type 'STRUCT'"
    );
    assert_eq!(
        err("KAFKA", &v, &[("A", map_type(DataType::Float64))]),
        "The 'KAFKA' format does not support type 'MAP'"
    );
    assert!(err(
        "KAFKA",
        &v,
        &[("A", DataType::Int32), ("B", DataType::Int32)]
    )
    .contains("only supports a single field"));
    let wrapped = FormatOptions {
        wrap_single_value: Some(true),
        ..Default::default()
    };
    assert_eq!(
        err("KAFKA", &wrapped, &[("A", DataType::Int32)]),
        "Format 'KAFKA' does not support 'WRAP_SINGLE_VALUE' set to 'true'."
    );
}

#[test]
fn kafka_without_columns_ignores_payloads() {
    let f = create("KAFKA", &FormatOptions::key(), &Schema::empty()).unwrap();
    let d = f.decode(&[Some(b"ignored"), None]);
    assert_eq!(d.batch.num_rows(), 2);
    assert_eq!(d.batch.num_columns(), 0);
    assert!(d.errors.is_empty());
    assert_eq!(
        f.json_to_payload(&json!("ignored")).unwrap(),
        Some(b"ignored".to_vec())
    );
}

// ---------------------------------------------------------------- JSON

#[test]
fn json_reads_case_insensitively_and_coerces() {
    let f = make(
        "JSON",
        &FormatOptions::value(),
        &[
            ("ID", DataType::Int64),
            ("NAME", DataType::Utf8),
            ("S", strukt(&[("F", DataType::Float64)])),
            ("A", list(DataType::Utf8)),
        ],
    );
    let row = decode_one(
        f.as_ref(),
        br#"{"id": "7", "Name": 12, "s": {"f": 1}, "a": [1, true, null], "extra": 1}"#,
    )
    .unwrap();
    assert_eq!(
        row,
        vec![
            Val::Int(7),
            Val::Str("12".into()),
            Val::Object(vec![("F".into(), Val::Float(1.0))]),
            Val::Array(vec![
                Val::Str("1".into()),
                Val::Str("true".into()),
                Val::Null
            ]),
        ]
    );
    // Exact names win over case-insensitive ones.
    let f = make("JSON", &FormatOptions::value(), &[("k", DataType::Int32)]);
    assert_eq!(
        decode_one(f.as_ref(), br#"{"K": 1, "k": 2}"#).unwrap(),
        vec![Val::Int(2)]
    );
}

#[test]
fn json_writes_ksqldb_encodings() {
    let f = make(
        "JSON",
        &FormatOptions::value(),
        &[
            ("DEC", DataType::Decimal128(6, 4)),
            ("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
            ("D", DataType::Date32),
            ("T", DataType::Time32(TimeUnit::Millisecond)),
            ("B", DataType::Binary),
            ("DBL", DataType::Float64),
            ("M", map_type(DataType::Int32)),
            ("S", strukt(&[("X", DataType::Boolean)])),
        ],
    );
    let out = encode_one(
        f.as_ref(),
        vec![
            Val::Decimal(100000),
            Val::Int(1589234313000),
            Val::Int(10),
            Val::Int(5000),
            Val::Bytes(b"variations".to_vec()),
            Val::Float(1e10),
            Val::Object(vec![("a".into(), Val::Int(1)), ("b".into(), Val::Null)]),
            Val::Object(vec![("X".into(), Val::Null)]),
        ],
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        r#"{"DEC":10.0000,"TS":1589234313000,"D":10,"T":5000,"B":"dmFyaWF0aW9ucw==","DBL":1.0E10,"M":{"a":1,"b":null},"S":{"X":null}}"#
    );
    // and it reads back
    assert!(f.decode(&[Some(&out)]).errors.is_empty());
}

#[test]
fn json_unwrapped_single_values() {
    let unwrapped = FormatOptions {
        wrap_single_value: Some(false),
        ..Default::default()
    };
    let f = make("JSON", &unwrapped, &[("FOO", DataType::Utf8)]);
    assert_eq!(
        decode_one(f.as_ref(), br#""bar""#).unwrap(),
        vec![Val::Str("bar".into())]
    );
    assert_eq!(
        encode_one(f.as_ref(), vec![Val::Str("bar".into())]),
        Some(br#""bar""#.to_vec())
    );
    assert_eq!(encode_one(f.as_ref(), vec![Val::Null]), None);

    // keys are unwrapped by default
    let f = make(
        "JSON",
        &FormatOptions::key(),
        &[("K", strukt(&[("F", DataType::Float64)]))],
    );
    let row = decode_one(f.as_ref(), br#"{"f": 45.67}"#).unwrap();
    assert_eq!(
        encode_one(f.as_ref(), row),
        Some(br#"{"F":45.67}"#.to_vec())
    );
    assert_eq!(
        f.payload_to_json(Some(br#"{"F":45.67}"#)).unwrap(),
        json!({"F": 45.67})
    );

    // but several key columns are an object
    let f = make(
        "JSON",
        &FormatOptions::key(),
        &[("K1", DataType::Utf8), ("K2", DataType::Utf8)],
    );
    let row = vec![Val::Str("foo".into()), Val::Str("bar".into())];
    assert_eq!(
        encode_one(f.as_ref(), row),
        Some(br#"{"K1":"foo","K2":"bar"}"#.to_vec())
    );
}

#[test]
fn json_exact_decimals() {
    let f = make(
        "JSON",
        &FormatOptions::value(),
        &[("V", DataType::Decimal128(33, 16))],
    );
    let row = decode_one(f.as_ref(), br#"{"V": 12345678987654321.2345678987654321}"#).unwrap();
    assert_eq!(row, vec![Val::Decimal(123456789876543212345678987654321)]);
    let out = encode_one(f.as_ref(), row).unwrap();
    assert_eq!(out, br#"{"V":12345678987654321.2345678987654321}"#);
    let e = decode_one(f.as_ref(), br#"{"V": 1.23456789012345678}"#).unwrap_err();
    assert!(e.contains("without rounding"), "{e}");
}

#[test]
fn json_bad_payloads_are_row_errors() {
    let f = make(
        "JSON",
        &FormatOptions::value(),
        &[("V", DataType::Int32), ("S", DataType::Binary)],
    );
    let payloads: Vec<Option<&[u8]>> = vec![
        Some(br#"{"V": 1}"#),
        Some(b"{not json"),
        Some(br#"{"V": "abc"}"#),
        Some(br#"{"V": 1e20}"#),
        Some(br#"[1, 2]"#),
        Some(br#"{"S": "!!!"}"#),
        Some(b"null"),
        Some(b""),
        Some(b"\xff\xfe"),
        None,
    ];
    let d = f.decode(&payloads);
    assert_eq!(d.batch.num_rows(), payloads.len());
    assert_eq!(
        d.errors.iter().map(|e| e.row).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 7, 8]
    );
    assert!(d.errors[1]
        .message
        .contains("sourceType: STRING, requiredType: INTEGER"));
    assert_eq!(
        d.null_rows,
        vec![false, false, false, false, false, false, true, false, false, true]
    );
    assert_eq!(row_values(&d.batch, 0), vec![Val::Int(1), Val::Null]);
}

#[test]
fn json_refuses_non_string_map_keys() {
    let m = DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", DataType::Int32, false),
                Field::new("value", DataType::Float64, true),
            ])),
            false,
        )),
        false,
    );
    assert_eq!(
        err("JSON", &FormatOptions::value(), &[("M", m.clone())]),
        "JSON only supports MAP types with STRING keys"
    );
    assert_eq!(
        err("AVRO", &FormatOptions::value(), &[("M", m)]),
        "Avro only supports MAPs with STRING keys"
    );
}

#[test]
fn json_logical_helpers() {
    let f = make("JSON", &FormatOptions::value(), &[("F2", DataType::Int32)]);
    let p = f.json_to_payload(&json!({"f2": "2"})).unwrap().unwrap();
    assert_eq!(decode_one(f.as_ref(), &p).unwrap(), vec![Val::Int(2)]);
    assert_eq!(
        f.payload_to_json(Some(br#"{"F2":2}"#)).unwrap(),
        json!({"F2": 2})
    );
    assert_eq!(f.payload_to_json(None).unwrap(), json!(null));
    assert!(f.payload_to_json(Some(b"{")).is_err());
}

// ---------------------------------------------------------------- DELIMITED

#[test]
fn delimited_quotes_as_commons_csv() {
    let f = make(
        "DELIMITED",
        &FormatOptions::value(),
        &[
            ("A", DataType::Utf8),
            ("B", DataType::Utf8),
            ("C", DataType::Utf8),
        ],
    );
    let s = |x: &str| Val::Str(x.into());
    let cases: Vec<(Vec<Val>, &str)> = vec![
        (vec![s("!"), s("IQ=="), s("!")], r#""!",IQ==,"!""#),
        (vec![s("-5"), s("-5"), s("a,b")], r#""-5",-5,"a,b""#),
        (vec![Val::Null, Val::Null, s("x")], ",,x"),
        (vec![s(""), s(""), s("")], r#""",,"#),
        (
            vec![s(" \t x \t"), s("y "), s("q\"q")],
            "\" \t x \t\",\"y \",\"q\"\"q\"",
        ),
        (vec![s("ok"), s("#"), s("é")], "ok,\"#\",é"),
    ];
    for (row, text) in cases {
        assert_eq!(
            String::from_utf8(encode_one(f.as_ref(), row).unwrap()).unwrap(),
            text
        );
    }
}

#[test]
fn delimited_types_and_nulls() {
    let f = make(
        "DELIMITED",
        &FormatOptions::value(),
        &[
            ("ID", DataType::Int64),
            ("NAME", DataType::Utf8),
            ("V", DataType::Int32),
            ("DEC", DataType::Decimal128(33, 16)),
            ("D", DataType::Float64),
            ("B", DataType::Boolean),
            ("BY", DataType::Binary),
        ],
    );
    let row = decode_one(f.as_ref(), b"0,,1,.12,10.3,true,IQ==").unwrap();
    assert_eq!(
        row,
        vec![
            Val::Int(0),
            Val::Null,
            Val::Int(1),
            Val::Decimal(1_200_000_000_000_000),
            Val::Float(10.3),
            Val::Bool(true),
            Val::Bytes(b"!".to_vec()),
        ]
    );
    assert_eq!(
        encode_one(f.as_ref(), row).unwrap(),
        b"0,,1,0.1200000000000000,10.3,true,IQ=="
    );
    let row = decode_one(f.as_ref(), br#""-1","x,y",,"-12345.12",,nope,"#).unwrap();
    assert_eq!(row[0], Val::Int(-1));
    assert_eq!(row[1], Val::Str("x,y".into()));
    assert_eq!(row[5], Val::Bool(false));
    assert_eq!(
        encode_one(f.as_ref(), row).unwrap(),
        br#""-1","x,y",,-12345.1200000000000000,,false,"#
    );
}

#[test]
fn delimited_errors_are_per_row() {
    let f = make(
        "DELIMITED",
        &FormatOptions::value(),
        &[("A", DataType::Int32), ("B", DataType::Utf8)],
    );
    let d = f.decode(&[
        Some(b"1,a"),
        Some(b"1"),
        Some(b"x,a"),
        Some(b"\"1\"x,a"),
        Some(b"\"1,a"),
        Some(b""),
        Some(b"1,a,b"),
    ]);
    assert_eq!(
        d.errors.iter().map(|e| e.row).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
    assert!(d.errors[0].message.contains("Column count mismatch"));
    assert!(d.errors[0].message.contains("expected: 2, got: 1"));
}

#[test]
fn delimited_custom_delimiters() {
    let opts = |d: &str| FormatOptions {
        delimiter: Some(d.into()),
        ..Default::default()
    };
    let cols = [
        ("ID", DataType::Int64),
        ("NAME", DataType::Utf8),
        ("V", DataType::Int32),
    ];
    for (d, text) in [
        ("|", "0|zero|0"),
        ("TAB", "0\tzero\t0"),
        ("SPACE", "0 zero 0"),
        ("$", "0$zero$0"),
    ] {
        let f = make("DELIMITED", &opts(d), &cols);
        let row = decode_one(f.as_ref(), text.as_bytes()).unwrap();
        assert_eq!(row, vec![Val::Int(0), Val::Str("zero".into()), Val::Int(0)]);
        assert_eq!(encode_one(f.as_ref(), row).unwrap(), text.as_bytes());
    }
    let f = make(
        "DELIMITED",
        &opts(";"),
        &[("K1", DataType::Utf8), ("K2", DataType::Utf8)],
    );
    assert_eq!(
        decode_one(f.as_ref(), b"foo,bar;baz").unwrap(),
        vec![Val::Str("foo,bar".into()), Val::Str("baz".into())]
    );
    assert_eq!(
        err("DELIMITED", &opts("<~>"), &cols),
        "Configuration VALUE_DELIMITER is invalid: Invalid delimiter value: '<~>'. Delimiter must be a single character or TAB,SPACE\nExample valid value: ';'"
    );
    for empty in ["", " ", "\t"] {
        assert!(err("DELIMITED", &opts(empty), &cols).contains("Delimiter cannot be empty"));
    }
}

#[test]
fn delimited_refuses_nested_types_and_wrapping() {
    let v = FormatOptions::value();
    assert_eq!(
        err("DELIMITED", &v, &[("A", list(DataType::Int32))]),
        "The 'DELIMITED' format does not support type 'ARRAY'"
    );
    assert_eq!(
        err("DELIMITED", &v, &[("A", map_type(DataType::Int32))]),
        "The 'DELIMITED' format does not support type 'MAP'"
    );
    assert_eq!(
        err(
            "DELIMITED",
            &v,
            &[("A", strukt(&[("F1", DataType::Float64)]))]
        ),
        "The 'DELIMITED' format does not support type 'STRUCT'"
    );
    let wrapped = FormatOptions {
        wrap_single_value: Some(true),
        ..Default::default()
    };
    assert_eq!(
        err("DELIMITED", &wrapped, &[("A", DataType::Int32)]),
        "Format 'DELIMITED' does not support 'WRAP_SINGLE_VALUE' set to 'true'."
    );
}

#[test]
fn delimited_logical_helpers_pass_text() {
    let f = make(
        "DELIMITED",
        &FormatOptions::value(),
        &[("A", DataType::Int32), ("B", DataType::Utf8)],
    );
    assert_eq!(
        f.json_to_payload(&json!("1,foo")).unwrap(),
        Some(b"1,foo".to_vec())
    );
    assert_eq!(f.payload_to_json(Some(b"1,foo")).unwrap(), json!("1,foo"));
    assert_eq!(f.json_to_payload(&json!(null)).unwrap(), None);
}

// ---------------------------------------------------------------- AVRO

#[test]
fn avro_derived_schema_is_ksqldbs() {
    let s = schema(&[
        ("ID", DataType::Utf8),
        ("DEC", DataType::Decimal128(4, 2)),
        ("S", strukt(&[("F1", DataType::Int32)])),
        ("M", map_type(DataType::Int64)),
    ]);
    let j = avro::derive_schema(&s, false, DEFAULT_AVRO_SCHEMA_FULL_NAME);
    assert_eq!(j["type"], "record");
    assert_eq!(j["name"], "KsqlDataSourceSchema");
    assert_eq!(j["namespace"], "io.confluent.ksql.avro_schemas");
    assert_eq!(
        j["fields"][0],
        json!({"name": "ID", "type": ["null", "string"], "default": null})
    );
    assert_eq!(j["fields"][1]["type"][1]["logicalType"], "decimal");
    assert_eq!(j["fields"][1]["type"][1]["precision"], 4);
    assert_eq!(j["fields"][1]["type"][1]["scale"], 2);
    assert_eq!(j["fields"][2]["type"][1]["name"], "KsqlDataSourceSchema_S");
    assert_eq!(
        j["fields"][3]["type"][1],
        json!({"type": "map", "values": ["null", "long"]})
    );

    // an unwrapped struct key is the record itself, named as configured
    let k = schema(&[("K", strukt(&[("F1", DataType::Utf8)]))]);
    let j = avro::derive_schema(&k, true, "io.confluent.ksql.avro_schemas.OutputKey");
    assert_eq!(j["name"], "OutputKey");
    assert_eq!(
        j["fields"][0],
        json!({"name": "F1", "type": ["null", "string"], "default": null})
    );
    // an unwrapped primitive is not optional
    let p = schema(&[("K", DataType::Int32)]);
    assert_eq!(avro::derive_schema(&p, true, "x"), json!("int"));
}

#[test]
fn avro_exact_bytes() {
    let f = make(
        "AVRO",
        &FormatOptions::value(),
        &[("A", DataType::Int32), ("B", DataType::Utf8)],
    );
    // union index 1 (zig-zag 2), int 1 (zig-zag 2); union index 0 = null
    assert_eq!(
        encode_one(f.as_ref(), vec![Val::Int(1), Val::Null]),
        Some(vec![2, 2, 0])
    );
    assert_eq!(
        encode_one(f.as_ref(), vec![Val::Int(-1), Val::Str("hi".into())]),
        Some(vec![2, 1, 2, 4, b'h', b'i'])
    );
    let key = make("AVRO", &FormatOptions::key(), &[("K", DataType::Int64)]);
    assert_eq!(key.json_to_payload(&json!(10)).unwrap(), Some(vec![20]));
    assert_eq!(key.payload_to_json(Some(&[20])).unwrap(), json!(10));
    let dec = make(
        "AVRO",
        &FormatOptions::key(),
        &[("K", DataType::Decimal128(4, 2))],
    );
    // 65.21 -> unscaled 6521 = 0x1979, bytes of length 2
    assert_eq!(
        dec.json_to_payload(&json!(65.21)).unwrap(),
        Some(vec![4, 0x19, 0x79])
    );
    assert_eq!(
        dec.payload_to_json(Some(&[4, 0x19, 0x79])).unwrap(),
        json!(65.21)
    );
    let framed = FormatOptions {
        confluent_framing: true,
        ..FormatOptions::key()
    };
    let f = make("AVRO", &framed, &[("K", DataType::Int64)]);
    assert_eq!(
        f.json_to_payload(&json!(10)).unwrap(),
        Some(vec![0, 0, 0, 0, 0, 20])
    );
    assert!(decode_one(f.as_ref(), &[1, 0, 0, 0, 0, 20])
        .unwrap_err()
        .contains("magic byte"));
}

#[test]
fn avro_round_trips_logical_json() {
    let f = make(
        "AVRO",
        &FormatOptions::value(),
        &[
            ("DEC", DataType::Decimal128(21, 19)),
            ("T", DataType::Time32(TimeUnit::Millisecond)),
            (
                "S",
                strukt(&[("TIME", DataType::Time32(TimeUnit::Millisecond))]),
            ),
            ("A", list(DataType::Time32(TimeUnit::Millisecond))),
            ("M", map_type(DataType::Utf8)),
            ("B", DataType::Binary),
        ],
    );
    let input = json!({"DEC": 10.123451234512345, "t": "10", "S": {"time": "1"}, "A": ["5", 10], "M": {"k": "v"}, "B": "ew=="});
    let p = f.json_to_payload(&input).unwrap().unwrap();
    assert_eq!(
        f.payload_to_json(Some(&p)).unwrap(),
        json!({"DEC": 10.123451234512345, "T": 10, "S": {"TIME": 1}, "A": [5, 10], "M": {"k": "v"}, "B": "ew=="})
    );
    let row = decode_one(f.as_ref(), &p).unwrap();
    assert_eq!(row[0], Val::Decimal(101234512345123450000));
    assert_eq!(encode_one(f.as_ref(), row), Some(p));
}

#[test]
fn avro_writes_with_a_registered_schema_named_by_id() {
    // A non-optional long with a default: a null takes the default.
    let registered = json!({"type": "record", "name": "Test", "fields": [
        {"name": "ID", "type": "string"},
        {"name": "N", "type": "long", "default": 10}
    ]});
    let opts = FormatOptions {
        provided_schema: Some(registered),
        write_provided_schema: true,
        ..FormatOptions::value()
    };
    let f = make(
        "AVRO",
        &opts,
        &[("ID", DataType::Utf8), ("N", DataType::Int64)],
    );
    let p = encode_one(f.as_ref(), vec![Val::Str("abc".into()), Val::Null]).unwrap();
    // Plain (not union) fields: the string's length, its bytes, then the long 10.
    assert_eq!(p, vec![6, b'a', b'b', b'c', 20]);
    assert_eq!(
        f.payload_to_json(Some(&p)).unwrap(),
        json!({"ID": "abc", "N": 10})
    );
}

#[test]
fn avro_reads_with_provided_writer_schema() {
    // anonymous primitive with coercion into STRING
    let opts = FormatOptions {
        wrap_single_value: Some(false),
        provided_schema: Some(json!("int")),
        ..Default::default()
    };
    let f = make("AVRO", &opts, &[("FOO", DataType::Utf8)]);
    let p = f.json_to_payload(&json!(10)).unwrap().unwrap();
    assert_eq!(p, vec![20]);
    assert_eq!(
        decode_one(f.as_ref(), &p).unwrap(),
        vec![Val::Str("10".into())]
    );

    // a record with lower-case names, non-optional fields, an enum and a float
    let opts = FormatOptions {
        provided_schema: Some(json!({"name": "blah", "type": "record", "fields": [
            {"name": "c1", "type": "boolean"},
            {"name": "c2", "type": {"type": "enum", "name": "Suit", "symbols": ["SPADES", "HEARTS"]}},
            {"name": "c3", "type": "float"},
            {"name": "c4", "type": {"type": "map", "values": "long"}}
        ]})),
        ..Default::default()
    };
    let cols = [
        ("C1", DataType::Boolean),
        ("C2", DataType::Utf8),
        ("C3", DataType::Float64),
        ("C4", map_type(DataType::Int64)),
    ];
    let f = make("AVRO", &opts, &cols);
    let p = f
        .json_to_payload(&json!({"c1": true, "c2": "HEARTS", "c3": 4.0, "c4": {"f1": 1}}))
        .unwrap()
        .unwrap();
    assert_eq!(
        decode_one(f.as_ref(), &p).unwrap(),
        vec![
            Val::Bool(true),
            Val::Str("HEARTS".into()),
            Val::Float(4.0),
            Val::Object(vec![("f1".into(), Val::Int(1))]),
        ]
    );
    assert_eq!(
        f.payload_to_json(Some(&p)).unwrap(),
        json!({"c1": true, "c2": "HEARTS", "c3": 4.0, "c4": {"f1": 1}})
    );

    // maps written as arrays of key/value records
    let opts = FormatOptions {
        wrap_single_value: Some(false),
        provided_schema: Some(
            json!({"type": "array", "items": {"type": "record", "name": "test", "fields": [
            {"name": "key", "type": ["null", "string"], "default": null},
            {"name": "value", "type": ["null", "double"], "default": null}]}}),
        ),
        ..Default::default()
    };
    let f = make("AVRO", &opts, &[("FOO", map_type(DataType::Float64))]);
    let p = f
        .json_to_payload(&json!({"a": 1.1, "c": null}))
        .unwrap()
        .unwrap();
    assert_eq!(
        decode_one(f.as_ref(), &p).unwrap(),
        vec![Val::Object(vec![
            ("a".into(), Val::Float(1.1)),
            ("c".into(), Val::Null)
        ])]
    );
}

#[test]
fn avro_bad_payloads_are_row_errors() {
    let f = make(
        "AVRO",
        &FormatOptions::value(),
        &[("A", DataType::Int32), ("B", DataType::Utf8)],
    );
    let d = f.decode(&[
        Some(&[2, 2, 0]),
        Some(&[2]),             // truncated
        Some(&[6, 2, 0]),       // union index out of range
        Some(&[2, 2, 2, 0xff]), // string length -128... truncated
        Some(&[2, 2, 0, 9]),    // trailing bytes
        Some(&[
            0, 2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
        ]),
        Some(&[]),
    ]);
    assert_eq!(d.batch.num_rows(), 7);
    assert_eq!(
        d.errors.iter().map(|e| e.row).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
    assert_eq!(row_values(&d.batch, 0), vec![Val::Int(1), Val::Null]);
}

#[test]
fn avro_infers_columns() {
    let s = avro::infer_columns(
        &json!({"name": "blah", "type": "record", "fields": [
            {"name": "c1", "type": ["null", "int"]},
            {"name": "c2", "type": {"type": "record", "name": "x", "fields": [{"name": "f1", "type": "string"}]}},
            {"name": "c3", "type": {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2}}
        ]}),
        "ROWVAL",
    )
    .unwrap();
    assert_eq!(s.field(0).name(), "C1");
    assert_eq!(s.field(0).data_type(), &DataType::Int32);
    assert_eq!(s.field(1).data_type(), &strukt(&[("F1", DataType::Utf8)]));
    assert_eq!(s.field(2).data_type(), &DataType::Decimal128(4, 2));
    let k = avro::infer_columns(&json!({"type": "int"}), "ROWKEY").unwrap();
    assert_eq!(k.field(0).name(), "ROWKEY");
}

// ---------------------------------------------------------------- NONE

#[test]
fn none_carries_nothing() {
    let f = create("NONE", &FormatOptions::key(), &Schema::empty()).unwrap();
    let d = f.decode(&[Some(b"data that should be ignored"), None]);
    assert_eq!((d.batch.num_rows(), d.batch.num_columns()), (2, 0));
    assert!(d.errors.is_empty());
    assert_eq!(f.encode(&d.batch).unwrap(), vec![None, None]);
    assert_eq!(f.json_to_payload(&json!("x")).unwrap(), None);
    assert_eq!(
        err("NONE", &FormatOptions::key(), &[("K", DataType::Utf8)]),
        "The 'NONE' format can only be used when no columns are defined. Got: [`K` STRING KEY]"
    );
    assert_eq!(
        err("NONE", &FormatOptions::value(), &[("FOO", DataType::Int32)]),
        "The 'NONE' format can only be used when no columns are defined. Got: [`FOO` INTEGER]"
    );
}

// ---------------------------------------------------------------- protobuf

fn nosr() -> FormatOptions {
    FormatOptions::value()
}

fn with_nullables(rep: &str) -> FormatOptions {
    FormatOptions {
        nullable_representation: Some(rep.into()),
        ..Default::default()
    }
}

fn provided(text: &str) -> FormatOptions {
    FormatOptions {
        provided_schema: Some(json!(text)),
        ..Default::default()
    }
}

fn primitives() -> Vec<(&'static str, DataType)> {
    vec![
        ("I", DataType::Int32),
        ("L", DataType::Int64),
        ("D", DataType::Float64),
        ("B", DataType::Boolean),
        ("S", DataType::Utf8),
    ]
}

/// The 6-byte header PROTOBUF writes before the first message of a schema.
const PB_HEADER: [u8; 6] = [0, 0, 0, 0, 0, 0];

fn framed(message: &[u8]) -> Vec<u8> {
    let mut out = PB_HEADER.to_vec();
    out.extend_from_slice(message);
    out
}

#[test]
fn protobuf_exact_bytes() {
    let f = make("PROTOBUF_NOSR", &nosr(), &primitives());
    let row = vec![
        Val::Int(1),
        Val::Int(1),
        Val::Float(1.2),
        Val::Bool(true),
        Val::Str("foo".into()),
    ];
    let expected: Vec<u8> = vec![
        0x08, 0x01, // I = 1
        0x10, 0x01, // L = 1
        0x19, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0xf3, 0x3f, // D = 1.2
        0x20, 0x01, // B = true
        0x2a, 0x03, b'f', b'o', b'o', // S = "foo"
    ];
    assert_eq!(encode_one(f.as_ref(), row.clone()), Some(expected.clone()));
    assert_eq!(decode_one(f.as_ref(), &expected), Ok(row.clone()));
    // the registry flavour puts the header and message index 0 in front
    let sr = make("PROTOBUF", &FormatOptions::value(), &primitives());
    assert_eq!(
        encode_one(sr.as_ref(), row.clone()),
        Some(framed(&expected))
    );
    assert_eq!(decode_one(sr.as_ref(), &framed(&expected)), Ok(row));
    // negative ints are ten-byte varints
    assert_eq!(
        encode_one(
            f.as_ref(),
            vec![Val::Int(-1), Val::Null, Val::Null, Val::Null, Val::Null]
        ),
        Some(vec![
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
        ])
    );
    // defaults and nulls are not written at all
    let defaults = vec![
        Val::Int(0),
        Val::Null,
        Val::Float(0.0),
        Val::Bool(false),
        Val::Str(String::new()),
    ];
    assert_eq!(encode_one(sr.as_ref(), defaults), Some(PB_HEADER.to_vec()));
}

#[test]
fn protobuf_exact_bytes_of_logical_and_nested_types() {
    let cases: Vec<(DataType, Val, Vec<u8>)> = vec![
        (
            DataType::Decimal128(4, 2),
            Val::Decimal(1001),
            // confluent.type.Decimal {value: 0x03e9, precision: 4, scale: 2}
            vec![0x0a, 0x08, 0x0a, 0x02, 0x03, 0xe9, 0x10, 0x04, 0x18, 0x02],
        ),
        (
            DataType::Timestamp(TimeUnit::Millisecond, None),
            Val::Int(10),
            // google.protobuf.Timestamp {nanos: 10000000}
            vec![0x0a, 0x05, 0x10, 0x80, 0xad, 0xe2, 0x04],
        ),
        (
            DataType::Date32,
            Val::Int(10),
            // google.type.Date {year: 1970, month: 1, day: 11}
            vec![0x0a, 0x07, 0x08, 0xb2, 0x0f, 0x10, 0x01, 0x18, 0x0b],
        ),
        (
            DataType::Time32(TimeUnit::Millisecond),
            Val::Int(3_723_004),
            // google.type.TimeOfDay {hours: 1, minutes: 2, seconds: 3, nanos: 4000000}
            vec![
                0x0a, 0x0b, 0x08, 0x01, 0x10, 0x02, 0x18, 0x03, 0x20, 0x80, 0x92, 0xf4, 0x01,
            ],
        ),
        (
            list(DataType::Int64),
            Val::Array(vec![Val::Int(12), Val::Int(34), Val::Int(999)]),
            // packed
            vec![0x0a, 0x04, 0x0c, 0x22, 0xe7, 0x07],
        ),
        (
            list(DataType::Utf8),
            Val::Array(vec![Val::Str("a".into()), Val::Str(String::new())]),
            vec![0x0a, 0x01, b'a', 0x0a, 0x00],
        ),
        (
            map_type(DataType::Float64),
            Val::Object(vec![("a".into(), Val::Float(1.5))]),
            // one entry {key: "a", value: 1.5}
            vec![
                0x0a, 0x0c, 0x0a, 0x01, b'a', 0x11, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f,
            ],
        ),
        (
            strukt(&[("F0", DataType::Int32)]),
            Val::Object(vec![("F0".into(), Val::Int(1))]),
            vec![0x0a, 0x02, 0x08, 0x01],
        ),
        (
            strukt(&[("F0", DataType::Int32)]),
            Val::Object(vec![("F0".into(), Val::Int(0))]),
            // a present struct is written even when empty
            vec![0x0a, 0x00],
        ),
        (
            DataType::Binary,
            Val::Bytes(vec![1, 2]),
            vec![0x0a, 0x02, 1, 2],
        ),
    ];
    for (dt, v, bytes) in cases {
        let f = make("PROTOBUF_NOSR", &nosr(), &[("X", dt.clone())]);
        assert_eq!(
            encode_one(f.as_ref(), vec![v.clone()]),
            Some(bytes.clone()),
            "{dt}"
        );
        assert_eq!(decode_one(f.as_ref(), &bytes), Ok(vec![v]), "{dt}");
    }
}

#[test]
fn protobuf_reads_missing_fields_as_proto3_defaults() {
    let cols = vec![
        ("I", DataType::Int32),
        ("S", DataType::Utf8),
        ("B", DataType::Boolean),
        ("BY", DataType::Binary),
        ("ARR", list(DataType::Int32)),
        ("MAP", map_type(DataType::Utf8)),
        ("ST", strukt(&[("FOO", DataType::Int32)])),
        ("DEC", DataType::Decimal128(4, 2)),
        ("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
    ];
    let f = make("PROTOBUF_NOSR", &nosr(), &cols);
    assert_eq!(
        decode_one(f.as_ref(), &[]),
        Ok(vec![
            Val::Int(0),
            Val::Str(String::new()),
            Val::Bool(false),
            Val::Null, // missing BYTES read as null, as ksqlDB does
            Val::Array(vec![]),
            Val::Object(vec![]),
            Val::Null,
            Val::Null,
            Val::Null,
        ])
    );
    // an empty struct reads with its fields' defaults
    assert_eq!(
        decode_one(f.as_ref(), &[0x3a, 0x00]).unwrap()[6],
        Val::Object(vec![("FOO".into(), Val::Int(0))])
    );
    // null array elements are written as defaults, null map values as missing values
    let row = vec![
        Val::Null,
        Val::Null,
        Val::Null,
        Val::Null,
        Val::Array(vec![Val::Int(1), Val::Null]),
        Val::Object(vec![("k".into(), Val::Null)]),
        Val::Null,
        Val::Null,
        Val::Null,
    ];
    let bytes = encode_one(f.as_ref(), row).unwrap();
    let back = decode_one(f.as_ref(), &bytes).unwrap();
    assert_eq!(back[4], Val::Array(vec![Val::Int(1), Val::Int(0)]));
    assert_eq!(
        back[5],
        Val::Object(vec![("k".into(), Val::Str(String::new()))])
    );
    // a null record is a null payload, and a null payload a null row
    let d = f.decode(&[None]);
    assert_eq!(d.null_rows, vec![true]);
    assert_eq!(f.payload_to_json(None).unwrap(), json!(null));
    assert_eq!(f.json_to_payload(&json!(null)).unwrap(), None);
}

#[test]
fn protobuf_nullable_representations() {
    let cols = [("I", DataType::Int32), ("L", DataType::Int64)];
    let row = vec![Val::Null, Val::Int(0)];
    // OPTIONAL: explicit presence, 0 is written and missing reads as null
    let f = make("PROTOBUF_NOSR", &with_nullables("optional"), &cols);
    let bytes = encode_one(f.as_ref(), row.clone()).unwrap();
    assert_eq!(bytes, [0x10, 0x00]);
    assert_eq!(decode_one(f.as_ref(), &bytes), Ok(row.clone()));
    // WRAPPER: google.protobuf.Int64Value {} for 0, nothing for null
    let f = make("PROTOBUF", &with_nullables("WRAPPER"), &cols);
    let bytes = encode_one(f.as_ref(), row.clone()).unwrap();
    assert_eq!(bytes, framed(&[0x12, 0x00]));
    assert_eq!(decode_one(f.as_ref(), &bytes), Ok(row));
    assert_eq!(
        err("PROTOBUF", &with_nullables("sometimes"), &cols),
        "Unknown nullable representation: SOMETIMES. Valid values are: OPTIONAL, WRAPPER"
    );
}

#[test]
fn protobuf_keys_and_values_are_always_wrapped() {
    let k = make(
        "PROTOBUF",
        &FormatOptions::key(),
        &[("F1", DataType::Boolean)],
    );
    let p = k.json_to_payload(&json!({"F1": true})).unwrap().unwrap();
    assert_eq!(p, framed(&[0x08, 0x01]));
    assert_eq!(k.payload_to_json(Some(&p)).unwrap(), json!({"F1": true}));
    let p = k.json_to_payload(&json!({"F1": null})).unwrap().unwrap();
    assert_eq!(k.payload_to_json(Some(&p)).unwrap(), json!({"F1": false}));
    // a key row of nulls (a null key read back) is written as a null key
    assert_eq!(encode_one(k.as_ref(), vec![Val::Null]), None);
    assert_eq!(k.json_to_payload(&json!(null)).unwrap(), None);
    let opts = FormatOptions {
        wrap_single_value: Some(false),
        ..Default::default()
    };
    assert_eq!(
        err("PROTOBUF", &opts, &[("FOO", DataType::Int32)]),
        "Format 'PROTOBUF' does not support 'WRAP_SINGLE_VALUE' set to 'false'."
    );
    assert_eq!(
        err(
            "PROTOBUF",
            &FormatOptions::value(),
            &[("FOO", DataType::Map(
                Arc::new(Field::new(
                    "entries",
                    strukt(&[("key", DataType::Int32), ("value", DataType::Float64)]),
                    false
                )),
                false
            ))]
        ),
        "PROTOBUF format only supports MAP types with STRING keys. See https://github.com/confluentinc/ksql/issues/6177."
    );
    // without columns (a keyless stream's key) nothing is written or read
    let none = make("PROTOBUF", &FormatOptions::key(), &[]);
    assert_eq!(none.json_to_payload(&json!({"x": 1})).unwrap(), None);
    assert!(none.decode(&[Some(b"junk".as_slice())]).errors.is_empty());
}

#[test]
fn protobuf_reads_and_writes_with_a_provided_schema() {
    let text = "syntax = \"proto3\"; message ConfluentDefault1 {float c1 = 1; uint32 c2 = 2; uint64 c3 = 3; sint32 c4 = 4; sint64 c5 = 5; fixed32 c6 = 6; sfixed64 c7 = 7;}";
    let cols = [
        ("C1", DataType::Float64),
        ("C2", DataType::Int64),
        ("C3", DataType::Int64),
        ("C4", DataType::Int32),
        ("C5", DataType::Int64),
        ("C6", DataType::Int64),
        ("C7", DataType::Int64),
    ];
    let f = make("PROTOBUF", &provided(text), &cols);
    let p = f
        .json_to_payload(&json!({"c1": 1.1234, "c2": 4294967295u64, "c3": 400000000000i64, "c4": -1, "c5": -2, "c6": 7, "c7": -3}))
        .unwrap()
        .unwrap();
    let mut msg = vec![0x0d];
    msg.extend(1.1234f32.to_bits().to_le_bytes());
    msg.extend([0x10, 0xff, 0xff, 0xff, 0xff, 0x0f]); // uint32 max
    msg.extend([0x18, 0x80, 0xc0, 0xee, 0x8e, 0xd2, 0x0b]); // 400000000000
    msg.extend([0x20, 0x01, 0x28, 0x03]); // zigzag -1, -2
    msg.extend([0x35, 7, 0, 0, 0]);
    msg.extend([0x39, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(p, framed(&msg));
    assert_eq!(
        f.payload_to_json(Some(&p)).unwrap(),
        json!({"c1": 1.1233999729156494, "c2": 4294967295u64, "c3": 400000000000i64, "c4": -1, "c5": -2, "c6": 7, "c7": -3})
    );
    // decoded into the columns, as the engine reads it
    assert_eq!(
        decode_one(f.as_ref(), &p).unwrap()[..2],
        [Val::Float(1.1233999729156494), Val::Int(4294967295)]
    );
}

#[test]
fn protobuf_provided_schema_enums_wrappers_and_names() {
    let enums = "syntax = \"proto3\"; message ConfluentDefault1 {enum Suit {SPADES = 0; HEARTS = 1; DIAMONDS = 2; CLUBS = 4;} Suit c1 = 1;}";
    let f = make("PROTOBUF", &provided(enums), &[("C1", DataType::Utf8)]);
    let p = f.json_to_payload(&json!({"c1": "CLUBS"})).unwrap().unwrap();
    assert_eq!(p, framed(&[0x08, 0x04]));
    assert_eq!(f.payload_to_json(Some(&p)).unwrap(), json!({"c1": "CLUBS"}));
    assert_eq!(
        decode_one(f.as_ref(), &p),
        Ok(vec![Val::Str("CLUBS".into())])
    );
    let p = f
        .json_to_payload(&json!({"c1": "SPADES"}))
        .unwrap()
        .unwrap();
    assert_eq!(
        f.payload_to_json(Some(&p)).unwrap(),
        json!({"c1": "SPADES"})
    );

    let wrappers = "syntax = \"proto3\"; import 'google/protobuf/wrappers.proto'; message M {google.protobuf.BoolValue c1 = 1; google.protobuf.StringValue c5 = 5;}";
    let f = make(
        "PROTOBUF",
        &provided(wrappers),
        &[("C1", DataType::Boolean), ("C5", DataType::Utf8)],
    );
    let p = f
        .json_to_payload(&json!({"c1": true, "c5": null}))
        .unwrap()
        .unwrap();
    assert_eq!(p, framed(&[0x0a, 0x02, 0x08, 0x01]));
    assert_eq!(
        f.payload_to_json(Some(&p)).unwrap(),
        json!({"c1": true, "c5": null})
    );

    // the schema full name picks the message, whose index the header carries
    let two = "syntax = \"proto3\"; message ProtobufValue1 {float c1 = 1; uint32 c2 = 2;} message ProtobufValue2 {uint32 c1 = 1;}";
    let opts = FormatOptions {
        avro_schema_full_name: Some("ProtobufValue2".into()),
        ..provided(two)
    };
    let f = make("PROTOBUF", &opts, &[("C1", DataType::Int64)]);
    let p = f.json_to_payload(&json!({"C1": 100})).unwrap().unwrap();
    assert_eq!(p, [0, 0, 0, 0, 0, 0x02, 0x02, 0x08, 0x64]);
    assert_eq!(f.payload_to_json(Some(&p)).unwrap(), json!({"c1": 100}));

    // schemas importing others, given as the main text and its references
    let refs = json!({
        "schema": "syntax = \"proto3\";\n\nimport \"event.proto\"; \n\nmessage Logistics {\n Event event = 1;\n}",
        "references": [{"name": "event.proto", "schema": "syntax = \"proto3\";\n\nmessage Event {\n int64 timestamp = 1;\n}"}]
    });
    let opts = FormatOptions {
        provided_schema: Some(refs),
        ..Default::default()
    };
    let f = make(
        "PROTOBUF",
        &opts,
        &[("event", strukt(&[("timestamp", DataType::Int64)]))],
    );
    let p = f
        .json_to_payload(&json!({"event": {"timestamp": 1}}))
        .unwrap()
        .unwrap();
    assert_eq!(p, framed(&[0x0a, 0x02, 0x08, 0x01]));
    assert_eq!(
        f.payload_to_json(Some(&p)).unwrap(),
        json!({"event": {"timestamp": 1}})
    );

    // a provided schema without the columns' fields is not used
    let other = make(
        "PROTOBUF",
        &provided("syntax = \"proto3\"; message M {string other = 1;}"),
        &[("X", DataType::Int32)],
    );
    assert_eq!(
        other.json_to_payload(&json!({"X": 5})).unwrap().unwrap(),
        framed(&[0x08, 0x05])
    );
}

#[test]
fn protobuf_bad_payloads_are_row_errors() {
    let f = make("PROTOBUF", &FormatOptions::value(), &primitives());
    let good = framed(&[0x08, 0x01]);
    let bad: Vec<&[u8]> = vec![
        b"",
        &[1, 0, 0, 0, 0, 0],                   // wrong magic byte
        &[0, 0, 0],                            // short header
        &[0, 0, 0, 0, 0, 0, 0x08],             // truncated varint
        &[0, 0, 0, 0, 0, 0, 0x2a, 0x05],       // string past the end
        &[0, 0, 0, 0, 0, 0, 0x2a, 0x01, 0xff], // invalid UTF-8
        &[0, 0, 0, 0, 0, 0, 0x0f],             // invalid wire type
    ];
    let mut payloads: Vec<Option<&[u8]>> = vec![Some(&good)];
    payloads.extend(bad.iter().map(|b| Some(*b)));
    let d = f.decode(&payloads);
    assert_eq!(d.batch.num_rows(), payloads.len());
    let rows: Vec<usize> = d.errors.iter().map(|e| e.row).collect();
    assert_eq!(
        rows,
        (1..payloads.len()).collect::<Vec<_>>(),
        "{:?}",
        d.errors
    );
    assert_eq!(d.errors[0].message, "Unknown magic byte!");
    assert!(
        d.errors[5].message.contains("UTF-8"),
        "{}",
        d.errors[5].message
    );
    assert_eq!(row_values(&d.batch, 0)[0], Val::Int(1));
    assert_eq!(row_values(&d.batch, 3), vec![Val::Null; 5]);
    assert!(f.payload_to_json(Some(b"x")).is_err());
    // a value of the wrong wire type for its field is skipped, as protobuf-java does
    let skipped = framed(&[0x0a, 0x01, b'x', 0x10, 0x02]);
    assert_eq!(
        decode_one(f.as_ref(), &skipped).unwrap()[..2],
        [Val::Int(0), Val::Int(2)]
    );
}

// ---------------------------------------------------------------- json_sr

#[test]
fn json_sr_frames_json_text() {
    let f = make(
        "JSON_SR",
        &FormatOptions::value(),
        &[("ID", DataType::Int64)],
    );
    let p = encode_one(f.as_ref(), vec![Val::Int(7)]).unwrap();
    assert_eq!(p, b"\0\0\0\0\0{\"ID\":7}");
    assert_eq!(decode_one(f.as_ref(), &p), Ok(vec![Val::Int(7)]));
    assert_eq!(f.payload_to_json(Some(&p)).unwrap(), json!({"ID": 7}));
    assert_eq!(
        f.json_to_payload(&json!({"id": 7})).unwrap().unwrap(),
        b"\0\0\0\0\0{\"id\":7}"
    );
    // plain JSON without the header is an error, as in ksqlDB
    let e = decode_one(f.as_ref(), br#"{"ID": 7}"#).unwrap_err();
    assert!(e.contains("did not start with the magic byte"), "{e}");
    assert!(f.payload_to_json(Some(b"{}")).is_err());
    // single keys are unwrapped, as JSON's are
    let k = make("JSON_SR", &FormatOptions::key(), &[("K", DataType::Int32)]);
    let p = k.json_to_payload(&json!(10)).unwrap().unwrap();
    assert_eq!(p, [0, 0, 0, 0, 0, b'1', b'0']);
    assert_eq!(decode_one(k.as_ref(), &p), Ok(vec![Val::Int(10)]));
    assert_eq!(encode_one(k.as_ref(), vec![Val::Null]), None);
    // a provided schema's properties without a column are written as null
    let opts = FormatOptions {
        provided_schema: Some(
            json!({"type": "object", "properties": {"c1": {"type": "integer"}, "c2": {"type": "string"}}}),
        ),
        ..Default::default()
    };
    let f = make("JSON_SR", &opts, &[("c1", DataType::Int64)]);
    let p = encode_one(f.as_ref(), vec![Val::Int(4)]).unwrap();
    assert_eq!(
        f.payload_to_json(Some(&p)).unwrap(),
        json!({"c1": 4, "c2": null})
    );
    assert_eq!(decode_one(f.as_ref(), &p), Ok(vec![Val::Int(4)]));
}

// ---------------------------------------------------------------- property round trips

fn all_types() -> Vec<(&'static str, DataType)> {
    vec![
        ("BOOL", DataType::Boolean),
        ("I", DataType::Int32),
        ("L", DataType::Int64),
        ("D", DataType::Float64),
        ("DEC", DataType::Decimal128(10, 3)),
        ("S", DataType::Utf8),
        ("BY", DataType::Binary),
        ("DT", DataType::Date32),
        ("TM", DataType::Time32(TimeUnit::Millisecond)),
        ("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
        ("ARR", list(DataType::Int32)),
        ("MAP", map_type(DataType::Float64)),
        (
            "ST",
            strukt(&[("A", DataType::Utf8), ("B", list(DataType::Int64))]),
        ),
    ]
}

fn kafka_types() -> Vec<(&'static str, DataType)> {
    vec![
        ("K", DataType::Int32),
        ("K", DataType::Int64),
        ("K", DataType::Float64),
        ("K", DataType::Utf8),
        ("K", DataType::Binary),
    ]
}

fn primitive_types() -> Vec<(&'static str, DataType)> {
    all_types().into_iter().take(10).collect()
}

fn val_strategy(dt: &DataType, non_empty_strings: bool) -> BoxedStrategy<Val> {
    let non_null: BoxedStrategy<Val> = match dt {
        DataType::Boolean => any::<bool>().prop_map(Val::Bool).boxed(),
        DataType::Int32 | DataType::Date32 => any::<i32>().prop_map(|i| Val::Int(i as i64)).boxed(),
        DataType::Time32(_) => (0..86_400_000i64).prop_map(Val::Int).boxed(),
        DataType::Int64 | DataType::Timestamp(_, _) => any::<i64>().prop_map(Val::Int).boxed(),
        DataType::Float64 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Val::Float)
            .boxed(),
        DataType::Decimal128(_, _) => (-9_999_999_999i128..=9_999_999_999i128)
            .prop_map(Val::Decimal)
            .boxed(),
        DataType::Utf8 if non_empty_strings => "[^\u{0}]{1,12}".prop_map(Val::Str).boxed(),
        DataType::Utf8 => ".{0,12}".prop_map(Val::Str).boxed(),
        DataType::Binary => {
            proptest::collection::vec(any::<u8>(), usize::from(non_empty_strings)..12)
                .prop_map(Val::Bytes)
                .boxed()
        }
        DataType::List(f) => {
            proptest::collection::vec(val_strategy(f.data_type(), non_empty_strings), 0..4)
                .prop_map(Val::Array)
                .boxed()
        }
        DataType::Map(entries, _) => {
            let vt = value::map_value_type(entries.data_type());
            proptest::collection::btree_map(".{0,6}", val_strategy(&vt, non_empty_strings), 0..4)
                .prop_map(|m: BTreeMap<String, Val>| Val::Object(m.into_iter().collect()))
                .boxed()
        }
        DataType::Struct(fields) => {
            let names: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
            fields
                .iter()
                .map(|f| val_strategy(f.data_type(), non_empty_strings))
                .collect::<Vec<_>>()
                .prop_map(move |vals| Val::Object(names.iter().cloned().zip(vals).collect()))
                .boxed()
        }
        other => panic!("no strategy for {other}"),
    };
    prop_oneof![1 => Just(Val::Null), 4 => non_null].boxed()
}

fn rows_strategy(
    cols: &[(&str, DataType)],
    non_empty_strings: bool,
) -> BoxedStrategy<Vec<Vec<Val>>> {
    let row: Vec<BoxedStrategy<Val>> = cols
        .iter()
        .map(|(_, t)| val_strategy(t, non_empty_strings))
        .collect();
    proptest::collection::vec(row, 0..6).boxed()
}

/// Encodes `rows`, decodes the payloads and checks the batch comes back equal.
fn round_trip(f: &dyn Format, rows: Vec<Vec<Val>>) -> Result<(), TestCaseError> {
    let batch = batch_of(f.schema(), rows);
    let payloads = f
        .encode(&batch)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let refs: Vec<Option<&[u8]>> = payloads.iter().map(|p| p.as_deref()).collect();
    let decoded = f.decode(&refs);
    prop_assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    prop_assert_eq!(decoded.batch.num_rows(), batch.num_rows());
    if f.name() == "JSON" {
        // JSON reads a map's entries in the order ksqlDB holds them (a Java HashMap's), not
        // as written: compare what the rows say, written out again, with entries unordered.
        let again = f
            .encode(&decoded.batch)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (a, b) in again.iter().zip(&payloads) {
            let json = |p: &Option<Vec<u8>>| {
                p.as_deref()
                    .map(|b| serde_json::from_slice::<serde_json::Value>(b).unwrap())
            };
            prop_assert_eq!(json(a), json(b));
        }
        return Ok(());
    }
    for (a, b) in decoded.batch.columns().iter().zip(batch.columns()) {
        prop_assert_eq!(a.to_data(), b.to_data());
    }
    Ok(())
}

/// Where a value sits, for what a protobuf round trip makes of its nulls.
#[derive(Clone, Copy, PartialEq)]
enum Slot {
    Field,
    Element,
    MapValue,
}

/// What writing `v` as PROTOBUF with nullable representation `rep` and reading it back gives:
/// protobuf has no null array elements (they come back as the type's zero), repeated and map
/// fields are never null (empty), and plain proto3 scalars read a null as their default.
fn proto_view(v: Val, dt: &DataType, rep: &str, slot: Slot) -> Val {
    let scalar_default = || match dt {
        DataType::Boolean => Val::Bool(false),
        DataType::Float64 => Val::Float(0.0),
        DataType::Utf8 => Val::Str(String::new()),
        DataType::Binary => Val::Bytes(vec![]),
        _ => Val::Int(0),
    };
    match (v, dt) {
        // a map value that is an ARRAY or MAP is boxed in a message: missing reads as null
        (Val::Null, DataType::List(_) | DataType::Map(_, _)) if slot == Slot::MapValue => Val::Null,
        (Val::Null, DataType::List(_)) => Val::Array(vec![]),
        (Val::Null, DataType::Map(_, _)) => Val::Object(vec![]),
        (Val::Null, DataType::Struct(fs)) => match slot {
            Slot::Element => Val::Object(
                fs.iter()
                    .map(|f| {
                        (
                            f.name().clone(),
                            proto_view(Val::Null, f.data_type(), rep, Slot::Field),
                        )
                    })
                    .collect(),
            ),
            _ => Val::Null,
        },
        (
            Val::Null,
            DataType::Decimal128(_, _)
            | DataType::Date32
            | DataType::Time32(_)
            | DataType::Timestamp(_, _),
        ) => match (slot, dt) {
            (Slot::Element, DataType::Decimal128(_, _)) => Val::Decimal(0),
            (Slot::Element, _) => Val::Int(0),
            _ => Val::Null,
        },
        // proto3 does not write empty BYTES, and ksqlDB reads missing BYTES as null
        (Val::Null, DataType::Binary) if slot == Slot::Element => Val::Bytes(vec![]),
        (Val::Null, DataType::Binary) => Val::Null,
        (Val::Bytes(b), DataType::Binary)
            if b.is_empty() && slot != Slot::Element && rep == "PLAIN" =>
        {
            Val::Null
        }
        (Val::Null, _) => match (slot, rep) {
            (Slot::Element, _) | (_, "PLAIN") => scalar_default(),
            _ => Val::Null,
        },
        (Val::Array(items), DataType::List(f)) => Val::Array(
            items
                .into_iter()
                .map(|i| proto_view(i, f.data_type(), rep, Slot::Element))
                .collect(),
        ),
        (Val::Object(entries), DataType::Map(e, _)) => {
            let vt = value::map_value_type(e.data_type());
            Val::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, proto_view(v, &vt, rep, Slot::MapValue)))
                    .collect(),
            )
        }
        (Val::Object(entries), DataType::Struct(fs)) => Val::Object(
            entries
                .into_iter()
                .zip(fs.iter())
                .map(|((k, v), f)| (k, proto_view(v, f.data_type(), rep, Slot::Field)))
                .collect(),
        ),
        (v, _) => v,
    }
}

/// Encodes `rows`, decodes the payloads and checks the batch reads back as `expected`.
fn round_trip_to(
    f: &dyn Format,
    rows: Vec<Vec<Val>>,
    expected: Vec<Vec<Val>>,
) -> Result<(), TestCaseError> {
    let batch = batch_of(f.schema(), rows);
    let want = batch_of(f.schema(), expected);
    let payloads = f
        .encode(&batch)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let refs: Vec<Option<&[u8]>> = payloads.iter().map(|p| p.as_deref()).collect();
    let decoded = f.decode(&refs);
    prop_assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    prop_assert_eq!(decoded.batch.num_rows(), want.num_rows());
    for (a, b) in decoded.batch.columns().iter().zip(want.columns()) {
        prop_assert_eq!(a.to_data(), b.to_data());
    }
    Ok(())
}

/// Every column type, nested ones included, for the protobuf round trips.
fn proto_types() -> Vec<(&'static str, DataType)> {
    let mut cols = all_types();
    cols.push(("DTS", list(DataType::Date32)));
    cols.push(("AA", list(list(DataType::Int32))));
    cols.push(("MA", map_type(list(DataType::Utf8))));
    cols.push(("AS", list(strukt(&[("X", DataType::Int64)]))));
    cols.push((
        "MS",
        map_type(strukt(&[
            ("Y", DataType::Boolean),
            ("Z", DataType::Decimal128(10, 3)),
        ])),
    ));
    cols
}

fn proto_round_trip(format: &str, rep: &str, rows: Vec<Vec<Val>>) -> Result<(), TestCaseError> {
    let opts = if rep == "PLAIN" {
        FormatOptions::value()
    } else {
        with_nullables(rep)
    };
    let cols = proto_types();
    let f = make(format, &opts, &cols);
    let expected = rows
        .iter()
        .map(|r| {
            r.iter()
                .cloned()
                .zip(cols.iter())
                .map(|(v, (_, t))| proto_view(v, t, rep, Slot::Field))
                .collect()
        })
        .collect();
    round_trip_to(f.as_ref(), rows, expected)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn protobuf_round_trips(rows in rows_strategy(&proto_types(), false)) {
        proto_round_trip("PROTOBUF", "PLAIN", rows)?;
    }

    #[test]
    fn protobuf_optional_round_trips(rows in rows_strategy(&proto_types(), false)) {
        proto_round_trip("PROTOBUF_NOSR", "OPTIONAL", rows)?;
    }

    #[test]
    fn protobuf_wrapper_round_trips(rows in rows_strategy(&proto_types(), false)) {
        proto_round_trip("PROTOBUF", "WRAPPER", rows)?;
    }

    #[test]
    fn json_sr_round_trips(rows in rows_strategy(&all_types(), false)) {
        let f = make("JSON_SR", &FormatOptions::value(), &all_types());
        round_trip(f.as_ref(), rows)?;
    }

    #[test]
    fn json_round_trips(rows in rows_strategy(&all_types(), false)) {
        let f = make("JSON", &FormatOptions::value(), &all_types());
        round_trip(f.as_ref(), rows)?;
    }

    #[test]
    fn avro_round_trips(rows in rows_strategy(&all_types(), false)) {
        let f = make("AVRO", &FormatOptions::value(), &all_types());
        round_trip(f.as_ref(), rows)?;
    }

    #[test]
    fn delimited_round_trips(rows in rows_strategy(&primitive_types(), true)) {
        let f = make("DELIMITED", &FormatOptions::value(), &primitive_types());
        round_trip(f.as_ref(), rows)?;
    }

    #[test]
    fn unwrapped_single_columns_round_trip(
        (idx, rows) in (0usize..13).prop_flat_map(|i| (Just(i), rows_strategy(&all_types()[i..i + 1], false)))
    ) {
        let cols = &all_types()[idx..idx + 1];
        let opts = FormatOptions { wrap_single_value: Some(false), ..Default::default() };
        // a null single value is a null record: compare only the non-null rows
        let rows: Vec<Vec<Val>> = rows.into_iter().filter(|r| !matches!(r[0], Val::Null)).collect();
        for format in ["JSON", "AVRO"] {
            let f = make(format, &opts, cols);
            round_trip(f.as_ref(), rows.clone())?;
        }
    }

    #[test]
    fn kafka_round_trips(
        (idx, rows) in (0usize..5).prop_flat_map(|i| (Just(i), rows_strategy(&kafka_types()[i..i + 1], false)))
    ) {
        let f = make("KAFKA", &FormatOptions::key(), &kafka_types()[idx..idx + 1]);
        round_trip(f.as_ref(), rows)?;
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        for format in ["JSON", "AVRO", "DELIMITED", "KAFKA", "PROTOBUF", "PROTOBUF_NOSR", "JSON_SR"] {
            let cols: Vec<(&str, DataType)> = if format == "KAFKA" {
                vec![("K", DataType::Int64)]
            } else if format == "DELIMITED" {
                primitive_types()
            } else if format.starts_with("PROTOBUF") {
                proto_types()
            } else {
                all_types()
            };
            let f = make(format, &FormatOptions::value(), &cols);
            let d = f.decode(&[Some(&bytes)]);
            prop_assert_eq!(d.batch.num_rows(), 1);
            let _ = f.payload_to_json(Some(&bytes));
        }
    }
}
