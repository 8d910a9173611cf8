//! The f32 matrix product the browser scorer spends most of its time in: `out = a · b (+ bias)`.
//!
//! Why not the `gemm` crate that Burn's flex device uses: in WebAssembly its kernel is a 12 × 4 tile
//! (three vectors of the packed left-hand side times four broadcast right-hand values). Sixteen
//! accumulators and operands plus the temporary of a separate multiply and add are more vector
//! registers than V8 gives WebAssembly on x86-64 (15), so the tile spills, and the profile put 64 % of a
//! browser forward in it (docs/PERFORMANCE.md). Here the tile is small enough to stay in registers, and
//! nothing is packed: the left-hand side is read in place through its row stride (so an `unfold` view
//! whose rows overlap, as the convolutions make, costs no copy), each of its values broadcast straight
//! from memory (`v128.load32_splat`), and the right-hand side is a weight stored `[in, out]`, whose
//! rows are already contiguous runs of output columns.
//!
//! Blocking: the depth is cut into slices of [`KC`] and the rows into blocks of [`MC`], so that one
//! column panel of the right-hand side (`KC × NR`) stays in L1 while a row block of the left-hand side
//! (`MC × KC`) stays in L2.
//!
//! The same code compiles to WebAssembly SIMD (`simd128`, and fused multiply-adds when the build enables
//! `relaxed-simd`) and, elsewhere, to four-lane arrays the compiler vectorises: the native build keeps
//! the `gemm` crate (AVX-512 and threads), and uses this one in tests, where it is compared with a
//! plain triple loop.

/// A row-major view of an f32 matrix: element `(r, c)` is `data[r * row_stride + c]`. Rows may
/// overlap (`row_stride < cols`), as the rows of an `unfold` view do.
#[derive(Clone, Copy, Debug)]
pub struct Matrix<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a> Matrix<'a> {
    /// `None` when `data` is too short to hold every row.
    pub fn new(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Option<Self> {
        let needed = if rows == 0 || cols == 0 { 0 } else { (rows - 1).checked_mul(row_stride)?.checked_add(cols)? };
        (data.len() >= needed).then_some(Matrix { data, rows, cols, row_stride })
    }

    /// A contiguous `[rows, cols]` matrix.
    pub fn contiguous(data: &'a [f32], rows: usize, cols: usize) -> Option<Self> {
        if rows.checked_mul(cols)? != data.len() {
            return None;
        }
        Self::new(data, rows, cols, cols)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }
}

/// Depth of one slice of the product: a `KC × NR` panel of `b` is 8 KB, a quarter of L1.
pub const KC: usize = 256;
/// Rows of `a` per block: `MC × KC` is 128 KB, well inside L2.
pub const MC: usize = 128;
/// Rows of one register tile.
pub const MR: usize = 4;
/// Vectors of four columns in one register tile.
const NV: usize = 2;
/// Columns of one register tile.
pub const NR: usize = 4 * NV;
/// The most rows a tile variant may have (the remainder dispatch of [`row_block`] covers `MR - 1`).
const MAX_MR: usize = 8;

/// `out[m, n] = a[m, k] · b[k, n]`, plus `bias[n]` on every row when given; `out` is contiguous and
/// overwritten.
///
/// # Panics
/// When the shapes disagree (`a.cols != b.rows`, `out.len() != a.rows * b.cols`, a bias not of
/// length `b.cols`): the callers derive every shape from the same tensors, so this is a bug there.
pub fn gemm(a: Matrix, b: Matrix, bias: Option<&[f32]>, out: &mut [f32]) {
    gemm_tiled::<MR, NV>(a, b, bias, out)
}

