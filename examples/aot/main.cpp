// An ahead-of-time kernel in a program that has only the CUDA driver: the
// sliding-window pattern (window 256) written by
//   maskc aot examples/patterns/sliding_window.mask --set window=256 -o DIR
// and compiled with this file (examples/aot/build.sh). Runs it on all-ones
// bf16 inputs, where every allowed score is equal, so the LSE of a query is
// known: s + log(number of allowed keys).
#include "sliding_window.h"

#include <cmath>
#include <cstdio>
#include <vector>

#define CHECK(call)                                                            \
  do {                                                                         \
    CUresult r_ = (call);                                                      \
    if (r_ != CUDA_SUCCESS) {                                                  \
      const char *s_ = nullptr;                                                \
      cuGetErrorString(r_, &s_);                                               \
      std::fprintf(stderr, "%s failed: %s\n", #call, s_ ? s_ : "?");           \
      return 1;                                                                \
    }                                                                          \
  } while (0)

int main() {
  CHECK(cuInit(0));
  CUdevice dev;
  CHECK(cuDeviceGet(&dev, 0));
  CUcontext ctx;
  CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
  CHECK(cuCtxSetCurrent(ctx));

  const int64_t B = 1, H = 4, L = 1024,
                D = maskjit_aot::sliding_window::kHeadDim;
  std::vector<uint16_t> ones(B * L * H * D, 0x3f80); // 1.0 in bf16
  CUdeviceptr q, k, v, o, lse;
  for (CUdeviceptr *p : {&q, &k, &v, &o})
    CHECK(cuMemAlloc(p, ones.size() * 2));
  CHECK(cuMemAlloc(&lse, B * H * L * 4));
  for (CUdeviceptr p : {q, k, v})
    CHECK(cuMemcpyHtoD(p, ones.data(), ones.size() * 2));

  maskjit_aot::sliding_window::Call call;
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
  maskjit_aot::sliding_window::Kernel kernel;
  std::string error;
  if (!kernel.launch(call, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  CHECK(cuCtxSynchronize());
  std::vector<float> out(B * H * L);
  CHECK(cuMemcpyDtoH(out.data(), lse, out.size() * 4));
  const double s = D / std::sqrt(double(D));
  int bad = 0;
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < L; ++i) {
      double want = s + std::log(double(i < 256 ? i + 1 : 256));
      if (std::fabs(out[h * L + i] - want) > 1e-3)
        ++bad;
    }
  std::printf("LSE of the last query: %.4f (expected %.4f); %d of %lld wrong\n",
              out[L - 1], s + std::log(256.0), bad, (long long)(H * L));
  // A bad call is reported, not crashed on.
  call.kvHeads = 3;
  if (!kernel.launch(call, &error))
    std::printf("bad call: %s\n", error.c_str());
  for (CUdeviceptr p : {q, k, v, o, lse})
    cuMemFree(p);
  return bad == 0 ? 0 : 1;
}
