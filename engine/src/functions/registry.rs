//! The one place every built-in scalar function is registered: its DataFusion UDF and the
//! metadata `SHOW FUNCTIONS` and `DESCRIBE FUNCTION` print, both read from the same
//! [`FunctionDef`], so documentation cannot drift from code.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::logical_expr::{ScalarUDF, Volatility};

use super::error::FunctionError;
use super::lambda::LambdaFunction;
use super::udf::{Category, FunctionDef, KsqlScalarUdf};

/// One signature of a function as `DESCRIBE FUNCTION` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variation {
    /// `SUBSTRING(str VARCHAR, pos INT, length INT)`
    pub signature: String,
    /// The return type, or the rule that computes it (`DECIMAL(p - s + 1, 0)`).
    pub returns: String,
    pub description: Option<String>,
}

/// What `DESCRIBE FUNCTION` prints about a function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionInfo {
    pub name: String,
    pub aliases: Vec<String>,
    pub category: Category,
    pub description: String,
    pub variations: Vec<Variation>,
    /// RANDOM, UUID: a new value on every call.
    pub volatile: bool,
}

/// A call resolved against a function's signatures: the casts the caller should apply to the
/// arguments (ksqlDB's implicit widening) and the result type.
#[derive(Clone, Debug)]
pub struct ResolvedCall {
    pub udf: Arc<ScalarUDF>,
    pub arg_types: Vec<DataType>,
    pub return_type: DataType,
}

/// Every built-in scalar function, by name and alias (case-insensitive).
#[derive(Clone, Debug)]
pub struct FunctionRegistry {
    defs: BTreeMap<String, Arc<FunctionDef>>,
    udfs: HashMap<String, Arc<ScalarUDF>>,
    /// Upper-cased name or alias → canonical name.
    lookup: HashMap<String, String>,
    /// Whether expressions may call ksqlDB's test-harness functions
    /// ([`crate::catalog::test_functions`]); for conformance tests only.
    conformance_test_functions: bool,
    /// The session's `ksql.functions.*` properties (e.g. `ksql.functions.collect_list.limit`)
    /// that queries built with this registry give their functions.
    function_properties: BTreeMap<String, String>,
}

impl Default for FunctionRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl FunctionRegistry {
    /// All of Brook's built-in scalar functions.
    pub fn new() -> Self {
        let mut reg = FunctionRegistry {
            defs: BTreeMap::new(),
            udfs: HashMap::new(),
            lookup: HashMap::new(),
            conformance_test_functions: false,
            function_properties: BTreeMap::new(),
        };
        for def in super::all_functions() {
            reg.register(def);
        }
        reg
    }

    /// **For conformance tests only**: also let expressions call the UDFs of ksqlDB's
    /// functional-test harness ([`crate::catalog::test_functions`]).
    pub fn with_conformance_test_functions(mut self) -> Self {
        self.conformance_test_functions = true;
        self
    }

