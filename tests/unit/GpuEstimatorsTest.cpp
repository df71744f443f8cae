// The GPU estimator kernels compile with NVRTC for both architectures and
// head sizes (no GPU needed); their results are checked against the CPU
// reference estimators by `maskc run --check` on the GPU (bench/gpu_tests.sh).
#include "PtxasUtil.h"
#include "TestUtil.h"

#include "maskjit/plan/PlanKernel.h"
#include "maskjit/runtime/Attention.h"
#include "maskjit/runtime/Driver.h"
#include "maskjit/runtime/GpuEstimators.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace maskjit::runtime;
namespace plan = maskjit::plan;

namespace {
/// Every configuration of an estimator's source compiles with NVRTC, has
/// `kernels`, and (as CI asks of every generated kernel) ptxas assembles
/// it with no spills; `check` looks at the PTX too.
template <typename Source, typename Check>
void compilesEverywhere(Source source, std::vector<const char *> kernels,
                        Check check) {
  for (int64_t d : {64, 128})
    for (const char *dtype : {"bf16", "fp16"})
      for (const char *arch : {"sm_80", "sm_90a"}) {
        Nvrtc::Output o;
        ASSERT_NO_THROW(
            o = Nvrtc::get().compile(source(d, dtype), "estimate.cu", arch, {}))
            << d << " " << dtype << " " << arch;
        EXPECT_FALSE(o.cubin.empty());
        for (const char *kernel : kernels)
          EXPECT_NE(o.ptx.find(kernel), std::string::npos) << kernel;
        check(o.ptx);
        const std::string ptxas = maskjit::test::findPtxas();
        if (ptxas.empty())
          continue;
        maskjit::test::PtxasResult r =
            maskjit::test::assemble(ptxas, o.ptx, arch);
        EXPECT_TRUE(r.ok) << r.output;
        EXPECT_EQ(r.functions, static_cast<int>(kernels.size())) << r.output;
        EXPECT_EQ(r.spilling, 0) << d << " " << dtype << " " << arch << "\n"
                                 << r.output;
      }
}
} // namespace

TEST(GpuEstimators, SourceCompilesWithNvrtc) {
  if (!Nvrtc::available())
    GTEST_SKIP() << "no NVRTC on this machine";
  compilesEverywhere(
      VerticalSlashEstimator::source,
      {"mj_vs_chunk_stats", "mj_vs_row_stats", "mj_vs_mass", "mj_topk_select"},
      [](const std::string &) {});
}

TEST(GpuEstimators, BlockTopkSourceCompilesWithNvrtc) {
  if (!Nvrtc::available())
    GTEST_SKIP() << "no NVRTC on this machine";
  compilesEverywhere(BlockTopkEstimator::source, {"mj_bt_pool", "mj_bt_select"},
                     [](const std::string &ptx) {
                       // The scores must be the CPU reference's: no fused
                       // multiply-add.
                       EXPECT_EQ(ptx.find("fma.rn.f32"), std::string::npos);
                     });
}

// What a launch without sets estimates with: the selectors' arguments, read
// from the specialized pattern at compile time (no GPU, no NVRTC needed).
TEST(GpuEstimators, SelectorArgumentsFromThePattern) {
  auto args = [](const std::string &source,
                 const std::vector<std::string> &bindings) {
    maskjit::test::Loaded l = maskjit::test::load(source);
    EXPECT_NE(l.program, nullptr) << l.diagnostics;
    plan::KernelRequest req;
    req.constants = maskjit::test::constants(bindings);
    std::ostringstream errors;
    CompiledKernel k = plan::compileKernel(*l.program, l.pattern("p"),
                                           l.fe->sources(), req, errors, false);
    return std::make_pair(k.selectorArgs, k.selectorArgsError);
  };
  const char *vs = R"(
pattern p(vertical: int = 1000, slash: int = 64, last_q: int = 64) {
  causal and (k in topk_columns(vertical, last_q) or q - k in topk_diagonals(slash, last_q))
})";
  auto [a, error] = args(vs, {"vertical=40", "last_q=16"});
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_EQ(a["topk_columns"], std::make_pair(int64_t{40}, int64_t{16}));
  EXPECT_EQ(a["topk_diagonals"], std::make_pair(int64_t{64}, int64_t{16}));
  // Two different column counts in one pattern: no single estimate.
  auto [b, twice] = args(R"(
pattern p {
  heads 0 => k in topk_columns(10, 8)
  heads 1.. => k in topk_columns(20, 8)
})",
                         {});
  EXPECT_NE(twice.find("different arguments"), std::string::npos) << twice;
  // A runtime count is not known when the kernel is compiled.
  auto [c, runtime] = args(R"(
pattern p(n: runtime int = 10) { k in topk_columns(n, 8) })",
                           {});
  EXPECT_NE(runtime.find("not compile-time"), std::string::npos) << runtime;
}
