//! The transformer encoder (`encoder.*`) in both layouts: post-norm (`do_stable_layer_norm=false`,
//! base models: `h = LN(x + posconv(x))`, then post-norm layers) and pre-norm ("stable", large models:
//! `h = x + posconv(x)`, pre-norm layers, `encoder.layer_norm` after the last layer).

use burn::nn::{Dropout, LayerNorm};
use burn::prelude::*;
use burn::tensor::Distribution;

use crate::attention::Attention;
use crate::config::{EncoderConfig, Family};
use crate::error::ModelError;
use crate::kernels::{ActivationLayer, Linear};
use crate::layers::{activation, dropout, layer_norm, linear};
use crate::pos_conv::PositionalConvEmbedding;
use crate::weights::TensorSource;

#[derive(Module, Debug)]
pub struct FeedForward {
    pub intermediate_dense: Linear,
    pub intermediate_dropout: Dropout,
    pub output_dense: Linear,
    pub output_dropout: Dropout,
    pub activation: ActivationLayer,
}

impl FeedForward {
    fn new<S: TensorSource>(src: &mut S, config: &EncoderConfig, p: &str) -> Result<Self, ModelError> {
        Ok(FeedForward {
            intermediate_dense: linear(src, &format!("{p}.intermediate_dense"), config.hidden_size, config.intermediate_size)?,
            intermediate_dropout: dropout(config.activation_dropout),
            output_dense: linear(src, &format!("{p}.output_dense"), config.intermediate_size, config.hidden_size)?,
            output_dropout: dropout(config.hidden_dropout),
            activation: activation(src, config.hidden_act),
        })
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.activation.forward(self.intermediate_dense.forward(x));
        let x = self.output_dense.forward(self.intermediate_dropout.forward(x));
        self.output_dropout.forward(x)
    }
}

#[derive(Module, Debug)]
pub struct EncoderLayer {
    pub attention: Attention,
    pub dropout: Dropout,
    pub layer_norm: LayerNorm,
    pub feed_forward: FeedForward,
    pub final_layer_norm: LayerNorm,
    #[module(skip)]
    pub pre_norm: bool,
}

impl EncoderLayer {
    /// The layer at prefix `p` (`encoder.layers.{layer}` in the encoder; the prompt-aware head has
    /// its own); `layer` 0 owns WavLM's relative position embedding.
    pub fn new<S: TensorSource>(src: &mut S, config: &EncoderConfig, p: &str, layer: usize) -> Result<Self, ModelError> {
        let (h, eps) = (config.hidden_size, config.layer_norm_eps);
        Ok(EncoderLayer {
            attention: Attention::new(src, config, &format!("{p}.attention"), layer)?,
            dropout: dropout(config.hidden_dropout),
            layer_norm: layer_norm(src, &format!("{p}.layer_norm"), h, eps)?,
            feed_forward: FeedForward::new(src, config, &format!("{p}.feed_forward"))?,
            final_layer_norm: layer_norm(src, &format!("{p}.final_layer_norm"), h, eps)?,
            pre_norm: config.do_stable_layer_norm,
        })
    }

    /// `x [batch, length, hidden]`; `key_padding`: additive `[batch, 1, 1, length]` (0 or -1e30).
    pub fn forward(&self, x: Tensor<3>, position_bias: Option<Tensor<3>>, key_padding: Option<&Tensor<4>>) -> (Tensor<3>, Option<Tensor<3>>) {
        if self.pre_norm {
            let (attended, bias) = self.attention.forward(self.layer_norm.forward(x.clone()), position_bias, key_padding);
            let x = x + self.dropout.forward(attended);
            let x = x.clone() + self.feed_forward.forward(self.final_layer_norm.forward(x));
            (x, bias)
        } else {
            let (attended, bias) = self.attention.forward(x.clone(), position_bias, key_padding);
            let x = self.layer_norm.forward(x + self.dropout.forward(attended));
            let x = self.final_layer_norm.forward(x.clone() + self.feed_forward.forward(x));
            (x, bias)
        }
    }
}

#[derive(Module, Debug)]
pub struct Encoder {
    pub pos_conv_embed: PositionalConvEmbedding,
    pub layer_norm: LayerNorm,
    pub dropout: Dropout,
    pub layers: Vec<EncoderLayer>,
    #[module(skip)]
    pub pre_norm: bool,
    #[module(skip)]
    pub layerdrop: f64,
    /// WavLM never drops layer 0 (it owns the position bias); Wav2Vec2 and HuBERT may drop any layer.
    #[module(skip)]
    pub first_droppable_layer: usize,
}

/// What the encoder returns: `hidden_states[0]` is the first layer's input (after the positional conv),
/// `hidden_states[i]` layer i's output, as transformers 5's `output_hidden_states` gives them: in the
/// pre-norm layout the last one is before `encoder.layer_norm`, `last_hidden_state` after it.
pub struct EncoderOutput {
    pub last_hidden_state: Tensor<3>,
    pub hidden_states: Vec<Tensor<3>>,
}

impl Encoder {
    pub fn new<S: TensorSource>(src: &mut S, config: &EncoderConfig) -> Result<Self, ModelError> {
        Ok(Encoder {
            pos_conv_embed: PositionalConvEmbedding::new(src, config)?,
            layer_norm: layer_norm(src, "encoder.layer_norm", config.hidden_size, config.layer_norm_eps)?,
            dropout: dropout(config.hidden_dropout),
            layers: (0..config.num_hidden_layers)
                .map(|i| EncoderLayer::new(src, config, &format!("encoder.layers.{i}"), i))
                .collect::<Result<_, _>>()?,
            pre_norm: config.do_stable_layer_norm,
            layerdrop: config.layerdrop,
            first_droppable_layer: if config.family() == Family::WavLm { 1 } else { 0 },
        })
    }

    pub fn forward(&self, x: Tensor<3>, key_padding: Option<&Tensor<4>>, keep_hidden_states: bool) -> EncoderOutput {
        let x = x.clone() + self.pos_conv_embed.forward(x);
        let mut x = if self.pre_norm { x } else { self.layer_norm.forward(x) };
        x = self.dropout.forward(x);

        let training = x.device().is_autodiff();
        let mut hidden_states = Vec::new();
        let mut position_bias = None;
        for (i, layer) in self.layers.iter().enumerate() {
            if keep_hidden_states {
                hidden_states.push(x.clone());
            }
            // LayerDrop: only while training, one draw per layer as in the reference.
            if training && self.layerdrop > 0.0 && i >= self.first_droppable_layer {
                let draw: f64 = Tensor::<1>::random([1], Distribution::Default, &x.device()).into_scalar();
                if draw < self.layerdrop {
                    continue;
                }
            }
            let (out, bias) = layer.forward(x, position_bias, key_padding);
            x = out;
            position_bias = bias;
        }
        // transformers 5 reports the last layer's own output here, before the pre-norm layout's final
        // `encoder.layer_norm`; `last_hidden_state` is after it.
        if keep_hidden_states {
            hidden_states.push(x.clone());
        }
        if self.pre_norm {
            x = self.layer_norm.forward(x);
        }
        EncoderOutput { last_hidden_state: x, hidden_states }
    }
}
