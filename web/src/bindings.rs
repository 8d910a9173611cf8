//! The JavaScript API (wasm-bindgen), used by `www/worker.js`:
//!
//! ```js
//! const scorer = await Scorer.load(bytes, "model.sslpron", "auto");   // or "webgpu" / "cpu"
//! scorer.backend;            // "webgpu" or "cpu"
//! scorer.notice;             // why WebGPU was not used, or undefined
//! const r = await scorer.score(float32Samples, 48000);
//! // {accuracy, fluency, prosody, total, seconds, timings: {prepare_ms, model_ms}}
//! ```

use std::rc::Rc;

use burn::prelude::*;
use wasm_bindgen::prelude::*;

use sslpron_model::Kernels;

use crate::engine::{Engine, MAX_SECONDS};

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// A web model loaded on WebGPU or the CPU.
#[wasm_bindgen]
pub struct Scorer {
    engine: Rc<Engine>,
    backend: &'static str,
    notice: Option<String>,
    warmup_ms: f64,
}

/// Milliseconds from the global scope's `performance.now()` (a window or a worker).
fn now() -> f64 {
    let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).ok();
    performance
        .and_then(|p| {
            let now = js_sys::Reflect::get(&p, &"now".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
            now.call0(&p).ok()?.as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}

#[cfg(feature = "webgpu")]
async fn webgpu() -> Result<Device, String> {
    Device::wgpu_options().init_async().await.map_err(|e| e.to_string())
}

#[cfg(not(feature = "webgpu"))]
async fn webgpu() -> Result<Device, String> {
    Err("this build of the scorer has no WebGPU support".into())
}

/// One second of a tone through the model: compiles the GPU shaders (slow the first time) before the
/// learner's first recording, and proves the device computes finite scores.
async fn warm_up(engine: &Engine) -> Result<(), String> {
    let tone: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.0785).sin() * 0.5).collect();
    engine.score_prepared(&tone).await.map(|_| ())
}

#[wasm_bindgen]
impl Scorer {
    /// Loads a web model (`sslpron convert`) from its bytes; `name` names it in errors. `preference`:
    /// `"auto"` (WebGPU when it initialises and computes, otherwise the CPU, with a `notice` saying why),
    /// `"webgpu"` (fail without it) or `"cpu"`. `cpu_gemm` (optional): `"flex"` computes the CPU
    /// device's matrix products with the `gemm` crate that Burn's flex device calls instead of
    /// sslpron-gemm, for the side-by-side benchmark (benches/browser/bench.mjs `--gemm-ab`).
    pub async fn load(bytes: Vec<u8>, name: String, preference: String, cpu_gemm: Option<String>) -> Result<Scorer, JsError> {
        let kernels = match cpu_gemm.as_deref() {
            None | Some("sslpron") => Kernels::default(),
            Some("flex") => Kernels::Host,
            Some(other) => return Err(JsError::new(&format!("cpu_gemm: \"{other}\" is neither \"sslpron\" nor \"flex\""))),
        };
        let cpu = || Engine::load(&bytes, &name, Device::flex(), kernels).map_err(|e| JsError::new(&e));
        let mut notice = None;
        if preference != "cpu" {
            let attempt = async {
                let device = webgpu().await?;
                let engine = Engine::load(&bytes, &name, device, kernels)?;
                let start = now();
                warm_up(&engine).await?;
                Ok::<_, String>((engine, now() - start))
            };
            match attempt.await {
                Ok((engine, warmup_ms)) => return Ok(Scorer { engine: Rc::new(engine), backend: "webgpu", notice, warmup_ms }),
                Err(e) if preference == "webgpu" => return Err(JsError::new(&format!("WebGPU: {e}"))),
                Err(e) => notice = Some(format!("WebGPU is not available here ({e}); scoring on the CPU instead, which is slower.")),
            }
        }
        let engine = cpu()?;
        let start = now();
        warm_up(&engine).await.map_err(|e| JsError::new(&e))?;
        Ok(Scorer { engine: Rc::new(engine), backend: "cpu", notice, warmup_ms: now() - start })
    }

    /// `"webgpu"` or `"cpu"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.to_string()
    }

    /// Why WebGPU was not used, when it was asked for and failed.
    #[wasm_bindgen(getter)]
    pub fn notice(&self) -> Option<String> {
        self.notice.clone()
    }

    /// The model's own description (e.g. that it is an untrained demo).
    #[wasm_bindgen(getter)]
    pub fn description(&self) -> String {
        self.engine.description().to_string()
    }

    /// Time the warm-up pass took (shader compilation on WebGPU).
    #[wasm_bindgen(getter, js_name = warmupMs)]
    pub fn warmup_ms(&self) -> f64 {
        self.warmup_ms
    }

    /// The longest recording scored, in seconds.
    #[wasm_bindgen(js_name = maxSeconds)]
    pub fn max_seconds() -> f64 {
        MAX_SECONDS
    }

    /// Scores mono `samples` recorded at `sample_rate`: resolves to `{accuracy, fluency, prosody, total,
    /// seconds, timings: {prepare_ms, model_ms}}`, or rejects with a readable message (too short, too long,
    /// silence).
    pub fn score(&self, samples: Vec<f32>, sample_rate: u32) -> js_sys::Promise {
        let engine = Rc::clone(&self.engine);
        wasm_bindgen_futures::future_to_promise(async move {
            let result = engine.score(&samples, sample_rate, now).await.map_err(|e| JsValue::from(JsError::new(&e)))?;
            serde_wasm_bindgen::to_value(&result).map_err(JsValue::from)
        })
    }
}
