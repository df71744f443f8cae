//===- RandomPatterns.h - Random .mask expressions for property tests -*- C++
//-*-===//
//
// Expressions over q, k, Lq, Lk and two params `w` and `m` (a let), with
// every operator of the language: arithmetic with floor / and %, abs, min,
// max, clamp (on request), conditionals, comparisons and logic.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_TESTS_RANDOMPATTERNS_H
#define MASKJIT_TESTS_RANDOMPATTERNS_H

#include <random>
#include <string>

namespace maskjit::test {

class RandomPatternGen {
public:
  /// `withClamp`: `clamp` among the helpers (off keeps the streams the
  /// older tests' seeds were chosen with).
  explicit RandomPatternGen(uint64_t seed, bool withClamp = false)
      : rng_(seed), withClamp_(withClamp) {}

  std::string intExpr(int depth) {
    int pick = depth <= 0 ? pickOf(5) : pickOf(12);
    switch (pick) {
    case 0:
      return "q";
    case 1:
      return "k";
    case 2:
      return std::to_string(pickOf(9) - 2);
    case 3:
      return pickOf(2) ? "Lq" : "Lk";
    case 4:
      return pickOf(2) ? "w" : "m";
    case 5:
    case 6: {
      static const char *ops[] = {"+", "-", "*", "/", "%"};
      return "(" + intExpr(depth - 1) + " " + ops[pickOf(5)] + " " +
             intExpr(depth - 1) + ")";
    }
    case 7:
      return "abs(" + intExpr(depth - 1) + ")";
    case 8:
      if (withClamp_ && pickOf(3) == 0)
        return "clamp(" + intExpr(depth - 1) + ", " + intExpr(depth - 1) +
               ", " + intExpr(depth - 1) + ")";
      // (Written as the seeds of the older tests were chosen with: the
      // order this expression draws its numbers in is the compiler's.)
      return std::string(pickOf(2) ? "min(" : "max(") + intExpr(depth - 1) +
             ", " + intExpr(depth - 1) + ")";
    case 9:
      return "-" + intExpr(depth - 1);
    case 10:
      return "(if " + boolExpr(depth - 1) + " then " + intExpr(depth - 1) +
             " else " + intExpr(depth - 1) + ")";
    default:
      return "(q - k)";
    }
  }

  std::string boolExpr(int depth) {
    int pick = depth <= 0 ? pickOf(3) : pickOf(8);
    switch (pick) {
    case 0:
      return "causal";
    case 1:
      return pickOf(2) ? "true" : "false";
    case 2:
    case 3:
    case 4: {
      static const char *ops[] = {"<", "<=", ">", ">=", "==", "!="};
      return "(" + intExpr(depth - 1) + " " + ops[pickOf(6)] + " " +
             intExpr(depth - 1) + ")";
    }
    case 5:
      return "(" + boolExpr(depth - 1) + " and " + boolExpr(depth - 1) + ")";
    case 6:
      return "(" + boolExpr(depth - 1) + " or " + boolExpr(depth - 1) + ")";
    default:
      return "not " + boolExpr(depth - 1);
    }
  }

  int pickOf(int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(rng_);
  }

private:
  std::mt19937_64 rng_;
  bool withClamp_ = false;
};

} // namespace maskjit::test

#endif
