// The GPU estimator kernels compile with NVRTC for both architectures and
// head sizes (no GPU needed); their results are checked against the CPU
// reference estimators by `maskc run --check` on the GPU (bench/gpu_tests.sh).
#include "maskjit/runtime/GpuEstimators.h"
#include "maskjit/runtime/Driver.h"

#include <gtest/gtest.h>

using namespace maskjit::runtime;

TEST(GpuEstimators, SourceCompilesWithNvrtc) {
  if (!Nvrtc::available())
    GTEST_SKIP() << "no NVRTC on this machine";
  for (int64_t d : {64, 128})
    for (const char *dtype : {"bf16", "fp16"})
      for (const char *arch : {"sm_80", "sm_90a"}) {
        Nvrtc::Output o;
        ASSERT_NO_THROW(
            o = Nvrtc::get().compile(VerticalSlashEstimator::source(d, dtype),
                                     "estimate.cu", arch, {}))
            << d << " " << dtype << " " << arch;
        EXPECT_FALSE(o.cubin.empty());
        for (const char *kernel : {"mj_vs_chunk_stats", "mj_vs_row_stats",
                                   "mj_vs_mass", "mj_vs_topk"})
          EXPECT_NE(o.ptx.find(kernel), std::string::npos) << kernel;
      }
}
