//! OpenSearch PPL (StartQuery's `PPL` language): commands joined by `|` (`fields`, `where`,
//! `eval`, `stats` with `span`, `sort`, `head`, `dedup`, `rename`, `top`, `rare`, `parse`,
//! `fillnull`), each translated to one SQL stage over the one before, the first reading the
//! events of the queried log groups; DataFusion plans and runs the chain.
use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;
use nuage_core::{AwsError, AwsResult};

/// The table the first stage reads.
pub(crate) const EVENTS_TABLE: &str = "__events";

fn malformed(msg: impl std::fmt::Display) -> AwsError {
    nuage_protocol::logs::errors::Error::MalformedQueryException.msg(format!("Query is malformed: {msg}"))
}

/// A PPL query: the log groups of its `source` command, if it has one, and its other commands.
#[derive(Debug)]
pub(crate) struct PplQuery {
    pub sources: Vec<String>,
    commands: Vec<String>,
}

/// The positions of `text`'s characters that stand outside quotes, backticks and brackets.
fn top_level(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let (mut depth, mut quote) = (0i32, None::<char>);
    text.char_indices().filter(move |&(_, ch)| {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None => match ch {
                '\'' | '"' | '`' => quote = Some(ch),
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                _ => return depth == 0,
            },
        }
        false
    })
}

/// Splits `text` at `sep` where it is outside quotes, backticks and brackets.
fn split_top(text: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut last = 0;
    for (i, _) in top_level(text).filter(|&(_, ch)| ch == sep) {
        parts.push(text[last..i].trim().to_string());
        last = i + sep.len_utf8();
    }
    parts.push(text[last..].trim().to_string());
    parts
}

/// Where the word `word` (lowercase, spaces around it) first stands outside quotes and brackets.
fn find_top(text: &str, word: &str) -> Option<usize> {
    let needle = format!(" {word} ");
    let lower = text.to_ascii_lowercase();
    let found = top_level(&lower).map(|(i, _)| i).find(|&i| lower[i..].starts_with(&needle));
    found
}

pub(crate) fn parse(text: &str) -> AwsResult<PplQuery> {
    let mut commands = split_top(text, '|');
    if commands.iter().any(|c| c.is_empty()) {
        return Err(malformed("a command is empty"));
    }
    let mut sources = Vec::new();
    let first = commands[0].to_ascii_lowercase();
    let first = first.strip_prefix("search").map(str::trim_start).unwrap_or(&first);
    if let Some(rest) = first.strip_prefix("source") {
        let rest = rest.trim_start();
        let Some(names) = rest.strip_prefix('=') else { return Err(malformed("source needs '= <log group>'")) };
        let start = commands[0].len() - names.len();
        sources = split_top(&commands[0][start..], ',')
            .into_iter()
            .map(|n| crate::group_name_of_arn(n.trim_matches('`')).to_string())
            .collect();
        if sources.iter().any(|s| s.is_empty() || s.contains(char::is_whitespace)) {
            return Err(malformed("source names log groups, separated by commas"));
        }
        commands.remove(0);
    }
    // Each command is checked now, so that StartQuery refuses a malformed query.
    for c in &commands {
        stage(c, EVENTS_TABLE, None)?;
    }
    Ok(PplQuery { sources, commands })
}

/// A token of a PPL expression.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Ident(String),
    Num(String),
    /// A number with a time unit (`5m`), as `span` takes.
    Span(f64, String),
    Op(String),
    Open,
    Close,
    Comma,
}

