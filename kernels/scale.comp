#version 450
// b[i] = k * a[i]
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) writeonly buffer B { float b[]; };
layout(push_constant) uniform Params { float k; } p;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < a.length()) { b[i] = p.k * a[i]; }
}
