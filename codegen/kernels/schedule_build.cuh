// maskjit's GPU schedule builder for patterns whose sets are chosen at run
// time (compiler/SetSchedule.h): from each head's sorted sets to the CSR
// tables the attention kernels read, one block per (query tile, head).
// Compiled by NVRTC after a prelude that defines the integer types.
//
// A block marks, in shared bitmaps over the key tiles, the tiles of the
// host's static segments (visited, and full where the host says so) and the
// tiles each chosen diagonal crosses for some row its clause allows
// (visited, PARTIAL). Runs of visited tiles of one kind become segments;
// the chosen columns that some row of the tile may see and that lie outside
// the visited tiles become gathered keys: those every row may see first
// (stored as the key), then the others (stored as -(key + 2)), each in key
// order. Pass 0 counts, mj_sb_scan turns counts into CSR offsets, pass 1
// writes at those offsets: nothing is bounded in advance.

#ifndef MJ_SB_THREADS // (the unit tests may run these kernels on the host)
#define MJ_SB_THREADS 128
#endif
#ifndef MJ_SB_DYNAMIC_SHARED
#define MJ_SB_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif
#define MJ_SB_WARPS (MJ_SB_THREADS / 32)

struct mj_sb_params {
  int lq, lk, tile_q, tile_k, heads, q_tiles, k_tiles, k_words, n_sets;
  const int *static_ptr;  // [heads][q_tiles + 1], absolute
  const int *static_segs; // (begin, end, full) triples
  const int *set_ptr;     // [n_sets * heads]: where (set, head) begins in set_values
  const int *set_end;     // [n_sets * heads]: and ends (set_ptr + 1 for CSR)
  const int *set_values;  // each (set, head) sorted ascending
  const int *clause_ptr;  // [heads + 1] into clauses
  const int *clauses;     // (diagonal?, set, first atom, atom count)
  const int64_t *atoms;   // (a, b, rhs): a*q + b*k <= rhs
  int *seg_count, *key_count; // [heads][q_tiles], pass 0
  int *key_full;              // [heads][q_tiles], pass 0: keys every row sees
  int *seg_ptr, *gather_ptr;  // [heads][q_tiles + 1], from mj_sb_scan
  int *segs, *gather_keys;    // pass 1
  unsigned long long *visited_tiles; // pass 1: sum of segment lengths
  // Block top-k (null when none): every clause has `k / block in set(q /
  // block)`, bits of the chosen key blocks, a row of block_row_words words
  // per query block (block_rows of them, block_head_words apart per head).
  const unsigned *block_bits;
  int block, block_rows, block_row_words;
  long long block_head_words;
};

// Whether the key blocks chosen for the query blocks of rows [q0, q1] cover
// some (`any`) and every (`all`) key block of keys [k0, k1].
static __device__ __forceinline__ void mj_sb_block_cover(const mj_sb_params &p, int h,
                                                         int64_t q0, int64_t q1, int64_t k0,
                                                         int64_t k1, bool &any, bool &all) {
  const unsigned *bits = p.block_bits + h * p.block_head_words;
  any = false;
  all = true;
  for (int64_t qb = q0 / p.block; qb <= q1 / p.block; ++qb)
    for (int64_t kb = k0 / p.block; kb <= k1 / p.block; ++kb) {
      const bool chosen = qb < p.block_rows && kb < 32 * p.block_row_words &&
                          ((bits[qb * p.block_row_words + (kb >> 5)] >> (kb & 31)) & 1u);
      any = any || chosen;
      all = all && chosen;
    }
}

static __device__ __forceinline__ int64_t mj_sb_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Narrows [lo, hi] to the q with c*q <= r.
static __device__ __forceinline__ void mj_sb_bound(int64_t c, int64_t r, int64_t &lo,
                                                   int64_t &hi) {
  if (c > 0)
    hi = min(hi, mj_sb_floor_div(r, c));
  else if (c < 0)
    lo = max(lo, -mj_sb_floor_div(r, -c)); // q >= ceil(r / c) = -floor(r / -c)
  else if (r < 0)
    hi = lo - 1;
}

