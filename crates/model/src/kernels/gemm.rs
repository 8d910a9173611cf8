//! Products by [`sslpron_gemm`] on flex tensors, for [`Kernels::HostOwnGemm`](super::Kernels): the
//! browser build (WebAssembly), where the `gemm` crate that flex calls ran its 12 × 4 tile out of
//! vector registers (docs/PERFORMANCE.md, "Where the browser time goes"). Natively flex's GEMM is
//! the faster one (AVX-512 kernels and threads); the parity suite runs this path natively too, so
//! that it covers the code the browser runs.
//!
//! Tensors are read in place: the weights through their flex buffers (no copy, which `into_data` of
//! a shared tensor would make), activations likewise, and the output is one new buffer with the bias
//! already added. Anything else (another device, autodiff, a dtype other than f32, a layout with gaps)
//! gets `None`, and the caller keeps Burn's op.

use std::cell::Cell;

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::TensorData;
use burn_flex::{Flex, FlexTensor};
use sslpron_gemm::Matrix;

thread_local! {
    static PRODUCTS: Cell<usize> = const { Cell::new(0) };
}

/// Products computed by sslpron-gemm on this thread so far: lets a test see that this path ran
/// rather than a fallback to Burn's ops.
pub fn own_gemm_products() -> usize {
    PRODUCTS.with(Cell::get)
}

fn gemm(a: Matrix, b: Matrix, bias: Option<&[f32]>, out: &mut [f32]) {
    sslpron_gemm::gemm(a, b, bias, out);
    PRODUCTS.with(|count| count.set(count.get() + 1));
}

/// An f32 flex tensor's values in row-major order, borrowed from its buffer; `None` for any other
/// layout or dtype.
fn contiguous_values(tensor: &FlexTensor) -> Option<&[f32]> {
    let layout = tensor.layout();
    if tensor.dtype() != burn::tensor::DType::F32 || !layout.is_contiguous() {
        return None;
    }
    let start = layout.start_offset();
    tensor.storage::<f32>().get(start..start + layout.num_elements())
}

fn flex<const D: usize>(tensor: Tensor<D>) -> Option<FlexTensor> {
    tensor.try_into_primitive::<Flex>().ok()
}

/// `x · weight + bias` over the last dim of `x`, as `Linear::forward`; `None` when a tensor is not a
/// contiguous f32 flex tensor.
pub fn linear<const D: usize>(weight: &Param<Tensor<2>>, bias: Option<&Param<Tensor<1>>>, x: &Tensor<D>) -> Option<Tensor<D>> {
    let dims = x.dims();
    let [k, n] = weight.dims();
    let m = dims[..D - 1].iter().product::<usize>();
    let input = flex(x.clone())?;
    let weight = flex(weight.val())?;
    let bias = match bias {
        Some(bias) => Some(flex(bias.val())?),
        None => None,
    };
    let bias = match &bias {
        Some(bias) => Some(contiguous_values(bias)?),
        None => None,
    };
    let a = Matrix::contiguous(contiguous_values(&input)?, m, k)?;
    let b = Matrix::contiguous(contiguous_values(&weight)?, k, n)?;
    let mut out = vec![0.0f32; m * n];
    gemm(a, b, bias, &mut out);
    let mut shape = dims;
    shape[D - 1] = n;
    Some(Tensor::from_data(TensorData::new(out, shape), &x.device()))
}

/// A convolution over channels-last frames as one product per utterance (and per group): row `t`
/// of the left-hand side is output frame `t`'s receptive field, the `kernel * c_in` values that start
/// at `t * row_step` of the utterance's frames (tap-major), read in place, rows overlapping.
pub struct UnfoldedConv<'a> {
    /// `[batch, len]` per group: each utterance's (padded) frames of one group, contiguous.
    pub frames: &'a [f32],
    pub batch: usize,
    /// Values per utterance (and group) in `frames`.
    pub len: usize,
    /// Output frames.
    pub rows: usize,
    /// `kernel * c_in`.
    pub depth: usize,
    /// Values between the starts of consecutive receptive fields (`stride * c_in`).
    pub row_step: usize,
}

impl UnfoldedConv<'_> {
    /// `[batch, rows, c_out]` for a weight `[depth, c_out]` (tap-major rows) and a bias `[c_out]`.
    pub fn apply(&self, weight: &[f32], c_out: usize, bias: Option<&[f32]>) -> Option<Vec<f32>> {
        let b = Matrix::contiguous(weight, self.depth, c_out)?;
        let mut out = vec![0.0f32; self.batch * self.rows * c_out];
        if out.is_empty() || self.len == 0 {
            // No output frames (input shorter than the kernel), no channels or no utterances.
            return Some(out);
        }
        for (utterance, out) in self.frames.chunks_exact(self.len).zip(out.chunks_exact_mut(self.rows * c_out)) {
            let a = Matrix::new(utterance, self.rows, self.depth, self.row_step)?;
            gemm(a, b, bias, out);
        }
        Some(out)
    }
}

/// One product by sslpron-gemm (counted); for callers that lay out their own operands.
pub fn product(a: Matrix, b: Matrix, bias: Option<&[f32]>, out: &mut [f32]) {
    gemm(a, b, bias, out)
}

/// The f32 values of `tensor` (a parameter: read in place, no copy) handed to `f`; `None` when the
/// tensor is not a contiguous f32 flex tensor.
pub fn with_values<const D: usize, R>(tensor: Tensor<D>, f: impl FnOnce(&[f32]) -> R) -> Option<R> {
    let tensor = flex(tensor)?;
    contiguous_values(&tensor).map(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;

    #[test]
    fn linear_matches_burns_on_the_cpu_device() {
        let device = Device::flex();
        let layer = LinearConfig::new(37, 21).init(&device);
        let x = Tensor::<3>::random([2, 9, 37], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let expected = layer.forward(x.clone());
        let before = own_gemm_products();
        let got = linear(&layer.weight, layer.bias.as_ref(), &x).expect("a contiguous f32 flex tensor");
        assert_eq!(own_gemm_products(), before + 1, "the product did not go through sslpron-gemm");
        got.into_data().assert_approx_eq::<f32>(&expected.into_data(), burn::tensor::Tolerance::absolute(1e-5));
        // A transposed (non-contiguous) input is left to Burn's op.
        assert!(linear(&layer.weight, layer.bias.as_ref(), &x.swap_dims(0, 1)).is_none());
        // So is a tensor on an autodiff device, whose graph a host product would cut.
        let tracked = Tensor::<2>::ones([3, 37], &device.clone().autodiff());
        assert!(!super::super::Kernels::HostOwnGemm.own_gemm_on(&tracked.device()));
    }
}
