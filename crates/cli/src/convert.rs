//! `sslpron convert`: a model directory (or hub model) into the web format (docs/WEB_FORMAT.md), written
//! atomically, with its size and SHA-256 (what a page or widget gives next to the model's URL), and
//! optionally the score drift of the conversion on given clips.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use sha2::{Digest, Sha256};
use sslpron_model::Precision;

use crate::embed::write_atomically;
use crate::model_dir;

pub fn run(model: &Path, output: &Path, precision: Precision, description: &str, check: &[PathBuf]) -> Result<(), String> {
    if output.is_dir() {
        return Err(format!("{}: is a directory; give the output file's path (e.g. model.sslpron)", output.display()));
    }
    let location = model_dir::locate(model)?;
    let bytes = location.read()?;
    let bundle = sslpron_model::to_bundle(&bytes.files(), precision, description).map_err(|e| e.to_string())?;
    // Drift first: a conversion that cannot be loaded back is never written.
    let mut drifts = Vec::new();
    if !check.is_empty() {
        let original = model_dir::load(model, Device::flex())?;
        let name = output.display().to_string();
        let (_, converted, _, _) = sslpron_model::load_bundle(&bundle, &name, &Device::flex()).map_err(|e| e.to_string())?;
        for clip in check {
            let input = original.prepare(clip)?;
            let score = |m: &sslpron_model::PronunciationModel| m.score(input.clone(), &name).map_err(|e| e.to_string());
            let (a, b) = (score(&original.model)?.as_array(), score(&converted)?.as_array());
            drifts.push((clip, a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max)));
        }
    }
    write_atomically(output, &bundle)?;
    let digest: String = Sha256::digest(&bundle).iter().map(|b| format!("{b:02x}")).collect();
    println!("{}: {} bytes, {:?}, sha256 {digest}", output.display(), bundle.len(), precision);
    for (clip, drift) in drifts {
        println!("{}: largest score change from the conversion {drift:.5}", clip.display());
    }
    Ok(())
}
