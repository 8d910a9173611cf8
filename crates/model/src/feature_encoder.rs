//! The CNN feature encoder: raw 16 kHz samples -> frames every 320 samples (transformers'
//! `Wav2Vec2FeatureEncoder`). Checkpoint names: `feature_extractor.conv_layers.<i>.{conv,layer_norm}`.

use burn::nn::{LayerNorm, LayerNormConfig};
use burn::prelude::*;

use crate::config::{EncoderConfig, FeatExtractNorm};
use crate::error::ModelError;
use crate::kernels::{ActivationLayer, ChannelNorm, FrameConv};
use crate::layers::activation;
use crate::weights::{Init, TensorSource};

/// The norm a conv layer carries: GroupNorm with one group per channel (layer 0 of `group` models),
/// or LayerNorm over channels (every layer of `layer` models).
#[derive(Module, Debug)]
pub enum ConvNorm {
    Group(ChannelNorm),
    Layer(LayerNorm),
}

#[derive(Module, Debug)]
pub struct ConvLayer {
    pub conv: FrameConv,
    pub norm: Option<ConvNorm>,
    pub activation: ActivationLayer,
}

impl ConvLayer {
    fn new<S: TensorSource>(src: &mut S, config: &EncoderConfig, index: usize) -> Result<Self, ModelError> {
        let prefix = format!("feature_extractor.conv_layers.{index}");
        let c_in = if index == 0 { 1 } else { config.conv_dim[index - 1] };
        let c_out = config.conv_dim[index];
        let kernel = config.conv_kernel[index];
        // Kaiming-normal fan-in init, as transformers does for these convs.
        let std = (2.0 / (c_in * kernel) as f64).sqrt();
        let weight = src.param(&format!("{prefix}.conv.weight"), [c_out, c_in, kernel], Init::Normal { std })?;
        let bias = if config.conv_bias { Some(src.param(&format!("{prefix}.conv.bias"), [c_out], Init::Zeros)?) } else { None };
        let conv = FrameConv { weight, bias, stride: config.conv_stride[index], kernels: src.kernels() };
        let norm = match config.feat_extract_norm {
            // transformers builds these norms with PyTorch's default eps (1e-5), not layer_norm_eps.
            FeatExtractNorm::Group if index == 0 => Some(ConvNorm::Group(ChannelNorm {
                gamma: src.param(&format!("{prefix}.layer_norm.weight"), [c_out], Init::Ones)?,
                beta: src.param(&format!("{prefix}.layer_norm.bias"), [c_out], Init::Zeros)?,
                epsilon: 1e-5,
                kernels: src.kernels(),
            })),
            FeatExtractNorm::Group => None,
            FeatExtractNorm::Layer => {
                let mut norm = LayerNormConfig::new(c_out).with_epsilon(1e-5).init(src.device());
                norm.gamma = src.param(&format!("{prefix}.layer_norm.weight"), [c_out], Init::Ones)?;
                norm.beta = Some(src.param(&format!("{prefix}.layer_norm.bias"), [c_out], Init::Zeros)?);
                Some(ConvNorm::Layer(norm))
            }
        };
        Ok(ConvLayer { conv, norm, activation: activation(src, config.feat_extract_activation) })
    }

    /// `[batch, frames_in, channels_in] -> [batch, frames_out, channels_out]`, channels last.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.forward_masked(x, None)
    }

    /// As [`forward`](Self::forward); `valid` (`[batch, frames, 1]`, 1 = real audio) keeps padded frames
    /// out of the GroupNorm statistics, so a padded utterance normalises as it would alone.
    pub fn forward_masked(&self, x: Tensor<3>, valid: Option<&Tensor<3>>) -> Tensor<3> {
        let x = self.conv.forward(x);
        let x = match &self.norm {
            Some(ConvNorm::Group(norm)) => norm.forward(x, valid),
            Some(ConvNorm::Layer(norm)) => norm.forward(x),
            None => x,
        };
        self.activation.forward(x)
    }
}

#[derive(Module, Debug)]
pub struct FeatureEncoder {
    pub conv_layers: Vec<ConvLayer>,
}

impl FeatureEncoder {
    pub fn new<S: TensorSource>(src: &mut S, config: &EncoderConfig) -> Result<Self, ModelError> {
        let conv_layers = (0..config.conv_dim.len()).map(|i| ConvLayer::new(src, config, i)).collect::<Result<_, _>>()?;
        Ok(FeatureEncoder { conv_layers })
    }

    /// `[batch, samples] -> [batch, frames, conv_dim[-1]]`
    pub fn forward(&self, input_values: Tensor<2>) -> Tensor<3> {
        self.forward_lengths(input_values, None)
    }

    /// As [`forward`](Self::forward) for a zero-padded batch whose utterances have `lengths` samples:
    /// the padding does not reach the statistics of the real frames.
    pub fn forward_lengths(&self, input_values: Tensor<2>, lengths: Option<&[usize]>) -> Tensor<3> {
        let device = input_values.device();
        let mut x = input_values.unsqueeze_dim::<3>(2); // [batch, samples, 1]: channels last
        let mut lengths: Option<Vec<usize>> = lengths.map(<[usize]>::to_vec);
        for layer in &self.conv_layers {
            lengths = lengths.map(|ls| ls.iter().map(|&l| layer.conv.output_length(l)).collect());
            // Only GroupNorm mixes frames; the frame mask is built just for it.
            let valid = match (&layer.norm, &lengths) {
                (Some(ConvNorm::Group(_)), Some(ls)) => Some(frame_mask(ls, output_frames(&x, layer), &device).unsqueeze_dim::<3>(2)),
                _ => None,
            };
            x = layer.forward_masked(x, valid.as_ref());
        }
        x
    }

    /// Frames each utterance of `lengths` samples yields (transformers' `_get_feat_extract_output_lengths`).
    pub fn frame_lengths(&self, lengths: &[usize]) -> Vec<usize> {
        lengths.iter().map(|&l| self.conv_layers.iter().fold(l, |l, layer| layer.conv.output_length(l))).collect()
    }
}

fn output_frames(x: &Tensor<3>, layer: &ConvLayer) -> usize {
    layer.conv.output_length(x.dims()[1])
}

/// `[batch, frames]` of 1.0 for the first `lengths[b]` frames, 0.0 after.
pub fn frame_mask(lengths: &[usize], frames: usize, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = lengths.iter().flat_map(|&l| (0..frames).map(move |t| if t < l { 1.0 } else { 0.0 })).collect();
    Tensor::<1>::from_floats(values.as_slice(), device).reshape([lengths.len(), frames])
}
