//! GroupNorm with one group per channel on channels-last frames: each channel normalised over time
//! (transformers' `nn.GroupNorm(num_groups=C, num_channels=C)` in conv layer 0 of `group` models).

use burn::module::Param;
use burn::prelude::*;

use super::{Kernels, host};

#[derive(Module, Debug)]
pub struct ChannelNorm {
    /// `[channels]` (PyTorch's `weight`).
    pub gamma: Param<Tensor<1>>,
    /// `[channels]` (PyTorch's `bias`).
    pub beta: Param<Tensor<1>>,
    #[module(skip)]
    pub epsilon: f64,
    #[module(skip)]
    pub kernels: Kernels,
}

impl ChannelNorm {
    /// `[batch, frames, channels]`, normalised per utterance and channel over the frames (over the
    /// `valid` ones only, when given: `[batch, frames, 1]`, 1 = real audio, so that a padded utterance
    /// normalises as it would alone). Biased variance, as PyTorch.
    pub fn forward(&self, x: Tensor<3>, valid: Option<&Tensor<3>>) -> Tensor<3> {
        let [_, frames, channels] = x.dims();
        let x = match valid {
            // The one-utterance inference case (every clip scored) on the CPU: one host loop, the
            // statistics summed in f64 (three passes instead of eight tensor ops, ~25 ms of conv layer
            // 0 on 5 s of audio).
            None if self.kernels.host_on(&x.device()) => match self.host_forward(x) {
                Ok(normalized) => return normalized,
                Err(x) => x,
            },
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
        let normalized = centered / (var + self.epsilon).sqrt();
        normalized * self.gamma.val().reshape([1, 1, channels]) + self.beta.val().reshape([1, 1, channels])
    }

    /// `Err(x)` when the values are not f32.
    #[allow(clippy::result_large_err)] // `Err` hands the input back unchanged
    fn host_forward(&self, x: Tensor<3>) -> Result<Tensor<3>, Tensor<3>> {
        let [_, frames, channels] = x.dims();
        let (gamma, beta) = (self.gamma.val().into_data(), self.beta.val().into_data());
        let (Ok(gamma), Ok(beta)) = (gamma.as_slice::<f32>(), beta.as_slice::<f32>()) else {
            return Err(x);
        };
        host::rewrite_f32(x, |values| {
            for utterance in values.chunks_exact_mut(frames * channels) {
                host::normalize_channels_over_time(utterance, channels, gamma, beta, self.epsilon);
            }
        })
    }
}

/// `sum(x, dim=1, keepdim)` of `[batch, frames, channels]`, summed block-wise (zero-padded to whole
/// blocks). Layer 0 sees every fifth sample, thousands of frames: a one-pass sum over that many f32
/// values drifts by ~1e-5 relative, which sharp attention later amplifies past the parity tolerance.
/// Summing in blocks of 64 first keeps the statistics as exact as PyTorch's.
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
