//! The functions ksqlDB's functional-test harness registers from its own *test* sources
//! (`ksqldb-engine/src/test/java/io/confluent/ksql/function/...`, plus the `tostruct` UDF of
//! its `udf-example.jar`), not from ksqlDB's function library. The query-validation files
//! call them (`TEST_UDF`, `TEST_UDTF`, `TEST_UDAF`, `BAD_UDF`, `VAR_ARG`...), so the
//! conformance test needs their signatures to analyze those statements and their behaviour
//! to run them.
//!
//! **For conformance tests only.** These are not Brook functions: they are only visible
//! through [`super::EngineFunctions::with_conformance_test_functions`] (and a registry made
//! by [`crate::functions::FunctionRegistry::with_conformance_test_functions`], which the
//! expression compiler and the query pipeline consult). Their kernels transcribe the Java
//! methods: [`scalar`] (UDFs), [`udtf`] (table functions), [`udaf`] (aggregates). The
//! signatures below transcribe the Java declarations:
//!
//! | function | Java class | signatures |
//! |---|---|---|
//! | `TEST_UDF` | `udf.TestUdf` | `(INT, STRING)`, `(BIGINT, STRING)`, `(BIGINT, BIGINT, STRING)`, `(BIGINT...)` → STRING; `(STRUCT<A STRING>)` → STRING; `()` → STRUCT<A STRING> |
//! | `BAD_UDF` | `udf.BadUdf` | `(INT)` → STRING; `(BOOLEAN)` → INT; `(STRING)` → STRING |
//! | `TOSTRUCT` | `ToStruct` (udf-example.jar) | `(STRING)` → STRUCT<A STRING> |
//! | `TEST_UDTF` | `udf.TestUdtf` | see [`test_udtf`] |
//! | `THROWING_UDTF` | `udf.ThrowingUdtf` | `(BOOLEAN)` → BOOLEAN |
//! | `TEST_UDAF` | `udaf.TestUdaf` | `(BIGINT)` → BIGINT; `(INT)` → BIGINT; `(DOUBLE)` → DOUBLE; `(STRING, init STRING)` → BIGINT; `(STRUCT<A INT, B INT>)` → the same struct |
//! | `VAR_ARG` | `udaf.VarArgUdaf` | `(BIGINT, STRING...)` → BIGINT |
//! | `MID_VAR_ARG` | `udaf.MiddleVarArgUdaf` | `(BIGINT, STRING..., init INT, init INT)` → BIGINT |
//! | `MULTI_ARG` | `udaf.MultiArgUdaf` | `(BIGINT, STRING, init INT, init STRING...)` → BIGINT |
//! | `FOUR_ARG` | `udaf.FourArgUdaf` | `(BIGINT, STRING, STRING, STRING, init INT, init STRING...)` → BIGINT |
//! | `FIVE_ARG` | `udaf.FiveArgUdaf` | `(BIGINT, STRING, STRING, STRING, INT, init INT, init STRING...)` → BIGINT |
//! | `OBJ_COL_ARG` | `udaf.ObjVarColArgUdaf` | `(INT, ANY...)` → ARRAY<INT> |
//! | `GENERIC_VAR_ARG` | `udaf.GenericVarArgUdaf` | `(A, B, C...)` → ARRAY<A> |
//!
//! (`TestUdf` also declares `(STRING)` with a schema provider that calls `System.exit`,
//! which ksqlDB's tests use to check it is never invoked; it is left out.)
//!
//! Arguments match a parameter when they have its type, are a `NULL` literal, or widen to it
//! (INT → BIGINT → DECIMAL → DOUBLE); exact matches are preferred, as in ksqlDB's `UdfIndex`.

pub mod scalar;
pub mod udaf;
pub mod udtf;

use brook_sql::analyzer::FunctionKind;
use brook_sql::SqlType;

/// One parameter of a test function's signature.
#[derive(Clone, Debug)]
enum P {
    /// Exactly this type (or one that widens to it).
    T(SqlType),
    /// Any DECIMAL.
    Decimal,
    /// A type variable: the generic `A`/`B`/`C` of Java's signature (index 0 is `A`); every
    /// argument bound to it must have one type.
    Generic(usize),
    /// Java's `Object`: any type, each argument its own.
    Any,
}

/// How a signature's result type is found.
#[derive(Clone, Debug)]
enum R {
    T(SqlType),
    /// `ARRAY<A>` of the generic parameter's bound type.
    ArrayOfGeneric(usize),
    /// The argument's own type (`TEST_UDAF` over a struct).
    SameAsArg(usize),
}

