// maskjit's hand-over of estimated sets on the GPU: each head's chosen
// indices (as a top-k leaves them: distinct, in no order) become the two
// forms their readers want, without a trip through the host:
// - a bitmap over [0, count), which the attention kernel's PARTIAL tiles
//   test membership in (the layout of runtime::SelectorBits, lo = -shift);
// - the values in ascending order, which the schedule builder reads
//   (codegen/kernels/schedule_build.cuh: set_ptr/set_end into set_values).
// The sorted list is read off the bitmap: each thread counts the bits of a
// contiguous run of words, a block-wide scan gives where its values go.
// One block of MJ_PUB_THREADS threads per head. Compiled by NVRTC with the
// estimator (integer types from its prelude).

#ifndef MJ_PUB_THREADS // (the unit tests run this kernel on the host)
#define MJ_PUB_THREADS 1024
#endif

struct mj_pub_params {
  const int *chosen; // [heads][n]: index - shift, index in [0, count)
  int n, shift;
  int64_t count;
  unsigned *bits; // [heads][(count + 31) / 32]
  int *sorted;    // [heads][n]: the chosen values, ascending
};

extern "C" __global__ void __launch_bounds__(MJ_PUB_THREADS)
    mj_publish_sets(const mj_pub_params p) {
  __shared__ int sScan[MJ_PUB_THREADS];
  const int h = blockIdx.x, tid = threadIdx.x;
  const int64_t words = (p.count + 31) / 32;
  unsigned *bits = p.bits + h * words;
  const int *chosen = p.chosen + (int64_t)h * p.n;
  for (int64_t w = tid; w < words; w += MJ_PUB_THREADS)
    bits[w] = 0u;
  __syncthreads();
  for (int i = tid; i < p.n; i += MJ_PUB_THREADS) {
    const int64_t v = (int64_t)chosen[i] + p.shift;
    if (v >= 0 && v < p.count)
      atomicOr(&bits[v >> 5], 1u << (v & 31));
  }
  __syncthreads();
  const int64_t per = (words + MJ_PUB_THREADS - 1) / MJ_PUB_THREADS;
  const int64_t lo = min(words, tid * per), hi = min(words, lo + per);
  int mine = 0;
  for (int64_t w = lo; w < hi; ++w)
    mine += __popc(bits[w]);
  // Inclusive scan of the counts (Hillis-Steele).
  sScan[tid] = mine;
  __syncthreads();
  for (int off = 1; off < MJ_PUB_THREADS; off <<= 1) {
    const int add = tid >= off ? sScan[tid - off] : 0;
    __syncthreads();
    sScan[tid] += add;
    __syncthreads();
  }
  int at = sScan[tid] - mine;
  int *sorted = p.sorted + (int64_t)h * p.n;
  for (int64_t w = lo; w < hi; ++w)
    for (unsigned b = bits[w]; b; b &= b - 1u)
      sorted[at++] = (int)(32 * w + __ffs(b) - 1 - p.shift);
}
