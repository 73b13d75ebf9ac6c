//! From a trained float network to the int8 model file `core-nostd` runs.
//!
//! 1. [`float`]: the network as plain arrays in PyTorch's layouts, BatchNorm folded into the
//!    convolutions, with a plain float forward pass;
//! 2. [`calibrate`]: activation ranges measured on training windows (min/max or a percentile);
//! 3. [`int8`]: per-channel symmetric int8 weights, int32 biases, int8 activations, TFLite-style
//!    requantizers, encoded as a model file and checked by the core's own parser;
//! 4. [`agreement`]: the int8 model (run by the core) against the float one on the same
//!    evaluation examples.
//!
//! None of this needs Burn: `trainer export` (feature `burn`) only reads the trained weights
//! into a [`float::FloatNetwork`] and calls these.

pub mod agreement;
pub mod calibrate;
pub mod float;
pub mod int8;

#[cfg(test)]
mod tests;
