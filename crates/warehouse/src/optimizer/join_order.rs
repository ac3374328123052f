//! `ReorderJoins`: DataFusion joins the tables of a FROM clause in the order they are written
//! (it only swaps the two inputs of each join). This rule orders a tree of inner joins over
//! stored tables greedily, as DuckDB does when its exact enumeration gives up ("greedy
//! operator ordering"): join first the two relations whose join is estimated smallest, until
//! one is left. Estimates come from the tables' row counts and the integer ranges of their
//! Parquet statistics (distinct values of a key ≤ its range), filters by textbook
//! selectivities (a range by the fraction of the column's range it covers), a join on keys as
//! |A|·|B| / the largest distinct count of its keys. A tree with a relation that is not a
//! (filtered) stored table is left as written.
use crate::stored::StoredTable;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, NullEquality, Result, ScalarValue};
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{BinaryExpr, Expr, Join, JoinConstraint, JoinType, LogicalPlan, Operator, Projection};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// More relations than this are left as written (greedy is quadratic per step, and such
/// queries are rare enough not to need it).
const MAX_RELATIONS: usize = 16;
/// What a filter keeps when nothing better is known.
const DEFAULT_SELECTIVITY: f64 = 0.25;
/// What an equality keeps of a column whose distinct values are unknown (a string's):
/// PostgreSQL's default, which reads `p_type = 'ECONOMY ANODIZED STEEL'` as selective and
/// `r_name = 'ASIA'` as one row.
const EQUALITY_SELECTIVITY: f64 = 0.005;

#[derive(Debug)]
pub struct ReorderJoins;

impl OptimizerRule for ReorderJoins {
    fn name(&self) -> &str {
        "nuage_reorder_joins"
    }

    fn rewrite(&self, plan: LogicalPlan, _config: &dyn OptimizerConfig) -> Result<Transformed<LogicalPlan>> {
        reorder(plan)
    }
}

fn reorder(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    plan.transform_down(|node| {
        if !is_inner(&node) {
            return Ok(Transformed::no(node));
        }
        let out = reorder_cluster(&node)?;
        // The cluster's relations were reordered inside; its joins are not visited again.
        Ok(match out {
            Some(plan) => Transformed::new(plan, true, TreeNodeRecursion::Jump),
            None => Transformed::new(node, false, TreeNodeRecursion::Continue),
        })
    })
}

fn is_inner(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::Join(j) if j.join_type == JoinType::Inner && j.null_equality == NullEquality::NullEqualsNothing)
}

/// A predicate of the join tree: an equality of one expression of each side (a join key) or
/// any other condition.
struct Predicate {
    expr: Expr,
    keys: Option<(Expr, Expr)>,
    relations: BTreeSet<usize>,
}

/// One relation of the greedy search: a leaf or a join built so far.
struct Relation {
    plan: LogicalPlan,
    rows: f64,
    /// Estimated distinct values per column.
    distinct: HashMap<Column, f64>,
    /// Estimated value ranges of integer-valued columns.
    ranges: HashMap<Column, (i64, i64)>,
    leaves: BTreeSet<usize>,
    shape: Shape,
}

/// Which relations a join tree joins, in which order and on which sides.
#[derive(Clone, Debug, PartialEq)]
enum Shape {
    Leaf(usize),
    Join(Box<Shape>, Box<Shape>),
}

fn flatten(plan: &LogicalPlan, root: bool, leaves: &mut Vec<LogicalPlan>, exprs: &mut Vec<Expr>) -> Shape {
    match plan {
        LogicalPlan::Join(j) if is_inner(plan) => {
            let left = flatten(&j.left, false, leaves, exprs);
            let right = flatten(&j.right, false, leaves, exprs);
            exprs.extend(j.on.iter().map(|(l, r)| l.clone().eq(r.clone())));
            if let Some(f) = &j.filter {
                exprs.extend(split_conjunction(f).into_iter().cloned());
            }
            Shape::Join(Box::new(left), Box::new(right))
        }
        // A projection between two joins only narrows the columns: the reordered tree is
        // narrowed once at its top.
        LogicalPlan::Projection(p)
            if !root && is_inner(&p.input) && p.expr.iter().all(|e| matches!(e, Expr::Column(_))) =>
        {
            flatten(&p.input, false, leaves, exprs)
        }
        other => {
            leaves.push(other.clone());
            Shape::Leaf(leaves.len() - 1)
        }
    }
}

