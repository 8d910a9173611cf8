//! Prompt-aware scoring end to end: the sentence the learner was asked to read and a 16 kHz clip in;
//! utterance scores, each word's scores and error, and each phone's evidence out.
//!
//! ```text
//! clip ─► scoring encoder (the audio-only model) ─► last hidden state [frames, hidden]
//!   └──► log-mel ─► phone recogniser ─► log posteriors (40 ms frames, each repeated to the encoder's 20 ms)
//! text ─► sslpron-text (normalise, lexicon, letter-to-sound) ─► canonical phones
//! posteriors + phones ─► sslpron-align (forced alignment, LPP/LPR, alignment-free GOP) ─► feature rows
//! feature rows + hidden state ─► PromptHead ─► utterance scores, per-phone word scores
//! ```
//!
//! The same code runs in the CLI and the trainer's tools (which compute the head's inputs through
//! [`analyse`], so training and scoring can never disagree on them); it is wasm-safe for the browser,
//! which does not use it yet. No file or
//! network I/O: the shells read the bytes ([`PromptFiles`]).
//!
//! What the results mean, and their limits, are in docs/EVALUATION.md ("Prompt-aware scoring"): the
//! word scores are learnt from Speechocean762's word labels; the phone scores and the word errors are
//! unsupervised evidence of the phone recogniser (the corpus has no phone labels).

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use serde::Serialize;
use sslpron_align::sentence::sentence_features;
use sslpron_align::{Alignment, LogPosteriors, PhoneEvidence, Vocabulary, align, evidence, features};
use sslpron_audio::{LogMel, MEL_BINS};
use sslpron_model::{Kernels, PhoneRecognizer, PhoneRecognizerConfig, PromptHead, PromptHeadConfig, PromptInput, PronunciationModel, Scores};
use sslpron_text::{Lexicon, Prompt};

/// Files of the prompt-aware parts, beside the scoring model.
pub const PROMPT_HEAD_FILE: &str = "prompt_head.safetensors";
pub const PROMPT_HEAD_CONFIG_FILE: &str = "prompt_head.json";
pub use sslpron_model::{PHONE_RECOGNIZER_CONFIG_FILE, PHONE_RECOGNIZER_FILE, PHONE_VOCAB_FILE};

/// Seconds per scoring-encoder frame (320 samples at 16 kHz, every supported family).
pub const FRAME_SECONDS: f32 = 0.02;

/// A word counts as not read (`omission`) when the mean log posterior of its phones on their aligned
/// frames is below this: the aligner had to place them where the recogniser heard something else.
/// Chosen on the dev speakers (docs/EVALUATION.md, "Prompt-aware scoring").
pub const OMISSION_LPP: f32 = -4.0;
/// A read word is a `mispronunciation` when its predicted accuracy is below this (0–10 scale).
pub const MISPRONUNCIATION_ACCURACY: f32 = 6.0;
/// The audio reads the sentence (`prompt_match`) when at least this share of its words were read…
pub const MATCH_SHARE: f32 = 0.7;
/// … and the mean over its words of their mean log posterior is at least this.
pub const MATCH_MEAN_LPP: f32 = -2.5;

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("{0}")]
    Text(#[from] sslpron_text::TextError),
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error(transparent)]
    Model(#[from] sslpron_model::ModelError),
    #[error(transparent)]
    Align(#[from] sslpron_align::AlignError),
    #[error("the model gave a non-finite value")]
    NonFinite,
}

/// A file's name (for messages) and bytes.
#[derive(Clone, Copy)]
pub struct NamedBytes<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// Everything prompt-aware scoring reads besides the scoring model and the lexicon.
pub struct PromptFiles<'a> {
    pub recognizer_config: NamedBytes<'a>,
    pub recognizer_weights: NamedBytes<'a>,
    pub phone_vocab: NamedBytes<'a>,
    pub head_config: NamedBytes<'a>,
    pub head_weights: NamedBytes<'a>,
}

