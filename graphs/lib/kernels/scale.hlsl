// b[i] = k * a[i] in HLSL (compiled by shaderc's HLSL front end).
[[vk::binding(0, 0)]] StructuredBuffer<float> a;
[[vk::binding(1, 0)]] RWStructuredBuffer<float> b;
struct Params { float k; };
[[vk::push_constant]] ConstantBuffer<Params> p;

[numthreads(64, 1, 1)]
void CSMain(uint3 id : SV_DispatchThreadID) {
    uint n, stride;
    b.GetDimensions(n, stride);
    if (id.x < n) {
        b[id.x] = p.k * a[id.x];
    }
}
