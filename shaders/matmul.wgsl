// C = alpha op(A) op(B), any shape. The tiling lives in tile_gemm.wgsl (prepended,
// with REG = 8: 128 x 128 tiles, 8 x 8 per invocation). Operands are bound as arrays
// of vec4 (buffers are padded to 16 bytes), so an aligned quad is one load and a lone
// element is a component of one.

struct Dims {
    m: u32,
    n: u32,
    k: u32,
    alpha: f32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

fn a_quad(i: u32) -> vec4<f32> { return a[i / 4u]; }
fn a_at(i: u32) -> f32 { return a[i / 4u][i % 4u]; }
fn b_quad(i: u32) -> vec4<f32> { return b[i / 4u]; }
fn b_at(i: u32) -> f32 { return b[i / 4u][i % 4u]; }

@compute @workgroup_size(16, 16, 1)
fn matmul(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid3: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let m0 = wid.y * TILE;
    let n0 = wid.x * TILE;
    let acc = tile_product(lid, lid3.x, lid3.y, m0, n0, dims.m, dims.n, dims.k);
    for (var i = 0u; i < REG; i++) {
        let row = m0 + block_offset(lid3.y, i);
        if row >= dims.m {
            continue;
        }
        for (var j = 0u; j < REG; j++) {
            let col = n0 + block_offset(lid3.x, j);
            if col < dims.n {
                c[row * dims.n + col] = dims.alpha * acc[i * GROUPS + j / 4u][j % 4u];
            }
        }
    }
}
