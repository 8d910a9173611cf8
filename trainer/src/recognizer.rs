//! Training the phone recogniser (crates/model `PhoneRecognizer`): CTC on the canonical phones of
//! `text-phone`, from log-mel features, speed perturbation and SpecAugment, the dev speakers held
//! out for choosing the epoch. The `phone-recognizer` binary runs it; prompt-aware scoring reads the
//! result's posteriors (crates/align).
//!
//! Every train utterance's features are computed once, at each speed of `speeds` (resampling by the
//! audio crate's resampler: a clip played `s` times faster is the clip read as if sampled at
//! `s · 16 kHz`), and kept in memory (~0.9 GB for Speechocean762's train speakers at three speeds);
//! each epoch draws one speed per utterance. Resumable at epoch boundaries: the checkpoint holds the
//! weights, AdamW's state and the progress, and the epoch's randomness is a function of the seed
//! and the epoch.

use std::path::Path;
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use serde::{Deserialize, Serialize};
use sslpron_audio::{LogMel, MEL_BINS, MODEL_SAMPLE_RATE, PrepareOptions};
use sslpron_model::{Kernels, PHONE_RECOGNIZER_CONFIG_FILE, PHONE_RECOGNIZER_FILE, PHONE_VOCAB_FILE, PhoneRecognizer, PhoneRecognizerConfig};

use crate::data::{PhoneVocab, SplitMix64, Utterance, batches};
use crate::phone_ctc;

/// What one run is asked to do.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecognizerRun {
    pub epochs: usize,
    pub lr: f64,
    pub warmup_steps: usize,
    pub batch_size: usize,
    pub weight_decay: f64,
    pub max_grad_norm: f64,
    pub seed: u64,
    /// Playback speeds the train utterances are seen at (1.0 = as recorded).
    pub speeds: Vec<f64>,
    /// SpecAugment: masks per second of audio on the time axis, and their widest span in 10 ms frames;
    /// masks on the mel axis and their widest span in bins.
    pub time_masks_per_second: f64,
    pub time_mask_frames: usize,
    pub mel_masks: usize,
    pub mel_mask_bins: usize,
    /// Stops after this many optimiser steps in total (tests, smoke runs).
    pub max_steps: Option<usize>,
    pub model: PhoneRecognizerConfig,
}

/// Normalised log-mel features of one utterance at one speed, `[frames, MEL_BINS]`.
pub struct Features {
    pub values: Vec<f32>,
    pub frames: usize,
}

/// One utterance ready for training: its features per speed and its targets.
pub struct Example {
    pub id: String,
    pub features: Vec<Features>,
    pub targets: Vec<usize>,
}

/// The recogniser's input for a 16 kHz waveform: log-mel, each bin normalised over the clip.
pub fn features(mel: &LogMel, samples: &[f32]) -> Features {
    let values = mel.normalized(samples);
    Features { frames: values.len() / MEL_BINS, values }
}

/// `samples` played `speed` times faster (shorter for speed > 1), by resampling.
pub fn change_speed(samples: &[f32], speed: f64) -> Result<Vec<f32>, String> {
    if speed == 1.0 {
        return Ok(samples.to_vec());
    }
    let from = (MODEL_SAMPLE_RATE as f64 * speed).round() as u32;
    sslpron_audio::resample(samples, from, MODEL_SAMPLE_RATE).map_err(|e| format!("speed {speed}: {e}"))
}

/// Loads and featurises `utts` at each of `speeds`, with progress on stderr.
pub fn examples(utts: &[Utterance], vocab: &PhoneVocab, speeds: &[f64], what: &str) -> Result<Vec<Example>, String> {
    let mel = LogMel::new();
    let options = PrepareOptions { do_normalize: false, min_samples: sslpron_audio::MEL_WINDOW };
    let started = Instant::now();
    let mut out = Vec::with_capacity(utts.len());
    for (i, utt) in utts.iter().enumerate() {
        let samples = utt.load_audio(&options).map_err(|e| e.to_string())?;
        let features = speeds.iter().map(|&s| change_speed(&samples, s).map(|x| features(&mel, &x))).collect::<Result<Vec<_>, _>>()?;
        out.push(Example { id: utt.id.clone(), features, targets: vocab.encode(utt).map_err(|e| e.to_string())? });
        if (i + 1) % 500 == 0 || i + 1 == utts.len() {
            eprintln!("phone-recognizer: {what}: featurised {}/{} utterances ({:.0} s)", i + 1, utts.len(), started.elapsed().as_secs_f64());
        }
    }
    Ok(out)
}

