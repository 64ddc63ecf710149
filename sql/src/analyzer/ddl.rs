//! `WITH (...)` properties, key and value formats, and the column rules of `CREATE STREAM`
//! and `CREATE TABLE`.

use std::collections::BTreeMap;

use crate::ast::{ColumnConstraint, Literal, Properties, SourceKind, Span};
use crate::plan::{Column, ColumnRole, SqlType};

use super::catalog::{FormatInfo, RegisteredSchema, WindowInfo, WindowType};
use super::error::{err, AnalysisError, Result};

/// Formats Brook knows.
pub const FORMATS: &[&str] = &[
    "KAFKA",
    "JSON",
    "JSON_SR",
    "AVRO",
    "PROTOBUF",
    "PROTOBUF_NOSR",
    "DELIMITED",
    "NONE",
];

/// Properties accepted in `WITH` of `CREATE STREAM|TABLE` and `CREATE ... AS SELECT`.
pub const KNOWN_PROPERTIES: &[&str] = &[
    "KAFKA_TOPIC",
    "PARTITIONS",
    "REPLICAS",
    "RETENTION_MS",
    "CLEANUP_POLICY",
    "VALUE_FORMAT",
    "KEY_FORMAT",
    "FORMAT",
    "TIMESTAMP",
    "TIMESTAMP_FORMAT",
    "WRAP_SINGLE_VALUE",
    "VALUE_DELIMITER",
    "KEY_DELIMITER",
    "VALUE_AVRO_SCHEMA_FULL_NAME",
    "VALUE_SCHEMA_FULL_NAME",
    "KEY_SCHEMA_FULL_NAME",
    "KEY_SCHEMA_ID",
    "VALUE_SCHEMA_ID",
    "WINDOW_TYPE",
    "WINDOW_SIZE",
    "SOURCE_CONNECTOR",
    "KEY_PROTOBUF_NULLABLE_REPRESENTATION",
    "VALUE_PROTOBUF_NULLABLE_REPRESENTATION",
];

/// Pseudo-columns: names a user column may not take.
pub const RESERVED_COLUMNS: &[&str] = &[
    "ROWTIME",
    "ROWPARTITION",
    "ROWOFFSET",
    "WINDOWSTART",
    "WINDOWEND",
];

/// A property value as text (strings as written, numbers and booleans printed).
pub(crate) fn prop_str(props: &Properties, name: &str) -> Option<String> {
    props.get(name).map(|l| match l {
        Literal::String(s) => s.clone(),
        other => other.to_string(),
    })
}

pub(crate) fn prop_span(props: &Properties, name: &str) -> Span {
    props.property(name).map(|p| p.span).unwrap_or_default()
}

pub(crate) fn check_known_properties(props: &Properties) -> Result<()> {
    let unknown: Vec<&str> = props
        .entries
        .iter()
        .map(|p| p.name.as_str())
        .filter(|n| !KNOWN_PROPERTIES.contains(n))
        .collect();
    if let Some(first) = unknown.first() {
        let span = prop_span(props, first);
        return Err(AnalysisError::new(
            span,
            format!(
                "Invalid config variable(s) in the WITH clause: {}",
                unknown.join(",")
            ),
        )
        .with_suggestion(crate::suggest(first, KNOWN_PROPERTIES.iter().copied())));
    }
    Ok(())
}

/// The key and value formats a `WITH` clause asks for; `None` where it says nothing.
pub(crate) struct FormatProps {
    pub key: Option<FormatInfo>,
    pub value: Option<FormatInfo>,
    pub wrap_single_value: Option<bool>,
}

fn format_name(props: &Properties, name: &str) -> Result<Option<String>> {
    match prop_str(props, name) {
        None => Ok(None),
        Some(f) => {
            let up = f.to_ascii_uppercase();
            if !FORMATS.contains(&up.as_str()) {
                return Err(AnalysisError::new(
                    prop_span(props, name),
                    format!("Unknown format: {up}"),
                )
                .with_suggestion(crate::suggest(&up, FORMATS.iter().copied())));
            }
            Ok(Some(up))
        }
    }
}

