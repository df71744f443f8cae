//===- KernelConfig.cpp - Kernel families and their tiles -----------------===//
//
// What a kernel configuration means, apart from any pattern: the family an
// architecture gets, the tiles a family runs. Part of the kernel library
// the runtime links (no front end).
//
//===----------------------------------------------------------------------===//
#include "maskjit/codegen/KernelSource.h"

#include <stdexcept>
#include <string>

namespace maskjit::codegen {

const char *kernelFamilyName(KernelFamily family) {
  return family == KernelFamily::Hopper ? "hopper" : "portable";
}

KernelFamily defaultKernelFamily(const std::string &arch) {
  return arch == "sm_90a" || arch == "compute_90a" ? KernelFamily::Hopper
                                                   : KernelFamily::Portable;
}

int64_t kernelTileM(const KernelConfig &config) {
  if (config.tileM != 0)
    return config.tileM;
  return config.family == KernelFamily::Hopper ? 128 : 64;
}

int64_t kernelTileN(const KernelConfig &config) {
  if (config.tileN != 0)
    return config.tileN;
  return config.family == KernelFamily::Hopper ? kernelTileM(config) : 64;
}

void checkTiles(const KernelConfig &config) {
  if (config.tileM != 0 && config.tileM != 64 && config.tileM != 128)
    throw std::invalid_argument("tile_m must be 64 or 128 (or 0: the kernel's "
                                "default), not " +
                                std::to_string(config.tileM));
  const int64_t m = kernelTileM(config), n = kernelTileN(config);
  const bool hopper = config.family == KernelFamily::Hopper;
  if (hopper ? !(n == m || (m == 128 && n == 64)) : n != 64)
    throw std::invalid_argument(
        std::string("tiles of ") + std::to_string(m) + " x " +
        std::to_string(n) + " are not run by the " +
        (hopper ? "Hopper kernel (128 x 128, 64 x 64 or 128 x 64)"
                : "portable kernel (its key tiles are 64 wide)"));
}

} // namespace maskjit::codegen

namespace maskjit::codegen {

int backwardSharedBytes(int headDim) {
  // K, V, a query tile and its dO (rows padded by 8 elements), P^T and
  // dS^T (64 x 72 each), all 16-bit (codegen/kernels/attention_bwd.cuh).
  return (4 * 64 * (headDim + 8) + 2 * 64 * 72) * 2;
}

KernelSource backwardSource(const KernelSource &forward) {
  if (forward.prelude.empty())
    throw std::invalid_argument("internal error: a kernel source without its "
                                "prelude has no backward");
  KernelSource out;
  out.code = forward.prelude + backwardTemplate();
  out.args = forward.args;
  out.kernelName = "maskjit_attention_bwd";
  out.family = KernelFamily::Portable;
  out.tileM = 64;
  out.tileN = 64;
  out.threads = 256;
  out.headDim = forward.headDim;
  out.dtype = forward.dtype;
  out.sharedBytes = backwardSharedBytes(forward.headDim);
  out.dilation = forward.dilation;
  return out;
}

} // namespace maskjit::codegen
