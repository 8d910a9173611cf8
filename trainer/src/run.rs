//! A training run: data in, per-epoch dev metrics out, the model exported in the seed's layout.
//!
//! Padding: batches are zero-padded and the model is told each utterance's length, so padding stays out
//! of GroupNorm, attention and pooling; `seed_compat` feeds the padding as audio, as the seed did.
//! Length bucketing keeps the padding small either way (< 5 % on the mini corpus).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use sslpron_audio::PrepareOptions;
use sslpron_model::{EncoderConfig, HeadKind, ModelInfo, Preprocessing, PronunciationModel};

use crate::bootstrap::BootstrapSettings;
use crate::data::{Corpus, CorpusOptions, PhoneVocab, SpeakerInfo, SpeakerList, Utterance, batches, pad_batch};
use crate::metrics;
use crate::phone_ctc::{self, PHONE_HEAD_FILE, PHONE_VOCAB_FILE, PhoneHead};
use crate::plot::{Panel, scatter_png};
use crate::report::{ASPECTS, EvalReport, Scored};
use crate::step::{Batch, OptimSettings, Strategy, TrainState};

/// Where the initial weights come from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Init {
    /// A model directory in the hub layout, or a hub id `OWNER/NAME[@REVISION][:SUBFOLDER]` (downloaded
    /// through `sslpron-hub`); a checkpoint without the strategy's head gets a fresh one.
    Dir(PathBuf),
    /// A fresh model from a config JSON (see [`preset`]).
    Random(serde_json::Value),
}

/// Everything a run depends on; saved as `run.json` in the output folder so that `--resume` needs
/// nothing else.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
    /// Steps of linear warm-up from 0 to `lr` before the linear decay (the seed uses none).
    #[serde(default)]
    pub warmup_steps: usize,
    pub seed: u64,
    pub output: PathBuf,
    pub optim: OptimSettings,
    /// Zero padding without lengths, as the seed (pollutes GroupNorm and mean pooling).
    pub seed_compat: bool,
    /// Weight of the phone-level CTC objective added to the score loss (0: off, the seed's recipe).
    #[serde(default)]
    pub ctc_weight: f64,
    /// Batches whose gradients are summed (each loss scaled by 1/n) before one optimiser step.
    #[serde(default = "one")]
    pub grad_accum: usize,
    /// Start the score head's bias at the training labels' means (a fresh run only). With Adam a bias
    /// moves about `lr` per step, so from 0 it needs thousands of steps to reach scores around 7;
    /// starting there spends training on what distinguishes utterances instead.
    #[serde(default)]
    pub head_bias_label_mean: bool,
    /// Stop after this many optimiser steps (the learning-rate schedule then spans them); the epoch in
    /// progress ends there with its report and checkpoint. `None`: every epoch in full.
    #[serde(default)]
    pub max_steps: Option<usize>,
}

fn one() -> usize {
    1
}

impl RunConfig {
    /// The seed's recipe (General, AdamW lr 1e-5, batch 4, 30 epochs, seed 0, padding masked) on the
    /// corpus at `data`, from `init`, into `output`; change fields with struct update syntax.
    pub fn seed_recipe(data: PathBuf, init: Init, output: PathBuf) -> Self {
        RunConfig {
            data,
            labels: None,
            dev_speakers: None,
            allow_missing_dev_speakers: false,
            strategy: Strategy::General,
            init,
            epochs: 30,
            batch_size: 4,
            lr: 1e-5,
            warmup_steps: 0,
            seed: 0,
            output,
            optim: OptimSettings::default(),
            seed_compat: false,
            ctc_weight: 0.0,
            grad_accum: 1,
            head_bias_label_mean: false,
            max_steps: None,
        }
    }
}

/// Dev metrics of one epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    /// Mean phone CTC loss of the epoch, when that objective is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_ctc_loss: Option<f64>,
    pub seconds: f64,
    /// Pearson r per score (accuracy, fluency, prosody, total); empty without a dev split.
    pub dev_pearson: Vec<f64>,
    pub dev_mse: Vec<f64>,
}