fn reorder_cluster(root: &LogicalPlan) -> Result<Option<LogicalPlan>> {
    let (mut leaves, mut exprs) = (Vec::new(), Vec::new());
    let shape = flatten(root, true, &mut leaves, &mut exprs);
    if leaves.len() < 3 || leaves.len() > MAX_RELATIONS {
        return Ok(None);
    }
    // Joins inside the relations (a derived table's) are ordered on their own.
    let leaves = leaves.into_iter().map(|l| reorder(l).map(|t| t.data)).collect::<Result<Vec<_>>>()?;
    let Some(mut relations) =
        leaves.into_iter().enumerate().map(|(i, plan)| estimate(plan, i)).collect::<Option<Vec<Relation>>>()
    else {
        return Ok(None);
    };
    let owner = |c: &Column| relations.iter().position(|r| r.plan.schema().has_column(c));
    let mut predicates = Vec::new();
    for expr in exprs {
        let mut rels = BTreeSet::new();
        for c in expr.column_refs() {
            match owner(c) {
                Some(i) => rels.insert(i),
                None => return Ok(None),
            };
        }
        let keys = match &expr {
            Expr::BinaryExpr(BinaryExpr { left, op: Operator::Eq, right }) => Some((*left.clone(), *right.clone())),
            _ => None,
        };
        predicates.push(Predicate { expr, keys, relations: rels });
    }
    let mut used = vec![false; predicates.len()];
    while relations.len() > 1 {
        let mut best: Option<(usize, usize, f64)> = None;
        for i in 0..relations.len() {
            for j in i + 1..relations.len() {
                let keys = join_keys(&relations[i], &relations[j], &predicates, &used);
                if keys.is_empty() {
                    continue;
                }
                let rows = join_rows(&relations[i], &relations[j], &keys);
                if best.is_none_or(|(_, _, b)| rows < b) {
                    best = Some((i, j, rows));
                }
            }
        }
        // No two relations share a key: the two smallest are crossed.
        let (i, j) = match best {
            Some((i, j, _)) => (i, j),
            None => {
                let mut order: Vec<usize> = (0..relations.len()).collect();
                order.sort_by(|a, b| relations[*a].rows.total_cmp(&relations[*b].rows));
                (order[0].min(order[1]), order[0].max(order[1]))
            }
        };
        let b = relations.remove(j);
        let a = relations.remove(i);
        relations.push(join(a, b, &predicates, &mut used)?);
    }
    if used.iter().any(|u| !u) {
        return Ok(None);
    }
    let joined = relations.pop().expect("one relation");
    // Already in this order (the optimizer runs its rules more than once): the tree is kept
    // with the projections DataFusion put between its joins since.
    if joined.shape == shape {
        return Ok(None);
    }
    let joined = joined.plan;
    // The columns the tree gave, in its order.
    let wanted: Vec<Expr> = root.schema().columns().into_iter().map(Expr::Column).collect();
    if joined.schema().columns() == root.schema().columns() {
        return Ok(Some(joined));
    }
    Ok(Some(LogicalPlan::Projection(Projection::try_new(wanted, Arc::new(joined))?)))
}

/// The unused equalities between `a` and `b` usable as join keys, oriented (a's, b's).
fn join_keys(a: &Relation, b: &Relation, predicates: &[Predicate], used: &[bool]) -> Vec<(Expr, Expr)> {
    let mut keys = Vec::new();
    for (p, u) in predicates.iter().zip(used) {
        let Some((l, r)) = &p.keys else { continue };
        if *u || !p.relations.is_subset(&a.leaves.union(&b.leaves).cloned().collect()) {
            continue;
        }
        let within = |e: &Expr, rel: &Relation| e.column_refs().iter().all(|c| rel.plan.schema().has_column(c));
        let has = |e: &Expr| !e.column_refs().is_empty();
        if has(l) && has(r) && within(l, a) && within(r, b) {
            keys.push((l.clone(), r.clone()));
        } else if has(l) && has(r) && within(r, a) && within(l, b) {
            keys.push((r.clone(), l.clone()));
        }
    }
    keys
}

