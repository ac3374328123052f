//! Redshift's date and time functions DataFusion lacks: NEXT_DAY, DATE_PART_YEAR, the
//! comparison family (DATE_CMP, DATE_CMP_TIMESTAMP, TIMESTAMP_CMP, TIMESTAMPTZ_CMP_DATE, ...,
//! INTERVAL_CMP), TIMEOFDAY, AGE, ISFINITE, LOCALTIMESTAMP, and an interval scaled by a number
//! (`n * interval '1 second'`, the usual epoch conversion).
use super::row::{micros, sql_error, text, ts, Arg, RowFunction, FLOAT, TEXT};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Weekday};
use datafusion::arrow::datatypes::{DataType, IntervalMonthDayNano, IntervalUnit, TimeUnit};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Volatility;
use datafusion::prelude::SessionContext;

fn interval_type() -> DataType {
    DataType::Interval(IntervalUnit::MonthDayNano)
}

fn naive(us: i64) -> Result<NaiveDateTime> {
    DateTime::from_timestamp_micros(us)
        .map(|d| d.naive_utc())
        .ok_or_else(|| sql_error("22008", format!("timestamp out of range: {us}")))
}

fn date_value(d: NaiveDate) -> ScalarValue {
    ScalarValue::Date32(Some((d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32))
}

/// Day names as NEXT_DAY reads them: the full name or an abbreviation Redshift lists.
fn weekday(name: &str) -> Option<Weekday> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "sunday" | "su" | "sun" => Weekday::Sun,
        "monday" | "m" | "mo" | "mon" => Weekday::Mon,
        "tuesday" | "tu" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "w" | "we" | "wed" => Weekday::Wed,
        "thursday" | "th" | "thu" | "thur" | "thurs" => Weekday::Thu,
        "friday" | "f" | "fr" | "fri" => Weekday::Fri,
        "saturday" | "sa" | "sat" => Weekday::Sat,
        _ => return None,
    })
}

fn next_day(args: &[ScalarValue]) -> Result<ScalarValue> {
    let d = naive(micros(&args[0]).unwrap_or_default())?.date();
    let name = text(&args[1]).unwrap_or_default();
    let want =
        weekday(name).ok_or_else(|| sql_error("22007", format!("invalid input syntax for day of week: \"{name}\"")))?;
    let ahead = (want.num_days_from_monday() as i64 - d.weekday().num_days_from_monday() as i64).rem_euclid(7);
    Ok(date_value(d + Duration::days(if ahead == 0 { 7 } else { ahead })))
}

/// An interval's position on PostgreSQL's line: a month is 30 days, a day 24 hours.
fn interval_nanos(v: &ScalarValue) -> Option<i128> {
    match v {
        ScalarValue::IntervalMonthDayNano(Some(i)) => {
            Some((i128::from(i.months) * 30 + i128::from(i.days)) * 86_400_000_000_000 + i128::from(i.nanoseconds))
        }
        _ => None,
    }
}

fn compare<T: Ord>(a: Option<T>, b: Option<T>) -> ScalarValue {
    ScalarValue::Int32(a.zip(b).map(|(a, b)| a.cmp(&b) as i32))
}

fn days_in_month(year: i32, month: u32) -> i64 {
    let first = NaiveDate::from_ymd_opt(year, month, 1).expect("valid month");
    let next =
        if month == 12 { NaiveDate::from_ymd_opt(year + 1, 1, 1) } else { NaiveDate::from_ymd_opt(year, month + 1, 1) };
    (next.expect("valid month") - first).num_days()
}

