//! The seed's scoring heads on top of the encoder, and the model the shells use.
//!
//! General / Freeze: `score_predictor(mean_t(last_hidden_state))`, `Linear(hidden, 4)`.
//! CTC: `score_predictor(mean_t(lm_head(dropout(last_hidden_state))))`, `Linear(vocab, 4)` — the seed
//! trains the `*ForCTC` logits with MSE on the scores only.

use burn::nn::Dropout;
use burn::prelude::*;

use crate::config::{EncoderConfig, Preprocessing};
use crate::encoder::EncoderOutput;
use crate::error::ModelError;
use crate::feature_encoder::frame_mask;
use crate::kernels::Linear;
use crate::layers::{dropout, linear};
use crate::ssl_encoder::SslEncoder;
use crate::weights::{ParamNames, TensorSource};

/// The four utterance scores, Speechocean762's order and 0–10 scale.
pub const SCORE_NAMES: [&str; 4] = ["accuracy", "fluency", "prosody", "total"];

/// Which of the seed's heads a model carries. Freeze differs from General only in training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadKind {
    General,
    Ctc,
}

#[derive(Module, Debug)]
pub struct ScoreHead {
    /// CTC only: `lm_head` of the `*ForCTC` model, `Linear(hidden, vocab)`.
    pub lm_head: Option<Linear>,
    pub final_dropout: Dropout,
    pub score_predictor: Linear,
}

impl ScoreHead {
    pub fn new<S: TensorSource>(src: &mut S, config: &EncoderConfig, kind: HeadKind) -> Result<Self, ModelError> {
        let (lm_head, pooled_width) = match kind {
            HeadKind::General => (None, config.hidden_size),
            HeadKind::Ctc => (Some(linear(src, "lm_head", config.hidden_size, config.vocab_size)?), config.vocab_size),
        };
        Ok(ScoreHead { lm_head, final_dropout: dropout(config.final_dropout), score_predictor: linear(src, "score_predictor", pooled_width, 4)? })
    }

    pub fn kind(&self) -> HeadKind {
        if self.lm_head.is_some() { HeadKind::Ctc } else { HeadKind::General }
    }

    /// CTC logits `[batch, frames, vocab]`, or `None` for a General head.
    pub fn logits(&self, last_hidden_state: Tensor<3>) -> Option<Tensor<3>> {
        self.lm_head.as_ref().map(|lm_head| lm_head.forward(self.final_dropout.forward(last_hidden_state)))
    }

    /// `[batch, frames, hidden] -> [batch, 4]`
    pub fn forward(&self, last_hidden_state: Tensor<3>) -> Tensor<2> {
        self.forward_masked(last_hidden_state, None)
    }

    /// As [`forward`](Self::forward), pooling only the frames where `valid` (`[batch, frames]`) is 1.
    pub fn forward_masked(&self, last_hidden_state: Tensor<3>, valid: Option<Tensor<2>>) -> Tensor<2> {
        let per_frame = match &self.lm_head {
            Some(lm_head) => lm_head.forward(self.final_dropout.forward(last_hidden_state)),
            None => last_hidden_state,
        };
        let pooled = match valid {
            None => per_frame.mean_dim(1).squeeze_dim::<2>(1),
            Some(valid) => {
                let count = valid.clone().sum_dim(1); // [batch, 1]
                (per_frame * valid.unsqueeze_dim::<3>(2)).sum_dim(1).squeeze_dim::<2>(1) / count
            }
        };
        self.score_predictor.forward(pooled)
    }
}

/// An encoder and, when the checkpoint has one, the seed's score head.
#[derive(Module, Debug)]
pub struct PronunciationModel {
    pub encoder: SslEncoder,
    pub head: Option<ScoreHead>,
    /// Each parameter's PyTorch name, for writing the model back in the seed's layout.
    #[module(skip)]
    pub names: ParamNames,
}

/// Scores of one utterance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    pub accuracy: f32,
    pub fluency: f32,
    pub prosody: f32,
    pub total: f32,
}

impl Scores {
    pub fn from_slice(values: &[f32]) -> Self {
        Scores { accuracy: values[0], fluency: values[1], prosody: values[2], total: values[3] }
    }

    pub fn as_array(&self) -> [f32; 4] {
        [self.accuracy, self.fluency, self.prosody, self.total]
    }
}

/// What `prepare` hands to the model: the checkpoint's own preprocessing and its shortest input.
#[derive(Clone, Debug)]
pub struct ModelInfo {
    pub config: EncoderConfig,
    pub preprocessing: Preprocessing,
}

impl ModelInfo {
    /// The shortest audio worth scoring: 0.3 s (a short word), and never less than one CNN frame.
    pub fn min_samples(&self) -> usize {
        const MIN_SCORE_SECONDS: f64 = 0.3;
        let floor = (MIN_SCORE_SECONDS * self.preprocessing.sampling_rate as f64) as usize;
        floor.max(self.config.receptive_field())
    }
}

impl PronunciationModel {
    pub fn head_kind(&self) -> Option<HeadKind> {
        self.head.as_ref().map(ScoreHead::kind)
    }

    /// Encoder outputs for a batch `[batch, samples]` of prepared audio.
    pub fn embed(&self, input_values: Tensor<2>, keep_hidden_states: bool) -> EncoderOutput {
        self.encoder.forward(input_values, keep_hidden_states)
    }

    /// Scores `[batch, 4]` for a batch of prepared audio; `file` names the checkpoint in the error
    /// when it has no head.
    pub fn score_tensor(&self, input_values: Tensor<2>, file: &str) -> Result<Tensor<2>, ModelError> {
        let head = self.head.as_ref().ok_or_else(|| ModelError::NoScoreHead { file: file.to_string() })?;
        Ok(head.forward(self.encoder.forward(input_values, false).last_hidden_state))
    }

    /// Scores `[batch, 4]` of a zero-padded batch whose utterances have `lengths` samples: each as it
    /// would score alone (padding kept out of GroupNorm, attention and pooling).
    pub fn score_tensor_lengths(&self, input_values: Tensor<2>, lengths: &[usize], file: &str) -> Result<Tensor<2>, ModelError> {
        let head = self.head.as_ref().ok_or_else(|| ModelError::NoScoreHead { file: file.to_string() })?;
        let out = self.encoder.forward_lengths(input_values, Some(lengths), false);
        let frames = out.last_hidden_state.dims()[1];
        let device = out.last_hidden_state.device();
        let valid = frame_mask(&self.encoder.feature_extractor.frame_lengths(lengths), frames, &device);
        Ok(head.forward_masked(out.last_hidden_state, Some(valid)))
    }

    /// Scores of one prepared utterance `[1, samples]` (native: reads the result synchronously; the
    /// browser reads [`score_tensor`](Self::score_tensor) asynchronously instead).
    pub fn score(&self, input_values: Tensor<2>, file: &str) -> Result<Scores, ModelError> {
        let values: Vec<f32> = self.score_tensor(input_values, file)?.into_data().try_to_vec::<f32>().map_err(|_| ModelError::NonFiniteOutput)?;
        if values.len() != 4 || values.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::NonFiniteOutput);
        }
        Ok(Scores::from_slice(&values))
    }
}