/// Reads `phone_vocab.json` (`{"keep_stress": false, "tokens": ["<blank>", "AA", …]}`): the aligner's
/// vocabulary. Stress-marked vocabularies are refused (the lexicon's phones carry no stress).
pub fn read_phone_vocab(file: NamedBytes) -> Result<Vocabulary, PromptError> {
    #[derive(serde::Deserialize)]
    struct VocabFile {
        #[serde(default)]
        keep_stress: bool,
        tokens: Vec<String>,
    }
    let bad = |message: String| PromptError::File { file: file.name.to_string(), message };
    let parsed: VocabFile = serde_json::from_slice(file.bytes).map_err(|e| bad(format!("not a phone vocabulary: {e}")))?;
    if parsed.keep_stress {
        return Err(bad("stress-marked vowels; the lexicon's phones have no stress".into()));
    }
    Vocabulary::new(parsed.tokens).map_err(|e| bad(e.to_string()))
}

/// The phone recogniser with its front end and vocabulary.
pub struct Recognizer {
    pub model: PhoneRecognizer,
    pub vocab: Vocabulary,
    mel: LogMel,
}

impl Recognizer {
    pub fn new(model: PhoneRecognizer, vocab: Vocabulary) -> Self {
        Recognizer { model, vocab, mel: LogMel::new() }
    }

    pub fn load(config: NamedBytes, weights: NamedBytes, vocab: NamedBytes, kernels: Kernels, device: &Device) -> Result<Self, PromptError> {
        let config = PhoneRecognizerConfig::from_json(config.name, config.bytes)?;
        let vocab_parsed = read_phone_vocab(vocab)?;
        if vocab_parsed.len() != config.vocab_size {
            return Err(PromptError::File {
                file: vocab.name.to_string(),
                message: format!("{} tokens, but the recogniser's config says vocab_size {}", vocab_parsed.len(), config.vocab_size),
            });
        }
        let model = PhoneRecognizer::from_safetensors(weights.name, weights.bytes, &config, kernels, device)?;
        Ok(Recognizer::new(model, vocab_parsed))
    }

    /// Log posteriors `[frames, tokens]` of 16 kHz `samples` at the scoring encoder's frame rate:
    /// each 40 ms recogniser frame twice, the last repeated (or dropped) to make `frames`.
    pub fn log_posteriors(&self, samples: &[f32], frames: usize, device: &Device) -> Result<Vec<f32>, PromptError> {
        let values = self.mel.normalized(samples);
        let mel_frames = values.len() / MEL_BINS;
        let own_frames = PhoneRecognizer::frames(mel_frames);
        if own_frames == 0 || frames == 0 {
            return Err(PromptError::Align(sslpron_align::AlignError::TooShort { frames: own_frames, needed: 1 }));
        }
        let input = Tensor::<3>::from_data(TensorData::new(values, [1, mel_frames, MEL_BINS]), device);
        let own = log_softmax(self.model.forward(input, None), 2).into_data().try_to_vec::<f32>().map_err(|_| PromptError::NonFinite)?;
        let tokens = self.vocab.len();
        if own.iter().any(|v| !v.is_finite()) {
            return Err(PromptError::NonFinite);
        }
        Ok((0..frames).flat_map(|t| own[(t / 2).min(own_frames - 1) * tokens..][..tokens].iter().copied()).collect())
    }
}

/// The head's inputs for one clip read as one text (crates/align's feature layout).
#[derive(Clone, Debug)]
pub struct HeadInput {
    pub phone_ids: Vec<usize>,
    /// `[phones, phone_feature_width]`.
    pub phone_features: Vec<f32>,
    pub sentence: Vec<f32>,
    pub word_of_phone: Vec<usize>,
}

/// A clip aligned to a text, with the evidence and the head's inputs.
pub struct Analysis {
    pub alignment: Alignment,
    pub evidence: Vec<Vec<PhoneEvidence>>,
    pub input: HeadInput,
}