/// Configs of fresh models, named by size. All keep the standard CNN (320x downsampling).
pub fn preset(name: &str) -> Option<serde_json::Value> {
    let (conv, hidden, layers, heads, ffn) = match name {
        "tiny" => (vec![64; 7], 64, 2, 4, 128),
        "small" => (vec![128; 7], 192, 4, 4, 768),
        // The shipped default's size (issue #5): `small`'s transformer on a CNN with 64 channels in its
        // five high-rate layers, which take most of a small model's time (~1.8x faster to train).
        "compact" => (vec![64, 64, 64, 64, 64, 128, 128], 192, 4, 4, 768),
        "base" => (vec![512; 7], 768, 12, 12, 3072),
        // wav2vec2-large-lv60's layout (the seed's large backbones): pre-norm transformer, LayerNorm CNN.
        "large" => (vec![512; 7], 1024, 24, 16, 4096),
        _ => return None,
    };
    let large = name == "large";
    Some(serde_json::json!({
        "model_type": "wav2vec2", "architectures": ["Wav2Vec2Model"],
        "conv_dim": conv, "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2],
        "feat_extract_norm": if large { "layer" } else { "group" }, "do_stable_layer_norm": large, "conv_bias": large,
        "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": ffn,
        "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16,
    }))
}

fn err(context: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> String {
    move |e| format!("{context}: {e}")
}

/// What a checkpoint says about the run's progress (`checkpoints/epoch-NNNN/state.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Progress {
    epochs_done: usize,
    steps_done: usize,
    reports: Vec<EpochReport>,
    /// The epoch whose weights are in `best/`: the highest mean dev Pearson r so far.
    #[serde(default)]
    best_epoch: Option<usize>,
}

/// Model selection on the dev speakers: the mean of the four Pearson r, skipping any that is undefined
/// (a constant series); `None` without a dev split or when none is defined.
pub fn selection_score(report: &EpochReport) -> Option<f64> {
    let finite: Vec<f64> = report.dev_pearson.iter().copied().filter(|v| v.is_finite()).collect();
    (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64)
}

const CHECKPOINTS: &str = "checkpoints";
/// The model of the best dev epoch (model selection on the dev speakers), beside `model/` (the latest).
const BEST: &str = "best";
const LATEST: &str = "latest";

/// Runs training from scratch; returns one report per epoch. Progress goes to stderr, metrics to
/// `output/metrics.jsonl`, the model (seed layout) to `output/model/` after every epoch, and a full
/// checkpoint (model, optimiser, progress) to `output/checkpoints/` that [`resume`] continues from. At
/// the end, with a dev split: `report.json`, `report.txt`, `report.md` and `dev_scatter.png`.
pub fn run(config: &RunConfig, device: &Device) -> Result<Vec<EpochReport>, String> {
    std::fs::create_dir_all(&config.output).map_err(err(config.output.display()))?;
    sslpron_fs::write_file(&config.output.join("run.json"), &serde_json::to_vec_pretty(config).expect("json"))?;
    train(config, device, None)
}

