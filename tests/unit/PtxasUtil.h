//===- PtxasUtil.h - Assembling PTX with ptxas in tests ---------*- C++ -*-===//
#ifndef MASKJIT_TESTS_PTXASUTIL_H
#define MASKJIT_TESTS_PTXASUTIL_H

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace maskjit::test {

/// ptxas from $PATH or /usr/local/cuda/bin; empty when there is none.
inline std::string findPtxas() {
  if (std::system("command -v ptxas >/dev/null 2>&1") == 0)
    return "ptxas";
  if (std::filesystem::exists("/usr/local/cuda/bin/ptxas"))
    return "/usr/local/cuda/bin/ptxas";
  return "";
}

struct PtxasResult {
  bool ok = false;    ///< ptxas exited with 0.
  int functions = 0;  ///< Entry functions reported.
  int spilling = 0;   ///< Of those, how many spill or serialize wgmma.
  std::string output; ///< ptxas -v's report.
};

/// Assembles `ptx` for `arch` with `ptxas -v` and reads its report.
inline PtxasResult assemble(const std::string &ptxas, const std::string &ptx,
                            const std::string &arch) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() /
                       ("maskjit_ptxas_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path in = dir / "k.ptx", out = dir / "k.cubin";
  std::ofstream(in) << ptx;
  const std::string cmd = ptxas + " -arch=" + arch + " -v " + in.string() +
                          " -o " + out.string() + " 2>&1";
  PtxasResult r;
  FILE *pipe = popen(cmd.c_str(), "r");
  if (!pipe)
    return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0)
    r.output.append(buf.data(), n);
  r.ok = pclose(pipe) == 0;
  fs::remove_all(dir);
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("spill stores") != std::string::npos) {
      ++r.functions;
      if (line.find("0 bytes spill stores, 0 bytes spill loads") ==
          std::string::npos)
        ++r.spilling;
    }
    if (line.find("C7514") != std::string::npos)
      ++r.spilling;
  }
  return r;
}

} // namespace maskjit::test

#endif
