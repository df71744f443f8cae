//===- Registry.h - Compiled kernels in memory and on disk ------*- C++ -*-===//
//
// Kernels are looked up by a content key: a hash of everything that decides
// the generated code (the pattern's source files, its name, the compile-time
// bindings, head_dim, dtype, arch, maskjit's version and NVRTC's version).
// The registry first looks in memory (a thread-safe map), then on disk
// ($MASKJIT_CACHE_DIR, default ~/.cache/maskjit), then builds. Disk entries
// are written to a temporary file, fsync'ed and renamed, and carry a
// checksum: a corrupt or truncated entry is detected, removed and rebuilt;
// several processes building the same key at once each leave a valid file.
// Past `maxBytes` on disk, the least recently used entries are evicted.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_RUNTIME_REGISTRY_H
#define MASKJIT_RUNTIME_REGISTRY_H

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace maskjit::runtime {

struct KernelBinary {
  std::string ptx;
  std::vector<char> cubin;
  std::string meta; ///< Free-form text kept with the kernel (e.g. its config).
};

enum class CacheSource { Memory, Disk, Built, Rebuilt };
const char *cacheSourceName(CacheSource s);

/// 64-bit content hash (xxHash64) as 16 hex digits.
std::string contentHash(const std::string &data);
/// A second, independent digest (XXH3 128-bit) as 32 hex digits: a cache
/// entry records it, so that one whose 64-bit key collides or was copied
/// from another's is told apart.
std::string contentDigest128(const std::string &data);

class KernelRegistry {
public:
  explicit KernelRegistry(std::string cacheDir = defaultCacheDir(),
                          uint64_t maxBytes = uint64_t{1} << 30);

  /// $MASKJIT_CACHE_DIR, else $XDG_CACHE_HOME/maskjit, else ~/.cache/maskjit.
  static std::string defaultCacheDir();

  /// The kernel for `key`, from memory, disk, or `build()` (whose result is
  /// stored). `where` says which. `identity` (default: the key itself) is
  /// what the key was hashed from, or a digest of it with the versions in
  /// words; a disk entry is loaded only when it records the same. Exceptions
  /// from `build` propagate and nothing is stored.
  std::shared_ptr<const KernelBinary>
  getOrBuild(const std::string &key, const std::function<KernelBinary()> &build,
             CacheSource *where = nullptr, const std::string &identity = {});

  /// Drops the in-memory entries (the disk cache stays).
  void clearMemory();
  const std::string &cacheDir() const { return dir_; }
  /// Path of the disk entry for `key`.
  std::string entryPath(const std::string &key) const;

private:
  std::shared_ptr<KernelBinary>
  readDisk(const std::string &key, const std::string &identity, bool &corrupt);
  void writeDisk(const std::string &key, const std::string &identity,
                 const KernelBinary &k);
  void evict();

  std::string dir_;
  uint64_t maxBytes_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const KernelBinary>> memory_;
};

} // namespace maskjit::runtime

#endif
