//! `cargo run -p trainer --release --bin prompt-head -- --model DIR --phone-head DIR --data CORPUS --speakers dev-speakers.txt --output DIR`:
//! trains the prompt-aware head (crates/model/src/prompt_head.rs) on a frozen encoder and phone
//! head (issue 17, item 4, the fast way). Every train-split utterance goes once through the encoder,
//! the phone head, the forced alignment of its own text and the evidence (crates/align); the head
//! then trains on those inputs with utterance MSE + `--word-weight` × the masked word MSE (word
//! accuracy and total, train-split labels), AdamW, the listed (dev) speakers held out. The epoch with
//! the best mean dev utterance r is kept.
//!
//! At the end it reports, on the dev speakers: utterance r per aspect for the audio-only model
//! (`--model`'s own score head) and for the head, their paired speaker-bootstrap difference (95%
//! interval and the share of resamples the head wins), and the word-level r (accuracy, total).
//! Writes `prompt_head.safetensors`, `prompt_head.json` (shape and input standardisation) and
//! `prompt_head_report.json` to `--output`.

use std::path::PathBuf;
use std::process::ExitCode;

use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use clap::Parser;
use sslpron_align::features::{phone_feature_width, sentence_feature_width};
use sslpron_model::weights::RandomSource;
use sslpron_model::{PromptHead, PromptHeadConfig, PromptInput, export_values, to_safetensors};
use trainer::bootstrap::{BootstrapSettings, Clusters, paired};
use trainer::data::SplitMix64;
use trainer::metrics::pearson;
use trainer::prompt::{Example, Setup, SetupArgs, example};

#[derive(Parser)]
#[command(name = "prompt-head", about = "Train the prompt-aware head on a frozen encoder and phone head")]
struct Args {
    #[command(flatten)]
    setup: SetupArgs,
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, default_value_t = 0.01)]
    weight_decay: f32,
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Weight of the word MSE in the loss.
    #[arg(long, default_value_t = 1.0)]
    word_weight: f32,
    #[arg(long, default_value_t = 64)]
    hidden_size: usize,
    #[arg(long, default_value_t = 2)]
    layers: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where prompt_head.safetensors, prompt_head.json and prompt_head_report.json go.
    #[arg(long)]
    output: PathBuf,
}

fn main() -> ExitCode {
    trainer::cli::run_binary("prompt-head", || run(Args::parse()))
}

/// Per-feature mean and standard deviation over `rows` of `width` (std 1 for a constant feature).
fn statistics<'a>(rows: impl Iterator<Item = &'a [f32]> + Clone, width: usize) -> (Vec<f32>, Vec<f32>) {
    let (mean, sd) = trainer::metrics::column_moments(rows, width);
    (mean.iter().map(|&m| m as f32).collect(), sd.iter().map(|&s| if s > 1e-6 { s as f32 } else { 1.0 }).collect())
}

/// A padded batch: the head's input, utterance targets `[batch, 4]`, the word-averaging matrix
/// `[batch, words, phones]`, word targets `[batch, words, 2]` and their mask `[batch, words, 2]`.
struct Batch {
    input: PromptInput,
    labels: Tensor<2>,
    averaging: Tensor<3>,
    word_targets: Tensor<3>,
    word_mask: Tensor<3>,
}

