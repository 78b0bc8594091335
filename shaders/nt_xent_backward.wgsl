// Fused NT-Xent backward with respect to the normalised rows zn, tile_gemm.wgsl (REG = 4)
// prepended with TRANS_B = true. With P_ij = exp(s_ij - lse_i) (0 on the diagonal)
// and the loss a mean over the 2N anchors,
//   dzn = (G + G^T) zn / T,  G_ij = (P_ij - [j = p(i)]) / 2N,
// and since s is symmetric and p an involution,
//   (G + G^T)_ij = (exp(s_ij - lse_i) + exp(s_ij - lse_j) - 2 [j = p(i)]) / 2N.
// A workgroup owns 64 rows x 64 output dimensions (grid y walks D); for every
// column tile it recomputes S from zn, turns it into that 64 x 64 weight tile in
// workgroup memory and accumulates weights x zn[cols, dims]. S is never stored.

struct Dims {
    rows: u32,     // 2N
    dim: u32,      // D
    half: u32,     // N
    inv_t: f32,    // 1 / T
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> z: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> dz: array<f32>;

fn a_quad(i: u32) -> vec4<f32> { return z[i / 4u]; }
fn a_at(i: u32) -> f32 { return z[i / 4u][i % 4u]; }
fn b_quad(i: u32) -> vec4<f32> { return z[i / 4u]; }
fn b_at(i: u32) -> f32 { return z[i / 4u][i % 4u]; }

// [col in tile][row / 4]: the weight tile, k-major like tile_a.
var<workgroup> tile_w: array<vec4<f32>, 1024>;

@compute @workgroup_size(16, 16, 1)
fn nt_xent_backward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid3: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let tx = lid3.x;
    let ty = lid3.y;
    let m0 = wid.x * TILE;
    let d0 = wid.y * TILE;
    let weight = 1.0 / f32(dims.rows);
    var row_lse = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var i = 0u; i < 4u; i++) {
        let row = m0 + ty * 4u + i;
        if row < dims.rows {
            row_lse[i] = lse[row];
        }
    }
    var out = array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    for (var n0 = 0u; n0 < dims.rows; n0 += TILE) {
        let acc = tile_product(lid, tx, ty, m0, n0, dims.rows, dims.rows, dims.dim);
        for (var j = 0u; j < 4u; j++) {
            let col = n0 + tx * 4u + j;
            var col_lse = 0.0;
            if col < dims.rows {
                col_lse = lse[col];
            }
            for (var i = 0u; i < 4u; i++) {
                let row = m0 + ty * 4u + i;
                var w = 0.0;
                if col < dims.rows && row < dims.rows && col != row {
                    let s = acc[i][j] * dims.inv_t;
                    w = (exp(s - row_lse[i]) + exp(s - col_lse)) * weight;
                    if col == (row + dims.half) % dims.rows {
                        w -= 2.0 * weight;
                    }
                }
                tile_w[(tx * 4u + j) * TILE4 + ty][i] = w;
            }
        }
        // tile_b is free again (tile_product ended with a barrier): stage zn[cols, dims]
        // through it in slices of 16 columns.
        for (var kc = 0u; kc < TILE; kc += BK) {
            let kk = lid / 16u;
            let dq = (lid % 16u) * 4u;
            let col = n0 + kc + kk;
            var q = vec4<f32>(0.0);
            if col < dims.rows && d0 + dq < dims.dim {
                q = quad_of_a(col * dims.dim + d0 + dq, dims.dim - d0 - dq);
            }
            tile_b[kk * TILE4 + dq / 4u] = q;
            workgroupBarrier();
            for (var k = 0u; k < BK; k++) {
                let wv = tile_w[(kc + k) * TILE4 + ty];
                let zv = tile_b[k * TILE4 + tx];
                out[0] += wv.x * zv;
                out[1] += wv.y * zv;
                out[2] += wv.z * zv;
                out[3] += wv.w * zv;
            }
            workgroupBarrier();
        }
    }
    for (var i = 0u; i < 4u; i++) {
        let row = m0 + ty * 4u + i;
        if row >= dims.rows {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let d = d0 + tx * 4u + j;
            if d < dims.dim {
                dz[row * dims.dim + d] = out[i][j] * dims.inv_t;
            }
        }
    }
}
