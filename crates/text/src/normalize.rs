//! Sentence text → the words a reader says, each tied to the text it came from.
//!
//! What it does, in order: folds typographic apostrophes and Latin diacritics (`don’t`, `café`),
//! lowercases, splits on whitespace, punctuation, hyphens and symbols (emoji are dropped like
//! punctuation), spells out numbers (`21st`, `3.5`, `1,000`, `1984`, `$5`, `50%`) and `&`, `+`, `@`.
//! A word in another script is an error, not a guess: the lexicon covers English only.

use crate::TextError;
use crate::numbers;

/// The most words one prompt may have: a read-aloud sentence has a few dozen; a page of text would
/// not align on one recording anyway, and the limit bounds the alignment's work.
pub const MAX_WORDS: usize = 300;

/// A span of the prompt and the spoken words it stands for (one for a word, several for `1984`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The text as written (`21st`, `Don’t`).
    pub written: String,
    /// Lowercase spoken words (`["twenty", "first"]`, `["don't"]`).
    pub words: Vec<String>,
}

/// Splits `text` into tokens; errors on text with no words, too many words, or a non-Latin word.
pub fn normalize(text: &str) -> Result<Vec<Token>, TextError> {
    let chars = fold(text);
    let mut tokens = Vec::new();
    let mut currency: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        let (c, start) = chars[i];
        if c.is_ascii_alphabetic() {
            let mut j = i;
            while j < chars.len()
                && (chars[j].0.is_ascii_alphabetic() || (chars[j].0 == '\'' && chars.get(j + 1).is_some_and(|n| n.0.is_ascii_alphabetic())))
            {
                j += 1;
            }
            let word: String = chars[i..j].iter().map(|(c, _)| c.to_ascii_lowercase()).collect();
            tokens.push(Token { written: original(text, &chars, i, j), words: vec![word] });
            // A `$` belongs to the number right after it, not to one after a word (`$US 5`).
            currency = None;
            i = j;
        } else if c.is_ascii_digit() {
            let (token, next) = number(text, &chars, i, currency.take().map(|s| (s, start)));
            tokens.push(token);
            i = next;
        } else if c.is_alphabetic() {
            let mut j = i;
            while j < chars.len() && chars[j].0.is_alphabetic() {
                j += 1;
            }
            return Err(TextError::UnsupportedScript { word: original(text, &chars, i, j) });
        } else {
            let spoken = match c {
                '&' => Some("and"),
                '+' => Some("plus"),
                '@' => Some("at"),
                _ => None,
            };
            if let Some(word) = spoken {
                tokens.push(Token { written: c.to_string(), words: vec![word.to_string()] });
            }
            if c == '$' {
                currency = Some(start);
            } else if !c.is_whitespace() {
                currency = None;
            }
            i += 1;
        }
        if tokens.iter().map(|t| t.words.len()).sum::<usize>() > MAX_WORDS {
            return Err(TextError::TooManyWords { max: MAX_WORDS });
        }
    }
    if tokens.is_empty() {
        return Err(TextError::NoWords);
    }
    Ok(tokens)
}

/// The original text behind folded characters `i..j` (folding may turn one character into two).
fn original(text: &str, chars: &[(char, usize)], i: usize, j: usize) -> String {
    let start = chars[i].1;
    let end = chars.get(j).map_or(text.len(), |c| c.1);
    // Characters folded from one original share its offset; extend to the next original character.
    let end = if end <= start { text[start..].chars().next().map_or(text.len(), |c| start + c.len_utf8()) } else { end };
    text[start..end].trim_end().to_string()
}

/// A number starting at `i`: digits with thousands commas, a decimal part, an ordinal suffix, a
/// following `%`, a preceding `$` (`currency` = the `$`'s offset and the number's).
fn number(text: &str, chars: &[(char, usize)], i: usize, currency: Option<(usize, usize)>) -> (Token, usize) {
    let digit_at = |k: usize| chars.get(k).is_some_and(|c| c.0.is_ascii_digit());
    let mut j = i;
    let mut integer = String::new();
    let mut grouped = false;
    loop {
        while digit_at(j) {
            integer.push(chars[j].0);
            j += 1;
        }
        // `1,000`: a comma followed by exactly three digits continues the number.
        let group = chars.get(j).is_some_and(|c| c.0 == ',') && (1..=3).all(|k| digit_at(j + k)) && !digit_at(j + 4);
        if !group {
            break;
        }
        grouped = true;
        j += 1;
    }
    let mut fraction = String::new();
    if chars.get(j).is_some_and(|c| c.0 == '.') && digit_at(j + 1) {
        j += 1;
        while digit_at(j) {
            fraction.push(chars[j].0);
            j += 1;
        }
    }
    let suffix: String = chars[j..].iter().take(2).map(|c| c.0.to_ascii_lowercase()).collect();
    // Past MAX_CARDINAL the number is read digit by digit and its suffix stays a word of its own.
    let readable = integer.parse::<u64>().ok().is_some_and(|v| v <= numbers::MAX_CARDINAL);
    let ordinal = readable
        && fraction.is_empty()
        && matches!(suffix.as_str(), "st" | "nd" | "rd" | "th")
        && !chars.get(j + 2).is_some_and(|c| c.0.is_ascii_alphabetic());
    if ordinal {
        j += 2;
    }
    let percent = chars.get(j).is_some_and(|c| c.0 == '%');
    if percent {
        j += 1;
    }

    let value: Option<u64> = integer.parse().ok().filter(|v| *v <= numbers::MAX_CARDINAL);
    let mut words: Vec<String> = match value {
        Some(v) if ordinal => numbers::ordinal(v),
        Some(v) => {
            let year = (!grouped && fraction.is_empty() && !percent && currency.is_none() && integer.len() == 4).then(|| numbers::year(v)).flatten();
            year.unwrap_or_else(|| numbers::cardinal(v)).into_iter().map(str::to_string).collect()
        }
        None => numbers::digits(&integer).into_iter().map(str::to_string).collect(),
    };
    if !fraction.is_empty() {
        words.push("point".into());
        words.extend(numbers::digits(&fraction).into_iter().map(str::to_string));
    }
    if percent {
        words.push("percent".into());
    }
    let start = match currency {
        Some((dollar, _)) => {
            words.push(if value == Some(1) && fraction.is_empty() { "dollar" } else { "dollars" }.into());
            dollar
        }
        None => chars[i].1,
    };
    let end = chars.get(j).map_or(text.len(), |c| c.1);
    (Token { written: text[start..end].trim_end().to_string(), words }, j)
}

