//! Alignment and evidence on synthetic posterior matrices whose best path is known.

use sslpron_align::graph::{Emit, Graph, Slot};
use sslpron_align::{AlignError, LogPosteriors, Vocabulary, align, evidence, gop, search};
use sslpron_text::{PHONES, Prompt, PromptWord, Source, phones::parse_pronunciation};

fn vocab() -> Vocabulary {
    Vocabulary::new(std::iter::once("<blank>").chain(PHONES).map(String::from).collect()).unwrap()
}

fn word(word: &str, prons: &[&str]) -> PromptWord {
    PromptWord {
        written: word.into(),
        word: word.into(),
        pronunciations: prons.iter().map(|p| parse_pronunciation(p).unwrap()).collect(),
        source: Source::Lexicon,
    }
}

fn token(name: &str) -> usize {
    if name == "_" { 0 } else { 1 + PHONES.iter().position(|p| *p == name).unwrap() }
}

/// Posteriors where frame `t` gives `peak` to `frames[t]` (a token name, `_` = blank) and shares
/// the rest evenly.
fn posteriors(frames: &[&str], peak: f32) -> Vec<f32> {
    let v = PHONES.len() + 1;
    let rest = ((1.0 - peak) / (v - 1) as f32).ln();
    let mut out = vec![rest; frames.len() * v];
    for (t, name) in frames.iter().enumerate() {
        out[t * v + token(name)] = peak.ln();
    }
    out
}

fn spans(words: &[sslpron_align::AlignedWord]) -> Vec<Vec<(String, usize, usize)>> {
    words.iter().map(|w| w.phones.iter().map(|p| (p.phone.name().to_string(), p.start, p.end)).collect()).collect()
}

#[test]
fn the_known_path_is_found_with_its_pronunciation_and_pause() {
    let prompt = Prompt { words: vec![word("cat", &["K AE1 T"]), word("the", &["DH AH0", "DH IY0"])] };
    let frames = ["_", "_", "_", "K", "K", "_", "AE", "AE", "AE", "T", "_", "_", "_", "_", "DH", "DH", "IY", "IY", "_", "_"];
    let values = posteriors(&frames, 0.9);
    let lp = LogPosteriors::new(&values, frames.len(), vocab().len()).unwrap();
    let a = align(&prompt, &vocab(), &lp).unwrap();
    let s = |n: &str, a: usize, b: usize| (n.to_string(), a, b);
    assert_eq!(spans(&a.words), vec![vec![s("K", 3, 5), s("AE", 6, 9), s("T", 9, 10)], vec![s("DH", 14, 16), s("IY", 16, 18)]]);
    assert_eq!(a.words[1].pronunciation, 1, "the path says DH IY, the second pronunciation");
    assert_eq!((a.words[0].pause_before, a.words[1].pause_before), (0, 4));
    assert_eq!((a.words[1].start(), a.words[1].end()), (14, 18));
    // The best path's probability is the product of the peaks.
    assert!((a.log_probability - frames.len() as f32 * 0.9f32.ln()).abs() < 1e-4, "{}", a.log_probability);
}

#[test]
fn repeated_phones_across_words_need_a_blank() {
    // "cat top": T T must be split by a blank, so 6 phones need 7 frames.
    let prompt = Prompt { words: vec![word("cat", &["K AE1 T"]), word("top", &["T AA1 P"])] };
    let graph = Graph::new(&[
        Slot { alternatives: vec![["K", "AE", "T"].iter().map(|n| Emit::Token(token(n))).collect()], optional: false },
        Slot { alternatives: vec![["T", "AA", "P"].iter().map(|n| Emit::Token(token(n))).collect()], optional: false },
    ]);
    assert_eq!(graph.min_frames(), 7);
    let values = posteriors(&["K", "AE", "T", "AA", "P", "_"], 0.9);
    let lp = LogPosteriors::new(&values, 6, vocab().len()).unwrap();
    assert_eq!(align(&prompt, &vocab(), &lp).unwrap_err(), AlignError::TooShort { frames: 6, needed: 7 });
    let values = posteriors(&["K", "AE", "T", "_", "T", "AA", "P"], 0.9);
    let lp = LogPosteriors::new(&values, 7, vocab().len()).unwrap();
    let a = align(&prompt, &vocab(), &lp).unwrap();
    assert_eq!((a.words[0].end(), a.words[1].start(), a.words[1].pause_before), (3, 4, 1));
}

