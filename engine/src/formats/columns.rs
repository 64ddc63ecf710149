//! Arrow columns <-> normalised values (see `value`), and ksqlDB's names for Arrow types.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
    Float64Array, Int32Array, Int64Array, ListArray, MapArray, NullArray, StringArray, StructArray,
    Time32MillisecondArray, Time32SecondArray, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int32Type, Int64Type,
    Time32MillisecondType, Time32SecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};

use super::value::Val;

/// ksqlDB's base type name for a column type, as its "does not support type" messages say it.
pub(crate) fn base_type_name(dt: &DataType) -> &'static str {
    match dt {
        DataType::Boolean => "BOOLEAN",
        DataType::Int32 => "INTEGER",
        DataType::Int64 => "BIGINT",
        DataType::Float32 | DataType::Float64 => "DOUBLE",
        DataType::Decimal128(_, _) => "DECIMAL",
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING",
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BYTES",
        DataType::Date32 => "DATE",
        DataType::Time32(_) => "TIME",
        DataType::Timestamp(_, _) => "TIMESTAMP",
        DataType::List(_) | DataType::LargeList(_) => "ARRAY",
        DataType::Map(_, _) => "MAP",
        DataType::Struct(_) => "STRUCT",
        _ => "UNKNOWN",
    }
}

