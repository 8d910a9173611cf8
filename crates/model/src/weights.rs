//! Where module parameters come from: a safetensors checkpoint (names and shapes as PyTorch wrote them)
//! or a random initialiser. Every module is built through [`TensorSource`], so loading and fresh
//! initialisation share one construction path and cannot drift apart.

use std::collections::{BTreeMap, BTreeSet};

use burn::module::{Param, ParamId};
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use safetensors::{Dtype, SafeTensors};

use crate::error::ModelError;
use crate::kernels::Kernels;

/// How a parameter is initialised when there is no checkpoint (PyTorch / transformers conventions).
#[derive(Clone, Copy, Debug)]
pub enum Init {
    Zeros,
    Ones,
    Normal { std: f64 },
    Uniform { low: f64, high: f64 },
}

/// The PyTorch name of every parameter, by Burn [`ParamId`], and whether Burn stores it transposed
/// (Linear weights): what lets a trained model be written back in the layout it was read from.
#[derive(Clone, Debug, Default)]
pub struct ParamNames(pub Vec<ParamName>);

#[derive(Clone, Debug)]
pub struct ParamName {
    pub id: ParamId,
    pub name: String,
    pub transposed: bool,
}

impl ParamNames {
    pub fn get(&self, id: ParamId) -> Option<&ParamName> {
        self.0.iter().find(|n| n.id == id)
    }
}

/// Supplies parameter tensors by PyTorch name and shape.
pub trait TensorSource {
    /// Where the names of the parameters handed out are recorded.
    fn names(&mut self) -> &mut ParamNames;

    /// A parameter named `name` (recorded in [`names`](Self::names)).
    fn param<const D: usize>(&mut self, name: &str, shape: [usize; D], init: Init) -> Result<Param<Tensor<D>>, ModelError> {
        let tensor = self.tensor(name, shape, init)?;
        Ok(self.register(name, tensor, false))
    }

    /// A parameter the checkpoint may lack (`None` then).
    fn optional_param<const D: usize>(&mut self, name: &str, shape: [usize; D], init: Init) -> Result<Option<Param<Tensor<D>>>, ModelError> {
        Ok(self.optional(name, shape, init)?.map(|t| self.register(name, t, false)))
    }

    /// Wraps `tensor` as the parameter `name`; `transposed` when Burn stores PyTorch's transpose.
    /// The id is derived from the name, so a model read back from its own checkpoint has the ids the
    /// optimiser state was saved under (what makes a training run resumable).
    fn register<const D: usize>(&mut self, name: &str, tensor: Tensor<D>, transposed: bool) -> Param<Tensor<D>> {
        let mut param = Param::from_tensor(tensor);
        param.id = ParamId::from(stable_id(name));
        self.names().0.push(ParamName { id: param.id, name: name.to_string(), transposed });
        param
    }

    fn device(&self) -> &Device;
    /// The tensor `name` with PyTorch `shape`; a checkpoint source errors when it is absent.
    fn tensor<const D: usize>(&mut self, name: &str, shape: [usize; D], init: Init) -> Result<Tensor<D>, ModelError>;
    /// The tensor if the checkpoint holds it (a random source always creates it).
    fn optional<const D: usize>(&mut self, name: &str, shape: [usize; D], init: Init) -> Result<Option<Tensor<D>>, ModelError>;
    /// A Linear weight stored `[d_out, d_in]` (PyTorch) handed out as Burn's `[d_in, d_out]`, laid out
    /// contiguously: a transposed view would send matmuls down another kernel path than a trained
    /// weight takes, and a model read back from its checkpoint would round differently from the one
    /// that wrote it (a resumed run must match an uninterrupted one bit for bit).
    fn linear_weight(&mut self, name: &str, d_out: usize, d_in: usize, init: Init) -> Result<Tensor<2>, ModelError>;

    /// Whether parameters are being drawn afresh rather than read from a checkpoint.
    fn is_fresh(&self) -> bool;

    /// The kernel choice the modules built from this source get.
    fn kernels(&self) -> Kernels;
}

