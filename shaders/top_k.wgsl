// Top-k columns of each row of a score matrix (largest first; ties go to the lower
// column index, as the CPU reference). One workgroup of 64 invocations per row: each
// keeps a sorted list of its best k over a strided subset of the columns, then the
// 64 lists are merged pairwise in a tree of 6 rounds in workgroup memory.
// Needs row_reduce.wgsl prepended (for row_of and ROW_LANES).

const MAX_K: u32 = 32u;
// Below every finite score; its index (0xffffffff) loses every tie as well.
const NONE_VAL: f32 = -3.4028235e38;
const NONE_IDX: u32 = 0xffffffffu;

struct Dims {
    rows: u32,
    cols: u32,
    k: u32,
    skip_diagonal: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read_write> out_idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> out_val: array<f32>;

var<workgroup> list_val: array<f32, 2048>; // [lane][MAX_K]
var<workgroup> list_idx: array<u32, 2048>;

fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
    return v > w || (v == w && i < j);
}

@compute @workgroup_size(64, 1, 1)
fn top_k(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let row = row_of(wid, groups);
    if row >= dims.rows {
        return;
    }
    let k = dims.k;
    var val: array<f32, MAX_K>;
    var idx: array<u32, MAX_K>;
    for (var t = 0u; t < k; t++) {
        val[t] = NONE_VAL;
        idx[t] = NONE_IDX;
    }
    for (var j = lane; j < dims.cols; j += ROW_LANES) {
        if dims.skip_diagonal != 0u && j == row {
            continue;
        }
        let v = scores[row * dims.cols + j];
        if !better(v, j, val[k - 1u], idx[k - 1u]) {
            continue;
        }
        // Insertion into the sorted list.
        var pos = k - 1u;
        while pos > 0u && better(v, j, val[pos - 1u], idx[pos - 1u]) {
            val[pos] = val[pos - 1u];
            idx[pos] = idx[pos - 1u];
            pos -= 1u;
        }
        val[pos] = v;
        idx[pos] = j;
    }
    for (var t = 0u; t < k; t++) {
        list_val[lane * MAX_K + t] = val[t];
        list_idx[lane * MAX_K + t] = idx[t];
    }
    workgroupBarrier();
    for (var stride = ROW_LANES / 2u; stride > 0u; stride /= 2u) {
        if lane < stride {
            // Merge list `lane + stride` into list `lane`: two sorted lists, keep k.
            let a = lane * MAX_K;
            let b = (lane + stride) * MAX_K;
            var ia = 0u;
            var ib = 0u;
            for (var t = 0u; t < k; t++) {
                if better(list_val[a + ia], list_idx[a + ia], list_val[b + ib], list_idx[b + ib]) {
                    val[t] = list_val[a + ia];
                    idx[t] = list_idx[a + ia];
                    ia += 1u;
                } else {
                    val[t] = list_val[b + ib];
                    idx[t] = list_idx[b + ib];
                    ib += 1u;
                }
            }
            for (var t = 0u; t < k; t++) {
                list_val[a + t] = val[t];
                list_idx[a + t] = idx[t];
            }
        }
        workgroupBarrier();
    }
    if lane == 0u {
        for (var t = 0u; t < k; t++) {
            out_val[row * k + t] = list_val[t];
            out_idx[row * k + t] = list_idx[t];
        }
    }
}
