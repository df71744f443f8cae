//===- maskjit.h - The public C++ API ---------------------------*- C++ -*-===//
//
//   #include "maskjit/maskjit.h"
//
//   auto pattern = maskjit::Pattern::fromFile("sliding_window.mask");
//   maskjit::CompileOptions opts;          // head_dim 128, bf16, this GPU
//   opts.constants["window"] = 4096;       // compiled in
//   auto kernel = maskjit::Kernel::compile(pattern, opts);   // cached
//   maskjit::AttentionCall call;           // device pointers, shapes, strides
//   ...
//   kernel.launch(call);                   // on call.stream
//
// Every failure throws maskjit::Error with a readable message (a `.mask`
// diagnostic, an NVRTC log, a bad argument); nothing aborts the process.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_MASKJIT_H
#define MASKJIT_MASKJIT_H

#include "maskjit/dsl/Frontend.h"
#include "maskjit/runtime/Attention.h"

#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace maskjit {

class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

using runtime::AttentionCall;

/// A checked pattern from a `.mask` file or string (with its imports).
class Pattern {
public:
  static Pattern fromFile(const std::string &path,
                          const std::string &name = "");
  static Pattern fromString(const std::string &text,
                            const std::string &name = "",
                            const std::string &bufferName = "<string>");
  const std::string &name() const;
  /// The reference mask (CPU) for one shape: the oracle for tests.
  std::unique_ptr<dsl::MaskEvaluator>
  evaluator(const dsl::ParamBindings &params,
            const dsl::EvalShape &shape) const;

private:
  friend class Kernel;
  std::shared_ptr<dsl::Frontend> frontend_;
  const dsl::Program *program_ = nullptr;
  const dsl::PatternDecl *decl_ = nullptr;
};

struct CompileOptions {
  int64_t headDim = 128;
  std::string dtype = "bf16";
  std::string arch; ///< Empty: the current GPU (sm_90 becomes sm_90a).
  std::map<std::string, int64_t> constants; ///< Compile-time params.
  bool useCache = true; ///< The registry ($MASKJIT_CACHE_DIR).
};

/// A compiled kernel. Launching needs a GPU; compiling only NVRTC.
class Kernel {
public:
  static Kernel compile(const Pattern &pattern, const CompileOptions &options);
  const std::string &ptx() const { return compiled_->ptx; }
  const std::string &cudaSource() const { return compiled_->source.code; }
  const std::string &cacheKey() const { return compiled_->cacheKey; }
  /// Validates `call` (throws Error) and launches on `call.stream`. Changing
  /// a runtime value or a length never recompiles.
  void launch(const AttentionCall &call);

private:
  Pattern pattern_;
  std::shared_ptr<runtime::CompiledKernel> compiled_;
  std::shared_ptr<runtime::Launcher> launcher_;
};

} // namespace maskjit

#endif
