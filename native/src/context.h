// A context: one arena holding every activation, gradient, KV-cache and scratch buffer, laid out by
// context_layout() (which is also what inq_context_memory_size reports), plus the state of the last forward and
// of the KV cache. Nothing in the forward, backward or cache paths allocates.
#pragma once

#include "model.h"

namespace inq {

// Byte offsets into the arena. Per-layer buffers have `layer_slots` copies (n_layer when the context can keep a
// forward for backward, else 1, reused by every layer); `res_slots` residual streams (n_layer + 1, else 2).
struct Layout {
  int layer_slots, att_slots, res_slots;
  int64_t bt;  // max_batch * max_seq
  size_t res, res_mid, ln1_mean, ln1_rstd, ln2_mean, ln2_rstd, lnf_mean, lnf_rstd, qkv, att, fc_pre;
  size_t ln_out, attn_y, fc_act, pos;
  size_t kcache, vcache, cache_mask, cache_count, att_decode;
  size_t g, c1, c2, big, att_scratch, dlnf, row_start, row_owner;  // backward (empty when max_cotangents = 0)
  size_t tok_emb;  // point 0 of a kept forward: the token embeddings (empty when max_cotangents = 0)
  // Step functions: blocks of step_rows logits rows recomputed from the final-norm output (ln_out). step_gather
  // [2 * step_rows, C] holds the gathered rows (targets, then contrasts), step_logits [2 * step_rows, V] their logits
  // (or host contrast rows in the second half), step_dlogits [max_cotangents, V] the cotangents of inq_backward_step.
  int step_rows;
  size_t step_gather, step_logits, step_dlogits, step_tgt, step_ctgt, step_scores;
  size_t workspace;
  int workspace_slots;
  size_t workspace_floats;  // per slot: enough for matmul_* and step_fn_*
  // Integer tables the host computes or stages for the ops (pos, cache_mask, cache_count, row_start, row_owner,
  // step_tgt, step_ctgt; ids, mask: a forward's inputs; gather_idx: rows to gather), laid out together at the end
  // of the arena in [ints_begin, ints_end) so that a device context keeps one host mirror of them.
  size_t ids, mask, gather_idx;
  // Encoder-decoder (MARIAN) forward buffers, empty for decoder-only models: encoder and decoder residual streams
  // [bt, C], wide [bt, 3C] (q | k | v), kv [bt, 2C] (cross k | v), t1 / t2 [bt, C], ff [bt, n_inner], LayerNorm
  // statistics [bt], att [B, H, T, T], the sinusoidal table [n_positions, C]; integer tables s2s_* (pos, ids, masks).
  size_t s2s_enc, s2s_dec, s2s_wide, s2s_kv, s2s_t1, s2s_t2, s2s_ff, s2s_mean, s2s_rstd, s2s_att, s2s_table;
  size_t s2s_pos, s2s_src_ids, s2s_src_mask, s2s_tgt_ids, s2s_tgt_mask;
  size_t ints_begin, ints_end;
  size_t total;
};

Layout context_layout(const Model* m, int max_batch, int max_seq, int max_cot, int flags);
void validate_context_args(const Model* m, int max_batch, int max_seq, int max_cot, int flags);

}  // namespace inq

struct inq_context {
  inq::Model* model;
  const inq::Ops* ops;
  int max_batch, max_seq, max_cot, flags;
  inq::Layout L;
  char* arena = nullptr;      // device memory (host memory on the CPU)
  inq::Queue* queue = nullptr;  // the stream the context's ops and copies run on
  char* host_ints = nullptr;  // device contexts: host mirror of the arena's integer block (NULL on the CPU)

  // Last forward: its shape, the point it started from, whether it is kept (for backward / attention) and whether
  // ln_out still holds its final-norm output (step functions read it; a cache step overwrites it).
  int fwd_batch = 0, fwd_seq = 0, fwd_point = 0;
  bool kept = false, kept_attention = false, scorable = false;
  // KV cache.
  int cache_batch = 0, cache_len = 0;
  // MARIAN: the sinusoidal table in s2s_table has been computed.
  bool s2s_table_ready = false;

  template <typename T = float>
  T* buf(size_t off) const {
    return reinterpret_cast<T*>(arena + off);
  }
  // True when arena pointers are host pointers (the CPU): ops may then read and write the caller's buffers directly.
  bool on_host() const { return host_ints == nullptr; }
  // Host view of an integer table of the integer block (the arena itself on the CPU, the mirror on a device).
  template <typename T = int32_t>
  T* hbuf(size_t off) const {
    return reinterpret_cast<T*>(host_ints ? host_ints + (off - L.ints_begin) : arena + off);
  }
  // Makes the device copy of `count` entries at `off` equal to the host view (nothing to do on the CPU).
  void push_ints(size_t off, int64_t count) const {
    if (host_ints && count > 0) queue->upload(arena + off, host_ints + (off - L.ints_begin), sizeof(int32_t) * count);
  }
  ~inq_context();
};

namespace inq {
using Context = ::inq_context;
Context* context_create(Model* m, int max_batch, int max_seq, int max_cot, int flags);
}  // namespace inq
