//! Protobuf message descriptors for the PROTOBUF formats: read from `.proto` text (a topic's
//! registered schema, with the schemas it imports) or derived from a source's columns as
//! ksqlDB does it (Confluent's `ProtobufData.fromConnectSchema`).
//!
//! The derived schema is proto3: a message whose fields are the columns, numbered 1..n in
//! column order. INT is `int32`, BIGINT `int64`, DOUBLE `double`, BOOLEAN `bool`, STRING
//! `string`, BYTES `bytes`, DECIMAL `confluent.type.Decimal` (with `precision` and `scale`
//! field params), DATE `google.type.Date`, TIME `google.type.TimeOfDay`, TIMESTAMP
//! `google.protobuf.Timestamp`, ARRAY a `repeated` field, MAP a `map<string, V>` (repeated
//! entry messages with `key = 1`, `value = 2`), STRUCT a nested message. Protobuf cannot nest
//! repeated fields, so an ARRAY whose elements are ARRAYs or MAPs (or a MAP of ARRAYs) wraps
//! each element in a message holding it as field 1.
//!
//! Nullable primitive columns follow the `nullableRepresentation` property: plain proto3
//! fields by default (a null is written as nothing and read back as the type's default),
//! `optional` fields (OPTIONAL) or `google.protobuf.*Value` wrappers (WRAPPER), both of which
//! read a missing field as null.

use std::collections::HashMap;

use arrow::datatypes::{DataType, Fields, Schema};

use super::FormatError;

/// A protobuf scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    UInt32,
    UInt64,
    SInt32,
    SInt64,
    Fixed32,
    Fixed64,
    SFixed32,
    SFixed64,
    Bool,
    String,
    Bytes,
}

impl Scalar {
    fn from_name(name: &str) -> Option<Scalar> {
        Some(match name {
            "double" => Scalar::Double,
            "float" => Scalar::Float,
            "int32" => Scalar::Int32,
            "int64" => Scalar::Int64,
            "uint32" => Scalar::UInt32,
            "uint64" => Scalar::UInt64,
            "sint32" => Scalar::SInt32,
            "sint64" => Scalar::SInt64,
            "fixed32" => Scalar::Fixed32,
            "fixed64" => Scalar::Fixed64,
            "sfixed32" => Scalar::SFixed32,
            "sfixed64" => Scalar::SFixed64,
            "bool" => Scalar::Bool,
            "string" => Scalar::String,
            "bytes" => Scalar::Bytes,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scalar::Double => "double",
            Scalar::Float => "float",
            Scalar::Int32 => "int32",
            Scalar::Int64 => "int64",
            Scalar::UInt32 => "uint32",
            Scalar::UInt64 => "uint64",
            Scalar::SInt32 => "sint32",
            Scalar::SInt64 => "sint64",
            Scalar::Fixed32 => "fixed32",
            Scalar::Fixed64 => "fixed64",
            Scalar::SFixed32 => "sfixed32",
            Scalar::SFixed64 => "sfixed64",
            Scalar::Bool => "bool",
            Scalar::String => "string",
            Scalar::Bytes => "bytes",
        }
    }

    /// Whether repeated fields of this type are packed (all but strings and bytes).
    pub(crate) fn packable(self) -> bool {
        !matches!(self, Scalar::String | Scalar::Bytes)
    }
}

/// The type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Scalar(Scalar),
    /// Index into [`ProtoSchema::enums`].
    Enum(usize),
    /// Index into [`ProtoSchema::messages`].
    Message(usize),
}

/// How a field is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Label {
    /// proto3 implicit presence: a default value is not written and a missing field reads as
    /// the default (messages still have presence).
    Singular,
    /// Explicit presence (proto3 `optional`, proto2 `optional`/`required`, oneof members): a
    /// missing field reads as null.
    Optional,
    Repeated,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldDesc {
    pub name: String,
    pub number: u32,
    pub label: Label,
    pub ty: FieldType,
    /// `(confluent.field_meta).params`, e.g. a decimal's `precision` and `scale`.
    pub params: Vec<(String, String)>,
}

