#version 450
// Needs the macros GAIN and NAME from the ptask's `define`s.
#ifndef GAIN
#error GAIN is not defined
#endif
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) writeonly buffer B { float b[]; };
void main() { b[gl_GlobalInvocationID.x] = GAIN * a[gl_GlobalInvocationID.x]; }
