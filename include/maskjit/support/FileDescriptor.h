//===- FileDescriptor.h - POSIX file descriptors, owned and looped -*- C++
//-*-===//
//
// Whole reads and writes on a descriptor (retrying short transfers and
// interrupts) and a descriptor that closes itself: what the input reader,
// the output writer and the kernel cache share.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_SUPPORT_FILEDESCRIPTOR_H
#define MASKJIT_SUPPORT_FILEDESCRIPTOR_H

#include <cstddef>

namespace maskjit::support {

/// Closes its descriptor (if any) when it goes out of scope.
class UniqueFd {
public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(const UniqueFd &) = delete;
  UniqueFd &operator=(const UniqueFd &) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  /// Closes now; false (errno set) when close reports an error.
  bool close();

private:
  int fd_;
};

/// Writes all `size` bytes; false (errno set) on an error or a zero write.
bool writeAll(int fd, const void *data, size_t size);
/// Reads exactly `size` bytes; false on an error or an early end.
bool readExactly(int fd, void *data, size_t size);

} // namespace maskjit::support

#endif
