//! The bridge between a ksqlDB function definition and DataFusion: a [`FunctionDef`] (name,
//! documentation, overloads, kernel) and [`KsqlScalarUdf`], the one `ScalarUDFImpl` that runs
//! every definition.
//!
//! Invariants kept here so kernels need not: the call is resolved against the overloads
//! (ksqlDB widening), every argument reaches the kernel as an array already cast to its
//! parameter's type and of the same length, and an all-constant call of a non-volatile
//! function is evaluated once and returned as a scalar.
//!
//! ```
//! use brook_engine::functions::FunctionRegistry;
//! use arrow::datatypes::DataType;
//! let reg = FunctionRegistry::new();
//! let ucase = reg.scalar("ucase").unwrap();
//! assert_eq!(ucase.name(), "UCASE");
//! assert_eq!(reg.return_type("LEN", &[DataType::Utf8]).unwrap(), DataType::Int32);
//! ```

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::compute::{can_cast_types, cast};
use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::types::{resolve_overloads, resolve_overloads_as_ksql, Overload};

/// The family a function is listed under by `SHOW FUNCTIONS` / `DESCRIBE FUNCTION`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    String,
    Numeric,
    DateTime,
    Json,
    Array,
    Map,
    Lambda,
    Conversion,
    Nulls,
    Url,
    Other,
    /// Aggregate functions (`DESCRIBE FUNCTION` of COUNT, SUM...).
    Aggregate,
    /// Table functions (EXPLODE, CUBE_EXPLODE).
    Table,
}

impl Category {
    /// The category name ksqlDB prints.
    pub fn as_str(&self) -> &'static str {
        match self {
            Category::String => "STRING",
            Category::Numeric => "MATHEMATICAL",
            Category::DateTime => "DATE / TIME",
            Category::Json => "JSON",
            Category::Array => "ARRAY",
            Category::Map => "MAP",
            Category::Lambda => "LAMBDA",
            Category::Conversion => "CONVERSIONS",
            Category::Nulls => "NULLS",
            Category::Url => "URL",
            Category::Other => "OTHER",
            Category::Aggregate => "AGGREGATE",
            Category::Table => "TABLE",
        }
    }
}

/// The arguments a kernel sees: arrays of `rows` values, already cast to the resolved
/// overload's parameter types, and the return type it must produce.
pub struct Call<'a> {
    pub args: &'a [ArrayRef],
    pub rows: usize,
    pub return_type: &'a DataType,
    /// Index of the overload that matched, in declaration order.
    pub overload: usize,
}

/// Computes a function over a batch.
pub type Kernel = fn(&Call) -> Result<ArrayRef>;

/// A ksqlDB scalar function: everything the registry documents and the kernel that runs it.
#[derive(Clone, Debug)]
pub struct FunctionDef {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub category: Category,
    pub description: &'static str,
    pub overloads: Vec<Overload>,
    pub volatility: Volatility,
    pub kernel: Kernel,
    /// Resolve calls as ksqlDB's `UdfIndex` does ([`resolve_overloads_as_ksql`]): for
    /// functions whose overloads are ksqlDB's Java methods one for one.
    pub ksql_resolution: bool,
}

impl FunctionDef {
    pub fn new(
        name: &'static str,
        category: Category,
        description: &'static str,
        overloads: Vec<Overload>,
        kernel: Kernel,
    ) -> Self {
        FunctionDef {
            name,
            aliases: &[],
            category,
            description,
            overloads,
            volatility: Volatility::Immutable,
            kernel,
            ksql_resolution: false,
        }
    }
    /// See [`FunctionDef::ksql_resolution`].
    pub fn resolved_as_ksql(mut self) -> Self {
        self.ksql_resolution = true;
        self
    }
    /// The overload a call resolves to: its index, the argument types to cast to, the
    /// result type.
    pub fn resolve(
        &self,
        args: &[DataType],
    ) -> std::result::Result<(usize, Vec<DataType>, DataType), super::FunctionError> {
        if self.ksql_resolution {
            resolve_overloads_as_ksql(self.name, &self.overloads, args)
        } else {
            resolve_overloads(self.name, &self.overloads, args)
        }
    }
    pub fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
    pub fn volatile(mut self) -> Self {
        self.volatility = Volatility::Volatile;
        self
    }
}

/// Runs a [`FunctionDef`] as a DataFusion scalar UDF. Equality and hashing go by name.
pub struct KsqlScalarUdf {
    def: Arc<FunctionDef>,
    signature: Signature,
    aliases: Vec<String>,
}

impl KsqlScalarUdf {
    pub fn new(def: Arc<FunctionDef>) -> Self {
        let signature = Signature::user_defined(def.volatility);
        let aliases = def.aliases.iter().map(|a| a.to_string()).collect();
        KsqlScalarUdf {
            def,
            signature,
            aliases,
        }
    }
    pub fn def(&self) -> &FunctionDef {
        &self.def
    }
}

impl fmt::Debug for KsqlScalarUdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KsqlScalarUdf")
            .field("name", &self.def.name)
            .finish()
    }
}

impl PartialEq for KsqlScalarUdf {
    fn eq(&self, other: &Self) -> bool {
        self.def.name == other.def.name
    }
}
impl Eq for KsqlScalarUdf {}
impl Hash for KsqlScalarUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.def.name.hash(state)
    }
}

impl ScalarUDFImpl for KsqlScalarUdf {
    fn name(&self) -> &str {
        self.def.name
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.def.resolve(arg_types)?.2)
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Ok(self.def.resolve(arg_types)?.1)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let types: Vec<DataType> = args.args.iter().map(|a| a.data_type()).collect();
        let (overload, coerced, ret) = self.def.resolve(&types)?;
        let all_scalar = !args.args.is_empty()
            && self.def.volatility != Volatility::Volatile
            && args
                .args
                .iter()
                .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if all_scalar { 1 } else { args.number_rows };
        let arrays = args
            .args
            .iter()
            .zip(&coerced)
            .map(|(a, t)| {
                let arr = a.to_array(rows)?;
                if arr.data_type() == t || t == &DataType::Null {
                    Ok(arr)
                } else {
                    Ok(cast(&arr, t)?)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let out = (self.def.kernel)(&Call {
            args: &arrays,
            rows,
            return_type: &ret,
            overload,
        })?;
        let expected = args.return_type();
        let out = if out.data_type() != expected
            && expected != &DataType::Null
            && can_cast_types(out.data_type(), expected)
        {
            cast(&out, expected)?
        } else {
            out
        };
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}
