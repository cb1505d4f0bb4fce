// The exported C ABI (include/inseq_native.h). Every export runs its body inside guard(): no exception crosses the
// boundary; a failure becomes a status and a thread-local "file:line: cause" message.
#include <chrono>
#include <cstring>
#include <memory>
#include <exception>
#include <new>

#include "context.h"
#include "decoder.h"
#include "sampling.h"
#include "grad_accumulator.h"
#include "seq2seq.h"
#include "device.h"


namespace inq {
namespace {

thread_local char t_last_error[1024] = "";

void set_error(const char* msg) {
  std::strncpy(t_last_error, msg, sizeof t_last_error - 1);
  t_last_error[sizeof t_last_error - 1] = '\0';
}

template <typename F>
int32_t guard(const char* where, F&& body) noexcept {
  try {
    body();
    return INQ_OK;
  } catch (const Error& e) {
    set_error(e.message.c_str());
    return e.status;
  } catch (const std::bad_alloc&) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s: out of memory (std::bad_alloc)", where);
    set_error(buf);
    return INQ_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%s: internal error: %s", where, e.what());
    set_error(buf);
    return INQ_ERR_INTERNAL;
  } catch (...) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s: internal error: unknown exception", where);
    set_error(buf);
    return INQ_ERR_INTERNAL;
  }
}

#define INQ_STR2(x) #x
#define INQ_STR(x) INQ_STR2(x)
#define GUARD(...) ::inq::guard("api.cpp:" INQ_STR(__LINE__), [&]() __VA_ARGS__)

// Copies s into a caller buffer; fails with INQ_ERR_CAPACITY (after writing a truncated, terminated prefix) when it
// does not fit.
void copy_string(const std::string& s, char* buffer, int32_t capacity, const char* what) {
  INQ_CHECK_NOT_NULL(buffer);
  INQ_CHECK_POSITIVE(capacity);
  const size_t n = s.size() < (size_t)capacity - 1 ? s.size() : (size_t)capacity - 1;
  std::memcpy(buffer, s.data(), n);
  buffer[n] = '\0';
  INQ_CHECK(s.size() < (size_t)capacity, INQ_ERR_CAPACITY, "%s needs %zu bytes, buffer capacity is %d", what,
            s.size() + 1, capacity);
}

Model* live_model(inq_model* m) {
  INQ_CHECK(m != nullptr, INQ_ERR_NULL_POINTER, "argument 'model' is NULL");
  return m;
}
Context* live_ctx(inq_context* c) {
  INQ_CHECK(c != nullptr, INQ_ERR_NULL_POINTER, "argument 'ctx' is NULL");
  return c;
}

}  // namespace

int32_t run_op(int32_t device, const char* op, const int64_t* dims, int32_t n_dims, const void* const* inputs,
               int32_t n_inputs, float* const* outputs, int32_t n_outputs, const float* scalars, int32_t n_scalars);
std::string build_info();

}  // namespace inq

using namespace inq;

