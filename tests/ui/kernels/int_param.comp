#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) writeonly buffer B { float b[]; };
layout(push_constant) uniform Params { int k; float bias; uint n; } p;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < p.n) { b[i] = float(p.k) * a[i] + p.bias; }
}
