#include "attention.cuh"

#include <cmath>

namespace inq {
namespace cuda {

namespace {

constexpr int kAttBlock = 128;  // threads per query row (forward, decode) and per row of the backward
constexpr int kMaxAcc = 8;      // head_dim up to kMaxAcc * kAttBlock = 1024 (the CPU's limit too)

__device__ __forceinline__ float dot(const float* a, const float* b, int n) {
  float s = 0.0f;
  for (int d = 0; d < n; ++d) s = fmaf(a[d], b[d], s);
  return s;
}

// First key a query at index i may see: keys i - j >= window fall outside a sliding window (window 0: none).
__device__ __forceinline__ int window_start(int i, int window) {
  return window > 0 && i >= window ? i - window + 1 : 0;
}

// One query (q, in shared memory) against keys 0..n-1 (key j at k + j*stride, value at v + j*stride), key j visible
// iff j >= first and visible[j] != 0 (visible NULL: all). Writes probabilities p[0..n) (exactly 0 where masked) and
// out[0..hd); no visible key: zero probabilities and zero output. The whole block calls it. partial: kAttBlock floats
// of shared memory; red: 32 floats of shared memory.
__device__ void attend_row(float* out, float* p, const float* q, const float* k, const float* v, int64_t stride,
                           const int32_t* visible, int first, int n, int hd, float scale, float* partial, float* red) {
  const int tid = threadIdx.x;
  float mx = -INFINITY, cnt = 0.0f;
  for (int j = tid; j < n; j += blockDim.x) {
    if (j < first || (visible && !visible[j])) {
      p[j] = 0.0f;
      continue;
    }
    const float s = dot(q, k + j * stride, hd) * scale;
    p[j] = s;
    mx = fmaxf(mx, s);
    cnt += 1.0f;
  }
  mx = block_max(mx, red, -INFINITY);
  cnt = block_sum(cnt, red);
  if (cnt == 0.0f) {
    for (int d = tid; d < hd; d += blockDim.x) out[d] = 0.0f;
    return;
  }
  float sum = 0.0f;
  for (int j = tid; j < n; j += blockDim.x) {
    if (j < first || (visible && !visible[j])) continue;
    const float e = expf(p[j] - mx);
    p[j] = e;
    sum += e;
  }
  sum = block_sum(sum, red);
  for (int j = tid; j < n; j += blockDim.x) {
    if (j < first || (visible && !visible[j])) continue;
    p[j] = p[j] / sum;
  }
  __syncthreads();  // p complete for every thread of the block
  // out[d] = sum_j p[j] v[j, d]: G groups of hd threads take every G-th key, then the groups are added in order.
  const int G = hd <= (int)blockDim.x ? (int)blockDim.x / hd : 1;
  if (G > 1) {
    const int g = tid / hd, d = tid - g * hd;
    if (g < G) {
      float acc = 0.0f;
      for (int j = g; j < n; j += G) {
        if (j < first || (visible && !visible[j])) continue;
        acc = fmaf(p[j], v[j * stride + d], acc);
      }
      partial[g * hd + d] = acc;
    }
    __syncthreads();
    if (tid < hd) {
      float acc = partial[tid];
      for (int gg = 1; gg < G; ++gg) acc += partial[gg * hd + tid];
      out[tid] = acc;
    }
  } else {
    for (int d = tid; d < hd; d += blockDim.x) {
      float acc = 0.0f;
      for (int j = first; j < n; ++j) {
        if (visible && !visible[j]) continue;
        acc = fmaf(p[j], v[j * stride + d], acc);
      }
      out[d] = acc;
    }
  }
}

// Block (i, h, b): query i of head h of row b.
__global__ void attention_forward_kernel(float* out, float* att, const float* qkv, const int32_t* mask, int T, int C,
                                         int H, int KVH, int window, float scale) {
  extern __shared__ float qs[];  // hd floats
  __shared__ float partial[kAttBlock];
  __shared__ float red[32];
  const int i = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int hd = C / H, group = H / KVH;
  const int64_t KVC = (int64_t)KVH * hd, W = C + 2 * KVC;
  const float* base = qkv + (int64_t)b * T * W;
  const int64_t kv = (int64_t)(h / group) * hd;
  for (int d = threadIdx.x; d < hd; d += blockDim.x) qs[d] = base[(int64_t)i * W + h * hd + d];
  __syncthreads();
  float* p = att + (((int64_t)b * H + h) * T + i) * T;
  attend_row(out + ((int64_t)b * T + i) * C + h * hd, p, qs, base + C + kv, base + C + KVC + kv, W,
             mask ? mask + (int64_t)b * T : nullptr, window_start(i, window), i + 1, hd, scale, partial, red);
  for (int j = i + 1 + threadIdx.x; j < T; j += blockDim.x) p[j] = 0.0f;
}

// Block (b, h): the new query of row b against n_keys cached keys.
__global__ void attention_decode_kernel(float* out, float* att, const float* qkv, const float* kcache,
                                        const float* vcache, const int32_t* mask, int n_keys, int S, int C, int H,
                                        int KVH, int window, float scale) {
  extern __shared__ float qs[];
  __shared__ float partial[kAttBlock];
  __shared__ float red[32];
  const int h = blockIdx.x, b = blockIdx.y;
  const int hd = C / H, group = H / KVH;
  const int64_t KVC = (int64_t)KVH * hd, W = C + 2 * KVC;
  const int64_t kv = (int64_t)(h / group) * hd;
  for (int d = threadIdx.x; d < hd; d += blockDim.x) qs[d] = qkv[(int64_t)b * W + h * hd + d];
  __syncthreads();
  attend_row(out + (int64_t)b * C + h * hd, att + ((int64_t)b * H + h) * n_keys, qs, kcache + (int64_t)b * S * KVC + kv,
             vcache + (int64_t)b * S * KVC + kv, KVC, mask + (int64_t)b * S, window_start(n_keys - 1, window), n_keys,
             hd, scale, partial, red);
}

// ---------------------------------------------------------------- backward
// For cotangent r (forward row b = r / n_cot, T_r = len(r) positions) and query head h:
//   dp_ij = go_i . v_j,  s_i = sum_j p_ij dp_ij,  ds_ij = p_ij (dp_ij - s_i) scale,
//   dq_i = sum_j ds_ij k_j,  dk_j = sum_{h in group} sum_i ds_ij q_i,  dv_j = sum_{h in group} sum_i p_ij go_i.
// Pass 1, block (i, h, r): s_i (kept in scratch [R, H, T_saved]) and dq_i. Pass 2, block (j, g, r): dk_j and dv_j of
// key/value head g, summing its query heads in order, then i in order. Entries with p_ij == 0 (masked or underflowed)
// contribute nothing, as on the CPU.

__global__ void attention_backward_dq_kernel(float* dqkv, float* scratch, const float* dout, const float* qkv,
                                             const float* att, RowMap map, int C, int H, int KVH, float scale) {
  __shared__ float ds_tile[kAttBlock];
  __shared__ float red[32];
  const int i = blockIdx.x, h = blockIdx.y, r = blockIdx.z;
  const int Ts = map.T_saved, T = map.start[r + 1] - map.start[r];
  if (i >= T) return;
  const int b = r / map.n_cot, hd = C / H, group = H / KVH;
  const int64_t KVC = (int64_t)KVH * hd, W = C + 2 * KVC;
  const int64_t ko = C + (int64_t)(h / group) * hd, vo = C + KVC + (int64_t)(h / group) * hd;
  const float* saved = qkv + (int64_t)b * Ts * W;
  const float* p = att + (((int64_t)b * H + h) * Ts + i) * Ts;
  const float* go = dout + ((int64_t)map.start[r] + i) * C + h * hd;
  const int tid = threadIdx.x;

  float s = 0.0f;
  for (int j = tid; j <= i; j += blockDim.x)
    if (p[j] != 0.0f) s = fmaf(p[j], dot(go, saved + (int64_t)j * W + vo, hd), s);
  s = block_sum(s, red);
  if (tid == 0) scratch[((int64_t)r * H + h) * Ts + i] = s;

  float acc[kMaxAcc];
  for (int a = 0; a < kMaxAcc; ++a) acc[a] = 0.0f;
  for (int j0 = 0; j0 <= i; j0 += blockDim.x) {
    const int j = j0 + tid;
    ds_tile[tid] = (j <= i && p[j] != 0.0f) ? p[j] * (dot(go, saved + (int64_t)j * W + vo, hd) - s) * scale : 0.0f;
    __syncthreads();
    const int n = min((int)blockDim.x, i + 1 - j0);
    for (int d = tid, a = 0; d < hd; d += blockDim.x, ++a)
      for (int jj = 0; jj < n; ++jj)
        if (p[j0 + jj] != 0.0f) acc[a] = fmaf(ds_tile[jj], saved[(int64_t)(j0 + jj) * W + ko + d], acc[a]);
    __syncthreads();
  }
  float* dq = dqkv + ((int64_t)map.start[r] + i) * W + h * hd;
  for (int d = tid, a = 0; d < hd; d += blockDim.x, ++a) dq[d] = acc[a];
}

__global__ void attention_backward_dkv_kernel(float* dqkv, const float* scratch, const float* dout, const float* qkv,
                                              const float* att, RowMap map, int C, int H, int KVH, float scale) {
  __shared__ float ds_tile[kAttBlock];
  __shared__ float p_tile[kAttBlock];
  const int j = blockIdx.x, g = blockIdx.y, r = blockIdx.z;
  const int Ts = map.T_saved, T = map.start[r + 1] - map.start[r];
  if (j >= T) return;
  const int b = r / map.n_cot, hd = C / H, group = H / KVH;
  const int64_t KVC = (int64_t)KVH * hd, W = C + 2 * KVC;
  const int64_t ko = C + (int64_t)g * hd, vo = C + KVC + (int64_t)g * hd;
  const float* saved = qkv + (int64_t)b * Ts * W;
  const float* vj = saved + (int64_t)j * W + vo;
  const int64_t st = map.start[r];
  const int tid = threadIdx.x;

  float dk[kMaxAcc], dv[kMaxAcc];
  for (int a = 0; a < kMaxAcc; ++a) dk[a] = dv[a] = 0.0f;
  for (int h = g * group; h < (g + 1) * group; ++h) {
    const float* s_row = scratch + ((int64_t)r * H + h) * Ts;
    for (int i0 = j; i0 < T; i0 += blockDim.x) {
      const int i = i0 + tid;
      float pij = 0.0f, ds = 0.0f;
      if (i < T) {
        pij = att[(((int64_t)b * H + h) * Ts + i) * Ts + j];
        if (pij != 0.0f) ds = pij * (dot(dout + (st + i) * C + h * hd, vj, hd) - s_row[i]) * scale;
      }
      p_tile[tid] = pij;
      ds_tile[tid] = ds;
      __syncthreads();
      const int n = min((int)blockDim.x, T - i0);
      for (int d = tid, a = 0; d < hd; d += blockDim.x, ++a)
        for (int ii = 0; ii < n; ++ii) {
          if (p_tile[ii] == 0.0f) continue;
          const int64_t row = st + i0 + ii;
          dk[a] = fmaf(ds_tile[ii], saved[(int64_t)(i0 + ii) * W + h * hd + d], dk[a]);
          dv[a] = fmaf(p_tile[ii], dout[row * C + h * hd + d], dv[a]);
        }
      __syncthreads();
    }
  }
  float* g_row = dqkv + (st + j) * W;
  for (int d = tid, a = 0; d < hd; d += blockDim.x, ++a) {
    g_row[ko + d] = dk[a];
    g_row[vo + d] = dv[a];
  }
}

__global__ void kv_cache_write_kernel(float* kcache, float* vcache, const float* qkv, int T, int S, int pos0, int C,
                                      int64_t KVC, int64_t n) {
  const int64_t W = C + 2 * KVC;
  INQ_GRID_STRIDE(i, n) {  // i over [B, T, KVC]
    const int64_t c = i % KVC, bt = i / KVC, t = bt % T, b = bt / T;
    const float* src = qkv + bt * W;
    const int64_t dst = (b * S + pos0 + t) * KVC + c;
    kcache[dst] = src[C + c];
    vcache[dst] = src[C + KVC + c];
  }
}

void check_head_dim(int C, int H) {
  INQ_CHECK(C / H <= kMaxAcc * kAttBlock, INQ_ERR_UNSUPPORTED, "CUDA attention supports head_dim up to %d (got %d)",
            kMaxAcc * kAttBlock, C / H);
}

// gridDim.y and gridDim.z are at most 65535: a clear error instead of cudaErrorInvalidConfiguration.
void check_grid_yz(int y, int z, const char* what) {
  INQ_CHECK(y <= 65535 && z <= 65535, INQ_ERR_UNSUPPORTED,
            "CUDA attention: %s (%d x %d) exceeds the 65535 blocks of a grid's y / z dimension", what, y, z);
}

}  // namespace

void attention_forward(float* out, float* att, const float* qkv, const int32_t* mask, int B, int T, int C, int H,
                       int KVH, int window, float scale, cudaStream_t stream) {
  if (B <= 0 || T <= 0 || H <= 0) return;  // an empty grid is a launch error
  check_head_dim(C, H);
  check_grid_yz(H, B, "heads x batch");
  const dim3 grid((unsigned)T, (unsigned)H, (unsigned)B);
  attention_forward_kernel<<<grid, kAttBlock, sizeof(float) * (C / H), stream>>>(out, att, qkv, mask, T, C, H, KVH,
                                                                                 window, scale);
  CUDA_CHECK_LAUNCH();
}

void attention_backward(float* dqkv, float* scratch, const float* dout, const float* qkv, const float* att, RowMap map,
                        int C, int H, int KVH, float scale, cudaStream_t stream) {
  if (map.rows <= 0 || map.R <= 0 || map.T_saved <= 0) return;
  check_head_dim(C, H);
  check_grid_yz(H, map.R, "heads x cotangent rows");
  const dim3 grid_q((unsigned)map.T_saved, (unsigned)H, (unsigned)map.R);
  attention_backward_dq_kernel<<<grid_q, kAttBlock, 0, stream>>>(dqkv, scratch, dout, qkv, att, map, C, H, KVH, scale);
  CUDA_CHECK_LAUNCH();
  const dim3 grid_kv((unsigned)map.T_saved, (unsigned)KVH, (unsigned)map.R);
  attention_backward_dkv_kernel<<<grid_kv, kAttBlock, 0, stream>>>(dqkv, scratch, dout, qkv, att, map, C, H, KVH,
                                                                   scale);
  CUDA_CHECK_LAUNCH();
}

void kv_cache_write(float* kcache, float* vcache, const float* qkv, int B, int T, int S, int pos0, int C, int H,
                    int KVH, cudaStream_t stream) {
  const int64_t KVC = (int64_t)KVH * (C / H), n = (int64_t)B * T * KVC;
  if (n <= 0) return;
  kv_cache_write_kernel<<<grid_for(n), kBlock, 0, stream>>>(kcache, vcache, qkv, T, S, pos0, C, KVC, n);
  CUDA_CHECK_LAUNCH();
}

void attention_decode(float* out, float* att, const float* qkv, const float* kcache, const float* vcache,
                      const int32_t* mask, int B, int n_keys, int S, int C, int H, int KVH, int window,
                      float scale, cudaStream_t stream) {
  if (B <= 0 || H <= 0) return;  // an empty grid is a launch error
  check_head_dim(C, H);
  check_grid_yz(B, 1, "batch");
  const dim3 grid((unsigned)H, (unsigned)B);
  attention_decode_kernel<<<grid, kAttBlock, sizeof(float) * (C / H), stream>>>(out, att, qkv, kcache, vcache, mask,
                                                                                n_keys, S, C, H, KVH, window, scale);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace inq
