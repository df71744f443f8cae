//===- DilatedPatterns.h - Dilated test patterns -----------------*- C++
//-*-===//
//
// Patterns whose allowed pairs share a class of positions mod `dilation`
// (and two that look alike but do not), for the tests of the per-class
// schedule and of the kernels' walk over it.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_TESTS_DILATEDPATTERNS_H
#define MASKJIT_TESTS_DILATEDPATTERNS_H

namespace maskjit::test {

inline const char *kDilatedPatterns = R"(
pattern dilated_window(window: int = 64, dilation: int = 4) {
  causal and q - k < window and (q - k) % dilation == 0
}
pattern dilated_both_ways(window: int = 64, dilation: int = 3) {
  abs(q - k) <= window and (k - q) % dilation == 0
}
pattern dilated_or_sink(window: int = 64, dilation: int = 2, sink: int = 9) {
  causal and (q - k) % dilation == 0 and (q - k < window or k < sink)
}
pattern shifted(window: int = 64, dilation: int = 2) {
  causal and q - k < window and (q - k) % dilation == 1
}
pattern dilated_some(window: int = 64, dilation: int = 2) {
  causal and (q - k < window and (q - k) % dilation == 0 or k < 8)
}
)";

} // namespace maskjit::test

#endif
