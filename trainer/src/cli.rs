//! The `trainer` command line: options, `--config FILE`, and the run or resume they ask for. The
//! binary's `main` is [`main`]; it lives in the library so that one program can carry it beside others
//! (the GPU check's single carried binary, trainer/examples/gpu_check.rs).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::run::{Init, RunConfig, preset, resume, run};
use crate::step::{OptimSettings, Strategy};
use clap::{CommandFactory, Parser, ValueEnum};

/// Where the corpus is looked for when `--data` is not given (README, "Training").
const DEFAULT_DATA: &str = "data/speechocean762";

#[derive(Parser)]
#[command(name = "trainer", about = "Fine-tune Wav2Vec2 / HuBERT / WavLM for pronunciation scoring (SSL-FT-PRON recipe)")]
// A flag given twice (config file, then command line) takes the later value.
#[command(args_override_self = true)]
struct Args {
    /// JSON object of options by flag name (`{"strategy": "freeze", "epochs": 30, "seed-compat": true}`);
    /// flags on the command line override it. Paths in it are relative to the working directory.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Corpus root in Speechocean762's layout (train/, test/, WAVE/, resource/). Default: $SSLPRON_DATA, else data/speechocean762.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Labels in scores.json format instead of the corpus's resource/scores.json.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Speakers held out as the development split (one id per line).
    #[arg(long)]
    dev_speakers: Option<PathBuf>,
    /// Ignore dev speakers the corpus lacks (e.g. on speechocean762-mini) instead of refusing.
    #[arg(long)]
    allow_missing_dev_speakers: bool,
    #[arg(long, value_enum, default_value_t = StrategyArg::General)]
    strategy: StrategyArg,
    /// `random`, a model directory (hub layout), or a hub id (e.g. facebook/wav2vec2-base); a checkpoint
    /// without the strategy's score head gets a fresh one.
    #[arg(long, default_value = "random")]
    init: String,
    /// Subfolder of a hub repository (same as `--init ID:SUBFOLDER`).
    #[arg(long)]
    subfolder: Option<String>,
    /// Size of a random model: tiny, small, compact, base, large (wav2vec2-large-lv60 layout).
    #[arg(long, default_value = "tiny")]
    preset: String,
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    #[arg(long, default_value_t = 4)]
    batch_size: usize,
    /// Batches whose gradients are summed before one optimiser step (effective batch = batch-size × this).
    #[arg(long, default_value_t = 1)]
    grad_accum: usize,
    /// Weight of a phone-level CTC loss on the canonical phones (resource/text-phone), added to the
    /// score loss; 0 = off (the seed). Its head and phone vocabulary are saved beside the model.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    ctc_weight: f64,
    /// Start the score head's bias at the training labels' means instead of its initialiser's value
    /// (speeds up training a fresh head; the seed did not).
    #[arg(long)]
    head_bias_label_mean: bool,
    #[arg(long, default_value_t = 1e-5)]
    lr: f64,
    /// Linear warm-up steps before the linear decay (the seed: 0).
    #[arg(long, default_value_t = 0)]
    warmup_steps: usize,
    /// AdamW decoupled weight decay (the seed: 0).
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f32,
    #[arg(long, default_value_t = 1e-8)]
    adam_epsilon: f32,
    #[arg(long, default_value_t = 0.9)]
    adam_beta1: f32,
    #[arg(long, default_value_t = 0.999)]
    adam_beta2: f32,
    /// Global gradient-norm clipping (the seed: 1.0); 0 turns it off.
    #[arg(long, default_value_t = 1.0)]
    max_grad_norm: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value = "runs/latest")]
    output: PathBuf,
    /// Feed zero padding to the model as audio, as the seed did (default: padding is masked).
    #[arg(long)]
    seed_compat: bool,
    /// Continue the run whose output folder this is (its run.json holds the settings; other options are ignored).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Stop after N optimiser steps (the learning-rate schedule spans them; the epoch in progress ends
    /// there with its report and checkpoint).
    #[arg(long, value_name = "N")]
    max_steps: Option<usize>,
    /// cpu always; wgpu / cuda when built with those features.
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum StrategyArg {
    General,
    Freeze,
    Ctc,
}

