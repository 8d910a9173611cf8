//! `nn.Linear`: `x · weight + bias` over the last dim.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::module::linear;

use super::{Kernels, gemm};

/// PyTorch's `nn.Linear` with Burn's layout (`weight` is `[in, out]`; PyTorch stores `[out, in]`, and
/// the loader transposes). The same fields as `burn::nn::Linear`, plus the kernel choice.
#[derive(Module, Debug)]
pub struct Linear {
    pub weight: Param<Tensor<2>>,
    pub bias: Option<Param<Tensor<1>>>,
    #[module(skip)]
    pub kernels: Kernels,
}

impl Linear {
    /// `[..., in] -> [..., out]`
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if self.kernels.own_gemm_on(&x.device()) {
            // `None` when a tensor is not a contiguous f32 flex tensor: Burn's op then.
            if let Some(y) = gemm::linear(&self.weight, self.bias.as_ref(), &x) {
                return y;
            }
        }
        linear(x, self.weight.val(), self.bias.as_ref().map(Param::val))
    }
}
