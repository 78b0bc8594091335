// Row L2-normalisation: y_i = x_i / max(||x_i||, eps); also stores ||x_i|| for the
// backward pass (normalize_backward.wgsl). Needs row_reduce.wgsl prepended.

struct Dims {
    rows: u32,
    cols: u32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> norms: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn normalize_rows(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let row = row_of(wid, groups);
    if row >= dims.rows {
        return;
    }
    let base = row * dims.cols;
    var sq = 0.0;
    for (var j = lane; j < dims.cols; j += ROW_LANES) {
        sq += x[base + j] * x[base + j];
    }
    let norm = sqrt(workgroup_sum(lane, sq));
    let inv = 1.0 / max(norm, dims.eps);
    for (var j = lane; j < dims.cols; j += ROW_LANES) {
        y[base + j] = x[base + j] * inv;
    }
    if lane == 0u {
        norms[row] = norm;
    }
}
