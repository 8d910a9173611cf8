//! Letter-to-sound rules for words the lexicon lacks, learned from the lexicon itself.
//!
//! Training (at lexicon build time, `build-lexicon`): each word's letters are aligned to its phones
//! (every letter says nothing, one phone or two, as `x` → `K S`) by hard EM: the first alignment
//! uses letter–phone co-occurrence, the next ones the chunk frequencies of the previous alignment.
//! Then, for every letter in every word, the phones it said are counted under a chain of growing
//! contexts, from the letter alone to three letters on each side. A context is kept only where its
//! most frequent answer differs from what the shorter contexts already predict (and it was seen at
//! least `min_count` times), which keeps the table small.
//!
//! Prediction walks each letter's contexts from the longest and takes the first one kept. The
//! result is an approximation (measured on held-out CMUdict words in crates/text/data/README.md) and
//! is always marked `approximate` where it is used.

use std::collections::{BTreeMap, HashMap};

use crate::phones::Phone;

/// Context windows (letters left, letters right), each extending the previous one.
pub(crate) const WINDOWS: [(usize, usize); 7] = [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 3), (3, 3)];
/// Padding outside the word in a context key.
const EDGE: u8 = b'#';
const EM_ITERATIONS: usize = 5;

/// What one letter says: nothing, one phone or two (phone bytes, [`Phone::byte`]).
pub(crate) type Chunk = Vec<u8>;

/// The learned rules: per window level, the kept contexts and what their centre letter says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LetterToSound {
    pub(crate) levels: Vec<BTreeMap<Vec<u8>, Chunk>>,
}

/// The letters rules are learned on and applied to: `a`–`z` and the apostrophe, lowercase.
pub fn letters(word: &str) -> Vec<u8> {
    word.bytes().map(|b| b.to_ascii_lowercase()).filter(|b| b.is_ascii_lowercase() || *b == b'\'').collect()
}

fn context(letters: &[u8], i: usize, (left, right): (usize, usize)) -> Vec<u8> {
    (i as isize - left as isize..=(i + right) as isize).map(|k| if k < 0 { EDGE } else { *letters.get(k as usize).unwrap_or(&EDGE) }).collect()
}

