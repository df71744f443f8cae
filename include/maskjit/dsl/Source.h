//===- Source.h - Source files and locations --------------------*- C++ -*-===//
//
// Source text is owned by a SourceManager; everything else refers to it by
// (file id, line, column) so that diagnostics can quote the user's line.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_DSL_SOURCE_H
#define MASKJIT_DSL_SOURCE_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace maskjit::dsl {

/// A 1-based line/column position inside one file.
struct Position {
  uint32_t file = 0;
  uint32_t line = 1;
  uint32_t column = 1;
};

/// A half-open source range [begin, end). Bison's default YYLLOC_DEFAULT works
/// on the `begin`/`end` members, so this type is also the parser's location.
struct Location {
  Position begin;
  Position end;

  void step() { begin = end; }
  void columns(int n) { end.column += n; }
  void lines(int n) {
    end.line += n;
    end.column = 1;
  }
};

/// Owns the text of every file read by the front end.
class SourceManager {
public:
  /// Adds a buffer; returns its file id.
  uint32_t addBuffer(std::string name, std::string text);
  /// Reads a file from disk. Returns std::nullopt and sets `error` on failure.
  /// Reads `path` (support::readInputFile: regular files only unless
  /// `allowStreams`, 16 MiB at most).
  std::optional<uint32_t> addFile(const std::string &path, std::string &error,
                                  bool allowStreams = false);

  const std::string &name(uint32_t file) const { return files_[file].name; }
  const std::string &text(uint32_t file) const { return files_[file].text; }
  /// The text of a 1-based line, without its newline.
  std::string_view line(uint32_t file, uint32_t line) const;
  /// Finds an already loaded file by its canonical path.
  std::optional<uint32_t> findByPath(const std::string &canonical) const;
  const std::string &canonicalPath(uint32_t file) const {
    return files_[file].canonical;
  }
  size_t size() const { return files_.size(); }

private:
  struct File {
    std::string name;
    std::string canonical;
    std::string text;
    std::vector<uint32_t> lineStarts;
  };
  std::vector<File> files_;
};

} // namespace maskjit::dsl

#endif // MASKJIT_DSL_SOURCE_H
