// Dynamic sets through the C++ API: a vertical-slash pattern launched
// without sets estimates them on the GPU per head; the example prints what
// head 0 chose, launches again with those sets given back (as a user would
// reuse them across layers or steps) and checks that the output is the same.
// Run: ./maskjit_vertical_slash_example examples/patterns/vertical_slash.mask
#include "maskjit/maskjit.h"

#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char **argv) {
  const char *file =
      argc > 1 ? argv[1] : "examples/patterns/vertical_slash.mask";
  try {
    maskjit::Pattern pattern = maskjit::Pattern::fromFile(file);
    maskjit::CompileOptions options;
    options.constants["vertical"] = 32;
    options.constants["slash"] = 8;
    options.constants["last_q"] = 16;
    maskjit::Kernel kernel = maskjit::Kernel::compile(pattern, options);

    const int64_t H = 4, L = 2048, D = 128;
    namespace gpu = maskjit::gpu;
    // Random bf16 inputs (a small LCG; values in [-2, 2)).
    std::vector<uint16_t> host(L * H * D);
    uint32_t state = 12345;
    auto tensor = [&] {
      for (uint16_t &x : host) {
        state = state * 1664525u + 1013904223u;
        float f = ((state >> 8) & 0xffff) / 16384.0f - 2.0f;
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        x = static_cast<uint16_t>(bits >> 16);
      }
      uint64_t p = gpu::alloc(host.size() * 2);
      gpu::upload(p, host.data(), host.size() * 2);
      return p;
    };
    const uint64_t q = tensor(), k = tensor(), v = tensor();
    const uint64_t o = gpu::alloc(host.size() * 2), lse = gpu::alloc(H * L * 4);

    maskjit::AttentionCall call;
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
    kernel.launch(call); // no sets: estimated on the GPU
    gpu::synchronize();
    std::vector<maskjit::HeadSets> sets = kernel.estimatedSets();
    std::vector<uint16_t> first(host.size()), second(host.size());
    gpu::download(first.data(), o, first.size() * 2);
    if (sets.size() != H || sets[0].columns.size() != 32 ||
        sets[0].diagonals.size() != 8) {
      std::fprintf(stderr, "unexpected estimated sets\n");
      return 1;
    }
    std::printf("head 0 chose columns");
    for (int64_t c : sets[0].columns)
      std::printf(" %lld", static_cast<long long>(c));
    std::printf("\nand diagonals");
    for (int64_t d : sets[0].diagonals)
      std::printf(" %lld", static_cast<long long>(d));
    std::printf("\n");

    call.headSets = sets; // reuse them: no estimate this time
    kernel.launch(call);
    gpu::synchronize();
    gpu::download(second.data(), o, second.size() * 2);
    const bool same = first == second && kernel.estimatedSets().empty();
    std::printf("launch with the sets given back: %s\n",
                same ? "same output, nothing estimated" : "DIFFERENT");
    for (auto p : {q, k, v, o, lse})
      gpu::free(p);
    return same ? 0 : 1;
  } catch (const maskjit::Error &e) {
    std::fprintf(stderr, "maskjit: %s\n", e.what());
    return 1;
  }
}
