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
        let value: serde_json::Value = serde_json::from_slice(json).map_err(|e| bad(format!("not a valid config: {e}")))?;
        check_sizes_are_counts(&value).map_err(bad)?;
        let mut config: EncoderConfig = serde_json::from_value(value).map_err(|e| bad(format!("not a valid config: {e}")))?;
        let family = Family::from_model_type(&config.model_type)
            .ok_or_else(|| bad(format!("model_type \"{}\" is not one of wav2vec2, hubert, wavlm", config.model_type)))?;
        config.family = Some(family);
        config.validate().map_err(bad)?;
        Ok(config)
    }

    pub fn family(&self) -> Family {
        self.family.unwrap_or(Family::Wav2Vec2)
    }

    fn validate(&self) -> Result<(), String> {
        self.check_limits()?;
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
        if self.hidden_size == 0 || self.num_attention_heads == 0 || !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(format!("hidden_size {} is not divisible by num_attention_heads {}", self.hidden_size, self.num_attention_heads));
        }
        if self.num_conv_pos_embedding_groups == 0 || !self.hidden_size.is_multiple_of(self.num_conv_pos_embedding_groups) {
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

    /// Refuses sizes no real checkpoint has before anything is allocated for them: a `config.json` asking
    /// for a billion-wide layer must fail in microseconds with the field's name, not abort on an
    /// allocation of terabytes. Each bound is ~10x the largest public model of these families
    /// (wav2vec2-xls-r-2b: hidden 1920, 48 layers, 16 heads, feed-forward 7680, conv 512, kernel 128).
    fn check_limits(&self) -> Result<(), String> {
        let over = |field: &str, value: usize, max: usize| -> Result<(), String> {
            match value > max {
                true => Err(format!("{field} = {value} is larger than any model sslpron loads (at most {max})")),
                false => Ok(()),
            }
        };
        over("hidden_size", self.hidden_size, LIMITS.width)?;
        over("intermediate_size", self.intermediate_size, LIMITS.feed_forward)?;
        over("num_hidden_layers", self.num_hidden_layers, LIMITS.layers)?;
        over("num_attention_heads", self.num_attention_heads, LIMITS.heads)?;
        over("num_conv_pos_embeddings", self.num_conv_pos_embeddings, LIMITS.kernel)?;
        over("num_conv_pos_embedding_groups", self.num_conv_pos_embedding_groups, LIMITS.width)?;
        over("vocab_size", self.vocab_size, LIMITS.vocab)?;
        over("num_buckets", self.num_buckets, LIMITS.buckets)?;
        over("max_bucket_distance", self.max_bucket_distance, LIMITS.bucket_distance)?;
        over("mask_time_length", self.mask_time_length, LIMITS.mask)?;
        over("conv_dim (number of layers)", self.conv_dim.len(), LIMITS.conv_layers)?;
        for (field, values, max) in [
            ("conv_dim", &self.conv_dim, LIMITS.width),
            ("conv_kernel", &self.conv_kernel, LIMITS.kernel),
            ("conv_stride", &self.conv_stride, LIMITS.kernel),
        ] {
            for (i, &v) in values.iter().enumerate() {
                over(&format!("{field}[{i}]"), v, max)?;
            }
        }
        for (field, p) in [
            ("hidden_dropout", self.hidden_dropout),
            ("activation_dropout", self.activation_dropout),
            ("attention_dropout", self.attention_dropout),
            ("feat_proj_dropout", self.feat_proj_dropout),
            ("final_dropout", self.final_dropout),
            ("layerdrop", self.layerdrop),
            ("mask_time_prob", self.mask_time_prob),
            ("mask_feature_prob", self.mask_feature_prob),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{field} = {p} is not a probability (0 to 1)"));
            }
        }
        if !(self.layer_norm_eps > 0.0 && self.layer_norm_eps < 1.0) {
            return Err(format!("layer_norm_eps = {} must be between 0 and 1", self.layer_norm_eps));
        }
        // Each size may be plausible and their product not: bound the parameter count (u128, so the
        // estimate itself cannot overflow).
        let (h, ffn, layers) = (self.hidden_size as u128, self.intermediate_size as u128, self.num_hidden_layers as u128);
        let mut params = layers * (4 * h * h + 2 * h * ffn);
        let mut c_in = 1u128;
        for (&c_out, &k) in self.conv_dim.iter().zip(&self.conv_kernel) {
            params += c_in * c_out as u128 * k as u128;
            c_in = c_out as u128;
        }
        params += h * (h / self.num_conv_pos_embedding_groups.max(1) as u128) * self.num_conv_pos_embeddings as u128;
        params += h * self.vocab_size as u128;
        if params > LIMITS.parameters {
            return Err(format!(
                "the config asks for about {:.1e} parameters, more than sslpron loads (at most {:.0e}, {} GB in f32)",
                params as f64,
                LIMITS.parameters as f64,
                LIMITS.parameters * 4 / 1_000_000_000
            ));
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

/// The largest sizes a `config.json` may ask for (see [`EncoderConfig::check_limits`]).
struct Limits {
    width: usize,
    feed_forward: usize,
    layers: usize,
    heads: usize,
    kernel: usize,
    conv_layers: usize,
    vocab: usize,
    buckets: usize,
    bucket_distance: usize,
    mask: usize,
    parameters: u128,
}

const LIMITS: Limits = Limits {
    width: 16_384,
    feed_forward: 65_536,
    layers: 512,
    heads: 1_024,
    kernel: 4_096,
    conv_layers: 64,
    vocab: 1_000_000,
    buckets: 65_536,
    bucket_distance: 1_000_000,
    mask: 100_000,
    // 20 billion: ten times wav2vec2-xls-r-2b.
    parameters: 20_000_000_000,
};

/// The size fields of a `config.json` (counts: serde would say only "expected usize" for `-5`, without
/// the field), checked to be non-negative whole numbers so the error can name the field.
const SIZE_FIELDS: [&str; 15] = [
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "conv_dim",
    "conv_stride",
    "conv_kernel",
    "num_conv_pos_embeddings",
    "num_conv_pos_embedding_groups",
    "mask_time_length",
    "mask_time_min_masks",
    "vocab_size",
    "num_buckets",
    "max_bucket_distance",
    "num_feat_extract_layers",
];

fn check_sizes_are_counts(value: &serde_json::Value) -> Result<(), String> {
    let serde_json::Value::Object(fields) = value else {
        return Err("expected a JSON object of settings".into());
    };
    for name in SIZE_FIELDS {
        let Some(v) = fields.get(name) else { continue };
        let items: Vec<&serde_json::Value> = match v {
            serde_json::Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for item in items {
            if item.as_u64().is_none() {
                return Err(format!("{name} must be a whole number >= 0 (or a list of them), not {item}"));
            }
        }
    }
    Ok(())
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
        let raw: Raw = serde_json::from_slice(json)
            .map_err(|e| ModelError::Config { file: file.to_string(), message: format!("not a valid preprocessor config: {e}") })?;
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

    #[test]
    fn absurd_sizes_are_refused_by_name_before_any_allocation() {
        let cases: [(&str, &str); 11] = [
            (r#"{"hidden_size": 1000000000}"#, "hidden_size = 1000000000"),
            (r#"{"num_hidden_layers": 10000000}"#, "num_hidden_layers = 10000000"),
            (r#"{"conv_kernel": [10, 3, 3, 3, 3, 2, 100000000]}"#, "conv_kernel[6] = 100000000"),
            (r#"{"num_conv_pos_embeddings": 100000000}"#, "num_conv_pos_embeddings = 100000000"),
            (r#"{"intermediate_size": 1000000000}"#, "intermediate_size = 1000000000"),
            (r#"{"hidden_size": -768}"#, "hidden_size must be a whole number"),
            (r#"{"conv_dim": [512, -1, 512, 512, 512, 512, 512]}"#, "conv_dim must be a whole number"),
            (r#"{"num_attention_heads": 1.5}"#, "num_attention_heads must be a whole number"),
            (r#"{"hidden_dropout": 7}"#, "hidden_dropout = 7 is not a probability"),
            (r#"{"layer_norm_eps": -1}"#, "layer_norm_eps = -1"),
            // Each size within its bound, the product not: 16384 wide, 512 layers is ~2.7e12 parameters.
            (r#"{"hidden_size": 16384, "num_hidden_layers": 512, "num_attention_heads": 16}"#, "parameters"),
        ];
        for (json, expected) in cases {
            let started = std::time::Instant::now();
            let err = EncoderConfig::from_json("m/config.json", json.as_bytes()).unwrap_err().to_string();
            assert!(err.starts_with("m/config.json: ") && err.contains(expected), "{json}: {err}");
            assert!(started.elapsed().as_millis() < 100, "{json}: {:?}", started.elapsed());
        }
        // The largest public models stay well inside (xls-r-2b's shape).
        let xlsr_2b = r#"{"hidden_size": 1920, "num_hidden_layers": 48, "num_attention_heads": 16,
            "intermediate_size": 7680, "feat_extract_norm": "layer", "do_stable_layer_norm": true}"#;
        EncoderConfig::from_json("config.json", xlsr_2b.as_bytes()).unwrap();
    }
}
