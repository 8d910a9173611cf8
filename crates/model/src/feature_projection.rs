//! CNN channels -> transformer width (`feature_projection.{layer_norm,projection}`).

use burn::nn::{Dropout, LayerNorm};
use burn::prelude::*;

use crate::config::EncoderConfig;
use crate::error::ModelError;
use crate::kernels::Linear;
use crate::layers::{dropout, layer_norm, linear};
use crate::weights::TensorSource;

#[derive(Module, Debug)]
pub struct FeatureProjection {
    /// Absent only for HuBERT with `feat_proj_layer_norm=false`.
    pub layer_norm: Option<LayerNorm>,
    pub projection: Linear,
    pub dropout: Dropout,
}

impl FeatureProjection {
    pub fn new<S: TensorSource>(src: &mut S, config: &EncoderConfig) -> Result<Self, ModelError> {
        let conv_out = *config.conv_dim.last().expect("validated: conv_dim is not empty");
        let layer_norm = if config.has_feature_projection_norm() {
            Some(layer_norm(src, "feature_projection.layer_norm", conv_out, config.layer_norm_eps)?)
        } else {
            None
        };
        Ok(FeatureProjection {
            layer_norm,
            projection: linear(src, "feature_projection.projection", conv_out, config.hidden_size)?,
            dropout: dropout(config.feat_proj_dropout),
        })
    }

    pub fn forward(&self, features: Tensor<3>) -> Tensor<3> {
        let x = match &self.layer_norm {
            Some(norm) => norm.forward(features),
            None => features,
        };
        self.dropout.forward(self.projection.forward(x))
    }
}
