//! sslpron's one model definition: Wav2Vec2 / HuBERT / WavLM encoders (both layouts), the seed's
//! score heads, and loading of every checkpoint layout the seed and the hub use. wasm-safe: no file or
//! network I/O here; the shells read the bytes.

pub mod attention;
pub mod checkpoint;
pub mod config;
pub mod device;
pub mod encoder;
pub mod error;
pub mod feature_encoder;
pub mod feature_projection;
pub mod kernels;
pub mod layers;
pub mod phone_head;
pub mod phone_recognizer;
pub mod pos_conv;
pub mod prompt_head;
pub mod scorer;
pub mod ssl_encoder;
pub mod web_model;
pub mod weights;

pub use checkpoint::{
    LoadReport, ModelFiles, NamedTensor, ParamTensors, export_named, export_seed_layout, export_seed_layout_of, export_values, load,
    load_for_training, load_with_kernels, random, random_with_kernels, seed_checkpoint_names, to_safetensors,
};
pub use config::{EncoderConfig, Family, Preprocessing};
pub use encoder::EncoderOutput;
pub use error::ModelError;
pub use kernels::Kernels;
pub use phone_head::{PHONE_HEAD_FILE, PHONE_VOCAB_FILE, PhoneHead};
pub use phone_recognizer::{PHONE_RECOGNIZER_CONFIG_FILE, PHONE_RECOGNIZER_FILE, PhoneRecognizer, PhoneRecognizerConfig};
pub use prompt_head::{PromptHead, PromptHeadConfig, PromptInput, PromptOutput};
pub use scorer::{HeadKind, ModelInfo, PronunciationModel, SCORE_NAMES, ScoreHead, Scores};
pub use sslpron_bundle::Precision;
pub use web_model::{WebModel, load_bundle, load_bundle_with_kernels, to_bundle};
