//! The language gap: how much more alike the multilingual model finds a question and a
//! note when they are in the same language, measured per vault, so that a note in another
//! language is not ranked down for its language alone.
//!
//! multilingual-e5-small places texts of one language nearer each other than texts of two,
//! whatever they say: an English question about watering tomatoes is nearer an English
//! note on garden irrigation (cosine 0.849) than the Spanish note on tomatoes it asks about
//! (0.836), and both are nearer every unrelated English note than any unrelated note in
//! another language. So when an index is built with that model, recall embeds the same
//! eight everyday questions, unrelated to any vault, in each of ten languages ([`BANK`]),
//! and records for each question language and each note language how alike they come out
//! on average: the note's best chunk against each question, over (up to
//! [`NOTES_MEASURED`]) notes of that language. A query in language `q` then adds to the
//! cosine of a note in language `n` the gap `background(q, q) − background(q, n)`: the
//! similarity a note has only from sharing the query's language is taken off the scale.
//! The query's language is the one its text shows when the vault has notes in it, else
//! the one of the vault's languages whose questions' mean vector is nearest the query's:
//! the model tells languages apart in a few words.
//! Notes of the query's own language, of no known language, or in a vault without notes
//! in the query's language keep their cosine (BENCHMARKS.md, "Meaning in every language").

use rustc_hash::FxHashMap;

use crate::embed::{dot, EmbedError, Embedder};
use crate::language::{language_of, Language, NOTE};
use crate::record::Gaps;
use crate::vector::{quant, VectorTable};

/// Everyday questions, the same eight in each language; the language of each group is
/// told by [`language_of`], as a note's is.
pub const BANK: [&[&str]; 10] = [
    &[
        "how do I renew my passport",
        "the best way to learn piano as an adult",
        "what is the capital of Australia",
        "tips for saving money on groceries",
        "how to change a car tire",
        "the history of the Roman empire",
        "good books about economics",
        "how does a heat pump work",
    ],
    &[
        "wie verlängere ich meinen Reisepass",
        "wie lernt man als Erwachsener am besten Klavier",
        "was ist die Hauptstadt von Australien",
        "Tipps zum Sparen beim Einkaufen von Lebensmitteln",
        "wie wechselt man einen Autoreifen",
        "die Geschichte des Römischen Reiches",
        "gute Bücher über die Wirtschaft",
        "wie funktioniert eine Wärmepumpe",
    ],
    &[
        "comment renouveler mon passeport",
        "la meilleure façon d'apprendre le piano à l'âge adulte",
        "quelle est la capitale de l'Australie",
        "des astuces pour économiser sur les courses",
        "comment changer un pneu de voiture",
        "l'histoire de l'Empire romain",
        "de bons livres sur l'économie",
        "comment fonctionne une pompe à chaleur",
    ],
    &[
        "cómo renuevo mi pasaporte",
        "la mejor manera de aprender piano siendo adulto",
        "cuál es la capital de Australia",
        "consejos para ahorrar dinero en la compra",
        "cómo cambiar una rueda del coche",
        "la historia del Imperio romano",
        "buenos libros sobre economía",
        "cómo funciona una bomba de calor",
    ],
    &[
        "come rinnovo il mio passaporto",
        "il modo migliore per imparare il pianoforte da adulto",
        "qual è la capitale dell'Australia",
        "consigli per risparmiare sulla spesa",
        "come cambiare una gomma dell'auto",
        "la storia dell'Impero romano",
        "buoni libri di economia",
        "come funziona una pompa di calore",
    ],
    &[
        "como renovo o meu passaporte",
        "a melhor maneira de aprender piano em adulto",
        "qual é a capital da Austrália",
        "dicas para poupar dinheiro nas compras",
        "como trocar um pneu do carro",
        "a história do Império Romano",
        "bons livros sobre economia",
        "como funciona uma bomba de calor",
    ],
    &[
        "hoe verleng ik mijn paspoort",
        "de beste manier om als volwassene piano te leren",
        "wat is de hoofdstad van Australië",
        "tips om geld te besparen op boodschappen",
        "hoe verwissel je een autoband",
        "de geschiedenis van het Romeinse Rijk",
        "goede boeken over economie",
        "hoe werkt een warmtepomp",
    ],
    &[
        "怎么更新护照",
        "成年人学钢琴的最好方法",
        "澳大利亚的首都是哪里",
        "买菜省钱的小窍门",
        "怎么换汽车轮胎",
        "罗马帝国的历史",
        "关于经济学的好书",
        "热泵是怎么工作的",
    ],
    &[
        "パスポートの更新はどうすればいいですか",
        "大人がピアノを習う一番いい方法",
        "オーストラリアの首都はどこですか",
        "食費を節約するコツ",
        "車のタイヤの交換方法",
        "ローマ帝国の歴史",
        "経済学についてのおすすめの本",
        "ヒートポンプの仕組み",
    ],
    &[
        "여권을 어떻게 갱신하나요",
        "성인이 피아노를 배우는 가장 좋은 방법",
        "호주의 수도는 어디인가요",
        "장보기 비용을 아끼는 요령",
        "자동차 타이어 교체 방법",
        "로마 제국의 역사",
        "경제학에 관한 좋은 책",
        "히트 펌프는 어떻게 작동하나요",
    ],
];