/// Aligns `prompt` on `log_probs` (`[frames, vocab.len()]`) and lays out the head's inputs; `hidden`
/// is the scoring encoder's last hidden state `[frames, hidden_size]` and `samples` the clip.
pub fn analyse(
    prompt: &Prompt,
    vocab: &Vocabulary,
    log_probs: &[f32],
    hidden: &[f32],
    hidden_size: usize,
    samples: &[f32],
) -> Result<Analysis, PromptError> {
    let frames = hidden.len() / hidden_size.max(1);
    let lp = LogPosteriors::new(log_probs, frames, vocab.len())?;
    let alignment = align(prompt, vocab, &lp)?;
    let evidence = evidence(&alignment, &lp);
    let rows = features::phone_rows(&alignment, &evidence, hidden, hidden_size);
    let sentence = features::sentence_row(&sentence_features(samples, prompt.words.len(), rows.tokens.len()), hidden, hidden_size);
    let input = HeadInput { phone_ids: rows.tokens, phone_features: rows.features, sentence, word_of_phone: rows.word_of_phone };
    Ok(Analysis { alignment, evidence, input })
}

/// Why a word is flagged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WordError {
    None,
    Mispronunciation,
    Omission,
}

#[derive(Clone, Debug, Serialize)]
pub struct PhoneResult {
    pub phone: String,
    /// 10 × exp(the phone's mean log posterior over its aligned frames): the geometric mean of the
    /// recogniser's posterior, 0–10 (unsupervised).
    pub score: f32,
    pub start: f32,
    pub end: f32,
}

#[derive(Clone, Debug, Serialize)]
pub struct WordResult {
    /// The spoken word, lowercase (`twenty` and `first` for `21st`).
    pub word: String,
    /// The text it comes from, as written in the sentence.
    pub written: String,
    pub accuracy: f32,
    pub total: f32,
    pub start: f32,
    pub end: f32,
    pub error: WordError,
    pub approximate: bool,
    pub phones: Vec<PhoneResult>,
}

/// Scores of one clip read against one text.
#[derive(Clone, Debug, Serialize)]
pub struct PromptResult {
    pub scores: [f32; 4],
    pub prompt_match: bool,
    pub words: Vec<WordResult>,
}

/// The prompt-aware scorer: recogniser, head and lexicon.
pub struct PromptScorer {
    pub recognizer: Recognizer,
    pub head: PromptHead,
    pub lexicon: Lexicon,
}

impl PromptScorer {
    pub fn load(files: &PromptFiles, lexicon: Lexicon, kernels: Kernels, device: &Device) -> Result<Self, PromptError> {
        let recognizer = Recognizer::load(files.recognizer_config, files.recognizer_weights, files.phone_vocab, kernels, device)?;
        let config = PromptHeadConfig::from_json(files.head_config.name, files.head_config.bytes)?;
        if config.phone_tokens != recognizer.vocab.len() {
            return Err(PromptError::File {
                file: files.head_config.name.to_string(),
                message: format!("phone_tokens {} but the recogniser has {} tokens", config.phone_tokens, recognizer.vocab.len()),
            });
        }
        let head = PromptHead::from_safetensors(files.head_weights.name, files.head_weights.bytes, &config, device)?;
        Ok(PromptScorer { recognizer, head, lexicon })
    }

    /// Scores prepared 16 kHz `samples` (the scoring model's preprocessing applied) against `text`.
    pub fn score(&self, model: &PronunciationModel, samples: &[f32], text: &str, device: &Device) -> Result<PromptResult, PromptError> {
        let prompt = sslpron_text::prompt(text, &self.lexicon)?;
        let input = Tensor::<1>::from_floats(samples, device).unsqueeze_dim::<2>(0);
        let hidden = model.embed(input, false).last_hidden_state;
        let [_, frames, hidden_size] = hidden.dims();
        let hidden = hidden.into_data().try_to_vec::<f32>().map_err(|_| PromptError::NonFinite)?;
        let config = self.head.config();
        let widths = (features::phone_feature_width(self.recognizer.vocab.len(), hidden_size), features::sentence_feature_width(hidden_size));
        if (config.phone_features, config.sentence_features) != widths {
            return Err(PromptError::File {
                file: PROMPT_HEAD_CONFIG_FILE.into(),
                message: format!(
                    "the head reads {} phone and {} sentence features, this scoring model and recogniser give {} and {}: the head was trained with another model",
                    config.phone_features, config.sentence_features, widths.0, widths.1
                ),
            });
        }
        let log_probs = self.recognizer.log_posteriors(samples, frames, device)?;
        let analysis = analyse(&prompt, &self.recognizer.vocab, &log_probs, &hidden, hidden_size, samples)?;
        let (utterance, phone_scores) = self.head_scores(&analysis.input, device)?;
        Ok(self.result(&prompt, &analysis, utterance, &phone_scores))
    }

