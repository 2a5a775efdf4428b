//! Dates as people and agents write them in filters and flags: a year (`2025`), a month
//! (`2024-06`), a day (`2024-06-01`), a window back from today (`7d`, `2w`, `3m`, `1y`),
//! `today` and `yesterday`.
//!
//! Each form names a span of days, never a single instant, so that `--since 2025` and
//! `updated:2025` mean the whole year and `--since 2025` equals `--since 2025-01-01`.
//! A comparison reads the span as a person does: `updated:>2024` is after the end of 2024,
//! `updated:<=2024-06` up to the end of June, and a window is "within the last N": `7d`
//! and `>7d` are the last seven days, `<7d` is before them. Anything else is refused with
//! one message that lists the forms, the same on every face.
//!
//! (Dates written *in notes* are read leniently elsewhere, `note::parse_date`: notes come
//! in every format, queries should mean exactly one thing.)

use chrono::{Datelike, Days, Months, NaiveDate};

/// A comparison in a `strength:` or date filter (defined with the dates, which read it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
}

impl Cmp {
    pub fn test<T: PartialOrd>(self, value: T, bound: T) -> bool {
        match self {
            Cmp::Gt => value > bound,
            Cmp::Ge => value >= bound,
            Cmp::Lt => value < bound,
            Cmp::Le => value <= bound,
            Cmp::Eq => value == bound,
        }
    }
}

/// What every refusal says the accepted forms are.
pub const FORMS: &str = "write YYYY, YYYY-MM, YYYY-MM-DD, a window like 7d, 2w, 3m or 1y, today or yesterday";

/// A date expression that is none of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad date `{0}`: {FORMS}")]
pub struct DateError(pub String);

/// A span of whole days, `start` included, `end` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// A window back from today (`7d`): compared as "within it" or "before it".
    pub window: bool,
}

/// Days from `from` (included) to `until` (excluded); either side may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DateRange {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl DateRange {
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from.is_none_or(|f| d >= f) && self.until.is_none_or(|u| d < u)
    }

    /// The days that compare as `cmp` with `span` (see the module docs).
    pub fn compare(cmp: Cmp, span: Span) -> DateRange {
        let (from, until) = (Some(span.start), Some(span.end));
        let (from, until) = match (cmp, span.window) {
            (Cmp::Eq, _) | (Cmp::Gt | Cmp::Ge, true) => (from, until),
            (Cmp::Lt | Cmp::Le, true) | (Cmp::Lt, false) => (None, from),
            (Cmp::Gt, false) => (until, None),
            (Cmp::Ge, false) => (from, None),
            (Cmp::Le, false) => (None, until),
        };
        DateRange { from, until }
    }

    /// `--since`: on or after the span's first day.
    pub fn since(span: Span) -> DateRange {
        DateRange {
            from: Some(span.start),
            until: None,
        }
    }

    /// `--before`: before the span's first day.
    pub fn before(span: Span) -> DateRange {
        DateRange {
            from: None,
            until: Some(span.start),
        }
    }
}

