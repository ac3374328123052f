//! DynamoDB's expression language, parsed: condition (and filter and key-condition)
//! expressions, projection expressions and update expressions, with their placeholders
//! (`#name`, `:value`) resolved and the validation errors DynamoDB gives for each misuse.
use crate::reserved::is_reserved;
use crate::value::{validation, Av};
use nuage_core::{AwsError, AwsResult};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// One step of a document path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Attr(String),
    Index(usize),
}

pub type Path = Vec<Step>;

#[derive(Debug, Clone)]
pub enum Operand {
    Path(Path),
    Value(Av),
    Size(Path),
    IfNotExists(Path, Box<Operand>),
    ListAppend(Box<Operand>, Box<Operand>),
    Plus(Box<Operand>, Box<Operand>),
    Minus(Box<Operand>, Box<Operand>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
pub enum Cond {
    Cmp(Operand, Cmp, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(Path),
    NotExists(Path),
    Type(Path, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

/// The actions of an update expression, in the order written.
#[derive(Debug, Clone, Default)]
pub struct Update {
    pub set: Vec<(Path, Operand)>,
    pub remove: Vec<Path>,
    pub add: Vec<(Path, Av)>,
    pub delete: Vec<(Path, Av)>,
}

/// The placeholders of one request, shared by all its expressions, so that a name or value
/// none of them uses is refused as DynamoDB refuses it.
pub struct Placeholders<'a> {
    names: &'a BTreeMap<String, String>,
    values: &'a BTreeMap<String, Av>,
    used_names: RefCell<BTreeSet<String>>,
    used_values: RefCell<BTreeSet<String>>,
}

impl<'a> Placeholders<'a> {
    pub fn new(names: &'a BTreeMap<String, String>, values: &'a BTreeMap<String, Av>) -> Placeholders<'a> {
        Placeholders { names, values, used_names: Default::default(), used_values: Default::default() }
    }

    /// Refuses names and values that no expression used.
    pub fn check_unused(&self) -> AwsResult<()> {
        let unused: Vec<&String> = self.names.keys().filter(|k| !self.used_names.borrow().contains(*k)).collect();
        if !unused.is_empty() {
            return Err(validation(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                join(&unused)
            )));
        }
        let unused: Vec<&String> = self.values.keys().filter(|k| !self.used_values.borrow().contains(*k)).collect();
        if !unused.is_empty() {
            return Err(validation(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                join(&unused)
            )));
        }
        Ok(())
    }
}

fn join(keys: &[&String]) -> String {
    keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    NamePh(String),
    ValuePh(String),
    Int(String),
    Sym(&'static str),
    Eof,
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Name(s) | Tok::NamePh(s) | Tok::ValuePh(s) | Tok::Int(s) => s.clone(),
            Tok::Sym(s) => s.to_string(),
            Tok::Eof => "<EOF>".into(),
        }
    }
}

const SYMBOLS: &[&str] = &["<>", "<=", ">=", "=", "<", ">", "(", ")", "[", "]", ",", ".", "+", "-"];

fn lex(kind: &str, text: &str) -> AwsResult<Vec<Tok>> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' || c == b':' {
            let start = i;
            i += 1;
            while i < b.len() && word(b[i]) {
                i += 1;
            }
            let t = text[start..i].to_string();
            if t.len() == 1 {
                return Err(syntax(kind, &t, text));
            }
            out.push(if c == b'#' { Tok::NamePh(t) } else { Tok::ValuePh(t) });
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Tok::Int(text[start..i].to_string()));
            continue;
        }
        if word(c) {
            let start = i;
            while i < b.len() && word(b[i]) {
                i += 1;
            }
            out.push(Tok::Name(text[start..i].to_string()));
            continue;
        }
        match SYMBOLS.iter().find(|s| text[i..].starts_with(*s)) {
            Some(s) => {
                out.push(Tok::Sym(s));
                i += s.len();
            }
            None => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(validation(format!(
                    "Invalid {kind}: Syntax error; token: \"{ch}\", near: \"{}\"",
                    &text[i.saturating_sub(8)..(i + ch.len_utf8()).min(text.len())]
                )));
            }
        }
    }
    out.push(Tok::Eof);
    Ok(out)
}