/// AGE(a, b): a - b in years, months and days as PostgreSQL counts them (field by field,
/// borrowing from the earlier timestamp's month), negated when a is the earlier.
fn age(a: NaiveDateTime, b: NaiveDateTime) -> IntervalMonthDayNano {
    let (late, early, sign) = if a >= b { (a, b, 1) } else { (b, a, -1) };
    let mut us = i64::from(late.nanosecond() / 1000) - i64::from(early.nanosecond() / 1000);
    let mut sec = i64::from(late.second()) - i64::from(early.second());
    let mut min = i64::from(late.minute()) - i64::from(early.minute());
    let mut hour = i64::from(late.hour()) - i64::from(early.hour());
    let mut day = i64::from(late.day()) - i64::from(early.day());
    let mut month = i64::from(late.month()) - i64::from(early.month());
    let mut year = i64::from(late.year()) - i64::from(early.year());
    if us < 0 {
        us += 1_000_000;
        sec -= 1;
    }
    if sec < 0 {
        sec += 60;
        min -= 1;
    }
    if min < 0 {
        min += 60;
        hour -= 1;
    }
    if hour < 0 {
        hour += 24;
        day -= 1;
    }
    if day < 0 {
        day += days_in_month(early.year(), early.month());
        month -= 1;
    }
    if month < 0 {
        month += 12;
        year -= 1;
    }
    let nanos = ((hour * 3600 + min * 60 + sec) * 1_000_000 + us) * 1000;
    IntervalMonthDayNano::new(sign * (year * 12 + month) as i32, sign * day as i32, i64::from(sign) * nanos)
}

fn today_midnight() -> NaiveDateTime {
    chrono::Utc::now().date_naive().and_hms_opt(0, 0, 0).expect("midnight")
}

/// `interval * factor` as PostgreSQL computes it: fractions of months become days (of 30),
/// fractions of days become time.
fn scale_interval(i: IntervalMonthDayNano, factor: f64) -> Result<IntervalMonthDayNano> {
    let months = f64::from(i.months) * factor;
    let whole_months = months.trunc();
    let days = f64::from(i.days) * factor + (months - whole_months) * 30.0;
    let whole_days = days.trunc();
    let nanos = i.nanoseconds as f64 * factor + (days - whole_days) * 86_400e9;
    if !(whole_months.abs() < f64::from(i32::MAX) && whole_days.abs() < f64::from(i32::MAX) && nanos.abs() < 9.2e18) {
        return Err(sql_error("22008", "interval out of range"));
    }
    Ok(IntervalMonthDayNano::new(whole_months as i32, whole_days as i32, nanos.round() as i64))
}

