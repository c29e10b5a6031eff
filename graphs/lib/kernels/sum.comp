#version 450
// s[0] = the sum of a[], by one workgroup of WG invocations: each sums a
// strided share, then a tree reduction in shared memory (WG floats).
// WG must be a power of two.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) writeonly buffer S { float s[]; };
shared float partial[WG];
void main() {
    uint t = gl_LocalInvocationID.x;
    float acc = 0.0;
    for (uint i = t; i < a.length(); i += WG) {
        acc += a[i];
    }
    partial[t] = acc;
    barrier();
    for (uint stride = WG / 2; stride > 0; stride /= 2) {
        if (t < stride) {
            partial[t] += partial[t + stride];
        }
        barrier();
    }
    if (t == 0) {
        s[0] = partial[0];
    }
}
