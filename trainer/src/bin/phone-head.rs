//! `cargo run -p trainer --release --bin phone-head -- --model DIR --data CORPUS --speakers dev-speakers.txt --output DIR`:
//! fits the phone CTC head (`phone_head.safetensors` + `phone_vocab.json`, trainer/src/phone_ctc.rs)
//! on a trained model whose encoder stays frozen. The alignment and the per-phone evidence of
//! prompt-aware scoring (crates/align) read this head's posteriors; a model trained without
//! `--ctc-weight`, or one shipped without its head (the default model), gets one here in minutes
//! instead of a full training run.
//!
//! The encoder's hidden states (the last, or `--layer K`) of every train-split utterance are computed
//! once and kept in memory; the head (a linear layer, after `--head-layers N` transformer layers)
//! then trains on them with CTC against the canonical phones of
//! `text-phone`, AdamW, the listed (dev) speakers held out. The epoch with the lowest dev CTC loss is
//! kept. Reported per epoch: train and dev CTC loss, dev phone error rate of greedy decoding against
//! the canonical phones (an upper bound on the head's error: learners do not always say the
//! canonical phones).

use std::path::PathBuf;
use std::process::ExitCode;

use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use clap::Parser;
use sslpron_audio::PrepareOptions;
use trainer::data::{Corpus, PhoneVocab, SpeakerList, SplitMix64, Utterance};
use trainer::phone_ctc::{self, PHONE_HEAD_FILE, PHONE_VOCAB_FILE, PhoneHead};

