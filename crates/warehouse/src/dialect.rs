//! The Redshift dialect on top of sqlparser: the table attributes sqlparser does not know
//! are lifted out before parsing (`table_attributes`), and Redshift-only forms are rewritten
//! into what DataFusion plans (TOP n, DATEADD(day, ...), SYSDATE, LISTAGG ... WITHIN GROUP, DECODE, NVL2, Redshift
//! date format patterns).
use crate::error::{SqlError, SqlResult};
use datafusion::sql::sqlparser::ast::{
    self, Expr, FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArguments, Ident, ObjectName,
    ObjectNamePart, Statement, Value, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::RedshiftSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};
use std::collections::BTreeMap;
use std::ops::ControlFlow;

pub use crate::table_attributes::TableAttributes;

/// One statement, parsed, with the Redshift attributes lifted out of it.
pub struct Parsed {
    pub statement: Statement,
    pub attributes: TableAttributes,
    /// The statement as the client wrote it (STL_QUERY keeps this).
    pub text: String,
}

pub(crate) fn word(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

pub(crate) fn ident(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_some() => Some(w.value.clone()),
        Token::Word(w) => Some(w.value.to_ascii_lowercase()),
        _ => None,
    }
}

pub(crate) fn is_space(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

/// Index of the next non-whitespace token at or after `i`.
pub(crate) fn next_solid(tokens: &[Token], mut i: usize) -> usize {
    while i < tokens.len() && is_space(&tokens[i]) {
        i += 1;
    }
    i
}

/// Splits, lifts and parses a query string into its statements.
/// The tokens of `sql` with their locations, and how to turn a location (line, column in
/// characters) into a byte offset in `sql`.
fn located_tokens(sql: &str) -> SqlResult<(Vec<TokenWithSpan>, impl Fn(u64, u64) -> usize + '_)> {
    let tokens = Tokenizer::new(&RedshiftSqlDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| SqlError::new("42601", e.to_string()))?;
    let line_starts: Vec<usize> = std::iter::once(0).chain(sql.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let offset = move |line: u64, column: u64| -> usize {
        let start = line_starts.get(line.saturating_sub(1) as usize).copied().unwrap_or(sql.len());
        sql[start..].char_indices().nth(column.saturating_sub(1) as usize).map(|(i, _)| start + i).unwrap_or(sql.len())
    };
    Ok((tokens, offset))
}

/// The statements of a query string, as the client wrote them, split at semicolons outside
/// parentheses, strings and comments.
pub fn split_statements(sql: &str) -> SqlResult<Vec<String>> {
    let (tokens, offset) = located_tokens(sql)?;
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut from = 0usize;
    for t in tokens {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::SemiColon if depth <= 0 => {
                let at = offset(t.span.start.line, t.span.start.column);
                out.push(sql[from..at].to_string());
                from = at + 1;
            }
            _ => {}
        }
    }
    out.push(sql[from.min(sql.len())..].to_string());
    Ok(out.into_iter().filter(|s| !s.trim().is_empty()).collect())
}

/// An identifier as SQL text, quoted.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Substitutes named parameters (`:name`, as the Data API takes them) with string literals;
/// a parameter the statement names but `params` lacks is an error.
pub fn bind_named(sql: &str, params: &[(String, String)]) -> SqlResult<String> {
    let (tokens, offset) = located_tokens(sql)?;
    let mut out = String::with_capacity(sql.len());
    let mut from = 0usize;
    for pair in tokens.windows(2) {
        let (Token::Colon, Token::Word(w)) = (&pair[0].token, &pair[1].token) else { continue };
        let start = offset(pair[0].span.start.line, pair[0].span.start.column);
        let end = offset(pair[1].span.end.line, pair[1].span.end.column);
        if start + 1 != offset(pair[1].span.start.line, pair[1].span.start.column) {
            continue;
        }
        let value = params
            .iter()
            .find(|(n, _)| *n == w.value)
            .map(|(_, v)| v)
            .ok_or_else(|| SqlError::new("42601", format!("No value is given for the parameter :{}", w.value)))?;
        out.push_str(&sql[from..start]);
        out.push('\'');
        out.push_str(&value.replace('\'', "''"));
        out.push('\'');
        from = end;
    }
    out.push_str(&sql[from..]);
    Ok(out)
}

pub fn parse(sql: &str) -> SqlResult<Vec<Parsed>> {
    if let Some(query) = crate::show::as_query(sql) {
        let mut parsed = parse(&query?)?;
        for p in parsed.iter_mut() {
            p.text = sql.to_string();
        }
        return Ok(parsed);
    }
    let dialect = crate::grammar::Redshift;
    let tokens = Tokenizer::new(&dialect, sql).tokenize().map_err(|e| SqlError::new("42601", e.to_string()))?;
    // APPROXIMATE COUNT(DISTINCT x) and APPROXIMATE PERCENTILE_DISC are answered exactly.
    let tokens: Vec<Token> = {
        let mut out = Vec::with_capacity(tokens.len());
        let mut i = 0;
        while i < tokens.len() {
            if word(&tokens[i]).as_deref() == Some("APPROXIMATE") {
                let j = next_solid(&tokens, i + 1);
                if matches!(tokens.get(j).and_then(word).as_deref(), Some("COUNT" | "PERCENTILE_DISC")) {
                    i = j;
                    continue;
                }
            }
            out.push(tokens[i].clone());
            i += 1;
        }
        out
    };
    let mut pieces: Vec<Vec<Token>> = vec![Vec::new()];
    let mut depth = 0i32;
    for t in tokens {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::SemiColon if depth <= 0 => {
                pieces.push(Vec::new());
                continue;
            }
            _ => {}
        }
        pieces.last_mut().expect("one piece at least").push(t);
    }
    let mut out = Vec::new();
    for piece in pieces {
        if piece.iter().all(|t| is_space(t) || matches!(t, Token::Whitespace(Whitespace::SingleLineComment { .. }))) {
            continue;
        }
        let text = piece.iter().map(|t| t.to_string()).collect::<String>().trim().to_string();
        let (piece, attributes) = if crate::table_attributes::is_create_table(&piece) {
            crate::table_attributes::lift(piece)?
        } else {
            (piece, TableAttributes::default())
        };
        let mut statements = Parser::new(&dialect).with_tokens(piece).parse_statements()?;
        for mut statement in statements.drain(..) {
            rewrite(&mut statement);
            out.push(Parsed { statement, attributes: attributes.clone(), text: text.clone() });
        }
    }
    Ok(out)
}

