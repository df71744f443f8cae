//===- Run.h - maskc compile and maskc run ----------------------*- C++ -*-===//
#ifndef MASKJIT_TOOLS_MASKC_RUN_H
#define MASKJIT_TOOLS_MASKC_RUN_H

#include "Inputs.h"

namespace maskjit::maskc {

struct CompileCmdOptions {
  std::string arch = "sm_90a";
  int64_t headDim = 128;
  std::string dtype = "bf16";
  std::string emit = "ptx"; ///< cuda, ptx or cubin
  std::string output;       ///< - for stdout
  bool noCache = false;
  int64_t tileM = 0, tileN = 0;
  std::string kernel = "auto";
  bool backward = false; ///< The backward kernels of that forward.
};

struct RunOptions {
  int64_t batch = 1, heads = 1, kvHeads = 0, headDim = 128;
  std::string dtype = "bf16";
  bool check = false, bench = false;
  int iters = 20;
  uint64_t seed = 1;
  std::string json; ///< Write results as JSON here.
  int64_t tileM = 0, tileN = 0;
  std::string kernel = "auto";
  std::string exportSets; ///< Write the sets estimated on the GPU here.
  /// "random" (normal Q, K, V) or "positional" (see addPositionalStructure).
  std::string inputs = "random";
  /// Also run the backward kernels (checked with --check, timed with
  /// --bench).
  bool backward = false;
};

struct AotOptions {
  std::string archs = "sm_80,sm_90a"; ///< Comma-separated.
  int64_t headDim = 128;
  std::string dtype = "bf16";
  std::string outDir;
};

int runCompile(const MaskOptions &mask, const CompileCmdOptions &opts,
               const CommonOptions &common);
int runRun(const MaskOptions &mask, const RunOptions &opts,
           const CommonOptions &common);
int runAot(const MaskOptions &mask, const AotOptions &opts,
           const CommonOptions &common);

} // namespace maskjit::maskc

#endif
