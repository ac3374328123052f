//! GetMetricData: metric queries and metric math. Each `MetricStat` query reads its metric's
//! statistic per period; expressions combine the series by id with arithmetic (`+ - * / ^`),
//! arrays `[a, b]`, `METRICS()`, and the functions SUM, AVG, MIN, MAX, STDDEV (an array into one
//! series, a series into a scalar), ABS, CEIL, FLOOR, DIFF, RATE, RUNNING_SUM, FILL and PERIOD.
use crate::metrics::{check_period, dimension_set, period_origin, valid_statistic};
use crate::{invalid, CloudWatch, Scope, E};
use nuage_core::{AwsError, AwsResult};
use nuage_protocol::cloudwatch as m;
use nuage_protocol::Timestamp;
use std::collections::BTreeMap;

/// A time series: period start (ms) → value.
pub(crate) type Series = BTreeMap<i64, f64>;

#[derive(Debug, Clone)]
enum Val {
    Scalar(f64),
    Series(Series, i64),
    Array(Vec<(Series, i64)>),
}

fn bad(id: &str, msg: impl std::fmt::Display) -> AwsError {
    E::ValidationException.msg(format!("Error in expression '{id}': {msg}"))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Str(String),
    Sym(char),
}

fn lex(id: &str, s: &str) -> AwsResult<Vec<Tok>> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch.is_ascii_digit() || (ch == '.' && c.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let start = i;
            while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.' || c[i] == 'e' || c[i] == 'E') {
                i += 1;
            }
            let text: String = c[start..i].iter().collect();
            out.push(Tok::Num(text.parse().map_err(|_| bad(id, format!("invalid number {text}")))?));
        } else if ch.is_ascii_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else if ch == '"' || ch == '\'' {
            let start = i + 1;
            i += 1;
            while i < c.len() && c[i] != ch {
                i += 1;
            }
            if i == c.len() {
                return Err(bad(id, "unterminated string"));
            }
            out.push(Tok::Str(c[start..i].iter().collect()));
            i += 1;
        } else if "+-*/^(),[]".contains(ch) {
            out.push(Tok::Sym(ch));
            i += 1;
        } else {
            return Err(bad(id, format!("unexpected character '{ch}'")));
        }
    }
    Ok(out)
}

/// Evaluation of one expression against the results of the queries it names.
struct Eval<'a> {
    id: &'a str,
    toks: Vec<Tok>,
    pos: usize,
    known: &'a BTreeMap<String, Val>,
    /// Ids of the metric queries, in order, for METRICS().
    metric_ids: &'a [String],
    grid: (i64, i64),
}

fn combine(a: &Series, b: &Series, f: impl Fn(f64, f64) -> f64) -> Series {
    a.iter().filter_map(|(t, x)| b.get(t).map(|y| (*t, f(*x, *y)))).filter(|(_, v)| v.is_finite()).collect()
}

fn binary(id: &str, op: char, a: Val, b: Val) -> AwsResult<Val> {
    let f = move |x: f64, y: f64| match op {
        '+' => x + y,
        '-' => x - y,
        '*' => x * y,
        '/' => x / y,
        _ => x.powf(y),
    };
    let map = |s: &Series, g: &dyn Fn(f64) -> f64| {
        s.iter().map(|(t, v)| (*t, g(*v))).filter(|(_, v)| v.is_finite()).collect()
    };
    Ok(match (a, b) {
        (Val::Scalar(x), Val::Scalar(y)) => Val::Scalar(f(x, y)),
        (Val::Series(s, p), Val::Scalar(y)) => Val::Series(map(&s, &|x| f(x, y)), p),
        (Val::Scalar(x), Val::Series(s, p)) => Val::Series(map(&s, &|y| f(x, y)), p),
        (Val::Series(a, p), Val::Series(b, _)) => Val::Series(combine(&a, &b, f), p),
        (Val::Array(list), Val::Scalar(y)) => {
            Val::Array(list.into_iter().map(|(s, p)| (map(&s, &|x| f(x, y)), p)).collect())
        }
        (Val::Scalar(x), Val::Array(list)) => {
            Val::Array(list.into_iter().map(|(s, p)| (map(&s, &|y| f(x, y)), p)).collect())
        }
        (Val::Array(list), Val::Series(b, _)) => {
            Val::Array(list.into_iter().map(|(s, p)| (combine(&s, &b, f), p)).collect())
        }
        (Val::Series(a, _), Val::Array(list)) => {
            Val::Array(list.into_iter().map(|(s, p)| (combine(&a, &s, f), p)).collect())
        }
        (Val::Array(_), Val::Array(_)) => {
            return Err(bad(id, "arithmetic between two arrays of time series is not supported"))
        }
    })
}

