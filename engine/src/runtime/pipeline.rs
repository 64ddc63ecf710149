//! pipeline.rs owns turning a logical plan into the operators that run it: the source to
//! read (with its codec), the chain of operators, and the sink to write (if any).
//!
//! A plan with a join reads several sources. Its pipeline is a tree: each side of a
//! [`JoinStage`] is a [`Branch`] — a source and the operators its rows pass before the join
//! (e.g. a repartition), or a nested join and the operators after it (n-way joins are
//! left-deep) — and `Pipeline::operators` run on what the top join emits. Sources are
//! numbered left to right: input 0 is `Pipeline::source`, input `i > 0` is `others[i - 1]`.
//! [`Pipeline::process`] takes rows of one input through its branch, the joins above it and
//! the operators after them; [`merge_by_time`] orders what several inputs read in one step.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use brook_sql::analyzer::SourceEntry;
use brook_sql::plan::{LogicalPlan, Node, Schema};

use crate::aggregate::AggregateFunction;
use crate::catalog::aggregate_column_args;
use crate::catalog::sql_to_arrow;
use crate::expr::{compile, InputLayout};
use crate::functions::FunctionRegistry;
use crate::operators::aggregate::{self, AggregateCallPlan};
use crate::operators::filter::Filter;
use crate::operators::flatmap::{FlatMap, TableFunction};
use crate::operators::join::{Join, JoinSpec, Side};
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

/// Where rows of one side of a join come from.
#[derive(Debug)]
pub enum Branch {
    /// Input `input`'s rows, through `operators`.
    Source {
        input: usize,
        operators: Vec<Box<dyn Operator>>,
    },
    /// What a nested join emits, through `operators`.
    Join {
        join: Box<JoinStage>,
        operators: Vec<Box<dyn Operator>>,
    },
}

/// A join and its two sides.
#[derive(Debug)]
pub struct JoinStage {
    pub left: Branch,
    pub right: Branch,
    pub join: Join,
}

impl Branch {
    fn contains(&self, input: usize) -> bool {
        match self {
            Branch::Source { input: i, .. } => *i == input,
            Branch::Join { join, .. } => join.left.contains(input) || join.right.contains(input),
        }
    }

    fn process(
        &mut self,
        input: usize,
        rows: super::rows::Rows,
        errors: &mut Vec<super::processing_log::ProcessingError>,
    ) -> Result<super::rows::Rows> {
        match self {
            Branch::Source { operators, .. } => run_operators(operators, rows, errors),
            Branch::Join { join, operators } => {
                let rows = join.process(input, rows, errors)?;
                run_operators(operators, rows, errors)
            }
        }
    }

    /// Calls `f` on every operator of the branch, the deepest first.
    fn for_each_operator(
        &mut self,
        f: &mut dyn FnMut(&mut Box<dyn Operator>) -> Result<()>,
    ) -> Result<()> {
        let ops = match self {
            Branch::Source { operators, .. } => operators,
            Branch::Join { join, operators } => {
                join.left.for_each_operator(f)?;
                join.right.for_each_operator(f)?;
                operators
            }
        };
        ops.iter_mut().try_for_each(f)
    }
}

impl JoinStage {
    /// Calls `f` on every join of the tree, the deepest first (left before right).
    fn for_each_join(&mut self, f: &mut dyn FnMut(&mut Join) -> Result<()>) -> Result<()> {
        for b in [&mut self.left, &mut self.right] {
            if let Branch::Join { join, .. } = b {
                join.for_each_join(f)?;
            }
        }
        f(&mut self.join)
    }

    fn process(
        &mut self,
        input: usize,
        rows: super::rows::Rows,
        errors: &mut Vec<super::processing_log::ProcessingError>,
    ) -> Result<super::rows::Rows> {
        let side = if self.left.contains(input) {
            Side::Left
        } else {
            Side::Right
        };
        let rows = match side {
            Side::Left => self.left.process(input, rows, errors)?,
            Side::Right => self.right.process(input, rows, errors)?,
        };
        if rows.is_empty() {
            return Ok(rows);
        }
        self.join.process(side, rows, errors)
    }
}