extern "C" {

INQ_API int32_t inq_abi_version(void) { return INQ_ABI_VERSION; }

INQ_API const char* inq_last_error(void) { return t_last_error; }

INQ_API int32_t inq_cuda_device_count(int32_t* out_count) {
  return GUARD({
    INQ_CHECK_NOT_NULL(out_count);
    *out_count = cuda_device_count();
  });
}

INQ_API int32_t inq_cuda_device_info(int32_t ordinal, inq_device_info* out_info) {
  return GUARD({
    INQ_CHECK_NOT_NULL(out_info);
    INQ_CHECK(out_info->struct_size == (int32_t)sizeof(inq_device_info), INQ_ERR_INVALID_ARGUMENT,
              "inq_device_info.struct_size is %d, this library's struct has %d bytes (ABI %d)", out_info->struct_size,
              (int)sizeof(inq_device_info), INQ_ABI_VERSION);
    const int32_t size = out_info->struct_size;
    std::memset(out_info, 0, sizeof *out_info);
    out_info->struct_size = size;
    cuda_device_info(ordinal, out_info);
  });
}

INQ_API int32_t inq_build_info(char* buffer, int32_t capacity) {
  return GUARD({ copy_string(build_info(), buffer, capacity, "the build info"); });
}

INQ_API int32_t inq_set_num_threads(int32_t n) {
  return GUARD({ set_num_threads(n); });
}

INQ_API int32_t inq_get_num_threads(int32_t* out_n) {
  return GUARD({
    INQ_CHECK_NOT_NULL(out_n);
    *out_n = num_threads();
  });
}

INQ_API int32_t inq_model_create(const inq_model_config* config, int32_t device, inq_model** out_model) {
  return GUARD({
    INQ_CHECK_NOT_NULL(config);
    INQ_CHECK_NOT_NULL(out_model);
    *out_model = nullptr;
    *out_model = model_create(config, device);
  });
}

INQ_API int32_t inq_model_destroy(inq_model* model) {
  return GUARD({ model_release(live_model(model)); });
}

INQ_API int32_t inq_model_tensor_count(const inq_model* model, int32_t* out_count) {
  return GUARD({
    INQ_CHECK_NOT_NULL(model);
    INQ_CHECK_NOT_NULL(out_count);
    *out_count = (int32_t)model->tensors.size();
  });
}

INQ_API int32_t inq_model_tensor_info(const inq_model* model, int32_t index, char* name_buffer, int32_t name_capacity,
                                      int64_t* shape, int32_t* out_ndim) {
  return GUARD({
    INQ_CHECK_NOT_NULL(model);
    INQ_CHECK_NOT_NULL(shape);
    INQ_CHECK_NOT_NULL(out_ndim);
    INQ_CHECK(index >= 0 && index < (int32_t)model->tensors.size(), INQ_ERR_INVALID_ARGUMENT,
              "argument 'index' %d outside [0, %d)", index, (int)model->tensors.size());
    const TensorSlot& t = model->tensors[index];
    for (int i = 0; i < 4; ++i) shape[i] = t.shape[i];
    *out_ndim = t.ndim;
    copy_string(t.name, name_buffer, name_capacity, "the tensor name");
  });
}

INQ_API int32_t inq_model_set_tensor(inq_model* model, const char* name, const float* data, const int64_t* shape,
                                     int32_t ndim) {
  return GUARD({
    live_model(model);
    INQ_CHECK_NOT_NULL(name);
    INQ_CHECK_NOT_NULL(data);
    INQ_CHECK_NOT_NULL(shape);
    model_set_tensor(model, name, data, shape, ndim);
  });
}

INQ_API int32_t inq_model_finalize(inq_model* model) {
  return GUARD({ model_finalize(live_model(model)); });
}

INQ_API int32_t inq_model_weight_bytes(const inq_model* model, int64_t* out_bytes) {
  return GUARD({
    INQ_CHECK_NOT_NULL(model);
    INQ_CHECK_NOT_NULL(out_bytes);
    *out_bytes = (int64_t)(model->weight_floats * sizeof(float));
  });
}

INQ_API int32_t inq_context_memory_size(const inq_model* model, int32_t max_batch, int32_t max_seq,
                                        int32_t max_cotangents, int32_t flags, int64_t* out_bytes) {
  return GUARD({
    INQ_CHECK_NOT_NULL(model);
    INQ_CHECK_NOT_NULL(out_bytes);
    *out_bytes = (int64_t)context_layout(model, max_batch, max_seq, max_cotangents, flags).total;
  });
}

INQ_API int32_t inq_context_create(inq_model* model, int32_t max_batch, int32_t max_seq, int32_t max_cotangents,
                                   int32_t flags, inq_context** out_ctx) {
  return GUARD({
    live_model(model);
    INQ_CHECK_NOT_NULL(out_ctx);
    *out_ctx = nullptr;
    *out_ctx = context_create(model, max_batch, max_seq, max_cotangents, flags);
  });
}

INQ_API int32_t inq_context_destroy(inq_context* ctx) {
  return GUARD({ delete live_ctx(ctx); });
}

INQ_API int32_t inq_forward(inq_context* ctx, int32_t batch, int32_t seq, const int32_t* input_ids,
                            const float* input_embeds, const int32_t* attention_mask, int32_t logits_mode,
                            float* logits, int32_t flags) {
  return GUARD({
    decoder_forward(live_ctx(ctx), 0, batch, seq, input_ids, input_embeds, attention_mask, logits_mode, logits,
                    flags, false);
  });
}

INQ_API int32_t inq_seq2seq_forward(inq_context* ctx, int32_t batch, int32_t src_len, int32_t tgt_len,
                                    const int32_t* src_ids, const float* src_embeds, const int32_t* src_mask,
                                    const int32_t* tgt_ids, const float* tgt_embeds, const int32_t* tgt_mask,
                                    int32_t logits_mode, float* logits, int32_t flags) {
  return GUARD({
    seq2seq_forward(live_ctx(ctx), batch, src_len, tgt_len, src_ids, src_embeds, src_mask, tgt_ids, tgt_embeds,
                    tgt_mask, logits_mode, logits, flags);
  });
}

INQ_API int32_t inq_seq2seq_backward(inq_context* ctx, int32_t batch, int32_t n_cot, const int32_t* positions,
                                     const float* dlogits, float* d_src, float* d_tgt) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(positions);
    INQ_CHECK_NOT_NULL(dlogits);
    seq2seq_backward(ctx, batch, n_cot, positions, dlogits, d_src, d_tgt);
  });
}