/// Continues the run in `output` from its latest complete checkpoint. A run killed at any moment and
/// resumed ends with the same weights as an uninterrupted one: batch order and random draws are
/// functions of (seed, epoch), and every checkpoint is complete before it becomes the latest.
pub fn resume(output: &Path, device: &Device) -> Result<Vec<EpochReport>, String> {
    let run_json = output.join("run.json");
    let config: RunConfig =
        serde_json::from_slice(&std::fs::read(&run_json).map_err(err(run_json.display()))?).map_err(|e| format!("{}: {e}", run_json.display()))?;
    let latest = output.join(CHECKPOINTS).join(LATEST);
    let checkpoint = match std::fs::read_to_string(&latest) {
        Ok(name) => Some(output.join(CHECKPOINTS).join(name.trim())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None, // killed before the first epoch ended
        Err(e) => return Err(format!("{}: {e}", latest.display())),
    };
    train(&config, device, checkpoint.as_deref())
}

fn train(config: &RunConfig, device: &Device, checkpoint: Option<&Path>) -> Result<Vec<EpochReport>, String> {
    let corpus = Corpus::open_with(&config.data, &CorpusOptions { labels: config.labels.clone() }).map_err(|e| e.to_string())?;
    let all = corpus.split("train").map_err(|e| e.to_string())?;
    // Read now, not after training: a malformed spk2age should stop the run before hours of work.
    let dev_speaker_info = corpus.speaker_info("train").map_err(|e| e.to_string())?;
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

    let (train, dev) = (without_over_long(train, "train")?, without_over_long(dev, "dev")?);

    let phones_wanted = config.ctc_weight > 0.0;
    let (config_json, info, model, phone_ctc, progress) = match checkpoint {
        None => {
            // A fresh model's weights are the first draws of the run's seed.
            device.seed(config.seed);
            let (json, info, mut model) = initial_model(&config.init, config.strategy, device)?;
            if config.head_bias_label_mean {
                set_head_bias_to_label_means(&mut model, &train, device);
            }
            let phone_ctc = match phones_wanted {
                true => {
                    let vocab = PhoneVocab::from_utterances(&train, false);
                    Some((PhoneHead::random(info.config.hidden_size, vocab.len(), device), vocab))
                }
                false => None,
            };
            (json, info, model, phone_ctc, Progress { epochs_done: 0, steps_done: 0, reports: Vec::new(), best_epoch: None })
        }
        Some(dir) => {
            let (json, info, model) = initial_model(&Init::Dir(dir.to_path_buf()), config.strategy, device)?;
            let phone_ctc = match phones_wanted {
                true => {
                    let vocab = PhoneVocab::load(&dir.join(PHONE_VOCAB_FILE)).map_err(|e| e.to_string())?;
                    let head = phone_ctc::load(&dir.join(PHONE_HEAD_FILE), &info.config, vocab.len(), device)?;
                    Some((head, vocab))
                }
                false => None,
            };
            let state = dir.join("state.json");
            let progress: Progress =
                serde_json::from_slice(&std::fs::read(&state).map_err(err(state.display()))?).map_err(|e| format!("{}: {e}", state.display()))?;
            eprintln!("trainer: resuming after epoch {} from {}", progress.epochs_done, dir.display());
            (json, info, model, phone_ctc, progress)
        }
    };
    // CTC targets of every training utterance (phones outside a resumed run's vocabulary are an error).
    let (phone_targets, vocab) = match &phone_ctc {
        Some((_, vocab)) => {
            let targets: Vec<Vec<usize>> = train.iter().map(|u| vocab.encode(u)).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
            if targets.iter().all(Vec::is_empty) {
                return Err(format!(
                    "--ctc-weight needs canonical phones, and no training utterance of {} has any (resource/text-phone or the words' phones in scores.json)",
                    config.data.display()
                ));
            }
            (targets, Some(vocab.clone()))
        }
        None => (Vec::new(), None),
    };
    let options = PrepareOptions { do_normalize: info.preprocessing.do_normalize, min_samples: info.min_samples() };
    let load =
        |utts: &[Utterance]| -> Result<Vec<Vec<f32>>, String> { utts.iter().map(|u| u.load_audio(&options).map_err(|e| e.to_string())).collect() };
    eprintln!("trainer: {} train / {} dev utterances; loading audio", train.len(), dev.len());
    let (train_audio, dev_audio) = (load(&train)?, load(&dev)?);
    let lengths: Vec<usize> = train_audio.iter().map(Vec::len).collect();

    let mut state = TrainState::new(model, config.strategy, config.optim);
    if let Some((head, _)) = phone_ctc {
        state = state.with_phone_ctc(head, config.ctc_weight);
    }
    if let Some(dir) = checkpoint {
        state.load_optimizer(&dir.join("optimizer.bpk"))?;
    }
    let accum = config.grad_accum.max(1);
    let steps_per_epoch = lengths.len().div_ceil(config.batch_size).div_ceil(accum);
    let total_steps = match config.max_steps {
        Some(max) => (steps_per_epoch * config.epochs).min(max),
        None => steps_per_epoch * config.epochs,
    }
    .max(1);
    let Progress { epochs_done, mut steps_done, mut reports, mut best_epoch } = progress;
    let started = Instant::now();
    let started_steps = steps_done;
    for epoch in epochs_done..config.epochs {
        if steps_done >= total_steps {
            break; // --max-steps reached (a resumed run that had reached it ends here too)
        }
        // Random draws (dropout, LayerDrop, SpecAugment) restart from (seed, epoch): a resumed epoch
        // draws exactly what the uninterrupted one did.
        device.seed(config.seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64));
        let epoch_start = Instant::now();
        let (mut loss_sum, mut ctc_sum, mut ctc_batches) = (0.0, 0.0, 0usize);
        let order = batches(&lengths, config.batch_size, config.seed, epoch as u64);
        // `accum` batches per optimiser step; the last group of an epoch may be smaller.
        let mut batches_done = 0;
        for (g, group) in order.chunks(accum).enumerate() {
            if steps_done >= total_steps {
                break;
            }
            batches_done += group.len();
            let mut grads = None;
            for batch in group {
                let samples: Vec<&[f32]> = batch.iter().map(|&i| train_audio[i].as_slice()).collect();
                let labels: Vec<[f32; 4]> = batch.iter().map(|&i| train[i].labels).collect();
                let phones = vocab.is_some().then(|| batch.iter().filter_map(|&i| phone_targets.get(i).cloned()).collect());
                let batch = TrainingBatch::new(&samples, &labels, phones, config.seed_compat, device);
                let (batch_grads, report) = state.batch_gradients(&batch.as_batch(), 1.0 / group.len() as f64);
                grads = Some(state.accumulate(grads, batch_grads));
                loss_sum += report.loss;
                if let Some(ctc) = report.ctc_loss {
                    ctc_sum += ctc;
                    ctc_batches += 1;
                }
            }
            let (grads, _norm) = state.clip(grads.expect("a group has at least one batch"));
            state.apply(grads, learning_rate(config.lr, config.warmup_steps, steps_done, total_steps));
            steps_done += 1;
            let done = (g * accum + group.len()) as f64;
            let elapsed = started.elapsed().as_secs_f64();
            let eta = elapsed / (steps_done - started_steps) as f64 * (total_steps - steps_done) as f64;
            let ctc = match ctc_batches {
                0 => String::new(),
                n => format!(" ctc {:.3}", ctc_sum / n as f64),
            };
            eprint!(
                "\repoch {}/{} batch {}/{} loss {:.3}{ctc} | {:.0} s elapsed, ETA {:.0} s   ",
                epoch + 1,
                config.epochs,
                done,
                order.len(),
                loss_sum / done,
                elapsed,
                eta
            );
        }
        eprintln!();
        let (dev_pearson, dev_mse) = evaluate(state.model(), &dev, &dev_audio, device)?;
        reports.push(EpochReport {
            epoch: epoch + 1,
            train_loss: loss_sum / batches_done.max(1) as f64,
            train_ctc_loss: (ctc_batches > 0).then(|| ctc_sum / ctc_batches as f64),
            seconds: epoch_start.elapsed().as_secs_f64(),
            dev_pearson,
            dev_mse,
        });
        let best_so_far = best_epoch.and_then(|e| reports.get(e - 1)).and_then(selection_score);
        if let Some(score) = selection_score(reports.last().expect("just pushed"))
            && best_so_far.is_none_or(|best| score > best)
        {
            // Written whole under a temporary name, then swapped in: `best/` is always one epoch's model.
            sslpron_fs::write_dir(&config.output.join(BEST), |temp| -> Result<(), String> {
                export(state.model(), &info, &config_json, temp)?;
                save_phone_head(&state, vocab.as_ref(), temp)
            })?;
            best_epoch = Some(epoch + 1);
        }
        let progress = Progress { epochs_done: epoch + 1, steps_done, reports: reports.clone(), best_epoch };
        save_checkpoint(&config.output, &state, vocab.as_ref(), &info, &config_json, &progress)?;
        let lines: Vec<String> = reports.iter().map(|r| serde_json::to_string(r).expect("json")).collect();
        sslpron_fs::write_file(&config.output.join("metrics.jsonl"), format!("{}\n", lines.join("\n")).as_bytes())?;
        sslpron_fs::write_dir(&config.output.join("model"), |temp| -> Result<(), String> {
            export(state.model(), &info, &config_json, temp)?;
            save_phone_head(&state, vocab.as_ref(), temp)
        })?;
    }
    match best_epoch {
        Some(best) if best != config.epochs => {
            let bytes = sslpron_hub::local(&config.output.join(BEST)).read()?;
            let (_, model, _) = sslpron_model::load(&bytes.files(), &device.clone().inner()).map_err(|e| e.to_string())?;
            eprintln!("trainer: best dev epoch: {best} of {} (in {})", config.epochs, config.output.join(BEST).display());
            let name = format!("dev (best epoch {best} of {})", config.epochs);
            final_report(&model, &name, &dev, &dev_audio, &dev_speaker_info, device, &config.output)?;
        }
        _ => final_report(state.model(), "dev", &dev, &dev_audio, &dev_speaker_info, device, &config.output)?,
    }
    Ok(reports)
}

