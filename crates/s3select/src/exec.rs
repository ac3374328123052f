//! Running a bound statement: the plan every worker shares, each worker's part of the answer
//! (its output and aggregate states, merged in input order), and the collector that sends the
//! answer as events with the statistics.
use crate::ast::{Agg, Expr, Statement};
use crate::error::{Result, SelectError};
use crate::eval::{eval, Env, Row, Scope};
use crate::output::Output;
use crate::value::{self, Value};
use crate::{Sink, Stats};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Records are sent in events of about this size.
pub(crate) const EVENT_BYTES: usize = 256 * 1024;

/// What every worker shares: the statement bound to the input and how to write its answer.
pub(crate) struct Plan {
    pub stmt: Statement,
    pub names: Vec<String>,
    pub scope: Scope,
    pub output: Output,
    /// Each aggregate and its argument, by slot (`None` for COUNT(*)).
    aggregates: Vec<(Agg, Option<Expr>)>,
}

/// One worker's share of the answer: output text, the rows it holds, aggregate states.
pub(crate) struct Part {
    pub out: String,
    /// Output already cut into events (a worker's chunk can answer with several).
    pub events: Vec<String>,
    pub rows: u64,
    aggregates: Vec<Accumulator>,
    /// `_1`, `_2`, … for `SELECT *` of CSV records without a header, built once.
    positional: Vec<String>,
}

impl Plan {
    pub fn new(mut stmt: Statement, names: Vec<String>, scope: Scope, output: Output) -> Result<Plan> {
        let mut found: Vec<(usize, Agg, Option<Expr>)> = Vec::new();
        for p in stmt.projections.iter_mut().flatten() {
            p.expr.visit_mut(&mut |e| {
                if let Expr::Aggregate { agg, arg, slot } = e {
                    found.push((*slot, *agg, arg.as_deref().cloned()));
                    return Ok(false);
                }
                Ok(true)
            })?;
        }
        found.sort_by_key(|(slot, _, _)| *slot);
        let aggregates = found.into_iter().map(|(_, a, e)| (a, e)).collect();
        Ok(Plan { stmt, names, scope, output, aggregates })
    }

    pub fn part(&self) -> Part {
        Part {
            out: String::new(),
            events: Vec::new(),
            rows: 0,
            aggregates: self.aggregates.iter().map(|(a, _)| Accumulator::new(*a)).collect(),
            positional: Vec::new(),
        }
    }

    /// Whether LIMIT has been reached with `rows` output.
    pub fn limit_reached(&self, rows: u64) -> bool {
        self.aggregates.is_empty() && self.stmt.limit.is_some_and(|l| rows >= l)
    }

    /// One input row: filtered, then projected into the part's output or folded into its
    /// aggregates.
    pub fn row(&self, part: &mut Part, row: Row<'_>) -> Result<()> {
        let env = Env { row, aggregates: &[], scope: &self.scope };
        if let Some(f) = &self.stmt.filter {
            if !eval(f, &env)?.truthy() {
                return Ok(());
            }
        }
        if !self.aggregates.is_empty() {
            for (acc, (_, arg)) in part.aggregates.iter_mut().zip(&self.aggregates) {
                acc.add(match arg {
                    Some(a) => Some(eval(a, &env)?),
                    None => None,
                })?;
            }
            return Ok(());
        }
        match &self.stmt.projections {
            None => self.write_row(part, row),
            Some(list) => {
                let mut values = Vec::with_capacity(list.len());
                for p in list {
                    values.push(eval(&p.expr, &env)?);
                }
                self.output.write(self.names.iter().map(String::as_str).zip(values.iter()), &mut part.out);
            }
        }
        part.rows += 1;
        Ok(())
    }

    /// `SELECT *`: the row as it was read.
    fn write_row(&self, part: &mut Part, row: Row<'_>) {
        match row {
            Row::Csv(rec) => {
                let values: Vec<Value> = rec.iter().map(|f| Value::Str(String::from_utf8_lossy(f))).collect();
                let names: &[String] = if self.names.len() >= values.len() {
                    &self.names
                } else {
                    while part.positional.len() < values.len() {
                        part.positional.push(format!("_{}", part.positional.len() + 1));
                    }
                    &part.positional
                };
                self.output.write(names.iter().map(String::as_str).zip(values.iter()), &mut part.out);
            }
            Row::Doc(Value::Struct(fields)) => {
                self.output.write(fields.iter().map(|(k, v)| (k.as_ref(), v)), &mut part.out)
            }
            Row::Doc(v) => self.output.write(std::iter::once(("_1", v)), &mut part.out),
            Row::None => {}
        }
    }

