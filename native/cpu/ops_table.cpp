#include "cpu.h"

namespace inq {

const Ops& cpu_ops() {
  static const Ops ops = {
      "cpu",
      cpu::matmul_workspace_floats(),
      cpu::step_fn_workspace_floats,
      cpu::embedding_forward,
      cpu::layernorm_forward,
      cpu::layernorm_backward,
      cpu::rmsnorm_forward,
      cpu::rmsnorm_backward,
      cpu::rope_forward,
      cpu::rope_backward,
      cpu::matmul_forward,
      cpu::matmul_backward_input,
      cpu::activation_forward,
      cpu::activation_backward,
      cpu::gated_act_forward,
      cpu::gated_act_backward,
      cpu::residual_forward,
      cpu::attention_forward,
      cpu::attention_backward,
      cpu::kv_cache_write,
      cpu::attention_decode,
      cpu::cotangent_scatter,
      cpu::step_fn_scores,
      cpu::step_fn_dlogits,
      cpu::cross_attention_forward,
      cpu::cross_attention_backward,
      cpu::sinusoidal_positions,
      cpu::relative_position_bias,
      cpu::scale_add_forward,
      cpu::sample_tokens,
      // ABI 6: granular gradient accumulation.
      cpu::grad_accumulate,
      cpu::grad_reduce,
  };
  return ops;
}

}  // namespace inq

namespace inq {
const char* cpu_gemm_kernel_name() { return cpu::matmul_kernel_name(); }
}  // namespace inq
