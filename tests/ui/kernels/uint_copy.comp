#version 450
// Source of uint_copy.spv (`glslc -fshader-stage=compute --target-env=vulkan1.2
// uint_copy.comp -o uint_copy.spv`): copies uints.
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer A { uint a[]; };
layout(std430, set = 0, binding = 1) writeonly buffer B { uint b[]; };
void main() { b[gl_GlobalInvocationID.x] = a[gl_GlobalInvocationID.x]; }
