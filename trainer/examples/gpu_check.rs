//! The in-process measurements of `scripts/gpu-check.sh` (docs/PERFORMANCE.md, "GPU check"): one JSON
//! line per call on stdout, progress on stderr.
//!
//! cargo run --release -p trainer --features cuda --example gpu_check -- MODE DEVICE PRESET [ARGS]
//!
//! - `parity DEVICE PRESET SECONDS`: a random PRESET model (General head, seed 0) built on the CPU, its
//!   weights written as a safetensors file and read onto DEVICE; both run the same SECONDS of audio.
//!   Reports the largest absolute difference of the last hidden state and of the four scores.
//! - `forward DEVICE PRESET SECONDS REPEATS`: median forward time (encoder + head) and real-time factor.
//! - `step DEVICE PRESET BATCH SECONDS REPEATS`: median time of one General training step (forward,
//!   backward, global clipping, AdamW) on a batch of BATCH × SECONDS.
//!
//! - `trainer ARGS...`: the `trainer` command itself (trainer::cli::main), so that one carried binary
//!   holds everything the check runs (each CUDA build is ~140 MB: LLVM and Burn, mostly shared).
//! - `score DEVICE MODEL_DIR AUDIO.wav`: what `sslpron score --json --device DEVICE --model MODEL_DIR`
//!   does for one file (hub-layout folder, the audio front end, the model's scores), as one JSON line.
//!
//! DEVICE: cpu, wgpu or cuda (the last two when built with those features). Timings read the result
//! back to the host, so each one includes the device's queue draining.

use std::time::Instant;

use burn::prelude::*;
use sslpron_model::{EncoderConfig, HeadKind, ModelFiles};
use trainer::step::{OptimSettings, Strategy, TrainState};

const RATE: usize = 16_000;

fn main() -> std::process::ExitCode {
    if std::env::args_os().nth(1).is_some_and(|mode| mode == "trainer") {
        return trainer::cli::main(std::env::args_os().skip(1).collect()); // argv[0] = "trainer"
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gpu_check: error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let usage = "usage: gpu_check parity DEVICE PRESET SECONDS | forward DEVICE PRESET SECONDS REPEATS | step DEVICE PRESET BATCH SECONDS REPEATS | score DEVICE MODEL_DIR AUDIO.wav | trainer ARGS...";
    if let [mode, device, model, audio] = args
        && mode == "score"
    {
        return score(&sslpron_model::device::parse(device)?, model.as_ref(), audio.as_ref());
    }
    let [mode, device, preset, rest @ ..] = args else {
        return Err(usage.into());
    };
    let device = sslpron_model::device::parse(device)?;
    let json = trainer::run::preset(preset).ok_or_else(|| format!("unknown preset {preset}"))?;
    let config = EncoderConfig::from_json("preset", &serde_json::to_vec(&json).expect("json")).map_err(|e| e.to_string())?;
    let number = |i: usize| -> Result<f64, String> { rest.get(i).ok_or(usage)?.parse::<f64>().map_err(|e| format!("{}: {e}", rest[i])) };
    match mode.as_str() {
        "parity" => parity(&device, preset, &json, &config, number(0)?),
        "forward" => forward(&device, preset, &config, number(0)?, number(1)? as usize),
        "step" => step(&device, preset, &config, number(0)? as usize, number(1)?, number(2)? as usize),
        _ => Err(usage.into()),
    }
}

/// A reproducible speech-like test signal: a few harmonics with a slow pitch drift plus a little
/// noise from a fixed-seed generator, normalised to zero mean and unit variance as the front end does.
fn signal(seconds: f64, seed: u64) -> Vec<f32> {
    let n = (seconds * RATE as f64) as usize;
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut noise = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    let mut out: Vec<f64> = (0..n)
        .map(|i| {
            let t = i as f64 / RATE as f64;
            let f0 = 120.0 + 30.0 * (2.0 * std::f64::consts::PI * 0.5 * t).sin();
            (1..=5).map(|h| (2.0 * std::f64::consts::PI * f0 * h as f64 * t).sin() / h as f64).sum::<f64>() + 0.05 * noise()
        })
        .collect();
    let mean = out.iter().sum::<f64>() / n as f64;
    let sd = (out.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt().max(1e-7);
    out.iter_mut().for_each(|v| *v = (*v - mean) / sd);
    out.into_iter().map(|v| v as f32).collect()
}

fn batch_of(samples: &[f32], batch: usize, device: &Device) -> Tensor<2> {
    let repeated: Vec<f32> = (0..batch).flat_map(|_| samples.iter().copied()).collect();
    Tensor::<1>::from_floats(repeated.as_slice(), device).reshape([batch, samples.len()])
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 tensor")
}

fn parity(device: &Device, preset: &str, json: &serde_json::Value, config: &EncoderConfig, seconds: f64) -> Result<(), String> {
    let cpu = Device::flex();
    cpu.seed(0);
    let reference = sslpron_model::random(config, Some(HeadKind::General), &cpu);
    let weights = sslpron_model::to_safetensors(&sslpron_model::export_seed_layout(&reference, config));
    let config_json = serde_json::to_vec(json).expect("json");
    let files = ModelFiles {
        config_name: "config.json",
        config_json: &config_json,
        preprocessor_name: "preprocessor_config.json",
        preprocessor_json: None,
        weights_name: "model.safetensors",
        weights: &weights,
    };
    let (_, on_device, _) = sslpron_model::load(&files, device).map_err(|e| e.to_string())?;
    let samples = signal(seconds, 1);
    let run = |model: &sslpron_model::PronunciationModel, device: &Device| -> (Vec<f32>, Vec<f32>, f64) {
        let start = Instant::now();
        let hidden = model.embed(batch_of(&samples, 1, device), false).last_hidden_state;
        let scores = model.head.as_ref().expect("General head").forward(hidden.clone());
        let (hidden, scores) = (to_vec(hidden), to_vec(scores));
        (hidden, scores, start.elapsed().as_secs_f64() * 1e3)
    };
    eprintln!("gpu_check: parity: {preset} model, {seconds} s on the CPU");
    let (h_cpu, s_cpu, cpu_ms) = run(&reference, &cpu);
    eprintln!("gpu_check: parity: the same on the device");
    let (h_dev, s_dev, dev_ms) = run(&on_device, device);
    let max_diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    let scale = h_cpu.iter().map(|v| v.abs()).fold(0f32, f32::max);
    let finite = h_dev.iter().chain(&s_dev).all(|v| v.is_finite());
    println!(
        "{}",
        serde_json::json!({
            "mode": "parity", "preset": preset, "seconds": seconds, "frames": h_cpu.len() / config.hidden_size,
            "max_abs_diff_hidden": max_diff(&h_cpu, &h_dev), "max_abs_hidden": scale,
            "max_abs_diff_scores": max_diff(&s_cpu, &s_dev), "scores_cpu": s_cpu, "scores_device": s_dev,
            "finite": finite && h_cpu.len() == h_dev.len(),
            "cpu_ms_first": cpu_ms, "device_ms_first": dev_ms,
        })
    );
    Ok(())
}

fn median(mut times: Vec<f64>) -> (f64, f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0], times[times.len() - 1])
}

