//! The PROTOBUF and PROTOBUF_NOSR formats: records as protobuf messages, as ksqlDB writes
//! them through Confluent's protobuf converter.
//!
//! PROTOBUF payloads carry Confluent's schema-registry framing: magic byte 0, a 4-byte
//! big-endian schema id (written as 0), the message indexes of the record's message type
//! (a zigzag varint count then that many zigzag varints; the single byte 0 for the first
//! message of the schema), then the message. PROTOBUF_NOSR payloads are the bare message.
//!
//! The message type is derived from the columns (see `protoschema`), or, for PROTOBUF, taken
//! from a provided `.proto` schema (the message named by the schema full name option, else the
//! schema's first message) when every column has a field of that name (case-insensitively):
//! its field numbers and types are used to read and write. Both formats always wrap: a single
//! column, key or value, is a message holding it, and `WRAP_SINGLE_VALUE=false` is refused
//! with ksqlDB's message.
//!
//! Reading follows proto3 and Confluent's converter: a missing scalar field reads as its
//! type's default (0, "", false, the enum's first symbol) unless the field has explicit
//! presence (`optional`, a oneof member, a `google.protobuf.*Value` wrapper), which reads as
//! null; a missing message field (STRUCT, DECIMAL, DATE, TIME, TIMESTAMP) reads as null; a
//! missing repeated or map field reads as empty. Enums read as their symbol's name, unsigned
//! 32-bit integers as BIGINT values, floats widened to DOUBLE. Unknown fields are skipped.
//! Writing omits nulls and, for implicit-presence fields, default values; null array elements
//! are written as the element type's default (protobuf cannot hold them) and null map values
//! as entries without a value.

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use base64::Engine as _;

use super::protoschema::{
    self, field_index, FieldDesc, FieldType, Label, Nullables, ProtoSchema, Scalar, WellKnown,
};
use super::protowire::{
    put_len, put_tag, put_varint, unzigzag32, unzigzag64, zigzag32, zigzag64, Reader, WireValue,
    I32, I64, LEN, VARINT,
};
use super::value::Val;
use super::{
    check_width, decode_rows, logical_json_to_row, payload_to_json_via_decode, row_values, value,
    Decoded, Format, FormatError, FormatOptions,
};
use crate::java_text::{format_decimal, java_double};

/// Which of the two protobuf formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `PROTOBUF`: schema-registry framed.
    Registry,
    /// `PROTOBUF_NOSR`: bare messages.
    NoRegistry,
}

/// ksqlDB's `PROTOBUF` and `PROTOBUF_NOSR` formats.
#[derive(Debug)]
pub struct ProtobufFormat {
    flavor: Flavor,
    is_key: bool,
    schema: SchemaRef,
    proto: ProtoSchema,
    root: usize,
    /// The message indexes written after the schema id.
    indexes: Vec<i32>,
}

const MAX_DEPTH: usize = 100;

impl ProtobufFormat {
    pub(crate) fn new(
        flavor: Flavor,
        options: &FormatOptions,
        schema: SchemaRef,
    ) -> Result<Self, FormatError> {
        let name = match flavor {
            Flavor::Registry => "PROTOBUF",
            Flavor::NoRegistry => "PROTOBUF_NOSR",
        };
        if options.wrap_single_value == Some(false) {
            return Err(FormatError::InvalidConfig(format!(
                "Format '{name}' does not support 'WRAP_SINGLE_VALUE' set to 'false'."
            )));
        }
        for f in schema.fields() {
            check_map_keys(name, f.data_type())?;
        }
        let nullables = Nullables::parse(options.nullable_representation.as_deref())?;
        let full_name = options.avro_schema_full_name.as_deref();
        let provided = match (flavor, &options.provided_schema) {
            (Flavor::Registry, Some(p)) => provided_message(p, full_name, &schema),
            _ => None,
        };
        let (proto, root) = match provided {
            Some(p) => p,
            None => protoschema::derive(&schema, full_name, nullables)?,
        };
        let indexes = proto.message_indexes(root);
        Ok(ProtobufFormat {
            flavor,
            is_key: options.is_key,
            schema,
            proto,
            root,
            indexes,
        })
    }

    /// The fully qualified name of the message type records are read and written as.
    pub fn message_name(&self) -> &str {
        &self.proto.messages[self.root].full_name
    }

