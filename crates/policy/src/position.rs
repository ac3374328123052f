//! Where each statement of a policy document lies, as the policy simulator reports it.

/// A point in a document: line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// The span of one statement: from just after its opening brace to just after its closing
/// one (the positions AWS's simulator reports for a one-line document).
pub type Span = (Position, Position);

struct Scanner<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    at: Position,
}

impl Scanner<'_> {
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.at = Position { line: self.at.line + 1, column: 1 };
        } else {
            self.at.column += 1;
        }
        Some(c)
    }

    fn peek_past_space(&mut self) -> Option<char> {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.bump();
        }
        self.chars.peek().copied()
    }

    fn expect(&mut self, want: char) -> Option<()> {
        (self.peek_past_space()? == want).then(|| self.bump()).flatten().map(|_| ())
    }

    fn string(&mut self) -> Option<String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(out),
                '\\' => {
                    let escaped = self.bump()?;
                    out.push(escaped);
                }
                c => out.push(c),
            }
        }
    }

    /// Skips the rest of an object or list whose opening bracket was just read.
    fn close(&mut self) -> Option<()> {
        let mut depth = 1usize;
        loop {
            match self.peek_past_space()? {
                '"' => {
                    self.string()?;
                }
                '{' | '[' => {
                    depth += 1;
                    self.bump();
                }
                '}' | ']' => {
                    depth -= 1;
                    self.bump();
                    if depth == 0 {
                        return Some(());
                    }
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// Skips one value of any kind.
    fn value(&mut self) -> Option<()> {
        match self.peek_past_space()? {
            '"' => self.string().map(|_| ()),
            '{' | '[' => {
                self.bump();
                self.close()
            }
            _ => {
                while self.chars.peek().is_some_and(|c| !matches!(c, ',' | '}' | ']') && !c.is_whitespace()) {
                    self.bump();
                }
                Some(())
            }
        }
    }

    /// One statement object: its span.
    fn statement(&mut self) -> Option<Span> {
        if self.peek_past_space()? != '{' {
            self.value()?;
            return None;
        }
        self.bump();
        let start = self.at;
        self.close()?;
        Some((start, self.at))
    }
}

/// The spans of a document's statements, in order; empty when it is not a policy object.
pub fn statement_spans(doc: &str) -> Vec<Span> {
    let mut s = Scanner { chars: doc.chars().peekable(), at: Position { line: 1, column: 1 } };
    let mut out = Vec::new();
    let _ = (|| -> Option<()> {
        s.expect('{')?;
        loop {
            if s.peek_past_space()? == '}' {
                return Some(());
            }
            let key = s.string()?;
            s.expect(':')?;
            if key == "Statement" {
                if s.peek_past_space()? == '[' {
                    s.bump();
                    loop {
                        match s.peek_past_space()? {
                            ']' => {
                                s.bump();
                                break;
                            }
                            ',' => {
                                s.bump();
                            }
                            _ => out.extend(s.statement()),
                        }
                    }
                } else {
                    out.extend(s.statement());
                }
            } else {
                s.value()?;
            }
            if s.peek_past_space()? == ',' {
                s.bump();
            }
        }
    })();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_document_as_the_cli_example_reports_it() {
        // The simulate-custom-policy example of the AWS CLI reference: 1:38 to 1:167.
        let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}"#;
        assert_eq!(statement_spans(doc), vec![(Position { line: 1, column: 38 }, Position { line: 1, column: 167 })]);
    }

    #[test]
    fn statements_in_a_list_over_lines() {
        let doc = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Sid\": \"a}\", \"Effect\": \"Allow\"},\n    {\n      \"Effect\": \"Deny\"\n    }\n  ]\n}";
        assert_eq!(
            statement_spans(doc),
            vec![
                (Position { line: 4, column: 6 }, Position { line: 4, column: 37 }),
                (Position { line: 5, column: 6 }, Position { line: 7, column: 6 }),
            ]
        );
    }
}
