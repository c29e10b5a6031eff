#version 450
// One pass of a separable Gaussian blur of a W x H image (row-major):
// along x if AXIS is 0, along y if AXIS is 1 (a macro: `define AXIS`).
// W, H and RADIUS are specialization constants; edges clamp.
#include "blur_weights.glsl"
layout(local_size_x = 16, local_size_y = 16) in;
layout(constant_id = 0) const uint W = 64;
layout(constant_id = 1) const uint H = 64;
layout(constant_id = 2) const int RADIUS = 2;
layout(std430, set = 0, binding = 0) readonly buffer Src { float src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst { float dst[]; };
void main() {
    uint x = gl_GlobalInvocationID.x;
    uint y = gl_GlobalInvocationID.y;
    if (x >= W || y >= H) {
        return;
    }
    float acc = 0.0;
    float norm = 0.0;
    for (int d = -RADIUS; d <= RADIUS; ++d) {
#if AXIS == 0
        int sx = clamp(int(x) + d, 0, int(W) - 1);
        int sy = int(y);
#else
        int sx = int(x);
        int sy = clamp(int(y) + d, 0, int(H) - 1);
#endif
        float w = blur_weight(d, RADIUS);
        acc += w * src[uint(sy) * W + uint(sx)];
        norm += w;
    }
    dst[y * W + x] = acc / norm;
}