    fn unframe<'a>(&self, bytes: &'a [u8]) -> Result<&'a [u8], String> {
        if self.flavor == Flavor::NoRegistry {
            return Ok(bytes);
        }
        if bytes.len() < 5 || bytes[0] != 0 {
            return Err("Unknown magic byte!".into());
        }
        let mut r = Reader::new(&bytes[5..]);
        let bad = |_| "Failed to deserialize Protobuf: invalid message indexes".to_string();
        let count = unzigzag32(r.varint().map_err(bad)?);
        if count < 0 {
            return Err("Failed to deserialize Protobuf: invalid message indexes".into());
        }
        for _ in 0..count {
            r.varint().map_err(bad)?;
        }
        Ok(r.rest())
    }

    fn frame(&self, message: Vec<u8>) -> Vec<u8> {
        if self.flavor == Flavor::NoRegistry {
            return message;
        }
        let mut out = Vec::with_capacity(message.len() + 6);
        out.extend_from_slice(&[0, 0, 0, 0, 0]);
        if self.indexes == [0] {
            out.push(0);
        } else {
            put_varint(&mut out, zigzag32(self.indexes.len() as i32));
            for i in &self.indexes {
                put_varint(&mut out, zigzag32(*i));
            }
        }
        out.extend(message);
        out
    }

    /// Decodes one payload into the record's raw value (an object of the message's fields).
    fn decode_raw(&self, bytes: &[u8]) -> Result<Val, String> {
        let message = self.unframe(bytes)?;
        read_message(&self.proto, self.root, message, 0)
    }

    fn encode_row(&self, values: Vec<Val>) -> Result<Vec<u8>, FormatError> {
        let entries: Vec<(String, Val)> = values
            .into_iter()
            .zip(self.schema.fields())
            .map(|(v, f)| (f.name().clone(), raw_of(v, f.data_type())))
            .collect();
        let mut out = Vec::new();
        write_message(&self.proto, self.root, entries, &mut out, 0)
            .map_err(|e| FormatError::Encode(format!("Failed to serialize Protobuf: {e}")))?;
        Ok(self.frame(out))
    }
}

/// A message of a `.proto` schema as columns: its full name and its fields as `(name as
/// declared, column type)`.
pub type ProtoMessage = (String, Vec<(String, DataType)>);

/// The messages of a provided `.proto` schema (in the form
/// [`FormatOptions::provided_schema`] takes) as ksqlDB infers columns from them: each
/// top-level message of the main text, by full name, with its fields as `(name as declared,
/// column type)`. The first message is the schema's default.
pub fn schema_messages(provided: &serde_json::Value) -> Result<Vec<ProtoMessage>, FormatError> {
    let invalid = |e: String| FormatError::InvalidConfig(format!("invalid Protobuf schema: {e}"));
    let (main, refs) = protoschema::provided_texts(provided)
        .ok_or_else(|| invalid("expected .proto text".into()))?;
    let proto = protoschema::parse(&main, &refs).map_err(invalid)?;
    proto
        .top_level
        .iter()
        .map(|m| {
            let msg = &proto.messages[*m];
            let cols = msg
                .fields
                .iter()
                .map(|f| Ok((f.name.clone(), protoschema::column_type(&proto, f)?)))
                .collect::<Result<Vec<_>, String>>()
                .map_err(FormatError::UnsupportedSchema)?;
            Ok((msg.full_name.clone(), cols))
        })
        .collect()
}

fn check_map_keys(format: &str, dt: &DataType) -> Result<(), FormatError> {
    match dt {
        DataType::Map(entries, _) => {
            if let DataType::Struct(fs) = entries.data_type() {
                if fs[0].data_type() != &DataType::Utf8 {
                    return Err(FormatError::UnsupportedSchema(format!(
                        "{format} format only supports MAP types with STRING keys. See https://github.com/confluentinc/ksql/issues/6177."
                    )));
                }
                check_map_keys(format, fs[1].data_type())?;
            }
            Ok(())
        }
        DataType::List(f) => check_map_keys(format, f.data_type()),
        DataType::Struct(fs) => fs
            .iter()
            .try_for_each(|f| check_map_keys(format, f.data_type())),
        _ => Ok(()),
    }
}

/// The message of a provided schema to use for `columns`: the one named `full_name` (else the
/// first), if every column has a field of its name.
fn provided_message(
    provided: &serde_json::Value,
    full_name: Option<&str>,
    columns: &SchemaRef,
) -> Option<(ProtoSchema, usize)> {
    let (main, refs) = protoschema::provided_texts(provided)?;
    let proto = protoschema::parse(&main, &refs).ok()?;
    let root = match full_name {
        Some(n) => proto.message_named(n)?,
        None => *proto.top_level.first()?,
    };
    let index = field_index(&proto.messages[root].fields);
    let covered = columns.fields().iter().all(|c| {
        proto.messages[root]
            .fields
            .iter()
            .any(|f| f.name == *c.name())
            || index.contains_key(&c.name().to_ascii_lowercase())
    });
    covered.then_some((proto, root))
}

// ---------------------------------------------------------------- reading

