//! The native trainer (`cargo run -p trainer --release`). Not implemented yet: this binary only proves
//! that the model crate builds for every device the trainer will use. See issue #3.

use std::process::ExitCode;

use burn::prelude::Device;

fn main() -> ExitCode {
    let devices = compiled_devices();
    eprintln!(
        "trainer: training is not implemented yet (issue #3). This build can run the model on: {}.",
        devices.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
    );
    ExitCode::from(2)
}

fn compiled_devices() -> Vec<(&'static str, Device)> {
    #[allow(unused_mut)]
    let mut devices = vec![("cpu", Device::flex())];
    #[cfg(feature = "wgpu")]
    devices.push(("wgpu", Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)));
    #[cfg(feature = "cuda")]
    devices.push(("cuda", Device::cuda(0)));
    devices
}
