//! What the prompt-aware binaries (`prompt-evidence`, `prompt-head`) share: a clip through the
//! frozen encoder and the phone head, the corpus's word labels, and one utterance's inputs for the
//! prompt-aware head (crates/align's feature layout).

use std::collections::HashMap;
use std::path::Path;

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use sslpron_align::Vocabulary;
use sslpron_audio::PrepareOptions;
use sslpron_model::PronunciationModel;
use sslpron_text::Lexicon;

use crate::data::{Corpus, PhoneVocab, SpeakerList, Utterance};
use crate::phone_ctc::{self, PHONE_HEAD_FILE, PHONE_VOCAB_FILE, PhoneHead};

/// The options every prompt-aware binary takes.
#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// Model directory (hub layout), web model file (.sslpron) or hub id.
    #[arg(long)]
    pub model: std::path::PathBuf,
    /// Folder with phone_head.safetensors and phone_vocab.json (default: the model directory).
    #[arg(long, conflicts_with = "recognizer")]
    pub phone_head: Option<std::path::PathBuf>,
    /// Folder with a phone recogniser (`phone-recognizer`'s output): the phone evidence comes from it
    /// instead of a phone head on the encoder.
    #[arg(long)]
    pub recognizer: Option<std::path::PathBuf>,
    /// Corpus root in Speechocean762's layout (its train split, with word labels in resource/scores.json).
    #[arg(long)]
    pub data: std::path::PathBuf,
    /// Speakers held out (one id per line): the dev speakers.
    #[arg(long)]
    pub speakers: std::path::PathBuf,
}

/// What [`SetupArgs`] name, loaded: the model and its phone head (inference device), the train
/// split cut into train and dev speakers, word labels, the lexicon.
pub struct Setup {
    pub device: Device,
    pub info: sslpron_model::ModelInfo,
    pub model: PronunciationModel,
    pub phones: PhoneSource,
    pub vocab: Vocabulary,
    pub train: Vec<Utterance>,
    pub dev: Vec<Utterance>,
    pub labels: HashMap<String, Vec<WordLabel>>,
    pub lexicon: Lexicon,
    pub options: PrepareOptions,
}

impl Setup {
    pub fn load(args: &SetupArgs) -> Result<Self, String> {
        let device = Device::flex();
        let (info, model) = crate::run::load_model_for_inference(&args.model, &device)?;
        let (phones, phone_vocab, vocab_dir) = match &args.recognizer {
            Some(dir) => {
                let (model, _, vocab) = crate::recognizer::load(dir, sslpron_model::Kernels::default(), &device)?;
                let aligner_vocab = Vocabulary::new(vocab.tokens().to_vec()).map_err(|e| e.to_string())?;
                (PhoneSource::Recognizer(Box::new(sslpron_prompt::Recognizer::new(model, aligner_vocab))), vocab, dir.clone())
            }
            None => {
                let dir = args.phone_head.clone().unwrap_or_else(|| args.model.clone());
                let vocab = PhoneVocab::load(&dir.join(PHONE_VOCAB_FILE)).map_err(|e| e.to_string())?;
                let head = phone_ctc::load(&dir.join(PHONE_HEAD_FILE), &info.config, vocab.len(), &device)?;
                (PhoneSource::Head { head: Box::new(head), state: vocab.hidden_state() }, vocab, dir)
            }
        };
        if phone_vocab.keep_stress() {
            return Err(format!("{}: stress-marked vowels; the aligner's phones have no stress", vocab_dir.join(PHONE_VOCAB_FILE).display()));
        }
        let vocab = Vocabulary::new(phone_vocab.tokens().to_vec()).map_err(|e| e.to_string())?;
        let corpus = Corpus::open(&args.data).map_err(|e| e.to_string())?;
        let utts = corpus.split("train").map_err(|e| e.to_string())?;
        let (train, dev) = SpeakerList::read(&args.speakers).and_then(|list| list.split(utts)).map_err(|e| e.to_string())?;
        let labels = word_labels(corpus.labels_path())?;
        let options = PrepareOptions { do_normalize: info.preprocessing.do_normalize, min_samples: info.min_samples() };
        Ok(Setup { device, info, model, phones, vocab, train, dev, labels, lexicon: Lexicon::builtin(), options })
    }

    /// [`clip`] with this setup's model, phone source and options.
    pub fn clip(&self, utt: &Utterance) -> Result<Clip, String> {
        clip(&self.model, &self.phones, utt, &self.options, &self.device)
    }
}

/// Where the phone posteriors come from.
pub enum PhoneSource {
    /// A phone head on the encoder's hidden state `state` (`None`: the last).
    Head { head: Box<PhoneHead>, state: Option<usize> },
    /// The phone recogniser on the clip's log-mel features.
    Recognizer(Box<sslpron_prompt::Recognizer>),
}

/// One clip after the encoder and the phone head (host memory).
pub struct Clip {
    pub utt: Utterance,
    /// The model's input samples (16 kHz).
    pub samples: Vec<f32>,
    /// `[frames, hidden]` last hidden state.
    pub hidden: Vec<f32>,
    /// `[frames, tokens]` log posteriors of the phone head.
    pub log_probs: Vec<f32>,
    pub frames: usize,
}

