//! The prompt-aware head (issue 17, item 3), after GOPT (Gong et al., ICASSP 2022): a small
//! transformer over the prompt's canonical phones that reads, for each phone, its canonical identity
//! and the evidence about how it was said, and gives utterance scores and per-phone word scores.
//!
//! ```text
//! tokens = [CLS_accuracy, CLS_fluency, CLS_prosody, CLS_total,   4 learned vectors
//!           SENTENCE,                                          sentence_projection(standardised sentence features)
//!           phone_1 … phone_P]                                 phone_embedding[canonical] + phone_projection(standardised phone features)
//! x = transformer layers (the encoder's post-norm layer, its own prefix) over tokens, padding masked
//! utterance score k = ⟨x[CLS_k], utterance_weight[k]⟩ + utterance_bias[k]
//! phone p's word scores (accuracy, total) = word_out(x[phone_p])   (the caller averages them per word)
//! ```
//!
//! What the features are is the caller's business (crates/align computes them; the trainer's
//! `prompt-head` binary documents the order); this module only needs their widths and the training
//! set's mean and standard deviation, which live in the head's config (`prompt_head.json`) so that a
//! saved head standardises its inputs exactly as it was trained. Parameter names start with
//! `prompt_head.` (`prompt_head.safetensors`).

use burn::module::Param;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::EncoderConfig;
use crate::encoder::EncoderLayer;
use crate::error::ModelError;
use crate::kernels::Linear;
use crate::layers::{INITIALIZER_RANGE, linear};
use crate::weights::{CheckpointSource, Init, TensorSource};

/// Parameter prefix in `prompt_head.safetensors`.
pub const PREFIX: &str = "prompt_head";
/// Utterance scores: accuracy, fluency, prosody, total ([`crate::SCORE_NAMES`]).
const UTTERANCE_SCORES: usize = 4;
/// Word scores per phone: accuracy, total.
pub const WORD_SCORES: usize = 2;
/// Tokens before the phones: the four [CLS] tokens and the sentence token.
const LEADING_TOKENS: usize = UTTERANCE_SCORES + 1;
/// The largest feature vector a head may declare (a bound for hostile configs; ours use < 300).
const MAX_FEATURES: usize = 1 << 16;

/// The head's shape and its inputs' standardisation (`prompt_head.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromptHeadConfig {
    /// Size of the phone vocabulary the canonical phones are ids of (the phone head's, blank at 0).
    pub phone_tokens: usize,
    pub phone_features: usize,
    pub sentence_features: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub dropout: f64,
    /// Per-feature mean and standard deviation of the training set: inputs are standardised with them.
    pub phone_feature_mean: Vec<f32>,
    pub phone_feature_std: Vec<f32>,
    pub sentence_feature_mean: Vec<f32>,
    pub sentence_feature_std: Vec<f32>,
}

impl PromptHeadConfig {
    /// A config with identity standardisation (mean 0, std 1): the trainer sets the statistics.
    pub fn new(phone_tokens: usize, phone_features: usize, sentence_features: usize) -> Self {
        PromptHeadConfig {
            phone_tokens,
            phone_features,
            sentence_features,
            hidden_size: 64,
            num_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 128,
            dropout: 0.1,
            phone_feature_mean: vec![0.0; phone_features],
            phone_feature_std: vec![1.0; phone_features],
            sentence_feature_mean: vec![0.0; sentence_features],
            sentence_feature_std: vec![1.0; sentence_features],
        }
    }

