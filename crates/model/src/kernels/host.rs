//! Element-wise kernels run on the host for the flex CPU device, where Burn's own are slow: flex
//! evaluates GELU with libm's scalar `erff`, one element at a time on one thread, which cost ~250 ms of
//! a 1.36 s base-size forward over 10 s of audio (docs/PERFORMANCE.md). The flex tensor's buffer is
//! taken over without a copy (`into_data` of a unique, contiguous tensor), rewritten in place by a loop
//! the compiler vectorises, split over the rayon pool when the `rayon` feature is on, and handed back.
//! Inference only: an autodiff device keeps Burn's op, which records the backward.

use burn::prelude::*;
use burn::tensor::activation;

/// Whether `device` is the flex CPU device without autodiff: the one device where the host kernels
/// here, and the zero-copy `unfold` convolutions (feature_encoder.rs, pos_conv.rs), are used.
pub fn is_host_inference(device: &Device) -> bool {
    // Device equality ignores autodiff (flex().autodiff() == flex()), so ask separately: on an
    // autodiff device these kernels would cut the graph (into_data / from_data records no backward).
    *device == Device::flex() && !device.is_autodiff()
}

/// `x` with its f32 values rewritten in place by `rewrite`, on the buffer `into_data` hands over
/// without a copy when `x` is its only owner; `Err(x)` when `x` is not f32 (f16/f64 tensors: not on
/// any path today; the callers then use Burn's op, which is correct for them).
// Both sides are the tensor itself (handed back unchanged on failure), so the size lint has no point here.
#[allow(clippy::result_large_err)]
pub fn rewrite_f32<const D: usize>(x: Tensor<D>, rewrite: impl FnOnce(&mut [f32])) -> Result<Tensor<D>, Tensor<D>> {
    let device = x.device();
    let mut data = x.into_data();
    match data.as_mut_slice::<f32>() {
        Ok(values) => {
            rewrite(values);
            Ok(Tensor::from_data(data, &device))
        }
        Err(_) => Err(Tensor::from_data(data, &device)),
    }
}

/// Exact (erf) GELU, `x/2 * (1 + erf(x/sqrt 2))`, as transformers' `gelu`.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !is_host_inference(&x.device()) {
        return activation::gelu(x);
    }
    rewrite_f32(x, |values| for_each_chunk(values, gelu_in_place)).unwrap_or_else(activation::gelu)
}

/// Softmax over the last dim. flex's fused kernel calls libm's scalar `expf` per element (6% of a
/// base-size forward in `perf`); this one uses the vectorisable [`exp`] below.
pub fn softmax_last_dim<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if !is_host_inference(&device) {
        return activation::softmax(x, D - 1);
    }
    let row = x.dims()[D - 1];
    let rows_per_chunk = (PARALLEL_MIN / row.max(1)).max(1);
    rewrite_f32(x, |values| for_each_chunk_of(values, rows_per_chunk * row, |chunk| softmax_rows_dispatch(chunk, row)))
        .unwrap_or_else(|x| activation::softmax(x, D - 1))
}

#[inline(always)]
fn softmax_rows(chunk: &mut [f32], row: usize) {
    for r in chunk.chunks_exact_mut(row) {
        // Separate passes, the reductions over 8 lanes: a loop that carries one running f32 sum or
        // max cannot be vectorised (the compiler may not reorder float additions).
        let max = lanes_reduce(r, f32::NEG_INFINITY, f32::max);
        for v in r.iter_mut() {
            *v = exp(*v - max);
        }
        let scale = 1.0 / lanes_reduce(r, 0.0, |a, b| a + b);
        for v in r.iter_mut() {
            *v *= scale;
        }
    }
}

/// `values` folded with `op` over 8 independent lanes, then the lanes folded together.
#[inline(always)]
fn lanes_reduce(values: &[f32], init: f32, op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [init; 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane = op(*lane, *v);
        }
    }
    let tail = chunks.remainder().iter().fold(init, |a, &v| op(a, v));
    lanes.iter().fold(tail, |a, &v| op(a, v))
}

