// An ahead-of-time kernel in a program that has only the CUDA driver: the
// sliding-window pattern (window 256) written by
//   maskc aot examples/patterns/sliding_window.mask --set window=256 -o DIR
// and compiled with this file (examples/aot/build.sh). Runs it on random
// bf16 inputs and compares O and LSE of sampled rows with an fp64 reference
// on the CPU.
#include "sliding_window.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
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

namespace {
uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
float fromBf16(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
} // namespace

int main() {
  CHECK(cuInit(0));
  CUdevice dev;
  CHECK(cuDeviceGet(&dev, 0));
  CUcontext ctx;
  CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
  CHECK(cuCtxSetCurrent(ctx));

  const int64_t B = 1, H = 4, L = 1024,
                D = maskjit_aot::sliding_window::kHeadDim;
  const size_t n = B * L * H * D;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<uint16_t> hq(n), hk(n), hv(n), poison(n, 0x7fc0); // NaN
  for (size_t i = 0; i < n; ++i) {
    hq[i] = toBf16(normal(rng));
    hk[i] = toBf16(normal(rng));
    hv[i] = toBf16(normal(rng));
  }
  CUdeviceptr q, k, v, o, lse;
  for (CUdeviceptr *p : {&q, &k, &v, &o})
    CHECK(cuMemAlloc(p, n * 2));
  CHECK(cuMemAlloc(&lse, B * H * L * 4));
  CHECK(cuMemcpyHtoD(q, hq.data(), n * 2));
  CHECK(cuMemcpyHtoD(k, hk.data(), n * 2));
  CHECK(cuMemcpyHtoD(v, hv.data(), n * 2));
  CHECK(cuMemcpyHtoD(o, poison.data(), n * 2));

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
  std::vector<uint16_t> ho(n);
  std::vector<float> hl(B * H * L);
  CHECK(cuMemcpyDtoH(ho.data(), o, n * 2));
  CHECK(cuMemcpyDtoH(hl.data(), lse, hl.size() * 4));
  // fp64 reference on sampled rows: query i sees keys max(0, i-255)..i.
  const double scale = 1 / std::sqrt(double(D));
  double maxO = 0, maxL = 0;
  int checked = 0;
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = h; i < L; i += 37, ++checked) {
      auto at = [&](const std::vector<uint16_t> &t, int64_t row, int64_t d) {
        return double(fromBf16(t[(row * H + h) * D + d]));
      };
      std::vector<double> w;
      double mx = -1e300;
      for (int64_t j = std::max<int64_t>(0, i - 255); j <= i; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < D; ++d)
          dot += at(hq, i, d) * at(hk, j, d);
        w.push_back(dot * scale);
        mx = std::max(mx, dot * scale);
      }
      double sum = 0;
      for (double &x : w)
        sum += (x = std::exp(x - mx));
      maxL = std::max(maxL, std::fabs(hl[h * L + i] - (mx + std::log(sum))));
      for (int64_t d = 0; d < D; ++d) {
        double ref = 0;
        for (size_t t = 0; t < w.size(); ++t)
          ref += w[t] / sum * at(hv, std::max<int64_t>(0, i - 255) + t, d);
        double got = at(ho, i, d);
        maxO = std::isnan(got) ? 1e9 : std::max(maxO, std::fabs(got - ref));
      }
    }
  const bool ok = maxO < 2e-2 && maxL < 1e-3;
  std::printf("%d rows checked: max |O - ref| = %.2g, max |LSE - ref| = %.2g: "
              "%s\n",
              checked, maxO, maxL, ok ? "PASS" : "FAIL");
  // A bad call is reported, not crashed on.
  call.kvHeads = 3;
  if (!kernel.launch(call, &error))
    std::printf("bad call: %s\n", error.c_str());
  for (CUdeviceptr p : {q, k, v, o, lse})
    cuMemFree(p);
  return ok ? 0 : 1;
}
