#version 450
// detect, pass 2 of 3 (graphs/gesture.pt: detect_plane -> detect_hand -> detect):
// segment the hand at full resolution against detect_plane's background
// plane, as one partial result per workgroup. Hand = valid points more than
// near_mm in front of the plane.
//
// Workgroup g covers image rows [g ROWS_PER_WG, (g + 1) ROWS_PER_WG); its
// invocation t reads pixels u = t, t + TX, t + 2 TX, ... of each row (adjacent
// invocations read adjacent pixels: coalesced on a GPU, one contiguous stream
// per CPU vector on lavapipe).
// It writes partials[g] = 8 words:
//   0 hand pixels, 1 sum of u, 2 sum of v (exact u32 sums: at most
//   640*480*639 < 2^32), 3 sum of depth (f32 bits), 4..7 box u0 v0 u1 v1
//   (u32; u0 = v0 = 0xffffffff, u1 = v1 = 0 when the rows hold no hand).
// detect (pass 3) combines the partials and runs the state machine.
//
// Reductions: per invocation in registers, then subgroupAdd/Min/Max, then
// the subgroups' results in shared memory, combined in subgroup order.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

// The image size: specialization constants (graphs/gesture.pt sets them;
// the defaults are the 640x480 camera's).
layout(constant_id = 0) const uint W = 640u;
layout(constant_id = 1) const uint H = 480u;
// Invocations per workgroup, all along a row: invocation t reads pixels
// u = t, t + TX, t + 2 TX, ... (W must be a multiple of TX). On lavapipe a
// workgroup of 8 is one 8-lane CPU vector that streams through memory, and
// the per-workgroup reduction and barrier are cheap; 128 invocations were 2x
// slower there. A GPU wants 128..256 (TX = 8 would leave most of each SIMD
// unit idle).
const uint TX = 8u;
// Rows per workgroup: more rows = fewer workgroups, partials and reductions
// (lavapipe, one CPU thread per workgroup: 16 rows = 30 workgroups, enough
// for 2..16 threads); fewer rows = more workgroups in flight (a GPU: 1..2
// rows, with TX = 128: 240..480 workgroups). H must be a multiple.
// The graph must match: `grid [TX, H / ROWS_PER_WG]` and
// `partials: u32[H / ROWS_PER_WG, 8]`.
const uint ROWS_PER_WG = 16u;
layout(local_size_x = TX) in;

layout(std430, set = 0, binding = 0) readonly buffer Cloud { vec4 cloud[]; };
layout(std430, set = 0, binding = 1) readonly buffer Plane { vec4 plane[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Partials { uint partials[]; };

// Per-subgroup results; TX slots cover any subgroup size down to 1.
shared uint s_cnt[TX], s_su[TX], s_sv[TX], s_u0[TX], s_v0[TX], s_u1[TX], s_v1[TX];
shared float s_sz[TX];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint g = gl_WorkGroupID.y;
    vec4 pl = plane[0];
    float near_mm = plane[1].x;
    uint cnt = 0u, su = 0u, sv = 0u;
    float sz = 0.0;
    uint u0 = 0xffffffffu, v0 = 0xffffffffu, u1 = 0u, v1 = 0u;
    if (pl.w > 0.0) {
        for (uint r = 0u; r < ROWS_PER_WG; ++r) {
            uint v = g * ROWS_PER_WG + r;
            float hw = 0.5 * float(W), hh = 0.5 * float(H);
            float qy = (float(v) - (hh - 0.5)) / hh;
            for (uint u = t; u < W; u += TX) {
                // z and w only: lavapipe fetches every word of a vec4 load one lane
                // at a time (5% faster this way); a GPU does not care.
                vec2 c = vec2(cloud[v * W + u].z, cloud[v * W + u].w);
                // The plane as detect_plane's plane_at (and the CPU
                // reference's Plane::at) computes it, minus near_mm.
                float qx = (float(u) - (hw - 0.5)) / hw;
                float thr = 2000.0 + 1000.0 * (pl.x + pl.y * qx + pl.z * qy) - near_mm;
                // Branch-free: on lavapipe a `continue` costs more than selects.
                bool hand = c.y > 0.0 && c.x < thr;
                cnt += hand ? 1u : 0u;
                su += hand ? u : 0u;
                sv += hand ? v : 0u;
                sz += hand ? c.x : 0.0;
                u0 = min(u0, hand ? u : 0xffffffffu);
                v0 = min(v0, hand ? v : 0xffffffffu);
                u1 = max(u1, hand ? u : 0u);
                v1 = max(v1, hand ? v : 0u);
            }
        }
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
    uint o = g * 8u;
    partials[o] = cnt; partials[o + 1u] = su; partials[o + 2u] = sv;
    partials[o + 3u] = floatBitsToUint(sz);
    partials[o + 4u] = u0; partials[o + 5u] = v0; partials[o + 6u] = u1; partials[o + 7u] = v1;
}