fn reduce(values: &[f64], f: &str) -> f64 {
    let n = values.len() as f64;
    match f {
        "SUM" => values.iter().sum(),
        "AVG" => values.iter().sum::<f64>() / n,
        "MIN" => values.iter().copied().fold(f64::INFINITY, f64::min),
        "MAX" => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        _ => {
            let mean = values.iter().sum::<f64>() / n;
            (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt()
        }
    }
}

impl Eval<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Sym(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: char) -> AwsResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(bad(self.id, format!("expected '{c}'")))
        }
    }

    fn expr(&mut self) -> AwsResult<Val> {
        let mut v = self.term()?;
        while let Some(Tok::Sym(op @ ('+' | '-'))) = self.peek().cloned() {
            self.pos += 1;
            v = binary(self.id, op, v, self.term()?)?;
        }
        Ok(v)
    }
    fn term(&mut self) -> AwsResult<Val> {
        let mut v = self.power()?;
        while let Some(Tok::Sym(op @ ('*' | '/'))) = self.peek().cloned() {
            self.pos += 1;
            v = binary(self.id, op, v, self.power()?)?;
        }
        Ok(v)
    }
    fn power(&mut self) -> AwsResult<Val> {
        let v = self.unary()?;
        if self.eat('^') {
            return binary(self.id, '^', v, self.unary()?);
        }
        Ok(v)
    }
    fn unary(&mut self) -> AwsResult<Val> {
        if self.eat('-') {
            let v = self.unary()?;
            return binary(self.id, '*', Val::Scalar(-1.0), v);
        }
        self.primary()
    }
    fn primary(&mut self) -> AwsResult<Val> {
        let tok = self.peek().cloned().ok_or_else(|| bad(self.id, "unexpected end of expression"))?;
        self.pos += 1;
        match tok {
            Tok::Num(n) => Ok(Val::Scalar(n)),
            Tok::Sym('(') => {
                let v = self.expr()?;
                self.expect(')')?;
                Ok(v)
            }
            Tok::Sym('[') => {
                let mut list = Vec::new();
                loop {
                    match self.expr()? {
                        Val::Series(s, p) => list.push((s, p)),
                        Val::Array(a) => list.extend(a),
                        Val::Scalar(_) => return Err(bad(self.id, "an array holds time series, not scalars")),
                    }
                    if !self.eat(',') {
                        break;
                    }
                }
                self.expect(']')?;
                Ok(Val::Array(list))
            }
            Tok::Ident(name) if self.peek() == Some(&Tok::Sym('(')) => {
                self.pos += 1;
                self.call(&name.to_ascii_uppercase())
            }
            Tok::Ident(name) => self
                .known
                .get(&name)
                .cloned()
                .ok_or_else(|| bad(self.id, format!("Unrecognized metric or expression id '{name}'"))),
            other => Err(bad(self.id, format!("unexpected {other:?}"))),
        }
    }

    fn call(&mut self, f: &str) -> AwsResult<Val> {
        if f == "METRICS" {
            let filter = match self.peek().cloned() {
                Some(Tok::Str(s)) => {
                    self.pos += 1;
                    Some(s)
                }
                _ => None,
            };
            self.expect(')')?;
            let list = self
                .metric_ids
                .iter()
                .filter(|id| filter.as_ref().is_none_or(|f| id.contains(f.as_str())))
                .filter_map(|id| match self.known.get(id) {
                    Some(Val::Series(s, p)) => Some((s.clone(), *p)),
                    _ => None,
                })
                .collect();
            return Ok(Val::Array(list));
        }
        let arg = self.expr()?;
        let second = if self.eat(',') {
            Some(match self.peek().cloned() {
                Some(Tok::Ident(k)) if ["REPEAT", "LINEAR"].contains(&k.to_ascii_uppercase().as_str()) => {
                    self.pos += 1;
                    Err(k.to_ascii_uppercase())
                }
                _ => Ok(self.expr()?),
            })
        } else {
            None
        };
        self.expect(')')?;
        let elementwise = |v: Val, g: &dyn Fn(f64) -> f64| -> Val {
            let map = |s: Series| s.into_iter().map(|(t, x)| (t, g(x))).collect::<Series>();
            match v {
                Val::Scalar(x) => Val::Scalar(g(x)),
                Val::Series(s, p) => Val::Series(map(s), p),
                Val::Array(a) => Val::Array(a.into_iter().map(|(s, p)| (map(s), p)).collect()),
            }
        };
        let per_series = |v: Val, g: &dyn Fn(&Series, i64) -> Series| -> AwsResult<Val> {
            Ok(match v {
                Val::Series(s, p) => Val::Series(g(&s, p), p),
                Val::Array(a) => Val::Array(a.into_iter().map(|(s, p)| (g(&s, p), p)).collect()),
                Val::Scalar(_) => return Err(bad(self.id, format!("{f} takes a time series"))),
            })
        };
        match f {
            "SUM" | "AVG" | "MIN" | "MAX" | "STDDEV" => Ok(match arg {
                Val::Scalar(x) => Val::Scalar(x),
                Val::Series(s, _) if s.is_empty() => Val::Scalar(f64::NAN),
                Val::Series(s, _) => Val::Scalar(reduce(&s.values().copied().collect::<Vec<_>>(), f)),
                Val::Array(list) => {
                    let period = list.first().map(|(_, p)| *p).unwrap_or(60_000);
                    let mut at: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
                    for (s, _) in &list {
                        for (t, v) in s {
                            at.entry(*t).or_default().push(*v);
                        }
                    }
                    Val::Series(at.into_iter().map(|(t, v)| (t, reduce(&v, f))).collect(), period)
                }
            }),
            "ABS" => Ok(elementwise(arg, &f64::abs)),
            "CEIL" => Ok(elementwise(arg, &f64::ceil)),
            "FLOOR" => Ok(elementwise(arg, &f64::floor)),
            "DIFF" | "RATE" => per_series(arg, &|s, p| {
                let pts: Vec<(i64, f64)> = s.iter().map(|(t, v)| (*t, *v)).collect();
                pts.windows(2)
                    .map(|w| {
                        let d = w[1].1 - w[0].1;
                        (w[1].0, if f == "RATE" { d / ((w[1].0 - w[0].0).max(p) as f64 / 1000.0) } else { d })
                    })
                    .collect()
            }),
            "RUNNING_SUM" => per_series(arg, &|s, _| {
                let mut total = 0.0;
                s.iter()
                    .map(|(t, v)| {
                        total += v;
                        (*t, total)
                    })
                    .collect()
            }),
            "PERIOD" => match arg {
                Val::Series(_, p) => Ok(Val::Scalar(p as f64 / 1000.0)),
                _ => Err(bad(self.id, "PERIOD takes a time series")),
            },
            "FILL" => {
                let how =
                    second.ok_or_else(|| bad(self.id, "FILL takes a time series and a value, REPEAT or LINEAR"))?;
                let (start, end) = self.grid;
                per_series(arg, &|s, p| {
                    let mut out = Series::new();
                    let mut t = period_origin(start, p);
                    let mut last: Option<f64> = None;
                    while t < end {
                        let v = match (s.get(&t), &how) {
                            (Some(v), _) => Some(*v),
                            (None, Ok(Val::Scalar(x))) => Some(*x),
                            (None, Err(k)) if k == "REPEAT" => last,
                            (None, Err(_)) => {
                                let before = s.range(..t).next_back();
                                let after = s.range(t..).next();
                                match (before, after) {
                                    (Some((t0, v0)), Some((t1, v1))) => {
                                        Some(v0 + (v1 - v0) * (t - t0) as f64 / (t1 - t0) as f64)
                                    }
                                    _ => None,
                                }
                            }
                            (None, _) => None,
                        };
                        if let Some(v) = v {
                            out.insert(t, v);
                            last = Some(v);
                        }
                        t += p;
                    }
                    out
                })
            }
            other => Err(bad(self.id, format!("Unrecognized function {other}"))),
        }
    }
}

