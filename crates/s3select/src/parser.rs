//! The parser: S3 Select's `SELECT … FROM S3Object[path] [alias] [WHERE …] [LIMIT n]`, with
//! its expression grammar, into an [`ast::Statement`], refusing what S3 Select refuses with its
//! error codes and the position of the offending token.
use crate::ast::*;
use crate::error::{err, Result, SelectError};
use crate::lexer::{lex, Tok};
use crate::time::DatePart;
use crate::value::Value;
use std::borrow::Cow;

/// Words that end an expression or a clause: never taken as an alias.
const CLAUSE_WORDS: [&str; 21] = [
    "from", "where", "limit", "as", "and", "or", "not", "is", "like", "between", "in", "escape", "when", "then",
    "else", "end", "for", "group", "order", "join", "having",
];

/// The longest expression S3 Select accepts.
pub const MAX_EXPRESSION: usize = 256 * 1024;

pub fn parse(sql: &str) -> Result<Statement> {
    if sql.len() > MAX_EXPRESSION {
        return err(
            "ExpressionTooLong",
            "The SQL expression is too long. The maximum byte-length for an SQL expression is 256 KB.",
        );
    }
    let mut p = Parser { toks: lex(sql)?, pos: 0, aggregates: 0, in_aggregate: false };
    p.statement()
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    aggregates: usize,
    in_aggregate: bool,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }
    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].0
    }
    fn next(&mut self) -> Tok {
        let t = self.toks[self.pos].0.clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn error(&self, code: &'static str, what: &str) -> SelectError {
        let (tok, at) = &self.toks[self.pos];
        SelectError::new(code, format!("{what}: found {} at position {}.", tok.describe(), at + 1))
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.next();
            true
        } else {
            false
        }
    }
    fn expect_kw(&mut self, kw: &str, code: &'static str) -> Result<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.error(code, &format!("Expected {}", kw.to_uppercase())))
        }
    }
    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Tok::Sym(x) if *x == s)
    }
    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.next();
            true
        } else {
            false
        }
    }
    fn expect_sym(&mut self, s: &str, code: &'static str) -> Result<()> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.error(code, &format!("Expected '{s}'")))
        }
    }

    fn statement(&mut self) -> Result<Statement> {
        if !self.eat_kw("select") {
            return Err(self.error("ParseUnsupportedSelect", "The SQL expression must start with SELECT"));
        }
        let projections = if self.eat_sym("*") {
            if self.is_sym(",") {
                return Err(self.error(
                    "ParseAsteriskIsNotAloneInSelectList",
                    "Other expressions are not allowed in the SELECT list with *",
                ));
            }
            None
        } else {
            if self.is_kw("from") {
                return Err(self.error("ParseEmptySelect", "The SQL expression contains an empty SELECT"));
            }
            let mut list = Vec::new();
            loop {
                if self.is_sym("*") {
                    return Err(self.error(
                        "ParseAsteriskIsNotAloneInSelectList",
                        "Other expressions are not allowed in the SELECT list with *",
                    ));
                }
                let expr = self.expr()?;
                let alias = self.alias()?;
                list.push(Projection { expr, alias });
                if !self.eat_sym(",") {
                    break;
                }
            }
            Some(list)
        };
        if !self.eat_kw("from") {
            return Err(self
                .error("ParseSelectMissingFrom", "The SQL expression contains a missing FROM after the SELECT list"));
        }
        match self.next() {
            Tok::Ident(t) if t.eq_ignore_ascii_case("s3object") => {}
            _ => {
                self.pos -= 1;
                return Err(self.error("ParseUnexpectedToken", "FROM must name S3Object"));
            }
        }
        let from = self.steps(true)?;
        let alias = self.alias()?;
        if self.is_kw("join") || self.is_sym(",") {
            return Err(self.error("ParseMalformedJoin", "JOIN is not supported in the SQL expression"));
        }
        let filter_start = self.aggregates;
        let filter = if self.eat_kw("where") { Some(self.expr()?) } else { None };
        if self.aggregates > filter_start {
            return err("UnsupportedSqlStructure", "Aggregate functions are not allowed in the WHERE clause.");
        }
        if self.is_kw("group") {
            return Err(self.error("ParseExpectedIdentForGroupName", "GROUP is not supported in the SQL expression"));
        }
        let limit = if self.eat_kw("limit") {
            match self.next() {
                Tok::Int(n) => Some(n as u64),
                Tok::Sym("-") => return Err(self.error("EvaluatorNegativeLimit", "LIMIT must not be negative")),
                _ => {
                    self.pos -= 1;
                    return Err(self.error("ParseExpectedNumber", "Expected a number after LIMIT"));
                }
            }
        } else {
            None
        };
        if *self.peek() != Tok::End {
            let code = if self.is_kw("order") || self.is_kw("having") {
                "ParseUnsupportedSyntax"
            } else {
                "ParseUnexpectedToken"
            };
            return Err(self.error(code, "Unexpected token"));
        }
        let mut stmt = Statement { projections, from, alias, filter, limit, aggregates: self.aggregates };
        if stmt.aggregates > 0 {
            for p in stmt.projections.iter_mut().flatten() {
                p.expr.visit_mut(&mut |e| match e {
                    Expr::Aggregate { .. } => Ok(false),
                    Expr::Path { .. } => err(
                        "UnsupportedSqlStructure",
                        "A SELECT list with aggregate functions can only hold aggregates and literals.",
                    ),
                    _ => Ok(true),
                })?;
            }
        }
        Ok(stmt)
    }

    fn alias(&mut self) -> Result<Option<String>> {
        if self.eat_kw("as") {
            return match self.next() {
                Tok::Ident(s) | Tok::Quoted(s) => Ok(Some(s)),
                _ => {
                    self.pos -= 1;
                    Err(self.error("ParseExpectedIdentForAlias", "Expected an identifier for the alias"))
                }
            };
        }
        match self.peek().clone() {
            Tok::Ident(s) if !CLAUSE_WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)) => {
                self.next();
                Ok(Some(s))
            }
            Tok::Quoted(s) => {
                self.next();
                Ok(Some(s))
            }
            _ => Ok(None),
        }
    }

    /// Path steps after an identifier: `.name`, `."Name"`, `[n]`, `['name']`, and in FROM
    /// `[*]` and `.*`.
    fn steps(&mut self, wildcards: bool) -> Result<Vec<Step>> {
        let mut steps = Vec::new();
        loop {
            if self.is_sym(".") {
                self.next();
                match self.next() {
                    Tok::Ident(s) => steps.push(Step::Name(s, false)),
                    Tok::Quoted(s) => steps.push(Step::Name(s, true)),
                    Tok::Sym("*") if wildcards => steps.push(Step::Wildcard),
                    Tok::Sym("*") => {
                        self.pos -= 1;
                        return Err(self.error(
                            "ParseInvalidContextForWildcardInSelectList",
                            "The use of * in the SELECT list is not valid",
                        ));
                    }
                    _ => {
                        self.pos -= 1;
                        return Err(self.error("ParseInvalidPathComponent", "Expected a name after '.'"));
                    }
                }
            } else if self.is_sym("[") {
                self.next();
                match self.next() {
                    Tok::Int(i) => steps.push(Step::Index(i)),
                    Tok::Str(s) => steps.push(Step::Name(s, true)),
                    Tok::Sym("*") if wildcards => steps.push(Step::Wildcard),
                    Tok::Sym("*") => {
                        self.pos -= 1;
                        return Err(self.error(
                            "ParseCannotMixSqbAndWildcardInSelectList",
                            "Cannot mix [] and * in the SELECT list",
                        ));
                    }
                    _ => {
                        self.pos -= 1;
                        return Err(self.error("ParseInvalidPathComponent", "Expected an index, a name or * in []"));
                    }
                }
                self.expect_sym("]", "ParseInvalidPathComponent")?;
            } else {
                return Ok(steps);
            }
        }
    }

    fn expr(&mut self) -> Result<Expr> {
        let mut left = self.and()?;
        while self.eat_kw("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr> {
        let mut left = self.not()?;
        while self.eat_kw("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr> {
        if self.eat_kw("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr> {
        let mut left = self.concat()?;
        loop {
            let op = match self.peek() {
                Tok::Sym("=") => Some(BinOp::Eq),
                Tok::Sym("<>") | Tok::Sym("!=") => Some(BinOp::Ne),
                Tok::Sym("<") => Some(BinOp::Lt),
                Tok::Sym("<=") => Some(BinOp::Le),
                Tok::Sym(">") => Some(BinOp::Gt),
                Tok::Sym(">=") => Some(BinOp::Ge),
                _ => None,
            };
            if let Some(op) = op {
                self.next();
                left = Expr::Binary(op, Box::new(left), Box::new(self.concat()?));
                continue;
            }
            if self.eat_kw("is") {
                let negated = self.eat_kw("not");
                let missing = if self.eat_kw("null") {
                    false
                } else if self.eat_kw("missing") {
                    true
                } else {
                    return Err(self.error("ParseExpectedKeyword", "Expected NULL or MISSING after IS"));
                };
                left = Expr::Is { expr: Box::new(left), missing, negated };
                continue;
            }
            let negated = self.is_kw("not")
                && matches!(self.peek_at(1), Tok::Ident(s) if ["like", "between", "in"].iter().any(|k| s.eq_ignore_ascii_case(k)));
            if negated {
                self.next();
            }
            if self.eat_kw("like") {
                let pattern = Box::new(self.concat()?);
                let escape = if self.eat_kw("escape") { Some(Box::new(self.concat()?)) } else { None };
                left = Expr::Like { expr: Box::new(left), pattern, escape, negated };
            } else if self.eat_kw("between") {
                let low = Box::new(self.concat()?);
                self.expect_kw("and", "ParseExpectedKeyword")?;
                let high = Box::new(self.concat()?);
                left = Expr::Between { expr: Box::new(left), low, high, negated };
            } else if self.eat_kw("in") {
                self.expect_sym("(", "ParseExpectedLeftParenValueConstructor")?;
                let mut list = vec![self.expr()?];
                while self.eat_sym(",") {
                    list.push(self.expr()?);
                }
                self.expect_sym(")", "ParseExpectedTokenType")?;
                left = Expr::In { expr: Box::new(left), list, negated };
            } else {
                return Ok(left);
            }
        }
    }

    fn concat(&mut self) -> Result<Expr> {
        let mut left = self.additive()?;
        while self.eat_sym("||") {
            left = Expr::Binary(BinOp::Concat, Box::new(left), Box::new(self.additive()?));
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr> {
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.eat_sym("+") {
                BinOp::Add
            } else if self.eat_sym("-") {
                BinOp::Sub
            } else {
                return Ok(left);
            };
            left = Expr::Binary(op, Box::new(left), Box::new(self.multiplicative()?));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_sym("*") {
                BinOp::Mul
            } else if self.eat_sym("/") {
                BinOp::Div
            } else if self.eat_sym("%") {
                BinOp::Mod
            } else {
                return Ok(left);
            };
            left = Expr::Binary(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.eat_sym("-") {
            return Ok(match self.unary()? {
                Expr::Lit(Value::Int(i)) => Expr::Lit(Value::Int(-i)),
                Expr::Lit(Value::Float(f)) => Expr::Lit(Value::Float(-f)),
                e => Expr::Neg(Box::new(e)),
            });
        }
        if self.eat_sym("+") {
            return self.unary();
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr> {
        let tok = self.next();
        Ok(match tok {
            Tok::Str(s) => Expr::Lit(Value::Str(Cow::Owned(s))),
            Tok::Int(i) => Expr::Lit(Value::Int(i)),
            Tok::Float(f) => Expr::Lit(Value::Float(f)),
            Tok::Ion(s) => match crate::time::Ts::parse(&s) {
                Some(t) => Expr::Lit(Value::Ts(t)),
                None => {
                    self.pos -= 1;
                    return Err(self.error("LexerInvalidIONLiteral", "The Ion literal is not a valid timestamp"));
                }
            },
            Tok::Sym("(") => {
                let e = self.expr()?;
                self.expect_sym(")", "ParseExpectedTokenType")?;
                e
            }
            Tok::Quoted(name) => {
                let steps = self.steps(false)?;
                Expr::Path { root: name, quoted: true, steps }
            }
            Tok::Ident(word) => {
                let lower = word.to_ascii_lowercase();
                match lower.as_str() {
                    "true" => return Ok(Expr::Lit(Value::Bool(true))),
                    "false" => return Ok(Expr::Lit(Value::Bool(false))),
                    "null" => return Ok(Expr::Lit(Value::Null)),
                    "missing" => return Ok(Expr::Lit(Value::Missing)),
                    "case" => return self.case(),
                    _ => {}
                }
                if self.is_sym("(") {
                    return self.call(&lower);
                }
                if CLAUSE_WORDS.contains(&lower.as_str()) || lower == "select" {
                    self.pos -= 1;
                    return Err(
                        self.error("ParseUnexpectedKeyword", "The SQL expression contains an unexpected keyword")
                    );
                }
                let steps = self.steps(false)?;
                Expr::Path { root: word, quoted: false, steps }
            }
            _ => {
                self.pos -= 1;
                return Err(self.error("ParseExpectedExpression", "Expected an expression"));
            }
        })
    }

    fn case(&mut self) -> Result<Expr> {
        let operand = if self.is_kw("when") { None } else { Some(Box::new(self.expr()?)) };
        let mut whens = Vec::new();
        while self.eat_kw("when") {
            let w = self.expr()?;
            self.expect_kw("then", "ParseExpectedKeyword")?;
            whens.push((w, self.expr()?));
        }
        if whens.is_empty() {
            return Err(self.error("ParseExpectedWhenClause", "Expected WHEN in CASE"));
        }
        let otherwise = if self.eat_kw("else") { Some(Box::new(self.expr()?)) } else { None };
        self.expect_kw("end", "ParseExpectedKeyword")?;
        Ok(Expr::Case { operand, whens, otherwise })
    }

    fn date_part(&mut self) -> Result<DatePart> {
        match self.next() {
            Tok::Ident(s) => DatePart::parse(&s).ok_or_else(|| {
                self.pos -= 1;
                self.error("ParseExpectedDatePart", "Expected a date part")
            }),
            _ => {
                self.pos -= 1;
                Err(self.error("ParseExpectedDatePart", "Expected a date part"))
            }
        }
    }

    fn args(&mut self) -> Result<Vec<Expr>> {
        let mut args = Vec::new();
        if self.eat_sym(")") {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat_sym(")") {
                return Ok(args);
            }
            self.expect_sym(",", "ParseExpectedArgumentDelimiter")?;
        }
    }

    fn call(&mut self, name: &str) -> Result<Expr> {
        self.expect_sym("(", "ParseExpectedLeftParenBuiltinFunctionCall")?;
        let arity = |args: &Vec<Expr>, ok: &dyn Fn(usize) -> bool| -> Result<()> {
            if ok(args.len()) {
                Ok(())
            } else {
                err(
                    "EvaluatorInvalidArguments",
                    format!("Incorrect number of arguments in the call to {}.", name.to_uppercase()),
                )
            }
        };
        let agg = match name {
            "count" => Some(Agg::Count),
            "sum" => Some(Agg::Sum),
            "avg" => Some(Agg::Avg),
            "min" => Some(Agg::Min),
            "max" => Some(Agg::Max),
            _ => None,
        };
        if let Some(agg) = agg {
            if self.in_aggregate {
                return err("UnsupportedSqlStructure", "Aggregate functions cannot be nested.");
            }
            let arg = if self.is_sym("*") {
                self.next();
                if agg != Agg::Count {
                    return Err(
                        self.error("ParseUnsupportedCallWithStar", "Only COUNT with (*) as a parameter is supported")
                    );
                }
                self.expect_sym(")", "ParseExpectedRightParenBuiltinFunctionCall")?;
                None
            } else {
                self.in_aggregate = true;
                let args = self.args();
                self.in_aggregate = false;
                let mut args = args?;
                if args.len() != 1 {
                    return err(
                        "ParseNonUnaryAgregateFunctionCall",
                        "Only one argument is supported for aggregate functions in the SQL expression.",
                    );
                }
                Some(Box::new(args.remove(0)))
            };
            let slot = self.aggregates;
            self.aggregates += 1;
            return Ok(Expr::Aggregate { agg, arg, slot });
        }
        match name {
            "cast" => {
                let e = self.expr()?;
                self.expect_kw("as", "ParseCastArity")?;
                let ty = match self.next() {
                    Tok::Ident(t) => match t.to_ascii_lowercase().as_str() {
                        "bool" | "boolean" => Type::Bool,
                        "int" | "integer" | "bigint" | "smallint" => Type::Int,
                        "string" | "varchar" | "char" | "text" => Type::String,
                        "float" | "real" | "double" => Type::Float,
                        "decimal" | "numeric" => Type::Decimal,
                        "timestamp" => Type::Timestamp,
                        _ => {
                            self.pos -= 1;
                            return Err(self.error(
                                "InvalidDataType",
                                "The SQL expression contains a data type that is not valid",
                            ));
                        }
                    },
                    _ => {
                        self.pos -= 1;
                        return Err(self.error("ParseExpectedTypeName", "Expected a type name"));
                    }
                };
                if ty == Type::Float {
                    // `DOUBLE PRECISION` names the same type as `DOUBLE`.
                    self.eat_kw("precision");
                }
                self.expect_sym(")", "ParseExpectedRightParenBuiltinFunctionCall")?;
                Ok(Expr::Cast(Box::new(e), ty))
            }
            "extract" => {
                let part = self.date_part()?;
                self.expect_kw("from", "ParseExpectedKeyword")?;
                let e = self.expr()?;
                self.expect_sym(")", "ParseExpectedRightParenBuiltinFunctionCall")?;
                Ok(Expr::Extract(part, Box::new(e)))
            }
            "date_add" | "date_diff" => {
                let part = self.date_part()?;
                if matches!(part, DatePart::TimezoneHour | DatePart::TimezoneMinute) {
                    return err(
                        "ParseExpectedDatePart",
                        format!("{} takes year, month, day, hour, minute or second.", name.to_uppercase()),
                    );
                }
                self.expect_sym(",", "ParseExpectedArgumentDelimiter")?;
                let a = self.expr()?;
                self.expect_sym(",", "ParseExpectedArgumentDelimiter")?;
                let b = self.expr()?;
                self.expect_sym(")", "ParseExpectedRightParenBuiltinFunctionCall")?;
                Ok(if name == "date_add" {
                    Expr::DateAdd(part, Box::new(a), Box::new(b))
                } else {
                    Expr::DateDiff(part, Box::new(a), Box::new(b))
                })
            }
            "trim" => {
                let side = if self.eat_kw("leading") {
                    Some(TrimSide::Leading)
                } else if self.eat_kw("trailing") {
                    Some(TrimSide::Trailing)
                } else if self.eat_kw("both") {
                    Some(TrimSide::Both)
                } else {
                    None
                };
                let (chars, expr) = if self.eat_kw("from") {
                    (None, self.expr()?)
                } else {
                    let first = self.expr()?;
                    if self.eat_kw("from") {
                        (Some(Box::new(first)), self.expr()?)
                    } else if side.is_some() {
                        return Err(self.error("ParseExpectedKeyword", "Expected FROM in TRIM"));
                    } else {
                        (None, first)
                    }
                };
                self.expect_sym(")", "ParseExpectedRightParenBuiltinFunctionCall")?;
                Ok(Expr::Trim { side: side.unwrap_or(TrimSide::Both), chars, expr: Box::new(expr) })
            }
            "substring" => {
                let expr = Box::new(self.expr()?);
                let from_form = self.eat_kw("from");
                if !from_form {
                    self.expect_sym(",", "ParseExpectedArgumentDelimiter")?;
                }
                let start = Box::new(self.expr()?);
                let len = if (from_form && self.eat_kw("for")) || (!from_form && self.eat_sym(",")) {
                    Some(Box::new(self.expr()?))
                } else {
                    None
                };
                self.expect_sym(")", "ParseExpectedRightParenBuiltinFunctionCall")?;
                Ok(Expr::Substring { expr, start, len })
            }
            _ => {
                let func = match name {
                    "coalesce" => Func::Coalesce,
                    "nullif" => Func::NullIf,
                    "char_length" | "character_length" => Func::CharLength,
                    "lower" => Func::Lower,
                    "upper" => Func::Upper,
                    "to_string" => Func::ToString,
                    "to_timestamp" => Func::ToTimestamp,
                    "utcnow" => Func::UtcNow,
                    _ => {
                        return err(
                            "UnsupportedFunction",
                            format!("We encountered an unsupported SQL function: {}.", name.to_uppercase()),
                        )
                    }
                };
                let args = self.args()?;
                match func {
                    Func::Coalesce => arity(&args, &|n| n >= 1)?,
                    Func::NullIf | Func::ToString => arity(&args, &|n| n == 2)?,
                    Func::UtcNow => arity(&args, &|n| n == 0)?,
                    Func::ToTimestamp => arity(&args, &|n| n == 1)?,
                    _ => arity(&args, &|n| n == 1)?,
                }
                Ok(Expr::Call(func, args))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_and_their_errors() {
        let s = parse("SELECT s._1, COUNT(*) AS n FROM S3Object s WHERE s._2 > 5 LIMIT 3").unwrap_err();
        assert_eq!(s.code, "UnsupportedSqlStructure");
        let s = parse("select count(*), sum(cast(_1 as int)) from s3object where _2 like 'a%' escape '!'").unwrap();
        assert_eq!(s.aggregates, 2);
        let s = parse("SELECT * FROM S3Object[*].books[*] b WHERE b.price BETWEEN 1 AND 5").unwrap();
        assert_eq!(s.from, vec![Step::Wildcard, Step::Name("books".into(), false), Step::Wildcard]);
        assert_eq!(s.alias.as_deref(), Some("b"));
        assert_eq!(parse("SELECT _1 FROM").unwrap_err().code, "ParseUnexpectedToken");
        assert_eq!(parse("SELECT _1").unwrap_err().code, "ParseSelectMissingFrom");
        assert_eq!(parse("SELECT *, _1 FROM S3Object").unwrap_err().code, "ParseAsteriskIsNotAloneInSelectList");
        assert_eq!(parse("SELECT sum(*) FROM S3Object").unwrap_err().code, "ParseUnsupportedCallWithStar");
        assert_eq!(parse("SELECT int(_1) FROM S3Object").unwrap_err().code, "UnsupportedFunction");
        assert_eq!(parse("SELECT _1 FROM S3Object LIMIT -1").unwrap_err().code, "EvaluatorNegativeLimit");
        assert_eq!(parse("SELECT _1 FROM S3Object GROUP BY _1").unwrap_err().code, "ParseExpectedIdentForGroupName");
        assert_eq!(parse("SELECT _1 FROM S3Object WHERE _1 = #").unwrap_err().code, "LexerInvalidChar");
        let e = parse("SELECT _1 FROM S3Object WHERE _1 = = 2").unwrap_err();
        assert_eq!(e.code, "ParseExpectedExpression");
        assert!(e.message.contains("position 36"), "{}", e.message);
    }
}
