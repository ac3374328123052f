//! SQL errors with their SQLSTATE, as Redshift reports them; engine errors are translated here.
use datafusion::error::DataFusionError;
use datafusion::sql::sqlparser::parser::ParserError;
use pgwire::error::{ErrorInfo, PgWireError};

#[derive(Debug, Clone, PartialEq)]
pub struct SqlError {
    pub code: &'static str,
    pub message: String,
    pub detail: Option<String>,
}

pub type SqlResult<T> = Result<T, SqlError>;

impl SqlError {
    pub fn new(code: &'static str, message: impl Into<String>) -> SqlError {
        SqlError { code, message: message.into(), detail: None }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> SqlError {
        self.detail = Some(detail.into());
        self
    }

    pub fn syntax(near: &str) -> SqlError {
        SqlError::new("42601", format!("syntax error at or near \"{near}\""))
    }

    pub fn relation_missing(name: &str) -> SqlError {
        SqlError::new("42P01", format!("relation \"{name}\" does not exist"))
    }

    pub fn column_missing(name: &str) -> SqlError {
        SqlError::new("42703", format!("column \"{name}\" does not exist"))
    }

    pub fn unsupported(what: impl Into<String>) -> SqlError {
        SqlError::new("0A000", what)
    }

    pub fn invalid_parameter(what: impl Into<String>) -> SqlError {
        SqlError::new("22023", what)
    }

    pub fn internal(what: impl std::fmt::Display) -> SqlError {
        SqlError::new("XX000", what.to_string())
    }

    pub fn aborted() -> SqlError {
        SqlError::new("25P02", "current transaction is aborted, commands ignored until end of transaction block")
    }

    pub fn permission(kind: &str, name: &str) -> SqlError {
        SqlError::new("42501", format!("permission denied for {kind} {name}"))
    }
}

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl From<SqlError> for PgWireError {
    fn from(e: SqlError) -> PgWireError {
        let mut info = ErrorInfo::new("ERROR".into(), e.code.into(), e.message);
        info.detail = e.detail;
        PgWireError::UserError(Box::new(info))
    }
}

/// The token a parser error points at: sqlparser says `found: X at Line: 1, Column: 8`.
fn near_token(msg: &str) -> String {
    if let Some(rest) = msg.split("found: ").nth(1) {
        let token = rest.split(" at Line:").next().unwrap_or(rest).trim();
        if token == "EOF" {
            return "end of input".into();
        }
        return token.to_string();
    }
    msg.to_string()
}

impl From<ParserError> for SqlError {
    fn from(e: ParserError) -> SqlError {
        let msg = e.to_string();
        if msg.contains("end of input") || msg.contains("found: EOF") {
            return SqlError::new("42601", "syntax error at end of input");
        }
        SqlError::syntax(&near_token(&msg))
    }
}

/// The name inside the quotes of a DataFusion message: `table 'dev.public.t' not found`.
fn quoted(msg: &str, open: char, close: char) -> Option<String> {
    let start = msg.find(open)? + 1;
    let end = msg[start..].find(close)? + start;
    Some(msg[start..end].to_string())
}

impl From<DataFusionError> for SqlError {
    fn from(e: DataFusionError) -> SqlError {
        let e = e.find_root();
        match &e {
            DataFusionError::SQL(p, _) => return SqlError::from(p.as_ref().clone()),
            DataFusionError::External(inner) => {
                if let Some(s) = inner.downcast_ref::<SqlError>() {
                    return s.clone();
                }
            }
            DataFusionError::ResourcesExhausted(m) => return SqlError::new("53200", m.clone()),
            DataFusionError::SchemaError(se, _) => {
                if let datafusion::common::SchemaError::FieldNotFound { field, .. } = se.as_ref() {
                    return SqlError::column_missing(&field.name);
                }
            }
            _ => {}
        }
        let msg = e.to_string();
        let plain = msg
            .trim_start_matches("Error during planning: ")
            .trim_start_matches("Schema error: ")
            .trim_start_matches("Execution error: ")
            .trim_start_matches("Arrow error: ")
            .trim_start_matches("This feature is not implemented: ")
            .to_string();
        if msg.contains("table '") && msg.contains("' not found") {
            let name = quoted(&msg, '\'', '\'').unwrap_or_default();
            return SqlError::relation_missing(name.rsplit('.').next().unwrap_or(&name));
        }
        if let Some(rest) = msg.split("No field named ").nth(1) {
            let name = rest.split(". ").next().unwrap_or(rest).trim_end_matches('.');
            let col = name.rsplit('.').next().unwrap_or(name).trim_matches(|c| c == '"' || c == '\'');
            return SqlError::column_missing(col);
        }
        if msg.contains("Invalid function") || msg.contains("Unknown function") {
            let name = quoted(&msg, '\'', '\'').unwrap_or_default();
            return SqlError::new("42883", format!("function {name} does not exist"));
        }
        if msg.contains("Divide by zero") || msg.contains("divide by zero") {
            return SqlError::new("22012", "division by zero");
        }
        // Arrow: "Cannot cast string 'abc' to value of Int32 type" → PostgreSQL 8's wording.
        if let Some(rest) = msg.split("Cannot cast string '").nth(1) {
            if let Some((value, target)) = rest.split_once("' to value of ") {
                let kind = match target.trim_end_matches(" type") {
                    "Int16" | "Int32" | "Int64" => Some("integer"),
                    "Float32" | "Float64" => Some("double precision"),
                    "Date32" | "Date64" => Some("date"),
                    "Boolean" => Some("boolean"),
                    t if t.starts_with("Decimal") => Some("numeric"),
                    t if t.starts_with("Timestamp") => Some("timestamp"),
                    _ => None,
                };
                if let Some(kind) = kind {
                    return SqlError::new("22P02", format!("invalid input syntax for {kind}: \"{value}\""));
                }
            }
        }
        if let Some(rest) = msg.split("Error parsing timestamp from '").nth(1) {
            let value = rest.split('\'').next().unwrap_or(rest);
            return SqlError::new("22007", format!("invalid input syntax for timestamp: \"{value}\""));
        }
        if msg.contains("Cannot cast string") || msg.contains("Cannot cast value") || msg.contains("Cast error") {
            return SqlError::new("22P02", format!("invalid input syntax: {plain}"));
        }
        if msg.contains("Overflow") || msg.contains("overflow") || msg.contains("too large to store") {
            return SqlError::new("22003", format!("numeric value out of range: {plain}"));
        }
        if matches!(e, DataFusionError::NotImplemented(_)) {
            return SqlError::unsupported(plain);
        }
        if matches!(e, DataFusionError::Plan(_) | DataFusionError::SchemaError(..)) {
            return SqlError::new("42601", plain);
        }
        SqlError::new("XX000", plain)
    }
}

impl std::error::Error for SqlError {}
