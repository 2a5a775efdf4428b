//! The section index's tantivy schema: its fields, how each is indexed and stored, the
//! analyzers its text fields use (registered on the note index too), and how dates and
//! (note, section) pairs become index values. Writing and querying both go through these
//! handles, so the layout is defined once, here.

use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing,
    TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::{DateTime, Index};

use crate::analysis::{fold_keyword, Analysis};

pub(super) const EN: &str = "recall_text";
const RAW: &str = "recall_raw";

/// Field handles of the schema.
#[derive(Clone, Copy)]
pub(super) struct Fields {
    pub(super) all: Field,
    pub(super) title: Field,
    pub(super) heading: Field,
    pub(super) heading_path: Field,
    pub(super) tags_text: Field,
    pub(super) raw: Field,
    pub(super) body: Field,
    pub(super) note: Field,
    pub(super) file: Field,
    pub(super) note_ord: Field,
    pub(super) key: Field,
    pub(super) section: Field,
    pub(super) line: Field,
    /// The note's size in characters (`LoadedNote::chars`), for result lists.
    pub(super) chars: Field,
    pub(super) tag: Field,
    pub(super) tag_key: Field,
    /// `key=value` of each scalar (or list item) of the front matter, folded.
    pub(super) meta: Field,
    pub(super) strength: Field,
    pub(super) updated: Field,
    pub(super) established: Field,
}

pub(super) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let date = || {
        DateOptions::default()
            .set_indexed()
            .set_fast()
            .set_stored()
            .set_precision(DateTimePrecision::Seconds)
    };
    let text = |tokenizer: &str, positions: bool, stored: bool| {
        let record = if positions {
            IndexRecordOption::WithFreqsAndPositions
        } else {
            IndexRecordOption::WithFreqs
        };
        let opts = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record),
        );
        if stored {
            opts.set_stored()
        } else {
            opts
        }
    };
    let fields = Fields {
        all: b.add_text_field("all", text(EN, true, false)),
        title: b.add_text_field("title", text(EN, false, true)),
        heading: b.add_text_field("heading", text(EN, false, false)),
        heading_path: b.add_text_field("heading_path", STORED),
        tags_text: b.add_text_field("tags_text", text(EN, false, false)),
        raw: b.add_text_field("raw", text(RAW, false, false)),
        body: b.add_text_field("body", TextOptions::default().set_stored()),
        note: b.add_text_field("note", STRING | STORED),
        file: b.add_text_field("file", STORED),
        note_ord: b.add_u64_field("note_ord", INDEXED | FAST | STORED),
        key: b.add_u64_field("key", INDEXED),
        section: b.add_u64_field("section", FAST | STORED),
        line: b.add_u64_field("line", STORED),
        chars: b.add_u64_field("chars", STORED),
        tag: b.add_text_field("tag", STORED),
        tag_key: b.add_text_field("tag_key", STRING),
        meta: b.add_text_field("meta", STRING),
        strength: b.add_f64_field(
            "strength",
            NumericOptions::default().set_indexed().set_fast().set_stored(),
        ),
        updated: b.add_date_field("updated", date()),
        established: b.add_date_field("established", date()),
    };
    (b.build(), fields)
}

pub(super) fn register(index: &Index, analysis: &Analysis) {
    index.tokenizers().register(EN, analysis.index_analyzer());
    index.tokenizers().register(RAW, analysis.raw_analyzer());
}

pub(super) fn to_datetime(d: chrono::NaiveDate) -> DateTime {
    let secs = d
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(0);
    DateTime::from_timestamp_secs(secs)
}

/// The term a front-matter filter looks for: key and value folded, `status=active`.
pub(super) fn meta_term(key: &str, value: &str) -> String {
    format!("{}={}", fold_keyword(key), fold_keyword(value))
}

/// The front-matter terms of a note: one per scalar value (string, number, boolean) and
/// per scalar item of a list; nested maps are not filters, nor are the keys recall reads
/// into its own fields (`note::OWN_KEYS`).
pub(super) fn meta_terms(
    front_matter: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Vec<String> {
    use serde_json::Value as J;
    let scalar = |v: &J| match v {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut out = Vec::new();
    for (key, value) in front_matter {
        if crate::note::OWN_KEYS.contains(&key.to_lowercase().as_str()) {
            continue;
        }
        let values: Vec<String> = match value {
            J::Array(items) => items.iter().filter_map(scalar).collect(),
            v => scalar(v).into_iter().collect(),
        };
        out.extend(
            values
                .iter()
                .filter(|v| !v.trim().is_empty())
                .map(|v| meta_term(key, v)),
        );
    }
    out.sort();
    out.dedup();
    out
}

/// One number for (note, section), to fetch a section found by another index.
pub(super) fn section_key(note_ord: u32, section: u32) -> u64 {
    (u64::from(note_ord) << 32) | u64::from(section)
}
