//! [`KernelExpr`]: a DataFusion `PhysicalExpr` that evaluates its children to arrays and runs
//! a Rust function over them. Every operator whose ksqlDB semantics differ from DataFusion's
//! (arithmetic, comparisons, subscripts, constructors, casts) is one of these.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, FieldRef, Schema};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::PhysicalExpr;

/// The function a [`KernelExpr`] runs: its children's values (arrays of `rows` rows) in, one
/// array of the declared type and `rows` rows out.
pub type Kernel = Arc<dyn Fn(&[ArrayRef], usize) -> Result<ArrayRef> + Send + Sync>;

/// `name(children...)` computed by `kernel`, producing `ty`.
#[derive(Clone)]
pub struct KernelExpr {
    name: String,
    children: Vec<Arc<dyn PhysicalExpr>>,
    ty: DataType,
    kernel: Kernel,
}

impl KernelExpr {
    pub fn new(
        name: impl Into<String>,
        children: Vec<Arc<dyn PhysicalExpr>>,
        ty: DataType,
        kernel: Kernel,
    ) -> Self {
        KernelExpr {
            name: name.into(),
            children,
            ty,
            kernel,
        }
    }

    pub fn arc(
        name: impl Into<String>,
        children: Vec<Arc<dyn PhysicalExpr>>,
        ty: DataType,
        kernel: impl Fn(&[ArrayRef], usize) -> Result<ArrayRef> + Send + Sync + 'static,
    ) -> Arc<dyn PhysicalExpr> {
        Arc::new(KernelExpr::new(name, children, ty, Arc::new(kernel)))
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for KernelExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelExpr")
            .field("name", &self.name)
            .field("children", &self.children)
            .field("ty", &self.ty)
            .finish()
    }
}

impl fmt::Display for KernelExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        for (i, c) in self.children.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{c}")?;
        }
        f.write_str(")")
    }
}

impl PartialEq for KernelExpr {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.ty == other.ty
            && Arc::ptr_eq(&self.kernel, &other.kernel)
            && self.children.len() == other.children.len()
            && self
                .children
                .iter()
                .zip(&other.children)
                .all(|(a, b)| a.as_ref() == b.as_ref())
    }
}

impl Eq for KernelExpr {}

impl Hash for KernelExpr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.ty.hash(state);
        for c in &self.children {
            c.hash(state);
        }
    }
}

impl PhysicalExpr for KernelExpr {
    fn return_field(&self, _input_schema: &Schema) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            self.to_string(),
            self.ty.clone(),
            true,
        )))
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let rows = batch.num_rows();
        let mut all_scalar = true;
        let mut args = Vec::with_capacity(self.children.len());
        for c in &self.children {
            let v = c.evaluate(batch)?;
            all_scalar &= matches!(v, ColumnarValue::Scalar(_));
            args.push(v);
        }
        // Constant children: run once over one row and hand back a scalar.
        let n = if all_scalar && !self.children.is_empty() {
            1
        } else {
            rows
        };
        let arrays = args
            .into_iter()
            .map(|v| v.into_array(n))
            .collect::<Result<Vec<_>>>()?;
        let out = (self.kernel)(&arrays, n)?;
        if all_scalar && !self.children.is_empty() {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        self.children.iter().collect()
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let mut e = (*self).clone();
        e.children = children;
        Ok(Arc::new(e))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