/// The distinct values of a key of a relation of `rows` rows: its column's, else all rows.
fn distinct(e: &Expr, distinct: &HashMap<Column, f64>, rows: f64) -> f64 {
    match e {
        Expr::Column(c) => distinct.get(c).copied().unwrap_or(rows).min(rows),
        _ => rows,
    }
    .max(1.0)
}

/// |A|·|B| over the largest distinct count of the key pairs: the most selective pair decides,
/// since keys that form one composite key (partsupp's part and supplier) are not independent,
/// and multiplying their selectivities makes a join of millions of rows look like one of
/// thousands.
fn joined_rows<'a>(
    (a_rows, a_distinct): (f64, &HashMap<Column, f64>),
    (b_rows, b_distinct): (f64, &HashMap<Column, f64>),
    keys: impl IntoIterator<Item = (&'a Expr, &'a Expr)>,
) -> f64 {
    let divisor = keys
        .into_iter()
        .map(|(ka, kb)| distinct(ka, a_distinct, a_rows).max(distinct(kb, b_distinct, b_rows)))
        .fold(1.0, f64::max);
    a_rows * b_rows / divisor
}

fn join_rows(a: &Relation, b: &Relation, keys: &[(Expr, Expr)]) -> f64 {
    joined_rows((a.rows, &a.distinct), (b.rows, &b.distinct), keys.iter().map(|(ka, kb)| (ka, kb))).max(1.0)
}

/// Joins two relations on their shared keys; the predicates that become evaluable there and
/// are not keys are its filter. The smaller relation is the left (the build side).
fn join(a: Relation, b: Relation, predicates: &[Predicate], used: &mut [bool]) -> Result<Relation> {
    let (a, b) = if b.rows < a.rows { (b, a) } else { (a, b) };
    let keys = join_keys(&a, &b, predicates, used);
    let leaves: BTreeSet<usize> = a.leaves.union(&b.leaves).cloned().collect();
    let mut filters = Vec::new();
    for (p, u) in predicates.iter().zip(used.iter_mut()) {
        if *u || !p.relations.is_subset(&leaves) {
            continue;
        }
        *u = true;
        let is_key = p
            .keys
            .as_ref()
            .is_some_and(|(l, r)| keys.iter().any(|(ka, kb)| (ka == l && kb == r) || (ka == r && kb == l)));
        if !is_key {
            filters.push(p.expr.clone());
        }
    }
    let rows = join_rows(&a, &b, &keys);
    let mut distinct: HashMap<Column, f64> = a.distinct.into_iter().chain(b.distinct).collect();
    for d in distinct.values_mut() {
        *d = d.min(rows);
    }
    let ranges = a.ranges.into_iter().chain(b.ranges).collect();
    let plan = LogicalPlan::Join(Join::try_new(
        Arc::new(a.plan),
        Arc::new(b.plan),
        keys,
        conjunction(filters),
        JoinType::Inner,
        JoinConstraint::On,
        NullEquality::NullEqualsNothing,
        false,
    )?);
    let shape = Shape::Join(Box::new(a.shape), Box::new(b.shape));
    Ok(Relation { plan, rows, distinct, ranges, leaves, shape })
}

/// A leaf's estimate: a stored table, filtered, projected, renamed, aggregated or joined; None
/// for anything else.
fn estimate(plan: LogicalPlan, index: usize) -> Option<Relation> {
    let (rows, distinct, ranges) = leaf_stats(&plan)?;
    Some(Relation { plan, rows, distinct, ranges, leaves: BTreeSet::from([index]), shape: Shape::Leaf(index) })
}

type Stats = (f64, HashMap<Column, f64>, HashMap<Column, (i64, i64)>);