/// One zero-padded training batch as the training loop builds it, owning what [`Batch`] borrows.
pub struct TrainingBatch {
    input: Tensor<2>,
    labels: Tensor<2>,
    /// Each utterance's real length in samples; `None` with `seed_compat` (padding fed as audio).
    lengths: Option<Vec<usize>>,
    phones: Option<Vec<Vec<usize>>>,
}

impl TrainingBatch {
    /// `samples` zero-padded to the longest, one row of `labels` each, and, unless `seed_compat`, the
    /// true lengths that keep the padding out of the model; `phones`: CTC targets when that objective is on.
    pub fn new(samples: &[&[f32]], labels: &[[f32; 4]], phones: Option<Vec<Vec<usize>>>, seed_compat: bool, device: &Device) -> Self {
        let padded = pad_batch(samples);
        let input = Tensor::<1>::from_floats(padded.values.as_slice(), device).reshape([padded.batch_size(), padded.max_len]);
        let flat: Vec<f32> = labels.iter().flatten().copied().collect();
        let labels = Tensor::<1>::from_floats(flat.as_slice(), device).reshape([labels.len(), 4]);
        TrainingBatch { input, labels, lengths: (!seed_compat).then_some(padded.lengths), phones }
    }

    /// The batch for [`TrainState::batch_gradients`].
    pub fn as_batch(&self) -> Batch<'_> {
        Batch { input: self.input.clone(), lengths: self.lengths.as_deref(), labels: self.labels.clone(), phones: self.phones.as_deref() }
    }
}