/// What one field collected while reading a message.
#[derive(Debug, Clone)]
enum Acc<'a> {
    None,
    Scalar(WireValue<'a>),
    /// A singular message field's encodings (several occurrences merge).
    Message(Vec<&'a [u8]>),
    Repeated(Vec<Val>),
}

fn wire_type_of(ty: FieldType) -> u8 {
    match ty {
        FieldType::Scalar(s) => match s {
            Scalar::Double | Scalar::Fixed64 | Scalar::SFixed64 => I64,
            Scalar::Float | Scalar::Fixed32 | Scalar::SFixed32 => I32,
            Scalar::String | Scalar::Bytes => LEN,
            _ => VARINT,
        },
        FieldType::Enum(_) => VARINT,
        FieldType::Message(_) => LEN,
    }
}

fn wire_matches(expected: u8, v: &WireValue) -> bool {
    matches!(
        (expected, v),
        (VARINT, WireValue::Varint(_))
            | (I64, WireValue::Fixed64(_))
            | (I32, WireValue::Fixed32(_))
            | (LEN, WireValue::Len(_))
    )
}

/// Reads a message of type `msg` into an object of its fields, in declaration order, named as
/// the schema names them.
fn read_message(
    proto: &ProtoSchema,
    msg: usize,
    bytes: &[u8],
    depth: usize,
) -> Result<Val, String> {
    if depth > MAX_DEPTH {
        return Err("Protocol message had too many levels of nesting.".into());
    }
    let desc = &proto.messages[msg];
    let mut accs: Vec<Acc> = vec![Acc::None; desc.fields.len()];
    let mut r = Reader::new(bytes);
    while let Some((number, value)) = r.field()? {
        let Some(i) = desc.fields.iter().position(|f| f.number == number) else {
            continue;
        };
        let f = &desc.fields[i];
        let expected = wire_type_of(f.ty);
        if f.label == Label::Repeated {
            let items = match &mut accs[i] {
                Acc::Repeated(items) => items,
                slot => {
                    *slot = Acc::Repeated(vec![]);
                    let Acc::Repeated(items) = slot else {
                        unreachable!()
                    };
                    items
                }
            };
            if wire_matches(expected, &value) {
                items.push(read_single(proto, f, value, depth)?);
            } else if let (WireValue::Len(packed), true) = (value, expected != LEN) {
                let mut pr = Reader::new(packed);
                while !pr.is_empty() {
                    let v = match expected {
                        VARINT => WireValue::Varint(pr.varint()?),
                        I64 => WireValue::Fixed64(pr.fixed64()?),
                        _ => WireValue::Fixed32(pr.fixed32()?),
                    };
                    items.push(read_single(proto, f, v, depth)?);
                }
            }
            continue;
        }
        if !wire_matches(expected, &value) {
            // protobuf-java keeps a field of the wrong wire type as an unknown field
            continue;
        }
        match (f.ty, value) {
            (FieldType::Message(_), WireValue::Len(b)) => match &mut accs[i] {
                Acc::Message(parts) => parts.push(b),
                slot => *slot = Acc::Message(vec![b]),
            },
            (_, v) => accs[i] = Acc::Scalar(v),
        }
    }
    let mut out = Vec::with_capacity(desc.fields.len());
    for (f, acc) in desc.fields.iter().zip(accs) {
        let v = match acc {
            Acc::Repeated(items) => repeated_value(proto, f, items)?,
            Acc::None if f.label == Label::Repeated => repeated_value(proto, f, vec![])?,
            Acc::None => match (f.ty, f.label) {
                (FieldType::Message(_), _) | (_, Label::Optional) => Val::Null,
                // ksqlDB reads a missing BYTES field as null (unlike STRING, read as "")
                (FieldType::Scalar(Scalar::Bytes), _) if proto.well_known(msg).is_none() => {
                    Val::Null
                }
                _ => default_value(proto, f.ty),
            },
            Acc::Scalar(v) => read_single(proto, f, v, depth)?,
            Acc::Message(parts) => {
                let bytes: Vec<u8> = parts.concat();
                read_single(proto, f, WireValue::Len(&bytes), depth)?
            }
        };
        out.push((f.name.clone(), v));
    }
    Ok(Val::Object(out))
}

/// A repeated field's value: an array, or an object for a map field.
fn repeated_value(proto: &ProtoSchema, f: &FieldDesc, items: Vec<Val>) -> Result<Val, String> {
    let is_map = matches!(f.ty, FieldType::Message(m) if proto.messages[m].map_entry);
    if !is_map {
        return Ok(Val::Array(items));
    }
    let mut entries = Vec::with_capacity(items.len());
    for item in items {
        let Val::Object(kv) = item else {
            continue;
        };
        let mut key = Val::Null;
        let mut value = Val::Null;
        for (name, v) in kv {
            match name.as_str() {
                "key" => key = v,
                "value" => value = v,
                _ => {}
            }
        }
        let key = match key {
            Val::Str(s) => s,
            Val::Null => String::new(),
            other => other.to_json_text(),
        };
        // a later entry for the same key replaces the earlier one
        if let Some(pos) = entries.iter().position(|(k, _)| *k == key) {
            entries.remove(pos);
        }
        entries.push((key, value));
    }
    Ok(Val::Object(entries))
}

/// The value a missing implicit-presence field reads as.
fn default_value(proto: &ProtoSchema, ty: FieldType) -> Val {
    match ty {
        FieldType::Scalar(s) => match s {
            Scalar::Double | Scalar::Float => Val::Float(0.0),
            Scalar::Bool => Val::Bool(false),
            Scalar::String => Val::Str(String::new()),
            Scalar::Bytes => Val::Bytes(vec![]),
            _ => Val::Int(0),
        },
        FieldType::Enum(e) => enum_name(proto, e, 0),
        FieldType::Message(_) => Val::Null,
    }
}

fn enum_name(proto: &ProtoSchema, e: usize, n: i32) -> Val {
    match proto.enums[e].values.iter().find(|(_, v)| *v == n) {
        Some((name, _)) => Val::Str(name.clone()),
        None => Val::Str(n.to_string()),
    }
}

/// One value of field `f` from the wire.
fn read_single(
    proto: &ProtoSchema,
    f: &FieldDesc,
    v: WireValue,
    depth: usize,
) -> Result<Val, String> {
    Ok(match (f.ty, v) {
        (FieldType::Scalar(s), v) => read_scalar(s, v)?,
        (FieldType::Enum(e), WireValue::Varint(n)) => enum_name(proto, e, n as i32),
        (FieldType::Message(m), WireValue::Len(b)) => read_message_value(proto, m, b, depth)?,
        _ => return Err(format!("wrong wire type for field {}", f.name)),
    })
}

fn read_scalar(s: Scalar, v: WireValue) -> Result<Val, String> {
    Ok(match (s, v) {
        (Scalar::Int32, WireValue::Varint(n)) => Val::Int(n as i32 as i64),
        (Scalar::Int64 | Scalar::UInt64, WireValue::Varint(n)) => Val::Int(n as i64),
        (Scalar::UInt32, WireValue::Varint(n)) => Val::Int(n as u32 as i64),
        (Scalar::SInt32, WireValue::Varint(n)) => Val::Int(unzigzag32(n) as i64),
        (Scalar::SInt64, WireValue::Varint(n)) => Val::Int(unzigzag64(n)),
        (Scalar::Bool, WireValue::Varint(n)) => Val::Bool(n != 0),
        (Scalar::Fixed32, WireValue::Fixed32(n)) => Val::Int(n as i64),
        (Scalar::SFixed32, WireValue::Fixed32(n)) => Val::Int(n as i32 as i64),
        (Scalar::Float, WireValue::Fixed32(n)) => Val::Float(f32::from_bits(n) as f64),
        (Scalar::Fixed64 | Scalar::SFixed64, WireValue::Fixed64(n)) => Val::Int(n as i64),
        (Scalar::Double, WireValue::Fixed64(n)) => Val::Float(f64::from_bits(n)),
        (Scalar::String, WireValue::Len(b)) => Val::Str(
            std::str::from_utf8(b)
                .map_err(|_| "Protocol message had invalid UTF-8.".to_string())?
                .to_string(),
        ),
        (Scalar::Bytes, WireValue::Len(b)) => Val::Bytes(b.to_vec()),
        (s, _) => return Err(format!("wrong wire type for a {} value", s.name())),
    })
}

fn read_message_value(
    proto: &ProtoSchema,
    m: usize,
    bytes: &[u8],
    depth: usize,
) -> Result<Val, String> {
    let inner = read_message(proto, m, bytes, depth + 1)?;
    let Some(wk) = proto.well_known(m) else {
        if proto.messages[m].boxed {
            if let Val::Object(mut fields) = inner {
                return Ok(fields.pop().map(|(_, v)| v).unwrap_or(Val::Null));
            }
        }
        return Ok(inner);
    };
    let Val::Object(fields) = inner else {
        return Ok(inner);
    };
    let int = |name: &str| -> i64 {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| match v {
                Val::Int(i) => Some(*i),
                _ => None,
            })
            .unwrap_or(0)
    };
    Ok(match wk {
        WellKnown::Wrapper(_) => fields
            .into_iter()
            .find(|(n, _)| n == "value")
            .map(|(_, v)| v)
            .unwrap_or(Val::Null),
        WellKnown::Timestamp => {
            let ms = int("seconds") as i128 * 1000 + (int("nanos") / 1_000_000) as i128;
            Val::Int(i64::try_from(ms).map_err(|_| "Timestamp out of range".to_string())?)
        }
        WellKnown::Date => {
            let (y, m, d) = (int("year"), int("month"), int("day"));
            if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
                return Err(format!("Invalid date: year {y}, month {m}, day {d}"));
            }
            Val::Int(days_from_civil(y, m, d))
        }
        WellKnown::TimeOfDay => {
            let (h, mi, s, n) = (int("hours"), int("minutes"), int("seconds"), int("nanos"));
            if !(0..24).contains(&h)
                || !(0..60).contains(&mi)
                || !(0..60).contains(&s)
                || !(0..1_000_000_000).contains(&n)
            {
                return Err(format!("Invalid time of day: {h}:{mi}:{s}.{n}"));
            }
            Val::Int(((h * 60 + mi) * 60 + s) * 1000 + n / 1_000_000)
        }
        WellKnown::Decimal => {
            let bytes = fields
                .iter()
                .find(|(n, _)| n == "value")
                .and_then(|(_, v)| match v {
                    Val::Bytes(b) => Some(b.as_slice()),
                    _ => None,
                })
                .unwrap_or(&[]);
            let unscaled = i128_from_be(bytes).ok_or("Decimal value too large")?;
            let scale = int("scale");
            let scale =
                i8::try_from(scale).map_err(|_| format!("Invalid decimal scale {scale}"))?;
            Val::Num(format_decimal(unscaled, scale))
        }
    })
}

