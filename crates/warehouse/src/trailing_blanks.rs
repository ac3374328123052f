//! Redshift's rule that trailing blanks of CHAR and VARCHAR values are insignificant when
//! values are compared (`'abc ' = 'abc'`), while LIKE, LENGTH and the stored value keep them.
//!
//! CHAR values are stored without their blanks; VARCHAR values are stored as given, and a
//! column records whether any value it was given ends in a blank (`ColumnMeta::
//! trailing_blanks`). After type coercion, every string comparison (`=`, `<>`, `<`, …,
//! `IS DISTINCT FROM`, `IN`, `BETWEEN`, join keys) trims its operands: literals at planning
//! time, a column of a table whose values never end in a blank not at all (so scans keep
//! their pruning and the common case costs nothing), anything else with `RTRIM`.
use crate::stored::StoredTable;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema, Result, ScalarValue};
use datafusion::logical_expr::expr::{InList, ScalarFunction};
use datafusion::logical_expr::{Between, BinaryExpr, Expr, ExprSchemable, Join, LogicalPlan, Operator};
use std::collections::HashSet;

#[derive(Debug)]
pub struct TrailingBlanks;

impl datafusion::optimizer::AnalyzerRule for TrailingBlanks {
    fn analyze(&self, plan: LogicalPlan, _config: &datafusion::common::config::ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            let clean: HashSet<Column> = node.inputs().iter().flat_map(|i| blank_free(i)).collect();
            let schema = datafusion::logical_expr::utils::merge_schema(&node.inputs());
            let node = match node {
                LogicalPlan::Join(join) => {
                    let (left, right) = (join.left.schema().clone(), join.right.schema().clone());
                    let mut changed = false;
                    let on = join
                        .on
                        .into_iter()
                        .map(|(l, r)| {
                            if !is_text(&l, &left) || !is_text(&r, &right) {
                                return (l, r);
                            }
                            let (l2, r2) = (trimmed(l.clone(), &clean), trimmed(r.clone(), &clean));
                            changed |= l2 != l || r2 != r;
                            (l2, r2)
                        })
                        .collect();
                    let join = LogicalPlan::Join(Join { on, ..join });
                    if changed {
                        Transformed::yes(join)
                    } else {
                        Transformed::no(join)
                    }
                }
                other => Transformed::no(other),
            };
            node.transform_data(|node| node.map_expressions(|e| e.transform_up(|e| comparison(e, &schema, &clean))))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "redshift_trailing_blanks"
    }
}

fn is_text(e: &Expr, schema: &DFSchema) -> bool {
    e.get_type(schema).is_ok_and(|t| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View))
}

/// A comparison of strings, with its operands trimmed.
fn comparison(e: Expr, schema: &DFSchema, clean: &HashSet<Column>) -> Result<Transformed<Expr>> {
    let text = |e: &Expr| is_text(e, schema);
    let out = match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) if compares(op) && text(&left) && text(&right) => {
            Expr::BinaryExpr(BinaryExpr {
                left: Box::new(trimmed(*left, clean)),
                op,
                right: Box::new(trimmed(*right, clean)),
            })
        }
        Expr::InList(InList { expr, list, negated }) if text(&expr) && list.iter().all(text) => Expr::InList(InList {
            expr: Box::new(trimmed(*expr, clean)),
            list: list.into_iter().map(|e| trimmed(e, clean)).collect(),
            negated,
        }),
        Expr::Between(Between { expr, negated, low, high }) if text(&expr) && text(&low) && text(&high) => {
            Expr::Between(Between {
                expr: Box::new(trimmed(*expr, clean)),
                negated,
                low: Box::new(trimmed(*low, clean)),
                high: Box::new(trimmed(*high, clean)),
            })
        }
        other => return Ok(Transformed::no(other)),
    };
    Ok(Transformed::yes(out))
}

fn compares(op: Operator) -> bool {
    matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom
    )
}

/// An operand of a string comparison without its trailing blanks.
fn trimmed(e: Expr, clean: &HashSet<Column>) -> Expr {
    match e {
        Expr::Literal(ScalarValue::Utf8(Some(s)), m) => Expr::Literal(ScalarValue::Utf8(Some(trim(s))), m),
        Expr::Literal(ScalarValue::Utf8View(Some(s)), m) => Expr::Literal(ScalarValue::Utf8View(Some(trim(s))), m),
        Expr::Literal(ScalarValue::LargeUtf8(Some(s)), m) => Expr::Literal(ScalarValue::LargeUtf8(Some(trim(s))), m),
        Expr::Literal(..) => e,
        Expr::Column(ref c) if clean.contains(c) => e,
        // Already trimmed (the rule met this comparison before: an analyzer pass may run twice).
        Expr::ScalarFunction(ref f) if f.func.name() == "rtrim" && f.args.len() == 1 => e,
        other => Expr::ScalarFunction(ScalarFunction::new_udf(datafusion::functions::string::rtrim(), vec![other])),
    }
}

fn trim(mut s: String) -> String {
    s.truncate(s.trim_end_matches(' ').len());
    s
}

/// The output columns of `plan` whose values never end in a blank: columns of stored tables
/// that were never given such a value, carried through the operators that pass columns on.
fn blank_free(plan: &LogicalPlan) -> HashSet<Column> {
    let positional = |input: &LogicalPlan, output: &DFSchema| -> HashSet<Column> {
        let inner = blank_free(input);
        input
            .schema()
            .columns()
            .into_iter()
            .zip(output.columns())
            .filter(|(i, _)| inner.contains(i))
            .map(|(_, o)| o)
            .collect()
    };
    match plan {
        LogicalPlan::TableScan(scan) => {
            let Ok(provider) = datafusion::datasource::source_as_provider(&scan.source) else { return HashSet::new() };
            let Some(table) = provider.downcast_ref::<StoredTable>() else { return HashSet::new() };
            scan.projected_schema.columns().into_iter().filter(|c| table.blank_free(&c.name)).collect()
        }
        LogicalPlan::Projection(_) | LogicalPlan::SubqueryAlias(_) => {
            let inner = blank_free(plan.inputs()[0]);
            let passed = crate::optimizer::passed_columns(plan).unwrap_or_default();
            passed.into_iter().filter(|(i, _)| inner.contains(i)).map(|(_, o)| o).collect()
        }
        LogicalPlan::Union(u) => {
            let mut sets = u.inputs.iter().map(|i| positional(i, &u.schema));
            let first = sets.next().unwrap_or_default();
            sets.fold(first, |acc, s| acc.intersection(&s).cloned().collect())
        }
        LogicalPlan::Aggregate(a) => {
            let inner = blank_free(&a.input);
            a.group_expr
                .iter()
                .zip(a.schema.columns())
                .filter(|(e, _)| matches!(e, Expr::Column(c) if inner.contains(c)))
                .map(|(_, o)| o)
                .collect()
        }
        // Operators whose output columns are their inputs' columns, unchanged.
        LogicalPlan::Filter(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Join(_)
        | LogicalPlan::Distinct(_)
        | LogicalPlan::Repartition(_)
        | LogicalPlan::Window(_)
        | LogicalPlan::Subquery(_) => {
            let inner: HashSet<Column> = plan.inputs().iter().flat_map(|i| blank_free(i)).collect();
            plan.schema().columns().into_iter().filter(|c| inner.contains(c)).collect()
        }
        _ => HashSet::new(),
    }
}
