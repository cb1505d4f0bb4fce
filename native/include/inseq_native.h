/*
 * inseq_native.h — THE contract between InseqNative's managed side and its native library.
 *
 * Rules (DESIGN §2):
 *   - every export is prefixed inq_ and returns an inq_status (int32); 0 is success;
 *   - on failure inq_last_error() returns a thread-local, NUL-terminated message ("file:line: cause")
 *     that stays valid until the next inq_ call on the same thread;
 *   - no C++ exception and no abort ever crosses this boundary;
 *   - fixed-width types only, int32 flags instead of bool, caller-provided output buffers;
 *   - one context is used by one thread at a time; different contexts may run concurrently;
 *     a model's weights are read-only once finalized and may be shared by many contexts.
 *
 * Layout conventions: all tensors are dense, row-major, fp32 unless stated; [B, T, C] means
 * index ((b * T) + t) * C + c.
 *
 * Bump INQ_ABI_VERSION on any change to a signature, a struct, an enum value or an op's argument list.
 */
#ifndef INSEQ_NATIVE_H
#define INSEQ_NATIVE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define INQ_API __declspec(dllexport)
#else
#define INQ_API __attribute__((visibility("default")))
#endif

#define INQ_ABI_VERSION 6 /* 2: points (inq_get_hidden, inq_forward_from_hidden, inq_backward), step functions;
                            3: INQ_ARCH_LLAMA (RMSNorm, rotary positions, grouped-query attention, SwiGLU);
                            4: ops cross_attention_forward/_backward, sinusoidal_positions, scale_add_forward; INQ_ARCH_MARIAN
                            (n_encoder_layer, embed_scale), inq_seq2seq_forward;
                            5: INQ_ARCH_M2M100, INQ_ARCH_T5 (head_dim, rel_num_buckets, rel_max_distance), kept
                            seq2seq forwards with inq_seq2seq_backward / _get_attention / _embed_tokens, KV-cached
                            seq2seq decoding (INQ_FWD_FILL_CACHE, inq_seq2seq_cache_step), seq2seq step functions
                            (inq_seq2seq_step_scores, inq_seq2seq_backward_step); ops gated_act_* (was
                            swiglu_*), relative_position_bias, cross_attention bias, sinusoidal layout;
                            LLAMA sliding_window (Mistral), ops window_attention_forward, attention_decode;
                            LLAMA rope_inv_freq_table (rope_scaling), rope ops' optional inv_freq input;
                            6: INQ_CTX_BF16, inq_cuda_device_info / inq_device_info, inq_bench_gemm(flags,
                            repeats, out_seconds), device sampling (op sample_tokens, inq_sample_next; NULL logits
                            accepted by inq_cache_prefill / inq_cache_step), granular gradient accumulation
                            (inq_grad_accumulator_reset / _read, inq_backward_step_accumulate,
                            inq_seq2seq_backward_step_accumulate, inq_grad_accumulator_reduce, ops grad_accumulate,
                            grad_reduce) */

/* ---------------------------------------------------------------- status codes */
typedef enum inq_status {
  INQ_OK = 0,
  INQ_ERR_INVALID_ARGUMENT = 1, /* a value out of its domain (negative size, unknown enum, bad name) */
  INQ_ERR_NULL_POINTER = 2,     /* a required pointer was NULL */
  INQ_ERR_SHAPE = 3,            /* a tensor's shape disagrees with the model or the op */
  INQ_ERR_CAPACITY = 4,         /* batch / sequence / cotangent rows beyond what the context was sized for */
  INQ_ERR_OUT_OF_MEMORY = 5,    /* allocation failed; message names requested and (GPU) free bytes */
  INQ_ERR_UNSUPPORTED = 6,      /* a feature this build or backend does not have (e.g. CUDA in the CPU build) */
  INQ_ERR_DEVICE = 7,           /* a device (CUDA) fault; the context is marked unusable */
  INQ_ERR_STATE = 8,            /* call out of order (backward without a kept forward, step without a cache, ...) */
  INQ_ERR_INTERNAL = 9          /* a bug: an unexpected C++ exception caught at the boundary */
} inq_status;

/* ---------------------------------------------------------------- library */
INQ_API int32_t inq_abi_version(void);
/* Thread-local message of the last failed call on this thread ("" if none). Never NULL. */
INQ_API const char* inq_last_error(void);
/* Number of CUDA devices usable by this build (0 in the CPU-only build or without a GPU). */
INQ_API int32_t inq_cuda_device_count(int32_t* out_count);
/* Human-readable build description: backends compiled in, compiler, OpenMP, CUDA runtime (caller buffer). */
INQ_API int32_t inq_build_info(char* buffer, int32_t capacity);
/* Facts about one CUDA device (ABI 6), for output metadata and benchmark headers. struct_size must be
 * sizeof(inq_device_info). Versions are CUDA's integers (13000 = 13.0); driver_version 0 = no driver. */
typedef struct inq_device_info {
  int32_t struct_size;
  char name[256];               /* "NVIDIA H100 80GB HBM3" */
  int32_t cc_major, cc_minor;   /* compute capability */
  int32_t multiprocessors;      /* SMs */
  int32_t clock_khz;            /* peak SM clock (cudaDevAttrClockRate) */
  int64_t total_bytes;          /* device memory */
  int64_t free_bytes;           /* free device memory now */
  int32_t driver_version;       /* cudaDriverGetVersion */
  int32_t runtime_version;      /* the CUDA runtime this library was built with (static) */
} inq_device_info;
/* INQ_ERR_INVALID_ARGUMENT for an ordinal without a device (the message says how many exist), INQ_ERR_UNSUPPORTED in the
 * CPU-only build. */
INQ_API int32_t inq_cuda_device_info(int32_t ordinal, inq_device_info* out_info);
/* CPU threads used by OpenMP regions (n <= 0: the runtime default). */
INQ_API int32_t inq_set_num_threads(int32_t n);
INQ_API int32_t inq_get_num_threads(int32_t* out_n);

/* ---------------------------------------------------------------- devices */
/* device: INQ_DEVICE_CPU, or a CUDA ordinal >= 0. */
#define INQ_DEVICE_CPU (-1)

