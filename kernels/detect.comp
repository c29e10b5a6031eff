#version 450
// detect, pass 3 of 3 (graphs/gesture.pt: detect_plane -> detect_hand -> detect):
// combine detect_hand's per-workgroup partials into the hand of this frame
// (pixel count, centroid, extent box, mean depth; fewer than `min_pixels`
// hand pixels = no hand), then turn its motion into gesture events with a
// state machine over the last 16 frames (state words, fed back through the
// seeded cycle next_state -> state):
//   1 move        every frame with a hand: x, y = centroid in [0,1]^2 image coords
//   2 press       depth decreased by >= press_mm within <= press_frames frames
//   3 release     after a press, the hand moved back by >= press_mm / 2 from its
//                 nearest point, or the hand was lost
//   4 swipe_left  x decreased by >= swipe_frac within <= swipe_frames frames
//   5 swipe_right x increased by >= swipe_frac within <= swipe_frames frames
// Event.t = the frame counter (frames detect has seen). Unused slots: kind 0.
//
// State words (u32[64]):
//   0 frame counter, 1 pressed flag, 2 nearest depth since press (f32),
//   3 last x, 4 last y (f32), 5 hand pixels of this frame, 6 centroid u,
//   7 centroid v, 8 mean depth, 9..12 box u0 v0 u1 v1 (f32, pixels),
//   16 + 3k + {0,1,2}: history ring slot k = frame % 16: present, x, depth.
//
// One small workgroup: the partials are a few hundred words (their count is
// the buffer's length, so detect_hand's ROWS_PER_WG can change without this
// kernel). Pixel counts and coordinate sums are exact u32 sums; the depth sum
// is f32 (the CPU reference, runtime/src/gesture_ref.rs `detect`, sums in
// f64: keep the two in step).
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

const uint T = 64u;
layout(local_size_x = T) in;
struct Event { uint kind; float x; float y; float t; };
layout(std430, set = 0, binding = 0) readonly buffer Partials { uint partials[]; };
layout(std430, set = 0, binding = 1) readonly buffer State { uint state[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Events { Event ev[]; };
layout(std430, set = 0, binding = 3) writeonly buffer NextState { uint next_state[]; };
layout(push_constant) uniform Params {
    uint min_pixels;
    float press_mm;
    uint press_frames;
    float swipe_frac;
    uint swipe_frames;
} p;

// The image size: specialization constants (graphs/gesture.pt sets them;
// the defaults are the 640x480 camera's).
layout(constant_id = 0) const uint W = 640u;
layout(constant_id = 1) const uint H = 480u;
const uint HIST = 16u;

shared uint s_cnt[T], s_su[T], s_sv[T], s_u0[T], s_v0[T], s_u1[T], s_v1[T];
shared float s_sz[T];

float fstate(uint i) { return uintBitsToFloat(state[i]); }

// Exact-as-f32 quotient of two u32s (float(a) alone rounds a above 2^24).
float fdiv(uint a, uint b) { return float(a / b) + float(a % b) / float(b); }

void main() {
    uint t = gl_LocalInvocationID.x;
    uint np = uint(partials.length()) / 8u;
    uint cnt = 0u, su = 0u, sv = 0u;
    float sz = 0.0;
    uint u0 = 0xffffffffu, v0 = 0xffffffffu, u1 = 0u, v1 = 0u;
    for (uint g = t; g < np; g += T) {
        uint o = g * 8u;
        cnt += partials[o]; su += partials[o + 1u]; sv += partials[o + 2u];
        sz += uintBitsToFloat(partials[o + 3u]);
        u0 = min(u0, partials[o + 4u]); v0 = min(v0, partials[o + 5u]);
        u1 = max(u1, partials[o + 6u]); v1 = max(v1, partials[o + 7u]);
    }
    cnt = subgroupAdd(cnt); su = subgroupAdd(su); sv = subgroupAdd(sv); sz = subgroupAdd(sz);
    u0 = subgroupMin(u0); v0 = subgroupMin(v0); u1 = subgroupMax(u1); v1 = subgroupMax(v1);
    uint sg = gl_SubgroupID;
    if (subgroupElect()) {
        s_cnt[sg] = cnt; s_su[sg] = su; s_sv[sg] = sv; s_sz[sg] = sz;
        s_u0[sg] = u0; s_v0[sg] = v0; s_u1[sg] = u1; s_v1[sg] = v1;
    }
    barrier();
    if (t != 0u) return;
    for (uint k = 1u; k < gl_NumSubgroups; ++k) {
        cnt += s_cnt[k]; su += s_su[k]; sv += s_sv[k]; sz += s_sz[k];
        u0 = min(u0, s_u0[k]); v0 = min(v0, s_v0[k]);
        u1 = max(u1, s_u1[k]); v1 = max(v1, s_v1[k]);
    }

    // The state machine runs on one invocation. (No plane: detect_hand
    // found no pixels, so cnt = 0.)
    uint n = state[0];
    uint npix = cnt;
    bool present = npix >= max(p.min_pixels, 1u);
    float cu = 0.0, cv = 0.0, depth = 0.0, x = 0.0, y = 0.0;
    if (present) {
        cu = fdiv(su, cnt);
        cv = fdiv(sv, cnt);
        depth = sz / float(cnt);
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
    ns[9] = floatBitsToUint(present ? float(u0) : 0.0);
    ns[10] = floatBitsToUint(present ? float(v0) : 0.0);
    ns[11] = floatBitsToUint(present ? float(u1) : 0.0);
    ns[12] = floatBitsToUint(present ? float(v1) : 0.0);
    uint h = 16u + 3u * (n % HIST);
    ns[h] = present ? 1u : 0u;
    ns[h + 1u] = floatBitsToUint(x);
    ns[h + 2u] = floatBitsToUint(depth);
    for (uint i = 0u; i < 64u; ++i) next_state[i] = ns[i];
    for (uint i = 0u; i < 16u; ++i) ev[i] = out_ev[i];
}