impl FieldDesc {
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MessageDesc {
    /// Dotted full name (`package.Outer.Inner`).
    pub full_name: String,
    pub fields: Vec<FieldDesc>,
    /// The synthetic entry message of a `map<K, V>` field (`key = 1`, `value = 2`).
    pub map_entry: bool,
    /// A derived message that only boxes its field 1 `value` (an ARRAY or MAP nested in a
    /// repeated field): read and written as that value.
    pub boxed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EnumDesc {
    pub full_name: String,
    pub values: Vec<(String, i32)>,
}

/// A message type with a meaning of its own (Confluent's and Google's well-known types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WellKnown {
    Timestamp,
    Date,
    TimeOfDay,
    Decimal,
    /// `google.protobuf.*Value`: the wrapped scalar is field 1.
    Wrapper(Scalar),
}

const WELL_KNOWN: &[(&str, WellKnown)] = &[
    ("google.protobuf.Timestamp", WellKnown::Timestamp),
    ("google.type.Date", WellKnown::Date),
    ("google.type.TimeOfDay", WellKnown::TimeOfDay),
    ("confluent.type.Decimal", WellKnown::Decimal),
    (
        "google.protobuf.DoubleValue",
        WellKnown::Wrapper(Scalar::Double),
    ),
    (
        "google.protobuf.FloatValue",
        WellKnown::Wrapper(Scalar::Float),
    ),
    (
        "google.protobuf.Int64Value",
        WellKnown::Wrapper(Scalar::Int64),
    ),
    (
        "google.protobuf.UInt64Value",
        WellKnown::Wrapper(Scalar::UInt64),
    ),
    (
        "google.protobuf.Int32Value",
        WellKnown::Wrapper(Scalar::Int32),
    ),
    (
        "google.protobuf.UInt32Value",
        WellKnown::Wrapper(Scalar::UInt32),
    ),
    (
        "google.protobuf.BoolValue",
        WellKnown::Wrapper(Scalar::Bool),
    ),
    (
        "google.protobuf.StringValue",
        WellKnown::Wrapper(Scalar::String),
    ),
    (
        "google.protobuf.BytesValue",
        WellKnown::Wrapper(Scalar::Bytes),
    ),
];

fn well_known_fields(wk: WellKnown) -> Vec<(&'static str, Scalar)> {
    match wk {
        WellKnown::Timestamp => vec![("seconds", Scalar::Int64), ("nanos", Scalar::Int32)],
        WellKnown::Date => vec![
            ("year", Scalar::Int32),
            ("month", Scalar::Int32),
            ("day", Scalar::Int32),
        ],
        WellKnown::TimeOfDay => vec![
            ("hours", Scalar::Int32),
            ("minutes", Scalar::Int32),
            ("seconds", Scalar::Int32),
            ("nanos", Scalar::Int32),
        ],
        WellKnown::Decimal => vec![
            ("value", Scalar::Bytes),
            ("precision", Scalar::UInt32),
            ("scale", Scalar::Int32),
        ],
        WellKnown::Wrapper(s) => vec![("value", s)],
    }
}

/// A set of message and enum types.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ProtoSchema {
    pub messages: Vec<MessageDesc>,
    pub enums: Vec<EnumDesc>,
    /// Top-level messages of the main file, in order (the message indexes of the wire format).
    pub top_level: Vec<usize>,
}

impl ProtoSchema {
    pub(crate) fn well_known(&self, msg: usize) -> Option<WellKnown> {
        let name = &self.messages[msg].full_name;
        WELL_KNOWN
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, wk)| *wk)
    }

    pub(crate) fn message_named(&self, name: &str) -> Option<usize> {
        let name = name.trim_start_matches('.');
        self.messages
            .iter()
            .position(|m| m.full_name == name)
            .or_else(|| {
                self.messages.iter().position(|m| {
                    m.full_name
                        .rsplit_once('.')
                        .is_some_and(|(_, short)| short == name)
                })
            })
    }

    /// The message indexes of message `msg` (its path from the top of the main file), as
    /// Confluent's wire format writes them after the schema id.
    pub(crate) fn message_indexes(&self, msg: usize) -> Vec<i32> {
        if let Some(i) = self.top_level.iter().position(|m| *m == msg) {
            return vec![i as i32];
        }
        // A nested message: its parent's path, then its position among the parent's nested
        // messages (in declaration order, as full names record them).
        let name = &self.messages[msg].full_name;
        if let Some((parent_name, _)) = name.rsplit_once('.') {
            if let Some(parent) = self
                .messages
                .iter()
                .position(|m| m.full_name == parent_name)
            {
                let mut path = self.message_indexes(parent);
                let nested: Vec<usize> = (0..self.messages.len())
                    .filter(|i| {
                        self.messages[*i]
                            .full_name
                            .rsplit_once('.')
                            .is_some_and(|(p, _)| p == parent_name)
                    })
                    .collect();
                path.push(nested.iter().position(|i| *i == msg).unwrap_or(0) as i32);
                return path;
            }
        }
        vec![0]
    }

    fn add_well_known(&mut self, name: &str) -> Option<usize> {
        let wk = WELL_KNOWN.iter().find(|(n, _)| *n == name)?.1;
        if let Some(i) = self.messages.iter().position(|m| m.full_name == name) {
            return Some(i);
        }
        let fields = well_known_fields(wk)
            .into_iter()
            .enumerate()
            .map(|(i, (n, s))| FieldDesc {
                name: n.into(),
                number: i as u32 + 1,
                label: Label::Singular,
                ty: FieldType::Scalar(s),
                params: vec![],
            })
            .collect();
        self.messages.push(MessageDesc {
            full_name: name.into(),
            fields,
            map_entry: false,
            boxed: false,
        });
        Some(self.messages.len() - 1)
    }
}

// ---------------------------------------------------------------- derived from columns

/// How nullable primitives are represented in a derived schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Nullables {
    #[default]
    Plain,
    Optional,
    Wrapper,
}

impl Nullables {
    pub(crate) fn parse(v: Option<&str>) -> Result<Nullables, FormatError> {
        match v.map(|s| s.trim().to_ascii_uppercase()) {
            None => Ok(Nullables::Plain),
            Some(s) if s == "OPTIONAL" => Ok(Nullables::Optional),
            Some(s) if s == "WRAPPER" => Ok(Nullables::Wrapper),
            Some(other) => Err(FormatError::InvalidConfig(format!(
                "Unknown nullable representation: {other}. Valid values are: OPTIONAL, WRAPPER"
            ))),
        }
    }
}

