//! Model configuration read from a checkpoint's `config.json` (transformers' field names and defaults),
//! and preprocessing from `preprocessor_config.json`.

use serde::Deserialize;

use crate::error::ModelError;

/// Which self-supervised encoder family a checkpoint belongs to. The three share one encoder; WavLM adds
/// a gated relative position bias in self-attention, HuBERT may drop the feature-projection LayerNorm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Wav2Vec2,
    Hubert,
    WavLm,
}

impl Family {
    /// The `model_type` transformers writes into `config.json`, also the key prefix of `*ForCTC` models.
    pub fn model_type(self) -> &'static str {
        match self {
            Family::Wav2Vec2 => "wav2vec2",
            Family::Hubert => "hubert",
            Family::WavLm => "wavlm",
        }
    }

    pub fn from_model_type(model_type: &str) -> Option<Self> {
        match model_type {
            "wav2vec2" => Some(Family::Wav2Vec2),
            "hubert" => Some(Family::Hubert),
            "wavlm" => Some(Family::WavLm),
            _ => None,
        }
    }
}

/// Normalisation after the CNN layers: `group` = GroupNorm on conv layer 0 only (base models),
/// `layer` = LayerNorm over channels on every conv layer (large models).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatExtractNorm {
    Group,
    Layer,
}

/// Activation names as transformers' `ACT2FN` spells them (the ones these encoders use).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Activation {
    #[serde(rename = "gelu")]
    Gelu,
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluTanh,
    #[serde(rename = "relu")]
    Relu,
    #[serde(rename = "silu", alias = "swish")]
    Silu,
}

/// The encoder's hyper-parameters. Field names and defaults are transformers' `Wav2Vec2Config`
/// (HuBERT and WavLM add a few), so a hub `config.json` deserialises as is.
#[derive(Clone, Debug, Deserialize)]
pub struct EncoderConfig {
    #[serde(skip)]
    pub family: Option<Family>,
    #[serde(default = "d::model_type")]
    pub model_type: String,
    #[serde(default = "d::hidden_size")]
    pub hidden_size: usize,
    #[serde(default = "d::num_hidden_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "d::num_attention_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "d::intermediate_size")]
    pub intermediate_size: usize,
    #[serde(default = "d::gelu")]
    pub hidden_act: Activation,
    #[serde(default = "d::p01")]
    pub hidden_dropout: f64,
    #[serde(default = "d::p01")]
    pub activation_dropout: f64,
    #[serde(default = "d::p01")]
    pub attention_dropout: f64,
    #[serde(default)]
    pub feat_proj_dropout: f64,
    #[serde(default = "d::p01")]
    pub final_dropout: f64,
    #[serde(default = "d::p01")]
    pub layerdrop: f64,
    #[serde(default = "d::layer_norm_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "d::group")]
    pub feat_extract_norm: FeatExtractNorm,
    #[serde(default = "d::gelu")]
    pub feat_extract_activation: Activation,
    #[serde(default = "d::conv_dim")]
    pub conv_dim: Vec<usize>,
    #[serde(default = "d::conv_stride")]
    pub conv_stride: Vec<usize>,
    #[serde(default = "d::conv_kernel")]
    pub conv_kernel: Vec<usize>,
    #[serde(default)]
    pub conv_bias: bool,
    #[serde(default = "d::num_conv_pos_embeddings")]
    pub num_conv_pos_embeddings: usize,
    #[serde(default = "d::num_conv_pos_embedding_groups")]
    pub num_conv_pos_embedding_groups: usize,
    #[serde(default)]
    pub do_stable_layer_norm: bool,
    #[serde(default = "d::yes")]
    pub apply_spec_augment: bool,
    #[serde(default = "d::mask_time_prob")]
    pub mask_time_prob: f64,
    #[serde(default = "d::mask_length")]
    pub mask_time_length: usize,
    #[serde(default = "d::mask_time_min_masks")]
    pub mask_time_min_masks: usize,
    #[serde(default)]
    pub mask_feature_prob: f64,
    #[serde(default = "d::vocab_size")]
    pub vocab_size: usize,
    /// HuBERT only: LayerNorm before the feature projection (Wav2Vec2 and WavLM always have it).
    #[serde(default = "d::yes")]
    pub feat_proj_layer_norm: bool,
    /// HuBERT only, unsupported when true (BatchNorm instead of weight norm on the positional conv).
    #[serde(default)]
    pub conv_pos_batch_norm: bool,
    /// Wav2Vec2 adapters are not part of any seed checkpoint; refused when true.
    #[serde(default)]
    pub add_adapter: bool,
    /// WavLM relative position buckets.
    #[serde(default = "d::num_buckets")]
    pub num_buckets: usize,
    #[serde(default = "d::max_bucket_distance")]
    pub max_bucket_distance: usize,
}

