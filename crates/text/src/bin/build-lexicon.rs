//! Builds `data/lexicon.bin` from CMUdict and Speechocean762's lexicon (scripts/build-lexicon.sh
//! fetches both and runs this). Also measures the letter-to-sound rules on held-out words.
//!
//! usage: build-lexicon --cmudict cmudict.dict --kaldi lexicon.txt --out lexicon.bin [--min-count N] [--evaluate]

use std::path::PathBuf;
use std::process::ExitCode;

use sslpron_text::letter_to_sound::LetterToSound;
use sslpron_text::{Lexicon, Phone};

struct Args {
    cmudict: PathBuf,
    kaldi: PathBuf,
    out: PathBuf,
    min_count: u32,
    evaluate: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut cmudict, mut kaldi, mut out, mut min_count, mut evaluate) = (None, None, None, 2, false);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--cmudict" => cmudict = Some(PathBuf::from(value()?)),
            "--kaldi" => kaldi = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--min-count" => min_count = value()?.parse().map_err(|_| "--min-count takes a positive integer".to_string())?,
            "--evaluate" => evaluate = true,
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    let need = |v: Option<PathBuf>, name: &str| v.ok_or(format!("{name} is required"));
    Ok(Args { cmudict: need(cmudict, "--cmudict")?, kaldi: need(kaldi, "--kaldi")?, out: need(out, "--out")?, min_count, evaluate })
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("build-lexicon: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args().map_err(|e| format!("{e}\nusage: build-lexicon --cmudict FILE --kaldi FILE --out FILE [--min-count N] [--evaluate]"))?;
    let mut lexicon = Lexicon::default();
    // The corpus's own lexicon first: its pronunciations are the ones its labels were made with.
    lexicon.add_kaldi(&args.kaldi.display().to_string(), &read(&args.kaldi)?).map_err(|e| e.to_string())?;
    lexicon.add_cmudict(&args.cmudict.display().to_string(), &read(&args.cmudict)?).map_err(|e| e.to_string())?;
    if args.evaluate {
        evaluate(&lexicon, args.min_count);
    }
    lexicon.learn_rules(args.min_count);
    let bytes = lexicon.to_bytes();
    let decoded = Lexicon::from_bytes(&bytes).map_err(|e| format!("the new lexicon does not decode: {e}"))?;
    if decoded != lexicon {
        return Err("the new lexicon does not decode to itself".into());
    }
    sslpron_fs::write_file(&args.out, &bytes).map_err(|e| e.to_string())?;
    eprintln!(
        "build-lexicon: {} words, {} letter-to-sound contexts, {} bytes -> {}",
        lexicon.word_count(),
        lexicon.rules().len(),
        bytes.len(),
        args.out.display()
    );
    Ok(())
}

/// Trains the rules on 95% of the plain words and reports how they do on the other 5% (chosen by a
/// hash of the word, so the split is the same every run): word accuracy and phone error rate,
/// stress ignored (the phone head does not see stress).
fn evaluate(lexicon: &Lexicon, min_count: u32) {
    let held_out = |w: &str| w.bytes().fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619)) % 20 == 0;
    let train = lexicon.training_words(|w| !held_out(w));
    let rules = LetterToSound::train(&train, min_count);
    let (mut words, mut right, mut errors, mut phones) = (0usize, 0usize, 0usize, 0usize);
    for (word, prons) in lexicon.plain_words().filter(|(w, _)| held_out(w)) {
        let guess = names(&rules.pronounce(word));
        let best = prons.iter().map(|p| sslpron_text::edit_distance(&guess, &names(p))).min().expect("a pronunciation");
        words += 1;
        right += (best == 0) as usize;
        errors += best;
        phones += names(&prons[0]).len();
    }
    eprintln!(
        "build-lexicon: letter-to-sound on {words} held-out words (min count {min_count}, {} contexts): word accuracy {:.1}%, phone error rate {:.1}%",
        rules.len(),
        100.0 * right as f64 / words as f64,
        100.0 * errors as f64 / phones as f64
    );
}

fn names(phones: &[Phone]) -> Vec<&'static str> {
    phones.iter().map(|p| p.name()).collect()
}
