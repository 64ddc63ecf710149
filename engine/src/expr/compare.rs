//! Comparisons with ksqlDB's semantics: `=`, `<>`, `<`, ... give FALSE (not NULL) when
//! either side is NULL; IS [NOT] DISTINCT FROM treats NULLs as equal values; BETWEEN and IN
//! are built from the same comparisons; LIKE with `%`, `_` and an optional ESCAPE character.
//! Both operands are already of one common type when these run.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{make_comparator, Array, ArrayRef, AsArray, BooleanArray};
use arrow::compute::kernels::cmp;
use arrow::compute::SortOptions;
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use regex::Regex;

use brook_sql::ast::BinaryOp;

fn nested(t: &DataType) -> bool {
    t.is_nested()
}

/// `a op b` where NULL on either side gives NULL (the raw result).
fn raw(op: BinaryOp, a: &ArrayRef, b: &ArrayRef) -> Result<BooleanArray> {
    if nested(a.data_type()) {
        let c = make_comparator(a.as_ref(), b.as_ref(), SortOptions::default())?;
        return Ok((0..a.len())
            .map(|i| {
                if a.is_null(i) || b.is_null(i) {
                    return None;
                }
                let o = c(i, i);
                Some(match op {
                    BinaryOp::Eq => o == Ordering::Equal,
                    BinaryOp::NotEq => o != Ordering::Equal,
                    BinaryOp::Lt => o == Ordering::Less,
                    BinaryOp::LtEq => o != Ordering::Greater,
                    BinaryOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                })
            })
            .collect());
    }
    Ok(match op {
        BinaryOp::Eq => cmp::eq(a, b)?,
        BinaryOp::NotEq => cmp::neq(a, b)?,
        BinaryOp::Lt => cmp::lt(a, b)?,
        BinaryOp::LtEq => cmp::lt_eq(a, b)?,
        BinaryOp::Gt => cmp::gt(a, b)?,
        BinaryOp::GtEq => cmp::gt_eq(a, b)?,
        _ => return exec_err!("{op:?} is not a comparison"),
    })
}

/// NULL → FALSE.
fn null_false(a: &BooleanArray) -> BooleanArray {
    if a.null_count() == 0 {
        return a.clone();
    }
    a.iter().map(|v| Some(v.unwrap_or(false))).collect()
}

/// `a op b`, FALSE when either side is NULL.
pub fn compare(op: BinaryOp, a: &ArrayRef, b: &ArrayRef) -> Result<ArrayRef> {
    Ok(Arc::new(null_false(&raw(op, a, b)?)))
}

/// `a IS [NOT] DISTINCT FROM b`.
pub fn distinct(a: &ArrayRef, b: &ArrayRef, negated: bool) -> Result<ArrayRef> {
    let eq = raw(BinaryOp::Eq, a, b)?;
    let r: BooleanArray = (0..a.len())
        .map(|i| {
            let same = match (a.is_null(i), b.is_null(i)) {
                (true, true) => true,
                (false, false) => eq.value(i),
                _ => false,
            };
            Some(same == negated)
        })
        .collect();
    Ok(Arc::new(r))
}

/// `x BETWEEN low AND high` (FALSE if any is NULL), negated afterwards when `negated`.
pub fn between(x: &ArrayRef, low: &ArrayRef, high: &ArrayRef, negated: bool) -> Result<ArrayRef> {
    let lo = null_false(&raw(BinaryOp::GtEq, x, low)?);
    let hi = null_false(&raw(BinaryOp::LtEq, x, high)?);
    let r: BooleanArray = (0..x.len())
        .map(|i| Some((lo.value(i) && hi.value(i)) != negated))
        .collect();
    Ok(Arc::new(r))
}

/// `x [NOT] IN (list...)`: TRUE when some item equals `x` (NULLs never match).
pub fn in_list(args: &[ArrayRef], negated: bool) -> Result<ArrayRef> {
    let x = &args[0];
    let mut hit = vec![false; x.len()];
    for item in &args[1..] {
        let eq = null_false(&raw(BinaryOp::Eq, x, item)?);
        for (h, e) in hit.iter_mut().zip(eq.values().iter()) {
            *h |= e;
        }
    }
    let r: BooleanArray = hit.into_iter().map(|h| Some(h != negated)).collect();
    Ok(Arc::new(r))
}

/// The regex a LIKE pattern means: `%` any run, `_` any one character, `escape` making the
/// next character literal.
pub fn like_regex(pattern: &str, escape: Option<char>) -> Result<Regex> {
    let mut re = String::from("(?s)^");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            match chars.next() {
                Some(n) => re.push_str(&regex::escape(&n.to_string())),
                None => re.push_str(&regex::escape(&c.to_string())),
            }
        } else if c == '%' {
            re.push_str(".*");
        } else if c == '_' {
            re.push('.');
        } else {
            re.push_str(&regex::escape(&c.to_string()));
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| datafusion::error::DataFusionError::Execution(e.to_string()))
}

/// `x [NOT] LIKE pattern [ESCAPE e]`; FALSE when either is NULL.
pub fn like(
    x: &ArrayRef,
    pattern: &ArrayRef,
    escape: Option<char>,
    negated: bool,
) -> Result<ArrayRef> {
    let (x, p) = (x.as_string::<i32>(), pattern.as_string::<i32>());
    let mut cache: Option<(String, Regex)> = None;
    let mut out = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        if x.is_null(i) || p.is_null(i) {
            out.push(Some(false));
            continue;
        }
        let pat = p.value(i);
        if cache.as_ref().is_none_or(|(s, _)| s != pat) {
            cache = Some((pat.to_string(), like_regex(pat, escape)?));
        }
        let re = &cache.as_ref().expect("just set").1;
        out.push(Some(re.is_match(x.value(i)) != negated));
    }
    Ok(Arc::new(out.into_iter().collect::<BooleanArray>()))
}
