//! Query strings, checked as strictly as the command line checks its flags.
//!
//! Each endpoint names the parameters it takes; anything else (`lmit=5`) is refused with
//! the list, a parameter given twice is refused, a missing one is named by its wire name
//! (`q`), and values go through the same checks as on every face (`api::parse_limit`,
//! `api::parse_mode`, ...), so a mistake is never silently ignored.

use std::collections::BTreeMap;

use crate::api::{
    check_max_chars, check_min_score, parse_budget, parse_fields, parse_limit, parse_mode, parse_offset,
    Fields, Mode,
};
use crate::error::{Error, Result};

/// The parameters of one request.
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Parses a raw query string, refusing names not in `known` and repeated names.
    pub fn parse(raw: Option<&str>, known: &[&str]) -> Result<Params> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| Error::Usage(format!("the query string does not parse: {e}")))?;
        let mut values = BTreeMap::new();
        for (name, value) in pairs {
            if !known.contains(&name.as_str()) {
                let closest = known
                    .iter()
                    .map(|k| (crate::analysis::edit_distance(&name, k), *k))
                    .filter(|(d, _)| *d <= 2)
                    .min()
                    .map(|(_, k)| format!("did you mean `{k}`? "))
                    .unwrap_or_default();
                let takes = match known.is_empty() {
                    true => "this endpoint takes no parameters".to_string(),
                    false => format!("this endpoint takes {}", known.join(", ")),
                };
                return Err(Error::Usage(format!(
                    "unknown parameter `{name}`; {closest}{takes}"
                )));
            }
            if values.insert(name.clone(), value).is_some() {
                return Err(Error::Usage(format!("parameter `{name}` is given twice")));
            }
        }
        Ok(Params { values })
    }

    /// A text parameter, if given.
    pub fn text(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    /// A text parameter that must be given; `what` says what it is for.
    pub fn required(&self, name: &str, what: &str) -> Result<String> {
        self.text(name)
            .ok_or_else(|| Error::Usage(format!("missing parameter `{name}`: {what}")))
    }

    pub fn limit(&self) -> Result<Option<usize>> {
        self.parsed("limit", parse_limit)
    }

    pub fn offset(&self) -> Result<Option<usize>> {
        self.parsed("offset", parse_offset)
    }

    pub fn budget(&self) -> Result<Option<usize>> {
        self.parsed("budget", parse_budget)
    }

    pub fn fields(&self) -> Result<Option<Fields>> {
        self.parsed("fields", parse_fields)
    }

    pub fn max_chars(&self) -> Result<Option<usize>> {
        self.parsed("max_chars", |s| {
            let n: usize = s
                .trim()
                .parse()
                .map_err(|_| format!("bad max_chars `{s}`: give a number of characters from 1"))?;
            check_max_chars(n)
        })
    }

    pub fn mode(&self) -> Result<Option<Mode>> {
        self.parsed("mode", parse_mode)
    }

    pub fn min_score(&self) -> Result<Option<f32>> {
        self.parsed("min_score", |s| {
            let v: f32 = s
                .trim()
                .parse()
                .map_err(|_| format!("bad min_score `{s}`: give a number from 0 to 1"))?;
            check_min_score(v)
        })
    }

    /// `true`, `false`, `1`, `0` (absent: false).
    pub fn flag(&self, name: &str) -> Result<bool> {
        Ok(self
            .parsed(name, |s| match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(format!("bad {name} `{s}`: give true or false")),
            })?
            .unwrap_or(false))
    }

    fn parsed<T>(&self, name: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>> {
        self.values
            .get(name)
            .map(|v| parse(v))
            .transpose()
            .map_err(Error::Usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_repeated_and_bad_values_are_refused() {
        let known = ["q", "limit", "mode"];
        let e = Params::parse(Some("q=x&lmit=5"), &known)
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            e,
            "unknown parameter `lmit`; did you mean `limit`? this endpoint takes q, limit, mode"
        );
        let e = Params::parse(Some("q=x&q=y"), &known).err().unwrap().to_string();
        assert!(e.contains("given twice"), "{e}");
        let p = Params::parse(Some("limit=0"), &known).unwrap();
        assert_eq!(
            p.limit().unwrap_err().to_string(),
            "bad limit `0`: give a whole number from 1 to 100"
        );
        let e = p.required("q", "the query").unwrap_err().to_string();
        assert_eq!(e, "missing parameter `q`: the query");
        let p = Params::parse(Some("q=a+b&mode=LEXICAL&limit=7"), &known).unwrap();
        assert_eq!(p.text("q").as_deref(), Some("a b"));
        assert_eq!(p.mode().unwrap(), Some(Mode::Lexical));
        assert_eq!(p.limit().unwrap(), Some(7));
        assert!(Params::parse(Some("x=1"), &[])
            .err()
            .unwrap()
            .to_string()
            .contains("takes no parameters"));
    }
}
