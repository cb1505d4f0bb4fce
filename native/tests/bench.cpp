// Native benchmarks (numbers go to the report / bench/RESULTS.md, never into tests):
//   inseq_native_bench gemm [size]      GEMM GFLOP/s at size^3 (default 1024) with 1 and 2 threads
//   inseq_native_bench shapes [tokens]  the GEMM shapes of a GPT-2-small forward, GFLOP/s each
//   inseq_native_bench model [tokens]   GPT-2-small-shaped random model: forward, input-embedding backward, decode
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
    MUST(inq_bench_gemm(INQ_DEVICE_CPU, n, n, n, a.data(), b.data(), c.data()));  // warm-up
    const double t = best_of(5, [&] { MUST(inq_bench_gemm(INQ_DEVICE_CPU, n, n, n, a.data(), b.data(), c.data())); });
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

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "all";
  char info[512];
  MUST(inq_build_info(info, sizeof info));
  std::printf("%s\n", info);
  if (what == "gemm" || what == "all") bench_gemm(argc > 2 && what == "gemm" ? std::atoi(argv[2]) : 1024);
  if (what == "shapes" || what == "all") bench_matmul_shapes(argc > 2 && what == "shapes" ? std::atoi(argv[2]) : 64);
  if (what == "model" || what == "all") bench_model(argc > 2 && what == "model" ? std::atoi(argv[2]) : 64);
  return 0;
}
