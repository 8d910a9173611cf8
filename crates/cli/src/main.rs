//! `sslpron`: score pronunciation and extract encoder states from the command line.

mod convert;
mod embed;
mod model_dir;
mod prompt;
mod score;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "sslpron", version, about = "Score English pronunciation with SSL speech encoders (Wav2Vec2 / HuBERT / WavLM)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score WAV files: accuracy, fluency, prosody and total on the 0-10 scale.
    Score {
        /// Model directory in the hub layout (config.json, model.safetensors, optional preprocessor_config.json),
        /// a web model file (`sslpron convert`), or a hub model OWNER/NAME[@REVISION][:SUBFOLDER], downloaded into the hub cache (HF_HOME,
        /// HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE=1). A path that exists wins. Default: the built-in model
        /// (www/models/default.sslpron, trained on Speechocean762; see www/models/default/MODEL_CARD.md).
        #[arg(long, value_name = "DIR|FILE.sslpron|HUB_ID[:SUBFOLDER]")]
        model: Option<PathBuf>,
        /// One JSON object per line: {"file", "accuracy", "fluency", "prosody", "total"}, and with a
        /// sentence also "text", "prompt_match" and "words" (README, "Scoring against the sentence").
        #[arg(long)]
        json: bool,
        /// The sentence the one AUDIO file reads: scores it against the text (word and phone results).
        /// Needs the default model or a --model directory holding the prompt-aware parts.
        #[arg(long, value_name = "SENTENCE")]
        text: Option<String>,
        /// Lines `audio-path<TAB>sentence` (no header; relative paths against the list's folder): scores
        /// each file against its sentence. No AUDIO arguments with it.
        #[arg(long, value_name = "LIST.tsv", conflicts_with = "text")]
        texts: Option<PathBuf>,
        #[arg(long, default_value = "cpu", value_parser = sslpron_model::device::DEVICE_NAMES)]
        device: String,
        /// WAV files (8/16/24/32-bit PCM or 32-bit float, any rate, mono or multi-channel).
        #[arg(required_unless_present = "texts")]
        audio: Vec<PathBuf>,
    },
    /// Write every layer's hidden states of one WAV file to a safetensors file.
    Embed {
        /// Model directory or hub model, as for `score`.
        #[arg(long, value_name = "DIR|HUB_ID[:SUBFOLDER]")]
        model: PathBuf,
        #[arg(long, default_value = "cpu", value_parser = sslpron_model::device::DEVICE_NAMES)]
        device: String,
        audio: PathBuf,
        /// Output file: `hidden_states.<i>` ([frames, hidden], 0 = encoder input) and `last_hidden_state`.
        #[arg(long)]
        output: PathBuf,
    },
    /// Convert a model (directory or hub model) into the web format: one file for the browser scorer.
    Convert {
        /// Model directory or hub model, as for `score`; it must have a score head.
        #[arg(value_name = "DIR|HUB_ID[:SUBFOLDER]")]
        model: PathBuf,
        /// Output file (e.g. model.sslpron), written atomically; a new folder with --hub-layout.
        output: PathBuf,
        /// Weight storage: f16 (half the size, the default), f32 (exact), int8 (weight matrices per-row int8).
        #[arg(long, default_value = "f16")]
        precision: sslpron_model::Precision,
        /// Text the page shows about the model (what it was trained on, or that it is untrained).
        #[arg(long, default_value = "")]
        description: String,
        /// WAV files to score with the original and the converted model: prints the largest change.
        #[arg(long, value_name = "WAV")]
        check: Vec<PathBuf>,
        /// Write a model directory in the hub layout (OUTPUT is a new folder) with the weights stored at
        /// --precision (f32 or f16), instead of a web model file.
        #[arg(long)]
        hub_layout: bool,
    },
}

fn main() -> ExitCode {
    sslpron_model::kernels::retain_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Score { model, json, text, texts, device, audio } => {
            score::Request::new(audio, text, texts.as_deref()).and_then(|request| score::run(model.as_deref(), json, &device, request))
        }
        Command::Embed { model, device, audio, output } => embed::run(&model, &device, &audio, &output),
        Command::Convert { model, output, precision, description, check, hub_layout } => {
            convert::run(&model, &output, precision, &description, &check, hub_layout)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sslpron: error: {error}");
            ExitCode::FAILURE
        }
    }
}
