//! `sslpron embed`: every layer's hidden states of one file, written atomically (temporary file in
//! the same directory, then rename), so a failure never leaves a partial output behind.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

use crate::model_dir;

pub fn run(model_dir: &Path, device: &str, audio: &Path, output: &Path) -> Result<(), String> {
    let loaded = model_dir::load(model_dir, sslpron_model::device::parse(device)?)?;
    let input = loaded.prepare(audio)?;
    let out = loaded.model.embed(input, true);

    let mut tensors: BTreeMap<String, (Vec<usize>, Vec<u8>)> = BTreeMap::new();
    let mut put = |name: String, t: burn::prelude::Tensor<3>| -> Result<(), String> {
        let [_, frames, hidden] = t.dims();
        let values: Vec<f32> = t.into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        if values.iter().any(|v| !v.is_finite()) {
            return Err(format!("{}: the model produced non-finite values", audio.display()));
        }
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.insert(name, (vec![frames, hidden], bytes));
        Ok(())
    };
    for (i, h) in out.hidden_states.into_iter().enumerate() {
        put(format!("hidden_states.{i}"), h)?;
    }
    put("last_hidden_state".into(), out.last_hidden_state)?;

    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(name, (shape, bytes))| TensorView::new(Dtype::F32, shape.clone(), bytes).map(|v| (name.clone(), v)).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let bytes = safetensors::serialize(views, None).map_err(|e| e.to_string())?;
    Ok(sslpron_fs::write_file(output, &bytes)?)
}
