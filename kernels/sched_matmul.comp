#version 450
// C = A x B for n x n row-major matrices, repeated `reps` times into the same
// output (a tunable GPU load for the scheduler benchmarks).
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Params { uint n; uint reps; } p;
void main() {
    uint row = gl_GlobalInvocationID.y;
    uint col = gl_GlobalInvocationID.x;
    if (row >= p.n || col >= p.n) { return; }
    float acc = 0.0;
    for (uint r = 0u; r < p.reps; ++r) {
        float s = 0.0;
        for (uint k = 0u; k < p.n; ++k) { s += a[row * p.n + k] * b[k * p.n + col]; }
        acc += s;
    }
    c[row * p.n + col] = acc;
}
