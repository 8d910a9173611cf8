//! Training-step timing for `benches/train_step_cpu.py` (which times torch on the same model and batch
//! in the same run). One JSON line: median ms per step (forward, backward, clipping, AdamW).
//!
//! cargo run --release -p trainer --example bench_train_step -- MODEL_DIR BATCH SECONDS REPEATS

use std::time::Instant;

use burn::prelude::*;
use burn::tensor::Distribution;
use sslpron_model::HeadKind;
use trainer::step::{OptimSettings, Strategy, TrainState};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, batch, seconds, repeats] = args.as_slice() else {
        eprintln!("usage: bench_train_step MODEL_DIR BATCH SECONDS REPEATS");
        std::process::exit(2);
    };
    let (batch, repeats): (usize, usize) = (batch.parse().unwrap(), repeats.parse().unwrap());
    let samples = (seconds.parse::<f64>().unwrap() * 16_000.0) as usize;
    let bytes = sslpron_hub::local(std::path::Path::new(dir)).read().unwrap_or_else(|e| panic!("{e}"));
    let device = Device::flex().autodiff();
    device.seed(0);
    let (_, model, _) = sslpron_model::load_for_training(&bytes.files(), &device, HeadKind::General).expect("model loads");
    let mut state = TrainState::new(model, Strategy::General, OptimSettings::default());
    let mut times = Vec::new();
    for i in 0..=repeats {
        let input = Tensor::<2>::random([batch, samples], Distribution::Normal(0.0, 1.0), &device);
        let labels = Tensor::<2>::random([batch, 4], Distribution::Uniform(0.0, 10.0), &device);
        let start = Instant::now();
        state.step(input, None, labels, 1e-5);
        if i > 0 {
            times.push(start.elapsed().as_secs_f64() * 1e3); // the first step is the warm-up
        }
    }
    times.sort_by(f64::total_cmp);
    println!("{{\"median_ms\": {:.1}, \"min_ms\": {:.1}, \"max_ms\": {:.1}}}", times[times.len() / 2], times[0], times[times.len() - 1]);
}
