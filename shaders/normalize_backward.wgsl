// Backward of y = x / max(||x||, eps), given y, ||x|| and dy:
//   dx_i = (dy_i - y_i (y_i . dy_i)) / max(||x_i||, eps)
// (the projection onto the tangent space of the sphere; see docs/references.md, section
// "Notation and row normalisation").
// Needs row_reduce.wgsl prepended.

struct Dims {
    rows: u32,
    cols: u32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> norms: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn normalize_backward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let row = row_of(wid, groups);
    if row >= dims.rows {
        return;
    }
    let base = row * dims.cols;
    var dot = 0.0;
    for (var j = lane; j < dims.cols; j += ROW_LANES) {
        dot += y[base + j] * dy[base + j];
    }
    let yd = workgroup_sum(lane, dot);
    let inv = 1.0 / max(norms[row], dims.eps);
    for (var j = lane; j < dims.cols; j += ROW_LANES) {
        dx[base + j] = (dy[base + j] - y[base + j] * yd) * inv;
    }
}
