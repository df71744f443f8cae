//===- KernelSource.h - CUDA source of a pattern's attention kernel -*- C++
//-*-===//
#ifndef MASKJIT_CODEGEN_KERNELSOURCE_H
#define MASKJIT_CODEGEN_KERNELSOURCE_H

#include "maskjit/dsl/Ast.h"

#include <string>
#include <vector>

namespace maskjit::codegen {

struct KernelConfig {
  int64_t headDim = 128;
  std::string dtype = "bf16"; ///< bf16 or fp16
  int64_t tileM = 64;         ///< Query rows per CTA: 64 (4 warps) or 128 (8).
};

/// One field of the `maskjit_args` struct the predicate reads, in order.
/// Every field is 8 bytes, so the host builds it as an array of words.
struct ArgField {
  enum Kind { Scalar, HeadArray, Array, Selector } kind;
  std::string name;
};

struct KernelSource {
  std::string code;           ///< Complete CUDA C++, no toolkit header needed.
  std::vector<ArgField> args; ///< Layout of maskjit_args.
  std::string kernelName = "maskjit_attention_fwd";
  int tileM = 64, tileN = 64, threads = 128;
  int headDim = 128;
  int sharedBytes = 0; ///< Dynamic shared memory per CTA.
};

/// The kernel of `pattern`: a prelude (types, helpers, the args struct and
/// the macros the predicate uses), the predicate C++ from the EmitC stage,
/// then maskjit's attention template.
KernelSource buildKernelSource(const dsl::PatternDecl &pattern,
                               const std::vector<dsl::Builtin> &selectors,
                               const std::string &predicateCpp,
                               const KernelConfig &config);

/// The attention template alone (embedded in the library at build time).
const char *attentionTemplate();

} // namespace maskjit::codegen

#endif
