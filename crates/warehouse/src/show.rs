//! Redshift's SHOW commands (SHOW DATABASES, SCHEMAS, TABLES, COLUMNS; SHOW TABLE and SHOW
//! VIEW for an object's DDL), answered as queries over the catalog relations with the
//! columns Redshift returns.
use crate::error::{SqlError, SqlResult};
use datafusion::sql::sqlparser::dialect::RedshiftSqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// The query a SHOW statement stands for; None when `sql` is no SHOW this module knows
/// (`SHOW search_path` and the like are settings).
pub fn as_query(sql: &str) -> Option<SqlResult<String>> {
    let tokens: Vec<Token> = Tokenizer::new(&RedshiftSqlDialect {}, sql)
        .tokenize()
        .ok()?
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_) | Token::SemiColon))
        .collect();
    let word = |i: usize| match tokens.get(i) {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    };
    if word(0).as_deref() != Some("SHOW") {
        return None;
    }
    let kind = word(1)?;
    let (from_word, parts) = match kind.as_str() {
        "DATABASES" => (None, 0),
        "SCHEMAS" => (Some("DATABASE"), 1),
        "TABLES" => (Some("SCHEMA"), 2),
        "COLUMNS" => (Some("TABLE"), 3),
        "TABLE" | "VIEW" => (None, 0),
        _ => return None,
    };
    let mut r = Reader { tokens: &tokens[2..], at: 0 };
    Some((|| {
        if kind == "TABLE" || kind == "VIEW" {
            let name = r.name()?;
            r.end()?;
            let (schema, object) = match name.as_slice() {
                [o] => ("public".to_string(), o.clone()),
                [s, o] => (s.clone(), o.clone()),
                _ => return Err(SqlError::syntax(&name.join("."))),
            };
            return Ok(format!(
                "SELECT show_ddl({}, {}, {}) AS \"Show {} DDL statement\"",
                literal(&kind),
                literal(&schema),
                literal(&object),
                kind.to_ascii_lowercase()
            ));
        }
        let mut name = Vec::new();
        if let Some(w) = from_word {
            r.keyword("FROM")?;
            r.keyword(w)?;
            name = r.name()?;
            if name.len() != parts {
                return Err(SqlError::syntax(&name.join(".")));
            }
        }
        let pattern = if r.peek_keyword("LIKE") {
            r.at += 1;
            Some(r.string()?)
        } else {
            None
        };
        let limit = if r.peek_keyword("LIMIT") {
            r.at += 1;
            Some(r.number()?)
        } else {
            None
        };
        r.end()?;
        let (select, filter, pattern_column) = match kind.as_str() {
            "DATABASES" => (
                "SELECT datname AS database_name, datdba AS database_owner, 'local' AS database_type, \
                 CAST(NULL AS VARCHAR) AS database_acl, CAST(NULL AS VARCHAR) AS parameters, \
                 'Serializable' AS database_isolation_level FROM pg_catalog.pg_database WHERE datname = current_database()"
                    .to_string(),
                String::new(),
                "datname",
            ),
            "SCHEMAS" => (
                "SELECT current_database() AS database_name, nspname AS schema_name, nspowner AS schema_owner, \
                 'local' AS schema_type, nspacl AS schema_acl, CAST(NULL AS VARCHAR) AS source_database, \
                 CAST(NULL AS VARCHAR) AS schema_option FROM pg_catalog.pg_namespace WHERE nspname NOT LIKE 'pg\\_%'"
                    .to_string(),
                format!(" AND current_database() = {}", literal(&name[0])),
                "nspname",
            ),
            "TABLES" => (
                "SELECT table_catalog AS database_name, table_schema AS schema_name, table_name, \
                 CASE table_type WHEN 'BASE TABLE' THEN 'TABLE' ELSE table_type END AS table_type, \
                 CAST(NULL AS VARCHAR) AS table_acl, remarks FROM svv_tables WHERE true"
                    .to_string(),
                format!(" AND table_catalog = {} AND table_schema = {}", literal(&name[0]), literal(&name[1])),
                "table_name",
            ),
            _ => (
                "SELECT table_catalog AS database_name, table_schema AS schema_name, table_name, column_name, \
                 ordinal_position, column_default, is_nullable, data_type, character_maximum_length, \
                 numeric_precision, remarks FROM svv_columns WHERE true"
                    .to_string(),
                format!(
                    " AND table_catalog = {} AND table_schema = {} AND table_name = {}",
                    literal(&name[0]),
                    literal(&name[1]),
                    literal(&name[2])
                ),
                "column_name",
            ),
        };
        let mut q = select + &filter;
        if let Some(p) = pattern {
            q.push_str(&format!(" AND {pattern_column} LIKE {}", literal(&p)));
        }
        let order = match kind.as_str() {
            "COLUMNS" => "ordinal_position",
            "DATABASES" => "1",
            _ => "2, 3",
        };
        q.push_str(&format!(" ORDER BY {order}"));
        if let Some(n) = limit {
            q.push_str(&format!(" LIMIT {n}"));
        }
        Ok(q)
    })())
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

