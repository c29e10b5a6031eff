#version 450
// A light per-frame kernel for the scheduler benchmarks: a 3-tap smoothing
// of a 480x640 frame (stand-in for an interactive pipeline stage).
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, set = 0, binding = 0) readonly buffer Src { float src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst { float dst[]; };
void main() {
    uint x = gl_GlobalInvocationID.x;
    uint y = gl_GlobalInvocationID.y;
    if (x >= 640u || y >= 480u) { return; }
    uint i = y * 640u + x;
    float l = src[y * 640u + max(x, 1u) - 1u];
    float r = src[y * 640u + min(x + 1u, 639u)];
    dst[i] = 0.25 * l + 0.5 * src[i] + 0.25 * r;
}