fn string_lit(s: &str) -> Expr {
    Expr::Value(Value::SingleQuotedString(s.to_string()).with_empty_span())
}

fn func_name(f: &ast::Function) -> String {
    f.name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_ascii_lowercase()).unwrap_or_default()
}

fn set_name(f: &mut ast::Function, name: &str) {
    f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]);
}

fn args_mut(f: &mut ast::Function) -> Option<&mut Vec<FunctionArg>> {
    match &mut f.args {
        FunctionArguments::List(l) => Some(&mut l.args),
        _ => None,
    }
}

fn arg_expr(a: &FunctionArg) -> Option<&Expr> {
    match a {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
        _ => None,
    }
}

/// Redshift's datetime format patterns (`YYYY-MM-DD HH24:MI:SS`) as chrono's (`%Y-%m-%d %H:%M:%S`).
pub fn chrono_format(fmt: &str) -> String {
    const PATTERNS: &[(&str, &str)] = &[
        ("YYYY", "%Y"),
        ("HH24", "%H"),
        ("HH12", "%I"),
        ("MONTH", "%B"),
        ("Month", "%B"),
        ("MON", "%b"),
        ("Mon", "%b"),
        ("DAY", "%A"),
        ("Day", "%A"),
        ("DY", "%a"),
        ("Dy", "%a"),
        ("YY", "%y"),
        ("MM", "%m"),
        ("DD", "%d"),
        ("HH", "%I"),
        ("MI", "%M"),
        ("SS", "%S"),
        ("MS", "%3f"),
        ("US", "%6f"),
        ("AM", "%p"),
        ("PM", "%p"),
        ("TZ", "%Z"),
        ("D", "%u"),
        ("Q", "%q"),
    ];
    let mut out = String::new();
    let mut rest = fmt;
    'outer: while !rest.is_empty() {
        for (p, c) in PATTERNS {
            if rest.starts_with(p) {
                out.push_str(c);
                rest = &rest[p.len()..];
                continue 'outer;
            }
        }
        let ch = rest.chars().next().expect("not empty");
        if ch == '%' {
            out.push_str("%%");
        } else {
            out.push(ch);
        }
        rest = &rest[ch.len_utf8()..];
    }
    out
}

/// Marks the end of a column's name and the start of a suffix that only keeps DataFusion's
/// names unique: PostgreSQL lets two result columns share a name, DataFusion does not.
const UNIQUE_SUFFIX: char = '\u{E000}';

/// A result column's name as the client sees it.
pub fn output_name(name: &str) -> &str {
    name.split(UNIQUE_SUFFIX).next().unwrap_or(name)
}

/// Names every select item as PostgreSQL does (`count`, `?column?`, a cast's column or type,
/// Redshift's `date_add`), so result columns read as on Redshift; a name used twice gets a
/// hidden suffix.
fn name_columns(projection: &mut [ast::SelectItem]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for item in projection.iter_mut() {
        let (name, plain_column) = match item {
            ast::SelectItem::UnnamedExpr(e) => {
                let plain = matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
                    && !matches!(e, Expr::Identifier(id) if id.quote_style.is_none() && is_niladic(&id.value));
                (column_name(e).unwrap_or_else(|| "?column?".to_string()), plain)
            }
            ast::SelectItem::ExprWithAlias { alias, .. } => {
                let name =
                    if alias.quote_style.is_some() { alias.value.clone() } else { alias.value.to_ascii_lowercase() };
                (name, true)
            }
            _ => continue,
        };
        let count = seen.entry(name.clone()).or_insert(0);
        *count += 1;
        let unique = if *count == 1 { name } else { format!("{name}{UNIQUE_SUFFIX}{count}") };
        match item {
            ast::SelectItem::UnnamedExpr(e) if !plain_column || unique.contains(UNIQUE_SUFFIX) => {
                *item = ast::SelectItem::ExprWithAlias { expr: e.clone(), alias: Ident::with_quote('"', unique) };
            }
            ast::SelectItem::ExprWithAlias { alias, .. } if unique.contains(UNIQUE_SUFFIX) => {
                *alias = Ident::with_quote('"', unique);
            }
            _ => {}
        }
    }
}

/// Functions written without parentheses (`SELECT sysdate`).
fn is_niladic(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "sysdate"
            | "getdate"
            | "current_user"
            | "session_user"
            | "user"
            | "current_schema"
            | "localtime"
            | "localtimestamp"
            | "current_user_id"
            | "current_namespace"
            | "current_aws_account"
    )
}

/// PostgreSQL's name for an unnamed select item (its `FigureColname`), with Redshift's
/// names for its own functions; `None` where PostgreSQL says `?column?`.
fn column_name(e: &Expr) -> Option<String> {
    let lower = |i: &Ident| if i.quote_style.is_some() { i.value.clone() } else { i.value.to_ascii_lowercase() };
    match e {
        Expr::Identifier(id) if id.quote_style.is_none() && is_niladic(&id.value) => {
            Some(match id.value.to_ascii_lowercase().as_str() {
                "sysdate" | "getdate" => "timestamp".to_string(),
                other => other.to_string(),
            })
        }
        Expr::Identifier(id) => Some(lower(id)),
        Expr::CompoundIdentifier(ids) => ids.last().map(lower),
        Expr::CompoundFieldAccess { access_chain, root } => match access_chain.last() {
            Some(ast::AccessExpr::Dot(Expr::Identifier(id))) => Some(lower(id)),
            _ => column_name(root),
        },
        Expr::Nested(inner) | Expr::Collate { expr: inner, .. } => column_name(inner),
        Expr::Cast { expr, data_type, .. } | Expr::Convert { expr, data_type: Some(data_type), .. } => {
            column_name(expr).or_else(|| Some(type_column_name(data_type)))
        }
        Expr::TypedString(t) => Some(type_column_name(&t.data_type)),
        Expr::Function(f) => Some(match func_name(f).as_str() {
            "getdate" | "sysdate" => "timestamp".to_string(),
            "dateadd" => "date_add".to_string(),
            "datediff" => "date_diff".to_string(),
            "nvl" => "coalesce".to_string(),
            "datepart" | "pgdate_part" => "date_part".to_string(),
            other => other.to_string(),
        }),
        Expr::Extract { .. } => Some("date_part".into()),
        Expr::Substring { .. } => Some("substring".into()),
        Expr::Position { .. } => Some("position".into()),
        Expr::Trim { .. } => Some("btrim".into()),
        Expr::Ceil { .. } => Some("ceil".into()),
        Expr::Floor { .. } => Some("floor".into()),
        Expr::Overlay { .. } => Some("overlay".into()),
        Expr::Case { .. } => Some("case".into()),
        Expr::Exists { .. } => Some("exists".into()),
        Expr::Array(_) => Some("array".into()),
        Expr::Interval(_) => Some("interval".into()),
        _ => None,
    }
}

