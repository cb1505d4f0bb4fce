// The ops table: every numerical step the model graphs (gpt2.cpp, llama.cpp) take, as plain function pointers.
// native/cpu fills it now; native/kernels will fill it with the same names and argument order plus a stream
// argument last (STYLE: llm.c). Arguments: outputs first, then inputs, then sizes, then scalars.
// Every op writes every element of its outputs; none allocates; none keeps state between calls.
#pragma once

#include <cstddef>
#include <cstdint>

namespace inq {

// Backward ops read activations saved by a forward of batch B while producing gradients for R = B * n_cot
// cotangent rows. Causality makes the gradient of a cotangent at position p zero beyond p, so cotangent r only owns
// the gradient rows start[r] .. start[r+1]-1 (its positions 0, 1, ...), packed one after another: `rows` in all.
// Gradient row n of cotangent r = owner[n] at position t = n - start[r] reads the saved row (r / n_cot) at position t
// of a forward with T_saved positions.
struct RowMap {
  int R;                 // cotangent rows
  int rows;              // gradient rows in all (start[R])
  int n_cot;             // cotangent rows per saved forward row
  int T_saved;           // positions per row of the saved activations
  const int32_t* start;  // [R + 1]
  const int32_t* owner;  // [rows]
  int len(int r) const { return start[r + 1] - start[r]; }
  int64_t saved_row(int64_t n) const {
    const int r = owner[n];
    return (int64_t)(r / n_cot) * T_saved + (n - start[r]);
  }
};

// Scratch an op may use (GEMM packing buffers), carved from the caller's arena: `slots` independent regions of
// `floats_per_slot` floats, one per concurrently running thread; ops never use more threads than slots.
struct Workspace {
  float* data;
  int slots;
  size_t floats_per_slot;
};

// Arguments of the step-function ops (validated by the caller; see inq_step_fn_args in the header).
struct StepFnParams {
  int fn;        // inq_step_fn
  int logprob;   // 0 / 1
  int top_k;     // <= 0: no top-k filtering
  float top_p;   // >= 1: no top-p filtering
  int min_keep;  // min_tokens_to_keep (< 1 counts as 1)
};

// Arguments of sample_tokens (validated by the caller; see inq_sampling in the header).
struct SampleParams {
  int do_sample;      // 0: greedy (argmax), 1: draw
  float temperature;  // > 0 when do_sample
  int top_k;          // <= 0: no top-k cut
  float top_p;        // in (0, 1]; 1: no top-p cut
};

struct Ops {
  const char* backend;
  // Workspace floats one thread of matmul_* needs.
  size_t matmul_workspace_floats;
  // Workspace floats one thread of step_fn_* needs for a vocabulary of V (top-p / top-k filtering).
  size_t (*step_fn_workspace_floats)(int V);

