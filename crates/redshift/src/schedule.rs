//! The schedule expressions of Redshift's scheduler, all in UTC: `at(2026-12-24T18:00:00)` (one
//! time), `cron(Minutes Hours Day-of-month Month Day-of-week Year)` (AWS's six fields: weekdays
//! 1–7 from Sunday or SUN–SAT, one of the two day fields `?`) and, for snapshot schedules,
//! `rate(12 hours)`. Each gives its invocations after a moment.
use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Utc};

#[derive(Debug, Clone)]
pub(crate) enum Schedule {
    At(i64),
    Cron {
        cron: Box<croner::Cron>,
        years: Vec<(i32, i32, i32)>,
    },
    /// Every period, counted from the moment the schedule was set.
    Rate(i64),
}

/// Which forms a use of the scheduler admits.
#[derive(Clone, Copy)]
pub(crate) enum Forms {
    /// Scheduled actions: `at` and `cron`.
    Actions,
    /// Snapshot schedules: `rate` and `cron`.
    Snapshots,
}

fn year_field(field: &str) -> Result<Vec<(i32, i32, i32)>, String> {
    let bad = || format!("the year field '{field}' is not valid");
    let mut out = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<i32>().ok().filter(|s| *s > 0).ok_or_else(bad)?),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" => (1970, 2199),
            r => match r.split_once('-') {
                Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
                None => {
                    let y: i32 = r.parse().map_err(|_| bad())?;
                    (y, if part.contains('/') { 2199 } else { y })
                }
            },
        };
        if !(1970..=2199).contains(&from) || !(from..=2199).contains(&to) {
            return Err(bad());
        }
        out.push((from, to, step));
    }
    Ok(out)
}

fn year_matches(years: &[(i32, i32, i32)], y: i32) -> bool {
    years.iter().any(|(from, to, step)| (*from..=*to).contains(&y) && (y - from) % step == 0)
}

fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl Schedule {
    /// Parses an expression; the error says what is wrong with it.
    pub(crate) fn parse(expr: &str, forms: Forms) -> Result<Schedule, String> {
        let expr = expr.trim();
        let inner = |prefix: &str| expr.strip_prefix(prefix).and_then(|r| r.strip_suffix(')')).map(str::trim);
        if let Some(at) = inner("at(") {
            if matches!(forms, Forms::Snapshots) {
                return Err("a snapshot schedule takes rate() or cron() expressions".into());
            }
            let t = NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S")
                .map_err(|_| format!("'{at}' is not a time of the form yyyy-mm-ddThh:mm:ss"))?;
            return Ok(Schedule::At(to_ms(t.and_utc())));
        }
        if let Some(rate) = inner("rate(") {
            if matches!(forms, Forms::Actions) {
                return Err("a scheduled action takes at() or cron() expressions".into());
            }
            let (n, unit) = rate.split_once(' ').ok_or("a rate is a number and a unit, as rate(12 hours)")?;
            let n: i64 = n.trim().parse().map_err(|_| format!("'{n}' is not a whole number"))?;
            let hours = match unit.trim() {
                "hour" | "hours" => n,
                "day" | "days" => n * 24,
                other => return Err(format!("'{other}' is not a unit of a snapshot rate: hours or days")),
            };
            if hours < 1 {
                return Err("snapshots are taken at most once an hour".into());
            }
            return Ok(Schedule::Rate(hours * 3_600_000));
        }
        let Some(cron) = inner("cron(") else {
            return Err(match forms {
                Forms::Actions => "the schedule must be at(...) or cron(...)".into(),
                Forms::Snapshots => "the schedule must be rate(...) or cron(...)".into(),
            });
        };
        let fields: Vec<&str> = cron.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = fields[..] else {
            return Err("a cron expression has six fields: minutes hours day-of-month month day-of-week year".into());
        };
        if (dom == "?") == (dow == "?") {
            return Err("exactly one of day-of-month and day-of-week must be '?'".into());
        }
        let years = year_field(year)?;
        let pattern = format!("{minutes} {hours} {dom} {month} {dow}");
        let cron = croner::Cron::new(&pattern)
            .with_alternative_weekdays()
            .parse()
            .map_err(|e| format!("'{cron}' is not a valid cron expression: {e}"))?;
        Ok(Schedule::Cron { cron: Box::new(cron), years })
    }

    /// The first invocation after `after_ms`; `anchor_ms` is when a rate started counting.
    pub(crate) fn next_after(&self, after_ms: i64, anchor_ms: i64) -> Option<i64> {
        match self {
            Schedule::At(t) => (*t > after_ms).then_some(*t),
            Schedule::Rate(period) => {
                let k = if after_ms < anchor_ms { 1 } else { (after_ms - anchor_ms) / period + 1 };
                Some(anchor_ms + k * period)
            }
            Schedule::Cron { cron, years } => {
                let mut t = from_ms(after_ms);
                // The year field is AWS's own: skip to a year it names, a bounded number of times.
                for _ in 0..300 {
                    let next = cron.find_next_occurrence(&t, false).ok()?;
                    if year_matches(years, next.year()) {
                        return Some(to_ms(next));
                    }
                    let last = years.iter().map(|y| y.1).max()?;
                    if next.year() > last {
                        return None;
                    }
                    t = Utc.with_ymd_and_hms(next.year() + 1, 1, 1, 0, 0, 0).single()? - chrono::Duration::seconds(1);
                }
                None
            }
        }
    }

    /// Up to `n` invocations after `after_ms`, before `until_ms` when given.
    pub(crate) fn upcoming(&self, after_ms: i64, anchor_ms: i64, until_ms: Option<i64>, n: usize) -> Vec<i64> {
        let mut out = Vec::new();
        let mut t = after_ms;
        while out.len() < n {
            match self.next_after(t, anchor_ms) {
                Some(next) if until_ms.is_none_or(|u| next <= u) => {
                    out.push(next);
                    t = next;
                }
                _ => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        to_ms(NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap().and_utc())
    }

    #[test]
    fn cron_with_aws_weekdays_and_years() {
        // 2026-12-07 is a Monday; 1 = Sunday in AWS's weekdays, so 2 = Monday.
        let s = Schedule::parse("cron(30 18 ? * 2 *)", Forms::Actions).unwrap();
        assert_eq!(s.next_after(ms("2026-12-07T12:00:00"), 0), Some(ms("2026-12-07T18:30:00")));
        assert_eq!(s.next_after(ms("2026-12-07T18:30:00"), 0), Some(ms("2026-12-14T18:30:00")));
        let s = Schedule::parse("cron(0 0 1 JAN ? 2028-2030)", Forms::Actions).unwrap();
        assert_eq!(
            s.upcoming(ms("2026-06-01T00:00:00"), 0, None, 5),
            vec![ms("2028-01-01T00:00:00"), ms("2029-01-01T00:00:00"), ms("2030-01-01T00:00:00")]
        );
        assert!(Schedule::parse("cron(0 0 1 * MON *)", Forms::Actions).is_err());
        assert!(Schedule::parse("cron(0 0 * * ? *)", Forms::Actions).is_ok());
        assert!(Schedule::parse("cron(0 0 ? * *)", Forms::Actions).is_err());
        assert!(Schedule::parse("cron(61 0 ? * * *)", Forms::Actions).is_err());
    }

    #[test]
    fn at_and_rate() {
        let at = Schedule::parse("at(2027-01-02T03:04:05)", Forms::Actions).unwrap();
        assert_eq!(at.upcoming(0, 0, None, 3), vec![ms("2027-01-02T03:04:05")]);
        assert!(Schedule::parse("rate(12 hours)", Forms::Actions).is_err());
        let rate = Schedule::parse("rate(12 hours)", Forms::Snapshots).unwrap();
        let h = 3_600_000;
        assert_eq!(rate.upcoming(5 * h, 0, None, 2), vec![12 * h, 24 * h]);
        assert!(Schedule::parse("rate(30 minutes)", Forms::Snapshots).is_err());
        assert!(Schedule::parse("at(2027-01-02T03:04:05)", Forms::Snapshots).is_err());
    }
}
