//===- Diagnostics.h - Clang-style diagnostics ------------------*- C++ -*-===//
#ifndef MASKJIT_DSL_DIAGNOSTICS_H
#define MASKJIT_DSL_DIAGNOSTICS_H

#include "maskjit/dsl/Source.h"

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace maskjit::dsl {

enum class Severity { Error, Warning, Note, Remark };

struct Diagnostic {
  Severity severity = Severity::Error;
  std::optional<Location> loc; ///< No location for whole-run errors.
  std::string message;
  /// Replacement text suggested at `loc` (printed under the caret).
  std::string fixIt;
  std::vector<Diagnostic> notes;
};

/// Collects diagnostics and prints them as `file:line:col: error: ...`
/// followed by the source line and a caret under the offending range.
class DiagnosticEngine {
public:
  explicit DiagnosticEngine(const SourceManager &sources) : sources_(sources) {}

  /// Stop collecting errors after this many (the rest are counted only).
  static constexpr unsigned kMaxErrors = 20;

  Diagnostic &error(const Location &loc, std::string message);
  Diagnostic &error(std::string message);
  Diagnostic &warning(const Location &loc, std::string message);
  static void note(Diagnostic &diag, const Location &loc, std::string message);
  /// What the compiler did, in its own voice (`maskc blocks --remarks`);
  /// no location for one about the whole pattern.
  Diagnostic &remark(std::optional<Location> loc, std::string message);

  unsigned errorCount() const { return errorCount_; }
  bool hasErrors() const { return errorCount_ != 0; }
  const std::vector<Diagnostic> &diagnostics() const { return diags_; }

  /// Renders all diagnostics. `color` adds ANSI colors as clang does.
  void print(std::ostream &os, bool color = false) const;
  std::string str() const;

private:
  Diagnostic &add(Severity sev, std::optional<Location> loc, std::string msg);
  void printOne(std::ostream &os, const Diagnostic &d, bool color) const;

  const SourceManager &sources_;
  std::vector<Diagnostic> diags_;
  Diagnostic overflow_; ///< Sink for diagnostics past kMaxErrors.
  unsigned errorCount_ = 0;
};

/// Levenshtein distance, for "did you mean" hints.
unsigned editDistance(std::string_view a, std::string_view b);
/// The closest candidate to `name` if it is close enough to be a likely typo.
std::optional<std::string> closestName(std::string_view name,
                                       const std::vector<std::string> &cands);

} // namespace maskjit::dsl

#endif // MASKJIT_DSL_DIAGNOSTICS_H
