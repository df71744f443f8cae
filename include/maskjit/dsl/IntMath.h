//===- IntMath.h - The language's 64-bit integer semantics ------*- C++ -*-===//
//
// Integers are 64-bit; `/` and `%` round toward negative infinity (so
// `-1 % 8 == 7`, as in Python). Overflow and division by zero are reported,
// never wrapped: each function returns false in that case.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_DSL_INTMATH_H
#define MASKJIT_DSL_INTMATH_H

#include <cstdint>
#include <limits>

namespace maskjit::dsl {

inline bool checkedAdd(int64_t a, int64_t b, int64_t &r) {
  return !__builtin_add_overflow(a, b, &r);
}
inline bool checkedSub(int64_t a, int64_t b, int64_t &r) {
  return !__builtin_sub_overflow(a, b, &r);
}
inline bool checkedMul(int64_t a, int64_t b, int64_t &r) {
  return !__builtin_mul_overflow(a, b, &r);
}
inline bool checkedNeg(int64_t a, int64_t &r) {
  if (a == std::numeric_limits<int64_t>::min())
    return false;
  r = -a;
  return true;
}
/// Floor division. False on b == 0 or INT64_MIN / -1.
inline bool floorDiv(int64_t a, int64_t b, int64_t &r) {
  if (b == 0 || (a == std::numeric_limits<int64_t>::min() && b == -1))
    return false;
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  r = q;
  return true;
}
/// Floor modulo: the result has the sign of b. False on b == 0.
inline bool floorMod(int64_t a, int64_t b, int64_t &r) {
  if (b == 0)
    return false;
  if (b == -1) {
    r = 0;
    return true;
  }
  int64_t m = a % b;
  if (m != 0 && ((m < 0) != (b < 0)))
    m += b;
  r = m;
  return true;
}

} // namespace maskjit::dsl

#endif