/// Pseudo-random log-softmax rows (each probability at least `floor / (1 + tokens·floor)`-ish).
fn random_log_posteriors(frames: usize, tokens: usize, seed: u32, floor: f32) -> Vec<f32> {
    let mut state = seed;
    let mut values = Vec::new();
    for _ in 0..frames {
        let raw: Vec<f32> = (0..tokens)
            .map(|_| {
                state = state.wrapping_mul(1664525).wrapping_add(1013904223);
                floor + (state >> 8) as f32 / (1u32 << 24) as f32
            })
            .collect();
        let sum: f32 = raw.iter().sum();
        values.extend(raw.iter().map(|r| (r / sum).ln()));
    }
    values
}

/// Every frame labelling of `frames` frames over `tokens` tokens (tokens^frames of them).
fn labellings(frames: usize, tokens: usize) -> impl Iterator<Item = Vec<usize>> {
    (0..tokens.pow(frames as u32)).map(move |mut n| {
        (0..frames)
            .map(|_| {
                let d = n % tokens;
                n /= tokens;
                d
            })
            .collect()
    })
}

/// CTC's collapse: merge repeats, drop blanks.
fn collapse(labels: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut previous = None;
    for &l in labels {
        if Some(l) != previous && l != 0 {
            out.push(l);
        }
        previous = Some(l);
    }
    out
}

#[test]
fn forward_and_viterbi_match_brute_force_over_every_labelling() {
    // 3 tokens (blank, 1, 2), 6 frames, pseudo-random posteriors; targets with a repeat and with
    // two alternatives per slot.
    let (frames, tokens) = (6, 3);
    let values = random_log_posteriors(frames, tokens, 12345, 0.05);
    let lp = LogPosteriors::new(&values, frames, tokens).unwrap();
    let cases: Vec<(Vec<Slot>, Vec<Vec<usize>>)> = vec![
        (vec![Slot { alternatives: vec![vec![Emit::Token(1), Emit::Token(1), Emit::Token(2)]], optional: false }], vec![vec![1, 1, 2]]),
        (
            vec![
                Slot { alternatives: vec![vec![Emit::Token(2)], vec![Emit::Token(1), Emit::Token(2)]], optional: false },
                Slot { alternatives: vec![vec![Emit::Token(1)]], optional: false },
            ],
            vec![vec![2, 1], vec![1, 2, 1]],
        ),
    ];
    for (slots, sequences) in cases {
        let graph = Graph::new(&slots);
        let (mut total, mut best) = (0f64, f64::NEG_INFINITY);
        for labels in labellings(frames, tokens) {
            if sequences.contains(&collapse(&labels)) {
                let log_p: f64 = labels.iter().enumerate().map(|(t, &l)| values[t * tokens + l] as f64).sum();
                total += log_p.exp();
                best = best.max(log_p);
            }
        }
        let forward = search::log_likelihood(&graph, &lp) as f64;
        assert!((forward - total.ln()).abs() < 1e-4, "forward {forward} vs brute force {}", total.ln());
        let (_, viterbi) = search::viterbi(&graph, &lp).unwrap();
        assert!((viterbi as f64 - best).abs() < 1e-4, "viterbi {viterbi} vs brute force {best}");
    }
}

