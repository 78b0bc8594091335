// Shared by the per-row kernels (prepended as text): one workgroup of 64 invocations
// per row, a strided partial sum per invocation, then a tree reduction in
// workgroup memory. Rows beyond 65,535 wrap onto the y dimension of the grid.

const ROW_LANES: u32 = 64u;

var<workgroup> partial: array<f32, 64>;

fn row_of(wid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return wid.y * groups.x + wid.x;
}

// Sum of `value` over the 64 invocations; every invocation gets the total.
// Must be called in uniform control flow.
fn workgroup_sum(lane: u32, value: f32) -> f32 {
    partial[lane] = value;
    workgroupBarrier();
    for (var stride = ROW_LANES / 2u; stride > 0u; stride /= 2u) {
        if lane < stride {
            partial[lane] += partial[lane + stride];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}