/* ---------------------------------------------------------------- models */
typedef enum inq_arch {
  INQ_ARCH_GPT2 = 1, /* GPT2LMHeadModel: LayerNorm, learned positions, Conv1D [in, out] weights, fused c_attn */
  INQ_ARCH_LLAMA = 2, /* LlamaForCausalLM and its kin (Mistral, Qwen2): RMSNorm, rotary positions, grouped-query
                        attention, SwiGLU MLP, Linear [out, in] weights, no embedding scale */
  INQ_ARCH_MARIAN = 3, /* MarianMTModel: encoder-decoder, post-norm LayerNorm blocks, sinusoidal positions (half sin |
                        half cos), embeddings x embed_scale, shared/tied embeddings, final_logits_bias */
  INQ_ARCH_M2M100 = 4, /* M2M100ForConditionalGeneration (and NLLB's layout): pre-norm LayerNorm blocks, final encoder
                          and decoder LayerNorms, fairseq sinusoidal positions starting at 2, embeddings x embed_scale,
                          tied LM head, no final_logits_bias */
  INQ_ARCH_T5 = 5 /* T5ForConditionalGeneration (Flan-T5): pre-norm RMS norms without mean, final norms, relative
                     position bias from the first block shared by all blocks (bidirectional in the encoder, causal in
                     the decoder), unscaled scores, no biases, gated-gelu (n_inner per half) or ReLU feed-forward,
                     shared embeddings, LM head untied or tied with d_model^-0.5 */
} inq_arch;

typedef enum inq_activation {
  INQ_ACT_GELU_TANH = 1, /* gelu_new / gelu_pytorch_tanh */
  INQ_ACT_GELU_ERF = 2,  /* exact gelu */
  INQ_ACT_RELU = 3,
  INQ_ACT_SILU = 4
} inq_activation;

/* Passed by pointer; struct_size must be sizeof(inq_model_config) so the layout can grow. */
typedef struct inq_model_config {
  int32_t struct_size;
  int32_t arch;             /* inq_arch */
  int32_t n_layer;
  int32_t n_head;
  int32_t n_embd;
  int32_t n_inner;          /* MLP width (GPT-2: 4 * n_embd when the config says null; LLAMA: intermediate_size) */
  int32_t n_positions;      /* GPT-2: learned position table rows; LLAMA: longest sequence accepted (no table) */
  int32_t vocab_size;
  int32_t activation;       /* inq_activation */
  float norm_eps;           /* LayerNorm eps (GPT-2) or RMSNorm eps (LLAMA: rms_norm_eps) */
  int32_t tie_word_embeddings;              /* 1: LM head is the token embedding (GPT-2) */
  int32_t scale_attn_weights;               /* 1: scores / sqrt(head_dim) (LLAMA: must be 1) */
  int32_t scale_attn_by_inverse_layer_idx;  /* 1: scores additionally / (layer_index + 1) (LLAMA: must be 0) */
  /* ABI 3 */
  int32_t n_kv_head;        /* key/value heads of grouped-query attention; 0 means n_head. Must divide n_head.
                               GPT-2: 0 or n_head */
  float rope_theta;         /* LLAMA: rotary base (rope_theta, > 0); GPT-2: ignored */
  int32_t attn_qkv_bias;    /* LLAMA: 1 = q/k/v projections have biases (Llama attention_bias, Qwen2) */
  int32_t attn_out_bias;    /* LLAMA: 1 = o_proj has a bias (Llama attention_bias) */
  int32_t mlp_bias;         /* LLAMA: 1 = gate/up/down projections have biases (Llama mlp_bias) */
  /* ABI 4 (encoder-decoder; 0 for decoder-only archs) */
  int32_t n_encoder_layer;  /* MARIAN: encoder blocks (n_layer is the decoder's); n_head / n_inner are shared */
  float embed_scale;        /* MARIAN: token embeddings are multiplied by this (sqrt(d_model) or 1) before the
                               position rows are added; caller-given input embeddings are taken as already scaled */
  /* ABI 5 */
  int32_t head_dim;         /* attention head width (T5: d_kv); 0 means n_embd / n_head. The attention's inner
                               width is n_head * head_dim and may differ from n_embd (T5 only) */
  int32_t rel_num_buckets;  /* T5: relative_attention_num_buckets (> 0); others 0 */
  int32_t rel_max_distance; /* T5: relative_attention_max_distance (> 0); others 0 */
  int32_t gated_mlp;        /* T5: 1 = gated feed-forward (wi_0 | wi_1, act(wi_0 x) * wi_1 x), 0 = wi + act */
  int32_t sliding_window;   /* LLAMA (Mistral): query i sees key j only if i - j < sliding_window (sequence index,
                               transformers 4.38's mask), in forwards and KV-cached steps; 0 = no window. Other
                               archs: 0 */
  int32_t rope_inv_freq_table; /* LLAMA: 1 = rotary frequencies come from the tensor "rope.inv_freq" [head_dim / 2]
                               set by the caller (rope_scaling linear / llama3), 0 = theta^(-2i/head_dim). Others 0 */
} inq_model_config;

typedef struct inq_model inq_model;
typedef struct inq_context inq_context;

/* Creates a model with unset weights on a device. Validates the config (positive sizes, heads divide width, ...). */
INQ_API int32_t inq_model_create(const inq_model_config* config, int32_t device, inq_model** out_model);
INQ_API int32_t inq_model_destroy(inq_model* model);

/* The tensors this model expects, by canonical name. GPT-2: Hugging Face names without the "transformer." prefix
 * ("wte.weight", "h.0.attn.c_attn.weight", "ln_f.bias", "lm_head.weight" when untied). LLAMA: LlamaForCausalLM's
 * names ("model.embed_tokens.weight", "model.layers.0.input_layernorm.weight",
 * "model.layers.0.self_attn.{q,k,v,o}_proj.{weight,bias}", "model.layers.0.post_attention_layernorm.weight",
 * "model.layers.0.mlp.{gate,up,down}_proj.{weight,bias}", "model.norm.weight", "lm_head.weight" when untied),
 * biases only where the config asks; Linear weights are [out, in]. Shapes use at most 4 dims. */
INQ_API int32_t inq_model_tensor_count(const inq_model* model, int32_t* out_count);
INQ_API int32_t inq_model_tensor_info(const inq_model* model, int32_t index, char* name_buffer,
                                      int32_t name_capacity, int64_t* shape /* [4] */, int32_t* out_ndim);
/* Copies fp32 data into the model's weight storage (uploads on CUDA). Shape must match exactly. */
INQ_API int32_t inq_model_set_tensor(inq_model* model, const char* name, const float* data,
                                     const int64_t* shape, int32_t ndim);
