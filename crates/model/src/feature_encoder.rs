//! The CNN feature encoder: raw 16 kHz samples -> frames every 320 samples (transformers'
//! `Wav2Vec2FeatureEncoder`). Checkpoint names: `feature_extractor.conv_layers.<i>.{conv,layer_norm}`.

use burn::nn::conv::Conv1d;
use burn::nn::{GroupNorm, GroupNormConfig, LayerNorm, LayerNormConfig, PaddingConfig1d};
use burn::prelude::*;
use burn::tensor::TensorData;

use crate::config::{Activation, EncoderConfig, FeatExtractNorm};
use crate::error::ModelError;
use crate::{host_gemm, host_kernels};
use crate::layers::activate;
use crate::weights::{Init, TensorSource};

/// The norm a conv layer carries: GroupNorm with one group per channel (layer 0 of `group` models),
/// or LayerNorm over channels (every layer of `layer` models).
#[derive(Module, Debug)]
pub enum ConvNorm {
    Group(GroupNorm),
    Layer(LayerNorm),
}

#[derive(Module, Debug)]
pub struct ConvLayer {
    pub conv: Conv1d,
    pub norm: Option<ConvNorm>,
    #[module(skip)]
    pub activation: Activation,
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
        let bias = if config.conv_bias {
            Some(src.param(&format!("{prefix}.conv.bias"), [c_out], Init::Zeros)?)
        } else {
            None
        };
        let conv = Conv1d {
            weight,
            bias,
            stride: config.conv_stride[index],
            kernel_size: kernel,
            dilation: 1,
            groups: 1,
            padding: PaddingConfig1d::Valid,
        };
        let device = src.device().clone();
        let norm = match config.feat_extract_norm {
            // transformers builds these norms with PyTorch's default eps (1e-5), not layer_norm_eps.
            FeatExtractNorm::Group if index == 0 => {
                let mut norm = GroupNormConfig::new(c_out, c_out).with_epsilon(1e-5).init(&device);
                norm.gamma = Some(src.param(&format!("{prefix}.layer_norm.weight"), [c_out], Init::Ones)?);
                norm.beta = Some(src.param(&format!("{prefix}.layer_norm.bias"), [c_out], Init::Zeros)?);
                Some(ConvNorm::Group(norm))
            }
            FeatExtractNorm::Group => None,
            FeatExtractNorm::Layer => {
                let mut norm = LayerNormConfig::new(c_out).with_epsilon(1e-5).init(&device);
                norm.gamma = src.param(&format!("{prefix}.layer_norm.weight"), [c_out], Init::Ones)?;
                norm.beta = Some(src.param(&format!("{prefix}.layer_norm.bias"), [c_out], Init::Zeros)?);
                Some(ConvNorm::Layer(norm))
            }
        };
        Ok(ConvLayer { conv, norm, activation: config.feat_extract_activation })
    }

    /// `[batch, frames_in, channels_in] -> [batch, frames_out, channels_out]`, channels last.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.forward_masked(x, None)
    }

    /// As [`forward`](Self::forward); `valid` (`[batch, frames, 1]`, 1 = real audio) keeps padded frames
    /// out of the GroupNorm statistics, so a padded utterance normalises as it would alone.
    pub fn forward_masked(&self, x: Tensor<3>, valid: Option<&Tensor<3>>) -> Tensor<3> {
        let x = self.convolve(x);
        let x = match &self.norm {
            Some(ConvNorm::Group(norm)) => channel_norm_over_time(norm, x, valid),
            Some(ConvNorm::Layer(norm)) => norm.forward(x),
            None => x,
        };
        activate(self.activation, x)
    }

    /// The strided convolution on channels-last frames. On the flex CPU device it is one GEMM: a
    /// contiguous `[frames, channels_in]` signal holds the receptive field of output frame `t`
    /// (`kernel` frames, tap-major) as the contiguous run of `kernel * channels_in` values starting at
    /// `t * stride * channels_in`, so `unfold` exposes every row as a view with overlapping rows, no
    /// copy, and flex's GEMM reads it through its strides against the weight laid out
    /// `[kernel * channels_in, channels_out]`. Burn's conv1d on flex ran the CNN 2.6x slower than torch
    /// (im2col copies plus a layout change per layer; layer 0 at ~4 GFLOP/s). Elsewhere Burn's conv1d:
    /// autodiff's `unfold` backward loops over windows one by one, and the wgpu device has tuned kernels.
    pub fn convolve(&self, x: Tensor<3>) -> Tensor<3> {
        if !host_kernels::is_host_inference(&x.device()) {
            return self.conv.forward(x.swap_dims(1, 2)).swap_dims(1, 2);
        }
        let [batch, frames, c_in] = x.dims();
        let (kernel, stride) = (self.conv.kernel_size, self.conv.stride);
        let [c_out, _, _] = self.conv.weight.dims();
        let device = x.device();
        // PyTorch's [c_out, c_in, kernel] -> [kernel * c_in, c_out]: tap-major, as the rows are. Read
        // in place (`into_data` of the shared parameter would copy it first).
        let gemm_weight = host_gemm::with_values(self.conv.weight.val(), |values| {
            let mut gemm_weight = Vec::new();
            host_kernels::taps_major(values, c_out, c_in, kernel, None, &mut gemm_weight);
            gemm_weight
        });
        if let (Some(weight), true) = (&gemm_weight, host_gemm::own_gemm_on(&device)) {
            if let Some(y) = self.convolve_own_gemm(&x, weight) {
                return y;
            }
        }
        let weight = match gemm_weight {
            Some(values) => Tensor::from_data(TensorData::new(values, [1, kernel * c_in, c_out]), &device),
            None => self.conv.weight.val().permute([2, 1, 0]).reshape([1, kernel * c_in, c_out]),
        };
        let rows: Tensor<3> = x.reshape([batch, frames * c_in]).unfold(1, kernel * c_in, stride * c_in);
        let y = rows.matmul(weight);
        match &self.conv.bias {
            Some(bias) => y + bias.val().reshape([1, 1, c_out]),
            None => y,
        }
    }
}

