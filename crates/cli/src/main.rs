//! `sslpron`: score pronunciation and extract encoder states from the command line.

mod device;
mod embed;
mod model_dir;
mod score;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::device::DeviceChoice;

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
        /// or a hub model OWNER/NAME[@REVISION][:SUBFOLDER], downloaded into the hub cache (HF_HOME,
        /// HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE=1). A path that exists wins.
        #[arg(long, value_name = "DIR|HUB_ID[:SUBFOLDER]")]
        model: PathBuf,
        /// One JSON object per line: {"file", "accuracy", "fluency", "prosody", "total"}.
        #[arg(long)]
        json: bool,
        #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
        device: DeviceChoice,
        /// WAV files (8/16/24/32-bit PCM or 32-bit float, any rate, mono or multi-channel).
        #[arg(required = true)]
        audio: Vec<PathBuf>,
    },
    /// Write every layer's hidden states of one WAV file to a safetensors file.
    Embed {
        /// Model directory or hub model, as for `score`.
        #[arg(long, value_name = "DIR|HUB_ID[:SUBFOLDER]")]
        model: PathBuf,
        #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
        device: DeviceChoice,
        audio: PathBuf,
        /// Output file: `hidden_states.<i>` ([frames, hidden], 0 = encoder input) and `last_hidden_state`.
        #[arg(long)]
        output: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Score { model, json, device, audio } => score::run(&model, json, device, &audio),
        Command::Embed { model, device, audio, output } => embed::run(&model, device, &audio, &output),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sslpron: error: {error}");
            ExitCode::FAILURE
        }
    }
}
