//===- Half.h - bf16 and fp16 values on the host ----------------*- C++ -*-===//
#ifndef MASKJIT_HARNESS_HALF_H
#define MASKJIT_HARNESS_HALF_H

#include <cstdint>
#include <cstring>

namespace maskjit::harness {

/// A float rounded to bf16 (nearest even) or fp16, as its bits.
inline uint16_t toHalf(float f, bool fp16) {
  if (fp16) {
    _Float16 h = static_cast<_Float16>(f);
    uint16_t u;
    std::memcpy(&u, &h, 2);
    return u;
  }
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7FFF + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}
/// The value of bf16 or fp16 bits.
inline float fromHalf(uint16_t u, bool fp16) {
  if (fp16) {
    _Float16 h;
    std::memcpy(&h, &u, 2);
    return static_cast<float>(h);
  }
  uint32_t w = static_cast<uint32_t>(u) << 16;
  float f;
  std::memcpy(&f, &w, 4);
  return f;
}

} // namespace maskjit::harness

#endif
