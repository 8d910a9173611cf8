//! Building blocks made from a [`TensorSource`], with PyTorch's parameter names and layouts: Burn's
//! own LayerNorm and Dropout, and the kernel layer's modules, which take the source's [`Kernels`].

use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig};

use crate::config::Activation;
use crate::error::ModelError;
use crate::kernels::{ActivationLayer, Linear, Softmax};
use crate::weights::{Init, TensorSource};

/// transformers' `initializer_range`: the std of fresh Linear weights.
pub const INITIALIZER_RANGE: f64 = 0.02;

/// `nn.Linear(d_in, d_out)` at `prefix`: PyTorch stores `weight` as `[out, in]`, Burn as `[in, out]`.
pub fn linear<S: TensorSource>(src: &mut S, prefix: &str, d_in: usize, d_out: usize) -> Result<Linear, ModelError> {
    let name = format!("{prefix}.weight");
    let weight = src.linear_weight(&name, d_out, d_in, Init::Normal { std: INITIALIZER_RANGE })?;
    let weight = src.register(&name, weight, true);
    let bias = src.param(&format!("{prefix}.bias"), [d_out], Init::Zeros)?;
    Ok(Linear { weight, bias: Some(bias), kernels: src.kernels() })
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

/// The config's activation function.
pub fn activation<S: TensorSource>(src: &S, function: Activation) -> ActivationLayer {
    ActivationLayer { function, kernels: src.kernels() }
}

/// Softmax over the last dim.
pub fn softmax<S: TensorSource>(src: &S) -> Softmax {
    Softmax { kernels: src.kernels() }
}
