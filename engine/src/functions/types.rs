//! Function signatures as ksqlDB declares them (parameter patterns with generics such as
//! `ARRAY<T>`), how a call's argument types are matched against them with ksqlDB's implicit
//! numeric widening (INT → BIGINT → DECIMAL → DOUBLE), and how Arrow types print as SQL.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};

use super::error::FunctionError;

/// The type of a parameter as a function declares it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ParamType {
    Boolean,
    Int,
    BigInt,
    Double,
    /// Any `DECIMAL(p, s)`; INT and BIGINT widen to `DECIMAL(10,0)` / `DECIMAL(19,0)`.
    Decimal,
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
    /// A type variable (`T`, `U`, `K`, `V`...): bound by the first argument that meets it,
    /// widened to the common numeric type when later arguments are wider.
    Generic(char),
    Array(Box<ParamType>),
    Map(Box<ParamType>, Box<ParamType>),
    /// Any STRUCT.
    Struct,
}

impl ParamType {
    pub fn array(t: ParamType) -> Self {
        ParamType::Array(Box::new(t))
    }
    pub fn map(k: ParamType, v: ParamType) -> Self {
        ParamType::Map(Box::new(k), Box::new(v))
    }
    pub const T: ParamType = ParamType::Generic('T');
    pub const U: ParamType = ParamType::Generic('U');
    pub const K: ParamType = ParamType::Generic('K');
    pub const V: ParamType = ParamType::Generic('V');

    /// The Arrow type of a concrete pattern under the given bindings (None for a generic not
    /// bound, or `Decimal`/`Struct` which name families of types).
    fn concrete(&self, b: &Bindings) -> Option<DataType> {
        Some(match self {
            ParamType::Boolean => DataType::Boolean,
            ParamType::Int => DataType::Int32,
            ParamType::BigInt => DataType::Int64,
            ParamType::Double => DataType::Float64,
            ParamType::String => DataType::Utf8,
            ParamType::Bytes => DataType::Binary,
            ParamType::Date => DataType::Date32,
            ParamType::Time => DataType::Time32(TimeUnit::Millisecond),
            ParamType::Timestamp => timestamp_type(),
            ParamType::Generic(c) => b.get(c).cloned()?,
            ParamType::Array(e) => list_of(e.concrete(b)?),
            ParamType::Map(k, v) => map_of(k.concrete(b)?, v.concrete(b)?),
            ParamType::Decimal | ParamType::Struct => return None,
        })
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamType::Boolean => f.write_str("BOOLEAN"),
            ParamType::Int => f.write_str("INT"),
            ParamType::BigInt => f.write_str("BIGINT"),
            ParamType::Double => f.write_str("DOUBLE"),
            ParamType::Decimal => f.write_str("DECIMAL"),
            ParamType::String => f.write_str("VARCHAR"),
            ParamType::Bytes => f.write_str("BYTES"),
            ParamType::Date => f.write_str("DATE"),
            ParamType::Time => f.write_str("TIME"),
            ParamType::Timestamp => f.write_str("TIMESTAMP"),
            ParamType::Generic(c) => write!(f, "{c}"),
            ParamType::Array(e) => write!(f, "ARRAY<{e}>"),
            ParamType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            ParamType::Struct => f.write_str("STRUCT"),
        }
    }
}

/// How an overload's return type follows from its (coerced) argument types.
#[derive(Clone)]
pub enum ReturnRule {
    /// A pattern resolved with the overload's generic bindings (`ARRAY<T>`, `VARCHAR`...).
    Fixed(ParamType),
    /// Computed from the coerced argument types (e.g. DECIMAL precision); the text is what
    /// `DESCRIBE FUNCTION` shows.
    Computed(
        fn(&[DataType]) -> Result<DataType, FunctionError>,
        &'static str,
    ),
    /// Computed from the coerced types of the arguments that are not NULL literals (as a
    /// ksqlDB schema provider sees them: a NULL literal has no type).
    ComputedFromTyped(
        fn(&[DataType]) -> Result<DataType, FunctionError>,
        &'static str,
    ),
}

