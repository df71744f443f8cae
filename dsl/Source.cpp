//===- Source.cpp - Source files ------------------------------------------===//
#include "maskjit/dsl/Source.h"
#include "maskjit/support/InputFile.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace maskjit::dsl {

uint32_t SourceManager::addBuffer(std::string name, std::string text) {
  File f;
  f.name = std::move(name);
  f.canonical = f.name;
  f.text = std::move(text);
  f.lineStarts.push_back(0);
  for (uint32_t i = 0; i < f.text.size(); ++i)
    if (f.text[i] == '\n')
      f.lineStarts.push_back(i + 1);
  files_.push_back(std::move(f));
  return static_cast<uint32_t>(files_.size() - 1);
}

std::optional<uint32_t> SourceManager::addFile(const std::string &path,
                                               std::string &error,
                                               bool allowStreams) {
  namespace fs = std::filesystem;
  std::error_code ec;
  support::InputLimits limits;
  limits.allowStreams = allowStreams;
  std::string text;
  if (!support::readInputFile(path, text, error, limits))
    return std::nullopt;
  uint32_t id = addBuffer(path, std::move(text));
  fs::path canon = fs::weakly_canonical(path, ec);
  files_[id].canonical = ec ? path : canon.string();
  return id;
}

std::string_view SourceManager::line(uint32_t file, uint32_t line) const {
  const File &f = files_[file];
  if (line == 0 || line > f.lineStarts.size())
    return {};
  uint32_t start = f.lineStarts[line - 1];
  uint32_t end = line < f.lineStarts.size()
                     ? f.lineStarts[line] - 1
                     : static_cast<uint32_t>(f.text.size());
  std::string_view sv(f.text);
  sv = sv.substr(start, end - start);
  if (!sv.empty() && sv.back() == '\r')
    sv.remove_suffix(1);
  return sv;
}

std::optional<uint32_t>
SourceManager::findByPath(const std::string &canonical) const {
  for (uint32_t i = 0; i < files_.size(); ++i)
    if (files_[i].canonical == canonical)
      return i;
  return std::nullopt;
}

} // namespace maskjit::dsl
