//===- Driver.h - libcuda and libnvrtc, loaded lazily -----------*- C++ -*-===//
//
// Nothing in maskjit links against the CUDA driver or NVRTC: they are opened
// with dlopen on first use, so everything but launching (and compiling)
// works on machines without a GPU or a toolkit, and reports what is missing
// in plain words when it is needed.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_RUNTIME_DRIVER_H
#define MASKJIT_RUNTIME_DRIVER_H

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace maskjit::runtime {

/// A CUDA, NVRTC or launch failure, with a message that says what failed.
class CudaError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// NVRTC, opened on first use.
class Nvrtc {
public:
  static Nvrtc &get(); ///< Throws CudaError when libnvrtc cannot be loaded.
  static bool available();

  struct Output {
    std::string ptx;
    std::vector<char> cubin; ///< Empty when compiled to a virtual arch.
    std::string log;
  };
  /// Compiles `source` for `arch` ("sm_90a" gives PTX and a cubin,
  /// "compute_90a" PTX only). Throws CudaError with the log on failure.
  Output compile(const std::string &source, const std::string &name,
                 const std::string &arch,
                 const std::vector<std::string> &options) const;
  std::string version() const;

private:
  Nvrtc();
  void *lib_ = nullptr;
  struct Fns;
  Fns *fns_ = nullptr;
};

/// The CUDA driver API, opened on first use; one context on device 0.
class Driver {
public:
  static Driver &get(); ///< Throws CudaError ("no CUDA driver") when absent.

  int computeCapability() const { return cc_; }
  int multiprocessors() const { return sms_; }
  std::string deviceName() const { return name_; }

  using Module = void *;
  using Function = void *;
  using DevicePtr = unsigned long long;
  using Event = void *;

  Module loadModule(const void *image) const;
  Function function(Module m, const char *name) const;
  void setMaxDynamicShared(Function f, int bytes) const;
  /// The most threads a block of `f` may have: its launch bounds, unless
  /// its registers allow fewer.
  int maxThreadsPerBlock(Function f) const;
  void launch(Function f, unsigned gx, unsigned gy, unsigned gz, unsigned block,
              unsigned sharedBytes, void **params,
              void *stream = nullptr) const;
  DevicePtr alloc(size_t bytes) const;
  void free(DevicePtr p) const;
  void upload(DevicePtr dst, const void *src, size_t bytes) const;
  void download(void *dst, DevicePtr src, size_t bytes) const;
  void memset8(DevicePtr dst, unsigned char value, size_t bytes) const;
  /// Sets `count` 32-bit words on `stream` (ordered with its launches).
  void memset32Async(DevicePtr dst, unsigned value, size_t count,
                     void *stream) const;
  void synchronize() const;
  Event createEvent() const;
  void record(Event e) const;
  float elapsedMs(Event start, Event stop) const;

  /// Encodes a tiled TMA descriptor for a tensor of 16-bit elements:
  /// `rank` dimensions (innermost first), byte strides of dimensions
  /// 1..rank-1, the box copied per request, and the 128-byte swizzle.
  /// Throws CudaError when the driver is too old (no cuTensorMapEncodeTiled)
  /// or rejects the shape.
  /// `map`: 128 bytes, 64-byte aligned (a CUtensorMap).
  void encodeTensorMap16(unsigned char *map, DevicePtr base, unsigned rank,
                         const uint64_t *dims, const uint64_t *strideBytes,
                         const uint32_t *box) const;

private:
  Driver();
  void check(int status, const char *what) const;
  void *lib_ = nullptr;
  struct Fns;
  Fns *fns_ = nullptr;
  void *ctx_ = nullptr;
  int cc_ = 0, sms_ = 0;
  std::string name_;
};

/// Device memory reused from call to call: ensure() allocates only when
/// the buffer must grow (cuMemFree waits for the device, and allocations
/// cost tens of microseconds: per-call buffers would stall every launch).
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  /// At least `bytes` (and at least 8) bytes; the contents are not kept
  /// when it grows.
  Driver::DevicePtr ensure(size_t bytes);
  /// ensure(bytes), then `bytes` from `data`, after the device's queued
  /// work (which may read the buffer) is done. Growing waits for it too.
  Driver::DevicePtr upload(const void *data, size_t bytes);
  Driver::DevicePtr get() const { return ptr_; }

private:
  Driver::DevicePtr ptr_ = 0;
  size_t bytes_ = 0;
};

} // namespace maskjit::runtime

#endif
