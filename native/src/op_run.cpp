// inq_op_run: one op of a backend's ops table on caller buffers, for op tests, backend parity and op benchmarks.
// Argument lists are documented in include/inseq_native.h; counts are checked exactly.
#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "device.h"
#include "ops.h"
#include "sampling.h"
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
    {"rmsnorm_forward", 2, 2, 2, 1},     {"rmsnorm_backward", 2, 4, 1, 0},    {"rope_forward", 4, 3, 1, 1},
    {"rope_backward", 4, 3, 1, 1},       {"gated_act_forward", 3, 1, 1, 0},   {"gated_act_backward", 3, 2, 1, 0},
    {"gqa_attention_forward", 6, 2, 2, 1}, {"gqa_attention_backward", 6, 3, 1, 1},
    {"cross_attention_forward", 7, 4, 2, 1}, {"cross_attention_backward", 7, 4, 2, 1},
    {"sinusoidal_positions", 3, 1, 1, 0}, {"scale_add_forward", 1, 2, 1, 1},
    {"relative_position_bias", 7, 1, 1, 0}, {"window_attention_forward", 7, 2, 2, 1},
    {"attention_decode", 8, 4, 2, 1},    {"sample_tokens", 4, 5, 2, 2},
    // ABI 6: granular gradient accumulation.
    {"grad_accumulate", 6, 5, 1, 0},     {"grad_reduce", 3, 2, 2, 0},
};

// Inputs that may be NULL: matmul_forward's bias (index 2), the attention forwards' mask (index 1; cross_attention:
// 2), cross_attention_forward's score bias (index 3), the step functions' contrast logits and contrast targets
// (indices 1 and 3), the rope ops' inv_freq table (index 2) and sample_tokens' uniforms, forced ids and bans
// (indices 1 to 4).
bool optional_input(const std::string& op, int i) {
  return (op == "sample_tokens" && i >= 1) ||
         (op == "matmul_forward" && i == 2) || ((op == "rope_forward" || op == "rope_backward") && i == 2) || (op == "cross_attention_forward" && (i == 2 || i == 3)) ||
         ((op == "attention_forward" || op == "gqa_attention_forward" || op == "window_attention_forward") &&
          i == 1) ||
         ((op == "step_fn_scores" || op == "step_fn_dlogits") && (i == 1 || i == 3)) ||
         (op == "grad_accumulate" && i == 4) || (op == "grad_reduce" && i == 1);
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

// The buffers of one op call as the chosen device's ops see them. On the CPU: the caller's buffers themselves and
// host scratch. On a device: copies of the inputs, of the (poisoned) outputs, of the identity maps and scratch,
// all freed when the call ends; the outputs are copied back by finish().
class OpMemory {
 public:
  explicit OpMemory(Device& dev) : dev_(dev) {
    if (!dev.host_memory()) {
      queue_.reset(dev.make_queue(GemmMath::Fp32));
      queue_->bind();
    }
  }
  ~OpMemory() {
    if (queue_) queue_->unbind();
  }
  template <typename T = float>
  const T* in(const void* host, int64_t count) {
    if (!queue_ || !host) return static_cast<const T*>(host);
    void* d = take(sizeof(T) * count, "an op input");
    queue_->upload(d, host, sizeof(T) * count);
    return static_cast<const T*>(d);
  }
  // Outputs start as the caller's buffer, so an element the op does not write keeps the caller's poison.
  float* out(float* host, int64_t count) {
    if (!queue_) return host;
    float* d = static_cast<float*>(take(sizeof(float) * count, "an op output"));
    queue_->upload(d, host, sizeof(float) * count);
    pending_.push_back({host, d, count});
    return d;
  }
  // A copy the op may modify (in-place ops), on either backend.
  float* in_copy(const float* host, int64_t count) {
    if (queue_) return const_cast<float*>(in<float>(host, count));
    float* p = scratch(count);
    std::memcpy(p, host, sizeof(float) * count);
    return p;
  }
  float* scratch(int64_t floats, size_t align = 64) {
    if (queue_) return static_cast<float*>(take(sizeof(float) * floats, "op scratch"));
    host_scratch_.emplace_back((size_t)floats + align / sizeof(float));
    float* p = host_scratch_.back().data();
    while (((uintptr_t)p & (align - 1)) != 0) ++p;  // the packed GEMM panels rely on 64-byte alignment
    return p;
  }
  // The identity map of a single-op call: `rows` cotangents of `len` positions each, reading their own saved rows.
  RowMap identity(int rows, int len) {
    host_ints_.emplace_back((size_t)rows + 1);
    std::vector<int32_t>& start = host_ints_.back();
    for (int r = 0; r <= rows; ++r) start[r] = r * len;
    host_ints_.emplace_back((size_t)rows * len);
    std::vector<int32_t>& owner = host_ints_.back();
    for (size_t n = 0; n < owner.size(); ++n) owner[n] = (int32_t)(n / len);
    return RowMap{rows, rows * len, 1, len, in<int32_t>(start.data(), (int64_t)start.size()),
                  in<int32_t>(owner.data(), (int64_t)owner.size())};
  }
  void finish() {
    if (!queue_) return;
    for (const Pending& p : pending_) queue_->download(p.host, p.dev, sizeof(float) * p.count);
    queue_->finish();
  }

 private:
  struct Pending {
    float* host;
    const float* dev;
    int64_t count;
  };
  void* take(size_t bytes, const char* what) {
    owned_.emplace_back(new DeviceBuffer(dev_, bytes, what));
    return owned_.back()->get<void>();
  }
  Device& dev_;
  std::vector<std::unique_ptr<DeviceBuffer>> owned_;
  std::unique_ptr<Queue> queue_;  // destroyed first: its stream is drained before the buffers are freed
  std::vector<Pending> pending_;
  std::deque<std::vector<float>> host_scratch_;  // deque: references stay valid as it grows
  std::deque<std::vector<int32_t>> host_ints_;
};

}  // namespace

