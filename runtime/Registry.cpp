//===- Registry.cpp - Compiled kernels in memory and on disk --------------===//
#include "maskjit/runtime/Registry.h"
#include "maskjit/support/FileDescriptor.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace maskjit::runtime {
namespace fs = std::filesystem;

namespace {
/// Version 02 records the entry's own key and identity; entries of other
/// versions are rebuilt.
constexpr char kMagic[8] = {'M', 'J', 'K', 'E', 'R', 'N', '0', '2'};

struct Header {
  char magic[8];
  uint64_t keySize, identitySize, ptxSize, cubinSize, metaSize;
  uint64_t checksum; ///< xxHash64 of everything after the header, in order.
};

/// An entry's parts, in file order.
struct EntryParts {
  const std::string &key, &identity;
  const KernelBinary &kernel;
};

uint64_t entryHash(const EntryParts &e) {
  XXH64_state_t *st = XXH64_createState();
  XXH64_reset(st, 0);
  XXH64_update(st, e.key.data(), e.key.size());
  XXH64_update(st, e.identity.data(), e.identity.size());
  XXH64_update(st, e.kernel.ptx.data(), e.kernel.ptx.size());
  XXH64_update(st, e.kernel.cubin.data(), e.kernel.cubin.size());
  XXH64_update(st, e.kernel.meta.data(), e.kernel.meta.size());
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

std::string contentDigest128(const std::string &data) {
  XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx",
                static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
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

std::shared_ptr<KernelBinary>
KernelRegistry::readDisk(const std::string &key, const std::string &identity,
                         bool &corrupt) {
  corrupt = false;
  const std::string path = entryPath(key);
  // Never follow a link, never wait on a FIFO: what is not a regular file
  // is not an entry.
  const support::UniqueFd owned(
      ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  const int fd = owned.get();
  if (fd < 0) {
    corrupt = errno != ENOENT; // a link, a folder we may not read, ...
    return nullptr;
  }
  struct stat st {};
  Header h{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      !support::readExactly(fd, &h, sizeof h) ||
      std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) {
    corrupt = true;
    return nullptr;
  }
  // The sizes must add up to the file's, without overflow, before anything
  // is allocated; the key and identity must be this entry's.
  uint64_t total = sizeof h;
  for (uint64_t part :
       {h.keySize, h.identitySize, h.ptxSize, h.cubinSize, h.metaSize})
    if (__builtin_add_overflow(total, part, &total)) {
      corrupt = true;
      return nullptr;
    }
  if (total != static_cast<uint64_t>(st.st_size) || h.keySize != key.size() ||
      h.identitySize != identity.size() ||
      (h.ptxSize == 0 && h.cubinSize == 0)) {
    corrupt = true;
    return nullptr;
  }
  std::string storedKey(h.keySize, '\0'), storedIdentity(h.identitySize, '\0');
  auto k = std::make_shared<KernelBinary>();
  k->ptx.resize(h.ptxSize);
  k->cubin.resize(h.cubinSize);
  k->meta.resize(h.metaSize);
  if (!support::readExactly(fd, storedKey.data(), h.keySize) ||
      !support::readExactly(fd, storedIdentity.data(), h.identitySize) ||
      !support::readExactly(fd, k->ptx.data(), h.ptxSize) ||
      !support::readExactly(fd, k->cubin.data(), h.cubinSize) ||
      !support::readExactly(fd, k->meta.data(), h.metaSize) ||
      storedKey != key || storedIdentity != identity ||
      entryHash({storedKey, storedIdentity, *k}) != h.checksum) {
    corrupt = true;
    return nullptr;
  }
  std::error_code ec;
  fs::last_write_time(path, fs::file_time_type::clock::now(), ec); // LRU order.
  return k;
}

void KernelRegistry::writeDisk(const std::string &key,
                               const std::string &identity,
                               const KernelBinary &k) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    return; // A read-only or missing cache folder only costs recompiles.
  std::ostringstream tmpName;
  tmpName << entryPath(key) << ".tmp." << getpid() << "."
          << std::this_thread::get_id();
  const std::string tmp = tmpName.str();
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.keySize = key.size();
  h.identitySize = identity.size();
  h.ptxSize = k.ptx.size();
  h.cubinSize = k.cubin.size();
  h.metaSize = k.meta.size();
  h.checksum = entryHash({key, identity, k});
  const int fd = ::open(
      tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  bool ok = support::writeAll(fd, &h, sizeof h) &&
            support::writeAll(fd, key.data(), key.size()) &&
            support::writeAll(fd, identity.data(), identity.size()) &&
            support::writeAll(fd, k.ptx.data(), k.ptx.size()) &&
            support::writeAll(fd, k.cubin.data(), k.cubin.size()) &&
            support::writeAll(fd, k.meta.data(), k.meta.size()) &&
            ::fsync(fd) == 0;
  ok &= ::close(fd) == 0;
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
                           CacheSource *where, const std::string &identity) {
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
  const std::string &id = identity.empty() ? key : identity;
  std::shared_ptr<const KernelBinary> k = readDisk(key, id, corrupt);
  CacheSource source = CacheSource::Disk;
  if (!k) {
    if (corrupt) {
      // Whatever is there (a bad file, a link, a folder) goes, so that the
      // rebuilt entry can take its place.
      std::error_code ec;
      const fs::path entry = entryPath(key);
      if (fs::is_directory(fs::symlink_status(entry, ec)))
        fs::remove_all(entry, ec);
      else
        fs::remove(entry, ec);
    }
    auto built = std::make_shared<KernelBinary>(build());
    writeDisk(key, id, *built);
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