/* Checks every expected tensor was set (the message names the first missing one) and freezes the weights. */
INQ_API int32_t inq_model_finalize(inq_model* model);
/* Bytes of weight storage. */
INQ_API int32_t inq_model_weight_bytes(const inq_model* model, int64_t* out_bytes);

/* ---------------------------------------------------------------- contexts (activation arenas) */
/* A context owns one arena sized for forwards of up to max_batch x max_seq tokens, backwards of up to
 * max_cotangents cotangent rows of max_seq positions, and a KV cache of max_batch x max_seq.
 * flags: INQ_CTX_* bits. The context keeps its model alive until inq_context_destroy.
 * max_cotangents may be 0: a forward/generation-only context that keeps no per-layer activations (much smaller);
 * INQ_FWD_KEEP_FOR_BACKWARD then fails with INQ_ERR_CAPACITY. max_seq must not exceed the model's n_positions.
 * LLAMA keeps the rotated q and k of every layer (what attention read), the gate|up pre-activations (2 * n_inner per
 * token) and a KV cache of n_kv_head heads. The arena also holds GEMM scratch for the thread count in effect at creation (inq_set_num_threads); a context
 * uses at most that many threads in its GEMMs. Step functions (inq_step_scores, inq_backward_step) add
 * (2 * S * (n_embd + vocab) + max_cotangents * vocab) floats, S = max(max_cotangents, min(max_batch * max_seq, 64)),
 * and, with max_cotangents > 0, max_batch * max_seq * n_embd floats keep point 0 (the token embeddings). */
#define INQ_CTX_KEEP_ATTENTION 1 /* reserve room to keep attention probabilities of every layer */
#define INQ_CTX_TF32 2           /* CUDA: GEMMs on TF32 tensor cores (opt-in fast mode, ~1e-3 relative; fp32 without
                                    it); ignored on the CPU */
#define INQ_CTX_BF16 4           /* CUDA (ABI 6): GEMMs on BF16 tensor cores (CUBLAS_COMPUTE_32F_FAST_16BF: fp32 in
                                    memory, operands rounded to bf16, fp32 accumulation; ~1e-2 relative); ignored on
                                    the CPU; not together with INQ_CTX_TF32 */

INQ_API int32_t inq_context_memory_size(const inq_model* model, int32_t max_batch, int32_t max_seq,
                                        int32_t max_cotangents, int32_t flags, int64_t* out_bytes);
INQ_API int32_t inq_context_create(inq_model* model, int32_t max_batch, int32_t max_seq,
                                   int32_t max_cotangents, int32_t flags, inq_context** out_ctx);
INQ_API int32_t inq_context_destroy(inq_context* ctx);

/* ---------------------------------------------------------------- forward */
/* One forward over a batch of (left-)padded sequences.
 *   input_ids      [batch, seq] int32, or NULL when input_embeds is given (exactly one of the two)
 *   input_embeds   [batch, seq, n_embd] token embeddings (positions are added inside, as HF does with inputs_embeds)
 *   attention_mask [batch, seq] int32 1 = real token, 0 = padding; NULL = all ones. Padding must be on the left.
 *                  Position ids are cumsum(mask) - 1 (so a left-padded row equals its unpadded self); GPT-2 adds the
 *                  learned position row, LLAMA rotates q and k by them (rotary, Hugging Face's rotate_half layout).
 *   logits_mode    INQ_LOGITS_NONE: logits not written (may be NULL)
 *                  INQ_LOGITS_ALL:  logits [batch, seq, vocab]
 *                  INQ_LOGITS_LAST: logits [batch, vocab] of the last position of each row
 *   flags          INQ_FWD_KEEP_FOR_BACKWARD: keep activations for inq_backward_embeds
 *                  INQ_FWD_KEEP_ATTENTION: keep attention probabilities for inq_get_attention
 *                    (context must have INQ_CTX_KEEP_ATTENTION, else INQ_ERR_CAPACITY)
 * Mask values must be 0 or 1 and every 0 must precede the row's first 1 (INQ_ERR_INVALID_ARGUMENT otherwise);
 * ids are range-checked. Padded positions produce logits too (their attention output is zero); ignore them.
 * A forward invalidates any previously kept forward and the KV cache. */
#define INQ_LOGITS_NONE 0
#define INQ_LOGITS_ALL 1
#define INQ_LOGITS_LAST 2
#define INQ_FWD_KEEP_FOR_BACKWARD 1
#define INQ_FWD_KEEP_ATTENTION 2

INQ_API int32_t inq_forward(inq_context* ctx, int32_t batch, int32_t seq, const int32_t* input_ids,
                            const float* input_embeds, const int32_t* attention_mask, int32_t logits_mode,
                            float* logits, int32_t flags);

/* Attention probabilities of one layer from the last forward kept with INQ_FWD_KEEP_ATTENTION:
 * out [batch, n_head, seq, seq], row = query, column = key; masked entries are exactly 0. */
/* Encoder-decoder forward (INQ_ARCH_MARIAN, _M2M100, _T5): source rows [batch, src_len] from src_ids or src_embeds
 * (exactly one; embeds are the scaled token embeddings — Hugging Face's inputs_embeds — positions are added inside),
 * src_mask [batch, src_len] (0/1, NULL: all real; padding keys are masked in encoder self-attention and in
 * cross-attention), target (decoder input) rows [batch, tgt_len] from tgt_ids or tgt_embeds (exactly one), tgt_mask
 * (NULL: all real; masks decoder self-attention keys). Positions are 0..len-1 per row (pad on the right; M2M100 adds
 * its offset 2). logits_mode: INQ_LOGITS_NONE or INQ_LOGITS_ALL (logits [batch, tgt_len, vocab]).
 * flags: INQ_FWD_KEEP_FOR_BACKWARD (context with max_cotangents > 0) keeps the forward for inq_seq2seq_backward;
 * INQ_FWD_KEEP_ATTENTION keeps nothing extra (every seq2seq forward keeps its attention probabilities for
 * inq_seq2seq_get_attention) and is accepted for symmetry; INQ_FWD_FILL_CACHE also fills the decoder's self-attention
 * cache with the tgt_len positions so that inq_seq2seq_cache_step can append tokens (the encoder output and the
 * cross-attention keys/values of this forward are reused). src_len and tgt_len must not exceed max_seq. */
