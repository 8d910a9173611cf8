//! A training run: data in, per-epoch dev metrics out, the model exported in the seed's layout.
//!
//! Padding: batches are zero-padded and the model is told each utterance's length, so padding stays out
//! of GroupNorm, attention and pooling; `seed_compat` feeds the padding as audio, as the seed did.
//! Length bucketing keeps the padding small either way (< 5 % on the mini corpus).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use serde::Serialize;
use sslpron_audio::PrepareOptions;
use sslpron_model::{EncoderConfig, HeadKind, ModelFiles, ModelInfo, Preprocessing, PronunciationModel};

use crate::data::{Corpus, CorpusOptions, SpeakerList, Utterance, batches, pad_batch};
use crate::metrics;
use crate::step::{OptimSettings, Strategy, TrainState};

/// Where the initial weights come from.
#[derive(Clone, Debug)]
pub enum Init {
    /// A model directory in the hub layout (encoder-only checkpoints get a fresh head).
    Dir(PathBuf),
    /// A fresh model from a config JSON (see [`preset`]).
    Random(serde_json::Value),
}

#[derive(Clone, Debug)]
pub struct RunConfig {
    pub data: PathBuf,
    pub labels: Option<PathBuf>,
    pub dev_speakers: Option<PathBuf>,
    /// Drop dev speakers the corpus does not have (the mini corpus) instead of refusing.
    pub allow_missing_dev_speakers: bool,
    pub strategy: Strategy,
    pub init: Init,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub seed: u64,
    pub output: PathBuf,
    pub optim: OptimSettings,
    /// Zero padding without lengths, as the seed (pollutes GroupNorm and mean pooling).
    pub seed_compat: bool,
}

/// Dev metrics of one epoch.
#[derive(Clone, Debug, Serialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    pub seconds: f64,
    /// Pearson r per score (accuracy, fluency, prosody, total); empty without a dev split.
    pub dev_pearson: Vec<f64>,
    pub dev_mse: Vec<f64>,
}

/// Configs of fresh models, named by size. All keep the standard CNN (320x downsampling).
pub fn preset(name: &str) -> Option<serde_json::Value> {
    let (conv, hidden, layers, heads, ffn) = match name {
        "tiny" => (64, 64, 2, 4, 128),
        "small" => (128, 192, 4, 4, 768),
        "base" => (512, 768, 12, 12, 3072),
        _ => return None,
    };
    Some(serde_json::json!({
        "model_type": "wav2vec2", "architectures": ["Wav2Vec2Model"],
        "conv_dim": vec![conv; 7], "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2],
        "feat_extract_norm": "group", "do_stable_layer_norm": false, "conv_bias": false,
        "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": ffn,
        "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16,
    }))
}