/// A plan made runnable.
#[derive(Debug)]
pub struct Pipeline {
    pub source: SourceInput,
    /// The other sources of a join (inputs 1, 2, ...).
    pub others: Vec<SourceInput>,
    /// The join tree, for a plan with joins; `operators` then run on what it emits.
    pub join: Option<Box<JoinStage>>,
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

impl Pipeline {
    /// Opens the state stores of its joins' table sides (`<query id>-Join-<n>`, joins
    /// numbered depth first) and loads them.
    pub fn attach_join_state(
        &mut self,
        stores: &brook_state::StateStores,
        query_id: &str,
    ) -> Result<()> {
        let Some(stage) = &mut self.join else {
            return Ok(());
        };
        let mut n = 0;
        stage.for_each_join(&mut |j| {
            let name = format!("{query_id}-Join-{n}");
            n += 1;
            j.attach_state(stores, &name)
        })
    }

    /// Commits its joins' durable state.
    pub fn commit_joins(&mut self) -> Result<()> {
        match &mut self.join {
            Some(stage) => stage.for_each_join(&mut |j| j.commit_state()),
            None => Ok(()),
        }
    }

    /// Every source read, input 0 first.
    pub fn inputs(&self) -> Vec<&SourceInput> {
        std::iter::once(&self.source).chain(&self.others).collect()
    }

    /// Input `i`.
    pub fn input(&self, i: usize) -> &SourceInput {
        if i == 0 {
            &self.source
        } else {
            &self.others[i - 1]
        }
    }

    /// Rows decoded from input `input` through every step they pass.
    pub fn process(
        &mut self,
        input: usize,
        rows: super::rows::Rows,
        errors: &mut Vec<super::processing_log::ProcessingError>,
    ) -> Result<super::rows::Rows> {
        let rows = match &mut self.join {
            None => rows,
            Some(j) => j.process(input, rows, errors)?,
        };
        run_operators(&mut self.operators, rows, errors)
    }

    /// What several inputs read in one step, in the order to process it: [`merge_by_time`],
    /// with tables before streams among records of the same time (a stream record then
    /// sees the table as of its own time).
    pub fn in_time_order(
        &self,
        mut pieces: Vec<(usize, super::rows::Rows)>,
    ) -> Result<Vec<(usize, super::rows::Rows)>> {
        pieces.sort_by_key(|(i, _)| !self.input(*i).codec.entry.is_table());
        merge_by_time(pieces)
    }

    /// Empties the record caches of `operators` (see [`Operator::flush`]): what each held
    /// goes through the operators after it. Returns the rows that come out at the end.
    pub fn flush(
        &mut self,
        errors: &mut Vec<super::processing_log::ProcessingError>,
    ) -> Result<Vec<super::rows::Rows>> {
        let mut out = Vec::new();
        for i in 0..self.operators.len() {
            for rows in self.operators[i].flush()? {
                let rows = run_operators(&mut self.operators[i + 1..], rows, errors)?;
                if !rows.is_empty() {
                    out.push(rows);
                }
            }
        }
        Ok(out)
    }

