//===- maskjit.h - The public C++ API ---------------------------*- C++ -*-===//
//
//   #include <maskjit/maskjit.h>
//
//   auto pattern = maskjit::Pattern::fromFile("sliding_window.mask");
//   maskjit::CompileOptions opts;          // head_dim 128, bf16, this GPU
//   opts.constants["window"] = 4096;       // compiled in
//   auto kernel = maskjit::Kernel::compile(pattern, opts);   // cached
//   maskjit::AttentionCall call;           // device pointers, shapes, strides
//   ...
//   kernel.launch(call);                   // on call.stream
//
// This header needs nothing but the C++ standard library: the compiler
// (MLIR), NVRTC and the CUDA driver stay inside libmaskjit, which opens the
// CUDA libraries only when a kernel is compiled or launched. Every failure
// throws maskjit::Error with a readable message (a `.mask` diagnostic, an
// NVRTC log, a bad argument); nothing aborts the process.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_MASKJIT_H
#define MASKJIT_MASKJIT_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#define MASKJIT_API __attribute__((visibility("default")))

namespace maskjit {

class MASKJIT_API Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Values of a pattern's runtime params: scalars, and arrays (`int[]`,
/// `int[heads]`).
struct Params {
  std::map<std::string, int64_t> scalars;
  std::map<std::string, std::vector<int64_t>> arrays;
};

/// The reference mask of a pattern for one shape (CPU): the oracle for
/// tests. O(1) memory per query; evaluation is lazy.
class MASKJIT_API MaskOracle {
public:
  ~MaskOracle();
  MaskOracle(MaskOracle &&) noexcept;
  /// Whether query `q` may attend key `k`.
  bool allowed(int64_t q, int64_t k) const;

private:
  friend class Pattern;
  MaskOracle();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A checked pattern from a `.mask` file or string (with its imports).
class MASKJIT_API Pattern {
public:
  static Pattern fromFile(const std::string &path,
                          const std::string &name = "");
  static Pattern fromString(const std::string &text,
                            const std::string &name = "",
                            const std::string &bufferName = "<string>");
  const std::string &name() const;
  /// The pattern's mask for one shape, head and batch (reference, CPU).
  MaskOracle oracle(int64_t lq, int64_t lk, const Params &params = {},
                    int64_t head = 0, int64_t batch = 0) const;
  /// The reference tile map for one shape (CPU, row by row: no S^2
  /// memory): for each query tile of `tileQ` rows and key tile of `tileK`
  /// keys, row-major, 0 when no pair is allowed, 1 when some are, 2 when
  /// every in-range pair is.
  std::vector<uint8_t> blockMap(int64_t lq, int64_t lk, int64_t tileQ,
                                int64_t tileK, const Params &params = {},
                                int64_t head = 0, int64_t batch = 0) const;