/// Fresh parameters, drawn on `device`.
pub struct RandomSource {
    device: Device,
    names: ParamNames,
    kernels: Kernels,
}

impl RandomSource {
    pub fn new(device: &Device) -> Self {
        RandomSource { device: device.clone(), names: ParamNames::default(), kernels: Kernels::default() }
    }

    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    pub fn into_names(self) -> ParamNames {
        self.names
    }
}

impl TensorSource for RandomSource {
    fn names(&mut self) -> &mut ParamNames {
        &mut self.names
    }

    fn device(&self) -> &Device {
        &self.device
    }

    fn tensor<const D: usize>(&mut self, _name: &str, shape: [usize; D], init: Init) -> Result<Tensor<D>, ModelError> {
        Ok(match init {
            Init::Zeros => Tensor::zeros(shape, &self.device),
            Init::Ones => Tensor::ones(shape, &self.device),
            Init::Normal { std } => Tensor::random(shape, Distribution::Normal(0.0, std), &self.device),
            Init::Uniform { low, high } => Tensor::random(shape, Distribution::Uniform(low, high), &self.device),
        })
    }

    fn optional<const D: usize>(&mut self, name: &str, shape: [usize; D], init: Init) -> Result<Option<Tensor<D>>, ModelError> {
        self.tensor(name, shape, init).map(Some)
    }

    fn linear_weight(&mut self, name: &str, d_out: usize, d_in: usize, init: Init) -> Result<Tensor<2>, ModelError> {
        self.tensor(name, [d_in, d_out], init)
    }

    fn is_fresh(&self) -> bool {
        true
    }

    fn kernels(&self) -> Kernels {
        self.kernels
    }
}

/// A parsed safetensors file. Names are rewritten on the way in (`aliases`) so that the several
/// spellings checkpoints use map to one; every tensor taken is recorded so that the leftovers can be
/// reported as unexpected, and every absent one is collected so that all are reported at once.
pub struct CheckpointSource<'a> {
    file: String,
    device: Device,
    tensors: SafeTensors<'a>,
    /// our name -> name in the file
    names: BTreeMap<String, String>,
    /// our names handed out so far
    taken: BTreeSet<String>,
    missing: Vec<String>,
    param_names: ParamNames,
    kernels: Kernels,
}

impl<'a> CheckpointSource<'a> {
    /// Parses `bytes`; `file` names it in errors. `rename` maps each name in the file to the name the
    /// model asks for, or `None` to keep it out of reach (it is then reported as unused).
    pub fn new(file: &str, bytes: &'a [u8], device: &Device, rename: impl Fn(&str) -> Option<String>) -> Result<Self, ModelError> {
        let tensors = SafeTensors::deserialize(bytes).map_err(|e| ModelError::Safetensors { file: file.to_string(), message: e.to_string() })?;
        let names = tensors.names().into_iter().filter_map(|n| rename(n).map(|ours| (ours, n.to_string()))).collect();
        Ok(CheckpointSource {
            file: file.to_string(),
            device: device.clone(),
            tensors,
            names,
            taken: BTreeSet::new(),
            missing: Vec::new(),
            param_names: ParamNames::default(),
            kernels: Kernels::default(),
        })
    }

    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    /// Names in the file, unmapped.
    pub fn file_names(bytes: &[u8], file: &str) -> Result<Vec<String>, ModelError> {
        let (_, metadata) =
            SafeTensors::read_metadata(bytes).map_err(|e| ModelError::Safetensors { file: file.to_string(), message: e.to_string() })?;
        Ok(metadata.tensors().keys().cloned().collect())
    }

    /// Fails with every missing tensor at once; otherwise returns the parameters' names and the file's
    /// tensors nobody took.
    pub fn finish(self) -> Result<(ParamNames, Vec<String>), ModelError> {
        if !self.missing.is_empty() {
            return Err(ModelError::Missing { file: self.file, missing: self.missing });
        }
        let taken: BTreeSet<&String> = self.taken.iter().filter_map(|ours| self.names.get(ours)).collect();
        let mut unused: Vec<String> = self.tensors.names().into_iter().filter(|n| !taken.contains(&n.to_string())).map(|n| n.to_string()).collect();
        unused.sort();
        Ok((self.param_names, unused))
    }