fn check_delimiter(props: &Properties, prop: &str) -> Result<Option<String>> {
    let Some(d) = prop_str(props, prop) else {
        return Ok(None);
    };
    let span = prop_span(props, prop);
    if d.is_empty() || d == " " || d == "\t" {
        return err(span, format!("Failed to prepare statement: Configuration {prop} is invalid: Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please use the special values 'TAB' or 'SPACE'\nExample valid value: ';'"));
    }
    let up = d.to_ascii_uppercase();
    if up == "TAB" || up == "SPACE" || d.chars().count() == 1 {
        Ok(Some(d))
    } else {
        err(span, format!("Failed to prepare statement: Configuration {prop} is invalid: Invalid delimiter value: '{d}'. Delimiter must be a single character or TAB,SPACE\nExample valid value: ';'"))
    }
}

/// Which format options a format accepts.
fn supported_options(format: &str) -> &'static [&'static str] {
    match format {
        "DELIMITED" => &["delimiter"],
        "AVRO" => &["fullSchemaName", "schemaId"],
        "PROTOBUF" => &["fullSchemaName", "schemaId", "nullableRepresentation"],
        "PROTOBUF_NOSR" => &["nullableRepresentation"],
        "JSON_SR" => &["schemaId"],
        _ => &[],
    }
}

fn with_options(
    mut f: FormatInfo,
    options: Vec<(&'static str, String)>,
    span: Span,
) -> Result<FormatInfo> {
    let unsupported: Vec<&str> = options
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !supported_options(&f.name).contains(k))
        .collect();
    if !unsupported.is_empty() {
        return err(
            span,
            format!(
                "{} does not support the following configs: [{}]",
                f.name,
                unsupported.join(", ")
            ),
        );
    }
    for (k, v) in options {
        if k == "fullSchemaName" && v.trim().is_empty() {
            return err(
                span,
                format!(
                    "fullSchemaName cannot be empty. Format configuration: {{fullSchemaName={}}}",
                    v.trim()
                ),
            );
        }
        f.properties.insert(k.to_string(), v);
    }
    Ok(f)
}

