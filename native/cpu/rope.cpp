// Rotary position embeddings in Hugging Face's rotate_half layout: within a head of hd columns, column i and
// column i + hd/2 form a pair turned by the angle p * inv_freq[i], inv_freq[i] = 1 / theta^(2i / hd).
// The angles follow transformers' fp32 arithmetic (inv_freq in fp32, angle = fp32(p) * inv_freq); cos and sin are
// the correctly rounded values of that angle. A caller's inv_freq table (rope_scaling: linear, llama3) replaces the
// theta-based frequencies; the angle is the same fp32 product.
#include <cmath>
#include <cstring>

#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

namespace {

constexpr int kMaxHalf = 512;  // head_dim up to 1024 (validated with the model config)

void angles(float* cs, float* sn, int p, const float* inv_freq, int half, int hd, float theta) {
  for (int i = 0; i < half; ++i) {
    const float e = (float)(2 * i) / (float)hd;
    const float inv = inv_freq ? inv_freq[i] : 1.0f / (float)std::pow((double)theta, (double)e);
    const double a = (double)((float)p * inv);
    cs[i] = (float)std::cos(a);
    sn[i] = (float)std::sin(a);
  }
}

// sign +1: forward rotation; -1: its transpose (the backward).
inline void rotate_row(float* o, const float* x, const float* cs, const float* sn, int W, int n_heads, int hd,
                       float sign) {
  const int half = hd / 2;
  for (int h = 0; h < n_heads; ++h) {
    const float* a = x + (int64_t)h * hd;
    float* y = o + (int64_t)h * hd;
    for (int i = 0; i < half; ++i) {
      const float x1 = a[i], x2 = a[i + half], c = cs[i], s = sign * sn[i];
      y[i] = x1 * c - x2 * s;
      y[i + half] = x2 * c + x1 * s;
    }
  }
  if (o != x)
    std::memcpy(o + (int64_t)n_heads * hd, x + (int64_t)n_heads * hd, sizeof(float) * (W - (int64_t)n_heads * hd));
}

}  // namespace

void rope_forward(float* out, const float* x, const int32_t* pos, const float* inv_freq, int N, int W, int n_heads,
                  int hd, float theta) {
  const int half = hd / 2;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int n = 0; n < N; ++n) {
    float cs[kMaxHalf], sn[kMaxHalf];
    angles(cs, sn, pos[n], inv_freq, half, hd, theta);
    rotate_row(out + (int64_t)n * W, x + (int64_t)n * W, cs, sn, W, n_heads, hd, 1.0f);
  }
}

void rope_backward(float* dx, const float* dy, const int32_t* pos, const float* inv_freq, RowMap map, int W,
                   int n_heads, int hd, float theta) {
  const int half = hd / 2;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t n = 0; n < map.rows; ++n) {
    float cs[kMaxHalf], sn[kMaxHalf];
    angles(cs, sn, pos[map.saved_row(n)], inv_freq, half, hd, theta);
    rotate_row(dx + n * W, dy + n * W, cs, sn, W, n_heads, hd, -1.0f);
  }
}

}  // namespace cpu
}  // namespace inq