impl ConvLayer {
    /// [`convolve`](ConvLayer::convolve) by sslpron-gemm, straight from the frames' buffer (the
    /// browser build); `None` when a tensor is not a contiguous f32 flex tensor.
    fn convolve_own_gemm(&self, x: &Tensor<3>, gemm_weight: &[f32]) -> Option<Tensor<3>> {
        let [batch, frames, c_in] = x.dims();
        let (kernel, stride) = (self.conv.kernel_size, self.conv.stride);
        let c_out = gemm_weight.len() / (kernel * c_in);
        let bias = match &self.conv.bias {
            Some(bias) => Some(host_gemm::with_values(bias.val(), <[f32]>::to_vec)?),
            None => None,
        };
        let rows = conv_output_length(frames, kernel, stride);
        let out = host_gemm::with_values(x.clone(), |values| {
            let conv = host_gemm::UnfoldedConv { frames: values, batch, len: frames * c_in, rows, depth: kernel * c_in, row_step: stride * c_in };
            conv.apply(gemm_weight, c_out, bias.as_deref())
        })??;
        Some(Tensor::from_data(TensorData::new(out, [batch, rows, c_out]), &x.device()))
    }
}

/// GroupNorm with one group per channel, i.e. each channel normalised over time (over the `valid`
/// frames only, when given), on `[batch, frames, channels]`. Layer 0 sees every fifth sample, thousands
/// of frames: a one-pass sum over that many f32 values drifts by ~1e-5 relative, which sharp attention
/// later amplifies past the parity tolerance. Summing in blocks of 64 first keeps the statistics as
/// exact as PyTorch's.
fn channel_norm_over_time(norm: &GroupNorm, x: Tensor<3>, valid: Option<&Tensor<3>>) -> Tensor<3> {
    let [_, frames, channels] = x.dims();
    let x = match (valid, &norm.gamma, &norm.beta) {
        // The one-utterance inference case (every clip scored) on the CPU: one host kernel.
        (None, Some(gamma), Some(beta)) if host_kernels::is_host_inference(&x.device()) => {
            let (gamma, beta) = (gamma.val().into_data(), beta.val().into_data());
            match (gamma.as_slice::<f32>(), beta.as_slice::<f32>()) {
                (Ok(gamma), Ok(beta)) => {
                    let normalized = host_kernels::rewrite_f32(x, |values| {
                        for utterance in values.chunks_exact_mut(frames * channels) {
                            host_kernels::normalize_channels_over_time(utterance, channels, gamma, beta, norm.epsilon);
                        }
                    });
                    match normalized {
                        Ok(normalized) => return normalized,
                        Err(x) => x,
                    }
                }
                _ => x,
            }
        }
        _ => x,
    };
    let (var, centered) = match valid {
        None => {
            let centered = x.clone() - blocked_sum_over_time(x) / frames as f64;
            let var = blocked_sum_over_time(centered.clone().powi_scalar(2)) / frames as f64;
            (var, centered)
        }
        Some(valid) => {
            let count = valid.clone().sum_dim(1); // [batch, 1, 1]
            let centered = x.clone() - blocked_sum_over_time(x * valid.clone()) / count.clone();
            let var = blocked_sum_over_time((centered.clone() * valid.clone()).powi_scalar(2)) / count;
            (var, centered)
        }
    };
    let normalized = centered / (var + norm.epsilon).sqrt();
    match (norm.gamma.as_ref(), norm.beta.as_ref()) {
        (Some(g), Some(b)) => normalized * g.val().reshape([1, 1, channels]) + b.val().reshape([1, 1, channels]),
        _ => normalized,
    }
}

