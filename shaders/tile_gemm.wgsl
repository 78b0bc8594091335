// Shared register-blocked tile product, prepended (as text) to every kernel that
// multiplies two matrices: matmul.wgsl, nt_xent_forward.wgsl, nt_xent_backward.wgsl.
//
// The host puts one line before it, `const REG: u32 = 4u;` or `8u;`: each of the
// 16 x 16 invocations of a workgroup owns a REG x REG block of C, so the workgroup
// owns a TILE x TILE tile (64 or 128). The K dimension is walked in slices of 16: each
// slice of op(A) (TILE x 16) and of op(B) (16 x TILE) is staged in workgroup memory,
// k-major, as vec4s; per k an invocation reads REG/4 vec4s of A rows and REG/4 of B
// columns and does REG^2 FMAs on registers. An invocation's rows (and columns) are
// REG/4 groups of 4, one group every 64, so that neighbouring invocations read
// neighbouring vec4s (no bank conflicts):
//   row(i) = (i / 4) * 64 + 4 ty + i % 4,   col(j) = (j / 4) * 64 + 4 tx + j % 4.
//
// The including shader defines how to read its operands from storage:
//   fn a_quad(i: u32) -> vec4<f32>   the aligned vec4 holding flat elements i..i+4 (i % 4 == 0)
//   fn a_at(i: u32) -> f32           flat element i
//   fn b_quad / b_at                 the same for B
// Storage is row-major. op(A) is M x K, op(B) is K x N.

const LANES: u32 = 16u;                   // invocations per side
const TILE: u32 = LANES * REG;            // rows and columns of the C tile
const BK: u32 = 16u;                      // depth of one staged K slice
const TILE4: u32 = TILE / 4u;             // vec4s per row of a staged slice
const GROUPS: u32 = REG / 4u;             // groups of 4 rows (columns) per invocation
const QUADS: u32 = TILE * BK / 4u / 256u; // quads each invocation stages per operand

// Transpose flags: A is stored K x M when TRANS_A, B is stored N x K when TRANS_B.
override TRANS_A: bool = false;
override TRANS_B: bool = false;
// Set by the host when the contiguous (stored row) length of the operand is a
// multiple of 4, so that every in-range quad is a 16-byte aligned vec4 load.
override VEC_A: bool = false;
override VEC_B: bool = false;

// [k][m / 4]: the slice of op(A), one vec4 = four consecutive rows of one k.
var<workgroup> tile_a: array<vec4<f32>, BK * TILE4>;
// [k][n / 4]: the slice of op(B), one vec4 = four consecutive columns of one k.
var<workgroup> tile_b: array<vec4<f32>, BK * TILE4>;

// Offset of an invocation's i-th row (or column) inside the tile.
fn block_offset(lane: u32, i: u32) -> u32 {
    return (i / 4u) * 64u + lane * 4u + i % 4u;
}

// Four consecutive stored elements from flat index i, of which `valid` are in range
// (the rest read as 0). The vec4 path needs alignment, which VEC_* guarantees.
fn quad_of_a(i: u32, valid: u32) -> vec4<f32> {
    if VEC_A && valid >= 4u {
        return a_quad(i);
    }
    var q = vec4<f32>(0.0);
    for (var c = 0u; c < min(valid, 4u); c++) {
        q[c] = a_at(i + c);
    }
    return q;
}

fn quad_of_b(i: u32, valid: u32) -> vec4<f32> {
    if VEC_B && valid >= 4u {
        return b_quad(i);
    }
    var q = vec4<f32>(0.0);
    for (var c = 0u; c < min(valid, 4u); c++) {
        q[c] = b_at(i + c);
    }
    return q;
}

// Stage the K slice [k0, k0 + 16) of op(A) rows [m0, m0 + TILE) and op(B) columns
// [n0, n0 + TILE). Out-of-range elements become 0, so edge tiles need no special
// case in the product.
fn stage_slices(lid: u32, m0: u32, n0: u32, k0: u32, m: u32, n: u32, k: u32) {
    for (var s = 0u; s < QUADS; s++) {
        let qid = lid + s * 256u;
        if TRANS_A {
            // Stored K x M: a quad runs along m and lands as one vec4.
            let kk = qid / TILE4;
            let mq = (qid % TILE4) * 4u;
            var q = vec4<f32>(0.0);
            if k0 + kk < k && m0 + mq < m {
                q = quad_of_a((k0 + kk) * m + m0 + mq, m - m0 - mq);
            }
            tile_a[kk * TILE4 + mq / 4u] = q;
        } else {
            // Stored M x K: a quad runs along k and is scattered over four k rows.
            let r = qid / 4u;
            let kq = (qid % 4u) * 4u;
            var q = vec4<f32>(0.0);
            if m0 + r < m && k0 + kq < k {
                q = quad_of_a((m0 + r) * k + k0 + kq, k - k0 - kq);
            }
            for (var c = 0u; c < 4u; c++) {
                tile_a[(kq + c) * TILE4 + r / 4u][r % 4u] = q[c];
            }
        }
        if TRANS_B {
            // Stored N x K: a quad runs along k.
            let r = qid / 4u;
            let kq = (qid % 4u) * 4u;
            var q = vec4<f32>(0.0);
            if n0 + r < n && k0 + kq < k {
                q = quad_of_b((n0 + r) * k + k0 + kq, k - k0 - kq);
            }
            for (var c = 0u; c < 4u; c++) {
                tile_b[(kq + c) * TILE4 + r / 4u][r % 4u] = q[c];
            }
        } else {
            // Stored K x N: a quad runs along n.
            let kk = qid / TILE4;
            let nq = (qid % TILE4) * 4u;
            var q = vec4<f32>(0.0);
            if k0 + kk < k && n0 + nq < n {
                q = quad_of_b((k0 + kk) * n + n0 + nq, n - n0 - nq);
            }
            tile_b[kk * TILE4 + nq / 4u] = q;
        }
    }
}

// The TILE x TILE tile of op(A) op(B) at (m0, n0). Invocation (tx, ty) returns its
// REG x REG block: element [i * GROUPS + j / 4][j % 4] is C at tile row
// block_offset(ty, i) and tile column block_offset(tx, j).
// Must be called in uniform control flow (it contains barriers).
fn tile_product(lid: u32, tx: u32, ty: u32, m0: u32, n0: u32, m: u32, n: u32, k: u32) -> array<vec4<f32>, REG * GROUPS> {
    var acc: array<vec4<f32>, REG * GROUPS>;
    for (var i = 0u; i < REG * GROUPS; i++) {
        acc[i] = vec4<f32>(0.0);
    }
    for (var k0 = 0u; k0 < k; k0 += BK) {
        stage_slices(lid, m0, n0, k0, m, n, k);
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            var bv: array<vec4<f32>, GROUPS>;
            for (var g = 0u; g < GROUPS; g++) {
                bv[g] = tile_b[kk * TILE4 + g * LANES + tx];
            }
            for (var g = 0u; g < GROUPS; g++) {
                let av = tile_a[kk * TILE4 + g * LANES + ty];
                for (var h = 0u; h < GROUPS; h++) {
                    acc[(g * 4u + 0u) * GROUPS + h] += av.x * bv[h];
                    acc[(g * 4u + 1u) * GROUPS + h] += av.y * bv[h];
                    acc[(g * 4u + 2u) * GROUPS + h] += av.z * bv[h];
                    acc[(g * 4u + 3u) * GROUPS + h] += av.w * bv[h];
                }
            }
        }
        workgroupBarrier();
    }
    return acc;
}
