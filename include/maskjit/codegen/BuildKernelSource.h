//===- BuildKernelSource.h - A pattern's kernel source from its AST -*- C++
//-*-===//
//
// The one place the kernel's source meets the front end: the argument
// struct is laid out from the pattern's declared params. Compile-side
// only (the plan stage); the runtime sees the resulting KernelSource.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_CODEGEN_BUILDKERNELSOURCE_H
#define MASKJIT_CODEGEN_BUILDKERNELSOURCE_H

#include "maskjit/codegen/KernelSource.h"
#include "maskjit/dsl/Ast.h"

namespace maskjit::codegen {

/// The kernel of `pattern`: a prelude (types, helpers, the args struct and
/// the macros the predicate uses), the predicate C++ from the EmitC stage,
/// the row mask (see RowMask.h) when `rowMaskCpp` is not empty, then
/// maskjit's attention template.
KernelSource buildKernelSource(const dsl::PatternDecl &pattern,
                               const std::vector<dsl::Builtin> &selectors,
                               const std::string &predicateCpp,
                               const KernelConfig &config,
                               const std::string &rowMaskCpp = "");

} // namespace maskjit::codegen

#endif