    /// Calls `f` on every operator: those before joins, then `operators`.
    pub fn for_each_operator(
        &mut self,
        f: &mut dyn FnMut(&mut Box<dyn Operator>) -> Result<()>,
    ) -> Result<()> {
        if let Some(j) = &mut self.join {
            j.left.for_each_operator(f)?;
            j.right.for_each_operator(f)?;
        }
        self.operators.iter_mut().try_for_each(f)
    }
}

fn is_table_source(plan: &LogicalPlan) -> bool {
    match &plan.node {
        Node::Source { entry, .. } => entry.is_table(),
        Node::Aggregate { .. } => true,
        Node::Join { kind, .. } => matches!(
            kind,
            brook_sql::plan::JoinKind::TableTable | brook_sql::plan::JoinKind::ForeignKey
        ),
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
            Node::Source { .. } | Node::Join { .. } => break,
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
    let mut sources = Vec::new();
    let join = match &node.node {
        Node::Join { .. } => Some(Box::new(build_join(node, registry, schemas, &mut sources)?)),
        _ => {
            sources.push(source_input(node, schemas)?);
            None
        }
    };
    let operators = build_operators(&chain, registry)?;
    let mut sources = sources.into_iter();
    let source = sources.next().expect("a plan reads a source");
    let output = plan_output(plan).clone();
    Ok(Pipeline {
        source,
        others: sources.collect(),
        join,
        operators,
        sink,
        output_arrow: arrow_schema(&output),
        output,
        limit,
    })
}

/// The source a `Source` node reads.
fn source_input(node: &LogicalPlan, schemas: &ProvidedSchemas) -> Result<SourceInput> {
    let Node::Source { entry, .. } = &node.node else {
        return Err(EngineError::Statement("expected a source".into()));
    };
    Ok(SourceInput {
        codec: SourceCodec::new(entry, schemas)?,
        schema: node.schema.clone(),
        arrow: arrow_schema(&node.schema),
    })
}

/// The join stage of a `Join` node; its sources are appended to `sources`.
fn build_join(
    node: &LogicalPlan,
    registry: &FunctionRegistry,
    schemas: &ProvidedSchemas,
    sources: &mut Vec<SourceInput>,
) -> Result<JoinStage> {
    let Node::Join {
        left,
        right,
        join_type,
        kind,
        left_key,
        right_key,
        within,
        ..
    } = &node.node
    else {
        return Err(EngineError::Statement("expected a join".into()));
    };
    let left_branch = build_branch(left, registry, schemas, sources)?;
    let right_branch = build_branch(right, registry, schemas, sources)?;
    let join = Join::new(JoinSpec {
        kind: *kind,
        join_type: *join_type,
        within: *within,
        left_key: compile(left_key, &InputLayout::from_schema(&left.schema), registry)?,
        right_key: compile(
            right_key,
            &InputLayout::from_schema(&right.schema),
            registry,
        )?,
        left_arrow: arrow_schema(&left.schema),
        right_arrow: arrow_schema(&right.schema),
        output_arrow: arrow_schema(&node.schema),
        left: left.schema.clone(),
        right: right.schema.clone(),
        output: node.schema.clone(),
        window_end_in_key: leftmost_source(left).is_some_and(|e| {
            e.window
                .is_some_and(|w| w.kind == brook_sql::analyzer::WindowType::Session)
        }),
    })?;
    Ok(JoinStage {
        left: left_branch,
        right: right_branch,
        join,
    })
}

/// The source a plan reads first (following left inputs).
fn leftmost_source(plan: &LogicalPlan) -> Option<&SourceEntry> {
    match &plan.node {
        Node::Source { entry, .. } => Some(entry),
        _ => plan.inputs().first().and_then(|i| leftmost_source(i)),
    }
}

/// One side of a join: the steps down to a source or a nested join.
fn build_branch(
    plan: &LogicalPlan,
    registry: &FunctionRegistry,
    schemas: &ProvidedSchemas,
    sources: &mut Vec<SourceInput>,
) -> Result<Branch> {
    let mut chain: Vec<&LogicalPlan> = Vec::new();
    let mut node = plan;
    while !matches!(node.node, Node::Source { .. } | Node::Join { .. }) {
        chain.push(node);
        node = node.inputs()[0];
    }
    let operators = build_operators(&chain, registry)?;
    Ok(match &node.node {
        Node::Join { .. } => Branch::Join {
            join: Box::new(build_join(node, registry, schemas, sources)?),
            operators,
        },
        _ => {
            sources.push(source_input(node, schemas)?);
            Branch::Source {
                input: sources.len() - 1,
                operators,
            }
        }
    })
}

/// The operators of `chain` (root first), in the order rows pass them.
fn build_operators(
    chain: &[&LogicalPlan],
    registry: &FunctionRegistry,
) -> Result<Vec<Box<dyn Operator>>> {
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
                // As ksqlDB, a key expression over key columns only is computed from the
                // key; any other is computed from the value (NULL where there is none).
                let from_value = keys
                    .iter()
                    .map(|k| {
                        k.expr.columns().iter().any(|c| {
                            !input.schema.columns.iter().any(|col| {
                                col.name == c.name && col.role == brook_sql::plan::ColumnRole::Key
                            })
                        })
                    })
                    .collect();
                Box::new(Repartition::new(exprs, from_value, out_arrow))
            }
            Node::FlatMap { functions, .. } => {
                let mut calls = Vec::new();
                for f in functions {
                    let test = if registry.conformance_test_functions() {
                        let types: Vec<_> = f.args.iter().map(|a| a.ty.clone()).collect();
                        crate::catalog::test_functions::udtf::instance(
                            &f.name.to_ascii_uppercase(),
                            &types,
                        )
                    } else {
                        None
                    };
                    if let Some(found) = test {
                        let (udtf, _) = found.map_err(EngineError::Statement)?;
                        let args = f
                            .args
                            .iter()
                            .map(|a| compile(a, &layout, registry))
                            .collect::<std::result::Result<Vec<_>, _>>()?;
                        calls.push((TableFunction::Test(udtf), args, sql_to_arrow(&f.ty)));
                        continue;
                    }
                    let tf = TableFunction::by_name(&f.name).ok_or_else(|| {
                        EngineError::NotSupportedYet(format!("table function {}", f.name))
                    })?;
                    let arg = f.args.first().ok_or_else(|| {
                        EngineError::Statement(format!("{} takes one argument", f.name))
                    })?;
                    calls.push((
                        tf,
                        vec![compile(arg, &layout, registry)?],
                        sql_to_arrow(&f.ty),
                    ));
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
                    let upper = a.name.to_ascii_uppercase();
                    let test_columns = if registry.conformance_test_functions() {
                        crate::catalog::test_functions::udaf::column_args(&upper, a.args.len())
                    } else {
                        None
                    };
                    let column_args = test_columns
                        .or_else(|| aggregate_column_args(&a.name))
                        .unwrap_or(a.args.len())
                        .min(a.args.len());
                    let types: Vec<_> = a.args.iter().map(|e| e.ty.clone()).collect();
                    let literals = a.args[column_args..]
                        .iter()
                        .map(|e| literal_value(e, registry))
                        .collect::<Result<Vec<_>>>()?;
                    let test = test_columns.and_then(|_| {
                        crate::catalog::test_functions::udaf::function(
                            &upper,
                            &types,
                            column_args,
                            &literals,
                            &a.ty,
                        )
                    });
                    let function = match test {
                        Some(f) => f?,
                        None => {
                            let mut f = AggregateFunction::new(
                                &a.name,
                                &types,
                                column_args,
                                literals,
                                &a.ty,
                            )?;
                            for (k, v) in registry.function_properties() {
                                f = f.with_property(k, v)?;
                            }
                            f
                        }
                    };
                    let args = a.args[..column_args]
                        .iter()
                        .map(|e| compile(e, &layout, registry))
                        .collect::<std::result::Result<Vec<_>, _>>()?;
                    // ksqlDB keeps aggregation state in the source's value format.
                    let internal_format = leftmost_source(input).map(|e| &e.value_format.name);
                    if !function.intermediate_is_primitive()
                        && internal_format
                            .is_some_and(|f| matches!(f.as_str(), "DELIMITED" | "KAFKA"))
                    {
                        return Err(EngineError::Statement("One of the functions used in the statement has an intermediate type that the value format can not handle. Please remove the function or change the format.".into()));
                    }
                    calls.push(AggregateCallPlan { function, args });
                }
                let table_key = is_table_source(input).then(|| key_positions(&input.schema));
                aggregate::build(keys, calls, *window, out_arrow, table_key)
            }
            Node::Source { .. } | Node::Join { .. } | Node::Sink { .. } => {
                unreachable!("handled while walking the plan")
            }
        };
        operators.push(op);
    }
    Ok(operators)
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
fn literal_value(
    e: &brook_sql::plan::TypedExpr,
    registry: &FunctionRegistry,
) -> Result<datafusion::common::ScalarValue> {
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

/// Orders rows several inputs read in one step as Kafka Streams picks records: each piece
/// (one partition of one input, in offset order) stays in order, and of the pieces' next
/// records the one with the smallest timestamp goes first (ties: the earlier piece). Returns
/// runs of consecutive rows of one piece, tagged with its input.
pub fn merge_by_time(
    pieces: Vec<(usize, super::rows::Rows)>,
) -> Result<Vec<(usize, super::rows::Rows)>> {
    if pieces.len() <= 1 {
        return Ok(pieces);
    }
    let mut heads = vec![0usize; pieces.len()];
    let mut runs: Vec<(usize, Vec<u32>)> = Vec::new();
    loop {
        let mut best: Option<(usize, i64)> = None;
        for (p, (_, rows)) in pieces.iter().enumerate() {
            if let Some(ts) = rows.timestamps.get(heads[p]) {
                if best.is_none_or(|(_, b)| *ts < b) {
                    best = Some((p, *ts));
                }
            }
        }
        let Some((p, _)) = best else { break };
        let row = heads[p] as u32;
        heads[p] += 1;
        match runs.last_mut() {
            Some((q, v)) if *q == p => v.push(row),
            _ => runs.push((p, vec![row])),
        }
    }
    runs.into_iter()
        .map(|(p, rows)| Ok((pieces[p].0, pieces[p].1.take(&rows)?)))
        .collect()
}

/// Shared handle type for the function registry.
pub type Registry = Arc<FunctionRegistry>;
