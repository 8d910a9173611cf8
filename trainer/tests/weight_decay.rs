//! AdamW's decoupled weight decay reaches the optimiser. The torch parity steps (train_step.rs) use
//! `weight_decay = 0`, so they cannot see a decay setting that is dropped (Burn's default, 1e-4, used
//! instead); the default recipe (trainer/recipes/default.json) trains with 0.01.
//!
//! PyTorch's AdamW (and Burn's): `p ← p·(1 − lr·wd)`, then `p ← p − lr·u` with the Adam direction `u`,
//! which depends on the gradients alone. Two runs from the same weights with the same gradients, one with
//! wd = 0 and one with wd = 0.1, therefore take the same `lr·u`, and after one step each parameter
//! differs by exactly `lr·wd·p_before`.

use std::collections::BTreeMap;

use burn::prelude::*;
use sslpron_model::{EncoderConfig, HeadKind, export_seed_layout};
use trainer::run::preset;
use trainer::step::{OptimSettings, Strategy, TrainState, gradients_from_named};

#[test]
fn adamw_weight_decay_shrinks_each_parameter_by_lr_times_wd_times_itself() {
    let (lr, wd) = (1e-2f64, 0.1f32);
    let json = preset("tiny").unwrap();
    let config = EncoderConfig::from_json("tiny", &serde_json::to_vec(&json).unwrap()).unwrap();
    let device = Device::flex().autodiff();
    device.seed(5);
    let model = sslpron_model::random(&config, Some(HeadKind::General), &device);
    let before = export_seed_layout(&model, &config);

    // Synthetic gradients for every parameter (no forward pass needed: only the update is under test).
    // Magnitudes spread over 1e-3..1 and both signs, none zero.
    let named: BTreeMap<String, (Vec<usize>, Vec<f32>)> = before
        .iter()
        .enumerate()
        .map(|(t, tensor)| {
            let values =
                (0..tensor.values.len()).map(|i| ((i * 31 + t * 7) as f32 * 0.37).sin() * 10f32.powi(-((i + t) as i32 % 4)) + 1e-3).collect();
            (tensor.name.clone(), (tensor.shape.clone(), values))
        })
        .collect();

    let step = |weight_decay: f32| {
        let settings = OptimSettings { weight_decay, ..OptimSettings::default() };
        let mut state = TrainState::new(model.clone(), Strategy::General, settings);
        let grads = gradients_from_named(state.model(), &config, &named);
        assert_eq!(grads.len(), named.len(), "every parameter gets a gradient");
        state.apply(grads, lr);
        export_seed_layout(state.model(), &config)
    };
    let (plain, decayed) = (step(0.0), step(wd));

    // Rounding bound per element. In float32 (unit roundoff 2^-24 relative, per operation), with
    // q = fl(lr·u) the same in both runs and |u| ≤ 1 on a first Adam step (m̂ = g, v̂ = g², so
    // u = g / (|g| + eps)):
    //   plain   = fl(p − q)                      error ≤ 2^-24·(|p| + lr)
    //   decayed = fl(fl(p·c) − q), c = fl(1 − lr·wd)
    //             c off by ≤ 2^-24, p·c rounded  error ≤ 2·2^-24·|p|
    //             the subtraction                 error ≤ 2^-24·(|p| + lr)
    // so |(plain − decayed) − lr·wd·p| ≤ 2^-24·(4|p| + 2·lr); twice that leaves room for the few ulps
    // by which |u| can exceed 1 and for sqrt's rounding. The signal, lr·wd·|p| = 1e-3·|p|, is ~2000×
    // the |p| term.
    let unit = 2f64.powi(-24);
    let (mut worst, mut decisive) = ((0f64, String::new()), 0usize);
    for ((b, p), d) in before.iter().zip(&plain).zip(&decayed) {
        assert_eq!((&b.name, &b.name), (&p.name, &d.name));
        for ((&w, &a), &c) in b.values.iter().zip(&p.values).zip(&d.values) {
            let expected = lr * wd as f64 * w as f64;
            let got = a as f64 - c as f64;
            let bound = 2.0 * unit * (4.0 * (w as f64).abs() + 2.0 * lr);
            let excess = (got - expected).abs() / bound;
            if excess > worst.0 {
                worst = (excess, format!("`{}`: p {w:e}, decay {got:e}, expected {expected:e}", b.name));
            }
            // Elements where a missing or wrong decay is far beyond rounding.
            decisive += (expected.abs() > 100.0 * bound) as usize;
        }
    }
    eprintln!("weight decay: worst error {:.3} of the rounding bound ({}); {decisive} elements decisive", worst.0, worst.1);
    assert!(decisive > 1000, "too few parameters large enough for the decay to show ({decisive})");
    assert!(worst.0 <= 1.0, "AdamW with weight_decay {wd}: {} (more than the rounding bound: decay not the configured one?)", worst.1);
}
