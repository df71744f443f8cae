//===- KernelTilesTest.cpp - Tile shapes of the attention kernels --------===//
//
// Which tiles a kernel gets (the schedule is built for them), and that the
// Hopper kernel's 64 x 64 shape fits two CTAs on an SM. No GPU, no NVRTC.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "maskjit/codegen/BuildKernelSource.h"
#include "maskjit/plan/PlanKernel.h"
#include "maskjit/runtime/Attention.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace maskjit;
using codegen::KernelConfig;
using codegen::KernelFamily;

namespace {

// An H100's shared memory per SM, and what the driver reserves per CTA.
constexpr int kSharedPerSm = 228 * 1024, kReservedPerCta = 1024;

codegen::KernelSource sourceFor(KernelConfig config) {
  maskjit::test::Loaded l = maskjit::test::load("pattern p { causal }");
  EXPECT_NE(l.program, nullptr) << l.diagnostics;
  return codegen::buildKernelSource(l.pattern("p"), {}, "", config);
}

TEST(KernelTiles, DefaultsPerFamily) {
  KernelConfig hopper{128, "bf16", 0, KernelFamily::Hopper};
  EXPECT_EQ(codegen::kernelTileM(hopper), 128);
  EXPECT_EQ(codegen::kernelTileN(hopper), 128);
  KernelConfig portable{128, "bf16", 0, KernelFamily::Portable};
  EXPECT_EQ(codegen::kernelTileM(portable), 64);
  EXPECT_EQ(codegen::kernelTileN(portable), 64);
  portable.tileM = 128;
  EXPECT_EQ(codegen::kernelTileM(portable), 128);
  EXPECT_EQ(codegen::kernelTileN(portable), 64);
  hopper.tileM = 64;
  EXPECT_EQ(codegen::kernelTileN(hopper), 64);
}

TEST(KernelTiles, HopperSmallTilesFitTwoCtasPerSm) {
  for (int64_t d : {64, 128}) {
    codegen::KernelSource big = sourceFor({d, "bf16", 0, KernelFamily::Hopper});
    // Square tiles: a consumer warpgroup per 64 rows and a producer one.
    EXPECT_EQ(big.threads, 384);
    EXPECT_EQ(big.ctasPerSm, 1);
    EXPECT_NE(big.code.find("#define MASKJIT_TILE_N 128"), std::string::npos);
    codegen::KernelSource small =
        sourceFor({d, "bf16", 64, KernelFamily::Hopper});
    EXPECT_EQ(small.tileM, 64);
    EXPECT_EQ(small.tileN, 64);
    EXPECT_EQ(small.threads, 256);
    EXPECT_EQ(small.ctasPerSm, 2);
    EXPECT_NE(small.code.find("#define MASKJIT_TILE_N 64"), std::string::npos);
    // Q and three stages of K and V at least, and two CTAs on one SM.
    EXPECT_GE(small.sharedBytes, (64 + 6 * 64) * d * 2);
    EXPECT_LE(small.ctasPerSm * (small.sharedBytes + kReservedPerCta),
              kSharedPerSm);
  }
  EXPECT_THROW(sourceFor({128, "bf16", 96, KernelFamily::Hopper}),
               std::invalid_argument);
}

// A dilated pattern's tiles (every d-th key: no TMA box) run without the
// producer warpgroup, as the kernel's launch bounds say.
TEST(KernelTiles, DilatedHopperTilesHaveNoProducer) {
  for (int64_t m : {64, 128}) {
    KernelConfig config{128, "bf16", m, KernelFamily::Hopper};
    config.dilation = 3;
    codegen::KernelSource dilated = sourceFor(config);
    EXPECT_EQ(dilated.threads, m * 2);
    EXPECT_NE(dilated.code.find("#define MASKJIT_DILATION 3"),
              std::string::npos);
  }
}

// 128 x 64 on Hopper: two warpgroups over two query blocks of 64 sharing
// key tiles of 64, one CTA per SM; no other non-square Hopper shape, and
// the portable kernel's key tiles stay 64 wide.
TEST(KernelTiles, HopperPairTiles) {
  for (int64_t d : {64, 128}) {
    KernelConfig config{d, "bf16", 128, KernelFamily::Hopper};
    config.tileN = 64;
    codegen::KernelSource pair = sourceFor(config);
    EXPECT_EQ(pair.tileM, 128);
    EXPECT_EQ(pair.tileN, 64);
    EXPECT_EQ(pair.threads, 256);
    EXPECT_EQ(pair.ctasPerSm, 1);
    EXPECT_NE(pair.code.find("#define MASKJIT_TILE_M 128"), std::string::npos);
    EXPECT_NE(pair.code.find("#define MASKJIT_TILE_N 64"), std::string::npos);
    EXPECT_GE(pair.sharedBytes, (128 + 6 * 64) * d * 2);
    EXPECT_LE(pair.sharedBytes + kReservedPerCta, kSharedPerSm);
    config.tileM = 0; // the Hopper default, 128 rows
    EXPECT_EQ(sourceFor(config).tileN, 64);
  }
  KernelConfig wide{128, "bf16", 64, KernelFamily::Hopper};
  wide.tileN = 128;
  EXPECT_THROW(sourceFor(wide), std::invalid_argument);
  KernelConfig portable{128, "bf16", 128, KernelFamily::Portable};
  portable.tileN = 128;
  EXPECT_THROW(sourceFor(portable), std::invalid_argument);
  portable.tileN = 64;
  EXPECT_EQ(sourceFor(portable).tileN, 64);
}

// Block top-k in blocks under 128 gets the 64 x 64 Hopper kernel unless the
// caller chose a tile; other patterns keep 128 x 128.
TEST(KernelTiles, BlockTopkGetsSmallHopperTiles) {
  maskjit::test::Loaded l = maskjit::test::load(R"(
pattern bt(keep: int = 16, block: int = 64) {
  causal and k / block in topk_blocks(keep, block)
}
pattern c { causal })");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  auto tiles = [&](const std::string &name, std::vector<std::string> bindings,
                   const std::string &arch, int64_t tileM, int64_t tileN = 0) {
    plan::KernelRequest req;
    req.constants = test::constants(bindings);
    req.arch = arch;
    req.tileM = tileM;
    req.tileN = tileN;
    std::ostringstream errors;
    runtime::CompiledKernel k = plan::compileKernel(
        *l.program, l.pattern(name), l.fe->sources(), req, errors, false);
    return std::make_pair(k.source.tileM, k.source.tileN);
  };
  using P = std::pair<int, int>;
  EXPECT_EQ(tiles("bt", {}, "sm_90a", 0), P(64, 64));
  EXPECT_EQ(tiles("bt", {"block=32"}, "sm_90a", 0), P(64, 64));
  EXPECT_EQ(tiles("bt", {"block=128", "keep=8"}, "sm_90a", 0), P(128, 128));
  EXPECT_EQ(tiles("bt", {}, "sm_90a", 128), P(128, 128));
  EXPECT_EQ(tiles("bt", {}, "sm_90a", 128, 64), P(128, 64));
  EXPECT_EQ(tiles("bt", {}, "sm_90a", 0, 64), P(128, 64));
  EXPECT_EQ(tiles("c", {}, "sm_90a", 0), P(128, 128));
  EXPECT_EQ(tiles("c", {}, "sm_90a", 64), P(64, 64));
  EXPECT_EQ(tiles("bt", {}, "sm_80", 0), P(64, 64));
  EXPECT_EQ(tiles("c", {}, "sm_80", 128), P(128, 64));
}

