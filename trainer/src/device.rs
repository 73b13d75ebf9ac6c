//! `--device cpu|cuda`: which Burn backend runs the networks.
//!
//! - `cpu`: Burn's Flex backend (pure Rust, SIMD, multi-threaded on rayon's global pool; set
//!   `RAYON_NUM_THREADS` to limit it). Faster than NdArray here, see `RESULTS-notes.md`.
//! - `cuda`: Burn's CUDA backend, only in builds with the `cuda` cargo feature. Before the device
//!   is touched, [`probe_cuda_driver`] loads `libcuda.so.1` and asks it for devices, so a machine
//!   without a driver or GPU gets a clear error instead of cudarc's panic. Without the feature a
//!   cuda request is an error that says how to get one.
//!
//! The probe uses `libloading` (the loader cudarc itself uses) and is the one place with
//! `unsafe` code: calling C functions of the driver API with the signatures its header declares.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// Where the networks run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// The CPU (Burn's Flex backend).
    #[default]
    Cpu,
    /// The first NVIDIA GPU (Burn's CUDA backend; needs the `cuda` build feature).
    Cuda,
}

/// Why a device cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// Asked for CUDA in a build without it.
    #[error(
        "--device cuda: this program was built without CUDA support; rebuild it with \
         `--features cuda` (see the README's CUDA section) or use --device cpu"
    )]
    CudaNotBuilt,
    /// The driver library is missing, or it reports no usable GPU.
    #[error(
        "--device cuda: no usable NVIDIA GPU: {reason}; install the NVIDIA driver (it provides \
         libcuda.so.1) on a machine with a GPU, or use --device cpu"
    )]
    NoGpu {
        /// What the probe found.
        reason: String,
    },
    /// The backend failed while starting on the GPU.
    #[error("--device cuda: the CUDA backend failed to start: {reason}")]
    Backend {
        /// The backend's message.
        reason: String,
    },
}

/// The device for `choice`, checked usable. Cost: CPU nothing; CUDA a driver probe
/// (milliseconds) and the backend's start (a second or more, once per process).
pub fn open(choice: DeviceChoice) -> Result<Device, DeviceError> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::flex()),
        DeviceChoice::Cuda => open_cuda(),
    }
}

#[cfg(not(feature = "cuda"))]
fn open_cuda() -> Result<Device, DeviceError> {
    Err(DeviceError::CudaNotBuilt)
}

#[cfg(feature = "cuda")]
fn open_cuda() -> Result<Device, DeviceError> {
    probe_cuda_driver().map_err(|reason| DeviceError::NoGpu { reason })?;
    let device = Device::cuda(0);
    // The backend panics on failures it cannot report otherwise (NVRTC or its headers missing,
    // for instance); a first small operation turns that into an error here.
    let probe = device.clone();
    std::panic::catch_unwind(move || {
        let _ = burn::tensor::Tensor::<1>::zeros([1], &probe).into_data();
    })
    .map_err(|panic| DeviceError::Backend {
        reason: panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "a panic without a message".into()),
    })?;
    Ok(device)
}

/// The CUDA driver library's name on Linux.
pub const CUDA_DRIVER_LIBRARY: &str = "libcuda.so.1";

/// Checks that the CUDA driver can be loaded and reports at least one GPU: loads
/// [`CUDA_DRIVER_LIBRARY`], calls `cuInit(0)` and `cuDeviceGetCount`. `Err` says what failed.
/// Cost: loading the driver (milliseconds; the backend loads it again anyway).
pub fn probe_cuda_driver() -> Result<usize, String> {
    type CuInit = unsafe extern "C" fn(flags: u32) -> i32;
    type CuDeviceGetCount = unsafe extern "C" fn(count: *mut i32) -> i32;
    // SAFETY: loading the NVIDIA driver runs its initializers, which the CUDA backend runs
    // anyway when it opens the device. The two symbols are looked up with the signatures of the
    // driver API's `cuda.h` (`CUresult cuInit(unsigned int)`,
    // `CUresult cuDeviceGetCount(int*)`); `count` points at a live local.
    #[allow(unsafe_code)]
    unsafe {
        let library = libloading::Library::new(CUDA_DRIVER_LIBRARY)
            .map_err(|e| format!("cannot load {CUDA_DRIVER_LIBRARY}: {e}"))?;
        let cu_init: libloading::Symbol<'_, CuInit> = library
            .get(b"cuInit\0")
            .map_err(|e| format!("{CUDA_DRIVER_LIBRARY} has no cuInit: {e}"))?;
        let status = cu_init(0);
        if status != 0 {
            return Err(format!("cuInit failed with CUresult {status}"));
        }
        let get_count: libloading::Symbol<'_, CuDeviceGetCount> = library
            .get(b"cuDeviceGetCount\0")
            .map_err(|e| format!("{CUDA_DRIVER_LIBRARY} has no cuDeviceGetCount: {e}"))?;
        let mut count = 0_i32;
        let status = get_count(&raw mut count);
        if status != 0 {
            return Err(format!("cuDeviceGetCount failed with CUresult {status}"));
        }
        match usize::try_from(count) {
            Ok(n) if n > 0 => Ok(n),
            _ => Err("the driver reports no GPU".into()),
        }
    }
}

/// A short description of the device `choice` opens, for logs (`cpu (flex, 2 threads)`,
/// `cuda:0`).
#[must_use]
pub fn describe(choice: DeviceChoice) -> String {
    match choice {
        DeviceChoice::Cpu => format!("cpu (flex, {} threads)", rayon::current_num_threads()),
        DeviceChoice::Cuda => "cuda:0".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_always_opens() {
        let device = open(DeviceChoice::Cpu).unwrap();
        let x = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0], &device);
        assert_eq!(x.sum().into_scalar::<f32>(), 3.0);
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_is_a_clear_error() {
        let error = open(DeviceChoice::Cuda).unwrap_err().to_string();
        assert!(
            error.contains("built without CUDA support") && error.contains("--device cpu"),
            "{error}"
        );
    }

    #[test]
    fn the_driver_probe_answers_without_panicking() {
        // Machines without a GPU say why; machines with one count it.
        match probe_cuda_driver() {
            Ok(n) => assert!(n > 0),
            Err(reason) => assert!(!reason.is_empty()),
        }
    }
}
