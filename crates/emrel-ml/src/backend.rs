//! The one module that maps cargo features to Burn backends.
//!
//! The CPU backend is Burn's pure-Rust `flex` backend (measured fastest of Burn 0.21's CPU
//! backends for these models; see `bench/README.md`). The CUDA backend (`burn-cuda`) is compiled
//! only with the `cuda` cargo feature. Asking for CUDA where the build or the machine lacks it
//! fails with a plain message; `--device auto` falls back to the CPU instead.
//!
//! Code elsewhere is generic over [`MlBackend`] and reaches a concrete backend only through
//! [`ComputeDevice::dispatch`], so no other module mentions a feature or a backend type.

use std::fmt;
use std::str::FromStr;

use crate::gru::GruBackend;

/// The CPU backend.
pub type Cpu = burn::backend::Flex;
/// The CUDA backend.
#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda;

/// The backends the models run on (a named bound so that later extensions stay in one place).
pub trait MlBackend: GruBackend {}
impl MlBackend for Cpu {}
#[cfg(feature = "cuda")]
impl MlBackend for Cuda {}
#[cfg(feature = "cuda")]
impl GruBackend for Cuda {}

/// What the user asked for (`--device cpu|cuda|auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    #[default]
    Cpu,
    Cuda,
    /// CUDA when this build has it and a GPU answers, else the CPU.
    Auto,
}

impl FromStr for DeviceChoice {
    type Err = BackendError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda),
            "auto" => Ok(DeviceChoice::Auto),
            other => Err(BackendError::UnknownDevice(other.to_string())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("unknown device `{0}` (expected cpu, cuda or auto)")]
    UnknownDevice(String),
    #[error(
        "cuda was requested but this build has no cuda support (rebuild with `--features cuda`)"
    )]
    CudaNotBuilt,
    #[error("cuda was requested but no usable gpu was found: {0}")]
    CudaUnavailable(String),
}

/// A resolved compute device: where tensors live.
#[derive(Clone, Default)]
pub enum ComputeDevice {
    #[default]
    Cpu,
    #[cfg(feature = "cuda")]
    Cuda(burn::backend::cuda::CudaDevice),
}

impl fmt::Debug for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl ComputeDevice {
    /// A short name for logs and reports (`cpu`, `cuda:0`).
    pub fn name(&self) -> String {
        match self {
            ComputeDevice::Cpu => "cpu".to_string(),
            #[cfg(feature = "cuda")]
            ComputeDevice::Cuda(d) => format!("cuda:{}", d.index),
        }
    }

    /// Runs `job` on this device's backend.
    pub fn dispatch<J: BackendJob>(&self, job: J) -> J::Output {
        match self {
            ComputeDevice::Cpu => job.run::<Cpu>(&Default::default()),
            #[cfg(feature = "cuda")]
            ComputeDevice::Cuda(d) => job.run::<Cuda>(d),
        }
    }
}

/// Work that is generic over the backend; [`ComputeDevice::dispatch`] picks the backend.
pub trait BackendJob {
    type Output;
    fn run<B: MlBackend>(self, device: &B::Device) -> Self::Output;
}

/// Resolves the user's choice to a device, probing the GPU when CUDA is asked for.
pub fn select_device(choice: DeviceChoice) -> Result<ComputeDevice, BackendError> {
    match choice {
        DeviceChoice::Cpu => Ok(ComputeDevice::Cpu),
        DeviceChoice::Cuda => probe_cuda(),
        DeviceChoice::Auto => Ok(probe_cuda().unwrap_or(ComputeDevice::Cpu)),
    }
}

#[cfg(not(feature = "cuda"))]
fn probe_cuda() -> Result<ComputeDevice, BackendError> {
    Err(BackendError::CudaNotBuilt)
}

/// Runs one tiny computation on the GPU. Without a driver Burn 0.21 panics in the first CUDA op
/// ("Unable to dynamically load the cuda shared library"); the panic is caught (with the panic
/// hook silenced meanwhile) and turned into an error.
#[cfg(feature = "cuda")]
fn probe_cuda() -> Result<ComputeDevice, BackendError> {
    use burn::tensor::Tensor;
    let device = burn::backend::cuda::CudaDevice::default();
    let probe_device = device.clone();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(move || {
        let t = Tensor::<Cuda, 1>::from_floats([1.0, 2.0, 3.0], &probe_device);
        t.sum().into_scalar()
    });
    std::panic::set_hook(hook);
    match result {
        Ok(sum) if (sum - 6.0).abs() < 1e-4 => Ok(ComputeDevice::Cuda(device)),
        Ok(sum) => Err(BackendError::CudaUnavailable(format!("probe computed {sum} instead of 6"))),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the cuda runtime panicked".to_string());
            Err(BackendError::CudaUnavailable(msg.lines().next().unwrap_or("").to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_choice_parses() {
        assert_eq!("auto".parse::<DeviceChoice>().unwrap(), DeviceChoice::Auto);
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert!("tpu".parse::<DeviceChoice>().is_err());
    }

    #[test]
    fn auto_always_yields_a_device() {
        let d = select_device(DeviceChoice::Auto).unwrap();
        assert!(!d.name().is_empty());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_so() {
        let err = select_device(DeviceChoice::Cuda).unwrap_err();
        assert!(err.to_string().contains("--features cuda"), "{err}");
    }
}
