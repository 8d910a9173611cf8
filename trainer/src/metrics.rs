//! Evaluation metrics of the seed: Pearson correlation per score, and MSE.

/// Pearson r of two equally long series (NaN when either is constant or shorter than 2).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    // Checked on the values, not on the sums below: the mean of n equal values can differ from
    // them by rounding, which would turn a constant series into r = ±1 instead of "undefined".
    let constant = |v: &[f64]| v[..n].iter().all(|&value| value == v[0]);
    if n < 2 || constant(x) || constant(y) {
        return f64::NAN;
    }
    let mean = |v: &[f64]| v[..n].iter().sum::<f64>() / n as f64;
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (x[i] - mx, y[i] - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    sxy / (sxx * syy).sqrt()
}

/// Per-feature mean and (population) standard deviation over `rows` of width `d`, in two passes
/// (mean first, then squared deviations: no cancellation for features far from 0). Empty input:
/// zeros. The probe standardises with it, the prompt-aware head stores it for its inputs.
pub fn column_moments<'a, T: Copy + Into<f64> + 'a>(rows: impl Iterator<Item = &'a [T]> + Clone, d: usize) -> (Vec<f64>, Vec<f64>) {
    let n = rows.clone().count().max(1) as f64;
    let mut mean = vec![0.0; d];
    for row in rows.clone() {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v.into();
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; d];
    for row in rows {
        for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
            let v: f64 = v.into();
            *s += (v - m) * (v - m);
        }
    }
    let sd = var.iter().map(|s| (s / n).sqrt()).collect();
    (mean, sd)
}

pub fn mse(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    x.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_of_known_series() {
        // Worked by hand: x = 1..5, y = 2,4,5,4,5 -> r = 6 / sqrt(10 * 6) = 0.7745967
        let r = pearson(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 4.0, 5.0, 4.0, 5.0]);
        assert!((r - 0.774_596_7).abs() < 1e-6, "{r}");
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
        // 0.1 three times: the computed mean is not exactly 0.1, yet the series is constant.
        assert!(pearson(&[0.1, 0.1, 0.1], &[1.0, 2.0, 4.0]).is_nan());
        assert_eq!(mse(&[1.0, 2.0], &[2.0, 4.0]), 2.5);
    }
}