INQ_API int32_t inq_seq2seq_get_attention(inq_context* ctx, int32_t kind, int32_t layer, float* out) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(out);
    seq2seq_get_attention(ctx, kind, layer, out);
  });
}

INQ_API int32_t inq_seq2seq_embed_tokens(inq_context* ctx, const int32_t* ids, int32_t n, float* out) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(ids);
    INQ_CHECK_NOT_NULL(out);
    INQ_CHECK_POSITIVE(n);
    seq2seq_embed_tokens(ctx, ids, n, out);
  });
}

INQ_API int32_t inq_seq2seq_cache_step(inq_context* ctx, int32_t batch, const int32_t* next_ids, float* logits) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(next_ids);
    seq2seq_cache_step(ctx, batch, next_ids, logits);
  });
}

INQ_API int32_t inq_seq2seq_step_scores(inq_context* ctx, const inq_step_fn_args* args, int32_t n_rows,
                                        const int32_t* batch_index, const int32_t* positions, const int32_t* targets,
                                        const int32_t* contrast_targets, const float* contrast_logits, float* scores) {
  return GUARD({
    seq2seq_step_scores(live_ctx(ctx), args, n_rows, batch_index, positions, targets, contrast_targets,
                        contrast_logits, scores);
  });
}

INQ_API int32_t inq_seq2seq_backward_step(inq_context* ctx, const inq_step_fn_args* args, int32_t batch,
                                          int32_t n_cot, const int32_t* positions, const int32_t* targets,
                                          const int32_t* contrast_targets, const float* contrast_logits, float* d_src,
                                          float* d_tgt, float* scores) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(positions);
    INQ_CHECK_NOT_NULL(targets);
    seq2seq_backward_step(ctx, args, batch, n_cot, positions, targets, contrast_targets, contrast_logits, d_src, d_tgt,
                          scores);
  });
}

// ---- granular gradient accumulation (ABI 6)

INQ_API int32_t inq_grad_accumulator_reset(inq_context* ctx, int32_t rows, int32_t steps, int32_t n_mult,
                                           const float* multipliers) {
  return GUARD({ grad_accumulator_reset(live_ctx(ctx), rows, steps, n_mult, multipliers); });
}

INQ_API int32_t inq_backward_step_accumulate(inq_context* ctx, const inq_step_fn_args* args, int32_t point,
                                             int32_t batch, int32_t n_cot, const int32_t* positions,
                                             const int32_t* targets, const int32_t* contrast_targets,
                                             const float* contrast_logits, const int32_t* steps,
                                             const float* row_weights, int32_t mult_row0, float* scores) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(positions);
    INQ_CHECK_NOT_NULL(targets);
    INQ_CHECK_NOT_NULL(steps);
    INQ_CHECK_NOT_NULL(row_weights);
    INQ_CHECK(!is_seq2seq(ctx->model->cfg), INQ_ERR_INVALID_ARGUMENT,
              "inq_backward_step_accumulate needs a decoder-only model (encoder-decoders: "
              "inq_seq2seq_backward_step_accumulate)");
    const AccumulateArgs acc{steps, row_weights, mult_row0};
    decoder_backward_step(ctx, args, point, batch, n_cot, positions, targets, contrast_targets, contrast_logits,
                          nullptr, scores, &acc);
  });
}

INQ_API int32_t inq_seq2seq_backward_step_accumulate(inq_context* ctx, const inq_step_fn_args* args, int32_t batch,
                                                     int32_t n_cot, const int32_t* positions, const int32_t* targets,
                                                     const int32_t* contrast_targets, const float* contrast_logits,
                                                     const int32_t* steps, const float* row_weights,
                                                     int32_t mult_row0, float* scores) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(positions);
    INQ_CHECK_NOT_NULL(targets);
    INQ_CHECK_NOT_NULL(steps);
    INQ_CHECK_NOT_NULL(row_weights);
    const AccumulateArgs acc{steps, row_weights, mult_row0};
    seq2seq_backward_step(ctx, args, batch, n_cot, positions, targets, contrast_targets, contrast_logits, nullptr,
                          nullptr, scores, &acc);
  });
}