/// The share of a relation's rows a semi join on its column `key` keeps: as many of the
/// column's distinct values as the right side has rows, at most.
fn semi_share(rows: f64, key_distinct: Option<f64>, right: &LogicalPlan) -> Option<f64> {
    let (right_rows, _, _) = leaf_stats(right)?;
    Some((right_rows / key_distinct.unwrap_or(rows).max(1.0)).min(1.0))
}

/// `semi_share` for a semi join on `key`, a column of `left`; None where either side cannot
/// be estimated.
pub(super) fn semi_join_share(left: &LogicalPlan, key: &Column, right: &LogicalPlan) -> Option<f64> {
    let (rows, distinct, _) = leaf_stats(left)?;
    semi_share(rows, distinct.get(key).copied(), right)
}

/// The rows a (filtered, projected, aggregated) stored table is estimated to give.
pub(super) fn estimated_rows(plan: &LogicalPlan) -> Option<f64> {
    leaf_stats(plan).map(|(rows, _, _)| rows)
}

fn leaf_stats(plan: &LogicalPlan) -> Option<Stats> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let provider = datafusion::datasource::source_as_provider(&scan.source).ok()?;
            let table = provider.downcast_ref::<StoredTable>()?;
            let rows = table.rows as f64;
            let by_name = table.ranges();
            let mut distinct = HashMap::new();
            let mut ranges = HashMap::new();
            for c in scan.projected_schema.columns() {
                if let Some((lo, hi)) = by_name.get(&c.name) {
                    distinct.insert(c.clone(), ((hi - lo) as f64 + 1.0).min(rows));
                    ranges.insert(c, (*lo, *hi));
                }
            }
            Some((rows, distinct, ranges))
        }
        LogicalPlan::Filter(f) => {
            let (rows, mut distinct, ranges) = leaf_stats(&f.input)?;
            let kept = (rows * selectivity(&f.predicate, rows, &distinct, &ranges)).max(1.0);
            for d in distinct.values_mut() {
                *d = d.min(kept);
            }
            Some((kept, distinct, ranges))
        }
        LogicalPlan::Projection(_) | LogicalPlan::SubqueryAlias(_) => {
            let (rows, distinct, ranges) = leaf_stats(plan.inputs()[0])?;
            let (mut d2, mut r2) = (HashMap::new(), HashMap::new());
            for (inner, out) in super::passed_columns(plan)? {
                if let Some(d) = distinct.get(&inner) {
                    d2.insert(out.clone(), *d);
                }
                if let Some(r) = ranges.get(&inner) {
                    r2.insert(out, *r);
                }
            }
            Some((rows, d2, r2))
        }
        // An inner join, estimated as the greedy search estimates its joins.
        LogicalPlan::Join(j) if is_inner(plan) => {
            let (lr, ld, lg) = leaf_stats(&j.left)?;
            let (rr, rd, rg) = leaf_stats(&j.right)?;
            let mut rows = joined_rows((lr, &ld), (rr, &rd), j.on.iter().map(|(a, b)| (a, b)));
            if j.filter.is_some() {
                rows *= DEFAULT_SELECTIVITY;
            }
            let rows = rows.max(1.0);
            let distinct = ld.into_iter().chain(rd).map(|(c, d)| (c, d.min(rows))).collect();
            Some((rows, distinct, lg.into_iter().chain(rg).collect()))
        }
        // A semi join keeps the share of its left rows whose key the right side holds (as
        // many distinct keys as it has rows, at most); an anti join the others.
        LogicalPlan::Join(j) if matches!(j.join_type, JoinType::LeftSemi | JoinType::LeftAnti) => {
            let (rows, distinct, ranges) = leaf_stats(&j.left)?;
            let share = match j.on.first() {
                Some((Expr::Column(c), _)) => semi_share(rows, distinct.get(c).copied(), &j.right).unwrap_or(0.5),
                _ => 0.5,
            };
            let share = if j.join_type == JoinType::LeftAnti { 1.0 - share } else { share };
            let kept = (rows * share).max(1.0);
            Some((kept, distinct.into_iter().map(|(c, d)| (c, d.min(kept))).collect(), ranges))
        }
        // A group per distinct combination of the grouping columns, at most one per row.
        LogicalPlan::Aggregate(a) => {
            let (rows, distinct, ranges) = leaf_stats(&a.input)?;
            let mut groups = 1.0f64;
            let (mut d2, mut r2) = (HashMap::new(), HashMap::new());
            for (e, out) in a.group_expr.iter().zip(a.schema.columns()) {
                let Expr::Column(c) = e else { return None };
                let d = distinct.get(c).copied().unwrap_or(rows);
                groups *= d;
                d2.insert(out.clone(), d);
                if let Some(r) = ranges.get(c) {
                    r2.insert(out, *r);
                }
            }
            Some((groups.min(rows).max(1.0), d2, r2))
        }
        _ => None,
    }
}

