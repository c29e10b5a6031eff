#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 1, binding = 1) writeonly buffer B { float b[]; };
layout(std140, set = 0, binding = 2) uniform C { vec4 c[4]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    b[i] = a[i] + c[0].x;
}