/// SpecAugment on one utterance's features (zero is each bin's mean after normalisation).
pub fn spec_augment(values: &mut [f32], frames: usize, run: &RecognizerRun, rng: &mut SplitMix64) {
    let time_masks = (run.time_masks_per_second * frames as f64 / 100.0).floor() as usize;
    for _ in 0..time_masks {
        let width = rng.below(run.time_mask_frames + 1);
        if width == 0 || width >= frames {
            continue;
        }
        let start = rng.below(frames - width);
        values[start * MEL_BINS..(start + width) * MEL_BINS].fill(0.0);
    }
    for _ in 0..run.mel_masks {
        let width = rng.below(run.mel_mask_bins + 1);
        if width == 0 {
            continue;
        }
        let start = rng.below(MEL_BINS - width);
        for f in 0..frames {
            values[f * MEL_BINS + start..f * MEL_BINS + start + width].fill(0.0);
        }
    }
}

/// `[batch, longest, MEL_BINS]` zero-padded features and each one's frames.
pub fn pad(items: &[&[f32]], device: &Device) -> (Tensor<3>, Vec<usize>) {
    let frames: Vec<usize> = items.iter().map(|v| v.len() / MEL_BINS).collect();
    let longest = frames.iter().copied().max().unwrap_or(0);
    let mut values = vec![0f32; items.len() * longest * MEL_BINS];
    for (b, v) in items.iter().enumerate() {
        values[b * longest * MEL_BINS..][..v.len()].copy_from_slice(v);
    }
    (Tensor::from_data(TensorData::new(values, [items.len(), longest, MEL_BINS]), device), frames)
}

/// Mean CTC loss of a batch (per utterance over its target length; utterances too short to align are
/// left out, `None` when none is left).
pub fn batch_loss(model: &PhoneRecognizer, mel: Tensor<3>, mel_frames: &[usize], targets: &[Vec<usize>]) -> Option<Tensor<1>> {
    let frames: Vec<usize> = mel_frames.iter().map(|&f| PhoneRecognizer::frames(f)).collect();
    let keep: Vec<usize> = (0..targets.len()).filter(|&i| !targets[i].is_empty() && frames[i] >= phone_ctc::min_frames(&targets[i])).collect();
    if keep.is_empty() {
        return None;
    }
    let logits = model.forward(mel, Some(mel_frames));
    let logits = if keep.len() == targets.len() {
        logits
    } else {
        let index: Vec<i64> = keep.iter().map(|&i| i as i64).collect();
        let device = logits.device();
        logits.select(0, Tensor::<1, Int>::from_ints(index.as_slice(), &device))
    };
    let log_probs = log_softmax(logits, 2).swap_dims(0, 1);
    Some(phone_ctc::ctc_mean(
        log_probs,
        &keep.iter().map(|&i| frames[i]).collect::<Vec<_>>(),
        &keep.iter().map(|&i| targets[i].clone()).collect::<Vec<_>>(),
    ))
}

/// Dev CTC loss and the phone error rate of greedy decoding against the canonical phones (an upper
/// bound on the recogniser's error: learners do not always say the canonical phones).
pub fn dev_metrics(model: &PhoneRecognizer, dev: &[Example], device: &Device) -> (f64, f64) {
    let (mut loss_sum, mut batches_seen, mut errors, mut phones) = (0.0, 0usize, 0usize, 0usize);
    for chunk in dev.chunks(16) {
        let items: Vec<&[f32]> = chunk.iter().map(|e| e.features[0].values.as_slice()).collect();
        let (mel, mel_frames) = pad(&items, device);
        let targets: Vec<Vec<usize>> = chunk.iter().map(|e| e.targets.clone()).collect();
        if let Some(loss) = batch_loss(model, mel.clone(), &mel_frames, &targets) {
            loss_sum += loss.into_scalar::<f32>() as f64;
            batches_seen += 1;
        }
        let logits = model.forward(mel, Some(&mel_frames));
        let [_, longest, tokens] = logits.dims();
        let values = logits.into_data().try_to_vec::<f32>().expect("f32 logits");
        for (i, e) in chunk.iter().enumerate() {
            let path: Vec<usize> = (0..PhoneRecognizer::frames(mel_frames[i]))
                .map(|t| {
                    let row = &values[(i * longest + t) * tokens..][..tokens];
                    (0..tokens).max_by(|&a, &b| row[a].total_cmp(&row[b])).expect("tokens")
                })
                .collect();
            errors += sslpron_text::edit_distance(&phone_ctc::greedy(&path), &e.targets);
            phones += e.targets.len();
        }
    }
    (loss_sum / batches_seen.max(1) as f64, errors as f64 / phones.max(1) as f64)
}

/// One finished epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub steps: usize,
    pub train_ctc: f64,
    pub dev_ctc: f64,
    pub dev_phone_error_rate: f64,
    pub seconds: f64,
}

