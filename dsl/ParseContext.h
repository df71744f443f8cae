//===- ParseContext.h - State shared by the Flex scanner and Bison parser -===//
#ifndef MASKJIT_DSL_PARSECONTEXT_H
#define MASKJIT_DSL_PARSECONTEXT_H

#include "maskjit/dsl/Ast.h"
#include "maskjit/dsl/Diagnostics.h"

namespace maskjit::dsl::detail {

/// Deeper expressions are rejected so that no later recursive walk can
/// overflow the stack.
inline constexpr uint32_t kMaxExprDepth = 256;

struct ParseContext {
  DiagnosticEngine &diags;
  Module &module;
  void *scanner = nullptr; ///< The reentrant Flex scanner.
  Location loc;            ///< The scanner's current location.
  bool reportedDepth = false;
  /// True when the previous token was an identifier; used to explain
  /// `f (x)`: a call needs its `(` right after the name.
  bool prevWasIdent = false;
  bool curIsSpacedParen = false;
};

} // namespace maskjit::dsl::detail

#endif