/// `utts` without those longer than [`sslpron_audio::MAX_AUDIO_SECONDS`] (read from each WAV's header),
/// with a note naming them: what the scorer refuses is not trained on either, and one over-long
/// recording in a batch would ask for an attention matrix that does not fit.
fn without_over_long(utts: Vec<Utterance>, split: &str) -> Result<Vec<Utterance>, String> {
    let max = sslpron_audio::MAX_AUDIO_SECONDS;
    let (mut kept, mut left_out) = (Vec::with_capacity(utts.len()), Vec::new());
    for utt in utts {
        let bytes = std::fs::read(&utt.wav).map_err(err(utt.wav.display()))?;
        let seconds = sslpron_audio::wav_duration_secs(&bytes).map_err(|e| format!("{}: {e}", utt.wav.display()))?;
        match seconds > max {
            true => left_out.push(format!("{} ({seconds:.1} s)", utt.id)),
            false => kept.push(utt),
        }
    }
    if !left_out.is_empty() {
        eprintln!("trainer: note: {} {split} utterance(s) longer than {max:.0} s left out: {}", left_out.len(), left_out.join(", "));
    }
    Ok(kept)
}

/// The seed's schedule: linear decay from `peak` to 0 over all steps; with `warmup` steps, a linear
/// ramp from 0 first (transformers' `get_linear_schedule_with_warmup`). A function of the step alone, so
/// a resumed run continues it exactly.
pub fn learning_rate(peak: f64, warmup: usize, step: usize, total: usize) -> f64 {
    if step < warmup {
        return peak * step as f64 / warmup.max(1) as f64;
    }
    peak * (total.saturating_sub(step)) as f64 / total.saturating_sub(warmup).max(1) as f64
}

