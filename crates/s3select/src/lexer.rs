//! Tokens of S3 Select's SQL: identifiers (double quotes make them case-sensitive), string
//! literals in single quotes, numbers, Ion timestamps in backticks, operators.
use crate::error::{err, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Quoted(String),
    Str(String),
    Int(i64),
    Float(f64),
    Ion(String),
    Sym(&'static str),
    End,
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Quoted(s) => format!("\"{s}\""),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Int(i) => i.to_string(),
            Tok::Float(f) => f.to_string(),
            Tok::Ion(s) => format!("`{s}`"),
            Tok::Sym(s) => s.to_string(),
            Tok::End => "end of expression".into(),
        }
    }
}

const SYMBOLS: [&str; 19] =
    ["<>", "!=", "<=", ">=", "||", "(", ")", "[", "]", ",", ".", "*", "+", "-", "/", "%", "=", "<", ">"];

/// Tokens with the character offset each starts at.
pub fn lex(src: &str) -> Result<Vec<(Tok, usize)>> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() || c == b';' {
            i += 1;
            continue;
        }
        let start = i;
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'\'' || c == b'"' || c == b'`' {
            let mut s = String::new();
            i += 1;
            loop {
                let Some(ch) = src[i..].chars().next() else {
                    return err(
                        "LexerInvalidLiteral",
                        format!("Unterminated literal starting at position {}.", start + 1),
                    );
                };
                i += ch.len_utf8();
                if ch as u32 == c as u32 {
                    // A doubled quote stands for itself.
                    if c != b'`' && b.get(i) == Some(&c) {
                        s.push(ch);
                        i += 1;
                        continue;
                    }
                    break;
                }
                s.push(ch);
            }
            out.push((
                match c {
                    b'\'' => Tok::Str(s),
                    b'"' => Tok::Quoted(s),
                    _ => Tok::Ion(s),
                },
                start,
            ));
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let mut float = false;
            if i < b.len()
                && b[i] == b'.'
                && b.get(i + 1).is_none_or(|n| !n.is_ascii_alphabetic() || *n == b'e' || *n == b'E')
            {
                float = true;
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                let mut j = i + 1;
                if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    float = true;
                    i = j;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text = &src[start..i];
            let tok = if float {
                Tok::Float(text.parse().map_err(|_| {
                    crate::error::SelectError::new("LexerInvalidLiteral", format!("Invalid number {text}."))
                })?)
            } else {
                match text.parse::<i64>() {
                    Ok(v) => Tok::Int(v),
                    Err(_) => return err("IntegerOverflow", format!("The integer literal {text} is out of range.")),
                }
            };
            out.push((tok, start));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                i += 1;
            }
            out.push((Tok::Ident(src[start..i].to_string()), start));
            continue;
        }
        match SYMBOLS.iter().find(|s| src[i..].starts_with(**s)) {
            Some(s) => {
                out.push((Tok::Sym(s), start));
                i += s.len();
            }
            None => {
                let ch = src[i..].chars().next().unwrap_or(' ');
                return err(
                    "LexerInvalidChar",
                    format!(
                        "The SQL expression contains the character '{ch}' that is not valid at position {}.",
                        start + 1
                    ),
                );
            }
        }
    }
    out.push((Tok::End, src.len()));
    Ok(out)
}
