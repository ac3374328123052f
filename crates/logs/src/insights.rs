//! CloudWatch Logs Insights: a query is commands joined by `|` (`fields`, `display`,
//! `filter`, `parse`, `stats`, `sort`, `limit`, `dedup`) run over the events of the queried
//! log groups in a time range. Events carry `@timestamp`, `@message`, `@logStream`, `@log`,
//! `@ingestionTime`, and the fields of a JSON message (nested keys joined by dots), as Logs
//! Insights discovers them.
use regex::Regex;
use std::collections::{BTreeMap, HashMap};

pub type Record = BTreeMap<String, Val>;

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Num(f64),
    /// A timestamp (milliseconds since the epoch), shown as Logs Insights shows times.
    Time(f64),
    Null,
}

impl Val {
    pub fn text(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Val::Num(n) => n.to_string(),
            Val::Time(t) => timestamp_text(*t as i64),
            Val::Null => String::new(),
        }
    }
    pub(crate) fn num(&self) -> Option<f64> {
        match self {
            Val::Num(n) | Val::Time(n) => Some(*n),
            Val::Str(s) => s.trim().parse().ok(),
            Val::Null => None,
        }
    }
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Val::Num(n) | Val::Time(n) => *n != 0.0,
            Val::Str(s) => !s.is_empty() && s != "false",
            Val::Null => false,
        }
    }
    fn cmp(&self, other: &Val) -> Option<std::cmp::Ordering> {
        match (self.num(), other.num()) {
            (Some(a), Some(b)) if !matches!((self, other), (Val::Str(_), Val::Str(_))) => a.partial_cmp(&b),
            _ => match (self, other) {
                (Val::Null, _) | (_, Val::Null) => None,
                _ => Some(self.text().cmp(&other.text())),
            },
        }
    }
}

fn err(msg: impl std::fmt::Display) -> String {
    msg.to_string()
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Field(String),
    /// A period literal (`5m`): its milliseconds and its text, which names `bin(5m)`.
    Period(f64, String),
    Lit(Val),
    Regex(Regex),
    Call(String, Vec<Expr>),
    Bin(String, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    In(Box<Expr>, Vec<Expr>, bool),
}

#[derive(Debug, Clone)]
pub(crate) enum Agg {
    Count(Option<Expr>),
    CountDistinct(Expr),
    Sum(Expr),
    Avg(Expr),
    Min(Expr),
    Max(Expr),
    Pct(Expr, f64),
    Stddev(Expr),
    Earliest(Expr),
    Latest(Expr),
}

#[derive(Debug, Clone)]
pub(crate) enum Command {
    Fields(Vec<(Expr, String)>),
    Display(Vec<String>),
    Filter(Expr),
    Parse {
        source: Expr,
        pattern: Regex,
        names: Vec<String>,
    },
    Stats {
        aggs: Vec<(Agg, String)>,
        by: Vec<(Expr, String)>,
    },
    Sort(Vec<(Expr, bool)>),
    Limit(usize),
    Dedup(Vec<String>),
    /// `pattern <field or expression>`: events clustered by the text they share.
    Pattern(Expr),
}

pub struct Query {
    pub(crate) commands: Vec<Command>,
    /// The fields `filterIndex` commands name: only log groups indexing all of them are read.
    pub(crate) index_fields: Vec<String>,
    /// `SOURCE logGroups(namePrefix: [...], class: ...)`: the log groups the query reads,
    /// when the request names none.
    pub(crate) source: Option<SourceSpec>,
}

/// Which log groups a SOURCE command selects.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceSpec {
    pub prefixes: Vec<String>,
    pub class: Option<String>,
}

// ---- lexing ---------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Regex(String),
    Sym(&'static str),
    Eof,
}

const SYMS: &[&str] =
    &["<=", ">=", "!=", "=~", "==", "=", "<", ">", "(", ")", "[", "]", ",", "+", "-", "*", "/", "%", "|", ":"];

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let cs: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            // A comment runs to the end of the line.
            while i < cs.len() && cs[i] != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' {
            let mut s = String::new();
            i += 1;
            while i < cs.len() && cs[i] != c {
                if cs[i] == '\\' && i + 1 < cs.len() {
                    i += 1;
                }
                s.push(cs[i]);
                i += 1;
            }
            if i >= cs.len() {
                return Err(err("unterminated string"));
            }
            i += 1;
            out.push(Tok::Str(s));
        } else if c == '/'
            && matches!(out.last(), Some(Tok::Sym("=~" | "(" | ",")) | Some(Tok::Ident(_)))
            && is_regex_start(&out)
        {
            let mut s = String::new();
            i += 1;
            while i < cs.len() && cs[i] != '/' {
                if cs[i] == '\\' && i + 1 < cs.len() && cs[i + 1] == '/' {
                    i += 1;
                }
                s.push(cs[i]);
                i += 1;
            }
            if i >= cs.len() {
                return Err(err("unterminated regular expression"));
            }
            i += 1;
            out.push(Tok::Regex(s));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.') {
                i += 1;
            }
            let n: String = cs[start..i].iter().collect();
            out.push(Tok::Num(n.parse().map_err(|_| err(format!("bad number {n}")))?));
            // A unit right after a number (`5m`) is part of a bin() period.
            if i < cs.len() && cs[i].is_ascii_alphabetic() {
                let ustart = i;
                while i < cs.len() && cs[i].is_ascii_alphabetic() {
                    i += 1;
                }
                out.push(Tok::Ident(format!("unit:{}", cs[ustart..i].iter().collect::<String>())));
            }
        } else if c.is_alphabetic() || c == '_' || c == '@' || c == '`' {
            let start = i;
            if c == '`' {
                i += 1;
                while i < cs.len() && cs[i] != '`' {
                    i += 1;
                }
                out.push(Tok::Ident(cs[start + 1..i].iter().collect()));
                i += 1;
                continue;
            }
            while i < cs.len() && (cs[i].is_alphanumeric() || "_@.$".contains(cs[i])) {
                i += 1;
            }
            out.push(Tok::Ident(cs[start..i].iter().collect()));
        } else {
            let rest: String = cs[i..cs.len().min(i + 2)].iter().collect();
            let sym = SYMS
                .iter()
                .find(|s| rest.starts_with(**s))
                .ok_or_else(|| err(format!("unexpected character '{c}'")))?;
            out.push(Tok::Sym(sym));
            i += sym.len();
        }
    }
    out.push(Tok::Eof);
    Ok(out)
}

