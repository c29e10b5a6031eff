#version 450
// The included file has an error: it is reported there.
#include "helpers/twice.glsl"
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) writeonly buffer B { float b[]; };
void main() { b[gl_GlobalInvocationID.x] = twice(a[gl_GlobalInvocationID.x]); }
