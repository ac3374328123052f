//! CloudWatch Logs filter patterns ("Filter pattern syntax for metric filters, subscription
//! filters, filter log events, and Live Tail"): terms in unstructured events (all of them,
//! `?` alternatives, `-` exclusions, quoted phrases, `%regex%`), JSON patterns
//! (`{ $.status = 404 && $.path = "/menu*" }`), and space-delimited patterns
//! (`[ip, user, ..., status = 5*, bytes > 1000]`).
use regex::Regex;
use serde_json::Value;

#[derive(Debug, Clone)]
pub enum Pattern {
    All,
    Terms { required: Vec<Term>, optional: Vec<Term>, excluded: Vec<Term> },
    Json(JsonExpr),
    Spaced { fields: Vec<Field>, cond: Option<SpacedExpr> },
}

#[derive(Debug, Clone)]
pub enum Term {
    Text(String),
    Regex(Regex),
}

impl Term {
    fn found(&self, message: &str) -> bool {
        match self {
            Term::Text(t) => message.contains(t.as_str()),
            Term::Regex(r) => r.is_match(message),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
pub enum Literal {
    Num(f64),
    Str(String),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone)]
pub enum JsonExpr {
    Cmp(String, Op, Literal),
    Exists(String, bool),
    And(Box<JsonExpr>, Box<JsonExpr>),
    Or(Box<JsonExpr>, Box<JsonExpr>),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ellipsis: bool,
}

#[derive(Debug, Clone)]
pub enum SpacedExpr {
    Cmp(String, Op, Literal),
    And(Box<SpacedExpr>, Box<SpacedExpr>),
    Or(Box<SpacedExpr>, Box<SpacedExpr>),
}

fn bad(msg: impl std::fmt::Display) -> String {
    format!("Invalid filter pattern: {msg}")
}

/// `*` in a string value matches any run of characters.
fn wildcard(pattern: &str, value: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == value;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = value;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(p) => rest = &rest[p + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn compare(op: Op, value: &Value, lit: &Literal) -> bool {
    let ord = |o: std::cmp::Ordering| match op {
        Op::Eq => o.is_eq(),
        Op::Ne => !o.is_eq(),
        Op::Lt => o.is_lt(),
        Op::Le => o.is_le(),
        Op::Gt => o.is_gt(),
        Op::Ge => o.is_ge(),
    };
    match (value, lit) {
        (Value::Number(n), Literal::Num(x)) => n.as_f64().and_then(|v| v.partial_cmp(x)).is_some_and(ord),
        (Value::String(s), Literal::Str(p)) => match op {
            Op::Eq => wildcard(p, s),
            Op::Ne => !wildcard(p, s),
            _ => false,
        },
        (Value::String(s), Literal::Num(x)) => s.parse::<f64>().ok().and_then(|v| v.partial_cmp(x)).is_some_and(ord),
        (Value::Bool(b), Literal::Bool(x)) => (op == Op::Eq && b == x) || (op == Op::Ne && b != x),
        (Value::Null, Literal::Null) => op == Op::Eq,
        (_, Literal::Null) => op == Op::Ne,
        _ => op == Op::Ne,
    }
}

/// The value at a JSON selector (`$.a.b[0].c`).
fn select<'v>(root: &'v Value, selector: &str) -> Option<&'v Value> {
    let path = selector.strip_prefix('$')?;
    let mut cur = root;
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n == '.' || n == '[' {
                        break;
                    }
                    name.push(n);
                    chars.next();
                }
                if name == "*" {
                    return None;
                }
                cur = cur.get(&name)?;
            }
            '[' => {
                let mut idx = String::new();
                for n in chars.by_ref() {
                    if n == ']' {
                        break;
                    }
                    idx.push(n);
                }
                cur = cur.get(idx.trim().parse::<usize>().ok()?)?;
            }
            _ => return None,
        }
    }
    Some(cur)
}

impl JsonExpr {
    fn eval(&self, doc: &Value) -> bool {
        match self {
            JsonExpr::Cmp(sel, op, lit) => match select(doc, sel) {
                Some(v) => compare(*op, v, lit),
                None => false,
            },
            JsonExpr::Exists(sel, exists) => select(doc, sel).is_some() == *exists,
            JsonExpr::And(a, b) => a.eval(doc) && b.eval(doc),
            JsonExpr::Or(a, b) => a.eval(doc) || b.eval(doc),
        }
    }
}

