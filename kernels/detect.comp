#version 450
// PLACEHOLDER until the flagship lands: one workgroup reduces the cloud to the
// centroid of near points and writes a single `move` event.
layout(local_size_x = 256) in;
struct Event { uint kind; float x; float y; float t; };
layout(std430, set = 0, binding = 0) readonly buffer Cloud { vec4 cloud[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Events { Event ev[]; };
shared vec3 acc[256];
void main() {
    uint t = gl_LocalInvocationID.x;
    vec3 s = vec3(0.0);
    for (uint i = t; i < cloud.length(); i += 256u) {
        vec4 p = cloud[i];
        if (p.w > 0.0 && p.z < 1500.0) { s += vec3(float(i % 640u), float(i / 640u), 1.0); }
    }
    acc[t] = s;
    barrier();
    for (uint k = 128u; k > 0u; k >>= 1) { if (t < k) acc[t] += acc[t + k]; barrier(); }
    if (t < 16u) {
        vec3 a = acc[0];
        ev[t] = (t == 0u && a.z > 0.0) ? Event(1u, a.x / a.z / 640.0, a.y / a.z / 480.0, 0.0) : Event(0u, 0.0, 0.0, 0.0);
    }
}
