//! The native trainer: the seed's strategies (General, Freeze, CTC) and optimisation, on any Burn device.

pub mod bootstrap;
pub mod cli;
pub mod data;
pub mod metrics;
pub mod phone_ctc;
pub mod plot;
pub mod probe;
pub mod prompt;
pub mod recognizer;
pub mod report;
pub mod run;
pub mod step;
