//! `cargo run -p trainer --release --bin phone-recognizer -- --data CORPUS --speakers dev-speakers.txt --output DIR`:
//! trains the phone recogniser (crates/model `PhoneRecognizer`, trainer/src/recognizer.rs) with CTC
//! on the train split's canonical phones, the listed (dev) speakers held out for choosing the epoch.
//! Its defaults are the recipe of the recogniser prompt-aware scoring uses (docs/EVALUATION.md,
//! "Phone recogniser"). `--resume` continues the run in `--output` from its last finished epoch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sslpron_audio::MEL_BINS;
use sslpron_model::PhoneRecognizerConfig;
use trainer::data::{Corpus, PhoneVocab, SpeakerList};
use trainer::recognizer::{self, RecognizerRun};

#[derive(Parser)]
#[command(name = "phone-recognizer", about = "Train the phone recogniser (log-mel CTC) on a corpus in Speechocean762's layout")]
struct Args {
    /// Corpus root in Speechocean762's layout (its train split is used).
    #[arg(long)]
    data: PathBuf,
    /// Speakers held out for choosing the epoch (one id per line): the dev speakers.
    #[arg(long)]
    speakers: PathBuf,
    /// Where the recogniser (phone_recognizer.safetensors, phone_recognizer.json, phone_vocab.json),
    /// metrics.jsonl, report.json and the checkpoint go.
    #[arg(long)]
    output: PathBuf,
    /// Continue the run in --output with its saved settings (only --max-steps, --data and --speakers are
    /// read; give the same corpus and speaker list).
    #[arg(long)]
    resume: bool,
    #[arg(long, default_value_t = 40)]
    epochs: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, default_value_t = 500)]
    warmup_steps: usize,
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    #[arg(long, default_value_t = 0.01)]
    weight_decay: f64,
    #[arg(long, default_value_t = 5.0)]
    max_grad_norm: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Playback speeds each train utterance is seen at, one drawn per epoch (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "0.9,1.0,1.1")]
    speeds: Vec<f64>,
    #[arg(long, default_value_t = 192)]
    hidden_size: usize,
    #[arg(long, default_value_t = 4)]
    layers: usize,
    #[arg(long, default_value_t = 4)]
    heads: usize,
    #[arg(long, default_value_t = 768)]
    intermediate_size: usize,
    #[arg(long, default_value_t = 0.1)]
    dropout: f64,
    /// Stop after this many optimiser steps in all.
    #[arg(long)]
    max_steps: Option<usize>,
}

fn main() -> ExitCode {
    trainer::cli::run_binary("phone-recognizer", || run(Args::parse()))
}

fn run(args: Args) -> Result<(), String> {
    if args.speeds.is_empty() || args.speeds.iter().any(|s| !(0.5..=2.0).contains(s)) {
        return Err(format!("--speeds {:?}: each must be within 0.5..=2.0", args.speeds));
    }
    if args.batch_size == 0 || args.epochs == 0 {
        return Err("--batch-size and --epochs must be at least 1".into());
    }
    let corpus = Corpus::open(&args.data).map_err(|e| e.to_string())?;
    let utts = corpus.split("train").map_err(|e| e.to_string())?;
    let (train, dev) = SpeakerList::read(&args.speakers).and_then(|list| list.split(utts)).map_err(|e| e.to_string())?;
    // Every ARPAbet phone gets a token, seen in training or not: the aligner meets any word's phones.
    let inventory: Vec<String> = sslpron_text::PHONES.iter().map(|p| p.to_string()).collect();
    let vocab = PhoneVocab::build(std::iter::once(inventory.as_slice()).chain(train.iter().map(|u| u.phones.as_slice())), false);
    let mut model = PhoneRecognizerConfig::new(MEL_BINS, vocab.len());
    model.hidden_size = args.hidden_size;
    model.num_hidden_layers = args.layers;
    model.num_attention_heads = args.heads;
    model.intermediate_size = args.intermediate_size;
    model.dropout = args.dropout;
    let mut run = RecognizerRun {
        epochs: args.epochs,
        lr: args.lr,
        warmup_steps: args.warmup_steps,
        batch_size: args.batch_size,
        weight_decay: args.weight_decay,
        max_grad_norm: args.max_grad_norm,
        seed: args.seed,
        speeds: args.speeds.clone(),
        time_masks_per_second: 1.0,
        time_mask_frames: 20,
        mel_masks: 2,
        mel_mask_bins: 10,
        max_steps: args.max_steps,
        model,
    };
    if args.resume {
        run = RecognizerRun { max_steps: args.max_steps, ..recognizer::saved_run(&args.output)? };
    }
    eprintln!("phone-recognizer: {} train and {} dev utterances, {} tokens", train.len(), dev.len(), vocab.len());
    let train_examples = recognizer::examples(&train, &vocab, &run.speeds, "train")?;
    let dev_examples = recognizer::examples(&dev, &vocab, &[1.0], "dev")?;
    let epochs = recognizer::train(&run, &train_examples, &dev_examples, &vocab, &args.output, args.resume)?;
    if let Some(best) = epochs.iter().min_by(|a, b| a.dev_ctc.total_cmp(&b.dev_ctc)) {
        eprintln!(
            "phone-recognizer: kept epoch {} (dev CTC {:.4}, phone error rate {:.1}%) in {}",
            best.epoch,
            best.dev_ctc,
            100.0 * best.dev_phone_error_rate,
            args.output.display()
        );
    }
    Ok(())
}
