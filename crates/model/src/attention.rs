//! Multi-head self-attention (`encoder.layers.<i>.attention`), with WavLM's gated relative position
//! bias: bucketed relative distances embedded per head (`rel_attn_embed`, layer 0 only, handed on to the
//! later layers) and scaled per frame and head by a gate computed from the layer's own input
//! (`gru_rel_pos_linear`, `gru_rel_pos_const`).

use burn::module::Param;
use burn::nn::Dropout;
use burn::prelude::*;
use burn::tensor::{Int, TensorData, activation};

use crate::config::{EncoderConfig, Family};
use crate::error::ModelError;
use crate::kernels::{Linear, Softmax};
use crate::layers::{dropout, linear, softmax};
use crate::weights::{Init, TensorSource};

#[derive(Module, Debug)]
pub struct RelativePositionGate {
    /// `Linear(head_dim, 8)`: two gates, each the sum of four projections.
    pub gru_rel_pos_linear: Linear,
    /// `[1, heads, 1, 1]`
    pub gru_rel_pos_const: Param<Tensor<4>>,
}

#[derive(Module, Debug)]
pub struct Attention {
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub out_proj: Linear,
    pub softmax: Softmax,
    pub dropout: Dropout,
    /// WavLM only.
    pub gate: Option<RelativePositionGate>,
    /// WavLM layer 0 only: `[num_buckets, heads]` (an `nn.Embedding` table).
    pub rel_attn_embed: Option<Param<Tensor<2>>>,
    #[module(skip)]
    pub num_heads: usize,
    #[module(skip)]
    pub num_buckets: usize,
    #[module(skip)]
    pub max_distance: usize,
}

impl Attention {
    /// The attention at `p` (`encoder.layers.{layer}.attention` in the encoder); `layer` 0 owns
    /// WavLM's relative position embedding.
    pub fn new<S: TensorSource>(src: &mut S, config: &EncoderConfig, p: &str, layer: usize) -> Result<Self, ModelError> {
        let hidden = config.hidden_size;
        let heads = config.num_attention_heads;
        let wavlm = config.family() == Family::WavLm;
        let gate = if wavlm {
            Some(RelativePositionGate {
                gru_rel_pos_linear: linear(src, &format!("{p}.gru_rel_pos_linear"), config.head_dim(), 8)?,
                gru_rel_pos_const: src.param(&format!("{p}.gru_rel_pos_const"), [1, heads, 1, 1], Init::Ones)?,
            })
        } else {
            None
        };
        let rel_attn_embed = if wavlm && layer == 0 {
            Some(src.param(&format!("{p}.rel_attn_embed.weight"), [config.num_buckets, heads], Init::Normal { std: 1.0 })?)
        } else {
            None
        };
        Ok(Attention {
            q_proj: linear(src, &format!("{p}.q_proj"), hidden, hidden)?,
            k_proj: linear(src, &format!("{p}.k_proj"), hidden, hidden)?,
            v_proj: linear(src, &format!("{p}.v_proj"), hidden, hidden)?,
            out_proj: linear(src, &format!("{p}.out_proj"), hidden, hidden)?,
            softmax: softmax(src),
            dropout: dropout(config.attention_dropout),
            gate,
            rel_attn_embed,
            num_heads: heads,
            num_buckets: config.num_buckets,
            max_distance: config.max_bucket_distance,
        })
    }

