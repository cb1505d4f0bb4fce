// The activations of inq_activation and their derivatives, shared by the plain activation ops (gelu.cpp) and the
// gated ones (gated_act.cpp) so both use one formula per kind.
#pragma once

#include <cmath>

#include "inseq_native.h"

namespace inq {
namespace cpu {

constexpr float kSqrt2OverPi = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;  // 1 / sqrt(2 pi)

inline float act(float x, int kind) {
  switch (kind) {
    case INQ_ACT_GELU_TANH: {
      const float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.0f + std::tanh(u));
    }
    case INQ_ACT_GELU_ERF:
      return 0.5f * x * (1.0f + std::erf(x * kInvSqrt2));
    case INQ_ACT_RELU:
      return x > 0.0f ? x : 0.0f;
    default:  // INQ_ACT_SILU
      return x / (1.0f + std::exp(-x));
  }
}

inline float act_grad(float x, int kind) {
  switch (kind) {
    case INQ_ACT_GELU_TANH: {
      const float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
      const float t = std::tanh(u);
      const float du = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * x * x);
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
    }
    case INQ_ACT_GELU_ERF:
      return 0.5f * (1.0f + std::erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * std::exp(-0.5f * x * x);
    case INQ_ACT_RELU:
      return x > 0.0f ? 1.0f : 0.0f;
    default: {  // INQ_ACT_SILU
      const float s = 1.0f / (1.0f + std::exp(-x));
      return s * (1.0f + x * (1.0f - s));
    }
  }
}

}  // namespace cpu
}  // namespace inq