impl LetterToSound {
    /// Learns rules from `(letters, phones)` pairs (see the module notes).
    pub fn train(words: &[(Vec<u8>, Vec<Phone>)], min_count: u32) -> Self {
        let aligned = align_all(words);
        let mut counts: Vec<HashMap<Vec<u8>, HashMap<Chunk, u32>>> = vec![HashMap::new(); WINDOWS.len()];
        for (letters, chunks) in &aligned {
            for (i, chunk) in chunks.iter().enumerate() {
                for (level, window) in WINDOWS.iter().enumerate() {
                    *counts[level].entry(context(letters, i, *window)).or_default().entry(chunk.clone()).or_default() += 1;
                }
            }
        }
        let mut rules = LetterToSound { levels: Vec::with_capacity(WINDOWS.len()) };
        for (level, contexts) in counts.into_iter().enumerate() {
            let mut kept = BTreeMap::new();
            for (key, answers) in contexts {
                let total: u32 = answers.values().sum();
                // Ties go to the smaller chunk so that training is deterministic.
                let (best, _) = answers.iter().max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0))).expect("a counted context has an answer");
                // Level 0 (the letter alone) is always kept; a wider context only when it is seen
                // often enough and says something its narrower context does not.
                let informative = total >= min_count && rules.lookup(&key, level) != Some(best);
                if level == 0 || informative {
                    kept.insert(key, best.clone());
                }
            }
            rules.levels.push(kept);
        }
        rules
    }

    /// What the rules below `level` say for a level-`level` context key.
    fn lookup(&self, key: &[u8], level: usize) -> Option<&Chunk> {
        let (left, _) = WINDOWS[level];
        (0..level.min(self.levels.len())).rev().find_map(|lower| {
            let (l, r) = WINDOWS[lower];
            self.levels[lower].get(&key[left - l..=left + r])
        })
    }

    /// The rules' pronunciation of `word` (letters outside `a`–`z` and `'` are skipped).
    pub fn pronounce(&self, word: &str) -> Vec<Phone> {
        let letters = letters(word);
        let mut phones = Vec::new();
        for i in 0..letters.len() {
            let top = WINDOWS.len().min(self.levels.len());
            let key = context(&letters, i, WINDOWS[top.saturating_sub(1)]);
            let chunk = if top == 0 { None } else { self.levels[top - 1].get(&key).or_else(|| self.lookup(&key, top - 1)) };
            phones.extend(chunk.into_iter().flatten().filter_map(|b| Phone::from_byte(*b)));
        }
        phones
    }

    /// How many contexts the rules keep.
    pub fn len(&self) -> usize {
        self.levels.iter().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Hard-EM alignment of every word's letters to its phones: per letter, the chunk it says. Words
/// that cannot be aligned (more than two phones per letter, as in abbreviations) are left out.
fn align_all(words: &[(Vec<u8>, Vec<Phone>)]) -> Vec<(Vec<u8>, Vec<Chunk>)> {
    let mut costs = Costs::from_cooccurrence(words);
    let mut aligned = Vec::new();
    for _ in 0..EM_ITERATIONS {
        aligned = words.iter().filter_map(|(l, p)| costs.align(l, p).map(|chunks| (l.clone(), chunks))).collect();
        costs = Costs::from_alignment(&aligned);
    }
    aligned
}

/// Negative log probabilities of what a letter says.
struct Costs {
    single: HashMap<(u8, u8), f64>,
    pair: HashMap<(u8, u8, u8), f64>,
    silent: HashMap<u8, f64>,
    /// Used for (letter, chunk) pairs not in the tables.
    unseen_single: f64,
    unseen_pair: f64,
    unseen_silent: f64,
}

impl Costs {
    /// First guess: a letter says the phones of the words it appears in (each word's phones share one
    /// unit of weight), saying nothing or two phones costs extra.
    fn from_cooccurrence(words: &[(Vec<u8>, Vec<Phone>)]) -> Self {
        let mut counts: HashMap<(u8, u8), f64> = HashMap::new();
        let mut totals: HashMap<u8, f64> = HashMap::new();
        for (letters, phones) in words {
            for &l in letters {
                for p in phones {
                    *counts.entry((l, p.byte())).or_default() += 1.0 / phones.len() as f64;
                    *totals.entry(l).or_default() += 1.0 / phones.len() as f64;
                }
            }
        }
        let single: HashMap<(u8, u8), f64> = counts.into_iter().map(|((l, p), c)| ((l, p), -(c / totals[&l]).ln())).collect();
        let mut pair = HashMap::new();
        for (&(l, p1), c1) in &single {
            for (&(l2, p2), c2) in &single {
                if l == l2 {
                    pair.insert((l, p1, p2), c1 + c2 + 3.0);
                }
            }
        }
        Costs { single, pair, silent: HashMap::new(), unseen_single: 20.0, unseen_pair: 30.0, unseen_silent: 3.0 }
    }

    fn from_alignment(aligned: &[(Vec<u8>, Vec<Chunk>)]) -> Self {
        let mut counts: HashMap<(u8, &[u8]), f64> = HashMap::new();
        let mut totals: HashMap<u8, f64> = HashMap::new();
        for (letters, chunks) in aligned {
            for (l, chunk) in letters.iter().zip(chunks) {
                *counts.entry((*l, chunk.as_slice())).or_default() += 1.0;
                *totals.entry(*l).or_default() += 1.0;
            }
        }
        let (mut single, mut pair, mut silent) = (HashMap::new(), HashMap::new(), HashMap::new());
        for ((l, chunk), c) in counts {
            let cost = -(c / totals[&l]).ln();
            match chunk {
                [] => silent.insert(l, cost),
                [p] => single.insert((l, *p), cost),
                [p1, p2] => pair.insert((l, *p1, *p2), cost),
                _ => unreachable!("chunks hold at most two phones"),
            };
        }
        Costs { single, pair, silent, unseen_single: 20.0, unseen_pair: 40.0, unseen_silent: 20.0 }
    }

    /// The cheapest chunking of `phones` over `letters`, or `None` if there is none.
    fn align(&self, letters: &[u8], phones: &[Phone]) -> Option<Vec<Chunk>> {
        let (n, m) = (letters.len(), phones.len());
        if n == 0 || m > 2 * n {
            return None;
        }
        let p: Vec<u8> = phones.iter().map(|p| p.byte()).collect();
        // best[i][j]: cost of letters[..i] saying p[..j]; step[i][j]: how many phones letter i-1 said.
        let mut best = vec![vec![f64::INFINITY; m + 1]; n + 1];
        let mut step = vec![vec![0u8; m + 1]; n + 1];
        best[0][0] = 0.0;
        for i in 1..=n {
            let l = letters[i - 1];
            for j in 0..=m {
                let mut options = [(best[i - 1][j] + self.silent.get(&l).copied().unwrap_or(self.unseen_silent), 0u8); 3];
                if j >= 1 {
                    options[1] = (best[i - 1][j - 1] + self.single.get(&(l, p[j - 1])).copied().unwrap_or(self.unseen_single), 1);
                }
                if j >= 2 {
                    options[2] = (best[i - 1][j - 2] + self.pair.get(&(l, p[j - 2], p[j - 1])).copied().unwrap_or(self.unseen_pair), 2);
                }
                let (cost, said) = options.into_iter().fold((f64::INFINITY, 0), |a, b| if b.0 < a.0 { b } else { a });
                best[i][j] = cost;
                step[i][j] = said;
            }
        }
        if !best[n][m].is_finite() {
            return None;
        }
        let mut chunks = vec![Vec::new(); n];
        let mut j = m;
        for i in (1..=n).rev() {
            let said = step[i][j] as usize;
            chunks[i - 1] = p[j - said..j].to_vec();
            j -= said;
        }
        Some(chunks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phones::parse_pronunciation;

    fn entry(word: &str, phones: &str) -> (Vec<u8>, Vec<Phone>) {
        (letters(word), parse_pronunciation(phones).unwrap())
    }

    fn toy() -> Vec<(Vec<u8>, Vec<Phone>)> {
        [
            ("cat", "K AE1 T"),
            ("cap", "K AE1 P"),
            ("tap", "T AE1 P"),
            ("pat", "P AE1 T"),
            ("tax", "T AE1 K S"),
            ("cell", "S EH1 L"),
            ("city", "S IH1 T IY0"),
            ("pity", "P IH1 T IY0"),
            ("lap", "L AE1 P"),
            ("pet", "P EH1 T"),
            ("let", "L EH1 T"),
        ]
        .into_iter()
        .map(|(w, p)| entry(w, p))
        .collect()
    }

    #[test]
    fn alignment_gives_each_letter_its_phones() {
        let aligned = align_all(&toy());
        let tax = aligned.iter().find(|(l, _)| l == b"tax").unwrap();
        let said: Vec<String> =
            tax.1.iter().map(|c| c.iter().map(|b| Phone::from_byte(*b).unwrap().to_string()).collect::<Vec<_>>().join(" ")).collect();
        assert_eq!(said, ["T", "AE1", "K S"]);
        let cell = aligned.iter().find(|(l, _)| l == b"cell").unwrap();
        assert_eq!(cell.1.iter().filter(|c| c.is_empty()).count(), 1, "one l of `cell` is silent");
    }

    #[test]
    fn rules_reproduce_training_words_and_generalise_by_context() {
        let rules = LetterToSound::train(&toy(), 1);
        for (letters, phones) in toy() {
            assert_eq!(rules.pronounce(std::str::from_utf8(&letters).unwrap()), phones);
        }
        // `c` before `e`/`i` says S, elsewhere K; `x` says K S: a word none of the rules saw.
        assert_eq!(rules.pronounce("cax"), parse_pronunciation("K AE1 K S").unwrap());
        assert_eq!(rules.pronounce("cit"), parse_pronunciation("S IH1 T").unwrap());
    }

    #[test]
    fn unknown_letters_and_empty_rules_give_no_phones() {
        assert!(LetterToSound::default().pronounce("word").is_empty());
        let rules = LetterToSound::train(&toy(), 1);
        assert!(rules.pronounce("").is_empty());
        assert!(rules.pronounce("zzz").is_empty());
    }
}