mod d {
    use super::{Activation, FeatExtractNorm};
    pub fn model_type() -> String {
        "wav2vec2".into()
    }
    pub fn hidden_size() -> usize {
        768
    }
    pub fn num_hidden_layers() -> usize {
        12
    }
    pub fn num_attention_heads() -> usize {
        12
    }
    pub fn intermediate_size() -> usize {
        3072
    }
    pub fn gelu() -> Activation {
        Activation::Gelu
    }
    pub fn p01() -> f64 {
        0.1
    }
    pub fn layer_norm_eps() -> f64 {
        1e-5
    }
    pub fn group() -> FeatExtractNorm {
        FeatExtractNorm::Group
    }
    pub fn conv_dim() -> Vec<usize> {
        vec![512; 7]
    }
    pub fn conv_stride() -> Vec<usize> {
        vec![5, 2, 2, 2, 2, 2, 2]
    }
    pub fn conv_kernel() -> Vec<usize> {
        vec![10, 3, 3, 3, 3, 2, 2]
    }
    pub fn num_conv_pos_embeddings() -> usize {
        128
    }
    pub fn num_conv_pos_embedding_groups() -> usize {
        16
    }
    pub fn yes() -> bool {
        true
    }
    pub fn mask_time_prob() -> f64 {
        0.05
    }
    pub fn mask_length() -> usize {
        10
    }
    pub fn mask_time_min_masks() -> usize {
        2
    }
    pub fn vocab_size() -> usize {
        32
    }
    pub fn num_buckets() -> usize {
        320
    }
    pub fn max_bucket_distance() -> usize {
        800
    }
}

impl EncoderConfig {
    /// Parses and validates a `config.json`. `file` names it in errors.
    pub fn from_json(file: &str, json: &[u8]) -> Result<Self, ModelError> {
        let bad = |message: String| ModelError::Config { file: file.to_string(), message };
        let mut config: EncoderConfig =
            serde_json::from_slice(json).map_err(|e| bad(format!("not a valid config: {e}")))?;
        let family = Family::from_model_type(&config.model_type).ok_or_else(|| {
            bad(format!(
                "model_type \"{}\" is not one of wav2vec2, hubert, wavlm",
                config.model_type
            ))
        })?;
        config.family = Some(family);
        config.validate().map_err(bad)?;
        Ok(config)
    }

    pub fn family(&self) -> Family {
        self.family.unwrap_or(Family::Wav2Vec2)
    }