/// A `/` starts a regular expression after `=~`, `like`, or as a function's argument.
fn is_regex_start(out: &[Tok]) -> bool {
    match out.last() {
        Some(Tok::Sym("=~" | "(" | ",")) => true,
        Some(Tok::Ident(w)) => w.eq_ignore_ascii_case("like") || w.eq_ignore_ascii_case("parse") || w.starts_with('@'),
        _ => false,
    }
}

// ---- parsing --------------------------------------------------------------------------------

struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> &Tok {
        &self.t[self.i]
    }
    fn next(&mut self) -> Tok {
        let t = self.t[self.i].clone();
        if self.i + 1 < self.t.len() {
            self.i += 1;
        }
        t
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Ident(x) if x.eq_ignore_ascii_case(w))
    }
    fn at(&self, s: &str) -> bool {
        matches!(self.peek(), Tok::Sym(x) if *x == s)
    }
    fn expect(&mut self, s: &str) -> Result<(), String> {
        if self.at(s) {
            self.next();
            Ok(())
        } else {
            Err(err(format!("expected '{s}', found {:?}", self.peek())))
        }
    }
    fn end_of_command(&self) -> bool {
        matches!(self.peek(), Tok::Eof | Tok::Sym("|"))
    }

    fn expr(&mut self) -> Result<Expr, String> {
        self.or()
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut l = self.and()?;
        while self.is_word("or") {
            self.next();
            l = Expr::Bin("or".into(), Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut l = self.not()?;
        while self.is_word("and") {
            self.next();
            l = Expr::Bin("and".into(), Box::new(l), Box::new(self.not()?));
        }
        Ok(l)
    }
    fn not(&mut self) -> Result<Expr, String> {
        if self.is_word("not") {
            self.next();
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }
    fn comparison(&mut self) -> Result<Expr, String> {
        let l = self.additive()?;
        let negated_in = self.is_word("not")
            && matches!(self.t.get(self.i + 1), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("in"));
        if negated_in {
            self.next();
        }
        if self.is_word("in") {
            self.next();
            self.expect("[")?;
            let mut list = vec![self.additive()?];
            while self.at(",") {
                self.next();
                list.push(self.additive()?);
            }
            self.expect("]")?;
            return Ok(Expr::In(Box::new(l), list, negated_in));
        }
        if self.is_word("like") {
            self.next();
            return Ok(Expr::Bin("=~".into(), Box::new(l), Box::new(self.additive()?)));
        }
        let op = match self.peek() {
            Tok::Sym(s @ ("=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "=~")) => *s,
            _ => return Ok(l),
        };
        self.next();
        let op = if op == "==" { "=" } else { op };
        Ok(Expr::Bin(op.into(), Box::new(l), Box::new(self.additive()?)))
    }
    fn additive(&mut self) -> Result<Expr, String> {
        let mut l = self.term()?;
        while self.at("+") || self.at("-") {
            let op = if self.at("+") { "+" } else { "-" };
            self.next();
            l = Expr::Bin(op.into(), Box::new(l), Box::new(self.term()?));
        }
        Ok(l)
    }
    fn term(&mut self) -> Result<Expr, String> {
        let mut l = self.primary()?;
        while self.at("*") || self.at("/") || self.at("%") {
            let op = match self.next() {
                Tok::Sym(s) => s,
                _ => "*",
            };
            l = Expr::Bin(op.into(), Box::new(l), Box::new(self.primary()?));
        }
        Ok(l)
    }
    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Tok::Str(s) => Ok(Expr::Lit(Val::Str(s))),
            Tok::Num(n) => {
                if let Tok::Ident(u) = self.peek().clone() {
                    if let Some(unit) = u.strip_prefix("unit:") {
                        self.next();
                        return Ok(Expr::Period(n * unit_ms(unit)?, format!("{}{unit}", Val::Num(n).text())));
                    }
                }
                Ok(Expr::Lit(Val::Num(n)))
            }
            Tok::Regex(r) => {
                Ok(Expr::Regex(Regex::new(&r).map_err(|e| err(format!("invalid regular expression: {e}")))?))
            }
            Tok::Sym("-") => Ok(Expr::Bin("-".into(), Box::new(Expr::Lit(Val::Num(0.0))), Box::new(self.primary()?))),
            Tok::Sym("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Ident(name) if self.at("(") => {
                self.next();
                let mut args = Vec::new();
                if !self.at(")") {
                    if self.at("*") {
                        self.next();
                    } else {
                        args.push(self.expr()?);
                    }
                    while self.at(",") {
                        self.next();
                        args.push(self.expr()?);
                    }
                }
                self.expect(")")?;
                let lower = name.to_ascii_lowercase();
                if !FUNCTIONS.contains(&lower.as_str()) {
                    return Err(err(format!("unrecognized function: {name}")));
                }
                Ok(Expr::Call(lower, args))
            }
            Tok::Ident(name) => Ok(Expr::Field(name)),
            other => Err(err(format!("unexpected {other:?}"))),
        }
    }

    fn alias(&mut self, e: &Expr) -> Result<String, String> {
        if self.is_word("as") {
            self.next();
            match self.next() {
                Tok::Ident(n) => Ok(n),
                other => Err(err(format!("expected a name after as, found {other:?}"))),
            }
        } else {
            Ok(name_of(e))
        }
    }

    fn command(&mut self) -> Result<Command, String> {
        let Tok::Ident(word) = self.next() else { return Err(err("expected a command")) };
        let c = match word.to_ascii_lowercase().as_str() {
            "fields" | "display" => {
                let mut list = Vec::new();
                loop {
                    let e = self.expr()?;
                    let alias = self.alias(&e)?;
                    list.push((e, alias));
                    if !self.at(",") {
                        break;
                    }
                    self.next();
                }
                if word.eq_ignore_ascii_case("display") {
                    Command::Display(list.into_iter().map(|(_, a)| a).collect())
                } else {
                    Command::Fields(list)
                }
            }
            "filter" | "filterindex" => Command::Filter(self.expr()?),
            "pattern" => Command::Pattern(self.expr()?),
            "parse" => {
                let source = self.primary()?;
                match self.next() {
                    Tok::Str(glob) => {
                        self.expect_word("as")?;
                        let mut names = Vec::new();
                        loop {
                            match self.next() {
                                Tok::Ident(n) => names.push(n),
                                other => return Err(err(format!("expected a field name, found {other:?}"))),
                            }
                            if !self.at(",") {
                                break;
                            }
                            self.next();
                        }
                        let pattern = glob_regex(&glob)?;
                        if pattern.captures_len() - 1 != names.len() {
                            return Err(err("parse: the number of * and of names differ"));
                        }
                        Command::Parse { source, pattern, names }
                    }
                    Tok::Regex(r) => {
                        let pattern = Regex::new(&r).map_err(|e| err(format!("invalid regular expression: {e}")))?;
                        let names = pattern.capture_names().flatten().map(String::from).collect();
                        Command::Parse { source, pattern, names }
                    }
                    other => return Err(err(format!("parse needs a pattern, found {other:?}"))),
                }
            }
            "stats" => {
                let mut aggs = Vec::new();
                loop {
                    let e = self.primary()?;
                    let agg = aggregate(&e)?;
                    let alias = self.alias(&e)?;
                    aggs.push((agg, alias));
                    if !self.at(",") {
                        break;
                    }
                    self.next();
                }
                let mut by = Vec::new();
                if self.is_word("by") {
                    self.next();
                    loop {
                        let e = self.expr()?;
                        let alias = self.alias(&e)?;
                        by.push((e, alias));
                        if !self.at(",") {
                            break;
                        }
                        self.next();
                    }
                }
                Command::Stats { aggs, by }
            }
            "sort" => {
                let mut keys = Vec::new();
                loop {
                    let e = self.additive()?;
                    let desc = if self.is_word("desc") {
                        self.next();
                        true
                    } else {
                        if self.is_word("asc") {
                            self.next();
                        }
                        false
                    };
                    keys.push((e, desc));
                    if !self.at(",") {
                        break;
                    }
                    self.next();
                }
                Command::Sort(keys)
            }
            "limit" => match self.next() {
                Tok::Num(n) if n >= 1.0 => Command::Limit(n as usize),
                other => return Err(err(format!("limit needs a positive number, found {other:?}"))),
            },
            "dedup" => {
                let mut names = Vec::new();
                loop {
                    match self.next() {
                        Tok::Ident(n) => names.push(n),
                        other => return Err(err(format!("expected a field name, found {other:?}"))),
                    }
                    if !self.at(",") {
                        break;
                    }
                    self.next();
                }
                Command::Dedup(names)
            }
            other => return Err(err(format!("unsupported command: {other}"))),
        };
        if !self.end_of_command() {
            return Err(err(format!("unexpected {:?} after {word}", self.peek())));
        }
        Ok(c)
    }

    /// `SOURCE logGroups(namePrefix: ["a", "b"], class: "STANDARD")`, the `SOURCE` read.
    fn source(&mut self) -> Result<SourceSpec, String> {
        self.expect_word("logGroups")?;
        self.expect("(")?;
        let mut spec = SourceSpec { prefixes: Vec::new(), class: None };
        while !self.at(")") {
            let Tok::Ident(name) = self.next() else { return Err(err("expected a logGroups parameter")) };
            self.expect(":")?;
            match name.as_str() {
                "namePrefix" => {
                    self.expect("[")?;
                    while !self.at("]") {
                        match self.next() {
                            Tok::Str(s) => spec.prefixes.push(s),
                            other => return Err(err(format!("namePrefix takes strings, not {other:?}"))),
                        }
                        if self.at(",") {
                            self.next();
                        }
                    }
                    self.expect("]")?;
                    if spec.prefixes.is_empty() || spec.prefixes.len() > 5 {
                        return Err(err("namePrefix takes one to five prefixes"));
                    }
                }
                "class" => match self.next() {
                    Tok::Str(c) | Tok::Ident(c) if c == "STANDARD" || c == "INFREQUENT_ACCESS" => spec.class = Some(c),
                    other => return Err(err(format!("class is STANDARD or INFREQUENT_ACCESS, not {other:?}"))),
                },
                other => {
                    return Err(err(format!("logGroups does not take {other} (nuage serves namePrefix and class)")))
                }
            }
            if self.at(",") {
                self.next();
            }
        }
        self.expect(")")?;
        if spec.prefixes.is_empty() {
            return Err(err("logGroups needs namePrefix"));
        }
        Ok(spec)
    }

    fn expect_word(&mut self, w: &str) -> Result<(), String> {
        if self.is_word(w) {
            self.next();
            Ok(())
        } else {
            Err(err(format!("expected {w}")))
        }
    }
}

fn unit_ms(unit: &str) -> Result<f64, String> {
    Ok(match unit {
        "ms" => 1.0,
        "s" | "sec" | "second" | "seconds" => 1000.0,
        "m" | "min" | "minute" | "minutes" => 60_000.0,
        "h" | "hr" | "hour" | "hours" => 3_600_000.0,
        "d" | "day" | "days" => 86_400_000.0,
        "w" | "week" | "weeks" => 604_800_000.0,
        other => return Err(err(format!("unknown time unit: {other}"))),
    })
}

/// `"GET * HTTP/1.1 *"` as a regular expression with one capture per `*`.
fn glob_regex(glob: &str) -> Result<Regex, String> {
    let parts: Vec<String> = glob.split('*').map(regex::escape).collect();
    let mut re = parts.join("(.*?)");
    // A trailing `*` takes the rest of the text.
    if glob.ends_with('*') {
        re.truncate(re.len() - "(.*?)".len());
        re.push_str("(.*)");
    }
    Regex::new(&re).map_err(|e| err(format!("invalid parse pattern: {e}")))
}

fn name_of(e: &Expr) -> String {
    match e {
        Expr::Field(f) => f.clone(),
        Expr::Call(name, args) => {
            let inner: Vec<String> = args.iter().map(name_of).collect();
            if inner.is_empty() && name == "count" {
                "count(*)".into()
            } else {
                format!("{name}({})", inner.join(","))
            }
        }
        Expr::Lit(v) => v.text(),
        Expr::Period(_, text) => text.clone(),
        _ => "expr".into(),
    }
}

fn aggregate(e: &Expr) -> Result<Agg, String> {
    let Expr::Call(name, args) = e else { return Err(err("stats needs an aggregate function")) };
    let one = || args.first().cloned().ok_or_else(|| err(format!("{name} needs an argument")));
    Ok(match name.as_str() {
        "count" => Agg::Count(args.first().cloned()),
        "count_distinct" => Agg::CountDistinct(one()?),
        "sum" => Agg::Sum(one()?),
        "avg" => Agg::Avg(one()?),
        "min" => Agg::Min(one()?),
        "max" => Agg::Max(one()?),
        "stddev" => Agg::Stddev(one()?),
        "earliest" => Agg::Earliest(one()?),
        "latest" => Agg::Latest(one()?),
        "pct" | "percentile" => match args.get(1) {
            Some(Expr::Lit(Val::Num(p))) => Agg::Pct(one()?, *p),
            _ => return Err(err("pct needs a field and a percentile")),
        },
        other => return Err(err(format!("unsupported aggregate function: {other}"))),
    })
}

pub fn parse(text: &str) -> Result<Query, String> {
    let mut p = P { t: lex(text)?, i: 0 };
    let mut commands = Vec::new();
    let mut source = None;
    if p.is_word("SOURCE") {
        p.next();
        source = Some(p.source()?);
        if !matches!(p.peek(), Tok::Eof) {
            p.expect("|")?;
        }
    }
    let mut index_fields = Vec::new();
    while !matches!(p.peek(), Tok::Eof) {
        let indexed = p.is_word("filterIndex");
        let c = p.command()?;
        if let (true, Command::Filter(e)) = (indexed, &c) {
            if !index_condition(e, &mut index_fields) {
                return Err(err("filterIndex compares indexed fields with = or in, joined by and/or"));
            }
        }
        commands.push(c);
        if p.at("|") {
            p.next();
        }
    }
    Ok(Query { commands, source, index_fields })
}

/// Whether `e` is what filterIndex takes (`field = value`, `field in [...]`, joined by
/// `and`/`or`), gathering the fields it names.
fn index_condition(e: &Expr, fields: &mut Vec<String>) -> bool {
    match e {
        Expr::Bin(op, a, b) if op == "and" || op == "or" => index_condition(a, fields) && index_condition(b, fields),
        Expr::Bin(op, a, b) if op == "=" => match (&**a, &**b) {
            (Expr::Field(f), Expr::Lit(_)) | (Expr::Lit(_), Expr::Field(f)) => {
                fields.push(f.clone());
                true
            }
            _ => false,
        },
        Expr::In(a, list, false) if list.iter().all(|x| matches!(x, Expr::Lit(_))) => match &**a {
            Expr::Field(f) => {
                fields.push(f.clone());
                true
            }
            _ => false,
        },
        _ => false,
    }
}

// ---- evaluation -----------------------------------------------------------------------------

pub(crate) fn eval(e: &Expr, r: &Record) -> Val {
    match e {
        Expr::Field(f) => r.get(f).cloned().unwrap_or(Val::Null),
        Expr::Lit(v) => v.clone(),
        Expr::Period(ms, _) => Val::Num(*ms),
        Expr::Regex(re) => Val::Str(re.as_str().to_string()),
        Expr::Not(a) => Val::Num(if eval(a, r).truthy() { 0.0 } else { 1.0 }),
        Expr::In(a, list, negated) => {
            let v = eval(a, r);
            let found = list.iter().any(|x| eval(x, r).cmp(&v) == Some(std::cmp::Ordering::Equal));
            Val::Num(if found != *negated { 1.0 } else { 0.0 })
        }
        Expr::Bin(op, a, b) => {
            if op == "=~" {
                let text = eval(a, r).text();
                let m = match b.as_ref() {
                    Expr::Regex(re) => re.is_match(&text),
                    other => text.contains(&eval(other, r).text()),
                };
                return Val::Num(if m { 1.0 } else { 0.0 });
            }
            let (x, y) = (eval(a, r), eval(b, r));
            let bool_val = |c: bool| Val::Num(if c { 1.0 } else { 0.0 });
            match op.as_str() {
                "and" => bool_val(x.truthy() && y.truthy()),
                "or" => bool_val(x.truthy() || y.truthy()),
                "=" => bool_val(x.cmp(&y) == Some(std::cmp::Ordering::Equal)),
                "!=" => bool_val(x.cmp(&y) != Some(std::cmp::Ordering::Equal)),
                "<" => bool_val(x.cmp(&y) == Some(std::cmp::Ordering::Less)),
                "<=" => bool_val(matches!(x.cmp(&y), Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal))),
                ">" => bool_val(x.cmp(&y) == Some(std::cmp::Ordering::Greater)),
                ">=" => bool_val(matches!(x.cmp(&y), Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal))),
                _ => match (x.num(), y.num()) {
                    (Some(a), Some(b)) => Val::Num(match op.as_str() {
                        "+" => a + b,
                        "-" => a - b,
                        "*" => a * b,
                        "/" => a / b,
                        _ => a % b,
                    }),
                    _ => Val::Null,
                },
            }
        }
        Expr::Call(name, args) => call(name, args, r),
    }
}

/// Every function the language has (aggregates, which `stats` takes, and the functions of
/// expressions), lowercased: any other name is a malformed query.
const FUNCTIONS: &[&str] = &[
    "count",
    "count_distinct",
    "sum",
    "avg",
    "min",
    "max",
    "pct",
    "percentile",
    "stddev",
    "earliest",
    "latest",
    "ispresent",
    "isempty",
    "isblank",
    "coalesce",
    "unmask",
    "tolower",
    "toupper",
    "strlen",
    "trim",
    "ltrim",
    "rtrim",
    "concat",
    "substr",
    "replace",
    "strcontains",
    "abs",
    "ceil",
    "floor",
    "sqrt",
    "log",
    "greatest",
    "least",
    "bin",
    "datefloor",
    "dateceil",
    "frommillis",
    "tomillis",
    "isvalidip",
    "isvalidipv4",
    "isvalidipv6",
    "isipinsubnet",
    "isipv4insubnet",
    "isipv6insubnet",
];

/// Whether `ip` lies in the CIDR block `cidr` (both IPv4 or both IPv6).
fn in_subnet(ip: &str, cidr: &str) -> bool {
    let Some((net, bits)) = cidr.split_once('/') else { return false };
    let Ok(bits) = bits.parse::<u32>() else { return false };
    match (ip.parse::<std::net::IpAddr>(), net.parse::<std::net::IpAddr>()) {
        (Ok(std::net::IpAddr::V4(a)), Ok(std::net::IpAddr::V4(n))) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (Ok(std::net::IpAddr::V6(a)), Ok(std::net::IpAddr::V6(n))) if bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn call(name: &str, args: &[Expr], r: &Record) -> Val {
    let arg = |i: usize| args.get(i).map(|a| eval(a, r)).unwrap_or(Val::Null);
    let s = |i: usize| arg(i).text();
    match name {
        "ispresent" => {
            Val::Num(if matches!(args.first(), Some(Expr::Field(f)) if r.contains_key(f)) { 1.0 } else { 0.0 })
        }
        "isempty" => Val::Num(if s(0).is_empty() { 1.0 } else { 0.0 }),
        "coalesce" => args.iter().map(|a| eval(a, r)).find(|v| *v != Val::Null).unwrap_or(Val::Null),
        // Data protection policies, which mask what unmask reveals, are not served: nothing is
        // masked, so the value is its own unmasked form.
        "unmask" => arg(0),
        "tolower" => Val::Str(s(0).to_lowercase()),
        "toupper" => Val::Str(s(0).to_uppercase()),
        "strlen" => Val::Num(s(0).chars().count() as f64),
        "isblank" => Val::Num(if s(0).trim().is_empty() { 1.0 } else { 0.0 }),
        // trim, ltrim, rtrim: white space, or the characters of their second argument.
        "trim" | "ltrim" | "rtrim" => {
            let text = s(0);
            let set: Vec<char> = if args.len() > 1 { s(1).chars().collect() } else { Vec::new() };
            let cut = |c: char| if set.is_empty() { c.is_whitespace() } else { set.contains(&c) };
            Val::Str(
                match name {
                    "ltrim" => text.trim_start_matches(cut),
                    "rtrim" => text.trim_end_matches(cut),
                    _ => text.trim_matches(cut),
                }
                .to_string(),
            )
        }
        "concat" => Val::Str(args.iter().map(|a| eval(a, r).text()).collect()),
        "substr" => {
            let text: Vec<char> = s(0).chars().collect();
            let start = arg(1).num().unwrap_or(0.0).max(0.0) as usize;
            let len = arg(2).num().map(|l| l.max(0.0) as usize).unwrap_or(text.len());
            Val::Str(text.iter().skip(start).take(len).collect())
        }
        "replace" => Val::Str(s(0).replace(&s(1), &s(2))),
        "strcontains" => Val::Num(if s(0).contains(&s(1)) { 1.0 } else { 0.0 }),
        "abs" => arg(0).num().map(|n| Val::Num(n.abs())).unwrap_or(Val::Null),
        "ceil" => arg(0).num().map(|n| Val::Num(n.ceil())).unwrap_or(Val::Null),
        "floor" => arg(0).num().map(|n| Val::Num(n.floor())).unwrap_or(Val::Null),
        "sqrt" => arg(0).num().map(|n| Val::Num(n.sqrt())).unwrap_or(Val::Null),
        "log" => arg(0).num().filter(|n| *n > 0.0).map(|n| Val::Num(n.ln())).unwrap_or(Val::Null),
        "greatest" => args.iter().filter_map(|a| eval(a, r).num()).reduce(f64::max).map(Val::Num).unwrap_or(Val::Null),
        "least" => args.iter().filter_map(|a| eval(a, r).num()).reduce(f64::min).map(Val::Num).unwrap_or(Val::Null),
        // bin(period): the timestamp rounded down to the period.
        "bin" => match (r.get("@timestamp").and_then(Val::num), arg(0).num()) {
            (Some(t), Some(p)) if p > 0.0 => Val::Num((t / p).floor() * p),
            _ => Val::Null,
        },
        // Datetime functions: timestamps are milliseconds; periods (`5m`) too.
        "datefloor" | "dateceil" => match (arg(0).num(), arg(1).num()) {
            (Some(t), Some(p)) if p > 0.0 => {
                Val::Time(if name == "datefloor" { (t / p).floor() * p } else { (t / p).ceil() * p })
            }
            _ => Val::Null,
        },
        "frommillis" => arg(0).num().map(Val::Time).unwrap_or(Val::Null),
        "tomillis" => arg(0).num().map(Val::Num).unwrap_or(Val::Null),
        "isvalidip" => Val::Num(if s(0).parse::<std::net::IpAddr>().is_ok() { 1.0 } else { 0.0 }),
        "isvalidipv4" => Val::Num(if s(0).parse::<std::net::Ipv4Addr>().is_ok() { 1.0 } else { 0.0 }),
        "isvalidipv6" => Val::Num(if s(0).parse::<std::net::Ipv6Addr>().is_ok() { 1.0 } else { 0.0 }),
        "isipinsubnet" | "isipv4insubnet" | "isipv6insubnet" => {
            let (ip, cidr) = (s(0), s(1));
            let family = match name {
                "isipv4insubnet" => ip.parse::<std::net::Ipv4Addr>().is_ok(),
                "isipv6insubnet" => ip.parse::<std::net::Ipv6Addr>().is_ok(),
                _ => true,
            };
            Val::Num(if family && in_subnet(&ip, &cidr) { 1.0 } else { 0.0 })
        }
        _ => Val::Null,
    }
}

fn percentile(mut v: Vec<f64>, p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

impl Agg {
    /// The expression an aggregate folds (`None` for `count(*)`).
    pub(crate) fn arg(&self) -> Option<&Expr> {
        match self {
            Agg::Count(e) => e.as_ref(),
            Agg::CountDistinct(e)
            | Agg::Sum(e)
            | Agg::Avg(e)
            | Agg::Min(e)
            | Agg::Max(e)
            | Agg::Pct(e, _)
            | Agg::Stddev(e)
            | Agg::Earliest(e)
            | Agg::Latest(e) => Some(e),
        }
    }
}

/// `fields`: each expression's value set on the record under its name.
pub(crate) fn apply_fields(list: &[(Expr, String)], r: &mut Record) {
    for (e, alias) in list {
        let v = eval(e, r);
        r.insert(alias.clone(), v);
    }
}

/// `parse`: the pattern's captures set on the record under their names.
pub(crate) fn apply_parse(source: &Expr, pattern: &Regex, names: &[String], r: &mut Record) {
    let text = eval(source, r).text();
    if let Some(caps) = pattern.captures(&text) {
        for (n, name) in names.iter().enumerate() {
            let v =
                if pattern.capture_names().flatten().any(|c| c == name) { caps.name(name) } else { caps.get(n + 1) };
            if let Some(v) = v {
                r.insert(name.clone(), Val::Str(v.as_str().to_string()));
            }
        }
    }
}

/// The running state of one aggregate over a group's records; states of the same aggregate
/// over different records merge (queries scan in parallel).
#[derive(Debug, Clone)]
pub(crate) enum AggState {
    Count(u64),
    Distinct(std::collections::HashSet<String>),
    Sum(f64),
    Avg(f64, u64),
    Min(Option<f64>),
    Max(Option<f64>),
    Values(Vec<f64>),
    /// Welford's running count, mean and sum of squared deviations.
    Stddev(u64, f64, f64),
    /// (timestamp, value) of the earliest or latest record.
    At(Option<(f64, Val)>),
}

fn timestamp_of(r: &Record) -> f64 {
    r.get("@timestamp").and_then(Val::num).unwrap_or(0.0)
}

impl AggState {
    fn new(agg: &Agg) -> AggState {
        match agg {
            Agg::Count(_) => AggState::Count(0),
            Agg::CountDistinct(_) => AggState::Distinct(Default::default()),
            Agg::Sum(_) => AggState::Sum(0.0),
            Agg::Avg(_) => AggState::Avg(0.0, 0),
            Agg::Min(_) => AggState::Min(None),
            Agg::Max(_) => AggState::Max(None),
            Agg::Pct(..) => AggState::Values(Vec::new()),
            Agg::Stddev(_) => AggState::Stddev(0, 0.0, 0.0),
            Agg::Earliest(_) | Agg::Latest(_) => AggState::At(None),
        }
    }

    fn add(&mut self, agg: &Agg, r: &Record) {
        let arg = agg.arg().map(|e| eval(e, r));
        match (self, arg) {
            (AggState::Count(n), None) => *n += 1,
            (AggState::Count(n), Some(v)) => *n += (v != Val::Null) as u64,
            (_, None | Some(Val::Null)) => {}
            (AggState::Distinct(set), Some(v)) => {
                set.insert(v.text());
            }
            (AggState::At(best), Some(v)) => {
                let t = timestamp_of(r);
                let later = matches!(agg, Agg::Latest(_));
                if best.as_ref().is_none_or(|(bt, _)| if later { t >= *bt } else { t < *bt }) {
                    *best = Some((t, v));
                }
            }
            (state, Some(v)) => {
                let Some(x) = v.num() else { return };
                match state {
                    AggState::Sum(s) => *s += x,
                    AggState::Avg(s, n) => {
                        *s += x;
                        *n += 1;
                    }
                    AggState::Min(m) => *m = Some(m.map_or(x, |m| m.min(x))),
                    AggState::Max(m) => *m = Some(m.map_or(x, |m| m.max(x))),
                    AggState::Values(v) => v.push(x),
                    AggState::Stddev(n, mean, m2) => {
                        *n += 1;
                        let d = x - *mean;
                        *mean += d / *n as f64;
                        *m2 += d * (x - *mean);
                    }
                    _ => {}
                }
            }
        }
    }

    fn merge(&mut self, other: AggState, later: bool) {
        match (self, other) {
            (AggState::Count(a), AggState::Count(b)) => *a += b,
            (AggState::Distinct(a), AggState::Distinct(b)) => a.extend(b),
            (AggState::Sum(a), AggState::Sum(b)) => *a += b,
            (AggState::Avg(s, n), AggState::Avg(t, m)) => {
                *s += t;
                *n += m;
            }
            (AggState::Min(a), AggState::Min(b)) => *a = (*a).into_iter().chain(b).reduce(f64::min),
            (AggState::Max(a), AggState::Max(b)) => *a = (*a).into_iter().chain(b).reduce(f64::max),
            (AggState::Values(a), AggState::Values(b)) => a.extend(b),
            // Chan et al.'s pairwise combination.
            (AggState::Stddev(n, mean, m2), AggState::Stddev(k, mean2, m22)) if k > 0 => {
                let total = *n + k;
                let d = mean2 - *mean;
                *mean += d * k as f64 / total as f64;
                *m2 += m22 + d * d * (*n as f64) * (k as f64) / total as f64;
                *n = total;
            }
            (AggState::At(a), AggState::At(Some((t, v))))
                if a.as_ref().is_none_or(|(at, _)| if later { t >= *at } else { t < *at }) =>
            {
                *a = Some((t, v));
            }
            _ => {}
        }
    }

    fn finish(self, agg: &Agg) -> Val {
        match self {
            AggState::Count(n) => Val::Num(n as f64),
            AggState::Distinct(set) => Val::Num(set.len() as f64),
            AggState::Sum(s) => Val::Num(s),
            AggState::Avg(_, 0) => Val::Null,
            AggState::Avg(s, n) => Val::Num(s / n as f64),
            AggState::Min(m) | AggState::Max(m) => m.map(Val::Num).unwrap_or(Val::Null),
            AggState::Values(v) => match agg {
                Agg::Pct(_, p) => percentile(v, *p).map(Val::Num).unwrap_or(Val::Null),
                _ => Val::Null,
            },
            AggState::Stddev(n, _, m2) if n >= 2 => Val::Num((m2 / (n - 1) as f64).sqrt()),
            AggState::Stddev(..) => Val::Null,
            AggState::At(v) => v.map(|(_, v)| v).unwrap_or(Val::Null),
        }
    }
}

/// The groups of a `stats` command as records are folded in: each group's key values, its
/// aggregate states, and the earliest timestamp it was seen at (groups are shown in the order
/// of their first record).
pub(crate) struct Groups {
    index: HashMap<Vec<String>, usize>,
    groups: Vec<(Vec<Val>, Vec<AggState>, f64)>,
}

impl Groups {
    pub(crate) fn new() -> Groups {
        Groups { index: HashMap::new(), groups: Vec::new() }
    }

    pub(crate) fn fold(&mut self, stats: &Command, r: &Record) {
        let Command::Stats { aggs, by } = stats else { return };
        let keys: Vec<Val> = by.iter().map(|(e, _)| eval(e, r)).collect();
        let id: Vec<String> = keys.iter().map(Val::text).collect();
        let t = timestamp_of(r);
        let i = match self.index.get(&id) {
            Some(i) => *i,
            None => {
                self.groups.push((keys, aggs.iter().map(|(a, _)| AggState::new(a)).collect(), t));
                self.index.insert(id, self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        let g = &mut self.groups[i];
        g.2 = g.2.min(t);
        for ((agg, _), state) in aggs.iter().zip(g.1.iter_mut()) {
            state.add(agg, r);
        }
    }

    pub(crate) fn merge(&mut self, stats: &Command, other: Groups) {
        let Command::Stats { aggs, .. } = stats else { return };
        for (keys, states, t) in other.groups {
            let id: Vec<String> = keys.iter().map(Val::text).collect();
            match self.index.get(&id) {
                Some(i) => {
                    let g = &mut self.groups[*i];
                    g.2 = g.2.min(t);
                    for ((agg, _), (a, b)) in aggs.iter().zip(g.1.iter_mut().zip(states)) {
                        a.merge(b, matches!(agg, Agg::Latest(_)));
                    }
                }
                None => {
                    self.groups.push((keys, states, t));
                    self.index.insert(id, self.groups.len() - 1);
                }
            }
        }
    }

    /// One record per group: its `by` fields (bins shown as timestamps), then its aggregates.
    pub(crate) fn records(mut self, stats: &Command) -> Vec<Record> {
        let Command::Stats { aggs, by } = stats else { return Vec::new() };
        self.groups.sort_by(|a, b| a.2.partial_cmp(&b.2).unwrap_or(std::cmp::Ordering::Equal));
        self.groups
            .into_iter()
            .map(|(keys, states, _)| {
                let mut rec = Record::new();
                for ((e, alias), v) in by.iter().zip(keys) {
                    let v = match e {
                        Expr::Call(n, _) if n == "bin" => Val::Str(timestamp_text(v.num().unwrap_or(0.0) as i64)),
                        _ => v,
                    };
                    rec.insert(alias.clone(), v);
                }
                for ((agg, alias), state) in aggs.iter().zip(states) {
                    rec.insert(alias.clone(), state.finish(agg));
                }
                rec
            })
            .collect()
    }
}

/// The result of a query: rows of (field, value), in display order.
pub struct Outcome {
    pub rows: Vec<Vec<(String, String)>>,
    pub matched: usize,
}

impl Query {
    /// Runs the query over `records` (in time order). Without `stats`, each record shows its
    /// `fields`/`display` fields (by default `@timestamp` and `@message`), newest first, at most
    /// 10,000 of them.
    #[cfg(test)]
    pub fn run(&self, records: Vec<Record>) -> Outcome {
        self.run_from(0, records)
    }

    /// Runs the commands from `start` on; those before it were applied as the records were
    /// read, and only name the fields shown.
    pub(crate) fn run_from(&self, start: usize, mut records: Vec<Record>) -> Outcome {
        // Records come in time order; without a sort Logs Insights shows (and limits, and
        // dedups) the newest first.
        if !self.commands.iter().any(|c| matches!(c, Command::Stats { .. })) {
            records.reverse();
        }
        let mut shown: Option<Vec<String>> = None;
        let mut limit: Option<usize> = None;
        for (i, c) in self.commands.iter().enumerate() {
            let apply = i >= start;
            match c {
                Command::Fields(list) => {
                    for r in records.iter_mut().filter(|_| apply) {
                        apply_fields(list, r);
                    }
                    let mut names = shown.unwrap_or_default();
                    names.extend(list.iter().map(|(_, a)| a.clone()).filter(|a| !a.is_empty()));
                    names.dedup();
                    shown = Some(names);
                }
                Command::Display(names) => shown = Some(names.clone()),
                Command::Filter(e) if apply => records.retain(|r| eval(e, r).truthy()),
                Command::Filter(_) => {}
                Command::Parse { source, pattern, names } => {
                    for r in records.iter_mut().filter(|_| apply) {
                        apply_parse(source, pattern, names, r);
                    }
                }
                Command::Stats { aggs, by } => {
                    if apply {
                        let mut groups = Groups::new();
                        for r in &records {
                            groups.fold(c, r);
                        }
                        records = groups.records(c);
                    }
                    let mut names: Vec<String> = by.iter().map(|(_, a)| a.clone()).collect();
                    names.extend(aggs.iter().map(|(_, a)| a.clone()));
                    shown = Some(names);
                }
                Command::Sort(keys) => {
                    records.sort_by(|a, b| {
                        for (e, desc) in keys {
                            let o = eval(e, a).cmp(&eval(e, b)).unwrap_or(std::cmp::Ordering::Equal);
                            let o = if *desc { o.reverse() } else { o };
                            if o != std::cmp::Ordering::Equal {
                                return o;
                            }
                        }
                        std::cmp::Ordering::Equal
                    });
                }
                Command::Limit(n) => {
                    limit = Some(*n);
                    records.truncate(*n);
                }
                Command::Pattern(source) => {
                    if apply {
                        records = crate::insights_pattern::cluster(source, &records);
                    }
                    shown = Some(["@pattern", "@ratio", "@sampleCount", "@severityLabel"].map(String::from).to_vec());
                }
                Command::Dedup(names) => {
                    let mut seen = std::collections::HashSet::new();
                    records.retain(|r| {
                        seen.insert(
                            names.iter().map(|n| r.get(n).map(Val::text).unwrap_or_default()).collect::<Vec<_>>(),
                        )
                    });
                }
            }
        }
        let has_stats = self.commands.iter().any(|c| matches!(c, Command::Stats { .. } | Command::Pattern(_)));
        records.truncate(limit.unwrap_or(10_000));
        let names = shown.unwrap_or_else(|| vec!["@timestamp".into(), "@message".into()]);
        let matched = records.len();
        let rows = records
            .iter()
            .map(|r| {
                let mut row: Vec<(String, String)> = names
                    .iter()
                    .filter_map(|n| {
                        r.get(n).filter(|v| **v != Val::Null).map(|v| {
                            let text = if n == "@timestamp" {
                                timestamp_text(v.num().unwrap_or(0.0) as i64)
                            } else {
                                v.text()
                            };
                            (n.clone(), text)
                        })
                    })
                    .collect();
                if !has_stats {
                    if let Some(p) = r.get("@ptr") {
                        row.push(("@ptr".into(), p.text()));
                    }
                }
                row
            })
            .collect();
        Outcome { rows, matched }
    }
}

/// Timestamps as Logs Insights shows them: `2026-12-06 23:05:00.123`.
fn timestamp_text(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}", rem / 3600, rem % 3600 / 60, rem % 60, ms.rem_euclid(1000))
}

/// The fields Logs Insights discovers in an event: its system fields, and a JSON message's
/// keys (nested ones joined by dots).
pub fn record(timestamp: i64, ingestion: i64, message: &str, stream: &str, group: &str, ptr: String) -> Record {
    let mut r = Record::new();
    r.insert("@timestamp".into(), Val::Num(timestamp as f64));
    r.insert("@ingestionTime".into(), Val::Num(ingestion as f64));
    r.insert("@message".into(), Val::Str(message.to_string()));
    r.insert("@logStream".into(), Val::Str(stream.to_string()));
    r.insert("@log".into(), Val::Str(group.to_string()));
    r.insert("@ptr".into(), Val::Str(ptr));
    if let Ok(serde_json::Value::Object(doc)) = serde_json::from_str::<serde_json::Value>(message.trim()) {
        flatten("", &serde_json::Value::Object(doc), &mut r);
    }
    r
}

fn flatten(prefix: &str, v: &serde_json::Value, r: &mut Record) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, r);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten(&format!("{prefix}.{i}"), v, r);
            }
        }
        serde_json::Value::Number(n) => {
            r.insert(prefix.to_string(), n.as_f64().map(Val::Num).unwrap_or(Val::Null));
        }
        serde_json::Value::String(s) => {
            r.insert(prefix.to_string(), Val::Str(s.clone()));
        }
        serde_json::Value::Bool(b) => {
            r.insert(prefix.to_string(), Val::Str(b.to_string()));
        }
        serde_json::Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records() -> Vec<Record> {
        let lines = [
            r#"{"ip": "1.1.1.1", "path": "/menu", "status": 200}"#,
            r#"{"ip": "2.2.2.2", "path": "/menu", "status": 200}"#,
            r#"{"ip": "1.1.1.1", "path": "/buy", "status": 302}"#,
            r#"{"ip": "3.3.3.3", "path": "/x", "status": 404}"#,
        ];
        lines.iter().enumerate().map(|(i, l)| record(1_000 * i as i64, 0, l, "s", "g", i.to_string())).collect()
    }

    #[test]
    fn stats_filter_sort_limit() {
        let q = parse("filter path = '/menu' | stats count(*) as visits, count_distinct(ip) as visitors").unwrap();
        let out = q.run(records());
        assert_eq!(out.rows, vec![vec![("visits".into(), "2".into()), ("visitors".into(), "2".into())]]);
        let q = parse("stats count(*) by path | sort `count(*)` desc | limit 1").unwrap();
        assert_eq!(
            q.run(records()).rows[0],
            vec![("path".to_string(), "/menu".to_string()), ("count(*)".into(), "2".into())]
        );
        let q = parse("fields ip, status | filter status >= 300 and ip like /^3/").unwrap();
        assert_eq!(
            q.run(records()).rows,
            vec![vec![
                ("ip".to_string(), "3.3.3.3".to_string()),
                ("status".into(), "404".into()),
                ("@ptr".into(), "3".into())
            ]]
        );
    }

    #[test]
    fn parse_glob_and_bins() {
        let r = vec![record(60_000, 0, "GET /menu HTTP/1.1 200", "s", "g", "p".into())];
        let q = parse("parse @message '* * HTTP/1.1 *' as verb, path, code | display verb, path, code").unwrap();
        assert_eq!(
            q.run(r.clone()).rows[0][..3],
            [("verb".into(), "GET".into()), ("path".into(), "/menu".into()), ("code".into(), "200".into())]
        );
        let q = parse("stats count(*) by bin(1m)").unwrap();
        assert_eq!(q.run(r).rows[0][0], ("bin(1m)".to_string(), "1970-01-01 00:01:00.000".to_string()));
    }
}
