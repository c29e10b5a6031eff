#version 450
// b[i] = k * a[i]. The workgroup size is the spec constant WG (the
// template sets it; glslang gives the local size its own default of 1).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) writeonly buffer B { float b[]; };
layout(push_constant) uniform Params { float k; } p;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < b.length()) {
        b[i] = p.k * a[i];
    }
}
