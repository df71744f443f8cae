// The cubin reader (runtime/CubinInfo.cpp) on a small ELF built here with
// the entries ptxas writes, and on every truncation and many corruptions
// of it: malformed input leaves fields unknown (-1), never crashes. (Real
// cubins: tests/lit/kernels/cubin_stats.test compares with `ptxas -v`.)
#include "maskjit/runtime/CubinInfo.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using maskjit::runtime::CubinFunctionInfo;
using maskjit::runtime::readCubinFunctionInfo;

namespace {

template <typename T> void put(std::vector<char> &out, T v) {
  const char *p = reinterpret_cast<const char *>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

/// An .nv.info entry of format 4 (16-bit size, payload of 32-bit words).
void entry(std::vector<char> &out, uint8_t attr,
           std::initializer_list<uint32_t> words) {
  out.push_back(4);
  out.push_back(static_cast<char>(attr));
  put<uint16_t>(out, static_cast<uint16_t>(4 * words.size()));
  for (uint32_t w : words)
    put(out, w);
}

/// A 64-bit ELF with .shstrtab, .strtab, .symtab (a null symbol, `other`,
/// `kernel`), the global .nv.info and .nv.info.kernel.
std::vector<char> fakeCubin(const std::string &kernel, int regs, int frame,
                            int threads) {
  struct Sec {
    std::string name;
    uint32_t type, link;
    std::vector<char> data;
  };
  std::vector<char> strtab{'\0'};
  auto addString = [](std::vector<char> &table, const std::string &s) {
    const uint32_t at = static_cast<uint32_t>(table.size());
    table.insert(table.end(), s.begin(), s.end());
    table.push_back('\0');
    return at;
  };
  const uint32_t otherName = addString(strtab, "other");
  const uint32_t kernelName = addString(strtab, kernel);
  std::vector<char> symtab(24, 0); // the null symbol
  for (uint32_t name : {otherName, kernelName}) {
    put(symtab, name);
    symtab.resize(symtab.size() + 20, 0);
  }
  std::vector<char> info;
  entry(info, 0x2f, {1, 40});                          // "other": 40 registers
  entry(info, 0x2f, {2, static_cast<uint32_t>(regs)}); // the kernel
  info.push_back(3); // a 2-byte value entry, skipped
  info.push_back(0x1b);
  put<uint16_t>(info, 128);
  entry(info, 0x11, {2, static_cast<uint32_t>(frame)});
  std::vector<char> perKernel;
  perKernel.push_back(1); // a valueless entry, skipped
  perKernel.push_back(0x54);
  entry(perKernel, 0x05, {static_cast<uint32_t>(threads), 1, 1});
  std::vector<Sec> secs = {{"", 0, 0, {}},
                           {".shstrtab", 3, 0, {}},
                           {".strtab", 3, 0, strtab},
                           {".symtab", 2, 2, symtab},
                           {".nv.info", 0x70000000, 3, info},
                           {".nv.info." + kernel, 0x70000000, 3, perKernel}};
  std::vector<char> shstr{'\0'};
  std::vector<uint32_t> names;
  for (const Sec &s : secs)
    names.push_back(s.name.empty() ? 0 : addString(shstr, s.name));
  secs[1].data = shstr;
  std::vector<char> out(64, 0);
  std::memcpy(out.data(),
              "\x7f"
              "ELF",
              4);
  out[4] = 2; // 64-bit
  out[5] = 1; // little-endian
  std::vector<uint64_t> offsets;
  for (const Sec &s : secs) {
    offsets.push_back(out.size());
    out.insert(out.end(), s.data.begin(), s.data.end());
  }
  const uint64_t shoff = out.size();
  for (size_t i = 0; i < secs.size(); ++i) {
    put(out, names[i]);
    put(out, secs[i].type);
    put<uint64_t>(out, 0);          // flags
    put<uint64_t>(out, 0);          // addr
    put<uint64_t>(out, offsets[i]); // offset
    put<uint64_t>(out, secs[i].data.size());
    put(out, secs[i].link);
    put<uint32_t>(out, 0);                          // info
    put<uint64_t>(out, 1);                          // addralign
    put<uint64_t>(out, secs[i].type == 2 ? 24 : 0); // entsize
  }
  std::memcpy(out.data() + 0x28, &shoff, 8);
  const uint16_t shentsize = 64, shnum = static_cast<uint16_t>(secs.size()),
                 shstrndx = 1;
  std::memcpy(out.data() + 0x3a, &shentsize, 2);
  std::memcpy(out.data() + 0x3c, &shnum, 2);
  std::memcpy(out.data() + 0x3e, &shstrndx, 2);
  return out;
}

} // namespace

TEST(CubinInfo, ReadsTheKernelsEntries) {
  const std::vector<char> cubin =
      fakeCubin("maskjit_attention_fwd", 168, 0, 384);
  CubinFunctionInfo info =
      readCubinFunctionInfo(cubin, "maskjit_attention_fwd");
  EXPECT_EQ(info.registers, 168);
  EXPECT_EQ(info.frameBytes, 0);
  EXPECT_EQ(info.maxThreads, 384);
  info = readCubinFunctionInfo(fakeCubin("k", 255, 48, 128), "k");
  EXPECT_EQ(info.registers, 255);
  EXPECT_EQ(info.frameBytes, 48);
  EXPECT_EQ(info.maxThreads, 128);
}

TEST(CubinInfo, AnotherFunctionOrNoElfIsUnknown) {
  const CubinFunctionInfo none =
      readCubinFunctionInfo(fakeCubin("k", 100, 0, 256), "absent");
  EXPECT_EQ(none.registers, -1);
  EXPECT_EQ(none.frameBytes, -1);
  EXPECT_EQ(none.maxThreads, -1);
  const std::string ptx = ".version 8.8\n.target sm_90a\n";
  const CubinFunctionInfo text =
      readCubinFunctionInfo(std::vector<char>(ptx.begin(), ptx.end()), "k");
  EXPECT_EQ(text.registers, -1);
  EXPECT_EQ(readCubinFunctionInfo({}, "k").registers, -1);
}

// Every prefix of the file, and random byte corruptions: no crash (ASan
// and UBSan watch this in CI), and a value read is never made up.
TEST(CubinInfo, TruncatedOrCorruptFilesNeverCrash) {
  const std::vector<char> cubin = fakeCubin("k", 77, 0, 256);
  for (size_t n = 0; n < cubin.size(); ++n) {
    std::vector<char> prefix(cubin.begin(), cubin.begin() + n);
    const CubinFunctionInfo info = readCubinFunctionInfo(prefix, "k");
    EXPECT_TRUE(info.registers == -1 || info.registers == 77) << n;
  }
  std::mt19937 rng(11);
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<char> bad = cubin;
    for (int flips = 1 + trial % 4; flips > 0; --flips)
      bad[rng() % bad.size()] = static_cast<char>(rng());
    (void)readCubinFunctionInfo(bad, "k");
  }
}
