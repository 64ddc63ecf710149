//! EXTRACTJSONFIELD: the value at a JSONPath in a JSON string.

use datafusion::common::Result;

use super::value::Json;
use crate::functions::error::eval_err;
use crate::functions::kernels::{any_null, map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// A step of a JSONPath.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
}

/// Parses `$.a.b`, `$['a']`, `$["a"]`, `$.a[0]`, `$.a[0].b`.
fn parse_path(path: &str) -> Result<Vec<Step>> {
    let bad = || eval_err(format!("Invalid JSON path: '{path}'"));
    let chars: Vec<char> = path.trim().chars().collect();
    if chars.first() != Some(&'$') {
        return bad();
    }
    let mut steps = Vec::new();
    let mut i = 1;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != '.' && chars[j] != '[' {
                    j += 1;
                }
                if j == start {
                    return bad();
                }
                steps.push(Step::Field(chars[start..j].iter().collect()));
                i = j;
            }
            '[' => {
                let close = match chars[i..].iter().position(|c| *c == ']') {
                    Some(p) => i + p,
                    None => return bad(),
                };
                let inner: String = chars[i + 1..close].iter().collect::<String>();
                let inner = inner.trim();
                if (inner.starts_with('\'') && inner.ends_with('\'')
                    || inner.starts_with('"') && inner.ends_with('"'))
                    && inner.len() >= 2
                {
                    steps.push(Step::Field(inner[1..inner.len() - 1].to_string()));
                } else {
                    match inner.parse::<i64>() {
                        Ok(n) => steps.push(Step::Index(n)),
                        Err(_) => return bad(),
                    }
                }
                i = close + 1;
            }
            _ => return bad(),
        }
    }
    Ok(steps)
}

fn walk<'a>(mut v: &'a Json, steps: &[Step]) -> Option<&'a Json> {
    for s in steps {
        v = match (s, v) {
            (Step::Field(f), Json::Object(_)) => v.get(f)?,
            (Step::Index(n), Json::Array(items)) if *n >= 0 => items.get(*n as usize)?,
            _ => return None,
        };
    }
    Some(v)
}

/// `EXTRACTJSONFIELD(json, path)`: the value at JSONPath `path` (`$.a.b`, `$.arr[0]`,
/// `$['key']`) in the JSON text `json`, as a STRING: a JSON string's contents, any other
/// value as compact JSON (numbers as written). NULL when either argument is NULL, the text
/// is not JSON, or nothing is at the path (including negative indexes). An invalid path
/// fails the call.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "EXTRACTJSONFIELD",
        Category::Json,
        "Given a STRING containing JSON, extracts the value at the given JSONPath as a \
         STRING; NULL if there is none.",
        vec![Overload::new(
            &[("input", P::String), ("jsonPath", P::String)],
            P::String,
        )],
        |c: &Call| {
            let (json, path) = (strs(&c.args[0]), strs(&c.args[1]));
            let mut last: Option<(String, Vec<Step>)> = None;
            map_to_string(c.rows, |i| {
                if any_null(c.args, i) {
                    return Ok(None);
                }
                let p = path.value(i);
                if last.as_ref().is_none_or(|(lp, _)| lp != p) {
                    last = Some((p.to_string(), parse_path(p)?));
                }
                let steps = &last.as_ref().expect("set").1;
                Ok(Json::parse_lenient(json.value(i))
                    .and_then(|doc| walk(&doc, steps).map(Json::to_text)))
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("$.a['b c'][2].d").unwrap(),
            vec![
                Step::Field("a".into()),
                Step::Field("b c".into()),
                Step::Index(2),
                Step::Field("d".into())
            ]
        );
        assert!(parse_path("a.b").is_err());
        assert!(parse_path("$.a[x]").is_err());
    }
}
