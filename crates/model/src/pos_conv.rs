//! The convolutional relative positional embedding (`encoder.pos_conv_embed.conv`): a grouped conv with
//! weight normalisation over dim 2, "same" padding, and the last frame dropped for even kernels.

use burn::prelude::*;

use crate::config::EncoderConfig;
use crate::error::ModelError;
use crate::kernels::conv::norm_over_dims_0_1;
use crate::kernels::{ActivationLayer, WeightNormConv};
use crate::layers::activation;
use crate::weights::{Init, TensorSource};

const PREFIX: &str = "encoder.pos_conv_embed.conv";

#[derive(Module, Debug)]
pub struct PositionalConvEmbedding {
    pub conv: WeightNormConv,
    pub activation: ActivationLayer,
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
            conv: WeightNormConv { weight_g, weight_v, bias, groups, kernels: src.kernels() },
            activation: activation(src, config.feat_extract_activation),
        })
    }

    /// `[batch, frames, hidden] -> [batch, frames, hidden]`
    pub fn forward(&self, hidden: Tensor<3>) -> Tensor<3> {
        self.activation.forward(self.conv.forward(hidden))
    }
}