/// What the checkpoint says about the run (`checkpoint/state.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Progress {
    run: RecognizerRun,
    epochs: Vec<EpochReport>,
    steps_done: usize,
    best_epoch: Option<usize>,
}

const CHECKPOINT: &str = "checkpoint";

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

/// The settings of the run in `output` (its checkpoint's `state.json`), for `--resume`.
pub fn saved_run(output: &Path) -> Result<RecognizerRun, String> {
    let path = output.join(CHECKPOINT).join("state.json");
    let text = std::fs::read(&path).map_err(|e| format!("{}: {e} (nothing to resume)", path.display()))?;
    let progress: Progress = serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(progress.run)
}

/// Writes the recogniser's three files into `dir`.
pub fn save(model: &PhoneRecognizer, config: &PhoneRecognizerConfig, vocab: &PhoneVocab, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    sslpron_fs::write_file(&dir.join(PHONE_RECOGNIZER_FILE), &model.to_safetensors()).map_err(|e| e.to_string())?;
    sslpron_fs::write_file(&dir.join(PHONE_RECOGNIZER_CONFIG_FILE), config.to_json().as_bytes()).map_err(|e| e.to_string())?;
    vocab.save(&dir.join(PHONE_VOCAB_FILE)).map_err(|e| e.to_string())
}

/// Reads what [`save`] wrote; errors name the file.
pub fn load(dir: &Path, kernels: Kernels, device: &Device) -> Result<(PhoneRecognizer, PhoneRecognizerConfig, PhoneVocab), String> {
    let config_path = dir.join(PHONE_RECOGNIZER_CONFIG_FILE);
    let json = std::fs::read(&config_path).map_err(io_err(&config_path))?;
    let config = PhoneRecognizerConfig::from_json(&config_path.display().to_string(), &json).map_err(|e| e.to_string())?;
    let vocab = PhoneVocab::load(&dir.join(PHONE_VOCAB_FILE)).map_err(|e| e.to_string())?;
    if vocab.len() != config.vocab_size {
        return Err(format!(
            "{}: {} tokens, but {} says vocab_size {}",
            dir.join(PHONE_VOCAB_FILE).display(),
            vocab.len(),
            config_path.display(),
            config.vocab_size
        ));
    }
    let weights_path = dir.join(PHONE_RECOGNIZER_FILE);
    let bytes = std::fs::read(&weights_path).map_err(io_err(&weights_path))?;
    let model =
        PhoneRecognizer::from_safetensors(&weights_path.display().to_string(), &bytes, &config, kernels, device).map_err(|e| e.to_string())?;
    Ok((model, config, vocab))
}

