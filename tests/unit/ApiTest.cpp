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

TEST(Api, ScheduleRemarksNameTheTiers) {
  if (!maskjit::nvrtcAvailable())
    GTEST_SKIP() << "NVRTC not installed";
  // A 3-D neighbourhood: the row distance on `(q % plane) / w` is no
  // closed form (a remark at its comparison), the abstract domain decides
  // most tiles, and the remarks count the kernel's visits.
  auto p = maskjit::Pattern::fromString(
      "pattern v(w: int = 16, r: runtime int = 2) {\n"
      "  let dy = (q % (w * w)) / w - (k % (w * w)) / w\n"
      "  q / (w * w) == k / (w * w) and abs(dy) <= r and abs(q % w - k % w) <= "
      "r\n"
      "}\n",
      "", "video.mask");
  maskjit::CompileOptions o;
  o.arch = "sm_90a";
  o.useCache = false;
  maskjit::Kernel k = maskjit::Kernel::compile(p, o);
  maskjit::Params params;
  params.scalars["r"] = 2;
  std::vector<maskjit::ScheduleRemark> remarks =
      k.scheduleRemarks(4096, 4096, params);
  bool opaqueAtLine3 = false, counted = false;
  for (const maskjit::ScheduleRemark &r : remarks) {
    opaqueAtLine3 |= r.where.rfind("video.mask:3:", 0) == 0 &&
                     r.message.find("cannot read") != std::string::npos;
    counted |= r.message.find("Lq=4096 Lk=4096, tiles 128x128: the kernel "
                              "visits") != std::string::npos &&
               r.message.find("the abstract domain") != std::string::npos;
  }
  EXPECT_TRUE(opaqueAtLine3);
  EXPECT_TRUE(counted);
  // A runtime param's default, as a launch takes it; bad lengths.
  EXPECT_EQ(k.scheduleRemarks(4096, 4096).size(), remarks.size());
  EXPECT_THROW(k.scheduleRemarks(0, 4096, params), maskjit::Error);
  // A value the schedule needs and does not get.
  auto needs = maskjit::Pattern::fromString(
      "pattern n(w: runtime int) { causal and q - k < w }");
  maskjit::Kernel kn = maskjit::Kernel::compile(needs, o);
  EXPECT_THROW(kn.scheduleRemarks(1024, 1024), maskjit::Error);
}