/// [`gemm`] with another register tile (`TM` rows x `TV` vectors of four columns), for the
/// microbenchmark that chose [`MR`] and [`NR`] (benches/wasm-gemm).
#[doc(hidden)]
pub fn gemm_tiled<const TM: usize, const TV: usize>(a: Matrix, b: Matrix, bias: Option<&[f32]>, out: &mut [f32]) {
    const { assert!(TM >= 1 && TM <= MAX_MR && TV >= 1) };
    let nr = 4 * TV;
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: a is {m}x{k} but b has {} rows", b.rows);
    assert_eq!(out.len(), m * n, "gemm: out holds {} values, not {m}x{n}", out.len());
    if let Some(bias) = bias {
        assert_eq!(bias.len(), n, "gemm: bias of {} values for {n} columns", bias.len());
    }
    if m == 0 || n == 0 {
        return;
    }
    for row in out.chunks_exact_mut(n) {
        match bias {
            Some(bias) => row.copy_from_slice(bias),
            None => row.fill(0.0),
        }
    }
    let n_main = n / nr * nr;
    let panels = n.div_ceil(nr);
    // One depth slice of `b`, packed panel by panel (`[panels][depth][nr]`, the last panel
    // zero-padded): a tile then reads its `b` values as one sequential run. Read in place, a row of a
    // panel is 32 bytes out of every `4n` (12 KB for a 3072-wide weight): half of each cache line
    // wasted and a new page every row, which halved the speed of the widest products.
    let mut packed = vec![0.0f32; panels * nr * KC.min(k)];
    // The tiles of the last, partial panel write into a scratch block whose valid columns are then
    // added to `out`.
    let tail = n - n_main;
    let mut tail_out = vec![0.0f32; if tail > 0 { MC.min(m) * nr } else { 0 }];

    for p0 in (0..k).step_by(KC) {
        let depth = KC.min(k - p0);
        pack_slice(b, p0, depth, nr, &mut packed[..panels * nr * depth]);
        for i0 in (0..m).step_by(MC) {
            let rows = MC.min(m - i0);
            // SAFETY: Matrix::new checked that `a` holds rows 0..m of length k, the asserts above
            // that `out` is m x n, and `packed` holds `panels` panels of depth x nr; every pointer
            // below stays inside those (row block i0..i0+rows, depth slice p0..p0+depth, column
            // panel j0..j0+nr <= n_main, the tail through its scratch block).
            unsafe {
                let a_block = a.data.as_ptr().add(i0 * a.row_stride + p0);
                for (panel, j0) in (0..n_main).step_by(nr).enumerate() {
                    let b_panel = packed.as_ptr().add(panel * depth * nr);
                    let out_block = out.as_mut_ptr().add(i0 * n + j0);
                    row_block::<TM, TV>(rows, depth, a_block, a.row_stride, b_panel, out_block, n);
                }
                if tail > 0 {
                    let scratch = &mut tail_out[..rows * nr];
                    scratch.fill(0.0);
                    let b_panel = packed.as_ptr().add((panels - 1) * depth * nr);
                    row_block::<TM, TV>(rows, depth, a_block, a.row_stride, b_panel, scratch.as_mut_ptr(), nr);
                    for (r, scratch_row) in scratch.chunks_exact(nr).enumerate() {
                        let out_row = &mut out[(i0 + r) * n + n_main..(i0 + r + 1) * n];
                        for (o, s) in out_row.iter_mut().zip(scratch_row) {
                            *o += s;
                        }
                    }
                }
            }
        }
    }
}

/// Rows `p0..p0 + depth` of `b` into `packed` as `[panel][depth][nr]`. The last panel's columns past
/// `b`'s last are not written: what they hold only reaches the scratch columns that [`gemm`] drops.
fn pack_slice(b: Matrix, p0: usize, depth: usize, nr: usize, packed: &mut [f32]) {
    let n = b.cols;
    for (panel, chunk) in packed.chunks_exact_mut(depth * nr).enumerate() {
        let j0 = panel * nr;
        let width = nr.min(n - j0);
        for (p, packed_row) in chunk.chunks_exact_mut(nr).enumerate() {
            let start = (p0 + p) * b.row_stride + j0;
            packed_row[..width].copy_from_slice(&b.data[start..start + width]);
        }
    }
}

/// One column of register tiles over one depth slice, `rows` of them (a row block).
///
/// # Safety
/// `a` must hold `rows` rows of `depth` values at `a_rs`, `b` a packed panel of `depth` rows of
/// `4 * TV` values, `out` `rows` rows of `4 * TV` values at `out_rs`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn row_block<const TM: usize, const TV: usize>(
    rows: usize,
    depth: usize,
    a: *const f32,
    a_rs: usize,
    b: *const f32,
    out: *mut f32,
    out_rs: usize,
) {
    let main = rows / TM * TM;
    unsafe {
        for i in (0..main).step_by(TM) {
            tile::<TM, TV>(depth, a.add(i * a_rs), a_rs, b, out.add(i * out_rs), out_rs);
        }
        if main == rows {
            // No remainder: the pointers below would point past the row block (out of bounds for
            // the last block, which `add` does not allow even unused).
            return;
        }
        let (a, out) = (a.add(main * a_rs), out.add(main * out_rs));
        match rows - main {
            0 => {}
            1 => tile::<1, TV>(depth, a, a_rs, b, out, out_rs),
            2 => tile::<2, TV>(depth, a, a_rs, b, out, out_rs),
            3 => tile::<3, TV>(depth, a, a_rs, b, out, out_rs),
            4 => tile::<4, TV>(depth, a, a_rs, b, out, out_rs),
            5 => tile::<5, TV>(depth, a, a_rs, b, out, out_rs),
            6 => tile::<6, TV>(depth, a, a_rs, b, out, out_rs),
            _ => tile::<7, TV>(depth, a, a_rs, b, out, out_rs),
        }
    }
}