/// Today, in the user's time zone: what `7d` and `today` count from.
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// Parses one of the forms in the module docs, relative to `today`.
pub fn parse(s: &str, today: NaiveDate) -> Result<Span, DateError> {
    let bad = || DateError(s.to_string());
    let t = s.trim();
    let day = |d: NaiveDate| {
        d.succ_opt().map(|next| Span {
            start: d,
            end: next,
            window: false,
        })
    };
    match t.to_ascii_lowercase().as_str() {
        "today" => return day(today).ok_or_else(bad),
        "yesterday" => return today.pred_opt().and_then(day).ok_or_else(bad),
        _ => {}
    }
    if let Some(span) = window(t, today) {
        return span.ok_or_else(bad);
    }
    let Some((start, end)) = absolute(t) else {
        return Err(bad());
    };
    if start.year() < 1000 {
        return Err(bad());
    }
    Ok(Span {
        start,
        end,
        window: false,
    })
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` as (first day, day after the last).
fn absolute(t: &str) -> Option<(NaiveDate, NaiveDate)> {
    let number = |p: &str, digits: usize| -> Option<u32> {
        (p.len() == digits && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    match t.split('-').collect::<Vec<_>>().as_slice() {
        [y] => {
            let y = number(y, 4)? as i32;
            Some((
                NaiveDate::from_ymd_opt(y, 1, 1)?,
                NaiveDate::from_ymd_opt(y + 1, 1, 1)?,
            ))
        }
        [y, m] => {
            let start = NaiveDate::from_ymd_opt(number(y, 4)? as i32, number(m, 2)?, 1)?;
            Some((start, start.checked_add_months(Months::new(1))?))
        }
        [y, m, d] => {
            let day = NaiveDate::from_ymd_opt(number(y, 4)? as i32, number(m, 2)?, number(d, 2)?)?;
            Some((day, day.succ_opt()?))
        }
        _ => None,
    }
}

/// `Nd`, `Nw`, `Nm`, `Ny`: the last N days, weeks, months or years up to today included;
/// `None` when `s` is not of that shape, `Some(None)` when N is out of range.
fn window(s: &str, today: NaiveDate) -> Option<Option<Span>> {
    let unit = s.chars().last().filter(char::is_ascii)?.to_ascii_lowercase();
    let n = &s[..s.len() - 1];
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || !"dwmy".contains(unit) {
        return None;
    }
    let n: u32 = match n.parse() {
        Ok(n) if (1..=100_000).contains(&n) => n,
        _ => return Some(None),
    };
    let start = match unit {
        'd' => today.checked_sub_days(Days::new(u64::from(n))),
        'w' => today.checked_sub_days(Days::new(7 * u64::from(n))),
        'm' => today.checked_sub_months(Months::new(n)),
        _ => n
            .checked_mul(12)
            .and_then(|m| today.checked_sub_months(Months::new(m))),
    };
    Some(start.zip(today.succ_opt()).map(|(start, end)| Span {
        start,
        end,
        window: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn every_form_is_a_span_of_days() {
        let today = d(2026, 12, 7);
        let span = |s: &str| {
            let p = parse(s, today).unwrap();
            (p.start, p.end)
        };
        assert_eq!(span("2025"), (d(2025, 1, 1), d(2026, 1, 1)));
        assert_eq!(span("2024-02"), (d(2024, 2, 1), d(2024, 3, 1)));
        assert_eq!(span("2024-02-29"), (d(2024, 2, 29), d(2024, 3, 1)));
        assert_eq!(span("today"), (d(2026, 12, 7), d(2026, 12, 8)));
        assert_eq!(span("Yesterday"), (d(2026, 12, 6), d(2026, 12, 7)));
        assert_eq!(span("7d"), (d(2026, 11, 30), d(2026, 12, 8)));
        assert_eq!(span("2w"), (d(2026, 11, 23), d(2026, 12, 8)));
        assert_eq!(span("3m"), (d(2026, 9, 7), d(2026, 12, 8)));
        assert_eq!(span("1y"), (d(2025, 12, 7), d(2026, 12, 8)));
    }

    #[test]
    fn anything_else_is_refused_with_the_forms() {
        let today = d(2026, 12, 7);
        for bad in [
            "",
            "20250101",
            "99999999",
            "2025-1",
            "2025-13",
            "2025-02-30",
            "25",
            "0999",
            "7",
            "d",
            "7h",
            "-7d",
            "0d",
            "soon",
            "2024/06/01",
            "2024-06-01T10:00",
        ] {
            let e = parse(bad, today).unwrap_err();
            assert!(
                e.to_string().contains("YYYY-MM-DD, a window like 7d"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn comparisons_read_spans_as_people_do() {
        let today = d(2026, 12, 7);
        let year = parse("2024", today).unwrap();
        let range = |cmp| DateRange::compare(cmp, year);
        assert_eq!(
            range(Cmp::Eq),
            DateRange {
                from: Some(d(2024, 1, 1)),
                until: Some(d(2025, 1, 1))
            }
        );
        assert_eq!(
            range(Cmp::Gt),
            DateRange {
                from: Some(d(2025, 1, 1)),
                until: None
            }
        );
        assert_eq!(
            range(Cmp::Ge),
            DateRange {
                from: Some(d(2024, 1, 1)),
                until: None
            }
        );
        assert_eq!(
            range(Cmp::Lt),
            DateRange {
                from: None,
                until: Some(d(2024, 1, 1))
            }
        );
        assert_eq!(
            range(Cmp::Le),
            DateRange {
                from: None,
                until: Some(d(2025, 1, 1))
            }
        );
        let week = parse("7d", today).unwrap();
        assert!(DateRange::compare(Cmp::Gt, week).contains(d(2026, 12, 1)));
        assert!(!DateRange::compare(Cmp::Gt, week).contains(d(2026, 11, 1)));
        assert!(DateRange::compare(Cmp::Lt, week).contains(d(2026, 11, 1)));
        assert_eq!(
            DateRange::since(year),
            DateRange {
                from: Some(d(2024, 1, 1)),
                until: None
            }
        );
        assert_eq!(
            DateRange::before(year),
            DateRange {
                from: None,
                until: Some(d(2024, 1, 1))
            }
        );
    }
}
