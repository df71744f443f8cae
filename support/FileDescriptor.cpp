//===- FileDescriptor.cpp - POSIX file descriptors, owned and looped ------===//
#include "maskjit/support/FileDescriptor.h"

#include <cerrno>
#include <unistd.h>

namespace maskjit::support {

UniqueFd::~UniqueFd() { close(); }

bool UniqueFd::close() {
  if (fd_ < 0)
    return true;
  const int fd = fd_;
  fd_ = -1;
  return ::close(fd) == 0;
}

bool writeAll(int fd, const void *data, size_t size) {
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool readExactly(int fd, void *data, size_t size) {
  char *p = static_cast<char *>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

} // namespace maskjit::support