/// ksqlDB's SQL spelling of a column type: `INTEGER`, `DECIMAL(21, 19)`,
/// `MAP<STRING, DOUBLE>`, ``STRUCT<`F` DOUBLE>``.
pub fn sql_type_name(dt: &DataType) -> String {
    match dt {
        DataType::Decimal128(p, s) => format!("DECIMAL({p}, {s})"),
        DataType::List(f) | DataType::LargeList(f) => {
            format!("ARRAY<{}>", sql_type_name(f.data_type()))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fs) if fs.len() == 2 => format!(
                "MAP<{}, {}>",
                sql_type_name(fs[0].data_type()),
                sql_type_name(fs[1].data_type())
            ),
            _ => "MAP".into(),
        },
        DataType::Struct(fs) => format!(
            "STRUCT<{}>",
            fs.iter()
                .map(|f| format!("`{}` {}", f.name(), sql_type_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => base_type_name(other).to_string(),
    }
}

/// Brook's MAP type: `Map(entries: Struct<key: Utf8 not null, value: value_type>)`.
pub fn map_type(value_type: DataType) -> DataType {
    DataType::Map(
        Arc::new(arrow::datatypes::Field::new(
            "entries",
            DataType::Struct(arrow::datatypes::Fields::from(vec![
                arrow::datatypes::Field::new("key", DataType::Utf8, false),
                arrow::datatypes::Field::new("value", value_type, true),
            ])),
            false,
        )),
        false,
    )
}

fn nulls_of(vals: &[Val]) -> Option<NullBuffer> {
    if vals.iter().any(|v| matches!(v, Val::Null)) {
        Some(NullBuffer::from_iter(
            vals.iter().map(|v| !matches!(v, Val::Null)),
        ))
    } else {
        None
    }
}

fn int(v: &Val) -> Option<i64> {
    match v {
        Val::Int(i) => Some(*i),
        _ => None,
    }
}

/// Builds a column of type `dt` from normalised values (anything not in normalised form for
/// `dt` becomes null).
pub(crate) fn build_array(vals: Vec<Val>, dt: &DataType) -> ArrayRef {
    let n = vals.len();
    match dt {
        DataType::Null => Arc::new(NullArray::new(n)),
        DataType::Boolean => Arc::new(
            vals.iter()
                .map(|v| match v {
                    Val::Bool(b) => Some(*b),
                    _ => None,
                })
                .collect::<BooleanArray>(),
        ),
        DataType::Int32 => Arc::new(
            vals.iter()
                .map(|v| int(v).map(|i| i as i32))
                .collect::<Int32Array>(),
        ),
        DataType::Int64 => Arc::new(vals.iter().map(int).collect::<Int64Array>()),
        DataType::Date32 => Arc::new(
            vals.iter()
                .map(|v| int(v).map(|i| i as i32))
                .collect::<Date32Array>(),
        ),
        DataType::Time32(TimeUnit::Second) => Arc::new(
            vals.iter()
                .map(|v| int(v).map(|i| i as i32))
                .collect::<Time32SecondArray>(),
        ),
        DataType::Time32(_) => Arc::new(
            vals.iter()
                .map(|v| int(v).map(|i| i as i32))
                .collect::<Time32MillisecondArray>(),
        ),
        DataType::Timestamp(unit, tz) => {
            let it = vals.iter().map(int);
            match unit {
                TimeUnit::Second => Arc::new(
                    it.collect::<TimestampSecondArray>()
                        .with_timezone_opt(tz.clone()),
                ),
                TimeUnit::Millisecond => Arc::new(
                    it.collect::<TimestampMillisecondArray>()
                        .with_timezone_opt(tz.clone()),
                ),
                TimeUnit::Microsecond => Arc::new(
                    it.collect::<TimestampMicrosecondArray>()
                        .with_timezone_opt(tz.clone()),
                ),
                TimeUnit::Nanosecond => Arc::new(
                    it.collect::<TimestampNanosecondArray>()
                        .with_timezone_opt(tz.clone()),
                ),
            }
        }
        DataType::Float64 => Arc::new(
            vals.iter()
                .map(|v| match v {
                    Val::Float(f) => Some(*f),
                    _ => None,
                })
                .collect::<Float64Array>(),
        ),
        DataType::Float32 => Arc::new(
            vals.iter()
                .map(|v| match v {
                    Val::Float(f) => Some(*f as f32),
                    _ => None,
                })
                .collect::<arrow::array::Float32Array>(),
        ),
        DataType::Decimal128(p, s) => Arc::new(
            vals.iter()
                .map(|v| match v {
                    Val::Decimal(u) => Some(*u),
                    _ => None,
                })
                .collect::<Decimal128Array>()
                .with_precision_and_scale(*p, *s)
                .expect("valid decimal type"),
        ),
        DataType::Utf8 => Arc::new(
            vals.iter()
                .map(|v| match v {
                    Val::Str(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect::<StringArray>(),
        ),
        DataType::Binary => Arc::new(
            vals.iter()
                .map(|v| match v {
                    Val::Bytes(b) => Some(b.as_slice()),
                    _ => None,
                })
                .collect::<BinaryArray>(),
        ),
        DataType::List(item) => {
            let nulls = nulls_of(&vals);
            let mut lengths = Vec::with_capacity(n);
            let mut flat = Vec::new();
            for v in vals {
                match v {
                    Val::Array(items) => {
                        lengths.push(items.len());
                        flat.extend(items);
                    }
                    _ => lengths.push(0),
                }
            }
            let values = build_array(flat, item.data_type());
            Arc::new(
                ListArray::try_new(
                    item.clone(),
                    OffsetBuffer::from_lengths(lengths),
                    values,
                    nulls,
                )
                .expect("list built from coerced values"),
            )
        }
        DataType::Struct(fields) => {
            let nulls = nulls_of(&vals);
            let mut children: Vec<Vec<Val>> =
                fields.iter().map(|_| Vec::with_capacity(n)).collect();
            for v in vals {
                match v {
                    Val::Object(entries) => {
                        let mut it = entries.into_iter();
                        for c in children.iter_mut() {
                            c.push(it.next().map(|(_, v)| v).unwrap_or(Val::Null));
                        }
                    }
                    _ => children.iter_mut().for_each(|c| c.push(Val::Null)),
                }
            }
            let arrays = children
                .into_iter()
                .zip(fields.iter())
                .map(|(c, f)| build_array(c, f.data_type()))
                .collect();
            if fields.is_empty() {
                return Arc::new(StructArray::new_empty_fields(n, nulls));
            }
            Arc::new(
                StructArray::try_new(fields.clone(), arrays, nulls)
                    .expect("struct built from coerced values"),
            )
        }
        DataType::Map(entries_field, ordered) => {
            let nulls = nulls_of(&vals);
            let DataType::Struct(entry_fields) = entries_field.data_type() else {
                return arrow::array::new_null_array(dt, n);
            };
            let mut lengths = Vec::with_capacity(n);
            let mut keys = Vec::new();
            let mut values = Vec::new();
            for v in vals {
                match v {
                    Val::Object(entries) => {
                        lengths.push(entries.len());
                        for (k, v) in entries {
                            keys.push(Val::Str(k));
                            values.push(v);
                        }
                    }
                    _ => lengths.push(0),
                }
            }
            let key_array = build_array(keys, entry_fields[0].data_type());
            let value_array = build_array(values, entry_fields[1].data_type());
            let entries =
                StructArray::try_new(entry_fields.clone(), vec![key_array, value_array], None)
                    .expect("map entries built from coerced values");
            Arc::new(
                MapArray::try_new(
                    entries_field.clone(),
                    OffsetBuffer::from_lengths(lengths),
                    entries,
                    nulls,
                    *ordered,
                )
                .expect("map built from coerced values"),
            )
        }
        other => arrow::array::new_null_array(other, n),
    }
}

/// Reads one cell as a normalised value.
pub(crate) fn read_cell(array: &dyn Array, row: usize) -> Val {
    if array.is_null(row) {
        return Val::Null;
    }
    match array.data_type() {
        DataType::Null => Val::Null,
        DataType::Boolean => Val::Bool(array.as_boolean().value(row)),
        DataType::Int32 => Val::Int(array.as_primitive::<Int32Type>().value(row) as i64),
        DataType::Int64 => Val::Int(array.as_primitive::<Int64Type>().value(row)),
        DataType::Date32 => Val::Int(array.as_primitive::<Date32Type>().value(row) as i64),
        DataType::Time32(TimeUnit::Second) => {
            Val::Int(array.as_primitive::<Time32SecondType>().value(row) as i64)
        }
        DataType::Time32(_) => {
            Val::Int(array.as_primitive::<Time32MillisecondType>().value(row) as i64)
        }
        DataType::Timestamp(TimeUnit::Second, _) => {
            Val::Int(array.as_primitive::<TimestampSecondType>().value(row))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            Val::Int(array.as_primitive::<TimestampMillisecondType>().value(row))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            Val::Int(array.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            Val::Int(array.as_primitive::<TimestampNanosecondType>().value(row))
        }
        DataType::Float64 => Val::Float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Float32 => Val::Float(array.as_primitive::<Float32Type>().value(row) as f64),
        DataType::Decimal128(_, _) => {
            Val::Decimal(array.as_primitive::<Decimal128Type>().value(row))
        }
        DataType::Utf8 => Val::Str(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Val::Str(array.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Val::Str(array.as_string_view().value(row).to_string()),
        DataType::Binary => Val::Bytes(array.as_binary::<i32>().value(row).to_vec()),
        DataType::LargeBinary => Val::Bytes(array.as_binary::<i64>().value(row).to_vec()),
        DataType::BinaryView => Val::Bytes(array.as_binary_view().value(row).to_vec()),
        DataType::List(_) => {
            let items = array.as_list::<i32>().value(row);
            Val::Array((0..items.len()).map(|i| read_cell(&items, i)).collect())
        }
        DataType::LargeList(_) => {
            let items = array.as_list::<i64>().value(row);
            Val::Array((0..items.len()).map(|i| read_cell(&items, i)).collect())
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            Val::Object(
                fields
                    .iter()
                    .zip(s.columns())
                    .map(|(f, c)| (f.name().clone(), read_cell(c.as_ref(), row)))
                    .collect(),
            )
        }
        DataType::Map(_, _) => {
            let m = array.as_map();
            let entries = m.value(row);
            let keys = entries.column(0);
            let values = entries.column(1);
            Val::Object(
                (0..entries.len())
                    .map(|i| {
                        let k = match read_cell(keys.as_ref(), i) {
                            Val::Str(s) => s,
                            other => other.to_json_text(),
                        };
                        (k, read_cell(values.as_ref(), i))
                    })
                    .collect(),
            )
        }
        _ => Val::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Fields};

    #[test]
    fn type_names() {
        let map = DataType::Map(
            Arc::new(Field::new(
                "entries",
                DataType::Struct(Fields::from(vec![
                    Field::new("key", DataType::Utf8, false),
                    Field::new("value", DataType::Float64, true),
                ])),
                false,
            )),
            false,
        );
        assert_eq!(sql_type_name(&map), "MAP<STRING, DOUBLE>");
        assert_eq!(
            sql_type_name(&DataType::Decimal128(21, 19)),
            "DECIMAL(21, 19)"
        );
        let st = DataType::Struct(Fields::from(vec![Field::new("F", DataType::Float64, true)]));
        assert_eq!(sql_type_name(&st), "STRUCT<`F` DOUBLE>");
        assert_eq!(
            sql_type_name(&DataType::List(Arc::new(Field::new(
                "item",
                DataType::Int32,
                true
            )))),
            "ARRAY<INTEGER>"
        );
    }
}
