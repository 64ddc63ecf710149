//! ARRAY_JOIN: an array's elements as one delimited string.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int32Type, Int64Type};
use datafusion::common::Result;

use super::{element_type, list, span};
use crate::functions::error::FunctionError;
use crate::functions::kernels::{map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};
use crate::java_text::format_decimal;
use crate::java_text::java_double;

fn primitive_elements(a: &[DataType]) -> Result<DataType, FunctionError> {
    match element_type(&a[0]) {
        DataType::List(_) | DataType::Map(..) | DataType::Struct(_) => Err(
            FunctionError::Evaluation("ARRAY_JOIN needs an array of primitives".into()),
        ),
        _ => Ok(DataType::Utf8),
    }
}

/// Text of element `j` as Java's `String.valueOf` writes it ("null" for NULL).
fn element_text(v: &ArrayRef, j: usize) -> String {
    if v.is_null(j) {
        return "null".into();
    }
    match v.data_type() {
        DataType::Utf8 => v.as_string::<i32>().value(j).to_string(),
        DataType::Boolean => v.as_boolean().value(j).to_string(),
        DataType::Int32 => v.as_primitive::<Int32Type>().value(j).to_string(),
        DataType::Int64 => v.as_primitive::<Int64Type>().value(j).to_string(),
        DataType::Float64 => java_double(v.as_primitive::<Float64Type>().value(j)),
        DataType::Decimal128(_, s) => {
            format_decimal(v.as_primitive::<Decimal128Type>().value(j), *s)
        }
        _ => arrow::util::display::ArrayFormatter::try_new(v.as_ref(), &Default::default())
            .map(|f| f.value(j).to_string())
            .unwrap_or_default(),
    }
}

/// `ARRAY_JOIN(array [, delimiter])`: the elements as text joined by `delimiter` (default
/// ","; a NULL delimiter joins with nothing). NULL elements appear as "null", DOUBLEs as Java
/// prints them ("0.0"). NULL array → NULL. Elements must be primitives.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "ARRAY_JOIN",
        Category::Array,
        "Joins the elements of an array of primitives into a string with a delimiter \
         (default ',').",
        vec![
            Overload::computed(&[("array", P::array(P::T))], primitive_elements, "VARCHAR"),
            Overload::computed(
                &[("array", P::array(P::T)), ("delimiter", P::String)],
                primitive_elements,
                "VARCHAR",
            ),
        ],
        |c: &Call| -> Result<ArrayRef> {
            let l = list(&c.args[0]);
            let values = l.values();
            let delim = c.args.get(1).map(strs);
            map_to_string(c.rows, |i| {
                if l.is_null(i) {
                    return Ok(None);
                }
                let sep = match delim {
                    None => ",",
                    Some(d) if d.is_null(i) => "",
                    Some(d) => d.value(i),
                };
                let parts: Vec<String> = span(l, i).map(|j| element_text(values, j)).collect();
                Ok(Some(parts.join(sep)))
            })
        },
    )
}
