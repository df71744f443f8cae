//===- Driver.cpp - libcuda and libnvrtc through dlopen -------------------===//
#include "maskjit/runtime/Driver.h"

#include <algorithm>
#include <cstdlib>

#include <dlfcn.h>

#include <mutex>

namespace maskjit::runtime {
namespace {

void *openFirst(const std::vector<const char *> &names, std::string &tried) {
  for (const char *n : names) {
    if (void *h = dlopen(n, RTLD_NOW | RTLD_LOCAL))
      return h;
    tried += std::string(tried.empty() ? "" : ", ") + n;
  }
  return nullptr;
}

template <typename F> F sym(void *lib, const char *name) {
  void *p = dlsym(lib, name);
  if (!p)
    throw CudaError(std::string("symbol ") + name +
                    " missing from the CUDA library");
  return reinterpret_cast<F>(p);
}

} // namespace

// ---------------------------------------------------------------- NVRTC ----

struct Nvrtc::Fns {
  using Prog = void *;
  int (*create)(Prog *, const char *, const char *, int, const char *const *,
                const char *const *);
  int (*compile)(Prog, int, const char *const *);
  int (*logSize)(Prog, size_t *);
  int (*log)(Prog, char *);
  int (*ptxSize)(Prog, size_t *);
  int (*ptx)(Prog, char *);
  int (*cubinSize)(Prog, size_t *);
  int (*cubin)(Prog, char *);
  int (*destroy)(Prog *);
  int (*version)(int *, int *);
  const char *(*errorString)(int);
};

Nvrtc::Nvrtc() {
  std::string tried;
  // $MASKJIT_NVRTC first: a chosen NVRTC (the Python package points it at
  // the nvidia-cuda-nvrtc wheel's), then the loader's and the toolkit's.
  // A chosen one that does not load is an error, not a quiet fallback.
  const char *chosen = std::getenv("MASKJIT_NVRTC");
  if (chosen && *chosen) {
    lib_ = dlopen(chosen, RTLD_NOW | RTLD_LOCAL);
    if (!lib_) {
      const char *why = dlerror();
      throw CudaError(std::string("MASKJIT_NVRTC=") + chosen +
                      " does not load: " + (why ? why : "unknown error"));
    }
  } else {
    lib_ = openFirst({"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so",
                      "/usr/local/cuda/lib64/libnvrtc.so"},
                     tried);
  }
  if (!lib_)
    throw CudaError("NVRTC is not available (tried " + tried +
                    "); install the CUDA toolkit's NVRTC or use AOT kernels");
  fns_ = new Fns;
  fns_->create = sym<decltype(fns_->create)>(lib_, "nvrtcCreateProgram");
  fns_->compile = sym<decltype(fns_->compile)>(lib_, "nvrtcCompileProgram");
  fns_->logSize = sym<decltype(fns_->logSize)>(lib_, "nvrtcGetProgramLogSize");
  fns_->log = sym<decltype(fns_->log)>(lib_, "nvrtcGetProgramLog");
  fns_->ptxSize = sym<decltype(fns_->ptxSize)>(lib_, "nvrtcGetPTXSize");
  fns_->ptx = sym<decltype(fns_->ptx)>(lib_, "nvrtcGetPTX");
  fns_->cubinSize = sym<decltype(fns_->cubinSize)>(lib_, "nvrtcGetCUBINSize");
  fns_->cubin = sym<decltype(fns_->cubin)>(lib_, "nvrtcGetCUBIN");
  fns_->destroy = sym<decltype(fns_->destroy)>(lib_, "nvrtcDestroyProgram");
  fns_->version = sym<decltype(fns_->version)>(lib_, "nvrtcVersion");
  fns_->errorString =
      sym<decltype(fns_->errorString)>(lib_, "nvrtcGetErrorString");
}

Nvrtc &Nvrtc::get() {
  static Nvrtc *instance = new Nvrtc();
  return *instance;
}

bool Nvrtc::available() {
  try {
    get();
    return true;
  } catch (const CudaError &) {
    return false;
  }
}

std::string Nvrtc::version() const {
  int major = 0, minor = 0;
  fns_->version(&major, &minor);
  return std::to_string(major) + "." + std::to_string(minor);
}

Nvrtc::Output Nvrtc::compile(const std::string &source, const std::string &name,
                             const std::string &arch,
                             const std::vector<std::string> &options) const {
  Fns::Prog prog = nullptr;
  int st =
      fns_->create(&prog, source.c_str(), name.c_str(), 0, nullptr, nullptr);
  if (st != 0)
    throw CudaError(std::string("nvrtcCreateProgram: ") +
                    fns_->errorString(st));
  std::vector<std::string> opts = {"--gpu-architecture=" + arch, "-std=c++17"};
  opts.insert(opts.end(), options.begin(), options.end());
  std::vector<const char *> argv;
  for (const std::string &o : opts)
    argv.push_back(o.c_str());
  st = fns_->compile(prog, static_cast<int>(argv.size()), argv.data());
  Output out;
  size_t n = 0;
  fns_->logSize(prog, &n);
  out.log.resize(n);
  if (n)
    fns_->log(prog, out.log.data());
  while (!out.log.empty() && (out.log.back() == '\0' || out.log.back() == '\n'))
    out.log.pop_back();
  if (st != 0) {
    fns_->destroy(&prog);
    throw CudaError("NVRTC failed to compile " + name + " for " + arch + ":\n" +
                    out.log);
  }
  fns_->ptxSize(prog, &n);
  out.ptx.resize(n);
  fns_->ptx(prog, out.ptx.data());
  if (!out.ptx.empty() && out.ptx.back() == '\0')
    out.ptx.pop_back();
  if (arch.rfind("sm_", 0) == 0 && fns_->cubinSize(prog, &n) == 0 && n) {
    out.cubin.resize(n);
    fns_->cubin(prog, out.cubin.data());
  }
  fns_->destroy(&prog);
  return out;
}

// --------------------------------------------------------------- Driver ----

struct Driver::Fns {
  int (*init)(unsigned);
  int (*deviceGet)(int *, int);
  int (*deviceGetAttribute)(int *, int, int);
  int (*deviceGetName)(char *, int, int);
  int (*primaryCtxRetain)(void **, int);
  int (*ctxSetCurrent)(void *);
  int (*moduleLoadData)(void **, const void *);
  int (*moduleGetFunction)(void **, void *, const char *);
  int (*funcSetAttribute)(void *, int, int);
  int (*funcGetAttribute)(int *, int, void *);
  int (*launchKernel)(void *, unsigned, unsigned, unsigned, unsigned, unsigned,
                      unsigned, unsigned, void *, void **, void **);
  int (*memAlloc)(unsigned long long *, size_t);
  int (*memFree)(unsigned long long);
  int (*memcpyHtoD)(unsigned long long, const void *, size_t);
  int (*memcpyDtoH)(void *, unsigned long long, size_t);
  int (*memsetD8)(unsigned long long, unsigned char, size_t);
  int (*memsetD32Async)(unsigned long long, unsigned, size_t, void *);
  int (*ctxSynchronize)();
  int (*eventCreate)(void **, unsigned);
  int (*eventRecord)(void *, void *);
  int (*eventSynchronize)(void *);
  int (*eventElapsedTime)(float *, void *, void *);
  int (*getErrorString)(int, const char **);
  int (*tensorMapEncodeTiled)(void *, int, unsigned, void *, const uint64_t *,
                              const uint64_t *, const uint32_t *,
                              const uint32_t *, int, int, int, int);
};

Driver::Driver() {
  std::string tried;
  lib_ = openFirst({"libcuda.so.1", "libcuda.so"}, tried);
  if (!lib_)
    throw CudaError("no CUDA driver (libcuda.so.1 not found): launching needs "
                    "an NVIDIA GPU with its driver");
  fns_ = new Fns;
  fns_->init = sym<decltype(fns_->init)>(lib_, "cuInit");
  fns_->deviceGet = sym<decltype(fns_->deviceGet)>(lib_, "cuDeviceGet");
  fns_->deviceGetAttribute =
      sym<decltype(fns_->deviceGetAttribute)>(lib_, "cuDeviceGetAttribute");
  fns_->deviceGetName =
      sym<decltype(fns_->deviceGetName)>(lib_, "cuDeviceGetName");
  fns_->primaryCtxRetain =
      sym<decltype(fns_->primaryCtxRetain)>(lib_, "cuDevicePrimaryCtxRetain");
  fns_->ctxSetCurrent =
      sym<decltype(fns_->ctxSetCurrent)>(lib_, "cuCtxSetCurrent");
  fns_->moduleLoadData =
      sym<decltype(fns_->moduleLoadData)>(lib_, "cuModuleLoadData");
  fns_->moduleGetFunction =
      sym<decltype(fns_->moduleGetFunction)>(lib_, "cuModuleGetFunction");
  fns_->funcSetAttribute =
      sym<decltype(fns_->funcSetAttribute)>(lib_, "cuFuncSetAttribute");
  fns_->funcGetAttribute =
      sym<decltype(fns_->funcGetAttribute)>(lib_, "cuFuncGetAttribute");
  fns_->launchKernel =
      sym<decltype(fns_->launchKernel)>(lib_, "cuLaunchKernel");
  fns_->memAlloc = sym<decltype(fns_->memAlloc)>(lib_, "cuMemAlloc_v2");
  fns_->memFree = sym<decltype(fns_->memFree)>(lib_, "cuMemFree_v2");
  fns_->memcpyHtoD = sym<decltype(fns_->memcpyHtoD)>(lib_, "cuMemcpyHtoD_v2");
  fns_->memcpyDtoH = sym<decltype(fns_->memcpyDtoH)>(lib_, "cuMemcpyDtoH_v2");
  fns_->memsetD8 = sym<decltype(fns_->memsetD8)>(lib_, "cuMemsetD8_v2");
  fns_->memsetD32Async =
      sym<decltype(fns_->memsetD32Async)>(lib_, "cuMemsetD32Async");
  fns_->ctxSynchronize =
      sym<decltype(fns_->ctxSynchronize)>(lib_, "cuCtxSynchronize");
  fns_->eventCreate = sym<decltype(fns_->eventCreate)>(lib_, "cuEventCreate");
  fns_->eventRecord = sym<decltype(fns_->eventRecord)>(lib_, "cuEventRecord");
  fns_->eventSynchronize =
      sym<decltype(fns_->eventSynchronize)>(lib_, "cuEventSynchronize");
  fns_->eventElapsedTime =
      sym<decltype(fns_->eventElapsedTime)>(lib_, "cuEventElapsedTime");
  fns_->getErrorString =
      sym<decltype(fns_->getErrorString)>(lib_, "cuGetErrorString");
  // Optional (CUDA 12+ drivers): only the Hopper kernel needs it.
  fns_->tensorMapEncodeTiled =
      reinterpret_cast<decltype(fns_->tensorMapEncodeTiled)>(
          dlsym(lib_, "cuTensorMapEncodeTiled"));
  check(fns_->init(0), "cuInit");
  int dev = 0;
  check(fns_->deviceGet(&dev, 0), "cuDeviceGet");
  int major = 0, minor = 0;
  check(fns_->deviceGetAttribute(&major, 75, dev), "cuDeviceGetAttribute");
  check(fns_->deviceGetAttribute(&minor, 76, dev), "cuDeviceGetAttribute");
  cc_ = major * 10 + minor;
  // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16
  check(fns_->deviceGetAttribute(&sms_, 16, dev), "cuDeviceGetAttribute");
  char name[256] = {0};
  fns_->deviceGetName(name, sizeof name, dev);
  name_ = name;
  check(fns_->primaryCtxRetain(&ctx_, dev), "cuDevicePrimaryCtxRetain");
  check(fns_->ctxSetCurrent(ctx_), "cuCtxSetCurrent");
}

Driver &Driver::get() {
  static std::once_flag once;
  static Driver *instance = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    try {
      instance = new Driver();
    } catch (const CudaError &e) {
      failure = e.what();
    }
  });
  if (!instance)
    throw CudaError(failure);
  return *instance;
}