#[test]
fn the_gop_finds_a_substituted_and_a_skipped_phone() {
    // Prompt "bit sat"; the speaker says B IY T (IY for IH) and S T (AE skipped).
    let prompt = Prompt { words: vec![word("bit", &["B IH1 T"]), word("sat", &["S AE1 T"])] };
    let frames = ["_", "B", "B", "IY", "IY", "IY", "T", "_", "_", "S", "S", "_", "T", "T", "_"];
    let values = posteriors(&frames, 0.8);
    let lp = LogPosteriors::new(&values, frames.len(), vocab().len()).unwrap();
    let a = align(&prompt, &vocab(), &lp).unwrap();
    let ev = evidence(&a, &lp);
    let gop: Vec<Vec<f32>> = ev.iter().map(|w| w.iter().map(|p| p.alignment_free.gop).collect()).collect();
    let (ih, ae) = (gop[0][1], gop[1][1]);
    for word in &gop {
        assert!(word.iter().all(|&g| g <= 1e-3), "GOP is a log ratio against a superset: {gop:?}");
    }
    // The wrong phone is its word's lowest by a wide margin. Its neighbours lose a little too (T of
    // "bit" can be read as IY held longer, which explains IY's frames better): GOP-AF is a property
    // of the sequence, so a bad phone pulls its neighbours down; phones further away stay near 0.
    assert!(ih < gop[0][0] - 3.0 && ih < gop[0][2] - 3.0, "{gop:?}");
    assert!(ae < gop[1][0] - 3.0 && ae < gop[1][2] - 3.0, "{gop:?}");
    assert!(gop[0][0] > -1.0 && gop[1][0] > -1.0 && gop[1][2] > -1.0, "{gop:?}");
    // AE was skipped: the sequence without it explains the audio better (negative deletion ratio);
    // IH was said as something: deleting it explains the audio worse.
    assert!(ev[1][1].alignment_free.deletion < -3.0 && ev[0][1].alignment_free.deletion > 0.0, "{:?}", ev[1][1].alignment_free.deletion);
    assert!(ih < -3.0 && ae < -3.0, "{gop:?}");
    // LPP and LPR on the substituted phone: IY beats IH on its frames.
    let ih_evidence = &ev[0][1];
    assert!(ih_evidence.lpp < 0.5f32.ln());
    assert!(ih_evidence.lpr[token("IY") - 1] < -3.0 && ih_evidence.lpr[token("IH") - 1] == 0.0);
    assert!(ev[0][0].lpp > 0.7f32.ln() && ev[0][0].frames == 2);
}

#[test]
fn bad_inputs_are_errors() {
    assert!(matches!(LogPosteriors::new(&[0.0; 5], 2, 3), Err(AlignError::Shape(_))));
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert!(matches!(LogPosteriors::new(&[0.0, bad], 1, 2), Err(AlignError::Shape(_))), "{bad}");
    }
    assert!(matches!(LogPosteriors::new(&[0.0], 1, 1), Err(AlignError::Shape(_))));
    assert_eq!(Vocabulary::new(vec!["AA".into()]).unwrap_err(), AlignError::NoBlank(Some("AA".into())));
    let small = Vocabulary::new(vec!["<blank>".into(), "AA".into()]).unwrap();
    let prompt = Prompt { words: vec![word("cat", &["K AE1 T"])] };
    let values = vec![0.0f32; 20];
    let lp = LogPosteriors::new(&values, 10, 2).unwrap();
    assert_eq!(align(&prompt, &small, &lp).unwrap_err(), AlignError::UnknownPhone { phone: "K".into(), word: "cat".into() });
    let lp = LogPosteriors::new(&values, 5, 4).unwrap();
    assert!(matches!(align(&prompt, &vocab(), &lp), Err(AlignError::Shape(_))));
}

fn linear(labels: &[usize]) -> Graph {
    Graph::new(&labels.iter().map(|&l| Slot { alternatives: vec![vec![Emit::Token(l)]], optional: false }).collect::<Vec<_>>())
}

