//! `cargo run -p trainer --release --bin prompt-evidence -- --model DIR --phone-head DIR --data CORPUS --speakers dev-speakers.txt`:
//! how much the per-phone evidence of crates/align says, measured on the dev speakers before any
//! head is trained on it (issue 17, item 2). For every listed utterance: the phone head's log
//! posteriors, the prompt's canonical phones (crates/text, from the utterance's text), the forced
//! alignment and the evidence. Reported (markdown on stdout, with 95% speaker-bootstrap intervals):
//!
//! - word level: Pearson r between a word's evidence (mean alignment-free GOP of its phones, mean
//!   LPP) and the experts' word accuracy (train-split labels; dev speakers are train speakers);
//! - utterance level: r between the utterance's mean GOP and its accuracy score;
//! - wrong text: each clip scored with its own text and with the next clip's (a different
//!   sentence): the share where its own text gets the higher mean GOP (a text the audio cannot
//!   fit at all counts as lower);
//! - the time alignment + evidence take per clip.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use sslpron_align::{LogPosteriors, Vocabulary, align, evidence};
use sslpron_text::{Lexicon, prompt};
use trainer::bootstrap::{BootstrapSettings, Clusters, pearson_interval};
use trainer::metrics::pearson;
use trainer::prompt::{Clip, Setup, SetupArgs};

#[derive(Parser)]
#[command(name = "prompt-evidence", about = "How well the per-phone evidence tracks word and utterance labels (dev speakers)")]
struct Args {
    #[command(flatten)]
    setup: SetupArgs,
}

fn main() -> ExitCode {
    trainer::cli::run_binary("prompt-evidence", || run(Args::parse()))
}