/// Notes of one language measured at most (the first by position in the vector table):
/// the average settles long before, and a build of 50k notes stays quick.
pub const NOTES_MEASURED: usize = 1000;

/// Measures the backgrounds of the notes in `vectors` (their languages by `language`)
/// against [`BANK`], embedded with `embedder`.
pub fn measure(
    embedder: &mut Embedder,
    vectors: &VectorTable,
    language: impl Fn(u32) -> Option<Language>,
) -> Result<Gaps, EmbedError> {
    // Each note's rows, the first NOTES_MEASURED notes of each language.
    let mut rows: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
    let mut per_language: FxHashMap<Language, Vec<u32>> = FxHashMap::default();
    for (i, e) in vectors.entries.iter().enumerate() {
        let Some(l) = language(e.note_ord) else { continue };
        if !rows.contains_key(&e.note_ord) {
            let notes = per_language.entry(l).or_default();
            if notes.len() >= NOTES_MEASURED {
                continue;
            }
            notes.push(e.note_ord);
        }
        rows.entry(e.note_ord).or_default().push(i);
    }
    if per_language.is_empty() {
        // No note's language shows: nothing to measure, and no question to embed.
        return Ok(Gaps::default());
    }
    let (mut backgrounds, mut centroids) = (Vec::new(), Vec::new());
    for questions in BANK {
        let Some(asked) = language_of(&questions.join(". "), NOTE) else {
            continue;
        };
        let mut vectors_of_questions = Vec::with_capacity(questions.len());
        for q in questions {
            vectors_of_questions.push(embedder.embed_query(q)?);
        }
        let mut centroid = crate::embed::sum(&vectors_of_questions, vectors.dim);
        centroid.iter_mut().for_each(|c| *c /= questions.len() as f32);
        centroids.push((Language::code(Some(asked)), centroid));
        for (&l, notes) in &per_language {
            let mut sum = 0f64;
            for ord in notes {
                for q in &vectors_of_questions {
                    let best = rows[ord]
                        .iter()
                        .map(|&i| quant::dot_query(q, vectors.row(i)))
                        .fold(f32::MIN, f32::max);
                    sum += f64::from(best);
                }
            }
            let mean = sum / (notes.len() * vectors_of_questions.len()).max(1) as f64;
            backgrounds.push((Language::code(Some(asked)), Language::code(Some(l)), mean as f32));
        }
    }
    Ok(Gaps {
        backgrounds,
        centroids,
    })
}

