//! The lexicon compiled into the crate (data/lexicon.bin): it decodes, it knows the corpus's words,
//! and hostile prompts give clear errors or approximate words, never a panic.

use sslpron_text::{Lexicon, MAX_WORDS, Source, TextError, prompt};

fn names(phones: &[sslpron_text::Phone]) -> String {
    phones.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" ")
}

#[test]
fn the_builtin_lexicon_has_cmudict_and_the_corpus_words() {
    let lex = Lexicon::builtin();
    assert!(lex.word_count() > 120_000, "{} words", lex.word_count());
    assert!(!lex.rules().is_empty());
    // CMUdict's alternatives are all kept.
    assert!(lex.pronunciations("either").unwrap().len() >= 2);
    assert_eq!(names(&lex.pronunciations("pronunciation").unwrap()[0]), "P R OW0 N AH2 N S IY0 EY1 SH AH0 N");
}

#[test]
fn a_sentence_with_numbers_contractions_and_an_unknown_word() {
    let lex = Lexicon::builtin();
    let p = prompt("On May 21st, Zorbleflax didn't pay $5.", &lex).unwrap();
    let words: Vec<&str> = p.words.iter().map(|w| w.word.as_str()).collect();
    assert_eq!(words, ["on", "may", "twenty", "first", "zorbleflax", "didn't", "pay", "five", "dollars"]);
    assert_eq!(p.words[2].written, "21st");
    let zorbleflax = &p.words[4];
    assert_eq!(zorbleflax.source, Source::LetterToSound);
    assert!(zorbleflax.approximate());
    assert!(zorbleflax.pronunciations[0].len() >= 7, "{}", names(&zorbleflax.pronunciations[0]));
    assert!(p.words.iter().filter(|w| w.word != "zorbleflax").all(|w| !w.approximate()));
}

#[test]
fn hostile_prompts_are_errors_not_panics() {
    let lex = Lexicon::builtin();
    assert_eq!(prompt("", &lex).unwrap_err(), TextError::NoWords);
    assert_eq!(prompt(" ?!... --- ", &lex).unwrap_err(), TextError::NoWords);
    assert_eq!(prompt("🙂🙂", &lex).unwrap_err(), TextError::NoWords);
    assert!(matches!(prompt("Привет, мир", &lex), Err(TextError::UnsupportedScript { .. })));
    let long = vec!["word"; 500].join(" ");
    assert_eq!(prompt(&long, &lex).unwrap_err(), TextError::TooManyWords { max: MAX_WORDS });
    // Emoji inside a sentence are dropped; the words remain.
    assert_eq!(prompt("I like 🍕 pizza", &lex).unwrap().words.len(), 3);
}

/// Every word of the mini corpus's prompts is a lexicon word (the labels were made with these
/// pronunciations), read through SSLPRON_SHARED.
#[test]
fn every_mini_corpus_word_is_in_the_lexicon() {
    let Some(shared) = std::env::var_os("SSLPRON_SHARED") else {
        eprintln!("skipped: SSLPRON_SHARED is not set (the folder holding speechocean762-mini)");
        return;
    };
    let lex = Lexicon::builtin();
    let mut sentences = 0;
    for split in ["train", "test"] {
        let path = std::path::Path::new(&shared).join("speechocean762-mini").join(split).join("text");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for line in text.lines() {
            let (_, sentence) = line.split_once(char::is_whitespace).expect("utterance id and text");
            let p = prompt(sentence, &lex).unwrap_or_else(|e| panic!("{sentence:?}: {e}"));
            for w in &p.words {
                assert_eq!(w.source, Source::Lexicon, "{:?} in {sentence:?}", w.word);
            }
            sentences += 1;
        }
    }
    assert!(sentences > 10);
}
