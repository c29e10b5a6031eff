#version 450
// 33 floats of push constants: 132 bytes, more than the Vulkan minimum (128).
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) writeonly buffer B { float b[]; };
layout(push_constant) uniform P {
    float p0; float p1; float p2; float p3; float p4; float p5; float p6; float p7;
    float p8; float p9; float p10; float p11; float p12; float p13; float p14; float p15;
    float p16; float p17; float p18; float p19; float p20; float p21; float p22; float p23;
    float p24; float p25; float p26; float p27; float p28; float p29; float p30; float p31;
    float p32;
} p;
void main() { b[gl_GlobalInvocationID.x] = p.p0 + p.p32; }
