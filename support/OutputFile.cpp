//===- OutputFile.cpp - Writing a file a user named -----------------------===//
#include "maskjit/support/OutputFile.h"

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

/// Writes everything to `fd`, retrying short writes and interrupts.
bool writeAll(int fd, const void *data, size_t size) {
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

/// Into what `path` already is (a device, a FIFO): no temporary, no rename.
void writeThrough(const std::string &path, const void *data, size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    fail(path, std::strerror(errno));
  const bool ok = writeAll(fd, data, size);
  const int err = errno;
  if (::close(fd) != 0 || !ok)
    fail(path, std::strerror(ok ? errno : err));
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
    int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
      fail(path, std::strerror(errno));
    const bool ok = writeAll(fd, data, size);
    const int err = errno;
    if (::close(fd) != 0 || !ok)
      fail(path, std::strerror(ok ? errno : err));
    return;
  }
  if (S_ISDIR(st.st_mode))
    fail(path, "it is a directory");
  if (!S_ISREG(st.st_mode))
    return writeThrough(path, data, size);
  writeReplacing(path, data, size, st.st_mode & 07777);
}

} // namespace maskjit::support
