//! Digits to the words a reader says: cardinals, ordinals (`21st`), decimals (`3.5`), years (`1984`).

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const SCALES: [(u64, &str); 3] = [(1_000_000_000, "billion"), (1_000_000, "million"), (1_000, "thousand")];

/// The largest number spelled out; longer digit strings are read digit by digit, as people read
/// account or phone numbers.
pub const MAX_CARDINAL: u64 = 999_999_999_999;

/// `n` as spoken words ("one hundred twenty three"; no "and", as CMUdict-based lexicons expect
/// either reading and American speakers mostly drop it).
pub fn cardinal(n: u64) -> Vec<&'static str> {
    let mut words = Vec::new();
    if n == 0 {
        words.push(ONES[0]);
        return words;
    }
    let mut rest = n;
    for (scale, name) in SCALES {
        if rest >= scale {
            below_thousand(rest / scale, &mut words);
            words.push(name);
            rest %= scale;
        }
    }
    below_thousand(rest, &mut words);
    words
}

fn below_thousand(n: u64, words: &mut Vec<&'static str>) {
    debug_assert!(n < 1000);
    if n >= 100 {
        words.push(ONES[(n / 100) as usize]);
        words.push("hundred");
    }
    below_hundred(n % 100, words);
}

fn below_hundred(n: u64, words: &mut Vec<&'static str>) {
    match n {
        0 => {}
        1..=19 => words.push(ONES[n as usize]),
        _ => {
            words.push(TENS[(n / 10) as usize]);
            if !n.is_multiple_of(10) {
                words.push(ONES[(n % 10) as usize]);
            }
        }
    }
}

/// `n` as an ordinal ("twenty first"): the cardinal with its last word made ordinal.
pub fn ordinal(n: u64) -> Vec<String> {
    let mut words: Vec<String> = cardinal(n).into_iter().map(str::to_string).collect();
    if let Some(last) = words.last_mut() {
        *last = ordinal_word(last);
    }
    words
}

fn ordinal_word(word: &str) -> String {
    match word {
        "one" => "first".into(),
        "two" => "second".into(),
        "three" => "third".into(),
        "five" => "fifth".into(),
        "eight" => "eighth".into(),
        "nine" => "ninth".into(),
        "twelve" => "twelfth".into(),
        w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
        w => format!("{w}th"),
    }
}

/// A four-digit year as read aloud: 1984 "nineteen eighty four", 1900 "nineteen hundred",
/// 2005 "two thousand five", 2024 "twenty twenty four". `None` outside 1100–2099 or for 2000–2009's
/// first decade handled as cardinals ("two thousand five" is both).
pub fn year(n: u64) -> Option<Vec<&'static str>> {
    if !(1100..=2099).contains(&n) || (2000..2010).contains(&n) {
        return None;
    }
    let (high, low) = (n / 100, n % 100);
    let mut words = Vec::new();
    below_hundred(high, &mut words);
    match low {
        0 => words.push("hundred"),
        1..=9 => {
            words.push("oh");
            words.push(ONES[low as usize]);
        }
        _ => below_hundred(low, &mut words),
    }
    Some(words)
}

/// Digits one by one ("four two"), for strings too long to be read as one number.
pub fn digits(text: &str) -> Vec<&'static str> {
    text.bytes().filter(u8::is_ascii_digit).map(|d| ONES[(d - b'0') as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(words: Vec<&str>) -> String {
        words.join(" ")
    }

    #[test]
    fn cardinals() {
        assert_eq!(joined(cardinal(0)), "zero");
        assert_eq!(joined(cardinal(7)), "seven");
        assert_eq!(joined(cardinal(13)), "thirteen");
        assert_eq!(joined(cardinal(40)), "forty");
        assert_eq!(joined(cardinal(99)), "ninety nine");
        assert_eq!(joined(cardinal(100)), "one hundred");
        assert_eq!(joined(cardinal(123)), "one hundred twenty three");
        assert_eq!(joined(cardinal(1_000)), "one thousand");
        assert_eq!(joined(cardinal(1_000_001)), "one million one");
        assert_eq!(joined(cardinal(20_310)), "twenty thousand three hundred ten");
        assert_eq!(
            joined(cardinal(MAX_CARDINAL)),
            ["nine hundred ninety nine billion", "nine hundred ninety nine million", "nine hundred ninety nine thousand", "nine hundred ninety nine"]
                .join(" ")
        );
    }

    #[test]
    fn ordinals() {
        let o = |n| ordinal(n).join(" ");
        assert_eq!(o(1), "first");
        assert_eq!(o(2), "second");
        assert_eq!(o(3), "third");
        assert_eq!(o(4), "fourth");
        assert_eq!(o(5), "fifth");
        assert_eq!(o(8), "eighth");
        assert_eq!(o(9), "ninth");
        assert_eq!(o(12), "twelfth");
        assert_eq!(o(20), "twentieth");
        assert_eq!(o(21), "twenty first");
        assert_eq!(o(100), "one hundred th".replace(" th", "th"));
    }

    #[test]
    fn years() {
        let y = |n| year(n).map(|w| w.join(" "));
        assert_eq!(y(1984).as_deref(), Some("nineteen eighty four"));
        assert_eq!(y(1900).as_deref(), Some("nineteen hundred"));
        assert_eq!(y(1905).as_deref(), Some("nineteen oh five"));
        assert_eq!(y(2024).as_deref(), Some("twenty twenty four"));
        assert_eq!(y(2005), None);
        assert_eq!(y(999), None);
        assert_eq!(y(2100), None);
    }

    #[test]
    fn digit_by_digit() {
        assert_eq!(joined(digits("4021")), "four zero two one");
    }
}
