//! The convolutional relative positional embedding (`encoder.pos_conv_embed.conv`): a grouped conv with
//! weight normalisation over dim 2, "same" padding, and the last frame dropped for even kernels.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::module::conv1d;
use burn::tensor::ops::ConvOptions;

use crate::config::{Activation, EncoderConfig};
use crate::error::ModelError;
use crate::{host_gemm, host_kernels};
use crate::layers::activate;
use crate::weights::{Init, TensorSource};

const PREFIX: &str = "encoder.pos_conv_embed.conv";

#[derive(Module, Debug)]
pub struct PositionalConvEmbedding {
    /// Weight-norm magnitude, `[1, 1, kernel]` (one per kernel tap, PyTorch `dim=2`).
    pub weight_g: Param<Tensor<3>>,
    /// Weight-norm direction, `[hidden, hidden / groups, kernel]`.
    pub weight_v: Param<Tensor<3>>,
    pub bias: Param<Tensor<1>>,
    #[module(skip)]
    pub groups: usize,
    #[module(skip)]
    pub activation: Activation,
}

impl PositionalConvEmbedding {
    /// Checkpoints spell the weight-norm pair `weight_g`/`weight_v` (old PyTorch) or
    /// `parametrizations.weight.original0`/`original1` (new): the loader maps both to the former.
    pub fn new<S: TensorSource>(src: &mut S, config: &EncoderConfig) -> Result<Self, ModelError> {
        let hidden = config.hidden_size;
        let kernel = config.num_conv_pos_embeddings;
        let groups = config.num_conv_pos_embedding_groups;
        let fan_in = kernel * hidden / groups;
        let std = (4.0 / fan_in as f64).sqrt() / 2.0;
        let v_name = format!("{PREFIX}.weight_v");
        let g_name = format!("{PREFIX}.weight_g");
        let weight_v = src.tensor(&v_name, [hidden, hidden / groups, kernel], Init::Normal { std })?;
        // A fresh model starts as the plain conv it reparametrises (g = |v|); a checkpoint has its own g.
        let weight_g = if src.is_fresh() {
            src.register(&g_name, norm_over_dims_0_1(weight_v.clone()), false)
        } else {
            src.param(&g_name, [1, 1, kernel], Init::Ones)?
        };
        let weight_v = src.register(&v_name, weight_v, false);
        let bias = src.param(&format!("{PREFIX}.bias"), [hidden], Init::Zeros)?;
        Ok(PositionalConvEmbedding {
            weight_g,
            weight_v,
            bias,
            groups,
            activation: config.feat_extract_activation,
        })
    }

    /// `g * v / ||v||`, the norm taken over every dim but the kernel one.
    pub fn weight(&self) -> Tensor<3> {
        let v = self.weight_v.val();
        self.weight_g.val() * v.clone() / norm_over_dims_0_1(v)
    }

    /// `[batch, frames, hidden] -> [batch, frames, hidden]`
    pub fn forward(&self, hidden: Tensor<3>) -> Tensor<3> {
        let x = if host_kernels::is_host_inference(&hidden.device()) {
            self.convolve_unfolded(hidden)
        } else {
            let weight = self.weight();
            let [_, frames, _] = hidden.dims();
            let kernel = weight.dims()[2];
            let options = ConvOptions::new([1], [kernel / 2], [1], self.groups);
            let x = conv1d(hidden.swap_dims(1, 2), weight, Some(self.bias.val()), options);
            // Even kernels give frames + 1 outputs: drop the last, as transformers' SamePadLayer does.
            x.narrow(2, 0, frames).swap_dims(1, 2)
        };
        activate(self.activation, x)
    }

