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

#define INQ_ABI_VERSION 1

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
/* CPU threads used by OpenMP regions (n <= 0: the runtime default). */
INQ_API int32_t inq_set_num_threads(int32_t n);
INQ_API int32_t inq_get_num_threads(int32_t* out_n);

/* ---------------------------------------------------------------- devices */
/* device: INQ_DEVICE_CPU, or a CUDA ordinal >= 0. */
#define INQ_DEVICE_CPU (-1)

/* ---------------------------------------------------------------- models */
typedef enum inq_arch {
  INQ_ARCH_GPT2 = 1
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
  int32_t n_inner;          /* MLP width (GPT-2: 4 * n_embd when the config says null) */
  int32_t n_positions;      /* learned position table rows */
  int32_t vocab_size;
  int32_t activation;       /* inq_activation */
  float norm_eps;
  int32_t tie_word_embeddings;              /* 1: LM head is the token embedding (GPT-2) */
  int32_t scale_attn_weights;               /* 1: scores / sqrt(head_dim) */
  int32_t scale_attn_by_inverse_layer_idx;  /* 1: scores additionally / (layer_index + 1) */
} inq_model_config;

typedef struct inq_model inq_model;
typedef struct inq_context inq_context;

/* Creates a model with unset weights on a device. Validates the config (positive sizes, heads divide width, ...). */
INQ_API int32_t inq_model_create(const inq_model_config* config, int32_t device, inq_model** out_model);
INQ_API int32_t inq_model_destroy(inq_model* model);

/* The tensors this model expects, by canonical name (Hugging Face names without the "transformer." prefix,
 * e.g. "wte.weight", "h.0.attn.c_attn.weight", "ln_f.bias"). Shapes use at most 4 dims. */
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
 * The arena also holds GEMM scratch for the thread count in effect at creation (inq_set_num_threads); a context
 * uses at most that many threads in its GEMMs. */
#define INQ_CTX_KEEP_ATTENTION 1 /* reserve room to keep attention probabilities of every layer */

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
 *                  Position ids are cumsum(mask) - 1 (so a left-padded row equals its unpadded self).
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

/* ---------------------------------------------------------------- embeddings */
/* Token embedding rows (no positions): out [n, n_embd]. Ids are range-checked. */
INQ_API int32_t inq_embed_tokens(inq_context* ctx, const int32_t* ids, int32_t n, float* out);

/* ---------------------------------------------------------------- KV cache (incremental decoding) */
/* Prefill: forward over [batch, seq] ids (left-padded, mask as inq_forward) that fills the cache;
 * writes the last position's logits [batch, vocab]. */
INQ_API int32_t inq_cache_prefill(inq_context* ctx, int32_t batch, int32_t seq, const int32_t* input_ids,
                                  const int32_t* attention_mask, float* last_logits);
/* Appends one token per row (every appended token is real, mask 1) and writes its logits [batch, vocab].
 * Fails with INQ_ERR_CAPACITY when the cache is full (max_seq) or positions would exceed n_positions. */
INQ_API int32_t inq_cache_step(inq_context* ctx, int32_t batch, const int32_t* next_ids, float* logits);
/* Current cached length (0 when empty). */
INQ_API int32_t inq_cache_length(inq_context* ctx, int32_t* out_len);

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
 * (scaled: 1 = divide scores by sqrt(C/H); extra_scale multiplies the scores further, 1.0 for plain GPT-2.) */
INQ_API int32_t inq_op_run(int32_t device, const char* op, const int64_t* dims, int32_t n_dims,
                           const void* const* inputs, int32_t n_inputs, float* const* outputs, int32_t n_outputs,
                           const float* scalars, int32_t n_scalars);

/* ---------------------------------------------------------------- benchmarking helpers */
/* C[M,N] = A[M,K] * B[K,N] through the backend's GEMM, for GFLOP/s measurements. */
INQ_API int32_t inq_bench_gemm(int32_t device, int32_t m, int32_t n, int32_t k, const float* a, const float* b,
                               float* c);

#ifdef __cplusplus
}
#endif

#endif /* INSEQ_NATIVE_H */
