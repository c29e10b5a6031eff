#version 450
layout(local_size_x = 16, local_size_y = 16) in;
struct Ev { uint kind; vec2 xy; float t; };
layout(std430, set = 0, binding = 0) readonly buffer Raw { uint raw[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Events { Ev ev[]; };
void main() {
    uvec2 g = gl_GlobalInvocationID.xy;
    if (g.x == 0u && g.y == 0u) { ev[0] = Ev(raw[0], vec2(0.0), 0.0); }
}