/// Writes `checkpoints/epoch-NNNN/` in full under a temporary name, renames it into place, then points
/// `checkpoints/latest` at it (also by rename) and drops older checkpoints: whenever the process dies,
/// `latest` names a complete checkpoint or does not exist yet.
fn save_checkpoint(
    output: &Path,
    state: &TrainState,
    vocab: Option<&PhoneVocab>,
    info: &ModelInfo,
    config_json: &serde_json::Value,
    progress: &Progress,
) -> Result<(), String> {
    let root = output.join(CHECKPOINTS);
    let name = format!("epoch-{:04}", progress.epochs_done);
    sslpron_fs::write_dir(&root.join(&name), |temp| -> Result<(), String> {
        export(state.model(), info, config_json, temp)?;
        save_phone_head(state, vocab, temp)?;
        state.save_optimizer(&temp.join("optimizer.bpk"))?;
        Ok(sslpron_fs::write_file(&temp.join("state.json"), &serde_json::to_vec_pretty(progress).expect("json"))?)
    })?;
    sslpron_fs::write_file(&root.join(LATEST), name.as_bytes())?;
    for entry in std::fs::read_dir(&root).map_err(err(root.display()))?.flatten() {
        let file_name = entry.file_name().to_string_lossy().to_string();
        if file_name.starts_with("epoch-") && file_name != name {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}

/// Sets the score head's bias to the mean of each label over `train`.
pub fn set_head_bias_to_label_means(model: &mut PronunciationModel, train: &[Utterance], device: &Device) {
    let mut means = [0f32; 4];
    for utt in train {
        for (m, l) in means.iter_mut().zip(utt.labels) {
            *m += l / train.len().max(1) as f32;
        }
    }
    if let Some(head) = model.head.as_mut()
        && let Some(bias) = head.score_predictor.bias.take()
    {
        // `from_tensor`, as the model's own parameters are made: a parameter built with `initialized`
        // does not require gradients, and the bias then stayed at the label means for a whole fresh run
        // while a resumed run (bias read from its checkpoint) trained it.
        let mut param = burn::module::Param::from_tensor(Tensor::<1>::from_floats(means.as_slice(), device));
        param.id = bias.id;
        head.score_predictor.bias = Some(param);
    }
}

/// The phone objective's head and vocabulary, beside `model.safetensors` in `dir` (nothing without it).
fn save_phone_head(state: &TrainState, vocab: Option<&PhoneVocab>, dir: &Path) -> Result<(), String> {
    let (Some(head), Some(vocab)) = (state.phone_head(), vocab) else {
        return Ok(());
    };
    phone_ctc::save(head, &dir.join(PHONE_HEAD_FILE))?;
    vocab.save(&dir.join(PHONE_VOCAB_FILE)).map_err(|e| e.to_string())
}

/// A model directory in the hub layout, or a hub id ([`sslpron_hub::resolve_model`]'s rules, the same
/// as the CLI's).
pub fn locate_model(spec: &Path) -> Result<sslpron_hub::ModelLocation, String> {
    sslpron_hub::resolve_model(&spec.to_string_lossy()).map_err(|e| e.to_string())
}

/// A model for inference from a web-format file (`.sslpron`), a model directory or a hub id (see
/// [`locate_model`]): what `evaluate` and `probe` read.
pub fn load_model_for_inference(spec: &Path, device: &Device) -> Result<(ModelInfo, PronunciationModel), String> {
    if spec.is_file() {
        let bytes = std::fs::read(spec).map_err(err(spec.display()))?;
        let sslpron_model::WebModel { info, model, .. } =
            sslpron_model::load_bundle(&bytes, &spec.display().to_string(), device).map_err(|e| e.to_string())?;
        Ok((info, model))
    } else {
        let bytes = locate_model(spec)?.read()?;
        let (info, model, _) = sslpron_model::load(&bytes.files(), device).map_err(|e| e.to_string())?;
        Ok((info, model))
    }
}

fn initial_model(init: &Init, strategy: Strategy, device: &Device) -> Result<(serde_json::Value, ModelInfo, PronunciationModel), String> {
    let wanted = if strategy == Strategy::Ctc { HeadKind::Ctc } else { HeadKind::General };
    let head = Some(wanted);
    match init {
        Init::Random(json) => {
            let bytes = serde_json::to_vec(json).expect("json");
            let encoder = EncoderConfig::from_json("preset", &bytes).map_err(|e| e.to_string())?;
            let model = sslpron_model::random(&encoder, head, device);
            Ok((json.clone(), ModelInfo { config: encoder, preprocessing: Preprocessing::default() }, model))
        }
        Init::Dir(dir) => {
            let bytes = locate_model(dir)?.read()?;
            let files = bytes.files();
            let (info, model, report) = sslpron_model::load_for_training(&files, device, wanted).map_err(|e| e.to_string())?;
            if !report.fresh.is_empty() {
                eprintln!("trainer: note: {} has no {wanted:?} score head; starting one afresh ({})", bytes.weights_name, report.fresh.join(", "));
            }
            let json = serde_json::from_slice(&bytes.config).map_err(|e| format!("{}: {e}", bytes.config_name))?;
            Ok((json, info, model))
        }
    }
}

/// One value per utterance for each of the four aspects: `[aspect][utterance]`.
pub type PerAspect = [Vec<f64>; 4];

/// Predicted and human scores of `utts` (`[aspect][utterance]`), one utterance at a time (no padding).
pub fn predict(model: &PronunciationModel, utts: &[Utterance], audio: &[Vec<f32>], device: &Device) -> Result<(PerAspect, PerAspect), String> {
    let model = model.valid();
    let inference = device.clone().inner();
    let (mut predicted, mut human): (PerAspect, PerAspect) = Default::default();
    for (utt, samples) in utts.iter().zip(audio) {
        let input = Tensor::<1>::from_floats(samples.as_slice(), &inference).unsqueeze_dim::<2>(0);
        let scores = model.score(input, "model").map_err(|e| format!("{}: {e}", utt.wav.display()))?;
        for (k, value) in scores.as_array().into_iter().enumerate() {
            predicted[k].push(value as f64);
            human[k].push(utt.labels[k] as f64);
        }
    }
    Ok((predicted, human))
}

/// Pearson r and MSE per score on `utts` (empty when there are none).
pub fn evaluate(model: &PronunciationModel, utts: &[Utterance], audio: &[Vec<f32>], device: &Device) -> Result<(Vec<f64>, Vec<f64>), String> {
    if utts.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let (predicted, human) = predict(model, utts, audio, device)?;
    let pearson = (0..4).map(|k| metrics::pearson(&predicted[k], &human[k])).collect();
    let mse = (0..4).map(|k| metrics::mse(&predicted[k], &human[k])).collect();
    Ok((pearson, mse))
}

/// The final report on the dev split (of the best dev epoch's model): `report.json`, `report.txt`
/// (printed too), `report.md` and `dev_scatter.png`, with speaker-bootstrap intervals and the
/// subgroups of `speakers` (the train split's spk2age / spk2gender: dev speakers are train speakers).
fn final_report(
    model: &PronunciationModel,
    name: &str,
    dev: &[Utterance],
    audio: &[Vec<f32>],
    speakers: &SpeakerInfo,
    device: &Device,
    output: &Path,
) -> Result<(), String> {
    if dev.is_empty() {
        return Ok(());
    }
    let (predicted, human) = predict(model, dev, audio, device)?;
    let dev_speakers: Vec<String> = dev.iter().map(|u| u.speaker.clone()).collect();
    let scored = Scored { human: human.each_ref().map(Vec::as_slice), predicted: predicted.each_ref().map(Vec::as_slice), speakers: &dev_speakers };
    let report = EvalReport::analyse(name, &scored, speakers, BootstrapSettings::default());
    report.write(output)?;
    eprintln!("{}", report.table());
    let panels: Vec<Panel> = (0..4).map(|k| Panel { title: ASPECTS[k], human: &human[k], predicted: &predicted[k] }).collect();
    scatter_png(&panels, &output.join("dev_scatter.png"))
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
        sslpron_fs::write_file(&dir.join(name), &bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::learning_rate;

    #[test]
    fn schedule_is_linear_decay_with_optional_warmup() {
        // No warm-up: 1e-5 at step 0, half at the middle, 0 at the end.
        assert_eq!(learning_rate(1e-5, 0, 0, 100), 1e-5);
        assert!((learning_rate(1e-5, 0, 50, 100) - 5e-6).abs() < 1e-18);
        assert_eq!(learning_rate(1e-5, 0, 100, 100), 0.0);
        // 10 warm-up steps: ramps 0 -> peak, then decays over the 90 remaining.
        assert_eq!(learning_rate(1.0, 10, 0, 100), 0.0);
        assert!((learning_rate(1.0, 10, 5, 100) - 0.5).abs() < 1e-12);
        assert_eq!(learning_rate(1.0, 10, 10, 100), 1.0);
        assert!((learning_rate(1.0, 10, 55, 100) - 0.5).abs() < 1e-12);
    }
}
