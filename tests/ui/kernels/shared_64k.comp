#version 450
// 16384 floats = 64 KiB of shared memory: more than ptc's baseline (32 KiB).
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) writeonly buffer B { float b[]; };
shared float tile[16384];
void main() {
    uint i = gl_GlobalInvocationID.x;
    tile[gl_LocalInvocationID.x] = a[i];
    barrier();
    b[i] = tile[255 - gl_LocalInvocationID.x];
}