// Marks tiles [t0, t1] in a shared bitmap.
static __device__ __forceinline__ void mj_sb_mark(unsigned *bits, int t0, int t1) {
  for (int w = t0 >> 5; w <= (t1 >> 5); ++w) {
    const int lo = max(t0, w * 32) - w * 32, hi = min(t1, w * 32 + 31) - w * 32;
    const unsigned m = (hi == 31 ? 0xffffffffu : ((1u << (hi + 1)) - 1u)) & ~((1u << lo) - 1u);
    atomicOr(&bits[w], m);
  }
}

// Exclusive prefix sum of `v` over the block; `total` gets the sum.
static __device__ __forceinline__ int mj_sb_block_scan(int v, int &total) {
  __shared__ int warp_sums[MJ_SB_WARPS];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int x = v;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const int y = __shfl_up_sync(0xffffffffu, x, o);
    if (lane >= o)
      x += y;
  }
  if (lane == 31)
    warp_sums[warp] = x;
  __syncthreads();
  int before = 0;
  total = 0;
#pragma unroll
  for (int w = 0; w < MJ_SB_WARPS; ++w) {
    before += w < warp ? warp_sums[w] : 0;
    total += warp_sums[w];
  }
  __syncthreads();
  return before + x - v;
}

// (At least 4 blocks per SM: without the hint ptxas aims at more and spills.)
extern "C" __global__ void __launch_bounds__(MJ_SB_THREADS, 4)
mj_sb_build(mj_sb_params p, int pass) {
  MJ_SB_DYNAMIC_SHARED(unsigned, mj_sb_smem);
  unsigned *visited = mj_sb_smem, *full = mj_sb_smem + p.k_words;
  const int qt = blockIdx.x, h = blockIdx.y, tid = threadIdx.x;
  const int64_t q0 = (int64_t)qt * p.tile_q, q1 = min((int64_t)p.lq, q0 + p.tile_q) - 1;
  for (int w = tid; w < 2 * p.k_words; w += MJ_SB_THREADS)
    mj_sb_smem[w] = 0;
  __syncthreads();

  // The host's segments of the clauses without sets.
  const int row = h * (p.q_tiles + 1) + qt;
  for (int i = p.static_ptr[row] + tid; i < p.static_ptr[row + 1]; i += MJ_SB_THREADS) {
    const int b = p.static_segs[3 * i], e = p.static_segs[3 * i + 1] - 1;
    mj_sb_mark(visited, b, e);
    if (p.static_segs[3 * i + 2])
      mj_sb_mark(full, b, e);
  }
  if (p.block_bits) {
    // Block top-k: of those tiles, the ones a chosen block touches; FULL
    // where every row's block chose every key block of the tile.
    __syncthreads();
    for (int t = tid; t < p.k_tiles; t += MJ_SB_THREADS) {
      if (!((visited[t >> 5] >> (t & 31)) & 1u))
        continue;
      const int64_t k0 = (int64_t)t * p.tile_k, k1 = min((int64_t)p.lk, k0 + p.tile_k) - 1;
      bool any, all;
      mj_sb_block_cover(p, h, q0, q1, k0, k1, any, all);
      if (!any)
        atomicAnd(&visited[t >> 5], ~(1u << (t & 31)));
      if (!all)
        atomicAnd(&full[t >> 5], ~(1u << (t & 31)));
    }
  }
  // Diagonal clauses: the rows of the tile a diagonal d reaches (k = q - d
  // within [0, Lk), every atom (a + b)*q <= rhs + b*d), and so its keys.
  int column_clause = -1;
  for (int c = p.clause_ptr[h]; c < p.clause_ptr[h + 1]; ++c) {
    const int *cl = p.clauses + 4 * c;
    if (!cl[0]) {
      column_clause = c;
      continue;
    }
    const int sp = cl[1] * p.heads + h;
    for (int i = p.set_ptr[sp] + tid; i < p.set_end[sp]; i += MJ_SB_THREADS) {
      const int64_t d = p.set_values[i];
      int64_t lo = max(q0, d), hi = min(q1, d + p.lk - 1);
      for (int a = cl[2]; a < cl[2] + cl[3]; ++a) {
        const int64_t *t = p.atoms + 3 * a;
        mj_sb_bound(t[0] + t[1], t[2] + t[1] * d, lo, hi);
      }
      if (lo <= hi)
        mj_sb_mark(visited, (int)((lo - d) / p.tile_k), (int)((hi - d) / p.tile_k));
    }
  }
  __syncthreads();

  // Segments: a run starts at a visited tile whose left neighbour is not
  // visited or of the other kind, and ends likewise on the right. The i-th
  // start and the i-th end belong to the same run.
  const int per = (p.k_words + MJ_SB_THREADS - 1) / MJ_SB_THREADS;
  const int w0 = min(tid * per, p.k_words), w1 = min(w0 + per, p.k_words);
  auto starts = [&](int w, unsigned &e) {
    const unsigned v = visited[w], f = full[w];
    const unsigned vl = (v << 1) | (w > 0 ? visited[w - 1] >> 31 : 0u);
    const unsigned fl = (f << 1) | (w > 0 ? full[w - 1] >> 31 : 0u);
    const unsigned vr = (v >> 1) | (w + 1 < p.k_words ? visited[w + 1] << 31 : 0u);
    const unsigned fr = (f >> 1) | (w + 1 < p.k_words ? full[w + 1] << 31 : 0u);
    e = v & ~(vr & ~(f ^ fr));
    return v & ~(vl & ~(f ^ fl));
  };
  int mine = 0;
  for (int w = w0; w < w1; ++w) {
    unsigned e;
    mine += __popc(starts(w, e));
  }
  int nseg;
  int before = mj_sb_block_scan(mine, nseg);
  if (pass == 1) {
    // Runs end where they start, except the one open across this thread's
    // first word boundary: its end belongs to an earlier start.
    const bool open = w0 > 0 && w0 < w1 && (visited[w0 - 1] >> 31) && (visited[w0] & 1u) &&
                      (full[w0 - 1] >> 31) == (full[w0] & 1u);
    int *out = p.segs + 3 * (int64_t)p.seg_ptr[row];
    int si = before, ei = before - (open ? 1 : 0);
    unsigned long long tiles = 0;
    for (int w = w0; w < w1; ++w) {
      unsigned e, s = starts(w, e);
      for (; s; s &= s - 1, ++si) {
        const int t = w * 32 + __ffs(s) - 1;
        out[3 * si] = t;
        out[3 * si + 2] = (full[w] >> (t & 31)) & 1;
        tiles -= t;
      }
      for (; e; e &= e - 1, ++ei) {
        const int t = w * 32 + __ffs(e) - 1;
        out[3 * ei + 1] = t + 1;
        tiles += t + 1;
      }
    }
    if (tiles)
      atomicAdd(p.visited_tiles, tiles);
  }

  // Gathered keys of the column clause: a key k some row may see (every
  // atom a*q <= rhs - b*k for some q of the tile), outside visited tiles;
  // full when every row may see it. Only the columns within the keys the
  // atoms allow the tile at all are read (a binary search of the sorted
  // set); one pass over them places both kinds (counts of full and partial
  // keys packed in one scan), the full ones first.
  int nkey = 0, nfull = 0;
  if (column_clause >= 0) {
    const int *cl = p.clauses + 4 * column_clause;
    const int sp = cl[1] * p.heads + h;
    int64_t klo = 0, khi = p.lk - 1;
    for (int a = cl[2]; a < cl[2] + cl[3]; ++a) {
      const int64_t *t = p.atoms + 3 * a;
      const int64_t rest = t[2] - min(t[0] * q0, t[0] * q1); // b*k <= rest for some q
      if (t[1] > 0)
        khi = min(khi, mj_sb_floor_div(rest, t[1]));
      else if (t[1] < 0)
        klo = max(klo, -mj_sb_floor_div(rest, -t[1]));
      else if (rest < 0)
        khi = klo - 1;
    }
    int first = p.set_ptr[sp], last = p.set_end[sp];
    for (int lo = first, hi = last; lo < hi;) { // first value >= klo
      const int mid = (lo + hi) / 2;
      if (p.set_values[mid] < klo) lo = mid + 1; else hi = mid;
      first = lo;
    }
    for (int lo = first, hi = last; lo < hi;) { // first value > khi
      const int mid = (lo + hi) / 2;
      if (p.set_values[mid] <= khi) lo = mid + 1; else hi = mid;
      last = lo;
    }
    if (khi < klo)
      last = first;
    int *out = pass == 1 ? p.gather_keys + p.gather_ptr[row] : nullptr;
    const int fullTotal = pass == 1 ? p.key_full[h * p.q_tiles + qt] : 0;
    int nPartial = 0;
    for (int base = first; base < last; base += MJ_SB_THREADS) {
      int take = 0, key = 0;
      if (base + tid < last) {
        key = p.set_values[base + tid];
        if (key >= 0 && key < p.lk &&
            !((visited[(key / p.tile_k) >> 5] >> ((key / p.tile_k) & 31)) & 1)) {
          int64_t lo = q0, hi = q1;
          for (int a = cl[2]; a < cl[2] + cl[3]; ++a) {
            const int64_t *t = p.atoms + 3 * a;
            mj_sb_bound(t[0], t[2] - t[1] * key, lo, hi);
          }
          if (lo <= hi)
            take = (lo == q0 && hi == q1) ? 1 : (1 << 16);
        }
      }
      int count;
      const int at = mj_sb_block_scan(take, count);
      if (take && out) {
        if (take == 1)
          out[nfull + (at & 0xffff)] = key;
        else
          out[fullTotal + nPartial + (at >> 16)] = -key - 2;
      }
      nfull += count & 0xffff;
      nPartial += count >> 16;
    }
    nkey = nfull + nPartial;
  }
  if (pass == 0 && tid == 0) {
    p.seg_count[h * p.q_tiles + qt] = nseg;
    p.key_count[h * p.q_tiles + qt] = nkey;
    p.key_full[h * p.q_tiles + qt] = nfull;
  }
}

// Counts to CSR offsets: seg_ptr and gather_ptr as the kernels read them
// ([heads][q_tiles + 1], absolute), one block. Totals land in the last
// entry of the last head.
extern "C" __global__ void __launch_bounds__(MJ_SB_THREADS) mj_sb_scan(mj_sb_params p) {
  const int n = p.heads * p.q_tiles, tid = threadIdx.x;
  const int per = (n + MJ_SB_THREADS - 1) / MJ_SB_THREADS;
  const int i0 = min(tid * per, n), i1 = min(i0 + per, n);
  for (int which = 0; which < 2; ++which) {
    const int *count = which ? p.key_count : p.seg_count;
    int *ptr = which ? p.gather_ptr : p.seg_ptr;
    int mine = 0;
    for (int i = i0; i < i1; ++i)
      mine += count[i];
    int total;
    int at = mj_sb_block_scan(mine, total);
    for (int i = i0; i < i1; ++i) {
      const int h = i / p.q_tiles, qt = i % p.q_tiles;
      ptr[h * (p.q_tiles + 1) + qt] = at;
      at += count[i];
      if (qt == p.q_tiles - 1)
        ptr[h * (p.q_tiles + 1) + qt + 1] = at;
    }
  }
}
