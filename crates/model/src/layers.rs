//! Burn's own layers built from a [`TensorSource`], with PyTorch's parameter names and layouts.

use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear};
use burn::prelude::*;
use burn::tensor::activation;

use crate::config::Activation;
use crate::error::ModelError;
use crate::host_kernels;
use crate::weights::{Init, TensorSource};

/// transformers' `initializer_range`: the std of fresh Linear weights.
pub const INITIALIZER_RANGE: f64 = 0.02;

/// `nn.Linear(d_in, d_out)` at `prefix`: PyTorch stores `weight` as `[out, in]`, Burn as `[in, out]`.
pub fn linear<S: TensorSource>(src: &mut S, prefix: &str, d_in: usize, d_out: usize) -> Result<Linear, ModelError> {
    let name = format!("{prefix}.weight");
    let weight = src.linear_weight(&name, d_out, d_in, Init::Normal { std: INITIALIZER_RANGE })?;
    let weight = src.register(&name, weight, true);
    let bias = src.param(&format!("{prefix}.bias"), [d_out], Init::Zeros)?;
    Ok(Linear { weight, bias: Some(bias) })
}

/// `nn.LayerNorm(d, eps)` at `prefix` (`weight`/`bias` in PyTorch, `gamma`/`beta` in Burn).
pub fn layer_norm<S: TensorSource>(src: &mut S, prefix: &str, d: usize, eps: f64) -> Result<LayerNorm, ModelError> {
    let mut norm = LayerNormConfig::new(d).with_epsilon(eps).init(src.device());
    norm.gamma = src.param(&format!("{prefix}.weight"), [d], Init::Ones)?;
    norm.beta = Some(src.param(&format!("{prefix}.bias"), [d], Init::Zeros)?);
    Ok(norm)
}

/// Dropout that only acts on an autodiff (training) device; inference is never stochastic.
pub fn dropout(prob: f64) -> Dropout {
    DropoutConfig::new(prob).init()
}

pub fn activate<const D: usize>(act: Activation, x: Tensor<D>) -> Tensor<D> {
    match act {
        Activation::Gelu => host_kernels::gelu(x),
        Activation::GeluTanh => activation::gelu_approximate(x),
        Activation::Relu => activation::relu(x),
        Activation::Silu => activation::silu(x),
    }
}