/// The language of a query, whose text shows `spoken` and whose vector is `query`:
/// `spoken` when the vault has notes in it, else, of the languages the vault has notes in,
/// the one whose question centroid is nearest `query`. multilingual-e5-small tells
/// languages apart in a few words, where a short query's common words do not: "TNFAIP3 is
/// a glioblastoma tumor suppressor" shows Dutch by its words ("is", "a"), and most short
/// queries show none (BENCHMARKS.md, "Meaning in every language"). Only the vault's
/// languages are told apart, for the query is compared with its notes: so an English query
/// is not taken for Portuguese. (`spoken` in an index without centroids.)
pub fn query_language(gaps: &Gaps, spoken: Option<Language>, query: &[f32]) -> Option<Language> {
    if let Some(l) = spoken.filter(|&l| gaps.measured(l)) {
        return Some(l);
    }
    gaps.centroids
        .iter()
        .filter_map(|(code, centroid)| Language::from_code(*code).map(|l| (l, centroid)))
        .filter(|&(l, _)| gaps.measured(l))
        .map(|(l, centroid)| (l, dot(query, centroid)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(l, _)| l)
        .or(spoken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_question_group_has_its_own_language() {
        let languages: Vec<Option<Language>> =
            BANK.iter().map(|qs| language_of(&qs.join(". "), NOTE)).collect();
        assert!(languages.iter().all(Option::is_some), "{languages:?}");
        for (i, a) in languages.iter().enumerate() {
            for b in &languages[i + 1..] {
                assert_ne!(a, b, "two groups in one language: {languages:?}");
            }
        }
        assert_eq!(languages[0], Some(Language::ENGLISH));
    }

    #[test]
    fn a_note_gains_the_gap_between_its_language_and_the_query_s() {
        let (en, es) = (Language::ENGLISH, language_of(&BANK[3].join(". "), NOTE).unwrap());
        let g = Gaps {
            backgrounds: vec![
                (Language::code(Some(en)), Language::code(Some(en)), 0.77),
                (Language::code(Some(en)), Language::code(Some(es)), 0.74),
            ],
            centroids: Vec::new(),
        };
        assert!((g.shift(en, Some(es)) - 0.03).abs() < 1e-6);
        assert_eq!(g.shift(en, Some(en)), 0.0);
        assert_eq!(g.shift(en, None), 0.0);
        assert_eq!(g.shift(es, Some(en)), 0.0, "not measured for Spanish questions");
    }

    #[test]
    fn a_query_s_language_is_one_of_the_vault_s() {
        let code = |l: Language| Language::code(Some(l));
        let (en, nl, zh) = (
            Language::ENGLISH,
            language_of(&BANK[6].join(". "), NOTE).unwrap(),
            language_of(&BANK[7].join(". "), NOTE).unwrap(),
        );
        let axis = |i: usize| (0..4).map(|k| f32::from(u8::from(k == i))).collect::<Vec<f32>>();
        let g = Gaps {
            // Notes in English and Chinese; questions measured in all three.
            backgrounds: vec![(code(en), code(en), 0.77), (code(zh), code(zh), 0.82)],
            centroids: vec![(code(en), axis(0)), (code(nl), axis(1)), (code(zh), axis(2))],
        };
        let english_vector = [0.9, 0.95, 0.1, 0.0];
        // Shown by its words and the vault has notes in it.
        assert_eq!(query_language(&g, Some(zh), &english_vector), Some(zh));
        // "TNFAIP3 is a glioblastoma tumor suppressor" shows Dutch; the vault has none, and
        // of its languages the vector is nearest English (though nearer Dutch still).
        assert_eq!(query_language(&g, Some(nl), &english_vector), Some(en));
        assert_eq!(query_language(&g, None, &[0.1, 0.0, 0.9, 0.0]), Some(zh));
        let old = Gaps {
            centroids: Vec::new(),
            ..g
        };
        assert_eq!(
            query_language(&old, Some(nl), &english_vector),
            Some(nl),
            "no centroids: the text's"
        );
    }
}
