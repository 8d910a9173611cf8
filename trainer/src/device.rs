//! The devices a trainer build can run on, by name: `cpu` (Burn's flex backend) always; `wgpu` and
//! `cuda` only when built with the features of the same names.

use burn::prelude::Device;

/// The device named `name` (inference form; training takes `.autodiff()` of it).
pub fn parse(name: &str) -> Result<Device, String> {
    match name {
        "cpu" => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        other => Err(format!("device `{other}` is not compiled into this build (compiled in: {})", compiled_in().join(", "))),
    }
}

/// The device names this build accepts.
pub fn compiled_in() -> Vec<&'static str> {
    [("cpu", true), ("wgpu", cfg!(feature = "wgpu")), ("cuda", cfg!(feature = "cuda"))]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect()
}

/// The `BURN_DEVICE` name under which Burn's `Device::default()` is the device `name` parses to (`cpu`
/// is Burn's flex backend); `None` for a name [`parse`] refuses.
pub fn burn_default_name(name: &str) -> Option<&'static str> {
    match name {
        "cpu" => Some("flex"),
        "wgpu" if cfg!(feature = "wgpu") => Some("wgpu"),
        "cuda" if cfg!(feature = "cuda") => Some("cuda"),
        _ => None,
    }
}