pub fn register(ctx: &SessionContext) {
    let interval = || Arg::Is(interval_type());
    let date = || Arg::Is(DataType::Date32);
    let ts_cmp = |a: &[ScalarValue]| Ok(compare(micros(&a[0]), micros(&a[1])));
    let mut functions = vec![
        RowFunction::new("next_day", vec![vec![ts(), TEXT]], DataType::Date32, next_day),
        RowFunction::new("date_part_year", vec![vec![date()]], DataType::Int32, |a| {
            let ScalarValue::Date32(Some(d)) = a[0] else { return Ok(ScalarValue::Int32(None)) };
            Ok(ScalarValue::Int32(Some(naive(i64::from(d) * 86_400_000_000)?.year())))
        }),
        RowFunction::new("date_cmp", vec![vec![date(), date()]], DataType::Int32, |a| {
            let day = |v: &ScalarValue| match v {
                ScalarValue::Date32(d) => *d,
                _ => None,
            };
            Ok(compare(day(&a[0]), day(&a[1])))
        }),
        RowFunction::new("interval_cmp", vec![vec![interval(), interval()]], DataType::Int32, |a| {
            Ok(compare(interval_nanos(&a[0]), interval_nanos(&a[1])))
        }),
        RowFunction::new("timeofday", vec![vec![]], DataType::Utf8, |_| {
            Ok(ScalarValue::Utf8(Some(chrono::Utc::now().format("%a %b %d %H:%M:%S%.6f %Y UTC").to_string())))
        })
        .volatility(Volatility::Volatile),
        RowFunction::new("localtimestamp", vec![vec![]], DataType::Timestamp(TimeUnit::Microsecond, None), |_| {
            Ok(ScalarValue::TimestampMicrosecond(Some(chrono::Utc::now().timestamp_micros()), None))
        })
        .volatility(Volatility::Stable),
        RowFunction::new("localtime", vec![vec![]], DataType::Time64(TimeUnit::Microsecond), |_| {
            let now = chrono::Utc::now().naive_utc().time();
            Ok(ScalarValue::Time64Microsecond(Some(
                i64::from(now.num_seconds_from_midnight()) * 1_000_000 + i64::from(now.nanosecond() / 1000),
            )))
        })
        .volatility(Volatility::Stable),
        RowFunction::new("age", vec![vec![ts()], vec![ts(), ts()]], interval_type(), |a| {
            let (x, y) = match a {
                [only] => (today_midnight(), naive(micros(only).unwrap_or_default())?),
                [x, y, ..] => (naive(micros(x).unwrap_or_default())?, naive(micros(y).unwrap_or_default())?),
                [] => unreachable!("age takes one or two arguments"),
            };
            Ok(ScalarValue::IntervalMonthDayNano(Some(age(x, y))))
        })
        .volatility(Volatility::Stable),
        // No date or timestamp in nuage is infinite.
        RowFunction::new("isfinite", vec![vec![Arg::Any]], DataType::Boolean, |a| match &a[0] {
            ScalarValue::Date32(_) | ScalarValue::TimestampMicrosecond(..) | ScalarValue::IntervalMonthDayNano(_) => {
                Ok(ScalarValue::Boolean(Some(true)))
            }
            v => Err(super::row::no_such_function("isfinite", &[v.data_type()])),
        }),
        RowFunction::new("interval_scale", vec![vec![interval(), FLOAT]], interval_type(), |a| {
            let (ScalarValue::IntervalMonthDayNano(Some(i)), ScalarValue::Float64(Some(f))) = (&a[0], &a[1]) else {
                return Ok(ScalarValue::IntervalMonthDayNano(None));
            };
            Ok(ScalarValue::IntervalMonthDayNano(Some(scale_interval(*i, *f)?)))
        }),
    ];
    // Every comparison of dates, timestamps and timestamps with time zone compares instants
    // (a date is its midnight; the session's time zone is UTC).
    for name in [
        "date_cmp_timestamp",
        "date_cmp_timestamptz",
        "timestamp_cmp",
        "timestamp_cmp_date",
        "timestamp_cmp_timestamptz",
        "timestamptz_cmp",
        "timestamptz_cmp_date",
        "timestamptz_cmp_timestamp",
    ] {
        functions.push(RowFunction::new(name, vec![vec![ts(), ts()]], DataType::Int32, ts_cmp));
    }
    for f in functions {
        ctx.register_udf(f.udf());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn age_borrows_like_postgresql() {
        // PostgreSQL: age('2001-04-10', '1957-06-13') = 43 years 9 mons 27 days
        assert_eq!(
            age(t("2001-04-10 00:00:00"), t("1957-06-13 00:00:00")),
            IntervalMonthDayNano::new(43 * 12 + 9, 27, 0)
        );
        assert_eq!(
            age(t("2020-03-01 00:00:00"), t("2020-01-31 12:00:00")),
            IntervalMonthDayNano::new(1, 0, 12 * 3_600_000_000_000)
        );
        assert_eq!(age(t("2020-01-01 00:00:00"), t("2020-01-02 00:00:00")), IntervalMonthDayNano::new(0, -1, 0));
    }

    #[test]
    fn scaling_spills_fractions_down() {
        let s = scale_interval(IntervalMonthDayNano::new(1, 1, 0), 1.5).unwrap();
        assert_eq!(s, IntervalMonthDayNano::new(1, 16, 12 * 3_600_000_000_000));
        let epoch = scale_interval(IntervalMonthDayNano::new(0, 0, 1_000_000_000), 1000.0).unwrap();
        assert_eq!(epoch.nanoseconds, 1_000_000_000_000);
    }

    #[test]
    fn next_day_is_strictly_after() {
        let call = |s: &str, day: &str| {
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap().and_hms_opt(0, 0, 0).unwrap();
            let t = ScalarValue::TimestampMicrosecond(Some(d.and_utc().timestamp_micros()), None);
            next_day(&[t, ScalarValue::Utf8(Some(day.into()))]).unwrap()
        };
        // 2014-08-20 is a Wednesday.
        assert_eq!(call("2014-08-20", "Tuesday"), date_value(NaiveDate::from_ymd_opt(2014, 8, 26).unwrap()));
        assert_eq!(call("2014-08-20", "We"), date_value(NaiveDate::from_ymd_opt(2014, 8, 27).unwrap()));
    }
}