/// The integer a literal compares as with an integer-valued column (dates as days, decimals
/// as their unscaled value, which the column's statistics hold once coercion gave the literal
/// the column's scale).
fn literal_number(e: &Expr) -> Option<i64> {
    let Expr::Literal(v, _) = e else { return None };
    match v {
        ScalarValue::Int8(Some(x)) => Some(*x as i64),
        ScalarValue::Int16(Some(x)) => Some(*x as i64),
        ScalarValue::Int32(Some(x)) => Some(*x as i64),
        ScalarValue::Int64(Some(x)) => Some(*x),
        ScalarValue::Date32(Some(x)) => Some(*x as i64),
        ScalarValue::Decimal128(Some(x), _, _) => i64::try_from(*x).ok(),
        _ => None,
    }
}

fn selectivity(e: &Expr, rows: f64, distinct: &HashMap<Column, f64>, ranges: &HashMap<Column, (i64, i64)>) -> f64 {
    let sel = |e: &Expr| selectivity(e, rows, distinct, ranges);
    let equal = |c: &Expr| match c {
        Expr::Column(c) => distinct.get(c).map(|d| 1.0 / d.max(1.0)).unwrap_or(EQUALITY_SELECTIVITY),
        _ => EQUALITY_SELECTIVITY,
    };
    // The fraction of a column's range on one side of a value.
    let below = |c: &Expr, v: &Expr| -> Option<f64> {
        let Expr::Column(c) = c else { return None };
        let (lo, hi) = ranges.get(c)?;
        let v = literal_number(v)?;
        Some((((v - lo) as f64) / ((hi - lo) as f64 + 1.0)).clamp(0.0, 1.0))
    };
    let s = match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => sel(left) * sel(right),
            Operator::Or => {
                let (a, b) = (sel(left), sel(right));
                a + b - a * b
            }
            Operator::Eq if matches!(right.as_ref(), Expr::Literal(..)) => equal(left),
            Operator::Eq if matches!(left.as_ref(), Expr::Literal(..)) => equal(right),
            Operator::NotEq => 1.0 - equal(left).min(equal(right)),
            Operator::Lt | Operator::LtEq => {
                below(left, right).or_else(|| below(right, left).map(|f| 1.0 - f)).unwrap_or(1.0 / 3.0)
            }
            Operator::Gt | Operator::GtEq => {
                below(left, right).map(|f| 1.0 - f).or_else(|| below(right, left)).unwrap_or(1.0 / 3.0)
            }
            _ => DEFAULT_SELECTIVITY,
        },
        Expr::Between(b) => {
            let inside = below(&b.expr, &b.high).zip(below(&b.expr, &b.low)).map(|(h, l)| (h - l).max(0.0));
            let s = inside.unwrap_or(DEFAULT_SELECTIVITY);
            if b.negated {
                1.0 - s
            } else {
                s
            }
        }
        Expr::InList(l) => {
            let s = (l.list.len() as f64 * equal(&l.expr)).min(1.0);
            if l.negated {
                1.0 - s
            } else {
                s
            }
        }
        Expr::Not(inner) => 1.0 - sel(inner),
        Expr::Like(l) if l.negated => 0.9,
        Expr::Like(_) => 0.1,
        _ => DEFAULT_SELECTIVITY,
    };
    s.clamp(1.0 / rows.max(1.0), 1.0)
}