    /// Parses and checks `prompt_head.json` (`file` names it in errors): sizes within bounds,
    /// statistics of the declared widths, standard deviations finite and positive.
    pub fn from_json(file: &str, json: &[u8]) -> Result<Self, ModelError> {
        let bad = |message: String| ModelError::Config { file: file.to_string(), message };
        let value: serde_json::Value = serde_json::from_slice(json).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        // Name the field of a negative or fractional size (serde would only say "expected usize").
        for field in ["phone_tokens", "phone_features", "sentence_features", "hidden_size", "num_layers", "num_attention_heads", "intermediate_size"]
        {
            if value.get(field).is_some_and(|v| !v.is_u64()) {
                return Err(bad(format!("{field} must be a whole number >= 0, not {}", value[field])));
            }
        }
        let config: PromptHeadConfig = serde_json::from_value(value).map_err(|e| bad(format!("not a valid prompt head config: {e}")))?;
        config.validate().map_err(bad)?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        for (field, value) in
            [("phone_tokens", self.phone_tokens), ("phone_features", self.phone_features), ("sentence_features", self.sentence_features)]
        {
            if value == 0 || value > MAX_FEATURES {
                return Err(format!("{field} = {value} must be between 1 and {MAX_FEATURES}"));
            }
        }
        for (field, values, width) in [
            ("phone_feature_mean", &self.phone_feature_mean, self.phone_features),
            ("phone_feature_std", &self.phone_feature_std, self.phone_features),
            ("sentence_feature_mean", &self.sentence_feature_mean, self.sentence_features),
            ("sentence_feature_std", &self.sentence_feature_std, self.sentence_features),
        ] {
            if values.len() != width {
                return Err(format!("{field} has {} values for {width} features", values.len()));
            }
            let is_std = field.ends_with("std");
            if let Some(v) = values.iter().find(|v| !v.is_finite() || (is_std && **v <= 0.0)) {
                return Err(format!("{field} holds {v}, not a finite{} number", if is_std { " positive" } else { "" }));
            }
        }
        self.transformer_config("prompt_head.json").map(|_| ()).map_err(|e| e.to_string())
    }

    /// The transformer layers' config: the encoder's layer (post-norm, GELU) at this width, checked
    /// by the encoder config's own limits.
    pub fn transformer_config(&self, file: &str) -> Result<EncoderConfig, ModelError> {
        let json = serde_json::json!({
            "model_type": "wav2vec2",
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_layers,
            "num_attention_heads": self.num_attention_heads,
            "intermediate_size": self.intermediate_size,
            "hidden_dropout": self.dropout,
            "attention_dropout": self.dropout,
            "activation_dropout": self.dropout,
            "layerdrop": 0.0,
            // The head has no positional conv; one group keeps its width free of that constraint.
            "num_conv_pos_embedding_groups": 1,
        });
        EncoderConfig::from_json(file, json.to_string().as_bytes())
    }
}

/// One batch for the head; `P` = the longest prompt's phones (shorter ones padded).
pub struct PromptInput {
    /// `[batch, P]` canonical phone ids (any id `< phone_tokens` in padding).
    pub phone_ids: Tensor<2, Int>,
    /// `[batch, P, phone_features]`, raw (the head standardises).
    pub phone_features: Tensor<3>,
    /// `[batch, sentence_features]`, raw.
    pub sentence_features: Tensor<2>,
    /// `[batch, P]`: 1 for a real phone, 0 for padding; `None` when nothing is padded.
    pub phone_mask: Option<Tensor<2>>,
}

pub struct PromptOutput {
    /// `[batch, 4]`: accuracy, fluency, prosody, total.
    pub utterance: Tensor<2>,
    /// `[batch, P, 2]`: each phone's word accuracy and total (average over a word's phones).
    pub phones: Tensor<3>,
}

#[derive(Module, Debug)]
pub struct PromptHead {
    pub phone_embedding: Param<Tensor<2>>,
    pub phone_projection: Linear,
    pub sentence_projection: Linear,
    pub cls: Param<Tensor<2>>,
    pub layers: Vec<EncoderLayer>,
    pub utterance_weight: Param<Tensor<2>>,
    pub utterance_bias: Param<Tensor<1>>,
    pub word_out: Linear,
    #[module(skip)]
    pub config: PromptHeadConfigSkip,
}

/// The config carried inside the module (Burn's derive needs `Clone + Debug` for skipped fields and
/// a type it does not try to record).
#[derive(Clone, Debug)]
pub struct PromptHeadConfigSkip(pub PromptHeadConfig);

