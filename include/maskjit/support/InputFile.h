//===- InputFile.h - Reading a file a user or an import names ---*- C++ -*-===//
//
// Sources, imports and `@FILE` arguments are read here: opened without
// blocking (a FIFO with no writer is an empty file, not a hang), checked
// to be what they should be before any byte is read, and never read past a
// size limit (/dev/zero is an error, not an endless read).
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_SUPPORT_INPUTFILE_H
#define MASKJIT_SUPPORT_INPUTFILE_H

#include <cstddef>
#include <string>

namespace maskjit::support {

struct InputLimits {
  size_t maxBytes = size_t{16} << 20; ///< 16 MiB
  /// Accept pipes and character devices (`@/dev/stdin`, `<(...)`) besides
  /// regular files.
  bool allowStreams = false;
};

/// The whole content of `path` in `out`; false with the reason in `error`
/// ("is a directory", "is not a regular file", "is larger than 16 MiB",
/// the system's message).
bool readInputFile(const std::string &path, std::string &out,
                   std::string &error, const InputLimits &limits = {});

} // namespace maskjit::support

#endif