fn i128_from_be(bytes: &[u8]) -> Option<i128> {
    if bytes.is_empty() {
        return Some(0);
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    if bytes.len() > 16 {
        let (pad, rest) = bytes.split_at(bytes.len() - 16);
        if pad.iter().any(|b| *b != fill) || (rest[0] & 0x80 != 0) != (fill == 0xff) {
            return None;
        }
        return i128_from_be(rest);
    }
    let mut buf = [fill; 16];
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    Some(i128::from_be_bytes(buf))
}

/// The shortest big-endian two's complement bytes of `v` (Java's `BigInteger.toByteArray`).
fn i128_to_be(v: i128) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

// ---------------------------------------------------------------- writing

/// A normalised column value in the raw form the writer takes: decimals as exact text, the
/// rest unchanged.
fn raw_of(v: Val, dt: &DataType) -> Val {
    match (v, dt) {
        (Val::Decimal(u), DataType::Decimal128(_, s)) => Val::Num(format_decimal(u, *s)),
        (Val::Array(items), DataType::List(f)) => Val::Array(
            items
                .into_iter()
                .map(|i| raw_of(i, f.data_type()))
                .collect(),
        ),
        (Val::Object(entries), DataType::Struct(fs)) => Val::Object(
            entries
                .into_iter()
                .zip(fs.iter())
                .map(|((k, v), f)| (k, raw_of(v, f.data_type())))
                .collect(),
        ),
        (Val::Object(entries), DataType::Map(e, _)) => {
            let vt = value::map_value_type(e.data_type());
            Val::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, raw_of(v, &vt)))
                    .collect(),
            )
        }
        (v, _) => v,
    }
}

