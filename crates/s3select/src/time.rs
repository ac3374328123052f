//! S3 Select's timestamps: ISO 8601 text of any precision from the year (`2007T`) to the
//! fraction of a second, kept with that precision; TO_STRING's format patterns; the date parts
//! EXTRACT, DATE_ADD and DATE_DIFF work on.
use crate::error::{err, Result};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Year,
    Month,
    Day,
    Minute,
    Second,
    /// Digits of the fraction of a second.
    Fraction(u8),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ts {
    pub at: OffsetDateTime,
    pub precision: Precision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    TimezoneHour,
    TimezoneMinute,
}

impl DatePart {
    pub fn parse(s: &str) -> Option<DatePart> {
        Some(match s.to_ascii_lowercase().as_str() {
            "year" => DatePart::Year,
            "month" => DatePart::Month,
            "day" => DatePart::Day,
            "hour" => DatePart::Hour,
            "minute" => DatePart::Minute,
            "second" => DatePart::Second,
            "timezone_hour" => DatePart::TimezoneHour,
            "timezone_minute" => DatePart::TimezoneMinute,
            _ => return None,
        })
    }
}

fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    if s.len() < n || !s.as_bytes()[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

fn offset(s: &str) -> Option<UtcOffset> {
    if s == "Z" || s == "z" {
        return Some(UtcOffset::UTC);
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, rest) = digits(&s[1..], 2)?;
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    let (m, rest) = if rest.is_empty() { (0, rest) } else { digits(rest, 2)? };
    if !rest.is_empty() {
        return None;
    }
    UtcOffset::from_hms(sign * h as i8, sign * m as i8, 0).ok()
}

impl Ts {
    pub fn instant(&self) -> OffsetDateTime {
        self.at
    }

    pub fn now() -> Ts {
        let now = OffsetDateTime::now_utc();
        Ts {
            at: now.replace_nanosecond(now.millisecond() as u32 * 1_000_000).unwrap_or(now),
            precision: Precision::Fraction(3),
        }
    }

    /// Parses the ISO 8601 forms S3 Select reads: `2007T`, `2007-02T`, `2007-02-23` (or with a
    /// `T`), `2007-02-23T12:14Z`, `2007-02-23T12:14:33Z`, `2007-02-23T12:14:33.079-08:00`.
    pub fn parse(s: &str) -> Option<Ts> {
        let s = s.trim();
        let (year, rest) = digits(s, 4)?;
        let utc = |d: Date, p: Precision| {
            Some(Ts { at: PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc(), precision: p })
        };
        if rest == "T" || rest == "t" {
            return utc(Date::from_calendar_date(year as i32, Month::January, 1).ok()?, Precision::Year);
        }
        let (month, rest) = digits(rest.strip_prefix('-')?, 2)?;
        let month = Month::try_from(month as u8).ok()?;
        if rest == "T" || rest == "t" {
            return utc(Date::from_calendar_date(year as i32, month, 1).ok()?, Precision::Month);
        }
        let (day, rest) = digits(rest.strip_prefix('-')?, 2)?;
        let date = Date::from_calendar_date(year as i32, month, day as u8).ok()?;
        if rest.is_empty() || rest == "T" || rest == "t" {
            return utc(date, Precision::Day);
        }
        let rest = rest.strip_prefix(['T', 't'])?;
        let (hour, rest) = digits(rest, 2)?;
        let (minute, rest) = digits(rest.strip_prefix(':')?, 2)?;
        let (second, nanos, precision, rest) = match rest.strip_prefix(':') {
            None => (0, 0, Precision::Minute, rest),
            Some(r) => {
                let (sec, r) = digits(r, 2)?;
                match r.strip_prefix('.') {
                    None => (sec, 0, Precision::Second, r),
                    Some(f) => {
                        let n = f.bytes().take_while(u8::is_ascii_digit).count();
                        if n == 0 || n > 9 {
                            return None;
                        }
                        let frac: u32 = f[..n].parse().ok()?;
                        (sec, frac * 10u32.pow(9 - n as u32), Precision::Fraction(n as u8), &f[n..])
                    }
                }
            }
        };
        let time = Time::from_hms_nano(hour as u8, minute as u8, second as u8, nanos).ok()?;
        Some(Ts { at: PrimitiveDateTime::new(date, time).assume_offset(offset(rest)?), precision })
    }

    /// ISO 8601 text at the timestamp's own precision.
    pub fn format_iso(&self, out: &mut String) {
        use std::fmt::Write;
        let a = self.at;
        let _ = write!(out, "{:04}", a.year());
        if self.precision == Precision::Year {
            out.push('T');
            return;
        }
        let _ = write!(out, "-{:02}", a.month() as u8);
        if self.precision == Precision::Month {
            out.push('T');
            return;
        }
        let _ = write!(out, "-{:02}", a.day());
        if self.precision == Precision::Day {
            out.push('T');
            return;
        }
        let _ = write!(out, "T{:02}:{:02}", a.hour(), a.minute());
        match self.precision {
            Precision::Second => {
                let _ = write!(out, ":{:02}", a.second());
            }
            Precision::Fraction(n) => {
                let frac = a.nanosecond() / 10u32.pow(9 - n as u32);
                let _ = write!(out, ":{:02}.{:0width$}", a.second(), frac, width = n as usize);
            }
            _ => {}
        }
        let off = a.offset();
        if off.is_utc() {
            out.push('Z');
        } else {
            let (h, m, _) = off.as_hms();
            let sign = if off.is_negative() { '-' } else { '+' };
            let _ = write!(out, "{sign}{:02}:{:02}", h.abs(), m.abs());
        }
    }

    pub fn extract(&self, part: DatePart) -> i64 {
        let a = self.at;
        match part {
            DatePart::Year => a.year() as i64,
            DatePart::Month => a.month() as i64,
            DatePart::Day => a.day() as i64,
            DatePart::Hour => a.hour() as i64,
            DatePart::Minute => a.minute() as i64,
            DatePart::Second => a.second() as i64,
            DatePart::TimezoneHour => a.offset().whole_hours() as i64,
            DatePart::TimezoneMinute => a.offset().minutes_past_hour() as i64,
        }
    }

    /// DATE_ADD: months and years keep the day of the month where it exists (else the month's
    /// last day); the result is at least as precise as the part added.
    pub fn add(&self, part: DatePart, n: i64) -> Result<Ts> {
        let overflow = || crate::error::SelectError::new("IntegerOverflow", "DATE_ADD overflows the timestamp range.");
        let a = self.at;
        let at = match part {
            DatePart::Year | DatePart::Month => {
                let months = if part == DatePart::Year { n.checked_mul(12).ok_or_else(overflow)? } else { n };
                let total = a.year() as i64 * 12 + (a.month() as i64 - 1) + months;
                let (y, m) = (total.div_euclid(12), total.rem_euclid(12) + 1);
                let y = i32::try_from(y).map_err(|_| overflow())?;
                let month = Month::try_from(m as u8).map_err(|_| overflow())?;
                let day = a.day().min(month.length(y));
                let date = Date::from_calendar_date(y, month, day).map_err(|_| overflow())?;
                a.replace_date(date)
            }
            DatePart::Day => a.checked_add(Duration::days(n)).ok_or_else(overflow)?,
            DatePart::Hour => a.checked_add(Duration::hours(n)).ok_or_else(overflow)?,
            DatePart::Minute => a.checked_add(Duration::minutes(n)).ok_or_else(overflow)?,
            DatePart::Second => a.checked_add(Duration::seconds(n)).ok_or_else(overflow)?,
            _ => return err("InvalidDataType", "DATE_ADD takes year, month, day, hour, minute or second."),
        };
        let needed = match part {
            DatePart::Year => Precision::Year,
            DatePart::Month => Precision::Month,
            DatePart::Day => Precision::Day,
            DatePart::Hour | DatePart::Minute => Precision::Minute,
            _ => Precision::Second,
        };
        Ok(Ts { at, precision: finer(self.precision, needed) })
    }

    /// DATE_DIFF: whole parts elapsed from `self` to `other` (negative when `other` is earlier).
    pub fn diff(&self, part: DatePart, other: &Ts) -> Result<i64> {
        let (a, b) = (self.at, other.at.to_offset(self.at.offset()));
        Ok(match part {
            DatePart::Year | DatePart::Month => {
                let mut months = (b.year() as i64 - a.year() as i64) * 12 + (b.month() as i64 - a.month() as i64);
                let rest = |t: OffsetDateTime| (t.day(), t.time());
                if months > 0 && rest(b) < rest(a) {
                    months -= 1;
                } else if months < 0 && rest(b) > rest(a) {
                    months += 1;
                }
                if part == DatePart::Year {
                    months / 12
                } else {
                    months
                }
            }
            DatePart::Day => (b - a).whole_days(),
            DatePart::Hour => (b - a).whole_hours(),
            DatePart::Minute => (b - a).whole_minutes(),
            DatePart::Second => (b - a).whole_seconds(),
            _ => return err("InvalidDataType", "DATE_DIFF takes year, month, day, hour, minute or second."),
        })
    }

    /// TO_STRING's format pattern (the Java DateTimeFormatter letters S3 Select documents).
    pub fn format_pattern(&self, pattern: &str) -> Result<String> {
        use std::fmt::Write;
        let a = self.at;
        let mut out = String::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                let mut j = i + 1;
                if j < chars.len() && chars[j] == '\'' {
                    out.push('\'');
                    i += 2;
                    continue;
                }
                while j < chars.len() && chars[j] != '\'' {
                    out.push(chars[j]);
                    j += 1;
                }
                if j == chars.len() {
                    return err(
                        "EvaluatorUnterminatedTimestampFormatPatternToken",
                        "The timestamp format pattern contains an unterminated token.",
                    );
                }
                i = j + 1;
                continue;
            }
            if !c.is_ascii_alphabetic() {
                out.push(c);
                i += 1;
                continue;
            }
            let mut n = 1;
            while i + n < chars.len() && chars[i + n] == c {
                n += 1;
            }
            i += n;
            let off = a.offset();
            let (oh, om, _) = off.as_hms();
            let sign = if off.is_negative() { '-' } else { '+' };
            // The time crate names months in English, as Java's formatter does.
            let month_name = a.month().to_string();
            let _ = match c {
                'y' if n == 2 => write!(out, "{:02}", a.year().rem_euclid(100)),
                'y' => write!(out, "{:0n$}", a.year()),
                'M' if n == 3 => write!(out, "{}", &month_name[..3]),
                'M' if n == 4 => write!(out, "{month_name}"),
                'M' if n == 5 => write!(out, "{}", &month_name[..1]),
                'M' => write!(out, "{:0n$}", a.month() as u8),
                'd' => write!(out, "{:0n$}", a.day()),
                'a' => write!(out, "{}", if a.hour() < 12 { "AM" } else { "PM" }),
                'h' => write!(out, "{:0n$}", if a.hour().is_multiple_of(12) { 12 } else { a.hour() % 12 }),
                'H' => write!(out, "{:0n$}", a.hour()),
                'm' => write!(out, "{:0n$}", a.minute()),
                's' => write!(out, "{:0n$}", a.second()),
                'S' => {
                    let nanos = format!("{:09}", a.nanosecond());
                    write!(out, "{}", &nanos[..n.min(9)])
                }
                'n' => write!(out, "{}", a.nanosecond()),
                'X' | 'x' if c == 'X' && off.is_utc() => write!(out, "Z"),
                'X' | 'x' => match n {
                    1 if om == 0 => write!(out, "{sign}{:02}", oh.abs()),
                    1 | 2 | 4 => write!(out, "{sign}{:02}{:02}", oh.abs(), om.abs()),
                    _ => write!(out, "{sign}{:02}:{:02}", oh.abs(), om.abs()),
                },
                _ => {
                    return err(
                        "EvaluatorInvalidTimestampFormatPatternSymbol",
                        format!("The timestamp format pattern contains the symbol '{c}' that is not valid."),
                    )
                }
            };
        }
        Ok(out)
    }
}

