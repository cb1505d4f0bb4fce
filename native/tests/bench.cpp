// Native benchmarks (numbers go to the report / bench/RESULTS.md, never into tests):
//   inseq_native_bench gemm [size]      GEMM GFLOP/s at size^3 (default 1024) with 1 and 2 threads
//   inseq_native_bench shapes [tokens]  the GEMM shapes of a GPT-2-small forward, GFLOP/s each
//   inseq_native_bench model [tokens]   GPT-2-small-shaped random model: forward, input-embedding backward, decode
//   inseq_native_bench steps [tokens]   native step functions: ops per row at vocab 50257, inq_step_scores and
//                                       inq_backward_step on GPT-2-small next to the forward / backward they ride on
// INSEQ_NATIVE_GEMM=generic|avx2|avx512 caps the GEMM kernel choice.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "test_util.h"

#define MUST(call)                                                                       \
  do {                                                                                   \
    int32_t st_ = (call);                                                                \
    if (st_ != INQ_OK) {                                                                 \
      std::fprintf(stderr, "%s -> %d: %s\n", #call, st_, inq_last_error());             \
      std::exit(1);                                                                      \
    }                                                                                    \
  } while (0)

template <typename F>
static double best_of(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = tu::now_seconds();
    f();
    best = std::min(best, tu::now_seconds() - t0);
  }
  return best;
}

static void bench_gemm(int n) {
  tu::Rng rng(1);
  std::vector<float> a((size_t)n * n), b((size_t)n * n), c((size_t)n * n);
  for (auto& x : a) x = (float)rng.normal();
  for (auto& x : b) x = (float)rng.normal();
  for (int threads : {1, 2}) {
    MUST(inq_set_num_threads(threads));
    double t = 0;  // mean of 5 GEMMs after a warm-up, timed inside the library
    MUST(inq_bench_gemm(INQ_DEVICE_CPU, n, n, n, 0, 5, a.data(), b.data(), c.data(), &t));
    std::printf("gemm %d^3 threads=%d: %.2f ms, %.1f GFLOP/s\n", n, threads, t * 1e3, 2.0 * n * n * n / t * 1e-9);
  }
  MUST(inq_set_num_threads(0));
}

// The GEMM shapes of a GPT-2-small forward at T tokens (and the LM head), through inq_op_run.
static void bench_matmul_shapes(int T) {
  struct Shape {
    const char* name;
    int N, K, M, transB;
  };
  const Shape shapes[] = {{"c_attn", T, 768, 2304, 0},        {"attn.c_proj", T, 768, 768, 0},
                          {"mlp.c_fc", T, 768, 3072, 0},      {"mlp.c_proj", T, 3072, 768, 0},
                          {"lm_head (wte^T)", T, 768, 50257, 1}, {"lm_head-like [K,M]", T, 768, 50257, 0}, {"c_fc backward 64x", 64 * T, 3072, 768, 1}};
  tu::Rng rng(3);
  for (const Shape& s : shapes) {
    std::vector<float> x((size_t)s.N * s.K), w((size_t)s.K * s.M), y((size_t)s.N * s.M);
    for (auto& v : x) v = (float)rng.normal();
    for (auto& v : w) v = (float)rng.normal();
    const int64_t dims[4] = {s.N, s.K, s.M, s.transB};
    const void* in[3] = {x.data(), w.data(), nullptr};
    float* out[1] = {y.data()};
    for (int threads : {1, 2}) {
      MUST(inq_set_num_threads(threads));
      const double t = best_of(3, [&] { MUST(inq_op_run(INQ_DEVICE_CPU, "matmul_forward", dims, 4, in, 3, out, 1, nullptr, 0)); });
      std::printf("matmul %-18s N=%d K=%d M=%d transB=%d threads=%d: %.2f ms, %.1f GFLOP/s\n", s.name, s.N, s.K, s.M,
                  s.transB, threads, t * 1e3, 2.0 * s.N * s.K * s.M / t * 1e-9);
    }
  }
  MUST(inq_set_num_threads(0));
}

