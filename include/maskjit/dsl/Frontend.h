//===- Frontend.h - Parse and check .mask files -----------------*- C++ -*-===//
#ifndef MASKJIT_DSL_FRONTEND_H
#define MASKJIT_DSL_FRONTEND_H

#include "maskjit/dsl/Ast.h"
#include "maskjit/dsl/Diagnostics.h"
#include "maskjit/dsl/Source.h"

#include <memory>
#include <string>
#include <vector>

namespace maskjit::dsl {

struct FrontendOptions {
  /// Searched for `import "x.mask"` after the importing file's folder.
  std::vector<std::string> importDirs;
  /// Imports deeper than this are reported (an import chain, not a cycle:
  /// cycles are fine, each file is read once).
  unsigned maxImportDepth = 32;
};

/// Parses a `.mask` file with everything it imports, then checks it. The
/// Frontend owns the sources, the diagnostics and the resulting Program.
class Frontend {
public:
  explicit Frontend(FrontendOptions options = {});
  ~Frontend();
  Frontend(const Frontend &) = delete;
  Frontend &operator=(const Frontend &) = delete;

  /// Returns the checked program, or nullptr when there were errors (they
  /// are in diags()).
  const Program *loadFile(const std::string &path);
  const Program *loadString(const std::string &name, const std::string &text);

  /// The program as far as it got, also after errors (for `emit --stage ast`).
  const Program *partialProgram() const { return program_.get(); }
  const SourceManager &sources() const { return sources_; }
  DiagnosticEngine &diags() { return diags_; }

private:
  const Program *load(uint32_t file);
  void parseWithImports(uint32_t file, unsigned depth);

  FrontendOptions options_;
  SourceManager sources_;
  DiagnosticEngine diags_;
  std::unique_ptr<Program> program_;
};

/// Parses one buffer into a module (no imports followed, no checks).
std::unique_ptr<Module> parseModule(uint32_t file, const SourceManager &sources,
                                    DiagnosticEngine &diags);

/// Semantic analysis: names, types, calls, recursion, constant folding and
/// head-range checks. Annotates the AST in place.
void checkProgram(Program &program, DiagnosticEngine &diags);

/// Limits on a pattern once its lets and pattern calls are inlined, which
/// is the tree every later stage walks: depth and number of operations.
inline constexpr uint64_t kMaxInlinedDepth = 1024;
inline constexpr uint64_t kMaxInlinedNodes = 65536;

/// Reports the first let, body or arm past those limits. Runs on a checked
/// program (no recursion, calls bound).
void checkInlinedSize(const Program &program, DiagnosticEngine &diags);

} // namespace maskjit::dsl

#endif
