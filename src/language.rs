//! Which language a note or a query is written in, as far as ranking needs to know.
//!
//! Two uses. `--model auto` embeds a vault with the multilingual model when enough of its
//! notes are not in English ([`is_english`]). And a hybrid search in a vault embedded with
//! that model does not hold a note's missing keywords against it when the note is in
//! another language than the query (`fuse`): its words could not have matched.
//!
//! Texts mostly in a script other than Latin are told apart by script (Chinese, Japanese,
//! Korean, Cyrillic, Greek, Arabic, Hebrew, other); texts in Latin script by the common
//! words of English, German, French, Spanish, Italian, Portuguese and Dutch they use. A
//! text with too few such words or letters to tell has no language (`None`): a list of
//! commands, a title alone, a query of three keywords.

/// A language (or, outside the Latin script, a script), stored in one byte a note
/// (`record::Prior`); 0 is "unknown".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Language(u8);

/// What it takes to tell a text's language.
#[derive(Debug, Clone, Copy)]
pub struct Evidence {
    /// Common words needed (of the winning language and its runner-up together).
    words: usize,
    /// Letters of another script than Latin needed to call the text by its script.
    letters: usize,
}

/// A note: the bar `--model auto` was measured with (BENCHMARKS.md, "Meaning in every
/// language").
pub const NOTE: Evidence = Evidence {
    words: 5,
    letters: 20,
};
/// A note's language as the index stores it for ranking (`record::Prior`): a memory of
/// one sentence shows its language in fewer words than `--model auto`'s sample asks of a
/// note, and a note of no language is ranked as if in the query's. Three common words, or
/// four letters of another script (our own cross-language check's English notes have
/// two to six such words, BENCHMARKS.md "Meaning in every language").
pub const STORED: Evidence = Evidence { words: 3, letters: 4 };
/// A query: a few words. Short keyword queries still have no language.
pub const QUERY: Evidence = Evidence { words: 2, letters: 2 };

/// Codes of the scripts, after the Latin-script languages' (1..=7).
const HAN: u8 = 16;
const KANA: u8 = 17;
const HANGUL: u8 = 18;
const CYRILLIC: u8 = 19;
const GREEK: u8 = 20;
const ARABIC: u8 = 21;
const HEBREW: u8 = 22;
const OTHER_SCRIPT: u8 = 23;

impl Language {
    pub const ENGLISH: Language = Language(1);

    /// Its byte (0 for none).
    pub fn code(language: Option<Language>) -> u8 {
        language.map_or(0, |l| l.0)
    }

    /// The language of a byte written by [`Language::code`].
    pub fn from_code(code: u8) -> Option<Language> {
        (code != 0).then_some(Language(code))
    }
}

/// Common words of English and of the other languages most notes in Latin script are
/// written in: a text's language is the one whose common words it uses most.
const COMMON_WORDS: [(&str, &[&str]); 7] = [
    (
        "en",
        &[
            "the", "and", "of", "to", "is", "in", "that", "it", "for", "with", "as", "on", "are", "this",
            "be", "by", "from", "or", "was", "you", "not", "can", "have", "which", "will", "they", "but",
            "an", "at", "if",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "und", "das", "ist", "nicht", "mit", "sich", "auf", "für", "ein", "eine", "den",
            "dem", "des", "auch", "wird", "sind", "oder", "wie", "bei", "nach", "über", "noch",
        ],
    ),
    (
        "fr",
        &[
            "le", "la", "les", "et", "des", "est", "pas", "une", "dans", "pour", "que", "qui", "sur", "du",
            "au", "avec", "ce", "sont", "mais", "ou", "plus", "par", "nous", "vous",
        ],
    ),
    (
        "es",
        &[
            "el", "los", "las", "y", "es", "una", "por", "para", "con", "del", "que", "se", "lo", "como",
            "pero", "más", "está", "son", "al", "su", "muy", "sin", "también",
        ],
    ),
    (
        "it",
        &[
            "il", "di", "che", "e", "è", "per", "una", "sono", "della", "con", "non", "gli", "le", "del",
            "alla", "anche", "come", "più", "questo", "nel",
        ],
    ),
    (
        "pt",
        &[
            "o", "os", "e", "de", "que", "não", "uma", "para", "com", "por", "mais", "como", "mas", "foi",
            "ao", "das", "dos", "também", "você", "isso",
        ],
    ),
    (
        "nl",
        &[
            "de", "het", "een", "en", "van", "is", "dat", "niet", "op", "te", "met", "voor", "zijn", "ook",
            "maar", "dit", "wordt", "bij", "naar", "heeft",
        ],
    ),
];

/// Each common word and the languages it is common in (bit i: `COMMON_WORDS[i]`): one
/// lookup a word, which an index of 50k notes makes for every note.
fn common_words() -> &'static rustc_hash::FxHashMap<&'static str, u8> {
    static MAP: std::sync::OnceLock<rustc_hash::FxHashMap<&'static str, u8>> = std::sync::OnceLock::new();
    MAP.get_or_init(|| {
        let mut map = rustc_hash::FxHashMap::default();
        for (i, (_, words)) in COMMON_WORDS.iter().enumerate() {
            for w in *words {
                *map.entry(*w).or_insert(0u8) |= 1 << i;
            }
        }
        map
    })
}

