#version 450
// c = a x b for n x n row-major matrices (one invocation per element of c).
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Params { uint n; } p;
void main() {
    uint col = gl_GlobalInvocationID.x;
    uint row = gl_GlobalInvocationID.y;
    if (row >= p.n || col >= p.n) { return; }
    float s = 0.0;
    for (uint k = 0; k < p.n; ++k) {
        s += a[row * p.n + k] * b[k * p.n + col];
    }
    c[row * p.n + col] = s;
}