fn tokens(text: &str) -> AwsResult<Vec<Tok>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' || c == '`' {
            let end =
                chars[i + 1..].iter().position(|&x| x == c).ok_or_else(|| malformed(format!("unclosed {c}")))? + i + 1;
            let s: String = chars[i + 1..end].iter().collect();
            out.push(if c == '`' { Tok::Ident(s) } else { Tok::Str(s) });
            i = end + 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let num: String = chars[start..i].iter().collect();
            let unit_start = i;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit: String = chars[unit_start..i].iter().collect();
            if unit.is_empty() {
                out.push(Tok::Num(num));
            } else {
                let n = num.parse().map_err(|_| malformed(format!("bad number {num}")))?;
                out.push(Tok::Span(n, unit));
            }
        } else if c.is_alphanumeric() || c == '_' || c == '@' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '@' | '.')) {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c == '(' {
            out.push(Tok::Open);
            i += 1;
        } else if c == ')' {
            out.push(Tok::Close);
            i += 1;
        } else if c == ',' {
            out.push(Tok::Comma);
            i += 1;
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = if ["!=", "<>", "<=", ">=", "=="].contains(&two.as_str()) {
                two
            } else if "=<>+-*/%!".contains(c) {
                c.to_string()
            } else {
                return Err(malformed(format!("unexpected character '{c}'")));
            };
            i += op.chars().count();
            out.push(Tok::Op(op));
        }
    }
    Ok(out)
}

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "xor", "in", "like", "is", "null", "true", "false", "between", "case", "when", "then", "else",
    "end",
];

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A time span (`5m`) as an SQL interval.
fn interval(n: f64, unit: &str) -> AwsResult<String> {
    let unit = match unit {
        "ms" => "milliseconds",
        "s" => "seconds",
        "m" => "minutes",
        "h" => "hours",
        "d" => "days",
        "w" => "weeks",
        other => return Err(malformed(format!("unknown time unit '{other}' (ms, s, m, h, d, w)"))),
    };
    Ok(format!("INTERVAL '{n} {unit}'"))
}

/// Translates a PPL expression to SQL.
fn sql_expr(text: &str) -> AwsResult<String> {
    let toks = tokens(text)?;
    let mut pos = 0;
    let out = translate(&toks, &mut pos, false)?;
    if pos < toks.len() {
        return Err(malformed(format!("unexpected ')' in {text}")));
    }
    Ok(out)
}

/// Translates tokens from `pos` up to the end, or up to the `)`/`,` that ends an argument.
fn translate(toks: &[Tok], pos: &mut usize, in_args: bool) -> AwsResult<String> {
    let mut out = String::new();
    let mut depth = 0;
    while *pos < toks.len() {
        let t = &toks[*pos];
        if in_args && depth == 0 && matches!(t, Tok::Close | Tok::Comma) {
            break;
        }
        *pos += 1;
        let piece = match t {
            Tok::Str(s) => quote_str(s),
            Tok::Num(n) => n.clone(),
            Tok::Span(n, u) => interval(*n, u)?,
            Tok::Op(op) => match op.as_str() {
                "==" => "=".into(),
                "!" => "NOT".into(),
                other => other.into(),
            },
            Tok::Comma => ",".into(),
            Tok::Open => {
                depth += 1;
                "(".into()
            }
            Tok::Close => {
                depth -= 1;
                if depth < 0 {
                    return Err(malformed("unbalanced ')'"));
                }
                ")".into()
            }
            Tok::Ident(name) if toks.get(*pos) == Some(&Tok::Open) => {
                *pos += 1;
                let mut args = Vec::new();
                while toks.get(*pos).is_some_and(|t| *t != Tok::Close) {
                    args.push(translate(toks, pos, true)?);
                    if toks.get(*pos) == Some(&Tok::Comma) {
                        *pos += 1;
                    }
                }
                if toks.get(*pos) != Some(&Tok::Close) {
                    return Err(malformed(format!("{name}( is not closed")));
                }
                *pos += 1;
                call(name, args)?
            }
            Tok::Ident(name) if KEYWORDS.contains(&name.to_ascii_lowercase().as_str()) => name.to_ascii_uppercase(),
            Tok::Ident(name) => quote_ident(name),
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&piece);
    }
    Ok(out)
}

/// A PPL function call in SQL.
fn call(name: &str, args: Vec<String>) -> AwsResult<String> {
    let arity = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(malformed(format!("{name} takes {n} argument(s)")))
        }
    };
    Ok(match name.to_ascii_lowercase().as_str() {
        "isnull" | "isempty" if args.len() == 1 => format!("({} IS NULL)", args[0]),
        "isnotnull" | "ispresent" if args.len() == 1 => format!("({} IS NOT NULL)", args[0]),
        "ifnull" => {
            arity(2)?;
            format!("coalesce({}, {})", args[0], args[1])
        }
        "if" => {
            arity(3)?;
            format!("(CASE WHEN {} THEN {} ELSE {} END)", args[0], args[1], args[2])
        }
        "like" => {
            arity(2)?;
            format!("({} LIKE {})", args[0], args[1])
        }
        "count" if args.is_empty() => "count(*)".into(),
        "dc" | "distinct_count" => {
            arity(1)?;
            format!("count(DISTINCT {})", args[0])
        }
        "percentile" | "percentile_approx" => {
            arity(2)?;
            format!("approx_percentile_cont({}, {} / 100.0)", args[0], args[1])
        }
        "span" => {
            arity(2)?;
            if args[1].starts_with("INTERVAL") {
                format!("date_bin({}, {}, TIMESTAMP '1970-01-01 00:00:00')", args[1], args[0])
            } else {
                format!("(floor({} / {}) * {})", args[0], args[1], args[1])
            }
        }
        "len" => format!("length({})", args.join(", ")),
        "stddev" => format!("stddev_samp({})", args.join(", ")),
        _ => format!("{}({})", name.to_ascii_lowercase(), args.join(", ")),
    })
}