static void bench_model(int T) {
  inq_model_config cfg = tu::small_config(12, 12, 768, 50257, 1024);
  const double t0 = tu::now_seconds();
  inq_model* m = tu::random_model(cfg, 1, 0.02f);
  std::printf("gpt2-small random weights built in %.1f s\n", tu::now_seconds() - t0);
  const int V = cfg.vocab_size, C = cfg.n_embd;
  tu::Rng rng(2);
  std::vector<int32_t> ids(T);
  for (auto& v : ids) v = (int32_t)(rng.next() % V);
  for (int threads : {1, 2}) {
    MUST(inq_set_num_threads(threads));
    inq_context* ctx = nullptr;
    int64_t bytes = 0;
    MUST(inq_context_memory_size(m, 1, T, T, 0, &bytes));
    MUST(inq_context_create(m, 1, T, T, 0, &ctx));
    std::vector<float> logits((size_t)T * V), emb((size_t)T * C), grad((size_t)T * T * C), dl((size_t)T * V);
    for (auto& x : dl) x = (float)rng.normal();
    MUST(inq_embed_tokens(ctx, ids.data(), T, emb.data()));
    auto fwd_all = [&] { MUST(inq_forward(ctx, 1, T, ids.data(), nullptr, nullptr, INQ_LOGITS_ALL, logits.data(), 0)); };
    auto fwd_keep = [&] {
      MUST(inq_forward(ctx, 1, T, nullptr, emb.data(), nullptr, INQ_LOGITS_ALL, logits.data(), INQ_FWD_KEEP_FOR_BACKWARD));
    };
    fwd_all();
    const double tf = best_of(3, fwd_all);
    const double tk = best_of(3, fwd_keep);
    std::vector<int32_t> pos_all(T), pos_last(1, T - 1);
    for (int t = 0; t < T; ++t) pos_all[t] = t;
    const double tb1 = best_of(3, [&] { MUST(inq_backward_embeds(ctx, 1, 1, pos_last.data(), dl.data(), grad.data())); });
    const double tbT = best_of(2, [&] { MUST(inq_backward_embeds(ctx, 1, T, pos_all.data(), dl.data(), grad.data())); });
    // Decode: prefill 8 tokens, then T - 8 cached steps.
    const double td = best_of(2, [&] {
      MUST(inq_cache_prefill(ctx, 1, 8, ids.data(), nullptr, logits.data()));
      for (int s = 8; s < T; ++s) MUST(inq_cache_step(ctx, 1, &ids[s], logits.data()));
    });
    std::printf(
        "gpt2-small T=%d threads=%d (context %.1f MiB): forward(all logits) %.1f ms = %.0f tok/s; forward kept %.1f ms; "
        "backward 1 cotangent (last pos) %.1f ms; backward %d cotangents (every pos) %.1f ms = %.2f ms/cotangent; "
        "prefill 8 + %d decode steps %.1f ms = %.1f ms/step\n",
        T, threads, bytes / 1048576.0, tf * 1e3, T / tf, tk * 1e3, tb1 * 1e3, T, tbT * 1e3, tbT * 1e3 / T, T - 8,
        td * 1e3, td * 1e3 / (T - 8));
    MUST(inq_context_destroy(ctx));
  }
  MUST(inq_set_num_threads(0));
  MUST(inq_model_destroy(m));
}