    fn validate(&self) -> Result<(), String> {
        let layers = self.conv_dim.len();
        if layers == 0 || self.conv_stride.len() != layers || self.conv_kernel.len() != layers {
            return Err(format!(
                "conv_dim, conv_stride and conv_kernel must have the same non-zero length (got {}, {}, {})",
                self.conv_dim.len(),
                self.conv_stride.len(),
                self.conv_kernel.len()
            ));
        }
        if self.conv_dim.contains(&0) || self.conv_stride.contains(&0) || self.conv_kernel.contains(&0) {
            return Err("conv_dim, conv_stride and conv_kernel entries must be positive".into());
        }
        if self.hidden_size == 0 || self.num_attention_heads == 0 || self.hidden_size % self.num_attention_heads != 0 {
            return Err(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.num_conv_pos_embedding_groups == 0 || self.hidden_size % self.num_conv_pos_embedding_groups != 0 {
            return Err(format!(
                "hidden_size {} is not divisible by num_conv_pos_embedding_groups {}",
                self.hidden_size, self.num_conv_pos_embedding_groups
            ));
        }
        if self.num_conv_pos_embeddings == 0 || self.intermediate_size == 0 || self.num_hidden_layers == 0 {
            return Err("num_conv_pos_embeddings, intermediate_size and num_hidden_layers must be positive".into());
        }
        if self.conv_pos_batch_norm {
            return Err("conv_pos_batch_norm=true is not supported (no seed checkpoint uses it)".into());
        }
        if self.add_adapter {
            return Err("add_adapter=true is not supported (no seed checkpoint uses it)".into());
        }
        if self.family() == Family::WavLm && self.num_buckets < 4 {
            return Err(format!("num_buckets {} is too small", self.num_buckets));
        }
        Ok(())
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Whether the feature projection starts with a LayerNorm (always, except HuBERT with
    /// `feat_proj_layer_norm=false`).
    pub fn has_feature_projection_norm(&self) -> bool {
        self.family() != Family::Hubert || self.feat_proj_layer_norm
    }

    /// Samples one output frame of the CNN sees: shorter input gives no frame at all.
    pub fn receptive_field(&self) -> usize {
        let mut field = 1;
        let mut jump = 1;
        for (&kernel, &stride) in self.conv_kernel.iter().zip(&self.conv_stride) {
            field += (kernel - 1) * jump;
            jump *= stride;
        }
        field
    }

    /// Number of frames the CNN produces for `samples` input samples (transformers'
    /// `_get_feat_extract_output_lengths`).
    pub fn frames_for(&self, samples: usize) -> usize {
        let mut length = samples;
        for (&kernel, &stride) in self.conv_kernel.iter().zip(&self.conv_stride) {
            if length < kernel {
                return 0;
            }
            length = (length - kernel) / stride + 1;
        }
        length
    }
}

/// What the checkpoint's `preprocessor_config.json` asks of the audio.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preprocessing {
    pub sampling_rate: u32,
    /// Per-utterance zero mean / unit variance (transformers' `do_normalize`).
    pub do_normalize: bool,
}

impl Default for Preprocessing {
    /// transformers' `Wav2Vec2FeatureExtractor` defaults.
    fn default() -> Self {
        Preprocessing { sampling_rate: 16_000, do_normalize: true }
    }
}

impl Preprocessing {
    pub fn from_json(file: &str, json: &[u8]) -> Result<Self, ModelError> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default = "rate")]
            sampling_rate: u32,
            #[serde(default = "d::yes")]
            do_normalize: bool,
        }
        fn rate() -> u32 {
            16_000
        }
        let raw: Raw = serde_json::from_slice(json).map_err(|e| ModelError::Config {
            file: file.to_string(),
            message: format!("not a valid preprocessor config: {e}"),
        })?;
        if raw.sampling_rate != 16_000 {
            return Err(ModelError::Config {
                file: file.to_string(),
                message: format!("sampling_rate {} is not supported (these encoders take 16000 Hz)", raw.sampling_rate),
            });
        }
        Ok(Preprocessing { sampling_rate: raw.sampling_rate, do_normalize: raw.do_normalize })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_cnn_has_400_sample_receptive_field_and_320x_stride() {
        let config = EncoderConfig::from_json("config.json", b"{}").unwrap();
        assert_eq!(config.receptive_field(), 400);
        // transformers: 16000 samples -> 49 frames for the standard CNN.
        assert_eq!(config.frames_for(16_000), 49);
        assert_eq!(config.frames_for(399), 0);
        assert_eq!(config.frames_for(400), 1);
    }

    #[test]
    fn rejects_unknown_model_type_and_inconsistent_sizes() {
        let err = EncoderConfig::from_json("x/config.json", br#"{"model_type":"bert"}"#).unwrap_err();
        assert!(err.to_string().contains("x/config.json") && err.to_string().contains("bert"), "{err}");
        let err = EncoderConfig::from_json("c.json", br#"{"hidden_size":10,"num_attention_heads":4}"#).unwrap_err();
        assert!(err.to_string().contains("not divisible"), "{err}");
        let err = EncoderConfig::from_json("c.json", br#"{"conv_dim":[4,4],"conv_stride":[1]}"#).unwrap_err();
        assert!(err.to_string().contains("same non-zero length"), "{err}");
    }
}