/// `expr [as alias]`: the SQL and the column's name (the alias, else the text as written).
fn aliased(item: &str) -> AwsResult<(String, String)> {
    if let Some(at) = find_top(item, "as") {
        let alias = item[at + 4..].trim().trim_matches('`');
        if !alias.is_empty() && !alias.contains(char::is_whitespace) {
            return Ok((sql_expr(&item[..at])?, alias.to_string()));
        }
    }
    let name: String = item.split_whitespace().collect::<Vec<_>>().join(" ").replace('`', "");
    Ok((sql_expr(item)?, name))
}

/// A field name as written (bare or in backticks).
fn field(text: &str) -> AwsResult<String> {
    let name = text.trim().trim_matches('`');
    if name.is_empty() || name.contains(char::is_whitespace) && !text.trim().starts_with('`') {
        return Err(malformed(format!("'{text}' is not a field name")));
    }
    Ok(name.to_string())
}

fn fields(list: &str) -> AwsResult<Vec<String>> {
    split_top(list, ',').iter().map(|f| field(f)).collect()
}

/// Splits `word value` options (`keepempty=true`) from the end of a command's arguments.
fn option(rest: &mut String, name: &str) -> AwsResult<Option<bool>> {
    let re = regex::Regex::new(&format!(r"(?i)\b{name}\s*=\s*(true|false)\b")).expect("valid regex");
    let Some(c) = re.captures(rest) else { return Ok(None) };
    let value = c[1].eq_ignore_ascii_case("true");
    let range = c.get(0).expect("match").range();
    rest.replace_range(range, "");
    Ok(Some(value))
}

/// One SQL stage of a PPL query.
#[derive(Debug)]
struct Stage {
    sql: String,
    /// Its rows come in an order the next stages keep: DataFusion does not keep the order of
    /// a view it reads, so such a stage is computed and held as a one-partition table.
    ordered: bool,
}