fn err(context: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> String {
    move |e| format!("{context}: {e}")
}

/// Runs training; returns one report per epoch. Progress goes to stderr, metrics to
/// `output/metrics.jsonl`, the model (seed layout) to `output/model/` after every epoch.
pub fn run(config: &RunConfig, device: &Device) -> Result<Vec<EpochReport>, String> {
    let corpus = Corpus::open_with(&config.data, &CorpusOptions { labels: config.labels.clone() }).map_err(|e| e.to_string())?;
    let all = corpus.split("train").map_err(|e| e.to_string())?;
    let (train, dev) = match &config.dev_speakers {
        Some(path) => {
            let mut list = SpeakerList::read(path).map_err(|e| e.to_string())?;
            if config.allow_missing_dev_speakers {
                let (kept, dropped) = list.restricted_to(&all);
                if !dropped.is_empty() {
                    eprintln!("trainer: note: {} dev speaker(s) of {} are not in this corpus and are ignored", dropped.len(), path.display());
                }
                list = kept;
            }
            list.split(all).map_err(|e| e.to_string())?
        }
        None => (all, Vec::new()),
    };

    let (config_json, info, model) = initial_model(config, device)?;
    let options = PrepareOptions { do_normalize: info.preprocessing.do_normalize, min_samples: info.min_samples() };
    let load = |utts: &[Utterance]| -> Result<Vec<Vec<f32>>, String> {
        utts.iter().map(|u| u.load_audio(&options).map_err(|e| e.to_string())).collect()
    };
    eprintln!("trainer: {} train / {} dev utterances; loading audio", train.len(), dev.len());
    let (train_audio, dev_audio) = (load(&train)?, load(&dev)?);
    let lengths: Vec<usize> = train_audio.iter().map(Vec::len).collect();

    std::fs::create_dir_all(&config.output).map_err(err(config.output.display()))?;
    let metrics_path = config.output.join("metrics.jsonl");
    let mut state = TrainState::new(model, config.strategy, config.optim);
    let steps_per_epoch = lengths.len().div_ceil(config.batch_size);
    let total_steps = (steps_per_epoch * config.epochs).max(1);
    let mut step = 0usize;
    let mut reports = Vec::new();
    let started = Instant::now();
    for epoch in 0..config.epochs {
        let epoch_start = Instant::now();
        let mut loss_sum = 0.0;
        let order = batches(&lengths, config.batch_size, config.seed, epoch as u64);
        for (b, batch) in order.iter().enumerate() {
            let samples: Vec<&[f32]> = batch.iter().map(|&i| train_audio[i].as_slice()).collect();
            let padded = pad_batch(&samples);
            let input = Tensor::<1>::from_floats(padded.values.as_slice(), device).reshape([padded.batch_size(), padded.max_len]);
            let labels: Vec<f32> = batch.iter().flat_map(|&i| train[i].labels).collect();
            let labels = Tensor::<1>::from_floats(labels.as_slice(), device).reshape([batch.len(), 4]);
            // The seed's schedule: linear decay from lr to 0 over all steps, no warm-up.
            let lr = config.lr * (1.0 - step as f64 / total_steps as f64);
            let lengths = (!config.seed_compat).then_some(padded.lengths.as_slice());
            let report = state.step(input, lengths, labels, lr);
            loss_sum += report.loss;
            step += 1;
            let elapsed = started.elapsed().as_secs_f64();
            let eta = elapsed / step as f64 * (total_steps - step) as f64;
            eprint!(
                "\repoch {}/{} batch {}/{} loss {:.3} | {:.0} s elapsed, ETA {:.0} s   ",
                epoch + 1,
                config.epochs,
                b + 1,
                order.len(),
                loss_sum / (b + 1) as f64,
                elapsed,
                eta
            );
        }
        eprintln!();
        let (dev_pearson, dev_mse) = evaluate(state.model(), &dev, &dev_audio, device)?;
        let report = EpochReport {
            epoch: epoch + 1,
            train_loss: loss_sum / order.len().max(1) as f64,
            seconds: epoch_start.elapsed().as_secs_f64(),
            dev_pearson,
            dev_mse,
        };
        append_line(&metrics_path, &serde_json::to_string(&report).expect("serialisable"))?;
        export(state.model(), &info, &config_json, &config.output.join("model"))?;
        reports.push(report);
    }
    Ok(reports)
}

fn initial_model(config: &RunConfig, device: &Device) -> Result<(serde_json::Value, ModelInfo, PronunciationModel), String> {
    let head = Some(if config.strategy == Strategy::Ctc { HeadKind::Ctc } else { HeadKind::General });
    match &config.init {
        Init::Random(json) => {
            let bytes = serde_json::to_vec(json).expect("json");
            let encoder = EncoderConfig::from_json("preset", &bytes).map_err(|e| e.to_string())?;
            let model = sslpron_model::random(&encoder, head, device);
            Ok((json.clone(), ModelInfo { config: encoder, preprocessing: Preprocessing::default() }, model))
        }
        Init::Dir(dir) => {
            let read = |name: &str| std::fs::read(dir.join(name)).map_err(err(dir.join(name).display()));
            let (config_bytes, weights) = (read("config.json")?, read("model.safetensors")?);
            let preprocessor = std::fs::read(dir.join("preprocessor_config.json")).ok();
            let names = [dir.join("config.json"), dir.join("preprocessor_config.json"), dir.join("model.safetensors")].map(|p| p.display().to_string());
            let files = ModelFiles {
                config_name: &names[0],
                config_json: &config_bytes,
                preprocessor_name: &names[1],
                preprocessor_json: preprocessor.as_deref(),
                weights_name: &names[2],
                weights: &weights,
            };
            let (info, model, _) = sslpron_model::load(&files, device).map_err(|e| e.to_string())?;
            if model.head_kind() != head {
                return Err(format!(
                    "{}: has a {:?} head, the {:?} strategy needs {:?} (starting a head afresh on a checkpoint is not supported yet)",
                    names[2],
                    model.head_kind(),
                    config.strategy,
                    head
                ));
            }
            let json = serde_json::from_slice(&config_bytes).map_err(|e| format!("{}: {e}", names[0]))?;
            Ok((json, info, model))
        }
    }
}

/// Pearson r and MSE per score on `utts`, one utterance at a time (no padding).
pub fn evaluate(model: &PronunciationModel, utts: &[Utterance], audio: &[Vec<f32>], device: &Device) -> Result<(Vec<f64>, Vec<f64>), String> {
    if utts.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let model = model.valid();
    let inference = device.clone().inner();
    let (mut predicted, mut human) = (vec![Vec::new(); 4], vec![Vec::new(); 4]);
    for (utt, samples) in utts.iter().zip(audio) {
        let input = Tensor::<1>::from_floats(samples.as_slice(), &inference).unsqueeze_dim::<2>(0);
        let scores = model.score(input, "model").map_err(|e| format!("{}: {e}", utt.wav.display()))?;
        for (k, value) in scores.as_array().into_iter().enumerate() {
            predicted[k].push(value as f64);
            human[k].push(utt.labels[k] as f64);
        }
    }
    let pearson = (0..4).map(|k| metrics::pearson(&predicted[k], &human[k])).collect();
    let mse = (0..4).map(|k| metrics::mse(&predicted[k], &human[k])).collect();
    Ok((pearson, mse))
}

fn append_line(path: &Path, line: &str) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(err(path.display()))?;
    writeln!(file, "{line}").map_err(err(path.display()))
}

/// Writes `model.safetensors` (seed layout), `config.json` and `preprocessor_config.json` into `dir`,
/// each through a temporary file and a rename, so a reader never sees a half-written file.
pub fn export(model: &PronunciationModel, info: &ModelInfo, config_json: &serde_json::Value, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(err(dir.display()))?;
    let weights = sslpron_model::to_safetensors(&sslpron_model::export_seed_layout(model, &info.config));
    let preprocessor = serde_json::json!({
        "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1, "padding_value": 0.0,
        "sampling_rate": info.preprocessing.sampling_rate, "do_normalize": info.preprocessing.do_normalize,
        "return_attention_mask": false,
    });
    for (name, bytes) in [
        ("model.safetensors", weights),
        ("config.json", serde_json::to_vec_pretty(config_json).expect("json")),
        ("preprocessor_config.json", serde_json::to_vec_pretty(&preprocessor).expect("json")),
    ] {
        let path = dir.join(name);
        let temp = dir.join(format!(".{name}.partial"));
        std::fs::write(&temp, bytes).map_err(err(temp.display()))?;
        std::fs::rename(&temp, &path).map_err(err(path.display()))?;
    }
    Ok(())
}