void Driver::check(int status, const char *what) const {
  if (status == 0)
    return;
  const char *msg = nullptr;
  if (fns_ && fns_->getErrorString)
    fns_->getErrorString(status, &msg);
  throw CudaError(std::string(what) +
                  " failed: " + (msg ? msg : "unknown error") +
                  " (CUDA error " + std::to_string(status) + ")");
}

Driver::Module Driver::loadModule(const void *image) const {
  void *m = nullptr;
  check(fns_->moduleLoadData(&m, image), "cuModuleLoadData");
  return m;
}
Driver::Function Driver::function(Module m, const char *name) const {
  void *f = nullptr;
  check(fns_->moduleGetFunction(&f, m, name), "cuModuleGetFunction");
  return f;
}
void Driver::setMaxDynamicShared(Function f, int bytes) const {
  // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8
  check(fns_->funcSetAttribute(f, 8, bytes), "cuFuncSetAttribute");
}
int Driver::maxThreadsPerBlock(Function f) const {
  // CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0
  int n = 0;
  check(fns_->funcGetAttribute(&n, 0, f), "cuFuncGetAttribute");
  return n;
}
void Driver::launch(Function f, unsigned gx, unsigned gy, unsigned gz,
                    unsigned block, unsigned sharedBytes, void **params,
                    void *stream) const {
  check(fns_->launchKernel(f, gx, gy, gz, block, 1, 1, sharedBytes, stream,
                           params, nullptr),
        "cuLaunchKernel");
}
Driver::DevicePtr Driver::alloc(size_t bytes) const {
  DevicePtr p = 0;
  check(fns_->memAlloc(&p, bytes ? bytes : 1), "cuMemAlloc");
  return p;
}
void Driver::free(DevicePtr p) const {
  if (p)
    fns_->memFree(p);
}
void Driver::upload(DevicePtr dst, const void *src, size_t bytes) const {
  if (bytes)
    check(fns_->memcpyHtoD(dst, src, bytes), "cuMemcpyHtoD");
}
void Driver::download(void *dst, DevicePtr src, size_t bytes) const {
  if (bytes)
    check(fns_->memcpyDtoH(dst, src, bytes), "cuMemcpyDtoH");
}
void Driver::memset32Async(DevicePtr dst, unsigned value, size_t count,
                           void *stream) const {
  check(fns_->memsetD32Async(dst, value, count, stream), "cuMemsetD32Async");
}
void Driver::memset8(DevicePtr dst, unsigned char value, size_t bytes) const {
  check(fns_->memsetD8(dst, value, bytes), "cuMemsetD8");
}
void Driver::synchronize() const {
  check(fns_->ctxSynchronize(), "kernel execution");
}
Driver::Event Driver::createEvent() const {
  void *e = nullptr;
  check(fns_->eventCreate(&e, 0), "cuEventCreate");
  return e;
}
void Driver::record(Event e) const {
  check(fns_->eventRecord(e, nullptr), "cuEventRecord");
}
float Driver::elapsedMs(Event start, Event stop) const {
  check(fns_->eventSynchronize(stop), "cuEventSynchronize");
  float ms = 0;
  check(fns_->eventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
  return ms;
}

void Driver::encodeTensorMap16(unsigned char *map, DevicePtr base,
                               unsigned rank, const uint64_t *dims,
                               const uint64_t *strideBytes,
                               const uint32_t *box) const {
  if (!fns_->tensorMapEncodeTiled)
    throw CudaError("this CUDA driver has no cuTensorMapEncodeTiled (the "
                    "Hopper kernel needs a CUDA 12 driver or newer)");
  uint32_t elementStrides[5] = {1, 1, 1, 1, 1};
  // CU_TENSOR_MAP_DATA_TYPE_UINT16 = 1, INTERLEAVE_NONE = 0,
  // SWIZZLE_128B = 3, L2_PROMOTION_L2_256B = 3, FLOAT_OOB_FILL_NONE = 0
  // (out-of-bounds elements read as zero).
  check(fns_->tensorMapEncodeTiled(map, 1, rank, reinterpret_cast<void *>(base),
                                   dims, strideBytes, box, elementStrides, 0, 3,
                                   3, 0),
        "cuTensorMapEncodeTiled");
}

DeviceBuffer::~DeviceBuffer() {
  try {
    if (ptr_)
      Driver::get().free(ptr_);
  } catch (...) {
  }
}

Driver::DevicePtr DeviceBuffer::ensure(size_t bytes) {
  bytes = std::max<size_t>(bytes, 8);
  if (bytes <= bytes_)
    return ptr_;
  Driver &d = Driver::get();
  if (ptr_) {
    // Work queued earlier may still read the old buffer (tables of the
    // last launch, sets of the last estimate): done before it goes.
    d.synchronize();
    d.free(ptr_);
  }
  ptr_ = 0;
  bytes_ = 0;
  // Some headroom, so that slowly growing sizes do not reallocate each time.
  const size_t want = bytes + bytes / 4;
  ptr_ = d.alloc(want);
  bytes_ = want;
  return ptr_;
}

Driver::DevicePtr DeviceBuffer::upload(const void *data, size_t bytes) {
  Driver::DevicePtr p = ensure(bytes);
  // The copy is synchronous but not ordered after work queued on other
  // streams that may read the buffer: that work finishes first.
  Driver &d = Driver::get();
  d.synchronize();
  d.upload(p, data, bytes);
  return p;
}

} // namespace maskjit::runtime
