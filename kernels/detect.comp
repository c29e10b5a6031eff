#version 450
// detect (paper Fig. 2/6): find the hand in a point cloud and turn its motion
// into gesture events. One workgroup of 256 invocations; every reduction is a
// shared-memory tree reduction.
//
// 1. Fit the background as a plane z = f(u, v) by least squares over a 4x4
//    subsampled grid of valid points (pass A), then refit using only points
//    not clearly in front of the first fit (pass B), so a hand does not bias it.
// 2. Hand = valid points more than `near_mm` in front of the plane (pass C,
//    full resolution): pixel count, centroid, extent box, mean depth.
//    Fewer than `min_pixels` hand pixels = no hand.
// 3. A state machine over the last 16 frames (state words, fed back through
//    the seeded cycle next_state -> state) emits events:
//      1 move        every frame with a hand: x, y = centroid in [0,1]^2 image coords
//      2 press       depth decreased by >= press_mm within <= press_frames frames
//      3 release     after a press, the hand moved back by >= press_mm / 2 from its
//                    nearest point, or the hand was lost
//      4 swipe_left  x decreased by >= swipe_frac within <= swipe_frames frames
//      5 swipe_right x increased by >= swipe_frac within <= swipe_frames frames
//    Event.t = the frame counter (frames detect has seen). Unused slots: kind 0.
//
// State words (u32[64]):
//   0 frame counter, 1 pressed flag, 2 nearest depth since press (f32),
//   3 last x, 4 last y (f32), 5 hand pixels of this frame, 6 centroid u,
//   7 centroid v, 8 mean depth, 9..12 box u0 v0 u1 v1 (f32, pixels),
//   16 + 3k + {0,1,2}: history ring slot k = frame % 16: present, x, depth.
//
// The CPU reference is runtime/src/gesture_ref.rs (`detect`); keep them in step.
layout(local_size_x = 256) in;
struct Event { uint kind; float x; float y; float t; };
layout(std430, set = 0, binding = 0) readonly buffer Cloud { vec4 cloud[]; };
layout(std430, set = 0, binding = 1) readonly buffer State { uint state[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Events { Event ev[]; };
layout(std430, set = 0, binding = 3) writeonly buffer NextState { uint next_state[]; };
layout(push_constant) uniform Params {
    float near_mm;
    uint min_pixels;
    float press_mm;
    uint press_frames;
    float swipe_frac;
    uint swipe_frames;
} p;

const uint W = 640u, H = 480u, N = W * H;
const uint SUB = 4u, SW = W / SUB, SH = H / SUB, SN = SW * SH;
const uint T = 256u;
const uint HIST = 16u;

shared float red[9][T];
shared float plane_s[3];
shared bool plane_ok;

// Normalised coordinates of pixel (u, v) used by the plane fit.
vec3 fit_coords(uint u, uint v, float z) {
    return vec3((float(u) - 319.5) / 320.0, (float(v) - 239.5) / 240.0, (z - 2000.0) / 1000.0);
}

float plane_at(uint u, uint v) {
    vec3 q = fit_coords(u, v, 2000.0);
    return 2000.0 + 1000.0 * (plane_s[0] + plane_s[1] * q.x + plane_s[2] * q.y);
}

void reduce_sum(uint t, uint count) {
    for (uint k = T / 2u; k > 0u; k >>= 1) {
        if (t < k) {
            for (uint j = 0u; j < count; ++j) red[j][t] += red[j][t + k];
        }
        barrier();
    }
}

// Least-squares plane over the subsampled grid. With `refine`, only points
// not more than near_mm in front of the current plane take part.
void fit_plane(uint t, bool refine) {
    float s[9] = float[9](0., 0., 0., 0., 0., 0., 0., 0., 0.);
    for (uint i = t; i < SN; i += T) {
        uint u = (i % SW) * SUB + 2u, v = (i / SW) * SUB + 2u;
        vec4 c = cloud[v * W + u];
        if (c.w <= 0.0) continue;
        if (refine && c.z < plane_at(u, v) - p.near_mm) continue;
        vec3 q = fit_coords(u, v, c.z);
        s[0] += 1.0; s[1] += q.x; s[2] += q.y; s[3] += q.z;
        s[4] += q.x * q.x; s[5] += q.x * q.y; s[6] += q.y * q.y;
        s[7] += q.x * q.z; s[8] += q.y * q.z;
    }
    // Everyone has read plane_s (refine) before thread 0 overwrites it below.
    for (uint j = 0u; j < 9u; ++j) red[j][t] = s[j];
    barrier();
    reduce_sum(t, 9u);
    if (t == 0u) {
        float n = red[0][0], a = red[1][0], b = red[2][0], z = red[3][0];
        float aa = red[4][0], ab = red[5][0], bb = red[6][0], az = red[7][0], bz = red[8][0];
        // Normal equations [n a b; a aa ab; b ab bb] x = [z; az; bz], Cramer's rule.
        float det = n * (aa * bb - ab * ab) - a * (a * bb - ab * b) + b * (a * ab - aa * b);
        bool ok = n >= 16.0 && abs(det) > 1e-6 * n * n * n;
        if (ok) {
            float d0 = z * (aa * bb - ab * ab) - a * (az * bb - ab * bz) + b * (az * ab - aa * bz);
            float d1 = n * (az * bb - bz * ab) - z * (a * bb - ab * b) + b * (a * bz - az * b);
            float d2 = n * (aa * bz - ab * az) - a * (a * bz - az * b) + z * (a * ab - aa * b);
            plane_s[0] = d0 / det; plane_s[1] = d1 / det; plane_s[2] = d2 / det;
        }
        plane_ok = ok && (refine ? plane_ok : true);
    }
    barrier();
}

float fstate(uint i) { return uintBitsToFloat(state[i]); }

void main() {
    uint t = gl_LocalInvocationID.x;
    if (t == 0u) { plane_s[0] = 0.0; plane_s[1] = 0.0; plane_s[2] = 0.0; plane_ok = false; }
    barrier();
    fit_plane(t, false);
    fit_plane(t, true);
    bool ok = plane_ok;

    // Pass C: segment the hand at full resolution.
    float cnt = 0.0, su = 0.0, sv = 0.0, sz = 0.0;
    float u0 = float(W), v0 = float(H), u1 = -1.0, v1 = -1.0;
    if (ok) {
        for (uint i = t; i < N; i += T) {
            vec4 c = cloud[i];
            uint u = i % W, v = i / W;
            if (c.w <= 0.0 || c.z >= plane_at(u, v) - p.near_mm) continue;
            cnt += 1.0; su += float(u); sv += float(v); sz += c.z;
            u0 = min(u0, float(u)); v0 = min(v0, float(v));
            u1 = max(u1, float(u)); v1 = max(v1, float(v));
        }
    }
    red[0][t] = cnt; red[1][t] = su; red[2][t] = sv; red[3][t] = sz;
    red[4][t] = u0; red[5][t] = v0; red[6][t] = u1; red[7][t] = v1;
    barrier();
    for (uint k = T / 2u; k > 0u; k >>= 1) {
        if (t < k) {
            for (uint j = 0u; j < 4u; ++j) red[j][t] += red[j][t + k];
            red[4][t] = min(red[4][t], red[4][t + k]);
            red[5][t] = min(red[5][t], red[5][t + k]);
            red[6][t] = max(red[6][t], red[6][t + k]);
            red[7][t] = max(red[7][t], red[7][t + k]);
        }
        barrier();
    }
    if (t != 0u) return;

    // The state machine runs on one invocation.
    uint n = state[0];
    uint npix = uint(red[0][0]);
    bool present = ok && npix >= max(p.min_pixels, 1u);
    float cu = 0.0, cv = 0.0, depth = 0.0, x = 0.0, y = 0.0;
    if (present) {
        cu = red[1][0] / red[0][0];
        cv = red[2][0] / red[0][0];
        depth = red[3][0] / red[0][0];
        x = (cu + 0.5) / float(W);
        y = (cv + 0.5) / float(H);
    }
    uint ns[64];
    for (uint i = 0u; i < 64u; ++i) ns[i] = state[i];
    Event out_ev[16];
    for (uint i = 0u; i < 16u; ++i) out_ev[i] = Event(0u, 0.0, 0.0, 0.0);
    uint ne = 0u;
    float tf = float(n);
    bool pressed = state[1] != 0u;
    float dmin = fstate(2);
    if (present) {
        out_ev[ne++] = Event(1u, x, y, tf);
        if (!pressed) {
            uint jmax = min(p.press_frames, HIST - 1u);
            for (uint j = 1u; j <= jmax && j <= n; ++j) {
                uint h = 16u + 3u * ((n - j) % HIST);
                if (ns[h] != 0u && uintBitsToFloat(ns[h + 2u]) - depth >= p.press_mm) {
                    out_ev[ne++] = Event(2u, x, y, tf);
                    pressed = true;
                    dmin = depth;
                    break;
                }
            }
        } else {
            dmin = min(dmin, depth);
            if (depth - dmin >= 0.5 * p.press_mm) {
                out_ev[ne++] = Event(3u, x, y, tf);
                pressed = false;
            }
        }
        uint jmax = min(p.swipe_frames, HIST - 1u);
        for (uint j = 1u; j <= jmax && j <= n; ++j) {
            uint h = 16u + 3u * ((n - j) % HIST);
            if (ns[h] == 0u) continue;
            float dx = x - uintBitsToFloat(ns[h + 1u]);
            if (dx >= p.swipe_frac || dx <= -p.swipe_frac) {
                out_ev[ne++] = Event(dx > 0.0 ? 5u : 4u, x, y, tf);
                // One motion, one swipe: forget the history.
                for (uint k = 0u; k < HIST; ++k) ns[16u + 3u * k] = 0u;
                break;
            }
        }
        ns[3] = floatBitsToUint(x);
        ns[4] = floatBitsToUint(y);
    } else if (pressed) {
        out_ev[ne++] = Event(3u, fstate(3), fstate(4), tf);
        pressed = false;
    }
    ns[0] = n + 1u;
    ns[1] = pressed ? 1u : 0u;
    ns[2] = floatBitsToUint(dmin);
    ns[5] = present ? npix : 0u;
    ns[6] = floatBitsToUint(cu);
    ns[7] = floatBitsToUint(cv);
    ns[8] = floatBitsToUint(depth);
    ns[9] = floatBitsToUint(present ? red[4][0] : 0.0);
    ns[10] = floatBitsToUint(present ? red[5][0] : 0.0);
    ns[11] = floatBitsToUint(present ? red[6][0] : 0.0);
    ns[12] = floatBitsToUint(present ? red[7][0] : 0.0);
    uint h = 16u + 3u * (n % HIST);
    ns[h] = present ? 1u : 0u;
    ns[h + 1u] = floatBitsToUint(x);
    ns[h + 2u] = floatBitsToUint(depth);
    for (uint i = 0u; i < 64u; ++i) next_state[i] = ns[i];
    for (uint i = 0u; i < 16u; ++i) ev[i] = out_ev[i];
}
