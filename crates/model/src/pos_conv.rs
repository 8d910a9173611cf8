//! The convolutional relative positional embedding (`encoder.pos_conv_embed.conv`): a grouped conv with
//! weight normalisation over dim 2, "same" padding, and the last frame dropped for even kernels.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::module::conv1d;
use burn::tensor::ops::ConvOptions;

use crate::config::{Activation, EncoderConfig};
use crate::error::ModelError;
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
        let [_, frames, _] = hidden.dims();
        let weight = self.weight();
        let kernel = weight.dims()[2];
        let options = ConvOptions::new([1], [kernel / 2], [1], self.groups);
        let x = conv1d(hidden.swap_dims(1, 2), weight, Some(self.bias.val()), options);
        // Even kernels give frames + 1 outputs: drop the last, as transformers' SamePadLayer does.
        let x = x.narrow(2, 0, frames);
        activate(self.activation, x).swap_dims(1, 2)
    }
}

fn norm_over_dims_0_1(v: Tensor<3>) -> Tensor<3> {
    v.powi_scalar(2).sum_dim(0).sum_dim(1).sqrt()
}
