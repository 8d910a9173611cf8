//! `cargo run -p trainer --release --bin evaluate -- --model M --data CORPUS --split test --labels FILE`:
//! Pearson r and MSE per score of a trained model on one split of the corpus (optionally only the
//! speakers of a list, e.g. the dev speakers), with 95% speaker-bootstrap intervals, the subgroups
//! of the split's spk2age / spk2gender, and with `--compare OTHER` the paired comparison with a
//! second model; writes the report files (docs/EVALUATION.md) and the scatter plot the trainer
//! writes. The official test labels are for the final report only (speechocean762-labels/README.md).

use std::path::PathBuf;
use std::process::ExitCode;

use burn::prelude::Device;
use clap::Parser;
use sslpron_audio::PrepareOptions;
use sslpron_model::ModelInfo;
use trainer::bootstrap::{BootstrapSettings, DEFAULT_RESAMPLES, DEFAULT_SEED};
use trainer::data::{Corpus, CorpusOptions, SpeakerList, Utterance};
use trainer::plot::{Panel, scatter_png};
use trainer::report::{ASPECTS, EvalReport, Scored};

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
    /// Speaker resamples for the 95% intervals (0: no intervals).
    #[arg(long, default_value_t = DEFAULT_RESAMPLES)]
    bootstrap: usize,
    /// A second model (same forms as --model) scored on the same utterances: the report gains Δr
    /// per score (--model minus this one) with a paired speaker-bootstrap interval and win share.
    #[arg(long, value_name = "OTHER_MODEL")]
    compare: Option<PathBuf>,
    /// Where report.json, report.txt, report.md and scatter.png go.
    #[arg(long)]
    output: PathBuf,
}

fn main() -> ExitCode {
    trainer::cli::run_binary("evaluate", || evaluate(Args::parse()))
}

/// The model's input for each utterance, prepared as its preprocessor config says.
fn load_audio(utts: &[Utterance], options: &PrepareOptions) -> Result<Vec<Vec<f32>>, String> {
    utts.iter().map(|u| u.load_audio(options).map_err(|e| e.to_string())).collect()
}

fn prepare_options(info: &ModelInfo) -> PrepareOptions {
    PrepareOptions { do_normalize: info.preprocessing.do_normalize, min_samples: info.min_samples() }
}

fn evaluate(args: Args) -> Result<(), String> {
    let device = Device::flex();
    let (info, model) = trainer::run::load_model_for_inference(&args.model, &device)?;
    // Loaded before any scoring, so a wrong path fails in seconds rather than after the first model.
    let other = args.compare.as_deref().map(|spec| trainer::run::load_model_for_inference(spec, &device)).transpose()?;
    let corpus = Corpus::open_with(&args.data, &CorpusOptions { labels: args.labels.clone() }).map_err(|e| e.to_string())?;
    let mut utts: Vec<Utterance> = corpus.split(&args.split).map_err(|e| e.to_string())?;
    if let Some(path) = &args.speakers {
        let list = SpeakerList::read(path).map_err(|e| e.to_string())?;
        let (_, listed) = list.split(utts).map_err(|e| e.to_string())?;
        utts = listed;
    }
    let speaker_info = corpus.speaker_info(&args.split).map_err(|e| e.to_string())?;
    let options = prepare_options(&info);
    eprintln!("evaluate: {} utterances of {}/{}", utts.len(), args.data.display(), args.split);
    let mut audio = load_audio(&utts, &options)?;
    let seconds: Vec<f64> = audio.iter().map(|a| a.len() as f64 / info.preprocessing.sampling_rate as f64).collect();
    let (predicted, human) = trainer::run::predict(&model, &utts, &audio, &device)?;
    let other_predicted = match &other {
        Some((other_info, other_model)) => {
            // The same audio unless the other model normalises differently.
            let other_options = prepare_options(other_info);
            if other_options != options {
                audio = load_audio(&utts, &other_options)?;
            }
            Some(trainer::run::predict(other_model, &utts, &audio, &device)?.0)
        }
        None => None,
    };
    drop(audio);
    let name = match &args.speakers {
        Some(list) => format!("{} ({})", args.split, list.display()),
        None => args.split.clone(),
    };
    let speakers: Vec<String> = utts.iter().map(|u| u.speaker.clone()).collect();
    let scored = Scored { human: human.each_ref().map(Vec::as_slice), predicted: predicted.each_ref().map(Vec::as_slice), speakers: &speakers };
    let settings = BootstrapSettings { resamples: args.bootstrap, seed: DEFAULT_SEED };
    let mut report = EvalReport::analyse(&name, &scored, &speaker_info, settings);
    if let (Some(spec), Some(other_predicted)) = (&args.compare, &other_predicted) {
        let other_scores = other_predicted.each_ref().map(Vec::as_slice);
        report.compare(&args.model.display().to_string(), &spec.display().to_string(), &scored, other_scores, settings);
    }
    report.write(&args.output)?;
    write_predictions(&args.output.join("predictions.tsv"), &utts, &seconds, &human, &predicted, other_predicted.as_ref())?;
    let panels: Vec<Panel> = (0..4).map(|k| Panel { title: ASPECTS[k], human: &human[k], predicted: &predicted[k] }).collect();
    scatter_png(&panels, &args.output.join("scatter.png"))?;
    println!("{}", report.table());
    Ok(())
}

/// One line per utterance: id, speaker, seconds, the four human scores, the four predictions (and the
/// second model's with `--compare`): what a per-utterance analysis (who lands where) starts from.
fn write_predictions(
    path: &std::path::Path,
    utts: &[Utterance],
    seconds: &[f64],
    human: &[Vec<f64>; 4],
    predicted: &[Vec<f64>; 4],
    other: Option<&[Vec<f64>; 4]>,
) -> Result<(), String> {
    let mut header = vec!["utt_id".to_string(), "speaker".into(), "seconds".into()];
    let mut columns: Vec<(&str, &[Vec<f64>; 4])> = vec![("human", human), ("predicted", predicted)];
    if let Some(other) = other {
        columns.push(("other", other));
    }
    for (prefix, _) in &columns {
        header.extend(ASPECTS.iter().map(|a| format!("{prefix}_{a}")));
    }
    let mut text = header.join("\t") + "\n";
    for (i, u) in utts.iter().enumerate() {
        let mut fields = vec![u.id.clone(), u.speaker.clone(), format!("{:.3}", seconds[i])];
        for (_, values) in &columns {
            fields.extend(values.iter().map(|aspect| format!("{:.4}", aspect[i])));
        }
        text.push_str(&(fields.join("\t") + "\n"));
    }
    Ok(sslpron_fs::write_file(path, text.as_bytes())?)
}