/// Derives ksqlDB's schema for `schema`'s columns; the root message is called `full_name`
/// (`ConnectDefault1` when none is given).
pub(crate) fn derive(
    schema: &Schema,
    full_name: Option<&str>,
    nullables: Nullables,
) -> Result<(ProtoSchema, usize), FormatError> {
    let mut d = Deriver {
        out: ProtoSchema::default(),
        nullables,
        next_default: 1,
    };
    let root_name = match full_name {
        Some(n) => n.to_string(),
        None => d.default_name(),
    };
    let root = d.message(&root_name, schema.fields())?;
    d.out.top_level = vec![root];
    Ok((d.out, root))
}

struct Deriver {
    out: ProtoSchema,
    nullables: Nullables,
    next_default: usize,
}

impl Deriver {
    fn default_name(&mut self) -> String {
        let n = format!("ConnectDefault{}", self.next_default);
        self.next_default += 1;
        n
    }

    fn message(&mut self, full_name: &str, fields: &Fields) -> Result<usize, FormatError> {
        let idx = self.out.messages.len();
        self.out.messages.push(MessageDesc {
            full_name: full_name.to_string(),
            fields: vec![],
            map_entry: false,
            boxed: false,
        });
        let mut descs = Vec::with_capacity(fields.len());
        for (i, f) in fields.iter().enumerate() {
            let number = i as u32 + 1;
            descs.push(self.field(full_name, f.name(), number, f.data_type(), true)?);
        }
        self.out.messages[idx].fields = descs;
        Ok(idx)
    }

    /// The field `name` of type `dt` inside message `scope`.
    fn field(
        &mut self,
        scope: &str,
        name: &str,
        number: u32,
        dt: &DataType,
        nullable: bool,
    ) -> Result<FieldDesc, FormatError> {
        let mut params = vec![];
        let (label, ty) = match dt {
            DataType::List(item) | DataType::LargeList(item) => {
                let ty = match item.data_type() {
                    inner @ (DataType::List(_) | DataType::LargeList(_) | DataType::Map(_, _)) => {
                        self.wrapper_message(scope, name, inner)?
                    }
                    other => match self.element_type(scope, other, &mut params)? {
                        // Connect's array elements are optional: wrapped too
                        FieldType::Scalar(s) if self.nullables == Nullables::Wrapper => {
                            FieldType::Message(self.wrapper_type(s))
                        }
                        ty => ty,
                    },
                };
                (Label::Repeated, ty)
            }
            DataType::Map(entries, _) => {
                let (key, value) = match entries.data_type() {
                    DataType::Struct(fs) if fs.len() == 2 => {
                        (fs[0].data_type().clone(), fs[1].data_type().clone())
                    }
                    _ => return Err(unsupported(dt)),
                };
                let entry_name = format!("{scope}.{}Entry", camel(name));
                let idx = self.out.messages.len();
                self.out.messages.push(MessageDesc {
                    full_name: entry_name.clone(),
                    fields: vec![],
                    map_entry: true,
                    boxed: false,
                });
                let key_field = self.field(&entry_name, "key", 1, &key, false)?;
                let value_field = match &value {
                    inner @ (DataType::List(_) | DataType::LargeList(_) | DataType::Map(_, _)) => {
                        FieldDesc {
                            name: "value".into(),
                            number: 2,
                            label: Label::Singular,
                            ty: self.wrapper_message(&entry_name, "value", inner)?,
                            params: vec![],
                        }
                    }
                    other => self.field(&entry_name, "value", 2, other, true)?,
                };
                self.out.messages[idx].fields = vec![key_field, value_field];
                (Label::Repeated, FieldType::Message(idx))
            }
            other => {
                let ty = self.element_type(scope, other, &mut params)?;
                let label = match (ty, nullable, self.nullables) {
                    (FieldType::Scalar(_), true, Nullables::Optional) => Label::Optional,
                    _ => Label::Singular,
                };
                let ty = match (ty, nullable, self.nullables) {
                    (FieldType::Scalar(s), true, Nullables::Wrapper) => {
                        FieldType::Message(self.wrapper_type(s))
                    }
                    (ty, _, _) => ty,
                };
                (label, ty)
            }
        };
        Ok(FieldDesc {
            name: name.to_string(),
            number,
            label,
            ty,
            params,
        })
    }

