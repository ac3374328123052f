//! A parsed S3 Select statement.
use crate::time::DatePart;
use crate::value::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `.name` (`quoted`: written in double quotes or as `['name']`, so case-sensitive).
    Name(String, bool),
    Index(i64),
    /// `[*]` or `.*`: every element (FROM paths only).
    Wildcard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Bool,
    Int,
    String,
    Float,
    Decimal,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Coalesce,
    NullIf,
    CharLength,
    Lower,
    Upper,
    ToString,
    ToTimestamp,
    UtcNow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimSide {
    Leading,
    Trailing,
    Both,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Lit(Value<'static>),
    /// An identifier and the steps after it, resolved against the row as it is read.
    Path {
        root: String,
        quoted: bool,
        steps: Vec<Step>,
    },
    /// A CSV column by position (0-based), bound once the header is known.
    Column(usize),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `IS [NOT] NULL` (`missing`: `IS [NOT] MISSING`).
    Is {
        expr: Box<Expr>,
        missing: bool,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<Box<Expr>>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    Cast(Box<Expr>, Type),
    Call(Func, Vec<Expr>),
    Extract(DatePart, Box<Expr>),
    DateAdd(DatePart, Box<Expr>, Box<Expr>),
    DateDiff(DatePart, Box<Expr>, Box<Expr>),
    Trim {
        side: TrimSide,
        chars: Option<Box<Expr>>,
        expr: Box<Expr>,
    },
    Substring {
        expr: Box<Expr>,
        start: Box<Expr>,
        len: Option<Box<Expr>>,
    },
    /// An aggregate; `slot` numbers it within the statement. `arg` is `None` for `COUNT(*)`.
    Aggregate {
        agg: Agg,
        arg: Option<Box<Expr>>,
        slot: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub expr: Expr,
    pub alias: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `None` for `SELECT *`.
    pub projections: Option<Vec<Projection>>,
    /// The steps after `S3Object` in FROM.
    pub from: Vec<Step>,
    pub alias: Option<String>,
    pub filter: Option<Expr>,
    pub limit: Option<u64>,
    pub aggregates: usize,
}

impl Expr {
    /// Calls `f` on this expression, then (when it answers true) on each one inside it.
    pub fn visit_mut(
        &mut self,
        f: &mut dyn FnMut(&mut Expr) -> crate::error::Result<bool>,
    ) -> crate::error::Result<()> {
        if !f(self)? {
            return Ok(());
        }
        let mut children: Vec<&mut Expr> = Vec::new();
        match self {
            Expr::Lit(_) | Expr::Path { .. } | Expr::Column(_) => {}
            Expr::Neg(e) | Expr::Not(e) | Expr::Cast(e, _) | Expr::Extract(_, e) => children.push(e),
            Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Binary(_, a, b)
            | Expr::DateAdd(_, a, b)
            | Expr::DateDiff(_, a, b) => {
                children.push(a);
                children.push(b);
            }
            Expr::Is { expr, .. } => children.push(expr),
            Expr::Like { expr, pattern, escape, .. } => {
                children.push(expr);
                children.push(pattern);
                children.extend(escape.as_deref_mut());
            }
            Expr::Between { expr, low, high, .. } => {
                children.push(expr);
                children.push(low);
                children.push(high);
            }
            Expr::In { expr, list, .. } => {
                children.push(expr);
                children.extend(list.iter_mut());
            }
            Expr::Case { operand, whens, otherwise } => {
                children.extend(operand.as_deref_mut());
                for (w, t) in whens {
                    children.push(w);
                    children.push(t);
                }
                children.extend(otherwise.as_deref_mut());
            }
            Expr::Call(_, args) => children.extend(args.iter_mut()),
            Expr::Trim { chars, expr, .. } => {
                children.extend(chars.as_deref_mut());
                children.push(expr);
            }
            Expr::Substring { expr, start, len } => {
                children.push(expr);
                children.push(start);
                children.extend(len.as_deref_mut());
            }
            Expr::Aggregate { arg, .. } => children.extend(arg.as_deref_mut()),
        }
        for c in children {
            c.visit_mut(f)?;
        }
        Ok(())
    }
}
