//! Word → pronunciations: CMUdict merged with Speechocean762's lexicon, the letter-to-sound rules,
//! and the compact binary form the CLI embeds and the browser downloads (`data/lexicon.bin`).
//!
//! Binary form (little-endian), version 1:
//! ```text
//! "SSLPLEX1"  u32 word_count  u32 words_len  words…  u32 level_count  per level: u32 rule_count  rules…
//! word:  u8 shared_prefix  u8 suffix_len  suffix  u8 pronunciation_count  per pronunciation: u8 len  phone bytes
//! rule:  key (the level's window length)  u8 len  phone bytes
//! ```
//! Words are sorted and front-coded (each stores only what differs from the previous word); phones are
//! one byte each ([`Phone::byte`]). Every count and length is checked against the bytes that remain
//! before anything is allocated, so a truncated or hostile file is an error, never a panic.

use std::collections::BTreeMap;

use crate::letter_to_sound::{LetterToSound, WINDOWS};
use crate::phones::{Phone, parse_pronunciation};

const MAGIC: &[u8; 8] = b"SSLPLEX1";

/// What went wrong reading a lexicon source or binary.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LexiconError {
    #[error("{source_name} line {line}: {problem}")]
    Source { source_name: String, line: usize, problem: String },
    #[error("not an sslpron lexicon (it does not start with \"SSLPLEX1\")")]
    NotALexicon,
    #[error("the lexicon is damaged at byte {offset}: {problem}")]
    Damaged { offset: usize, problem: &'static str },
}

/// Pronunciations by word (uppercase keys), plus letter-to-sound rules for the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lexicon {
    words: BTreeMap<String, Vec<Vec<Phone>>>,
    rules: LetterToSound,
}

impl Lexicon {
    /// The lexicon built into this crate (`data/lexicon.bin`, made by `scripts/build-lexicon.sh`).
    #[cfg(feature = "builtin")]
    pub fn builtin() -> Lexicon {
        Lexicon::from_bytes(BUILTIN).expect("the built-in lexicon decodes (a test checks it)")
    }

    /// Every pronunciation of `word` (any case), `None` if the lexicon lacks it.
    pub fn pronunciations(&self, word: &str) -> Option<&[Vec<Phone>]> {
        self.words.get(&word.to_ascii_uppercase()).map(Vec::as_slice)
    }

    /// The letter-to-sound rules' guess for `word`.
    pub fn guess(&self, word: &str) -> Vec<Phone> {
        self.rules.pronounce(word)
    }

    pub fn word_count(&self) -> usize {
        self.words.len()
    }

    pub fn rules(&self) -> &LetterToSound {
        &self.rules
    }

