//! IEEE 754 binary16 conversion, written out so the web format needs no extra dependency.

/// `value` rounded to the nearest f16 (ties to even), as its bits. Overflow gives ±infinity, NaN stays NaN.
pub fn f32_to_f16(value: f32) -> u16 {
    let bits = value.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exponent = ((bits >> 23) & 0xff) as i32;
    let mantissa = bits & 0x007f_ffff;
    if exponent == 0xff {
        // Infinity, or NaN (kept quiet and non-zero).
        return sign | 0x7c00 | if mantissa != 0 { 0x0200 | (mantissa >> 13) as u16 } else { 0 };
    }
    let unbiased = exponent - 127;
    if unbiased > 15 {
        return sign | 0x7c00;
    }
    if unbiased >= -14 {
        // Normal f16: keep 10 mantissa bits, round the 13 dropped ones to nearest even. A carry out of the
        // mantissa correctly bumps the exponent (up to infinity).
        let half = ((unbiased + 15) as u32) << 10 | (mantissa >> 13);
        let rest = mantissa & 0x1fff;
        let round_up = rest > 0x1000 || (rest == 0x1000 && half & 1 == 1);
        return sign | (half + round_up as u32) as u16;
    }
    if unbiased < -25 {
        return sign; // below half the smallest subnormal: ±0
    }
    // Subnormal f16: value = m · 2^-24 with the implicit bit made explicit.
    let full = mantissa | 0x0080_0000;
    let shift = (-unbiased - 14 + 13) as u32; // 14..=24
    let half = full >> shift;
    let rest = full & ((1 << shift) - 1);
    let midpoint = 1 << (shift - 1);
    let round_up = rest > midpoint || (rest == midpoint && half & 1 == 1);
    sign | (half + round_up as u32) as u16
}

/// The f32 an f16 (given as bits) stands for, exactly.
pub fn f16_to_f32(half: u16) -> f32 {
    let sign = ((half & 0x8000) as u32) << 16;
    let exponent = ((half >> 10) & 0x1f) as u32;
    let mantissa = (half & 0x03ff) as u32;
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: normalise.
            let shift = m.leading_zeros() - 21; // brings the top set bit to bit 10
            let m = (m << shift) & 0x03ff;
            sign | ((127 - 15 + 1 - shift) << 23) | (m << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}
