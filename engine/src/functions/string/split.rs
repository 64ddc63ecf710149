//! SPLIT and SPLIT_TO_MAP: split strings on literal delimiters.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BinaryBuilder, ListBuilder, MapBuilder, StringBuilder};
use arrow::datatypes::DataType;

use crate::functions::kernels::{any_null, bins, strs};
use crate::functions::map::map_builder;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `SPLIT(str, delimiter)`: `str` split around each occurrence of the literal `delimiter`,
/// keeping empty strings for leading, trailing and adjacent delimiters; an empty delimiter
/// splits into single characters. Also for BYTES. NULL when either argument is NULL.
pub fn split() -> FunctionDef {
    FunctionDef::new(
        "SPLIT",
        Category::String,
        "Splits a string (or bytes) into an array around a delimiter; an empty delimiter \
         splits into characters.",
        vec![
            Overload::new(
                &[("input", P::String), ("delimiter", P::String)],
                P::array(P::String),
            ),
            Overload::new(
                &[("input", P::Bytes), ("delimiter", P::Bytes)],
                P::array(P::Bytes),
            ),
        ],
        |c: &Call| {
            if c.args[0].data_type() == &DataType::Binary {
                let (s, d) = (bins(&c.args[0]), bins(&c.args[1]));
                let mut b = ListBuilder::new(BinaryBuilder::new());
                for i in 0..c.rows {
                    if any_null(c.args, i) {
                        b.append_null();
                        continue;
                    }
                    let (v, delim) = (s.value(i), d.value(i));
                    if delim.is_empty() {
                        for byte in v {
                            b.values().append_value([*byte]);
                        }
                    } else {
                        let mut last = 0;
                        let mut j = 0;
                        while j + delim.len() <= v.len() {
                            if &v[j..j + delim.len()] == delim {
                                b.values().append_value(&v[last..j]);
                                j += delim.len();
                                last = j;
                            } else {
                                j += 1;
                            }
                        }
                        b.values().append_value(&v[last..]);
                    }
                    b.append(true);
                }
                return Ok(Arc::new(b.finish()) as ArrayRef);
            }
            let (s, d) = (strs(&c.args[0]), strs(&c.args[1]));
            let mut b = ListBuilder::new(StringBuilder::new());
            for i in 0..c.rows {
                if any_null(c.args, i) {
                    b.append_null();
                    continue;
                }
                let (v, delim) = (s.value(i), d.value(i));
                if delim.is_empty() {
                    let mut buf = [0u8; 4];
                    for ch in v.chars() {
                        b.values().append_value(ch.encode_utf8(&mut buf));
                    }
                } else {
                    for part in v.split(delim) {
                        b.values().append_value(part);
                    }
                }
                b.append(true);
            }
            Ok(Arc::new(b.finish()) as ArrayRef)
        },
    )
}

/// `SPLIT_TO_MAP(input, entryDelimiter, kvDelimiter)`: a MAP<STRING, STRING> built by
/// splitting `input` into entries and each entry into key and value. Empty entries and
/// entries without `kvDelimiter` are skipped; text after a second `kvDelimiter` is dropped;
/// a repeated key keeps its last value. NULL when any argument is NULL or either delimiter
/// is empty.
pub fn split_to_map() -> FunctionDef {
    FunctionDef::new(
        "SPLIT_TO_MAP",
        Category::String,
        "Splits a string into key-value pairs and returns them as a map; entries without \
         the key-value delimiter are dropped.",
        vec![Overload::new(
            &[
                ("input", P::String),
                ("entryDelimiter", P::String),
                ("kvDelimiter", P::String),
            ],
            P::map(P::String, P::String),
        )],
        |c: &Call| {
            let (s, ed, kd) = (strs(&c.args[0]), strs(&c.args[1]), strs(&c.args[2]));
            let mut b: MapBuilder<StringBuilder, StringBuilder> =
                map_builder(StringBuilder::new(), StringBuilder::new());
            for i in 0..c.rows {
                if any_null(c.args, i) || ed.value(i).is_empty() || kd.value(i).is_empty() {
                    b.append(false)?;
                    continue;
                }
                let mut entries: Vec<(&str, &str)> = Vec::new();
                for entry in s.value(i).split(ed.value(i)).filter(|e| !e.is_empty()) {
                    let mut kv = entry.split(kd.value(i));
                    if let (Some(k), Some(v)) = (kv.next(), kv.next()) {
                        match entries.iter_mut().find(|(ek, _)| *ek == k) {
                            Some(e) => e.1 = v,
                            None => entries.push((k, v)),
                        }
                    }
                }
                for (k, v) in entries {
                    b.keys().append_value(k);
                    b.values().append_value(v);
                }
                b.append(true)?;
            }
            Ok(Arc::new(b.finish()) as ArrayRef)
        },
    )
}
