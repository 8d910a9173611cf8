//! Time of `align` + `evidence` for a 5 s clip (250 frames of 20 ms, 40 tokens) and a 13-word
//! sentence, median of 21 runs; the budget for alignment + head is 100 ms native.
//!
//!     cargo run --release -p sslpron-align --example align_timing

use std::time::Instant;

use sslpron_align::{LogPosteriors, Vocabulary, align, evidence};
use sslpron_text::{Lexicon, PHONES, prompt};

fn main() {
    let lexicon = Lexicon::builtin();
    let text = "The quick brown fox jumps over the lazy dog near the riverbank today";
    let prompt = prompt(text, &lexicon).expect("a plain sentence");
    let vocab = Vocabulary::new(std::iter::once("<blank>").chain(PHONES).map(String::from).collect()).expect("blank first");
    let (frames, tokens) = (250, vocab.len());
    // Pseudo-random log-softmax rows with a strong blank, as a trained CTC head gives.
    let mut seed = 7u32;
    let mut values = Vec::with_capacity(frames * tokens);
    for _ in 0..frames {
        let raw: Vec<f32> = (0..tokens)
            .map(|q| {
                seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                (seed >> 8) as f32 / (1u32 << 24) as f32 * 4.0 + if q == 0 { 3.0 } else { 0.0 }
            })
            .collect();
        let log_sum = raw.iter().map(|r| r.exp()).sum::<f32>().ln();
        values.extend(raw.iter().map(|r| r - log_sum));
    }
    let lp = LogPosteriors::new(&values, frames, tokens).expect("a valid matrix");
    let phones: usize = prompt.words.iter().map(|w| w.pronunciations[0].len()).sum();
    let mut times = Vec::new();
    for _ in 0..21 {
        let start = Instant::now();
        let alignment = align(&prompt, &vocab, &lp).expect("fits");
        let ev = evidence(&alignment, &lp);
        std::hint::black_box(ev);
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!("{} words, {phones} phones, {frames} frames, {tokens} tokens: align + evidence {:.2} ms (median of 21)", prompt.words.len(), times[10]);
}
