//! The model's two convolutions, both on channels-last frames `[batch, frames, channels]`: the CNN's
//! strided convolutions ([`FrameConv`]) and the positional embedding's weight-normalised grouped
//! "same" convolution ([`WeightNormConv`]).
//!
//! On the flex CPU device both are one GEMM per utterance (and group) over an unfolded view: in a
//! contiguous `[frames, channels]` signal the receptive field of output frame `t` (`kernel` frames,
//! tap-major) is the contiguous run of `kernel * channels` values starting at `t * stride * channels`,
//! so `unfold` exposes every row as a view with overlapping rows, no copy, and the GEMM reads it
//! through its strides against the weight laid out `[kernel * channels_in, channels_out]`. Burn's
//! conv1d on flex ran the CNN 2.6x slower than torch (im2col copies plus a layout change per layer)
//! and the grouped positional conv 3x slower. Elsewhere Burn's conv1d: autodiff's `unfold` backward
//! loops over windows one by one, and the GPU devices have tuned kernels.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::module::conv1d;
use burn::tensor::ops::ConvOptions;

use super::{Kernels, gemm, host};

/// `nn.Conv1d(c_in, c_out, kernel, stride)` without padding, on channels-last frames.
#[derive(Module, Debug)]
pub struct FrameConv {
    /// `[c_out, c_in, kernel]`, PyTorch's layout.
    pub weight: Param<Tensor<3>>,
    pub bias: Option<Param<Tensor<1>>>,
    #[module(skip)]
    pub stride: usize,
    #[module(skip)]
    pub kernels: Kernels,
}

impl FrameConv {
    pub fn kernel_size(&self) -> usize {
        self.weight.dims()[2]
    }

    /// Output frames for `frames` input frames.
    pub fn output_length(&self, frames: usize) -> usize {
        conv_output_length(frames, self.kernel_size(), self.stride)
    }

    /// `[batch, frames, c_in] -> [batch, output_length(frames), c_out]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        if !self.kernels.host_on(&x.device()) {
            let options = ConvOptions::new([self.stride], [0], [1], 1);
            return conv1d(x.swap_dims(1, 2), self.weight.val(), self.bias.as_ref().map(Param::val), options).swap_dims(1, 2);
        }
        let [batch, frames, c_in] = x.dims();
        let (kernel, stride) = (self.kernel_size(), self.stride);
        let [c_out, _, _] = self.weight.dims();
        let device = x.device();
        // PyTorch's [c_out, c_in, kernel] -> [kernel * c_in, c_out]: tap-major, as the rows are. Read
        // in place (`into_data` of the shared parameter would copy it first).
        let gemm_weight = gemm::with_values(self.weight.val(), |values| {
            let mut gemm_weight = Vec::new();
            host::taps_major(values, c_out, c_in, kernel, None, &mut gemm_weight);
            gemm_weight
        });
        if let (Some(weight), true) = (&gemm_weight, self.kernels.own_gemm_on(&device))
            && let Some(y) = self.forward_own_gemm(&x, weight)
        {
            return y;
        }
        let weight = match gemm_weight {
            Some(values) => Tensor::from_data(TensorData::new(values, [1, kernel * c_in, c_out]), &device),
            None => self.weight.val().permute([2, 1, 0]).reshape([1, kernel * c_in, c_out]),
        };
        let rows: Tensor<3> = x.reshape([batch, frames * c_in]).unfold(1, kernel * c_in, stride * c_in);
        let y = rows.matmul(weight);
        match &self.bias {
            Some(bias) => y + bias.val().reshape([1, 1, c_out]),
            None => y,
        }
    }

    /// The unfolded product by sslpron-gemm, straight from the frames' buffer; `None` when a tensor
    /// is not a contiguous f32 flex tensor.
    fn forward_own_gemm(&self, x: &Tensor<3>, gemm_weight: &[f32]) -> Option<Tensor<3>> {
        let [batch, frames, c_in] = x.dims();
        let (kernel, stride) = (self.kernel_size(), self.stride);
        let c_out = gemm_weight.len() / (kernel * c_in);
        let bias = match &self.bias {
            Some(bias) => Some(gemm::with_values(bias.val(), <[f32]>::to_vec)?),
            None => None,
        };
        let rows = conv_output_length(frames, kernel, stride);
        let out = gemm::with_values(x.clone(), |values| {
            let conv = gemm::UnfoldedConv { frames: values, batch, len: frames * c_in, rows, depth: kernel * c_in, row_step: stride * c_in };
            conv.apply(gemm_weight, c_out, bias.as_deref())
        })??;
        Some(Tensor::from_data(TensorData::new(out, [batch, rows, c_out]), &x.device()))
    }
}