  // out[n,:] = (ids ? wte[ids[n],:] : embeds[n,:]) + wpe[pos[n],:]; wpe NULL (rotary models): no position row.
  void (*embedding_forward)(float* out, const int32_t* ids, const float* embeds, const int32_t* pos, const float* wte,
                            const float* wpe, int N, int C, int V, int P);
  // y = (x - mean) * rstd * w + b, per row of C; mean and rstd saved for the backward.
  void (*layernorm_forward)(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, int N,
                            int C, float eps);
  // dx (input gradient only) for the map.rows gradient rows; x, mean, rstd are saved rows (see RowMap).
  void (*layernorm_backward)(float* dx, const float* dy, const float* x, const float* w, const float* mean,
                             const float* rstd, RowMap map, int C);
  // y = x * rstd * w with rstd = 1 / sqrt(mean(x^2) + eps) per row of C (RMSNorm); rstd saved for the backward.
  void (*rmsnorm_forward)(float* out, float* rstd, const float* x, const float* w, int N, int C, float eps);
  // dx (input gradient only) for the map.rows gradient rows; x and rstd are saved rows (see RowMap).
  void (*rmsnorm_backward)(float* dx, const float* dy, const float* x, const float* w, const float* rstd, RowMap map,
                           int C);
  // Rotary position embedding (Hugging Face's rotate_half layout) of the first n_heads heads of hd columns of each
  // row of W floats; the other columns are copied. Head pair (i, i + hd/2) at position p turns by p * inv_freq[i]:
  // inv_freq a table of hd/2 frequencies (rope_scaling), or NULL for theta^(-2i/hd). out may alias x.
  void (*rope_forward)(float* out, const float* x, const int32_t* pos, const float* inv_freq, int N, int W,
                       int n_heads, int hd, float theta);
  // dx = rotation back by the same angles for the map.rows gradient rows (pos indexed by saved row). dx may alias dy.
  void (*rope_backward)(float* dx, const float* dy, const int32_t* pos, const float* inv_freq, RowMap map, int W,
                        int n_heads, int hd, float theta);
  // out[N,M] = x[N,K] . W + bias; W is [K,M] (transB = 0, HF Conv1D) or [M,K] (transB = 1, Linear / tied LM head).
  void (*matmul_forward)(float* out, const float* x, const float* w, const float* bias, int N, int K, int M, int transB,
                         const Workspace& ws);
  // dx[N,K] = dy[N,M] . W^T for the same W layouts.
  void (*matmul_backward_input)(float* dx, const float* dy, const float* w, int N, int K, int M, int transB,
                                const Workspace& ws);
  // Elementwise activation (kind: inq_activation).
  void (*activation_forward)(float* out, const float* x, int64_t N, int kind);
  // dx = dy * act'(x) over the map.rows gradient rows of W elements; x is saved rows (see RowMap). dx may alias dy.
  void (*activation_backward)(float* dx, const float* dy, const float* x, RowMap map, int W, int kind);
  // Gated MLP activation: out[n, i] = act(gu[n, i]) * gu[n, I + i] over rows of gu [N, 2I] (gate | up), act an
  // inq_activation: SwiGLU (LLAMA) with INQ_ACT_SILU, T5's gated-gelu with INQ_ACT_GELU_TANH.
  void (*gated_act_forward)(float* out, const float* gu, int64_t N, int I, int kind);
  // dgu [rows, 2I] from dy [rows, I]; gu is saved rows (see RowMap).
  void (*gated_act_backward)(float* dgu, const float* dy, const float* gu, RowMap map, int I, int kind);
  // out = a + b (out may alias a or b).
  void (*residual_forward)(float* out, const float* a, const float* b, int64_t N);
  // Causal multi-head (grouped-query when KVH < H) self-attention over qkv rows of W = C + 2 * KVH * hd floats,
  // hd = C / H: q | k | v, query head h at columns h*hd, its key/value head g = h / (H / KVH) at C + g*hd and
  // C + KVH*hd + g*hd. Key j is visible to query i iff j <= i, mask[b,j] != 0 (mask NULL: all visible) and, with a
  // sliding window (window > 0; 0: none), i - j < window (Mistral: transformers 4.38's eager mask). out [B,T,C];
  // att [B,H,T,T] probabilities, exactly 0 where masked; a query with no visible key gets zero probabilities and zero
  // output. scale multiplies scores. GPT-2: KVH = H, W = 3C.
  void (*attention_forward)(float* out, float* att, const float* qkv, const int32_t* mask, int B, int T, int C, int H,
                            int KVH, int window, float scale);
  // dqkv [rows,W] from dout [rows,C]; qkv and att are saved rows (att [B,H,T_saved,T_saved]). Masked keys (padding,
  // outside the window) have probability exactly 0 and contribute nothing, so the backward needs no window.
  // scratch: R * H * T_saved floats.
  void (*attention_backward)(float* dqkv, float* scratch, const float* dout, const float* qkv, const float* att,
                             RowMap map, int C, int H, int KVH, float scale);
  // Copies k and v of qkv [B,T,W] into caches [B,S,KVH*hd] at positions pos0 .. pos0+T-1.
  void (*kv_cache_write)(float* kcache, float* vcache, const float* qkv, int B, int T, int S, int pos0, int C, int H,
                         int KVH);
  // One new query per row (qkv [B,W], its k and v already in the cache at position n_keys-1) against cached keys
  // 0 .. n_keys-1 with mask [B,S]; window > 0 also masks keys j <= n_keys-1 - window (as attention_forward does for
  // query n_keys-1). out [B,C]; att [B,H,n_keys] probabilities.
  void (*attention_decode)(float* out, float* att, const float* qkv, const float* kcache, const float* vcache,
                           const int32_t* mask, int B, int n_keys, int S, int C, int H, int KVH, int window,
                           float scale);
  // out [rows,C] = 0 except the last gradient row of each cotangent r (its position) = src[r, :].
  void (*cotangent_scatter)(float* out, const float* src, RowMap map, int C);
  // Inseq's step functions over R logits rows [R,V] (see inq_step_fn in the header for the values).
  // contrast_logits [R,V] or NULL: the row itself ("shares logits"); contrast_targets [R] or NULL: the targets.
  // Ids are range-checked by the caller. Each row is reduced in double, in a fixed order, by one thread.
  void (*step_fn_scores)(float* scores, const float* logits, const float* contrast_logits, const int32_t* targets,
                         const int32_t* contrast_targets, int R, int V, StepFnParams p, const Workspace& ws);
  // dlogits [R,V] = d score / d logits (contrast terms count only when shared) and scores [R] (may be NULL).
  // The caller rejects TOP_P_SIZE and KL_DIVERGENCE with shared logits (no gradient).
  void (*step_fn_dlogits)(float* dlogits, float* scores, const float* logits, const float* contrast_logits,
                          const int32_t* targets, const int32_t* contrast_targets, int R, int V, StepFnParams p,
                          const Workspace& ws);

