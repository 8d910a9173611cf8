//! The devices this build can run on. `cpu` (Burn's flex backend) is always compiled in; `wgpu` and
//! `cuda` only with the features of the same names.

use burn::prelude::Device;
use clap::ValueEnum;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DeviceChoice {
    Cpu,
    Wgpu,
    Cuda,
}

impl DeviceChoice {
    pub fn device(self) -> Result<Device, String> {
        match self {
            DeviceChoice::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            DeviceChoice::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(feature = "cuda")]
            DeviceChoice::Cuda => Ok(Device::cuda(0)),
            #[allow(unreachable_patterns)]
            other => {
                let name = other.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default();
                Err(format!(
                    "this build has no {name} device (rebuild with `--features {name}`); compiled in: {}",
                    compiled_in().join(", ")
                ))
            }
        }
    }
}

fn compiled_in() -> Vec<&'static str> {
    let mut devices = vec!["cpu"];
    if cfg!(feature = "wgpu") {
        devices.push("wgpu");
    }
    if cfg!(feature = "cuda") {
        devices.push("cuda");
    }
    devices
}
