//! Output serialization: records as CSV (QuoteFields ALWAYS / ASNEEDED, the chosen
//! delimiters, quote and escape characters) or as JSON objects.
use crate::value::{json_string, to_text, write_json, Value};

#[derive(Debug, Clone)]
pub struct CsvOutput {
    pub field_delimiter: String,
    pub record_delimiter: String,
    pub quote: char,
    pub quote_escape: char,
    pub always_quote: bool,
}

impl Default for CsvOutput {
    fn default() -> Self {
        CsvOutput {
            field_delimiter: ",".into(),
            record_delimiter: "\n".into(),
            quote: '"',
            quote_escape: '"',
            always_quote: false,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Output {
    Csv(CsvOutput),
    Json { record_delimiter: String },
}

impl Output {
    /// Appends one record of `(name, value)` columns.
    pub fn write<'v>(&self, columns: impl Iterator<Item = (&'v str, &'v Value<'v>)>, out: &mut String) {
        match self {
            Output::Csv(c) => {
                let mut field = String::new();
                for (i, (_, v)) in columns.enumerate() {
                    if i > 0 {
                        out.push_str(&c.field_delimiter);
                    }
                    field.clear();
                    to_text(v, &mut field);
                    c.write_field(&field, out);
                }
                out.push_str(&c.record_delimiter);
            }
            Output::Json { record_delimiter } => {
                out.push('{');
                let mut first = true;
                for (name, v) in columns {
                    if matches!(v, Value::Missing) {
                        continue;
                    }
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    json_string(name, out);
                    out.push(':');
                    write_json(v, out);
                }
                out.push('}');
                out.push_str(record_delimiter);
            }
        }
    }
}

impl CsvOutput {
    fn write_field(&self, s: &str, out: &mut String) {
        let needs = self.always_quote
            || s.contains(self.quote)
            || s.contains(self.field_delimiter.as_str())
            || s.contains(self.record_delimiter.as_str())
            || s.contains(['\n', '\r']);
        if !needs {
            out.push_str(s);
            return;
        }
        out.push(self.quote);
        for ch in s.chars() {
            if ch == self.quote {
                out.push(self.quote_escape);
            }
            out.push(ch);
        }
        out.push(self.quote);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn csv_quoting_and_json_records() {
        let vals =
            [Value::Str(Cow::Borrowed("a,b")), Value::Int(3), Value::Null, Value::Str(Cow::Borrowed("say \"hi\""))];
        let names = ["x", "y", "z", "w"];
        let mut out = String::new();
        Output::Csv(CsvOutput::default()).write(names.iter().copied().zip(vals.iter()), &mut out);
        assert_eq!(out, "\"a,b\",3,,\"say \"\"hi\"\"\"\n");
        out.clear();
        let always = CsvOutput { always_quote: true, quote_escape: '\\', ..Default::default() };
        Output::Csv(always).write(names.iter().copied().zip(vals.iter()), &mut out);
        assert_eq!(out, "\"a,b\",\"3\",\"\",\"say \\\"hi\\\"\"\n");
        out.clear();
        let vals = [Value::Str(Cow::Borrowed("a")), Value::Missing, Value::Null];
        Output::Json { record_delimiter: "\n".into() }.write(names.iter().copied().zip(vals.iter()), &mut out);
        assert_eq!(out, "{\"x\":\"a\",\"z\":null}\n");
    }
}
