//! The 39 ARPAbet phones of CMUdict and Speechocean762, with CMUdict's stress marks on vowels.
//!
//! A phone is stored as one byte, `index * 4 + stress`, with `stress` 0, 1, 2 (CMUdict's digits as
//! written: 0 no stress, 1 primary, 2 secondary; `AH0` is 0) or 3 for a consonant (no digit). The byte
//! form keeps the lexicon compact (one byte per phone) and makes comparing phones an integer compare.

use std::fmt;

/// The phone inventory in CMUdict's order (`cmudict.phones`); the phone head's vocabulary uses the
/// same names without stress.
pub const PHONES: [&str; 39] = [
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW",
    "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH",
];

const NO_STRESS: u8 = 3;

/// One phone with its stress mark (vowels) or none (consonants).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Phone(u8);

impl Phone {
    /// Parses `AH0`, `ah1`, `T`; `None` for anything else (a vowel without its digit is accepted as
    /// unstressed-unknown and stored as stress 0, since Speechocean762's scores list them so).
    pub fn parse(text: &str) -> Option<Phone> {
        let upper = text.to_ascii_uppercase();
        let (name, stress) = match upper.as_bytes().last()? {
            d @ b'0'..=b'2' => (&upper[..upper.len() - 1], d - b'0'),
            _ => (upper.as_str(), NO_STRESS),
        };
        let index = PHONES.iter().position(|p| *p == name)? as u8;
        let vowel = is_vowel_name(name);
        match (vowel, stress) {
            (true, NO_STRESS) => Some(Phone(index * 4)),
            (true, s) => Some(Phone(index * 4 + s)),
            (false, NO_STRESS) => Some(Phone(index * 4 + NO_STRESS)),
            (false, _) => None,
        }
    }

    /// The phone from its byte form; `None` for bytes no phone has.
    pub fn from_byte(byte: u8) -> Option<Phone> {
        let (index, stress) = ((byte / 4) as usize, byte % 4);
        let name = PHONES.get(index)?;
        (is_vowel_name(name) != (stress == NO_STRESS)).then_some(Phone(byte))
    }

    /// The byte form (`index * 4 + stress`).
    pub fn byte(self) -> u8 {
        self.0
    }

    /// The phone's name without stress (`AH`), as the phone head's vocabulary spells it.
    pub fn name(self) -> &'static str {
        PHONES[(self.0 / 4) as usize]
    }

    /// Position in [`PHONES`].
    pub fn index(self) -> usize {
        (self.0 / 4) as usize
    }

    /// CMUdict's stress digit for a vowel (0 none, 1 primary, 2 secondary); `None` for consonants.
    pub fn stress(self) -> Option<u8> {
        (self.0 % 4 != NO_STRESS).then_some(self.0 % 4)
    }

    pub fn is_vowel(self) -> bool {
        self.stress().is_some()
    }
}

fn is_vowel_name(name: &str) -> bool {
    matches!(name.as_bytes()[0], b'A' | b'E' | b'I' | b'O' | b'U')
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stress() {
            Some(s) => write!(f, "{}{}", self.name(), s),
            None => f.write_str(self.name()),
        }
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Parses a space-separated pronunciation (`HH AH0 L OW1`); `None` if any phone is unknown or it is empty.
pub fn parse_pronunciation(text: &str) -> Option<Vec<Phone>> {
    let phones: Option<Vec<Phone>> = text.split_whitespace().map(Phone::parse).collect();
    phones.filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phone_round_trips_through_text_and_byte() {
        for name in PHONES {
            let forms: Vec<String> = if is_vowel_name(name) { (0..3).map(|s| format!("{name}{s}")).collect() } else { vec![name.to_string()] };
            for form in forms {
                let phone = Phone::parse(&form).unwrap();
                assert_eq!(phone.to_string(), form);
                assert_eq!(Phone::from_byte(phone.byte()), Some(phone));
                assert_eq!(phone.name(), name);
            }
        }
    }

    #[test]
    fn rejects_what_is_not_a_phone() {
        for bad in ["", "X", "T1", "AH3", "SIL", "0"] {
            assert_eq!(Phone::parse(bad), None, "{bad:?}");
        }
        // Consonant with a stress byte, vowel with the consonant byte, past the inventory.
        assert_eq!(Phone::from_byte(6 * 4), None);
        assert_eq!(Phone::from_byte(3), None);
        assert_eq!(Phone::from_byte(39 * 4), None);
        assert_eq!(parse_pronunciation("  "), None);
        assert_eq!(parse_pronunciation("HH AH0 QQ"), None);
    }
}
