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
//
// How it is computed (radius <= R, the default radius 4):
// - Each invocation filters a block of PX x ROWS pixels: PX adjacent pixels of
//   a row, ROWS rows down. It walks down the block holding a window of
//   2R + 1 rows of PX + 2R depths in registers, so each depth is loaded once
//   per block (not once per tap: 49 taps per pixel) and the loads per output
//   pixel are (PX + 2R)(ROWS + 2R) / (PX ROWS) = 1.6 with the constants below.
// - The range weight of a pair is symmetric, so a pair of pixels both in the
//   block is weighed once (from the upper, or left, pixel) and added to both
//   pixels' sums; the sums of the R rows below are carried in registers. This
//   halves the exp() calls. To give the block's first rows their pairs with the
//   R rows above it, the walk starts R rows early (their outputs are not
//   written). Pairs reaching outside the block's columns are weighed from the
//   block pixel only.
// - Dropouts and taps outside the image load as DROPOUT, a depth so far from
//   any real one that its weight underflows: no per-tap test. Weights are
//   exp2 of the exponent (log2(e) folded into the constants), with a cubic
//   exp2 (relative error < 1e-4) whose smallest result is a normal float: the
//   filtered depth moves by about 0.01 mm at most (measured: 0.0024 mm from
//   the CPU reference; the tests allow 0.05 mm), and no denormal ever reaches
//   the FPU (x86 lavapipe slowed down ~35% on them).
// A radius above R takes the direct path (every tap loaded; slower).
//
// Per device (graphs/gesture.pt sets `grid [W / PX, H / ROWS]`: keep it in
// step): the constants below are for lavapipe, where an invocation is a lane of
// an 8-wide CPU vector, every buffer load or store is a scalar loop over the 8
// lanes, registers spill cheaply to the CPU stack, and a workgroup is the unit
// handed to a CPU thread: big blocks (few loads, shared weights) and small
// workgroups (25..50 of them balance 2..16 threads). On a discrete GPU the same
// blocks give only 400 invocations for thousands of lanes and spill to local
// memory: use PX = 2, ROWS = 8, WG_X = 64 (19,200 invocations), or PX = 1,
// ROWS = 4 on a large GPU. PX also sets the size of the unrolled code: at
// PX = 16 lavapipe spends ~0.75 s more CPU creating the pipeline than for a
// 1-pixel kernel, at every ptc run (0.2 s at PX = 8, ~5% slower per frame).
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_control_flow_attributes : require

const int PX = 16;     // pixels per invocation along x (W must be a multiple)
const int ROWS = 48;   // rows per invocation (H must be a multiple)
const uint WG_X = 8u;  // invocations per workgroup (all along x)
const int R = 4;       // largest radius of the register window (OpenCV d = 9)

