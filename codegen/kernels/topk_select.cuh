// maskjit's selection of estimated sets on the GPU: for each head, the n
// largest of an estimator's scores (ties to the smaller index), handed on
// in the two forms their readers want, without a trip through the host:
// - a bitmap over [0, count), which the attention kernel's PARTIAL tiles
//   test membership in (the layout of runtime::SelectorBits, lo = -shift);
// - the chosen indices minus `shift` in ascending order, which the schedule
//   builder reads (codegen/kernels/schedule_build.cuh: set_ptr/set_end).
// One block of MJ_TOPK_THREADS threads per (head, problem): a launch
// selects the columns and the diagonals of every head at once. Compiled by
// NVRTC after the estimator (integer types from its prelude).
//
// The n-th largest value comes from a radix select on the float bits
// (scores are >= 0, so their bits order like the values), 8 bits a pass
// from the top, each lane of a warp counting into its own copy of the
// histogram (in the first pass most values share a few exponent bins: one
// copy would serialize on them). The bitmap is
// then written a warp-word at a time (__ballot_sync); of the values equal
// to the n-th, the first ones in index order. The sorted list is read off
// the bitmap: each thread counts the bits of a run of words, a block-wide
// scan gives where its indices go.

#ifndef MJ_TOPK_THREADS // (the unit tests run this kernel on the host)
#define MJ_TOPK_THREADS 1024
#endif
#define MJ_TOPK_WARPS (MJ_TOPK_THREADS / 32)
// Histogram copies, one per lane of a warp: lanes that count the same bin
// hit different words, and (257 words apart) different banks.
#define MJ_TOPK_COPIES 32
#define MJ_TOPK_COPY 257

struct mj_topk_problem {
  const float *values; // [heads][count], >= 0
  int64_t count;
  int n, shift;   // n <= count
  unsigned *bits; // [heads][(count + 31) / 32]
  int *sorted;    // [heads][n]: chosen index - shift, ascending
};
struct mj_topk_params {
  mj_topk_problem problem[2]; // blockIdx.y
};

// The set bits of bits[0, words) as `index - shift`, ascending, in sorted[].
static __device__ __forceinline__ void mj_topk_list(const unsigned *bits, int64_t words,
                                                    int shift, int *sorted) {
  __shared__ int sScan[MJ_TOPK_THREADS];
  const int tid = threadIdx.x;
  const int64_t per = (words + MJ_TOPK_THREADS - 1) / MJ_TOPK_THREADS;
  const int64_t lo = min(words, tid * per), hi = min(words, lo + per);
  int mine = 0;
  for (int64_t w = lo; w < hi; ++w)
    mine += __popc(bits[w]);
  // Inclusive scan of the counts (Hillis-Steele).
  sScan[tid] = mine;
  __syncthreads();
  for (int off = 1; off < MJ_TOPK_THREADS; off <<= 1) {
    const int add = tid >= off ? sScan[tid - off] : 0;
    __syncthreads();
    sScan[tid] += add;
    __syncthreads();
  }
  int at = sScan[tid] - mine;
  for (int64_t w = lo; w < hi; ++w)
    for (unsigned b = bits[w]; b; b &= b - 1u)
      sorted[at++] = (int)(32 * w + __ffs(b) - 1 - shift);
}

extern "C" __global__ void __launch_bounds__(MJ_TOPK_THREADS)
    mj_topk_select(const mj_topk_params params) {
  __shared__ unsigned hist[MJ_TOPK_COPIES * MJ_TOPK_COPY];
  __shared__ unsigned sPrefix, sMask, sTies;
  __shared__ int sNeed, sWarp[MJ_TOPK_WARPS];
  const mj_topk_problem p = blockIdx.y ? params.problem[1] : params.problem[0];
  const int h = blockIdx.x, tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const unsigned *vals = (const unsigned *)(p.values + h * p.count);
  const int64_t words = (p.count + 31) / 32;
  unsigned *bits = p.bits + h * words;
  if (p.n <= 0) {
    for (int64_t w = tid; w < words; w += MJ_TOPK_THREADS)
      bits[w] = 0u;
    return;
  }
  if (tid == 0) {
    sPrefix = 0;
    sMask = 0;
    sNeed = p.n; // how many of the values matching the prefix to take
  }
  // Radix select, 8 bits at a time from the top: the bits of the n-th
  // largest value, and how many of the values equal to it to take.
  for (int shiftBits = 24; shiftBits >= 0; shiftBits -= 8) {
    for (int i = tid; i < MJ_TOPK_COPIES * MJ_TOPK_COPY; i += MJ_TOPK_THREADS)
      hist[i] = 0;
    __syncthreads();
    const unsigned prefix = sPrefix, mask = sMask;
    unsigned *mine = hist + (lane % MJ_TOPK_COPIES) * MJ_TOPK_COPY;
    for (int64_t i = tid; i < p.count; i += MJ_TOPK_THREADS) {
      const unsigned v = vals[i];
      if ((v & mask) == prefix)
        atomicAdd(&mine[(v >> shiftBits) & 255u], 1u);
    }
    __syncthreads();
    // The copies summed, one bin a thread.
    for (int b = tid; b < 256; b += MJ_TOPK_THREADS) {
      unsigned total = 0;
      for (int c = 0; c < MJ_TOPK_COPIES; ++c)
        total += hist[c * MJ_TOPK_COPY + b];
      hist[b] = total;
    }
    __syncthreads();
    if (tid == 0) {
      int need = sNeed;
      int digit = 255;
      for (; digit > 0; --digit) {
        if ((int)hist[digit] >= need)
          break;
        need -= hist[digit];
      }
      sNeed = need;
      sTies = hist[digit]; // after the last pass: the values equal to it
      sPrefix = prefix | ((unsigned)digit << shiftBits);
      sMask = mask | (255u << shiftBits);
    }
    __syncthreads();
  }
  const unsigned kth = sPrefix;
  const int need = sNeed;
  const bool allTies = (int)sTies <= need;
  // Every value above the n-th, and the values equal to it when all of
  // them are taken: a warp writes one word.
  for (int64_t base = 0; base < words * 32; base += MJ_TOPK_THREADS) {
    const int64_t i = base + tid;
    const unsigned v = i < p.count ? vals[i] : 0u;
    const bool take = i < p.count && (v > kth || (allTies && v == kth));
    const unsigned word = __ballot_sync(0xffffffffu, take);
    if (lane == 0 && i / 32 < words)
      bits[i / 32] = word;
  }
  if (!allTies) {
    // The first `need` values equal to the n-th, in index order: a tile of
    // MJ_TOPK_THREADS values at a time, ranked by a block-wide count.
    int taken = 0;
    for (int64_t base = 0; base < p.count && taken < need; base += MJ_TOPK_THREADS) {
      const int64_t i = base + tid;
      const bool tie = i < p.count && vals[i] == kth;
      const unsigned ties = __ballot_sync(0xffffffffu, tie);
      __syncthreads(); // sWarp of the last tile was read
      if (lane == 0)
        sWarp[warp] = __popc(ties);
      __syncthreads();
      int before = taken, total = taken;
      for (int w = 0; w < MJ_TOPK_WARPS; ++w) {
        before += w < warp ? sWarp[w] : 0;
        total += sWarp[w];
      }
      const int rank = before + __popc(ties & ((1u << lane) - 1u));
      if (tie && rank < need)
        atomicOr(&bits[i / 32], 1u << (i % 32));
      taken = total;
    }
  }
  __syncthreads();
  mj_topk_list(bits, words, p.shift, p.sorted + (int64_t)h * p.n);
}
