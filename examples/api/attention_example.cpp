// A complete use of maskjit's C++ API: load a pattern, compile it for this
// GPU with a compile-time constant, launch it on BSHD bf16 tensors, read the
// output back. Only <maskjit/maskjit.h> and libmaskjit are needed (no CUDA
// toolkit): built by the maskjit CMake build (maskjit_api_example), and by
// examples/find_package against an installed maskjit.
// Run: ./maskjit_api_example examples/patterns/sliding_window.mask
#include "maskjit/maskjit.h"

#include <cmath>
#include <cstdio>
#include <vector>

int main(int argc, char **argv) {
  const char *file =
      argc > 1 ? argv[1] : "examples/patterns/sliding_window.mask";
  try {
    maskjit::Pattern pattern = maskjit::Pattern::fromFile(file);
    maskjit::CompileOptions options; // head_dim 128, bf16, this GPU's arch
    options.constants["window"] = 256;
    maskjit::Kernel kernel = maskjit::Kernel::compile(pattern, options);
    std::printf("compiled %s (%s kernel, cache key %s)\n",
                pattern.name().c_str(), kernel.family().c_str(),
                kernel.cacheKey().c_str());

    // Device tensors: [batch, seq, heads, dim] bf16, and LSE [batch, heads,
    // seq].
    const int64_t B = 1, H = 4, L = 1024, D = 128;
    namespace gpu = maskjit::gpu;
    std::vector<uint16_t> host(B * L * H * D, 0x3f80); // 1.0 in bf16
    auto q = gpu::alloc(host.size() * 2), k = gpu::alloc(host.size() * 2),
         v = gpu::alloc(host.size() * 2), o = gpu::alloc(host.size() * 2),
         lse = gpu::alloc(B * H * L * 4);
    for (auto p : {q, k, v})
      gpu::upload(p, host.data(), host.size() * 2);

    maskjit::AttentionCall call;
    call.batch = B;
    call.heads = call.kvHeads = H;
    call.lq = call.lk = L;
    call.q = q;
    call.k = k;
    call.v = v;
    call.o = o;
    call.lse = lse;
    const int64_t strides[3] = {L * H * D, H * D, D};
    for (int64_t *s :
         {call.qStrides, call.kStrides, call.vStrides, call.oStrides})
      for (int i = 0; i < 3; ++i)
        s[i] = strides[i];
    kernel.launch(call);
    gpu::synchronize();

    std::vector<float> lseHost(B * H * L);
    gpu::download(lseHost.data(), lse, lseHost.size() * 4);
    // All scores are equal (q.k = 128 / sqrt(128)), so LSE = s + log(count).
    double s = 128 / std::sqrt(128.0);
    std::printf("LSE of the last query: %.4f (expected %.4f)\n", lseHost[L - 1],
                s + std::log(256.0));
    for (auto p : {q, k, v, o, lse})
      gpu::free(p);
  } catch (const maskjit::Error &e) {
    std::fprintf(stderr, "maskjit: %s\n", e.what());
    return 1;
  }
  return 0;
}