layout(local_size_x = WG_X) in;
layout(std430, set = 0, binding = 0) readonly buffer Raw { uint16_t raw[]; };
layout(std430, set = 0, binding = 1) readonly buffer Intrinsics { vec4 intrinsics[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Cloud { vec4 cloud[]; };
layout(push_constant) uniform Params {
    float sigma_space;
    float sigma_range;
    uint radius;
} p;

// The image size: specialization constants (graphs/gesture.pt sets them
// from its consts W and H; these defaults are the 640x480 camera's).
layout(constant_id = 0) const int W = 640;
layout(constant_id = 1) const int H = 480;
// The intrinsics describe the camera at 640 pixels wide; a smaller image of
// the same view has them scaled by W / 640 (the graph sets K_SCALE).
layout(constant_id = 2) const float K_SCALE = 1.0;
const int SPAN = PX + 2 * R;
// Depth given to dropouts and taps outside the image: (DROPOUT - D)^2 / (2
// sigma_range^2) is beyond exp2's range for any sigma_range < 10^7 mm.
const float DROPOUT = 1.0e9;
const float LOG2E = 1.4426950408889634;

float depth_at(int x, int y) {
    bool inside = x >= 0 && x < W && y >= 0 && y < H;
    uint v = uint(raw[clamp(y, 0, H - 1) * W + clamp(x, 0, W - 1)]);
    return inside && v != 0u ? float(v) : DROPOUT;
}

// 2^x for x <= 0: cubic minimax of 2^f on [0, 1) (relative error < 7.6e-5)
// times 2^floor(x) put in the exponent bits; x is clamped to -125 so that the
// result stays a normal float (>= 2.3e-38, which any real tap's weight, 1 for
// the centre, absorbs).
float exp2_fast(float x) {
    x = max(x, -125.0);
    float xi = floor(x);
    float f = x - xi;
    float m = fma(fma(fma(7.80245227e-2, f, 2.26067155e-1), f, 6.95833540e-1), f, 9.99925219e-1);
    return intBitsToFloat(floatBitsToInt(m) + (int(xi) << 23));
}

vec4 back_project(int x, int y, float z, vec4 k) {
    return vec4((float(x) - k.z) * z / k.x, (float(y) - k.w) * z / k.y, z, 1.0);
}

// The intrinsics (fx, fy, cx, cy) of the 640-wide camera for this image:
// focal lengths scale with the width, and so do pixel centres.
vec4 scaled_intrinsics(vec4 k) {
    return K_SCALE == 1.0 ? k : vec4(k.xy * K_SCALE, (k.zw + 0.5) * K_SCALE - 0.5);
}

// Any radius up to 32: every tap loaded, exp() per tap, in the order of the
// CPU reference. Row by row; taps in chunks of 8 along x, each applied to the
// PX pixels of the row at once. (lavapipe ends a loop after 65,535 iterations
// of all loops of one invocation, so the loops here must not count taps: at
// most ROWS (2r + 1) ceil((2r + 1) / 8) = 28,080 iterations.)
void filter_direct(int x0, int y0, int r, vec4 k) {
    float ks = -0.5 / (p.sigma_space * p.sigma_space);
    float kr = -0.5 / (p.sigma_range * p.sigma_range);
    for (int j = 0; j < ROWS; ++j) {
        int y = y0 + j;
        float c[PX], sum[PX], wsum[PX];
        [[unroll]] for (int i = 0; i < PX; ++i) {
            c[i] = depth_at(x0 + i, y);
            sum[i] = 0.0;
            wsum[i] = 0.0;
        }
        for (int dy = -r; dy <= r; ++dy) {
            for (int dx0 = -r; dx0 <= r; dx0 += 8) {
                float v[PX + 7];
                [[unroll]] for (int t = 0; t < PX + 7; ++t) v[t] = depth_at(x0 + dx0 + t, y + dy);
                [[unroll]] for (int t = 0; t < 8; ++t) {
                    int dx = dx0 + t;
                    int d2 = dx * dx + dy * dy;
                    bool on = dx <= r && d2 <= r * r;
                    [[unroll]] for (int i = 0; i < PX; ++i) {
                        float q = v[i + t];
                        float dv = q - c[i];
                        float w = exp(ks * float(d2) + kr * dv * dv);
                        w = on && q != DROPOUT ? w : 0.0;
                        sum[i] += w * q;
                        wsum[i] += w;
                    }
                }
            }
        }
        [[unroll]] for (int i = 0; i < PX; ++i) {
            int x = x0 + i;
            if (x < W && y < H) {
                cloud[y * W + x] = c[i] == DROPOUT ? vec4(0.0) : back_project(x, y, sum[i] / wsum[i], k);
            }
        }
    }
}

void main() {
    int x0 = int(gl_GlobalInvocationID.x) * PX;
    int y0 = int(gl_GlobalInvocationID.y) * ROWS;
    if (x0 >= W || y0 >= H) return;
    vec4 k = scaled_intrinsics(intrinsics[0]);
    int r = int(min(p.radius, 32u));
    if (r > R) {
        filter_direct(x0, y0, r, k);
        return;
    }
    // Exponent of the spatial weight by |dx|, |dy|; taps beyond the radius get
    // a weight that underflows (as dropouts).
    float ks = -0.5 * LOG2E / (p.sigma_space * p.sigma_space);
    float kr = -0.5 * LOG2E / (p.sigma_range * p.sigma_range);
    float sl[R + 1][R + 1];
    [[unroll]] for (int dy = 0; dy <= R; ++dy) {
        [[unroll]] for (int dx = 0; dx <= R; ++dx) {
            int d2 = dx * dx + dy * dy;
            sl[dy][dx] = d2 <= r * r ? ks * float(d2) : -1.0e30;
        }
    }
    // win[R + dy][R + i] = depth at (x0 + i, y + dy), dy in [-R, R], i in [-R, PX + R).
    // ws[dy][i], ww[dy][i] = weighted sum and weight sum so far of (x0 + i, y + dy),
    // dy in [0, R], without the centre tap.
    float win[2 * R + 1][SPAN];
    float ws[R + 1][PX], ww[R + 1][PX];
    [[unroll]] for (int j = 0; j <= R; ++j) {
        [[unroll]] for (int i = 0; i < PX; ++i) { ws[j][i] = 0.0; ww[j][i] = 0.0; }
    }
    [[unroll]] for (int j = 1; j <= 2 * R; ++j) {
        [[unroll]] for (int i = 0; i < SPAN; ++i) win[j][i] = depth_at(x0 - R + i, y0 - 2 * R - 1 + j);
    }
    for (int row = -R; row < ROWS; ++row) {
        int y = y0 + row;
        [[unroll]] for (int j = 0; j < 2 * R; ++j) {
            [[unroll]] for (int i = 0; i < SPAN; ++i) win[j][i] = win[j + 1][i];
        }
        [[unroll]] for (int i = 0; i < SPAN; ++i) win[2 * R][i] = depth_at(x0 - R + i, y + R);
        [[unroll]] for (int i = 0; i < PX; ++i) {
            float c = win[R][R + i];
            [[unroll]] for (int dy = -R; dy <= R; ++dy) {
                [[unroll]] for (int dx = -R; dx <= R; ++dx) {
                    if (dx * dx + dy * dy > R * R || (dx == 0 && dy == 0)) continue;
                    bool in_block = i + dx >= 0 && i + dx < PX;
                    bool from_here = dy > 0 || (dy == 0 && dx > 0);
                    if (in_block && !from_here) continue; // weighed by the other pixel
                    float v = win[R + dy][R + i + dx];
                    float dv = v - c;
                    float w = exp2_fast(fma(kr * dv, dv, sl[abs(dy)][abs(dx)]));
                    ws[0][i] = fma(w, v, ws[0][i]);
                    ww[0][i] += w;
                    if (in_block) {
                        ws[dy][i + dx] = fma(w, c, ws[dy][i + dx]);
                        ww[dy][i + dx] += w;
                    }
                }
            }
            int x = x0 + i;
            // The centre tap: weight 1.
            float z = (ws[0][i] + c) / (ww[0][i] + 1.0);
            if (row >= 0 && y < H && x < W) {
                cloud[y * W + x] = c == DROPOUT ? vec4(0.0) : back_project(x, y, z, k);
            }
        }
        [[unroll]] for (int j = 0; j < R; ++j) {
            [[unroll]] for (int i = 0; i < PX; ++i) { ws[j][i] = ws[j + 1][i]; ww[j][i] = ww[j + 1][i]; }
        }
        [[unroll]] for (int i = 0; i < PX; ++i) { ws[R][i] = 0.0; ww[R][i] = 0.0; }
    }
}
