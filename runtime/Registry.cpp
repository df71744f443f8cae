//===- Registry.cpp - Compiled kernels in memory and on disk --------------===//
#include "maskjit/runtime/Registry.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace maskjit::runtime {
namespace fs = std::filesystem;

namespace {
constexpr char kMagic[8] = {'M', 'J', 'K', 'E', 'R', 'N', '0', '1'};

struct Header {
  char magic[8];
  uint64_t ptxSize, cubinSize, metaSize;
  uint64_t checksum; ///< xxHash64 of the three payloads, in order.
};

uint64_t payloadHash(const KernelBinary &k) {
  XXH64_state_t *st = XXH64_createState();
  XXH64_reset(st, 0);
  XXH64_update(st, k.ptx.data(), k.ptx.size());
  XXH64_update(st, k.cubin.data(), k.cubin.size());
  XXH64_update(st, k.meta.data(), k.meta.size());
  uint64_t h = XXH64_digest(st);
  XXH64_freeState(st);
  return h;
}
} // namespace

const char *cacheSourceName(CacheSource s) {
  switch (s) {
  case CacheSource::Memory:
    return "memory";
  case CacheSource::Disk:
    return "disk";
  case CacheSource::Built:
    return "built";
  case CacheSource::Rebuilt:
    return "rebuilt (corrupt cache entry)";
  }
  return "?";
}

std::string contentHash(const std::string &data) {
  char buf[17];
  std::snprintf(
      buf, sizeof buf, "%016llx",
      static_cast<unsigned long long>(XXH64(data.data(), data.size(), 0)));
  return buf;
}

KernelRegistry::KernelRegistry(std::string cacheDir, uint64_t maxBytes)
    : dir_(std::move(cacheDir)), maxBytes_(maxBytes) {}

std::string KernelRegistry::defaultCacheDir() {
  if (const char *d = std::getenv("MASKJIT_CACHE_DIR"); d && *d)
    return d;
  if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/maskjit";
  if (const char *h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.cache/maskjit";
  return "/tmp/maskjit-cache";
}

std::string KernelRegistry::entryPath(const std::string &key) const {
  return dir_ + "/" + key + ".mjk";
}

void KernelRegistry::clearMemory() {
  std::lock_guard<std::mutex> lock(mutex_);
  memory_.clear();
}

std::shared_ptr<KernelBinary> KernelRegistry::readDisk(const std::string &key,
                                                       bool &corrupt) {
  corrupt = false;
  std::string path = entryPath(key);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return nullptr;
  Header h{};
  auto k = std::make_shared<KernelBinary>();
  std::error_code ec;
  uint64_t fileSize = fs::file_size(path, ec);
  if (ec || !in.read(reinterpret_cast<char *>(&h), sizeof h) ||
      std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 ||
      h.ptxSize + h.cubinSize + h.metaSize + sizeof h != fileSize) {
    corrupt = true;
    return nullptr;
  }
  k->ptx.resize(h.ptxSize);
  k->cubin.resize(h.cubinSize);
  k->meta.resize(h.metaSize);
  if (!in.read(k->ptx.data(), static_cast<std::streamsize>(h.ptxSize)) ||
      !in.read(k->cubin.data(), static_cast<std::streamsize>(h.cubinSize)) ||
      !in.read(k->meta.data(), static_cast<std::streamsize>(h.metaSize)) ||
      payloadHash(*k) != h.checksum) {
    corrupt = true;
    return nullptr;
  }
  fs::last_write_time(path, fs::file_time_type::clock::now(), ec); // LRU order.
  return k;
}

void KernelRegistry::writeDisk(const std::string &key, const KernelBinary &k) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    return; // A read-only or missing cache folder only costs recompiles.
  std::ostringstream tmpName;
  tmpName << entryPath(key) << ".tmp." << getpid() << "."
          << std::this_thread::get_id();
  std::string tmp = tmpName.str();
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.ptxSize = k.ptx.size();
  h.cubinSize = k.cubin.size();
  h.metaSize = k.meta.size();
  h.checksum = payloadHash(k);
  FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    return;
  bool ok = std::fwrite(&h, sizeof h, 1, f) == 1;
  ok &= std::fwrite(k.ptx.data(), 1, k.ptx.size(), f) == k.ptx.size();
  ok &= std::fwrite(k.cubin.data(), 1, k.cubin.size(), f) == k.cubin.size();
  ok &= std::fwrite(k.meta.data(), 1, k.meta.size(), f) == k.meta.size();
  ok &= std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok &= std::fclose(f) == 0;
  if (ok)
    fs::rename(tmp, entryPath(key), ec); // Atomic: readers see old or new.
  if (!ok || ec)
    fs::remove(tmp, ec);
  else
    evict();
}

void KernelRegistry::evict() {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  uint64_t total = 0;
  for (const auto &e : fs::directory_iterator(dir_, ec)) {
    if (e.path().extension() != ".mjk")
      continue;
    uint64_t size = e.file_size(ec);
    if (ec)
      continue;
    total += size;
    entries.push_back({e.last_write_time(ec), e.path()});
  }
  if (total <= maxBytes_)
    return;
  std::sort(entries.begin(), entries.end());
  for (auto &[time, path] : entries) {
    if (total <= maxBytes_)
      break;
    uint64_t size = fs::file_size(path, ec);
    if (fs::remove(path, ec))
      total -= size;
  }
}

std::shared_ptr<const KernelBinary>
KernelRegistry::getOrBuild(const std::string &key,
                           const std::function<KernelBinary()> &build,
                           CacheSource *where) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = memory_.find(key);
    if (it != memory_.end()) {
      if (where)
        *where = CacheSource::Memory;
      return it->second;
    }
  }
  bool corrupt = false;
  std::shared_ptr<const KernelBinary> k = readDisk(key, corrupt);
  CacheSource source = CacheSource::Disk;
  if (!k) {
    if (corrupt) {
      std::error_code ec;
      fs::remove(entryPath(key), ec);
    }
    auto built = std::make_shared<KernelBinary>(build());
    writeDisk(key, *built);
    k = built;
    source = corrupt ? CacheSource::Rebuilt : CacheSource::Built;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = memory_.emplace(key, k);
  if (where)
    *where = inserted ? source : CacheSource::Memory;
  return it->second;
}

} // namespace maskjit::runtime