INQ_API int32_t inq_grad_accumulator_reduce(inq_context* ctx, const float* multipliers, float* l2, float* sums) {
  return GUARD({ grad_accumulator_reduce(live_ctx(ctx), multipliers, l2, sums); });
}

INQ_API int32_t inq_grad_accumulator_read(inq_context* ctx, float* out) {
  return GUARD({ grad_accumulator_read(live_ctx(ctx), out); });
}

INQ_API int32_t inq_get_attention(inq_context* ctx, int32_t layer, float* out) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(out);
    decoder_get_attention(ctx, layer, out);
  });
}

INQ_API int32_t inq_backward_embeds(inq_context* ctx, int32_t batch, int32_t n_cot, const int32_t* positions,
                                    const float* dlogits, float* d_embeds) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(positions);
    INQ_CHECK_NOT_NULL(dlogits);
    INQ_CHECK_NOT_NULL(d_embeds);
    decoder_backward(ctx, 0, batch, n_cot, positions, dlogits, d_embeds);
  });
}

INQ_API int32_t inq_get_hidden(inq_context* ctx, int32_t point, float* out) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(out);
    decoder_get_hidden(ctx, point, out);
  });
}

INQ_API int32_t inq_forward_from_hidden(inq_context* ctx, int32_t point, int32_t batch, int32_t seq,
                                        const float* hidden, const int32_t* attention_mask, int32_t logits_mode,
                                        float* logits, int32_t flags) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(hidden);
    decoder_forward(ctx, point, batch, seq, nullptr, hidden, attention_mask, logits_mode, logits, flags, false);
  });
}

INQ_API int32_t inq_backward(inq_context* ctx, int32_t point, int32_t batch, int32_t n_cot, const int32_t* positions,
                             const float* dlogits, float* d_out) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(positions);
    INQ_CHECK_NOT_NULL(dlogits);
    INQ_CHECK_NOT_NULL(d_out);
    decoder_backward(ctx, point, batch, n_cot, positions, dlogits, d_out);
  });
}

INQ_API int32_t inq_last_forward(inq_context* ctx, int32_t* out_batch, int32_t* out_seq, int32_t* out_point,
                                 int32_t* out_kept, int32_t* out_scorable) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(out_batch);
    INQ_CHECK_NOT_NULL(out_seq);
    INQ_CHECK_NOT_NULL(out_point);
    INQ_CHECK_NOT_NULL(out_kept);
    INQ_CHECK_NOT_NULL(out_scorable);
    const bool any = ctx->scorable || ctx->kept || ctx->kept_attention;
    *out_batch = any ? ctx->fwd_batch : 0;
    *out_seq = any ? ctx->fwd_seq : 0;
    *out_point = any ? ctx->fwd_point : 0;
    *out_kept = ctx->kept ? 1 : 0;
    *out_scorable = ctx->scorable ? 1 : 0;
  });
}

INQ_API int32_t inq_step_scores(inq_context* ctx, const inq_step_fn_args* args, int32_t n_rows,
                                const int32_t* batch_index, const int32_t* positions, const int32_t* targets,
                                const int32_t* contrast_targets, const int32_t* contrast_batch_index,
                                const int32_t* contrast_positions, const float* contrast_logits, float* scores) {
  return GUARD({
    live_ctx(ctx);
    decoder_step_scores(ctx, args, n_rows, batch_index, positions, targets, contrast_targets, contrast_batch_index,
                     contrast_positions, contrast_logits, scores);
  });
}

INQ_API int32_t inq_backward_step(inq_context* ctx, const inq_step_fn_args* args, int32_t point, int32_t batch,
                                  int32_t n_cot, const int32_t* positions, const int32_t* targets,
                                  const int32_t* contrast_targets, const float* contrast_logits, float* d_out,
                                  float* scores) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(positions);
    INQ_CHECK_NOT_NULL(targets);
    INQ_CHECK_NOT_NULL(d_out);
    decoder_backward_step(ctx, args, point, batch, n_cot, positions, targets, contrast_targets, contrast_logits, d_out,
                       scores);
  });
}

INQ_API int32_t inq_embed_tokens(inq_context* ctx, const int32_t* ids, int32_t n, float* out) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(ids);
    INQ_CHECK_NOT_NULL(out);
    INQ_CHECK_POSITIVE(n);
    const inq_model_config& c = ctx->model->cfg;
    for (int32_t i = 0; i < n; ++i)
      INQ_CHECK(ids[i] >= 0 && ids[i] < c.vocab_size, INQ_ERR_INVALID_ARGUMENT,
                "ids[%d] = %d is outside the vocabulary [0, %d)", i, ids[i], c.vocab_size);
    decoder_embed_tokens(ctx, ids, n, out);
  });
}

