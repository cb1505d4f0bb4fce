#include "sampling.cuh"

#include <climits>
#include <cmath>

namespace inq {
namespace cuda {

namespace {

constexpr int kSampleBlock = 512;

struct Shared {
  double d[32];
  unsigned long long k[32];
  float f[32];
  int i[32];
};

// (value, id) argmax step: a larger value wins, an equal one the lower id. "None" is (-inf, INT_MAX), which any
// candidate with the same value beats by its lower id.
__device__ __forceinline__ void take_better(float& v, int& id, float w, int j) {
  if (w > v || (w == v && j < id)) {
    v = w;
    id = j;
  }
}

// TokenSampler.ArgMax: id 0 first, then any strictly larger value; a NaN never replaces (and a NaN at id 0 stays).
__device__ int argmax_row(const float* x, int V, Shared& sh) {
  if (isnan(x[0])) return 0;
  float v = -INFINITY;
  int id = INT_MAX;
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    const float w = x[i];
    if (!isnan(w)) take_better(v, id, w, i);
  }
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_down_sync(0xffffffffu, v, o);
    const int j = __shfl_down_sync(0xffffffffu, id, o);
    take_better(v, id, w, j);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = (blockDim.x + 31) >> 5;
  __syncthreads();
  if (lane == 0) {
    sh.f[warp] = v;
    sh.i[warp] = id;
  }
  __syncthreads();
  if (warp == 0) {
    v = lane < n_warps ? sh.f[lane] : -INFINITY;
    id = lane < n_warps ? sh.i[lane] : INT_MAX;
    for (int o = 16; o > 0; o >>= 1) {
      const float w = __shfl_down_sync(0xffffffffu, v, o);
      const int j = __shfl_down_sync(0xffffffffu, id, o);
      take_better(v, id, w, j);
    }
    if (lane == 0) sh.i[0] = id;
  }
  __syncthreads();
  return sh.i[0];
}

__device__ __forceinline__ unsigned ordered_bits(float f) {
  const unsigned u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// The order of a sampled row: key(i) > key(j) iff scaled_i > scaled_j, or equal and i < j (C#'s CompareTo: NaN
// lowest, -0 == +0).
struct Order {
  const float* x;
  float t;
  int V, idbits;
  __device__ float scaled(int i) const { return __fdiv_rn(x[i], t); }
  __device__ unsigned long long key(int i) const {
    float s = scaled(i);
    unsigned u = 0;
    if (!isnan(s)) {
      if (s == 0.0f) s = 0.0f;
      u = ordered_bits(s);
    }
    return ((unsigned long long)u << idbits) | (unsigned long long)(V - 1 - i);
  }
  __device__ int id(unsigned long long k) const { return V - 1 - (int)(k & ((1ull << idbits) - 1)); }
};

__device__ int count_ge(const Order& o, unsigned long long K, Shared& sh) {
  int c = 0;
  for (int i = threadIdx.x; i < o.V; i += blockDim.x) c += o.key(i) >= K ? 1 : 0;
  return block_sum(c, sh.i);
}

// Sum of exp(scaled - max) / div over the ids with key >= K (div 1: the plain sum).
__device__ double mass_ge(const Order& o, unsigned long long K, double max, double div, Shared& sh) {
  double s = 0.0;
  for (int i = threadIdx.x; i < o.V; i += blockDim.x)
    if (o.key(i) >= K) s += exp((double)o.scaled(i) - max) / div;
  return block_sum(s, sh.d);
}

// The largest K in [lo, hi] with pred(K), given pred(lo) (pred non-increasing in K).
template <typename Pred>
__device__ unsigned long long largest_key(unsigned long long lo, unsigned long long hi, Pred pred) {
  while (lo < hi) {
    const unsigned long long mid = lo + (hi - lo + 1) / 2;
    if (pred(mid))
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

// TokenSampler's sampled branch with the uniform u (see the header for the searches).
__device__ int draw_row(const float* x, int V, const SampleParams& p, double u, Shared& sh) {
  int idbits = 1;
  while (idbits < 31 && (1 << idbits) <= V - 1) ++idbits;
  const Order o{x, p.temperature, V, idbits};
  unsigned long long hi = 0, nlo = 0;
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    const unsigned long long k = o.key(i);
    hi = k > hi ? k : hi;
    nlo = ~k > nlo ? ~k : nlo;
  }
  hi = block_max(hi, sh.k, 0ull);
  const unsigned long long lo = ~block_max(nlo, sh.k, 0ull);
  unsigned long long kept = lo;  // the smallest kept key
  if (p.top_k > 0 && p.top_k < V)
    kept = largest_key(lo, hi, [&](unsigned long long K) { return count_ge(o, K, sh) >= p.top_k; });
  const double max = (double)o.scaled(o.id(hi));
  double sum = mass_ge(o, kept, max, 1.0, sh);
  if (isnan(sum)) return o.id(kept);  // max not finite or a NaN kept: the CPU's comparisons all fail
  if (p.top_p < 1.0f) {
    const double top_p = p.top_p;
    if (mass_ge(o, kept, max, sum, sh) >= top_p)
      kept = largest_key(kept, hi, [&](unsigned long long K) { return mass_ge(o, K, max, sum, sh) >= top_p; });
    sum = mass_ge(o, kept, max, 1.0, sh);
  }
  const double target = u * sum;
  if (!(sum > target)) return o.id(kept);
  return o.id(largest_key(kept, hi, [&](unsigned long long K) { return mass_ge(o, K, max, 1.0, sh) > target; }));
}

// TokenSampler.LogProbability: float max (NaN skipped), float differences, double exp sum and logarithm.
__device__ float log_probability(const float* x, int V, int id, Shared& sh) {
  float m = -INFINITY;
  for (int i = threadIdx.x; i < V; i += blockDim.x)
    if (x[i] > m) m = x[i];
  m = block_max(m, sh.f, -INFINITY);
  double s = 0.0;
  for (int i = threadIdx.x; i < V; i += blockDim.x) s += exp((double)__fsub_rn(x[i], m));
  s = block_sum(s, sh.d);
  return (float)((double)__fsub_rn(x[id], m) - log(s));
}

__global__ void __launch_bounds__(kSampleBlock)
    sample_tokens_kernel(int32_t* ids, float* logprobs, float* logits, const double* uniforms, const int32_t* forced,
                         const int32_t* ban_offsets, const int32_t* ban_ids, int V, SampleParams p) {
  __shared__ Shared sh;
  const int64_t r = blockIdx.x;
  float* x = logits + r * V;
  if (ban_offsets) {
    // Duplicate ids write the same value: no race on the result.
    for (int64_t j = ban_offsets[r] + threadIdx.x; j < ban_offsets[r + 1]; j += blockDim.x) x[ban_ids[j]] = -INFINITY;
    __syncthreads();  // the block's global writes are visible to the block after the barrier
  }
  const int f = forced ? forced[r] : -1;
  const int id = f >= 0 ? f : !p.do_sample ? argmax_row(x, V, sh) : draw_row(x, V, p, uniforms[r], sh);
  const float lp = logprobs ? log_probability(x, V, id, sh) : 0.0f;
  if (threadIdx.x == 0) {
    ids[r] = id;
    if (logprobs) logprobs[r] = lp;
  }
}

}  // namespace

void sample_tokens(int32_t* ids, float* logprobs, float* logits, const double* uniforms, const int32_t* forced,
                   const int32_t* ban_offsets, const int32_t* ban_ids, int N, int V, SampleParams p,
                   const Workspace& ws, cudaStream_t stream) {
  (void)ws;  // no scratch: searches instead of a sort
  if (N <= 0) return;
  sample_tokens_kernel<<<N, kSampleBlock, 0, stream>>>(ids, logprobs, logits, uniforms, forced, ban_offsets, ban_ids,
                                                       V, p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace inq