    /// The type of a non-repeated value of `dt` (a field or an array's elements).
    fn element_type(
        &mut self,
        scope: &str,
        dt: &DataType,
        params: &mut Vec<(String, String)>,
    ) -> Result<FieldType, FormatError> {
        let wk = |d: &mut Self, n: &str| {
            FieldType::Message(d.out.add_well_known(n).expect("well-known type"))
        };
        Ok(match dt {
            DataType::Boolean => FieldType::Scalar(Scalar::Bool),
            DataType::Int8 | DataType::Int16 | DataType::Int32 => FieldType::Scalar(Scalar::Int32),
            DataType::Int64 => FieldType::Scalar(Scalar::Int64),
            DataType::Float32 | DataType::Float64 => FieldType::Scalar(Scalar::Double),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                FieldType::Scalar(Scalar::String)
            }
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
                FieldType::Scalar(Scalar::Bytes)
            }
            DataType::Decimal128(p, s) => {
                params.push(("precision".into(), p.to_string()));
                params.push(("scale".into(), s.to_string()));
                wk(self, "confluent.type.Decimal")
            }
            DataType::Date32 => wk(self, "google.type.Date"),
            DataType::Time32(_) => wk(self, "google.type.TimeOfDay"),
            DataType::Timestamp(_, _) => wk(self, "google.protobuf.Timestamp"),
            DataType::Struct(fs) => {
                let n = self.default_name();
                let full = format!("{scope}.{n}");
                FieldType::Message(self.message(&full, fs)?)
            }
            other => return Err(unsupported(other)),
        })
    }

    /// A message holding one value of `dt` as field 1 (for ARRAY / MAP nested in a
    /// repeated field, which protobuf cannot express directly).
    fn wrapper_message(
        &mut self,
        scope: &str,
        name: &str,
        dt: &DataType,
    ) -> Result<FieldType, FormatError> {
        let full = format!("{scope}.{}Element", camel(name));
        let idx = self.out.messages.len();
        self.out.messages.push(MessageDesc {
            full_name: full.clone(),
            fields: vec![],
            map_entry: false,
            boxed: true,
        });
        let f = self.field(&full, "value", 1, dt, true)?;
        self.out.messages[idx].fields = vec![f];
        Ok(FieldType::Message(idx))
    }

    fn wrapper_type(&mut self, s: Scalar) -> usize {
        let name = match s {
            Scalar::Double => "google.protobuf.DoubleValue",
            Scalar::Int32 => "google.protobuf.Int32Value",
            Scalar::Int64 => "google.protobuf.Int64Value",
            Scalar::Bool => "google.protobuf.BoolValue",
            Scalar::Bytes => "google.protobuf.BytesValue",
            _ => "google.protobuf.StringValue",
        };
        self.out.add_well_known(name).expect("well-known type")
    }
}

fn unsupported(dt: &DataType) -> FormatError {
    FormatError::UnsupportedSchema(format!(
        "The 'PROTOBUF' format does not support type '{}'",
        super::columns::base_type_name(dt)
    ))
}

/// `my_field` → `MyField` (protoc's map entry naming).
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------- .proto text

/// The text of a provided schema: `.proto` source, or `{"schema": <text>, "references":
/// [{"name": .., "schema": <text>}]}` for a schema that imports others. Returns the main text
/// and the referenced texts.
pub(crate) fn provided_texts(v: &serde_json::Value) -> Option<(String, Vec<String>)> {
    match v {
        serde_json::Value::String(s) => {
            if s.trim_start().starts_with('{') {
                if let Ok(inner) = serde_json::from_str::<serde_json::Value>(s) {
                    if inner.is_object() {
                        return provided_texts(&inner);
                    }
                }
            }
            Some((s.clone(), vec![]))
        }
        serde_json::Value::Object(o) => {
            let main = o.get("schema")?.as_str()?.to_string();
            let refs = o
                .get("references")
                .and_then(|r| r.as_array())
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("schema").and_then(|s| s.as_str()).map(String::from))
                .collect();
            Some((main, refs))
        }
        _ => None,
    }
}

/// Parses `.proto` files: the main one (whose top-level messages are the schema's messages)
/// and the files it references. Type names are resolved as protoc does (innermost scope
/// first); Google's and Confluent's well-known types need not be given.
pub(crate) fn parse(main: &str, references: &[String]) -> Result<ProtoSchema, String> {
    let mut p = Parsed::default();
    parse_file(main, &mut p, true)?;
    for r in references {
        parse_file(r, &mut p, false)?;
    }
    p.resolve()
}

#[derive(Debug, Default)]
struct Parsed {
    messages: Vec<RawMessage>,
    enums: Vec<EnumDesc>,
    top_level: Vec<usize>,
}

#[derive(Debug)]
struct RawMessage {
    full_name: String,
    fields: Vec<RawField>,
    map_entry: bool,
}

#[derive(Debug)]
struct RawField {
    name: String,
    number: u32,
    label: Label,
    type_name: String,
    params: Vec<(String, String)>,
}

impl Parsed {
    fn resolve(self) -> Result<ProtoSchema, String> {
        let mut schema = ProtoSchema {
            messages: self
                .messages
                .iter()
                .map(|m| MessageDesc {
                    full_name: m.full_name.clone(),
                    fields: vec![],
                    map_entry: m.map_entry,
                    boxed: false,
                })
                .collect(),
            enums: self.enums,
            top_level: self.top_level,
        };
        for (i, m) in self.messages.iter().enumerate() {
            let mut fields = Vec::with_capacity(m.fields.len());
            for f in &m.fields {
                let ty =
                    resolve_type(&mut schema, &m.full_name, &f.type_name).ok_or_else(|| {
                        format!(
                            "{} is not defined (field {}.{})",
                            f.type_name, m.full_name, f.name
                        )
                    })?;
                fields.push(FieldDesc {
                    name: f.name.clone(),
                    number: f.number,
                    label: f.label,
                    ty,
                    params: f.params.clone(),
                });
            }
            schema.messages[i].fields = fields;
        }
        Ok(schema)
    }
}

