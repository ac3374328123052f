//! DynamoDB's PartiQL: SELECT, INSERT, UPDATE and DELETE statements (ExecuteStatement,
//! BatchExecuteStatement), parsed here and run by the same machinery as the item operations.
//! DynamoDB's dialect is its own (one `VALUE` per INSERT, repeated `SET` clauses, `?`
//! parameters, `<<...>>` sets, `IS MISSING`), narrower and different from the reference
//! PartiQL grammar, whose Rust parser represents neither repeated SETs nor DynamoDB's
//! restrictions; so the parser is written to DynamoDB's documentation.
use crate::capacity::{self, Consumed, ReadKind};
use crate::expr::{Cmp, Cond, Operand, Path, Step, Update};
use crate::items::{check_condition, wire};
use crate::query::{Page, Source};
use crate::value::{number, validation, Av, Item};
use crate::DynamoDb;
use base64::Engine;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::dynamodb as m;
use nuage_protocol::dynamodb::errors::Error as E;
use std::ops::Bound;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Str(String),
    Num(String),
    Param,
    Sym(&'static str),
    Eof,
}

const SYMBOLS: &[&str] =
    &["<<", ">>", "<=", ">=", "<>", "!=", "=", "<", ">", "(", ")", "[", "]", "{", "}", ",", ".", "+", "-", "*", ":"];

fn malformed(msg: impl std::fmt::Display) -> AwsError {
    validation(format!("Statement wasn't well formed, can't be processed: {msg}"))
}

fn lex(text: &str) -> AwsResult<Vec<Tok>> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            // '' and "" stand for the quote itself.
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(malformed("unterminated quoted text")),
                    Some(&q) if q == c && chars.get(i + 1) == Some(&c) => {
                        s.push(c);
                        i += 2;
                    }
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(&x) => {
                        s.push(x);
                        i += 1;
                    }
                }
            }
            out.push(if c == '\'' { Tok::Str(s) } else { Tok::Quoted(s) });
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                i += 1;
                if i < chars.len() && (chars[i] == '+' || chars[i] == '-') {
                    i += 1;
                }
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            out.push(Tok::Num(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
        } else if c == '?' {
            out.push(Tok::Param);
            i += 1;
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            match SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
                Some(s) => {
                    out.push(Tok::Sym(s));
                    i += s.chars().count();
                }
                None => return Err(malformed(format!("Unexpected character: {c}"))),
            }
        }
    }
    out.push(Tok::Eof);
    Ok(out)
}

/// What RETURNING asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Returning {
    AllOld,
    ModifiedOld,
    AllNew,
    ModifiedNew,
}