/// A label's dynamic values (`${AVG}`, `${MAX}`, `${MIN}`, `${SUM}`, `${FIRST}`, `${LAST}`,
/// `${DATAPOINT_COUNT}`) filled from the series it names, as CloudWatch fills them.
fn dynamic_label(label: &str, s: &Series) -> String {
    if !label.contains("${") {
        return label.to_string();
    }
    let values: Vec<f64> = s.values().copied().collect();
    let fmt = |v: Option<f64>| v.map(|x| format!("{x}")).unwrap_or_default();
    let n = values.len();
    label
        .replace("${AVG}", &fmt((n > 0).then(|| values.iter().sum::<f64>() / n as f64)))
        .replace("${MAX}", &fmt(values.iter().copied().reduce(f64::max)))
        .replace("${MIN}", &fmt(values.iter().copied().reduce(f64::min)))
        .replace("${SUM}", &fmt((n > 0).then(|| values.iter().sum())))
        .replace("${FIRST}", &fmt(values.first().copied()))
        .replace("${LAST}", &fmt(values.last().copied()))
        .replace("${DATAPOINT_COUNT}", &n.to_string())
}

fn valid_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.len() <= 255
}

impl CloudWatch {
    /// The series of a `MetricStat`: its statistic per period over `[start, end)`.
    pub(crate) fn stat_series(
        &self,
        scope: &Scope,
        stat: &m::MetricStat,
        start: i64,
        end: i64,
    ) -> AwsResult<(Series, i64)> {
        let metric = stat.metric.clone().unwrap_or_default();
        let statistic = stat.stat.clone().unwrap_or_default();
        if !valid_statistic(&statistic) {
            return Err(invalid(format!("The value {statistic} for parameter Stat is not supported.")));
        }
        let period_ms = check_period(stat.period.unwrap_or_default(), "Period")? * 1000;
        let dims = dimension_set(&metric.dimensions.unwrap_or_default());
        let namespace = metric.namespace.unwrap_or_default();
        let name = metric.metric_name.unwrap_or_default();
        let Some(info) = self.metric(scope, &namespace, &name, &dims)? else { return Ok((Series::new(), period_ms)) };
        let buckets = self.buckets(&info, period_origin(start, period_ms), end, period_ms, stat.unit.as_deref())?;
        Ok((buckets.into_iter().filter_map(|(t, b)| b.statistic(&statistic).map(|v| (t, v))).collect(), period_ms))
    }