/// Writes a message of type `msg` holding `entries` (matched to fields by name, exactly, then
/// case-insensitively; entries without a field are not written).
fn write_message(
    proto: &ProtoSchema,
    msg: usize,
    mut entries: Vec<(String, Val)>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("too many levels of nesting".into());
    }
    let desc = &proto.messages[msg];
    let mut fields: Vec<(usize, Val)> = Vec::with_capacity(desc.fields.len());
    for (i, f) in desc.fields.iter().enumerate() {
        let pos = entries.iter().position(|(k, _)| *k == f.name).or_else(|| {
            entries
                .iter()
                .position(|(k, _)| k.eq_ignore_ascii_case(&f.name))
        });
        if let Some(p) = pos {
            let v = std::mem::replace(&mut entries[p].1, Val::Null);
            entries[p].0.clear();
            fields.push((i, v));
        }
    }
    // fields in field-number order, as protobuf serializers write them
    fields.sort_by_key(|(i, _)| desc.fields[*i].number);
    for (i, v) in fields {
        write_field(proto, &desc.fields[i], v, out, depth)?;
    }
    Ok(())
}

fn write_field(
    proto: &ProtoSchema,
    f: &FieldDesc,
    v: Val,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), String> {
    if matches!(v, Val::Null) {
        return Ok(());
    }
    if f.label != Label::Repeated {
        return write_single(proto, f, v, f.label == Label::Singular, out, depth);
    }
    let is_map = matches!(f.ty, FieldType::Message(m) if proto.messages[m].map_entry);
    if is_map {
        let FieldType::Message(m) = f.ty else {
            unreachable!()
        };
        let Val::Object(entries) = v else {
            return Err(format!("field {} expects a map, got {}", f.name, kind(&v)));
        };
        let entry = &proto.messages[m];
        let key_field = entry.fields.iter().find(|x| x.number == 1);
        let value_field = entry.fields.iter().find(|x| x.number == 2);
        for (k, item) in entries {
            let mut buf = Vec::new();
            if let Some(kf) = key_field {
                write_single(proto, kf, Val::Str(k), false, &mut buf, depth + 1)?;
            }
            if let (Some(vf), false) = (value_field, matches!(item, Val::Null)) {
                write_single(proto, vf, item, false, &mut buf, depth + 1)?;
            }
            put_len(out, f.number, &buf);
        }
        return Ok(());
    }
    let Val::Array(items) = v else {
        return Err(format!(
            "field {} expects an array, got {}",
            f.name,
            kind(&v)
        ));
    };
    if items.is_empty() {
        return Ok(());
    }
    let packed = match f.ty {
        FieldType::Scalar(s) => s.packable(),
        FieldType::Enum(_) => true,
        FieldType::Message(_) => false,
    };
    if packed {
        let mut buf = Vec::new();
        for item in items {
            let item = if matches!(item, Val::Null) {
                default_value(proto, f.ty)
            } else {
                item
            };
            write_scalar_value(proto, f, item, &mut buf)?;
        }
        put_len(out, f.number, &buf);
        return Ok(());
    }
    for item in items {
        let item = match (item, f.ty) {
            // protobuf cannot hold a null element: write the element type's zero value
            (Val::Null, FieldType::Message(m)) => match proto.well_known(m) {
                None if !proto.messages[m].boxed => Val::Object(vec![]),
                // an empty wrapper or box
                None | Some(WellKnown::Wrapper(_)) => Val::Null,
                Some(_) => Val::Int(0),
            },
            (Val::Null, ty) => default_value(proto, ty),
            (item, _) => item,
        };
        write_single(proto, f, item, false, out, depth)?;
    }
    Ok(())
}

