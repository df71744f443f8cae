//===- CacheEntryFuzzer.cpp - libFuzzer target for the kernel cache reader ===//
//
// Any bytes in the place of a cache entry: the registry either loads them
// (and then they are exactly the entry it would have written for that
// kernel under this key and identity) or removes them and rebuilds. No
// crash, no hang, no allocation the file's size does not back.
//
//===----------------------------------------------------------------------===//
#include "maskjit/runtime/Registry.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using maskjit::runtime::CacheSource;
using maskjit::runtime::KernelBinary;
using maskjit::runtime::KernelRegistry;

/// The fuzzer's own cache folder, removed at exit (a plain array: the
/// exit handler runs after static strings are destroyed).
char gDir[] = "/tmp/maskjit-cache-fuzz-XXXXXX";

std::string cacheDir() {
  static const bool made = [] {
    if (!mkdtemp(gDir))
      std::abort();
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(fs::path(gDir), ec);
    });
    return true;
  }();
  (void)made;
  return gDir;
}

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string dir = cacheDir();
  KernelRegistry reg(dir);
  const std::string path = reg.entryPath("k");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data),
              static_cast<std::streamsize>(size));
  }
  bool built = false;
  auto build = [&] {
    built = true;
    return KernelBinary{"// rebuilt", {'c', 'u'}, "meta"};
  };
  CacheSource where;
  auto k = reg.getOrBuild("k", build, &where, "source=fuzz");
  if (where == CacheSource::Disk) {
    if (built)
      __builtin_trap();
    // What was loaded, written again, is the input byte for byte.
    KernelRegistry other(dir + "/again");
    other.getOrBuild(
        "k", [&] { return *k; }, nullptr, "source=fuzz");
    const std::string again = readAll(other.entryPath("k"));
    if (again != std::string(reinterpret_cast<const char *>(data), size))
      __builtin_trap();
  } else if (where != CacheSource::Rebuilt && where != CacheSource::Built) {
    __builtin_trap();
  } else if (k->ptx != "// rebuilt") {
    __builtin_trap();
  }
  std::error_code ec;
  fs::remove_all(dir + "/again", ec);
  return 0;
}
