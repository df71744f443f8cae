//===- Diagnostics.cpp - Clang-style diagnostics --------------------------===//
#include "maskjit/dsl/Diagnostics.h"

#include <algorithm>
#include <ostream>
#include <sstream>

namespace maskjit::dsl {

Diagnostic &DiagnosticEngine::add(Severity sev, std::optional<Location> loc,
                                  std::string msg) {
  if (sev == Severity::Error) {
    ++errorCount_;
    if (errorCount_ > kMaxErrors) {
      overflow_ = Diagnostic{};
      return overflow_;
    }
  }
  diags_.push_back(Diagnostic{sev, loc, std::move(msg), {}, {}});
  return diags_.back();
}

Diagnostic &DiagnosticEngine::error(const Location &loc, std::string message) {
  return add(Severity::Error, loc, std::move(message));
}
Diagnostic &DiagnosticEngine::error(std::string message) {
  return add(Severity::Error, std::nullopt, std::move(message));
}
Diagnostic &DiagnosticEngine::warning(const Location &loc,
                                      std::string message) {
  return add(Severity::Warning, loc, std::move(message));
}
void DiagnosticEngine::note(Diagnostic &diag, const Location &loc,
                            std::string message) {
  diag.notes.push_back(
      Diagnostic{Severity::Note, loc, std::move(message), {}, {}});
}

Diagnostic &DiagnosticEngine::remark(std::optional<Location> loc,
                                     std::string message) {
  return add(Severity::Remark, loc, std::move(message));
}

namespace {
const char *severityName(Severity s) {
  switch (s) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  case Severity::Remark:
    return "remark";
  }
  return "error";
}
const char *severityColor(Severity s) {
  switch (s) {
  case Severity::Error:
    return "\033[1;31m";
  case Severity::Warning:
    return "\033[1;35m";
  case Severity::Note:
    return "\033[1;36m";
  case Severity::Remark:
    return "\033[1;34m";
  }
  return "";
}
} // namespace

void DiagnosticEngine::printOne(std::ostream &os, const Diagnostic &d,
                                bool color) const {
  const char *bold = color ? "\033[1m" : "";
  const char *reset = color ? "\033[0m" : "";
  if (d.loc) {
    const Position &b = d.loc->begin;
    os << bold << sources_.name(b.file) << ':' << b.line << ':' << b.column
       << ": " << reset;
  } else {
    os << bold << "maskc: " << reset;
  }
  os << (color ? severityColor(d.severity) : "") << severityName(d.severity)
     << ": " << reset << bold << d.message << reset << '\n';
  if (d.loc && d.loc->begin.file < sources_.size()) {
    const Position &b = d.loc->begin;
    std::string_view text = sources_.line(b.file, b.line);
    // Tabs are shown as single spaces so the caret lines up.
    std::string shown(text);
    std::replace(shown.begin(), shown.end(), '\t', ' ');
    os << shown << '\n';
    uint32_t col = std::max<uint32_t>(b.column, 1);
    uint32_t endCol = col + 1;
    if (d.loc->end.line == b.line && d.loc->end.column > col)
      endCol = d.loc->end.column;
    else if (d.loc->end.line > b.line)
      endCol = static_cast<uint32_t>(text.size()) + 1;
    endCol = std::max(endCol, col + 1);
    std::string caret(col - 1, ' ');
    caret += '^';
    caret.append(endCol - col - 1, '~');
    os << (color ? "\033[1;32m" : "") << caret << reset << '\n';
    if (!d.fixIt.empty())
      os << std::string(col - 1, ' ') << (color ? "\033[32m" : "") << d.fixIt
         << reset << '\n';
  }
  for (const Diagnostic &n : d.notes)
    printOne(os, n, color);
}

void DiagnosticEngine::print(std::ostream &os, bool color) const {
  for (const Diagnostic &d : diags_)
    printOne(os, d, color);
  if (errorCount_ > kMaxErrors)
    os << "maskc: fatal error: too many errors emitted (" << errorCount_
       << "), stopping now\n";
  unsigned warnings = 0;
  for (const Diagnostic &d : diags_)
    warnings += d.severity == Severity::Warning;
  if (errorCount_ || warnings) {
    if (warnings)
      os << warnings << (warnings == 1 ? " warning" : " warnings");
    if (warnings && errorCount_)
      os << " and ";
    if (errorCount_)
      os << errorCount_ << (errorCount_ == 1 ? " error" : " errors");
    os << " generated.\n";
  }
}

std::string DiagnosticEngine::str() const {
  std::ostringstream ss;
  print(ss, false);
  return ss.str();
}

unsigned editDistance(std::string_view a, std::string_view b) {
  std::vector<unsigned> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = static_cast<unsigned>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<unsigned>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      unsigned sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> closestName(std::string_view name,
                                       const std::vector<std::string> &cands) {
  std::optional<std::string> best;
  unsigned bestDist = ~0u;
  for (const std::string &c : cands) {
    unsigned d = editDistance(name, c);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  // Accept at most one edit per three characters (and at least one edit),
  // as clang's typo correction does, so unrelated names are not suggested.
  unsigned limit =
      std::max<unsigned>(1, static_cast<unsigned>(name.size()) / 3);
  if (!best || bestDist == 0 || bestDist > limit)
    return std::nullopt;
  return best;
}

} // namespace maskjit::dsl
