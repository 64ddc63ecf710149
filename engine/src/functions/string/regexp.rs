//! Regular-expression functions: REGEXP_EXTRACT, REGEXP_EXTRACT_ALL, REGEXP_REPLACE and
//! REGEXP_SPLIT_TO_ARRAY. Patterns use Java syntax (as ksqlDB) run by Rust's `regex`: the
//! common syntax agrees; look-around and back-references are not supported and make the
//! call fail. An invalid pattern is an evaluation error.

use std::sync::Arc;

use arrow::array::{ArrayRef, ListBuilder, StringBuilder};

use crate::functions::kernels::{any_null, i32s, map_to_string, strs, RegexCache};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `REGEXP_EXTRACT(regex, str [, group])`: the first match of `regex` in `str` (or its
/// capturing group `group`, 0 being the whole match). NULL when nothing matches, the group
/// does not exist or did not participate, or any argument is NULL.
pub fn regexp_extract() -> FunctionDef {
    FunctionDef::new(
        "REGEXP_EXTRACT",
        Category::String,
        "Returns the first substring of str that matches regex, or the given capturing group \
         of that match; NULL if there is no match.",
        vec![
            Overload::new(&[("regex", P::String), ("str", P::String)], P::String),
            Overload::new(
                &[("regex", P::String), ("str", P::String), ("group", P::Int)],
                P::String,
            ),
        ],
        |c: &Call| {
            let (re, s) = (strs(&c.args[0]), strs(&c.args[1]));
            let group = c.args.get(2).map(i32s);
            let mut cache = RegexCache::default();
            map_to_string(c.rows, |i| {
                if any_null(c.args, i) {
                    return Ok(None);
                }
                let g = group.map_or(0, |g| g.value(i));
                if g < 0 {
                    return Ok(None);
                }
                let r = cache.get(re.value(i))?;
                Ok(r.captures(s.value(i))
                    .and_then(|caps| caps.get(g as usize))
                    .map(|m| m.as_str().to_string()))
            })
        },
    )
}

/// `REGEXP_EXTRACT_ALL(regex, str [, group])`: every match (or capturing group `group` of
/// every match) as an ARRAY<STRING>; an empty array when nothing matches; NULL when any
/// argument is NULL. A group that did not participate in a match gives a NULL element.
pub fn regexp_extract_all() -> FunctionDef {
    FunctionDef::new(
        "REGEXP_EXTRACT_ALL",
        Category::String,
        "Returns an array of all substrings of str that match regex, or of the given \
         capturing group of each match.",
        vec![
            Overload::new(
                &[("regex", P::String), ("str", P::String)],
                P::array(P::String),
            ),
            Overload::new(
                &[("regex", P::String), ("str", P::String), ("group", P::Int)],
                P::array(P::String),
            ),
        ],
        |c: &Call| {
            let (re, s) = (strs(&c.args[0]), strs(&c.args[1]));
            let group = c.args.get(2).map(i32s);
            let mut cache = RegexCache::default();
            let mut b = ListBuilder::new(StringBuilder::new());
            for i in 0..c.rows {
                let g = group.map_or(0, |g| g.value(i));
                if any_null(c.args, i) || g < 0 {
                    b.append_null();
                    continue;
                }
                let r = cache.get(re.value(i))?;
                for caps in r.captures_iter(s.value(i)) {
                    b.values()
                        .append_option(caps.get(g as usize).map(|m| m.as_str()));
                }
                b.append(true);
            }
            Ok(Arc::new(b.finish()) as ArrayRef)
        },
    )
}

/// `REGEXP_REPLACE(str, regex, replacement)`: every match of `regex` replaced, Java
/// `replaceAll` style (`$1` refers to a group, `\$` is a literal dollar). NULL when any
/// argument is NULL.
pub fn regexp_replace() -> FunctionDef {
    FunctionDef::new(
        "REGEXP_REPLACE",
        Category::String,
        "Returns str with every substring that matches regex replaced by replacement.",
        vec![Overload::new(
            &[
                ("str", P::String),
                ("regex", P::String),
                ("replacement", P::String),
            ],
            P::String,
        )],
        |c: &Call| {
            let (s, re, rep) = (strs(&c.args[0]), strs(&c.args[1]), strs(&c.args[2]));
            let mut cache = RegexCache::default();
            let mut last_rep: Option<(String, String)> = None;
            map_to_string(c.rows, |i| {
                if any_null(c.args, i) {
                    return Ok(None);
                }
                let java = rep.value(i);
                if last_rep.as_ref().is_none_or(|(j, _)| j != java) {
                    last_rep = Some((java.to_string(), java_replacement(java)));
                }
                let rust_rep = &last_rep.as_ref().expect("set").1;
                let r = cache.get(re.value(i))?;
                Ok(Some(
                    r.replace_all(s.value(i), rust_rep.as_str()).into_owned(),
                ))
            })
        },
    )
}

/// `REGEXP_SPLIT_TO_ARRAY(str, regex)`: `str` split around matches of `regex`, keeping
/// empty strings for leading, trailing and adjacent delimiters (Java's `split(str, -1)`).
/// NULL when either argument is NULL.
pub fn regexp_split_to_array() -> FunctionDef {
    FunctionDef::new(
        "REGEXP_SPLIT_TO_ARRAY",
        Category::String,
        "Splits str into an array of substrings around matches of regex; empty strings are \
         kept for leading, trailing and consecutive delimiters.",
        vec![Overload::new(
            &[("str", P::String), ("regex", P::String)],
            P::array(P::String),
        )],
        |c: &Call| {
            let (s, re) = (strs(&c.args[0]), strs(&c.args[1]));
            let mut cache = RegexCache::default();
            let mut b = ListBuilder::new(StringBuilder::new());
            for i in 0..c.rows {
                if any_null(c.args, i) {
                    b.append_null();
                    continue;
                }
                let r = cache.get(re.value(i))?;
                let input = s.value(i);
                let mut last = 0;
                for m in r.find_iter(input) {
                    if m.end() == 0 {
                        continue; // a zero-width match at the start splits nothing off
                    }
                    b.values().append_value(&input[last..m.start()]);
                    last = m.end();
                }
                b.values().append_value(&input[last..]);
                b.append(true);
            }
            Ok(Arc::new(b.finish()) as ArrayRef)
        },
    )
}

/// Java replacement syntax (`$1`, `${name}`, `\x` escapes) in Rust's (`${1}`, `$$`).
fn java_replacement(java: &str) -> String {
    let mut out = String::with_capacity(java.len() + 4);
    let mut it = java.chars().peekable();
    while let Some(ch) = it.next() {
        match ch {
            '\\' => match it.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                if it.peek() == Some(&'{') {
                    out.push('$');
                } else {
                    let mut digits = String::new();
                    while let Some(d) = it.peek().filter(|d| d.is_ascii_digit()) {
                        digits.push(*d);
                        it.next();
                    }
                    if digits.is_empty() {
                        out.push_str("$$");
                    } else {
                        out.push_str(&format!("${{{digits}}}"));
                    }
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn java_replacement_syntax() {
        assert_eq!(super::java_replacement("$1a"), "${1}a");
        assert_eq!(super::java_replacement("\\$x"), "$$x");
        assert_eq!(super::java_replacement("cat"), "cat");
    }
}
