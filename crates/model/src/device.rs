//! The devices a build can run on, by the names the shells take (`--device`): `cpu` (Burn's flex
//! backend) always; `wgpu` and `cuda` only when built with this crate's features of the same names
//! (the CLI's and the trainer's `wgpu` / `cuda` features turn them on).

use burn::prelude::Device;

/// Every device name, compiled in or not.
pub const DEVICE_NAMES: [&str; 3] = ["cpu", "wgpu", "cuda"];

/// The device named `name` (inference form; training takes `.autodiff()` of it).
pub fn parse(name: &str) -> Result<Device, String> {
    match name {
        "cpu" => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        known if DEVICE_NAMES.contains(&known) => {
            Err(format!("this build has no {known} device (rebuild with `--features {known}`); compiled in: {}", compiled_in().join(", ")))
        }
        other => Err(format!("unknown device `{other}` (devices: {}; compiled in: {})", DEVICE_NAMES.join(", "), compiled_in().join(", "))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_or_say_what_is_compiled_in() {
        assert!(parse("cpu").is_ok());
        assert_eq!(burn_default_name("cpu"), Some("flex"));
        for name in ["wgpu", "cuda"] {
            let compiled = compiled_in().contains(&name);
            assert_eq!(parse(name).is_ok(), compiled, "{name}");
            assert_eq!(burn_default_name(name).is_some(), compiled, "{name}");
            if !compiled {
                let message = parse(name).unwrap_err();
                assert!(message.contains(&format!("--features {name}")) && message.contains("compiled in: cpu"), "{message}");
            }
        }
        let message = parse("tpu").unwrap_err();
        assert!(message.contains("unknown device `tpu`") && message.contains("cpu, wgpu, cuda"), "{message}");
        assert_eq!(burn_default_name("tpu"), None);
    }
}