  struct Impl;

private:
  friend class Kernel;
  std::shared_ptr<Impl> impl_;
};

struct CompileOptions {
  int64_t headDim = 128;
  std::string dtype = "bf16";
  std::string arch; ///< Empty: the current GPU (sm_90 becomes sm_90a).
  /// auto (the Hopper kernel on sm_90a, the portable one elsewhere),
  /// portable or hopper.
  std::string kernel = "auto";
  std::map<std::string, int64_t> constants; ///< Compile-time params.
  bool useCache = true; ///< The registry ($MASKJIT_CACHE_DIR).
};

/// The sets one head's dynamic selectors chose.
struct HeadSets {
  std::vector<int64_t> columns;   ///< topk_columns: key indices
  std::vector<int64_t> diagonals; ///< topk_diagonals: values of q - k
  /// topk_blocks: for each query block (q / block), its key blocks; empty
  /// when the pattern has no topk_blocks (or to let a launch estimate them).
  std::vector<std::vector<int64_t>> blocks;
};

/// Shapes and data of one attention call. Tensors are BSHD-strided (element
/// strides of batch, sequence and head; the last dimension contiguous), Q,
/// K, V and O in the kernel's dtype, LSE fp32 [batch, heads, Lq].
struct AttentionCall {
  int64_t batch = 1, heads = 1, kvHeads = 1, lq = 0, lk = 0;
  uint64_t q = 0, k = 0, v = 0, o = 0, lse = 0; ///< CUdeviceptr values.
  int64_t qStrides[3] = {0, 0, 0};              ///< batch, seq, head
  int64_t kStrides[3] = {0, 0, 0};
  int64_t vStrides[3] = {0, 0, 0};
  int64_t oStrides[3] = {0, 0, 0};
  float softmaxScale = 0; ///< 0: 1/sqrt(head_dim)
  Params params;          ///< Runtime params and arrays.
  /// Chosen sets of the dynamic selectors (topk_columns, topk_diagonals),
  /// for all heads. Without them (and without `headSets`) a launch
  /// estimates them on the GPU, per head of each sequence (the whole batch
  /// in one launch); see Kernel::estimatedSets().
  std::optional<std::vector<int64_t>> columns, diagonals;
  /// topk_blocks' key blocks for each query block, for all heads (without
  /// them, and without `headSets` blocks, a launch estimates them on the
  /// GPU, per head).
  std::optional<std::vector<std::vector<int64_t>>> blocks;
  /// Sets chosen per head (one entry per head), e.g. estimated by an earlier
  /// launch and reused across layers or steps; they override `columns` and
  /// `diagonals`.
  std::vector<HeadSets> headSets;
  void *stream = nullptr; ///< CUstream; null: the default stream.
};

/// The gradients of a backward call: dO in; dQ (Q's shape), dK and dV (K's
/// shape) out; BSHD-strided as AttentionCall's tensors, in the kernel's
/// dtype.
struct BackwardCall {
  uint64_t dout = 0, dq = 0, dk = 0, dv = 0; ///< CUdeviceptr values.
  int64_t doStrides[3] = {0, 0, 0};          ///< batch, seq, head
  int64_t dqStrides[3] = {0, 0, 0};
  int64_t dkStrides[3] = {0, 0, 0};
  int64_t dvStrides[3] = {0, 0, 0};
};

/// The compiler's account of how a kernel's tiles were decided, in its own
/// voice (as `maskc blocks --remarks` prints it).
struct ScheduleRemark {
  std::string where;   ///< file:line:col of the sub-expression, or empty
  std::string message; ///< what was decided there, and by which tier
};

/// A compiled kernel. Launching needs a GPU; compiling only NVRTC.
class MASKJIT_API Kernel {
public:
  static Kernel compile(const Pattern &pattern, const CompileOptions &options);
  const std::string &ptx() const;
  const std::string &cudaSource() const;
  const std::string &cacheKey() const;
  /// "portable" or "hopper".
  std::string family() const;
  /// Validates `call` (throws Error) and launches on `call.stream`. Changing
  /// a runtime value or a length never recompiles.
  void launch(const AttentionCall &call);
  /// dQ, dK and dV of `call` from dO, on `call.stream`: `call` is the
  /// forward's (its O and LSE that launch's outputs), and the backward
  /// visits the pairs the forward's schedule did (dK and dV summed over
  /// each KV head's group; fully masked rows get zero gradients). A pattern
  /// that estimates its sets uses those of this kernel's last launch, which
  /// must be this call's forward. Compiles the backward kernels at the
  /// first call. Throws Error.
  void backward(const AttentionCall &call, const BackwardCall &grads);
  /// The sets the last launch estimated on the GPU, per head (for a batch,
  /// per sequence and head: b * heads + h; empty when the call gave them):
  /// to inspect, or to pass back as `headSets` (one sequence's).
  std::vector<HeadSets> estimatedSets() const;
  /// Remarks on this kernel's schedule for one shape, head and runtime
  /// values (CPU, no GPU): which tier decided the tiles of each clause, the
  /// comparisons the closed forms cannot read, the tiles each tier decided
  /// and where the abstract domain gave up. Throws Error on a value the
  /// schedule needs and does not get, or a pair where the mask traps.
  std::vector<ScheduleRemark> scheduleRemarks(int64_t lq, int64_t lk,
                                              const Params &params = {},
                                              int64_t head = 0) const;

  struct Impl;

private:
  std::shared_ptr<Impl> impl_;
};

/// Minimal device memory helpers over the CUDA driver that libmaskjit
/// already opens, for programs that have no CUDA runtime of their own.
namespace gpu {
MASKJIT_API bool available(); ///< A CUDA driver and a GPU are present.
MASKJIT_API uint64_t alloc(size_t bytes);
MASKJIT_API void free(uint64_t ptr);
MASKJIT_API void upload(uint64_t dst, const void *src, size_t bytes);
MASKJIT_API void download(void *dst, uint64_t src, size_t bytes);
MASKJIT_API void synchronize();
} // namespace gpu

/// NVRTC (needed to compile kernels) can be loaded.
MASKJIT_API bool nvrtcAvailable();
/// Why NVRTC cannot be loaded (which libraries were tried), or "" when it
/// can.
MASKJIT_API std::string nvrtcUnavailableReason();

} // namespace maskjit

#endif