fn finer(a: Precision, b: Precision) -> Precision {
    let rank = |p: Precision| match p {
        Precision::Year => 0,
        Precision::Month => 1,
        Precision::Day => 2,
        Precision::Minute => 3,
        Precision::Second => 4,
        Precision::Fraction(n) => 5 + n as i32,
    };
    if rank(a) >= rank(b) {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> String {
        let mut out = String::new();
        Ts::parse(s).unwrap().format_iso(&mut out);
        out
    }

    #[test]
    fn parses_and_prints_every_precision() {
        for s in [
            "2007T",
            "2007-02T",
            "2007-02-23T",
            "2007-02-23T12:14Z",
            "2007-02-23T12:14:33Z",
            "2007-02-23T12:14:33.079-08:00",
        ] {
            assert_eq!(iso(s), s);
        }
        assert_eq!(iso("2007-02-23"), "2007-02-23T");
        assert!(Ts::parse("2007-02-30T").is_none());
        assert!(Ts::parse("20070223T121433Z").is_none());
    }

    #[test]
    fn to_string_patterns_from_the_documentation() {
        let t = Ts::parse("2007-02-23T12:14:33.079-08:00").unwrap();
        assert_eq!(t.format_pattern("MMMM d, y").unwrap(), "February 23, 2007");
        assert_eq!(t.format_pattern("MMM d, yyyy").unwrap(), "Feb 23, 2007");
        assert_eq!(t.format_pattern("M-d-yy").unwrap(), "2-23-07");
        assert_eq!(t.format_pattern("MMMM d, y h:m a").unwrap(), "February 23, 2007 12:14 PM");
        assert_eq!(t.format_pattern("y-MM-dd'T'H:m:ssX").unwrap(), "2007-02-23T12:14:33-08");
        assert_eq!(t.format_pattern("y-MM-dd'T'H:m:ssXXXX").unwrap(), "2007-02-23T12:14:33-0800");
        assert_eq!(t.format_pattern("y-MM-dd'T'H:m:ssXXX").unwrap(), "2007-02-23T12:14:33-08:00");
    }

    #[test]
    fn date_arithmetic_from_the_documentation() {
        let p = |s| Ts::parse(s).unwrap();
        let mut s = String::new();
        p("2007-01-31T").add(DatePart::Month, 1).unwrap().format_iso(&mut s);
        assert_eq!(s, "2007-02-28T");
        assert_eq!(p("2010-01-01T").diff(DatePart::Year, &p("2011-01-01T")).unwrap(), 1);
        assert_eq!(p("2010T").diff(DatePart::Month, &p("2010-05T")).unwrap(), 4);
        assert_eq!(p("2010-01-01T23:00Z").diff(DatePart::Day, &p("2010-01-02T01:00Z")).unwrap(), 0);
        assert_eq!(p("2007-02-23T12:14:33.079-08:00").extract(DatePart::TimezoneHour), -8);
    }
}
