//! Where the forward time goes, stage by stage (flex executes eagerly, so wall time per stage is
//! honest). Used for docs/PERFORMANCE.md.
//!
//! cargo run --release -p sslpron-cli --example profile_forward -- MODEL_DIR AUDIO.wav

use std::time::Instant;

mod common;

use burn::prelude::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, audio] = args.as_slice() else {
        eprintln!("usage: profile_forward MODEL_DIR AUDIO.wav");
        std::process::exit(2);
    };
    let device = Device::flex();
    let (info, model) = common::load_dir(std::path::Path::new(dir), &device);
    let samples = common::prepared(audio, &info);
    let enc = &model.encoder;
    {
        // Layer 0 split into its parts: conv (as the GEMM, and Burn's conv1d for comparison), GroupNorm
        // over time, GELU (ours and Burn's). Channels last, as the encoder runs it.
        let x = Tensor::<1>::from_floats(samples.as_slice(), &device).unsqueeze_dim::<2>(0).unsqueeze_dim::<3>(2);
        let layer = &enc.feature_extractor.conv_layers[0];
        let burn_conv = sslpron_model::kernels::FrameConv { kernels: sslpron_model::Kernels::Burn, ..layer.conv.clone() };
        for round in 0..2 {
            let t = Instant::now();
            let _ = burn_conv.forward(x.clone()).into_data();
            let burn_conv_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let c = layer.conv.forward(x.clone());
            let _ = c.clone().into_data();
            let conv_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let _ = burn::tensor::activation::gelu(c.clone()).into_data();
            let burn_gelu_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let g = layer.activation.forward(c.clone());
            let _ = g.into_data();
            let gelu_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let whole = layer.forward(x.clone());
            let _ = whole.into_data();
            let whole_ms = t.elapsed().as_secs_f64() * 1e3;
            if round == 1 {
                println!(
                    "conv layer 0 parts: conv {conv_ms:.1} ms (Burn's conv1d {burn_conv_ms:.1}), gelu {gelu_ms:.1} ms (Burn's {burn_gelu_ms:.1}), norm ≈ {:.1} ms (whole {whole_ms:.1} ms)",
                    whole_ms - conv_ms - gelu_ms
                );
            }
        }
    }
    {
        // One FFN-sized GEMM, [500, 768] x [768, 3072], as 2-D and as the 3-D batch-of-one Linear sees it.
        let a = Tensor::<2>::random([500, 768], burn::tensor::Distribution::Default, &device);
        let b = Tensor::<2>::random([768, 3072], burn::tensor::Distribution::Default, &device);
        for round in 0..3 {
            let t = Instant::now();
            let _ = a.clone().matmul(b.clone()).into_data();
            let two_d = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let _ = a.clone().unsqueeze_dim::<3>(0).matmul(b.clone().unsqueeze_dim::<3>(0)).into_data();
            let three_d = t.elapsed().as_secs_f64() * 1e3;
            if round == 2 {
                let gflop = 2.0 * 500.0 * 768.0 * 3072.0 / 1e9;
                println!("GEMM 500x768x3072: 2-D {two_d:.1} ms ({:.0} GFLOP/s), 3-D {three_d:.1} ms", gflop / two_d * 1e3);
            }
        }
    }
    {
        // One encoder layer, op by op, on the frames this clip gives (flex runs each op to completion
        // before returning, so timing the calls is enough).
        let frames = enc.feature_extractor.frame_lengths(&[samples.len()])[0];
        let hidden = enc.encoder.layers[0].attention.q_proj.weight.dims()[0];
        let x = Tensor::<3>::random([1, frames, hidden], burn::tensor::Distribution::Default, &device);
        let layer = &enc.encoder.layers[0];
        let att = &layer.attention;
        let heads = att.num_heads;
        let split = |t: Tensor<3>| t.reshape([1, frames, heads, hidden / heads]).swap_dims(1, 2);
        for round in 0..3 {
            let mut rows: Vec<(&str, f64)> = Vec::new();
            let mut lap = Instant::now();
            let mut time = |name: &'static str| {
                rows.push((name, lap.elapsed().as_secs_f64() * 1e3));
                lap = Instant::now();
            };
            let q = split(att.q_proj.forward(x.clone()));
            time("q projection");
            let k = split(att.k_proj.forward(x.clone()));
            time("k projection");
            let v = split(att.v_proj.forward(x.clone()));
            time("v projection");
            let scores = q.matmul(k.swap_dims(2, 3));
            time("q k^T");
            let probs = att.softmax.forward(scores);
            time("softmax");
            let context = probs.matmul(v);
            time("probs v");
            let context = context.swap_dims(1, 2).reshape([1, frames, hidden]);
            time("heads merged (copy)");
            let attended = att.out_proj.forward(context);
            time("out projection");
            let h = layer.layer_norm.forward(x.clone() + attended);
            time("residual + layer norm");
            let f = layer.feed_forward.intermediate_dense.forward(h.clone());
            time("FFN dense 1");
            let f = layer.feed_forward.activation.forward(f);
            time("GELU");
            let f = layer.feed_forward.output_dense.forward(f);
            time("FFN dense 2");
            let _ = layer.final_layer_norm.forward(h + f);
            time("residual + layer norm");
            if round == 2 {
                let total: f64 = rows.iter().map(|(_, ms)| ms).sum();
                println!("one encoder layer, {frames} frames:");
                for (name, ms) in &rows {
                    println!("  {name:26} {ms:7.2} ms");
                }
                println!("  {:26} {total:7.2} ms", "total");
            }
        }
    }
    for round in 0..3 {
        let pc = &enc.encoder.pos_conv_embed.conv;
        let t = Instant::now();
        let _ = pc.weight();
        let norm_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let _ = pc.gemm_weight_values();
        let host_ms = t.elapsed().as_secs_f64() * 1e3;
        if round == 2 {
            println!(
                "positional conv weight: as tensor ops {norm_ms:.1} ms (+ ~40 ms to permute it), in the GEMM layout on the host {host_ms:.1} ms"
            );
        }
    }
    // Stage by stage; each stage's fastest of 5 rounds (a shared VM's speed drifts between rounds).
    let mut best: Vec<(String, f64)> = Vec::new();
    for _ in 0..5 {
        let mut rows: Vec<(String, f64)> = Vec::new();
        let mut time = |name: String, start: Instant| rows.push((name, start.elapsed().as_secs_f64() * 1e3));
        let x = Tensor::<1>::from_floats(samples.as_slice(), &device).unsqueeze_dim::<2>(0);
        let mut h = x.unsqueeze_dim::<3>(2);
        for (i, layer) in enc.feature_extractor.conv_layers.iter().enumerate() {
            let t = Instant::now();
            h = layer.forward(h);
            time(format!("conv layer {i}"), t);
        }
        let t = Instant::now();
        let p = enc.feature_projection.forward(h);
        time("feature projection".into(), t);
        let t = Instant::now();
        let _ = enc.encoder.pos_conv_embed.forward(p.clone());
        time("positional conv".into(), t);
        let t = Instant::now();
        let _ = enc.encoder.forward(p, None, false);
        time("transformer encoder incl. posconv".into(), t);
        if best.is_empty() {
            best = rows;
        } else {
            for (b, (_, ms)) in best.iter_mut().zip(rows) {
                b.1 = b.1.min(ms);
            }
        }
    }
    let total: f64 = best.iter().filter(|(n, _)| !n.starts_with("positional")).map(|(_, ms)| ms).sum();
    for (name, ms) in &best {
        println!("{name:36} {ms:8.1} ms  {:5.1}%", 100.0 * ms / total);
    }
    println!("{:36} {total:8.1} ms", "total");
}