    /// Evaluates a list of metric queries and expressions: (id, label, series) of those whose
    /// data is returned.
    pub(crate) fn evaluate(
        &self,
        scope: &Scope,
        queries: &[m::MetricDataQuery],
        start: i64,
        end: i64,
    ) -> AwsResult<Vec<(String, String, Series)>> {
        if queries.is_empty() || queries.len() > 500 {
            return Err(invalid("The collection MetricDataQueries must have between 1 and 500 members."));
        }
        let mut ids = std::collections::HashSet::new();
        for q in queries {
            let id = q.id.clone().unwrap_or_default();
            if !valid_id(&id) {
                return Err(E::ValidationException.msg(format!(
                    "The value {id} for parameter MetricDataQueries.member.Id is invalid: it must start with a lowercase letter and hold only letters, digits and underscores."
                )));
            }
            if !ids.insert(id.clone()) {
                return Err(E::ValidationException
                    .msg(format!("The values for parameter id in MetricDataQueries are not unique: {id}.")));
            }
            if q.metric_stat.is_some() == q.expression.is_some() {
                return Err(E::ValidationException
                    .msg(format!("Exactly one of MetricStat and Expression must be given in the query {id}.")));
            }
        }
        if !queries.iter().any(|q| q.return_data.unwrap_or(true)) {
            return Err(E::ValidationException.msg("At least one query must return data (ReturnData)."));
        }
        let mut known: BTreeMap<String, Val> = BTreeMap::new();
        let mut metric_ids = Vec::new();
        for q in queries {
            if let Some(stat) = &q.metric_stat {
                let id = q.id.clone().unwrap_or_default();
                let (s, p) = self.stat_series(scope, stat, start, end)?;
                known.insert(id.clone(), Val::Series(s, p));
                metric_ids.push(id);
            }
        }
        // Expressions may name one another: evaluated as their inputs become known.
        let mut pending: Vec<&m::MetricDataQuery> = queries.iter().filter(|q| q.expression.is_some()).collect();
        while !pending.is_empty() {
            let before = pending.len();
            let mut rest = Vec::new();
            for q in pending {
                let id = q.id.clone().unwrap_or_default();
                let text = q.expression.clone().unwrap_or_default();
                let toks = lex(&id, &text)?;
                let ready = toks.iter().all(|t| match t {
                    Tok::Ident(n) => known.contains_key(n) || !queries.iter().any(|x| x.id.as_deref() == Some(n)),
                    _ => true,
                });
                if !ready {
                    rest.push(q);
                    continue;
                }
                let mut e = Eval { id: &id, toks, pos: 0, known: &known, metric_ids: &metric_ids, grid: (start, end) };
                let v = e.expr()?;
                if e.pos != e.toks.len() {
                    return Err(bad(&id, "unexpected text after the expression"));
                }
                known.insert(id, v);
            }
            if rest.len() == before {
                return Err(E::ValidationException.msg("Circular dependency between metric math expressions."));
            }
            pending = rest;
        }
        let mut out = Vec::new();
        for q in queries.iter().filter(|q| q.return_data.unwrap_or(true)) {
            let id = q.id.clone().unwrap_or_default();
            let label = q.label.clone().unwrap_or_else(|| match &q.metric_stat {
                Some(s) => s.metric.as_ref().and_then(|m| m.metric_name.clone()).unwrap_or_else(|| id.clone()),
                None => id.clone(),
            });
            match known.remove(&id) {
                Some(Val::Series(s, _)) => out.push((id, label, s)),
                Some(Val::Array(list)) => out.extend(list.into_iter().map(|(s, _)| (id.clone(), label.clone(), s))),
                Some(Val::Scalar(x)) => {
                    // A scalar answers at every period of the range.
                    let p = queries.iter().find_map(|q| q.metric_stat.as_ref()?.period).unwrap_or(60) as i64 * 1000;
                    let mut s = Series::new();
                    let mut t = period_origin(start, p);
                    while t < end && x.is_finite() {
                        s.insert(t, x);
                        t += p;
                    }
                    out.push((id, label, s));
                }
                None => {}
            }
        }
        Ok(out)
    }