/// The SQL of one command over the stage `prev`, whose columns are `columns` (`None` when
/// only checking the command, before any column is known).
fn stage(command: &str, prev: &str, columns: Option<&[String]>) -> AwsResult<Vec<Stage>> {
    let known = columns.is_some();
    let columns = columns.unwrap_or_default();
    let (word, rest) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
    let rest = rest.trim();
    let all = |replace: &[(String, String)]| -> String {
        let mut list: Vec<String> = columns
            .iter()
            .map(|c| match replace.iter().find(|(n, _)| n == c) {
                Some((n, e)) => format!("{e} AS {}", quote_ident(n)),
                None => quote_ident(c),
            })
            .collect();
        list.extend(
            replace.iter().filter(|(n, _)| !columns.contains(n)).map(|(n, e)| format!("{e} AS {}", quote_ident(n))),
        );
        list.join(", ")
    };
    let from = quote_ident(prev);
    let one = |sql: String| Ok(vec![Stage { sql, ordered: false }]);
    let sorted = |sql: String| Ok(vec![Stage { sql, ordered: true }]);
    match word.to_ascii_lowercase().as_str() {
        "fields" => {
            if let Some(list) = rest.strip_prefix('-') {
                let drop = fields(list)?;
                let keep: Vec<String> = columns.iter().filter(|c| !drop.contains(c)).map(|c| quote_ident(c)).collect();
                if known && keep.is_empty() {
                    return Err(malformed("fields - removes every field"));
                }
                return one(format!("SELECT {} FROM {from}", keep.join(", ")));
            }
            let list = fields(rest.strip_prefix('+').unwrap_or(rest))?;
            one(format!("SELECT {} FROM {from}", list.iter().map(|f| quote_ident(f)).collect::<Vec<_>>().join(", ")))
        }
        "where" => one(format!("SELECT * FROM {from} WHERE {}", sql_expr(rest)?)),
        "eval" => {
            let mut stages = Vec::new();
            let mut cols = columns.to_vec();
            for assignment in split_top(rest, ',') {
                let (name, expr) = assignment
                    .split_once('=')
                    .ok_or_else(|| malformed(format!("eval needs name = expression: {assignment}")))?;
                let name = field(name)?;
                let sql = sql_expr(expr)?;
                let input = if stages.is_empty() { from.clone() } else { "{prev}".to_string() };
                let mut list: Vec<String> = cols
                    .iter()
                    .map(|c| if *c == name { format!("{sql} AS {}", quote_ident(c)) } else { quote_ident(c) })
                    .collect();
                if !cols.contains(&name) {
                    list.push(format!("{sql} AS {}", quote_ident(&name)));
                    cols.push(name);
                }
                stages.push(Stage { sql: format!("SELECT {} FROM {input}", list.join(", ")), ordered: false });
            }
            Ok(stages)
        }
        "stats" => {
            let (aggs_text, by_text) = match find_top(rest, "by") {
                Some(at) => (&rest[..at], Some(&rest[at + 4..])),
                None => (rest, None),
            };
            let aggs = split_top(aggs_text, ',').iter().map(|a| aliased(a)).collect::<AwsResult<Vec<_>>>()?;
            if aggs.is_empty() || aggs.iter().any(|(e, _)| e.is_empty()) {
                return Err(malformed("stats needs an aggregation"));
            }
            let by = by_text
                .map(|b| split_top(b, ',').iter().map(|g| aliased(g)).collect::<AwsResult<Vec<_>>>())
                .transpose()?
                .unwrap_or_default();
            let mut select: Vec<String> = aggs.iter().map(|(e, n)| format!("{e} AS {}", quote_ident(n))).collect();
            select.extend(by.iter().map(|(e, n)| format!("{e} AS {}", quote_ident(n))));
            let mut sql = format!("SELECT {} FROM {from}", select.join(", "));
            if !by.is_empty() {
                let keys: Vec<String> = by.iter().map(|(e, _)| e.clone()).collect();
                sql.push_str(&format!(" GROUP BY {} ORDER BY {}", keys.join(", "), keys.join(", ")));
            }
            sorted(sql)
        }
        "sort" => {
            let mut keys = Vec::new();
            for key in split_top(rest, ',') {
                let (desc, key) = match key.strip_prefix('-') {
                    Some(k) => (true, k.trim()),
                    None => (false, key.strip_prefix('+').unwrap_or(&key).trim()),
                };
                let (key, desc) = match key.rsplit_once(char::is_whitespace) {
                    Some((k, dir)) if dir.eq_ignore_ascii_case("desc") => (k, true),
                    Some((k, dir)) if dir.eq_ignore_ascii_case("asc") => (k, desc),
                    _ => (key, desc),
                };
                let order = if desc { "DESC NULLS LAST" } else { "ASC NULLS FIRST" };
                keys.push(format!("{} {order}", sql_expr(key)?));
            }
            if keys.is_empty() {
                return Err(malformed("sort needs a field"));
            }
            sorted(format!("SELECT * FROM {from} ORDER BY {}", keys.join(", ")))
        }
        "head" => {
            let words: Vec<&str> = rest.split_whitespace().collect();
            let num = |w: &str| w.parse::<u64>().map_err(|_| malformed(format!("head takes a count, not '{w}'")));
            let (n, offset) = match words.as_slice() {
                [] => (10, 0),
                [n] => (num(n)?, 0),
                [n, from_word, m] if from_word.eq_ignore_ascii_case("from") => (num(n)?, num(m)?),
                _ => return Err(malformed("head [N] [from M]")),
            };
            one(format!("SELECT * FROM {from} LIMIT {n} OFFSET {offset}"))
        }
        "dedup" => {
            let mut rest = rest.to_string();
            let keep_empty = option(&mut rest, "keepempty")?.unwrap_or(false);
            if option(&mut rest, "consecutive")? == Some(true) {
                return Err(malformed("dedup consecutive=true is not supported by nuage"));
            }
            let rest = rest.trim();
            let (count, list) = match rest.split_once(char::is_whitespace) {
                Some((n, list)) if n.chars().all(|c| c.is_ascii_digit()) => {
                    (n.parse::<u64>().map_err(|_| malformed("dedup count"))?, list)
                }
                _ => (1, rest),
            };
            if count == 0 {
                return Err(malformed("dedup keeps at least 1 event"));
            }
            let keys: Vec<String> = fields(list)?.iter().map(|f| quote_ident(f)).collect();
            let present = keys.iter().map(|k| format!("{k} IS NOT NULL")).collect::<Vec<_>>().join(" AND ");
            // The earliest events are kept, when the events have times.
            let order = if columns.iter().any(|c| c == "@timestamp") { " ORDER BY \"@timestamp\"" } else { "" };
            let ranked =
                format!("SELECT *, row_number() OVER (PARTITION BY {}{order}) AS __rank FROM {from}", keys.join(", "));
            let kept = if keep_empty {
                format!("__rank <= {count} OR NOT ({present})")
            } else {
                format!("__rank <= {count} AND {present}")
            };
            let cols = columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ");
            one(format!("SELECT {cols} FROM ({ranked}) WHERE {kept}"))
        }
        "rename" => {
            let mut renames = Vec::new();
            for pair in split_top(rest, ',') {
                let at = find_top(&pair, "as").ok_or_else(|| malformed(format!("rename needs 'a as b': {pair}")))?;
                let (old, new) = (field(&pair[..at])?, field(&pair[at + 4..])?);
                if known && !columns.contains(&old) {
                    return Err(malformed(format!("rename: no field {old}")));
                }
                renames.push((old, new));
            }
            let list: Vec<String> = columns
                .iter()
                .map(|c| match renames.iter().find(|(o, _)| o == c) {
                    Some((_, n)) => format!("{} AS {}", quote_ident(c), quote_ident(n)),
                    None => quote_ident(c),
                })
                .collect();
            one(format!("SELECT {} FROM {from}", list.join(", ")))
        }
        w @ ("top" | "rare") => {
            let (count, list) = match rest.split_once(char::is_whitespace) {
                Some((n, list)) if n.chars().all(|c| c.is_ascii_digit()) => {
                    (n.parse::<u64>().map_err(|_| malformed("top count"))?, list)
                }
                _ => (10, rest),
            };
            let (list, by) = match find_top(list, "by") {
                Some(at) => (&list[..at], fields(&list[at + 4..])?),
                None => (list, Vec::new()),
            };
            let keys: Vec<String> = fields(list)?.iter().map(|f| quote_ident(f)).collect();
            let by: Vec<String> = by.iter().map(|f| quote_ident(f)).collect();
            let dir = if w == "top" { "DESC" } else { "ASC" };
            let group: Vec<String> = by.iter().chain(keys.iter()).cloned().collect();
            let partition = if by.is_empty() { String::new() } else { format!("PARTITION BY {} ", by.join(", ")) };
            let tie = keys.iter().map(|k| format!("{k} ASC")).collect::<Vec<_>>().join(", ");
            sorted(format!(
                "SELECT {cols}, \"count\" FROM (SELECT {cols}, count(*) AS \"count\", row_number() OVER ({partition}ORDER BY count(*) {dir}, {tie}) AS __rank FROM {from} GROUP BY {groups}) WHERE __rank <= {count} ORDER BY {order}",
                cols = group.join(", "),
                groups = group.join(", "),
                order = by.iter().map(|b| format!("{b}, ")).collect::<String>() + &format!("\"count\" {dir}, {tie}"),
            ))
        }
        "parse" => {
            let (source, pattern) = rest
                .split_once(char::is_whitespace)
                .ok_or_else(|| malformed("parse <field> '<regular expression>'"))?;
            let source = field(source)?;
            let pattern = match tokens(pattern.trim())?.as_slice() {
                [Tok::Str(p)] => p.clone(),
                _ => return Err(malformed("parse takes its pattern in quotes")),
            };
            let re = regex::Regex::new(&pattern).map_err(|e| malformed(format!("parse pattern: {e}")))?;
            let names: Vec<(usize, String)> =
                re.capture_names().enumerate().filter_map(|(i, n)| n.map(|n| (i, n.to_string()))).collect();
            if names.is_empty() {
                return Err(malformed("parse needs named groups: (?<name>...)"));
            }
            let matched = format!("regexp_match(CAST({} AS VARCHAR), {})", quote_ident(&source), quote_str(&pattern));
            let replace: Vec<(String, String)> =
                names.into_iter().map(|(i, n)| (n, format!("coalesce({matched}[{i}], '')"))).collect();
            one(format!("SELECT {} FROM {from}", all(&replace)))
        }
        "fillnull" => {
            let lower = rest.to_ascii_lowercase();
            let replace: Vec<(String, String)> = if let Some(using) = lower.strip_prefix("using ") {
                let start = rest.len() - using.len();
                split_top(&rest[start..], ',')
                    .iter()
                    .map(|a| {
                        let (f, v) = a.split_once('=').ok_or_else(|| malformed("fillnull using field = value"))?;
                        let f = field(f)?;
                        Ok((f.clone(), format!("coalesce({}, {})", quote_ident(&f), sql_expr(v)?)))
                    })
                    .collect::<AwsResult<_>>()?
            } else if let Some(with) = lower.strip_prefix("with ") {
                let start = rest.len() - with.len();
                let body = &rest[start..];
                let at = find_top(body, "in").ok_or_else(|| malformed("fillnull with v in fields"))?;
                let value = sql_expr(&body[..at])?;
                fields(&body[at + 4..])?
                    .into_iter()
                    .map(|f| {
                        let e = format!("coalesce({}, {value})", quote_ident(&f));
                        (f, e)
                    })
                    .collect()
            } else {
                return Err(malformed("fillnull with <value> in <fields> | fillnull using <field> = <value>"));
            };
            one(format!("SELECT {} FROM {from}", all(&replace)))
        }
        other => Err(malformed(format!("the PPL command '{other}' is not supported by nuage"))),
    }
}