#[derive(Debug)]
enum Statement {
    Select {
        table: String,
        index: Option<String>,
        projection: Option<Vec<Path>>,
        filter: Option<Cond>,
        descending: bool,
    },
    Insert {
        table: String,
        item: Item,
    },
    Update {
        table: String,
        update: Update,
        filter: Cond,
        returning: Option<Returning>,
    },
    Delete {
        table: String,
        filter: Cond,
        returning: Option<Returning>,
    },
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    params: Vec<Av>,
    next_param: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos]
    }
    fn next(&mut self) -> Tok {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn unexpected<T>(&self) -> AwsResult<T> {
        Err(match self.peek() {
            Tok::Eof => malformed("Unexpected end of statement"),
            Tok::Word(w) => malformed(format!("Unexpected keyword: {w}")),
            other => malformed(format!("Unexpected token: {other:?}")),
        })
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Word(x) if x.eq_ignore_ascii_case(w))
    }
    fn word(&mut self, w: &str) -> AwsResult<()> {
        if self.is_word(w) {
            self.next();
            Ok(())
        } else {
            self.unexpected()
        }
    }
    fn at(&self, s: &str) -> bool {
        matches!(self.peek(), Tok::Sym(x) if *x == s)
    }
    fn sym(&mut self, s: &str) -> AwsResult<()> {
        if self.at(s) {
            self.next();
            Ok(())
        } else {
            self.unexpected()
        }
    }

    fn identifier(&mut self) -> AwsResult<String> {
        match self.next() {
            Tok::Word(w) | Tok::Quoted(w) => Ok(w),
            _ => {
                self.pos -= 1;
                self.unexpected()
            }
        }
    }

    fn path(&mut self) -> AwsResult<Path> {
        let mut p = vec![Step::Attr(self.identifier()?)];
        loop {
            if self.at(".") {
                self.next();
                p.push(Step::Attr(self.identifier()?));
            } else if self.at("[") {
                self.next();
                match self.next() {
                    Tok::Num(n) => p.push(Step::Index(n.parse().map_err(|_| malformed("invalid list index"))?)),
                    Tok::Str(s) => p.push(Step::Attr(s)),
                    _ => return self.unexpected(),
                }
                self.sym("]")?;
            } else {
                return Ok(p);
            }
        }
    }

    /// A literal value, a parameter, a map, a list or a set.
    fn value(&mut self) -> AwsResult<Av> {
        Ok(match self.next() {
            Tok::Str(s) => Av::S(s),
            Tok::Num(n) => Av::N(number(&n)?.canonical()),
            Tok::Sym("-") => match self.next() {
                Tok::Num(n) => Av::N(number(&format!("-{n}"))?.canonical()),
                _ => return self.unexpected(),
            },
            Tok::Param => {
                let v = self.params.get(self.next_param).cloned();
                self.next_param += 1;
                v.ok_or_else(|| validation("Number of parameters in request and statement don't match."))?
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Av::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Av::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Av::Null(true),
            Tok::Sym("{") => {
                let mut m = Item::new();
                while !self.at("}") {
                    let k = match self.next() {
                        Tok::Str(s) | Tok::Quoted(s) => s,
                        _ => return self.unexpected(),
                    };
                    self.sym(":")?;
                    m.insert(k, self.value()?);
                    if !self.at("}") {
                        self.sym(",")?;
                    }
                }
                self.next();
                Av::M(m)
            }
            Tok::Sym("[") => {
                let mut l = Vec::new();
                while !self.at("]") {
                    l.push(self.value()?);
                    if !self.at("]") {
                        self.sym(",")?;
                    }
                }
                self.next();
                Av::L(l)
            }
            Tok::Sym("<<") => {
                let mut l = Vec::new();
                while !self.at(">>") {
                    l.push(self.value()?);
                    if !self.at(">>") {
                        self.sym(",")?;
                    }
                }
                self.next();
                set_of(l)?
            }
            _ => {
                self.pos -= 1;
                return self.unexpected();
            }
        })
    }

    fn is_value_start(&self) -> bool {
        matches!(self.peek(), Tok::Str(_) | Tok::Num(_) | Tok::Param | Tok::Sym("{" | "[" | "<<" | "-"))
            || ["true", "false", "null"].iter().any(|w| self.is_word(w))
    }

    fn function(&self) -> Option<String> {
        match (self.peek(), self.toks.get(self.pos + 1)) {
            (Tok::Word(w), Some(Tok::Sym("("))) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn operand(&mut self) -> AwsResult<Operand> {
        if self.is_value_start() {
            return Ok(Operand::Value(self.value()?));
        }
        if self.function().as_deref() == Some("size") {
            self.next();
            self.sym("(")?;
            let p = self.path()?;
            self.sym(")")?;
            return Ok(Operand::Size(p));
        }
        Ok(Operand::Path(self.path()?))
    }

    fn or(&mut self) -> AwsResult<Cond> {
        let mut c = self.and()?;
        while self.is_word("OR") {
            self.next();
            c = Cond::Or(Box::new(c), Box::new(self.and()?));
        }
        Ok(c)
    }
    fn and(&mut self) -> AwsResult<Cond> {
        let mut c = self.not()?;
        while self.is_word("AND") {
            self.next();
            c = Cond::And(Box::new(c), Box::new(self.not()?));
        }
        Ok(c)
    }
    fn not(&mut self) -> AwsResult<Cond> {
        if self.is_word("NOT") {
            self.next();
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.primary()
    }
    fn primary(&mut self) -> AwsResult<Cond> {
        if self.at("(") {
            self.next();
            let c = self.or()?;
            self.sym(")")?;
            return Ok(c);
        }
        if let Some(f) = self.function().filter(|f| f != "size") {
            self.next();
            self.sym("(")?;
            let c = match f.as_str() {
                "begins_with" | "contains" => {
                    let a = self.operand()?;
                    self.sym(",")?;
                    let b = self.operand()?;
                    if f == "contains" {
                        Cond::Contains(a, b)
                    } else {
                        Cond::BeginsWith(a, b)
                    }
                }
                "attribute_type" => {
                    let p = self.path()?;
                    self.sym(",")?;
                    Cond::Type(p, self.operand()?)
                }
                "exists" | "missing" => return Err(malformed(format!("function {f} is not supported here"))),
                other => return Err(validation(format!("Unsupported function: {other}"))),
            };
            self.sym(")")?;
            return Ok(c);
        }
        let left = self.operand()?;
        if self.is_word("IS") {
            self.next();
            let negated = self.is_word("NOT");
            if negated {
                self.next();
            }
            let Operand::Path(p) = left else { return self.unexpected() };
            let c = if self.is_word("MISSING") {
                self.next();
                Cond::NotExists(p)
            } else if self.is_word("NULL") {
                self.next();
                Cond::Type(p, Operand::Value(Av::S("NULL".into())))
            } else {
                return self.unexpected();
            };
            return Ok(if negated { Cond::Not(Box::new(c)) } else { c });
        }
        if self.is_word("BETWEEN") {
            self.next();
            let lo = self.operand()?;
            self.word("AND")?;
            return Ok(Cond::Between(left, lo, self.operand()?));
        }
        if self.is_word("IN") {
            self.next();
            let close = if self.at("[") { "]" } else { ")" };
            if !self.at("[") && !self.at("(") {
                return self.unexpected();
            }
            self.next();
            let mut list = vec![self.operand()?];
            while self.at(",") {
                self.next();
                list.push(self.operand()?);
            }
            self.sym(close)?;
            return Ok(Cond::In(left, list));
        }
        let op = match self.next() {
            Tok::Sym("=") => Cmp::Eq,
            Tok::Sym("<>" | "!=") => Cmp::Ne,
            Tok::Sym("<") => Cmp::Lt,
            Tok::Sym("<=") => Cmp::Le,
            Tok::Sym(">") => Cmp::Gt,
            Tok::Sym(">=") => Cmp::Ge,
            _ => {
                self.pos -= 1;
                return self.unexpected();
            }
        };
        Ok(Cond::Cmp(left, op, self.operand()?))
    }

    fn returning(&mut self) -> AwsResult<Option<Returning>> {
        if !self.is_word("RETURNING") {
            return Ok(None);
        }
        self.next();
        let all = if self.is_word("ALL") {
            true
        } else if self.is_word("MODIFIED") {
            false
        } else {
            return self.unexpected();
        };
        self.next();
        let new = if self.is_word("NEW") {
            true
        } else if self.is_word("OLD") {
            false
        } else {
            return self.unexpected();
        };
        self.next();
        self.sym("*")?;
        Ok(Some(match (all, new) {
            (true, false) => Returning::AllOld,
            (false, false) => Returning::ModifiedOld,
            (true, true) => Returning::AllNew,
            (false, true) => Returning::ModifiedNew,
        }))
    }

    fn statement(&mut self) -> AwsResult<Statement> {
        let s = if self.is_word("SELECT") {
            self.next();
            let projection = if self.at("*") {
                self.next();
                None
            } else {
                let mut p = vec![self.path()?];
                while self.at(",") {
                    self.next();
                    p.push(self.path()?);
                }
                Some(p)
            };
            self.word("FROM")?;
            let table = self.identifier()?;
            let index = if self.at(".") {
                self.next();
                Some(self.identifier()?)
            } else {
                None
            };
            let filter = if self.is_word("WHERE") {
                self.next();
                Some(self.or()?)
            } else {
                None
            };
            let mut descending = false;
            if self.is_word("ORDER") {
                self.next();
                self.word("BY")?;
                self.path()?;
                if self.is_word("DESC") {
                    descending = true;
                    self.next();
                } else if self.is_word("ASC") {
                    self.next();
                }
            }
            Statement::Select { table, index, projection, filter, descending }
        } else if self.is_word("INSERT") {
            self.next();
            self.word("INTO")?;
            let table = self.identifier()?;
            self.word("VALUE")?;
            let Av::M(item) = self.value()? else {
                return Err(malformed("INSERT needs a tuple value: VALUE {'key': value, ...}"));
            };
            Statement::Insert { table, item }
        } else if self.is_word("UPDATE") {
            self.next();
            let table = self.identifier()?;
            let mut update = Update::default();
            loop {
                if self.is_word("SET") {
                    self.next();
                    loop {
                        let p = self.path()?;
                        self.sym("=")?;
                        self.set_value(p, &mut update)?;
                        if self.at(",") {
                            self.next();
                        } else {
                            break;
                        }
                    }
                } else if self.is_word("REMOVE") {
                    self.next();
                    update.remove.push(self.path()?);
                    while self.at(",") {
                        self.next();
                        update.remove.push(self.path()?);
                    }
                } else {
                    break;
                }
            }
            if update.set.is_empty() && update.remove.is_empty() && update.add.is_empty() && update.delete.is_empty() {
                return self.unexpected();
            }
            self.word("WHERE")?;
            let filter = self.or()?;
            Statement::Update { table, update, filter, returning: self.returning()? }
        } else if self.is_word("DELETE") {
            self.next();
            self.word("FROM")?;
            let table = self.identifier()?;
            self.word("WHERE")?;
            let filter = self.or()?;
            Statement::Delete { table, filter, returning: self.returning()? }
        } else {
            return self.unexpected();
        };
        if self.peek() != &Tok::Eof {
            return self.unexpected();
        }
        if self.next_param != self.params.len() {
            return Err(validation("Number of parameters in request and statement don't match."));
        }
        Ok(s)
    }

    /// The right-hand side of `SET path = ...`: a value, arithmetic, or one of DynamoDB's
    /// collection functions.
    fn set_value(&mut self, path: Path, u: &mut Update) -> AwsResult<()> {
        if let Some(f) = self.function() {
            self.next();
            self.sym("(")?;
            let target = self.path()?;
            self.sym(",")?;
            let v = self.value()?;
            self.sym(")")?;
            if target != path {
                return Err(validation(format!("{f} must name the attribute it assigns")));
            }
            match f.as_str() {
                "list_append" => u.set.push((
                    path.clone(),
                    Operand::ListAppend(Box::new(Operand::Path(target)), Box::new(Operand::Value(v))),
                )),
                "set_add" => u.add.push((path, v)),
                "set_delete" => u.delete.push((path, v)),
                other => return Err(validation(format!("Unsupported function: {other}"))),
            }
            return Ok(());
        }
        let left = self.operand()?;
        let value = if self.at("+") || self.at("-") {
            let plus = self.at("+");
            self.next();
            let right = self.operand()?;
            if plus {
                Operand::Plus(Box::new(left), Box::new(right))
            } else {
                Operand::Minus(Box::new(left), Box::new(right))
            }
        } else {
            left
        };
        u.set.push((path, value));
        Ok(())
    }
}

/// A set literal: all strings, all numbers or all binaries.
fn set_of(values: Vec<Av>) -> AwsResult<Av> {
    let bad = || validation("Sets must contain elements of one scalar type: strings, numbers or binaries");
    match values.first() {
        Some(Av::S(_)) => values
            .into_iter()
            .map(|v| if let Av::S(s) = v { Ok(s) } else { Err(bad()) })
            .collect::<AwsResult<_>>()
            .map(Av::SS),
        Some(Av::N(_)) => values
            .into_iter()
            .map(|v| if let Av::N(s) = v { Ok(s) } else { Err(bad()) })
            .collect::<AwsResult<_>>()
            .map(Av::NS),
        Some(Av::B(_)) => values
            .into_iter()
            .map(|v| if let Av::B(s) = v { Ok(s) } else { Err(bad()) })
            .collect::<AwsResult<_>>()
            .map(Av::BS),
        _ => Err(bad()),
    }
}

fn parse(text: &str, params: Option<Vec<m::AttributeValue>>) -> AwsResult<Statement> {
    let params = params.unwrap_or_default().into_iter().map(Av::from_wire).collect::<AwsResult<Vec<_>>>()?;
    Parser { toks: lex(text)?, pos: 0, params, next_param: 0 }.statement()
}

/// What a statement is authorised as: its IAM action (`dynamodb:PartiQLSelect`, ...), table
/// and index; `None` when it does not parse (the handler then answers the error).
pub fn authorization_facts(
    text: &str,
    params: Option<Vec<m::AttributeValue>>,
) -> Option<(&'static str, String, Option<String>)> {
    Some(match parse(text, params).ok()? {
        Statement::Select { table, index, .. } => ("dynamodb:PartiQLSelect", table, index),
        Statement::Insert { table, .. } => ("dynamodb:PartiQLInsert", table, None),
        Statement::Update { table, .. } => ("dynamodb:PartiQLUpdate", table, None),
        Statement::Delete { table, .. } => ("dynamodb:PartiQLDelete", table, None),
    })
}

/// The top-level AND-ed parts of a condition.
fn conjuncts(c: &Cond, out: &mut Vec<Cond>) {
    match c {
        Cond::And(a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        other => out.push(other.clone()),
    }
}

/// The value a conjunct says `name` equals, if it does.
fn equality(c: &Cond, name: &str) -> Option<Av> {
    let is = |p: &Path| matches!(p.as_slice(), [Step::Attr(a)] if a == name);
    match c {
        Cond::Cmp(Operand::Path(p), Cmp::Eq, Operand::Value(v))
        | Cond::Cmp(Operand::Value(v), Cmp::Eq, Operand::Path(p))
            if is(p) =>
        {
            Some(v.clone())
        }
        _ => None,
    }
}

fn next_token(last: &Item) -> String {
    base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(last).unwrap_or_default())
}

fn from_token(token: &str) -> AwsResult<Item> {
    let bad = || validation("Invalid NextToken");
    let bytes = base64::engine::general_purpose::STANDARD.decode(token).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

fn returned(r: Option<Returning>, old: Option<&Item>, new: Option<&Item>, touched: &[Path]) -> Option<Item> {
    match r? {
        Returning::AllOld => old.cloned(),
        Returning::AllNew => new.cloned(),
        Returning::ModifiedOld => old.map(|o| crate::eval::project(o, touched)),
        Returning::ModifiedNew => new.map(|n| crate::eval::project(n, touched)),
    }
}

/// A statement's outcome.
struct Outcome {
    table: String,
    items: Vec<Item>,
    last: Option<Item>,
    consumed: Consumed,
}

impl DynamoDb {
    async fn run_statement(
        &self,
        ctx: &RequestContext,
        statement: Statement,
        consistent: Option<bool>,
        limit: Option<i32>,
        token: Option<String>,
        return_old_on_failure: bool,
    ) -> AwsResult<Outcome> {
        match statement {
            Statement::Select { table, index, projection, filter, descending } => {
                let t = self.table(ctx, Some(&table))?;
                let ix = crate::query::read_index(&t, index.as_deref(), consistent)?;
                let src = Source { table: &t, index: ix };
                let mut parts = Vec::new();
                if let Some(f) = &filter {
                    conjuncts(f, &mut parts);
                }
                let hash = parts.iter().find_map(|c| equality(c, &src.key().hash.name));
                let mut prefix = src.prefix();
                if let Some(h) = &hash {
                    crate::value::encode_key_part(h, &mut prefix, true);
                }
                let start = token.as_deref().map(from_token).transpose()?;
                let start_key = start.as_ref().and_then(|s| src.stored_key(s));
                let forward = !descending;
                let (mut lower, mut upper) =
                    (Bound::Included(prefix.clone()), Bound::Excluded(crate::query::successor(&prefix)));
                if let Some(k) = start_key {
                    if forward {
                        lower = Bound::Excluded(k);
                    } else {
                        upper = Bound::Excluded(k);
                    }
                }
                let kind = ReadKind::of(consistent);
                self.admit_read(&t, index.as_deref(), kind)?;
                let limit = match limit {
                    Some(l) if l < 1 => return Err(validation("Limit must be at least 1")),
                    l => l.map(|l| l as usize),
                };
                let page = Page { limit, filter, projection, count_only: false, fetch: false };
                let result = self.page(&src, lower, upper, forward, &page, |_| Some(true))?;
                let consumed = crate::query::read_consumed(ix, result.bytes, kind);
                self.charge(&t, &consumed, index.as_deref());
                Ok(Outcome { table, items: result.items, last: result.last, consumed })
            }
            Statement::Insert { table, item } => {
                let t = self.table(ctx, Some(&table))?;
                t.check_item(&item)?;
                self.admit_write(&t)?;
                let key = t.key.key_of(&item).unwrap_or_default();
                let written = self
                    .write_one(&t, key, move |old| match old {
                        Some(_) => Err(E::DuplicateItemException.msg("Duplicate primary key exists in table")),
                        None => Ok(Some(item)),
                    })
                    .await?;
                Ok(Outcome { table, items: Vec::new(), last: None, consumed: written.consumed })
            }
            Statement::Update { table, update, filter, returning } => {
                let t = self.table(ctx, Some(&table))?;
                let (key, cond) = key_and_condition(&t, &filter)?;
                self.admit_write(&t)?;
                let touched: Vec<Path> = update
                    .set
                    .iter()
                    .map(|(p, _)| p.clone())
                    .chain(update.remove.iter().cloned())
                    .chain(update.add.iter().map(|(p, _)| p.clone()))
                    .chain(update.delete.iter().map(|(p, _)| p.clone()))
                    .collect();
                let table_def = t.clone();
                let written = self
                    .write_one(&t, key, move |old| {
                        check_condition(&Some(cond), old, return_old_on_failure)?;
                        let mut item = old.cloned().unwrap_or_default();
                        crate::eval::apply_update(&mut item, &update, &table_def.key.names())?;
                        table_def.check_item(&item)?;
                        Ok(Some(item))
                    })
                    .await?;
                let items =
                    returned(returning, written.old.as_ref(), written.new.as_ref(), &touched).into_iter().collect();
                Ok(Outcome { table, items, last: None, consumed: written.consumed })
            }
            Statement::Delete { table, filter, returning } => {
                if returning.is_some_and(|r| r != Returning::AllOld) {
                    return Err(validation("DELETE supports only RETURNING ALL OLD *"));
                }
                let t = self.table(ctx, Some(&table))?;
                let (key, cond) = key_and_condition(&t, &filter)?;
                self.admit_write(&t)?;
                let written = self
                    .write_one(&t, key, move |old| {
                        check_condition(&Some(cond), old, return_old_on_failure)?;
                        Ok(None)
                    })
                    .await?;
                let items = returned(returning, written.old.as_ref(), None, &[]).into_iter().collect();
                Ok(Outcome { table, items, last: None, consumed: written.consumed })
            }
        }
    }

    pub async fn execute_statement(
        &self,
        ctx: &RequestContext,
        i: m::ExecuteStatementInput,
    ) -> AwsResult<m::ExecuteStatementOutput> {
        capacity::check_mode(i.return_consumed_capacity.as_deref())?;
        let statement = parse(i.statement.as_deref().unwrap_or_default(), i.parameters)?;
        let fail_old = i.return_values_on_condition_check_failure.as_deref() == Some("ALL_OLD");
        let out = self.run_statement(ctx, statement, i.consistent_read, i.limit, i.next_token, fail_old).await?;
        Ok(m::ExecuteStatementOutput {
            items: Some(out.items.iter().map(wire).collect()),
            next_token: out.last.as_ref().map(next_token),
            last_evaluated_key: out.last.as_ref().map(wire),
            consumed_capacity: out.consumed.render(&out.table, i.return_consumed_capacity.as_deref()),
        })
    }

    /// Up to 25 statements, each on one item, each answered on its own.
    pub async fn batch_execute_statement(
        &self,
        ctx: &RequestContext,
        i: m::BatchExecuteStatementInput,
    ) -> AwsResult<m::BatchExecuteStatementOutput> {
        capacity::check_mode(i.return_consumed_capacity.as_deref())?;
        let statements = i.statements.unwrap_or_default();
        if statements.is_empty() || statements.len() > 25 {
            return Err(validation("1 validation error detected: Value at 'statements' failed to satisfy constraint: Member must have length less than or equal to 25 and greater than or equal to 1"));
        }
        let mut parsed = Vec::new();
        for s in statements {
            let st = parse(s.statement.as_deref().unwrap_or_default(), s.parameters.clone())?;
            if let Statement::Select { table, filter, .. } = &st {
                // A batch reads single items: the full key by equality.
                let t = self.table(ctx, Some(table))?;
                let f = filter.clone().ok_or_else(|| {
                    validation("Select statements within BatchExecuteStatement must specify the full primary key")
                })?;
                key_and_condition(&t, &f).map_err(|_| {
                    validation("Select statements within BatchExecuteStatement must specify the full primary key")
                })?;
            }
            parsed.push((st, s));
        }
        let mut responses = Vec::new();
        let mut consumed: std::collections::BTreeMap<String, Consumed> = Default::default();
        for (st, s) in parsed {
            let table = match &st {
                Statement::Select { table, .. }
                | Statement::Insert { table, .. }
                | Statement::Update { table, .. }
                | Statement::Delete { table, .. } => table.clone(),
            };
            let fail_old = s.return_values_on_condition_check_failure.as_deref() == Some("ALL_OLD");
            match self.run_statement(ctx, st, s.consistent_read, None, None, fail_old).await {
                Ok(out) => {
                    consumed.entry(out.table.clone()).or_default().add(&out.consumed);
                    responses.push(m::BatchStatementResponse {
                        error: None,
                        table_name: Some(out.table),
                        item: out.items.first().map(wire),
                    });
                }
                Err(e) => {
                    let code = e.code.trim_end_matches("Exception").to_string();
                    let item = e
                        .fields
                        .iter()
                        .find(|(n, _)| *n == "Item")
                        .and_then(|(_, v)| serde_json::from_str::<Item>(v).ok());
                    responses.push(m::BatchStatementResponse {
                        error: Some(m::BatchStatementError {
                            code: Some(code),
                            message: Some(e.message),
                            item: item.as_ref().map(wire),
                        }),
                        table_name: Some(table),
                        item: None,
                    });
                }
            }
        }
        let cc: Vec<m::ConsumedCapacity> =
            consumed.iter().filter_map(|(t, c)| c.render(t, i.return_consumed_capacity.as_deref())).collect();
        Ok(m::BatchExecuteStatementOutput {
            responses: Some(responses),
            consumed_capacity: (!cc.is_empty()).then_some(cc),
        })
    }
}

impl DynamoDb {
    /// Up to 100 statements as one transaction: all reads (each item by its full key, read
    /// at one instant) or all writes (applied together or not at all).
    pub async fn execute_transaction(
        &self,
        ctx: &RequestContext,
        i: m::ExecuteTransactionInput,
    ) -> AwsResult<m::ExecuteTransactionOutput> {
        capacity::check_mode(i.return_consumed_capacity.as_deref())?;
        let statements = i.transact_statements.clone().unwrap_or_default();
        if statements.is_empty() || statements.len() > 100 {
            return Err(validation("1 validation error detected: Value at 'transactStatements' failed to satisfy constraint: Member must have length less than or equal to 100 and greater than or equal to 1"));
        }
        let fingerprint = format!("{:?}", i.transact_statements);
        if let Some(token) = &i.client_request_token {
            if self.tokens.seen(token, &fingerprint)? {
                return Ok(m::ExecuteTransactionOutput::default());
            }
        }
        let mut parsed = Vec::new();
        for s in &statements {
            let ret = s.return_values_on_condition_check_failure.as_deref() == Some("ALL_OLD");
            parsed.push((parse(s.statement.as_deref().unwrap_or_default(), s.parameters.clone())?, ret));
        }
        let reads = parsed.iter().filter(|(s, _)| matches!(s, Statement::Select { .. })).count();
        if reads != 0 && reads != parsed.len() {
            return Err(validation("Transactions must contain either only reads (SELECT) or only writes"));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mode = i.return_consumed_capacity.as_deref();
        if reads > 0 {
            let mut plans = Vec::new();
            for (s, _) in parsed {
                let Statement::Select { table, index: None, projection, filter: Some(filter), .. } = s else {
                    return Err(validation(
                        "Select statements in a transaction must name the full primary key of a table",
                    ));
                };
                let t = self.table(ctx, Some(&table))?;
                let (key, _) = key_and_condition(&t, &filter)?;
                if !seen.insert((t.arn.clone(), t.item_key(&key))) {
                    return Err(validation("Transaction request cannot include multiple operations on one item"));
                }
                self.admit_read(&t, None, ReadKind::Transactional)?;
                plans.push((t, key, projection, filter));
            }
            let snap = self.store.read()?;
            let mut responses = Vec::new();
            let mut consumed: std::collections::BTreeMap<String, Consumed> = Default::default();
            for (t, key, projection, filter) in plans {
                let item =
                    snap.get_bytes(crate::ITEMS, &t.item_key(&key))?.map(|b| crate::items::decode(&b)).transpose()?;
                let size = item.as_ref().map(crate::value::item_size).unwrap_or(0);
                let c = Consumed { read: capacity::read_units(size, ReadKind::Transactional), ..Default::default() };
                self.charge(&t, &c, None);
                consumed.entry(t.name.clone()).or_default().add(&c);
                let item = match item {
                    Some(it) if crate::eval::eval("Statement", &filter, &it)? => {
                        Some(crate::items::projected(it, &projection))
                    }
                    _ => None,
                };
                responses.push(m::ItemResponse { item: item.as_ref().map(wire) });
            }
            let cc = crate::batch::render_split(&consumed, mode).unwrap_or_default();
            return Ok(m::ExecuteTransactionOutput {
                responses: Some(responses),
                consumed_capacity: (!cc.is_empty()).then_some(cc),
            });
        }
        let mut plans = Vec::new();
        for (s, ret) in parsed {
            let (table, key, action) = match s {
                Statement::Insert { table, item } => {
                    let t = self.table(ctx, Some(&table))?;
                    t.check_item(&item)?;
                    let key = t.key.key_of(&item).unwrap_or_default();
                    (t, key, crate::batch::Action::Insert(item))
                }
                Statement::Update { table, update, filter, .. } => {
                    let t = self.table(ctx, Some(&table))?;
                    let (key, cond) = key_and_condition(&t, &filter)?;
                    (t, key, crate::batch::Action::Update(update, Some(cond)))
                }
                Statement::Delete { table, filter, .. } => {
                    let t = self.table(ctx, Some(&table))?;
                    let (key, cond) = key_and_condition(&t, &filter)?;
                    (t, key, crate::batch::Action::Delete(Some(cond)))
                }
                Statement::Select { .. } => {
                    return Err(validation("Transactions must contain either only reads (SELECT) or only writes"))
                }
            };
            if !seen.insert((table.arn.clone(), table.item_key(&key))) {
                return Err(validation("Transaction request cannot include multiple operations on one item"));
            }
            self.admit_write(&table)?;
            plans.push(crate::batch::Planned { table, key, action, return_old: ret });
        }
        let per_table = self.run_transaction(plans).await?;
        if let Some(token) = &i.client_request_token {
            self.tokens.remember(token, &fingerprint);
        }
        let cc = crate::batch::render_split(&per_table, mode).unwrap_or_default();
        Ok(m::ExecuteTransactionOutput { responses: None, consumed_capacity: (!cc.is_empty()).then_some(cc) })
    }
}

/// For UPDATE and DELETE: the full primary key from the WHERE clause's equalities, and the
/// condition the item must meet (the whole clause, and that the item exists).
fn key_and_condition(t: &crate::table::Table, filter: &Cond) -> AwsResult<(Item, Cond)> {
    let mut parts = Vec::new();
    conjuncts(filter, &mut parts);
    let mut key = Item::new();
    for name in t.key.names() {
        let v = parts
            .iter()
            .find_map(|c| equality(c, name))
            .ok_or_else(|| validation("Where clause does not contain a mandatory equality on all key attributes"))?;
        key.insert(name.to_string(), v);
    }
    t.check_key(&key)?;
    let exists = Cond::Exists(vec![Step::Attr(t.key.hash.name.clone())]);
    Ok((key, Cond::And(Box::new(exists), Box::new(filter.clone()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dynamodb_statements() {
        let s = parse("SELECT a, \"b\".c[1] FROM \"Music\".\"idx\" WHERE Artist = 'Acme' AND n > 5 AND x IS NOT MISSING ORDER BY s DESC", None).unwrap();
        assert!(
            matches!(s, Statement::Select { ref table, ref index, descending: true, .. } if table == "Music" && index.as_deref() == Some("idx"))
        );
        let s = parse("INSERT INTO t VALUE {'pk': 'a', 'n': 1.50, 'l': [1, 'x'], 's': <<'a', 'b'>>, 'ok': true}", None)
            .unwrap();
        let Statement::Insert { item, .. } = s else { panic!() };
        assert_eq!(item["n"], Av::N("1.5".into()));
        assert_eq!(item["s"], Av::SS(vec!["a".into(), "b".into()]));
        let p = vec![m::AttributeValue { s: Some("k".into()), ..Default::default() }];
        let s = parse(
            "UPDATE t SET a = a + 1 SET b = list_append(b, [2]) REMOVE c WHERE pk = ? RETURNING ALL NEW *",
            Some(p),
        )
        .unwrap();
        let Statement::Update { update, returning, .. } = s else { panic!() };
        assert_eq!((update.set.len(), update.remove.len(), returning), (2, 1, Some(Returning::AllNew)));
        assert!(parse("DELETE FROM t WHERE pk = ?", None).unwrap_err().message.contains("parameters"));
        assert!(parse("SELEC * FROM t", None).unwrap_err().message.contains("wasn't well formed"));
        assert!(parse("SELECT * FROM t WHERE 'it''s' = a", None).is_ok());
    }
}