#[test]
fn every_gop_variant_equals_a_full_forward_pass_over_its_own_sequence() {
    // Random posteriors over 6 tokens, 12 frames; sequences with repeats, neighbours equal to the
    // substitute, one label, and a label at each end.
    let (frames, tokens) = (12, 6);
    let values = random_log_posteriors(frames, tokens, 99, 0.02);
    let lp = LogPosteriors::new(&values, frames, tokens).unwrap();
    for labels in [vec![3], vec![1, 2], vec![2, 2, 3], vec![1, 3, 1, 4, 4, 5], vec![5, 1, 5]] {
        let log_p = search::log_likelihood(&linear(&labels), &lp);
        assert!((gop::log_likelihood(&labels, &lp) - log_p).abs() < 1e-4);
        let free = gop::alignment_free(&labels, &lp);
        assert_eq!(free.len(), labels.len());
        for (i, f) in free.iter().enumerate() {
            let mut everything = f32::NEG_INFINITY;
            for q in 1..tokens {
                let mut variant = labels.clone();
                variant[i] = q;
                let expected = log_p - search::log_likelihood(&linear(&variant), &lp);
                assert!((f.substitution[q - 1] - expected).abs() < 2e-4, "{labels:?} [{i}] -> {q}: {} vs {expected}", f.substitution[q - 1]);
                everything = sslpron_align::posteriors::log_add_exp(everything, log_p - expected);
            }
            let mut deleted = labels.clone();
            deleted.remove(i);
            let log_deleted =
                if deleted.is_empty() { (0..frames).map(|t| lp.frame(t)[0]).sum::<f32>() } else { search::log_likelihood(&linear(&deleted), &lp) };
            assert!((f.deletion - (log_p - log_deleted)).abs() < 2e-4, "{labels:?} delete [{i}]: {} vs {}", f.deletion, log_p - log_deleted);
            everything = sslpron_align::posteriors::log_add_exp(everything, log_deleted);
            assert!((f.gop - (log_p - everything)).abs() < 2e-4);
            assert!(f.substitution[labels[i] - 1].abs() < 1e-4);
        }
    }
}

#[test]
fn feature_rows_follow_the_documented_layout() {
    use sslpron_align::features::{PHONE_SCALARS, phone_feature_width, phone_rows, sentence_feature_width, sentence_row};
    let prompt = Prompt { words: vec![word("cat", &["K AE1 T"]), word("the", &["DH AH0", "DH IY0"])] };
    let frames = ["_", "_", "_", "K", "K", "_", "AE", "AE", "AE", "T", "_", "_", "_", "_", "DH", "DH", "IY", "IY", "_", "_"];
    let values = posteriors(&frames, 0.9);
    let lp = LogPosteriors::new(&values, frames.len(), vocab().len()).unwrap();
    let a = align(&prompt, &vocab(), &lp).unwrap();
    let ev = evidence(&a, &lp);
    // A 3-channel "encoder" whose channel 0 is the frame index: a phone's mean is the middle of its span.
    let hidden: Vec<f32> = (0..frames.len()).flat_map(|t| [t as f32, 1.0, -1.0]).collect();
    let rows = phone_rows(&a, &ev, &hidden, 3);
    let width = phone_feature_width(vocab().len(), 3);
    assert_eq!(width, PHONE_SCALARS.len() + 2 * PHONES.len() + 3);
    assert_eq!(rows.features.len(), 5 * width);
    assert_eq!(rows.word_of_phone, [0, 0, 0, 1, 1]);
    assert_eq!(rows.tokens, [token("K"), token("AE"), token("T"), token("DH"), token("IY")]);
    let row = |i: usize| &rows.features[i * width..(i + 1) * width];
    // Scalars: frames, pause before the word (first phone only), word start and end.
    assert_eq!(&row(0)[3..7], &[2.0, 0.0, 1.0, 0.0]);
    assert_eq!(&row(2)[3..7], &[1.0, 0.0, 0.0, 1.0]);
    assert_eq!(&row(3)[3..7], &[2.0, 4.0, 1.0, 0.0]);
    // The encoder state over AE's frames 6..9 has channel 0 = 7.
    assert_eq!(&row(1)[width - 3..], &[7.0, 1.0, -1.0]);
    let sentence = sslpron_align::sentence::sentence_features(&vec![0.0; 16_000], 2, 5);
    let s = sentence_row(&sentence, &hidden, 3);
    assert_eq!(s.len(), sentence_feature_width(3));
    assert_eq!(&s[s.len() - 3..], &[9.5, 1.0, -1.0]);
}