// PARTIAL tiles read bits built per schedule where no row mask decides
// them: the Hopper kernel's undilated tiles, a predicate that does not
// read the batch index (the bits are per head at most).
TEST(KernelTiles, TileBitsWhereNoRowMaskDecides) {
  maskjit::test::Loaded l = maskjit::test::load(R"(
pattern video(w: int = 32, plane: int = 1024) {
  abs(q / plane - k / plane) <= 1 and abs((q % plane) / w - (k % plane) / w) <= 3
    and abs(q % w - k % w) <= 3
}
pattern c { causal }
pattern dilated { causal and q - k < 64 and (q - k) % 2 == 0 }
pattern per_seq {
  abs(q / 1024 - k / 1024) <= b and abs((q % 1024) / 32 - (k % 1024) / 32) <= 3
    and abs(q % 32 - k % 32) <= 3
}
)");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  auto source = [&](const std::string &name, const std::string &arch,
                    int64_t tileM = 0) {
    plan::KernelRequest req;
    req.arch = arch;
    req.tileM = tileM;
    std::ostringstream errors;
    return plan::compileKernel(*l.program, l.pattern(name), l.fe->sources(),
                               req, errors, false)
        .source;
  };
  for (int64_t tileM : {0, 64}) {
    codegen::KernelSource v = source("video", "sm_90a", tileM);
    EXPECT_TRUE(v.tileBits);
    EXPECT_NE(v.code.find("#define MASKJIT_TILE_BITS 1"), std::string::npos);
    EXPECT_EQ(v.code.find("#define MASKJIT_ROW_MASK 1"), std::string::npos);
  }
  EXPECT_FALSE(source("video", "sm_80").tileBits);
  EXPECT_FALSE(source("c", "sm_90a").tileBits); // its row mask decides
  EXPECT_FALSE(source("dilated", "sm_90a").tileBits);
  codegen::KernelSource perSeq = source("per_seq", "sm_90a");
  EXPECT_FALSE(perSeq.tileBits);
  // (No row mask either: the batch index is what rules the bits out.)
  EXPECT_EQ(perSeq.code.find("#define MASKJIT_ROW_MASK 1"), std::string::npos);
  EXPECT_EQ(perSeq.code.find("#define MASKJIT_TILE_BITS 1"), std::string::npos);
}

} // namespace
