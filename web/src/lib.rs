//! The browser scorer. [`engine`] is the whole scoring path (web model in, four scores out) and builds
//! natively too, so it is tested like the rest of the workspace; [`bindings`] is the thin wasm-bindgen
//! layer the page's Web Worker calls (wasm32 only).

pub mod engine;

#[cfg(target_arch = "wasm32")]
mod bindings;