/// PostgreSQL's internal name of a type, which a cast of a constant gives its column.
fn type_column_name(t: &ast::DataType) -> String {
    use crate::types::RsType;
    match RsType::from_sql(t) {
        Ok(RsType::SmallInt) => "int2",
        Ok(RsType::Integer) => "int4",
        Ok(RsType::BigInt) => "int8",
        Ok(RsType::Decimal(..)) => "numeric",
        Ok(RsType::Real) => "float4",
        Ok(RsType::Double) => "float8",
        Ok(RsType::Boolean) => "bool",
        Ok(RsType::Char(_)) => "bpchar",
        Ok(RsType::Varchar(_)) => "varchar",
        Ok(RsType::Date) => "date",
        Ok(RsType::Timestamp) => "timestamp",
        Ok(RsType::Timestamptz) => "timestamptz",
        Ok(RsType::Time) => "time",
        Ok(RsType::Super) => "super",
        Ok(RsType::Varbyte(_)) => "varbyte",
        Ok(RsType::HllSketch) => "hllsketch",
        Err(_) => return t.to_string().to_ascii_lowercase(),
    }
    .to_string()
}

/// Replaces the unqualified name `name` in the WHERE of each SELECT that defines it as a
/// select item's alias by the aliased expression. True when something was replaced.
pub fn where_alias(statement: &mut Statement, name: &str) -> bool {
    struct Replace<'a> {
        name: &'a str,
        replaced: bool,
    }
    impl VisitorMut for Replace<'_> {
        type Break = ();
        fn pre_visit_select(&mut self, select: &mut ast::Select) -> ControlFlow<()> {
            let aliased = select.projection.iter().find_map(|item| match item {
                ast::SelectItem::ExprWithAlias { expr, alias } if alias.value.eq_ignore_ascii_case(self.name) => {
                    Some(expr.clone())
                }
                _ => None,
            });
            // An alias of an expression naming the column itself cannot stand for it.
            let aliased = aliased.filter(|e| !names_identifier(e, self.name));
            if let (Some(expr), Some(selection)) = (aliased, select.selection.as_mut()) {
                let mut inner = ReplaceIdent { name: self.name, expr, replaced: false };
                let _ = VisitMut::visit(selection, &mut inner);
                self.replaced |= inner.replaced;
            }
            ControlFlow::Continue(())
        }
    }
    struct ReplaceIdent<'a> {
        name: &'a str,
        expr: Expr,
        replaced: bool,
    }
    impl VisitorMut for ReplaceIdent<'_> {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
            if matches!(e, Expr::Identifier(id) if id.value.eq_ignore_ascii_case(self.name)) {
                *e = Expr::Nested(Box::new(self.expr.clone()));
                self.replaced = true;
            }
            ControlFlow::Continue(())
        }
    }
    let mut r = Replace { name, replaced: false };
    let _ = VisitMut::visit(statement, &mut r);
    r.replaced
}

/// A query nuage wrote itself, parsed.
fn generated_query(sql: &str) -> Option<Box<ast::Query>> {
    match Parser::parse_sql(&crate::grammar::Redshift, sql).ok()?.pop()? {
        Statement::Query(q) => Some(q),
        _ => None,
    }
}

/// PartiQL's unnesting of SUPER arrays: in `FROM orders AS c, c.items AS i` the second item
/// ranges over the elements of `c.items` for each row of `c` (a row whose value is not an
/// array gives none). The owning item becomes a derived table that adds the element as a
/// SUPER column named after the alias: `(SELECT c.*, as_super(unnest(super_elements(c.items)))
/// AS i FROM orders AS c) AS c`. An element can be unnested again (`, i.parts AS p`).
fn unnest_partiql(select: &mut ast::Select) {
    // Alias of each FROM item that may own an unnesting, and the elements already unnested
    // into it (element alias → owner alias).
    let item_alias = |t: &ast::TableWithJoins| -> Option<String> {
        if !t.joins.is_empty() {
            return None;
        }
        match &t.relation {
            ast::TableFactor::Table { alias: Some(a), .. } | ast::TableFactor::Derived { alias: Some(a), .. } => {
                Some(a.name.value.to_ascii_lowercase())
            }
            ast::TableFactor::Table { name, alias: None, args: None, .. } => Some(object_name(name).1),
            _ => None,
        }
    };
    let mut elements: Vec<(String, String)> = Vec::new();
    loop {
        let mut found = None;
        for j in 1..select.from.len() {
            let ast::TableFactor::Table { name, alias, args: None, .. } = &select.from[j].relation else { continue };
            if !select.from[j].joins.is_empty() || name.0.len() != 2 {
                continue;
            }
            let parts: Vec<String> = name
                .0
                .iter()
                .filter_map(|p| p.as_ident())
                .map(|i| if i.quote_style.is_some() { i.value.clone() } else { i.value.to_ascii_lowercase() })
                .collect();
            let [source, member] = parts.as_slice() else { continue };
            // The source is an earlier item, or an element unnested into one.
            let owner = (0..j)
                .find(|&i| item_alias(&select.from[i]).as_deref() == Some(source.as_str()))
                .map(|i| (i, vec![source.clone(), member.clone()]));
            let owner = owner.or_else(|| {
                let (_, owner_alias) = elements.iter().find(|(e, _)| e == source)?;
                let i = (0..j).find(|&i| item_alias(&select.from[i]).as_deref() == Some(owner_alias.as_str()))?;
                Some((i, vec![owner_alias.clone(), source.clone(), member.clone()]))
            });
            if let Some((i, path)) = owner {
                let element = alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()).unwrap_or(member.clone());
                let at = alias.as_ref().and_then(|a| a.at.as_ref()).map(|i| i.value.to_ascii_lowercase());
                found = Some((i, j, path, element, at));
                break;
            }
        }
        let Some((i, j, path, element, at)) = found else { return };
        let owner_alias = item_alias(&select.from[i]).unwrap_or_default();
        let relation = select.from[i].relation.to_string();
        let path_sql: Vec<String> = path.iter().map(|p| quote_ident(p)).collect();
        let path = path_sql.join(".");
        // `AT index`: the positions, unnested beside the elements (lists of one length zip).
        let index = at.map(|a| format!(", unnest(super_indexes({path})) AS {}", quote_ident(&a))).unwrap_or_default();
        let sql = format!(
            "SELECT {owner}.*, as_super(unnest(super_elements({path}))) AS {element}{index} FROM {relation}",
            owner = quote_ident(&owner_alias),
            element = quote_ident(&element),
        );
        let Some(q) = generated_query(&sql) else { return };
        select.from[i].relation = ast::TableFactor::Derived {
            lateral: false,
            subquery: q,
            alias: Some(ast::TableAlias {
                explicit: true,
                name: Ident::new(owner_alias.clone()),
                columns: vec![],
                at: None,
            }),
            sample: None,
        };
        select.from.remove(j);
        elements.push((element, owner_alias));
    }
}

