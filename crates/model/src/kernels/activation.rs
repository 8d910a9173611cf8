//! Activation functions and the attention softmax.

use burn::prelude::*;
use burn::tensor::activation;

use super::{Kernels, host};
use crate::config::Activation;

/// The config's activation function as a module (no parameters).
#[derive(Module, Debug)]
pub struct ActivationLayer {
    #[module(skip)]
    pub function: Activation,
    #[module(skip)]
    pub kernels: Kernels,
}

impl ActivationLayer {
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self.function {
            // flex evaluates GELU with libm's scalar `erff`, one element at a time on one thread.
            Activation::Gelu if self.kernels.host_on(&x.device()) => host::gelu(x),
            Activation::Gelu => activation::gelu(x),
            Activation::GeluTanh => activation::gelu_approximate(x),
            Activation::Relu => activation::relu(x),
            Activation::Silu => activation::silu(x),
        }
    }
}

/// Softmax over the last dim.
#[derive(Module, Debug)]
pub struct Softmax {
    #[module(skip)]
    pub kernels: Kernels,
}

impl Softmax {
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if self.kernels.host_on(&x.device()) {
            // flex's fused kernel calls libm's scalar `expf` per element.
            return host::softmax_last_dim(x);
        }
        activation::softmax(x, D - 1)
    }
}
