//! The phone recogniser: a small CTC acoustic model from log-mel features (crates/audio `LogMel`) to
//! phone logits (blank at id 0, then the phone vocabulary), the source of prompt-aware scoring's
//! phone evidence (crates/align).
//!
//! Why a model of its own rather than a head on the scoring encoder: the shipped default encoder,
//! trained from scratch for utterance scores, carries no phone identity a head can read (linear and
//! two-layer CTC heads stay at the unigram prior, docs/EVALUATION.md), and GOPT-style scorers read
//! their evidence from a separate acoustic model anyway. It reuses the encoder's building blocks:
//!
//! ```text
//! mel [batch, T, 80] → conv(k3, s2) → GELU → conv(k3, s2) → GELU      (40 ms frames)
//!   → feature projection (Linear) → dropout
//!   → Encoder (positional conv, LayerNorm, post-norm transformer layers; as Wav2Vec2's)
//!   → Linear → phone logits [batch, frames(T), vocab]
//! ```
//!
//! Files, beside the scoring model: `phone_recognizer.safetensors` (tensors named as below, PyTorch
//! layouts), `phone_recognizer.json` ([`PhoneRecognizerConfig`]), and the vocabulary in
//! `phone_vocab.json` (the phone head's format).

use burn::nn::Dropout;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{export_values, to_safetensors};
use crate::config::EncoderConfig;
use crate::encoder::Encoder;
use crate::error::ModelError;
use crate::feature_encoder::frame_mask;
use crate::kernels::{ActivationLayer, FrameConv, Kernels, Linear, conv::conv_output_length};
use crate::layers::{activation, dropout, linear};
use crate::weights::{CheckpointSource, Init, ParamNames, RandomSource, TensorSource};

/// File of the recogniser's weights.
pub const PHONE_RECOGNIZER_FILE: &str = "phone_recognizer.safetensors";
/// File of its [`PhoneRecognizerConfig`].
pub const PHONE_RECOGNIZER_CONFIG_FILE: &str = "phone_recognizer.json";

/// Sub-sampling convolutions: kernel 3, stride 2, twice (10 ms mel frames → 40 ms frames).
const SUBSAMPLING: [(usize, usize); 2] = [(3, 2), (3, 2)];
/// Largest sizes a config may ask for (a hostile file must not make us allocate gigabytes).
const MAX_WIDTH: usize = 4096;
const MAX_LAYERS: usize = 24;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhoneRecognizerConfig {
    /// Mel bins of the input (crates/audio `MEL_BINS`).
    pub mel_bins: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    /// Kernel of the positional convolution, in 40 ms frames.
    pub num_conv_pos_embeddings: usize,
    pub num_conv_pos_embedding_groups: usize,
    /// Dropout on the projected features, attention, hidden states and activations while training.
    pub dropout: f64,
    /// Output tokens: the blank and the phones.
    pub vocab_size: usize,
}

impl PhoneRecognizerConfig {
    /// The default shape: 4 layers of 192 (about 2 M parameters), a 1.3 s positional convolution.
    pub fn new(mel_bins: usize, vocab_size: usize) -> Self {
        PhoneRecognizerConfig {
            mel_bins,
            hidden_size: 192,
            num_hidden_layers: 4,
            num_attention_heads: 4,
            intermediate_size: 768,
            num_conv_pos_embeddings: 32,
            num_conv_pos_embedding_groups: 16,
            dropout: 0.1,
            vocab_size,
        }
    }

    /// Parses and checks `phone_recognizer.json`; `file` names it in errors.
    pub fn from_json(file: &str, json: &[u8]) -> Result<Self, ModelError> {
        let config: PhoneRecognizerConfig = serde_json::from_slice(json)
            .map_err(|e| ModelError::Config { file: file.into(), message: format!("not a valid phone recogniser config: {e}") })?;
        config.encoder_config(file)?;
        Ok(config)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("config serialises") + "\n"
    }

    /// The transformer part as an [`EncoderConfig`] (Wav2Vec2's post-norm layout), after checking
    /// every size before anything is allocated.
    fn encoder_config(&self, file: &str) -> Result<EncoderConfig, ModelError> {
        let bad = |message: String| ModelError::Config { file: file.into(), message };
        for (name, value, max) in [
            ("mel_bins", self.mel_bins, MAX_WIDTH),
            ("hidden_size", self.hidden_size, MAX_WIDTH),
            ("num_hidden_layers", self.num_hidden_layers, MAX_LAYERS),
            ("num_attention_heads", self.num_attention_heads, 64),
            ("intermediate_size", self.intermediate_size, 4 * MAX_WIDTH),
            ("num_conv_pos_embeddings", self.num_conv_pos_embeddings, 256),
            ("num_conv_pos_embedding_groups", self.num_conv_pos_embedding_groups, MAX_WIDTH),
            ("vocab_size", self.vocab_size, 1024),
        ] {
            if value == 0 || value > max {
                return Err(bad(format!("{name} = {value} is outside 1..={max}")));
            }
        }
        if self.vocab_size < 2 {
            return Err(bad("vocab_size must hold the blank and at least one phone".into()));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(bad(format!("dropout = {} is outside [0, 1)", self.dropout)));
        }
        let json = serde_json::json!({
            "model_type": "wav2vec2",
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "intermediate_size": self.intermediate_size,
            "num_conv_pos_embeddings": self.num_conv_pos_embeddings,
            "num_conv_pos_embedding_groups": self.num_conv_pos_embedding_groups,
            "hidden_dropout": self.dropout,
            "attention_dropout": self.dropout,
            "activation_dropout": self.dropout,
            "feat_proj_dropout": self.dropout,
            "layerdrop": 0.0,
        });
        // EncoderConfig's own checks (heads divide the width, groups divide it) apply as well.
        EncoderConfig::from_json(file, json.to_string().as_bytes())
    }

