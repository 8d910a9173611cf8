//! A prompt's words and their canonical phones, for scoring a reading against the sentence.
//!
//! `prompt(text, &lexicon)` normalises the sentence ([`normalize`]), then finds each spoken word's
//! pronunciations: in the lexicon (CMUdict merged with Speechocean762's lexicon, every alternative
//! kept for the aligner), else by a contraction or possessive rule on a known word (`Ann's`,
//! `mustn't`), else spelled out if it has no vowel letter (`BBC`), else by letter-to-sound rules —
//! the last two marked `approximate`. No Burn and no I/O: the same code runs natively and in wasm32.
//! docs/ARCHITECTURE.md ("Text to phones") describes where it sits.

pub mod letter_to_sound;
pub mod lexicon;
pub mod normalize;
pub mod numbers;
pub mod phones;

pub use lexicon::{Lexicon, LexiconError};
pub use normalize::{MAX_WORDS, Token, normalize};
pub use phones::{PHONES, Phone};

/// Levenshtein distance between two sequences (substitutions, insertions and deletions cost 1): how
/// far a guessed or decoded phone sequence is from the canonical one.
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let next = (diagonal + (x != y) as usize).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Why a text cannot be turned into words to score.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TextError {
    #[error("the text has no words to read (it is empty or only punctuation and symbols)")]
    NoWords,
    #[error("the text has more than {max} words; score one sentence or a short passage at a time")]
    TooManyWords { max: usize },
    #[error("the text has a word in a script the lexicon does not cover (English, Latin letters only): {word:?}")]
    UnsupportedScript { word: String },
    #[error("no pronunciation can be made for {word:?}")]
    Unpronounceable { word: String },
}

/// Where a word's pronunciations came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The lexicon has the word.
    Lexicon,
    /// A known word with a contraction or possessive ending (`Ann's`, `mustn't`, `she'll`).
    Ending,
    /// Spelled letter by letter (`BBC`): a guess that the reader spells it.
    Spelled,
    /// Letter-to-sound rules: a guess.
    LetterToSound,
}

/// One spoken word of the prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptWord {
    /// The prompt's text this word comes from (`21st` for both `twenty` and `first`).
    pub written: String,
    /// The spoken word, lowercase.
    pub word: String,
    /// Every pronunciation the aligner may choose from (at least one, none empty).
    pub pronunciations: Vec<Vec<Phone>>,
    pub source: Source,
}

impl PromptWord {
    /// Whether the pronunciation is a guess (spelled or letter-to-sound) rather than a lexicon entry.
    pub fn approximate(&self) -> bool {
        matches!(self.source, Source::Spelled | Source::LetterToSound)
    }
}

/// The prompt as spoken words with pronunciations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub words: Vec<PromptWord>,
}

/// Turns a sentence into spoken words with pronunciations (module notes).
pub fn prompt(text: &str, lexicon: &Lexicon) -> Result<Prompt, TextError> {
    let mut words = Vec::new();
    for token in normalize(text)? {
        for word in token.words {
            let (pronunciations, source) = pronounce(&word, lexicon)?;
            words.push(PromptWord { written: token.written.clone(), word, pronunciations, source });
        }
    }
    Ok(Prompt { words })
}

fn pronounce(word: &str, lexicon: &Lexicon) -> Result<(Vec<Vec<Phone>>, Source), TextError> {
    if let Some(prons) = lexicon.pronunciations(word) {
        return Ok((prons.to_vec(), Source::Lexicon));
    }
    if let Some(prons) = with_ending(word, lexicon) {
        return Ok((prons, Source::Ending));
    }
    let letters = letter_to_sound::letters(word);
    let has_vowel = letters.iter().any(|l| b"aeiouy".contains(l));
    if !has_vowel && (1..=6).contains(&letters.len()) {
        let spelled: Option<Vec<Phone>> = letters
            .iter()
            .filter(|l| l.is_ascii_lowercase())
            .map(|l| lexicon.pronunciations(&(*l as char).to_string()).map(|p| p.last().expect("non-empty").clone()))
            .collect::<Option<Vec<Vec<Phone>>>>()
            .map(|parts| parts.concat());
        if let Some(phones) = spelled.filter(|p| !p.is_empty()) {
            return Ok((vec![phones], Source::Spelled));
        }
    }
    let guess = lexicon.guess(word);
    if guess.is_empty() {
        return Err(TextError::Unpronounceable { word: word.to_string() });
    }
    Ok((vec![guess], Source::LetterToSound))
}

