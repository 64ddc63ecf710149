//! pipeline.rs owns turning a logical plan into the operators that run it: the source to
//! read (with its codec), the chain of operators, and the sink to write (if any).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use brook_sql::analyzer::SourceEntry;
use brook_sql::plan::{LogicalPlan, Node, Schema};

use crate::catalog::sql_to_arrow;
use crate::expr::{compile, InputLayout};
use crate::functions::FunctionRegistry;
use crate::aggregate::AggregateFunction;
use crate::catalog::aggregate_column_args;
use crate::operators::aggregate::{Aggregate, AggregateCallPlan};
use crate::operators::filter::Filter;
use crate::operators::flatmap::{FlatMap, TableFunction};
use crate::operators::limit::Limit;
use crate::operators::project::Project;
use crate::operators::repartition::Repartition;
use crate::operators::Operator;

use super::codec::{ProvidedSchemas, SourceCodec};
use super::error::{EngineError, Result};

/// The source a pipeline reads.
#[derive(Debug)]
pub struct SourceInput {
    pub codec: SourceCodec,
    /// The `Source` node's schema and its Arrow layout.
    pub schema: Schema,
    pub arrow: SchemaRef,
}

/// A plan made runnable.
#[derive(Debug)]
pub struct Pipeline {
    pub source: SourceInput,
    pub operators: Vec<Box<dyn Operator>>,
    /// The stream or table written, for persistent queries.
    pub sink: Option<SourceEntry>,
    /// The schema of the rows the last operator produces.
    pub output: Schema,
    pub output_arrow: SchemaRef,
    /// Set when the plan has a LIMIT.
    pub limit: Option<u64>,
}

/// The Arrow schema batches laid out as `schema` have.
pub fn arrow_schema(schema: &Schema) -> SchemaRef {
    InputLayout::from_schema(schema).arrow_schema().clone()
}

fn is_table_source(plan: &LogicalPlan) -> bool {
    match &plan.node {
        Node::Source { entry, .. } => entry.is_table(),
        Node::Aggregate { .. } => true,
        Node::Join { .. } => false,
        _ => plan.inputs().first().is_some_and(|i| is_table_source(i)),
    }
}