/// Runs the query's commands over the table `EVENTS_TABLE` registered in `ctx`.
pub(crate) async fn run(ctx: &SessionContext, query: &PplQuery) -> AwsResult<Vec<RecordBatch>> {
    let mut prev = EVENTS_TABLE.to_string();
    let mut n = 0;
    for command in &query.commands {
        let columns: Vec<String> = ctx
            .table(prev.as_str())
            .await
            .map_err(crate::sql::malformed)?
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        for stage in stage(command, &prev, Some(&columns))? {
            let sql = stage.sql.replace("{prev}", &quote_ident(&prev));
            let df = ctx.sql(&sql).await.map_err(crate::sql::malformed)?;
            n += 1;
            let name = format!("__stage_{n}");
            if stage.ordered {
                let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
                let batches = df.collect().await.map_err(crate::sql::malformed)?;
                let table =
                    datafusion::datasource::MemTable::try_new(schema, vec![batches]).map_err(crate::sql::malformed)?;
                ctx.register_table(name.as_str(), std::sync::Arc::new(table)).map_err(crate::sql::malformed)?;
            } else {
                ctx.register_table(name.as_str(), df.into_view()).map_err(crate::sql::malformed)?;
            }
            prev = name;
        }
    }
    ctx.table(prev.as_str()).await.map_err(crate::sql::malformed)?.collect().await.map_err(crate::sql::malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_become_sql() {
        assert_eq!(sql_expr(r#"status = 200 and host != "a'b""#).unwrap(), r#""status" = 200 AND "host" != 'a''b'"#);
        assert_eq!(sql_expr("isnull(`a.b`)").unwrap(), r#"("a.b" IS NULL)"#);
        assert_eq!(
            sql_expr("if(x > 1, 'big', 'small')").unwrap(),
            r#"(CASE WHEN "x" > 1 THEN 'big' ELSE 'small' END)"#
        );
        assert_eq!(
            sql_expr("span(@timestamp, 5m)").unwrap(),
            r#"date_bin(INTERVAL '5 minutes', "@timestamp", TIMESTAMP '1970-01-01 00:00:00')"#
        );
        assert!(sql_expr("a = 'open").is_err());
        assert!(sql_expr("5y").is_err());
    }

    #[test]
    fn source_names_log_groups() {
        let q = parse("source = `/aws/app`, other | where a = 1 | head 5").unwrap();
        assert_eq!(q.sources, vec!["/aws/app".to_string(), "other".to_string()]);
        assert_eq!(q.commands.len(), 2);
        assert!(parse("fields a || head").is_err());
    }

    #[test]
    fn stats_names_columns_as_written() {
        let sql = stage("stats count() as n, avg(bytes) by host, span(@timestamp, 1h)", "t", None).unwrap();
        assert!(
            sql[0].sql.starts_with(r#"SELECT count(*) AS "n", avg("bytes") AS "avg(bytes)", "host" AS "host""#),
            "{}",
            sql[0].sql
        );
        assert!(sql[0].sql.contains("GROUP BY") && sql[0].ordered);
        assert!(stage("lookup t a", "t", None).is_err());
    }
}