fn batch(items: &[&Example], phone_width: usize, sentence_width: usize, device: &Device) -> Batch {
    let b = items.len();
    let phones = items.iter().map(|e| e.phone_ids.len()).max().unwrap_or(1);
    let words = items.iter().map(|e| e.word_labels.len()).max().unwrap_or(1);
    let (mut ids, mut features, mut mask) = (vec![0i64; b * phones], vec![0f32; b * phones * phone_width], vec![0f32; b * phones]);
    let (mut sentence, mut labels): (Vec<f32>, Vec<f32>) = (Vec::with_capacity(b * sentence_width), Vec::with_capacity(b * 4));
    let (mut averaging, mut targets, mut target_mask) = (vec![0f32; b * words * phones], vec![0f32; b * words * 2], vec![0f32; b * words * 2]);
    for (i, e) in items.iter().enumerate() {
        let p = e.phone_ids.len();
        for (k, &id) in e.phone_ids.iter().enumerate() {
            ids[i * phones + k] = id as i64;
            mask[i * phones + k] = 1.0;
        }
        features[i * phones * phone_width..][..p * phone_width].copy_from_slice(&e.phone_features);
        sentence.extend(&e.sentence);
        labels.extend(e.labels);
        let mut counts = vec![0usize; e.word_labels.len()];
        e.word_of_phone.iter().for_each(|&w| counts[w] += 1);
        for (k, &w) in e.word_of_phone.iter().enumerate() {
            averaging[(i * words + w) * phones + k] = 1.0 / counts[w] as f32;
        }
        for (w, label) in e.word_labels.iter().enumerate() {
            if let Some(pair) = label {
                targets[(i * words + w) * 2..][..2].copy_from_slice(pair);
                target_mask[(i * words + w) * 2..][..2].fill(1.0);
            }
        }
    }
    let f3 = |v: Vec<f32>, shape: [usize; 3]| Tensor::<3>::from_data(TensorData::new(v, shape), device);
    Batch {
        input: PromptInput {
            phone_ids: Tensor::<2, Int>::from_data(TensorData::new(ids, [b, phones]), device),
            phone_features: f3(features, [b, phones, phone_width]),
            sentence_features: Tensor::<2>::from_data(TensorData::new(sentence, [b, sentence_width]), device),
            phone_mask: Some(Tensor::<2>::from_data(TensorData::new(mask, [b, phones]), device)),
        },
        labels: Tensor::<2>::from_data(TensorData::new(labels, [b, 4]), device),
        averaging: f3(averaging, [b, words, phones]),
        word_targets: f3(targets, [b, words, 2]),
        word_mask: f3(target_mask, [b, words, 2]),
    }
}

/// Utterance predictions `[aspect][utterance]` and word (accuracy, total) predictions with labels.
struct Predictions {
    utterance: [Vec<f64>; 4],
    words: [(Vec<f64>, Vec<f64>); 2],
}

fn predict(head: &PromptHead, examples: &[Example], phone_width: usize, sentence_width: usize, device: &Device) -> Predictions {
    let mut out = Predictions { utterance: Default::default(), words: Default::default() };
    for chunk in examples.chunks(32) {
        let items: Vec<&Example> = chunk.iter().collect();
        let b = batch(&items, phone_width, sentence_width, device);
        let output = head.forward(&b.input);
        let utterance = output.utterance.into_data().try_to_vec::<f32>().expect("f32");
        let words = b.averaging.matmul(output.phones);
        let [_, max_words, _] = words.dims();
        let words = words.into_data().try_to_vec::<f32>().expect("f32");
        for (i, e) in items.iter().enumerate() {
            for k in 0..4 {
                out.utterance[k].push(utterance[i * 4 + k] as f64);
            }
            for (w, label) in e.word_labels.iter().enumerate() {
                if let Some(label) = label {
                    for k in 0..2 {
                        out.words[k].0.push(words[(i * max_words + w) * 2 + k] as f64);
                        out.words[k].1.push(label[k] as f64);
                    }
                }
            }
        }
    }
    out
}

