// A context: one arena holding every activation, gradient, KV-cache and scratch buffer, laid out by
// context_layout() (which is also what inq_context_memory_size reports), plus the state of the last forward and
// of the KV cache. Nothing in the forward, backward or cache paths allocates.
#pragma once

#include "model.h"

namespace inq {

// Encoder-decoder arena regions (byte offsets), laid out by seq2seq_layout (seq2seq.cpp). Every encoder (decoder)
// block keeps its own copy of the buffers of one block, `enc_stride` (`dec_stride`) bytes apart, so that a forward can
// be differentiated and its attention read afterwards; the decoder self-attention cache and the cross-attention
// keys/values of a forward stay for KV-cached decoding.
struct S2SLayout {
  size_t enc_layers, dec_layers, enc_stride, dec_stride;
  // Within a block (bytes from its start): input x, sublayer streams h1, h2, post-norm norm inputs s1..s3, norm
  // statistics m*/r* [bt], qkv [bt, 3A], att [B, H, T, T], cross q [bt, A], cross kv [bt, 2A], cross att, ff
  // pre-activation [bt, FF], self-attention cache [bt, 2A] (decoder).
  size_t x, h1, h2, s1, s2, s3, m1, r1, m2, r2, m3, r3, qkv, att, cq, ckv, catt, ff, cache;
  // Final residual streams and norms [bt, C] (+ statistics): encoder output (what cross-attention reads), decoder
  // output (what the LM head reads).
  size_t enc_res, enc_out, enc_m, enc_r, dec_res, dec_out, dec_m, dec_r;
  size_t bias_enc, bias_dec, bias_step;  // T5 relative position bias [H, T, T] ([H, T] for a cache step)
  size_t t_norm, t_attn, t_proj, t_act, t_pos, t_in;  // forward scratch [bt, .]
  size_t t_qkv, t_att, t_x, t_y, t_s, t_ff, t_m, t_r;  // cache-step scratch [batch, .]
  // Backward (R = max_cotangents rows of max_seq positions): gradient streams of the decoder, of the encoder output
  // and of the encoder, sublayer scratch, attention scratch [R, H, T], the LM head's input gradient [R, C].
  // The decoder's rows are packed per cotangent (positions 0 .. its position); dfull_* hold the attention backward's
  // full-layout [R, T, .] inputs and outputs.
  size_t g_dec, g_enc, g_src, d1, d2, dqkv, dattn, dkv, dff, dact, scratch, dfinal, dfull_a, dfull_qkv;
  // Integer tables: positions, staged ids / masks, full-length row maps (cotangent r owns rows r*T .. r*T+T-1).
  size_t pos, src_ids, src_mask, tgt_ids, tgt_mask, enc_start, enc_owner, dec_start, dec_owner, step_ids;
  size_t dec_full_idx, dec_packed_idx;  // packed <-> full decoder row gather tables
};

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
  // inq_sample_next stages step_rows rows at a time: uniforms (double), forced ids, ban offsets and chosen ids (the
  // ban ids themselves go to the second half of step_logits; the log-probabilities to step_scores).
  size_t sample_u, sample_forced, sample_ban_off, sample_ids;
  size_t workspace;
  int workspace_slots;
  size_t workspace_floats;  // per slot: enough for matmul_* and step_fn_*
  // Integer tables the host computes or stages for the ops (pos, cache_mask, cache_count, row_start, row_owner,
  // step_tgt, step_ctgt; ids, mask: a forward's inputs; gather_idx: rows to gather), laid out together at the end
  // of the arena in [ints_begin, ints_end) so that a device context keeps one host mirror of them.
  size_t ids, mask, gather_idx;
  // Encoder-decoder buffers (seq2seq.cpp's S2SLayout; all zero-sized for decoder-only models).
  S2SLayout s2s;
  size_t ints_begin, ints_end;
  size_t total;
};

Layout context_layout(const Model* m, int max_batch, int max_seq, int max_cot, int flags);
void validate_context_args(const Model* m, int max_batch, int max_seq, int max_cot, int flags);

struct GradAccumulator;  // grad_accumulator.h

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
  // Rows inq_sample_next reads: the final-norm (decoder-output) row of the last position of each of the `batch` rows
  // of the last forward, prefill or cache step; row b is row b * stride + last of the [., n_embd] buffer at arena
  // offset `off`. batch 0: none (no such call yet, or it failed).
  struct SampleRows {
    int batch = 0;
    size_t off = 0;
    int64_t stride = 0, last = 0;
  } sample_rows;
  // Encoder-decoder: source length of the last forward (fwd_seq is the target length).
  int s2s_src_len = 0;
  bool s2s_src_masked = false;
  // Granular gradient accumulator (ABI 6, grad_accumulator.h): its own device memory, created by
  // inq_grad_accumulator_reset, freed with the context.
  inq::GradAccumulator* grad_acc = nullptr;

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