    fn read(&mut self, name: &str, shape: &[usize]) -> Result<Option<Vec<f32>>, ModelError> {
        let Some(file_name) = self.names.get(name) else {
            return Ok(None);
        };
        let view = self
            .tensors
            .tensor(file_name)
            .map_err(|e| ModelError::Safetensors { file: self.file.clone(), message: format!("tensor `{file_name}`: {e}") })?;
        if view.shape() != shape {
            return Err(ModelError::ShapeMismatch {
                file: self.file.clone(),
                name: file_name.clone(),
                expected: shape.to_vec(),
                found: view.shape().to_vec(),
            });
        }
        let bytes = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            Dtype::F64 => bytes.chunks_exact(8).map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32).collect(),
            // The web format's codec: one f16 decoder in the project (sslpron-bundle's tests cover every value).
            Dtype::F16 => bytes.chunks_exact(2).map(|b| sslpron_bundle::half::f16_to_f32(u16::from_le_bytes([b[0], b[1]]))).collect(),
            Dtype::BF16 => bytes.chunks_exact(2).map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16)).collect(),
            other => {
                return Err(ModelError::Dtype { file: self.file.clone(), name: file_name.clone(), dtype: format!("{other:?}") });
            }
        };
        if values.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite { file: self.file.clone(), name: file_name.clone() });
        }
        self.taken.insert(name.to_string());
        Ok(Some(values))
    }
}

impl TensorSource for CheckpointSource<'_> {
    fn names(&mut self) -> &mut ParamNames {
        &mut self.param_names
    }

    fn device(&self) -> &Device {
        &self.device
    }

    fn tensor<const D: usize>(&mut self, name: &str, shape: [usize; D], init: Init) -> Result<Tensor<D>, ModelError> {
        match self.optional(name, shape, init)? {
            Some(t) => Ok(t),
            None => {
                self.missing.push(name.to_string());
                // A placeholder keeps construction going so that every missing name is reported at once;
                // `finish` refuses the model.
                Ok(Tensor::zeros(shape, &self.device))
            }
        }
    }

    fn optional<const D: usize>(&mut self, name: &str, shape: [usize; D], _init: Init) -> Result<Option<Tensor<D>>, ModelError> {
        Ok(self.read(name, &shape)?.map(|values| Tensor::from_data(TensorData::new(values, shape), &self.device)))
    }

    fn linear_weight(&mut self, name: &str, d_out: usize, d_in: usize, _init: Init) -> Result<Tensor<2>, ModelError> {
        let Some(values) = self.read(name, &[d_out, d_in])? else {
            self.missing.push(name.to_string());
            return Ok(Tensor::zeros([d_in, d_out], &self.device));
        };
        Ok(Tensor::from_data(TensorData::new(transpose(&values, d_out, d_in), [d_in, d_out]), &self.device))
    }

    fn is_fresh(&self) -> bool {
        false
    }

    fn kernels(&self) -> Kernels {
        self.kernels
    }
}

/// `[rows, cols]` row-major -> `[cols, rows]` row-major, in 32 x 32 tiles: element by element, every
/// write of a 768 x 3072 weight landed 12 KB from the last, and transposing took ~5% of loading and
/// scoring one clip with a base-size model (`perf`, docs/PERFORMANCE.md).
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(values.len());
    crate::kernels::host::transpose_into(values, rows, cols, 1, 1.0, &mut out);
    out
}

/// FNV-1a of the parameter name: stable across runs and builds.
fn stable_id(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ byte as u64).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod transpose_tests {
    #[test]
    fn transpose_moves_every_element_across_tile_edges() {
        for (rows, cols) in [(1, 1), (3, 70), (33, 65), (64, 32)] {
            let values: Vec<f32> = (0..rows * cols).map(|v| v as f32).collect();
            let out = super::transpose(&values, rows, cols);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(out[c * rows + r], values[r * cols + c], "{rows}x{cols} at ({r}, {c})");
                }
            }
        }
    }
}