    /// Adds pronunciations from a CMUdict file (`word(2) PH ON ES # comment`): alternatives in file
    /// order after those already known; duplicates skipped.
    pub fn add_cmudict(&mut self, source_name: &str, text: &str) -> Result<(), LexiconError> {
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with(";;;") {
                continue;
            }
            let (word, phones) = line.split_once(char::is_whitespace).ok_or_else(|| bad_line(source_name, n, "a word without phones"))?;
            let word = word.split_once('(').map_or(word, |(w, _)| w);
            self.add(source_name, n, word, phones)?;
        }
        Ok(())
    }

    /// Adds pronunciations from a Kaldi lexicon (`WORD<TAB>PH ON ES`, as Speechocean762's
    /// `resource/lexicon.txt`).
    pub fn add_kaldi(&mut self, source_name: &str, text: &str) -> Result<(), LexiconError> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (word, phones) = line.split_once(char::is_whitespace).ok_or_else(|| bad_line(source_name, n, "a word without phones"))?;
            self.add(source_name, n, word, phones)?;
        }
        Ok(())
    }

    fn add(&mut self, source_name: &str, n: usize, word: &str, phones: &str) -> Result<(), LexiconError> {
        let phones = parse_pronunciation(phones).ok_or_else(|| bad_line(source_name, n, &format!("unknown phone in {:?}", phones.trim())))?;
        if word.is_empty() || word.len() > 255 || !word.is_ascii() {
            return Err(bad_line(source_name, n, "the word is empty, longer than 255 bytes or not ASCII"));
        }
        if phones.len() > 255 {
            return Err(bad_line(source_name, n, "more than 255 phones"));
        }
        let prons = self.words.entry(word.to_ascii_uppercase()).or_default();
        if !prons.contains(&phones) && prons.len() < 255 {
            prons.push(phones);
        }
        Ok(())
    }

    /// Learns the letter-to-sound rules from the words present (the first pronunciation of each word
    /// made of letters and apostrophes only).
    pub fn learn_rules(&mut self, min_count: u32) {
        self.rules = LetterToSound::train(&self.training_words(|_| true), min_count);
    }

    /// The plain words (letters and apostrophes only: no `A.`, no digits) with their pronunciations.
    pub fn plain_words(&self) -> impl Iterator<Item = (&str, &[Vec<Phone>])> {
        self.words.iter().filter(|(w, _)| w.bytes().all(|b| b.is_ascii_uppercase() || b == b'\'')).map(|(w, p)| (w.as_str(), p.as_slice()))
    }

    /// `(letters, first pronunciation)` of every plain word for which `keep(word)` holds.
    pub fn training_words(&self, keep: impl Fn(&str) -> bool) -> Vec<(Vec<u8>, Vec<Phone>)> {
        self.plain_words().filter(|(w, _)| keep(w)).map(|(w, p)| (crate::letter_to_sound::letters(w), p[0].clone())).collect()
    }

    pub fn set_rules(&mut self, rules: LetterToSound) {
        self.rules = rules;
    }

    /// The binary form (module notes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut words = Vec::new();
        let mut previous: &[u8] = &[];
        for (word, prons) in &self.words {
            let w = word.as_bytes();
            let shared = previous.iter().zip(w).take(255).take_while(|(a, b)| a == b).count();
            words.push(shared as u8);
            words.push((w.len() - shared) as u8);
            words.extend_from_slice(&w[shared..]);
            words.push(prons.len() as u8);
            for p in prons {
                words.push(p.len() as u8);
                words.extend(p.iter().map(|ph| ph.byte()));
            }
            previous = w;
        }
        let mut out = Vec::with_capacity(words.len() + 64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.words.len() as u32).to_le_bytes());
        out.extend_from_slice(&(words.len() as u32).to_le_bytes());
        out.extend_from_slice(&words);
        out.extend_from_slice(&(self.rules.levels.len() as u32).to_le_bytes());
        for level in &self.rules.levels {
            out.extend_from_slice(&(level.len() as u32).to_le_bytes());
            for (key, chunk) in level {
                out.extend_from_slice(key);
                out.push(chunk.len() as u8);
                out.extend_from_slice(chunk);
            }
        }
        out
    }

    /// Reads the binary form; every size is checked before it is used.
    pub fn from_bytes(bytes: &[u8]) -> Result<Lexicon, LexiconError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(LexiconError::NotALexicon);
        }
        let mut r = Reader { bytes, at: MAGIC.len() };
        let word_count = r.u32()? as usize;
        let words_len = r.u32()? as usize;
        let words_end = r.at.checked_add(words_len).filter(|e| *e <= bytes.len()).ok_or(r.damaged("the word list runs past the end"))?;
        // Each word takes at least 4 bytes: a count this large cannot be honest.
        if word_count > words_len / 4 {
            return Err(r.damaged("more words than the word list could hold"));
        }
        let mut words = BTreeMap::new();
        let mut previous = String::new();
        for _ in 0..word_count {
            let shared = r.u8()? as usize;
            let suffix_len = r.u8()? as usize;
            if shared > previous.len() {
                return Err(r.damaged("a word shares more letters than the previous word has"));
            }
            let suffix = r.take(suffix_len)?;
            let mut word = previous[..shared].to_string();
            word.push_str(std::str::from_utf8(suffix).ok().filter(|s| s.is_ascii()).ok_or(r.damaged("a word is not ASCII"))?);
            if word.is_empty() || word <= previous {
                return Err(r.damaged("words are not sorted and distinct"));
            }
            let pron_count = r.u8()? as usize;
            let mut prons = Vec::with_capacity(pron_count);
            for _ in 0..pron_count {
                let len = r.u8()? as usize;
                if len == 0 {
                    return Err(r.damaged("an empty pronunciation"));
                }
                prons.push(phones(&mut r, len)?);
            }
            if prons.is_empty() {
                return Err(r.damaged("a word without pronunciations"));
            }
            words.insert(word.clone(), prons);
            previous = word;
        }
        if r.at != words_end {
            return Err(r.damaged("the word list's length does not match its words"));
        }
        let level_count = r.u32()? as usize;
        if level_count > WINDOWS.len() {
            return Err(r.damaged("more rule levels than windows"));
        }
        let mut rules = LetterToSound::default();
        for (level, (left, right)) in WINDOWS.iter().take(level_count).enumerate() {
            let rule_count = r.u32()? as usize;
            let key_len = left + right + 1;
            if rule_count > r.remaining() / (key_len + 1) {
                return Err(r.damaged("more rules than bytes left"));
            }
            let mut kept = BTreeMap::new();
            for _ in 0..rule_count {
                let key = r.take(key_len)?.to_vec();
                let len = r.u8()? as usize;
                if len > 2 {
                    return Err(r.damaged("a rule says more than two phones"));
                }
                let chunk: Vec<u8> = phones(&mut r, len)?.iter().map(|p| p.byte()).collect();
                kept.insert(key, chunk);
            }
            if kept.len() != rule_count {
                return Err(r.damaged("a rule level repeats a context"));
            }
            rules.levels.push(kept);
            let _ = level;
        }
        if r.remaining() != 0 {
            return Err(r.damaged("bytes after the last rule"));
        }
        Ok(Lexicon { words, rules })
    }
}

