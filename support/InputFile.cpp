//===- InputFile.cpp - Reading a file a user or an import names -----------===//
#include "maskjit/support/InputFile.h"
#include "maskjit/support/FileDescriptor.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace maskjit::support {

bool readInputFile(const std::string &path, std::string &out,
                   std::string &error, const InputLimits &limits) {
  out.clear();
  const UniqueFd owned(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  const int fd = owned.get();
  if (fd < 0) {
    error = errno == ENOENT ? "no such file" : std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = std::strerror(errno);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    error = "is a directory";
    return false;
  }
  const bool stream = S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode);
  if (!S_ISREG(st.st_mode) && !(stream && limits.allowStreams)) {
    error = "is not a regular file";
    return false;
  }
  const std::string limitText = std::to_string(limits.maxBytes >> 20) + " MiB";
  if (S_ISREG(st.st_mode) &&
      static_cast<uint64_t>(st.st_size) > limits.maxBytes) {
    error = "is larger than " + limitText;
    return false;
  }
  // Blocking reads from here: a stream with a writer is read to its end.
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0)
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      error = std::strerror(errno);
      return false;
    }
    if (n == 0)
      return true;
    if (out.size() + static_cast<size_t>(n) > limits.maxBytes) {
      out.clear();
      error = "is larger than " + limitText;
      return false;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

} // namespace maskjit::support