/// The register tile: `out[r][0..4W] += Σ_p a[r][p] · b[p][0..4W]` for `r < R`, the `R × W`
/// accumulators held in vector registers for the whole depth. `b` is a packed panel (rows of exactly
/// `4W` values). The depth loop is unrolled by four, so that the addresses of four steps are one
/// pointer per row plus constant offsets (WebAssembly's load immediates) instead of an add each.
///
/// # Safety
/// As [`row_block`] with `rows = R`.
#[inline(always)]
unsafe fn tile<const R: usize, const W: usize>(depth: usize, a: *const f32, a_rs: usize, b: *const f32, out: *mut f32, out_rs: usize) {
    use lanes::*;
    #[inline(always)]
    unsafe fn step<const R: usize, const W: usize>(acc: &mut [[lanes::V; W]; R], a_rows: &[*const f32; R], at: usize, b_row: *const f32) {
        unsafe {
            let bv: [lanes::V; W] = std::array::from_fn(|v| load(b_row.add(4 * v)));
            for (acc_row, a_row) in acc.iter_mut().zip(a_rows) {
                let av = splat(a_row.add(at));
                for (acc, &bv) in acc_row.iter_mut().zip(&bv) {
                    *acc = mul_add(av, bv, *acc);
                }
            }
        }
    }
    let mut acc = [[zero(); W]; R];
    unsafe {
        let mut a_rows: [*const f32; R] = std::array::from_fn(|r| a.add(r * a_rs));
        let mut b_row = b;
        let mut left = depth;
        while left >= 4 {
            for u in 0..4 {
                step::<R, W>(&mut acc, &a_rows, u, b_row.add(u * 4 * W));
            }
            a_rows.iter_mut().for_each(|row| *row = row.add(4));
            b_row = b_row.add(16 * W);
            left -= 4;
        }
        for u in 0..left {
            step::<R, W>(&mut acc, &a_rows, u, b_row.add(u * 4 * W));
        }
        for (r, acc_row) in acc.iter().enumerate() {
            for (v, &acc) in acc_row.iter().enumerate() {
                let o = out.add(r * out_rs + 4 * v);
                store(o, add(load(o), acc));
            }
        }
    }
}

/// Four f32 lanes: WebAssembly SIMD in the browser build.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod lanes {
    use core::arch::wasm32::*;

    pub type V = v128;

    #[inline(always)]
    pub fn zero() -> V {
        f32x4_splat(0.0)
    }

    /// # Safety
    /// `p` must point at four readable f32 (any alignment).
    #[inline(always)]
    pub unsafe fn load(p: *const f32) -> V {
        unsafe { v128_load(p as *const v128) }
    }

    /// # Safety
    /// `p` must point at four writable f32 (any alignment).
    #[inline(always)]
    pub unsafe fn store(p: *mut f32, v: V) {
        unsafe { v128_store(p as *mut v128, v) }
    }

    /// # Safety
    /// `p` must point at one readable f32.
    #[inline(always)]
    pub unsafe fn splat(p: *const f32) -> V {
        unsafe { v128_load32_splat(p as *const u32) }
    }

    #[inline(always)]
    pub fn add(a: V, b: V) -> V {
        f32x4_add(a, b)
    }

    /// `a * b + c`: one fused multiply-add where the build allows relaxed SIMD (the engine emits FMA
    /// where the CPU has it), a multiply and an add otherwise.
    #[inline(always)]
    pub fn mul_add(a: V, b: V, c: V) -> V {
        #[cfg(target_feature = "relaxed-simd")]
        {
            f32x4_relaxed_madd(a, b, c)
        }
        #[cfg(not(target_feature = "relaxed-simd"))]
        {
            f32x4_add(c, f32x4_mul(a, b))
        }
    }
}