fn forward(device: &Device, preset: &str, config: &EncoderConfig, seconds: f64, repeats: usize) -> Result<(), String> {
    device.seed(0);
    let model = sslpron_model::random(config, Some(HeadKind::General), device);
    let samples = signal(seconds, 2);
    let mut times = Vec::new();
    let first = Instant::now();
    for i in 0..repeats.max(1) + 2 {
        let start = Instant::now();
        let scores = model.score_tensor(batch_of(&samples, 1, device), "random").map_err(|e| e.to_string())?;
        let values = to_vec(scores);
        if !values.iter().all(|v| v.is_finite()) {
            return Err(format!("non-finite scores {values:?}"));
        }
        if i >= 2 {
            times.push(start.elapsed().as_secs_f64() * 1e3); // two warm-ups: kernel compilation, autotuning
        }
        if i == 0 {
            eprintln!("gpu_check: forward {preset} {seconds} s: first call {:.0} ms", first.elapsed().as_secs_f64() * 1e3);
        }
    }
    let (med, min, max) = median(times);
    println!(
        "{}",
        serde_json::json!({"mode": "forward", "preset": preset, "seconds": seconds, "repeats": repeats,
            "median_ms": med, "min_ms": min, "max_ms": max, "rtf": med / 1e3 / seconds})
    );
    Ok(())
}

fn step(device: &Device, preset: &str, config: &EncoderConfig, batch: usize, seconds: f64, repeats: usize) -> Result<(), String> {
    let device = device.clone().autodiff();
    device.seed(0);
    let model = sslpron_model::random(config, Some(HeadKind::General), &device);
    let mut state = TrainState::new(model, Strategy::General, OptimSettings::default());
    let samples: Vec<Vec<f32>> = (0..batch).map(|b| signal(seconds, 10 + b as u64)).collect();
    let flat: Vec<f32> = samples.concat();
    let labels: Vec<f32> = (0..batch).flat_map(|b| [6.0 + b as f32 * 0.5, 7.0, 7.5, 6.5]).collect();
    let (mut times, mut losses) = (Vec::new(), Vec::new());
    for i in 0..repeats.max(1) + 2 {
        let input = Tensor::<1>::from_floats(flat.as_slice(), &device).reshape([batch, samples[0].len()]);
        let target = Tensor::<1>::from_floats(labels.as_slice(), &device).reshape([batch, 4]);
        let start = Instant::now();
        let report = state.step(input, None, target, 1e-5); // reads the loss back: the step has finished
        if !report.loss.is_finite() {
            return Err(format!("step {i}: loss {}", report.loss));
        }
        losses.push(report.loss);
        let ms = start.elapsed().as_secs_f64() * 1e3;
        if i >= 2 {
            times.push(ms);
        } else {
            eprintln!("gpu_check: step {preset} {batch}x{seconds} s: warm-up step {} {ms:.0} ms", i + 1);
        }
    }
    let (med, min, max) = median(times);
    println!(
        "{}",
        serde_json::json!({"mode": "step", "preset": preset, "batch": batch, "seconds": seconds, "repeats": repeats,
            "median_ms": med, "min_ms": min, "max_ms": max, "first_loss": losses[0], "last_loss": losses[losses.len() - 1]})
    );
    Ok(())
}

fn score(device: &Device, model: &std::path::Path, audio: &std::path::Path) -> Result<(), String> {
    let name = model.display().to_string();
    let (info, model) = trainer::run::load_model_for_inference(model, device)?;
    let wav = std::fs::read(audio).map_err(|e| format!("{}: {e}", audio.display()))?;
    let options = sslpron_audio::PrepareOptions { do_normalize: info.preprocessing.do_normalize, min_samples: info.min_samples() };
    let samples = sslpron_audio::prepare_wav(&wav, &options).map_err(|e| format!("{}: {e}", audio.display()))?;
    let input = Tensor::<1>::from_floats(samples.as_slice(), device).unsqueeze_dim::<2>(0);
    let scores = model.score(input, &name).map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::json!({"file": audio.display().to_string(), "accuracy": scores.accuracy, "fluency": scores.fluency,
            "prosody": scores.prosody, "total": scores.total})
    );
    Ok(())
}
