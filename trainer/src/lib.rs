//! The training workstation's library: reading and rendering data, preparing windows, and (in
//! later issues) training, evaluating and exporting models. The `trainer` binary is a thin shell
//! over it.
//!
//! Features are computed with `core_nostd::frontend`, the same code the host CLI and the firmware
//! run, and audio is read with `host_common::audio`, the CLI's loader, so training and serving never
//! differ.

pub mod atomic;
pub mod augment;
pub mod baselines;
#[cfg(feature = "burn")]
pub mod device;
#[cfg(feature = "burn")]
pub mod evaluate;
pub mod evaluation;
#[cfg(feature = "burn")]
pub mod export;
#[cfg(feature = "burn")]
pub mod import;
#[cfg(feature = "burn")]
pub mod inference;
#[cfg(feature = "burn")]
pub mod model;
pub mod musicnet;
pub mod prepare;
pub mod progress;
pub mod quantize;
pub mod render;
pub mod sampler;
pub mod seed;
pub mod stats;
#[cfg(feature = "burn")]
pub mod training;

pub use core_nostd::frontend;
