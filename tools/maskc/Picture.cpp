//===- Picture.cpp - PNG pictures of masks --------------------------------===//
#include "Picture.h"

#include "maskjit/support/OutputFile.h"

#include <png.h>

#include <memory>
#include <stdexcept>

namespace maskjit::maskc {
namespace {

struct Rgb {
  uint8_t r, g, b;
};

Rgb mix(Rgb a, Rgb b, double t) {
  auto f = [t](uint8_t x, uint8_t y) {
    return static_cast<uint8_t>(x + (y - x) * t + 0.5);
  };
  return {f(a.r, b.r), f(a.g, b.g), f(a.b, b.b)};
}

} // namespace

void writeMaskPng(const std::string &path, const dsl::BlockMap &map,
                  const dsl::DensityGrid &grid,
                  const std::vector<uint8_t> &vain) {
  // Scale small masks up so one position is several pixels wide.
  const int64_t scale = std::max<int64_t>(
      1, std::min<int64_t>(512 / std::max<int64_t>(grid.rows, 1),
                           512 / std::max<int64_t>(grid.cols, 1)));
  const int64_t width = grid.cols * scale, height = grid.rows * scale;
  const Rgb background[3] = {{255, 255, 255}, {255, 226, 170}, {198, 234, 198}};
  const Rgb ink = {24, 64, 176}, gridInk = {150, 150, 150};
  if (!vain.empty() && vain.size() != map.tiles.size())
    throw std::runtime_error("internal error: a vain-tile flag per tile");
  std::vector<uint8_t> pixels(width * height * 3);
  for (int64_t y = 0; y < height; ++y) {
    int64_t gy = y / scale, q = gy * grid.cellQ;
    for (int64_t x = 0; x < width; ++x) {
      int64_t gx = x / scale, k = gx * grid.cellK;
      dsl::TileClass t = map.at(q / map.tileQ, k / map.tileK);
      Rgb bg = background[t == dsl::TileClass::Empty     ? 0
                          : t == dsl::TileClass::Partial ? 1
                                                         : 2];
      int64_t h = std::min(grid.cellQ, map.rows * map.tileQ - q);
      int64_t w = std::min(grid.cellK, map.cols * map.tileK - k);
      double density = static_cast<double>(grid.allowed[gy * grid.cols + gx]) /
                       static_cast<double>(std::max<int64_t>(1, h * w));
      Rgb c = mix(bg, ink, std::min(1.0, density));
      // Visited in vain: red diagonal hatching, every 6th pixel.
      const int64_t tile = (q / map.tileQ) * map.cols + k / map.tileK;
      if (!vain.empty() && vain[tile] && (x + y) % 6 < 2)
        c = {214, 39, 40};
      // Tile boundaries, when a tile spans at least 4 pixels.
      bool edgeK = map.tileK / grid.cellK * scale >= 4 && x % scale == 0 &&
                   k % map.tileK == 0 && k != 0;
      bool edgeQ = map.tileQ / grid.cellQ * scale >= 4 && y % scale == 0 &&
                   q % map.tileQ == 0 && q != 0;
      if (edgeK || edgeQ)
        c = mix(c, gridInk, 0.5);
      uint8_t *p = &pixels[(y * width + x) * 3];
      p[0] = c.r;
      p[1] = c.g;
      p[2] = c.b;
    }
  }

  // Encoded in memory, then written in one go (support::writeOutputFile).
  std::string bytes;
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw std::runtime_error("libpng failed encoding '" + path + "'");
  }
  png_set_write_fn(
      png, &bytes,
      [](png_structp p, png_bytep data, png_size_t n) {
        static_cast<std::string *>(png_get_io_ptr(p))
            ->append(reinterpret_cast<const char *>(data), n);
      },
      [](png_structp) {});
  png_set_IHDR(png, info, static_cast<png_uint_32>(width),
               static_cast<png_uint_32>(height), 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int64_t y = 0; y < height; ++y)
    png_write_row(png, &pixels[y * width * 3]);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  support::writeOutputFile(path, bytes);
}

} // namespace maskjit::maskc