#define INQ_FWD_FILL_CACHE 4
INQ_API int32_t inq_seq2seq_forward(inq_context* ctx, int32_t batch, int32_t src_len, int32_t tgt_len,
                                    const int32_t* src_ids, const float* src_embeds, const int32_t* src_mask,
                                    const int32_t* tgt_ids, const float* tgt_embeds, const int32_t* tgt_mask,
                                    int32_t logits_mode, float* logits, int32_t flags);

/* Gradients of <dlogits[b, k], logits[b, positions[b, k]]> of the last kept seq2seq forward with respect to both
 * inputs: d_src [batch, n_cot, src_len, n_embd] (the scaled source embeddings) and d_tgt [batch, n_cot, tgt_len,
 * n_embd] (the scaled target embeddings; zero beyond the cotangent's position). Either output may be NULL.
 * positions[b, k] in [0, tgt_len), or < 0 for a zero cotangent. batch equals the kept forward's; batch * n_cot <=
 * max_cotangents. */
INQ_API int32_t inq_seq2seq_backward(inq_context* ctx, int32_t batch, int32_t n_cot, const int32_t* positions,
                                     const float* dlogits, float* d_src, float* d_tgt);

/* Attention probabilities of the last seq2seq forward. kind INQ_ATT_ENCODER: encoder self-attention of encoder layer
 * `layer`, out [batch, n_head, src_len, src_len]; INQ_ATT_DECODER: decoder self-attention [batch, n_head, tgt_len,
 * tgt_len]; INQ_ATT_CROSS: cross-attention [batch, n_head, tgt_len, src_len]. Row = query, column = key; masked
 * entries are exactly 0. */
#define INQ_ATT_ENCODER 0
#define INQ_ATT_DECODER 1
#define INQ_ATT_CROSS 2
INQ_API int32_t inq_seq2seq_get_attention(inq_context* ctx, int32_t kind, int32_t layer, float* out);

/* Scaled token embeddings (token rows x embed_scale, no positions: what inq_seq2seq_forward takes as src_embeds /
 * tgt_embeds) of n range-checked ids: out [n, n_embd]. */
INQ_API int32_t inq_seq2seq_embed_tokens(inq_context* ctx, const int32_t* ids, int32_t n, float* out);

/* One decoding step after a forward with INQ_FWD_FILL_CACHE (or earlier steps): next_ids [batch] are appended at
 * position cache_len of every row (batch must equal the forward's), attending to the cached self-attention keys and
 * the kept encoder output; logits [batch, vocab] of the new position (NULL: not written). INQ_ERR_STATE without a
 * filled cache; INQ_ERR_CAPACITY when the cache (max_seq positions) is full. */
INQ_API int32_t inq_seq2seq_cache_step(inq_context* ctx, int32_t batch, const int32_t* next_ids, float* logits);

INQ_API int32_t inq_get_attention(inq_context* ctx, int32_t layer, float* out);

/* ---------------------------------------------------------------- backward to the input embeddings */
/* Vector-Jacobian products of the last forward kept with INQ_FWD_KEEP_FOR_BACKWARD.
 * Each forward row b gets n_cot cotangents; cotangent (b, k) is the row vector dlogits[b, k, :] applied to the
 * logits at position positions[b, k] of row b (positions[b, k] < 0: a zero cotangent).
 *   positions  [batch, n_cot] int32
 *   dlogits    [batch, n_cot, vocab]
 *   d_embeds   [batch, n_cot, seq, n_embd] out: gradient of <dlogits, logits[pos]> w.r.t. input_embeds
 *              (token embeddings, i.e. before positions are added — what HF's inputs_embeds receives)
 * batch must equal the kept forward's batch; batch * n_cot <= max_cotangents. Position ids, masks and kept
 * activations of row b are shared by its n_cot cotangents (the fused strategy of DESIGN §5). */
INQ_API int32_t inq_backward_embeds(inq_context* ctx, int32_t batch, int32_t n_cot, const int32_t* positions,
                                    const float* dlogits, float* d_embeds);

/* ---------------------------------------------------------------- points (layer methods) */
/* A point is a place in the residual stream where a layer method reads activations and gradients:
 *   point 0          the token embeddings (inputs_embeds, before positions are added: what inq_backward_embeds
 *                    differentiates)
 *   point l + 1      the output of block l (0 <= l < n_layer), i.e. Hugging Face's hidden_states[l + 1] and the
 *                    output of `transformer.h.l` (LLAMA: `model.layers.l`); point n_layer is the last block's output,
 *                    before the final norm (ln_f / model.norm). For LLAMA point 0 is also the first block's input.
 * A forward started at point P (inq_forward / prefill: P = 0) defines points P .. n_layer only. */

/* Activation at a point of the last forward kept with INQ_FWD_KEEP_FOR_BACKWARD: out [batch, seq, n_embd].
 * INQ_ERR_STATE without such a forward; INQ_ERR_INVALID_ARGUMENT for a point outside [P, n_layer]. */
INQ_API int32_t inq_get_hidden(inq_context* ctx, int32_t point, float* out);

/* A forward from a point on: `hidden` [batch, seq, n_embd] replaces the activation at the point and the blocks
 * point .. n_layer - 1, ln_f and the LM head run as inq_forward does (same mask rules, logits modes and flags).
 * Point 0 is exactly inq_forward with input_embeds (positions added inside). With INQ_FWD_KEEP_FOR_BACKWARD the
 * forward can be differentiated back to any point >= `point` (inq_backward, inq_backward_step);
 * with INQ_FWD_KEEP_ATTENTION only layers >= point have attention to read. */
INQ_API int32_t inq_forward_from_hidden(inq_context* ctx, int32_t point, int32_t batch, int32_t seq,
                                        const float* hidden, const int32_t* attention_mask, int32_t logits_mode,
                                        float* logits, int32_t flags);

/* inq_backward_embeds stopped at a point: d_out [batch, n_cot, seq, n_embd] is the gradient of
 * <dlogits[b, k], logits[b, positions[b, k]]> with respect to the activation at the point (zero beyond the
 * cotangent's position and for positions < 0). Point 0 gives exactly inq_backward_embeds's result. For a forward
 * started at point P, points < P fail with INQ_ERR_INVALID_ARGUMENT. */
INQ_API int32_t inq_backward(inq_context* ctx, int32_t point, int32_t batch, int32_t n_cot, const int32_t* positions,
                             const float* dlogits, float* d_out);

