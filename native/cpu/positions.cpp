// Position inputs of the encoder-decoder families: sinusoidal rows (Marian, fairseq / M2M100) and T5's relative
// position bias.
#include <cmath>
#include <cstdlib>

#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

namespace {

// Hugging Face's _relative_position_bucket for one relative position (key - query). The large-distance branch is
// float32 arithmetic as torch runs it (Python scalars become float32 operands), truncated toward zero.
inline int relative_bucket(int rp, int bidirectional, int num_buckets, int max_distance) {
  int ret = 0, n = num_buckets;
  if (bidirectional) {
    n /= 2;
    if (rp > 0) ret += n;
    rp = std::abs(rp);
  } else {
    rp = rp < 0 ? -rp : 0;
  }
  const int max_exact = n / 2;
  if (rp < max_exact) return ret + rp;
  const float ratio = std::log((float)rp / (float)max_exact) /
                      (float)std::log((double)max_distance / (double)max_exact) * (float)(n - max_exact);
  const int large = max_exact + (ratio < (float)n ? (int)ratio : n);  // the clamp below; no overflowing cast
  return ret + (large < n - 1 ? large : n - 1);
}

}  // namespace

void sinusoidal_positions(float* out, const int32_t* pos, int N, int C, int layout) {
  if (layout == 1) {
    // fairseq's get_embedding in torch float32: emb = log(10000) / (half - 1) rounded to float, frequency
    // exp(i * -emb), angle pos * frequency rounded to float; sin | cos, zero last column for an odd C.
    const int half = C / 2;
    const float emb = (float)(std::log(10000.0) / (double)(half - 1));
#pragma omp parallel for schedule(static) num_threads(num_threads())
    for (int n = 0; n < N; ++n) {
      float* o = out + (int64_t)n * C;
      const float p = (float)pos[n];
      for (int i = 0; i < half; ++i) {
        const float arg = p * std::exp((float)i * -emb);
        o[i] = (float)std::sin((double)arg);
        o[half + i] = (float)std::cos((double)arg);
      }
      if (C % 2 == 1) o[C - 1] = 0.0f;
    }
    return;
  }
  // Marian: for d = C/2, row(pos)[j] = sin(pos / 10000^(2j/C)), row(pos)[d + j] = cos(same), computed in double and
  // rounded once like Hugging Face's numpy float64 table. An odd C (Hugging Face: sin for the first ceil(C/2)
  // columns) is handled the same way.
  const int half = (C + 1) / 2;  // sin columns (Hugging Face's "sentinel")
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int n = 0; n < N; ++n) {
    float* o = out + (int64_t)n * C;
    const double p = (double)pos[n];
    for (int c = 0; c < C; ++c) {
      // Column c of Hugging Face's position_enc uses exponent 2*(c/2)/C; sin takes the even columns, cos the odd.
      const int j = c < half ? 2 * c : 2 * (c - half) + 1;
      const double angle = p / std::pow(10000.0, 2.0 * (double)(j / 2) / (double)C);
      o[c] = (float)(c < half ? std::sin(angle) : std::cos(angle));
    }
  }
}

void relative_position_bias(float* out, const float* table, int H, int Tq, int Tk, int q_offset, int bidirectional,
                            int num_buckets, int max_distance) {
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int i = 0; i < Tq; ++i)
    for (int j = 0; j < Tk; ++j) {
      const float* row = table + (int64_t)relative_bucket(j - (i + q_offset), bidirectional, num_buckets,
                                                          max_distance) * H;
      for (int h = 0; h < H; ++h) out[((int64_t)h * Tq + i) * Tk + j] = row[h];
    }
}

}  // namespace cpu
}  // namespace inq
