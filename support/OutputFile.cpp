//===- OutputFile.cpp - Writing a file a user named -----------------------===//
#include "maskjit/support/OutputFile.h"
#include "maskjit/support/FileDescriptor.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace maskjit::support {
namespace {

[[noreturn]] void fail(const std::string &path, const std::string &why) {
  throw std::runtime_error("cannot write '" + path + "': " + why);
}

/// Into what `path` already is (a device, a FIFO, or with `extraFlags`
/// O_CREAT a dangling link's target): no temporary, no rename.
void writeThrough(const std::string &path, const void *data, size_t size,
                  int extraFlags = 0) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | extraFlags, 0666));
  if (!fd)
    fail(path, std::strerror(errno));
  if (!writeAll(fd.get(), data, size) || !fd.close())
    fail(path, std::strerror(errno));
}

/// A temporary file beside `path`, renamed over it once complete.
void writeReplacing(const std::string &path, const void *data, size_t size,
                    mode_t mode) {
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base =
      slash == std::string::npos ? path : path.substr(slash + 1);
  std::random_device rd;
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    tmp = dir + "." + base + ".tmp." + std::to_string(::getpid()) + "." +
          std::to_string(rd() % 1000000);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 && errno != EEXIST)
      fail(path, std::strerror(errno));
  }
  if (fd < 0)
    fail(path, "no free temporary name beside it");
  bool ok = writeAll(fd, data, size) && ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    fail(path, std::strerror(err));
  }
}

} // namespace

void writeOutputFile(const std::string &path, const void *data, size_t size) {
  if (path.empty())
    throw std::runtime_error("cannot write a file with an empty name");
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT)
      fail(path, std::strerror(errno));
    return writeReplacing(path, data, size, 0666);
  }
  if (S_ISLNK(st.st_mode)) {
    // Through the link: replace its target when that is a regular file (or
    // does not exist yet), keeping the link itself.
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved)) {
      struct stat target {};
      if (::stat(resolved, &target) == 0 && !S_ISREG(target.st_mode)) {
        if (S_ISDIR(target.st_mode))
          fail(path, "it is a directory");
        return writeThrough(resolved, data, size);
      }
      return writeReplacing(resolved, data, size, target.st_mode & 07777);
    }
    // A dangling link: write through it (open creates the target).
    return writeThrough(path, data, size, O_CREAT | O_TRUNC);
  }
  if (S_ISDIR(st.st_mode))
    fail(path, "it is a directory");
  if (!S_ISREG(st.st_mode))
    return writeThrough(path, data, size);
  writeReplacing(path, data, size, st.st_mode & 07777);
}

} // namespace maskjit::support