    pub(crate) fn get_metric_data(&self, scope: &Scope, i: m::GetMetricDataInput) -> AwsResult<m::GetMetricDataOutput> {
        let (start, end) = (i.start_time.map(|t| t.0).unwrap_or_default(), i.end_time.map(|t| t.0).unwrap_or_default());
        if start >= end {
            return Err(invalid("The parameter StartTime must be less than the parameter EndTime."));
        }
        let descending = match i.scan_by.as_deref() {
            None | Some("TimestampDescending") => true,
            Some("TimestampAscending") => false,
            Some(other) => return Err(invalid(format!("The value {other} for parameter ScanBy is invalid."))),
        };
        let results = self.evaluate(scope, &i.metric_data_queries.clone().unwrap_or_default(), start, end)?;
        let max = i.max_datapoints.unwrap_or(100_800).max(1) as usize;
        let skip: usize = match &i.next_token {
            Some(t) => t.parse().map_err(|_| E::InvalidNextToken.msg("The NextToken is invalid."))?,
            None => 0,
        };
        let total: usize = results.iter().map(|(_, _, s)| s.len()).sum();
        let (mut offset, mut budget) = (0usize, max);
        let mut out = Vec::new();
        for (id, label, s) in results {
            let label = dynamic_label(&label, &s);
            let mut points: Vec<(i64, f64)> = s.into_iter().collect();
            if descending {
                points.reverse();
            }
            let from = skip.saturating_sub(offset).min(points.len());
            offset += points.len();
            let take = budget.min(points.len() - from);
            budget -= take;
            let cut = from + take < points.len();
            let slice = &points[from..from + take];
            out.push(m::MetricDataResult {
                id: Some(id),
                label: Some(label),
                timestamps: Some(slice.iter().map(|(t, _)| Timestamp(*t)).collect()),
                values: Some(slice.iter().map(|(_, v)| *v).collect()),
                status_code: Some(if cut { "PartialData" } else { "Complete" }.into()),
                messages: None,
            });
        }
        let shown = skip + max;
        Ok(m::GetMetricDataOutput {
            metric_data_results: Some(out),
            next_token: (shown < total).then(|| shown.to_string()),
            messages: None,
        })
    }
}