    /// The head's utterance scores and per-phone (word accuracy, word total).
    fn head_scores(&self, input: &HeadInput, device: &Device) -> Result<([f32; 4], Vec<[f32; 2]>), PromptError> {
        let phones = input.phone_ids.len();
        let config = self.head.config();
        let ids: Vec<i64> = input.phone_ids.iter().map(|&id| id as i64).collect();
        let output = self.head.forward(&PromptInput {
            phone_ids: Tensor::<1, Int>::from_ints(ids.as_slice(), device).reshape([1, phones]),
            phone_features: Tensor::<3>::from_data(TensorData::new(input.phone_features.clone(), [1, phones, config.phone_features]), device),
            sentence_features: Tensor::<2>::from_data(TensorData::new(input.sentence.clone(), [1, config.sentence_features]), device),
            phone_mask: None,
        });
        let utterance = output.utterance.into_data().try_to_vec::<f32>().map_err(|_| PromptError::NonFinite)?;
        let per_phone = output.phones.into_data().try_to_vec::<f32>().map_err(|_| PromptError::NonFinite)?;
        if utterance.iter().chain(&per_phone).any(|v| !v.is_finite()) {
            return Err(PromptError::NonFinite);
        }
        Ok(([utterance[0], utterance[1], utterance[2], utterance[3]], per_phone.chunks_exact(2).map(|c| [c[0], c[1]]).collect()))
    }

    fn result(&self, prompt: &Prompt, analysis: &Analysis, utterance: [f32; 4], phone_scores: &[[f32; 2]]) -> PromptResult {
        let mut words = Vec::with_capacity(prompt.words.len());
        let mut phone_index = 0;
        let mut word_lpp_sum = 0f32;
        for ((word, aligned), evidence) in prompt.words.iter().zip(&analysis.alignment.words).zip(&analysis.evidence) {
            let n = aligned.phones.len();
            let mine = &phone_scores[phone_index..phone_index + n];
            phone_index += n;
            let mean = |k: usize| mine.iter().map(|s| s[k]).sum::<f32>() / n as f32;
            let mean_lpp = evidence.iter().map(|e| e.lpp).sum::<f32>() / n as f32;
            word_lpp_sum += mean_lpp;
            let omitted = mean_lpp < OMISSION_LPP;
            let (accuracy, total) = if omitted { (0.0, 0.0) } else { (clamp_score(mean(0)), clamp_score(mean(1))) };
            let error = if omitted {
                WordError::Omission
            } else if accuracy < MISPRONUNCIATION_ACCURACY {
                WordError::Mispronunciation
            } else {
                WordError::None
            };
            let phones = aligned
                .phones
                .iter()
                .zip(evidence)
                .map(|(p, e)| PhoneResult {
                    phone: p.phone.name().to_string(),
                    score: clamp_score(10.0 * e.lpp.exp()),
                    start: p.start as f32 * FRAME_SECONDS,
                    end: p.end as f32 * FRAME_SECONDS,
                })
                .collect();
            words.push(WordResult {
                word: word.word.clone(),
                written: word.written.clone(),
                accuracy,
                total,
                start: aligned.start() as f32 * FRAME_SECONDS,
                end: aligned.end() as f32 * FRAME_SECONDS,
                error,
                approximate: word.approximate(),
                phones,
            });
        }
        let read_share = words.iter().filter(|w| w.error != WordError::Omission).count() as f32 / words.len().max(1) as f32;
        // Words not read cannot be accurate: accuracy and total count only the share that was read.
        let scores = Scores::from_slice(&utterance);
        let scores = [
            clamp_score(scores.accuracy * read_share),
            clamp_score(scores.fluency),
            clamp_score(scores.prosody),
            clamp_score(scores.total * read_share),
        ];
        let heard = word_lpp_sum / words.len().max(1) as f32;
        PromptResult { scores, prompt_match: read_share >= MATCH_SHARE && heard >= MATCH_MEAN_LPP, words }
    }
}

fn clamp_score(v: f32) -> f32 {
    v.clamp(0.0, 10.0)
}