/// Reads `FORMAT`, `KEY_FORMAT`, `VALUE_FORMAT` and the format options.
pub(crate) fn format_props(props: &Properties) -> Result<FormatProps> {
    let format = format_name(props, "FORMAT")?;
    let key = format_name(props, "KEY_FORMAT")?;
    let value = format_name(props, "VALUE_FORMAT")?;
    if format.is_some() && key.is_some() {
        return err(prop_span(props, "KEY_FORMAT"), "Cannot supply both 'KEY_FORMAT' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'.");
    }
    if format.is_some() && value.is_some() {
        return err(prop_span(props, "VALUE_FORMAT"), "Cannot supply both 'VALUE_FORMAT' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'.");
    }
    let key = key.or_else(|| format.clone());
    let value = value.or(format);
    for (which, f, id) in [
        ("KEY", &key, "KEY_SCHEMA_ID"),
        ("VALUE", &value, "VALUE_SCHEMA_ID"),
    ] {
        if let (Some(f), Some(_)) = (f, props.get(id)) {
            if !supports_schema_inference(f) {
                return err(
                    prop_span(props, id),
                    format!("{which}_FORMAT should support schema inference when {id} is provided. Current format is {f}."),
                );
            }
        }
    }
    let key_delim = check_delimiter(props, "KEY_DELIMITER")?;
    let value_delim = check_delimiter(props, "VALUE_DELIMITER")?;
    let mut key_opts = Vec::new();
    if let Some(d) = key_delim {
        key_opts.push(("delimiter", d));
    }
    if let Some(n) = prop_str(props, "KEY_SCHEMA_FULL_NAME") {
        key_opts.push(("fullSchemaName", n));
    }
    if let Some(n) = prop_str(props, "KEY_SCHEMA_ID") {
        key_opts.push(("schemaId", n));
    }
    if let Some(n) = prop_str(props, "KEY_PROTOBUF_NULLABLE_REPRESENTATION") {
        key_opts.push(("nullableRepresentation", n));
    }
    let mut value_opts = Vec::new();
    if let Some(d) = value_delim {
        value_opts.push(("delimiter", d));
    }
    if let Some(n) = prop_str(props, "VALUE_SCHEMA_FULL_NAME")
        .or_else(|| prop_str(props, "VALUE_AVRO_SCHEMA_FULL_NAME"))
    {
        value_opts.push(("fullSchemaName", n));
    }
    if let Some(n) = prop_str(props, "VALUE_SCHEMA_ID") {
        value_opts.push(("schemaId", n));
    }
    if let Some(n) = prop_str(props, "VALUE_PROTOBUF_NULLABLE_REPRESENTATION") {
        value_opts.push(("nullableRepresentation", n));
    }
    let wrap = match props.get("WRAP_SINGLE_VALUE") {
        None => None,
        Some(Literal::Boolean(b)) => Some(*b),
        Some(Literal::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Literal::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        Some(other) => {
            return err(
                prop_span(props, "WRAP_SINGLE_VALUE"),
                format!("Property WRAP_SINGLE_VALUE must be a boolean, got {other}"),
            )
        }
    };
    Ok(FormatProps {
        key: key
            .map(|k| with_options(FormatInfo::new(k), key_opts, prop_span(props, "KEY_FORMAT")))
            .transpose()?,
        value: value
            .map(|v| {
                with_options(
                    FormatInfo::new(v),
                    value_opts,
                    prop_span(props, "VALUE_FORMAT"),
                )
            })
            .transpose()?,
        wrap_single_value: wrap,
    })
}

/// Like [`format_props`], but fills a format the `WITH` clause did not name from
/// `default_key` / `default_value`, keeping the options given.
pub(crate) fn resolve_formats(
    props: &Properties,
    default_key: FormatInfo,
    default_value: Option<FormatInfo>,
) -> Result<(FormatInfo, Option<FormatInfo>, Option<bool>)> {
    let fp = format_props(props)?;
    let key = match fp.key {
        Some(k) => k,
        None => {
            // Options given without a format apply to the inherited one.
            let mut k = default_key;
            let opts = format_props_options(props, true);
            if !opts.is_empty() {
                k = with_options(FormatInfo::new(k.name.clone()), opts, Span::default())?;
            }
            k
        }
    };
    let value = match fp.value {
        Some(v) => Some(v),
        None => match default_value {
            Some(v) => {
                let opts = format_props_options(props, false);
                if opts.is_empty() {
                    Some(v)
                } else {
                    Some(with_options(
                        FormatInfo::new(v.name.clone()),
                        opts,
                        Span::default(),
                    )?)
                }
            }
            None => None,
        },
    };
    Ok((key, value, fp.wrap_single_value))
}

fn format_props_options(props: &Properties, key: bool) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    let (d, n, i) = if key {
        ("KEY_DELIMITER", "KEY_SCHEMA_FULL_NAME", "KEY_SCHEMA_ID")
    } else {
        (
            "VALUE_DELIMITER",
            "VALUE_SCHEMA_FULL_NAME",
            "VALUE_SCHEMA_ID",
        )
    };
    if let Some(x) = prop_str(props, d) {
        v.push(("delimiter", x));
    }
    if let Some(x) = prop_str(props, n).or_else(|| {
        if key {
            None
        } else {
            prop_str(props, "VALUE_AVRO_SCHEMA_FULL_NAME")
        }
    }) {
        v.push(("fullSchemaName", x));
    }
    if let Some(x) = prop_str(props, i) {
        v.push(("schemaId", x));
    }
    v
}

/// Whether a format reads its columns from a schema registry.
pub fn supports_schema_inference(format: &str) -> bool {
    matches!(format, "AVRO" | "PROTOBUF" | "JSON_SR")
}