#[derive(Clone, Debug)]
struct Sig {
    params: Vec<P>,
    /// Index of the variadic parameter (zero or more arguments), if any.
    variadic: Option<usize>,
    ret: R,
}

fn sig(params: Vec<P>, variadic: Option<usize>, ret: R) -> Sig {
    Sig {
        params,
        variadic,
        ret,
    }
}

fn t(ty: SqlType) -> P {
    P::T(ty)
}

fn struct_a_string() -> SqlType {
    SqlType::Struct(vec![("A".into(), SqlType::String)])
}

/// The names, kinds and signatures of the harness's test functions.
pub const NAMES: &[(&str, FunctionKind)] = &[
    ("TEST_UDF", FunctionKind::Scalar),
    ("BAD_UDF", FunctionKind::Scalar),
    ("TOSTRUCT", FunctionKind::Scalar),
    ("TEST_UDTF", FunctionKind::Table),
    ("THROWING_UDTF", FunctionKind::Table),
    ("TEST_UDAF", FunctionKind::Aggregate),
    ("VAR_ARG", FunctionKind::Aggregate),
    ("MID_VAR_ARG", FunctionKind::Aggregate),
    ("MULTI_ARG", FunctionKind::Aggregate),
    ("FOUR_ARG", FunctionKind::Aggregate),
    ("FIVE_ARG", FunctionKind::Aggregate),
    ("OBJ_COL_ARG", FunctionKind::Aggregate),
    ("GENERIC_VAR_ARG", FunctionKind::Aggregate),
];

/// The name as the Java class declares it, which ksqlDB's messages quote: the variadic
/// test UDAFs are declared in upper case (`@UdafDescription(name = "VAR_ARG")`), the rest
/// in lower case (`@UdfDescription(name = "test_udf")`).
fn declared_name(name: &str) -> String {
    match name {
        "VAR_ARG" | "MID_VAR_ARG" | "MULTI_ARG" | "FOUR_ARG" | "FIVE_ARG" | "OBJ_COL_ARG"
        | "GENERIC_VAR_ARG" => name.to_string(),
        _ => name.to_lowercase(),
    }
}

