//! The kernel layer: the building blocks the model files are made of (a linear layer, the two
//! convolutions, the per-channel norm, activations, softmax), each a Burn module whose `forward` is
//! the reference maths in Burn's tensor ops — and, on the flex CPU device without autodiff, a faster
//! host implementation of the same maths. The model files (attention.rs, encoder.rs, ...) call only
//! these modules' `forward`; which implementation runs is decided here, from the [`Kernels`] the
//! model was built with and the device of the tensor at hand, never by the layers.
//!
//! - [`gemm`]: products through sslpron-gemm, reading flex buffers in place (the browser build's GEMM).
//! - [`host`]: element-wise and layout loops on plain slices (GELU, softmax, the per-channel norm,
//!   weight layouts) and the allocator setting the native shells use.
//!
//! Where each fast path came from and what it buys: docs/PERFORMANCE.md; the rule for a new
//! building block: docs/ARCHITECTURE.md (§3.1, "Where the fast paths live").

mod activation;
pub mod conv;
pub mod gemm;
pub mod host;
mod linear;
mod norm;

pub use activation::{ActivationLayer, Softmax};
pub use conv::{FrameConv, WeightNormConv};
pub use host::retain_freed_memory;
pub use linear::Linear;
pub use norm::ChannelNorm;

use burn::prelude::*;

/// Which implementation the building blocks use. Chosen once, when a model is built or loaded
/// ([`crate::load_with_kernels`], [`crate::random_with_kernels`], [`crate::load_bundle_with_kernels`]);
/// the plain loaders take [`Kernels::default`]. Every choice computes the same function (the parity
/// suite runs all three against transformers); they differ in speed only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernels {
    /// Burn's tensor ops everywhere: the reference the host paths are tested against, and what every
    /// device but the flex CPU device runs anyway.
    Burn,
    /// On the flex CPU device without autodiff: the host loops of [`host`] and convolutions as one
    /// GEMM over an in-place unfolded view, products by flex's GEMM (AVX-512 kernels, threads). The
    /// native default.
    Host,
    /// As [`Kernels::Host`], with every product (linear layers, convolutions) by sslpron-gemm: the
    /// WebAssembly default, where flex's GEMM runs out of vector registers.
    HostOwnGemm,
}

impl Default for Kernels {
    fn default() -> Self {
        if cfg!(target_arch = "wasm32") { Kernels::HostOwnGemm } else { Kernels::Host }
    }
}

impl Kernels {
    /// Whether a host path may run on `tensor`'s device: flex without autodiff. On an autodiff device
    /// a host kernel would cut the graph (`into_data` / `from_data` record no backward), so a model
    /// being trained runs Burn's ops whatever its choice, and the same model runs the host paths again
    /// once it is taken off autodiff (`.valid()` for the dev evaluation).
    pub(crate) fn host_on(self, device: &Device) -> bool {
        self != Kernels::Burn && host::is_host_inference(device)
    }

    /// Whether products on `device` go through sslpron-gemm.
    pub(crate) fn own_gemm_on(self, device: &Device) -> bool {
        self == Kernels::HostOwnGemm && host::is_host_inference(device)
    }
}
