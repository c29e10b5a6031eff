#version 450
// c[M, N] = a[M, K] * b[K, N] (row-major), in TILE x TILE tiles staged in
// shared memory. TILE, M, K and N are specialization constants; the
// workgroup is TILE x TILE (local_size_x_id / local_size_y_id).
layout(local_size_x_id = 0, local_size_y_id = 0) in;
layout(constant_id = 0) const uint TILE = 16;
layout(constant_id = 1) const uint M = 64;
layout(constant_id = 2) const uint K = 64;
layout(constant_id = 3) const uint N = 64;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer C { float c[]; };
shared float ta[TILE * TILE];
shared float tb[TILE * TILE];
void main() {
    uint col = gl_GlobalInvocationID.x;
    uint row = gl_GlobalInvocationID.y;
    uint lx = gl_LocalInvocationID.x;
    uint ly = gl_LocalInvocationID.y;
    float acc = 0.0;
    for (uint t = 0; t < K; t += TILE) {
        uint ak = t + lx;
        uint bk = t + ly;
        ta[ly * TILE + lx] = (row < M && ak < K) ? a[row * K + ak] : 0.0;
        tb[ly * TILE + lx] = (bk < K && col < N) ? b[bk * N + col] : 0.0;
        barrier();
        for (uint k = 0; k < TILE; ++k) {
            acc += ta[ly * TILE + k] * tb[k * TILE + lx];
        }
        barrier();
    }
    if (row < M && col < N) {
        c[row * N + col] = acc;
    }
}
