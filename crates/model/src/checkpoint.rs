//! Turning a model directory's files (hub layout: `config.json`, `model.safetensors`, optional
//! `preprocessor_config.json`) into a [`PronunciationModel`], whatever layout the weights were saved in:
//!
//! | layout | encoder keys | head keys |
//! |---|---|---|
//! | seed General / Freeze | `model.*` | `score_predictor.*` |
//! | seed CTC | `model.<family>.*` | `model.lm_head.*`, `score_predictor.*` |
//! | hub `*Model` | `*` | — |
//! | hub `*ForCTC` / pre-training | `<family>.*` | (`lm_head.*`, not a score head) |

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use safetensors::tensor::Dtype;

use crate::config::{EncoderConfig, Preprocessing};
use crate::error::ModelError;
use crate::kernels::Kernels;
use crate::layers::{dropout, linear};
use crate::scorer::{HeadKind, ModelInfo, PronunciationModel, ScoreHead};
use crate::ssl_encoder::SslEncoder;
use crate::weights::{CheckpointSource, ParamName, ParamNames, RandomSource};

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
    /// Head tensors initialised afresh (only [`load_for_training`] does that).
    pub fresh: Vec<String>,
}

const FIRST_CONV: &str = "feature_extractor.conv_layers.0.conv.weight";
const WEIGHT_NORM_ALIASES: [(&str, &str); 2] = [
    ("encoder.pos_conv_embed.conv.parametrizations.weight.original0", "encoder.pos_conv_embed.conv.weight_g"),
    ("encoder.pos_conv_embed.conv.parametrizations.weight.original1", "encoder.pos_conv_embed.conv.weight_v"),
];

/// Loads config, preprocessing and weights. Missing tensors, shape mismatches and unreadable files are
/// errors naming the file; unused tensors are reported, not fatal.
pub fn load(files: &ModelFiles, device: &Device) -> Result<(ModelInfo, PronunciationModel, LoadReport), ModelError> {
    load_with_head(files, device, None, Kernels::default())
}

/// As [`load`], with the model's building blocks on the given [`Kernels`] (the parity suite runs
/// each choice; everything else takes the default).
pub fn load_with_kernels(files: &ModelFiles, device: &Device, kernels: Kernels) -> Result<(ModelInfo, PronunciationModel, LoadReport), ModelError> {
    load_with_head(files, device, None, kernels)
}

/// As [`load`], but the model gets the `wanted` score head whatever the checkpoint holds: its own
/// when it has that head, else a fresh one (reusing a `*ForCTC` checkpoint's `lm_head` for CTC). For
/// fine-tuning a plain hub encoder; the fresh tensors are listed in [`LoadReport::fresh`].
pub fn load_for_training(files: &ModelFiles, device: &Device, wanted: HeadKind) -> Result<(ModelInfo, PronunciationModel, LoadReport), ModelError> {
    load_with_head(files, device, Some(wanted), Kernels::default())
}