/// Trains from scratch (`resume` false) or continues the run in `output` from its last finished
/// epoch (with that run's settings but `run.max_steps`). The epoch with the lowest dev CTC loss is written to `output` ([`save`]'s files), with
/// `report.json`; per-epoch metrics go to `metrics.jsonl`.
pub fn train(
    run: &RecognizerRun,
    train: &[Example],
    dev: &[Example],
    vocab: &PhoneVocab,
    output: &Path,
    resume: bool,
) -> Result<Vec<EpochReport>, String> {
    let device = Device::flex();
    let autodiff = device.clone().autodiff();
    let checkpoint = output.join(CHECKPOINT);
    let state_path = checkpoint.join("state.json");
    let optimizer_path = checkpoint.join("optimizer");
    let mut optimizer = AdamWConfig::new().with_weight_decay(run.weight_decay as f32).init();
    let (mut model, mut progress) = if resume {
        let text = std::fs::read(&state_path).map_err(|e| format!("{}: {e} (nothing to resume)", state_path.display()))?;
        let progress: Progress = serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", state_path.display()))?;
        let (model, _, _) = load(&checkpoint, Kernels::default(), &autodiff)?;
        optimizer = optimizer.load(&optimizer_path).map_err(|e| format!("{}: {e:?}", optimizer_path.display()))?;
        eprintln!("phone-recognizer: resuming after epoch {} ({} steps)", progress.epochs.len(), progress.steps_done);
        (model, progress)
    } else {
        std::fs::create_dir_all(output).map_err(io_err(output))?;
        autodiff.seed(run.seed);
        let model = run.model.init(&autodiff).map_err(|e| e.to_string())?;
        (model, Progress { run: run.clone(), epochs: Vec::new(), steps_done: 0, best_epoch: None })
    };
    // A resumed run keeps its settings but may be bounded differently.
    let run = RecognizerRun { max_steps: run.max_steps, ..progress.run.clone() };
    let lengths: Vec<usize> = train.iter().map(|e| e.features[0].frames).collect();
    let steps_per_epoch = lengths.len().div_ceil(run.batch_size);
    // The schedule spans every epoch; --max-steps only stops early, so a bounded run is the start of the full one.
    let total_steps = steps_per_epoch * run.epochs;
    let stop_at = run.max_steps.unwrap_or(usize::MAX).min(total_steps);
    let metrics_path = output.join("metrics.jsonl");
    for epoch in progress.epochs.len()..run.epochs {
        if progress.steps_done >= stop_at {
            break;
        }
        let started = Instant::now();
        autodiff.seed(run.seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64));
        let mut rng = SplitMix64::for_epoch(run.seed ^ 0x5eed, epoch as u64);
        let (mut loss_sum, mut steps) = (0.0, 0usize);
        for batch in batches(&lengths, run.batch_size, run.seed, epoch as u64) {
            if progress.steps_done >= stop_at {
                break;
            }
            let mut items: Vec<Vec<f32>> = Vec::with_capacity(batch.len());
            for &i in &batch {
                let chosen = &train[i].features[rng.below(train[i].features.len())];
                let mut values = chosen.values.clone();
                spec_augment(&mut values, chosen.frames, &run, &mut rng);
                items.push(values);
            }
            let refs: Vec<&[f32]> = items.iter().map(Vec::as_slice).collect();
            let (mel, mel_frames) = pad(&refs, &autodiff);
            let targets: Vec<Vec<usize>> = batch.iter().map(|&i| train[i].targets.clone()).collect();
            let Some(loss) = batch_loss(&model, mel, &mel_frames, &targets) else { continue };
            let value = loss.clone().into_scalar::<f32>() as f64;
            if !value.is_finite() {
                return Err(format!("the CTC loss became {value} at step {}: lower --lr", progress.steps_done + 1));
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let (grads, _) = crate::step::clip_global_norm(grads, &model, Some(run.max_grad_norm));
            let lr = crate::run::learning_rate(run.lr, run.warmup_steps, progress.steps_done, total_steps);
            model = optimizer.step(lr, model, grads);
            progress.steps_done += 1;
            loss_sum += value;
            steps += 1;
            if steps % 50 == 0 {
                let rate = steps as f64 / started.elapsed().as_secs_f64();
                eprintln!(
                    "phone-recognizer: epoch {} step {steps}/{steps_per_epoch}: train CTC {:.3} ({rate:.2} steps/s, epoch ends in {:.0} s)",
                    epoch + 1,
                    loss_sum / steps as f64,
                    (steps_per_epoch - steps) as f64 / rate
                );
            }
        }
        let (dev_ctc, dev_per) = dev_metrics(&model.valid(), dev, &device);
        let report = EpochReport {
            epoch: epoch + 1,
            steps: progress.steps_done,
            train_ctc: loss_sum / steps.max(1) as f64,
            dev_ctc,
            dev_phone_error_rate: dev_per,
            seconds: started.elapsed().as_secs_f64(),
        };
        eprintln!(
            "phone-recognizer: epoch {}: train CTC {:.4}, dev CTC {dev_ctc:.4}, dev phone error rate (greedy vs canonical) {:.1}% ({:.0} s)",
            epoch + 1,
            report.train_ctc,
            100.0 * dev_per,
            report.seconds
        );
        let best = progress.best_epoch.and_then(|b| progress.epochs.get(b - 1)).map(|r| r.dev_ctc);
        progress.epochs.push(report.clone());
        let line = serde_json::to_string(&report).expect("json") + "\n";
        let mut metrics = std::fs::read(&metrics_path).unwrap_or_default();
        metrics.extend_from_slice(line.as_bytes());
        sslpron_fs::write_file(&metrics_path, &metrics).map_err(|e| e.to_string())?;
        if dev.is_empty() || best.is_none_or(|b| dev_ctc < b) {
            progress.best_epoch = Some(epoch + 1);
            save(&model.valid(), &run.model, vocab, output)?;
        }
        // The checkpoint last, state.json very last: a run killed before it resumes from the epoch before.
        save(&model.valid(), &run.model, vocab, &checkpoint)?;
        optimizer.save(&optimizer_path).map_err(|e| format!("{}: {e:?}", optimizer_path.display()))?;
        sslpron_fs::write_file(&state_path, &serde_json::to_vec_pretty(&progress).expect("json")).map_err(|e| e.to_string())?;
    }
    let report = serde_json::json!({
        "run": run,
        "train_utterances": train.len(),
        "dev_utterances": dev.len(),
        "epochs": progress.epochs,
        "best_epoch": progress.best_epoch,
    });
    sslpron_fs::write_file(&output.join("report.json"), (serde_json::to_string_pretty(&report).expect("json") + "\n").as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(progress.epochs)
}
