//! Forward-pass timing of a model directory on one WAV, for `benches/forward_cpu.py` (which runs
//! transformers on the same model and audio in the same run). Prints one JSON line.
//!
//! cargo run --release -p sslpron-cli --example bench_forward -- MODEL_DIR AUDIO.wav REPEATS

use std::time::Instant;

mod common;

use burn::prelude::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, audio, repeats] = args.as_slice() else {
        eprintln!("usage: bench_forward MODEL_DIR AUDIO.wav REPEATS");
        std::process::exit(2);
    };
    let repeats: usize = repeats.parse().expect("REPEATS is a number");
    let device = Device::flex();
    let load_start = Instant::now();
    let (info, model) = common::load_dir(std::path::Path::new(dir), &device);
    let load_ms = load_start.elapsed().as_secs_f64() * 1e3;
    let samples = common::prepared(audio, &info);

    let run = || {
        let input = Tensor::<1>::from_floats(samples.as_slice(), &device).unsqueeze_dim::<2>(0);
        let start = Instant::now();
        let scores = model.score_tensor(input, "model.safetensors").expect("has a head");
        let _: Vec<f32> = scores.into_data().try_to_vec().expect("f32");
        start.elapsed().as_secs_f64() * 1e3
    };
    run(); // warm-up: allocations, thread pool
    let mut times: Vec<f64> = (0..repeats).map(|_| run()).collect();
    times.sort_by(f64::total_cmp);
    let list: Vec<String> = times.iter().map(|t| format!("{t:.1}")).collect();
    println!(
        "{{\"median_ms\": {:.1}, \"min_ms\": {:.1}, \"max_ms\": {:.1}, \"load_ms\": {:.1}, \"repeats\": {repeats}, \"times_ms\": [{}]}}",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        load_ms,
        list.join(", ")
    );
}