/// Mean over `items` of `value`, or `None` when empty.
fn mean(values: impl Iterator<Item = f32>) -> Option<f64> {
    let (sum, n) = values.fold((0.0f64, 0usize), |(s, n), v| (s + v as f64, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Pearson r of `x` against `y` with its 95% speaker-bootstrap interval.
fn r_with_interval(x: &[f64], y: &[f64], speakers: &[String]) -> String {
    match pearson_interval(y, x, &Clusters::by_speaker(speakers), BootstrapSettings::default()) {
        Some([lo, hi]) => format!("{:.3} [{lo:.3}, {hi:.3}]", pearson(x, y)),
        None => format!("{:.3}", pearson(x, y)),
    }
}

/// Mean alignment-free GOP over the prompt's phones, or `None` when the text cannot be aligned.
fn mean_gop(text: &str, clip: &Clip, lexicon: &Lexicon, vocab: &Vocabulary) -> Result<Option<f64>, String> {
    let prompt = prompt(text, lexicon).map_err(|e| format!("{text:?}: {e}"))?;
    let lp = LogPosteriors::new(&clip.log_probs, clip.frames, vocab.len()).map_err(|e| e.to_string())?;
    match align(&prompt, vocab, &lp) {
        Ok(alignment) => Ok(mean(evidence(&alignment, &lp).iter().flatten().map(|p| p.alignment_free.gop))),
        Err(sslpron_align::AlignError::TooShort { .. }) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Each word's mean LPP when `clip` is read as `text` (`None` when the text does not fit the clip).
fn word_lpps(text: &str, clip: &Clip, lexicon: &Lexicon, vocab: &Vocabulary) -> Result<Option<Vec<f64>>, String> {
    let prompt = prompt(text, lexicon).map_err(|e| format!("{text:?}: {e}"))?;
    let lp = LogPosteriors::new(&clip.log_probs, clip.frames, vocab.len()).map_err(|e| e.to_string())?;
    match align(&prompt, vocab, &lp) {
        Ok(alignment) => Ok(Some(evidence(&alignment, &lp).iter().map(|w| mean(w.iter().map(|p| p.lpp)).expect("a word has phones")).collect())),
        Err(sslpron_align::AlignError::TooShort { .. }) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

fn run(args: Args) -> Result<(), String> {
    let setup = Setup::load(&args.setup)?;
    let (vocab, labels, lexicon) = (&setup.vocab, &setup.labels, &setup.lexicon);
    let clips: Vec<Clip> = setup.dev.iter().map(|utt| setup.clip(utt)).collect::<Result<_, _>>()?;
    eprintln!("prompt-evidence: {} clips through the encoder and phone head", clips.len());

    // Word and utterance level, own text.
    let (mut word_gop, mut word_lpp, mut word_label, mut word_speaker) = (vec![], vec![], vec![], vec![]);
    let (mut utt_gop, mut utt_label, mut utt_speaker) = (vec![], vec![], vec![]);
    let (mut mismatched, mut times, mut approximate) = (0usize, vec![], 0usize);
    for clip in &clips {
        let prompt = prompt(&clip.utt.text, lexicon).map_err(|e| format!("{}: {e}", clip.utt.id))?;
        approximate += prompt.words.iter().filter(|w| w.approximate()).count();
        let lp = LogPosteriors::new(&clip.log_probs, clip.frames, vocab.len()).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let alignment = align(&prompt, vocab, &lp).map_err(|e| format!("{}: {e}", clip.utt.id))?;
        let ev = evidence(&alignment, &lp);
        times.push(started.elapsed().as_secs_f64() * 1e3);
        utt_gop.push(mean(ev.iter().flatten().map(|p| p.alignment_free.gop)).expect("a prompt has phones"));
        utt_label.push(clip.utt.labels[0] as f64);
        utt_speaker.push(clip.utt.speaker.clone());
        let words = labels.get(&clip.utt.id).map(Vec::as_slice).unwrap_or(&[]);
        let same = words.len() == prompt.words.len() && words.iter().zip(&prompt.words).all(|(label, p)| label.text.eq_ignore_ascii_case(&p.word));
        if !same {
            mismatched += 1;
            continue;
        }
        for (label, phones) in words.iter().zip(&ev) {
            word_gop.push(mean(phones.iter().map(|p| p.alignment_free.gop)).expect("a word has phones"));
            word_lpp.push(mean(phones.iter().map(|p| p.lpp)).expect("a word has phones"));
            word_label.push(label.accuracy as f64);
            word_speaker.push(clip.utt.speaker.clone());
        }
    }

    // Wrong text: the next clip with a different sentence.
    let (mut own_higher, mut unfit, mut pairs) = (0usize, 0usize, 0usize);
    for (i, clip) in clips.iter().enumerate() {
        let Some(other) = (1..clips.len()).map(|k| &clips[(i + k) % clips.len()]).find(|o| o.utt.text != clip.utt.text) else { continue };
        // Its own text's mean GOP was computed above, in clip order.
        let own = utt_gop[i];
        pairs += 1;
        match mean_gop(&other.utt.text, clip, lexicon, vocab)? {
            Some(wrong) => own_higher += (own > wrong) as usize,
            None => {
                unfit += 1;
                own_higher += 1;
            }
        }
    }

    if clips.is_empty() {
        return Err("no utterances of the listed speakers in the train split".into());
    }

    // Omission and prompt_match (crates/prompt): each word's mean LPP with its own text and with the
    // wrong text; the share of words under each threshold, and of clips whose read share reaches
    // MATCH_SHARE.
    let (mut own_words, mut wrong_words, mut own_clips, mut wrong_clips) = (vec![], vec![], vec![], vec![]);
    for (i, clip) in clips.iter().enumerate() {
        let Some(other) = (1..clips.len()).map(|k| &clips[(i + k) % clips.len()]).find(|o| o.utt.text != clip.utt.text) else { continue };
        if let (Some(own), Some(wrong)) = (word_lpps(&clip.utt.text, clip, lexicon, vocab)?, word_lpps(&other.utt.text, clip, lexicon, vocab)?) {
            own_words.extend(&own);
            wrong_words.extend(&wrong);
            own_clips.push(own);
            wrong_clips.push(wrong);
        }
    }
    let share = |values: &[f64], t: f64| values.iter().filter(|&&v| v < t).count() as f64 / values.len().max(1) as f64;
    let matched = |clips: &[Vec<f64>], t: f64| {
        clips.iter().filter(|words| 1.0 - share(words, t) >= sslpron_prompt::MATCH_SHARE as f64).count() as f64 / clips.len().max(1) as f64
    };
    println!("| word mean LPP threshold | own-text words under it | wrong-text words under it | own clips matched | wrong clips matched |");
    println!("|---|---|---|---|---|");
    for t in [-1.0, -1.5, -2.0, -2.5, -3.0, -4.0, -5.0] {
        println!(
            "| {t:.1}{} | {:.1}% | {:.1}% | {:.1}% | {:.1}% |",
            if t == sslpron_prompt::OMISSION_LPP as f64 { " (used)" } else { "" },
            100.0 * share(&own_words, t),
            100.0 * share(&wrong_words, t),
            100.0 * matched(&own_clips, t),
            100.0 * matched(&wrong_clips, t)
        );
    }
    let clip_mean = |words: &Vec<f64>| words.iter().sum::<f64>() / words.len().max(1) as f64;
    let (own_means, wrong_means): (Vec<f64>, Vec<f64>) = (own_clips.iter().map(clip_mean).collect(), wrong_clips.iter().map(clip_mean).collect());
    println!();
    println!("| clip mean of word LPP threshold | own clips at or above it (match) | wrong clips at or above it (match) |");
    println!("|---|---|---|");
    for t in [-1.0, -1.5, -2.0, -2.5, -3.0] {
        println!(
            "| {t:.1}{} | {:.1}% | {:.1}% |",
            if t == sslpron_prompt::MATCH_MEAN_LPP as f64 { " (used)" } else { "" },
            100.0 * (1.0 - share(&own_means, t)),
            100.0 * (1.0 - share(&wrong_means, t))
        );
    }
    println!();
    times.sort_by(f64::total_cmp);
    let seconds: f64 = clips.iter().map(|c| c.frames as f64 * 0.02).sum::<f64>() / clips.len().max(1) as f64;
    println!("| measure (dev speakers: {} clips, {} speakers) | value |", clips.len(), Clusters::by_speaker(&utt_speaker).len());
    println!("|---|---|");
    println!(
        "| word accuracy vs mean GOP of its phones, r [95% CI] ({} words) | {} |",
        word_label.len(),
        r_with_interval(&word_gop, &word_label, &word_speaker)
    );
    println!("| word accuracy vs mean LPP of its phones, r | {} |", r_with_interval(&word_lpp, &word_label, &word_speaker));
    println!("| utterance accuracy vs mean GOP, r | {} |", r_with_interval(&utt_gop, &utt_label, &utt_speaker));
    println!(
        "| own text scores higher than another clip's text | {own_higher}/{pairs} ({:.1}%; {unfit} texts did not fit the audio at all) |",
        100.0 * own_higher as f64 / pairs.max(1) as f64
    );
    println!(
        "| alignment + evidence per clip (mean clip {seconds:.1} s), median / max | {:.1} ms / {:.1} ms |",
        times[times.len() / 2],
        times[times.len() - 1]
    );
    println!("| words whose labels did not line up with the prompt's words (left out) | {mismatched} utterances |");
    println!("| approximate (not in the lexicon) prompt words | {approximate} |");
    Ok(())
}
