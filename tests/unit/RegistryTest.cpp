#include "maskjit/runtime/Registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace maskjit::runtime;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/maskjit-registry-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

KernelBinary binary(const std::string &tag, size_t size = 1000) {
  KernelBinary k;
  k.ptx = "// ptx " + tag + std::string(size, 'x');
  k.cubin.assign(size / 2, static_cast<char>(tag.size()));
  k.meta = "meta " + tag;
  return k;
}

} // namespace

TEST(Registry, MemoryThenDiskThenBuild) {
  TempDir dir;
  KernelRegistry reg(dir.path);
  int builds = 0;
  auto build = [&] {
    ++builds;
    return binary("a");
  };
  CacheSource where;
  auto k1 = reg.getOrBuild("k1", build, &where);
  EXPECT_EQ(where, CacheSource::Built);
  auto k2 = reg.getOrBuild("k1", build, &where);
  EXPECT_EQ(where, CacheSource::Memory);
  EXPECT_EQ(k1.get(), k2.get());
  reg.clearMemory();
  auto k3 = reg.getOrBuild("k1", build, &where);
  EXPECT_EQ(where, CacheSource::Disk);
  EXPECT_EQ(k3->ptx, k1->ptx);
  EXPECT_EQ(k3->cubin, k1->cubin);
  EXPECT_EQ(k3->meta, "meta a");
  // A second registry (another process, say) finds it on disk.
  KernelRegistry other(dir.path);
  other.getOrBuild("k1", build, &where);
  EXPECT_EQ(where, CacheSource::Disk);
  EXPECT_EQ(builds, 1);
}

TEST(Registry, CorruptOrTruncatedEntriesAreRebuilt) {
  TempDir dir;
  int builds = 0;
  auto build = [&] {
    ++builds;
    return binary("b");
  };
  KernelRegistry(dir.path).getOrBuild("k", build);
  const std::string path = KernelRegistry(dir.path).entryPath("k");
  const auto size = fs::file_size(path);
  // One flipped byte in the payload.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 10));
    f.put('#');
  }
  CacheSource where;
  auto k = KernelRegistry(dir.path).getOrBuild("k", build, &where);
  EXPECT_EQ(where, CacheSource::Rebuilt);
  EXPECT_EQ(k->meta, "meta b");
  // Truncated.
  fs::resize_file(path, size / 2);
  KernelRegistry(dir.path).getOrBuild("k", build, &where);
  EXPECT_EQ(where, CacheSource::Rebuilt);
  // Garbage.
  std::ofstream(path) << "not a kernel";
  KernelRegistry(dir.path).getOrBuild("k", build, &where);
  EXPECT_EQ(where, CacheSource::Rebuilt);
  EXPECT_EQ(builds, 4);
  // And the rebuilt entry is good again.
  KernelRegistry(dir.path).getOrBuild("k", build, &where);
  EXPECT_EQ(where, CacheSource::Disk);
}

TEST(Registry, FailedBuildStoresNothing) {
  TempDir dir;
  KernelRegistry reg(dir.path);
  EXPECT_THROW(
      reg.getOrBuild("k",
                     []() -> KernelBinary { throw std::runtime_error("x"); }),
      std::runtime_error);
  EXPECT_FALSE(fs::exists(reg.entryPath("k")));
  CacheSource where;
  reg.getOrBuild(
      "k", [] { return binary("c"); }, &where);
  EXPECT_EQ(where, CacheSource::Built);
}

TEST(Registry, ConcurrentThreadsAndProcesses) {
  TempDir dir;
  // Processes: each builds the same key into the same folder at once.
  std::vector<pid_t> kids;
  for (int i = 0; i < 4; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      KernelRegistry reg(dir.path);
      for (int j = 0; j < 20; ++j)
        reg.getOrBuild("shared" + std::to_string(j % 5),
                       [&] { return binary("p", 20000); });
      _exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  // Threads of one process share one registry.
  KernelRegistry reg(dir.path);
  std::atomic<int> builds{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int j = 0; j < 50; ++j)
        reg.getOrBuild("t" + std::to_string(j % 3), [&] {
          ++builds;
          return binary("t");
        });
    });
  for (auto &t : threads)
    t.join();
  EXPECT_LE(builds.load(), 8 * 3);
  // Every entry left on disk is whole; no temporary file is left behind.
  for (const auto &e : fs::directory_iterator(dir.path)) {
    EXPECT_EQ(e.path().extension(), ".mjk") << e.path();
    CacheSource where;
    KernelRegistry fresh(dir.path);
    fresh.getOrBuild(
        e.path().stem().string(), [] { return binary("x"); }, &where);
    EXPECT_EQ(where, CacheSource::Disk) << e.path();
  }
}

TEST(Registry, EvictsLeastRecentlyUsedPastTheLimit) {
  TempDir dir;
  KernelRegistry reg(dir.path, /*maxBytes=*/50000);
  for (int i = 0; i < 10; ++i) {
    reg.getOrBuild("e" + std::to_string(i), [&] { return binary("e", 10000); });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  uint64_t total = 0;
  int files = 0;
  for (const auto &e : fs::directory_iterator(dir.path)) {
    total += e.file_size();
    ++files;
  }
  EXPECT_LE(total, 50000u);
  EXPECT_GT(files, 0);
  EXPECT_TRUE(fs::exists(reg.entryPath("e9"))); // The newest stays.
  EXPECT_FALSE(fs::exists(reg.entryPath("e0")));
}

TEST(Registry, KeysAndDefaultFolder) {
  EXPECT_EQ(contentHash("abc"), contentHash("abc"));
  EXPECT_NE(contentHash("abc"), contentHash("abd"));
  EXPECT_EQ(contentHash("abc").size(), 16u);
  setenv("MASKJIT_CACHE_DIR", "/tmp/somewhere", 1);
  EXPECT_EQ(KernelRegistry::defaultCacheDir(), "/tmp/somewhere");
  unsetenv("MASKJIT_CACHE_DIR");
  setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  EXPECT_EQ(KernelRegistry::defaultCacheDir(), "/tmp/xdg/maskjit");
  unsetenv("XDG_CACHE_HOME");
}

TEST(Registry, UnwritableFolderOnlyCostsRecompiles) {
  KernelRegistry reg("/proc/maskjit-cannot-write-here");
  CacheSource where;
  reg.getOrBuild(
      "k", [] { return binary("u"); }, &where);
  EXPECT_EQ(where, CacheSource::Built);
  reg.getOrBuild(
      "k", [] { return binary("u"); }, &where);
  EXPECT_EQ(where, CacheSource::Memory);
}