/// Builds the pipeline of `plan`.
pub fn build(
    plan: &LogicalPlan,
    registry: &FunctionRegistry,
    schemas: &ProvidedSchemas,
) -> Result<Pipeline> {
    // From the root down to the source.
    let mut chain: Vec<&LogicalPlan> = Vec::new();
    let mut node = plan;
    let mut sink = None;
    let mut limit = None;
    loop {
        match &node.node {
            Node::Source { .. } => break,
            Node::Join { .. } => {
                return Err(EngineError::NotSupportedYet("joins".into()));
            }
            Node::Sink { input, entry, .. } => {
                sink = Some((**entry).clone());
                node = input;
                continue;
            }
            Node::Limit { input, limit: l } => {
                limit = Some(*l);
                chain.push(node);
                node = input;
                continue;
            }
            _ => {}
        }
        chain.push(node);
        node = node.inputs()[0];
    }
    let Node::Source { entry, .. } = &node.node else {
        unreachable!("the loop stops at a source")
    };
    let source = SourceInput {
        codec: SourceCodec::new(entry, schemas)?,
        schema: node.schema.clone(),
        arrow: arrow_schema(&node.schema),
    };
    let mut operators: Vec<Box<dyn Operator>> = Vec::new();
    for step in chain.iter().rev() {
        let input = step.inputs()[0];
        let layout = InputLayout::from_schema(&input.schema);
        let out_arrow = arrow_schema(&step.schema);
        let op: Box<dyn Operator> = match &step.node {
            Node::Filter { predicate, .. } => Box::new(Filter::new(
                compile(predicate, &layout, registry)?,
                is_table_source(input).then(|| key_positions(&input.schema)),
            )),
            Node::Project { items, .. } => {
                let mut exprs = Vec::new();
                for col in &step.schema.columns {
                    let item = items.iter().find(|i| i.name == col.name).ok_or_else(|| {
                        EngineError::Statement(format!("projection lost column {}", col.name))
                    })?;
                    exprs.push(compile(&item.expr, &layout, registry)?);
                }
                Box::new(Project::new(exprs, out_arrow))
            }
            Node::Repartition { keys, .. } => {
                let exprs = keys
                    .iter()
                    .map(|k| compile(&k.expr, &layout, registry))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                Box::new(Repartition::new(exprs, out_arrow))
            }
            Node::FlatMap { functions, .. } => {
                let mut calls = Vec::new();
                for f in functions {
                    let tf = TableFunction::by_name(&f.name).ok_or_else(|| {
                        EngineError::NotSupportedYet(format!("table function {}", f.name))
                    })?;
                    let arg = f.args.first().ok_or_else(|| {
                        EngineError::Statement(format!("{} takes one argument", f.name))
                    })?;
                    calls.push((tf, compile(arg, &layout, registry)?, sql_to_arrow(&f.ty)));
                }
                Box::new(FlatMap::new(calls, out_arrow))
            }
            Node::Limit { limit, .. } => Box::new(Limit::new(*limit)),
            Node::Aggregate {
                group_by,
                aggregates,
                window,
                ..
            } => {
                let keys = group_by
                    .iter()
                    .map(|k| compile(&k.expr, &layout, registry))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                let mut calls = Vec::new();
                for a in aggregates {
                    let column_args =
                        aggregate_column_args(&a.name).unwrap_or(a.args.len()).min(a.args.len());
                    let types: Vec<_> = a.args.iter().map(|e| e.ty.clone()).collect();
                    let literals = a.args[column_args..]
                        .iter()
                        .map(|e| literal_value(e, registry))
                        .collect::<Result<Vec<_>>>()?;
                    let function = AggregateFunction::new(&a.name, &types, column_args, literals, &a.ty)?;
                    let args = a.args[..column_args]
                        .iter()
                        .map(|e| compile(e, &layout, registry))
                        .collect::<std::result::Result<Vec<_>, _>>()?;
                    calls.push(AggregateCallPlan { function, args });
                }
                let table_key = is_table_source(input).then(|| key_positions(&input.schema));
                Box::new(Aggregate::new(keys, calls, *window, out_arrow, table_key))
            }
            Node::Source { .. } | Node::Join { .. } | Node::Sink { .. } => {
                unreachable!("handled while walking the plan")
            }
        };
        operators.push(op);
    }
    let output = plan_output(plan).clone();
    Ok(Pipeline {
        source,
        operators,
        sink,
        output_arrow: arrow_schema(&output),
        output,
        limit,
    })
}

/// The positions of a schema's key columns.
fn key_positions(schema: &Schema) -> Vec<usize> {
    schema
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_key())
        .map(|(i, _)| i)
        .collect()
}

/// The value of a literal argument (e.g. TOPK's k).
fn literal_value(e: &brook_sql::plan::TypedExpr, registry: &FunctionRegistry) -> Result<datafusion::common::ScalarValue> {
    let pe = compile(e, &InputLayout::new(Vec::new()), registry)?;
    let one = arrow::array::RecordBatch::try_new_with_options(
        Arc::new(arrow::datatypes::Schema::empty()),
        vec![],
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let a = pe.evaluate(&one)?.into_array(1)?;
    Ok(datafusion::common::ScalarValue::try_from_array(&a, 0)?)
}

fn plan_output(plan: &LogicalPlan) -> &Schema {
    match &plan.node {
        Node::Sink { input, .. } => &input.schema,
        _ => &plan.schema,
    }
}

/// Rows through every operator in order.
pub fn run_operators(
    operators: &mut [Box<dyn Operator>],
    mut rows: super::rows::Rows,
    errors: &mut Vec<super::processing_log::ProcessingError>,
) -> Result<super::rows::Rows> {
    for op in operators.iter_mut() {
        if rows.is_empty() {
            break;
        }
        rows = op.process(rows, errors)?;
    }
    Ok(rows)
}

/// Shared handle type for the function registry.
pub type Registry = Arc<FunctionRegistry>;
