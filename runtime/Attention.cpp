//===- Attention.cpp - Compile a pattern to a kernel, and launch it -------===//
#include "maskjit/runtime/Attention.h"

#include "maskjit/runtime/GpuEstimators.h"
#include "maskjit/runtime/GpuScheduleBuilder.h"
#include "maskjit/runtime/KernelAbi.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>

namespace maskjit::runtime {

const char *maskjitVersion() { return "0.1.0"; }

CompiledKernel buildKernel(plan::KernelPlan plan, KernelRegistry *registry) {
  CompiledKernel out;
  static_cast<plan::KernelPlan &>(out) = std::move(plan);
  // The key covers what decides the binary: the generated source (pattern,
  // bindings, head_dim, dtype, template), the arch and both versions.
  std::string versions = "arch=" + out.arch + "\nmaskjit=" + maskjitVersion() +
                         "\nnvrtc=" + Nvrtc::get().version();
  std::string material = out.source.code + "\n//arch=" + out.arch +
                         "\n//maskjit=" + maskjitVersion() +
                         "\n//nvrtc=" + Nvrtc::get().version();
  // Kernel development: extra NVRTC options (e.g. -D switches), part of
  // the key like everything else that changes the binary.
  std::vector<std::string> options = {"-lineinfo"};
  if (const char *extra = std::getenv("MASKJIT_NVRTC_FLAGS")) {
    std::istringstream words(extra);
    for (std::string w; words >> w;)
      options.push_back(w);
    material += "\n//flags=" + std::string(extra);
    versions += "\nflags=" + std::string(extra);
    out.nvrtcFlags = extra;
  }
  out.cacheKey = contentHash(material);
  // What the entry must record to be loaded under this key.
  const std::string identity =
      "source=" + contentDigest128(material) + "\n" + versions;
  auto build = [&] {
    Nvrtc::Output o = Nvrtc::get().compile(
        out.source.code, out.patternName + ".cu", out.arch, options);
    return KernelBinary{std::move(o.ptx), std::move(o.cubin), std::move(o.log)};
  };
  std::shared_ptr<const KernelBinary> bin;
  out.registry = registry;
  if (registry)
    bin = registry->getOrBuild(out.cacheKey, build, &out.cacheSource, identity);
  else
    bin = std::make_shared<KernelBinary>(build());
  out.ptx = bin->ptx;
  out.cubin = bin->cubin;
  out.nvrtcLog = bin->meta;
  return out;
}

Launcher::Launcher(const CompiledKernel &kernel) : kernel_(kernel) {
  Driver &d = Driver::get();
  const void *image = kernel.cubin.empty()
                          ? static_cast<const void *>(kernel.ptx.c_str())
                          : static_cast<const void *>(kernel.cubin.data());
  module_ = d.loadModule(image);
  function_ = d.function(module_, kernel.source.kernelName.c_str());
  d.setMaxDynamicShared(function_, kernel.source.sharedBytes);
  threads_ = kernel.source.threads;
  if (kernel.source.family == codegen::KernelFamily::Hopper) {
    // A kernel experiment may declare another block size in its launch
    // bounds (bench/experiments/: MJ_EXP_NO_WS, no producer warpgroup); the
    // default kernels run the source's count (a warp-specialized kernel traps
    // on another).
    if (!kernel.nvrtcFlags.empty())
      threads_ = d.maxThreadsPerBlock(function_);
    workCounter_ = d.alloc(4);
  }
  if (kernel.source.tileBits)
    tileBitsFn_ = d.function(module_, "maskjit_tile_bits");
}

Launcher::~Launcher() {
  try {
    Driver &d = Driver::get();
    d.free(segPtr_);
    d.free(segs_);
    d.free(gatherPtr_);
    d.free(gatherKeys_);
    d.free(workCounter_);
  } catch (...) {
  }
}

// (A direct comparison, no string building: the per-launch check is on the
// hot path.)
// The Hopper kernel copies key tiles with the TMA: one tensor map each for
// K and V, dimensions (head_dim, then sequence, head and batch in order of
// stride), a box of 64 columns by one tile of keys. Encoded again only when
// the K/V tensors' pointers or layout change (a model's repeated call keeps
// them, and the encoding is a good part of a small launch's host cost).
void Launcher::encodeTensorMaps(const AttentionCall &c, KernelParams &p) {
  TensorMapInputs in{c.k, c.v, c.lk, c.kvHeads, c.batch, {}, {}};
  std::memcpy(in.kStrides, c.kStrides, sizeof in.kStrides);
  std::memcpy(in.vStrides, c.vStrides, sizeof in.vStrides);
  if (!hasMaps_ || std::memcmp(&in, &mapsOf_, sizeof in) != 0) {
    auto encode = [&](unsigned char *map, Driver::DevicePtr base,
                      const int64_t *strides) {
      mask::TmaLayout t =
          mask::tmaLayout(c.lk, c.kvHeads, c.batch, strides,
                          kernel_.source.headDim, kernel_.source.tileN);
      mapDims_[0] = t.seqDim;
      mapDims_[1] = t.headDim;
      mapDims_[2] = t.batchDim;
      Driver::get().encodeTensorMap16(map, base, 4, t.extents, t.strideBytes,
                                      t.box);
    };
    hasMaps_ = false; // until both are encoded
    encode(maps_.k, c.k, c.kStrides);
    encode(maps_.v, c.v, c.vStrides);
    mapsOf_ = in;
    hasMaps_ = true;
  }
  p.tmaSeqDim = mapDims_[0];
  p.tmaHeadDim = mapDims_[1];
  p.tmaBatchDim = mapDims_[2];
}

bool sameScheduleInputs(const AttentionCall &a, const AttentionCall &b) {
  if (a.lq != b.lq || a.lk != b.lk || a.heads != b.heads ||
      a.runtimeValues.size() != b.runtimeValues.size() ||
      a.selections.columns != b.selections.columns ||
      a.selections.diagonals != b.selections.diagonals ||
      a.selections.blocks != b.selections.blocks ||
      a.headSelections.size() != b.headSelections.size())
    return false;
  for (size_t h = 0; h < a.headSelections.size(); ++h)
    if (a.headSelections[h].columns != b.headSelections[h].columns ||
        a.headSelections[h].diagonals != b.headSelections[h].diagonals ||
        a.headSelections[h].blocks != b.headSelections[h].blocks)
      return false;
  for (auto ia = a.runtimeValues.begin(), ib = b.runtimeValues.begin();
       ia != a.runtimeValues.end(); ++ia, ++ib)
    if (ia->first != ib->first || ia->second.isArray != ib->second.isArray ||
        ia->second.scalar != ib->second.scalar ||
        ia->second.array != ib->second.array)
      return false;
  return true;
}

void Launcher::checkCall(const AttentionCall &c) {
  if (c.batch <= 0 || c.heads <= 0 || c.kvHeads <= 0 || c.lq <= 0 || c.lk <= 0)
    throw std::invalid_argument(
        "batch, heads, kv_heads, Lq and Lk must be positive");
  if (c.heads % c.kvHeads != 0)
    throw std::invalid_argument("heads (" + std::to_string(c.heads) +
                                ") must be a multiple of kv_heads (" +
                                std::to_string(c.kvHeads) + ")");
  if (c.lq > (int64_t{1} << 30) || c.lk > (int64_t{1} << 30))
    throw std::invalid_argument("sequence length over the limit of 2^30");
  if (!c.q || !c.k || !c.v || !c.o || !c.lse)
    throw std::invalid_argument("null tensor pointer");
  for (Driver::DevicePtr p : {c.q, c.k, c.v, c.o})
    if (p % 16 != 0)
      throw std::invalid_argument("tensor pointers must be 16-byte aligned");
  for (const int64_t *s : {c.qStrides, c.kStrides, c.vStrides, c.oStrides})
    for (int i = 0; i < 3; ++i)
      if (s[i] % 8 != 0)
        throw std::invalid_argument("strides must be multiples of 8 elements");
}

void Launcher::fillParams(const AttentionCall &c) {
  // maskjit_params, laid out as the kernel declares it.
  using Params = KernelParams;
  argBuffer_.resize(sizeof(Params) + argWords_.size() * 8);
  std::vector<unsigned char> &buf = argBuffer_;
  Params p{};
  setCallParams(p, c, softmaxScale(c, kernel_.source.headDim));
  p.segPtr = onGpuTables_ ? gpuTables_.segPtr : segPtr_;
  p.segs = onGpuTables_ ? gpuTables_.segs : segs_;
  p.gatherPtr = onGpuTables_ ? gpuTables_.gatherPtr : gatherPtr_;
  p.gatherKeys = onGpuTables_ ? gpuTables_.gatherKeys : gatherKeys_;
  p.workCounter = workCounter_;
  p.schedHeads = schedHeads_;
  p.numQTiles = numQTiles_;
  p.segBits = bitTiles_ > 0 ? segBits_.get() : 0;
  p.tileBits = bitTiles_ > 0 ? tileBits_.get() : 0;
  if (kernel_.source.family == codegen::KernelFamily::Hopper)
    encodeTensorMaps(c, p);
  std::memcpy(buf.data(), &p, sizeof p);
  std::memcpy(buf.data() + sizeof p, argWords_.data(), argWords_.size() * 8);
}

void Launcher::launch(const AttentionCall &c) {
  checkCall(c);
  estimate(c);

  if (deviceSets_ || deviceBlocks_ || !hasPrepared_ ||
      !sameScheduleInputs(c, prepared_)) {
    auto t0 = std::chrono::steady_clock::now();
    untimedMs_ = 0;
    prepare(c);
    buildMs_ = std::chrono::duration<double, std::milli>(
                   std::chrono::steady_clock::now() - t0)
                   .count() -
               untimedMs_;
  }
  fillParams(c);
  std::vector<unsigned char> &buf = argBuffer_;
  void *args[] = {buf.data(), &maps_};
  Driver &d = Driver::get();
  if (tileBitsPending_)
    buildTileBits(buf.data(), c);
  if (kernel_.source.family == codegen::KernelFamily::Hopper) {
    // Persistent: one CTA (two for 64 x 64 tiles) per SM, each taking works
    // from a counter that starts at zero (ordered on the stream before the
    // launch).
    const int64_t works =
        int64_t{numQTiles_} * kernel_.source.dilation * c.heads * c.batch;
    d.memset32Async(workCounter_, 0, 1, c.stream);
    d.launch(
        function_,
        static_cast<unsigned>(std::min<int64_t>(
            works, int64_t{d.multiprocessors()} * kernel_.source.ctasPerSm)),
        1, 1, static_cast<unsigned>(threads_), kernel_.source.sharedBytes, args,
        c.stream);
    launched_ = true;
    return;
  }
  d.launch(function_,
           static_cast<unsigned>(numQTiles_ * kernel_.source.dilation),
           static_cast<unsigned>(c.heads), static_cast<unsigned>(c.batch),
           static_cast<unsigned>(threads_), kernel_.source.sharedBytes, args,
           c.stream);
  launched_ = true;
}

Driver::Module loadHelperModule(const std::string &code,
                                const std::string &fileName,
                                const std::string &arch,
                                KernelRegistry *registry) {
  auto build = [&] {
    Nvrtc::Output o = Nvrtc::get().compile(code, fileName, arch, {"-lineinfo"});
    return KernelBinary{std::move(o.ptx), std::move(o.cubin), std::move(o.log)};
  };
  const std::string material = code + "\n//arch=" + arch +
                               "\n//maskjit=" + maskjitVersion() +
                               "\n//nvrtc=" + Nvrtc::get().version();
  const std::string key = contentHash(material);
  const std::string identity =
      "source=" + contentDigest128(material) + "\narch=" + arch +
      "\nmaskjit=" + maskjitVersion() + "\nnvrtc=" + Nvrtc::get().version();
  std::shared_ptr<const KernelBinary> bin =
      registry ? registry->getOrBuild(key, build, nullptr, identity)
               : std::make_shared<KernelBinary>(build());
  return Driver::get().loadModule(
      bin->cubin.empty() ? static_cast<const void *>(bin->ptx.c_str())
                         : static_cast<const void *>(bin->cubin.data()));
}

} // namespace maskjit::runtime