fn resolve_type(schema: &mut ProtoSchema, scope: &str, name: &str) -> Option<FieldType> {
    if let Some(s) = Scalar::from_name(name) {
        return Some(FieldType::Scalar(s));
    }
    let find = |schema: &ProtoSchema, full: &str| -> Option<FieldType> {
        if let Some(i) = schema.messages.iter().position(|m| m.full_name == full) {
            return Some(FieldType::Message(i));
        }
        schema
            .enums
            .iter()
            .position(|e| e.full_name == full)
            .map(FieldType::Enum)
    };
    if let Some(abs) = name.strip_prefix('.') {
        return find(schema, abs).or_else(|| schema.add_well_known(abs).map(FieldType::Message));
    }
    // innermost scope outwards
    let mut scope = scope.to_string();
    loop {
        let candidate = if scope.is_empty() {
            name.to_string()
        } else {
            format!("{scope}.{name}")
        };
        if let Some(t) = find(schema, &candidate) {
            return Some(t);
        }
        match scope.rsplit_once('.') {
            Some((outer, _)) => scope = outer.to_string(),
            None if !scope.is_empty() => scope.clear(),
            None => break,
        }
    }
    if let Some(i) = schema.add_well_known(name) {
        return Some(FieldType::Message(i));
    }
    // A type from a file whose package we did not see: match by its unqualified tail.
    let tail = format!(".{name}");
    if let Some(i) = schema
        .messages
        .iter()
        .position(|m| m.full_name.ends_with(&tail))
    {
        return Some(FieldType::Message(i));
    }
    schema
        .enums
        .iter()
        .position(|e| e.full_name.ends_with(&tail))
        .map(FieldType::Enum)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Sym(char),
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '"' || c == '\'' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                    s.push(match chars[i] {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                } else {
                    s.push(chars[i]);
                }
                i += 1;
            }
            if i >= chars.len() {
                return Err("unterminated string in .proto text".into());
            }
            i += 1;
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' || c == '.' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else {
            out.push(Tok::Sym(c));
            i += 1;
        }
    }
    Ok(out)
}

struct Cursor {
    toks: Vec<Tok>,
    pos: usize,
}

impl Cursor {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn is_sym(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Sym(c))
    }

    fn is_ident(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(i)) if i == s)
    }

    fn expect_sym(&mut self, c: char) -> Result<(), String> {
        match self.next() {
            Some(Tok::Sym(s)) if s == c => Ok(()),
            other => Err(format!("expected '{c}' in .proto text, found {other:?}")),
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Ident(s)) => Ok(s),
            other => Err(format!("expected a name in .proto text, found {other:?}")),
        }
    }

    fn number(&mut self) -> Result<i64, String> {
        match self.next() {
            Some(Tok::Num(s)) => parse_int(&s).ok_or_else(|| format!("bad number {s}")),
            Some(Tok::Ident(s)) if s == "max" => Ok(MAX_FIELD_NUMBER_I64),
            other => Err(format!("expected a number in .proto text, found {other:?}")),
        }
    }

    /// Skips to just past the next `;` at this nesting level, or past a `{ ... }` block.
    fn skip_statement(&mut self) -> Result<(), String> {
        let mut depth = 0i32;
        while let Some(t) = self.next() {
            match t {
                Tok::Sym('{') => depth += 1,
                Tok::Sym('}') => {
                    depth -= 1;
                    if depth <= 0 {
                        return Ok(());
                    }
                }
                Tok::Sym(';') if depth == 0 => return Ok(()),
                _ => {}
            }
        }
        if depth > 0 {
            return Err("unbalanced braces in .proto text".into());
        }
        Ok(())
    }

    /// Reads `[ ... ]` field options, returning Confluent's `field_meta` params.
    fn field_options(&mut self) -> Result<Vec<(String, String)>, String> {
        let mut params = Vec::new();
        if !self.is_sym('[') {
            return Ok(params);
        }
        self.next();
        let mut depth = 1;
        let mut key: Option<String> = None;
        let mut value: Option<String> = None;
        while depth > 0 {
            match self.next() {
                None => return Err("unterminated field options in .proto text".into()),
                Some(Tok::Sym('[')) => depth += 1,
                Some(Tok::Sym(']')) => depth -= 1,
                Some(Tok::Sym('{')) => {
                    key = None;
                    value = None;
                }
                Some(Tok::Sym('}')) => {
                    if let (Some(k), Some(v)) = (key.take(), value.take()) {
                        params.push((k, v));
                    }
                }
                Some(Tok::Ident(name)) if name == "key" || name == "value" => {
                    if self.is_sym(':') {
                        self.next();
                        if let Some(Tok::Str(s)) | Some(Tok::Num(s)) | Some(Tok::Ident(s)) =
                            self.peek().cloned()
                        {
                            self.next();
                            if name == "key" {
                                key = Some(s);
                            } else {
                                value = Some(s);
                            }
                        }
                    }
                }
                Some(_) => {}
            }
        }
        Ok(params)
    }
}

const MAX_FIELD_NUMBER_I64: i64 = super::protowire::MAX_FIELD_NUMBER as i64;

fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

