//! Reading what given documents hold without the doc store: a u64 fast field of hits,
//! and the postings of given terms sought to given documents. A query reads these for up
//! to a thousand documents and must stay in the millisecond range; both the section index
//! and the note index ([`super::notes`]) use them.

use tantivy::postings::Postings;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, DocSet, Term};

/// Reads a u64 fast field of hits, opening each segment's column once. Hits are read from
/// fast fields, not the doc store: a query touches up to a thousand of them and must stay
/// in the millisecond range.
pub(super) struct FastU64<'s> {
    searcher: &'s tantivy::Searcher,
    field: &'static str,
    columns: std::collections::HashMap<u32, tantivy::columnar::Column<u64>>,
}

impl<'s> FastU64<'s> {
    pub(super) fn new(searcher: &'s tantivy::Searcher, field: &'static str) -> FastU64<'s> {
        FastU64 {
            searcher,
            field,
            columns: std::collections::HashMap::new(),
        }
    }

    pub(super) fn get(&mut self, address: DocAddress) -> tantivy::Result<Option<u64>> {
        let column = match self.columns.entry(address.segment_ord) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(
                self.searcher
                    .segment_reader(address.segment_ord)
                    .fast_fields()
                    .u64(self.field)?,
            ),
        };
        Ok(column.first(address.doc_id))
    }
}

/// Calls `f(i, t, term frequency, fieldnorm id)` for each term `terms[t]` of `field` that
/// occurs in document `docs[i]`. Each term's postings are sought to the documents in
/// order, so the cost follows how many documents are asked about, not how common a term
/// is (a query over the whole index would walk every document that has one).
pub(super) fn for_each_occurrence(
    searcher: &tantivy::Searcher,
    field: Field,
    terms: &[String],
    docs: &[DocAddress],
    mut f: impl FnMut(usize, usize, u32, u8),
) -> tantivy::Result<()> {
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_unstable_by_key(|&i| docs[i]);
    for segment_docs in order.chunk_by(|&a, &b| docs[a].segment_ord == docs[b].segment_ord) {
        let segment = searcher.segment_reader(docs[segment_docs[0]].segment_ord);
        let inverted = segment.inverted_index(field)?;
        let norms = segment.get_fieldnorms_reader(field)?;
        for (t, text) in terms.iter().enumerate() {
            let term = Term::from_field_text(field, text);
            let Some(mut postings) = inverted.read_postings(&term, IndexRecordOption::WithFreqs)? else {
                continue;
            };
            for &i in segment_docs {
                let doc = docs[i].doc_id;
                if postings.doc() > doc {
                    continue;
                }
                if postings.seek(doc) == doc {
                    f(i, t, postings.term_freq(), norms.fieldnorm_id(doc));
                }
                if postings.doc() == tantivy::TERMINATED {
                    break;
                }
            }
        }
    }
    Ok(())
}
