//===- OutputFile.h - Writing a file a user named ---------------*- C++ -*-===//
//
// Every file maskc and the AOT writer produce goes through here. A regular
// file (or a new path) is written to a temporary file beside it and renamed
// over it, so a reader sees the old file or the new one and a failure
// leaves nothing half-written behind. Anything else the path names is
// written through, never replaced: a symlink's target (itself written
// atomically when it is a regular file), a device such as /dev/null or
// /dev/stdout, a FIFO. A directory is an error.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_SUPPORT_OUTPUTFILE_H
#define MASKJIT_SUPPORT_OUTPUTFILE_H

#include <cstddef>
#include <string>

namespace maskjit::support {

/// Writes `size` bytes to `path` as above; throws std::runtime_error with
/// the path and the reason on any failure (after removing what it began).
void writeOutputFile(const std::string &path, const void *data, size_t size);

inline void writeOutputFile(const std::string &path, const std::string &data) {
  writeOutputFile(path, data.data(), data.size());
}

} // namespace maskjit::support

#endif