/// Four f32 lanes as an array: the same tile for every other target (the tests run it natively).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod lanes {
    pub type V = [f32; 4];

    #[inline(always)]
    pub fn zero() -> V {
        [0.0; 4]
    }

    /// # Safety
    /// `p` must point at four readable f32.
    #[inline(always)]
    pub unsafe fn load(p: *const f32) -> V {
        unsafe { p.cast::<V>().read_unaligned() }
    }

    /// # Safety
    /// `p` must point at four writable f32.
    #[inline(always)]
    pub unsafe fn store(p: *mut f32, v: V) {
        unsafe { p.cast::<V>().write_unaligned(v) }
    }

    /// # Safety
    /// `p` must point at one readable f32.
    #[inline(always)]
    pub unsafe fn splat(p: *const f32) -> V {
        unsafe { [*p; 4] }
    }

    #[inline(always)]
    pub fn add(a: V, b: V) -> V {
        std::array::from_fn(|i| a[i] + b[i])
    }

    #[inline(always)]
    pub fn mul_add(a: V, b: V, c: V) -> V {
        std::array::from_fn(|i| c[i] + a[i] * b[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values in [-1, 1) from a fixed linear congruential sequence.
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// The definition, summed in f64.
    fn reference(a: &[f32], a_rs: usize, m: usize, k: usize, b: &[f32], n: usize, bias: Option<&[f32]>) -> Vec<f32> {
        let mut out = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut sum = bias.map_or(0.0, |bias| bias[j] as f64);
                for p in 0..k {
                    sum += a[i * a_rs + p] as f64 * b[p * n + j] as f64;
                }
                out[i * n + j] = sum as f32;
            }
        }
        out
    }

    fn check(m: usize, k: usize, n: usize, a_rs: usize, with_bias: bool) {
        let a = values((m.max(1) - 1) * a_rs + k, (m * 31 + k) as u64);
        let b = values(k * n, (k * 17 + n) as u64);
        let bias = with_bias.then(|| values(n, 7));
        let mut out = vec![f32::NAN; m * n];
        gemm(Matrix::new(&a, m, k, a_rs).unwrap(), Matrix::contiguous(&b, k, n).unwrap(), bias.as_deref(), &mut out);
        let expected = reference(&a, a_rs, m, k, &b, n, bias.as_deref());
        // f32 sums of k products of values below 1: rounding grows like sqrt(k) * 2^-24 * k at worst.
        let tolerance = 1e-6 * (k as f32 + 1.0);
        for (i, (got, want)) in out.iter().zip(&expected).enumerate() {
            assert!((got - want).abs() <= tolerance, "m={m} k={k} n={n} a_rs={a_rs}: out[{}][{}] = {got}, expected {want}", i / n, i % n);
        }
    }

    #[test]
    fn matches_the_definition_on_every_edge() {
        // Row counts around MR and MC, column counts around NR (tails of 1..NR-1), depths around KC.
        for &m in &[1, 2, 3, 4, 5, 7, 9, MC - 1, MC, MC + 3, 2 * MC + 5] {
            for &n in &[1, 3, NR - 1, NR, NR + 1, 2 * NR + 5, 48] {
                for &k in &[1, 5, 64, KC, KC + 1, 2 * KC + 37] {
                    check(m, k, n, k, n % 2 == 0);
                }
            }
        }
    }

    #[test]
    fn reads_strided_and_overlapping_rows() {
        // Rows further apart than their length, and rows that overlap as an unfold view's do
        // (kernel 3 x 4 channels, stride 2 frames: rows of 12 values, 8 apart).
        check(37, 12, 20, 8, true);
        check(37, 12, 20, 19, false);
        check(300, 1536, 24, 1024, true);
    }

    #[test]
    fn empty_shapes_write_bias_or_nothing() {
        let mut out = vec![f32::NAN; 6];
        gemm(Matrix::new(&[], 2, 0, 0).unwrap(), Matrix::new(&[], 0, 3, 3).unwrap(), Some(&[1.0, 2.0, 3.0]), &mut out);
        assert_eq!(out, [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
        let mut none: Vec<f32> = Vec::new();
        gemm(Matrix::new(&[], 0, 4, 4).unwrap(), Matrix::contiguous(&[0.0; 8], 4, 2).unwrap(), None, &mut none);
    }

    #[test]
    fn refuses_views_past_the_data() {
        assert!(Matrix::new(&[0.0; 10], 3, 4, 4).is_none());
        assert!(Matrix::new(&[0.0; 12], 3, 4, 4).is_some());
        assert!(Matrix::contiguous(&[0.0; 11], 3, 4).is_none());
    }
}
