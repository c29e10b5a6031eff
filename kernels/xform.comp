#version 450
// xform (paper Fig. 2/6): denoise a depth frame and back-project it to a
// point cloud.
//
// 1. Bilateral filter over a circular window of `radius` pixels (as OpenCV's
//    cv2.bilateralFilter with d = 2*radius+1): weight of neighbour q for centre p
//    exp(-|q-p|^2 / (2 sigma_space^2) - (D(q)-D(p))^2 / (2 sigma_range^2)).
//    Dropout pixels (depth 0) and taps outside the image are ignored; a
//    dropout centre stays invalid.
// 2. Pinhole back-projection with the sticky intrinsics (fx, fy, cx, cy):
//    X = (u - cx) Z / fx, Y = (v - cy) Z / fy; w = 1 valid, all 0 invalid.
//
// The CPU reference is runtime/src/gesture_ref.rs (`bilateral`, `back_project`).
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, set = 0, binding = 0) readonly buffer Raw { uint16_t raw[]; };
layout(std430, set = 0, binding = 1) readonly buffer Intrinsics { vec4 intrinsics[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Cloud { vec4 cloud[]; };
layout(push_constant) uniform Params {
    float sigma_space;
    float sigma_range;
    uint radius;
} p;
const int W = 640, H = 480;

float depth_at(int x, int y) { return float(uint(raw[y * W + x])); }

void main() {
    ivec2 g = ivec2(gl_GlobalInvocationID.xy);
    if (g.x >= W || g.y >= H) return;
    uint idx = uint(g.y * W + g.x);
    float c = depth_at(g.x, g.y);
    if (c == 0.0) { cloud[idx] = vec4(0.0); return; }
    float ks = -0.5 / (p.sigma_space * p.sigma_space);
    float kr = -0.5 / (p.sigma_range * p.sigma_range);
    int r = int(min(p.radius, 32u));
    float sum = 0.0, wsum = 0.0;
    for (int dy = -r; dy <= r; ++dy) {
        int y = g.y + dy;
        if (y < 0 || y >= H) continue;
        for (int dx = -r; dx <= r; ++dx) {
            int x = g.x + dx;
            int d2 = dx * dx + dy * dy;
            if (x < 0 || x >= W || d2 > r * r) continue;
            float v = depth_at(x, y);
            if (v == 0.0) continue;
            float dv = v - c;
            float w = exp(ks * float(d2) + kr * dv * dv);
            sum += w * v;
            wsum += w;
        }
    }
    // wsum >= 1: the centre itself is a valid tap with weight exp(0).
    float z = sum / wsum;
    vec4 k = intrinsics[0];
    cloud[idx] = vec4((float(g.x) - k.z) * z / k.x, (float(g.y) - k.w) * z / k.y, z, 1.0);
}