/// The kind of test function `name` (upper case), if it is one.
pub fn kind(name: &str) -> Option<FunctionKind> {
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// For the test aggregates whose trailing arguments are initialisation literals (Java's
/// `@UdafFactory` parameters): how many leading arguments are per-row columns. `MID_VAR_ARG`
/// takes its literals after variadic columns, which a count cannot say: not checked.
pub fn column_args(name: &str) -> Option<usize> {
    match name {
        "MULTI_ARG" => Some(2),
        "FOUR_ARG" => Some(4),
        "FIVE_ARG" => Some(5),
        _ => None,
    }
}

/// `TEST_UDTF`'s overloads (`udf.TestUdtf`): seven scalar, array or map parameters of INT,
/// BIGINT, DOUBLE, BOOLEAN, STRING, DECIMAL and STRUCT<A STRING> → STRING; and one-argument
/// overloads returning their argument's type (DECIMAL → DECIMAL(30, 10) by its schema
/// provider; INT → INT, the first of its two INT overloads).
fn test_udtf() -> Vec<Sig> {
    use SqlType as T;
    let elems = |wrap: &dyn Fn(T) -> T| -> Vec<P> {
        let mut v: Vec<P> = [T::Int, T::BigInt, T::Double, T::Boolean, T::String]
            .into_iter()
            .map(|x| P::T(wrap(x)))
            .collect();
        v.push(match wrap(T::decimal(1, 0)) {
            T::Decimal { .. } => P::Decimal,
            other => P::T(other),
        });
        v.push(P::T(wrap(struct_a_string())));
        v
    };
    let mut out = vec![
        sig(elems(&|x| x), None, R::T(T::String)),
        sig(elems(&T::array), None, R::T(T::String)),
        sig(elems(&|x| T::map(T::String, x)), None, R::T(T::String)),
    ];
    let mut map2 = elems(&|x| T::map(T::String, x));
    map2[0] = t(T::map(T::BigInt, T::Int));
    out.push(sig(map2, None, R::T(T::String)));
    for x in [T::Int, T::BigInt, T::Double, T::Boolean, T::String] {
        out.push(sig(vec![t(x.clone())], None, R::T(x)));
    }
    out.push(sig(vec![P::Decimal], None, R::T(T::decimal(30, 10))));
    out.push(sig(
        vec![t(struct_a_string())],
        None,
        R::T(struct_a_string()),
    ));
    out
}

fn signatures(name: &str) -> Vec<Sig> {
    use SqlType as T;
    let s = || t(T::String);
    let b = || t(T::BigInt);
    let i = || t(T::Int);
    match name {
        "TEST_UDF" => vec![
            sig(vec![i(), s()], None, R::T(T::String)),
            sig(vec![b(), s()], None, R::T(T::String)),
            sig(vec![b(), b(), s()], None, R::T(T::String)),
            sig(vec![b()], Some(0), R::T(T::String)),
            sig(vec![t(struct_a_string())], None, R::T(T::String)),
            sig(vec![], None, R::T(struct_a_string())),
        ],
        "BAD_UDF" => vec![
            sig(vec![i()], None, R::T(T::String)),
            sig(vec![t(T::Boolean)], None, R::T(T::Int)),
            sig(vec![s()], None, R::T(T::String)),
        ],
        "TOSTRUCT" => vec![sig(vec![s()], None, R::T(struct_a_string()))],
        "TEST_UDTF" => test_udtf(),
        "THROWING_UDTF" => vec![sig(vec![t(T::Boolean)], None, R::T(T::Boolean))],
        "TEST_UDAF" => {
            let ab = T::Struct(vec![("A".into(), T::Int), ("B".into(), T::Int)]);
            vec![
                sig(vec![b()], None, R::T(T::BigInt)),
                sig(vec![i()], None, R::T(T::BigInt)),
                sig(vec![t(T::Double)], None, R::T(T::Double)),
                sig(vec![s(), s()], None, R::T(T::BigInt)),
                sig(vec![t(ab)], None, R::SameAsArg(0)),
            ]
        }
        "VAR_ARG" => vec![sig(vec![b(), s()], Some(1), R::T(T::BigInt))],
        "MID_VAR_ARG" => vec![sig(vec![b(), s(), i(), i()], Some(1), R::T(T::BigInt))],
        "MULTI_ARG" => vec![sig(vec![b(), s(), i(), s()], Some(3), R::T(T::BigInt))],
        "FOUR_ARG" => vec![sig(
            vec![b(), s(), s(), s(), i(), s()],
            Some(5),
            R::T(T::BigInt),
        )],
        "FIVE_ARG" => vec![sig(
            vec![b(), s(), s(), s(), i(), i(), s()],
            Some(6),
            R::T(T::BigInt),
        )],
        "OBJ_COL_ARG" => vec![sig(vec![i(), P::Any], Some(1), R::ArrayOfGeneric(0))],
        "GENERIC_VAR_ARG" => vec![sig(
            vec![P::Generic(0), P::Generic(1), P::Generic(2)],
            Some(2),
            R::ArrayOfGeneric(0),
        )],
        _ => Vec::new(),
    }
}

/// The parameter each argument binds to, if `args.len()` fits the signature.
fn expand(sig: &Sig, n: usize) -> Option<Vec<&P>> {
    match sig.variadic {
        None => (sig.params.len() == n).then(|| sig.params.iter().collect()),
        Some(v) => {
            let fixed = sig.params.len() - 1;
            if n < fixed {
                return None;
            }
            let mut out: Vec<&P> = sig.params[..v].iter().collect();
            out.extend(std::iter::repeat_n(&sig.params[v], n - fixed));
            out.extend(sig.params[v + 1..].iter());
            Some(out)
        }
    }
}

/// Whether `arg` fits `p`, exactly (`exact`) or with implicit widening. Generic
/// parameters record their binding (the first argument bound to them) in `bound`.
fn fits(p: &P, arg: &SqlType, exact: bool, bound: &mut [Option<SqlType>; 3]) -> bool {
    match p {
        P::Any => true,
        P::Generic(g) => {
            // Every argument bound to one type variable must have its type (up to widening).
            match &bound[*g] {
                _ if *arg == SqlType::Null => true,
                None => {
                    bound[*g] = Some(arg.clone());
                    true
                }
                Some(b) if exact => b == arg,
                Some(b) => arg.can_widen_to(b) || b.can_widen_to(arg),
            }
        }
        P::Decimal => {
            matches!(arg, SqlType::Decimal { .. } | SqlType::Null) || (!exact && arg.is_integer())
        }
        P::T(ty) => {
            if exact {
                arg == ty || *arg == SqlType::Null
            } else {
                arg.can_widen_to(ty)
            }
        }
    }
}

/// A call resolved against a test function's signatures.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// The overload that matched, in the Java class's declaration order.
    pub overload: usize,
    /// Per argument: the type it is passed as when the parameter has one (an INT argument
    /// to a `long` parameter is widened), `None` for generic and `Object` parameters.
    pub params: Vec<Option<SqlType>>,
    pub ret: SqlType,
}