fn run(args: Args) -> Result<(), String> {
    let setup = Setup::load(&args.setup)?;
    let Setup { device, info, model, vocab, train, dev, labels, lexicon, options, .. } = &setup;
    let device = device.clone();
    let hidden = info.config.hidden_size;
    let (phone_width, sentence_width) = (phone_feature_width(vocab.len(), hidden), sentence_feature_width(hidden));

    // The audio-only model's dev predictions, for the paired comparison.
    let audio: Vec<Vec<f32>> = dev.iter().map(|u| u.load_audio(options).map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
    let (all_audio_only, all_human) = trainer::run::predict(model, dev, &audio, &device)?;
    drop(audio);

    let started = std::time::Instant::now();
    let encode = |utts: &[trainer::data::Utterance]| -> Result<Vec<Example>, String> {
        let mut out = Vec::with_capacity(utts.len());
        for (i, utt) in utts.iter().enumerate() {
            let c = setup.clip(utt)?;
            // A clip too short for its own text (no CTC path) is left out and counted.
            match example(&c, &utt.text, lexicon, vocab, hidden, labels.get(&utt.id).map(Vec::as_slice))? {
                Some(e) => out.push(e),
                None => {
                    eprintln!("prompt-head: {}: left out: its text needs more frames than its {} s give", utt.id, c.samples.len() as f64 / 16_000.0)
                }
            }
            if (i + 1) % 500 == 0 {
                eprintln!("prompt-head: {} utterances through encoder, alignment and evidence ({:.0} s)", i + 1, started.elapsed().as_secs_f64());
            }
        }
        Ok(out)
    };
    let train_examples = encode(train)?;
    let dev_examples = encode(dev)?;
    // The comparison is on the dev clips the head could score (all of them unless one was left out).
    let kept: std::collections::HashSet<&str> = dev_examples.iter().map(|e| e.id.as_str()).collect();
    let keep: Vec<usize> = (0..dev.len()).filter(|&i| kept.contains(dev[i].id.as_str())).collect();
    let audio_only: [Vec<f64>; 4] = all_audio_only.map(|v| keep.iter().map(|&i| v[i]).collect());
    let human: [Vec<f64>; 4] = all_human.map(|v| keep.iter().map(|&i| v[i]).collect());

    let mut config = PromptHeadConfig::new(vocab.len(), phone_width, sentence_width);
    config.hidden_size = args.hidden_size;
    config.intermediate_size = 2 * args.hidden_size;
    config.num_layers = args.layers;
    (config.phone_feature_mean, config.phone_feature_std) =
        statistics(train_examples.iter().flat_map(|e| e.phone_features.chunks_exact(phone_width)), phone_width);
    (config.sentence_feature_mean, config.sentence_feature_std) = statistics(train_examples.iter().map(|e| e.sentence.as_slice()), sentence_width);

    let autodiff = device.clone().autodiff();
    let mut src = RandomSource::new(&autodiff);
    let mut head = PromptHead::new(&mut src, &config).map_err(|e| e.to_string())?;
    let names = src.into_names();
    // Start the outputs at the training labels' means, so the first epochs learn the spread, not the level.
    let mean = |k: usize| train_examples.iter().map(|e| e.labels[k]).sum::<f32>() / train_examples.len().max(1) as f32;
    let means: Vec<f32> = (0..4).map(mean).collect();
    // (detached again: a parameter must be a leaf of the autodiff graph, not the result of this sum)
    head.utterance_bias = head.utterance_bias.map(|b| (b + Tensor::<1>::from_floats(means.as_slice(), &autodiff)).detach().require_grad());
    let word_means: Vec<f32> = (0..2)
        .map(|k| {
            let values: Vec<f32> = train_examples.iter().flat_map(|e| e.word_labels.iter().flatten().map(move |l| l[k])).collect();
            values.iter().sum::<f32>() / values.len().max(1) as f32
        })
        .collect();
    if let Some(bias) = head.word_out.bias.take() {
        head.word_out.bias = Some(bias.map(|b| (b + Tensor::<1>::from_floats(word_means.as_slice(), &autodiff)).detach().require_grad()));
    }

    let mut optimizer = AdamWConfig::new().with_weight_decay(args.weight_decay).init();
    let mut best: Option<(usize, f64, PromptHead)> = None;
    let mut epochs = Vec::new();
    for epoch in 0..args.epochs {
        let t0 = std::time::Instant::now();
        let mut order: Vec<usize> = (0..train_examples.len()).collect();
        SplitMix64::for_epoch(args.seed, epoch as u64).shuffle(&mut order);
        let (mut loss_sum, mut steps) = (0.0, 0usize);
        for chunk in order.chunks(args.batch_size) {
            let items: Vec<&Example> = chunk.iter().map(|&i| &train_examples[i]).collect();
            let b = batch(&items, phone_width, sentence_width, &autodiff);
            let output = head.forward(&b.input);
            let utterance_loss = (output.utterance - b.labels).powi_scalar(2).mean();
            let word_predictions = b.averaging.matmul(output.phones);
            let masked = (word_predictions - b.word_targets) * b.word_mask.clone();
            let word_loss = masked.powi_scalar(2).sum() / (b.word_mask.sum() + 1e-6);
            let loss = utterance_loss + word_loss * args.word_weight;
            loss_sum += loss.clone().into_scalar::<f32>() as f64;
            steps += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            head = optimizer.step(args.lr, head, grads);
        }
        let valid = head.valid();
        let p = predict(&valid, &dev_examples, phone_width, sentence_width, &device);
        let r: Vec<f64> = (0..4).map(|k| pearson(&p.utterance[k], &human[k])).collect();
        let word_r: Vec<f64> = (0..2).map(|k| pearson(&p.words[k].0, &p.words[k].1)).collect();
        let mean_r = r.iter().sum::<f64>() / 4.0;
        eprintln!(
            "prompt-head: epoch {:>2}: train loss {:.3}, dev r {:.3} / {:.3} / {:.3} / {:.3}, word r {:.3} / {:.3} ({:.0} s)",
            epoch + 1,
            loss_sum / steps.max(1) as f64,
            r[0],
            r[1],
            r[2],
            r[3],
            word_r[0],
            word_r[1],
            t0.elapsed().as_secs_f64()
        );
        epochs.push(
            serde_json::json!({ "epoch": epoch + 1, "train_loss": loss_sum / steps.max(1) as f64, "dev_pearson": r, "dev_word_pearson": word_r }),
        );
        if best.as_ref().is_none_or(|(_, m, _)| mean_r > *m) {
            best = Some((epoch + 1, mean_r, valid));
        }
    }
    let (best_epoch, _, head) = best.ok_or("--epochs must be at least 1")?;
    let p = predict(&head, &dev_examples, phone_width, sentence_width, &device);
    let speakers: Vec<String> = dev_examples.iter().map(|e| e.speaker.clone()).collect();
    let clusters = Clusters::by_speaker(&speakers);
    let h = human.each_ref().map(Vec::as_slice);
    let comparison =
        paired(h, p.utterance.each_ref().map(Vec::as_slice), audio_only.each_ref().map(Vec::as_slice), &clusters, BootstrapSettings::default());
    println!(
        "| aspect (dev, {} clips, {} speakers; epoch {best_epoch}, chosen on them) | audio-only r | prompt head r | Δr [95% CI] | wins |",
        dev_examples.len(),
        clusters.len()
    );
    println!("|---|---|---|---|---|");
    let mut rows = Vec::new();
    for (k, name) in sslpron_model::SCORE_NAMES.iter().enumerate() {
        let (a, b) = (pearson(&audio_only[k], &human[k]), pearson(&p.utterance[k], &human[k]));
        let c = &comparison[k];
        let ci = c.delta_pearson_ci95.map_or("—".into(), |[lo, hi]| format!("[{lo:+.3}, {hi:+.3}]"));
        println!("| {name} | {a:.3} | {b:.3} | {:+.3} {ci} | {:.1}% |", c.delta_pearson, 100.0 * c.wins.unwrap_or(f64::NAN));
        rows.push(serde_json::json!({ "aspect": name, "audio_only": a, "prompt_head": b, "delta": c.delta_pearson, "delta_ci95": c.delta_pearson_ci95, "wins": c.wins }));
    }
    let word_r: Vec<f64> = (0..2).map(|k| pearson(&p.words[k].0, &p.words[k].1)).collect();
    // The reference a word head must beat: every word given its utterance's audio-only score
    // (accuracy for word accuracy, total for word total).
    let flat: [Vec<f64>; 2] = [0, 3].map(|aspect| {
        let scores = &audio_only[aspect];
        dev_examples.iter().zip(scores).flat_map(|(e, &score)| e.word_labels.iter().flatten().map(move |_| score)).collect()
    });
    let flat_r: Vec<f64> = (0..2).map(|k| pearson(&flat[k], &p.words[k].1)).collect();
    println!(
        "| word accuracy / total r ({} words) | {:.3} / {:.3} (utterance score for every word) | {:.3} / {:.3} | | |",
        p.words[0].0.len(),
        flat_r[0],
        flat_r[1],
        word_r[0],
        word_r[1]
    );

    std::fs::create_dir_all(&args.output).map_err(|e| format!("{}: {e}", args.output.display()))?;
    let weights = to_safetensors(&export_values(&head, names));
    sslpron_fs::write_file(&args.output.join("prompt_head.safetensors"), &weights).map_err(|e| e.to_string())?;
    let config_json = serde_json::to_string_pretty(head.config()).expect("json") + "\n";
    sslpron_fs::write_file(&args.output.join("prompt_head.json"), config_json.as_bytes()).map_err(|e| e.to_string())?;
    let report = serde_json::json!({
        "model": args.setup.model.display().to_string(),
        "phone_head": args.setup.recognizer.is_none().then(|| args.setup.phone_head.as_ref().unwrap_or(&args.setup.model).display().to_string()),
        "recognizer": args.setup.recognizer.as_ref().map(|dir| dir.display().to_string()),
        "train_utterances": train_examples.len(),
        "dev_utterances": dev_examples.len(),
        "best_epoch": best_epoch,
        "epochs": epochs,
        "dev_comparison": rows,
        "dev_word_pearson": word_r,
        "dev_word_pearson_utterance_score_for_every_word": flat_r,
        "settings": { "lr": args.lr, "weight_decay": args.weight_decay, "batch_size": args.batch_size, "word_weight": args.word_weight, "hidden_size": args.hidden_size, "layers": args.layers, "seed": args.seed },
    });
    let text = serde_json::to_string_pretty(&report).expect("json") + "\n";
    sslpron_fs::write_file(&args.output.join("prompt_head_report.json"), text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(())
}