/// Runs the trainer on `argv` (program name first), as the `trainer` binary does.
pub fn main(argv: Vec<OsString>) -> ExitCode {
    let argv = match expand_config(argv) {
        Ok(argv) => argv,
        Err(e) => {
            eprintln!("trainer: error: {e}");
            return ExitCode::from(2);
        }
    };
    let args = Args::parse_from(argv);
    // Burn restores optimiser state (on --resume) on `Device::default()`, not on the device it is given;
    // in a build with CUDA or wgpu compiled in, that default is the GPU even when training on the CPU
    // (a CUDA build resuming on a machine without one panicked). BURN_DEVICE makes the default the
    // device of --device. Set here, while the process has one thread (set_var is unsound otherwise).
    if let Some(name) = sslpron_model::device::burn_default_name(&args.device) {
        // SAFETY: no other thread exists yet; nothing has read the environment concurrently.
        unsafe { std::env::set_var("BURN_DEVICE", name) };
    }
    let data = args.data.clone().or_else(|| std::env::var_os("SSLPRON_DATA").map(PathBuf::from)).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
    if args.resume.is_none() && !data.join("train").is_dir() {
        eprintln!("trainer: no Speechocean762 corpus at {} (expected train/, test/, WAVE/, resource/ there).", data.display());
        eprintln!("Get it with `../shared/tools/speechocean762-from-git.sh` (see README, \"Training\") or pass --data DIR.");
        return ExitCode::from(2);
    }
    match train(args, data) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trainer: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn train(args: Args, data: PathBuf) -> Result<(), String> {
    let device = sslpron_model::device::parse(&args.device)?.autodiff();
    if let Some(output) = &args.resume {
        let reports = resume(output, &device)?;
        print_reports(&reports, output);
        return Ok(());
    }
    let init = if args.init == "random" {
        Init::Random(preset(&args.preset).ok_or_else(|| format!("unknown --preset {} (tiny, small, compact, base, large)", args.preset))?)
    } else {
        match &args.subfolder {
            Some(sub) => Init::Dir(PathBuf::from(format!("{}:{sub}", args.init))),
            None => Init::Dir(PathBuf::from(&args.init)),
        }
    };
    let strategy = match args.strategy {
        StrategyArg::General => Strategy::General,
        StrategyArg::Freeze => Strategy::Freeze,
        StrategyArg::Ctc => Strategy::Ctc,
    };
    let config = RunConfig {
        data,
        labels: args.labels,
        dev_speakers: args.dev_speakers,
        allow_missing_dev_speakers: args.allow_missing_dev_speakers,
        strategy,
        init,
        epochs: args.epochs,
        batch_size: args.batch_size.max(1),
        lr: args.lr,
        seed: args.seed,
        output: args.output.clone(),
        warmup_steps: args.warmup_steps,
        optim: OptimSettings {
            beta_1: args.adam_beta1,
            beta_2: args.adam_beta2,
            epsilon: args.adam_epsilon,
            weight_decay: args.weight_decay,
            max_grad_norm: (args.max_grad_norm > 0.0).then_some(args.max_grad_norm),
        },
        seed_compat: args.seed_compat,
        ctc_weight: args.ctc_weight,
        grad_accum: args.grad_accum.max(1),
        head_bias_label_mean: args.head_bias_label_mean,
        max_steps: args.max_steps,
    };
    if !(config.ctc_weight >= 0.0 && config.ctc_weight.is_finite()) {
        return Err(format!("--ctc-weight must be a finite number >= 0, not {}", config.ctc_weight));
    }
    let reports = run(&config, &device)?;
    print_reports(&reports, &args.output);
    Ok(())
}

/// Replaces `--config FILE` by the options the file holds, placed before the command line's own so that
/// those override them. Keys are flag names (`batch-size` or `batch_size`); `true` sets a switch,
/// `false` and `null` leave it out. Unknown keys and nested values are errors naming the file.
fn expand_config(argv: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let mut rest = Vec::with_capacity(argv.len());
    let mut file = None;
    let mut args = argv.into_iter();
    let program = args.next().unwrap_or_else(|| "trainer".into());
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--config") => file = Some(PathBuf::from(args.next().ok_or("--config needs a file")?)),
            Some(s) if s.starts_with("--config=") => file = Some(PathBuf::from(&s["--config=".len()..])),
            _ => rest.push(arg),
        }
    }
    let mut out = vec![program];
    if let Some(path) = file {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: not valid JSON: {e}", path.display()))?;
        let serde_json::Value::Object(options) = json else {
            return Err(format!("{}: expected a JSON object of options by flag name", path.display()));
        };
        let known: Vec<String> = Args::command().get_arguments().filter_map(|a| a.get_long().map(str::to_string)).filter(|l| l != "config").collect();
        for (key, value) in options {
            let flag = key.replace('_', "-");
            if !known.contains(&flag) {
                return Err(format!("{}: unknown option `{key}` (known: {})", path.display(), known.join(", ")));
            }
            match value {
                serde_json::Value::Bool(true) => out.push(format!("--{flag}").into()),
                serde_json::Value::Bool(false) | serde_json::Value::Null => {}
                serde_json::Value::String(v) => out.extend([format!("--{flag}").into(), v.into()]),
                serde_json::Value::Number(v) => out.extend([format!("--{flag}").into(), v.to_string().into()]),
                _ => return Err(format!("{}: option `{key}` must be a string, number or boolean", path.display())),
            }
        }
    }
    out.extend(rest);
    Ok(out)
}

fn print_reports(reports: &[crate::run::EpochReport], output: &std::path::Path) {
    println!("epoch  train-loss  dev r: accuracy fluency prosody total");
    for r in reports {
        let dev: Vec<String> = r.dev_pearson.iter().map(|v| format!("{v:.3}")).collect();
        println!("{:5}  {:10.4}  {}", r.epoch, r.train_loss, dev.join("  "));
    }
    println!("model (seed layout) written to {}", output.join("model").display());
}

/// The `main` of the trainer's analysis binaries (`evaluate`, `probe`, `phone-head`, …): the
/// allocator setting every model run wants, then `run`; an error is printed as `NAME: error: …` with
/// a non-zero exit status.
pub fn run_binary(name: &str, run: impl FnOnce() -> Result<(), String>) -> std::process::ExitCode {
    sslpron_model::kernels::retain_freed_memory();
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