/* Shape of the last forward: batch, seq, the point it started from, whether it is kept for backward (1/0) and
 * whether step functions can read it (1/0: any forward or prefill; a cache step replaces it). All 0 when none. */
INQ_API int32_t inq_last_forward(inq_context* ctx, int32_t* out_batch, int32_t* out_seq, int32_t* out_point,
                                 int32_t* out_kept, int32_t* out_scorable);

/* ---------------------------------------------------------------- step functions (Inseq's built-ins) */
/* Each row has the next-token logits l of one position, a target id y and, for contrastive functions, a contrast
 * id c and a contrast logits row q: either l itself ("shares logits": gradients flow through both terms) or a row
 * the caller gives (another forward's: a constant for the gradient). p = softmax(l), P_q = softmax(q). Reductions
 * run in double, one row per thread, in a fixed order (deterministic). Values (as InseqNative's managed reference,
 * StepFunctions/BuiltinStepFunctions.cs):
 *   LOGIT                l[y]
 *   PROBABILITY          p[y]                      (logprob: ln p[y])
 *   ENTROPY              -sum p ln p               (nats)
 *   CROSSENTROPY         -ln p[y]                  (nats)
 *   PERPLEXITY           exp(-ln p[y]) = 1 / p[y]
 *   CONTRAST_LOGITS      q[c]
 *   CONTRAST_PROB        P_q[c]                    (logprob: ln P_q[c])
 *   CONTRAST_LOGITS_DIFF l[y] - q[c]
 *   CONTRAST_PROB_DIFF   p[y] - P_q[c]             (logprob: ln p[y] - ln P_q[c])
 *   PCXMI                (ln P_q[c] - ln p[y]) / ln 2   (bits)
 *   KL_DIVERGENCE        KL(p' || P_q') over the ids kept by top-p (Hugging Face's rule on P_q, top_p >= 1: all),
 *                        then top-k (k <= 0: all; ties with the k-th value kept) on q; p', P_q' renormalized there
 *   IN_CONTEXT_PVI       ln P_q[c] - ln p[y]       (nats)
 *   TOP_P_SIZE           how many ids top-p keeps of p (a count; top_k unused)
 * logprob must be 0 or 1; min_tokens_to_keep < 1 counts as 1; top_p must not be NaN. */
typedef enum inq_step_fn {
  INQ_STEP_LOGIT = 0,
  INQ_STEP_PROBABILITY = 1,
  INQ_STEP_ENTROPY = 2,
  INQ_STEP_CROSSENTROPY = 3,
  INQ_STEP_PERPLEXITY = 4,
  INQ_STEP_CONTRAST_LOGITS = 5,
  INQ_STEP_CONTRAST_PROB = 6,
  INQ_STEP_CONTRAST_LOGITS_DIFF = 7,
  INQ_STEP_CONTRAST_PROB_DIFF = 8,
  INQ_STEP_PCXMI = 9,
  INQ_STEP_KL_DIVERGENCE = 10,
  INQ_STEP_IN_CONTEXT_PVI = 11,
  INQ_STEP_TOP_P_SIZE = 12
} inq_step_fn;

/* Passed by pointer; struct_size must be sizeof(inq_step_fn_args) (24). */
typedef struct inq_step_fn_args {
  int32_t struct_size;
  int32_t fn;                 /* inq_step_fn */
  int32_t logprob;            /* PROBABILITY, CONTRAST_PROB, CONTRAST_PROB_DIFF */
  int32_t top_k;              /* KL_DIVERGENCE */
  float top_p;                /* KL_DIVERGENCE, TOP_P_SIZE */
  int32_t min_tokens_to_keep; /* KL_DIVERGENCE, TOP_P_SIZE */
} inq_step_fn_args;

/* Step scores of n_rows rows of the last forward (kept or not; INQ_LOGITS_NONE is enough), without any
 * [batch, seq, vocab] buffer: the final-norm output of every position stays in the arena after a forward and the
 * needed logits rows are recomputed from it (bitwise equal to the forward's logits), in blocks of
 * max(max_cotangents, min(max_batch * max_seq, 64)) rows (n_rows is not limited).
 *   batch_index, positions   [n_rows] the row's forward row and position
 *   targets                  [n_rows] y
 *   contrast_targets         [n_rows] c, or NULL: c = y
 *   contrast_batch_index, contrast_positions   [n_rows] both NULL: the contrast row is the row itself; both given:
 *                            the logits of another row of the same forward (e.g. a contrast sequence in the batch)
 *   contrast_logits          [n_rows, vocab] host rows, or NULL; not together with contrast_positions
 *   scores                   [n_rows] out */
INQ_API int32_t inq_step_scores(inq_context* ctx, const inq_step_fn_args* args, int32_t n_rows,
                                const int32_t* batch_index, const int32_t* positions, const int32_t* targets,
                                const int32_t* contrast_targets, const int32_t* contrast_batch_index,
                                const int32_t* contrast_positions, const float* contrast_logits, float* scores);

/* The attributed function's backward, with dlogits computed natively: cotangent (b, k) is
 * d fn(logits[b, positions[b, k]]) / d logits, then the backward of inq_backward to the point.
 *   positions         [batch, n_cot] (< 0: a zero cotangent, score NaN)
 *   targets           [batch, n_cot] y;   contrast_targets [batch, n_cot] c or NULL (c = y)
 *   contrast_logits   [batch * n_cot, vocab] a constant contrast row per cotangent, or NULL: shares logits
 *   d_out             [batch, n_cot, seq, n_embd] gradient at the point
 *   scores            [batch * n_cot] the function's value at each row, or NULL
 * Same capacity and state rules as inq_backward. TOP_P_SIZE (a count) and KL_DIVERGENCE with shared logits
 * (identically 0) have no gradient: INQ_ERR_INVALID_ARGUMENT. */
INQ_API int32_t inq_backward_step(inq_context* ctx, const inq_step_fn_args* args, int32_t point, int32_t batch,
                                  int32_t n_cot, const int32_t* positions, const int32_t* targets,
                                  const int32_t* contrast_targets, const float* contrast_logits, float* d_out,
                                  float* scores);

