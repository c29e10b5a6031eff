#version 450
// The workgroup size and the float F share constant id 3.
layout(local_size_x_id = 3) in;
layout(constant_id = 3) const float F = 1.5;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) writeonly buffer B { float b[]; };
void main() { b[gl_GlobalInvocationID.x] = a[gl_GlobalInvocationID.x] * F; }
