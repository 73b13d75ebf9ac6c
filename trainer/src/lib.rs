//! Training-side library (placeholder until the data issue): re-exports the shared front end.
//!
//! The trainer computes its features with `core_nostd::frontend`, the same code the host CLI and
//! the firmware run, so training and serving never differ.

pub use core_nostd::frontend;