/* The same two on the last encoder-decoder forward (inq_seq2seq_forward): rows are (batch_index, target position);
 * the LM head includes T5's tied scaling and Marian's final_logits_bias. inq_seq2seq_step_scores takes contrast rows
 * only as caller logits (or shares the row's); inq_seq2seq_backward_step writes the gradients of
 * inq_seq2seq_backward (d_src [batch, n_cot, src_len, n_embd], d_tgt [batch, n_cot, tgt_len, n_embd]; either may be
 * NULL) with the same capacity and state rules. */
INQ_API int32_t inq_seq2seq_step_scores(inq_context* ctx, const inq_step_fn_args* args, int32_t n_rows,
                                        const int32_t* batch_index, const int32_t* positions, const int32_t* targets,
                                        const int32_t* contrast_targets, const float* contrast_logits, float* scores);
INQ_API int32_t inq_seq2seq_backward_step(inq_context* ctx, const inq_step_fn_args* args, int32_t batch,
                                          int32_t n_cot, const int32_t* positions, const int32_t* targets,
                                          const int32_t* contrast_targets, const float* contrast_logits, float* d_src,
                                          float* d_tgt, float* scores);

/* ---------------------------------------------------------------- granular gradient accumulation (ABI 6) */
/* Methods that sum many forward rows' gradients into one granular result (integrated gradients: the n_steps path
 * points; gradient SHAP: the samples) need only that sum, so the backward can add each cotangent's gradient where it
 * is computed instead of copying it out (DESIGN §5.6). A context holds one accumulator
 *   acc [rows, steps, n_embd]: element (j, k, h) at (j * steps + k) * n_embd + h (the managed GranularBuffer)
 * in device memory of its own, allocated (or reused when large enough) by inq_grad_accumulator_reset outside the
 * backward and freed with the context; it is not part of inq_context_memory_size. Its rows are the gradient's rows:
 * a decoder-only forward's seq positions (activations at the backward's point); an encoder-decoder forward's source
 * positions, then its target positions (src_len + tgt_len).
 *
 * inq_grad_accumulator_reset: zeroes acc (sized rows x steps) and keeps n_mult multiplier rows
 *   multipliers [n_mult, rows, n_embd] (NULL exactly when n_mult == 0), e.g. gradient SHAP's (x~ - b) per sample.
 *   rows, steps >= 1.
 * inq_backward_step_accumulate / inq_seq2seq_backward_step_accumulate: inq_backward_step / inq_seq2seq_backward_step
 *   (same arguments, checks and scores) whose gradients are added into acc instead of written out: cotangent (b, i)
 *   (forward row b, column i < n_cot) adds, at each of its gradient rows j (positions 0 .. positions[b, i], plus every
 *   source row for encoder-decoders),
 *     acc[j, steps[i], :] += row_weights[b] * g[j, :]                          (no multipliers)
 *     acc[j, steps[i], :] += row_weights[b] * g[j, :] * mult[mult_row0 + b, j, :]   (with multipliers)
 *   each product and sum rounded in that order (no FMA contraction), the rows of one cell added in ascending b.
 *   Calls in ascending forward-row order therefore reproduce, bitwise on the CPU, a host loop adding every row's
 *   gradient in that order. steps [n_cot]: distinct, in [0, steps); row_weights [batch]: finite; mult_row0: with
 *   multipliers, mult_row0 + batch <= n_mult (ignored without); every position >= 0 (INQ_ERR_INVALID_ARGUMENT).
 *   INQ_ERR_STATE before a reset; INQ_ERR_SHAPE when the accumulator's rows differ from the kept forward's gradient
 *   rows (reset it for that forward's length).
 * inq_grad_accumulator_read: out [rows, steps, n_embd], the one download; the accumulator keeps its sums (INQ_ERR_STATE
 *   before a reset). */
INQ_API int32_t inq_grad_accumulator_reset(inq_context* ctx, int32_t rows, int32_t steps, int32_t n_mult,
                                           const float* multipliers);
INQ_API int32_t inq_backward_step_accumulate(inq_context* ctx, const inq_step_fn_args* args, int32_t point,
                                             int32_t batch, int32_t n_cot, const int32_t* positions,
                                             const int32_t* targets, const int32_t* contrast_targets,
                                             const float* contrast_logits, const int32_t* steps,
                                             const float* row_weights, int32_t mult_row0, float* scores);
INQ_API int32_t inq_seq2seq_backward_step_accumulate(inq_context* ctx, const inq_step_fn_args* args, int32_t batch,
                                                     int32_t n_cot, const int32_t* positions, const int32_t* targets,
                                                     const int32_t* contrast_targets, const float* contrast_logits,
                                                     const int32_t* steps, const float* row_weights,
                                                     int32_t mult_row0, float* scores);
INQ_API int32_t inq_grad_accumulator_read(inq_context* ctx, float* out);
/* The default aggregation's vector norm where the accumulator is (DESIGN §5.6: only [rows x steps] crosses to the
 * host): for every cell, v = acc[t, k, :] (times multipliers[t, :] when given, e.g. IG's x - baseline) rounded to
 * float, l2[t, k] = sqrt(sum v^2) and, when sums is not NULL, sums[t, k] = sum v, in double over the hidden units in
 * order (bitwise the managed VectorNormFunction on the CPU). multipliers [rows, n_embd] or NULL; l2, sums [rows,
 * steps]. INQ_ERR_STATE before a reset. */
INQ_API int32_t inq_grad_accumulator_reduce(inq_context* ctx, const float* multipliers, float* l2, float* sums);

/* ---------------------------------------------------------------- embeddings */
/* Token embedding rows (no positions): out [n, n_embd]. Ids are range-checked. */
INQ_API int32_t inq_embed_tokens(inq_context* ctx, const int32_t* ids, int32_t n, float* out);

/* ---------------------------------------------------------------- KV cache (incremental decoding) */
/* Prefill: forward over [batch, seq] ids (left-padded, mask as inq_forward) that fills the cache;
 * writes the last position's logits [batch, vocab] (last_logits NULL: not written — ABI 6; see inq_sample_next). */
INQ_API int32_t inq_cache_prefill(inq_context* ctx, int32_t batch, int32_t seq, const int32_t* input_ids,
                                  const int32_t* attention_mask, float* last_logits);
/* Appends one token per row (every appended token is real, mask 1) and writes its logits [batch, vocab] (NULL: not
 * written — ABI 6). Fails with INQ_ERR_CAPACITY when the cache is full (max_seq) or positions would exceed
 * n_positions. */
