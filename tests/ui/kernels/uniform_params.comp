#version 450
// Params in a uniform block at binding 2 (after the two ports): a float,
// then an int where the ptask has a float.
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) writeonly buffer B { float b[]; };
layout(std140, set = 0, binding = 2) uniform Params { float gain; int bias; } p;
void main() { b[gl_GlobalInvocationID.x] = p.gain * a[gl_GlobalInvocationID.x] + float(p.bias); }