impl SpacedExpr {
    fn eval(&self, values: &std::collections::HashMap<&str, String>) -> bool {
        match self {
            SpacedExpr::Cmp(name, op, lit) => match values.get(name.as_str()) {
                Some(v) => {
                    let value = match v.parse::<f64>() {
                        Ok(n) if matches!(lit, Literal::Num(_)) => serde_json::json!(n),
                        _ => Value::String(v.clone()),
                    };
                    compare(*op, &value, lit)
                }
                None => false,
            },
            SpacedExpr::And(a, b) => a.eval(values) && b.eval(values),
            SpacedExpr::Or(a, b) => a.eval(values) || b.eval(values),
        }
    }
}

/// The words of a space-delimited log line: quoted strings and bracketed groups count as one.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut w = String::new();
        match c {
            '"' | '[' => {
                let close = if c == '"' { '"' } else { ']' };
                chars.next();
                for n in chars.by_ref() {
                    if n == close {
                        break;
                    }
                    w.push(n);
                }
            }
            _ => {
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() {
                        break;
                    }
                    w.push(n);
                    chars.next();
                }
            }
        }
        out.push(w);
    }
    out
}

impl Pattern {
    /// The fields a space-delimited pattern extracts from a matching event, as `$name`.
    /// The text a metric filter's `$.field` (JSON) or `$name` (space-delimited) selector
    /// takes from a message this pattern matched.
    pub fn field_value(&self, message: &str, selector: &str) -> Option<String> {
        if selector.starts_with("$.") || selector.starts_with("$[") {
            let doc: Value = serde_json::from_str(message.trim()).ok()?;
            return match select(&doc, selector)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            };
        }
        self.extracted(message).remove(selector)
    }

    pub fn extracted(&self, message: &str) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        if let Pattern::Spaced { fields, .. } = self {
            let ws = words(message);
            let split = fields.iter().position(|f| f.ellipsis).unwrap_or(fields.len());
            for (f, w) in fields[..split].iter().zip(&ws) {
                out.insert(format!("${}", f.name), w.clone());
            }
            for (f, w) in fields[split..].iter().skip(1).rev().zip(ws.iter().rev()) {
                out.insert(format!("${}", f.name), w.clone());
            }
        }
        out
    }

    pub fn matches(&self, message: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Terms { required, optional, excluded } => {
                required.iter().all(|t| t.found(message))
                    && (optional.is_empty() || optional.iter().any(|t| t.found(message)))
                    && !excluded.iter().any(|t| t.found(message))
            }
            Pattern::Json(e) => match serde_json::from_str::<Value>(message.trim()) {
                Ok(doc) => e.eval(&doc),
                Err(_) => false,
            },
            Pattern::Spaced { fields, cond } => {
                let ws = words(message);
                let mut values = std::collections::HashMap::new();
                // Fields before an ellipsis take words from the front, fields after it from
                // the back; an ellipsis takes what is left.
                let split = fields.iter().position(|f| f.ellipsis);
                match split {
                    None => {
                        if ws.len() != fields.len() {
                            return false;
                        }
                        for (f, w) in fields.iter().zip(&ws) {
                            values.insert(f.name.as_str(), w.clone());
                        }
                    }
                    Some(e) => {
                        let (front, back) = (&fields[..e], &fields[e + 1..]);
                        if ws.len() < front.len() + back.len() {
                            return false;
                        }
                        for (f, w) in front.iter().zip(&ws) {
                            values.insert(f.name.as_str(), w.clone());
                        }
                        for (f, w) in back.iter().rev().zip(ws.iter().rev()) {
                            values.insert(f.name.as_str(), w.clone());
                        }
                    }
                }
                cond.as_ref().is_none_or(|c| c.eval(&values))
            }
        }
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Cursor<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, t: &str) -> bool {
        self.ws();
        if self.text[self.i..].starts_with(t) {
            self.i += t.len();
            true
        } else {
            false
        }
    }
    fn eat_word(&mut self, w: &str) -> bool {
        self.ws();
        let rest = &self.text[self.i..];
        if rest.len() >= w.len()
            && rest[..w.len()].eq_ignore_ascii_case(w)
            && rest[w.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric())
        {
            self.i += w.len();
            true
        } else {
            false
        }
    }
    fn op(&mut self) -> Result<Op, String> {
        self.ws();
        for (t, op) in [("!=", Op::Ne), ("<=", Op::Le), (">=", Op::Ge), ("=", Op::Eq), ("<", Op::Lt), (">", Op::Gt)] {
            if self.eat(t) {
                return Ok(op);
            }
        }
        Err(bad(format!("expected a comparison at {}", self.i)))
    }
    fn literal(&mut self) -> Result<Literal, String> {
        self.ws();
        if self.eat("\"") {
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i] != b'"' {
                self.i += 1;
            }
            let v = self.text[start..self.i].to_string();
            self.i += 1;
            return Ok(Literal::Str(v));
        }
        let start = self.i;
        while self.i < self.s.len() && !b" \t)&|]},".contains(&self.s[self.i]) {
            self.i += 1;
        }
        let word = &self.text[start..self.i];
        if word.is_empty() {
            return Err(bad("expected a value"));
        }
        Ok(match word {
            "true" => Literal::Bool(true),
            "false" => Literal::Bool(false),
            "null" | "NULL" => Literal::Null,
            w => match w.parse::<f64>() {
                Ok(n) => Literal::Num(n),
                Err(_) => Literal::Str(w.to_string()),
            },
        })
    }
    fn selector(&mut self) -> Result<String, String> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && !b" \t=!<>)&|".contains(&self.s[self.i]) {
            self.i += 1;
        }
        let s = &self.text[start..self.i];
        if !s.starts_with('$') {
            return Err(bad(format!("expected a selector beginning with $, found '{s}'")));
        }
        Ok(s.to_string())
    }

    fn json_or(&mut self) -> Result<JsonExpr, String> {
        let mut l = self.json_and()?;
        while self.eat("||") {
            l = JsonExpr::Or(Box::new(l), Box::new(self.json_and()?));
        }
        Ok(l)
    }
    fn json_and(&mut self) -> Result<JsonExpr, String> {
        let mut l = self.json_primary()?;
        while self.eat("&&") {
            l = JsonExpr::And(Box::new(l), Box::new(self.json_primary()?));
        }
        Ok(l)
    }
    fn json_primary(&mut self) -> Result<JsonExpr, String> {
        if self.eat("(") {
            let e = self.json_or()?;
            if !self.eat(")") {
                return Err(bad("missing )"));
            }
            return Ok(e);
        }
        let sel = self.selector()?;
        if self.eat_word("IS") {
            if self.eat_word("NULL") {
                return Ok(JsonExpr::Cmp(sel, Op::Eq, Literal::Null));
            }
            if self.eat_word("TRUE") {
                return Ok(JsonExpr::Cmp(sel, Op::Eq, Literal::Bool(true)));
            }
            if self.eat_word("FALSE") {
                return Ok(JsonExpr::Cmp(sel, Op::Eq, Literal::Bool(false)));
            }
            return Err(bad("expected NULL, TRUE or FALSE after IS"));
        }
        if self.eat_word("NOT") {
            if self.eat_word("EXISTS") {
                return Ok(JsonExpr::Exists(sel, false));
            }
            return Err(bad("expected EXISTS after NOT"));
        }
        if self.eat_word("EXISTS") {
            return Ok(JsonExpr::Exists(sel, true));
        }
        let op = self.op()?;
        Ok(JsonExpr::Cmp(sel, op, self.literal()?))
    }

    fn spaced_or(&mut self) -> Result<SpacedExpr, String> {
        let mut l = self.spaced_and()?;
        while self.eat("||") {
            l = SpacedExpr::Or(Box::new(l), Box::new(self.spaced_and()?));
        }
        Ok(l)
    }
    fn spaced_and(&mut self) -> Result<SpacedExpr, String> {
        let mut l = self.spaced_primary()?;
        while self.eat("&&") {
            l = SpacedExpr::And(Box::new(l), Box::new(self.spaced_primary()?));
        }
        Ok(l)
    }
    fn spaced_primary(&mut self) -> Result<SpacedExpr, String> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_') {
            self.i += 1;
        }
        let name = self.text[start..self.i].to_string();
        if name.is_empty() {
            return Err(bad("expected a field name"));
        }
        let op = self.op()?;
        Ok(SpacedExpr::Cmp(name, op, self.literal()?))
    }
}