/// Writes one non-repeated value with its tag; `skip_default` leaves out a default scalar
/// (implicit presence).
fn write_single(
    proto: &ProtoSchema,
    f: &FieldDesc,
    v: Val,
    skip_default: bool,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), String> {
    match f.ty {
        FieldType::Message(m) => {
            let mut buf = Vec::new();
            write_message_value(proto, m, f, v, &mut buf, depth)?;
            put_len(out, f.number, &buf);
        }
        ty => {
            let mut buf = Vec::new();
            write_scalar_value(proto, f, v, &mut buf)?;
            if skip_default && is_default_encoding(ty, &buf) {
                return Ok(());
            }
            put_tag(out, f.number, wire_type_of(ty));
            out.extend(buf);
        }
    }
    Ok(())
}

/// Whether the encoded value (without its tag) is the type's default.
fn is_default_encoding(ty: FieldType, buf: &[u8]) -> bool {
    match wire_type_of(ty) {
        LEN => buf == [0],
        VARINT => buf == [0],
        _ => buf.iter().all(|b| *b == 0),
    }
}

/// The encoding of a scalar or enum value without its tag (length-prefixed for strings and
/// bytes).
fn write_scalar_value(
    proto: &ProtoSchema,
    f: &FieldDesc,
    v: Val,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let bad = |v: &Val, what: &str| format!("cannot write {} as {what} field {}", kind(v), f.name);
    match f.ty {
        FieldType::Enum(e) => {
            let n = match &v {
                Val::Str(s) => match proto.enums[e].values.iter().find(|(n, _)| n == s) {
                    Some((_, n)) => *n,
                    None => s
                        .parse::<i32>()
                        .map_err(|_| format!("'{s}' is not a symbol of enum field {}", f.name))?,
                },
                other => as_i64(other).ok_or_else(|| bad(other, "enum"))? as i32,
            };
            put_varint(out, n as i64 as u64);
        }
        FieldType::Scalar(s) => match s {
            Scalar::Double => {
                let d = as_f64(&v).ok_or_else(|| bad(&v, "double"))?;
                out.extend(d.to_bits().to_le_bytes());
            }
            Scalar::Float => {
                let d = as_f64(&v).ok_or_else(|| bad(&v, "float"))?;
                out.extend((d as f32).to_bits().to_le_bytes());
            }
            Scalar::Bool => {
                let b = match &v {
                    Val::Bool(b) => *b,
                    Val::Str(s) if s.eq_ignore_ascii_case("true") => true,
                    Val::Str(s) if s.eq_ignore_ascii_case("false") => false,
                    other => return Err(bad(other, "bool")),
                };
                put_varint(out, b as u64);
            }
            Scalar::String => {
                let s = match v {
                    Val::Str(s) => s,
                    Val::Int(i) => i.to_string(),
                    Val::Float(f) => java_double(f),
                    Val::Num(n) => n,
                    Val::Bool(b) => b.to_string(),
                    other => other.to_json_text(),
                };
                put_varint(out, s.len() as u64);
                out.extend(s.as_bytes());
            }
            Scalar::Bytes => {
                let b = match v {
                    Val::Bytes(b) => b,
                    Val::Str(s) => base64::engine::general_purpose::STANDARD
                        .decode(s.as_bytes())
                        .unwrap_or_else(|_| s.into_bytes()),
                    other => return Err(bad(&other, "bytes")),
                };
                put_varint(out, b.len() as u64);
                out.extend(b);
            }
            int => {
                let i = as_i64(&v).ok_or_else(|| bad(&v, int.name()))?;
                match int {
                    Scalar::Int32 => put_varint(out, i as i32 as i64 as u64),
                    Scalar::UInt32 => put_varint(out, i as u32 as u64),
                    Scalar::SInt32 => put_varint(out, zigzag32(i as i32)),
                    Scalar::SInt64 => put_varint(out, zigzag64(i)),
                    Scalar::Fixed32 | Scalar::SFixed32 => out.extend((i as u32).to_le_bytes()),
                    Scalar::Fixed64 | Scalar::SFixed64 => out.extend((i as u64).to_le_bytes()),
                    _ => put_varint(out, i as u64),
                }
            }
        },
        FieldType::Message(_) => return Err(format!("field {} is a message", f.name)),
    }
    Ok(())
}

