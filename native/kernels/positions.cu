#include "positions.cuh"

namespace inq {
namespace cuda {

namespace {

__global__ void sinusoidal_positions_kernel(float* out, const int32_t* pos, int N, int C) {
  INQ_GRID_STRIDE(i, (int64_t)N * C) {
    const int64_t n = i / C;
    const int c = (int)(i - n * C);
    const int half = (C + 1) / 2;
    const int j = c < half ? 2 * c : 2 * (c - half) + 1;
    const double angle = (double)pos[n] / pow(10000.0, 2.0 * (double)(j / 2) / (double)C);
    out[i] = (float)(c < half ? sin(angle) : cos(angle));
  }
}

// fairseq's float32 steps: emb rounded to float, frequency expf(i * -emb), angle pos * frequency rounded to float,
// then sin / cos of that float (in double, rounded once); an odd C gets a zero last column.
__global__ void sinusoidal_positions_fairseq_kernel(float* out, const int32_t* pos, int N, int C) {
  INQ_GRID_STRIDE(k, (int64_t)N * C) {
    const int64_t n = k / C;
    const int c = (int)(k - n * C);
    const int half = C / 2;
    if (c >= 2 * half) {
      out[k] = 0.0f;
      continue;
    }
    const float emb = (float)(log(10000.0) / (double)(half - 1));
    const int i = c < half ? c : c - half;
    // The double exponential rounded to float: the host's expf is within rounding of correctly rounded, CUDA's expf
    // may be off by another ulp, which a large position multiplies.
    const float freq = (float)exp((double)((float)i * -emb));
    const float arg = __fmul_rn((float)pos[n], freq);
    out[k] = (float)(c < half ? sin((double)arg) : cos((double)arg));
  }
}

// Hugging Face's _relative_position_bucket (see cpu/positions.cpp). The logarithm is the double one rounded to float:
// the host's logf is within rounding of correctly rounded, CUDA's logf may be off by one ulp more, and a bucket
// boundary can hinge on that ulp.
__device__ int relative_bucket(int rp, int bidirectional, int num_buckets, int max_distance) {
  int ret = 0, n = num_buckets;
  if (bidirectional) {
    n /= 2;
    if (rp > 0) ret += n;
    rp = abs(rp);
  } else {
    rp = rp < 0 ? -rp : 0;
  }
  const int max_exact = n / 2;
  if (rp < max_exact) return ret + rp;
  const float l = (float)log((double)__fdiv_rn((float)rp, (float)max_exact));
  const float ratio = __fmul_rn(__fdiv_rn(l, (float)log((double)max_distance / (double)max_exact)),
                                (float)(n - max_exact));
  const int large = max_exact + (ratio < (float)n ? (int)ratio : n);
  return ret + min(large, n - 1);
}

__global__ void relative_position_bias_kernel(float* out, const float* table, int H, int Tq, int Tk, int q_offset,
                                              int bidirectional, int num_buckets, int max_distance) {
  INQ_GRID_STRIDE(k, (int64_t)H * Tq * Tk) {
    const int j = (int)(k % Tk);
    const int i = (int)((k / Tk) % Tq);
    const int h = (int)(k / ((int64_t)Tk * Tq));
    const int bucket = relative_bucket(j - (i + q_offset), bidirectional, num_buckets, max_distance);
    out[k] = table[(int64_t)bucket * H + h];
  }
}

}  // namespace

void sinusoidal_positions(float* out, const int32_t* pos, int N, int C, int layout, cudaStream_t stream) {
  if (N <= 0) return;
  if (layout == 1)
    sinusoidal_positions_fairseq_kernel<<<grid_for((int64_t)N * C), kBlock, 0, stream>>>(out, pos, N, C);
  else
    sinusoidal_positions_kernel<<<grid_for((int64_t)N * C), kBlock, 0, stream>>>(out, pos, N, C);
  CUDA_CHECK_LAUNCH();
}

void relative_position_bias(float* out, const float* table, int H, int Tq, int Tk, int q_offset, int bidirectional,
                            int num_buckets, int max_distance, cudaStream_t stream) {
  const int64_t n = (int64_t)H * Tq * Tk;
  if (n <= 0) return;
  relative_position_bias_kernel<<<grid_for(n), kBlock, 0, stream>>>(out, table, H, Tq, Tk, q_offset, bidirectional,
                                                                    num_buckets, max_distance);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace inq