fn type_family(t: &SqlType) -> &'static str {
    match t {
        SqlType::Boolean => "BOOLEAN",
        SqlType::Int => "INTEGER",
        SqlType::BigInt => "BIGINT",
        SqlType::Double => "DOUBLE",
        SqlType::Decimal { .. } => "DECIMAL",
        SqlType::String => "STRING",
        SqlType::Bytes => "BYTES",
        SqlType::Date => "DATE",
        SqlType::Time => "TIME",
        SqlType::Timestamp => "TIMESTAMP",
        SqlType::Array(_) => "ARRAY",
        SqlType::Map(..) => "MAP",
        SqlType::Struct(_) => "STRUCT",
        SqlType::Null => "NULL",
    }
}

fn has_non_string_map_key(t: &SqlType) -> bool {
    match t {
        SqlType::Map(k, v) => **k != SqlType::String || has_non_string_map_key(v),
        SqlType::Array(e) => has_non_string_map_key(e),
        SqlType::Struct(fs) => fs.iter().any(|(_, t)| has_non_string_map_key(t)),
        _ => false,
    }
}

fn describe_columns(cols: &[Column]) -> String {
    let v: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
    format!("[{}]", v.join(", "))
}

/// Why `format` cannot serialize `cols`, if it cannot.
fn format_problem(format: &str, cols: &[Column]) -> Option<String> {
    match format {
        "NONE" if !cols.is_empty() => Some(format!(
            "The 'NONE' format can only be used when no columns are defined. Got: {}",
            describe_columns(cols)
        )),
        "KAFKA" => {
            if cols.len() > 1 {
                return Some(format!(
                    "The 'KAFKA' format only supports a single field. Got: {}",
                    describe_columns(cols)
                ));
            }
            cols.iter()
                .find(|c| {
                    !matches!(
                        c.ty,
                        SqlType::Int
                            | SqlType::BigInt
                            | SqlType::Double
                            | SqlType::String
                            | SqlType::Bytes
                    )
                })
                .map(|c| {
                    format!(
                        "The 'KAFKA' format does not support type '{}'",
                        type_family(&c.ty)
                    )
                })
        }
        "DELIMITED" => cols.iter().find(|c| !c.ty.is_primitive()).map(|c| {
            format!(
                "The 'DELIMITED' format does not support type '{}', column: `{}`",
                type_family(&c.ty),
                c.name
            )
        }),
        "JSON" | "JSON_SR" => cols
            .iter()
            .any(|c| has_non_string_map_key(&c.ty))
            .then(|| "JSON only supports MAP types with STRING keys".to_string()),
        "AVRO" => {
            if cols.iter().any(|c| has_non_string_map_key(&c.ty)) {
                return Some("Avro only supports MAPs with STRING keys".to_string());
            }
            cols.iter().find_map(|c| avro_name_problem(&c.name))
        }
        "PROTOBUF" | "PROTOBUF_NOSR" => cols
            .iter()
            .any(|c| has_non_string_map_key(&c.ty))
            .then(|| "PROTOBUF format only supports MAP types with STRING keys".to_string()),
        _ => None,
    }
}

/// Checks that the key and value formats can serialize the columns, with ksqlDB's messages.
pub(crate) fn check_formats(
    columns: &[Column],
    key: &FormatInfo,
    value: &FormatInfo,
    wrap: Option<bool>,
    span: Span,
) -> Result<()> {
    let keys: Vec<Column> = columns.iter().filter(|c| c.is_key()).cloned().collect();
    for k in &keys {
        if k.ty.contains_map() {
            return err(span, format!("Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{}`. Column type: {}. See https://github.com/confluentinc/ksql/issues/6621 for more.", k.name, k.ty));
        }
    }
    if let Some(reason) = format_problem(&key.name, &keys) {
        return err(
            span,
            format!(
                "Key format does not support schema.\nformat: {}\nschema: Persistence{{columns={}, features=[]}}\nreason: {reason}",
                key.name,
                describe_columns(&keys)
            ),
        );
    }
    let values: Vec<Column> = columns
        .iter()
        .filter(|c| c.role == ColumnRole::Value)
        .cloned()
        .collect();
    if let Some(w) = wrap {
        if values.len() != 1 {
            return err(
                span,
                "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas",
            );
        }
        let bad = match value.name.as_str() {
            "KAFKA" | "DELIMITED" | "NONE" => w,
            "PROTOBUF" | "PROTOBUF_NOSR" => !w,
            _ => false,
        };
        if bad {
            return err(
                span,
                format!(
                    "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to '{w}'.",
                    value.name
                ),
            );
        }
    }
    if let Some(reason) = format_problem(&value.name, &values) {
        return err(
            span,
            format!(
                "Value format does not support schema.\nformat: {}\nschema: Persistence{{columns={}, features=[]}}\nreason: {reason}",
                value.name,
                describe_columns(&values)
            ),
        );
    }
    Ok(())
}