int32_t run_op(int32_t device, const char* op_name, const int64_t* dims, int32_t n_dims, const void* const* inputs,
               int32_t n_inputs, float* const* outputs, int32_t n_outputs, const float* scalars, int32_t n_scalars) {
  Device& dev = inq::device(device);
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

  const Ops& ops = dev.ops();
  OpMemory mem(dev);
  // Host views (argument checks) and the op's views (mem.in / mem.out: copies on a device) of the caller's buffers.
  auto host_i = [&](int i) { return static_cast<const int32_t*>(inputs[i]); };
  auto in = [&](int i, int64_t n) { return mem.in<float>(inputs[i], n); };
  auto in_i = [&](int i, int64_t n) { return mem.in<int32_t>(inputs[i], n); };
  auto out = [&](int i, int64_t n) { return mem.out(outputs[i], n); };

  if (op == "embedding_forward") {
    const int N = dim(dims, 0, "N"), C = dim(dims, 1, "C"), V = dim(dims, 2, "V"), P = dim(dims, 3, "P");
    for (int n = 0; n < N; ++n) {
      INQ_CHECK(host_i(0)[n] >= 0 && host_i(0)[n] < V, INQ_ERR_INVALID_ARGUMENT, "ids[%d] = %d outside [0, %d)", n,
                host_i(0)[n], V);
      INQ_CHECK(host_i(1)[n] >= 0 && host_i(1)[n] < P, INQ_ERR_INVALID_ARGUMENT, "pos[%d] = %d outside [0, %d)", n,
                host_i(1)[n], P);
    }
    ops.embedding_forward(out(0, (int64_t)N * C), in_i(0, N), nullptr, in_i(1, N), in(2, (int64_t)V * C),
                          in(3, (int64_t)P * C), N, C, V, P);
  } else if (op == "layernorm_forward") {
    const int N = dim(dims, 0, "N"), C = dim(dims, 1, "C");
    INQ_CHECK(scalars[0] > 0.0f, INQ_ERR_INVALID_ARGUMENT, "eps must be > 0 (got %g)", (double)scalars[0]);
    const int64_t NC = (int64_t)N * C;
    ops.layernorm_forward(out(0, NC), out(1, N), out(2, N), in(0, NC), in(1, C), in(2, C), N, C, scalars[0]);
  } else if (op == "layernorm_backward") {
    const int N = dim(dims, 0, "N"), C = dim(dims, 1, "C");
    const int64_t NC = (int64_t)N * C;
    ops.layernorm_backward(out(0, NC), in(0, NC), in(1, NC), in(2, C), in(3, N), in(4, N), mem.identity(N, 1), C);
  } else if (op == "matmul_forward" || op == "matmul_backward_input") {
    const int N = dim(dims, 0, "N"), K = dim(dims, 1, "K"), M = dim(dims, 2, "M");
    const int transB = flag(dims, 3, "transB", 0, 1);
    const int slots = dev.workspace_slots();
    const Workspace ws{mem.scratch((int64_t)slots * ops.matmul_workspace_floats), slots, ops.matmul_workspace_floats};
    const int64_t KM = (int64_t)K * M;
    if (op == "matmul_forward")
      ops.matmul_forward(out(0, (int64_t)N * M), in(0, (int64_t)N * K), in(1, KM), in(2, M), N, K, M, transB, ws);
    else
      ops.matmul_backward_input(out(0, (int64_t)N * K), in(0, (int64_t)N * M), in(1, KM), N, K, M, transB, ws);
  } else if (op == "gelu_forward" || op == "gelu_backward") {
    const int N = dim(dims, 0, "N");
    const int kind = flag(dims, 1, "kind", INQ_ACT_GELU_TANH, INQ_ACT_SILU);
    if (op == "gelu_forward")
      ops.activation_forward(out(0, N), in(0, N), N, kind);
    else
      ops.activation_backward(out(0, N), in(0, N), in(1, N), mem.identity(N, 1), 1, kind);
  } else if (op == "residual_forward") {
    const int N = dim(dims, 0, "N");
    ops.residual_forward(out(0, N), in(0, N), in(1, N), N);
  } else if (op == "step_fn_scores" || op == "step_fn_dlogits") {
    const int R = dim(dims, 0, "R"), V = dim(dims, 1, "V");
    inq_step_fn_args a{(int32_t)sizeof(inq_step_fn_args), 0, 0, 0, scalars[0], 0};
    a.fn = flag(dims, 2, "fn", INQ_STEP_LOGIT, INQ_STEP_TOP_P_SIZE);
    a.logprob = flag(dims, 3, "logprob", 0, 1);
    a.top_k = flag(dims, 4, "top_k", 0, V);
    a.min_tokens_to_keep = flag(dims, 5, "min_tokens_to_keep", 0, V);
    const bool dl = op == "step_fn_dlogits";
    const StepFnParams p = step_fn_params(&a, dl, inputs[1] == nullptr);
    check_step_ids(host_i(2), R, V, "targets");
    if (inputs[3]) check_step_ids(host_i(3), R, V, "contrast_targets");
    const int slots = dev.workspace_slots();
    const size_t per = ops.step_fn_workspace_floats(V);
    const Workspace ws{mem.scratch((int64_t)slots * (int64_t)per + 16), slots, per};
    const int64_t RV = (int64_t)R * V;
    if (dl)
      ops.step_fn_dlogits(out(0, RV), out(1, R), in(0, RV), in(1, RV), in_i(2, R), in_i(3, R), R, V, p, ws);
    else
      ops.step_fn_scores(out(0, R), in(0, RV), in(1, RV), in_i(2, R), in_i(3, R), R, V, p, ws);
  } else if (op == "sample_tokens") {
    const int N = dim(dims, 0, "N"), V = dim(dims, 1, "V");
    const inq_sampling a{(int32_t)sizeof(inq_sampling), flag(dims, 2, "do_sample", 0, 1), scalars[0],
                         flag(dims, 3, "top_k", 0, INT32_MAX), scalars[1]};
    const SampleParams p = sample_params(&a);
    const double* u = static_cast<const double*>(inputs[1]);
    const int32_t* bo = host_i(3);
    check_sample_rows(p, u, host_i(2), bo, host_i(4), N, V);
    const int64_t n_bans = bo ? bo[N] : 0;
    const int slots = dev.workspace_slots();
    const size_t per = 2 * (size_t)V + 16;
    const Workspace ws{mem.scratch((int64_t)slots * (int64_t)per), slots, per};
    // The op bans in place: it gets a copy of the logits. The ids come back through the float* output slot.
    float* logits = mem.in_copy(static_cast<const float*>(inputs[0]), (int64_t)N * V);
    ops.sample_tokens(reinterpret_cast<int32_t*>(out(0, N)), out(1, N), logits, mem.in<double>(u, N), in_i(2, N),
                      in_i(3, N + 1), n_bans > 0 ? in_i(4, n_bans) : nullptr, N, V, p, ws);
  } else if (op == "rmsnorm_forward") {
    const int N = dim(dims, 0, "N"), C = dim(dims, 1, "C");
    INQ_CHECK(scalars[0] > 0.0f, INQ_ERR_INVALID_ARGUMENT, "eps must be > 0 (got %g)", (double)scalars[0]);
    const int64_t NC = (int64_t)N * C;
    ops.rmsnorm_forward(out(0, NC), out(1, N), in(0, NC), in(1, C), N, C, scalars[0]);
  } else if (op == "rmsnorm_backward") {
    const int N = dim(dims, 0, "N"), C = dim(dims, 1, "C");
    const int64_t NC = (int64_t)N * C;
    ops.rmsnorm_backward(out(0, NC), in(0, NC), in(1, NC), in(2, C), in(3, N), mem.identity(N, 1), C);
  } else if (op == "rope_forward" || op == "rope_backward") {
    const int N = dim(dims, 0, "N"), W = dim(dims, 1, "W"), n_heads = dim(dims, 2, "n_heads"), hd = dim(dims, 3, "hd");
    INQ_CHECK(hd % 2 == 0 && hd <= 1024, INQ_ERR_INVALID_ARGUMENT, "hd %d must be even and <= 1024", hd);
    INQ_CHECK((int64_t)n_heads * hd <= W, INQ_ERR_SHAPE, "n_heads * hd = %lld exceeds the row width W %d",
              (long long)n_heads * hd, W);
    INQ_CHECK(scalars[0] > 0.0f, INQ_ERR_INVALID_ARGUMENT, "theta must be > 0 (got %g)", (double)scalars[0]);
    for (int n = 0; n < N; ++n)
      INQ_CHECK(host_i(1)[n] >= 0, INQ_ERR_INVALID_ARGUMENT, "pos[%d] = %d is negative", n, host_i(1)[n]);
    const int64_t NW = (int64_t)N * W;
    const float* inv_freq = in(2, hd / 2);  // NULL stays NULL: theta-based frequencies
    if (op == "rope_forward")
      ops.rope_forward(out(0, NW), in(0, NW), in_i(1, N), inv_freq, N, W, n_heads, hd, scalars[0]);
    else
      ops.rope_backward(out(0, NW), in(0, NW), in_i(1, N), inv_freq, mem.identity(N, 1), W, n_heads, hd,
                        scalars[0]);
  } else if (op == "gated_act_forward" || op == "gated_act_backward") {
    const int N = dim(dims, 0, "N"), I = dim(dims, 1, "I");
    const int kind = flag(dims, 2, "kind", INQ_ACT_GELU_TANH, INQ_ACT_SILU);
    if (op == "gated_act_forward")
      ops.gated_act_forward(out(0, (int64_t)N * I), in(0, (int64_t)N * 2 * I), N, I, kind);
    else
      ops.gated_act_backward(out(0, (int64_t)N * 2 * I), in(0, (int64_t)N * I), in(1, (int64_t)N * 2 * I),
                             mem.identity(N, 1), I, kind);
  } else if (op == "scale_add_forward") {
    const int N = dim(dims, 0, "N");
    ops.scale_add_forward(out(0, N), in(0, N), scalars[0], in(1, N), N);
  } else if (op == "sinusoidal_positions") {
    const int N = dim(dims, 0, "N"), C = dim(dims, 1, "C");
    const int layout = flag(dims, 2, "layout", 0, 1);
    // fairseq divides by C/2 - 1.
    INQ_CHECK(layout == 0 || C >= 4, INQ_ERR_INVALID_ARGUMENT, "layout 1 needs C >= 4 (got %d)", C);
    for (int n = 0; n < N; ++n)
      INQ_CHECK(host_i(0)[n] >= 0, INQ_ERR_INVALID_ARGUMENT, "pos[%d] = %d is negative", n, host_i(0)[n]);
    ops.sinusoidal_positions(out(0, (int64_t)N * C), in_i(0, N), N, C, layout);
  } else if (op == "relative_position_bias") {
    const int H = dim(dims, 0, "H"), Tq = dim(dims, 1, "Tq"), Tk = dim(dims, 2, "Tk");
    const int q_offset = flag(dims, 3, "q_offset", 0, (1 << 30));
    const int bidirectional = flag(dims, 4, "bidirectional", 0, 1);
    const int num_buckets = dim(dims, 5, "num_buckets"), max_distance = dim(dims, 6, "max_distance");
    // Every bucket range needs an exact part (max_exact >= 1) and a logarithmic part that grows (max_distance above
    // max_exact), else the bucket formula divides by zero.
    const int max_exact = (bidirectional ? num_buckets / 2 : num_buckets) / 2;
    INQ_CHECK(max_exact >= 1, INQ_ERR_INVALID_ARGUMENT, "num_buckets %d is too small (bidirectional %d)", num_buckets,
              bidirectional);
    INQ_CHECK(max_distance > max_exact, INQ_ERR_INVALID_ARGUMENT, "max_distance %d must exceed max_exact %d",
              max_distance, max_exact);
    ops.relative_position_bias(out(0, (int64_t)H * Tq * Tk), in(0, (int64_t)num_buckets * H), H, Tq, Tk, q_offset,
                               bidirectional, num_buckets, max_distance);
  } else if (op == "cross_attention_forward" || op == "cross_attention_backward") {
    // Dense layouts: q / dq [B(*n_cot),Tq,C], kv / dkv [B(*n_cot),Tk,2C] (k | v), mask [B,Tk], att [B,H,Tq,Tk],
    // bias [H,Tq,Tk].
    const bool fwd = op == "cross_attention_forward";
    const int B = dim(dims, 0, "B"), Tq = dim(dims, 1, "Tq"), Tk = dim(dims, 2, "Tk"), C = dim(dims, 3, "C"),
              H = dim(dims, 4, "H");
    const int causal_or_ncot = fwd ? flag(dims, 5, "causal", 0, 1) : dim(dims, 5, "n_cot");
    const int scaled = flag(dims, 6, "scaled", 0, 1);
    INQ_CHECK(C % H == 0, INQ_ERR_SHAPE, "H (%d) must divide C (%d)", H, C);
    const float scale = (scaled ? 1.0f / std::sqrt((float)(C / H)) : 1.0f) * scalars[0];
    const int64_t q_n = (int64_t)B * Tq * C, kv_n = (int64_t)B * Tk * 2 * C, att = (int64_t)B * H * Tq * Tk;
    if (fwd) {
      const int32_t* mask = host_i(2);
      if (mask)
        for (int64_t i = 0; i < (int64_t)B * Tk; ++i)
          INQ_CHECK(mask[i] == 0 || mask[i] == 1, INQ_ERR_INVALID_ARGUMENT, "mask[%lld] = %d is not 0 or 1",
                    (long long)i, mask[i]);
      ops.cross_attention_forward(out(0, q_n), out(1, att), in(0, q_n), in(1, kv_n), in_i(2, (int64_t)B * Tk), B, Tq,
                                  Tk, C, H, C, 2 * C, causal_or_ncot, scale, in(3, (int64_t)H * Tq * Tk));
    } else {
      const int n_cot = causal_or_ncot, R = B * n_cot;
      ops.cross_attention_backward(out(0, q_n * n_cot), out(1, kv_n * n_cot), mem.scratch((int64_t)R * H * Tk),
                                   in(0, q_n * n_cot), in(1, q_n), in(2, kv_n), in(3, att), R, n_cot, Tq, Tk, C, H, C,
                                   2 * C, scale);
    }
  } else if (op == "grad_accumulate") {
    const int B = dim(dims, 0, "B"), n_cot = dim(dims, 1, "n_cot"), T_acc = dim(dims, 2, "T_acc"),
              K = dim(dims, 3, "K"), C = dim(dims, 4, "C");
    const int row_off = flag(dims, 5, "row_off", 0, T_acc - 1);
    const int R = B * n_cot;
    const int32_t* lens = host_i(1);
    const int32_t* steps = host_i(3);
    std::vector<int32_t> start((size_t)R + 1, 0), owner;
    for (int r = 0; r < R; ++r) {
      INQ_CHECK(lens[r] >= 0 && row_off + lens[r] <= T_acc, INQ_ERR_INVALID_ARGUMENT,
                "lens[%d] = %d: rows row_off .. row_off + lens - 1 must lie in [0, T_acc = %d)", r, lens[r], T_acc);
      start[r + 1] = start[r] + lens[r];
      for (int t = 0; t < lens[r]; ++t) owner.push_back(r);
    }
    std::vector<char> seen((size_t)K, 0);
    for (int i = 0; i < n_cot; ++i) {
      INQ_CHECK(steps[i] >= 0 && steps[i] < K, INQ_ERR_INVALID_ARGUMENT, "steps[%d] = %d outside [0, %d)", i, steps[i],
                K);
      INQ_CHECK(!seen[steps[i]], INQ_ERR_INVALID_ARGUMENT, "steps[%d] = %d repeats an earlier column's step", i,
                steps[i]);
      seen[steps[i]] = 1;
    }
    const int rows = start[R];
    if (owner.empty()) owner.push_back(0);  // a valid pointer for an all-empty call
    const RowMap map{R, rows, n_cot, T_acc, mem.in<int32_t>(start.data(), (int64_t)start.size()),
                     mem.in<int32_t>(owner.data(), (int64_t)owner.size())};
    const int64_t grads_n = rows > 0 ? (int64_t)rows * C : 1;
    ops.grad_accumulate(out(0, (int64_t)T_acc * K * C), in(0, grads_n), in(2, B), in(4, (int64_t)B * T_acc * C),
                        in_i(3, n_cot), map, row_off, T_acc, K, C);
  } else if (op == "grad_reduce") {
    const int T = dim(dims, 0, "T"), K = dim(dims, 1, "K"), C = dim(dims, 2, "C");
    ops.grad_reduce(out(0, (int64_t)T * K), out(1, (int64_t)T * K), in(0, (int64_t)T * K * C), in(1, (int64_t)T * C), T,
                    K, C);
  } else if (op == "attention_decode") {
    const int B = dim(dims, 0, "B"), n_keys = dim(dims, 1, "n_keys"), S = dim(dims, 2, "S"), C = dim(dims, 3, "C"),
              H = dim(dims, 4, "H"), KVH = dim(dims, 5, "KVH");
    const int window = flag(dims, 6, "window", 0, INT32_MAX), scaled = flag(dims, 7, "scaled", 0, 1);
    INQ_CHECK(n_keys <= S, INQ_ERR_SHAPE, "n_keys (%d) must not exceed S (%d)", n_keys, S);
    INQ_CHECK(C % H == 0, INQ_ERR_SHAPE, "H (%d) must divide C (%d)", H, C);
    INQ_CHECK(H % KVH == 0, INQ_ERR_SHAPE, "KVH (%d) must divide H (%d)", KVH, H);
    const float scale = (scaled ? 1.0f / std::sqrt((float)(C / H)) : 1.0f) * scalars[0];
    const int64_t KVC = (int64_t)KVH * (C / H), W = C + 2 * KVC, cache = (int64_t)B * S * KVC;
    for (int64_t i = 0; i < (int64_t)B * S; ++i)
      INQ_CHECK(host_i(3)[i] == 0 || host_i(3)[i] == 1, INQ_ERR_INVALID_ARGUMENT, "mask[%lld] = %d is not 0 or 1",
                (long long)i, host_i(3)[i]);
    ops.attention_decode(out(0, (int64_t)B * C), out(1, (int64_t)B * H * n_keys), in(0, (int64_t)B * W),
                         in(1, cache), in(2, cache), in_i(3, (int64_t)B * S), B, n_keys, S, C, H, KVH, window, scale);
  } else {  // [gqa_|window_]attention_forward / [gqa_]attention_backward
    const bool window_op = op == "window_attention_forward";
    const bool gqa = op.rfind("gqa_", 0) == 0 || window_op;
    const int B = dim(dims, 0, "B"), T = dim(dims, 1, "T"), C = dim(dims, 2, "C"), H = dim(dims, 3, "H");
    const int KVH = gqa ? dim(dims, 4, "KVH") : H;
    const int window = window_op ? flag(dims, 5, "window", 0, INT32_MAX) : 0;
    const int scaled = flag(dims, window_op ? 6 : gqa ? 5 : 4, "scaled", 0, 1);
    INQ_CHECK(C % H == 0, INQ_ERR_SHAPE, "H (%d) must divide C (%d)", H, C);
    INQ_CHECK(H % KVH == 0, INQ_ERR_SHAPE, "KVH (%d) must divide H (%d)", KVH, H);
    const float scale = (scaled ? 1.0f / std::sqrt((float)(C / H)) : 1.0f) * scalars[0];
    const int64_t BT = (int64_t)B * T, W = C + 2 * (int64_t)KVH * (C / H), att = (int64_t)B * H * T * T;
    if (op == "attention_forward" || op == "gqa_attention_forward" || window_op) {
      const int32_t* mask = host_i(1);
      if (mask)
        for (int64_t i = 0; i < BT; ++i)
          INQ_CHECK(mask[i] == 0 || mask[i] == 1, INQ_ERR_INVALID_ARGUMENT, "mask[%lld] = %d is not 0 or 1",
                    (long long)i, mask[i]);
      ops.attention_forward(out(0, BT * C), out(1, att), in(0, BT * W), in_i(1, BT), B, T, C, H, KVH, window,
                            scale);
    } else {
      ops.attention_backward(out(0, BT * W), mem.scratch((int64_t)B * H * T), in(0, BT * C), in(1, BT * W),
                             in(2, att), mem.identity(B, T), C, H, KVH, scale);
    }
  }
  mem.finish();
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
  s += "; " + cuda_build_info();
  return s;
}

}  // namespace inq
