//! The training workstation's library: reading and rendering data, preparing windows, and (in
//! later issues) training, evaluating and exporting models. The `trainer` binary is a thin shell
//! over it.
//!
//! Features are computed with `core_nostd::frontend`, the same code the host CLI and the firmware
//! run, and audio is read with `host_cli::audio`, the CLI's loader, so training and serving never
//! differ.

pub mod atomic;
pub mod augment;
pub mod musicnet;
pub mod prepare;
pub mod progress;
pub mod render;
pub mod sampler;
pub mod seed;
pub mod stats;

pub use core_nostd::frontend;