/// Turns a registered schema into columns of the given role.
///
/// As in ksqlDB, names read from the latest registered schema are upper-cased (field names
/// inside structs too); with an explicit `*_SCHEMA_ID` they are kept as registered.
pub(crate) fn columns_from_schema(
    schema: &RegisteredSchema,
    key: bool,
    full_name: Option<&str>,
    keep_names: bool,
    format: &str,
) -> Vec<Column> {
    let role = if key {
        ColumnRole::Key
    } else {
        ColumnRole::Value
    };
    let fields = schema.select(full_name);
    // AVRO and JSON_SR keys are read unwrapped: a record key schema is one `ROWKEY` column
    // of that STRUCT type (ksqlDB's output keeps it as `ROWKEY STRUCT<K STRING> KEY`,
    // UNWRAP_SINGLES). PROTOBUF key messages give one key column per field.
    let record_key = key && !format.to_ascii_uppercase().starts_with("PROTOBUF");
    let fields: Vec<(Option<String>, SqlType)> =
        if record_key && !fields.is_empty() && fields.iter().all(|(n, _)| n.is_some()) {
            vec![(
                None,
                SqlType::Struct(
                    fields
                        .iter()
                        .map(|(n, t)| (n.clone().unwrap_or_default(), t.clone()))
                        .collect(),
                ),
            )]
        } else {
            fields.to_vec()
        };
    fields
        .iter()
        .map(|(name, ty)| {
            let n = name
                .clone()
                .unwrap_or_else(|| if key { "ROWKEY" } else { "ROWVAL" }.to_string());
            if keep_names {
                Column::new(n, ty.clone(), role.clone())
            } else {
                Column::new(n.to_uppercase(), upper_fields(ty.clone()), role.clone())
            }
        })
        .collect()
}

fn upper_fields(t: SqlType) -> SqlType {
    match t {
        SqlType::Struct(fs) => SqlType::Struct(
            fs.into_iter()
                .map(|(n, t)| (n.to_uppercase(), upper_fields(t)))
                .collect(),
        ),
        SqlType::Array(e) => SqlType::array(upper_fields(*e)),
        SqlType::Map(k, v) => SqlType::map(upper_fields(*k), upper_fields(*v)),
        t => t,
    }
}

/// The role a declared column takes, checking KEY vs PRIMARY KEY against the source kind.
pub(crate) fn column_role(
    kind: SourceKind,
    name: &str,
    c: &ColumnConstraint,
    span: Span,
) -> Result<ColumnRole> {
    Ok(match (c, kind) {
        (ColumnConstraint::None, _) => ColumnRole::Value,
        (ColumnConstraint::Key, SourceKind::Stream) => ColumnRole::Key,
        (ColumnConstraint::PrimaryKey, SourceKind::Table) => ColumnRole::Key,
        (ColumnConstraint::Key, SourceKind::Table) => {
            return err(
                span,
                format!("Column `{name}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints."),
            )
        }
        (ColumnConstraint::PrimaryKey, SourceKind::Stream) => {
            return err(
                span,
                format!("Column `{name}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints."),
            )
        }
        (ColumnConstraint::Headers, _) => ColumnRole::Headers,
        (ColumnConstraint::Header(k), _) => ColumnRole::Header(k.clone()),
    })
}

/// The type a `HEADERS` column must have.
pub fn headers_type() -> SqlType {
    SqlType::array(SqlType::Struct(vec![
        ("KEY".into(), SqlType::String),
        ("VALUE".into(), SqlType::Bytes),
    ]))
}