/// Output frames of an unpadded convolution (transformers' `_conv_out_length`).
pub fn conv_output_length(frames: usize, kernel: usize, stride: usize) -> usize {
    if frames < kernel { 0 } else { (frames - kernel) / stride + 1 }
}

/// A grouped convolution with weight normalisation over dim 2 (`weight = g * v / ||v||`, the norm
/// over every dim but the kernel one) and "same" output length: PyTorch pads `kernel / 2` both sides,
/// and for even kernels the extra last frame is dropped (transformers' `SamePadLayer`).
#[derive(Module, Debug)]
pub struct WeightNormConv {
    /// Weight-norm magnitude, `[1, 1, kernel]` (one per kernel tap, PyTorch `dim=2`).
    pub weight_g: Param<Tensor<3>>,
    /// Weight-norm direction, `[channels, channels / groups, kernel]`.
    pub weight_v: Param<Tensor<3>>,
    pub bias: Param<Tensor<1>>,
    #[module(skip)]
    pub groups: usize,
    #[module(skip)]
    pub kernels: Kernels,
}

impl WeightNormConv {
    /// `g * v / ||v||`.
    pub fn weight(&self) -> Tensor<3> {
        let v = self.weight_v.val();
        self.weight_g.val() * v.clone() / norm_over_dims_0_1(v)
    }

    /// `[batch, frames, channels] -> [batch, frames, channels]`
    pub fn forward(&self, hidden: Tensor<3>) -> Tensor<3> {
        if self.kernels.host_on(&hidden.device()) {
            return self.forward_unfolded(hidden);
        }
        let weight = self.weight();
        let [_, frames, _] = hidden.dims();
        let kernel = weight.dims()[2];
        let options = ConvOptions::new([1], [kernel / 2], [1], self.groups);
        let x = conv1d(hidden.swap_dims(1, 2), weight, Some(self.bias.val()), options);
        // Even kernels give frames + 1 outputs: drop the last, as transformers' SamePadLayer does.
        x.narrow(2, 0, frames).swap_dims(1, 2)
    }

    /// One GEMM per group: per group the zero-padded frames `[frames + kernel - 1, per_group]` are
    /// contiguous, so the receptive field of output frame `t` is the run of `kernel * per_group`
    /// values starting at `t * per_group`. Burn's direct grouped kernel took 197 ms at 10 s (base
    /// size); this takes 61 ms, torch 40 ms (docs/PERFORMANCE.md).
    fn forward_unfolded(&self, hidden: Tensor<3>) -> Tensor<3> {
        let [batch, frames, channels] = hidden.dims();
        let [_, per_group, kernel] = self.weight_v.dims();
        let groups = self.groups;
        let device = hidden.device();
        let half = kernel / 2;
        let weight = self.gemm_weight_values();
        if let (Some(weight), true) = (&weight, self.kernels.own_gemm_on(&device))
            && let Some(out) = self.forward_own_gemm(&hidden, weight)
        {
            return out;
        }
        let weight = match weight {
            Some(values) => Tensor::from_data(TensorData::new(values, [1, groups, kernel * per_group, per_group]), &device),
            None => self.weight().reshape([groups, per_group, per_group, kernel]).permute([0, 3, 2, 1]).reshape([
                1,
                groups,
                kernel * per_group,
                per_group,
            ]),
        };
        // Padding kernel - 1 - kernel/2 on the right yields exactly `frames` windows: the same as
        // padding kernel/2 and dropping the extra frame of an even kernel.
        let x = hidden.reshape([batch, frames, groups, per_group]).swap_dims(1, 2);
        let pad_left = Tensor::zeros([batch, groups, half, per_group], &device);
        let pad_right = Tensor::zeros([batch, groups, kernel - 1 - half, per_group], &device);
        let padded = Tensor::cat(vec![pad_left, x, pad_right], 2).reshape([batch, groups, (frames + kernel - 1) * per_group]);
        let rows: Tensor<4> = padded.unfold(2, kernel * per_group, per_group);
        let out = rows.matmul(weight).swap_dims(1, 2).reshape([batch, frames, channels]);
        out + self.bias.val().reshape([1, 1, channels])
    }

