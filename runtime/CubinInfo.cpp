//===- CubinInfo.cpp - A kernel's resources, read from its cubin ---------===//
#include "maskjit/runtime/CubinInfo.h"

#include <cstdint>
#include <cstring>
#include <optional>

namespace maskjit::runtime {

namespace {

// `.nv.info` entries: a format byte, an attribute byte, then per format
// nothing (1), two bytes (2, 3), or a 16-bit size and that many bytes (4).
constexpr uint8_t kFormatSizedValue = 4;
constexpr uint8_t kAttrMaxThreads = 0x05; // per function: x, y, z
constexpr uint8_t kAttrFrameSize = 0x11;  // global: symbol, bytes
constexpr uint8_t kAttrRegCount = 0x2f;   // global: symbol, registers
constexpr uint32_t kSectionTypeNvInfo = 0x70000000;
constexpr uint32_t kSectionTypeSymtab = 2;

/// Bounds-checked little-endian reads over the file.
class Bytes {
public:
  explicit Bytes(const std::vector<char> &data) : data_(data) {}
  template <typename T> std::optional<T> at(uint64_t offset) const {
    if (offset > data_.size() || data_.size() - offset < sizeof(T))
      return std::nullopt;
    T v;
    std::memcpy(&v, data_.data() + offset, sizeof(T));
    return v;
  }
  std::optional<std::string> cString(uint64_t offset) const {
    if (offset >= data_.size())
      return std::nullopt;
    const char *begin = data_.data() + offset;
    const void *end = std::memchr(begin, 0, data_.size() - offset);
    if (!end)
      return std::nullopt;
    return std::string(begin, static_cast<const char *>(end));
  }
  uint64_t size() const { return data_.size(); }

private:
  const std::vector<char> &data_;
};

struct Section {
  uint32_t name = 0, type = 0, link = 0;
  uint64_t offset = 0, size = 0;
};

/// Calls `visit(attribute, payload offset, payload size)` for each sized
/// entry of the `.nv.info` section `s`.
template <typename Visit>
void forEachEntry(const Bytes &bytes, const Section &s, Visit visit) {
  uint64_t at = s.offset;
  const uint64_t end = s.offset + s.size;
  while (at + 2 <= end) {
    auto format = bytes.at<uint8_t>(at);
    auto attribute = bytes.at<uint8_t>(at + 1);
    if (!format || !attribute)
      return;
    if (*format == kFormatSizedValue) {
      auto size = bytes.at<uint16_t>(at + 2);
      if (!size || at + 4 + *size > end)
        return;
      visit(*attribute, at + 4, uint64_t(*size));
      at += 4 + *size;
    } else if (*format == 2 || *format == 3) {
      at += 4;
    } else if (*format == 1) {
      at += 2;
    } else {
      return; // unknown format: the rest cannot be walked
    }
  }
}

} // namespace

CubinFunctionInfo readCubinFunctionInfo(const std::vector<char> &cubin,
                                        const std::string &function) {
  CubinFunctionInfo info;
  const Bytes bytes(cubin);
  // A 64-bit little-endian ELF.
  if (cubin.size() < 64 ||
      std::memcmp(cubin.data(),
                  "\x7f"
                  "ELF",
                  4) != 0 ||
      cubin[4] != 2 || cubin[5] != 1)
    return info;
  auto shoff = bytes.at<uint64_t>(0x28);
  auto shentsize = bytes.at<uint16_t>(0x3a);
  auto shnum = bytes.at<uint16_t>(0x3c);
  auto shstrndx = bytes.at<uint16_t>(0x3e);
  if (!shoff || !shentsize || !shnum || !shstrndx || *shentsize < 64 ||
      *shstrndx >= *shnum)
    return info;
  std::vector<Section> sections;
  for (uint16_t i = 0; i < *shnum; ++i) {
    const uint64_t h = *shoff + uint64_t(i) * *shentsize;
    auto name = bytes.at<uint32_t>(h), type = bytes.at<uint32_t>(h + 4);
    auto offset = bytes.at<uint64_t>(h + 24), size = bytes.at<uint64_t>(h + 32);
    auto link = bytes.at<uint32_t>(h + 40);
    if (!name || !type || !offset || !size || !link || *offset > bytes.size() ||
        *size > bytes.size() - *offset)
      return info;
    sections.push_back({*name, *type, *link, *offset, *size});
  }
  auto sectionName = [&](const Section &s) {
    return bytes.cString(sections[*shstrndx].offset + s.name)
        .value_or(std::string());
  };
  // The function's index in the symbol table, which the global entries
  // name it by.
  std::optional<uint32_t> symbol;
  for (const Section &s : sections) {
    if (s.type != kSectionTypeSymtab || s.link >= sections.size())
      continue;
    for (uint64_t at = 0; at + 24 <= s.size; at += 24) {
      auto nameOffset = bytes.at<uint32_t>(s.offset + at);
      if (!nameOffset)
        break;
      if (bytes.cString(sections[s.link].offset + *nameOffset) == function)
        symbol = static_cast<uint32_t>(at / 24);
    }
  }
  const std::string perFunction = ".nv.info." + function;
  for (const Section &s : sections) {
    if (s.type != kSectionTypeNvInfo)
      continue;
    const std::string name = sectionName(s);
    if (name == ".nv.info" && symbol) {
      forEachEntry(
          bytes, s, [&](uint8_t attribute, uint64_t at, uint64_t size) {
            if (size != 8 || bytes.at<uint32_t>(at) != *symbol)
              return;
            const int value = static_cast<int>(*bytes.at<uint32_t>(at + 4));
            if (attribute == kAttrRegCount)
              info.registers = value;
            else if (attribute == kAttrFrameSize)
              info.frameBytes = value;
          });
    } else if (name == perFunction) {
      forEachEntry(
          bytes, s, [&](uint8_t attribute, uint64_t at, uint64_t size) {
            if (attribute == kAttrMaxThreads && size == 12)
              info.maxThreads = static_cast<int>(*bytes.at<uint32_t>(at) *
                                                 *bytes.at<uint32_t>(at + 4) *
                                                 *bytes.at<uint32_t>(at + 8));
          });
    }
  }
  return info;
}

} // namespace maskjit::runtime
