//! [`GpuMatrix`]: a row-major f32 matrix resident in GPU memory. Kernels take and
//! return these, so a chain (normalise, similarity, loss, backward) runs without the
//! host in between; only [`GpuMatrix::download`] waits for the device.

use ndarray::{Array2, ArrayView2};

use crate::context::GpuContext;
use crate::error::{Error, Result};

/// A dense row-major `rows x cols` f32 matrix in a GPU storage buffer.
///
/// The buffer is padded to a multiple of 16 bytes so kernels may read it as
/// `array<vec4<f32>>`; the padding is never part of the matrix.
#[derive(Debug)]
pub struct GpuMatrix {
    pub(crate) buffer: wgpu::Buffer,
    rows: usize,
    cols: usize,
}

/// Rejects the first NaN or infinity: the kernels would spread it silently.
pub(crate) fn check_finite(op: &'static str, data: impl IntoIterator<Item = f32>) -> Result<()> {
    match data.into_iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, value)) => Err(Error::NonFinite { op, index, value }),
        None => Ok(()),
    }
}

/// Bytes of a padded storage buffer for `len` 4-byte elements, checked against the device.
pub(crate) fn storage_bytes(ctx: &GpuContext, op: &'static str, len: usize) -> Result<u64> {
    let bytes = (len.max(1).div_ceil(4) * 16) as u64;
    let limits = ctx.device.limits();
    let limit = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    if bytes > limit || len > u32::MAX as usize {
        return Err(Error::TooLarge { op, bytes, limit });
    }
    Ok(bytes)
}

/// A zero-filled storage buffer for `len` 4-byte elements (f32 or u32).
pub(crate) fn storage_buffer(
    ctx: &GpuContext,
    op: &'static str,
    len: usize,
) -> Result<wgpu::Buffer> {
    let size = storage_bytes(ctx, op, len)?;
    Ok(ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(op),
        size,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    }))
}

impl GpuMatrix {
    /// A zero matrix on the device.
    ///
    /// # Errors
    /// [`Error::TooLarge`] beyond the device's buffer limits.
    pub fn zeros(ctx: &GpuContext, rows: usize, cols: usize) -> Result<Self> {
        Ok(Self {
            buffer: storage_buffer(ctx, "GpuMatrix::zeros", rows * cols)?,
            rows,
            cols,
        })
    }

    /// Copies `a` to the device.
    ///
    /// # Errors
    /// [`Error::NonFinite`] on NaN or infinity, [`Error::TooLarge`] beyond the limits.
    pub fn upload(ctx: &GpuContext, a: ArrayView2<'_, f32>) -> Result<Self> {
        let m = Self::zeros(ctx, a.nrows(), a.ncols())?;
        m.write(ctx, a)?;
        Ok(m)
    }

    /// Overwrites this matrix in place with `a` (same shape), reusing its buffer:
    /// the way to feed a new batch each step without reallocating.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if shapes differ, [`Error::NonFinite`] on NaN/inf.
    pub fn write(&self, ctx: &GpuContext, a: ArrayView2<'_, f32>) -> Result<()> {
        if a.dim() != self.shape() {
            return Err(Error::ShapeMismatch {
                op: "GpuMatrix::write",
                left: self.shape(),
                right: a.dim(),
                msg: "the new contents must have the matrix's shape",
            });
        }
        check_finite("GpuMatrix::write", a.iter().copied())?;
        if a.is_empty() {
            return Ok(());
        }
        // wgpu stages the write in its own reused upload belt.
        match a.as_slice() {
            Some(s) => ctx
                .queue
                .write_buffer(&self.buffer, 0, bytemuck::cast_slice(s)),
            None => {
                let owned: Vec<f32> = a.iter().copied().collect();
                ctx.queue
                    .write_buffer(&self.buffer, 0, bytemuck::cast_slice(&owned));
            }
        }
        Ok(())
    }

    /// Copies the matrix back to the host (waits for every kernel queued before).
    ///
    /// # Errors
    /// [`Error::BufferMap`] or [`Error::Poll`] if the device fails.
    pub fn download(&self, ctx: &GpuContext) -> Result<Array2<f32>> {
        let data: Vec<f32> = ctx.read_buffer(&self.buffer, self.len())?;
        Ok(Array2::from_shape_vec(self.shape(), data).expect("length is rows * cols"))
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// True when the matrix has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl GpuContext {
    /// Reads the first `len` 4-byte elements of `buffer` through the context's one
    /// reused MAP_READ buffer (grown to the next power of two when too small).
    pub(crate) fn read_buffer<T: bytemuck::Pod>(
        &self,
        buffer: &wgpu::Buffer,
        len: usize,
    ) -> Result<Vec<T>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let bytes = (len * 4) as u64;
        let mut staging = self.readback.lock().unwrap_or_else(|p| p.into_inner());
        if staging.as_ref().is_none_or(|b| b.size() < bytes) {
            *staging = Some(self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: bytes.next_power_of_two().max(256),
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        let staging = staging.as_ref().expect("set above");
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(buffer, 0, staging, 0, bytes);
        self.queue.submit([encoder.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, ..bytes, move |r| {
            let _ = tx.send(r);
        });
        self.synchronize()?;
        rx.recv()
            .map_err(|e| Error::BufferMap(e.to_string()))?
            .map_err(|e| Error::BufferMap(e.to_string()))?;
        let out = {
            let view = staging
                .get_mapped_range(..bytes)
                .map_err(|e| Error::BufferMap(e.to_string()))?;
            bytemuck::pod_collect_to_vec::<u8, T>(&view)
        };
        staging.unmap();
        Ok(out)
    }
}