/// A known word with a contraction or possessive ending: the base word's pronunciations with the
/// ending's phones (`'s` is `IH0 Z` after a sibilant, `S` after a voiceless consonant, else `Z`).
fn with_ending(word: &str, lexicon: &Lexicon) -> Option<Vec<Vec<Phone>>> {
    let p = |s: &str| phones::parse_pronunciation(s).expect("a valid ending");
    let endings: [(&str, Option<Vec<Phone>>); 7] = [
        ("'s", None),
        ("n't", Some(p("AH0 N T"))),
        ("'ll", Some(p("L"))),
        ("'re", Some(p("ER0"))),
        ("'ve", Some(p("V"))),
        ("'d", Some(p("D"))),
        ("'m", Some(p("M"))),
    ];
    for (ending, phones) in endings {
        let Some(base) = word.strip_suffix(ending).filter(|b| !b.is_empty()) else { continue };
        let Some(prons) = lexicon.pronunciations(base) else { continue };
        return Some(
            prons
                .iter()
                .map(|pron| {
                    let tail = phones.clone().unwrap_or_else(|| possessive(*pron.last().expect("non-empty")));
                    [pron.clone(), tail].concat()
                })
                .collect(),
        );
    }
    None
}

fn possessive(last: Phone) -> Vec<Phone> {
    let spec = match last.name() {
        "S" | "Z" | "SH" | "ZH" | "CH" | "JH" => "IH0 Z",
        "P" | "T" | "K" | "F" | "TH" => "S",
        _ => "Z",
    };
    phones::parse_pronunciation(spec).expect("a valid ending")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> Lexicon {
        let mut lex = Lexicon::default();
        lex.add_cmudict(
            "test",
            "ann AE1 N\nbob B AA1 B\njack JH AE1 K\nmust M AH1 S T\nshe SH IY1\nb B IY1\nc S IY1\ns EH1 S\nthe DH AH0\nthe(2) DH IY0\ncat K AE1 T\nhat HH AE1 T\nbat B AE1 T\nsat S AE1 T\n",
        )
        .unwrap();
        lex.learn_rules(1);
        lex
    }

    fn show(p: &[Phone]) -> String {
        p.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn edit_distance_counts_substitutions_insertions_and_deletions() {
        assert_eq!(edit_distance(b"kitten", b"sitting"), 3);
        assert_eq!(edit_distance::<u8>(b"", b"abc"), 3);
        assert_eq!(edit_distance(&[1, 2, 3], &[1, 2, 3]), 0);
    }

    #[test]
    fn words_from_the_lexicon_keep_every_alternative() {
        let prompt = prompt("The cat.", &lexicon()).unwrap();
        assert_eq!(prompt.words.len(), 2);
        assert_eq!(prompt.words[0].pronunciations.len(), 2);
        assert_eq!(prompt.words[0].written, "The");
        assert_eq!(prompt.words[1].source, Source::Lexicon);
        assert!(!prompt.words[1].approximate());
    }

    #[test]
    fn endings_follow_the_base_word() {
        let lex = lexicon();
        let p = |w: &str| prompt(w, &lex).unwrap().words.remove(0);
        assert_eq!(show(&p("Ann's").pronunciations[0]), "AE1 N Z");
        assert_eq!(show(&p("Jack's").pronunciations[0]), "JH AE1 K S");
        assert_eq!(show(&p("Bob's").pronunciations[0]), "B AA1 B Z");
        assert_eq!(show(&p("mustn't").pronunciations[0]), "M AH1 S T AH0 N T");
        assert_eq!(show(&p("she'll").pronunciations[0]), "SH IY1 L");
        assert_eq!(p("she'll").source, Source::Ending);
    }

    #[test]
    fn unknown_words_are_spelled_or_guessed_and_marked_approximate() {
        let lex = lexicon();
        let bbc = prompt("BBC", &lex).unwrap().words.remove(0);
        assert_eq!(show(&bbc.pronunciations[0]), "B IY1 B IY1 S IY1");
        assert!(bbc.approximate());
        let guessed = prompt("bat hat sat cab", &lex).unwrap().words.remove(3);
        assert_eq!(guessed.source, Source::LetterToSound);
        assert!(guessed.approximate());
        assert_eq!(show(&guessed.pronunciations[0]), "K AE1 B");
    }

    #[test]
    fn unpronounceable_words_are_an_error() {
        // An empty lexicon has neither letter names nor rules.
        let err = prompt("xyz", &Lexicon::default()).unwrap_err();
        assert_eq!(err, TextError::Unpronounceable { word: "xyz".into() });
        assert_eq!(err.to_string(), "no pronunciation can be made for \"xyz\"");
    }
}