fn load_with_head(
    files: &ModelFiles,
    device: &Device,
    wanted: Option<HeadKind>,
    kernels: Kernels,
) -> Result<(ModelInfo, PronunciationModel, LoadReport), ModelError> {
    let config = EncoderConfig::from_json(files.config_name, files.config_json)?;
    let preprocessing = match files.preprocessor_json {
        Some(json) => Preprocessing::from_json(files.preprocessor_name, json)?,
        None => Preprocessing::default(),
    };
    let names = CheckpointSource::file_names(files.weights, files.weights_name)?;
    let encoder_prefix = find_encoder_prefix(&names, files.weights_name)?;
    if let Some(family_in_keys) = family_of_prefix(&encoder_prefix)
        && family_in_keys != config.family().model_type()
    {
        return Err(ModelError::Config {
            file: files.config_name.to_string(),
            message: format!("model_type is \"{}\" but {} holds {family_in_keys} weights", config.model_type, files.weights_name),
        });
    }
    // `model.wav2vec2.` -> `model.lm_head.`; `wav2vec2.` -> `lm_head.`; no family in the prefix -> no lm_head.
    let lm_head_prefix =
        family_of_prefix(&encoder_prefix).map(|family| format!("{}lm_head.", &encoder_prefix[..encoder_prefix.len() - family.len() - 1]));
    let has_score_predictor = names.iter().any(|n| n.starts_with("score_predictor."));
    let has_lm_head = lm_head_prefix.as_ref().is_some_and(|p| names.iter().any(|n| n.starts_with(p.as_str())));
    let head = has_score_predictor.then_some(if has_lm_head { HeadKind::Ctc } else { HeadKind::General });
    // What is read from the file: the checkpoint's own head when it is the one wanted (or none is
    // asked for); a `*ForCTC` lm_head also serves a fresh CTC head.
    let keep_score_predictor = has_score_predictor && wanted.is_none_or(|w| Some(w) == head);
    let keep_lm_head = has_lm_head && (if wanted.is_some() { wanted == Some(HeadKind::Ctc) } else { head == Some(HeadKind::Ctc) });

    let rename = |name: &str| -> Option<String> {
        if let Some(rest) = name.strip_prefix(encoder_prefix.as_str()) {
            // The seed's CTC file also starts with `model.`: its lm_head is not part of the encoder.
            if lm_head_prefix.as_ref().is_some_and(|p| name.starts_with(p.as_str())) {
                return None;
            }
            let ours = WEIGHT_NORM_ALIASES.iter().find(|(alias, _)| *alias == rest).map_or(rest, |(_, canonical)| canonical);
            return Some(ours.to_string());
        }
        if keep_lm_head && let Some(rest) = lm_head_prefix.as_ref().and_then(|p| name.strip_prefix(p.as_str())) {
            return Some(format!("lm_head.{rest}"));
        }
        (keep_score_predictor && name.starts_with("score_predictor.")).then(|| name.to_string())
    };
    // An encoder prefix of `` swallows every name: keep the head's names out of it.
    let rename_checked = |name: &str| -> Option<String> {
        if encoder_prefix.is_empty() && (name.starts_with("score_predictor.") || name.starts_with("lm_head.")) {
            return (keep_score_predictor && name.starts_with("score_predictor.")).then(|| name.to_string());
        }
        rename(name)
    };
    let mut src = CheckpointSource::new(files.weights_name, files.weights, device, rename_checked)?.with_kernels(kernels);
    let mut fresh = RandomSource::new(device).with_kernels(kernels);
    let encoder = SslEncoder::new(&mut src, &config)?;
    let score_head = match wanted.or(head) {
        None => None,
        Some(kind) => {
            let lm_head = match (kind, keep_lm_head) {
                (HeadKind::General, _) => None,
                (HeadKind::Ctc, true) => Some(linear(&mut src, "lm_head", config.hidden_size, config.vocab_size)?),
                (HeadKind::Ctc, false) => Some(linear(&mut fresh, "lm_head", config.hidden_size, config.vocab_size)?),
            };
            let pooled = if kind == HeadKind::Ctc { config.vocab_size } else { config.hidden_size };
            let score_predictor = if keep_score_predictor {
                linear(&mut src, "score_predictor", pooled, 4)?
            } else {
                linear(&mut fresh, "score_predictor", pooled, 4)?
            };
            Some(ScoreHead { lm_head, final_dropout: dropout(config.final_dropout), score_predictor })
        }
    };
    let (mut names, unused) = src.finish()?;
    let fresh_names = fresh.into_names();
    let fresh: Vec<String> = fresh_names.0.iter().map(|n| n.name.clone()).collect();
    names.0.extend(fresh_names.0);
    let model = PronunciationModel { encoder, head: score_head, names };
    let report = LoadReport { encoder_prefix, head: model.head_kind(), unused, fresh };
    Ok((ModelInfo { config, preprocessing }, model, report))
}

/// A freshly initialised model of `config` with the given head (for training from scratch and tests).
pub fn random(config: &EncoderConfig, head: Option<HeadKind>, device: &Device) -> PronunciationModel {
    random_with_kernels(config, head, device, Kernels::default())
}

