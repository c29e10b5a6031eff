#version 450
// z[i] = alpha * x[i] + y[i]. The param lives in a uniform block at
// binding 3 (the number of ports), std140.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Y { float y[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Z { float z[]; };
layout(std140, set = 0, binding = 3) uniform Params { float alpha; } p;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < z.length()) {
        z[i] = p.alpha * x[i] + y[i];
    }
}