  // Attention over separate query rows q [B,Tq] (row stride q_stride, head h at columns h*hd, hd = C / H) and
  // key/value rows kv [B,Tk] (row stride kv_stride: key head h at h*hd, value head h at C + h*hd): bidirectional
  // encoder self-attention and decoder cross-attention (causal = 0), or causal (key j visible to query i iff j <= i).
  // mask [B,Tk] (NULL: all visible) masks keys. out [B,Tq,C]; att [B,H,Tq,Tk] probabilities, exactly 0 where masked;
  // a query with no visible key gets zero probabilities and zero output. Self-attention over fused qkv rows [B,T,3C]:
  // q = qkv, kv = qkv + C, both strides 3C. bias [H,Tq,Tk] (NULL: none) is added to the scaled scores of every batch
  // row (T5's relative position bias); it does not depend on the inputs, so the backward is unchanged.
  void (*cross_attention_forward)(float* out, float* att, const float* q, const float* kv, const int32_t* mask, int B,
                                  int Tq, int Tk, int C, int H, int64_t q_stride, int64_t kv_stride, int causal,
                                  float scale, const float* bias);
  // Input backward for R = B * n_cot cotangent rows (row r reads saved forward row r / n_cot): dq [R,Tq] (stride
  // q_stride; columns 0..C-1 of each row written) and dkv [R,Tk] (stride kv_stride; columns 0..2C-1 written) from
  // dout [R,Tq,C]. dq and dkv may be the two halves of one fused dqkv buffer. scratch: R * H * Tk floats.
  void (*cross_attention_backward)(float* dq, float* dkv, float* scratch, const float* dout, const float* q,
                                   const float* kv, const float* att, int R, int n_cot, int Tq, int Tk, int C, int H,
                                   int64_t q_stride, int64_t kv_stride, float scale);
  // Sinusoidal position rows for the N positions pos[n] >= 0: out [N,C], sin of the first C/2 columns, cos of the
  // rest (not interleaved). layout 0 (Marian): frequency i = 10000^(-2i/C), computed in double, rounded once.
  // layout 1 (fairseq / M2M100): frequency i = exp(-i * ln(10000) / (C/2 - 1)), computed in float32 as torch does
  // (frequency, then pos * frequency rounded to float, then sin/cos); an odd C gets a zero last column.
  void (*sinusoidal_positions)(float* out, const int32_t* pos, int N, int C, int layout);
  // T5's relative position bias: out[h, i, j] = table[bucket(j - (i + q_offset)), h] for queries i < Tq and keys
  // j < Tk; table [num_buckets, H]. bucket() is Hugging Face's _relative_position_bucket (bidirectional: half the
  // buckets per sign; else only keys at or before the query count), with its float32 logarithm arithmetic.
  void (*relative_position_bias)(float* out, const float* table, int H, int Tq, int Tk, int q_offset,
                                 int bidirectional, int num_buckets, int max_distance);
  // out = a * scale + b (out may alias a or b): scaled token embeddings plus position rows.
  void (*scale_add_forward)(float* out, const float* a, float scale, const float* b, int64_t N);
  // The next token of each of N rows of logits [N,V] (generation; the managed reference is
  // Generation/TokenSampler.cs). First the row's banned ids ban_ids[ban_offsets[r] .. ban_offsets[r+1] - 1]
  // (ban_offsets NULL: none) are set to -inf in `logits` (in place: the row stays banned). Then ids[r] is forced[r]
  // when forced != NULL and forced[r] >= 0; else the argmax (ties: lowest id) when !p.do_sample; else a draw with
  // uniforms[r] in [0, 1): scaled = logit / temperature (float division), ordered by scaled desc then id asc, the
  // first top_k kept, probs = exp(scaled - max) in double, Hugging Face's top-p cut, the first id whose running sum
  // exceeds u * (kept sum). logprobs[r] (may be NULL) = log_softmax(banned row)[ids[r]], untempered, in double.
  // Ids are range-checked by the caller. CPU: one thread per row, sorting 2V floats of workspace per thread;
  // CUDA: one block per row, no sort and no workspace (see kernels/sampling.cuh).
  void (*sample_tokens)(int32_t* ids, float* logprobs, float* logits, const double* uniforms, const int32_t* forced,
                        const int32_t* ban_offsets, const int32_t* ban_ids, int N, int V, SampleParams p,
                        const Workspace& ws);