static void bench_steps(int T) {
  const int V = 50257, C = 768;
  tu::Rng rng(4);
  {  // The ops alone: per-row cost at a GPT-2 vocabulary.
    const int R = 64;
    std::vector<float> l((size_t)R * V), q((size_t)R * V), d((size_t)R * V), sc(R);
    for (auto& x : l) x = (float)(2 * rng.normal());
    for (auto& x : q) x = (float)(2 * rng.normal());
    std::vector<int32_t> y(R);
    for (auto& v : y) v = (int32_t)(rng.next() % V);
    struct Case {
      const char* name;
      int fn, top_k;
      float top_p;
      bool contrast;
    };
    const Case cases[] = {{"probability", INQ_STEP_PROBABILITY, 0, 1.0f, false},
                          {"entropy", INQ_STEP_ENTROPY, 0, 1.0f, false},
                          {"contrast_prob_diff", INQ_STEP_CONTRAST_PROB_DIFF, 0, 1.0f, false},
                          {"kl_divergence top-p 0.9", INQ_STEP_KL_DIVERGENCE, 0, 0.9f, true},
                          {"kl_divergence top-k 50", INQ_STEP_KL_DIVERGENCE, 50, 1.0f, true},
                          {"top_p_size 0.9", INQ_STEP_TOP_P_SIZE, 0, 0.9f, false}};
    for (const Case& c : cases) {
      const int64_t dims[6] = {R, V, c.fn, 0, c.top_k, 1};
      const void* in[4] = {l.data(), c.contrast ? q.data() : nullptr, y.data(), nullptr};
      float* out_s[1] = {sc.data()};
      float* out_d[2] = {d.data(), sc.data()};
      const double ts = best_of(3, [&] { MUST(inq_op_run(INQ_DEVICE_CPU, "step_fn_scores", dims, 6, in, 4, out_s, 1, &c.top_p, 1)); });
      double td = 0;
      if (c.fn != INQ_STEP_TOP_P_SIZE)
        td = best_of(3, [&] { MUST(inq_op_run(INQ_DEVICE_CPU, "step_fn_dlogits", dims, 6, in, 4, out_d, 2, &c.top_p, 1)); });
      std::printf("step op %-24s vocab %d, %d rows: scores %.3f ms/row, dlogits %.3f ms/row\n", c.name, V, R,
                  ts * 1e3 / R, td * 1e3 / R);
    }
  }
  inq_model_config cfg = tu::small_config(12, 12, C, V, 1024);
  inq_model* m = tu::random_model(cfg, 1, 0.02f);
  std::vector<int32_t> ids(T), bi(T, 0), pos(T), tg(T);
  for (int t = 0; t < T; ++t) {
    ids[t] = (int32_t)(rng.next() % V);
    pos[t] = t;
    tg[t] = (int32_t)(rng.next() % V);
  }
  inq_context* ctx = nullptr;
  int64_t bytes = 0;
  int32_t threads = 0;
  MUST(inq_get_num_threads(&threads));
  MUST(inq_context_memory_size(m, 1, T, T, 0, &bytes));
  MUST(inq_context_create(m, 1, T, T, 0, &ctx));
  // Step buffers (context.cpp): gather [2S, C] + logits [2S, V] + dlogits [max_cot, V], S = max(max_cot, min(B*T, 64)).
  const int64_t S = std::max<int64_t>(T, std::min(T, 64));
  const int64_t step_bytes = (2 * S * (C + V) + (int64_t)T * V) * 4;
  std::vector<float> logits((size_t)T * V), grad((size_t)T * T * C), dl((size_t)T * V), sc(T);
  const double tf_all = best_of(3, [&] { MUST(inq_forward(ctx, 1, T, ids.data(), nullptr, nullptr, INQ_LOGITS_ALL, logits.data(), INQ_FWD_KEEP_FOR_BACKWARD)); });
  const double tf_none = best_of(3, [&] { MUST(inq_forward(ctx, 1, T, ids.data(), nullptr, nullptr, INQ_LOGITS_NONE, nullptr, INQ_FWD_KEEP_FOR_BACKWARD)); });
  const inq_step_fn_args prob{(int32_t)sizeof(inq_step_fn_args), INQ_STEP_PROBABILITY, 0, 0, 1.0f, 1};
  const double tscore = best_of(3, [&] { MUST(inq_step_scores(ctx, &prob, T, bi.data(), pos.data(), tg.data(), nullptr, nullptr, nullptr, nullptr, sc.data())); });
  for (auto& x : dl) x = (float)(1e-3 * rng.normal());
  const double tbe = best_of(2, [&] { MUST(inq_backward_embeds(ctx, 1, T, pos.data(), dl.data(), grad.data())); });
  const double tbs = best_of(2, [&] { MUST(inq_backward_step(ctx, &prob, 0, 1, T, pos.data(), tg.data(), nullptr, nullptr, grad.data(), sc.data())); });
  const double tb3 = best_of(2, [&] { MUST(inq_backward_step(ctx, &prob, 3, 1, T, pos.data(), tg.data(), nullptr, nullptr, grad.data(), sc.data())); });
  std::printf("gpt2-small T=%d threads=%d (context %.1f MiB, of which step buffers %.1f MiB): forward kept, all logits "
              "%.1f ms; no logits %.1f ms; inq_step_scores probability x%d %.1f ms; backward_embeds %d cotangents "
              "(host dlogits) %.1f ms; backward_step probability %d cotangents %.1f ms (to point 3: %.1f ms)\n",
              T, threads, bytes / 1048576.0, step_bytes / 1048576.0, tf_all * 1e3, tf_none * 1e3, T, tscore * 1e3, T,
              tbe * 1e3, T, tbs * 1e3, tb3 * 1e3);
  MUST(inq_context_destroy(ctx));
  MUST(inq_model_destroy(m));
}

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "all";
  char info[512];
  MUST(inq_build_info(info, sizeof info));
  std::printf("%s\n", info);
  if (what == "gemm" || what == "all") bench_gemm(argc > 2 && what == "gemm" ? std::atoi(argv[2]) : 1024);
  if (what == "shapes" || what == "all") bench_matmul_shapes(argc > 2 && what == "shapes" ? std::atoi(argv[2]) : 64);
  if (what == "model" || what == "all") bench_model(argc > 2 && what == "model" ? std::atoi(argv[2]) : 64);
  if (what == "steps" || what == "all") bench_steps(argc > 2 && what == "steps" ? std::atoi(argv[2]) : 64);
  return 0;
}