/// Each character of `text` with its byte offset, after folding: typographic apostrophes become
/// `'`, Latin letters with diacritics their base letters (`é` → `e`, `æ` → `ae`, `ß` → `ss`).
fn fold(text: &str) -> Vec<(char, usize)> {
    let mut out = Vec::with_capacity(text.len());
    for (offset, c) in text.char_indices() {
        let folded: &str = match c {
            '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{2032}' | '`' | '\u{00B4}' => "'",
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => "a",
            'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' => "A",
            'ç' => "c",
            'Ç' => "C",
            'è' | 'é' | 'ê' | 'ë' | 'ē' => "e",
            'È' | 'É' | 'Ê' | 'Ë' | 'Ē' => "E",
            'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
            'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' => "I",
            'ñ' => "n",
            'Ñ' => "N",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => "o",
            'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' => "O",
            'ù' | 'ú' | 'û' | 'ü' | 'ū' => "u",
            'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' => "U",
            'ý' | 'ÿ' => "y",
            'Ý' => "Y",
            'æ' => "ae",
            'Æ' => "AE",
            'œ' => "oe",
            'Œ' => "OE",
            'ß' => "ss",
            _ => {
                out.push((c, offset));
                continue;
            }
        };
        out.extend(folded.chars().map(|f| (f, offset)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spoken(text: &str) -> String {
        normalize(text).unwrap().iter().flat_map(|t| t.words.clone()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn words_case_punctuation_and_hyphens() {
        assert_eq!(spoken("We call it BEAR."), "we call it bear");
        assert_eq!(spoken("  Well-known, isn't it?!  "), "well known isn't it");
        assert_eq!(spoken("“Hello,” she said — twice…"), "hello she said twice");
        assert_eq!(spoken("'Quoted' words"), "quoted words");
    }

    #[test]
    fn apostrophes_and_diacritics_fold() {
        assert_eq!(spoken("Don’t go to the café"), "don't go to the cafe");
        assert_eq!(spoken("naïve Æsop"), "naive aesop");
        let tokens = normalize("Æsop").unwrap();
        assert_eq!(tokens[0].written, "Æsop");
    }

    #[test]
    fn numbers_ordinals_years_money_percent() {
        assert_eq!(spoken("I have 3 cats"), "i have three cats");
        assert_eq!(spoken("the 21st of May"), "the twenty first of may");
        assert_eq!(spoken("in 1984"), "in nineteen eighty four");
        assert_eq!(spoken("1,000 people"), "one thousand people");
        assert_eq!(spoken("3.5 kilos"), "three point five kilos");
        assert_eq!(spoken("$5 and $1"), "five dollars and one dollar");
        assert_eq!(spoken("50% off"), "fifty percent off");
        assert_eq!(spoken("room 2005"), "room two thousand five");
        assert_eq!(spoken("1,2"), "one two");
        assert_eq!(spoken("salt & pepper"), "salt and pepper");
        // A `$` before a word is not the next number's currency; an ordinal too large to read
        // keeps its suffix as a word.
        assert_eq!(spoken("$US 5"), "us five");
        assert_eq!(spoken("1234567890123th"), "one two three four five six seven eight nine zero one two three th");
        let tokens = normalize("on the 2nd").unwrap();
        assert_eq!(tokens[2], Token { written: "2nd".into(), words: vec!["second".into()] });
        let tokens = normalize("costs $12.50!").unwrap();
        assert_eq!(tokens[1].written, "$12.50");
    }

    #[test]
    fn very_long_numbers_are_read_digit_by_digit() {
        assert_eq!(spoken("0123456789012345"), "zero one two three four five six seven eight nine zero one two three four five");
    }

    #[test]
    fn what_is_not_a_sentence_is_an_error() {
        assert_eq!(normalize(""), Err(TextError::NoWords));
        assert_eq!(normalize("  ?!... — "), Err(TextError::NoWords));
        assert_eq!(normalize("🙂🎉"), Err(TextError::NoWords));
        assert_eq!(normalize("hello 你好 world"), Err(TextError::UnsupportedScript { word: "你好".into() }));
        assert_eq!(normalize("Привет"), Err(TextError::UnsupportedScript { word: "Привет".into() }));
        let long = "word ".repeat(MAX_WORDS + 1);
        assert_eq!(normalize(&long), Err(TextError::TooManyWords { max: MAX_WORDS }));
        assert!(normalize(&"word ".repeat(MAX_WORDS)).is_ok());
    }

    #[test]
    fn emoji_between_words_are_dropped() {
        assert_eq!(spoken("good 👍 morning"), "good morning");
    }
}
