// Fused NT-Xent / InfoNCE forward (SimCLR layout), tile_gemm.wgsl prepended with REG = 4 and
// TRANS_B = true so that a tile is zn[rows] zn[cols]^T.
//
// For 2N normalised rows zn, s_ij = zn_i . zn_j / T, positive p(i) = (i + N) mod 2N:
//   lse_i = log sum_{j != i} exp(s_ij),   l_i = lse_i - s_i,p(i).
// A workgroup owns 64 rows and streams over all column tiles, never storing S.
// Each invocation keeps its own running (max, sum) for its 4 rows over the columns
// it sees (the streaming log-sum-exp of docs/references.md, in registers); the 16 partial
// pairs of a row are merged once at the end: m = max m_t, l = sum l_t exp(m_t - m).
// Only lse (one float per row) and the per-row loss are written.

struct Dims {
    rows: u32,     // 2N
    dim: u32,      // D
    half: u32,     // N
    inv_t: f32,    // 1 / T
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> z: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> row_loss: array<f32>;

fn a_quad(i: u32) -> vec4<f32> { return z[i / 4u]; }
fn a_at(i: u32) -> f32 { return z[i / 4u][i % 4u]; }
fn b_quad(i: u32) -> vec4<f32> { return z[i / 4u]; }
fn b_at(i: u32) -> f32 { return z[i / 4u][i % 4u]; }

// A finite "minus infinity": exp(NEG - x) underflows to 0 without inf arithmetic.
const NEG: f32 = -3.0e38;

var<workgroup> part_max: array<f32, 1024>; // [row in tile][tx]
var<workgroup> part_sum: array<f32, 1024>;

@compute @workgroup_size(16, 16, 1)
fn nt_xent_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid3: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let tx = lid3.x;
    let ty = lid3.y;
    let m0 = wid.x * TILE;
    var run_max = array<f32, 4>(NEG, NEG, NEG, NEG);
    var run_sum = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var n0 = 0u; n0 < dims.rows; n0 += TILE) {
        let acc = tile_product(lid, tx, ty, m0, n0, dims.rows, dims.rows, dims.dim);
        for (var i = 0u; i < 4u; i++) {
            let row = m0 + ty * 4u + i;
            var s = array<f32, 4>(NEG, NEG, NEG, NEG);
            var tile_max = NEG;
            for (var j = 0u; j < 4u; j++) {
                let col = n0 + tx * 4u + j;
                if col < dims.rows && col != row {
                    s[j] = acc[i][j] * dims.inv_t;
                    tile_max = max(tile_max, s[j]);
                }
            }
            let new_max = max(run_max[i], tile_max);
            var sum = run_sum[i] * exp(run_max[i] - new_max);
            for (var j = 0u; j < 4u; j++) {
                sum += select(0.0, exp(s[j] - new_max), s[j] > NEG);
            }
            run_max[i] = new_max;
            run_sum[i] = sum;
        }
    }
    for (var i = 0u; i < 4u; i++) {
        part_max[(ty * 4u + i) * 16u + tx] = run_max[i];
        part_sum[(ty * 4u + i) * 16u + tx] = run_sum[i];
    }
    workgroupBarrier();
    let row = m0 + lid;
    if lid < TILE && row < dims.rows {
        var m = NEG;
        for (var t = 0u; t < 16u; t++) {
            m = max(m, part_max[lid * 16u + t]);
        }
        var l = 0.0;
        for (var t = 0u; t < 16u; t++) {
            l += part_sum[lid * 16u + t] * exp(part_max[lid * 16u + t] - m);
        }
        let row_lse = m + log(l);
        let pos = (row + dims.half) % dims.rows;
        var dot = 0.0;
        for (var d = 0u; d < dims.dim; d++) {
            dot += a_at(row * dims.dim + d) * a_at(pos * dims.dim + d);
        }
        lse[row] = row_lse;
        row_loss[row] = row_lse - dot * dims.inv_t;
    }
}