// Each kernel is compiled twice: for the target's baseline (x86-64's is 4-lane SSE2, which native
// builds keep for portability) and, on x86-64, for AVX2 + FMA, chosen at run time (std caches the
// CPU check). The loops are `#[inline(always)]` into both, so the AVX2 copy gets 8-lane vectors.
// `exp` and `erf` are plain f32 arithmetic (Rust never fuses `a * b + c` on its own), so both copies
// give identical results.

fn gelu_in_place(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        return unsafe { gelu_avx2(values) };
    }
    gelu_loop(values)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_avx2(values: &mut [f32]) {
    gelu_loop(values)
}

fn softmax_rows_dispatch(chunk: &mut [f32], row: usize) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: as in gelu_in_place.
        return unsafe { softmax_rows_avx2(chunk, row) };
    }
    softmax_rows(chunk, row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn softmax_rows_avx2(chunk: &mut [f32], row: usize) {
    softmax_rows(chunk, row)
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

#[inline(always)]
fn gelu_loop(values: &mut [f32]) {
    for v in values {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// Keeps freed heap memory in the process for reuse. glibc hands every block of 32 MB or more (and,
/// by default, any free run at the top of the heap) back to the kernel at once, so each forward on the
/// CPU device, whose activations are tens of MB, takes a fresh page fault on every 4 KB page it
/// touches again: on the 2-core VM of docs/PERFORMANCE.md that was 16% of a base-size forward (and
/// 4x the cost of conv layer 0). With mmap off and trimming effectively off, the second forward runs
/// in memory the first one already faulted in. The cost is that peak memory stays reserved until the
/// process exits, which suits a scoring or training process. Native shells call it once at start; it
/// does nothing off glibc (the wasm build has one linear memory that never shrinks anyway).
pub fn retain_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // <malloc.h>: M_TRIM_THRESHOLD = -1, M_MMAP_MAX = -4.
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_MAX: i32 = -4;
        // SAFETY: mallopt only changes allocator tunables; called before any threads are started.
        unsafe {
            mallopt(M_MMAP_MAX, 0);
            mallopt(M_TRIM_THRESHOLD, i32::MAX);
        }
    }
}

/// Normalises each channel of one utterance's channels-last `[frames, channels]` over time in place
/// (GroupNorm with a group per channel, biased variance, as PyTorch), then applies `gamma`/`beta`.
/// Three passes, each a loop over contiguous channels (vectorised); the statistics are summed in f64,
/// so thousands of frames lose nothing (the tensor-op version had to sum in blocks of 64 to stay
/// within the parity tolerance, and took 8 passes: ~25 ms of conv layer 0 on 5 s of audio).
pub fn normalize_channels_over_time(values: &mut [f32], channels: usize, gamma: &[f32], beta: &[f32], epsilon: f64) {
    let frames = values.len() / channels;
    let mut mean = vec![0.0f64; channels];
    for row in values.chunks_exact(channels) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= frames as f64);
    let mut var = vec![0.0f64; channels];
    for row in values.chunks_exact(channels) {
        for ((s, &v), &m) in var.iter_mut().zip(row).zip(&mean) {
            let d = v as f64 - m;
            *s += d * d;
        }
    }
    // y = (x - mean) / sqrt(var + eps) * gamma + beta = x * scale + shift
    let scale: Vec<f32> = var.iter().zip(gamma).map(|(&v, &g)| (g as f64 / (v / frames as f64 + epsilon).sqrt()) as f32).collect();
    let shift: Vec<f32> = mean.iter().zip(&scale).zip(beta).map(|((&m, &s), &b)| b - (m as f32) * s).collect();
    for row in values.chunks_exact_mut(channels) {
        for ((v, &s), &b) in row.iter_mut().zip(&scale).zip(&shift) {
            *v = *v * s + b;
        }
    }
}

/// A PyTorch conv weight `[c_out, c_in, kernel]` (row-major) rearranged to `[kernel, c_in, c_out]`,
/// the GEMM layout of the unfold convolutions (rows of tap-major receptive fields times this), each
/// tap `k` multiplied by `tap_scale[k]` when given; appended to `out`. As a Burn permute plus reshape
/// this copy ran at ~8 ns an element (a strided gather): 40 ms per forward for the positional conv
/// alone. Here the writes are sequential and the reads of one tap sweep stay in cache.
pub fn taps_major(weight: &[f32], c_out: usize, c_in: usize, kernel: usize, tap_scale: Option<&[f32]>, out: &mut Vec<f32>) {
    for k in 0..kernel {
        // Tap k is the [c_out, c_in] matrix at every kernel-th value from k; its transpose is a
        // [c_in, c_out] block of the output.
        transpose_into(&weight[k..], c_out, c_in, kernel, tap_scale.map_or(1.0, |scale| scale[k]), out);
    }
}

/// Appends to `out` the `[cols, rows]` transpose, times `scale`, of the `[rows, cols]` matrix whose
/// element `(r, c)` is `values[(r * cols + c) * step]`. In 32 × 32 tiles, so that reads and writes
/// both stay within a few cache lines at a time (a plain loop strides one side across the matrix).
/// Loading uses it for every Linear weight (PyTorch's `[out, in]` to Burn's `[in, out]`, `step` 1).
pub fn transpose_into(values: &[f32], rows: usize, cols: usize, step: usize, scale: f32, out: &mut Vec<f32>) {
    const TILE: usize = 32;
    let base = out.len();
    out.resize(base + rows * cols, 0.0);
    let block = &mut out[base..];
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    block[c * rows + r] = values[(r * cols + c) * step] * scale;
                }
            }
        }
    }
}