/// `WINDOW_TYPE` / `WINDOW_SIZE` of a `CREATE` over a windowed topic.
pub(crate) fn window_props(props: &Properties) -> Result<Option<WindowInfo>> {
    let Some(t) = prop_str(props, "WINDOW_TYPE") else {
        if props.get("WINDOW_SIZE").is_some() {
            return err(
                prop_span(props, "WINDOW_SIZE"),
                "'WINDOW_SIZE' should not be set for non-windowed sources.",
            );
        }
        return Ok(None);
    };
    let kind = match t.to_ascii_uppercase().as_str() {
        "TUMBLING" => WindowType::Tumbling,
        "HOPPING" => WindowType::Hopping,
        "SESSION" => WindowType::Session,
        other => {
            return err(
                prop_span(props, "WINDOW_TYPE"),
                format!("Invalid value {other} for property WINDOW_TYPE: String must be one of: SESSION, HOPPING, TUMBLING"),
            )
        }
    };
    let size = prop_str(props, "WINDOW_SIZE");
    if kind == WindowType::Session {
        if size.is_some() {
            return err(
                prop_span(props, "WINDOW_SIZE"),
                "'WINDOW_SIZE' should not be set for SESSION windows.",
            );
        }
        return Ok(Some(WindowInfo {
            kind,
            size_ms: None,
        }));
    }
    let Some(size) = size else {
        return err(
            prop_span(props, "WINDOW_TYPE"),
            format!("{kind} windows require 'WINDOW_SIZE' to be provided in the WITH clause. For example: 'WINDOW_SIZE'='10 SECONDS'"),
        );
    };
    let ms = parse_duration_ms(&size).ok_or_else(|| {
        AnalysisError::new(
            prop_span(props, "WINDOW_SIZE"),
            format!("Invalid WINDOW_SIZE property : {size}"),
        )
    })?;
    Ok(Some(WindowInfo {
        kind,
        size_ms: Some(ms),
    }))
}

/// `'10 SECONDS'` → 10000.
pub(crate) fn parse_duration_ms(s: &str) -> Option<u64> {
    let mut parts = s.split_whitespace();
    let n: u64 = parts.next()?.parse().ok()?;
    let unit = parts.next()?.to_ascii_uppercase();
    if parts.next().is_some() {
        return None;
    }
    let u = crate::ast::TimeUnit::from_keyword(&unit)?;
    n.checked_mul(u.millis())
}

/// Session properties that set default formats.
pub(crate) fn default_formats(
    session: &BTreeMap<String, String>,
) -> (FormatInfo, Option<FormatInfo>) {
    let key = session
        .get("ksql.persistence.default.format.key")
        .map(|s| s.to_ascii_uppercase())
        .unwrap_or_else(|| "KAFKA".into());
    let value = session
        .get("ksql.persistence.default.format.value")
        .map(|s| FormatInfo::new(s.to_ascii_uppercase()));
    (FormatInfo::new(key), value)
}

/// Whether a single value column is wrapped when the WITH clause does not say: the
/// session's `ksql.persistence.wrap.single.values` for the formats that can do both (JSON,
/// JSON_SR, AVRO), otherwise the format's own way (`None`).
pub(crate) fn default_wrap(
    session: &BTreeMap<String, String>,
    explicit: Option<bool>,
    value_format: &FormatInfo,
    value_columns: usize,
) -> Option<bool> {
    if explicit.is_some() || value_columns != 1 {
        return explicit;
    }
    let configured = session
        .get("ksql.persistence.wrap.single.values")
        .and_then(|v| v.trim().parse::<bool>().ok())?;
    matches!(value_format.name.as_str(), "JSON" | "JSON_SR" | "AVRO").then_some(configured)
}

/// Avro names start with a letter or `_` and go on with letters, digits and `_`.
fn avro_name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let first = chars.next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Some(format!(
            "Schema is not compatible with Avro: Illegal initial character: {name}"
        ));
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some(format!(
            "Schema is not compatible with Avro: Illegal character in: {name}"
        ));
    }
    None
}
