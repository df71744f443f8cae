//===- CubinInfo.h - What ptxas decided for a kernel, read from its cubin -===//
//
// A cubin is an ELF file whose `.nv.info` sections hold the resources
// ptxas gave each function: its registers and its stack frame (spilled
// registers and local arrays live there). Reading them needs no GPU and no
// toolkit, so `maskc compile` can show them wherever NVRTC runs.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_RUNTIME_CUBININFO_H
#define MASKJIT_RUNTIME_CUBININFO_H

#include <string>
#include <vector>

namespace maskjit::runtime {

/// A function's resources in a cubin; -1 where the cubin does not say.
struct CubinFunctionInfo {
  int registers = -1;  ///< Registers per thread.
  int frameBytes = -1; ///< Stack frame per thread (0: nothing spilled).
  int maxThreads = -1; ///< Threads per block its launch bounds allow.
};

/// Reads `function`'s entry from `cubin`. Never throws on malformed input:
/// a truncated or foreign file gives the fields it could not read as -1.
CubinFunctionInfo readCubinFunctionInfo(const std::vector<char> &cubin,
                                        const std::string &function);

} // namespace maskjit::runtime

#endif // MASKJIT_RUNTIME_CUBININFO_H