/// Runs `utt` through the encoder and the phone source on `device` (an inference device). A phone
/// head reads `hidden_states[state]` (`None`: the last hidden state, which `Clip::hidden` always is);
/// the recogniser's 40 ms frames are each repeated twice to line up with the encoder's 20 ms frames.
pub fn clip(model: &PronunciationModel, phones: &PhoneSource, utt: &Utterance, options: &PrepareOptions, device: &Device) -> Result<Clip, String> {
    let samples = utt.load_audio(options).map_err(|e| e.to_string())?;
    let input = Tensor::<1>::from_floats(samples.as_slice(), device).unsqueeze_dim::<2>(0);
    let head_state = match phones {
        PhoneSource::Head { state, .. } => *state,
        PhoneSource::Recognizer(_) => None,
    };
    let (hidden, head_input) = encoder_states(model, input, head_state)?;
    let [_, frames, _] = hidden.dims();
    let to_vec = |t: Tensor<3>| t.into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"));
    let log_probs = match phones {
        PhoneSource::Head { head, .. } => to_vec(log_softmax(head.forward(head_input), 2))?,
        PhoneSource::Recognizer(recognizer) => recognizer.log_posteriors(&samples, frames, device).map_err(|e| format!("{}: {e}", utt.id))?,
    };
    let hidden = hidden.into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    Ok(Clip { utt: utt.clone(), samples, hidden, log_probs, frames })
}

/// The encoder's last hidden state and the state a phone head reads: `hidden_states[head_state]`,
/// or the last hidden state again for `None`.
pub fn encoder_states(model: &PronunciationModel, input: Tensor<2>, head_state: Option<usize>) -> Result<(Tensor<3>, Tensor<3>), String> {
    let output = model.embed(input, head_state.is_some());
    let last = output.last_hidden_state;
    let head_input = match head_state {
        None => last.clone(),
        Some(k) => output.hidden_states.into_iter().nth(k).ok_or(format!("hidden state {k}: the model has fewer"))?,
    };
    Ok((last, head_input))
}

/// One word's expert scores (train-split labels).
#[derive(Clone, Debug, PartialEq)]
pub struct WordLabel {
    pub text: String,
    pub accuracy: f32,
    pub total: f32,
}

/// Each utterance's word labels, by utterance id, from a scores.json file.
pub fn word_labels(path: &Path) -> Result<HashMap<String, Vec<WordLabel>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let object = json.as_object().ok_or_else(|| format!("{}: not a JSON object", path.display()))?;
    let mut out = HashMap::new();
    for (id, entry) in object {
        let Some(words) = entry.get("words").and_then(|w| w.as_array()) else { continue };
        let words = words
            .iter()
            .filter_map(|w| {
                Some(WordLabel {
                    text: w.get("text")?.as_str()?.to_string(),
                    accuracy: w.get("accuracy")?.as_f64()? as f32,
                    total: w.get("total")?.as_f64()? as f32,
                })
            })
            .collect();
        out.insert(id.clone(), words);
    }
    Ok(out)
}

/// One utterance's inputs and targets for the prompt-aware head.
pub struct Example {
    pub id: String,
    pub speaker: String,
    pub phone_ids: Vec<usize>,
    /// `[phones, phone_width]`.
    pub phone_features: Vec<f32>,
    pub sentence: Vec<f32>,
    pub word_of_phone: Vec<usize>,
    /// Per prompt word: (accuracy, total) when the corpus's word labels line up with the prompt's words.
    pub word_labels: Vec<Option<[f32; 2]>>,
    pub labels: [f32; 4],
}

/// The head's inputs for `clip` read as `text` (its own, or another for the wrong-text checks).
pub fn example(
    clip: &Clip,
    text: &str,
    lexicon: &Lexicon,
    vocab: &Vocabulary,
    hidden_size: usize,
    words: Option<&[WordLabel]>,
) -> Result<Option<Example>, String> {
    let prompt = sslpron_text::prompt(text, lexicon).map_err(|e| format!("{}: {text:?}: {e}", clip.utt.id))?;
    let analysis = match sslpron_prompt::analyse(&prompt, vocab, &clip.log_probs, &clip.hidden, hidden_size, &clip.samples) {
        Ok(a) => a,
        Err(sslpron_prompt::PromptError::Align(sslpron_align::AlignError::TooShort { .. })) => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", clip.utt.id)),
    };
    let input = analysis.input;
    let lined_up =
        words.filter(|w| w.len() == prompt.words.len() && w.iter().zip(&prompt.words).all(|(label, p)| label.text.eq_ignore_ascii_case(&p.word)));
    let word_labels = match lined_up {
        Some(w) => w.iter().map(|label| Some([label.accuracy, label.total])).collect(),
        None => vec![None; prompt.words.len()],
    };
    Ok(Some(Example {
        id: clip.utt.id.clone(),
        speaker: clip.utt.speaker.clone(),
        phone_ids: input.phone_ids,
        phone_features: input.phone_features,
        sentence: input.sentence,
        word_of_phone: input.word_of_phone,
        word_labels,
        labels: clip.utt.labels,
    }))
}
