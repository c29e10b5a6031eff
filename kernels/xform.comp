#version 450
// PLACEHOLDER until the flagship lands: bilateral filter of a u16 depth image
// ignoring dropout (0) pixels, then back-projection to a point (x, y, z, valid).
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, set = 0, binding = 0) readonly buffer Raw { uint16_t raw[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Cloud { vec4 cloud[]; };
layout(push_constant) uniform Params { float sigma_space; float sigma_range; } p;
const uint W = 640u, H = 480u;
void main() {
    uvec2 g = gl_GlobalInvocationID.xy;
    if (g.x >= W || g.y >= H) return;
    float c = float(raw[g.y * W + g.x]);
    if (c == 0.0) { cloud[g.y * W + g.x] = vec4(0.0); return; }
    int r = int(ceil(2.0 * p.sigma_space));
    float sum = 0.0, wsum = 0.0;
    for (int dy = -r; dy <= r; ++dy) for (int dx = -r; dx <= r; ++dx) {
        ivec2 q = ivec2(g) + ivec2(dx, dy);
        if (q.x < 0 || q.y < 0 || q.x >= int(W) || q.y >= int(H)) continue;
        float v = float(raw[uint(q.y) * W + uint(q.x)]);
        if (v == 0.0) continue;
        float w = exp(-float(dx*dx + dy*dy) / (2.0 * p.sigma_space * p.sigma_space)
                      - (v - c) * (v - c) / (2.0 * p.sigma_range * p.sigma_range));
        sum += w * v; wsum += w;
    }
    float z = sum / wsum;
    const float f = 525.0;
    cloud[g.y * W + g.x] = vec4((float(g.x) - 319.5) * z / f, (float(g.y) - 239.5) * z / f, z, 1.0);
}
