//! `ReduceAggregates`: a correlated subquery such as TPC-H Q17's
//! `l_quantity < (select 0.2 * avg(l_quantity) from lineitem where l_partkey = p_partkey)`
//! becomes an aggregate over every part's lineitem rows, joined to the few parts the outer
//! query keeps: 6 million rows aggregated into 200,000 groups to use 200 of them. When a
//! small relation joins an aggregate on one of its grouping columns, this rule filters the
//! aggregate's input by a semi join with that relation first, so only the groups the join
//! keeps are computed (the reduction DuckDB's delim join performs for such subqueries). Each
//! group's rows are untouched, so every aggregate function keeps its value.
use super::join_order::estimated_rows;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, NullEquality, Result};
use datafusion::logical_expr::{Aggregate, Expr, Join, JoinConstraint, JoinType, LogicalPlan};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use std::sync::Arc;

/// The filtering relation must be estimated this many times smaller than the aggregate's
/// input: it is evaluated twice, and a semi join that keeps most rows only costs.
const REDUCTION: f64 = 10.0;

#[derive(Debug)]
pub struct ReduceAggregates;

impl OptimizerRule for ReduceAggregates {
    fn name(&self) -> &str {
        "nuage_reduce_aggregates"
    }

    fn rewrite(&self, plan: LogicalPlan, _config: &dyn OptimizerConfig) -> Result<Transformed<LogicalPlan>> {
        plan.transform_up(|node| {
            let LogicalPlan::Join(join) = &node else { return Ok(Transformed::no(node)) };
            // An inner join keeps the groups of either side its other side matches; a semi or
            // anti join asks only whether the right side matches.
            let both = match join.join_type {
                JoinType::Inner => true,
                JoinType::LeftSemi | JoinType::LeftAnti => false,
                _ => return Ok(Transformed::no(node)),
            };
            for (l, r) in &join.on {
                let sides = [(&join.left, l, &join.right, r), (&join.right, r, &join.left, l)];
                for (small, small_key, aggregated, key) in sides.into_iter().take(if both { 2 } else { 1 }) {
                    let Expr::Column(key) = key else { continue };
                    let Some(reduced) = reduce(aggregated, key, small, small_key)? else { continue };
                    let mut join = join.clone();
                    if Arc::ptr_eq(aggregated, &join.left) {
                        join.left = Arc::new(reduced);
                    } else {
                        join.right = Arc::new(reduced);
                    }
                    return Ok(Transformed::yes(LogicalPlan::Join(join)));
                }
            }
            Ok(Transformed::no(node))
        })
    }
}

/// `plan` with the aggregate that produces its column `key` reading only the rows whose
/// grouping value `small` has in `small_key`; None where the column is not an aggregate's
/// grouping column passed up unchanged, or the reduction would not pay.
fn reduce(plan: &LogicalPlan, key: &Column, small: &LogicalPlan, small_key: &Expr) -> Result<Option<LogicalPlan>> {
    match plan {
        LogicalPlan::Projection(_) | LogicalPlan::SubqueryAlias(_) => {
            let passed = super::passed_columns(plan).unwrap_or_default();
            let Some((inner, _)) = passed.iter().find(|(_, out)| out == key) else { return Ok(None) };
            let Some(input) = reduce(plan.inputs()[0], inner, small, small_key)? else { return Ok(None) };
            Ok(Some(plan.with_new_exprs(plan.expressions(), vec![input])?))
        }
        LogicalPlan::Aggregate(a) => {
            let position = a.schema.columns().iter().position(|c| c == key);
            let Some(Expr::Column(group)) = position.and_then(|p| a.group_expr.get(p)) else { return Ok(None) };
            // Reduced already (the optimizer runs its rules more than once).
            if matches!(a.input.as_ref(), LogicalPlan::Join(j) if j.join_type == JoinType::LeftSemi) {
                return Ok(None);
            }
            // The two sides must not share a column name, or the semi join's keys would be
            // ambiguous (a self-join's relations).
            if small.schema().columns().iter().any(|c| a.input.schema().has_column(c)) {
                return Ok(None);
            }
            let (Some(small_rows), Some(input_rows)) = (estimated_rows(small), estimated_rows(&a.input)) else {
                return Ok(None);
            };
            if small_rows * REDUCTION > input_rows {
                return Ok(None);
            }
            let semi = Join::try_new(
                a.input.clone(),
                Arc::new(small.clone()),
                vec![(Expr::Column(group.clone()), small_key.clone())],
                None,
                JoinType::LeftSemi,
                JoinConstraint::On,
                NullEquality::NullEqualsNothing,
                false,
            )?;
            Ok(Some(LogicalPlan::Aggregate(Aggregate::try_new_with_schema(
                Arc::new(LogicalPlan::Join(semi)),
                a.group_expr.clone(),
                a.aggr_expr.clone(),
                a.schema.clone(),
            )?)))
        }
        _ => Ok(None),
    }
}