impl fmt::Debug for ReturnRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReturnRule::Fixed(p) => write!(f, "{p}"),
            ReturnRule::Computed(_, d) | ReturnRule::ComputedFromTyped(_, d) => f.write_str(d),
        }
    }
}

impl fmt::Display for ReturnRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One signature of a function: named parameters, optionally a repeated last parameter
/// (`CONCAT(VARCHAR...)`), and a return rule.
#[derive(Clone, Debug)]
pub struct Overload {
    pub params: Vec<(&'static str, ParamType)>,
    /// The last parameter may repeat zero or more times.
    pub variadic: bool,
    pub ret: ReturnRule,
    /// Whether the function returns null for a null in any argument (documentation only).
    pub description: Option<&'static str>,
    /// The overload matches only when some argument is typed (not every one a NULL literal).
    pub needs_typed_arg: bool,
}

impl Overload {
    pub fn new(params: &[(&'static str, ParamType)], ret: ParamType) -> Self {
        Overload {
            params: params.to_vec(),
            variadic: false,
            ret: ReturnRule::Fixed(ret),
            description: None,
            needs_typed_arg: false,
        }
    }
    pub fn computed(
        params: &[(&'static str, ParamType)],
        f: fn(&[DataType]) -> Result<DataType, FunctionError>,
        text: &'static str,
    ) -> Self {
        Overload {
            params: params.to_vec(),
            variadic: false,
            ret: ReturnRule::Computed(f, text),
            description: None,
            needs_typed_arg: false,
        }
    }
    /// An overload whose result type is computed from its typed arguments
    /// ([`ReturnRule::ComputedFromTyped`]).
    pub fn computed_from_typed(
        params: &[(&'static str, ParamType)],
        f: fn(&[DataType]) -> Result<DataType, FunctionError>,
        text: &'static str,
    ) -> Self {
        Overload {
            ret: ReturnRule::ComputedFromTyped(f, text),
            ..Overload::computed(params, f, text)
        }
    }
    /// Makes the last parameter repeat (zero or more times).
    pub fn variadic(mut self) -> Self {
        self.variadic = true;
        self
    }
    /// Matches only calls with at least one argument that is not a NULL literal.
    pub fn needs_typed_arg(mut self) -> Self {
        self.needs_typed_arg = true;
        self
    }
    pub fn describe(mut self, text: &'static str) -> Self {
        self.description = Some(text);
        self
    }

    /// `NAME(p1 TYPE, p2 TYPE...)`, as `DESCRIBE FUNCTION` prints it.
    pub fn signature_text(&self, name: &str) -> String {
        let n = self.params.len();
        let ps: Vec<String> = self
            .params
            .iter()
            .enumerate()
            .map(|(i, (p, t))| {
                if self.variadic && i + 1 == n {
                    format!("{p} {t}...")
                } else {
                    format!("{p} {t}")
                }
            })
            .collect();
        format!("{name}({})", ps.join(", "))
    }

    /// Matches argument types; on success returns the cost (number of widening steps), the
    /// types the arguments must be cast to, and the return type.
    pub fn resolve(&self, args: &[DataType]) -> Option<(u32, Vec<DataType>, DataType)> {
        let n = self.params.len();
        let arity_ok = if self.variadic {
            args.len() + 1 >= n
        } else {
            args.len() == n
        };
        if !arity_ok || (self.needs_typed_arg && args.iter().all(|a| *a == DataType::Null)) {
            return None;
        }
        let param_of = |i: usize| -> &ParamType {
            if i < n {
                &self.params[i].1
            } else {
                &self.params[n - 1].1
            }
        };
        // Pass 1: bind generics to the common (widest) type of their arguments.
        let mut bindings = Bindings::new();
        for (i, a) in args.iter().enumerate() {
            if !bind(param_of(i), a, &mut bindings) {
                return None;
            }
        }
        // Pass 2: coerce each argument to its parameter under the final bindings.
        let mut cost = 0;
        let mut coerced = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            let (t, c) = coerce(param_of(i), a, &bindings)?;
            cost += c;
            coerced.push(t);
        }
        let ret = match &self.ret {
            ReturnRule::Fixed(p) => p.concrete(&bindings).or_else(|| match p {
                // An unbound generic (only nulls met it): the result is all nulls.
                ParamType::Generic(_) => Some(DataType::Null),
                ParamType::Array(_) => Some(list_of(DataType::Null)),
                // DECIMAL / STRUCT results take the type of the first such argument.
                ParamType::Decimal | ParamType::Struct => (0..args.len())
                    .find(|&i| param_of(i) == p)
                    .map(|i| coerced[i].clone()),
                _ => None,
            })?,
            ReturnRule::Computed(f, _) => f(&coerced).ok()?,
            ReturnRule::ComputedFromTyped(f, _) => {
                let typed: Vec<DataType> = coerced
                    .iter()
                    .zip(args)
                    .filter(|(_, a)| **a != DataType::Null)
                    .map(|(c, _)| c.clone())
                    .collect();
                f(&typed).ok()?
            }
        };
        Some((cost, coerced, ret))
    }
}

type Bindings = HashMap<char, DataType>;

fn bind(p: &ParamType, a: &DataType, b: &mut Bindings) -> bool {
    match (p, a) {
        (_, DataType::Null) => true,
        (ParamType::Generic(c), a) => match b.get(c) {
            None => {
                b.insert(*c, a.clone());
                true
            }
            Some(prev) => match unify(prev, a) {
                Some(u) => {
                    b.insert(*c, u);
                    true
                }
                None => false,
            },
        },
        (ParamType::Array(e), DataType::List(f) | DataType::LargeList(f)) => {
            bind(e, f.data_type(), b)
        }
        (ParamType::Map(k, v), DataType::Map(entries, _)) => match entries.data_type() {
            DataType::Struct(fs) if fs.len() == 2 => {
                bind(k, fs[0].data_type(), b) && bind(v, fs[1].data_type(), b)
            }
            _ => false,
        },
        _ => true,
    }
}

fn coerce(p: &ParamType, a: &DataType, b: &Bindings) -> Option<(DataType, u32)> {
    if a == &DataType::Null {
        let t = match p {
            ParamType::Decimal => DataType::Decimal128(10, 0),
            ParamType::Struct => DataType::Null,
            _ => p.concrete(b).unwrap_or(DataType::Null),
        };
        return Some((t, 0));
    }
    match p {
        ParamType::Decimal => match a {
            DataType::Decimal128(..) => Some((a.clone(), 0)),
            DataType::Int32 => Some((DataType::Decimal128(10, 0), 2)),
            DataType::Int64 => Some((DataType::Decimal128(19, 0), 1)),
            _ => None,
        },
        ParamType::Struct => matches!(a, DataType::Struct(_)).then(|| (a.clone(), 0)),
        ParamType::Array(e) => match a {
            DataType::List(f) | DataType::LargeList(f) => {
                let (t, c) = coerce(e, f.data_type(), b)?;
                Some((list_of(t), c))
            }
            _ => None,
        },
        ParamType::Map(k, v) => match a {
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(fs) if fs.len() == 2 => {
                    let (kt, kc) = coerce(k, fs[0].data_type(), b)?;
                    let (vt, vc) = coerce(v, fs[1].data_type(), b)?;
                    Some((map_of(kt, vt), kc + vc))
                }
                _ => None,
            },
            _ => None,
        },
        _ => {
            let target = p.concrete(b)?;
            if &target == a {
                return Some((target, 0));
            }
            let c = widening_cost(a, &target).or_else(|| string_cast_cost(a, &target))?;
            Some((target, c))
        }
    }
}

fn numeric_rank(t: &DataType) -> Option<u32> {
    match t {
        DataType::Int32 => Some(0),
        DataType::Int64 => Some(1),
        DataType::Decimal128(..) => Some(2),
        DataType::Float64 => Some(3),
        _ => None,
    }
}

/// Steps of implicit widening from `from` to `to` (INT → BIGINT → DECIMAL → DOUBLE), or None.
pub fn widening_cost(from: &DataType, to: &DataType) -> Option<u32> {
    if from == to {
        return Some(0);
    }
    if from == &DataType::Null {
        return Some(0);
    }
    if let (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) = (from, to) {
        // A decimal fits a wider decimal without loss.
        return ((*p1 as i16 - *s1 as i16) <= (*p2 as i16 - *s2 as i16) && s1 <= s2).then_some(1);
    }
    match (numeric_rank(from), numeric_rank(to)) {
        (Some(a), Some(b)) if a < b => Some(b - a),
        _ => None,
    }
}

/// ksqlDB also lets a STRING stand for a DATE, TIME or TIMESTAMP parameter (parsed, as by
/// `CAST`): `SqlBaseType.canImplicitlyCast`. Only for parameters of those concrete types,
/// and dearer than any widening, so that an overload taking the STRING itself wins.
fn string_cast_cost(from: &DataType, to: &DataType) -> Option<u32> {
    match (from, to) {
        (DataType::Utf8, DataType::Date32 | DataType::Time32(_) | DataType::Timestamp(..)) => {
            Some(10)
        }
        _ => None,
    }
}

/// The common type of two argument types under implicit widening (for generics and
/// variadic arguments), or None when neither widens to the other.
pub fn unify(a: &DataType, b: &DataType) -> Option<DataType> {
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (DataType::Null, x) | (x, DataType::Null) => Some(x.clone()),
        (DataType::List(fa), DataType::List(fb)) => {
            Some(list_of(unify(fa.data_type(), fb.data_type())?))
        }
        (DataType::Map(ea, _), DataType::Map(eb, _)) => {
            let (ka, va) = map_kv(ea.data_type())?;
            let (kb, vb) = map_kv(eb.data_type())?;
            Some(map_of(unify(&ka, &kb)?, unify(&va, &vb)?))
        }
        _ => {
            let ra = numeric_rank(a)?;
            let rb = numeric_rank(b)?;
            if ra == 2 || rb == 2 {
                if ra == 3 || rb == 3 {
                    return Some(DataType::Float64);
                }
                let (pa, sa) = decimal_of(a);
                let (pb, sb) = decimal_of(b);
                let s = sa.max(sb);
                let int_digits = (pa as i16 - sa as i16).max(pb as i16 - sb as i16);
                let p = (int_digits + s as i16).min(38) as u8;
                return Some(DataType::Decimal128(p, s));
            }
            Some(if ra >= rb { a.clone() } else { b.clone() })
        }
    }
}

/// Precision and scale of a decimal, or of the decimal an integer widens to.
pub fn decimal_of(t: &DataType) -> (u8, i8) {
    match t {
        DataType::Decimal128(p, s) => (*p, *s),
        DataType::Int32 => (10, 0),
        DataType::Int64 => (19, 0),
        _ => (38, 0),
    }
}

/// Key and value types of a map's entries struct.
pub fn map_kv(entries: &DataType) -> Option<(DataType, DataType)> {
    match entries {
        DataType::Struct(fs) if fs.len() == 2 => {
            Some((fs[0].data_type().clone(), fs[1].data_type().clone()))
        }
        _ => None,
    }
}

/// ksqlDB's TIMESTAMP: milliseconds since the epoch, no time zone.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

/// `ARRAY<T>`: a List whose (nullable) element field is named `item`.
pub fn list_of(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(t, true)))
}

/// The entries field of `MAP<K, V>`: struct `entries` of non-null `key` and nullable `value`.
pub fn map_entries_field(k: DataType, v: DataType) -> Arc<Field> {
    Arc::new(Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", k, false),
            Field::new("value", v, true),
        ])),
        false,
    ))
}

