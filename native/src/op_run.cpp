// inq_op_run: one op of a backend's ops table on caller buffers, for op tests, backend parity and op benchmarks.
// Argument lists are documented in include/inseq_native.h; counts are checked exactly.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"
#include "ops.h"
#include "step_fn.h"

namespace inq {

namespace {

struct OpSpec {
  const char* name;
  int n_dims, n_inputs, n_outputs, n_scalars;
};

const OpSpec kSpecs[] = {
    {"embedding_forward", 4, 4, 1, 0},   {"layernorm_forward", 2, 3, 3, 1},   {"layernorm_backward", 2, 5, 1, 0},
    {"matmul_forward", 4, 3, 1, 0},      {"matmul_backward_input", 4, 2, 1, 0}, {"gelu_forward", 2, 1, 1, 0},
    {"gelu_backward", 2, 2, 1, 0},       {"residual_forward", 1, 2, 1, 0},    {"attention_forward", 5, 2, 2, 1},
    {"attention_backward", 5, 3, 1, 1},  {"step_fn_scores", 6, 4, 1, 1},     {"step_fn_dlogits", 6, 4, 2, 1},
    {"rmsnorm_forward", 2, 2, 2, 1},     {"rmsnorm_backward", 2, 4, 1, 0},    {"rope_forward", 4, 2, 1, 1},
    {"rope_backward", 4, 2, 1, 1},       {"swiglu_forward", 2, 1, 1, 0},      {"swiglu_backward", 2, 2, 1, 0},
    {"gqa_attention_forward", 6, 2, 2, 1}, {"gqa_attention_backward", 6, 3, 1, 1},
};

// Inputs that may be NULL: matmul_forward's bias (index 2), the attention forwards' mask (index 1) and the step
// functions' contrast logits and contrast targets (indices 1 and 3).
bool optional_input(const std::string& op, int i) {
  return (op == "matmul_forward" && i == 2) || ((op == "attention_forward" || op == "gqa_attention_forward") && i == 1) ||
         ((op == "step_fn_scores" || op == "step_fn_dlogits") && (i == 1 || i == 3));
}

int dim(const int64_t* dims, int i, const char* what) {
  INQ_CHECK(dims[i] > 0 && dims[i] < ((int64_t)1 << 31), INQ_ERR_INVALID_ARGUMENT,
            "dims[%d] (%s) must be in [1, 2^31) (got %lld)", i, what, (long long)dims[i]);
  return (int)dims[i];
}

int flag(const int64_t* dims, int i, const char* what, int lo, int hi) {
  INQ_CHECK(dims[i] >= lo && dims[i] <= hi, INQ_ERR_INVALID_ARGUMENT, "dims[%d] (%s) must be in [%d, %d] (got %lld)",
            i, what, lo, hi, (long long)dims[i]);
  return (int)dims[i];
}

// The identity map of a single-op call: `rows` cotangents of `len` positions each, reading their own saved rows.
struct IdentityMap {
  std::vector<int32_t> start, owner;
  RowMap map;
  IdentityMap(int rows, int len) : start(rows + 1), owner((size_t)rows * len) {
    for (int r = 0; r <= rows; ++r) start[r] = r * len;
    for (size_t n = 0; n < owner.size(); ++n) owner[n] = (int32_t)(n / len);
    map = RowMap{rows, rows * len, 1, len, start.data(), owner.data()};
  }
};

struct OwnedWorkspace {
  std::vector<float> data;
  Workspace ws;
  explicit OwnedWorkspace(const Ops& ops) {
    const int slots = num_threads();
    data.resize((size_t)slots * ops.matmul_workspace_floats + 16);
    // Align to 64 bytes inside the vector: the packed GEMM panels rely on it.
    float* p = data.data();
    while (((uintptr_t)p & 63) != 0) ++p;
    ws = Workspace{p, slots, ops.matmul_workspace_floats};
  }
};

}  // namespace

int32_t run_op(int32_t device, const char* op_name, const int64_t* dims, int32_t n_dims, const void* const* inputs,
               int32_t n_inputs, float* const* outputs, int32_t n_outputs, const float* scalars, int32_t n_scalars) {
  check_cpu_device(device);
  INQ_CHECK_NOT_NULL(op_name);
  const std::string op = op_name;
  const OpSpec* spec = nullptr;
  for (const OpSpec& s : kSpecs)
    if (op == s.name) spec = &s;
  INQ_CHECK(spec != nullptr, INQ_ERR_INVALID_ARGUMENT, "unknown op '%s'", op_name);
  INQ_CHECK(n_dims == spec->n_dims, INQ_ERR_INVALID_ARGUMENT, "op '%s' takes %d dims, got n_dims = %d", op_name,
            spec->n_dims, n_dims);
  INQ_CHECK(n_inputs == spec->n_inputs, INQ_ERR_INVALID_ARGUMENT, "op '%s' takes %d inputs, got n_inputs = %d",
            op_name, spec->n_inputs, n_inputs);
  INQ_CHECK(n_outputs == spec->n_outputs, INQ_ERR_INVALID_ARGUMENT, "op '%s' takes %d outputs, got n_outputs = %d",
            op_name, spec->n_outputs, n_outputs);
  INQ_CHECK(n_scalars == spec->n_scalars, INQ_ERR_INVALID_ARGUMENT, "op '%s' takes %d scalars, got n_scalars = %d",
            op_name, spec->n_scalars, n_scalars);
  INQ_CHECK_NOT_NULL(dims);
  INQ_CHECK_NOT_NULL(inputs);
  INQ_CHECK_NOT_NULL(outputs);
  if (n_scalars > 0) INQ_CHECK_NOT_NULL(scalars);
  for (int i = 0; i < n_inputs; ++i)
    INQ_CHECK(inputs[i] != nullptr || optional_input(op, i), INQ_ERR_NULL_POINTER, "op '%s': inputs[%d] is NULL",
              op_name, i);
  for (int i = 0; i < n_outputs; ++i)
    INQ_CHECK(outputs[i] != nullptr, INQ_ERR_NULL_POINTER, "op '%s': outputs[%d] is NULL", op_name, i);
  for (int i = 0; i < n_scalars; ++i)
    INQ_CHECK(std::isfinite(scalars[i]), INQ_ERR_INVALID_ARGUMENT, "op '%s': scalars[%d] is not finite", op_name, i);

  const Ops& ops = cpu_ops();
  auto in = [&](int i) { return static_cast<const float*>(inputs[i]); };
  auto in_i = [&](int i) { return static_cast<const int32_t*>(inputs[i]); };

  if (op == "embedding_forward") {
    const int N = dim(dims, 0, "N"), C = dim(dims, 1, "C"), V = dim(dims, 2, "V"), P = dim(dims, 3, "P");
    for (int n = 0; n < N; ++n) {
      INQ_CHECK(in_i(0)[n] >= 0 && in_i(0)[n] < V, INQ_ERR_INVALID_ARGUMENT, "ids[%d] = %d outside [0, %d)", n,
                in_i(0)[n], V);
      INQ_CHECK(in_i(1)[n] >= 0 && in_i(1)[n] < P, INQ_ERR_INVALID_ARGUMENT, "pos[%d] = %d outside [0, %d)", n,
                in_i(1)[n], P);
    }
    ops.embedding_forward(outputs[0], in_i(0), nullptr, in_i(1), in(2), in(3), N, C, V, P);
  } else if (op == "layernorm_forward") {
    const int N = dim(dims, 0, "N"), C = dim(dims, 1, "C");
    INQ_CHECK(scalars[0] > 0.0f, INQ_ERR_INVALID_ARGUMENT, "eps must be > 0 (got %g)", (double)scalars[0]);
    ops.layernorm_forward(outputs[0], outputs[1], outputs[2], in(0), in(1), in(2), N, C, scalars[0]);
  } else if (op == "layernorm_backward") {
    const int N = dim(dims, 0, "N"), C = dim(dims, 1, "C");
    ops.layernorm_backward(outputs[0], in(0), in(1), in(2), in(3), in(4), IdentityMap(N, 1).map, C);
  } else if (op == "matmul_forward" || op == "matmul_backward_input") {
    const int N = dim(dims, 0, "N"), K = dim(dims, 1, "K"), M = dim(dims, 2, "M");
    const int transB = flag(dims, 3, "transB", 0, 1);
    OwnedWorkspace w(ops);
    if (op == "matmul_forward")
      ops.matmul_forward(outputs[0], in(0), in(1), in(2), N, K, M, transB, w.ws);
    else
      ops.matmul_backward_input(outputs[0], in(0), in(1), N, K, M, transB, w.ws);
  } else if (op == "gelu_forward" || op == "gelu_backward") {
    const int N = dim(dims, 0, "N");
    const int kind = flag(dims, 1, "kind", INQ_ACT_GELU_TANH, INQ_ACT_SILU);
    if (op == "gelu_forward")
      ops.activation_forward(outputs[0], in(0), N, kind);
    else
      ops.activation_backward(outputs[0], in(0), in(1), IdentityMap(N, 1).map, 1, kind);
  } else if (op == "residual_forward") {
    ops.residual_forward(outputs[0], in(0), in(1), dim(dims, 0, "N"));
  } else if (op == "step_fn_scores" || op == "step_fn_dlogits") {
    const int R = dim(dims, 0, "R"), V = dim(dims, 1, "V");
    inq_step_fn_args a{(int32_t)sizeof(inq_step_fn_args), 0, 0, 0, scalars[0], 0};
    a.fn = flag(dims, 2, "fn", INQ_STEP_LOGIT, INQ_STEP_TOP_P_SIZE);
    a.logprob = flag(dims, 3, "logprob", 0, 1);
    a.top_k = flag(dims, 4, "top_k", 0, V);
    a.min_tokens_to_keep = flag(dims, 5, "min_tokens_to_keep", 0, V);
    const bool dl = op == "step_fn_dlogits";
    const StepFnParams p = step_fn_params(&a, dl, inputs[1] == nullptr);
    check_step_ids(in_i(2), R, V, "targets");
    if (inputs[3]) check_step_ids(in_i(3), R, V, "contrast_targets");
    const int slots = num_threads();
    const size_t per = ops.step_fn_workspace_floats(V);
    std::vector<float> buf((size_t)slots * per + 16);
    float* w = buf.data();
    while (((uintptr_t)w & 63) != 0) ++w;
    const Workspace ws{w, slots, per};
    if (dl)
      ops.step_fn_dlogits(outputs[0], outputs[1], in(0), in(1), in_i(2), in_i(3), R, V, p, ws);
    else
      ops.step_fn_scores(outputs[0], in(0), in(1), in_i(2), in_i(3), R, V, p, ws);
  } else if (op == "rmsnorm_forward") {
    const int N = dim(dims, 0, "N"), C = dim(dims, 1, "C");
    INQ_CHECK(scalars[0] > 0.0f, INQ_ERR_INVALID_ARGUMENT, "eps must be > 0 (got %g)", (double)scalars[0]);
    ops.rmsnorm_forward(outputs[0], outputs[1], in(0), in(1), N, C, scalars[0]);
  } else if (op == "rmsnorm_backward") {
    const int N = dim(dims, 0, "N"), C = dim(dims, 1, "C");
    ops.rmsnorm_backward(outputs[0], in(0), in(1), in(2), in(3), IdentityMap(N, 1).map, C);
  } else if (op == "rope_forward" || op == "rope_backward") {
    const int N = dim(dims, 0, "N"), W = dim(dims, 1, "W"), n_heads = dim(dims, 2, "n_heads"), hd = dim(dims, 3, "hd");
    INQ_CHECK(hd % 2 == 0 && hd <= 1024, INQ_ERR_INVALID_ARGUMENT, "hd %d must be even and <= 1024", hd);
    INQ_CHECK((int64_t)n_heads * hd <= W, INQ_ERR_SHAPE, "n_heads * hd = %lld exceeds the row width W %d",
              (long long)n_heads * hd, W);
    INQ_CHECK(scalars[0] > 0.0f, INQ_ERR_INVALID_ARGUMENT, "theta must be > 0 (got %g)", (double)scalars[0]);
    for (int n = 0; n < N; ++n)
      INQ_CHECK(in_i(1)[n] >= 0, INQ_ERR_INVALID_ARGUMENT, "pos[%d] = %d is negative", n, in_i(1)[n]);
    if (op == "rope_forward")
      ops.rope_forward(outputs[0], in(0), in_i(1), N, W, n_heads, hd, scalars[0]);
    else
      ops.rope_backward(outputs[0], in(0), in_i(1), IdentityMap(N, 1).map, W, n_heads, hd, scalars[0]);
  } else if (op == "swiglu_forward") {
    ops.swiglu_forward(outputs[0], in(0), dim(dims, 0, "N"), dim(dims, 1, "I"));
  } else if (op == "swiglu_backward") {
    const int N = dim(dims, 0, "N"), I = dim(dims, 1, "I");
    ops.swiglu_backward(outputs[0], in(0), in(1), IdentityMap(N, 1).map, I);
  } else {  // [gqa_]attention_forward / [gqa_]attention_backward
    const bool gqa = op.rfind("gqa_", 0) == 0;
    const int B = dim(dims, 0, "B"), T = dim(dims, 1, "T"), C = dim(dims, 2, "C"), H = dim(dims, 3, "H");
    const int KVH = gqa ? dim(dims, 4, "KVH") : H;
    const int scaled = flag(dims, gqa ? 5 : 4, "scaled", 0, 1);
    INQ_CHECK(C % H == 0, INQ_ERR_SHAPE, "H (%d) must divide C (%d)", H, C);
    INQ_CHECK(H % KVH == 0, INQ_ERR_SHAPE, "KVH (%d) must divide H (%d)", KVH, H);
    const float scale = (scaled ? 1.0f / std::sqrt((float)(C / H)) : 1.0f) * scalars[0];
    if (op == "attention_forward" || op == "gqa_attention_forward") {
      const int32_t* mask = in_i(1);
      if (mask)
        for (int64_t i = 0; i < (int64_t)B * T; ++i)
          INQ_CHECK(mask[i] == 0 || mask[i] == 1, INQ_ERR_INVALID_ARGUMENT, "mask[%lld] = %d is not 0 or 1",
                    (long long)i, mask[i]);
      ops.attention_forward(outputs[0], outputs[1], in(0), mask, B, T, C, H, KVH, scale);
    } else {
      std::vector<float> scratch((size_t)B * H * T);
      ops.attention_backward(outputs[0], scratch.data(), in(0), in(1), in(2), IdentityMap(B, T).map, C, H, KVH,
                             scale);
    }
  }
  return INQ_OK;
}

std::string build_info() {
  std::string s = "inseq_native abi " + std::to_string(INQ_ABI_VERSION) + "; backends: cpu";
#ifdef INSEQ_NATIVE_HAVE_CUDA
  s += ", cuda";
#endif
  s += "; compiler: ";
#if defined(__clang__)
  s += "clang " __clang_version__;
#elif defined(__GNUC__)
  s += "gcc " __VERSION__;
#else
  s += "unknown";
#endif
#ifdef _OPENMP
  s += "; openmp " + std::to_string(_OPENMP);
#else
  s += "; openmp: no";
#endif
  s += "; threads " + std::to_string(num_threads());
  s += std::string("; cpu gemm kernel: ") + cpu_gemm_kernel_name();
#ifdef INSEQ_NATIVE_ARCH_FLAGS
  s += "; arch flags: " INSEQ_NATIVE_ARCH_FLAGS;
#else
  s += "; arch flags: portable";
#endif
  s += "; cuda: not built (no CUDA sources yet)";
  return s;
}

}  // namespace inq
