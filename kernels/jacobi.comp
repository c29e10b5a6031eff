#version 450
// One Jacobi sweep for -u'' = f on a uniform 1-D grid with u = 0 beyond
// both ends: y[i] = (x[i-1] + x[i+1] + h2 * f[i]) / 2.
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer F { float f[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params { float h2; } p;
void main() {
    uint i = gl_GlobalInvocationID.x;
    uint n = y.length();
    if (i >= n) { return; }
    float l = i > 0 ? x[i - 1] : 0.0;
    float r = i + 1 < n ? x[i + 1] : 0.0;
    y[i] = 0.5 * (l + r + p.h2 * f[i]);
}