pub fn parse(text: &str) -> Result<Pattern, String> {
    let t = text.trim();
    if t.is_empty() || t == "\"\"" {
        return Ok(Pattern::All);
    }
    let mut c = Cursor { s: t.as_bytes(), text: t, i: 0 };
    if t.starts_with('{') {
        c.eat("{");
        let e = c.json_or()?;
        if !c.eat("}") {
            return Err(bad("missing }"));
        }
        c.ws();
        if c.i != t.len() {
            return Err(bad("unexpected text after }"));
        }
        return Ok(Pattern::Json(e));
    }
    if t.starts_with('[') {
        let close = t.rfind(']').ok_or_else(|| bad("missing ]"))?;
        let inner = &t[1..close];
        let mut fields = Vec::new();
        let mut conds: Vec<SpacedExpr> = Vec::new();
        for (n, part) in inner.split(',').map(str::trim).enumerate() {
            if part == "..." {
                fields.push(Field { name: format!("$ellipsis{n}"), ellipsis: true });
                continue;
            }
            let name_end = part.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(part.len());
            let name = &part[..name_end];
            if name.is_empty() {
                return Err(bad(format!("invalid field '{part}'")));
            }
            fields.push(Field { name: name.to_string(), ellipsis: false });
            if name_end < part.len() {
                let mut fc = Cursor { s: part.as_bytes(), text: part, i: 0 };
                conds.push(fc.spaced_or()?);
            }
        }
        if fields.iter().filter(|f| f.ellipsis).count() > 1 {
            return Err(bad("only one ellipsis is supported"));
        }
        let cond = conds.into_iter().reduce(|a, b| SpacedExpr::And(Box::new(a), Box::new(b)));
        return Ok(Pattern::Spaced { fields, cond });
    }
    let (mut required, mut optional, mut excluded) = (Vec::new(), Vec::new(), Vec::new());
    let mut rest = t;
    while !rest.is_empty() {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let (kind, body) = match rest.as_bytes()[0] {
            b'?' => (1, &rest[1..]),
            b'-' => (2, &rest[1..]),
            _ => (0, rest),
        };
        let (term, after) = if let Some(q) = body.strip_prefix('"') {
            let end = q.find('"').ok_or_else(|| bad("unterminated quoted term"))?;
            (Term::Text(q[..end].to_string()), &q[end + 1..])
        } else if let Some(r) = body.strip_prefix('%') {
            let end = r.find('%').ok_or_else(|| bad("unterminated regular expression"))?;
            let re = Regex::new(&r[..end]).map_err(|e| bad(format!("invalid regular expression: {e}")))?;
            (Term::Regex(re), &r[end + 1..])
        } else {
            let end = body.find(char::is_whitespace).unwrap_or(body.len());
            (Term::Text(body[..end].to_string()), &body[end..])
        };
        match kind {
            1 => optional.push(term),
            2 => excluded.push(term),
            _ => required.push(term),
        }
        rest = after;
    }
    Ok(Pattern::Terms { required, optional, excluded })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, msg: &str) -> bool {
        parse(p).unwrap().matches(msg)
    }

    #[test]
    fn terms() {
        assert!(m("", "anything"));
        assert!(m("ERROR", "[ERROR] disk full"));
        assert!(m("ERROR disk", "[ERROR] disk full"));
        assert!(!m("ERROR memory", "[ERROR] disk full"));
        assert!(m("?ERROR ?WARN", "WARN low"));
        assert!(!m("ERROR -disk", "[ERROR] disk full"));
        assert!(m("\"disk full\"", "[ERROR] disk full"));
        assert!(m("%[0-9]{3}%", "status 404"));
    }

    #[test]
    fn json_patterns() {
        let line = r#"{"status": 404, "path": "/menu/coffee", "user": {"id": 7}, "ok": false, "tags": ["a"]}"#;
        assert!(m("{ $.status = 404 }", line));
        assert!(m("{ $.status >= 400 && $.path = \"/menu*\" }", line));
        assert!(!m("{ $.status = 200 || $.user.id != 7 }", line));
        assert!(m("{ $.ok IS FALSE }", line));
        assert!(m("{ $.missing NOT EXISTS }", line));
        assert!(m("{ $.tags[0] = \"a\" }", line));
        assert!(!m("{ $.status = 404 }", "not json"));
    }

    #[test]
    fn space_delimited() {
        let line = r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /menu HTTP/1.0" 404 1534"#;
        assert!(m("[ip, identity, user, timestamp, request, status_code = 4*, bytes]", line));
        assert!(m("[ip, ..., status_code = 404, bytes > 1000]", line));
        assert!(!m("[ip, ..., status_code = 5*, bytes]", line));
        assert!(m("[ip = 127.0.0.1, user, ...]", line));
    }
}
