//! Metadata values as notes write them, shared by the front matter and the footer:
//! dates in the forms people and tools use, and a strength that must be a number in 0..1.

use chrono::NaiveDate;

/// Dates as notes write them: `2024-02-18`, `2024/02/18`, `2024-02-18T10:00:00Z`, or epoch
/// seconds / milliseconds (Dendron writes milliseconds).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim().trim_matches(|c| c == '"' || c == '\'');
    if let Ok(n) = s.parse::<i64>() {
        return date_from_epoch(n);
    }
    let head = s.get(..10)?;
    NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(head, "%Y/%m/%d"))
        .ok()
}

pub(super) fn date_from_epoch(n: i64) -> Option<NaiveDate> {
    let secs = if n.unsigned_abs() > 100_000_000_000 {
        n / 1000
    } else {
        n
    };
    chrono::DateTime::from_timestamp(secs, 0).map(|d| d.date_naive())
}

/// A strength value, or a warning saying why it is not one.
pub(super) fn parse_strength(raw: &str) -> Result<f32, String> {
    match raw.trim().parse::<f32>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        Ok(v) => Err(format!("strength {v} is outside 0..1; ignored")),
        Err(_) => Err(format!("strength {raw:?} is not a number; ignored")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_forms() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 18);
        assert_eq!(parse_date("2024-02-18"), d);
        assert_eq!(parse_date("2024/02/18"), d);
        assert_eq!(parse_date("2024-02-18T10:11:12Z"), d);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("-9223372036854775808"), None, "no overflow");
    }
}
