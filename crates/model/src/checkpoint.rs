//! Turning a model directory's files (hub layout: `config.json`, `model.safetensors`, optional
//! `preprocessor_config.json`) into a [`PronunciationModel`], whatever layout the weights were saved in:
//!
//! | layout | encoder keys | head keys |
//! |---|---|---|
//! | seed General / Freeze | `model.*` | `score_predictor.*` |
//! | seed CTC | `model.<family>.*` | `model.lm_head.*`, `score_predictor.*` |
//! | hub `*Model` | `*` | — |
//! | hub `*ForCTC` / pre-training | `<family>.*` | (`lm_head.*`, not a score head) |

use burn::prelude::*;

use crate::config::{EncoderConfig, Preprocessing};
use crate::error::ModelError;
use crate::scorer::{HeadKind, ModelInfo, PronunciationModel, ScoreHead};
use crate::ssl_encoder::SslEncoder;
use crate::weights::{CheckpointSource, RandomSource};

/// A model directory's files, read by the caller (file names are only for messages).
pub struct ModelFiles<'a> {
    pub config_name: &'a str,
    pub config_json: &'a [u8],
    pub preprocessor_name: &'a str,
    pub preprocessor_json: Option<&'a [u8]>,
    pub weights_name: &'a str,
    pub weights: &'a [u8],
}

/// What a load found besides the model.
#[derive(Clone, Debug)]
pub struct LoadReport {
    /// Key prefix of the encoder in the file (`model.`, `wav2vec2.`, ``...).
    pub encoder_prefix: String,
    pub head: Option<HeadKind>,
    /// Tensors in the file that the model did not use (e.g. a pre-training quantizer).
    pub unused: Vec<String>,
}

const FIRST_CONV: &str = "feature_extractor.conv_layers.0.conv.weight";
const WEIGHT_NORM_ALIASES: [(&str, &str); 2] = [
    ("encoder.pos_conv_embed.conv.parametrizations.weight.original0", "encoder.pos_conv_embed.conv.weight_g"),
    ("encoder.pos_conv_embed.conv.parametrizations.weight.original1", "encoder.pos_conv_embed.conv.weight_v"),
];

/// Loads config, preprocessing and weights. Missing tensors, shape mismatches and unreadable files are
/// errors naming the file; unused tensors are reported, not fatal.
pub fn load(files: &ModelFiles, device: &Device) -> Result<(ModelInfo, PronunciationModel, LoadReport), ModelError> {
    let config = EncoderConfig::from_json(files.config_name, files.config_json)?;
    let preprocessing = match files.preprocessor_json {
        Some(json) => Preprocessing::from_json(files.preprocessor_name, json)?,
        None => Preprocessing::default(),
    };
    let names = CheckpointSource::file_names(files.weights, files.weights_name)?;
    let encoder_prefix = find_encoder_prefix(&names, files.weights_name)?;
    if let Some(family_in_keys) = family_of_prefix(&encoder_prefix) {
        if family_in_keys != config.family().model_type() {
            return Err(ModelError::Config {
                file: files.config_name.to_string(),
                message: format!(
                    "model_type is \"{}\" but {} holds {family_in_keys} weights",
                    config.model_type, files.weights_name
                ),
            });
        }
    }
    // `model.wav2vec2.` -> `model.lm_head.`; `wav2vec2.` -> `lm_head.`; no family in the prefix -> no lm_head.
    let lm_head_prefix = family_of_prefix(&encoder_prefix)
        .map(|family| format!("{}lm_head.", &encoder_prefix[..encoder_prefix.len() - family.len() - 1]));
    let has_score_predictor = names.iter().any(|n| n.starts_with("score_predictor."));
    let has_lm_head = lm_head_prefix.as_ref().is_some_and(|p| names.iter().any(|n| n.starts_with(p.as_str())));
    let head = has_score_predictor.then_some(if has_lm_head { HeadKind::Ctc } else { HeadKind::General });

    let rename = |name: &str| -> Option<String> {
        if let Some(rest) = name.strip_prefix(encoder_prefix.as_str()) {
            // The seed's CTC file also starts with `model.`: its lm_head is not part of the encoder.
            if lm_head_prefix.as_ref().is_some_and(|p| name.starts_with(p.as_str())) {
                return None;
            }
            let ours = WEIGHT_NORM_ALIASES.iter().find(|(alias, _)| *alias == rest).map_or(rest, |(_, canonical)| canonical);
            return Some(ours.to_string());
        }
        if head == Some(HeadKind::Ctc) {
            if let Some(rest) = lm_head_prefix.as_ref().and_then(|p| name.strip_prefix(p.as_str())) {
                return Some(format!("lm_head.{rest}"));
            }
        }
        name.starts_with("score_predictor.").then(|| name.to_string())
    };
    // An encoder prefix of `` swallows every name: keep the head's names out of it.
    let rename_checked = |name: &str| -> Option<String> {
        if encoder_prefix.is_empty() && (name.starts_with("score_predictor.") || name.starts_with("lm_head.")) {
            return (head.is_some() && name.starts_with("score_predictor.")).then(|| name.to_string());
        }
        rename(name)
    };
    let mut src = CheckpointSource::new(files.weights_name, files.weights, device, rename_checked)?;
    let encoder = SslEncoder::new(&mut src, &config)?;
    let score_head = match head {
        Some(kind) => Some(ScoreHead::new(&mut src, &config, kind)?),
        None => None,
    };
    let unused = src.finish()?;
    let model = PronunciationModel { encoder, head: score_head };
    Ok((ModelInfo { config, preprocessing }, model, LoadReport { encoder_prefix, head, unused }))
}

/// A freshly initialised model of `config` with the given head (for training from scratch and tests).
pub fn random(config: &EncoderConfig, head: Option<HeadKind>, device: &Device) -> PronunciationModel {
    let mut src = RandomSource::new(device);
    let encoder = SslEncoder::new(&mut src, config).expect("a random source never fails");
    let head = head.map(|kind| ScoreHead::new(&mut src, config, kind).expect("a random source never fails"));
    PronunciationModel { encoder, head }
}

fn find_encoder_prefix(names: &[String], file: &str) -> Result<String, ModelError> {
    names
        .iter()
        .filter_map(|n| n.strip_suffix(FIRST_CONV))
        .min_by_key(|prefix| prefix.len())
        .map(str::to_string)
        .ok_or_else(|| ModelError::NoEncoder { file: file.to_string() })
}

/// `model.hubert.` -> `hubert`; `model.` -> None.
fn family_of_prefix(prefix: &str) -> Option<&str> {
    let trimmed = prefix.strip_suffix('.')?;
    let last = trimmed.rsplit('.').next()?;
    matches!(last, "wav2vec2" | "hubert" | "wavlm").then_some(last)
}