INQ_API int32_t inq_cache_prefill(inq_context* ctx, int32_t batch, int32_t seq, const int32_t* input_ids,
                                  const int32_t* attention_mask, float* last_logits) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(input_ids);
    decoder_forward(ctx, 0, batch, seq, input_ids, nullptr, attention_mask,
                    last_logits ? INQ_LOGITS_LAST : INQ_LOGITS_NONE, last_logits, 0, true);
  });
}

INQ_API int32_t inq_cache_step(inq_context* ctx, int32_t batch, const int32_t* next_ids, float* logits) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(next_ids);
    decoder_cache_step(ctx, batch, next_ids, logits);
  });
}

INQ_API int32_t inq_cache_length(inq_context* ctx, int32_t* out_len) {
  return GUARD({
    live_ctx(ctx);
    INQ_CHECK_NOT_NULL(out_len);
    *out_len = ctx->cache_len;
  });
}

INQ_API int32_t inq_sample_next(inq_context* ctx, const inq_sampling* params, const double* uniforms,
                                const int32_t* forced_ids, const int32_t* banned_offsets, const int32_t* banned_ids,
                                int32_t* out_ids, float* out_logprobs) {
  return GUARD({
    sample_next(live_ctx(ctx), params, uniforms, forced_ids, banned_offsets, banned_ids, out_ids, out_logprobs);
  });
}

INQ_API int32_t inq_op_run(int32_t device, const char* op, const int64_t* dims, int32_t n_dims,
                           const void* const* inputs, int32_t n_inputs, float* const* outputs, int32_t n_outputs,
                           const float* scalars, int32_t n_scalars) {
  return GUARD({ run_op(device, op, dims, n_dims, inputs, n_inputs, outputs, n_outputs, scalars, n_scalars); });
}

INQ_API int32_t inq_bench_gemm(int32_t device, int32_t m, int32_t n, int32_t k, int32_t flags, int32_t repeats,
                               const float* a, const float* b, float* c, double* out_seconds) {
  return GUARD({
    Device& dev = inq::device(device);
    INQ_CHECK_POSITIVE(m);
    INQ_CHECK_POSITIVE(n);
    INQ_CHECK_POSITIVE(k);
    INQ_CHECK_POSITIVE(repeats);
    INQ_CHECK(flags == 0 || flags == INQ_CTX_TF32 || flags == INQ_CTX_BF16, INQ_ERR_INVALID_ARGUMENT,
              "argument 'flags' must be 0, INQ_CTX_TF32 (2) or INQ_CTX_BF16 (4), got %d", flags);
    INQ_CHECK_NOT_NULL(a);
    INQ_CHECK_NOT_NULL(b);
    INQ_CHECK_NOT_NULL(c);
    INQ_CHECK_NOT_NULL(out_seconds);
    const Ops& ops = dev.ops();
    const GemmMath math = flags == INQ_CTX_TF32 ? GemmMath::Tf32 : flags == INQ_CTX_BF16 ? GemmMath::Bf16 : GemmMath::Fp32;
    std::unique_ptr<Queue> q(dev.make_queue(math));
    const Bound bound(q.get());
    const size_t ab = sizeof(float) * (size_t)m * k, bb = sizeof(float) * (size_t)k * n,
                 cb = sizeof(float) * (size_t)m * n;
    const int slots = dev.workspace_slots();
    DeviceBuffer da(dev, ab, "GEMM operand A"), db(dev, bb, "GEMM operand B"), dc(dev, cb, "GEMM result"),
        dw(dev, sizeof(float) * ops.matmul_workspace_floats * slots, "GEMM workspace");
    q->upload(da.get(), a, ab);
    q->upload(db.get(), b, bb);
    const Workspace ws{dw.get<float>(), slots, ops.matmul_workspace_floats};
    ops.matmul_forward(dc.get<float>(), da.get<float>(), db.get<float>(), nullptr, m, k, n, 0, ws);  // warm-up
    q->finish();
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < repeats; ++r)
      ops.matmul_forward(dc.get<float>(), da.get<float>(), db.get<float>(), nullptr, m, k, n, 0, ws);
    q->finish();
    *out_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
    q->download(c, dc.get(), cb);
    q->finish();
  });
}

}  // extern "C"
