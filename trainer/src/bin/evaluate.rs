//! `cargo run -p trainer --release --bin evaluate -- --model M --data CORPUS --split test --labels FILE`:
//! Pearson r and MSE per score of a trained model on one split of the corpus (optionally only the
//! speakers of a list, e.g. the dev speakers), with the report files and scatter plot the trainer
//! writes. The official test labels are for the final report only (speechocean762-labels/README.md).

use std::path::PathBuf;
use std::process::ExitCode;

use burn::prelude::Device;
use clap::Parser;
use sslpron_audio::PrepareOptions;
use trainer::data::{Corpus, CorpusOptions, SpeakerList, Utterance};
use trainer::plot::{Panel, scatter_png};
use trainer::report::{ASPECTS, EvalReport};

#[derive(Parser)]
#[command(name = "evaluate", about = "Pearson r and MSE of a trained model on a corpus split")]
struct Args {
    /// Model directory (hub layout), web model file (.sslpron) or hub id.
    #[arg(long)]
    model: PathBuf,
    /// Corpus root in Speechocean762's layout.
    #[arg(long)]
    data: PathBuf,
    /// `train` or `test`.
    #[arg(long, default_value = "test")]
    split: String,
    /// Labels: scores.json format, or a .tsv with a header (utt_id, accuracy, fluency, prosodic,
    /// total; `_provisional` suffixes accepted) such as the labels folder's test-scores.tsv.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Evaluate only these speakers (one id per line), e.g. dev-speakers.txt on the train split.
    #[arg(long)]
    speakers: Option<PathBuf>,
    /// Where report.json, report.txt and scatter.png go.
    #[arg(long)]
    output: PathBuf,
}

fn main() -> ExitCode {
    sslpron_model::host_kernels::retain_freed_memory();
    match evaluate(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("evaluate: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn evaluate(args: Args) -> Result<(), String> {
    let device = Device::flex();
    let (info, model) = if args.model.is_file() {
        let bytes = std::fs::read(&args.model).map_err(|e| format!("{}: {e}", args.model.display()))?;
        let (info, model, _, _) = sslpron_model::load_bundle(&bytes, &args.model.display().to_string(), &device).map_err(|e| e.to_string())?;
        (info, model)
    } else {
        let bytes = trainer::run::locate_model(&args.model)?.read()?;
        let (info, model, _) = sslpron_model::load(&bytes.files(), &device).map_err(|e| e.to_string())?;
        (info, model)
    };
    let corpus = Corpus::open_with(&args.data, &CorpusOptions { labels: args.labels.clone() }).map_err(|e| e.to_string())?;
    let mut utts: Vec<Utterance> = corpus.split(&args.split).map_err(|e| e.to_string())?;
    if let Some(path) = &args.speakers {
        let list = SpeakerList::read(path).map_err(|e| e.to_string())?;
        let (_, listed) = list.split(utts).map_err(|e| e.to_string())?;
        utts = listed;
    }
    let options = PrepareOptions { do_normalize: info.preprocessing.do_normalize, min_samples: info.min_samples() };
    eprintln!("evaluate: {} utterances of {}/{}", utts.len(), args.data.display(), args.split);
    let audio: Vec<Vec<f32>> = utts.iter().map(|u| u.load_audio(&options).map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
    let (predicted, human) = trainer::run::predict(&model, &utts, &audio, &device)?;
    let name = match &args.speakers {
        Some(list) => format!("{} ({})", args.split, list.display()),
        None => args.split.clone(),
    };
    let report = EvalReport::compute(&name, human.each_ref().map(Vec::as_slice), predicted.each_ref().map(Vec::as_slice));
    report.write(&args.output)?;
    let panels: Vec<Panel> = (0..4).map(|k| Panel { title: ASPECTS[k], human: &human[k], predicted: &predicted[k] }).collect();
    scatter_png(&panels, &args.output.join("scatter.png"))?;
    println!("{}", report.table());
    Ok(())
}