  // Granular gradient accumulation (ABI 6, DESIGN §5.6): for the R = B * n_cot cotangents of map (cotangent
  // r = b * n_cot + i: forward row b, column i), gradient row start[r] + t (t < len(r)) is added into the cell
  // (row_off + t, steps[i]) of acc [T_acc, K, C]: acc += weights[b] * g (then * mul[b, row_off + t, :] when mul is
  // not NULL; mul [B, T_acc, C]). steps [n_cot] are distinct (no two columns share a cell); row_off + len(r) <= T_acc.
  // Each cell adds its contributions in ascending b, every operation rounded (no FMA contraction): bitwise the
  // managed sink's loop. Cells no cotangent reaches are left as they are.
  void (*grad_accumulate)(float* acc, const float* grads, const float* weights, const float* mul,
                          const int32_t* steps, RowMap map, int row_off, int T_acc, int K, int C);
  // The default aggregation's vector norm over the hidden units of an accumulator acc [T, K, C] (ABI 6, DESIGN §5.6):
  // v = acc[t, k, h] (* mul[t, h] when mul is not NULL; mul [T, C]) rounded to float, l2[t, k] = sqrt(sum_h v^2) and
  // sum[t, k] = sum_h v (sum may be NULL), both accumulated in double in ascending h.
  void (*grad_reduce)(float* l2, float* sum, const float* acc, const float* mul, int T, int K, int C);
};

// The CPU twin (native/cpu/ops_table.cpp).
const Ops& cpu_ops();
// Name of the GEMM micro-kernel the CPU backend picked at run time (build info, benchmarks).
const char* cpu_gemm_kernel_name();

}  // namespace inq
