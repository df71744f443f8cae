//===- TestUtil.h - Helpers shared by the unit tests ------------*- C++ -*-===//
#ifndef MASKJIT_TESTS_TESTUTIL_H
#define MASKJIT_TESTS_TESTUTIL_H

#include "maskjit/dsl/Evaluator.h"
#include "maskjit/dsl/Frontend.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

namespace maskjit::test {

/// A checked program from source text; fails the test on diagnostics.
struct Loaded {
  std::unique_ptr<dsl::Frontend> fe = std::make_unique<dsl::Frontend>();
  const dsl::Program *program = nullptr;
  std::string diagnostics;

  const dsl::PatternDecl &pattern(const std::string &name) const {
    const dsl::PatternDecl *p = program->find(name);
    if (!p)
      throw std::runtime_error("no pattern " + name);
    return *p;
  }
};

inline Loaded load(const std::string &text,
                   const std::string &name = "test.mask") {
  Loaded l;
  l.program = l.fe->loadString(name, text);
  l.diagnostics = l.fe->diags().str();
  return l;
}

inline Loaded loadFile(const std::string &path) {
  Loaded l;
  l.program = l.fe->loadFile(path);
  l.diagnostics = l.fe->diags().str();
  return l;
}

/// The diagnostics of a source text that must not check.
inline std::string errorsOf(const std::string &text) {
  Loaded l = load(text);
  EXPECT_EQ(l.program, nullptr) << "expected errors for:\n" << text;
  return l.diagnostics;
}

/// Dense mask through the row evaluator.
inline std::vector<std::string> denseRows(const dsl::MaskEvaluator &e) {
  std::vector<std::string> rows;
  std::vector<uint8_t> row(e.shape().lk);
  for (int64_t q = 0; q < e.shape().lq; ++q) {
    e.row(q, row.data());
    std::string s(row.size(), '.');
    for (size_t k = 0; k < row.size(); ++k)
      s[k] = row[k] ? '#' : '.';
    rows.push_back(s);
  }
  return rows;
}

/// Compile-time values written as `name=value` (as tests spell them).
inline std::map<std::string, int64_t>
constants(const std::vector<std::string> &bindings) {
  std::map<std::string, int64_t> out;
  for (const std::string &b : bindings) {
    const size_t eq = b.find('=');
    out[b.substr(0, eq)] = std::stoll(b.substr(eq + 1));
  }
  return out;
}

} // namespace maskjit::test

#endif
