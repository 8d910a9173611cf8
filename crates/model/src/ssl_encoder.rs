//! The whole self-supervised encoder (transformers' `Wav2Vec2Model` / `HubertModel` / `WavLMModel`):
//! CNN feature encoder -> feature projection -> (SpecAugment while training) -> transformer encoder.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::{Bool, Distribution, TensorData};

use crate::config::EncoderConfig;
use crate::encoder::{Encoder, EncoderOutput};
use crate::error::ModelError;
use crate::feature_encoder::{FeatureEncoder, frame_mask};
use crate::feature_projection::FeatureProjection;
use crate::weights::{Init, TensorSource};

#[derive(Module, Debug)]
pub struct SslEncoder {
    pub feature_extractor: FeatureEncoder,
    pub feature_projection: FeatureProjection,
    /// The learned vector that replaces time-masked frames (present when the config masks at all).
    pub masked_spec_embed: Option<Param<Tensor<1>>>,
    pub encoder: Encoder,
    #[module(skip)]
    pub spec_augment: SpecAugment,
}

/// SpecAugment time masking from the checkpoint's config; acts only on a training (autodiff) device.
#[derive(Clone, Copy, Debug)]
pub struct SpecAugment {
    pub mask_time_prob: f64,
    pub mask_time_length: usize,
    pub mask_time_min_masks: usize,
}

impl SslEncoder {
    /// Builds the encoder; parameter names are those of a bare `*Model` checkpoint (the caller maps
    /// `model.`, `wav2vec2.`, ... prefixes away).
    pub fn new<S: TensorSource>(src: &mut S, config: &EncoderConfig) -> Result<Self, ModelError> {
        let feature_extractor = FeatureEncoder::new(src, config)?;
        let feature_projection = FeatureProjection::new(src, config)?;
        let encoder = Encoder::new(src, config)?;
        // Read last: it only matters in training, so a size mismatch should be reported on a tensor
        // that matters at inference first.
        let masks = config.mask_time_prob > 0.0 || config.mask_feature_prob > 0.0;
        let masked_spec_embed =
            if masks { src.optional_param("masked_spec_embed", [config.hidden_size], Init::Uniform { low: 0.0, high: 1.0 })? } else { None };
        let spec_augment = SpecAugment {
            mask_time_prob: if config.apply_spec_augment { config.mask_time_prob } else { 0.0 },
            mask_time_length: config.mask_time_length,
            mask_time_min_masks: config.mask_time_min_masks,
        };
        Ok(SslEncoder { feature_extractor, feature_projection, masked_spec_embed, encoder, spec_augment })
    }

    /// `input_values: [batch, samples]` (already normalised as the preprocessor says).
    pub fn forward(&self, input_values: Tensor<2>, keep_hidden_states: bool) -> EncoderOutput {
        self.forward_lengths(input_values, None, keep_hidden_states)
    }

    /// As [`forward`](Self::forward) for a zero-padded batch whose utterances have `lengths` samples:
    /// GroupNorm statistics, the positional conv and attention see only real frames, so each
    /// utterance's real frames come out as they would alone. Padded frames of the output are
    /// meaningless (mask them with [`frame_lengths`](FeatureEncoder::frame_lengths)).
    pub fn forward_lengths(&self, input_values: Tensor<2>, lengths: Option<&[usize]>, keep_hidden_states: bool) -> EncoderOutput {
        let device = input_values.device();
        let features = self.feature_extractor.forward_lengths(input_values, lengths);
        let hidden = self.feature_projection.forward(features);
        let hidden = self.mask_time(hidden);
        let Some(lengths) = lengths else {
            return self.encoder.forward(hidden, None, keep_hidden_states);
        };
        let [batch, frames, _] = hidden.dims();
        let valid = frame_mask(&self.feature_extractor.frame_lengths(lengths), frames, &device);
        // As transformers: padded frames are zeroed before the positional conv, and no key attends to them.
        let hidden = hidden * valid.clone().unsqueeze_dim::<3>(2);
        let key_padding = ((valid - 1.0) * 1e30).reshape([batch, 1, 1, frames]);
        self.encoder.forward(hidden, Some(&key_padding), keep_hidden_states)
    }

    fn mask_time(&self, hidden: Tensor<3>) -> Tensor<3> {
        let spec = self.spec_augment;
        let device = hidden.device();
        let (Some(embed), true) = (&self.masked_spec_embed, device.is_autodiff()) else {
            return hidden;
        };
        if spec.mask_time_prob <= 0.0 {
            return hidden;
        }
        let [batch, frames, width] = hidden.dims();
        let mut mask = Vec::with_capacity(batch * frames);
        for _ in 0..batch {
            mask.extend(time_mask(frames, spec, &device));
        }
        let mask = Tensor::<3, Bool>::from_data(TensorData::new(mask, [batch, frames, 1]), &device).expand([batch, frames, width]);
        let fill = embed.val().reshape([1, 1, width]).expand([batch, frames, width]);
        hidden.mask_where(mask, fill)
    }
}

/// One utterance's time mask, after transformers' `_compute_mask_indices`: about
/// `mask_time_prob * frames / mask_time_length` spans (at least `mask_time_min_masks`) of
/// `mask_time_length` frames, starts drawn without replacement.
fn time_mask(frames: usize, spec: SpecAugment, device: &Device) -> Vec<bool> {
    let length = spec.mask_time_length.max(1);
    let mut mask = vec![false; frames];
    if frames < length {
        return mask;
    }
    let draws: Vec<f32> = Tensor::<1>::random([frames + 1], Distribution::Default, device).into_data().try_to_vec::<f32>().unwrap_or_default();
    let epsilon = draws.first().copied().unwrap_or(0.0) as f64;
    let mut spans = ((spec.mask_time_prob * frames as f64 / length as f64) + epsilon) as usize;
    spans = spans.max(spec.mask_time_min_masks).min(frames / length);
    let positions = frames - (length - 1);
    // Partial Fisher-Yates over the candidate starts.
    let mut starts: Vec<usize> = (0..positions).collect();
    for k in 0..spans.min(positions) {
        let r = draws.get(k + 1).copied().unwrap_or(0.0) as f64;
        let pick = k + ((r * (positions - k) as f64) as usize).min(positions - k - 1);
        starts.swap(k, pick);
        for offset in 0..length {
            mask[starts[k] + offset] = true;
        }
    }
    mask
}