fn parse_file(text: &str, out: &mut Parsed, main: bool) -> Result<(), String> {
    let mut c = Cursor {
        toks: tokenize(text)?,
        pos: 0,
    };
    let mut package = String::new();
    while let Some(t) = c.peek().cloned() {
        match t {
            Tok::Ident(kw) if kw == "package" => {
                c.next();
                package = c.ident()?;
                c.expect_sym(';')?;
            }
            Tok::Ident(kw) if kw == "message" => {
                c.next();
                let name = c.ident()?;
                let full = qualify(&package, &name);
                let idx = parse_message(&mut c, out, full)?;
                if main {
                    out.top_level.push(idx);
                }
            }
            Tok::Ident(kw) if kw == "enum" => {
                c.next();
                let name = c.ident()?;
                parse_enum(&mut c, out, qualify(&package, &name))?;
            }
            Tok::Sym(';') => {
                c.next();
            }
            // syntax, edition, import, option, service, extend: nothing we need
            _ => c.skip_statement()?,
        }
    }
    Ok(())
}

fn qualify(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_string()
    } else {
        format!("{scope}.{name}")
    }
}

fn parse_message(c: &mut Cursor, out: &mut Parsed, full_name: String) -> Result<usize, String> {
    c.expect_sym('{')?;
    let idx = out.messages.len();
    out.messages.push(RawMessage {
        full_name: full_name.clone(),
        fields: vec![],
        map_entry: false,
    });
    let mut fields = Vec::new();
    loop {
        let Some(t) = c.peek().cloned() else {
            return Err(format!("message {full_name} is not closed"));
        };
        match t {
            Tok::Sym('}') => {
                c.next();
                break;
            }
            Tok::Sym(';') => {
                c.next();
            }
            Tok::Ident(kw) => match kw.as_str() {
                "message" => {
                    c.next();
                    let name = c.ident()?;
                    parse_message(c, out, format!("{full_name}.{name}"))?;
                }
                "enum" => {
                    c.next();
                    let name = c.ident()?;
                    parse_enum(c, out, format!("{full_name}.{name}"))?;
                }
                "oneof" => {
                    c.next();
                    c.ident()?;
                    c.expect_sym('{')?;
                    while !c.is_sym('}') {
                        if c.peek().is_none() {
                            return Err(format!("oneof in {full_name} is not closed"));
                        }
                        if c.is_sym(';') {
                            c.next();
                            continue;
                        }
                        if c.is_ident("option") {
                            c.skip_statement()?;
                            continue;
                        }
                        let mut f = parse_field(c, out, &full_name)?;
                        f.label = Label::Optional;
                        fields.push(f);
                    }
                    c.next();
                }
                "option" | "reserved" | "extensions" | "extend" | "group" => c.skip_statement()?,
                _ => fields.push(parse_field(c, out, &full_name)?),
            },
            other => return Err(format!("unexpected {other:?} in message {full_name}")),
        }
    }
    out.messages[idx].fields = fields;
    Ok(idx)
}

fn parse_field(c: &mut Cursor, out: &mut Parsed, scope: &str) -> Result<RawField, String> {
    let mut label = Label::Singular;
    if c.is_ident("repeated") {
        c.next();
        label = Label::Repeated;
    } else if c.is_ident("optional") || c.is_ident("required") {
        c.next();
        label = Label::Optional;
    }
    let type_name = if c.is_ident("map") && c.toks.get(c.pos + 1) == Some(&Tok::Sym('<')) {
        c.next();
        c.expect_sym('<')?;
        let k = c.ident()?;
        c.expect_sym(',')?;
        let v = c.ident()?;
        c.expect_sym('>')?;
        let name = c.ident()?;
        let entry = format!("{}Entry", camel(&name));
        let entry_full = format!("{scope}.{entry}");
        out.messages.push(RawMessage {
            full_name: entry_full,
            fields: vec![
                RawField {
                    name: "key".into(),
                    number: 1,
                    label: Label::Singular,
                    type_name: k,
                    params: vec![],
                },
                RawField {
                    name: "value".into(),
                    number: 2,
                    label: Label::Singular,
                    type_name: v,
                    params: vec![],
                },
            ],
            map_entry: true,
        });
        c.expect_sym('=')?;
        let number = field_number(c)?;
        let params = c.field_options()?;
        c.expect_sym(';')?;
        return Ok(RawField {
            name,
            number,
            label: Label::Repeated,
            type_name: entry,
            params,
        });
    } else {
        c.ident()?
    };
    let name = c.ident()?;
    c.expect_sym('=')?;
    let number = field_number(c)?;
    let params = c.field_options()?;
    c.expect_sym(';')?;
    Ok(RawField {
        name,
        number,
        label,
        type_name,
        params,
    })
}

fn field_number(c: &mut Cursor) -> Result<u32, String> {
    let n = c.number()?;
    if !(1..=MAX_FIELD_NUMBER_I64).contains(&n) {
        return Err(format!("invalid field number {n} in .proto text"));
    }
    Ok(n as u32)
}