    /// The single row of an aggregate query, from the part holding every row's states.
    pub fn answer(&self, part: &mut Part) -> Result<()> {
        if self.aggregates.is_empty() || self.stmt.limit == Some(0) {
            return Ok(());
        }
        let results: Vec<Value<'static>> = part.aggregates.iter().map(Accumulator::result).collect();
        let env = Env { row: Row::None, aggregates: &results, scope: &self.scope };
        let mut values = Vec::new();
        for p in self.stmt.projections.iter().flatten() {
            values.push(eval(&p.expr, &env)?);
        }
        self.output.write(self.names.iter().map(String::as_str).zip(values.iter()), &mut part.out);
        Ok(())
    }
}

impl Part {
    /// Folds the aggregate states of a later part into this one.
    pub fn merge_aggregates(&mut self, later: Part) -> Result<()> {
        for (a, b) in self.aggregates.iter_mut().zip(later.aggregates) {
            a.merge(b)?;
        }
        Ok(())
    }
}

/// Sends the answer: records in events, progress, keep-alives, the statistics.
pub(crate) struct Collector<'s> {
    sink: &'s mut dyn Sink,
    pub stats: Stats,
    scanned: Arc<AtomicU64>,
    processed: Arc<AtomicU64>,
    progress: bool,
    last_event: Instant,
    rows_since_check: u32,
}