impl PromptHead {
    /// The head's parameters from `src` (fresh from a random source, or read from a checkpoint).
    pub fn new<S: TensorSource>(src: &mut S, config: &PromptHeadConfig) -> Result<Self, ModelError> {
        config.validate().map_err(|message| ModelError::Config { file: "prompt_head.json".into(), message })?;
        let transformer = config.transformer_config("prompt_head.json")?;
        let d = config.hidden_size;
        let p = PREFIX;
        let normal = Init::Normal { std: INITIALIZER_RANGE };
        Ok(PromptHead {
            phone_embedding: src.param(&format!("{p}.phone_embedding"), [config.phone_tokens, d], normal)?,
            phone_projection: linear(src, &format!("{p}.phone_projection"), config.phone_features, d)?,
            sentence_projection: linear(src, &format!("{p}.sentence_projection"), config.sentence_features, d)?,
            cls: src.param(&format!("{p}.cls"), [UTTERANCE_SCORES, d], normal)?,
            layers: (0..config.num_layers).map(|i| EncoderLayer::new(src, &transformer, &format!("{p}.layers.{i}"), i)).collect::<Result<_, _>>()?,
            utterance_weight: src.param(&format!("{p}.utterance_weight"), [UTTERANCE_SCORES, d], normal)?,
            utterance_bias: src.param(&format!("{p}.utterance_bias"), [UTTERANCE_SCORES], Init::Zeros)?,
            word_out: linear(src, &format!("{p}.word_out"), d, WORD_SCORES)?,
            config: PromptHeadConfigSkip(config.clone()),
        })
    }

    /// The head in `bytes` (safetensors, `prompt_head.*` names; `file` names it in errors), shaped by
    /// `config`; tensors the config does not call for are refused.
    pub fn from_safetensors(file: &str, bytes: &[u8], config: &PromptHeadConfig, device: &Device) -> Result<Self, ModelError> {
        let mut src = CheckpointSource::new(file, bytes, device, |name| Some(name.to_string()))?;
        let head = PromptHead::new(&mut src, config)?;
        let (_, unused) = src.finish()?;
        if !unused.is_empty() {
            return Err(ModelError::Config { file: file.into(), message: format!("unexpected tensors {}", unused.join(", ")) });
        }
        Ok(head)
    }

    pub fn config(&self) -> &PromptHeadConfig {
        &self.config.0
    }

    /// Utterance and per-phone word scores (module notes).
    pub fn forward(&self, input: &PromptInput) -> PromptOutput {
        let config = &self.config.0;
        let [batch, phones] = input.phone_ids.dims();
        let d = config.hidden_size;
        let device = input.phone_features.device();
        let standardise = |x: Tensor<3>, mean: &[f32], std: &[f32]| {
            let width = mean.len();
            let mean = Tensor::<1>::from_floats(mean, &device).reshape([1, 1, width]);
            let std = Tensor::<1>::from_floats(std, &device).reshape([1, 1, width]);
            (x - mean) / std
        };
        let ids = input.phone_ids.clone().reshape([batch * phones]);
        let canonical = self.phone_embedding.val().select(0, ids).reshape([batch, phones, d]);
        let evidence =
            self.phone_projection.forward(standardise(input.phone_features.clone(), &config.phone_feature_mean, &config.phone_feature_std));
        let sentence = standardise(input.sentence_features.clone().unsqueeze_dim(1), &config.sentence_feature_mean, &config.sentence_feature_std);
        let sentence = self.sentence_projection.forward(sentence);
        let cls = self.cls.val().unsqueeze_dim::<3>(0).repeat_dim(0, batch);
        let mut x = Tensor::cat(vec![cls, sentence, canonical + evidence], 1);
        let key_padding = input.phone_mask.as_ref().map(|mask| {
            let valid = Tensor::cat(vec![Tensor::<2>::ones([batch, LEADING_TOKENS], &device), mask.clone()], 1);
            ((valid - 1.0) * 1e30).reshape([batch, 1, 1, LEADING_TOKENS + phones])
        });
        for layer in &self.layers {
            x = layer.forward(x, None, key_padding.as_ref()).0;
        }
        let cls_out = x.clone().slice([0..batch, 0..UTTERANCE_SCORES, 0..d]);
        let weight = self.utterance_weight.val().unsqueeze_dim::<3>(0);
        let utterance = (cls_out * weight).sum_dim(2).reshape([batch, UTTERANCE_SCORES]) + self.utterance_bias.val().unsqueeze_dim(0);
        let phone_out = x.slice([0..batch, LEADING_TOKENS..LEADING_TOKENS + phones, 0..d]);
        PromptOutput { utterance, phones: self.word_out.forward(phone_out) }
    }
}