fn syntax(kind: &str, token: &str, near: &str) -> AwsError {
    validation(format!("Invalid {kind}: Syntax error; token: \"{token}\", near: \"{near}\""))
}

struct Parser<'p, 'a> {
    kind: &'static str,
    toks: Vec<Tok>,
    pos: usize,
    ph: &'p Placeholders<'a>,
}

impl Parser<'_, '_> {
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
    fn error(&self) -> AwsError {
        let cur = self.peek().text();
        let prev = if self.pos > 0 { self.toks[self.pos - 1].text() } else { String::new() };
        let near = if prev.is_empty() { cur.clone() } else { format!("{prev} {cur}") };
        syntax(self.kind, &cur, near.trim())
    }
    fn fail<T>(&self, msg: impl std::fmt::Display) -> AwsResult<T> {
        Err(validation(format!("Invalid {}: {msg}", self.kind)))
    }
    fn is_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n.eq_ignore_ascii_case(kw))
    }
    fn sym(&mut self, s: &str) -> AwsResult<()> {
        if self.at_sym(s) {
            self.next();
            Ok(())
        } else {
            Err(self.error())
        }
    }
    fn at_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Tok::Sym(x) if *x == s)
    }
    fn done(&self) -> AwsResult<()> {
        if self.peek() == &Tok::Eof {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn value(&mut self, name: &str) -> AwsResult<Av> {
        match self.ph.values.get(name) {
            Some(v) => {
                self.ph.used_values.borrow_mut().insert(name.to_string());
                Ok(v.clone())
            }
            None => self.fail(format!(
                "An expression attribute value used in expression is not defined; attribute value: {name}"
            )),
        }
    }

    fn path(&mut self) -> AwsResult<Path> {
        let mut path = vec![self.attr()?];
        loop {
            if self.at_sym(".") {
                self.next();
                path.push(self.attr()?);
            } else if self.at_sym("[") {
                self.next();
                let Tok::Int(i) = self.next() else { return Err(self.error()) };
                let i: usize = match i.parse() {
                    Ok(i) => i,
                    Err(_) => return self.fail("List index is too large"),
                };
                self.sym("]")?;
                path.push(Step::Index(i));
            } else {
                break;
            }
        }
        if path.len() > 32 {
            return self.fail("The document path has too many nesting levels; nesting levels: 33");
        }
        Ok(path)
    }

    fn attr(&mut self) -> AwsResult<Step> {
        match self.next() {
            Tok::Name(n) if n.as_bytes()[0].is_ascii_alphabetic() || n.starts_with('_') => {
                if is_reserved(&n) {
                    return self.fail(format!("Attribute name is a reserved keyword; reserved keyword: {n}"));
                }
                Ok(Step::Attr(n))
            }
            Tok::NamePh(p) => match self.ph.names.get(&p) {
                Some(n) => {
                    self.ph.used_names.borrow_mut().insert(p);
                    Ok(Step::Attr(n.clone()))
                }
                None => self.fail(format!(
                    "An expression attribute name used in the document path is not defined; attribute name: {p}"
                )),
            },
            _ => {
                self.pos -= 1;
                Err(self.error())
            }
        }
    }

    /// A function call's name, if the next tokens are `name (`.
    fn function(&self) -> Option<String> {
        match (self.peek(), self.toks.get(self.pos + 1)) {
            (Tok::Name(n), Some(Tok::Sym("("))) => Some(n.clone()),
            _ => None,
        }
    }

    fn operand(&mut self) -> AwsResult<Operand> {
        if let Some(f) = self.function() {
            return match f.as_str() {
                "size" => {
                    self.next();
                    self.sym("(")?;
                    let p = self.path()?;
                    self.sym(")")?;
                    Ok(Operand::Size(p))
                }
                "attribute_exists" | "attribute_not_exists" | "attribute_type" | "begins_with" | "contains" => self
                    .fail(format!("The function is not allowed to be used this way in an expression; function: {f}")),
                _ => self.fail(format!("Invalid function name; function: {f}")),
            };
        }
        match self.peek().clone() {
            Tok::ValuePh(v) => {
                self.next();
                Ok(Operand::Value(self.value(&v)?))
            }
            Tok::Name(_) | Tok::NamePh(_) => Ok(Operand::Path(self.path()?)),
            _ => Err(self.error()),
        }
    }

    fn or(&mut self) -> AwsResult<Cond> {
        let mut left = self.and()?;
        while self.is_keyword("OR") {
            self.next();
            let right = self.and()?;
            left = Cond::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> AwsResult<Cond> {
        let mut left = self.not()?;
        while self.is_keyword("AND") {
            self.next();
            let right = self.not()?;
            left = Cond::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> AwsResult<Cond> {
        if self.is_keyword("NOT") && self.function().is_none() {
            self.next();
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> AwsResult<Cond> {
        if self.at_sym("(") {
            self.next();
            let c = self.or()?;
            self.sym(")")?;
            return Ok(c);
        }
        if let Some(f) = self.function() {
            if f != "size" {
                self.next();
                self.sym("(")?;
                let c = match f.as_str() {
                    "attribute_exists" => Cond::Exists(self.path()?),
                    "attribute_not_exists" => Cond::NotExists(self.path()?),
                    "attribute_type" => {
                        let p = self.path()?;
                        self.sym(",")?;
                        let t = self.operand()?;
                        if let Operand::Value(Av::S(t)) = &t {
                            const TYPES: &[&str] = &["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"];
                            if !TYPES.contains(&t.as_str()) {
                                return self.fail(format!("Invalid attribute type name found; type: {t}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"));
                            }
                        }
                        Cond::Type(p, t)
                    }
                    "begins_with" => {
                        let a = self.operand()?;
                        self.sym(",")?;
                        Cond::BeginsWith(a, self.operand()?)
                    }
                    "contains" => {
                        let a = self.operand()?;
                        self.sym(",")?;
                        Cond::Contains(a, self.operand()?)
                    }
                    _ => return self.fail(format!("Invalid function name; function: {f}")),
                };
                self.sym(")")?;
                return Ok(c);
            }
        }
        let left = self.operand()?;
        if self.is_keyword("BETWEEN") {
            self.next();
            let low = self.operand()?;
            if !self.is_keyword("AND") {
                return Err(self.error());
            }
            self.next();
            let high = self.operand()?;
            if let (Operand::Value(l), Operand::Value(h)) = (&low, &high) {
                if l.compare(h) == Some(std::cmp::Ordering::Greater) {
                    return self.fail(format!("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {{{}:{}}}, upper bound operand: AttributeValue: {{{}:{}}}", l.type_name(), scalar_text(l), h.type_name(), scalar_text(h)));
                }
            }
            return Ok(Cond::Between(left, low, high));
        }
        if self.is_keyword("IN") {
            self.next();
            self.sym("(")?;
            let mut list = vec![self.operand()?];
            while self.at_sym(",") {
                self.next();
                list.push(self.operand()?);
            }
            self.sym(")")?;
            if list.len() > 100 {
                return self.fail("The IN operator is provided with too many operands; number of operands: 101");
            }
            return Ok(Cond::In(left, list));
        }
        let op = match self.peek() {
            Tok::Sym("=") => Cmp::Eq,
            Tok::Sym("<>") => Cmp::Ne,
            Tok::Sym("<") => Cmp::Lt,
            Tok::Sym("<=") => Cmp::Le,
            Tok::Sym(">") => Cmp::Gt,
            Tok::Sym(">=") => Cmp::Ge,
            _ => return Err(self.error()),
        };
        self.next();
        let right = self.operand()?;
        Ok(Cond::Cmp(left, op, right))
    }

    fn set_value(&mut self) -> AwsResult<Operand> {
        let left = self.set_term()?;
        if self.at_sym("+") || self.at_sym("-") {
            let plus = self.at_sym("+");
            self.next();
            let right = self.set_term()?;
            return Ok(if plus {
                Operand::Plus(Box::new(left), Box::new(right))
            } else {
                Operand::Minus(Box::new(left), Box::new(right))
            });
        }
        Ok(left)
    }

    fn set_term(&mut self) -> AwsResult<Operand> {
        if let Some(f) = self.function() {
            match f.as_str() {
                "if_not_exists" => {
                    self.next();
                    self.sym("(")?;
                    let p = self.path()?;
                    self.sym(",")?;
                    let v = self.set_term()?;
                    self.sym(")")?;
                    return Ok(Operand::IfNotExists(p, Box::new(v)));
                }
                "list_append" => {
                    self.next();
                    self.sym("(")?;
                    let a = self.set_term()?;
                    self.sym(",")?;
                    let b = self.set_term()?;
                    self.sym(")")?;
                    return Ok(Operand::ListAppend(Box::new(a), Box::new(b)));
                }
                "size"
                | "attribute_exists"
                | "attribute_not_exists"
                | "attribute_type"
                | "begins_with"
                | "contains" => {
                    return self.fail(format!("The function is not allowed in an update expression; function: {f}"))
                }
                _ => return self.fail(format!("Invalid function name; function: {f}")),
            }
        }
        match self.peek().clone() {
            Tok::ValuePh(v) => {
                self.next();
                Ok(Operand::Value(self.value(&v)?))
            }
            Tok::Name(_) | Tok::NamePh(_) => Ok(Operand::Path(self.path()?)),
            _ => Err(self.error()),
        }
    }

    fn update(&mut self) -> AwsResult<Update> {
        let mut u = Update::default();
        let mut seen = BTreeSet::new();
        loop {
            let clause = match self.peek() {
                Tok::Name(n) => n.to_ascii_uppercase(),
                Tok::Eof if !seen.is_empty() => break,
                _ => return Err(self.error()),
            };
            if !["SET", "REMOVE", "ADD", "DELETE"].contains(&clause.as_str()) {
                return Err(self.error());
            }
            if !seen.insert(clause.clone()) {
                return self.fail(format!("The \"{clause}\" section can only be used once in an update expression;"));
            }
            self.next();
            loop {
                match clause.as_str() {
                    "SET" => {
                        let p = self.path()?;
                        self.sym("=")?;
                        u.set.push((p, self.set_value()?));
                    }
                    "REMOVE" => u.remove.push(self.path()?),
                    _ => {
                        let p = self.path()?;
                        let Tok::ValuePh(v) = self.next() else {
                            self.pos -= 1;
                            return Err(self.error());
                        };
                        let v = self.value(&v)?;
                        if clause == "ADD" {
                            u.add.push((p, v));
                        } else {
                            u.delete.push((p, v));
                        }
                    }
                }
                if self.at_sym(",") {
                    self.next();
                } else {
                    break;
                }
            }
        }
        // No two actions may touch overlapping paths.
        let mut paths: Vec<&Path> = u.set.iter().map(|(p, _)| p).collect();
        paths.extend(u.remove.iter());
        paths.extend(u.add.iter().map(|(p, _)| p));
        paths.extend(u.delete.iter().map(|(p, _)| p));
        for (i, a) in paths.iter().enumerate() {
            for b in &paths[i + 1..] {
                let n = a.len().min(b.len());
                if a[..n] == b[..n] {
                    return self.fail(format!(
                        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [{}], path two: [{}]",
                        steps(a),
                        steps(b)
                    ));
                }
            }
        }
        Ok(u)
    }
}

fn steps(p: &Path) -> String {
    p.iter()
        .map(|s| match s {
            Step::Attr(a) => a.clone(),
            Step::Index(i) => format!("[{i}]"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn scalar_text(v: &Av) -> String {
    match v {
        Av::S(s) | Av::N(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn parser<'p, 'a>(kind: &'static str, text: &str, ph: &'p Placeholders<'a>) -> AwsResult<Parser<'p, 'a>> {
    if text.trim().is_empty() {
        return Err(validation(format!("Invalid {kind}: The expression can not be empty;")));
    }
    Ok(Parser { kind, toks: lex(kind, text)?, pos: 0, ph })
}

/// A condition, filter or key-condition expression (`kind` names it in errors).
pub fn condition(kind: &'static str, text: &str, ph: &Placeholders) -> AwsResult<Cond> {
    let mut p = parser(kind, text, ph)?;
    let c = p.or()?;
    p.done()?;
    Ok(c)
}

pub fn projection(text: &str, ph: &Placeholders) -> AwsResult<Vec<Path>> {
    let mut p = parser("ProjectionExpression", text, ph)?;
    let mut paths = vec![p.path()?];
    while p.at_sym(",") {
        p.next();
        paths.push(p.path()?);
    }
    p.done()?;
    for (i, a) in paths.iter().enumerate() {
        for b in &paths[i + 1..] {
            let n = a.len().min(b.len());
            if a[..n] == b[..n] {
                return p.fail(format!(
                    "Two document paths {} each other; must remove or rewrite one of these paths; path one: [{}], path two: [{}]",
                    if a == b { "are duplicates of" } else { "overlap with" },
                    steps(a),
                    steps(b)
                ));
            }
        }
    }
    Ok(paths)
}

pub fn update(text: &str, ph: &Placeholders) -> AwsResult<Update> {
    let mut p = parser("UpdateExpression", text, ph)?;
    let u = p.update()?;
    p.done()?;
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ph<'a>(names: &'a BTreeMap<String, String>, values: &'a BTreeMap<String, Av>) -> Placeholders<'a> {
        Placeholders::new(names, values)
    }

    #[test]
    fn parses_conditions_and_reports_misuse() {
        let names = BTreeMap::from([("#s".to_string(), "status".to_string())]);
        let values = BTreeMap::from([(":a".to_string(), Av::N("1".into())), (":b".to_string(), Av::N("5".into()))]);
        let p = ph(&names, &values);
        let c =
            condition("ConditionExpression", "#s = :a AND (x BETWEEN :a AND :b OR NOT attribute_exists(y.z[2]))", &p)
                .unwrap();
        assert!(matches!(c, Cond::And(..)));
        p.check_unused().unwrap();

        let e = condition("ConditionExpression", "status = :a", &p).unwrap_err();
        assert!(e.message.contains("reserved keyword: status"), "{}", e.message);
        let e = condition("ConditionExpression", "a = :zz", &p).unwrap_err();
        assert!(e.message.contains("attribute value: :zz"), "{}", e.message);
        let e = condition("ConditionExpression", "a = ", &p).unwrap_err();
        assert!(e.message.contains("Syntax error; token: \"<EOF>\""), "{}", e.message);
        let e = condition("ConditionExpression", "a BETWEEN :b AND :a", &p).unwrap_err();
        assert!(e.message.contains("BETWEEN operator requires upper bound"), "{}", e.message);
    }

    #[test]
    fn unused_placeholders_are_refused() {
        let names = BTreeMap::from([("#n".to_string(), "n".to_string())]);
        let values = BTreeMap::new();
        let p = ph(&names, &values);
        condition("ConditionExpression", "attribute_exists(a)", &p).unwrap();
        assert!(p.check_unused().unwrap_err().message.contains("unused in expressions: keys: {#n}"));
    }

    #[test]
    fn parses_updates() {
        let values = BTreeMap::from([(":one".to_string(), Av::N("1".into())), (":l".to_string(), Av::L(vec![]))]);
        let names = BTreeMap::new();
        let p = ph(&names, &values);
        let u =
            update("SET a = a + :one, b = list_append(if_not_exists(b, :l), :l) REMOVE c[1] ADD d :one", &p).unwrap();
        assert_eq!(u.set.len(), 2);
        assert_eq!(u.remove, vec![vec![Step::Attr("c".into()), Step::Index(1)]]);
        assert_eq!(u.add.len(), 1);
        let e = update("SET a = :one SET b = :one", &p).unwrap_err();
        assert!(e.message.contains("can only be used once"), "{}", e.message);
        let e = update("SET a = :one REMOVE a.b", &p).unwrap_err();
        assert!(e.message.contains("Two document paths overlap"), "{}", e.message);
    }
}
