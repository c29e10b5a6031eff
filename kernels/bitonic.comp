#version 450
// One compare-exchange pass of a bitonic sorting network whose comparators
// all sort ascending, so it sorts any n (not only powers of two): for block
// size k and distance j, element i is paired with i ^ (k - 1) on the first
// pass of a block (j == k / 2) and with i ^ j afterwards; a partner at or
// beyond n is a virtual +infinity and leaves i unchanged.
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer A { uint a[]; };
layout(std430, set = 0, binding = 1) writeonly buffer B { uint b[]; };
layout(push_constant) uniform Params { uint j; uint k; } p;
void main() {
    uint i = gl_GlobalInvocationID.x;
    uint n = b.length();
    if (i >= n) { return; }
    uint l = (p.j == p.k / 2) ? (i ^ (p.k - 1)) : (i ^ p.j);
    uint v = a[i];
    if (l < n) {
        uint w = a[l];
        v = (i < l) ? min(v, w) : max(v, w);
    }
    b[i] = v;
}
