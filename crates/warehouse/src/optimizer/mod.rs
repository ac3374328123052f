//! The warehouse's own logical optimizer rules, run after DataFusion's: `join_order`
//! (inner joins ordered by estimated size), `reduce_aggregates` (an aggregate joined to a
//! small relation computes only the groups it keeps) and `PushSemiJoins`.
//!
//! `PushSemiJoins`: DataFusion turns `x IN (subquery)` and `EXISTS` into a semi (or anti) join
//! placed where the WHERE clause was, above every join of the FROM clause; TPC-H Q18 then
//! joins 6 million lineitem rows to orders and customers before keeping the 57 orders the
//! subquery names. A semi or anti join only keeps or drops rows of its left input by columns
//! of one side of an inner join below it, so it can be applied to that side first: the rows
//! it drops never reach the join (the "semi-join reduction" DuckDB and Hyper apply), when it
//! is estimated to drop most of them.
pub mod join_order;
pub mod reduce_aggregates;

use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, DFSchema, Result};
use datafusion::logical_expr::{Expr, Join, JoinType, LogicalPlan, Projection};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use std::collections::HashSet;
use std::sync::Arc;

/// The columns a projection or an alias passes on unchanged, as (input column, output
/// column) pairs: a projection's bare (or renamed) columns, all of an alias's. None for other
/// operators.
pub(crate) fn passed_columns(plan: &LogicalPlan) -> Option<Vec<(Column, Column)>> {
    match plan {
        LogicalPlan::Projection(p) => Some(
            p.expr
                .iter()
                .zip(p.schema.columns())
                .filter_map(|(e, out)| match e {
                    Expr::Column(c) => Some((c.clone(), out)),
                    Expr::Alias(a) => match a.expr.as_ref() {
                        Expr::Column(c) => Some((c.clone(), out)),
                        _ => None,
                    },
                    _ => None,
                })
                .collect(),
        ),
        LogicalPlan::SubqueryAlias(a) => Some(a.input.schema().columns().into_iter().zip(a.schema.columns()).collect()),
        _ => None,
    }
}

#[derive(Debug)]
pub struct PushSemiJoins;

impl OptimizerRule for PushSemiJoins {
    fn name(&self) -> &str {
        "nuage_push_semi_joins"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn rewrite(&self, plan: LogicalPlan, _config: &dyn OptimizerConfig) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Join(semi) = plan else { return Ok(Transformed::no(plan)) };
        if !matches!(semi.join_type, JoinType::LeftSemi | JoinType::LeftAnti) {
            return Ok(Transformed::no(LogicalPlan::Join(semi)));
        }
        // The inner join, under a projection that only narrows its columns if there is one.
        let (narrowing, below) = match semi.left.as_ref() {
            LogicalPlan::Projection(p) if p.expr.iter().all(|e| matches!(e, Expr::Column(_))) => {
                (Some(p.expr.clone()), p.input.as_ref())
            }
            other => (None, other),
        };
        let LogicalPlan::Join(inner) = below else { return Ok(Transformed::no(LogicalPlan::Join(semi))) };
        if inner.join_type != JoinType::Inner {
            return Ok(Transformed::no(LogicalPlan::Join(semi)));
        }
        // The left input's columns the semi join reads: its keys' and its filter's.
        let subquery = semi.right.schema();
        let mut used: HashSet<&Column> = semi.on.iter().flat_map(|(l, _)| l.column_refs()).collect();
        if let Some(f) = &semi.filter {
            used.extend(f.column_refs().into_iter().filter(|c| !subquery.has_column(c)));
        }
        let within = |s: &DFSchema| used.iter().all(|c| s.has_column(c));
        let (to_left, to_right) = (within(inner.left.schema()), within(inner.right.schema()));
        if used.is_empty() || !(to_left || to_right) {
            return Ok(Transformed::no(LogicalPlan::Join(semi)));
        }
        // The semi join goes first where it is estimated to drop most rows, or where the
        // inner join does not shrink the side it filters (it joins that side to rows that
        // multiply it, as Q18's orders to lineitem). Where the inner join is what drops the
        // rows (TPC-H Q21's lineitem joined to one nation's suppliers) the semi join, whose
        // filter compares each pair, is cheaper after it.
        let side = if to_left { &inner.left } else { &inner.right };
        let share = match semi.on.first() {
            Some((Expr::Column(key), _)) if semi.join_type == JoinType::LeftSemi && semi.filter.is_none() => {
                join_order::semi_join_share(side, key, &semi.right)
            }
            _ => None,
        };
        let keeps_side = join_order::estimated_rows(below)
            .zip(join_order::estimated_rows(side))
            .is_some_and(|(joined, alone)| joined >= alone);
        if !keeps_side && share.is_none_or(|s| s > 0.5) {
            return Ok(Transformed::no(LogicalPlan::Join(semi)));
        }
        let reduce = |side: &Arc<LogicalPlan>| -> Result<Arc<LogicalPlan>> {
            Ok(Arc::new(LogicalPlan::Join(Join::try_new(
                side.clone(),
                semi.right.clone(),
                semi.on.clone(),
                semi.filter.clone(),
                semi.join_type,
                semi.join_constraint,
                semi.null_equality,
                semi.null_aware,
            )?)))
        };
        let (left, right) = if to_left {
            (reduce(&inner.left)?, inner.right.clone())
        } else {
            (inner.left.clone(), reduce(&inner.right)?)
        };
        let pushed = Join::try_new(
            left,
            right,
            inner.on.clone(),
            inner.filter.clone(),
            JoinType::Inner,
            inner.join_constraint,
            inner.null_equality,
            false,
        )?;
        let pushed = LogicalPlan::Join(pushed);
        Ok(Transformed::yes(match narrowing {
            Some(columns) => LogicalPlan::Projection(Projection::try_new(columns, Arc::new(pushed))?),
            None => pushed,
        }))
    }
}