    /// [`forward_unfolded`](Self::forward_unfolded) by sslpron-gemm: each utterance's frames are
    /// copied once, group by group, into zero-padded rows, and each group's product is written back
    /// into its channels; `None` when a tensor is not a contiguous f32 flex tensor.
    fn forward_own_gemm(&self, hidden: &Tensor<3>, gemm_weight: &[f32]) -> Option<Tensor<3>> {
        let [batch, frames, channels] = hidden.dims();
        let [_, per_group, kernel] = self.weight_v.dims();
        let half = kernel / 2;
        let padded_len = (frames + kernel - 1) * per_group;
        let group_weight = kernel * per_group * per_group;
        let bias = gemm::with_values(self.bias.val(), <[f32]>::to_vec)?;
        let mut out = vec![0.0f32; batch * frames * channels];
        if out.is_empty() {
            return Some(Tensor::from_data(TensorData::new(out, [batch, frames, channels]), &hidden.device()));
        }
        let mut padded = vec![0.0f32; padded_len];
        let mut group_out = vec![0.0f32; frames * per_group];
        gemm::with_values(hidden.clone(), |values| {
            for (utterance, out) in values.chunks_exact(frames * channels).zip(out.chunks_exact_mut(frames * channels)) {
                for g in 0..self.groups {
                    let channels_of_g = g * per_group..(g + 1) * per_group;
                    // Padding rows stay zero: only rows half..half + frames are ever written.
                    for (t, frame) in utterance.chunks_exact(channels).enumerate() {
                        padded[(half + t) * per_group..(half + t + 1) * per_group].copy_from_slice(&frame[channels_of_g.clone()]);
                    }
                    let weight = &gemm_weight[g * group_weight..(g + 1) * group_weight];
                    let a = sslpron_gemm::Matrix::new(&padded, frames, kernel * per_group, per_group)?;
                    let b = sslpron_gemm::Matrix::contiguous(weight, kernel * per_group, per_group)?;
                    gemm::product(a, b, Some(&bias[channels_of_g.clone()]), &mut group_out);
                    for (frame, row) in out.chunks_exact_mut(channels).zip(group_out.chunks_exact(per_group)) {
                        frame[channels_of_g.clone()].copy_from_slice(row);
                    }
                }
            }
            Some(())
        })??;
        Some(Tensor::from_data(TensorData::new(out, [batch, frames, channels]), &hidden.device()))
    }

    /// `g * v / ||v||` laid out for [`forward_unfolded`](Self::forward_unfolded):
    /// `[1, groups, kernel * in (tap-major), out per group]` from PyTorch's `[out (group-major), in,
    /// kernel]`. Written in one pass on the host: as tensor ops (norm, scale, then a permute that
    /// copies) it took 53 ms of the 65 ms this conv took on 5 s of audio, whatever the length.
    /// Read in place from the parameters' buffers; `None` when they are not contiguous f32 flex
    /// tensors, for which the caller takes the tensor-op route.
    pub fn gemm_weight_values(&self) -> Option<Vec<f32>> {
        let g = gemm::with_values(self.weight_g.val(), <[f32]>::to_vec)?;
        gemm::with_values(self.weight_v.val(), |v| self.normalized_taps_major(v, &g))
    }

    fn normalized_taps_major(&self, v: &[f32], g: &[f32]) -> Vec<f32> {
        let [_, per_group, kernel] = self.weight_v.dims();
        // One norm per tap, over every (out, in) pair: f32 sums over each output channel's inputs (a
        // loop over contiguous taps, vectorised), gathered in f64.
        let mut squares = vec![0.0f64; kernel];
        let mut partial = vec![0.0f32; kernel];
        for channel in v.chunks_exact(per_group * kernel) {
            partial.fill(0.0);
            for row in channel.chunks_exact(kernel) {
                for (sum, &value) in partial.iter_mut().zip(row) {
                    *sum += value * value;
                }
            }
            for (total, &sum) in squares.iter_mut().zip(&partial) {
                *total += sum as f64;
            }
        }
        let scale: Vec<f32> = squares.iter().zip(g).map(|(sum, &g)| g / sum.sqrt() as f32).collect();
        let mut out = Vec::with_capacity(v.len());
        for v_group in v.chunks_exact(per_group * per_group * kernel) {
            host::taps_major(v_group, per_group, per_group, kernel, Some(&scale), &mut out);
        }
        out
    }
}

/// `||v||` over dims 0 and 1, kept as `[1, 1, kernel]`.
pub fn norm_over_dims_0_1(v: Tensor<3>) -> Tensor<3> {
    v.powi_scalar(2).sum_dim(0).sum_dim(1).sqrt()
}
