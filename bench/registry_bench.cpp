// CPU benchmark of the kernel registry: in-memory hit, disk hit, and the
// content hash of a generated kernel's source.
#include "maskjit/runtime/Registry.h"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <unistd.h>

using namespace maskjit::runtime;

namespace {
KernelBinary fakeKernel() {
  KernelBinary k;
  k.ptx.assign(200000, 'p'); // About the size of a real kernel's PTX.
  k.cubin.assign(150000, 'c');
  return k;
}
std::string tempDir() {
  char tmpl[] = "/tmp/maskjit-bench-XXXXXX";
  return mkdtemp(tmpl);
}
} // namespace

static void BM_MemoryHit(benchmark::State &state) {
  std::string dir = tempDir();
  KernelRegistry reg(dir);
  reg.getOrBuild("key", fakeKernel);
  for (auto _ : state)
    benchmark::DoNotOptimize(reg.getOrBuild("key", fakeKernel));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_MemoryHit);

static void BM_DiskHit(benchmark::State &state) {
  std::string dir = tempDir();
  KernelRegistry(dir).getOrBuild("key", fakeKernel);
  for (auto _ : state) {
    KernelRegistry reg(dir); // A new process, in effect.
    benchmark::DoNotOptimize(reg.getOrBuild("key", fakeKernel));
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_DiskHit)->Unit(benchmark::kMicrosecond);

static void BM_KeyOfKernelSource(benchmark::State &state) {
  std::string source(60000, 'x'); // A generated kernel's source length.
  for (auto _ : state)
    benchmark::DoNotOptimize(contentHash(source));
}
BENCHMARK(BM_KeyOfKernelSource)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