/// Below this many elements a single thread is faster than the pool's hand-off.
const PARALLEL_MIN: usize = 1 << 16;

fn for_each_chunk(values: &mut [f32], kernel: fn(&mut [f32])) {
    let chunk = values.len().div_ceil(threads() * 4).max(PARALLEL_MIN / 4);
    for_each_chunk_of(values, chunk, kernel)
}

/// `kernel` over `chunk`-sized pieces of `values`, in parallel when rayon is on and it pays.
fn for_each_chunk_of(values: &mut [f32], chunk: usize, kernel: impl Fn(&mut [f32]) + Sync + Send) {
    #[cfg(feature = "rayon")]
    if values.len() >= PARALLEL_MIN {
        use rayon::prelude::*;
        values.par_chunks_mut(chunk).for_each(kernel);
        return;
    }
    let _ = chunk;
    kernel(values)
}

fn threads() -> usize {
    #[cfg(feature = "rayon")]
    return rayon::current_num_threads();
    #[cfg(not(feature = "rayon"))]
    1
}

/// `e^x` for x <= 88.7 (softmax feeds it x - max <= 0): x = n ln2 + r with |r| <= ln2/2 (ln2 split in
/// two parts so `n ln2` is exact), e^r by its Taylor series to degree 7 (truncation < 6e-9 relative),
/// and 2^n written straight into the exponent bits. Branch-free, so loops over it vectorise. Inputs
/// below -87.3 give e^-87.3 ≈ 1.2e-38 (the smallest normal result) instead of something smaller: as a
/// softmax weight that is zero for every purpose.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75; // ln 2 with its low 12 bits cleared, so n * LN2_HI is exact
    const LN2_LO: f32 = 1.428_606_8e-6; // ln 2 - LN2_HI
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding and subtracting it rounds to an integer
    let x = x.clamp(-87.3, 88.7);
    // t's low mantissa bits hold n (two's complement) once ROUND is added: read n's bits from there
    // rather than converting a float to an int (a saturating conversion, slow in vector code).
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let n_bits = t.to_bits().wrapping_sub(ROUND.to_bits());
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    let two_n = f32::from_bits(n_bits.wrapping_add(127) << 23);
    p * two_n
}