struct Reader<'a> {
    tokens: &'a [Token],
    at: usize,
}

impl Reader<'_> {
    fn near(&self) -> SqlError {
        match self.tokens.get(self.at) {
            Some(t) => SqlError::syntax(&t.to_string()),
            None => SqlError::new("42601", "syntax error at end of input"),
        }
    }

    fn peek_keyword(&self, k: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k))
    }

    fn keyword(&mut self, k: &str) -> SqlResult<()> {
        if !self.peek_keyword(k) {
            return Err(self.near());
        }
        self.at += 1;
        Ok(())
    }

    /// A dotted name, each part folded unless quoted.
    fn name(&mut self) -> SqlResult<Vec<String>> {
        let mut parts = Vec::new();
        loop {
            match self.tokens.get(self.at) {
                Some(Token::Word(w)) => {
                    parts.push(if w.quote_style.is_some() { w.value.clone() } else { w.value.to_ascii_lowercase() });
                    self.at += 1;
                }
                _ => return Err(self.near()),
            }
            if matches!(self.tokens.get(self.at), Some(Token::Period)) {
                self.at += 1;
            } else {
                return Ok(parts);
            }
        }
    }

    fn string(&mut self) -> SqlResult<String> {
        match self.tokens.get(self.at) {
            Some(Token::SingleQuotedString(s)) => {
                self.at += 1;
                Ok(s.clone())
            }
            _ => Err(self.near()),
        }
    }

    fn number(&mut self) -> SqlResult<u64> {
        match self.tokens.get(self.at) {
            Some(Token::Number(n, _)) => {
                self.at += 1;
                n.parse().map_err(|_| SqlError::syntax(n))
            }
            _ => Err(self.near()),
        }
    }

    fn end(&self) -> SqlResult<()> {
        if self.at < self.tokens.len() {
            return Err(self.near());
        }
        Ok(())
    }
}

/// A name as DDL prints it: quoted only when it has to be.
fn quote_ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        crate::dialect::quote_ident(name)
    }
}

/// `CREATE TABLE` (or `CREATE VIEW`) text of an object, as SHOW TABLE / SHOW VIEW print it.
pub fn ddl(st: &crate::state::DbState, kind: &str, schema: &str, name: &str) -> Option<String> {
    let s = st.catalog.schemas.get(schema)?;
    if kind.eq_ignore_ascii_case("VIEW") {
        let v = s.views.get(name)?;
        return Some(format!("CREATE OR REPLACE VIEW {}.{} AS {};", quote_ident(schema), quote_ident(name), v.sql));
    }
    let t = s.tables.get(name)?;
    let columns: Vec<String> = t
        .columns
        .iter()
        .map(|c| {
            let mut line = format!("\t{} {}", quote_ident(&c.name), c.ty.pg_name());
            if let Some((seed, step)) = c.identity {
                line.push_str(&format!(" identity({seed}, {step})"));
            }
            if let Some(d) = &c.default {
                line.push_str(&format!(" DEFAULT {d}"));
            }
            if !c.nullable {
                line.push_str(" NOT NULL");
            }
            line.push_str(&format!(" ENCODE {}", c.encode.clone().unwrap_or_else(|| "raw".into()).to_lowercase()));
            line
        })
        .collect();
    let mut out = format!("CREATE TABLE {}.{} (\n{}", quote_ident(schema), quote_ident(name), columns.join(",\n"));
    if !t.primary_key.is_empty() {
        out.push_str(&format!(",\n\tPRIMARY KEY ({})", t.primary_key.join(", ")));
    }
    out.push_str("\n)\n");
    match (t.diststyle.as_str(), &t.distkey) {
        ("KEY", Some(k)) => out.push_str(&format!("DISTSTYLE KEY\nDISTKEY ({})", quote_ident(k))),
        (style, _) => out.push_str(&format!("DISTSTYLE {style}")),
    }
    if !t.sortkey.is_empty() {
        let kind = t.sortkey_kind.clone().unwrap_or_else(|| "COMPOUND".into());
        let keys: Vec<String> = t.sortkey.iter().map(|k| quote_ident(k)).collect();
        out.push_str(&format!("\n{kind} SORTKEY ( {} )", keys.join(", ")));
    }
    out.push(';');
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_show_commands() {
        let q = super::as_query("show tables from schema dev.public like 'sa%' limit 5").unwrap().unwrap();
        assert!(q.contains("table_schema = 'public'") && q.contains("LIKE 'sa%'") && q.ends_with("LIMIT 5"), "{q}");
        assert!(super::as_query("show search_path").is_none());
        assert!(super::as_query("show columns from table dev.t").unwrap().is_err());
    }
}