/// The script of a letter outside the Latin script.
fn script(c: char) -> u8 {
    match c {
        '\u{3040}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}' | '\u{FF66}'..='\u{FF9F}' => KANA,
        '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}' | '\u{AC00}'..='\u{D7FF}' => HANGUL,
        c if crate::analysis::is_cjk(c) => HAN,
        '\u{0400}'..='\u{052F}' => CYRILLIC,
        '\u{0370}'..='\u{03FF}' => GREEK,
        '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' => ARABIC,
        '\u{0590}'..='\u{05FF}' => HEBREW,
        _ => OTHER_SCRIPT,
    }
}

/// The language `text` is written in, or `None` when it holds too little to tell by
/// `need`. A text whose letters are mostly of another script than Latin goes by the
/// script most of them are in (any kana makes Chinese characters Japanese); one in Latin
/// script by the language whose common words it uses most, English winning only when
/// ahead of every other.
pub fn language_of(text: &str, need: Evidence) -> Option<Language> {
    let (mut latin, mut other) = (0usize, 0usize);
    let mut scripts = [0usize; (OTHER_SCRIPT + 1) as usize];
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        match c.is_ascii_alphabetic() || ('\u{C0}'..='\u{24F}').contains(&c) {
            true => latin += 1,
            false => {
                other += 1;
                scripts[script(c) as usize] += 1;
            }
        }
    }
    if other > latin / 2 && other >= need.letters {
        if scripts[KANA as usize] > 0 {
            return Some(Language(KANA));
        }
        let most = (HAN..=OTHER_SCRIPT).max_by_key(|&s| (scripts[s as usize], std::cmp::Reverse(s)));
        return most.map(Language);
    }
    let mut hits = [0usize; COMMON_WORDS.len()];
    let common = common_words();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let Some(&langs) = common.get(word.to_lowercase().as_str()) else {
            continue;
        };
        for (i, hit) in hits.iter_mut().enumerate() {
            *hit += usize::from(langs & (1 << i) != 0);
        }
    }
    let (best, best_other) = (1..hits.len())
        .map(|i| (i, hits[i]))
        .fold((0, 0), |(bi, bh), (i, h)| if h > bh { (i, h) } else { (bi, bh) });
    if hits[0] + best_other < need.words {
        return None;
    }
    Some(match hits[0] > best_other {
        true => Language::ENGLISH,
        false => Language(best as u8 + 1),
    })
}

/// Whether a note's text is written in English: `Some(true)` or `Some(false)`, or `None`
/// when it holds too few words to tell (see [`language_of`] with [`NOTE`]).
pub fn is_english(text: &str) -> Option<bool> {
    language_of(text, NOTE).map(|l| l == Language::ENGLISH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_told_from_other_languages() {
        let en =
            "The drip irrigation in the raised beds runs for twenty minutes and it is checked in the spring.";
        assert_eq!(is_english(en), Some(true));
        let de = "Den Teig über Nacht im Kühlschrank gehen lassen, das Brot wird dann saftig und die Kruste ist dunkel, auch mit dem Topf.";
        assert_eq!(is_english(de), Some(false));
        let es = "Regar las tomateras temprano por la mañana, directamente en la base, y atar los tallos a las cañas con cuidado para que no se rompan.";
        assert_eq!(is_english(es), Some(false));
        assert_eq!(
            is_english(&"每天晚上十一点前上床，睡前一小时不看手机，卧室保持黑暗和凉爽。".repeat(2)),
            Some(false)
        );
        assert_eq!(is_english("ls -la\ngit status"), None, "too few words to tell");
    }

    #[test]
    fn languages_and_scripts_are_told_apart() {
        let of = |t: &str| language_of(t, NOTE);
        let de = of("Den Teig über Nacht im Kühlschrank gehen lassen, das Brot wird dann saftig und die Kruste ist dunkel.");
        let es = of("Regar las tomateras temprano por la mañana, directamente en la base, y atar los tallos a las cañas con cuidado.");
        assert!(de.is_some() && es.is_some() && de != es && de != Some(Language::ENGLISH));
        let zh = of(&"每天晚上十一点前上床，睡前一小时不看手机。".repeat(2));
        let ja = of(&"毎朝三十分、漢字を十個ずつ覚えて、夜に復習する。".repeat(2));
        let ko = of(&"매일 아침 삼십 분 동안 한자를 외우고 밤에 복습한다".repeat(2));
        assert!(zh.is_some() && ja.is_some() && ko.is_some());
        assert!(zh != ja && ja != ko && zh != ko, "{zh:?} {ja:?} {ko:?}");
        assert_eq!(Language::from_code(Language::code(zh)), zh);
        assert_eq!(Language::from_code(Language::code(None)), None);
    }

    #[test]
    fn a_query_needs_fewer_words_than_a_note() {
        let q = "going to bed early and avoiding screens for better rest";
        assert_eq!(language_of(q, NOTE), None);
        assert_eq!(language_of(q, QUERY), Some(Language::ENGLISH));
        assert_eq!(language_of("rust error handling", QUERY), None, "keywords alone");
        assert!(language_of("今来 田园", QUERY).is_some());
    }
}
