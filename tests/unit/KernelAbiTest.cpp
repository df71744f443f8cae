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

#include <cstring>
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

// The argument struct and the packers share runtime::argWords: the kernel
// declares one field per word, and packing an argument writes exactly its
// words, with the values where the struct has them.
TEST(KernelAbi, ArgumentWordsMatchTheStructTheKernelDeclares) {
  maskjit::test::Loaded l = maskjit::test::load(
      "pattern p(doc: int[], w: int[heads], n: runtime int = 7) "
      "{ causal and doc[q] == doc[k] and q - k < w[h] + n }");
  ASSERT_NE(l.program, nullptr) << l.diagnostics;
  codegen::KernelConfig config{128, "bf16", 0, codegen::KernelFamily::Portable};
  codegen::KernelSource src =
      codegen::buildKernelSource(l.pattern("p"), {}, "", config);
  ASSERT_EQ(src.args.size(), 3u);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      src.code, m, std::regex("struct maskjit_args \\{([^}]*)\\}")));
  const std::string body = m[1];
  size_t declared = 0, expected = 1; // maskjit_unused
  for (size_t at = body.find(';'); at != std::string::npos;
       at = body.find(';', at + 1))
    ++declared;
  for (const codegen::ArgField &a : src.args) {
    for (const runtime::ArgWord &w : runtime::argWords(a.kind, a.name))
      EXPECT_NE(body.find(std::string(w.type) + " " + w.name + ";"),
                std::string::npos)
          << w.name;
    expected += runtime::argWords(a.kind, a.name).size();
  }
  EXPECT_EQ(declared, expected) << body;
  EXPECT_EQ(src.args[2].kind, runtime::ArgKind::Scalar);
  EXPECT_EQ(src.args[2].defaultValue, std::optional<int64_t>(7));

  // Packing: addresses handed out in order, values checked by position.
  uint64_t next = 0x1000;
  std::vector<std::vector<char>> uploaded;
  auto upload = [&](const void *data, size_t bytes, uint64_t &address) {
    uploaded.emplace_back(static_cast<const char *>(data),
                          static_cast<const char *>(data) + bytes);
    address = next;
    next += 0x1000;
    return true;
  };
  const std::vector<int64_t> doc = {3, 3, 1, 1, 1};
  std::vector<uint64_t> words;
  ASSERT_TRUE(runtime::packArray(doc, upload, words));
  ASSERT_EQ(words.size(),
            runtime::argWords(runtime::ArgKind::Array, "doc").size());
  EXPECT_EQ(words[0], 0x1000u); // values
  EXPECT_EQ(words[1], 5u);
  EXPECT_EQ(words[2], 0x2000u); // sorted set {1, 3}
  EXPECT_EQ(words[3], 2u);
  EXPECT_EQ(words[4], 0x3000u); // its bitmap over [1, 4)
  EXPECT_EQ(words[5], 1u);
  EXPECT_EQ(words[6], 4u);
  EXPECT_EQ(words[7], 0u); // not non-decreasing: no run bounds
  std::vector<int64_t> set(2);
  std::memcpy(set.data(), uploaded[1].data(), 16);
  EXPECT_EQ(set, (std::vector<int64_t>{1, 3}));
  words.clear();
  ASSERT_TRUE(runtime::packHeadArray({4, 5}, upload, words));
  EXPECT_EQ(words.size(),
            runtime::argWords(runtime::ArgKind::HeadArray, "w").size());
  // A failed upload is reported, not packed over.
  auto failing = [](const void *, size_t, uint64_t &) { return false; };
  words.clear();
  EXPECT_FALSE(runtime::packArray(doc, failing, words));
}

} // namespace
