//! AS_VALUE: its argument, unchanged. In a projection it tells the analyzer to copy a key
//! column into the value (`brook_sql`'s analyzer handles that part); as a function it is the
//! identity on any type, as ksqlDB's generic `<T> T asValue(T keyColumn)`.

use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `AS_VALUE(keyColumn)` → the same value, of the same type.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "AS_VALUE",
        Category::Other,
        "Used exclusively in the projection of a query to allow a key column to be copied into the value schema. Has no affect if used anywhere else.",
        vec![Overload::new(&[("keyColumn", P::T)], P::T)],
        |c: &Call| Ok(c.args[0].clone()),
    )
}

#[cfg(test)]
mod tests {
    use crate::functions::testutil::*;

    #[test]
    fn as_value_is_the_identity_on_any_type() {
        let v = s(&[Some("k"), None]);
        assert_eq!(
            out_s(&call("AS_VALUE", vec![v]).unwrap()),
            vec![Some("k".into()), None]
        );
        assert_eq!(
            out_l(&call("AS_VALUE", vec![l(&[Some(7)])]).unwrap()),
            vec![Some(7)]
        );
        assert_eq!(
            out_b(&call("AS_VALUE", vec![b(&[Some(true)])]).unwrap()),
            vec![Some(true)]
        );
    }
}
