#include "maskjit/runtime/Registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
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

namespace {
/// An entry header as version 02 writes it (the test forges its own).
struct ForgedHeader {
  char magic[8] = {'M', 'J', 'K', 'E', 'R', 'N', '0', '2'};
  uint64_t keySize = 0, identitySize = 0, ptxSize = 0, cubinSize = 0,
           metaSize = 0;
  uint64_t checksum = 0;
};

void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string headerBytes(const ForgedHeader &h) {
  return std::string(reinterpret_cast<const char *>(&h), sizeof h);
}
} // namespace

TEST(Registry, AnotherKernelsEntryIsNeverLoaded) {
  TempDir dir;
  int builds = 0;
  auto buildA = [&] {
    ++builds;
    return binary("a");
  };
  auto buildB = [&] {
    ++builds;
    return binary("bb");
  };
  KernelRegistry(dir.path).getOrBuild("ka", buildA, nullptr, "source=A");
  KernelRegistry(dir.path).getOrBuild("kb", buildB, nullptr, "source=B");
  const KernelRegistry reg(dir.path);
  // A valid entry of kernel A copied under B's key.
  fs::copy_file(reg.entryPath("ka"), reg.entryPath("kb"),
                fs::copy_options::overwrite_existing);
  CacheSource where;
  auto k =
      KernelRegistry(dir.path).getOrBuild("kb", buildB, &where, "source=B");
  EXPECT_EQ(where, CacheSource::Rebuilt);
  EXPECT_EQ(k->meta, "meta bb");
  // The same key with another identity (another maskjit or NVRTC version,
  // a colliding 64-bit key): rebuilt, not loaded.
  k = KernelRegistry(dir.path).getOrBuild("kb", buildA, &where, "source=B2");
  EXPECT_EQ(where, CacheSource::Rebuilt);
  EXPECT_EQ(k->meta, "meta a");
  EXPECT_EQ(builds, 4);
}

TEST(Registry, ForgedEntriesAreNeverLoaded) {
  TempDir dir;
  int builds = 0;
  auto build = [&] {
    ++builds;
    return binary("c");
  };
  const std::string path = KernelRegistry(dir.path).entryPath("k");
  fs::create_directories(dir.path);
  CacheSource where;
  // Right magic, zero sizes, the checksum of nothing but the key: a kernel
  // with no code.
  {
    ForgedHeader h;
    h.keySize = 1;
    h.identitySize = 1;
    writeBytes(path, headerBytes(h) + "kk");
  }
  auto k = KernelRegistry(dir.path).getOrBuild("k", build, &where);
  EXPECT_EQ(where, CacheSource::Rebuilt);
  EXPECT_FALSE(k->cubin.empty());
  // Sizes whose sum overflows 64 bits to the file's size.
  {
    ForgedHeader h;
    h.keySize = 1;
    h.identitySize = 1;
    h.ptxSize = ~uint64_t{0};
    h.cubinSize = sizeof(ForgedHeader) + 3;
    writeBytes(path, headerBytes(h) + "kk");
  }
  k = KernelRegistry(dir.path).getOrBuild("k", build, &where);
  EXPECT_EQ(where, CacheSource::Rebuilt);
  // An entry of the previous format.
  {
    ForgedHeader h;
    h.magic[7] = '1';
    writeBytes(path, headerBytes(h));
  }
  KernelRegistry(dir.path).getOrBuild("k", build, &where);
  EXPECT_EQ(where, CacheSource::Rebuilt);
  EXPECT_EQ(builds, 3);
  KernelRegistry(dir.path).getOrBuild("k", build, &where);
  EXPECT_EQ(where, CacheSource::Disk);
}

TEST(Registry, WhatIsNotARegularFileIsReplaced) {
  TempDir dir;
  int builds = 0;
  auto build = [&] {
    ++builds;
    return binary("d");
  };
  const std::string path = KernelRegistry(dir.path).entryPath("k");
  fs::create_directories(dir.path);
  CacheSource where;
  // A link to a FIFO: never opened (it would block), replaced.
  const std::string fifo = dir.path + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  fs::create_symlink(fifo, path);
  KernelRegistry(dir.path).getOrBuild("k", build, &where);
  EXPECT_EQ(where, CacheSource::Rebuilt);
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(path)));
  EXPECT_TRUE(fs::exists(fs::symlink_status(fifo))); // the target is left
  // A link to another kernel's valid entry: not loaded either.
  fs::remove(path);
  KernelRegistry(dir.path).getOrBuild("other", build);
  fs::create_symlink(KernelRegistry(dir.path).entryPath("other"), path);
  KernelRegistry(dir.path).getOrBuild("k", build, &where);
  EXPECT_EQ(where, CacheSource::Rebuilt);
  // A non-empty folder in its place: removed and rebuilt, once.
  fs::remove(path);
  fs::create_directories(path + "/inner");
  writeBytes(path + "/inner/x", "x");
  KernelRegistry(dir.path).getOrBuild("k", build, &where);
  EXPECT_EQ(where, CacheSource::Rebuilt);
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(path)));
  KernelRegistry(dir.path).getOrBuild("k", build, &where);
  EXPECT_EQ(where, CacheSource::Disk);
  EXPECT_EQ(builds, 4);
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
