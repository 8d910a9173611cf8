//! Exports for benches/wasm-gemm/bench.mjs: buffers in linear memory, and one product each way.

use sslpron_gemm::Matrix;

/// A zeroed buffer of `len` f32, leaked: the page lives as long as the benchmark.
#[unsafe(no_mangle)]
pub extern "C" fn alloc_f32(len: usize) -> *mut f32 {
    Box::leak(vec![0.0f32; len].into_boxed_slice()).as_mut_ptr()
}

/// `out[m, n] = a[m, k] · b[k, n]` by sslpron-gemm with a `TM x 4TV` register tile; `a_rs` is a's
/// row stride.
///
/// # Safety
/// The pointers come from `alloc_f32` with room for the shapes given.
unsafe fn ours<const TM: usize, const TV: usize>(m: usize, k: usize, n: usize, a_rs: usize, a: *const f32, b: *const f32, out: *mut f32) {
    let (a, b, out) = unsafe {
        (
            std::slice::from_raw_parts(a, (m - 1) * a_rs + k),
            std::slice::from_raw_parts(b, k * n),
            std::slice::from_raw_parts_mut(out, m * n),
        )
    };
    sslpron_gemm::gemm_tiled::<TM, TV>(Matrix::new(a, m, k, a_rs).unwrap(), Matrix::contiguous(b, k, n).unwrap(), None, out);
}

macro_rules! variant {
    ($name:ident, $tm:literal, $tv:literal) => {
        /// # Safety
        /// As [`ours`].
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(m: usize, k: usize, n: usize, a_rs: usize, a: *const f32, b: *const f32, out: *mut f32) {
            unsafe { ours::<$tm, $tv>(m, k, n, a_rs, a, b, out) }
        }
    };
}

// The shipped tile (sslpron_gemm::gemm), then the candidates it was chosen from.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shipped(m: usize, k: usize, n: usize, a_rs: usize, a: *const f32, b: *const f32, out: *mut f32) {
    unsafe { ours::<{ sslpron_gemm::MR }, { sslpron_gemm::NR / 4 }>(m, k, n, a_rs, a, b, out) }
}
variant!(t4x8, 4, 2);
variant!(t5x8, 5, 2);
variant!(t6x8, 6, 2);
variant!(t3x12, 3, 3);
variant!(t2x16, 2, 4);
variant!(t3x16, 3, 4);

/// The same product by the `gemm` crate, called as burn-flex calls it (no threads in wasm).
///
/// # Safety
/// As [`ours`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn peer(m: usize, k: usize, n: usize, a_rs: usize, a: *const f32, b: *const f32, out: *mut f32) {
    unsafe {
        gemm::gemm(
            m, n, k, out, 1, n as isize, false, a, 1, a_rs as isize, b, 1, n as isize, 0.0f32, 1.0f32, false, false,
            false, gemm::Parallelism::None,
        );
    }
}