    /// `x: [batch, frames, hidden]`; `position_bias`: WavLM's ungated `[heads, frames, frames]` from layer 0
    /// (computed here when this is layer 0); `key_padding`: additive `[batch, 1, 1, frames]` (0 or -inf-ish).
    /// Returns the output and the position bias to hand to the next layer.
    pub fn forward(&self, x: Tensor<3>, position_bias: Option<Tensor<3>>, key_padding: Option<&Tensor<4>>) -> (Tensor<3>, Option<Tensor<3>>) {
        let [batch, frames, hidden] = x.dims();
        let heads = self.num_heads;
        let head_dim = hidden / heads;
        let split = |t: Tensor<3>| t.reshape([batch, frames, heads, head_dim]).swap_dims(1, 2);

        let scaling = (head_dim as f64).powf(-0.5);
        let q = split(self.q_proj.forward(x.clone()) * scaling);
        let k = split(self.k_proj.forward(x.clone()));
        let v = split(self.v_proj.forward(x.clone()));
        let mut scores = q.matmul(k.swap_dims(2, 3));

        let position_bias = match (&self.rel_attn_embed, position_bias) {
            (Some(table), _) => Some(self.relative_position_bias(table.val(), frames)),
            (None, bias) => bias,
        };
        if let (Some(gate), Some(bias)) = (&self.gate, &position_bias) {
            // The gate reads the attention input per head: [batch, heads, frames, head_dim] -> 8 -> 2x4 summed.
            let projected = gate.gru_rel_pos_linear.forward(split(x));
            let pairs = projected.reshape([batch, heads, frames, 2, 4]).sum_dim(4).reshape([batch, heads, frames, 2]);
            let gates = activation::sigmoid(pairs);
            let gate_a = gates.clone().narrow(3, 0, 1);
            let gate_b = gates.narrow(3, 1, 1);
            let gate_out = gate_a * (gate_b * gate.gru_rel_pos_const.val() - 1.0) + 2.0;
            scores = scores + gate_out * bias.clone().unsqueeze_dim::<4>(0);
        }
        if let Some(mask) = key_padding {
            scores = scores + mask.clone();
        }
        let probs = self.dropout.forward(self.softmax.forward(scores));
        let context = probs.matmul(v).swap_dims(1, 2).reshape([batch, frames, hidden]);
        (self.out_proj.forward(context), position_bias)
    }

    /// `rel_attn_embed[bucket(j - i)]` as `[heads, frames, frames]`.
    fn relative_position_bias(&self, table: Tensor<2>, frames: usize) -> Tensor<3> {
        let heads = self.num_heads;
        let mut buckets = Vec::with_capacity(frames * frames);
        for i in 0..frames as i64 {
            for j in 0..frames as i64 {
                buckets.push(relative_position_bucket(j - i, self.num_buckets, self.max_distance));
            }
        }
        let device = table.device();
        let index = Tensor::<1, Int>::from_data(TensorData::new(buckets, [frames * frames]), &device);
        // Gathered from the table's `[heads, buckets]` transpose, so that the result is laid out
        // `[heads, frames, frames]` as every layer reads it: a permute of `[frames, frames, heads]`
        // left each layer's bias arithmetic on a strided view.
        table.swap_dims(0, 1).select(1, index).reshape([heads, frames, frames])
    }
}

/// WavLM's bucketing of a relative distance (`memory - query`): exact for small distances, logarithmic
/// up to `max_distance`, positive and negative distances in separate halves. Computed in f32 like the
/// reference, so that bucket boundaries fall where they do there.
pub fn relative_position_bucket(relative: i64, num_buckets: usize, max_distance: usize) -> i64 {
    let half = (num_buckets / 2) as i64;
    let mut bucket = if relative > 0 { half } else { 0 };
    let distance = relative.abs();
    let max_exact = half / 2;
    if distance < max_exact {
        bucket += distance;
    } else {
        let scale = ((max_distance as f64) / (max_exact as f64)).ln() as f32;
        let large = ((distance as f32) / (max_exact as f32)).ln() / scale * ((half - max_exact) as f32);
        let large = ((max_exact as f32) + large) as i64;
        bucket += large.min(half - 1);
    }
    bucket
}

#[cfg(test)]
mod tests {
    use super::relative_position_bucket;

    /// Values worked out by hand from the formula with WavLM's defaults (320 buckets, max 800):
    /// half = 160, max_exact = 80, large(d) = 80 + ln(d/80)/ln(10)*80.
    #[test]
    fn buckets_follow_wavlm_formula() {
        assert_eq!(relative_position_bucket(0, 320, 800), 0);
        assert_eq!(relative_position_bucket(-5, 320, 800), 5);
        assert_eq!(relative_position_bucket(5, 320, 800), 165);
        assert_eq!(relative_position_bucket(-79, 320, 800), 79);
        assert_eq!(relative_position_bucket(-80, 320, 800), 80);
        // 80 + ln(2)/ln(10)*80 = 104.08
        assert_eq!(relative_position_bucket(-160, 320, 800), 104);
        // 80 + ln(10)/ln(10)*80 = 160, clamped to 159
        assert_eq!(relative_position_bucket(-800, 320, 800), 159);
        assert_eq!(relative_position_bucket(5000, 320, 800), 319);
    }
}