/// As [`random`], with the model's building blocks on the given [`Kernels`].
pub fn random_with_kernels(config: &EncoderConfig, head: Option<HeadKind>, device: &Device, kernels: Kernels) -> PronunciationModel {
    let mut src = RandomSource::new(device).with_kernels(kernels);
    let encoder = SslEncoder::new(&mut src, config).expect("a random source never fails");
    let head = head.map(|kind| ScoreHead::new(&mut src, config, kind).expect("a random source never fails"));
    PronunciationModel { encoder, head, names: src.into_names() }
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

/// A tensor with its checkpoint name, laid out as PyTorch stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// The model's parameters under the seed's checkpoint names: `model.*` + `score_predictor.*` (General /
/// Freeze, and bare encoders), or `model.<family>.*` + `model.lm_head.*` + `score_predictor.*` (CTC), the
/// positional conv in transformers 5's spelling. Sorted by name. Reads every tensor back from the device.
pub fn export_seed_layout(model: &PronunciationModel, config: &EncoderConfig) -> Vec<NamedTensor> {
    export_seed_layout_of(model, config, &ParamValue)
}

/// What to export for each parameter: its value, or e.g. its gradient (`None` skips the parameter).
pub trait ParamTensors {
    fn tensor<const D: usize>(&self, param: &Param<Tensor<D>>) -> Option<Tensor<D>>;
}

struct ParamValue;

impl ParamTensors for ParamValue {
    fn tensor<const D: usize>(&self, param: &Param<Tensor<D>>) -> Option<Tensor<D>> {
        Some(param.val())
    }
}

/// [`export_seed_layout`] of whatever `source` yields per parameter, laid out and named as PyTorch has it.
pub fn export_seed_layout_of<S: ParamTensors>(model: &PronunciationModel, config: &EncoderConfig, source: &S) -> Vec<NamedTensor> {
    export_named(model, seed_checkpoint_names(model, config), source)
}

/// Every parameter of `module` that `names` knows, under that name and in PyTorch's layout, with the
/// tensor `source` yields for it; sorted by name. For modules built through a
/// [`TensorSource`](crate::weights::TensorSource) outside a [`PronunciationModel`] (e.g. the
/// trainer's auxiliary heads).
pub fn export_named<M: Module, S: ParamTensors>(module: &M, names: ParamNames, source: &S) -> Vec<NamedTensor> {
    let mut collector = Collector { names, source, out: Vec::new() };
    module.visit(&mut collector);
    let mut tensors = collector.out;
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    tensors
}

/// [`export_named`] of the parameter values themselves.
pub fn export_values<M: Module>(module: &M, names: ParamNames) -> Vec<NamedTensor> {
    export_named(module, names, &ParamValue)
}

/// Each parameter's name in the seed's checkpoint layout (see [`export_seed_layout`]).
pub fn seed_checkpoint_names(model: &PronunciationModel, config: &EncoderConfig) -> ParamNames {
    let ctc = model.head_kind() == Some(HeadKind::Ctc);
    let family = config.family().model_type();
    let checkpoint_name = |ours: &str| -> String {
        let ours = WEIGHT_NORM_ALIASES.iter().find(|(_, canonical)| *canonical == ours).map_or(ours, |(alias, _)| alias);
        if ours.starts_with("score_predictor.") {
            ours.to_string()
        } else if ours.starts_with("lm_head.") {
            format!("model.{ours}")
        } else if ctc {
            format!("model.{family}.{ours}")
        } else {
            format!("model.{ours}")
        }
    };
    ParamNames(model.names.0.iter().map(|n| ParamName { id: n.id, name: checkpoint_name(&n.name), transposed: n.transposed }).collect())
}

/// Serialises named f32 tensors as a safetensors file.
pub fn to_safetensors(tensors: &[NamedTensor]) -> Vec<u8> {
    for t in tensors {
        let elements: usize = t.shape.iter().product();
        assert_eq!(elements, t.values.len(), "{}: shape {:?} does not match its {} values", t.name, t.shape, t.values.len());
    }
    safetensors::serialize(tensors.iter().map(|t| (t.name.as_str(), t)), None).expect("f32 tensors serialise")
}

/// Each tensor's bytes are made only while the serializer copies them out, so the file is the one
/// extra copy of the weights (a byte-iterator `flat_map` plus a staging copy of every tensor took ~2 s
/// and 380 MB more of a base model's load in the browser).
impl safetensors::tensor::View for &NamedTensor {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        let mut bytes = Vec::with_capacity(self.data_len());
        for value in &self.values {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        bytes.into()
    }

    fn data_len(&self) -> usize {
        self.values.len() * 4
    }
}

struct Collector<'a, S> {
    names: ParamNames,
    source: &'a S,
    out: Vec<NamedTensor>,
}

impl<S: ParamTensors> ModuleVisitor for Collector<'_, S> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let (Some(entry), Some(tensor)) = (self.names.get(param.id), self.source.tensor(param)) else {
            return;
        };
        let tensor = if entry.transposed { tensor.transpose() } else { tensor };
        let shape = tensor.dims().to_vec();
        let values = tensor.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 parameters");
        self.out.push(NamedTensor { name: entry.name.clone(), shape, values });
    }
}