    /// Whether the test harness's functions may be called.
    /// This registry with the `ksql.functions.*` entries of `session` as its function
    /// properties (see [`Self::function_properties`]).
    pub fn with_session_properties(&self, session: &BTreeMap<String, String>) -> Self {
        let mut r = self.clone();
        r.function_properties = session
            .iter()
            .filter(|(k, _)| k.starts_with("ksql.functions."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        r
    }

    /// The `ksql.functions.*` session properties functions built from this registry follow.
    pub fn function_properties(&self) -> &BTreeMap<String, String> {
        &self.function_properties
    }

    pub fn conformance_test_functions(&self) -> bool {
        self.conformance_test_functions
    }

    /// Adds (or replaces) a function. Names and aliases are upper-cased.
    pub fn register(&mut self, def: FunctionDef) {
        let def = Arc::new(def);
        let name = def.name.to_ascii_uppercase();
        let udf = Arc::new(ScalarUDF::new_from_impl(KsqlScalarUdf::new(def.clone())));
        for alias in def.aliases {
            self.lookup.insert(alias.to_ascii_uppercase(), name.clone());
        }
        self.lookup.insert(name.clone(), name.clone());
        self.udfs.insert(name.clone(), udf);
        self.defs.insert(name, def);
    }

    fn def(&self, name: &str) -> Option<&Arc<FunctionDef>> {
        self.defs.get(self.lookup.get(&name.to_ascii_uppercase())?)
    }

    /// The UDF registered under `name` or one of its aliases, in any case.
    pub fn scalar(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        let canonical = self.lookup.get(&name.to_ascii_uppercase())?;
        self.udfs.get(canonical).cloned()
    }

    /// Whether `name` (or an alias) is a registered scalar function (lambda functions
    /// included).
    pub fn contains(&self, name: &str) -> bool {
        self.lookup.contains_key(&name.to_ascii_uppercase()) || self.lambda(name).is_some()
    }

    /// TRANSFORM, FILTER or REDUCE: functions taking lambdas, which the planner binds to
    /// compiled bodies (see [`LambdaFunction::bind`]) rather than calling `scalar`.
    pub fn lambda(&self, name: &str) -> Option<LambdaFunction> {
        LambdaFunction::from_name(name)
    }

    /// Canonical names and aliases, sorted (what `SHOW FUNCTIONS` lists).
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lookup.keys().cloned().collect();
        v.extend(LambdaFunction::ALL.iter().map(|l| l.name().to_string()));
        v.sort();
        v
    }

    /// `(name, category)` for every name and alias, sorted by name.
    pub fn list(&self) -> Vec<(String, Category)> {
        self.names()
            .into_iter()
            .map(|n| {
                let cat =
                    self.def(&n)
                        .map(|d| d.category)
                        .unwrap_or(if self.lambda(&n).is_some() {
                            Category::Lambda
                        } else {
                            Category::Other
                        });
                (n, cat)
            })
            .collect()
    }

    /// What `DESCRIBE FUNCTION name` shows, or None for an unknown name.
    pub fn describe(&self, name: &str) -> Option<FunctionInfo> {
        if let Some(l) = self.lambda(name) {
            return Some(FunctionInfo {
                name: l.name().to_string(),
                aliases: vec![],
                category: l.category(),
                description: l.description().to_string(),
                variations: l
                    .overloads()
                    .iter()
                    .map(|o| Variation {
                        signature: o.description.unwrap_or_default().to_string(),
                        returns: o.ret.to_string(),
                        description: None,
                    })
                    .collect(),
                volatile: false,
            });
        }
        let d = self.def(name)?;
        Some(FunctionInfo {
            name: d.name.to_string(),
            aliases: d.aliases.iter().map(|a| a.to_string()).collect(),
            category: d.category,
            description: d.description.to_string(),
            variations: d
                .overloads
                .iter()
                .map(|o| Variation {
                    signature: o.signature_text(d.name),
                    returns: o.ret.to_string(),
                    description: o.description.map(str::to_string),
                })
                .collect(),
            volatile: d.volatility == Volatility::Volatile,
        })
    }

    /// The result type of `name(args...)` under ksqlDB's implicit widening, without running
    /// anything: what a SQL analyzer needs to type-check a call.
    pub fn return_type(&self, name: &str, args: &[DataType]) -> Result<DataType, FunctionError> {
        Ok(self.resolve(name, args)?.return_type)
    }

    /// Resolves a call: the UDF, the types each argument should be cast to, the result type.
    pub fn resolve(&self, name: &str, args: &[DataType]) -> Result<ResolvedCall, FunctionError> {
        let d = self
            .def(name)
            .ok_or_else(|| FunctionError::Unknown(name.to_string()))?;
        let (_, arg_types, return_type) = d.resolve(args)?;
        Ok(ResolvedCall {
            udf: self.scalar(name).expect("every def has a udf"),
            arg_types,
            return_type,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::types::list_of;

    #[test]
    fn lookup_is_case_insensitive_and_knows_aliases() {
        let r = FunctionRegistry::new();
        assert!(r.scalar("ucase").is_some());
        assert_eq!(r.scalar("Substring").unwrap().name(), "SUBSTRING");
        assert!(r.scalar("NO_SUCH_FUNCTION").is_none());
        assert!(r.names().iter().any(|n| n == "ABS"));
        assert!(matches!(
            r.return_type("nope", &[]),
            Err(FunctionError::Unknown(_))
        ));
    }

    #[test]
    fn return_types_follow_ksqldb_widening() {
        let r = FunctionRegistry::new();
        assert_eq!(
            r.return_type("ABS", &[DataType::Int32]).unwrap(),
            DataType::Int32
        );
        assert_eq!(
            r.return_type("SQRT", &[DataType::Int32]).unwrap(),
            DataType::Float64
        );
        assert_eq!(
            r.return_type("ROUND", &[DataType::Float64]).unwrap(),
            DataType::Int64
        );
        assert_eq!(
            r.return_type("ARRAY_MAX", &[list_of(DataType::Utf8)])
                .unwrap(),
            DataType::Utf8
        );
        let e = r
            .return_type("LEN", &[DataType::Boolean])
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not accept parameters (BOOLEAN)"), "{e}");
        assert!(e.contains("LEN(input VARCHAR)"), "{e}");
    }

    #[test]
    fn every_function_is_documented() {
        let r = FunctionRegistry::new();
        for n in r.names() {
            let info = r.describe(&n).unwrap();
            assert!(!info.description.is_empty(), "{n}");
            assert!(!info.variations.is_empty(), "{n}");
            assert_eq!(info.name, info.name.to_ascii_uppercase(), "{n}");
        }
    }
}