/// The result type of test function `name` (upper case) over these argument types.
pub fn return_type(name: &str, args: &[SqlType]) -> Result<SqlType, String> {
    resolve(name, args).map(|r| r.ret)
}

fn contains_decimal(t: &SqlType) -> bool {
    match t {
        SqlType::Decimal { .. } => true,
        SqlType::Array(e) => contains_decimal(e),
        SqlType::Map(k, v) => contains_decimal(k) || contains_decimal(v),
        SqlType::Struct(fs) => fs.iter().any(|(_, t)| contains_decimal(t)),
        _ => false,
    }
}

/// Resolves a call of test function `name` (upper case): exact matches first, then with
/// implicit widening; fixed-arity overloads before variadic ones.
pub fn resolve(name: &str, args: &[SqlType]) -> Result<Resolved, String> {
    let mut sigs: Vec<(usize, Sig)> = signatures(name).into_iter().enumerate().collect();
    // Fixed-arity overloads before variadic ones (`TEST_UDF()` is the struct one).
    sigs.sort_by_key(|(_, s)| s.variadic.is_some());
    for exact in [true, false] {
        for (index, s) in &sigs {
            let Some(params) = expand(s, args.len()) else {
                continue;
            };
            let mut bound: [Option<SqlType>; 3] = [None, None, None];
            if params
                .iter()
                .zip(args)
                .all(|(p, a)| fits(p, a, exact, &mut bound))
            {
                let ret = match &s.ret {
                    R::T(ty) => ty.clone(),
                    R::SameAsArg(i) => args[*i].clone(),
                    R::ArrayOfGeneric(g) => {
                        let elem = match &s.params[*g] {
                            P::T(ty) => ty.clone(),
                            _ => bound[*g].clone().unwrap_or(SqlType::Null),
                        };
                        SqlType::array(elem)
                    }
                };
                let params = params
                    .iter()
                    .zip(args)
                    .map(|(p, a)| match p {
                        // Java's `BigDecimal` takes any precision: a container of decimals
                        // is passed as it is.
                        P::T(ty) if contains_decimal(ty) && contains_decimal(a) => Some(a.clone()),
                        P::T(ty) => Some(ty.clone()),
                        P::Decimal => a
                            .as_decimal()
                            .map(|(p, s)| SqlType::decimal(p, s))
                            .or_else(|| Some(a.clone())),
                        P::Generic(_) | P::Any => None,
                    })
                    .collect();
                return Ok(Resolved {
                    overload: *index,
                    params,
                    ret,
                });
            }
        }
    }
    Err(format!(
        "Function '{}' does not accept parameters ({}).",
        declared_name(name),
        args.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use SqlType as T;

    #[test]
    fn test_udf_overloads() {
        assert_eq!(
            return_type("TEST_UDF", &[T::Int, T::String]).unwrap(),
            T::String
        );
        assert_eq!(
            return_type("TEST_UDF", &vec![T::BigInt; 5]).unwrap(),
            T::String
        );
        assert_eq!(return_type("TEST_UDF", &[]).unwrap(), struct_a_string());
        assert!(return_type("TEST_UDF", &[T::Boolean]).is_err());
    }

    #[test]
    fn variadic_and_generic_udafs() {
        assert_eq!(
            return_type(
                "MID_VAR_ARG",
                &[T::BigInt, T::String, T::String, T::Int, T::Int]
            )
            .unwrap(),
            T::BigInt
        );
        assert_eq!(
            return_type("MID_VAR_ARG", &[T::BigInt, T::Int, T::Int]).unwrap(),
            T::BigInt
        );
        assert_eq!(
            return_type("GENERIC_VAR_ARG", &[T::Double, T::String]).unwrap(),
            T::array(T::Double)
        );
        assert!(
            return_type("GENERIC_VAR_ARG", &[T::Int, T::Int, T::Double, T::String])
                .unwrap_err()
                .starts_with("Function 'GENERIC_VAR_ARG' does not accept parameters")
        );
        assert_eq!(
            return_type(
                "OBJ_COL_ARG",
                &[T::Int, T::Boolean, T::map(T::String, T::Int)]
            )
            .unwrap(),
            T::array(T::Int)
        );
        assert_eq!(
            return_type("TEST_UDTF", &[T::decimal(4, 2)]).unwrap(),
            T::decimal(30, 10)
        );
    }
}