#[cfg(feature = "builtin")]
static BUILTIN: &[u8] = include_bytes!("../data/lexicon.bin");

fn bad_line(source_name: &str, n: usize, problem: &str) -> LexiconError {
    LexiconError::Source { source_name: source_name.to_string(), line: n + 1, problem: problem.to_string() }
}

fn phones(r: &mut Reader, len: usize) -> Result<Vec<Phone>, LexiconError> {
    let at = r.at;
    r.take(len)?.iter().map(|b| Phone::from_byte(*b).ok_or(LexiconError::Damaged { offset: at, problem: "a byte that is no phone" })).collect()
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn damaged(&self, problem: &'static str) -> LexiconError {
        LexiconError::Damaged { offset: self.at, problem }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], LexiconError> {
        if n > self.remaining() {
            return Err(self.damaged("it ends early"));
        }
        let slice = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, LexiconError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, LexiconError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("four bytes")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Lexicon {
        let mut lex = Lexicon::default();
        lex.add_kaldi("lexicon.txt", "ABLE\tEY1 B L\nA\tAH0\nA\tEY0\n").unwrap();
        lex.add_cmudict("cmudict.dict", "able EY1 B AH0 L\na AH0\na(2) EY1\nhello HH AH0 L OW1 # greeting\nhello(2) HH EH0 L OW1\n").unwrap();
        lex
    }

    #[test]
    fn sources_merge_keeping_every_alternative_once() {
        let lex = small();
        let show = |w: &str| {
            lex.pronunciations(w).unwrap().iter().map(|p| p.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ")).collect::<Vec<_>>()
        };
        assert_eq!(show("able"), ["EY1 B L", "EY1 B AH0 L"]);
        assert_eq!(show("A"), ["AH0", "EY0", "EY1"]);
        assert_eq!(show("Hello"), ["HH AH0 L OW1", "HH EH0 L OW1"]);
        assert!(lex.pronunciations("goodbye").is_none());
    }

    #[test]
    fn bad_source_lines_name_the_file_and_line() {
        let mut lex = Lexicon::default();
        let err = lex.add_kaldi("lexicon.txt", "A\tAH0\nB\tQQ\n").unwrap_err();
        assert_eq!(err.to_string(), "lexicon.txt line 2: unknown phone in \"QQ\"");
        let err = lex.add_cmudict("cmudict.dict", "lonely\n").unwrap_err();
        assert_eq!(err.to_string(), "cmudict.dict line 1: a word without phones");
    }

    #[test]
    fn binary_round_trips() {
        let mut lex = small();
        lex.learn_rules(1);
        assert!(!lex.rules().is_empty());
        let bytes = lex.to_bytes();
        assert_eq!(Lexicon::from_bytes(&bytes).unwrap(), lex);
    }

    #[test]
    fn every_truncation_and_every_single_byte_change_is_an_error_or_a_valid_lexicon() {
        let mut lex = small();
        lex.learn_rules(1);
        let bytes = lex.to_bytes();
        for cut in 0..bytes.len() {
            assert!(Lexicon::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..bytes.len() {
            for value in [0u8, 1, 2, 0x7f, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] = value;
                // Must not panic; a changed byte may still decode (another valid phone), but never
                // to a lexicon that breaks its invariants (every pronunciation has a phone).
                if let Ok(decoded) = Lexicon::from_bytes(&damaged) {
                    assert!(decoded.words.values().flatten().all(|p| !p.is_empty()), "byte {at} = {value}");
                }
            }
        }
        assert_eq!(Lexicon::from_bytes(b"hello"), Err(LexiconError::NotALexicon));
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&8u32.to_le_bytes());
        huge.extend_from_slice(&[0; 8]);
        assert!(matches!(Lexicon::from_bytes(&huge), Err(LexiconError::Damaged { .. })));
    }
}