    /// The same grouped "same" convolution as one GEMM per group, for the flex CPU device. Per group the
    /// zero-padded frames `[frames + kernel - 1, per_group]` are contiguous, so the receptive field of
    /// output frame `t` (padded frames `t .. t + kernel`, tap-major) is the contiguous run of
    /// `kernel * per_group` values starting at `t * per_group`: `unfold` exposes all of them as a
    /// `[frames, kernel * per_group]` view with overlapping rows, no copy, and flex's GEMM reads it
    /// through its strides. Burn's direct grouped kernel took 197 ms at 10 s (base size); this takes
    /// 61 ms, torch 40 ms (docs/PERFORMANCE.md). Inference only: autodiff's `unfold` backward loops
    /// over windows one by one, and the wgpu device keeps Burn's tuned kernel.
    fn convolve_unfolded(&self, hidden: Tensor<3>) -> Tensor<3> {
        let [batch, frames, channels] = hidden.dims();
        let [_, per_group, kernel] = self.weight_v.dims();
        let groups = self.groups;
        let device = hidden.device();
        let half = kernel / 2;
        let weight = self.gemm_weight_values();
        if let (Some(weight), true) = (&weight, host_gemm::own_gemm_on(&device)) {
            if let Some(out) = self.convolve_own_gemm(&hidden, weight) {
                return out;
            }
        }
        let weight = match weight {
            Some(values) => Tensor::from_data(TensorData::new(values, [1, groups, kernel * per_group, per_group]), &device),
            None => self.weight().reshape([groups, per_group, per_group, kernel]).permute([0, 3, 2, 1]).reshape([1, groups, kernel * per_group, per_group]),
        };
        // PyTorch pads kernel/2 both sides and, for even kernels, transformers drops the extra last
        // frame: padding kernel - 1 - kernel/2 on the right yields exactly `frames` windows.
        let x = hidden.reshape([batch, frames, groups, per_group]).swap_dims(1, 2);
        let pad_left = Tensor::zeros([batch, groups, half, per_group], &device);
        let pad_right = Tensor::zeros([batch, groups, kernel - 1 - half, per_group], &device);
        let padded = Tensor::cat(vec![pad_left, x, pad_right], 2).reshape([batch, groups, (frames + kernel - 1) * per_group]);
        let rows: Tensor<4> = padded.unfold(2, kernel * per_group, per_group);
        let out = rows.matmul(weight).swap_dims(1, 2).reshape([batch, frames, channels]);
        out + self.bias.val().reshape([1, 1, channels])
    }

    /// [`convolve_unfolded`](Self::convolve_unfolded) by sslpron-gemm (the browser build): each
    /// utterance's frames are copied once, group by group, into zero-padded rows, and each group's
    /// product is written back into its channels; `None` when a tensor is not a contiguous f32 flex
    /// tensor.
    fn convolve_own_gemm(&self, hidden: &Tensor<3>, gemm_weight: &[f32]) -> Option<Tensor<3>> {
        let [batch, frames, channels] = hidden.dims();
        let [_, per_group, kernel] = self.weight_v.dims();
        let half = kernel / 2;
        let padded_len = (frames + kernel - 1) * per_group;
        let group_weight = kernel * per_group * per_group;
        let bias = host_gemm::with_values(self.bias.val(), <[f32]>::to_vec)?;
        let mut out = vec![0.0f32; batch * frames * channels];
        if out.is_empty() {
            return Some(Tensor::from_data(TensorData::new(out, [batch, frames, channels]), &hidden.device()));
        }
        let mut padded = vec![0.0f32; padded_len];
        let mut group_out = vec![0.0f32; frames * per_group];
        host_gemm::with_values(hidden.clone(), |values| {
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
                    host_gemm::product(a, b, Some(&bias[channels_of_g.clone()]), &mut group_out);
                    for (frame, row) in out.chunks_exact_mut(channels).zip(group_out.chunks_exact(per_group)) {
                        frame[channels_of_g.clone()].copy_from_slice(row);
                    }
                }
            }
            Some(())
        })??;
        Some(Tensor::from_data(TensorData::new(out, [batch, frames, channels]), &hidden.device()))
    }
}

impl PositionalConvEmbedding {
    /// `g * v / ||v||` laid out for [`convolve_unfolded`](Self::convolve_unfolded):
    /// `[1, groups, kernel * in (tap-major), out per group]` from PyTorch's `[out (group-major), in,
    /// kernel]`. Written in one pass on the host: as tensor ops (norm, scale, then a permute that
    /// copies) it took 53 ms of the 65 ms this conv took on 5 s of audio, whatever the length.
    /// Read in place from the parameters' buffers; `None` when they are not contiguous f32 flex
    /// tensors (no path loads other dtypes today), for which the caller takes the tensor-op route.
    pub fn gemm_weight_values(&self) -> Option<Vec<f32>> {
        let g = host_gemm::with_values(self.weight_g.val(), <[f32]>::to_vec)?;
        host_gemm::with_values(self.weight_v.val(), |v| self.normalized_taps_major(v, &g))
    }

    fn normalized_taps_major(&self, v: &[f32], g: &[f32]) -> Vec<f32> {
        let [_, per_group, kernel] = self.weight_v.dims();
        // One norm per tap, over every (out, in) pair: f32 sums over each output channel's 48
        // inputs (a loop over contiguous taps, vectorised), gathered in f64.
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
            host_kernels::taps_major(v_group, per_group, per_group, kernel, Some(&scale), &mut out);
        }
        out
    }
}

fn norm_over_dims_0_1(v: Tensor<3>) -> Tensor<3> {
    v.powi_scalar(2).sum_dim(0).sum_dim(1).sqrt()
}
