//===- Aot.h - Kernels ahead of time: `maskc aot` -----------------*- C++
//-*-===//
//
// Writes a pattern's kernels for several architectures as a C++ header and
// source that need neither MLIR nor NVRTC: the cubins (and a PTX for newer
// GPUs) embedded as bytes, the symbolic schedule as data with the code that
// binds it, and a launch function over the CUDA driver API. A user compiles
// the source with their program and links libcuda.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_AOT_AOT_H
#define MASKJIT_AOT_AOT_H

#include "maskjit/dsl/Ast.h"
#include "maskjit/dsl/Source.h"
#include "maskjit/runtime/Registry.h"

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

namespace maskjit::aot {

struct AotRequest {
  std::map<std::string, int64_t> constants; ///< Compile-time params.
  std::vector<std::string> archs;           ///< sm_80, sm_90a, ...
  int64_t headDim = 128;
  std::string dtype = "bf16";
  std::string outDir;
};

/// What was written, for the command's report.
struct AotResult {
  std::vector<std::string> files;
};

/// Compiles `pattern` for every arch (through `registry` when given) and
/// writes `<outDir>/<pattern>.h`, `<pattern>.cpp`, one `.cubin` per arch
/// and a `.ptx`. Throws std::invalid_argument for what the AOT path does
/// not support (dynamic selectors) and CudaError for NVRTC failures; files
/// are written atomically, nothing half-written is left behind.
AotResult writeAot(const dsl::Program &program, const dsl::PatternDecl &pattern,
                   const dsl::SourceManager &sources, const AotRequest &request,
                   std::ostream &errors, runtime::KernelRegistry *registry);

} // namespace maskjit::aot

#endif