/// `erf(x)` as `x * P(x²) / Q(x²)` on |x| <= 3.92 (beyond it erf rounds to ±1 in f32): a degree 5/5
/// rational fit made for this crate (weighted least squares iterated towards minimax, in f64). No
/// branches and no libm call, so the loop vectorises. Max error 1.6e-8 in exact arithmetic, 3.4e-7
/// evaluated in f32 (libm's erff: ~1 ulp); GELU built on it stays within 1.3e-6 absolute over
/// [-6, 6], i.e. ~2e-7 relative, the f32 rounding level of the reference.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    const P: [f32; 6] = [
        // erf'(0) = 2/sqrt(pi): the fit keeps the slope at 0 exact.
        std::f32::consts::FRAC_2_SQRT_PI,
        1.927_572_3e-1,
        5.305_960_8e-2,
        3.868_039_2e-3,
        2.874_737_3e-4,
        2.034_800_7e-6,
    ];
    const Q: [f32; 6] = [1.0, 5.041_583e-1, 1.150_818_24e-1, 1.517_172_4e-2, 1.188_046_4e-3, 3.807_102e-5];
    let x = x.clamp(-3.92, 3.92);
    let t = x * x;
    let p = ((((P[5] * t + P[4]) * t + P[3]) * t + P[2]) * t + P[1]) * t + P[0];
    let q = ((((Q[5] * t + Q[4]) * t + Q[3]) * t + Q[2]) * t + Q[1]) * t + Q[0];
    (x * p / q).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against f64 erf from its Maclaurin / continued-fraction definitions, not against this code's
    /// own output: every 1e-3 over [-6, 6].
    #[test]
    fn erf_matches_f64_reference() {
        let mut worst = 0.0f64;
        for i in -6000..=6000 {
            let x = i as f64 * 1e-3;
            let err = (erf(x as f32) as f64 - erf_f64(x)).abs();
            worst = worst.max(err);
        }
        assert!(worst < 5e-7, "max |erf error| {worst:e}");
    }

    #[test]
    fn gelu_matches_definition_on_the_flex_device() {
        let device = Device::flex();
        let xs: Vec<f32> = (-2000..2000).map(|i| i as f32 * 3e-3).collect();
        // Large enough to take the parallel path when rayon is on.
        let many: Vec<f32> = xs.iter().cycle().take(PARALLEL_MIN * 2).copied().collect();
        let out: Vec<f32> = gelu(Tensor::<1>::from_floats(many.as_slice(), &device)).into_data().try_to_vec::<f32>().unwrap();
        for (x, y) in many.iter().zip(&out) {
            let x = *x as f64;
            let want = 0.5 * x * (1.0 + erf_f64(x / std::f64::consts::SQRT_2));
            assert!((*y as f64 - want).abs() < 2e-6, "gelu({x}) = {y}, want {want}");
        }
        // A strided view (not contiguous) goes through the copy in `into_data` and still comes out right.
        let grid = Tensor::<1>::from_floats(&xs[..4000], &device).reshape([40, 100]).swap_dims(0, 1);
        let ours: Vec<f32> = gelu(grid.clone()).into_data().try_to_vec::<f32>().unwrap();
        let burns: Vec<f32> = activation::gelu(grid).into_data().try_to_vec::<f32>().unwrap();
        for (a, b) in ours.iter().zip(&burns) {
            assert!((a - b).abs() < 2e-6, "{a} vs Burn's {b}");
        }
    }

    #[test]
    fn exp_matches_std_to_a_few_ulp() {
        for i in -87_000..=88_000 {
            let x = i as f32 * 1e-3;
            let (ours, want) = (exp(x) as f64, (x as f64).exp());
            assert!(((ours - want) / want).abs() < 4e-7, "exp({x}) = {ours}, want {want}");
        }
        assert!((0.0..1.3e-38).contains(&exp(-1000.0)));
    }

    #[test]
    fn softmax_matches_burn_on_the_flex_device() {
        let device = Device::flex();
        // Rows with a large spread, a masked (-1e9) entry and a row of equal values; enough rows for
        // the parallel path.
        let row: Vec<f32> = (0..50).map(|i| ((i * 37 % 23) as f32 - 11.0) * 1.7).chain([-1e9, 0.0]).collect();
        let mut values: Vec<f32> = row.iter().cycle().take(row.len() * 3000).copied().collect();
        values[..row.len()].fill(2.5);
        let x = Tensor::<1>::from_floats(values.as_slice(), &device).reshape([3, 1000, row.len()]);
        let ours: Vec<f32> = softmax_last_dim(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        let burns: Vec<f32> = activation::softmax(x, 2).into_data().try_to_vec::<f32>().unwrap();
        for (a, b) in ours.iter().zip(&burns) {
            assert!((a - b).abs() < 1e-6 + 1e-6 * b.abs(), "{a} vs Burn's {b}");
        }
        assert!((ours[0] - 1.0 / row.len() as f32).abs() < 1e-7);
    }

    #[test]
    fn host_paths_only_for_flex_without_autodiff() {
        assert!(is_host_inference(&Device::flex()));
        assert!(!is_host_inference(&Device::flex().autodiff()));
    }

    /// On an autodiff device the GELU and softmax here must be Burn's, which carry gradients.
    #[test]
    fn gradients_flow_through_gelu_and_softmax_when_training() {
        let device = Device::flex().autodiff();
        let x = Tensor::<2>::from_floats([[0.5, -1.0, 2.0]], &device).require_grad();
        let y = (gelu(x.clone()) * softmax_last_dim(x.clone())).sum();
        let grads = y.backward();
        let grad: Vec<f32> = x.grad(&grads).expect("x has a gradient").into_data().try_to_vec::<f32>().unwrap();
        assert!(grad.iter().all(|g| g.is_finite()) && grad.iter().any(|g| g.abs() > 1e-3), "{grad:?}");
    }

    #[test]
    fn taps_major_matches_burn_permute() {
        let device = Device::flex();
        let (c_out, c_in, kernel) = (5, 3, 4);
        let weight: Vec<f32> = (0..c_out * c_in * kernel).map(|v| v as f32 * 0.5 - 7.0).collect();
        let scale = [1.0, 2.0, -1.0, 0.5];
        let mut ours = Vec::new();
        taps_major(&weight, c_out, c_in, kernel, Some(&scale), &mut ours);
        let tensor = Tensor::<1>::from_floats(weight.as_slice(), &device).reshape([c_out, c_in, kernel]);
        let scaled = tensor * Tensor::<1>::from_floats(scale.as_slice(), &device).reshape([1, 1, kernel]);
        let burns: Vec<f32> = scaled.permute([2, 1, 0]).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(ours, burns);
    }

    /// erf in f64: the Maclaurin series below 2.5, the continued fraction of erfc above.
    fn erf_f64(x: f64) -> f64 {
        let a = x.abs();
        let value = if a < 2.5 {
            let (mut term, mut sum, mut n) = (a, a, 0.0);
            while term.abs() > 1e-17 * sum.abs() {
                n += 1.0;
                term *= -a * a / n;
                sum += term / (2.0 * n + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc(a) = exp(-a²)/sqrt(pi) * 1/(a + 1/2/(a + 1/(a + 3/2/(a + 2/(a + ...)))))
            let mut frac = a;
            for k in (1..60).rev() {
                frac = a + (k as f64 / 2.0) / frac;
            }
            1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / frac
        };
        value.copysign(x)
    }
}