fn parse_enum(c: &mut Cursor, out: &mut Parsed, full_name: String) -> Result<(), String> {
    c.expect_sym('{')?;
    let mut values = Vec::new();
    loop {
        match c.peek().cloned() {
            None => return Err(format!("enum {full_name} is not closed")),
            Some(Tok::Sym('}')) => {
                c.next();
                break;
            }
            Some(Tok::Sym(';')) => {
                c.next();
            }
            Some(Tok::Ident(kw)) if kw == "option" || kw == "reserved" => c.skip_statement()?,
            Some(Tok::Ident(name)) => {
                c.next();
                c.expect_sym('=')?;
                let n = c.number()?;
                c.field_options()?;
                c.expect_sym(';')?;
                values.push((name, n as i32));
            }
            Some(other) => return Err(format!("unexpected {other:?} in enum {full_name}")),
        }
    }
    out.enums.push(EnumDesc { full_name, values });
    Ok(())
}

/// The column type ksqlDB infers for field `f` (Confluent's `ProtobufData.toConnectSchema`):
/// unsigned 32-bit and all 64-bit integers are BIGINT, floats DOUBLE, enums STRING, wrappers
/// their primitive, well-known types DECIMAL / DATE / TIME / TIMESTAMP, map fields MAP,
/// other messages STRUCT, repeated fields ARRAY.
pub(crate) fn column_type(proto: &ProtoSchema, f: &FieldDesc) -> Result<DataType, String> {
    column_type_at(proto, f, 0)
}

fn column_type_at(proto: &ProtoSchema, f: &FieldDesc, depth: usize) -> Result<DataType, String> {
    if depth > 32 {
        return Err(format!(
            "field {} nests too deep (a recursive message?)",
            f.name
        ));
    }
    let scalar = |s: Scalar| match s {
        Scalar::Int32 | Scalar::SInt32 | Scalar::SFixed32 => DataType::Int32,
        Scalar::Double | Scalar::Float => DataType::Float64,
        Scalar::Bool => DataType::Boolean,
        Scalar::String => DataType::Utf8,
        Scalar::Bytes => DataType::Binary,
        _ => DataType::Int64,
    };
    let element = match f.ty {
        FieldType::Scalar(s) => scalar(s),
        FieldType::Enum(_) => DataType::Utf8,
        FieldType::Message(m) => {
            let msg = &proto.messages[m];
            if msg.map_entry {
                let key = msg.fields.iter().find(|x| x.number == 1);
                let value = msg.fields.iter().find(|x| x.number == 2);
                let (Some(key), Some(value)) = (key, value) else {
                    return Err(format!("map field {} has no key or value", f.name));
                };
                if column_type_at(proto, key, depth + 1)? != DataType::Utf8 {
                    return Err(
                        "PROTOBUF format only supports MAP types with STRING keys. See https://github.com/confluentinc/ksql/issues/6177.".into(),
                    );
                }
                return Ok(super::columns::map_type(column_type_at(
                    proto,
                    value,
                    depth + 1,
                )?));
            }
            match proto.well_known(m) {
                Some(WellKnown::Wrapper(s)) => scalar(s),
                Some(WellKnown::Timestamp) => {
                    DataType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, None)
                }
                Some(WellKnown::Date) => DataType::Date32,
                Some(WellKnown::TimeOfDay) => {
                    DataType::Time32(arrow::datatypes::TimeUnit::Millisecond)
                }
                Some(WellKnown::Decimal) => {
                    let num = |k: &str, d: u8| {
                        f.param(k)
                            .and_then(|v| v.trim().parse::<u8>().ok())
                            .unwrap_or(d)
                    };
                    let precision = num("precision", 38).clamp(1, 38);
                    let scale = num("scale", 0).min(precision);
                    DataType::Decimal128(precision, scale as i8)
                }
                None if msg.boxed => match msg.fields.first() {
                    Some(inner) => column_type_at(proto, inner, depth + 1)?,
                    None => return Err(format!("field {} is empty", f.name)),
                },
                None => DataType::Struct(
                    msg.fields
                        .iter()
                        .map(|x| {
                            Ok(arrow::datatypes::Field::new(
                                &x.name,
                                column_type_at(proto, x, depth + 1)?,
                                true,
                            ))
                        })
                        .collect::<Result<Vec<_>, String>>()?
                        .into(),
                ),
            }
        }
    };
    Ok(if f.label == Label::Repeated {
        DataType::List(std::sync::Arc::new(arrow::datatypes::Field::new(
            "item", element, true,
        )))
    } else {
        element
    })
}