/// Whether a function aggregates (a subquery using one already returns one row): any of
/// DataFusion's aggregate functions and their aliases, and Redshift's names for its own.
fn is_aggregate(name: &str) -> bool {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<String>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            let mut names: std::collections::HashSet<String> =
                ["listagg", "median", "single_value"].into_iter().map(String::from).collect();
            for f in datafusion::functions_aggregate::all_default_aggregate_functions() {
                names.insert(f.name().to_string());
                names.extend(f.aliases().iter().cloned());
            }
            names
        })
        .contains(name)
}

fn single_value_subquery(q: &mut ast::Query) {
    if q.limit_clause.is_some() || q.fetch.is_some() || q.order_by.is_some() || q.with.is_some() {
        return;
    }
    let ast::SetExpr::Select(select) = q.body.as_mut() else { return };
    let grouped = !matches!(&select.group_by, ast::GroupByExpr::Expressions(e, _) if e.is_empty());
    if select.from.is_empty() || select.distinct.is_some() || select.having.is_some() || grouped {
        return;
    }
    let [item] = select.projection.as_mut_slice() else { return };
    let expr = match item {
        ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => e,
        _ => return,
    };
    struct Aggregated(bool);
    impl ast::Visitor for Aggregated {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::Function(f) = e {
                if f.over.is_some() || is_aggregate(&func_name(f)) {
                    self.0 = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut aggregated = Aggregated(false);
    let _ = ast::Visit::visit(expr, &mut aggregated);
    if !aggregated.0 {
        *expr = call("single_value", vec![expr.clone()]);
    }
}

/// Whether `e` names the unqualified identifier `name` anywhere.
fn names_identifier(e: &Expr, name: &str) -> bool {
    struct Find<'a>(&'a str, bool);
    impl ast::Visitor for Find<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if matches!(e, Expr::Identifier(id) if id.value.eq_ignore_ascii_case(self.0)) {
                self.1 = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    let mut f = Find(name, false);
    let _ = ast::Visit::visit(e, &mut f);
    f.1
}

/// An expression that is a condition whatever its operands' types.
fn is_condition(e: &Expr) -> bool {
    use ast::BinaryOperator as B;
    match e {
        Expr::Nested(inner) => is_condition(inner),
        Expr::BinaryOp { op, .. } => {
            matches!(op, B::And | B::Or | B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq)
        }
        Expr::UnaryOp { op: ast::UnaryOperator::Not, .. } => true,
        Expr::IsNull(_) | Expr::IsNotNull(_) | Expr::IsTrue(_) | Expr::IsFalse(_) => true,
        Expr::InList { .. } | Expr::Between { .. } | Expr::Like { .. } | Expr::ILike { .. } | Expr::Exists { .. } => {
            true
        }
        _ => false,
    }
}

/// Rewrites a LIKE pattern made of string literals (maybe joined with `||`) from escape
/// character `esc` to the backslash; false when the pattern is not such literals.
fn escape_with_backslash(pattern: &mut Expr, esc: char) -> bool {
    fn literals_only(e: &Expr) -> bool {
        match e {
            Expr::Value(v) => matches!(v.value, Value::SingleQuotedString(_)),
            Expr::Nested(inner) => literals_only(inner),
            Expr::BinaryOp { left, op: ast::BinaryOperator::StringConcat, right } => {
                literals_only(left) && literals_only(right)
            }
            _ => false,
        }
    }
    fn rewrite(e: &mut Expr, esc: char) {
        match e {
            Expr::Value(v) => {
                if let Value::SingleQuotedString(p) = &v.value {
                    let mut out = String::new();
                    let mut chars = p.chars();
                    while let Some(c) = chars.next() {
                        if c == esc {
                            out.push('\\');
                            if let Some(next) = chars.next() {
                                out.push(next);
                            }
                        } else if c == '\\' {
                            out.push_str("\\\\");
                        } else {
                            out.push(c);
                        }
                    }
                    v.value = Value::SingleQuotedString(out);
                }
            }
            Expr::Nested(inner) => rewrite(inner, esc),
            Expr::BinaryOp { left, right, .. } => {
                rewrite(left, esc);
                rewrite(right, esc);
            }
            _ => {}
        }
    }
    if !literals_only(pattern) {
        return false;
    }
    rewrite(pattern, esc);
    true
}

struct RedshiftRewrite;

/// The case-insensitive collation of `expr COLLATE case_insensitive` or
/// `COLLATE(expr, 'case_insensitive')`: the collated expression, and whether it ignores case.
fn collated(e: &Expr) -> Option<(Expr, bool)> {
    let ci = |name: &str| matches!(name.trim_matches('\'').to_ascii_lowercase().as_str(), "case_insensitive" | "ci");
    match e {
        Expr::Collate { expr, collation } => Some(((**expr).clone(), ci(&collation.to_string()))),
        Expr::Function(f) if func_name(f) == "collate" => {
            let args: Vec<&Expr> = match &f.args {
                FunctionArguments::List(l) => l.args.iter().filter_map(arg_expr).collect(),
                _ => vec![],
            };
            match args.as_slice() {
                [value, Expr::Value(v)] => match &v.value {
                    Value::SingleQuotedString(c) => Some(((*value).clone(), ci(c))),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

impl VisitorMut for RedshiftRewrite {
    type Break = ();

    /// A comparison with a case-insensitive operand compares both sides in lower case.
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        use ast::BinaryOperator as Op;
        if let Expr::BinaryOp { left, op: Op::Eq | Op::NotEq | Op::Lt | Op::LtEq | Op::Gt | Op::GtEq, right } = expr {
            let (l, r) = (collated(left), collated(right));
            if l.as_ref().is_some_and(|c| c.1) || r.as_ref().is_some_and(|c| c.1) {
                let lower = |side: &mut Box<Expr>, c: Option<(Expr, bool)>| {
                    let inner = c.map(|c| c.0).unwrap_or_else(|| (**side).clone());
                    **side = call("lower", vec![inner]);
                };
                lower(left, l);
                lower(right, r);
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &mut ast::Query) -> ControlFlow<()> {
        // TOP n is LIMIT n.
        if let ast::SetExpr::Select(select) = query.body.as_mut() {
            if let Some(top) = select.top.take() {
                let n = match top.quantity {
                    Some(ast::TopQuantity::Constant(n)) => {
                        Some(Expr::Value(Value::Number(n.to_string(), false).with_empty_span()))
                    }
                    Some(ast::TopQuantity::Expr(e)) => Some(e),
                    None => None,
                };
                if query.limit_clause.is_none() {
                    query.limit_clause = n.map(|limit| ast::LimitClause::LimitOffset {
                        limit: Some(limit),
                        offset: None,
                        limit_by: vec![],
                    });
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut ast::Select) -> ControlFlow<()> {
        unnest_partiql(select);
        // Redshift lets a select item name an alias defined earlier in the same list
        // (`... END AS is_autoincrement, is_autoincrement AS is_generatedcolumn`).
        let mut aliases: Vec<(String, Expr)> = Vec::new();
        for item in select.projection.iter_mut() {
            let replace = match item {
                ast::SelectItem::UnnamedExpr(Expr::Identifier(id))
                | ast::SelectItem::ExprWithAlias { expr: Expr::Identifier(id), .. } => {
                    aliases.iter().find(|(a, _)| a.eq_ignore_ascii_case(&id.value)).map(|(_, e)| e.clone())
                }
                _ => None,
            };
            if let Some(e) = replace {
                match item {
                    ast::SelectItem::ExprWithAlias { expr, .. } => *expr = e,
                    ast::SelectItem::UnnamedExpr(Expr::Identifier(id)) => {
                        *item = ast::SelectItem::ExprWithAlias { expr: e, alias: id.clone() };
                    }
                    _ => {}
                }
            }
            if let ast::SelectItem::ExprWithAlias { expr, alias } = item {
                if !matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                    aliases.push((alias.value.clone(), expr.clone()));
                }
            }
        }
        name_columns(&mut select.projection);
        for item in select.projection.iter_mut() {
            if let ast::SelectItem::UnnamedExpr(Expr::CompoundIdentifier(ids)) = item {
                if let Some(last) = ids.last().filter(|i| i.value == "relhasoids").cloned() {
                    *item = ast::SelectItem::ExprWithAlias {
                        expr: Expr::Value(Value::Boolean(false).with_empty_span()),
                        alias: last,
                    };
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match expr {
            // A scalar subquery may return its one row without an aggregate; DataFusion
            // decorrelates only aggregated ones, so its item is read through single_value().
            Expr::Subquery(q) => single_value_subquery(q),
            // VARBYTE (VARBINARY, BINARY VARYING) is DataFusion's binary.
            Expr::Cast { data_type, .. } if is_varbyte(data_type) => {
                *data_type = ast::DataType::Bytea;
            }
            // CONVERT(type, value) is a cast.
            Expr::Convert { expr: value, data_type: Some(t), target_before_value: true, charset: None, .. } => {
                *expr = Expr::Cast {
                    kind: ast::CastKind::Cast,
                    expr: value.clone(),
                    data_type: t.clone(),
                    array: false,
                    format: None,
                };
            }
            // PartiQL's `super_col[0].name` (a JSON path to sqlparser) is DataFusion's field
            // access, which the SUPER planner takes over.
            Expr::JsonAccess { value, path } => {
                let access_chain = path
                    .path
                    .iter()
                    .map(|step| match step {
                        // Unquoted member names are folded to lower case, as identifiers are.
                        ast::JsonPathElem::Dot { key, quoted } => ast::AccessExpr::Dot(string_lit(&if *quoted {
                            key.clone()
                        } else {
                            key.to_ascii_lowercase()
                        })),
                        ast::JsonPathElem::Bracket { key } | ast::JsonPathElem::ColonBracket { key } => {
                            ast::AccessExpr::Subscript(ast::Subscript::Index { index: key.clone() })
                        }
                    })
                    .collect();
                *expr = Expr::CompoundFieldAccess { root: value.clone(), access_chain };
            }
            // An interval times or divided by a number (`n * interval '1 second'`), which
            // DataFusion does not compute, is scaled by interval_scale as PostgreSQL scales it.
            Expr::BinaryOp { left, op: op @ (ast::BinaryOperator::Multiply | ast::BinaryOperator::Divide), right }
                if matches!(left.as_ref(), Expr::Interval(_)) || matches!(right.as_ref(), Expr::Interval(_)) =>
            {
                let divide = matches!(op, ast::BinaryOperator::Divide);
                let divisor_is_interval = matches!(right.as_ref(), Expr::Interval(_));
                let (interval, factor) =
                    if matches!(left.as_ref(), Expr::Interval(_)) { (left, right) } else { (right, left) };
                if !(divide && divisor_is_interval) {
                    let factor = Expr::Cast {
                        kind: ast::CastKind::Cast,
                        expr: factor.clone(),
                        data_type: ast::DataType::DoublePrecision,
                        array: false,
                        format: None,
                    };
                    let factor = if divide {
                        Expr::BinaryOp {
                            left: Box::new(Expr::Value(Value::Number("1.0".into(), false).with_empty_span())),
                            op: ast::BinaryOperator::Divide,
                            right: Box::new(factor),
                        }
                    } else {
                        factor
                    };
                    *expr = call("interval_scale", vec![*interval.clone(), factor]);
                }
            }
            // Redshift reads a number as a condition (`WHERE 1 AND ...`): non-zero is true.
            Expr::BinaryOp { left, op: ast::BinaryOperator::And | ast::BinaryOperator::Or, right } => {
                for side in [left, right] {
                    if let Expr::Value(v) = side.as_mut() {
                        if let Value::Number(n, _) = &v.value {
                            let truth = n.parse::<f64>().map(|n| n != 0.0).unwrap_or(true);
                            **side = Expr::Value(Value::Boolean(truth).with_empty_span());
                        }
                    }
                }
            }
            // `CASE <condition> WHEN 'false' ...`: PostgreSQL reads the literal as a boolean.
            Expr::Case { operand: Some(operand), conditions, .. } if is_condition(operand) => {
                for when in conditions.iter_mut() {
                    if let Expr::Value(v) = &mut when.condition {
                        if let Value::SingleQuotedString(text) = &v.value {
                            let truth = match text.to_ascii_lowercase().as_str() {
                                "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
                                "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
                                _ => None,
                            };
                            if let Some(truth) = truth {
                                v.value = Value::Boolean(truth);
                            }
                        }
                    }
                }
            }
            // LIKE ... ESCAPE 'c': DataFusion only knows the backslash; the pattern is
            // rewritten to use it.
            Expr::Like { pattern, escape_char, .. } | Expr::ILike { pattern, escape_char, .. } => {
                let esc = escape_char.as_ref().and_then(|e| match &e.value {
                    Value::SingleQuotedString(c) if c.chars().count() == 1 && c != "\\" => c.chars().next(),
                    _ => None,
                });
                if let Some(esc) = esc {
                    if escape_with_backslash(pattern, esc) {
                        *escape_char = None;
                    }
                }
            }
            // psql asks an 8.0 server for pg_class.relhasoids; tables never have OIDs here.
            Expr::CompoundIdentifier(ids) if ids.last().is_some_and(|i| i.value == "relhasoids") => {
                *expr = Expr::Value(Value::Boolean(false).with_empty_span());
            }
            Expr::Identifier(id) if id.quote_style.is_none() && is_niladic(&id.value) => {
                *expr = call(&id.value.to_ascii_lowercase(), vec![]);
            }
            // SIMILAR TO is a regular expression of SQL's flavour: translated for `~`.
            Expr::SimilarTo { negated, expr: subject, pattern, escape_char: None } => {
                if let Expr::Value(v) = pattern.as_ref() {
                    if let Value::SingleQuotedString(p) = &v.value {
                        let regex = similar_to_regex(p);
                        let op = if *negated {
                            ast::BinaryOperator::PGRegexNotMatch
                        } else {
                            ast::BinaryOperator::PGRegexMatch
                        };
                        *expr = Expr::BinaryOp { left: subject.clone(), op, right: Box::new(string_lit(&regex)) };
                    }
                }
            }
            // Elsewhere a collation changes nothing: the value is the expression's.
            Expr::Collate { .. } => {
                if let Some((inner, _)) = collated(expr) {
                    *expr = inner;
                }
            }
            Expr::Function(f) if func_name(f) == "collate" => {
                if let Some((inner, _)) = collated(expr) {
                    *expr = inner;
                }
            }
            Expr::Function(f) => {
                let name = func_name(f);
                match name.as_str() {
                    // REGEXP_REPLACE(s, pattern): the replacement defaults to the empty string.
                    "regexp_replace" => {
                        if let Some(args) = args_mut(f) {
                            if args.len() == 2 {
                                args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(string_lit(""))));
                            }
                        }
                    }
                    "regexp_substr" => {
                        // REGEXP_SUBSTR(s, pattern [, position]): the first match, or NULL.
                        let args: Vec<Expr> =
                            args_mut(f).map(|a| a.iter().filter_map(arg_expr).cloned().collect()).unwrap_or_default();
                        if (2..=3).contains(&args.len()) {
                            let source = match args.get(2) {
                                Some(pos) => call("substr", vec![args[0].clone(), pos.clone()]),
                                None => args[0].clone(),
                            };
                            let grouped = call("concat", vec![string_lit("("), args[1].clone(), string_lit(")")]);
                            *expr = call(
                                "array_element",
                                vec![
                                    call("regexp_match", vec![source, grouped]),
                                    Expr::Value(Value::Number("1".into(), false).with_empty_span()),
                                ],
                            );
                        }
                    }
                    "dateadd" | "datediff" | "date_part" | "date_trunc" | "datepart" | "date_add" | "date_diff" => {
                        if name == "datepart" {
                            set_name(f, "date_part");
                        }
                        if let Some(args) = args_mut(f) {
                            if let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(i)))) = args.first()
                            {
                                let part = i.value.to_ascii_lowercase();
                                args[0] = FunctionArg::Unnamed(FunctionArgExpr::Expr(string_lit(&part)));
                            }
                        }
                    }
                    // (TO_CHAR reads Redshift's patterns itself.)
                    "to_date" | "to_timestamp" => {
                        if let Some(args) = args_mut(f) {
                            if let Some(Expr::Value(v)) = args.get(1).and_then(arg_expr) {
                                if let Value::SingleQuotedString(fmt) = &v.value {
                                    let converted = chrono_format(fmt);
                                    args[1] = FunctionArg::Unnamed(FunctionArgExpr::Expr(string_lit(&converted)));
                                }
                            }
                        }
                    }
                    "listagg" => {
                        set_name(f, "string_agg");
                        let order = std::mem::take(&mut f.within_group);
                        if let FunctionArguments::List(l) = &mut f.args {
                            if l.args.len() == 1 {
                                l.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(string_lit(""))));
                            }
                            if !order.is_empty() {
                                l.clauses.push(FunctionArgumentClause::OrderBy(order));
                            }
                        }
                    }
                    // PERCENTILE_CONT/DISC(p) WITHIN GROUP (ORDER BY x) OVER (PARTITION BY ...):
                    // the window form takes the ordered value as its argument, as DataFusion's
                    // aggregate does (`percentile_cont(x, p)`); a descending order reverses p.
                    "percentile_cont" | "percentile_disc" if f.over.is_some() && f.within_group.len() == 1 => {
                        let order = f.within_group.remove(0);
                        let descending = order.options.asc == Some(false);
                        let fraction = args_mut(f).and_then(|a| a.first().and_then(arg_expr).cloned());
                        if let Some(p) = fraction {
                            let mut new_args = vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(order.expr))];
                            if name == "percentile_cont" && descending {
                                // Continuous: the p-th of the reversed order is the (1 - p)-th.
                                let reversed = Expr::BinaryOp {
                                    left: Box::new(Expr::Value(Value::Number("1".into(), false).with_empty_span())),
                                    op: ast::BinaryOperator::Minus,
                                    right: Box::new(Expr::Nested(Box::new(p))),
                                };
                                new_args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(reversed)));
                            } else {
                                new_args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(p)));
                                if descending {
                                    // Discrete: percentile_disc's third argument says descending.
                                    let flag = Expr::Value(Value::Boolean(true).with_empty_span());
                                    new_args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(flag)));
                                }
                            }
                            if let Some(args) = args_mut(f) {
                                *args = new_args;
                            }
                        }
                    }
                    "ratio_to_report" => {
                        // RATIO_TO_REPORT(x) OVER (PARTITION BY p) is x / SUM(x) OVER (PARTITION BY p).
                        let arg = args_mut(f).and_then(|a| a.first().and_then(arg_expr).cloned());
                        if let (Some(x), Some(ast::WindowType::WindowSpec(spec))) = (arg, f.over.clone()) {
                            let mut sum = call("sum", vec![x.clone()]);
                            if let Expr::Function(sf) = &mut sum {
                                sf.over = Some(ast::WindowType::WindowSpec(ast::WindowSpec {
                                    order_by: vec![],
                                    window_frame: None,
                                    ..spec
                                }));
                            }
                            let numerator = Expr::Cast {
                                kind: ast::CastKind::Cast,
                                expr: Box::new(x),
                                data_type: ast::DataType::DoublePrecision,
                                array: false,
                                format: None,
                            };
                            *expr = Expr::BinaryOp {
                                left: Box::new(numerator),
                                op: ast::BinaryOperator::Divide,
                                right: Box::new(sum),
                            };
                        }
                    }
                    // Redshift's date helpers, as expressions DataFusion plans.
                    "last_day" | "add_months" | "months_between" | "to_number" => {
                        let args: Vec<String> = args_mut(f)
                            .map(|a| a.iter().filter_map(arg_expr).map(|e| format!("({e})")).collect())
                            .unwrap_or_default();
                        let text = match (name.as_str(), args.as_slice()) {
                            ("last_day", [d]) => Some(format!("CAST(date_trunc('month', CAST({d} AS TIMESTAMP)) + INTERVAL '1 month' - INTERVAL '1 day' AS DATE)")),
                            // The last day of a month stays the last day of the month reached.
                            ("add_months", [d, n]) => Some(format!(
                                "CASE WHEN CAST({d} AS DATE) = last_day({d}) THEN CAST(last_day(dateadd('month', {n}, CAST({d} AS TIMESTAMP))) AS TIMESTAMP) \
                                 ELSE dateadd('month', {n}, CAST({d} AS TIMESTAMP)) END"
                            )),
                            // Whole months when both dates fall on the same day or both end their
                            // months; else the days count as 31sts of a month.
                            ("months_between", [a, b]) => {
                                let (a, b) = (format!("CAST({a} AS DATE)"), format!("CAST({b} AS DATE)"));
                                let part = |p: &str, d: &str| format!("date_part('{p}', {d})");
                                let months = format!(
                                    "(({} - {}) * 12 + {} - {})",
                                    part("year", &a),
                                    part("year", &b),
                                    part("month", &a),
                                    part("month", &b)
                                );
                                Some(format!(
                                    "CAST(CASE WHEN {da} = {db} OR ({a} = last_day({a}) AND {b} = last_day({b})) THEN {months} \
                                     ELSE {months} + ({da} - {db}) / 31.0 END AS DOUBLE PRECISION)",
                                    da = part("day", &a),
                                    db = part("day", &b),
                                ))
                            }
                            // TO_NUMBER(text, '99G999D99'): the digits, sign and point, at the
                            // format's scale.
                            ("to_number", [t, fmt]) => {
                                let f = fmt.trim_matches(|c| c == '(' || c == ')').trim_matches('\'');
                                let scale = f.rsplit_once(['.', 'D']).map(|(_, d)| d.chars().filter(|c| *c == '9' || *c == '0').count()).unwrap_or(0);
                                let c = format!("regexp_replace({t}, '[^0-9.-]', '', 'g')");
                                // A trailing sign (`S`, `MI`) moves to the front.
                                Some(format!(
                                    "CAST(CASE WHEN right({c}, 1) = '-' THEN '-' || replace({c}, '-', '') ELSE {c} END AS DECIMAL(38, {scale}))"
                                ))
                            }
                            _ => None,
                        };
                        if let Some(e) = text.and_then(|t| {
                            Parser::new(&crate::grammar::Redshift).try_with_sql(&t).ok()?.parse_expr().ok()
                        }) {
                            let mut e = e;
                            // The expression names Redshift functions (dateadd, last_day) itself.
                            let _ = VisitMut::visit(&mut e, &mut RedshiftRewrite);
                            *expr = e;
                            return ControlFlow::Continue(());
                        }
                    }
                    // A hash of a value hashes its type's bytes: an integer literal is an
                    // INTEGER (4 bytes) as in PostgreSQL, where DataFusion would read a BIGINT.
                    "fnv_hash" | "checksum" => {
                        if let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(e))) =
                            args_mut(f).and_then(|a| a.first_mut())
                        {
                            let small = matches!(e, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n.parse::<i32>().is_ok()));
                            if small {
                                *e = Expr::Cast {
                                    kind: ast::CastKind::Cast,
                                    expr: Box::new(e.clone()),
                                    data_type: ast::DataType::Integer(None),
                                    array: false,
                                    format: None,
                                };
                            }
                        }
                    }
                    "len" | "textlen" => set_name(f, "character_length"),
                    "dexp" => set_name(f, "exp"),
                    "sign" => set_name(f, "signum"),
                    "dlog1" => set_name(f, "ln"),
                    "dlog10" => set_name(f, "log10"),
                    "variance" => set_name(f, "var_samp"),
                    // MOD(a, b) is the % operator; TIMEZONE(zone, t) is `t AT TIME ZONE zone`.
                    "mod" | "timezone" => {
                        let args: Vec<Expr> =
                            args_mut(f).map(|a| a.iter().filter_map(arg_expr).cloned().collect()).unwrap_or_default();
                        if let [a, b] = args.as_slice() {
                            *expr = if name == "mod" {
                                Expr::Nested(Box::new(Expr::BinaryOp {
                                    left: Box::new(a.clone()),
                                    op: ast::BinaryOperator::Modulo,
                                    right: Box::new(b.clone()),
                                }))
                            } else {
                                Expr::AtTimeZone { timestamp: Box::new(b.clone()), time_zone: Box::new(a.clone()) }
                            };
                        }
                    }
                    "ceiling" => set_name(f, "ceil"),
                    "replicate" => set_name(f, "repeat"),
                    "charindex" => {
                        set_name(f, "strpos");
                        if let Some(args) = args_mut(f) {
                            if args.len() == 2 {
                                args.swap(0, 1);
                            }
                        }
                    }
                    "decode" => {
                        if let Some(args) = args_mut(f) {
                            let exprs: Vec<Expr> = args.iter().filter_map(arg_expr).cloned().collect();
                            if exprs.len() >= 3 {
                                *expr = decode_to_case(exprs);
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

fn is_varbyte(t: &ast::DataType) -> bool {
    match t {
        ast::DataType::Varbinary(_) => true,
        ast::DataType::Custom(name, _) => {
            matches!(name.to_string().to_ascii_lowercase().as_str(), "varbyte" | "binary varying")
        }
        _ => false,
    }
}

/// SQL's SIMILAR TO pattern as an anchored POSIX regular expression.
fn similar_to_regex(p: &str) -> String {
    let mut out = String::from("^(");
    for c in p.chars() {
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '.' | '^' | '$' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    out.push_str(")$");
    out
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(ast::Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: args.into_iter().map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e))).collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// DECODE(expr, search1, result1, ..., [default]) as CASE; NULL matches NULL, as in Redshift.
fn decode_to_case(mut exprs: Vec<Expr>) -> Expr {
    let subject = exprs.remove(0);
    let default = if exprs.len() % 2 == 1 { exprs.pop() } else { None };
    let conditions = exprs
        .chunks(2)
        .map(|pair| ast::CaseWhen {
            condition: Expr::IsNotDistinctFrom(Box::new(subject.clone()), Box::new(pair[0].clone())),
            result: pair[1].clone(),
        })
        .collect();
    Expr::Case {
        case_token: ast::helpers::attached_token::AttachedToken::empty(),
        end_token: ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions,
        else_result: default.map(Box::new),
    }
}

pub fn rewrite(statement: &mut Statement) {
    let _ = statement.visit(&mut RedshiftRewrite);
}

/// Lower-cased unless quoted, as PostgreSQL folds identifiers.
pub fn normalize(id: &Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        id.value.to_ascii_lowercase()
    }
}

/// `[schema.]name` of an object name, folded.
pub fn object_name(name: &ObjectName) -> (Option<String>, String) {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(normalize).collect();
    match parts.len() {
        0 => (None, String::new()),
        1 => (None, parts[0].clone()),
        n => (Some(parts[n - 2].clone()), parts[n - 1].clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifts_column_and_table_attributes() {
        let p = parse(
            "create table sales(salesid integer not null, listid integer not null distkey encode az64, \
             dateid smallint not null sortkey, id bigint identity(0, 1)) diststyle key interleaved sortkey(dateid, listid)",
        )
        .unwrap();
        let a = &p[0].attributes;
        assert_eq!(a.distkey.as_deref(), Some("listid"));
        assert_eq!(a.sortkey, vec!["dateid", "listid"]);
        assert_eq!(a.sortkey_kind.as_deref(), Some("INTERLEAVED"));
        assert_eq!(a.encode.get("listid").map(|s| s.as_str()), Some("AZ64"));
        assert_eq!(a.identity.get("id"), Some(&(0, 1)));
        assert!(matches!(p[0].statement, Statement::CreateTable(_)));
    }

    #[test]
    fn top_becomes_limit_and_dateadd_part_a_string() {
        let p = parse("select top 5 dateadd(day, 1, saletime) from sales; select 1").unwrap();
        assert_eq!(p.len(), 2);
        let sql = p[0].statement.to_string();
        assert!(sql.contains("LIMIT 5"), "{sql}");
        assert!(sql.contains("dateadd('day', 1, saletime)"), "{sql}");
    }

    #[test]
    fn formats_translate() {
        assert_eq!(chrono_format("YYYY-MM-DD HH24:MI:SS"), "%Y-%m-%d %H:%M:%S");
        assert_eq!(chrono_format("MM/DD/YYYY HH:MI:SS"), "%m/%d/%Y %I:%M:%S");
    }

    #[test]
    fn syntax_error_names_the_token() {
        let e = parse("selec 1").err().unwrap();
        assert_eq!(e.code, "42601");
        assert!(e.message.contains("selec"), "{}", e.message);
    }
}

#[cfg(test)]
mod split_tests {
    #[test]
    fn splits_where_the_client_put_semicolons() {
        let s = super::split_statements("select 'a;''b'; -- c;\nselect (1;2);\n  ").unwrap();
        assert_eq!(s, vec!["select 'a;''b'", " -- c;\nselect (1;2)"]);
    }

    #[test]
    fn binds_named_parameters() {
        let p = vec![("id".to_string(), "5".to_string()), ("name".to_string(), "O'Hara".to_string())];
        let s = super::bind_named("select x::int from t where id = :id and n = :name", &p).unwrap();
        assert_eq!(s, "select x::int from t where id = '5' and n = 'O''Hara'");
        assert!(super::bind_named("select :missing", &p).is_err());
    }
}

#[cfg(test)]
mod partiql_tests {
    #[test]
    fn unnesting_becomes_a_derived_table() {
        let p = super::parse("select x.k, e from co x, x.o e").unwrap();
        let sql = p[0].statement.to_string();
        assert!(sql.contains("unnest(super_elements(\"x\".\"o\"))"), "{sql}");
    }
}
