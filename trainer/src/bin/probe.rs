//! `cargo run -p trainer --bin probe -- --model M --data CORPUS --split train --output DIR`: the
//! layer-wise analysis of the seed's model card. Every utterance's hidden states are averaged over
//! frames per layer (one utterance at a time: memory holds [layers × hidden] per utterance, never
//! frames); then per layer (a) a ridge probe per score with speaker-grouped cross-validation, its
//! Pearson r as a table and a line plot, and (b) the first two principal components coloured by
//! total score. Writes probe.json, probe.txt (printed), probe.md, probe_r.png and probe_pca.png;
//! docs/EVALUATION.md, "Layer-wise probe", says how to read them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use burn::prelude::Device;
use clap::Parser;
use trainer::data::{Corpus, CorpusOptions, DataError, SpeakerList, Utterance};
use trainer::probe::{self, ProbeReport, ProbeSettings};

#[derive(Parser)]
#[command(name = "probe", about = "Layer-wise ridge probe and PCA of a model's hidden states on a corpus split")]
struct Args {
    /// Model directory (hub layout), web model file (.sslpron), hub id, or `random:PRESET`
    /// (tiny, small, compact, base, large: a fresh model, for contrast).
    #[arg(long)]
    model: String,
    /// Corpus root in Speechocean762's layout.
    #[arg(long)]
    data: PathBuf,
    /// `train` or `test`.
    #[arg(long, default_value = "train")]
    split: String,
    /// Labels: scores.json format, or a .tsv as `evaluate` reads.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Only these speakers (one id per line), e.g. dev-speakers.txt on the train split.
    #[arg(long)]
    speakers: Option<PathBuf>,
    /// Outer cross-validation folds, grouped by speaker (fewer when the split has fewer speakers).
    #[arg(long, default_value_t = probe::DEFAULT_FOLDS)]
    folds: usize,
    /// Seed of a `random:PRESET` model's weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where probe.json, probe.txt, probe.md, probe_r.png and probe_pca.png go.
    #[arg(long)]
    output: PathBuf,
}

fn main() -> ExitCode {
    trainer::cli::run_binary("probe", || run(Args::parse()))
}

fn run(args: Args) -> Result<(), String> {
    if args.folds < 2 {
        return Err(format!("--folds {}: a cross-validation needs at least 2 folds", args.folds));
    }
    let device = Device::flex();
    let (info, model) = probe::load_model(&args.model, args.seed, &device)?;
    let corpus = Corpus::open_with(&args.data, &CorpusOptions { labels: args.labels.clone() }).map_err(|e| e.to_string())?;
    let mut utts: Vec<Utterance> = corpus.split(&args.split).map_err(|e| e.to_string())?;
    if let Some(path) = &args.speakers {
        let list = SpeakerList::read(path).map_err(|e| e.to_string())?;
        let unknown = list.unknown_in(&utts);
        if !unknown.is_empty() {
            return Err(DataError::UnknownSpeakers { path: path.clone(), speakers: unknown }.to_string());
        }
        utts.retain(|u| list.speakers.contains(&u.speaker));
    }
    let n_speakers = probe::speaker_count(&utts.iter().map(|u| u.speaker.clone()).collect::<Vec<_>>());
    if n_speakers < 2 {
        return Err(format!("{} utterances of {n_speakers} speaker(s): a speaker-grouped cross-validation needs at least 2 speakers", utts.len()));
    }
    eprintln!("probe: {} utterances of {} speakers in {}/{}", utts.len(), n_speakers, args.data.display(), args.split);

    let start = Instant::now();
    let pooled = probe::pool(&model, &info, &utts, &device)?;
    drop(model);
    let seconds_pooling = start.elapsed().as_secs_f64();
    eprintln!("probe: pooled {} layers × {} in {seconds_pooling:.1} s; fitting the probes", pooled.layers, pooled.hidden);

    let start = Instant::now();
    let settings = ProbeSettings { folds: args.folds, ..ProbeSettings::default() };
    let (layers, pca) = probe::analyse(&pooled, &settings)?;
    let (baseline_pearson, baseline_mse) = probe::baseline(&pooled.labels, &pooled.speakers, settings.folds);
    let report = ProbeReport {
        model: args.model.clone(),
        data: args.data.display().to_string(),
        split: args.split.clone(),
        speakers_file: args.speakers.as_ref().map(|p| p.display().to_string()),
        n_utterances: pooled.len(),
        n_speakers,
        hidden_size: pooled.hidden,
        settings,
        layers,
        pca,
        baseline_pearson,
        baseline_mse,
        total: pooled.labels.iter().map(|l| l[3]).collect(),
        seconds_pooling,
        seconds_probe: start.elapsed().as_secs_f64(),
    };
    report.write(&args.output)?;
    println!("{}", report.table());
    Ok(())
}