/// A map from lower-cased names to positions, for matching columns to fields.
pub(crate) fn field_index(fields: &[FieldDesc]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for (i, f) in fields.iter().enumerate() {
        m.entry(f.name.to_ascii_lowercase()).or_insert(i);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Field;
    use std::sync::Arc;

    #[test]
    fn parses_confluent_style_schemas() {
        let s = parse(
            "syntax = \"proto3\"; import \"confluent/type/decimal.proto\"; message ConfluentDefault1 {bool c1 = 1; int32 c2 = 2; confluent.type.Decimal c6 = 6 [(confluent.field_meta) = { params: [{ value: \"4\", key: \"precision\" }, { value: \"2\", key: \"scale\" }]}];}",
            &[],
        )
        .unwrap();
        let root = &s.messages[s.top_level[0]];
        assert_eq!(root.full_name, "ConfluentDefault1");
        assert_eq!(root.fields.len(), 3);
        assert_eq!(root.fields[1].ty, FieldType::Scalar(Scalar::Int32));
        let dec = &root.fields[2];
        assert_eq!(dec.number, 6);
        assert_eq!(dec.param("precision"), Some("4"));
        assert_eq!(dec.param("scale"), Some("2"));
        let FieldType::Message(m) = dec.ty else {
            panic!("{dec:?}")
        };
        assert_eq!(s.well_known(m), Some(WellKnown::Decimal));
    }

    #[test]
    fn resolves_nested_enums_maps_oneofs_and_references() {
        let s = parse(
            "syntax = \"proto3\";\npackage p;\nimport \"event.proto\";\n// comment\nmessage Outer {\n  /* block */ enum Suit {SPADES = 0; HEARTS = 1;}\n  message Inner { int64 f1 = 1; }\n  Suit s = 1;\n  Inner i = 2;\n  map<string, Inner> m = 3;\n  oneof choice { string a = 4; int32 b = 5; }\n  Event e = 6;\n  repeated google.protobuf.Int32Value w = 7;\n  optional double o = 8;\n}\nmessage Second { }",
            &["syntax = \"proto3\";\nmessage Event {\n int64 timestamp = 1;\n}".into()],
        )
        .unwrap();
        assert_eq!(s.top_level.len(), 2);
        let outer = &s.messages[s.top_level[0]];
        assert_eq!(outer.full_name, "p.Outer");
        let ty = |i: usize| outer.fields[i].ty;
        let FieldType::Enum(e) = ty(0) else { panic!() };
        assert_eq!(
            s.enums[e].values,
            vec![("SPADES".into(), 0), ("HEARTS".into(), 1)]
        );
        let FieldType::Message(inner) = ty(1) else {
            panic!()
        };
        assert_eq!(s.messages[inner].full_name, "p.Outer.Inner");
        let FieldType::Message(entry) = ty(2) else {
            panic!()
        };
        assert!(s.messages[entry].map_entry);
        assert_eq!(s.messages[entry].fields[1].ty, FieldType::Message(inner));
        assert_eq!(outer.fields[2].label, Label::Repeated);
        assert_eq!(outer.fields[3].label, Label::Optional);
        assert_eq!(outer.fields[4].label, Label::Optional);
        let FieldType::Message(ev) = ty(5) else {
            panic!()
        };
        assert_eq!(s.messages[ev].full_name, "Event");
        let FieldType::Message(w) = ty(6) else {
            panic!()
        };
        assert_eq!(s.well_known(w), Some(WellKnown::Wrapper(Scalar::Int32)));
        assert_eq!(outer.fields[7].label, Label::Optional);
        assert_eq!(s.message_indexes(s.top_level[1]), vec![1]);
        assert_eq!(s.message_indexes(inner), vec![0, 0]);
    }

    #[test]
    fn refuses_broken_text() {
        assert!(parse("message A { int32 a = 1; ", &[]).is_err());
        assert!(parse("message A { Unknown a = 1; }", &[]).is_err());
        assert!(parse("message A { int32 a = 0; }", &[]).is_err());
        assert!(parse("message A { int32 a = \"x\"; }", &[]).is_err());
    }

    #[test]
    fn derives_ksqldb_schema() {
        let list = |t: DataType| DataType::List(Arc::new(Field::new("item", t, true)));
        let cols = Schema::new(vec![
            Field::new("I", DataType::Int32, true),
            Field::new("D", DataType::Decimal128(4, 2), true),
            Field::new("A", list(DataType::Int64), true),
            Field::new("M", super::super::map_type(DataType::Utf8), true),
            Field::new(
                "S",
                DataType::Struct(vec![Field::new("X", DataType::Utf8, true)].into()),
                true,
            ),
            Field::new("AA", list(list(DataType::Int32)), true),
        ]);
        let (s, root) = derive(&cols, None, Nullables::Plain).unwrap();
        let m = &s.messages[root];
        assert_eq!(m.full_name, "ConnectDefault1");
        let nums: Vec<u32> = m.fields.iter().map(|f| f.number).collect();
        assert_eq!(nums, [1, 2, 3, 4, 5, 6]);
        assert_eq!(m.fields[0].ty, FieldType::Scalar(Scalar::Int32));
        assert_eq!(m.fields[0].label, Label::Singular);
        assert_eq!(m.fields[1].param("scale"), Some("2"));
        assert_eq!(m.fields[2].label, Label::Repeated);
        assert_eq!(m.fields[2].ty, FieldType::Scalar(Scalar::Int64));
        let FieldType::Message(e) = m.fields[3].ty else {
            panic!()
        };
        assert!(s.messages[e].map_entry);
        let FieldType::Message(st) = m.fields[4].ty else {
            panic!()
        };
        assert_eq!(s.messages[st].full_name, "ConnectDefault1.ConnectDefault2");

        let (s, root) = derive(&cols, Some("my.Name"), Nullables::Optional).unwrap();
        assert_eq!(s.messages[root].full_name, "my.Name");
        assert_eq!(s.messages[root].fields[0].label, Label::Optional);
        let (s, root) = derive(&cols, None, Nullables::Wrapper).unwrap();
        let FieldType::Message(w) = s.messages[root].fields[0].ty else {
            panic!()
        };
        assert_eq!(s.well_known(w), Some(WellKnown::Wrapper(Scalar::Int32)));
    }
}
