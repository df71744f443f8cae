#include "maskjit/dsl/IntMath.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace maskjit::dsl;

TEST(IntMath, FloorDivisionAndModuloMatchPython) {
  // (a, b, a // b, a % b) as Python computes them.
  struct Case {
    int64_t a, b, div, mod;
  };
  const Case cases[] = {{7, 2, 3, 1},    {-7, 2, -4, 1}, {7, -2, -4, -1},
                        {-7, -2, 3, -1}, {0, 5, 0, 0},   {-1, 8, -1, 7},
                        {8, 8, 1, 0},    {-8, 8, -1, 0}, {5, 1, 5, 0}};
  for (const Case &c : cases) {
    int64_t d, m;
    ASSERT_TRUE(floorDiv(c.a, c.b, d));
    ASSERT_TRUE(floorMod(c.a, c.b, m));
    EXPECT_EQ(d, c.div) << c.a << " // " << c.b;
    EXPECT_EQ(m, c.mod) << c.a << " % " << c.b;
  }
}

TEST(IntMath, RandomAgainstLongDouble) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> dist(-1000000, 1000000);
  for (int i = 0; i < 100000; ++i) {
    int64_t a = dist(rng), b = dist(rng);
    if (b == 0)
      continue;
    int64_t d, m;
    ASSERT_TRUE(floorDiv(a, b, d));
    ASSERT_TRUE(floorMod(a, b, m));
    EXPECT_EQ(
        d, static_cast<int64_t>(std::floor(static_cast<long double>(a) / b)));
    EXPECT_EQ(a, d * b + m);
    EXPECT_TRUE(b > 0 ? (m >= 0 && m < b) : (m <= 0 && m > b));
  }
}

TEST(IntMath, TrapsAreReported) {
  int64_t r;
  const int64_t mn = std::numeric_limits<int64_t>::min();
  const int64_t mx = std::numeric_limits<int64_t>::max();
  EXPECT_FALSE(floorDiv(1, 0, r));
  EXPECT_FALSE(floorMod(1, 0, r));
  EXPECT_FALSE(floorDiv(mn, -1, r));
  EXPECT_TRUE(floorMod(mn, -1, r));
  EXPECT_EQ(r, 0);
  EXPECT_FALSE(checkedAdd(mx, 1, r));
  EXPECT_FALSE(checkedSub(mn, 1, r));
  EXPECT_FALSE(checkedMul(mx / 2 + 1, 2, r));
  EXPECT_FALSE(checkedNeg(mn, r));
  EXPECT_TRUE(checkedNeg(mx, r));
  EXPECT_EQ(r, -mx);
}