fn write_message_value(
    proto: &ProtoSchema,
    m: usize,
    f: &FieldDesc,
    v: Val,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), String> {
    let Some(wk) = proto.well_known(m) else {
        if proto.messages[m].boxed {
            return write_message(proto, m, vec![("value".into(), v)], out, depth + 1);
        }
        let Val::Object(entries) = v else {
            return Err(format!(
                "field {} expects a struct, got {}",
                f.name,
                kind(&v)
            ));
        };
        return write_message(proto, m, entries, out, depth + 1);
    };
    let int_of =
        |v: &Val| as_i64(v).ok_or_else(|| format!("cannot write {} as field {}", kind(v), f.name));
    let fields: Vec<(String, Val)> = match wk {
        WellKnown::Wrapper(_) => vec![("value".into(), v)],
        WellKnown::Timestamp => {
            let ms = int_of(&v)?;
            vec![
                ("seconds".into(), Val::Int(ms.div_euclid(1000))),
                ("nanos".into(), Val::Int(ms.rem_euclid(1000) * 1_000_000)),
            ]
        }
        WellKnown::Date => {
            let (y, mo, d) = civil_from_days(int_of(&v)?);
            vec![
                ("year".into(), Val::Int(y)),
                ("month".into(), Val::Int(mo)),
                ("day".into(), Val::Int(d)),
            ]
        }
        WellKnown::TimeOfDay => {
            let ms = int_of(&v)?.rem_euclid(86_400_000);
            vec![
                ("hours".into(), Val::Int(ms / 3_600_000)),
                ("minutes".into(), Val::Int(ms / 60_000 % 60)),
                ("seconds".into(), Val::Int(ms / 1000 % 60)),
                ("nanos".into(), Val::Int(ms % 1000 * 1_000_000)),
            ]
        }
        WellKnown::Decimal => {
            let text = match &v {
                Val::Num(s) | Val::Str(s) => s.trim().to_string(),
                Val::Int(i) => i.to_string(),
                Val::Float(x) => java_plain(*x),
                other => {
                    return Err(format!(
                        "cannot write {} as decimal field {}",
                        kind(other),
                        f.name
                    ))
                }
            };
            let (unscaled, scale) = decimal_parts(&text)
                .ok_or_else(|| format!("invalid decimal '{text}' for field {}", f.name))?;
            let precision = unscaled.unsigned_abs().to_string().len() as i64;
            vec![
                ("value".into(), Val::Bytes(i128_to_be(unscaled))),
                ("precision".into(), Val::Int(precision)),
                ("scale".into(), Val::Int(scale as i64)),
            ]
        }
    };
    write_message(proto, m, fields, out, depth + 1)
}

/// A double's plain decimal text (no exponent), for writing it as a DECIMAL.
fn java_plain(x: f64) -> String {
    let s = format!("{x}");
    if s.contains('e') || s.contains('E') {
        format!("{x:.17}")
    } else {
        s
    }
}

