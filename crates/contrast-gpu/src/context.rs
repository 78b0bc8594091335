//! The device: adapter choice from the environment, a device opened with the
//! adapter's own limits, the compiled-kernel cache and the reused read-back buffer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::kernel::Kernel;

/// What the chosen adapter is, for logs and benchmark tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    /// Adapter name, e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// The API it runs on (Vulkan, Metal, Dx12, Gl).
    pub backend: wgpu::Backend,
    /// Discrete, integrated, virtual or CPU (software rasteriser such as lavapipe).
    pub device_type: wgpu::DeviceType,
    /// Driver name and version as the driver reports them.
    pub driver: String,
}

impl AdapterSummary {
    /// True for software adapters (lavapipe, WARP, SwiftShader): slow, correctness only.
    pub fn is_software(&self) -> bool {
        self.device_type == wgpu::DeviceType::Cpu
    }
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({:?}, {:?}, {})",
            self.name, self.backend, self.device_type, self.driver
        )
    }
}

/// An open GPU device with its queue and compiled kernels.
///
/// Create one per process (it is `Send + Sync`; share it behind an `Arc` or a
/// `OnceLock`): opening a device and compiling pipelines take far longer than a kernel.
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    summary: AdapterSummary,
    kernels: Mutex<HashMap<String, Arc<Kernel>>>,
    /// The MAP_READ buffer every download goes through, grown on demand, never shrunk.
    pub(crate) readback: Mutex<Option<wgpu::Buffer>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.summary)
            .finish_non_exhaustive()
    }
}

impl GpuContext {
    /// Opens the adapter the environment asks for.
    ///
    /// `WGPU_BACKEND` (e.g. `vulkan`, `metal`, `dx12`, `gl`) limits the backends,
    /// `WGPU_ADAPTER_NAME` picks the first adapter whose name contains it (case
    /// insensitive), `WGPU_POWER_PREF` (`low`/`high`) the preference otherwise
    /// (default high). The device gets the adapter's own limits, not WebGPU's
    /// conservative defaults, so large batches fit.
    ///
    /// # Errors
    /// [`Error::NoAdapter`] when nothing matches (the caller can fall back to the
    /// CPU), [`Error::RequestDevice`] when the adapter refuses a device.
    pub fn new() -> Result<Self> {
        pollster::block_on(Self::new_async())
    }

    async fn new_async() -> Result<Self> {
        let desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        let backends = desc.backends;
        let instance = wgpu::Instance::new(desc);
        let name_filter = std::env::var("WGPU_ADAPTER_NAME")
            .ok()
            .filter(|s| !s.is_empty());
        let no_adapter = || Error::NoAdapter {
            backends: format!("{backends:?}"),
            name_filter: name_filter.clone(),
        };
        let adapter = match &name_filter {
            Some(name) => {
                let wanted = name.to_lowercase();
                instance
                    .enumerate_adapters(backends)
                    .await
                    .into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&wanted))
                    .ok_or_else(no_adapter)?
            }
            None => instance
                .request_adapter(&wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::from_env()
                        .unwrap_or(wgpu::PowerPreference::HighPerformance),
                    ..Default::default()
                })
                .await
                .map_err(|_| no_adapter())?,
        };
        let info = adapter.get_info();
        let summary = AdapterSummary {
            name: info.name.clone(),
            backend: info.backend,
            device_type: info.device_type,
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("contrast-gpu"),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::RequestDevice {
                adapter: info.name.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            device,
            queue,
            summary,
            kernels: Mutex::new(HashMap::new()),
            readback: Mutex::new(None),
        })
    }

    /// The adapter this context runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// The device's limits (the adapter's own, as requested).
    pub fn limits(&self) -> wgpu::Limits {
        self.device.limits()
    }

    /// The wgpu device, for callers that add their own kernels.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Blocks until every submitted kernel has finished (for timing).
    ///
    /// # Errors
    /// [`Error::Poll`] if the device is lost.
    pub fn synchronize(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| Error::Poll(e.to_string()))
    }

    /// The kernel cached under `key`, built by `build` on first use.
    pub(crate) fn kernel(
        &self,
        key: String,
        build: impl FnOnce(&wgpu::Device) -> Result<Kernel>,
    ) -> Result<Arc<Kernel>> {
        let mut cache = self.kernels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = cache.get(&key) {
            return Ok(Arc::clone(k));
        }
        let kernel = Arc::new(build(&self.device)?);
        cache.insert(key, Arc::clone(&kernel));
        Ok(kernel)
    }
}