impl<'s> Collector<'s> {
    pub fn new(
        sink: &'s mut dyn Sink,
        scanned: Arc<AtomicU64>,
        processed: Arc<AtomicU64>,
        progress: bool,
    ) -> Collector<'s> {
        Collector {
            sink,
            stats: Stats::default(),
            scanned,
            processed,
            progress,
            last_event: Instant::now(),
            rows_since_check: 0,
        }
    }

    fn refresh(&mut self) {
        self.stats.bytes_scanned = self.scanned.load(Ordering::Relaxed);
        self.stats.bytes_processed = self.processed.load(Ordering::Relaxed);
    }

    /// Sends `out` as a Records event (and progress when asked for), leaving it empty.
    pub fn flush(&mut self, out: &mut String) -> Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        self.stats.bytes_returned += out.len() as u64;
        self.sink.records(out.as_bytes())?;
        out.clear();
        self.last_event = Instant::now();
        if self.progress {
            self.refresh();
            self.sink.progress(&self.stats)?;
        }
        Ok(())
    }

    /// Called per row: every few thousand, see whether the connection needs a sign of life.
    pub fn tick(&mut self) -> Result<()> {
        self.rows_since_check += 1;
        if self.rows_since_check < 4096 {
            return Ok(());
        }
        self.rows_since_check = 0;
        self.idle_check()
    }

    /// A Cont event (or Progress, when asked for) when nothing has been sent for a second.
    pub fn idle_check(&mut self) -> Result<()> {
        if self.last_event.elapsed() >= Duration::from_secs(1) {
            if self.progress {
                self.refresh();
                self.sink.progress(&self.stats)?;
            } else {
                self.sink.keep_alive()?;
            }
            self.last_event = Instant::now();
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<Stats> {
        self.refresh();
        if self.progress {
            self.sink.progress(&self.stats)?;
        }
        Ok(self.stats)
    }
}

/// A query run on one thread, row after row.
pub(crate) struct Sequential<'p, 's> {
    pub plan: &'p Plan,
    pub part: Part,
    pub collector: Collector<'s>,
}

impl Sequential<'_, '_> {
    /// One row; false once LIMIT is reached.
    pub fn row(&mut self, row: Row<'_>) -> Result<bool> {
        self.collector.tick()?;
        self.plan.row(&mut self.part, row)?;
        if self.part.out.len() >= EVENT_BYTES {
            self.collector.flush(&mut self.part.out)?;
        }
        Ok(!self.done())
    }

    pub fn done(&self) -> bool {
        self.plan.limit_reached(self.part.rows)
    }

    pub fn finish(mut self) -> Result<Stats> {
        self.plan.answer(&mut self.part)?;
        self.collector.flush(&mut self.part.out)?;
        self.collector.finish()
    }
}

/// The running value of one aggregate.
#[derive(Debug, Clone)]
enum Accumulator {
    Count(i64),
    Sum(Option<Value<'static>>),
    Avg(f64, i64),
    /// MIN (`Less`) or MAX (`Greater`): the best value so far.
    Best(std::cmp::Ordering, Option<Value<'static>>),
}

fn overflow() -> SelectError {
    SelectError::new("IntegerOverflow", "An integer overflow occurred in SUM.")
}

fn add_numbers(a: Value<'static>, b: Value<'static>) -> Result<Value<'static>> {
    Ok(match (a, b) {
        (Value::Int(a), Value::Int(b)) => Value::Int(a.checked_add(b).ok_or_else(overflow)?),
        (a, b) => Value::Float(as_f64(&a) + as_f64(&b)),
    })
}

impl Accumulator {
    fn new(agg: Agg) -> Accumulator {
        match agg {
            Agg::Count => Accumulator::Count(0),
            Agg::Sum => Accumulator::Sum(None),
            Agg::Avg => Accumulator::Avg(0.0, 0),
            Agg::Min => Accumulator::Best(std::cmp::Ordering::Less, None),
            Agg::Max => Accumulator::Best(std::cmp::Ordering::Greater, None),
        }
    }

    /// Folds one row's argument in (`None`: COUNT(*), which counts every row).
    fn add(&mut self, v: Option<Value<'_>>) -> Result<()> {
        let Some(v) = v else {
            if let Accumulator::Count(n) = self {
                *n += 1;
            }
            return Ok(());
        };
        if v.is_absent() {
            return Ok(());
        }
        let number = |v: &Value| {
            v.as_number().ok_or_else(|| {
                let mut s = String::new();
                value::to_text(v, &mut s);
                SelectError::new("IncorrectSqlFunctionArgumentType", format!("SUM and AVG take numbers, not '{s}'."))
            })
        };
        match self {
            Accumulator::Count(n) => *n += 1,
            Accumulator::Sum(total) => {
                let n = number(&v)?;
                *total = Some(match total.take() {
                    None => n,
                    Some(t) => add_numbers(t, n)?,
                });
            }
            Accumulator::Avg(sum, count) => {
                *sum += as_f64(&number(&v)?);
                *count += 1;
            }
            Accumulator::Best(want, best) => {
                if best.as_ref().is_none_or(|b| value::compare(&v, b) == Some(*want)) {
                    *best = Some(v.into_owned());
                }
            }
        }
        Ok(())
    }

    /// Folds in the state of the same aggregate over later rows.
    fn merge(&mut self, later: Accumulator) -> Result<()> {
        match (self, later) {
            (Accumulator::Count(a), Accumulator::Count(b)) => *a += b,
            (Accumulator::Sum(a), Accumulator::Sum(b)) => {
                *a = match (a.take(), b) {
                    (Some(x), Some(y)) => Some(add_numbers(x, y)?),
                    (x, y) => x.or(y),
                }
            }
            (Accumulator::Avg(s, n), Accumulator::Avg(t, m)) => {
                *s += t;
                *n += m;
            }
            (Accumulator::Best(want, a), Accumulator::Best(_, b)) => {
                if let Some(b) = b {
                    if a.as_ref().is_none_or(|x| value::compare(&b, x) == Some(*want)) {
                        *a = Some(b);
                    }
                }
            }
            _ => return Err(SelectError::internal("Aggregate states of different kinds.")),
        }
        Ok(())
    }

    fn result(&self) -> Value<'static> {
        match self {
            Accumulator::Count(n) => Value::Int(*n),
            Accumulator::Sum(v) | Accumulator::Best(_, v) => v.clone().unwrap_or(Value::Null),
            Accumulator::Avg(_, 0) => Value::Null,
            Accumulator::Avg(sum, n) => Value::Float(sum / *n as f64),
        }
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => f64::NAN,
    }
}