/// The unscaled value and scale of decimal text (`-12.50` → (-1250, 2)).
fn decimal_parts(text: &str) -> Option<(i128, i32)> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
        None => (body, 0),
    };
    let (int_part, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int_part.is_empty() && frac.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits = format!("{int_part}{frac}");
    let digits = digits.trim_start_matches('0');
    let unscaled: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let scale = frac.len() as i32 - exp;
    Some((if neg { -unscaled } else { unscaled }, scale))
}

fn as_i64(v: &Val) -> Option<i64> {
    match v {
        Val::Int(i) => Some(*i),
        Val::Float(f) if f.is_finite() => Some(f.trunc() as i64),
        Val::Bool(b) => Some(*b as i64),
        Val::Num(s) | Val::Str(s) => s.trim().parse::<i64>().ok().or_else(|| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        _ => None,
    }
}

fn as_f64(v: &Val) -> Option<f64> {
    match v {
        Val::Int(i) => Some(*i as f64),
        Val::Float(f) => Some(*f),
        Val::Num(s) | Val::Str(s) => crate::java_text::parse_java_double(s),
        _ => None,
    }
}

fn kind(v: &Val) -> &'static str {
    match v {
        Val::Null => "null",
        Val::Bool(_) => "a boolean",
        Val::Int(_) | Val::Float(_) | Val::Num(_) | Val::Decimal(_) => "a number",
        Val::Str(_) => "a string",
        Val::Bytes(_) => "bytes",
        Val::Array(_) => "an array",
        Val::Object(_) => "an object",
    }
}

impl Format for ProtobufFormat {
    fn name(&self) -> &'static str {
        match self.flavor {
            Flavor::Registry => "PROTOBUF",
            Flavor::NoRegistry => "PROTOBUF_NOSR",
        }
    }

    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn decode(&self, payloads: &[Option<&[u8]>]) -> Decoded {
        if self.schema.fields().is_empty() {
            return decode_rows(&self.schema, payloads, |_| Ok(Some(vec![])));
        }
        decode_rows(&self.schema, payloads, |bytes| {
            let raw = self.decode_raw(bytes)?;
            value::coerce_row(raw, &self.schema, false)
        })
    }

    fn encode(&self, batch: &RecordBatch) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        check_width(&self.schema, batch)?;
        if self.schema.fields().is_empty() {
            return Ok(vec![None; batch.num_rows()]);
        }
        (0..batch.num_rows())
            .map(|row| {
                let values = row_values(batch, row);
                // a key whose columns are all null is a null key (a message holding nulls
                // reads back with defaults, never as all nulls)
                if self.is_key && values.iter().all(|v| matches!(v, Val::Null)) {
                    return Ok(None);
                }
                self.encode_row(values).map(Some)
            })
            .collect()
    }

    fn json_to_payload(&self, value: &serde_json::Value) -> Result<Option<Vec<u8>>, FormatError> {
        if self.schema.fields().is_empty() {
            return Ok(None);
        }
        match logical_json_to_row(&self.schema, false, value).map_err(FormatError::Encode)? {
            None => Ok(None),
            Some(row) => self.encode_row(row).map(Some),
        }
    }

    /// The record as the message's writer schema shows it: every field of the message (the
    /// provided schema's, when one is used), named as the schema names them, as ksqlDB's
    /// test driver reads records back with the schema they were written with.
    fn payload_to_json(&self, payload: Option<&[u8]>) -> Result<serde_json::Value, FormatError> {
        match payload {
            Some(bytes) if !self.schema.fields().is_empty() => {
                let raw = self.decode_raw(bytes).map_err(FormatError::Decode)?;
                Ok(value::to_serde(&raw, &DataType::Null))
            }
            _ => payload_to_json_via_decode(self, false, payload),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        for z in [-800_000i64, -1, 0, 1, 11017, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(10), (1970, 1, 11));
    }

    #[test]
    fn decimal_text_parts() {
        assert_eq!(decimal_parts("10.01"), Some((1001, 2)));
        assert_eq!(decimal_parts("-0.50"), Some((-50, 2)));
        assert_eq!(decimal_parts("12"), Some((12, 0)));
        assert_eq!(decimal_parts("1e3"), Some((1, -3)));
        assert_eq!(decimal_parts("x"), None);
        assert_eq!(i128_to_be(0), [0]);
        assert_eq!(i128_to_be(1001), [0x03, 0xe9]);
        assert_eq!(i128_to_be(-1), [0xff]);
        assert_eq!(i128_to_be(128), [0x00, 0x80]);
        for v in [
            0i128,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            1001,
            i128::MAX,
            i128::MIN,
        ] {
            assert_eq!(i128_from_be(&i128_to_be(v)), Some(v));
        }
    }
}
