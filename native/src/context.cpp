#include "context.h"
#include "grad_accumulator.h"
#include "seq2seq.h"

#include <algorithm>
#include <new>

namespace inq {

void validate_context_args(const Model* m, int max_batch, int max_seq, int max_cot, int flags) {
  INQ_CHECK_POSITIVE(max_batch);
  INQ_CHECK_POSITIVE(max_seq);
  INQ_CHECK(max_cot >= 0, INQ_ERR_INVALID_ARGUMENT, "argument 'max_cotangents' must be >= 0 (got %d)", max_cot);
  INQ_CHECK((flags & ~(INQ_CTX_KEEP_ATTENTION | INQ_CTX_TF32 | INQ_CTX_BF16)) == 0, INQ_ERR_INVALID_ARGUMENT,
            "argument 'flags' has unknown bits 0x%x (known: INQ_CTX_KEEP_ATTENTION = 1, INQ_CTX_TF32 = 2, "
            "INQ_CTX_BF16 = 4)", flags);
  INQ_CHECK((flags & (INQ_CTX_TF32 | INQ_CTX_BF16)) != (INQ_CTX_TF32 | INQ_CTX_BF16), INQ_ERR_INVALID_ARGUMENT,
            "argument 'flags' asks for both INQ_CTX_TF32 and INQ_CTX_BF16; a context has one GEMM mode");
  INQ_CHECK((int64_t)max_cot * max_seq < ((int64_t)1 << 31) && (int64_t)max_batch * max_seq < ((int64_t)1 << 31),
            INQ_ERR_INVALID_ARGUMENT, "max_batch (%d) or max_cotangents (%d) times max_seq (%d) reaches 2^31 rows",
            max_batch, max_cot, max_seq);
  INQ_CHECK(max_seq <= m->cfg.n_positions, INQ_ERR_INVALID_ARGUMENT,
            "max_seq %d exceeds the model's n_positions %d", max_seq, m->cfg.n_positions);
}

Layout context_layout(const Model* m, int max_batch, int max_seq, int max_cot, int flags) {
  validate_context_args(m, max_batch, max_seq, max_cot, flags);
  const inq_model_config& c = m->cfg;
  const int64_t B = max_batch, T = max_seq, R = max_cot, C = c.n_embd, I = c.n_inner, H = c.n_head,
                L_ = c.n_layer;
  Layout L{};
  L.layer_slots = max_cot > 0 ? c.n_layer : 1;
  L.att_slots = (max_cot > 0 || (flags & INQ_CTX_KEEP_ATTENTION)) ? c.n_layer : 1;
  L.res_slots = max_cot > 0 ? c.n_layer + 1 : 2;
  L.bt = B * T;
  // The GEMM uses at most this many threads on this context's workspace (see Workspace in ops.h).
  L.workspace_slots = std::max(1, m->dev->workspace_slots());
  size_t off = 0;
  auto take = [&](int64_t count, size_t elem) {
    const size_t o = off;
    off += align_up((size_t)count * elem, 64);
    return o;
  };
  const int64_t bt = L.bt, ls = L.layer_slots;
  L.res = take(L.res_slots * bt * C, 4);
  L.res_mid = take(ls * bt * C, 4);
  const bool has_mean = !uses_rmsnorm(c);  // RMSNorm keeps only rstd
  L.ln1_mean = take(has_mean ? ls * bt : 0, 4);
  L.ln1_rstd = take(ls * bt, 4);
  L.ln2_mean = take(has_mean ? ls * bt : 0, 4);
  L.ln2_rstd = take(ls * bt, 4);
  L.lnf_mean = take(has_mean ? bt : 0, 4);
  L.lnf_rstd = take(bt, 4);
  const int64_t QKV = qkv_width(c), FC = mlp_pre_width(c), KVC = kv_width(c);
  const bool gated = c.arch == INQ_ARCH_LLAMA;  // SwiGLU: gate | up
  L.qkv = take(ls * bt * QKV, 4);
  L.att = take(L.att_slots * B * H * T * T, 4);
  L.fc_pre = take(ls * bt * FC, 4);
  L.ln_out = take(bt * C, 4);
  L.attn_y = take(bt * C, 4);
  L.fc_act = take(bt * I, 4);
  L.kcache = take(L_ * bt * KVC, 4);
  L.vcache = take(L_ * bt * KVC, 4);
  L.att_decode = take(B * H * T, 4);
  L.g = take(R * T * C, 4);
  L.c1 = take(R * T * C, 4);
  L.c2 = take(R * T * C, 4);
  // big: the MLP's and attention's wide gradients (LLAMA: d(gate|up) in the first 2I columns of a row block,
  // d(silu(gate)*up) after R*T*2I floats).
  L.big = take(R * T * std::max(gated ? 3 * I : I, QKV), 4);
  L.att_scratch = take(R * H * T, 4);
  L.dlnf = take(R * C, 4);
  L.tok_emb = take(R > 0 ? bt * C : 0, 4);
  const int64_t V = c.vocab_size;
  // Step-function row blocks: every cotangent row of a backward at once, and at least 64 rows (or the whole forward
  // when smaller) for scoring, so scoring a long sequence runs the LM head as a GEMM rather than row by row.
  L.step_rows = (int)std::max<int64_t>({R, std::min<int64_t>(bt, 64), 1});
  const int64_t S = L.step_rows;
  L.step_gather = take(2 * S * C, 4);
  L.step_logits = take(2 * S * V, 4);
  L.step_dlogits = take(R * V, 4);
  L.step_scores = take(S, 4);
  L.sample_u = take(S, 8);
  L.workspace_floats = std::max(m->ops->matmul_workspace_floats, m->ops->step_fn_workspace_floats(c.vocab_size));
  L.workspace = take((int64_t)L.workspace_slots * (int64_t)L.workspace_floats, 4);
  seq2seq_layout_floats(L.s2s, m, max_batch, max_seq, max_cot, off);
  L.ints_begin = off;
  seq2seq_layout_ints(L.s2s, m, max_batch, max_seq, max_cot, off);
  L.pos = take(bt, 4);
  L.cache_mask = take(bt, 4);
  L.cache_count = take(B, 4);
  L.row_start = take(R + 1, 4);
  L.row_owner = take(R * T, 4);
  L.step_tgt = take(S, 4);
  L.step_ctgt = take(S, 4);
  L.sample_forced = take(S, 4);
  L.sample_ban_off = take(S + 1, 4);
  L.sample_ids = take(S, 4);
  L.ids = take(bt, 4);
  L.mask = take(bt, 4);
  L.gather_idx = take(2 * S, 4);
  L.ints_end = off;
  L.total = off;
  return L;
}

Context* context_create(Model* m, int max_batch, int max_seq, int max_cot, int flags) {
  INQ_CHECK(m->finalized, INQ_ERR_STATE, "model is not finalized (call inq_model_finalize before creating a context)");
  const Layout L = context_layout(m, max_batch, max_seq, max_cot, flags);
  Device& dev = *m->dev;
  char* arena = (char*)dev.alloc(L.total, "the context arena");
  char* host_ints = nullptr;
  Queue* queue = nullptr;
  try {
    if (!dev.host_memory())
      host_ints = (char*)aligned_alloc_or_throw(L.ints_end - L.ints_begin, "the context's integer tables");
    queue = dev.make_queue((flags & INQ_CTX_TF32) ? GemmMath::Tf32 : (flags & INQ_CTX_BF16) ? GemmMath::Bf16 : GemmMath::Fp32);
  } catch (...) {
    aligned_free(host_ints);
    dev.release(arena);
    throw;
  }
  Context* ctx = new (std::nothrow) Context();
  if (!ctx) {
    delete queue;
    aligned_free(host_ints);
    dev.release(arena);
    INQ_FAIL(INQ_ERR_OUT_OF_MEMORY, "allocating the context object failed");
  }
  ctx->model = m;
  ctx->ops = m->ops;
  ctx->max_batch = max_batch;
  ctx->max_seq = max_seq;
  ctx->max_cot = max_cot;
  ctx->flags = flags;
  ctx->L = L;
  ctx->arena = arena;
  ctx->queue = queue;
  ctx->host_ints = host_ints;
  m->refs.fetch_add(1);
  return ctx;
}

}  // namespace inq

inq_context::~inq_context() {
  delete queue;  // waits for the context's queued work
  inq::grad_accumulator_free(this);
  inq::aligned_free(host_ints);
  model->dev->release(arena);
  inq::model_release(model);
}