INQ_API int32_t inq_cache_step(inq_context* ctx, int32_t batch, const int32_t* next_ids, float* logits);
/* Current cached length (0 when empty). */
INQ_API int32_t inq_cache_length(inq_context* ctx, int32_t* out_len);

/* ---------------------------------------------------------------- ABI 6 (device sampling) */
/* The next token of every row, picked where the logits are (DESIGN §5.5): generation never downloads logits.
 * The rows are the last position of every row of the context's last inq_forward / inq_forward_from_hidden /
 * inq_cache_prefill / inq_cache_step (decoder-only) or inq_seq2seq_forward (position tgt_len - 1) /
 * inq_seq2seq_cache_step (encoder-decoder), with logits requested or not; their logits are recomputed from the kept
 * final-norm rows (bitwise equal to what the call would have written). batch = that call's batch.
 * Per row b, in this order:
 *   1. banned ids banned_ids[banned_offsets[b] .. banned_offsets[b + 1] - 1] get logit -inf (bad_words_ids, ...);
 *      banned_offsets [batch + 1] non-decreasing from 0, at most vocab entries per row, or NULL (no bans; then
 *      banned_ids is ignored);
 *   2. forced_ids[b] >= 0 (forced_ids [batch] or NULL; -1: none) is taken as is (forced BOS / EOS, finished rows);
 *   3. greedy (do_sample 0): the argmax of the banned row, ties to the lowest id (torch.argmax);
 *   4. sampled (do_sample 1): scaled = logit / temperature (float division), ids ordered by scaled descending then id
 *      ascending, the first top_k kept (0: all), p = exp(scaled - max) in double, then Hugging Face's top-p rule
 *      (the ids whose cumulative mass before them is below top_p, at least one; top_p 1: all), then the first id in
 *      that order whose running sum of p exceeds uniforms[b] * (sum of the kept p).
 *   out_ids [batch] the ids; out_logprobs [batch] (or NULL) log_softmax(banned row)[id], untempered, in double.
 * uniforms [batch] in [0, 1), double (a generator's NextDouble as drawn: no rounding to float changes a seeded
 * draw), drawn by the caller (one per sampled, unforced row; others ignored) so that results are reproducible and
 * equal on both backends; NULL allowed when greedy. The CPU equals InseqNative's managed reference
 * (Generation/TokenSampler.cs) bit for bit. CUDA finds the kept set and the drawn id by searches over the order
 * instead of a sort, with block sums in a fixed order: deterministic, but its ids can differ from the CPU's where a
 * cumulative sum lies within rounding of top_p or of uniforms[b] * sum, and its logprobs by rounding (see
 * native/kernels/README.md). Errors: INQ_ERR_STATE when there are no rows (no such call yet, or the last one failed
 * after it began overwriting the context); INQ_ERR_NULL_POINTER / INQ_ERR_INVALID_ARGUMENT naming the argument:
 * struct_size, do_sample not 0/1, temperature <= 0 or not finite when sampling, top_k < 0, top_p outside (0, 1],
 * uniforms outside [0, 1), ids outside the vocabulary, bad offsets. Passed by pointer; struct_size must be
 * sizeof(inq_sampling) (20). */
typedef struct inq_sampling {
  int32_t struct_size;
  int32_t do_sample;  /* 0: greedy, 1: draw */
  float temperature;  /* > 0 when do_sample */
  int32_t top_k;      /* >= 0; 0: no top-k cut */
  float top_p;        /* (0, 1]; 1: no top-p cut */
} inq_sampling;
INQ_API int32_t inq_sample_next(inq_context* ctx, const inq_sampling* params, const double* uniforms,
                                const int32_t* forced_ids, const int32_t* banned_offsets, const int32_t* banned_ids,
                                int32_t* out_ids, float* out_logprobs);

