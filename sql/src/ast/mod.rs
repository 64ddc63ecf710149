//! The syntax tree of the ksqlDB dialect: Brook's own types, independent of sqlparser's.
//!
//! Every statement, identifier and expression carries a [`Span`]; spans never take part in
//! equality. Every node prints back (`Display`) as ksqlDB-style SQL that parses to an equal
//! tree.

pub mod expr;
pub mod ident;
pub mod join;
pub mod query;
pub mod span;
pub mod statement;
pub mod types;
pub mod window;

pub use expr::{BinaryOp, Expr, ExprKind, Literal, UnaryOp, WhenClause};
pub use ident::{Ident, ResourceName};
pub use join::{AliasedSource, Join, JoinType, JoinWindow, JoinWindowSize, Relation};
pub use query::{Emit, Query, SelectItem};
pub use span::{Position, Span};
pub use statement::{
    ColumnConstraint, ColumnDef, ConnectorKind, CreateAsSelect, CreateSource, ExplainTarget,
    InsertInto, InsertValues, Print, Properties, Property, QueryTarget, ShowKind, SourceKind,
    Statement, StatementKind,
};
pub use types::{StructField, Type};
pub use window::{Duration, TimeUnit, WindowExpr, WindowKind};