#[derive(Parser)]
#[command(name = "phone-head", about = "Fit the phone CTC head on a trained model's frozen encoder")]
struct Args {
    /// Model directory (hub layout), web model file (.sslpron) or hub id.
    #[arg(long)]
    model: PathBuf,
    /// Corpus root in Speechocean762's layout (its train split is used).
    #[arg(long)]
    data: PathBuf,
    /// Speakers held out for choosing the epoch (one id per line): the dev speakers.
    #[arg(long)]
    speakers: PathBuf,
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Transformer layers (the encoder's shape) before the head's linear layer: for an encoder that
    /// was not trained to tell phones apart, read from an early hidden state (`--layer 0`).
    #[arg(long, default_value_t = 0)]
    head_layers: usize,
    /// Which hidden state the head reads: 0 = the first transformer layer's input, 1..=layers = each
    /// layer's output (default: the last, as the phone objective of training reads).
    #[arg(long)]
    layer: Option<usize>,
    /// Where phone_head.safetensors, phone_vocab.json and phone_head_report.json go.
    #[arg(long)]
    output: PathBuf,
}

fn main() -> ExitCode {
    trainer::cli::run_binary("phone-head", || run(Args::parse()))
}

/// One utterance's frozen encoder output and its CTC targets.
struct Encoded {
    hidden: Vec<f32>,
    frames: usize,
    targets: Vec<usize>,
}

fn encode(
    model: &sslpron_model::PronunciationModel,
    layer: Option<usize>,
    utts: &[Utterance],
    vocab: &PhoneVocab,
    options: &PrepareOptions,
    device: &Device,
) -> Result<Vec<Encoded>, String> {
    let started = std::time::Instant::now();
    let mut out = Vec::with_capacity(utts.len());
    for (i, utt) in utts.iter().enumerate() {
        let samples = utt.load_audio(options).map_err(|e| e.to_string())?;
        let input = Tensor::<1>::from_floats(samples.as_slice(), device).unsqueeze_dim::<2>(0);
        let (_, hidden) = trainer::prompt::encoder_states(model, input, layer).map_err(|e| format!("--layer: {e}"))?;
        let [_, frames, _] = hidden.dims();
        let hidden = hidden.into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        out.push(Encoded { hidden, frames, targets: vocab.encode(utt).map_err(|e| e.to_string())? });
        if (i + 1) % 500 == 0 || i + 1 == utts.len() {
            eprintln!("phone-head: encoded {}/{} utterances ({:.0} s)", i + 1, utts.len(), started.elapsed().as_secs_f64());
        }
    }
    Ok(out)
}

/// `[batch, frames, hidden]` zero-padded to the longest, with each utterance's frames.
fn pad(items: &[&Encoded], hidden_size: usize, device: &Device) -> (Tensor<3>, Vec<usize>) {
    let longest = items.iter().map(|e| e.frames).max().unwrap_or(0);
    let mut values = vec![0f32; items.len() * longest * hidden_size];
    for (b, e) in items.iter().enumerate() {
        values[b * longest * hidden_size..][..e.hidden.len()].copy_from_slice(&e.hidden);
    }
    let tensor = Tensor::<3>::from_data(TensorData::new(values, [items.len(), longest, hidden_size]), device);
    (tensor, items.iter().map(|e| e.frames).collect())
}

/// Mean CTC loss (per utterance, over target length) and the phone error rate of greedy decoding.
fn dev_metrics(head: &PhoneHead, dev: &[Encoded], hidden_size: usize, device: &Device) -> (f64, f64) {
    let (mut loss_sum, mut batches, mut errors, mut phones) = (0.0, 0usize, 0usize, 0usize);
    for chunk in dev.chunks(32) {
        let items: Vec<&Encoded> = chunk.iter().collect();
        let (hidden, frames) = pad(&items, hidden_size, device);
        let targets: Vec<Vec<usize>> = items.iter().map(|e| e.targets.clone()).collect();
        if let Some(loss) = phone_ctc::loss(head, hidden.clone(), &frames, &targets) {
            loss_sum += loss.into_scalar::<f32>() as f64;
            batches += 1;
        }
        let valid = sslpron_model::feature_encoder::frame_mask(&frames, hidden.dims()[1], device);
        let logits = head.forward_masked(hidden, Some(valid));
        let [_, longest, tokens] = logits.dims();
        let values = logits.into_data().try_to_vec::<f32>().expect("f32 logits");
        for (i, e) in items.iter().enumerate() {
            let path: Vec<usize> = (0..e.frames)
                .map(|t| {
                    let row = &values[(i * longest + t) * tokens..][..tokens];
                    (0..tokens).max_by(|&a, &b| row[a].total_cmp(&row[b])).expect("tokens")
                })
                .collect();
            let decoded = phone_ctc::greedy(&path);
            errors += sslpron_text::edit_distance(&decoded, &e.targets);
            phones += e.targets.len();
        }
    }
    (loss_sum / batches.max(1) as f64, errors as f64 / phones.max(1) as f64)
}

fn run(args: Args) -> Result<(), String> {
    let device = Device::flex();
    let (info, model) = trainer::run::load_model_for_inference(&args.model, &device)?;
    let corpus = Corpus::open(&args.data).map_err(|e| e.to_string())?;
    let utts = corpus.split("train").map_err(|e| e.to_string())?;
    let (train, dev) = SpeakerList::read(&args.speakers).and_then(|list| list.split(utts)).map_err(|e| e.to_string())?;
    // Every ARPAbet phone gets a token, seen in training or not: the aligner meets any word's phones.
    let inventory: Vec<String> = sslpron_text::PHONES.iter().map(|p| p.to_string()).collect();
    let vocab = PhoneVocab::build(std::iter::once(inventory.as_slice()).chain(train.iter().map(|u| u.phones.as_slice())), false)
        .with_hidden_state(args.layer);
    eprintln!("phone-head: {} train and {} dev utterances, {} tokens", train.len(), dev.len(), vocab.len());
    let options = PrepareOptions { do_normalize: info.preprocessing.do_normalize, min_samples: info.min_samples() };
    let hidden_size = info.config.hidden_size;
    let train_encoded = encode(&model, args.layer, &train, &vocab, &options, &device)?;
    let dev_encoded = encode(&model, args.layer, &dev, &vocab, &options, &device)?;

    let autodiff = device.clone().autodiff();
    let mut head = PhoneHead::random_with_layers(&info.config, args.head_layers, vocab.len(), &autodiff);
    let mut optimizer = AdamWConfig::new().with_weight_decay(0.0).init();
    let mut best: Option<(usize, f64, PhoneHead)> = None;
    let mut epochs = Vec::new();
    for epoch in 0..args.epochs {
        let started = std::time::Instant::now();
        let mut order: Vec<usize> = (0..train_encoded.len()).collect();
        SplitMix64::for_epoch(args.seed, epoch as u64).shuffle(&mut order);
        let (mut loss_sum, mut steps) = (0.0, 0usize);
        for chunk in order.chunks(args.batch_size) {
            let items: Vec<&Encoded> = chunk.iter().map(|&i| &train_encoded[i]).collect();
            let (hidden, frames) = pad(&items, hidden_size, &autodiff);
            let targets: Vec<Vec<usize>> = items.iter().map(|e| e.targets.clone()).collect();
            let Some(loss) = phone_ctc::loss(&head, hidden, &frames, &targets) else { continue };
            loss_sum += loss.clone().into_scalar::<f32>() as f64;
            steps += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            head = optimizer.step(args.lr, head, grads);
        }
        let (dev_loss, dev_per) = dev_metrics(&head.valid(), &dev_encoded, hidden_size, &device);
        let train_loss = loss_sum / steps.max(1) as f64;
        eprintln!(
            "phone-head: epoch {:>2}: train CTC {train_loss:.4}, dev CTC {dev_loss:.4}, dev phone error rate (greedy vs canonical) {:.1}% ({:.0} s)",
            epoch + 1,
            100.0 * dev_per,
            started.elapsed().as_secs_f64()
        );
        epochs.push(serde_json::json!({ "epoch": epoch + 1, "train_ctc": train_loss, "dev_ctc": dev_loss, "dev_phone_error_rate": dev_per }));
        if best.as_ref().is_none_or(|(_, loss, _)| dev_loss < *loss) {
            best = Some((epoch + 1, dev_loss, head.clone()));
        }
    }
    let (best_epoch, _, head) = best.ok_or("--epochs must be at least 1")?;
    std::fs::create_dir_all(&args.output).map_err(|e| format!("{}: {e}", args.output.display()))?;
    phone_ctc::save(&head.valid(), &args.output.join(PHONE_HEAD_FILE))?;
    vocab.save(&args.output.join(PHONE_VOCAB_FILE)).map_err(|e| e.to_string())?;
    let report = serde_json::json!({
        "model": args.model.display().to_string(),
        "train_utterances": train.len(),
        "dev_utterances": dev.len(),
        "epochs": epochs,
        "best_epoch": best_epoch,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "seed": args.seed,
    });
    let text = serde_json::to_string_pretty(&report).expect("json") + "\n";
    sslpron_fs::write_file(&args.output.join("phone_head_report.json"), text.as_bytes()).map_err(|e| e.to_string())?;
    eprintln!("phone-head: epoch {best_epoch} kept; wrote {} and {} to {}", PHONE_HEAD_FILE, PHONE_VOCAB_FILE, args.output.display());
    Ok(())
}
