#include "maskjit/maskjit.h"

#include <gtest/gtest.h>

TEST(Api, PatternErrorsCarryTheDiagnostic) {
  try {
    maskjit::Pattern::fromString("pattern p { q - k < windw }", "",
                                 "inline.mask");
    FAIL() << "expected an error";
  } catch (const maskjit::Error &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "inline.mask:1:21: error: unknown name `windw`"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(maskjit::Pattern::fromString(
                   "pattern a { causal }\npattern b { causal }"),
               maskjit::Error);
  EXPECT_THROW(maskjit::Pattern::fromFile("/no/such/file.mask"),
               maskjit::Error);
}

TEST(Api, EvaluatorFromThePattern) {
  auto p = maskjit::Pattern::fromString(
      "pattern w(n: int = 2) { causal and q - k < n }");
  auto e = p.oracle(4, 4);
  EXPECT_TRUE(e.allowed(3, 2));
  EXPECT_FALSE(e.allowed(3, 1));
  maskjit::Params wide;
  wide.scalars["n"] = 3;
  EXPECT_TRUE(p.oracle(4, 4, wide).allowed(3, 1));
  EXPECT_FALSE(p.oracle(4, 4, wide).allowed(1, 3));
}

TEST(Api, CompileWithoutAGpu) {
  if (!maskjit::nvrtcAvailable())
    GTEST_SKIP() << "NVRTC not installed";
  auto p = maskjit::Pattern::fromString(
      "pattern w(n: int = 2) { causal and q - k < n }");
  maskjit::CompileOptions o;
  o.arch = "sm_80";
  o.headDim = 64;
  o.constants["n"] = 100;
  o.useCache = false;
  maskjit::Kernel k = maskjit::Kernel::compile(p, o);
  EXPECT_NE(k.ptx().find(".entry maskjit_attention_fwd"), std::string::npos);
  EXPECT_NE(k.cudaSource().find("w_allowed"), std::string::npos);
  EXPECT_EQ(k.cacheKey().size(), 16u);
  EXPECT_EQ(k.family(), "portable");
  o.kernel = "hopper"; // needs sm_90a
  EXPECT_THROW(maskjit::Kernel::compile(p, o), maskjit::Error);
  o.arch = "sm_90a";
  EXPECT_EQ(maskjit::Kernel::compile(p, o).family(), "hopper");
  o.kernel = "auto";
  o.headDim = 96;
  EXPECT_THROW(maskjit::Kernel::compile(p, o), maskjit::Error);
  o.headDim = 64;
  o.constants["nope"] = 1;
  EXPECT_THROW(maskjit::Kernel::compile(p, o), maskjit::Error);
}