/// `sum(x, dim=1, keepdim)` of `[batch, frames, channels]`, summed block-wise (zero-padded to whole
/// blocks).
fn blocked_sum_over_time(x: Tensor<3>) -> Tensor<3> {
    const BLOCK: usize = 64;
    let [batch, frames, channels] = x.dims();
    let blocks = frames.div_ceil(BLOCK);
    let padded = if blocks * BLOCK == frames {
        x
    } else {
        let zeros = Tensor::zeros([batch, blocks * BLOCK - frames, channels], &x.device());
        Tensor::cat(vec![x, zeros], 1)
    };
    padded.reshape([batch, blocks, BLOCK, channels]).sum_dim(2).sum_dim(1).reshape([batch, 1, channels])
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
            lengths = lengths.map(|ls| ls.iter().map(|&l| conv_output_length(l, layer.conv.kernel_size, layer.conv.stride)).collect());
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
        lengths
            .iter()
            .map(|&l| self.conv_layers.iter().fold(l, |l, layer| conv_output_length(l, layer.conv.kernel_size, layer.conv.stride)))
            .collect()
    }
}

fn conv_output_length(samples: usize, kernel: usize, stride: usize) -> usize {
    if samples < kernel { 0 } else { (samples - kernel) / stride + 1 }
}

fn output_frames(x: &Tensor<3>, layer: &ConvLayer) -> usize {
    conv_output_length(x.dims()[1], layer.conv.kernel_size, layer.conv.stride)
}

/// `[batch, frames]` of 1.0 for the first `lengths[b]` frames, 0.0 after.
pub fn frame_mask(lengths: &[usize], frames: usize, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = lengths.iter().flat_map(|&l| (0..frames).map(move |t| if t < l { 1.0 } else { 0.0 })).collect();
    Tensor::<1>::from_floats(values.as_slice(), device).reshape([lengths.len(), frames])
}
