//===- CudaHostShim.h - Running simple CUDA kernels on the host -*- C++ -*-===//
//
// Enough of CUDA to run kernels that use blocks of threads, shared memory,
// __syncthreads, __syncwarp, __shfl_up_sync, __shfl_xor_sync, __ballot_sync,
// __match_any_sync, integer atomics, bit counts and IEEE-rounded float
// operations on the host: a block's threads are coroutines switched
// at every barrier, blocks run one after another (so `static` stands for
// `__shared__`). A kernel that forgot a barrier may still pass here (the
// threads run in order): for unit tests of kernels' logic in CI, which has no
// GPU.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_TESTS_CUDAHOSTSHIM_H
#define MASKJIT_TESTS_CUDAHOSTSHIM_H

#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <ucontext.h>
#include <vector>

struct mj_host_dim3 {
  unsigned x = 0, y = 0, z = 0;
};
/// The running "thread" of the block (set by the scheduler at each switch).
inline mj_host_dim3 threadIdx, blockIdx;

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

namespace mj_host {
/// A block's threads as coroutines (ucontext): each runs until its next
/// __syncthreads, the scheduler then runs the next; a round over all of
/// them is one barrier. No OS threads: cheap on a small CI machine, and
/// deterministic.
struct Block {
  explicit Block(int threads)
      : contexts(threads), stacks(threads), done(threads, false),
        slots(threads) {
    for (auto &st : stacks)
      st.resize(256 * 1024);
  }
  ucontext_t scheduler;
  std::vector<ucontext_t> contexts;
  std::vector<std::vector<char>> stacks;
  std::vector<bool> done;
  std::vector<uint64_t> slots; ///< Shuffles pass values through these.
  std::function<void()> body;
  int running = 0;
};
inline Block *current = nullptr;
inline std::vector<unsigned char> dynamicShared(size_t{1} << 18);

inline void trampoline() {
  Block &b = *current;
  b.body();
  b.done[b.running] = true;
  // Returning switches to uc_link, the scheduler.
}

inline void yield() {
  Block &b = *current;
  swapcontext(&b.contexts[b.running], &b.scheduler);
}

/// Sets thread t of the block to run the kernel from the start. (Apart,
/// because getcontext returns twice: no caller's locals live across it.)
[[gnu::noinline]] inline void start(Block &block, int t) {
  ucontext_t &c = block.contexts[t];
  getcontext(&c);
  c.uc_stack.ss_sp = block.stacks[t].data();
  c.uc_stack.ss_size = block.stacks[t].size();
  c.uc_link = &block.scheduler;
  makecontext(&c, trampoline, 0);
  block.done[t] = false;
}

/// Runs kernel(args...) on a grid of gx x gy blocks of `threads` threads,
/// block after block.
template <typename Kernel, typename... Args>
void launch(Kernel kernel, unsigned gx, unsigned gy, int threads,
            Args... args) {
  Block block(threads);
  current = &block;
  block.body = [&] { kernel(args...); };
  for (unsigned y = 0; y < gy; ++y)
    for (unsigned x = 0; x < gx; ++x) {
      blockIdx = {x, y, 0};
      for (int t = 0; t < threads; ++t)
        start(block, t);
      for (bool any = true; any;) {
        any = false;
        for (int t = 0; t < threads; ++t) {
          if (block.done[t])
            continue;
          any = true;
          block.running = t;
          threadIdx = {static_cast<unsigned>(t), 0, 0};
          swapcontext(&block.scheduler, &block.contexts[t]);
        }
      }
    }
  current = nullptr;
}
} // namespace mj_host

#define MJ_SB_DYNAMIC_SHARED(type, name)                                       \
  type *name = reinterpret_cast<type *>(mj_host::dynamicShared.data())
#define MJ_BT_DYNAMIC_SHARED MJ_SB_DYNAMIC_SHARED

inline void __syncthreads() { mj_host::yield(); }

namespace mj_host {
/// One shuffle step: publishes `x` in the caller's slot and returns thread
/// `src`'s value of this step (`x` when src is out of the block or -1).
template <typename T> T exchange(T x, int src) {
  static_assert(sizeof(T) <= 8, "shuffles of up to 8 bytes");
  Block &b = *current;
  uint64_t bits = 0;
  std::memcpy(&bits, &x, sizeof(T));
  b.slots[threadIdx.x] = bits;
  yield();
  T y = x;
  if (src >= 0 && src < static_cast<int>(b.slots.size()))
    std::memcpy(&y, &b.slots[src], sizeof(T));
  yield();
  return y;
}
} // namespace mj_host

/// All threads of the block must call it together (as the kernels do).
template <typename T> T __shfl_up_sync(unsigned, T x, int offset) {
  const int tid = static_cast<int>(threadIdx.x), lane = tid % 32;
  return mj_host::exchange(x, lane >= offset ? tid - offset : -1);
}
/// All threads of the caller's warp must call it together (each warp may be
/// at its own step: a lane reads only its warp's slots).
template <typename T> T __shfl_xor_sync(unsigned, T x, int laneMask) {
  const int tid = static_cast<int>(threadIdx.x), lane = tid % 32;
  return mj_host::exchange(x, tid - lane + (lane ^ laneMask));
}
/// A step every lane of the warp takes together (see __shfl_xor_sync).
inline void __syncwarp(unsigned = 0xffffffffu) { mj_host::yield(); }

/// The lanes of the caller's warp whose `value` equals `key(slot)`, as a
/// mask (all threads of the block call it together).
template <typename Pick> unsigned mj_host_warpMask(uint64_t value, Pick pick) {
  mj_host::Block &b = *mj_host::current;
  const int tid = static_cast<int>(threadIdx.x), first = tid - tid % 32;
  b.slots[tid] = value;
  mj_host::yield();
  unsigned mask = 0;
  for (int l = 0; l < 32 && first + l < static_cast<int>(b.slots.size()); ++l)
    if (pick(b.slots[first + l]))
      mask |= 1u << l;
  mj_host::yield();
  return mask;
}
inline unsigned __ballot_sync(unsigned, int predicate) {
  return mj_host_warpMask(predicate != 0, [](uint64_t v) { return v != 0; });
}
inline unsigned __match_any_sync(unsigned, unsigned value) {
  return mj_host_warpMask(value, [&](uint64_t v) { return v == value; });
}

inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline unsigned atomicAdd(unsigned *p, unsigned v) {
  const unsigned old = *p;
  *p = old + v;
  return old;
}
inline int __ffs(unsigned x) { return __builtin_ffs(static_cast<int>(x)); }
inline unsigned atomicAnd(unsigned *p, unsigned v) {
  const unsigned old = *p;
  *p = old & v;
  return old;
}
inline unsigned atomicOr(unsigned *p, unsigned v) {
  const unsigned old = *p;
  *p = old | v;
  return old;
}
inline unsigned long long atomicAdd(unsigned long long *p,
                                    unsigned long long v) {
  const unsigned long long old = *p;
  *p = old + v;
  return old;
}
// Float operations rounded as on the GPU: the host's are IEEE
// round-to-nearest too (x86-64 without FMA contraction).
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __uint_as_float(unsigned x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
inline float __int_as_float(int x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) {
  return {x, y, z, w};
}

template <typename A, typename B>
inline std::common_type_t<A, B> min(A a, B b) {
  return a < b ? a : b;
}
template <typename A, typename B>
inline std::common_type_t<A, B> max(A a, B b) {
  return a < b ? b : a;
}

#endif