    /// A fresh recogniser (the encoder's initialisation).
    pub fn init(&self, device: &Device) -> Result<PhoneRecognizer, ModelError> {
        let mut src = RandomSource::new(device);
        PhoneRecognizer::new(&mut src, self, "phone_recognizer.json").map(|model| model.with_names(src.into_names()))
    }
}

#[derive(Module, Debug)]
pub struct PhoneRecognizer {
    pub subsampling: Vec<FrameConv>,
    pub activation: ActivationLayer,
    pub feature_projection: Linear,
    pub dropout: Dropout,
    pub encoder: Encoder,
    pub output: Linear,
    #[module(skip)]
    names: ParamNames,
}

impl PhoneRecognizer {
    fn new<S: TensorSource>(src: &mut S, config: &PhoneRecognizerConfig, file: &str) -> Result<Self, ModelError> {
        let encoder_config = config.encoder_config(file)?;
        let h = config.hidden_size;
        let mut subsampling = Vec::new();
        for (i, (kernel, stride)) in SUBSAMPLING.into_iter().enumerate() {
            let c_in = if i == 0 { config.mel_bins } else { h };
            let prefix = format!("subsampling.{i}");
            let std = (2.0 / (c_in * kernel) as f64).sqrt();
            let weight = src.param(&format!("{prefix}.weight"), [h, c_in, kernel], Init::Normal { std })?;
            let bias = Some(src.param(&format!("{prefix}.bias"), [h], Init::Zeros)?);
            subsampling.push(FrameConv { weight, bias, stride, kernels: src.kernels() });
        }
        Ok(PhoneRecognizer {
            subsampling,
            activation: activation(src, encoder_config.hidden_act),
            feature_projection: linear(src, "feature_projection", h, h)?,
            dropout: dropout(config.dropout),
            encoder: Encoder::new(src, &encoder_config)?,
            output: linear(src, "output", h, config.vocab_size)?,
            names: ParamNames::default(),
        })
    }

    fn with_names(mut self, names: ParamNames) -> Self {
        self.names = names;
        self
    }

    /// The recogniser in `bytes` (safetensors; `file` names it in errors), shaped by `config`.
    pub fn from_safetensors(file: &str, bytes: &[u8], config: &PhoneRecognizerConfig, kernels: Kernels, device: &Device) -> Result<Self, ModelError> {
        let mut src = CheckpointSource::new(file, bytes, device, |name| Some(name.to_string()))?.with_kernels(kernels);
        let model = PhoneRecognizer::new(&mut src, config, file)?;
        let (names, unused) = src.finish()?;
        if !unused.is_empty() {
            return Err(ModelError::Config { file: file.into(), message: format!("unexpected tensors {}", unused.join(", ")) });
        }
        Ok(model.with_names(names))
    }

    /// The weights as safetensors bytes (PyTorch layouts).
    pub fn to_safetensors(&self) -> Vec<u8> {
        to_safetensors(&export_values(self, self.names.clone()))
    }

    /// Output frames for `mel_frames` input frames (0 when too short for one).
    pub fn frames(mel_frames: usize) -> usize {
        SUBSAMPLING.iter().fold(mel_frames, |frames, &(kernel, stride)| conv_output_length(frames, kernel, stride))
    }

    /// Seconds between output frames.
    pub const FRAME_SECONDS: f64 = 0.04;

    /// Phone logits `[batch, frames, vocab]` from normalised log-mel features `[batch, T, mel_bins]`
    /// whose first `mel_frames[i]` frames are real (`None`: all are).
    pub fn forward(&self, mel: Tensor<3>, mel_frames: Option<&[usize]>) -> Tensor<3> {
        let mut x = mel;
        for conv in &self.subsampling {
            x = self.activation.forward(conv.forward(x));
        }
        let x = self.dropout.forward(self.feature_projection.forward(x));
        let Some(lengths) = mel_frames else {
            return self.output.forward(self.encoder.forward(x, None, false).last_hidden_state);
        };
        let [batch, frames, _] = x.dims();
        let lengths: Vec<usize> = lengths.iter().map(|&l| Self::frames(l)).collect();
        let valid = frame_mask(&lengths, frames, &x.device());
        // As the scoring encoder: padded frames are zeroed before the positional conv, and no key attends to them.
        let x = x * valid.clone().unsqueeze_dim::<3>(2);
        let key_padding = ((valid - 1.0) * 1e30).reshape([batch, 1, 1, frames]);
        let hidden = self.encoder.forward(x, Some(&key_padding), false).last_hidden_state;
        self.output.forward(hidden)
    }
}
