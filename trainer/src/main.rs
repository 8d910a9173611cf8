//! `cargo run -p trainer --release -- [OPTIONS]`: fine-tunes an SSL encoder for pronunciation scoring
//! with the seed's recipe (General, Freeze or CTC) on Speechocean762.

use std::path::PathBuf;
use std::process::ExitCode;

use burn::prelude::Device;
use clap::{Parser, ValueEnum};
use trainer::run::{Init, RunConfig, preset, resume, run};
use trainer::step::{OptimSettings, Strategy};

/// Where the corpus is looked for when `--data` is not given (README, "Training").
const DEFAULT_DATA: &str = "data/speechocean762";

#[derive(Parser)]
#[command(name = "trainer", about = "Fine-tune Wav2Vec2 / HuBERT / WavLM for pronunciation scoring (SSL-FT-PRON recipe)")]
struct Args {
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
    /// Size of a random model: tiny, small, base.
    #[arg(long, default_value = "tiny")]
    preset: String,
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    #[arg(long, default_value_t = 4)]
    batch_size: usize,
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

fn main() -> ExitCode {
    let args = Args::parse();
    let data = args
        .data
        .clone()
        .or_else(|| std::env::var_os("SSLPRON_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
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
    let device = match args.device.as_str() {
        "cpu" => Device::flex().autodiff(),
        #[cfg(feature = "wgpu")]
        "wgpu" => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice).autodiff(),
        #[cfg(feature = "cuda")]
        "cuda" => Device::cuda(0).autodiff(),
        other => {
            let built: Vec<&str> = [("cpu", true), ("wgpu", cfg!(feature = "wgpu")), ("cuda", cfg!(feature = "cuda"))]
                .into_iter()
                .filter_map(|(name, on)| on.then_some(name))
                .collect();
            return Err(format!("device `{other}` is not compiled into this build (compiled in: {})", built.join(", ")));
        }
    };
    if let Some(output) = &args.resume {
        let reports = resume(output, &device)?;
        print_reports(&reports, output);
        return Ok(());
    }
    let init = if args.init == "random" {
        Init::Random(preset(&args.preset).ok_or_else(|| format!("unknown --preset {} (tiny, small, base)", args.preset))?)
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
    };
    let reports = run(&config, &device)?;
    print_reports(&reports, &args.output);
    Ok(())
}

fn print_reports(reports: &[trainer::run::EpochReport], output: &std::path::Path) {
    println!("epoch  train-loss  dev r: accuracy fluency prosody total");
    for r in reports {
        let dev: Vec<String> = r.dev_pearson.iter().map(|v| format!("{v:.3}")).collect();
        println!("{:5}  {:10.4}  {}", r.epoch, r.train_loss, dev.join("  "));
    }
    println!("model (seed layout) written to {}", output.join("model").display());
}
