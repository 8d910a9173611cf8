//! The model's matrix products on the flex CPU device, through [`sslpron_gemm`] where that is the
//! faster GEMM: the browser build (WebAssembly), where the `gemm` crate that flex calls ran its 12 × 4
//! tile out of vector registers (docs/PERFORMANCE.md, "Where the browser time goes"). Natively flex's
//! GEMM stays (AVX-512 kernels and threads), unless a thread asks for this path with
//! [`use_own_gemm`]: the parity suite does, so that it covers the code the browser runs.
//!
//! Tensors are read in place: the weights through their flex buffers (no copy, which `into_data` of
//! a shared tensor would make), activations likewise, and the output is one new buffer with the bias
//! already added. Anything else (another device, autodiff, a dtype other than f32, a layout with gaps)
//! keeps Burn's op.

use std::cell::Cell;

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::TensorData;
use burn_flex::{Flex, FlexTensor};
use sslpron_gemm::Matrix;

use crate::host_kernels;

thread_local! {
    static OWN_GEMM: Cell<bool> = const { Cell::new(cfg!(target_arch = "wasm32")) };
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

/// Whether host inference on this thread runs its products through sslpron-gemm (the default in
/// WebAssembly) or flex's GEMM (the default natively). Per thread, so that a test that turns it on
/// leaves the tests running beside it alone.
pub fn use_own_gemm(on: bool) {
    OWN_GEMM.with(|flag| flag.set(on));
}

/// Whether the products on `device` go through sslpron-gemm on this thread.
pub fn own_gemm_on(device: &Device) -> bool {
    OWN_GEMM.with(Cell::get) && host_kernels::is_host_inference(device)
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

/// `x · weight + bias` over the last dim of `x`, as `Linear::forward`.
pub fn linear<const D: usize>(layer: &Linear, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if !own_gemm_on(&device) {
        return layer.forward(x);
    }
    let dims = x.dims();
    let [k, n] = layer.weight.dims();
    let m = dims[..D - 1].iter().product::<usize>();
    let computed = (|| {
        let input = flex(x.clone())?;
        let weight = flex(layer.weight.val())?;
        let bias = match &layer.bias {
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
        Some(out)
    })();
    match computed {
        Some(out) => {
            let mut shape = dims;
            shape[D - 1] = n;
            Tensor::from_data(TensorData::new(out, shape), &device)
        }
        None => layer.forward(x),
    }
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
        use_own_gemm(true);
        let before = own_gemm_products();
        let got = linear(&layer, x.clone());
        assert_eq!(own_gemm_products(), before + 1, "the product did not go through sslpron-gemm");
        // A transposed (non-contiguous) input falls back to Burn's op, and still agrees.
        let strided = linear(&layer, x.clone().swap_dims(0, 1)).swap_dims(0, 1);
        use_own_gemm(false);
        got.into_data().assert_approx_eq::<f32>(&expected.clone().into_data(), burn::tensor::Tolerance::absolute(1e-5));
        strided.into_data().assert_approx_eq::<f32>(&expected.into_data(), burn::tensor::Tolerance::absolute(1e-5));
    }
}
