#version 450
// detect, pass 1 of 3 (graphs/gesture.pt: detect_plane -> detect_hand -> detect):
// fit the background as a plane z = f(u, v) by least squares over a 4x4
// subsampled grid of valid points (fit A), then refit using only points not
// more than `near_mm` in front of the first fit (fit B), so a hand does not
// bias it. 160x120 = 19,200 points, one workgroup: the two fits depend on each
// other, and the grid is 1/16 of the frame (the full-resolution pass is
// detect_hand, over many workgroups).
//
// Output plane[0] = (s0, s1, s2, ok): the plane in fit coordinates (see
// fit_coords; depth = 2000 + 1000 (s0 + s1 qx + s2 qy) mm), ok = 1.0 when both
// fits were well conditioned, else 0.0 (no hand can be found). plane[1].x =
// near_mm, so that detect_hand applies the threshold the fit used.
//
// Sums: each invocation sums its points, subgroupAdd combines a subgroup,
// shared memory the subgroups (in subgroup order). The CPU reference
// (runtime/src/gesture_ref.rs, `fit_plane`) sums sequentially: the order of
// f32 additions differs, nothing else.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

// Invocations of the one workgroup. Every device: a GPU wants >= 256 to hide
// load latency; on lavapipe the workgroup runs on one CPU thread whatever its
// size. The graph's `grid` is [T].
const uint T = 256u;
layout(local_size_x = T) in;

layout(std430, set = 0, binding = 0) readonly buffer Cloud { vec4 cloud[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Plane { vec4 plane[]; };
layout(push_constant) uniform Params { float near_mm; } p;

// The image size: specialization constants (graphs/gesture.pt sets them;
// the defaults are the 640x480 camera's).
layout(constant_id = 0) const uint W = 640u;
layout(constant_id = 1) const uint H = 480u;
const uint SUB = 4u, SW = W / SUB, SH = H / SUB, SN = SW * SH;

// Per-subgroup sums; T slots cover any subgroup size down to 1.
shared float part[9][T];
shared float plane_s[3];
shared bool plane_ok;

// Normalised coordinates of pixel (u, v) used by the plane fit: -1..1 across
// the image ((u - 319.5) / 320 at 640 wide).
vec3 fit_coords(uint u, uint v, float z) {
    float hw = 0.5 * float(W), hh = 0.5 * float(H);
    return vec3((float(u) - (hw - 0.5)) / hw, (float(v) - (hh - 0.5)) / hh, (z - 2000.0) / 1000.0);
}

float plane_at(uint u, uint v) {
    vec3 q = fit_coords(u, v, 2000.0);
    return 2000.0 + 1000.0 * (plane_s[0] + plane_s[1] * q.x + plane_s[2] * q.y);
}

// With `refine`, only points not more than near_mm in front of the current
// plane take part.
void fit_plane(uint t, bool refine) {
    float s[9] = float[9](0., 0., 0., 0., 0., 0., 0., 0., 0.);
    for (uint i = t; i < SN; i += T) {
        uint u = (i % SW) * SUB + 2u, v = (i / SW) * SUB + 2u;
        // z and w only: lavapipe fetches every word of a vec4 load one lane
        // at a time (5% faster this way); a GPU does not care.
        vec2 c = vec2(cloud[v * W + u].z, cloud[v * W + u].w);
        if (c.y <= 0.0) continue;
        if (refine && c.x < plane_at(u, v) - p.near_mm) continue;
        vec3 q = fit_coords(u, v, c.x);
        s[0] += 1.0; s[1] += q.x; s[2] += q.y; s[3] += q.z;
        s[4] += q.x * q.x; s[5] += q.x * q.y; s[6] += q.y * q.y;
        s[7] += q.x * q.z; s[8] += q.y * q.z;
    }
    for (uint j = 0u; j < 9u; ++j) s[j] = subgroupAdd(s[j]);
    if (subgroupElect()) {
        for (uint j = 0u; j < 9u; ++j) part[j][gl_SubgroupID] = s[j];
    }
    // Also: everyone has read plane_s (refine) before invocation 0 rewrites it.
    barrier();
    if (t == 0u) {
        for (uint j = 0u; j < 9u; ++j) {
            s[j] = 0.0;
            for (uint g = 0u; g < gl_NumSubgroups; ++g) s[j] += part[j][g];
        }
        float n = s[0], a = s[1], b = s[2], z = s[3];
        float aa = s[4], ab = s[5], bb = s[6], az = s[7], bz = s[8];
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

void main() {
    uint t = gl_LocalInvocationID.x;
    if (t == 0u) { plane_s[0] = 0.0; plane_s[1] = 0.0; plane_s[2] = 0.0; plane_ok = false; }
    barrier();
    fit_plane(t, false);
    fit_plane(t, true);
    if (t == 0u) {
        plane[0] = vec4(plane_s[0], plane_s[1], plane_s[2], plane_ok ? 1.0 : 0.0);
        plane[1] = vec4(p.near_mm, 0.0, 0.0, 0.0);
    }
}
