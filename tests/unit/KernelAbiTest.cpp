//===- KernelAbiTest.cpp - The kernel parameter block has one layout ------===//
//
// The host packs maskjit_params from runtime::KernelParams; the generated
// prelude states the host's offsets and the kernel static_asserts its own
// against them. Compiling through NVRTC (no GPU) shows both directions: the
// source as generated compiles, and a prelude that moves one field does not.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "maskjit/codegen/BuildKernelSource.h"
#include "maskjit/runtime/Driver.h"

#include <gtest/gtest.h>

#include <regex>

using namespace maskjit;

namespace {

TEST(KernelAbi, KernelAndHostAgreeOnTheParameterBlock) {
  if (!runtime::Nvrtc::available())
    GTEST_SKIP() << "NVRTC not installed";
  maskjit::test::Loaded l = maskjit::test::load("pattern p { causal }");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  for (auto family :
       {codegen::KernelFamily::Portable, codegen::KernelFamily::Hopper}) {
    codegen::KernelConfig config{128, "bf16", 0, family};
    const std::string arch =
        family == codegen::KernelFamily::Hopper ? "compute_90a" : "compute_80";
    const std::string code = codegen::buildKernelSource(
                                 l.pattern("p"), {},
                                 "static __device__ bool p_allowed(int64_t q, "
                                 "int64_t k, int64_t, int64_t, int64_t, "
                                 "int64_t, const maskjit_args *) { return k "
                                 "<= q; }\n",
                                 config)
                                 .code;
    ASSERT_NE(code.find("#define MJ_ABI_batch "), std::string::npos);
    EXPECT_NO_THROW(runtime::Nvrtc::get().compile(code, "abi.cu", arch, {}));
    // The host's batch 8 bytes further on: the kernel refuses to compile.
    std::smatch m;
    ASSERT_TRUE(
        std::regex_search(code, m, std::regex("#define MJ_ABI_batch (\\d+)")));
    std::string moved = code;
    moved.replace(m.position(1), m.length(1),
                  std::to_string(std::stoi(m[1]) + 8));
    try {
      runtime::Nvrtc::get().compile(moved, "abi.cu", arch, {});
      ADD_FAILURE() << "a moved field compiled";
    } catch (const std::exception &e) {
      EXPECT_NE(std::string(e.what()).find("maskjit_params.batch"),
                std::string::npos)
          << e.what();
    }
  }
}

} // namespace