/* ---------------------------------------------------------------- single ops (tests, parity, benchmarks) */
/* Runs one op of one backend's ops table on caller buffers (host memory; copied for CUDA).
 *   device   INQ_DEVICE_CPU or a CUDA ordinal
 *   op       name, see below
 *   dims     integer arguments of the op (sizes, flags), n_dims of them
 *   inputs   n_inputs pointers (float* unless stated), outputs n_outputs float* (every element written)
 *   scalars  float arguments (eps, ...), n_scalars of them
 * Ops (dims | inputs -> outputs | scalars):
 *   "embedding_forward"     N,C,V,P         | ids(int32)[N], pos(int32)[N], wte[V,C], wpe[P,C] -> out[N,C]
 *   "layernorm_forward"     N,C             | x[N,C], w[C], b[C] -> y[N,C], mean[N], rstd[N]  | eps
 *   "layernorm_backward"    N,C             | dy[N,C], x[N,C], w[C], mean[N], rstd[N] -> dx[N,C]
 *   "matmul_forward"        N,K,M,transB    | x[N,K], w ([K,M] if transB=0 else [M,K]), bias[M] or NULL -> y[N,M]
 *   "matmul_backward_input" N,K,M,transB    | dy[N,M], w -> dx[N,K]
 *   "gelu_forward"          N,kind          | x[N] -> y[N]          (kind: inq_activation)
 *   "gelu_backward"         N,kind          | dy[N], x[N] -> dx[N]
 *   "residual_forward"      N               | a[N], b[N] -> y[N]
 *   "attention_forward"     B,T,C,H,scaled  | qkv[B,T,3C], mask(int32)[B,T] or NULL -> out[B,T,C], att[B,H,T,T] | extra_scale
 *   "attention_backward"    B,T,C,H,scaled  | dout[B,T,C], qkv[B,T,3C], att[B,H,T,T] -> dqkv[B,T,3C] | extra_scale
 *   "gqa_attention_forward" B,T,C,H,KVH,scaled | qkv[B,T,C+2*KVH*C/H], mask or NULL -> out[B,T,C], att[B,H,T,T] | extra_scale
 *   "gqa_attention_backward" B,T,C,H,KVH,scaled | dout[B,T,C], qkv, att -> dqkv[B,T,C+2*KVH*C/H] | extra_scale
 *                           (also the backward of window_attention_forward: masked probabilities are exactly 0)
 *   "window_attention_forward" B,T,C,H,KVH,window,scaled | as gqa_attention_forward; key j visible to query i only
 *                           if i - j < window (window >= 0, 0: none)
 *   "attention_decode"      B,n_keys,S,C,H,KVH,window,scaled | qkv[B,C+2*KVH*C/H] (the new query, at index n_keys-1),
 *                           kcache[B,S,KVH*C/H], vcache[B,S,KVH*C/H], mask(int32)[B,S] -> out[B,C], att[B,H,n_keys]
 *                           | extra_scale   (keys 0..n_keys-1, n_keys <= S; window as above)
 *   "rmsnorm_forward"       N,C             | x[N,C], w[C] -> y[N,C], rstd[N]  | eps
 *   "rmsnorm_backward"      N,C             | dy[N,C], x[N,C], w[C], rstd[N] -> dx[N,C]
 *   "rope_forward"          N,W,n_heads,hd  | x[N,W], pos(int32)[N], inv_freq[hd/2] or NULL -> y[N,W]  | theta
 *                           (first n_heads*hd columns rotated, Hugging Face rotate_half pairs (i, i + hd/2) by
 *                           pos * inv_freq[i] in fp32; NULL: inv_freq[i] = theta^(-2i/hd); the rest copied)
 *   "rope_backward"         N,W,n_heads,hd  | dy[N,W], pos(int32)[N], inv_freq[hd/2] or NULL -> dx[N,W]  | theta
 *   "gated_act_forward"     N,I,kind        | gu[N,2I] (gate | up) -> y[N,I]   (act(gate) * up, kind: inq_activation;
 *                           SwiGLU = INQ_ACT_SILU, T5's gated-gelu = INQ_ACT_GELU_TANH)
 *   "gated_act_backward"    N,I,kind        | dy[N,I], gu[N,2I] -> dgu[N,2I]
 *   "step_fn_scores"        R,V,fn,logprob,top_k,min_keep | logits[R,V], contrast_logits[R,V] or NULL (shares),
 *                           targets(int32)[R], contrast_targets(int32)[R] or NULL (= targets) -> scores[R] | top_p
 *   "step_fn_dlogits"       same dims and inputs -> dlogits[R,V], scores[R] | top_p
 *   "cross_attention_forward" B,Tq,Tk,C,H,causal,scaled | q[B,Tq,C], kv[B,Tk,2C] (k | v), mask(int32)[B,Tk] or NULL,
 *                           bias[H,Tq,Tk] or NULL -> out[B,Tq,C], att[B,H,Tq,Tk] | extra_scale   (bidirectional
 *                           encoder self-attention and decoder cross-attention with causal = 0; causal = 1: key j
 *                           visible to query i iff j <= i; bias added to the scaled scores of every batch row)
 *   "cross_attention_backward" B,Tq,Tk,C,H,n_cot,scaled | dout[B*n_cot,Tq,C], q[B,Tq,C], kv[B,Tk,2C], att[B,H,Tq,Tk]
 *                           -> dq[B*n_cot,Tq,C], dkv[B*n_cot,Tk,2C] | extra_scale  (cotangent r reads forward row r/n_cot)
 *   "scale_add_forward"     N               | a[N], b[N] -> y[N]  | scale   (y = a * scale + b)
 *   "sinusoidal_positions"  N,C,layout      | pos(int32)[N] -> rows[N,C]  (sin of columns < C/2, cos of the rest;
 *                           layout 0 Marian: frequency 10000^(-2j/C) for column j and C/2 + j, in double; layout 1
 *                           fairseq / M2M100: exp(-j ln(10000) / (C/2 - 1)) in torch's float32 steps, C >= 4, odd C:
 *                           zero last column)
 *   "relative_position_bias" H,Tq,Tk,q_offset,bidirectional,num_buckets,max_distance | table[num_buckets,H]
 *                           -> bias[H,Tq,Tk]  (T5: bias[h,i,j] = table[bucket(j - (i + q_offset)), h], Hugging Face's
 *                           _relative_position_bucket; q_offset >= 0, max_distance > the exact-bucket count)
 *   "sample_tokens"         N,V,do_sample,top_k | logits[N,V] (not modified), uniforms(double)[N] or NULL,
 *                           forced(int32)[N] or NULL, ban_offsets(int32)[N+1] or NULL, ban_ids(int32)[ban_offsets[N]]
 *                           or NULL -> ids(int32, in the float* slot)[N], logprobs[N] | temperature, top_p
 *                           (ABI 6: inq_sample_next's per-row choice on caller rows; same argument rules)
 *   "grad_reduce"           T,K,C | acc[T,K,C], mul[T,C] or NULL -> l2[T,K], sum[T,K]  (ABI 6, see
 *                           inq_grad_accumulator_reduce)
 *   "grad_accumulate"       B,n_cot,T_acc,K,C,row_off | grads[rows,C] (cotangent r = b*n_cot + i owns lens[r] rows
 *                           back to back, rows = sum of lens), lens(int32)[B*n_cot], weights[B], steps(int32)[n_cot],
 *                           mul[B,T_acc,C] or NULL -> acc[T_acc,K,C] (read and updated: acc[row_off + t, steps[i]] +=
 *                           weights[b] * grads[row t of r] (* mul[b, row_off + t]); steps distinct in [0, K),
 *                           row_off + lens[r] <= T_acc; ABI 6, see inq_backward_step_accumulate)
 * (scaled: 1 = divide scores by sqrt(C/H); extra_scale multiplies the scores further, 1.0 for plain GPT-2.) */
INQ_API int32_t inq_op_run(int32_t device, const char* op, const int64_t* dims, int32_t n_dims,
                           const void* const* inputs, int32_t n_inputs, float* const* outputs, int32_t n_outputs,
                           const float* scalars, int32_t n_scalars);

/* ---------------------------------------------------------------- benchmarking helpers */
/* C[M,N] = A[M,K] * B[K,N] through the backend's GEMM, for FLOP/s measurements (ABI 6 signature): operands are
 * copied to the device once, one untimed warm-up GEMM runs, then `repeats` (>= 1) GEMMs back to back; out_seconds is
 * their mean wall time (device work finished; copies excluded) and C the result. flags: 0 (fp32), INQ_CTX_TF32 or
 * INQ_CTX_BF16 (CUDA GEMM modes; the CPU computes fp32 whatever the flag). */
INQ_API int32_t inq_bench_gemm(int32_t device, int32_t m, int32_t n, int32_t k, int32_t flags, int32_t repeats,
                               const float* a, const float* b, float* c, double* out_seconds);

#ifdef __cplusplus
}
#endif

#endif /* INSEQ_NATIVE_H */