/// `MAP<K, V>` as Brook represents it.
pub fn map_of(k: DataType, v: DataType) -> DataType {
    DataType::Map(map_entries_field(k, v), false)
}

/// How ksqlDB prints an Arrow type (`VARCHAR`, `ARRAY<INT>`, `DECIMAL(4, 2)`...).
pub fn sql_type_name(t: &DataType) -> String {
    match t {
        DataType::Null => "NULL".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) => format!("DECIMAL({p}, {s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BYTES".into(),
        DataType::Date32 => "DATE".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Timestamp(..) => "TIMESTAMP".into(),
        DataType::List(f) | DataType::LargeList(f) => {
            format!("ARRAY<{}>", sql_type_name(f.data_type()))
        }
        DataType::Map(e, _) => match map_kv(e.data_type()) {
            Some((k, v)) => format!("MAP<{}, {}>", sql_type_name(&k), sql_type_name(&v)),
            None => "MAP".into(),
        },
        DataType::Struct(fs) => format!(
            "STRUCT<{}>",
            fs.iter()
                .map(|f| format!("`{}` {}", f.name(), sql_type_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other}"),
    }
}

/// Picks the cheapest matching overload (fewest widening steps; the first declared on ties).
pub fn resolve_overloads(
    name: &str,
    overloads: &[Overload],
    args: &[DataType],
) -> Result<(usize, Vec<DataType>, DataType), FunctionError> {
    let mut best: Option<(u32, usize, Vec<DataType>, DataType)> = None;
    for (i, o) in overloads.iter().enumerate() {
        if let Some((cost, coerced, ret)) = o.resolve(args) {
            if best.as_ref().is_none_or(|b| cost < b.0) {
                best = Some((cost, i, coerced, ret));
            }
        }
    }
    best.map(|(_, i, c, r)| (i, c, r))
        .ok_or_else(|| FunctionError::NoMatchingSignature {
            name: name.to_string(),
            args: args.to_vec(),
            expected: overloads.iter().map(|o| o.signature_text(name)).collect(),
        })
}

/// Resolves a call as ksqlDB's `UdfIndex` does, for functions whose overloads mirror the
/// Java methods one for one: the overloads that take the arguments without implicit casts
/// (NULL fits anything), or, if none does, those that take them with casts; among those,
/// the best by ksqlDB's order (fixed arity over variadic, more parameters, fewer type
/// variables) wins, and a tie is an error ("cannot be resolved due to ambiguous method
/// parameters").
pub fn resolve_overloads_as_ksql(
    name: &str,
    overloads: &[Overload],
    args: &[DataType],
) -> Result<(usize, Vec<DataType>, DataType), FunctionError> {
    let matches: Vec<(usize, u32, Vec<DataType>, DataType)> = overloads
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.resolve(args).map(|(cost, c, r)| (i, cost, c, r)))
        .collect();
    let exact: Vec<_> = matches.iter().filter(|m| m.1 == 0).cloned().collect();
    let mut candidates = if exact.is_empty() { matches } else { exact };
    let rank = |o: &Overload| {
        let generics = o
            .params
            .iter()
            .filter(|(_, p)| matches!(p, ParamType::Generic(_)))
            .count();
        (!o.variadic, o.params.len(), usize::MAX - generics)
    };
    candidates.sort_by_key(|m| std::cmp::Reverse(rank(&overloads[m.0])));
    match candidates.as_slice() {
        [] => Err(FunctionError::NoMatchingSignature {
            name: name.to_string(),
            args: args.to_vec(),
            expected: overloads.iter().map(|o| o.signature_text(name)).collect(),
        }),
        [first, second, ..] if rank(&overloads[first.0]) == rank(&overloads[second.0]) => {
            Err(FunctionError::Ambiguous {
                name: name.to_string(),
                args: args.to_vec(),
                expected: overloads.iter().map(|o| o.signature_text(name)).collect(),
            })
        }
        [first, ..] => Ok((first.0, first.2.clone(), first.3.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParamType as P;

    #[test]
    fn ksql_resolution_is_exact_first_and_rejects_ties() {
        let os: Vec<Overload> = [P::Int, P::BigInt, P::Double, P::Decimal]
            .into_iter()
            .map(|t| Overload::new(&[("v", t.clone()), ("vs", t.clone())], t).variadic())
            .collect();
        let (i, _, _) =
            resolve_overloads_as_ksql("G", &os, &[DataType::Int32, DataType::Null]).unwrap();
        assert_eq!(i, 0);
        let (i, _, _) =
            resolve_overloads_as_ksql("G", &os, &[DataType::Int64, DataType::Float64]).unwrap();
        assert_eq!(i, 2);
        assert!(matches!(
            resolve_overloads_as_ksql("G", &os, &[DataType::Int32, DataType::Int64]),
            Err(FunctionError::Ambiguous { .. })
        ));
        assert!(matches!(
            resolve_overloads_as_ksql("G", &os, &[DataType::Null, DataType::Null]),
            Err(FunctionError::Ambiguous { .. })
        ));
    }

    #[test]
    fn exact_match_beats_widening() {
        let os = vec![
            Overload::new(&[("x", P::Int)], P::Int),
            Overload::new(&[("x", P::BigInt)], P::BigInt),
            Overload::new(&[("x", P::Double)], P::Double),
        ];
        let (i, _, r) = resolve_overloads("ABS", &os, &[DataType::Int64]).unwrap();
        assert_eq!((i, r), (1, DataType::Int64));
        let (i, c, _) = resolve_overloads("ABS", &os, &[DataType::Int32]).unwrap();
        assert_eq!((i, c), (0, vec![DataType::Int32]));
    }

    #[test]
    fn int_widens_to_decimal_before_double() {
        let os = vec![
            Overload::new(&[("x", P::Double)], P::Double),
            Overload::new(&[("x", P::Decimal)], P::Decimal),
        ];
        let (i, c, _) = resolve_overloads("F", &os, &[DataType::Int64]).unwrap();
        assert_eq!(i, 1);
        assert_eq!(c, vec![DataType::Decimal128(19, 0)]);
        assert!(resolve_overloads("F", &os, &[DataType::Utf8]).is_err());
    }

    #[test]
    fn generics_take_the_widest_numeric() {
        let o = Overload::new(&[("a", P::array(P::T)), ("x", P::T)], P::Boolean);
        let (_, c, _) = o
            .resolve(&[list_of(DataType::Int32), DataType::Int64])
            .unwrap();
        assert_eq!(c, vec![list_of(DataType::Int64), DataType::Int64]);
        assert!(o
            .resolve(&[list_of(DataType::Int32), DataType::Utf8])
            .is_none());
        let v = Overload::new(&[("x", P::T)], P::T).variadic();
        let (_, c, r) = v
            .resolve(&[DataType::Int32, DataType::Null, DataType::Float64])
            .unwrap();
        assert_eq!(r, DataType::Float64);
        assert_eq!(c, vec![DataType::Float64; 3]);
    }

    #[test]
    fn signature_text_reads_like_ksqldb() {
        let o = Overload::new(&[("input", P::String)], P::String).variadic();
        assert_eq!(o.signature_text("CONCAT"), "CONCAT(input VARCHAR...)");
        assert_eq!(
            sql_type_name(&map_of(DataType::Utf8, list_of(DataType::Int32))),
            "MAP<VARCHAR, ARRAY<INTEGER>>"
        );
    }
}
