// An HLSL kernel whose output is at binding 2, not 1.
[[vk::binding(0, 0)]] StructuredBuffer<float> a;
[[vk::binding(2, 0)]] RWStructuredBuffer<float> b;
[numthreads(64, 1, 1)]
void main(uint3 id : SV_DispatchThreadID) { b[id.x] = a[id.x]; }
