// Native self-test of libinseqnative through its C ABI: Hugging Face fixtures (logits, greedy decoding), every op's
// forward against a float64 reference and its backward against finite differences, the model's input-embedding
// backward against finite differences, fused-vs-separate cotangents, determinism, points (forward from / backward to
// a block output), step functions (dlogits against finite differences of their scores), and error paths.
// Usage: inseq_native_selftest [fixtures_dir]   (fixture checks are skipped when the folder is missing)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "test_util.h"

using tu::Rng;

static int g_failures = 0, g_checks = 0;

#define CHECK(cond, ...)                                    \
  do {                                                      \
    ++g_checks;                                             \
    if (!(cond)) {                                          \
      ++g_failures;                                         \
      std::printf("  FAIL %s:%d: ", __FILE__, __LINE__);    \
      std::printf(__VA_ARGS__);                             \
      std::printf("\n");                                    \
    }                                                       \
  } while (0)

#define MUST(call)                                                                              \
  do {                                                                                          \
    int32_t st_ = (call);                                                                       \
    if (st_ != INQ_OK) {                                                                        \
      std::printf("  FATAL %s:%d: %s -> %d: %s\n", __FILE__, __LINE__, #call, st_, inq_last_error()); \
      std::exit(1);                                                                             \
    }                                                                                           \
  } while (0)

static std::vector<float> randn(Rng& rng, size_t n, double s = 1.0) {
  std::vector<float> v(n);
  for (auto& x : v) x = (float)(s * rng.normal());
  return v;
}

static bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

static int argmax(const float* x, int n) { return (int)(std::max_element(x, x + n) - x); }

// ------------------------------------------------------------------------------------------------ ops
static int32_t op(const char* name, std::vector<int64_t> dims, std::vector<const void*> in, std::vector<float*> out,
                  std::vector<float> sc = {}) {
  return inq_op_run(INQ_DEVICE_CPU, name, dims.data(), (int32_t)dims.size(), in.data(), (int32_t)in.size(),
                    out.data(), (int32_t)out.size(), sc.data(), (int32_t)sc.size());
}

// Checks an input gradient by central differences: loss(x) = sum(wy * f(x)) in double; grad is the analytic result.
static void fd_check(const char* what, std::vector<float>& x, const std::vector<float>& grad,
                     const std::function<double()>& loss, Rng& rng, int samples = 24, double h = 1e-2,
                     double tol = 1e-2) {
  double gmax = 0;
  for (float g : grad) gmax = std::max(gmax, (double)std::fabs(g));
  double worst = 0;
  for (int s = 0; s < samples; ++s) {
    const size_t i = (size_t)(rng.next() % x.size());
    const float x0 = x[i];
    x[i] = x0 + (float)h;
    const double lp = loss();
    x[i] = x0 - (float)h;
    const double lm = loss();
    x[i] = x0;
    const double num = (lp - lm) / (2 * h);
    worst = std::max(worst, std::fabs(num - grad[i]));
  }
  CHECK(worst <= tol * std::max(gmax, 1e-3), "%s: finite differences differ by %.3g (max |grad| %.3g)", what, worst,
        gmax);
  std::printf("  %-44s fd max|diff| %.2e  max|grad| %.2e\n", what, worst, gmax);
}

static double dotd(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (double)a[i] * b[i];
  return s;
}

static void test_ops() {
  std::printf("[ops]\n");
  Rng rng(7);
  {  // matmul forward vs float64, both layouts, sizes crossing every tile edge; backward vs finite differences
    const int N = 131, K = 300, M = 555;
    for (int transB = 0; transB <= 1; ++transB) {
      auto x = randn(rng, (size_t)N * K), w = randn(rng, (size_t)K * M, 0.1), bias = randn(rng, M);
      std::vector<float> y((size_t)N * M);
      MUST(op("matmul_forward", {N, K, M, transB}, {x.data(), w.data(), bias.data()}, {y.data()}));
      double worst = 0;
      for (int n = 0; n < N; ++n)
        for (int m = 0; m < M; ++m) {
          double s = bias[m];
          for (int k = 0; k < K; ++k) s += (double)x[(size_t)n * K + k] * w[transB ? (size_t)m * K + k : (size_t)k * M + m];
          worst = std::max(worst, std::fabs(s - y[(size_t)n * M + m]));
        }
      CHECK(worst < 1e-4, "matmul_forward transB=%d: max|diff| vs float64 %.3g", transB, worst);
      std::printf("  matmul_forward transB=%d vs float64: max|diff| %.2e\n", transB, worst);
      // Row independence: computing one row alone gives the same bits (what makes fused == separate exact).
      std::vector<float> y1(M);
      MUST(op("matmul_forward", {1, K, M, transB}, {x.data() + 17 * K, w.data(), bias.data()}, {y1.data()}));
      CHECK(std::memcmp(y1.data(), y.data() + 17 * M, M * 4) == 0, "matmul_forward row 17 alone differs in bits");
      const int n2 = 9, k2 = 37, m2 = 45;
      auto x2 = randn(rng, n2 * k2), w2 = randn(rng, k2 * m2, 0.3), wy = randn(rng, n2 * m2);
      std::vector<float> dx(n2 * k2), y2(n2 * m2);
      MUST(op("matmul_backward_input", {n2, k2, m2, transB}, {wy.data(), w2.data()}, {dx.data()}));
      fd_check(transB ? "matmul_backward_input transB=1" : "matmul_backward_input transB=0", x2, dx,
               [&] {
                 MUST(op("matmul_forward", {n2, k2, m2, transB}, {x2.data(), w2.data(), nullptr}, {y2.data()}));
                 return dotd(wy, y2);
               },
               rng);
    }
  }
  {  // layernorm
    const int N = 5, C = 48;
    auto x = randn(rng, N * C, 2.0), w = randn(rng, C), b = randn(rng, C), wy = randn(rng, N * C);
    for (auto& v : x) v += 0.7f;
    std::vector<float> y(N * C), mean(N), rstd(N), dx(N * C);
    MUST(op("layernorm_forward", {N, C}, {x.data(), w.data(), b.data()}, {y.data(), mean.data(), rstd.data()}, {1e-5f}));
    double worst = 0;
    for (int n = 0; n < N; ++n) {
      double m = 0, v = 0;
      for (int c = 0; c < C; ++c) m += x[n * C + c];
      m /= C;
      for (int c = 0; c < C; ++c) v += (x[n * C + c] - m) * (x[n * C + c] - m);
      v /= C;
      for (int c = 0; c < C; ++c)
        worst = std::max(worst, std::fabs((x[n * C + c] - m) / std::sqrt(v + 1e-5) * w[c] + b[c] - y[n * C + c]));
    }
    CHECK(worst < 1e-5, "layernorm_forward vs float64: %.3g", worst);
    MUST(op("layernorm_backward", {N, C}, {wy.data(), x.data(), w.data(), mean.data(), rstd.data()}, {dx.data()}));
    fd_check("layernorm_backward", x, dx,
             [&] {
               MUST(op("layernorm_forward", {N, C}, {x.data(), w.data(), b.data()},
                       {y.data(), mean.data(), rstd.data()}, {1e-5f}));
               return dotd(wy, y);
             },
             rng);
  }
  for (int kind = INQ_ACT_GELU_TANH; kind <= INQ_ACT_SILU; ++kind) {  // activations
    const int N = 200;
    auto x = randn(rng, N, 2.0), wy = randn(rng, N);
    for (auto& v : x)
      if (std::fabs(v) < 0.05f) v = 0.3f;  // keep ReLU's kink away from the differences
    std::vector<float> y(N), dx(N);
    MUST(op("gelu_forward", {N, kind}, {x.data()}, {y.data()}));
    double worst = 0;
    for (int i = 0; i < N; ++i) {
      const double v = x[i];
      const double ref = kind == 1   ? 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)))
                         : kind == 2 ? 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))
                         : kind == 3 ? std::max(v, 0.0)
                                     : v / (1 + std::exp(-v));
      worst = std::max(worst, std::fabs(ref - y[i]));
    }
    CHECK(worst < 1e-5, "activation %d forward vs float64: %.3g", kind, worst);
    MUST(op("gelu_backward", {N, kind}, {wy.data(), x.data()}, {dx.data()}));
    char name[64];
    std::snprintf(name, sizeof name, "gelu_backward kind=%d", kind);
    fd_check(name, x, dx,
             [&] {
               MUST(op("gelu_forward", {N, kind}, {x.data()}, {y.data()}));
               return dotd(wy, y);
             },
             rng, 24, 1e-3);
  }
  {  // embedding and residual
    const int N = 6, C = 8, V = 11, P = 9;
    std::vector<int32_t> ids = {0, 10, 3, 3, 7, 1}, pos = {0, 1, 2, 8, 4, 0};
    auto wte = randn(rng, V * C), wpe = randn(rng, P * C);
    std::vector<float> y(N * C);
    MUST(op("embedding_forward", {N, C, V, P}, {ids.data(), pos.data(), wte.data(), wpe.data()}, {y.data()}));
    bool ok = true;
    for (int n = 0; n < N; ++n)
      for (int c = 0; c < C; ++c) ok &= y[n * C + c] == wte[ids[n] * C + c] + wpe[pos[n] * C + c];
    CHECK(ok, "embedding_forward != wte[id] + wpe[pos]");
    std::vector<float> r(N * C);
    MUST(op("residual_forward", {N * C}, {wte.data(), wpe.data()}, {r.data()}));
    ok = true;
    for (int i = 0; i < N * C; ++i) ok &= r[i] == wte[i] + wpe[i];
    CHECK(ok, "residual_forward != a + b");
    ids[2] = 11;
    CHECK(op("embedding_forward", {N, C, V, P}, {ids.data(), pos.data(), wte.data(), wpe.data()}, {y.data()}) ==
              INQ_ERR_INVALID_ARGUMENT,
          "embedding_forward accepts an id beyond V");
  }
  {  // attention: forward vs float64 with a left-padding mask; backward vs finite differences
    const int B = 2, T = 6, C = 16, H = 2, hd = C / H;
    const float extra = 0.5f;
    auto qkv = randn(rng, B * T * 3 * C);
    std::vector<int32_t> mask = {1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1};
    std::vector<float> out(B * T * C), att(B * H * T * T);
    MUST(op("attention_forward", {B, T, C, H, 1}, {qkv.data(), mask.data()}, {out.data(), att.data()}, {extra}));
    double worst = 0;
    bool zeros_ok = true;
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < H; ++h)
        for (int i = 0; i < T; ++i) {
          std::vector<double> p(T, 0.0);
          double mx = -1e300, sum = 0;
          bool any = false;
          for (int j = 0; j <= i; ++j) {
            if (!mask[b * T + j]) continue;
            double s = 0;
            for (int d = 0; d < hd; ++d)
              s += (double)qkv[(b * T + i) * 3 * C + h * hd + d] * qkv[(b * T + j) * 3 * C + C + h * hd + d];
            p[j] = s / std::sqrt((double)hd) * extra;
            mx = std::max(mx, p[j]);
            any = true;
          }
          for (int j = 0; j < T; ++j) {
            const bool vis = j <= i && mask[b * T + j];
            p[j] = vis ? std::exp(p[j] - mx) : 0.0;
            sum += p[j];
          }
          for (int j = 0; j < T; ++j) {
            if (any) p[j] /= sum;
            const float got = att[((b * H + h) * T + i) * T + j];
            if (p[j] == 0.0) zeros_ok &= got == 0.0f;
            worst = std::max(worst, std::fabs(p[j] - got));
          }
          for (int d = 0; d < hd; ++d) {
            double o = 0;
            for (int j = 0; j < T; ++j) o += p[j] * qkv[(b * T + j) * 3 * C + 2 * C + h * hd + d];
            worst = std::max(worst, std::fabs(o - out[(b * T + i) * C + h * hd + d]));
          }
        }
    CHECK(worst < 1e-5, "attention_forward vs float64: %.3g", worst);
    CHECK(zeros_ok, "attention_forward: masked probabilities are not exactly 0");
    bool pad_zero = true;
    for (int i = 0; i < 2; ++i)
      for (int c = 0; c < C; ++c) pad_zero &= out[(1 * T + i) * C + c] == 0.0f;
    CHECK(pad_zero, "attention_forward: a fully padded query row has a non-zero output");
    std::printf("  attention_forward vs float64: max|diff| %.2e\n", worst);
    auto wy = randn(rng, B * T * C);
    std::vector<float> dqkv(B * T * 3 * C);
    MUST(op("attention_backward", {B, T, C, H, 1}, {wy.data(), qkv.data(), att.data()}, {dqkv.data()}, {extra}));
    fd_check("attention_backward (q, k and v)", qkv, dqkv,
             [&] {
               MUST(op("attention_forward", {B, T, C, H, 1}, {qkv.data(), mask.data()}, {out.data(), att.data()},
                       {extra}));
               return dotd(wy, out);
             },
             rng, 48);
  }
  {  // op-level argument errors
    std::vector<float> a(4), b(4), y(4);
    CHECK(op("no_such_op", {4}, {a.data(), b.data()}, {y.data()}) == INQ_ERR_INVALID_ARGUMENT, "unknown op accepted");
    CHECK(std::strstr(inq_last_error(), "no_such_op") != nullptr, "unknown op message: %s", inq_last_error());
    CHECK(op("residual_forward", {4}, {a.data(), nullptr}, {y.data()}) == INQ_ERR_NULL_POINTER, "NULL input accepted");
    CHECK(op("residual_forward", {-4}, {a.data(), b.data()}, {y.data()}) == INQ_ERR_INVALID_ARGUMENT,
          "negative size accepted");
    CHECK(op("residual_forward", {4, 4}, {a.data(), b.data()}, {y.data()}) == INQ_ERR_INVALID_ARGUMENT,
          "wrong n_dims accepted");
    CHECK(op("gelu_forward", {4, 9}, {a.data()}, {y.data()}) == INQ_ERR_INVALID_ARGUMENT, "bad activation kind accepted");
    const int64_t d[1] = {4};
    const void* in[2] = {a.data(), b.data()};
    float* out[1] = {y.data()};
    CHECK(inq_op_run(0, "residual_forward", d, 1, in, 2, out, 1, nullptr, 0) == INQ_ERR_UNSUPPORTED,
          "CUDA device accepted by the CPU build");
  }
}

// ------------------------------------------------------------------------------------------------ model
struct Ctx {
  inq_context* c = nullptr;
  Ctx(inq_model* m, int b, int t, int r, int flags = 0) { MUST(inq_context_create(m, b, t, r, flags, &c)); }
  ~Ctx() { inq_context_destroy(c); }
};

static void test_fixture(const std::string& dir, const std::string& name) {
  std::printf("[fixture %s]\n", name.c_str());
  const std::string model_dir = dir + "/models/" + name;
  const tu::Json cfg_json = tu::parse_json(tu::read_file(model_dir + "/config.json"));
  const inq_model_config cfg = tu::config_from_json(cfg_json);
  inq_model* model = tu::load_model(cfg, tu::read_safetensors(model_dir + "/model.safetensors"));
  const tu::Json hf = tu::parse_json(tu::read_file(dir + "/hf/" + name + ".json"));
  const int V = cfg.vocab_size;
  const auto& items = hf["items"].arr;
  Ctx ctx(model, 3, 48, 0, INQ_CTX_KEEP_ATTENTION);

  std::vector<std::vector<float>> refs;
  std::vector<std::vector<int32_t>> targets;
  for (size_t it = 0; it < items.size(); ++it) {
    const auto ids = tu::ints(items[it]["target_ids"]);
    const auto ref = tu::decode_f32(items[it]["logits"]);
    const int T = (int)ids.size();
    std::vector<float> logits((size_t)T * V);
    MUST(inq_forward(ctx.c, 1, T, ids.data(), nullptr, nullptr, INQ_LOGITS_ALL, logits.data(), 0));
    double worst_rel = 0;
    for (int t = 0; t < T; ++t) {
      double mx = 0, d = 0;
      for (int v = 0; v < V; ++v) {
        mx = std::max(mx, (double)std::fabs(ref[(size_t)t * V + v]));
        d = std::max(d, (double)std::fabs(ref[(size_t)t * V + v] - logits[(size_t)t * V + v]));
      }
      worst_rel = std::max(worst_rel, d / mx);
      CHECK(d <= 1e-4 * mx, "item %zu row %d: max|diff| %.3g > 1e-4 * max|row| (%.3g)", it, t, d, mx);
    }
    std::printf("  item %zu: logits [%d x %d] worst max|diff|/max|row| = %.2e\n", it, T, V, worst_rel);
    refs.push_back(ref);
    targets.push_back(ids);
  }

  {  // one left-padded batch of all items equals the separate rows
    int Tm = 0;
    for (auto& t : targets) Tm = std::max(Tm, (int)t.size());
    const int B = (int)targets.size();
    std::vector<int32_t> ids((size_t)B * Tm, 0), mask((size_t)B * Tm, 0);
    for (int b = 0; b < B; ++b) {
      const int pad = Tm - (int)targets[b].size();
      for (int t = 0; t < (int)targets[b].size(); ++t) {
        ids[(size_t)b * Tm + pad + t] = targets[b][t];
        mask[(size_t)b * Tm + pad + t] = 1;
      }
    }
    std::vector<float> logits((size_t)B * Tm * V);
    MUST(inq_forward(ctx.c, B, Tm, ids.data(), nullptr, mask.data(), INQ_LOGITS_ALL, logits.data(),
                     INQ_FWD_KEEP_ATTENTION));
    double worst = 0;
    for (int b = 0; b < B; ++b) {
      const int T = (int)targets[b].size(), pad = Tm - T;
      for (int t = 0; t < T; ++t) {
        double mx = 0, d = 0;
        for (int v = 0; v < V; ++v) {
          mx = std::max(mx, (double)std::fabs(refs[b][(size_t)t * V + v]));
          d = std::max(d, (double)std::fabs(refs[b][(size_t)t * V + v] -
                                            logits[((size_t)b * Tm + pad + t) * V + v]));
        }
        worst = std::max(worst, d / mx);
      }
    }
    CHECK(worst <= 1e-4, "left-padded batch: worst relative row diff %.3g", worst);
    std::printf("  left-padded batch of %d: worst max|diff|/max|row| = %.2e\n", B, worst);
    std::vector<float> att((size_t)B * cfg.n_head * Tm * Tm);
    MUST(inq_get_attention(ctx.c, cfg.n_layer - 1, att.data()));
    bool ok = true;
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < cfg.n_head; ++h)
        for (int i = 0; i < Tm; ++i) {
          double s = 0;
          for (int j = 0; j < Tm; ++j) {
            const float p = att[(((size_t)b * cfg.n_head + h) * Tm + i) * Tm + j];
            if (j > i || !mask[(size_t)b * Tm + j]) ok &= p == 0.0f;
            s += p;
          }
          if (mask[(size_t)b * Tm + i]) ok &= std::fabs(s - 1.0) < 1e-5;
        }
    CHECK(ok, "inq_get_attention: rows do not sum to 1 or masked entries are not 0");
  }

  {  // greedy decoding with the KV cache, one row at a time and as a left-padded batch
    const int B = (int)items.size();
    std::vector<std::vector<int32_t>> prompts, expected;
    int Pm = 0;
    for (auto& it : items) {
      prompts.push_back(tu::ints(it["input_ids"]));
      expected.push_back(tu::ints(it["greedy"]["new_ids"]));
      Pm = std::max(Pm, (int)prompts.back().size());
    }
    std::vector<float> logits((size_t)B * V);
    for (int b = 0; b < B; ++b) {
      const int P = (int)prompts[b].size();
      MUST(inq_cache_prefill(ctx.c, 1, P, prompts[b].data(), nullptr, logits.data()));
      std::vector<int32_t> got;
      std::vector<float> step_logits;
      for (size_t s = 0; s < expected[b].size(); ++s) {
        int32_t next = argmax(logits.data(), V);
        got.push_back(next);
        step_logits.insert(step_logits.end(), logits.begin(), logits.begin() + V);
        if (s + 1 < expected[b].size()) MUST(inq_cache_step(ctx.c, 1, &next, logits.data()));
      }
      CHECK(got == expected[b], "item %d: greedy new_ids differ from Hugging Face", b);
      int32_t len = 0;
      MUST(inq_cache_length(ctx.c, &len));
      CHECK(len == P + (int)expected[b].size() - 1, "cache length %d", len);
      // A cached step reproduces the full forward bit for bit (same per-row arithmetic).
      std::vector<int32_t> seq = prompts[b];
      seq.insert(seq.end(), got.begin(), got.end() - 1);
      std::vector<float> full(seq.size() * (size_t)V);
      MUST(inq_forward(ctx.c, 1, (int)seq.size(), seq.data(), nullptr, nullptr, INQ_LOGITS_ALL, full.data(), 0));
      CHECK(std::memcmp(full.data() + (size_t)(P - 1) * V, step_logits.data(), step_logits.size() * 4) == 0,
            "item %d: cached steps differ in bits from the full forward", b);
    }
    std::vector<int32_t> ids((size_t)B * Pm, 0), mask((size_t)B * Pm, 0);
    for (int b = 0; b < B; ++b) {
      const int pad = Pm - (int)prompts[b].size();
      for (size_t t = 0; t < prompts[b].size(); ++t) {
        ids[(size_t)b * Pm + pad + t] = prompts[b][t];
        mask[(size_t)b * Pm + pad + t] = 1;
      }
    }
    MUST(inq_cache_prefill(ctx.c, B, Pm, ids.data(), mask.data(), logits.data()));
    std::vector<std::vector<int32_t>> got(B);
    for (size_t s = 0; s < expected[0].size(); ++s) {
      std::vector<int32_t> next(B);
      for (int b = 0; b < B; ++b) got[b].push_back(next[b] = argmax(logits.data() + (size_t)b * V, V));
      if (s + 1 < expected[0].size()) MUST(inq_cache_step(ctx.c, B, next.data(), logits.data()));
    }
    for (int b = 0; b < B; ++b) CHECK(got[b] == expected[b], "batched greedy row %d differs from Hugging Face", b);
    std::printf("  greedy (KV cache) matches new_ids: single rows and a left-padded batch of %d\n", B);
  }
  inq_model_destroy(model);
}

// Full-model backward to the input embeddings against finite differences of the forward, on a small random model.
static void test_model_backward(bool llama) {
  std::printf("[model backward%s]\n", llama ? ": llama, GQA 4/2 heads, qkv bias" : "");
  inq_model_config cfg = tu::small_config(2, 4, 32, 53, 16);
  cfg.scale_attn_by_inverse_layer_idx = 1;
  if (llama) cfg = tu::small_llama_config(2, 4, 2, 32, 53, 16, 1);
  inq_model* model = tu::random_model(cfg, 99, 0.2f);
  const int B = 2, T = 7, C = cfg.n_embd, V = cfg.vocab_size, K = 3;
  Rng rng(5);
  std::vector<int32_t> ids(B * T), mask(B * T, 1);
  for (auto& v : ids) v = (int32_t)(rng.next() % V);
  mask[T + 0] = mask[T + 1] = 0;  // row 1 left-padded by 2
  Ctx ctx(model, B, T, B * K);
  std::vector<float> emb((size_t)B * T * C);
  MUST(inq_embed_tokens(ctx.c, ids.data(), B * T, emb.data()));

  // ids and their embeddings give the same logits bit for bit
  std::vector<float> l_ids((size_t)B * T * V), l_emb((size_t)B * T * V);
  MUST(inq_forward(ctx.c, B, T, ids.data(), nullptr, mask.data(), INQ_LOGITS_ALL, l_ids.data(), 0));
  MUST(inq_forward(ctx.c, B, T, nullptr, emb.data(), mask.data(), INQ_LOGITS_ALL, l_emb.data(), 0));
  CHECK(same_bits(l_ids, l_emb), "input_ids and input_embeds forwards differ");
  std::vector<float> l_last((size_t)B * V);
  MUST(inq_forward(ctx.c, B, T, ids.data(), nullptr, mask.data(), INQ_LOGITS_LAST, l_last.data(), 0));
  bool last_ok = true;
  for (int b = 0; b < B; ++b)
    last_ok &= std::memcmp(l_last.data() + (size_t)b * V, l_ids.data() + ((size_t)b * T + T - 1) * V, V * 4) == 0;
  CHECK(last_ok, "INQ_LOGITS_LAST differs from the last row of INQ_LOGITS_ALL");

  std::vector<int32_t> positions = {6, 3, 0, 6, 4, -1};  // [B, K]; -1: zero cotangent
  auto dlogits = randn(rng, (size_t)B * K * V);
  std::vector<float> grad((size_t)B * K * T * C);
  MUST(inq_forward(ctx.c, B, T, nullptr, emb.data(), mask.data(), INQ_LOGITS_NONE, nullptr, INQ_FWD_KEEP_FOR_BACKWARD));
  MUST(inq_backward_embeds(ctx.c, B, K, positions.data(), dlogits.data(), grad.data()));

  // Rerun: bitwise identical; one cotangent per call: bitwise identical too
  std::vector<float> again(grad.size());
  MUST(inq_backward_embeds(ctx.c, B, K, positions.data(), dlogits.data(), again.data()));
  CHECK(same_bits(grad, again), "backward rerun differs in bits");
  bool fused_ok = true;
  for (int k = 0; k < K; ++k) {
    std::vector<int32_t> pk(B);
    std::vector<float> dk((size_t)B * V), gk((size_t)B * T * C);
    for (int b = 0; b < B; ++b) {
      pk[b] = positions[b * K + k];
      std::memcpy(dk.data() + (size_t)b * V, dlogits.data() + ((size_t)b * K + k) * V, V * 4);
    }
    MUST(inq_backward_embeds(ctx.c, B, 1, pk.data(), dk.data(), gk.data()));
    for (int b = 0; b < B; ++b)
      fused_ok &= std::memcmp(gk.data() + (size_t)b * T * C, grad.data() + ((size_t)b * K + k) * T * C,
                              (size_t)T * C * 4) == 0;
  }
  CHECK(fused_ok, "n_cot = %d differs from %d separate single-cotangent calls", K, K);
  bool zero_ok = true;
  for (size_t i = 0; i < (size_t)T * C; ++i) zero_ok &= grad[((size_t)1 * K + 2) * T * C + i] == 0.0f;
  for (int t = 4; t < T; ++t)
    for (int c = 0; c < C; ++c) zero_ok &= grad[(((size_t)0 * K + 1) * T + t) * C + c] == 0.0f;  // beyond position 3
  CHECK(zero_ok, "a negative position or the causal future has a non-zero gradient");

  // Finite differences of <dlogits[b,k], logits[b, pos[b,k]]> in the embeddings, on the full forward.
  std::vector<float> logits((size_t)B * T * V);
  for (int b = 0; b < B; ++b)
    for (int k = 0; k < K; ++k) {
      if (positions[b * K + k] < 0) continue;
      const int p = positions[b * K + k];
      auto loss = [&] {
        MUST(inq_forward(ctx.c, B, T, nullptr, emb.data(), mask.data(), INQ_LOGITS_ALL, logits.data(), 0));
        double s = 0;
        for (int v = 0; v < V; ++v) s += (double)dlogits[((size_t)b * K + k) * V + v] * logits[((size_t)b * T + p) * V + v];
        return s;
      };
      // Only row b's embeddings matter; check them against this cotangent's gradient.
      std::vector<float> gslice(emb.size(), 0.0f);
      std::memcpy(gslice.data() + (size_t)b * T * C, grad.data() + ((size_t)b * K + k) * T * C, (size_t)T * C * 4);
      char name[64];
      std::snprintf(name, sizeof name, "backward_embeds row %d cotangent %d (pos %d)", b, k, p);
      // Sample only row b's real positions (others are exactly 0 in both).
      double gmax = 0, worst = 0;
      for (float g : gslice) gmax = std::max(gmax, (double)std::fabs(g));
      for (int s = 0; s < 16; ++s) {
        const int t = (b == 1 ? 2 : 0) + (int)(rng.next() % (p + 1 - (b == 1 ? 2 : 0)));
        const size_t i = ((size_t)b * T + t) * C + rng.next() % C;
        const float x0 = emb[i];
        const double h = 1e-2;
        emb[i] = x0 + (float)h;
        const double lp = loss();
        emb[i] = x0 - (float)h;
        const double lm = loss();
        emb[i] = x0;
        worst = std::max(worst, std::fabs((lp - lm) / (2 * h) - gslice[i]));
      }
      CHECK(worst <= 1e-2 * gmax, "%s: fd max|diff| %.3g, max|grad| %.3g", name, worst, gmax);
      std::printf("  %-44s fd max|diff| %.2e  max|grad| %.2e\n", name, worst, gmax);
    }

  // Same bits with one thread and with two.
  int32_t threads = 0;
  MUST(inq_get_num_threads(&threads));
  MUST(inq_set_num_threads(1));
  MUST(inq_forward(ctx.c, B, T, nullptr, emb.data(), mask.data(), INQ_LOGITS_ALL, logits.data(), INQ_FWD_KEEP_FOR_BACKWARD));
  std::vector<float> g1(grad.size());
  MUST(inq_backward_embeds(ctx.c, B, K, positions.data(), dlogits.data(), g1.data()));
  MUST(inq_set_num_threads(threads));
  CHECK(same_bits(l_emb, logits), "logits differ between 1 thread and %d", threads);
  CHECK(same_bits(grad, g1), "gradients differ between 1 thread and %d", threads);
  inq_model_destroy(model);  // the context keeps the model alive until it is destroyed
}

// Step functions: every differentiable one's dlogits against finite differences of its own score (op level, both
// contrast modes), and thread-count independence on a GPT-2-sized vocabulary.
static inq_step_fn_args step_args(int fn, int logprob = 0, int top_k = 0, float top_p = 1.0f, int min_keep = 1) {
  return inq_step_fn_args{(int32_t)sizeof(inq_step_fn_args), fn, logprob, top_k, top_p, min_keep};
}

static int32_t step_op(const char* name, int R, int V, const inq_step_fn_args& a, const float* logits,
                       const float* contrast, const int32_t* y, const int32_t* c, std::vector<float*> out) {
  return op(name, {R, V, a.fn, a.logprob, a.top_k, a.min_tokens_to_keep}, {logits, contrast, y, c}, out, {a.top_p});
}

static void test_step_functions() {
  std::printf("[step functions]\n");
  Rng rng(17);
  const int R = 3, V = 29;
  auto logits = randn(rng, (size_t)R * V, 1.5), contrast = randn(rng, (size_t)R * V, 1.5);
  std::vector<int32_t> y = {3, 17, 28}, c = {5, 17, 0};
  int checked = 0;
  for (int fn = INQ_STEP_LOGIT; fn <= INQ_STEP_IN_CONTEXT_PVI; ++fn)
    for (int shares = 0; shares <= 1; ++shares)
      for (int logprob = 0; logprob <= 1; ++logprob) {
        if (fn == INQ_STEP_KL_DIVERGENCE && shares) continue;
        // KL with top-k 10: a small move of the logits keeps the kept set (checked below by the FD agreeing).
        const inq_step_fn_args a = step_args(fn, logprob, fn == INQ_STEP_KL_DIVERGENCE ? 10 : 0);
        const float* q = shares ? nullptr : contrast.data();
        std::vector<float> dl((size_t)R * V), sc(R), sc2(R);
        MUST(step_op("step_fn_dlogits", R, V, a, logits.data(), q, y.data(), c.data(), {dl.data(), sc.data()}));
        MUST(step_op("step_fn_scores", R, V, a, logits.data(), q, y.data(), c.data(), {sc2.data()}));
        CHECK(same_bits(sc, sc2), "fn %d: step_fn_dlogits scores differ from step_fn_scores", fn);
        double worst = 0, gmax = 0;
        for (float g : dl) gmax = std::max(gmax, (double)std::fabs(g));
        for (int s = 0; s < 12; ++s) {
          const int r = s % R, i = s < 6 ? (int)(rng.next() % V) : (s % 2 ? y[r] : c[r]);
          const size_t at = (size_t)r * V + i;
          const float x0 = logits[at];
          const double h = 1e-2;
          std::vector<float> sp(R), sm(R);
          logits[at] = x0 + (float)h;
          MUST(step_op("step_fn_scores", R, V, a, logits.data(), q, y.data(), c.data(), {sp.data()}));
          logits[at] = x0 - (float)h;
          MUST(step_op("step_fn_scores", R, V, a, logits.data(), q, y.data(), c.data(), {sm.data()}));
          logits[at] = x0;
          worst = std::max(worst, std::fabs(((double)sp[r] - sm[r]) / (2 * h) - dl[at]));
        }
        CHECK(worst <= 2e-3 * std::max(gmax, 1e-2), "fn %d shares %d logprob %d: fd max|diff| %.3g, max|grad| %.3g", fn,
              shares, logprob, worst, gmax);
        ++checked;
      }
  std::printf("  %d (function, contrast, logprob) dlogits checked against finite differences of the scores\n", checked);

  {  // Deterministic across thread counts on a 50257 vocabulary, with top-p / top-k sorting.
    const int R2 = 5, V2 = 50257;
    auto big = randn(rng, (size_t)R2 * V2, 2.0), bigq = randn(rng, (size_t)R2 * V2, 2.0);
    std::vector<int32_t> y2 = {1, 50256, 7, 999, 31337};
    const inq_step_fn_args a = step_args(INQ_STEP_KL_DIVERGENCE, 0, 40, 0.8f, 2);
    std::vector<float> d1((size_t)R2 * V2), dn(d1.size()), s1(R2), sn(R2);
    int32_t threads = 0;
    MUST(inq_get_num_threads(&threads));
    MUST(inq_set_num_threads(1));
    MUST(step_op("step_fn_dlogits", R2, V2, a, big.data(), bigq.data(), y2.data(), nullptr, {d1.data(), s1.data()}));
    MUST(inq_set_num_threads(threads));
    MUST(step_op("step_fn_dlogits", R2, V2, a, big.data(), bigq.data(), y2.data(), nullptr, {dn.data(), sn.data()}));
    CHECK(same_bits(d1, dn) && same_bits(s1, sn), "kl_divergence dlogits differ between 1 thread and %d", threads);
    std::vector<float> sz(R2);
    MUST(step_op("step_fn_scores", R2, V2, step_args(INQ_STEP_TOP_P_SIZE, 0, 0, 0.8f), big.data(), nullptr, y2.data(),
                 nullptr, {sz.data()}));
    bool counts_ok = true;
    for (float v : sz) counts_ok &= v >= 1 && v <= V2 && v == std::floor(v);
    CHECK(counts_ok, "top_p_size is not a count in [1, V]");
    std::printf("  vocab %d: kl_divergence (top-p 0.8, top-k 40) bitwise equal with 1 and %d threads\n", V2, threads);
  }
}

// Points: forward from any point reproduces the logits bitwise, backward to a point against finite differences of
// the forward from there, step scores equal the forward's logits rows bitwise, backward_step == backward.
static void test_points(bool llama) {
  std::printf("[points%s]\n", llama ? ": llama" : "");
  inq_model_config cfg = llama ? tu::small_llama_config(3, 4, 2, 16, 41, 12) : tu::small_config(3, 2, 16, 41, 12);
  inq_model* model = tu::random_model(cfg, 123, 0.25f);
  const int B = 2, T = 6, C = cfg.n_embd, V = cfg.vocab_size, L = cfg.n_layer;
  Rng rng(8);
  std::vector<int32_t> ids(B * T), mask(B * T, 1);
  for (auto& v : ids) v = (int32_t)(rng.next() % V);
  mask[T] = 0;  // row 1 left-padded by 1
  Ctx ctx(model, B, T, B * 2);
  std::vector<float> logits((size_t)B * T * V), again(logits.size());
  MUST(inq_forward(ctx.c, B, T, ids.data(), nullptr, mask.data(), INQ_LOGITS_ALL, logits.data(), INQ_FWD_KEEP_FOR_BACKWARD));
  std::vector<std::vector<float>> hidden(L + 1, std::vector<float>((size_t)B * T * C));
  for (int p = 0; p <= L; ++p) MUST(inq_get_hidden(ctx.c, p, hidden[p].data()));
  bool ok = true;
  for (int p = 0; p <= L; ++p) {
    MUST(inq_forward_from_hidden(ctx.c, p, B, T, hidden[p].data(), mask.data(), INQ_LOGITS_ALL, again.data(),
                                 INQ_FWD_KEEP_FOR_BACKWARD));
    ok &= same_bits(logits, again);
  }
  CHECK(ok, "inq_forward_from_hidden(p, inq_get_hidden(p)) differs from the forward's logits");
  std::printf("  forward from each of the %d points reproduces the logits bit for bit\n", L + 1);

  // Step scores read the final-norm output: LOGIT at every row equals the forward's logits exactly.
  {
    const int n = B * T;
    std::vector<int32_t> bi(n), pos(n), tg(n);
    for (int i = 0; i < n; ++i) {
      bi[i] = i / T;
      pos[i] = i % T;
      tg[i] = (int32_t)(rng.next() % V);
    }
    MUST(inq_forward(ctx.c, B, T, ids.data(), nullptr, mask.data(), INQ_LOGITS_NONE, nullptr, 0));
    const inq_step_fn_args a = step_args(INQ_STEP_LOGIT);
    std::vector<float> sc(n);
    MUST(inq_step_scores(ctx.c, &a, n, bi.data(), pos.data(), tg.data(), nullptr, nullptr, nullptr, nullptr, sc.data()));
    bool rows_ok = true;
    for (int i = 0; i < n; ++i) rows_ok &= sc[i] == logits[(size_t)i * V + tg[i]];
    CHECK(rows_ok, "step scores' logits rows differ from the forward's");
  }

  // Backward to each point vs central differences of the forward from that point; backward_step == backward.
  MUST(inq_forward(ctx.c, B, T, ids.data(), nullptr, mask.data(), INQ_LOGITS_NONE, nullptr, INQ_FWD_KEEP_FOR_BACKWARD));
  std::vector<int32_t> positions = {5, 5}, targets = {4, 9};
  const inq_step_fn_args a = step_args(INQ_STEP_PROBABILITY, 1);
  for (int p = 1; p <= L; ++p) {
    std::vector<float> grad((size_t)B * T * C), scores(B);
    MUST(inq_backward_step(ctx.c, &a, p, B, 1, positions.data(), targets.data(), nullptr, nullptr, grad.data(),
                           scores.data()));
    // The same backward with dlogits formed here: d ln p(y) / d l = onehot(y) - softmax(l).
    std::vector<float> dl((size_t)B * V), grad2(grad.size());
    for (int b = 0; b < B; ++b) {
      const float* l = logits.data() + ((size_t)b * T + positions[b]) * V;
      double m = -1e30, s = 0;
      for (int v = 0; v < V; ++v) m = std::max(m, (double)l[v]);
      for (int v = 0; v < V; ++v) s += std::exp(l[v] - m);
      for (int v = 0; v < V; ++v) dl[(size_t)b * V + v] = (float)((v == targets[b]) - std::exp(l[v] - m) / s);
      CHECK(std::fabs(scores[b] - (l[targets[b]] - m - std::log(s))) < 1e-5, "backward_step score row %d", b);
    }
    MUST(inq_backward(ctx.c, p, B, 1, positions.data(), dl.data(), grad2.data()));
    double diff = 0, gmax = 0;
    for (size_t i = 0; i < grad.size(); ++i) {
      diff = std::max(diff, (double)std::fabs(grad[i] - grad2[i]));
      gmax = std::max(gmax, (double)std::fabs(grad[i]));
    }
    CHECK(diff <= 1e-5 * gmax, "point %d: backward_step differs from backward with host dlogits by %.3g", p, diff);
    // Finite differences of ln p(y) through inq_forward_from_hidden (which replaces the kept forward: restore after).
    std::vector<float>& h = hidden[p];
    double worst = 0;
    for (int s = 0; s < 10; ++s) {
      const int b = s % B, t = (b == 1 ? 1 : 0) + (int)(rng.next() % (T - (b == 1 ? 1 : 0)));
      const size_t i = ((size_t)b * T + t) * C + rng.next() % C;
      auto lnp = [&] {
        MUST(inq_forward_from_hidden(ctx.c, p, B, T, h.data(), mask.data(), INQ_LOGITS_ALL, again.data(), 0));
        const float* l = again.data() + ((size_t)b * T + positions[b]) * V;
        double m = -1e30, z = 0;
        for (int v = 0; v < V; ++v) m = std::max(m, (double)l[v]);
        for (int v = 0; v < V; ++v) z += std::exp(l[v] - m);
        return l[targets[b]] - m - std::log(z);
      };
      const float x0 = h[i];
      const double eps = 1e-2;
      h[i] = x0 + (float)eps;
      const double lp = lnp();
      h[i] = x0 - (float)eps;
      const double lm = lnp();
      h[i] = x0;
      const size_t gi = ((size_t)b * 1 + 0) * T * C + (i - (size_t)b * T * C);
      worst = std::max(worst, std::fabs((lp - lm) / (2 * eps) - grad[gi]));
    }
    CHECK(worst <= 5e-3 * std::max(gmax, 1e-3), "point %d: fd max|diff| %.3g, max|grad| %.3g", p, worst, gmax);
    std::printf("  point %d: backward_step == backward (%.1e), fd max|diff| %.2e  max|grad| %.2e\n", p, diff, worst, gmax);
    MUST(inq_forward(ctx.c, B, T, ids.data(), nullptr, mask.data(), INQ_LOGITS_NONE, nullptr, INQ_FWD_KEEP_FOR_BACKWARD));
  }

  // Errors.
  std::vector<float> out((size_t)B * 2 * T * C);
  std::vector<int32_t> pos2 = {5, 4, 5, 3}, tg2 = {1, 2, 3, 4};
  CHECK(inq_get_hidden(ctx.c, L + 1, out.data()) == INQ_ERR_INVALID_ARGUMENT, "point beyond n_layer");
  CHECK(inq_backward(ctx.c, -1, B, 1, positions.data(), out.data(), out.data()) == INQ_ERR_INVALID_ARGUMENT,
        "negative point");
  inq_step_fn_args bad = a;
  bad.fn = INQ_STEP_TOP_P_SIZE;
  CHECK(inq_backward_step(ctx.c, &bad, 0, B, 1, positions.data(), targets.data(), nullptr, nullptr, out.data(),
                          nullptr) == INQ_ERR_INVALID_ARGUMENT && std::strstr(inq_last_error(), "top_p_size"),
        "top_p_size gradient: %s", inq_last_error());
  bad = a;
  bad.fn = INQ_STEP_KL_DIVERGENCE;
  CHECK(inq_backward_step(ctx.c, &bad, 0, B, 1, positions.data(), targets.data(), nullptr, nullptr, out.data(),
                          nullptr) == INQ_ERR_INVALID_ARGUMENT,
        "kl_divergence gradient with shared logits");
  bad = a;
  bad.struct_size = 8;
  CHECK(inq_backward_step(ctx.c, &bad, 0, B, 1, positions.data(), targets.data(), nullptr, nullptr, out.data(),
                          nullptr) == INQ_ERR_INVALID_ARGUMENT,
        "bad struct_size");
  CHECK(inq_backward_step(ctx.c, &a, 0, B, 3, pos2.data(), tg2.data(), nullptr, nullptr, out.data(), nullptr) ==
            INQ_ERR_CAPACITY,
        "too many cotangents");
  tg2[1] = V;
  CHECK(inq_backward_step(ctx.c, &a, 0, B, 2, pos2.data(), tg2.data(), nullptr, nullptr, out.data(), nullptr) ==
            INQ_ERR_INVALID_ARGUMENT,
        "target beyond the vocabulary");
  pos2[1] = -1;  // ... unless its cotangent is empty
  std::vector<float> sc(4);
  MUST(inq_backward_step(ctx.c, &a, 0, B, 2, pos2.data(), tg2.data(), nullptr, nullptr, out.data(), sc.data()));
  bool empty_ok = std::isnan(sc[1]);
  for (size_t i = 0; i < (size_t)T * C; ++i) empty_ok &= out[(size_t)T * C + i] == 0.0f;
  CHECK(empty_ok, "a negative position gives a zero gradient and a NaN score");
  MUST(inq_forward_from_hidden(ctx.c, 2, B, T, hidden[2].data(), mask.data(), INQ_LOGITS_NONE, nullptr,
                               INQ_FWD_KEEP_FOR_BACKWARD));
  CHECK(inq_backward(ctx.c, 1, B, 1, positions.data(), out.data(), out.data()) == INQ_ERR_INVALID_ARGUMENT &&
            std::strstr(inq_last_error(), "precedes"),
        "backward before the forward's start point: %s", inq_last_error());
  CHECK(inq_forward_from_hidden(ctx.c, 1, B, T, nullptr, mask.data(), 0, nullptr, 0) == INQ_ERR_NULL_POINTER,
        "NULL hidden");
  inq_model_destroy(model);
}

static void test_errors() {
  std::printf("[errors]\n");
  auto has_loc = [] { return std::strstr(inq_last_error(), ".cpp:") != nullptr; };
  CHECK(inq_abi_version() == INQ_ABI_VERSION, "abi version");
  char info[512];
  CHECK(inq_build_info(info, sizeof info) == INQ_OK, "build info");
  std::printf("  build: %s\n", info);
  CHECK(inq_build_info(info, 4) == INQ_ERR_CAPACITY && std::strlen(info) == 3, "small build-info buffer");
  CHECK(inq_build_info(nullptr, 10) == INQ_ERR_NULL_POINTER, "NULL build-info buffer");
  int32_t n = -1;
  CHECK(inq_cuda_device_count(&n) == INQ_OK && n == 0, "cuda device count in the CPU build");

  inq_model_config cfg = tu::small_config(1, 2, 8, 10, 8);
  inq_model* m = nullptr;
  CHECK(inq_model_create(nullptr, INQ_DEVICE_CPU, &m) == INQ_ERR_NULL_POINTER && has_loc(), "NULL config");
  inq_model_config bad = cfg;
  bad.n_head = 3;
  CHECK(inq_model_create(&bad, INQ_DEVICE_CPU, &m) == INQ_ERR_INVALID_ARGUMENT &&
            std::strstr(inq_last_error(), "n_head"),
        "n_head not dividing n_embd: %s", inq_last_error());
  bad = cfg;
  bad.n_layer = -1;
  CHECK(inq_model_create(&bad, INQ_DEVICE_CPU, &m) == INQ_ERR_INVALID_ARGUMENT, "negative n_layer");
  bad = cfg;
  bad.struct_size = 4;
  CHECK(inq_model_create(&bad, INQ_DEVICE_CPU, &m) == INQ_ERR_INVALID_ARGUMENT, "bad struct_size");
  bad = cfg;
  bad.activation = 42;
  CHECK(inq_model_create(&bad, INQ_DEVICE_CPU, &m) == INQ_ERR_INVALID_ARGUMENT, "bad activation enum");
  CHECK(inq_model_create(&cfg, 0, &m) == INQ_ERR_UNSUPPORTED, "CUDA model in the CPU build");
  MUST(inq_model_create(&cfg, INQ_DEVICE_CPU, &m));
  std::vector<float> data(10 * 8, 0.1f);
  int64_t wrong[2] = {8, 10}, right[2] = {10, 8};
  CHECK(inq_model_set_tensor(m, "wte.weight", data.data(), wrong, 2) == INQ_ERR_SHAPE &&
            std::strstr(inq_last_error(), "[8,10]") && std::strstr(inq_last_error(), "[10,8]"),
        "wrong shape: %s", inq_last_error());
  CHECK(inq_model_set_tensor(m, "nope.weight", data.data(), right, 2) == INQ_ERR_INVALID_ARGUMENT, "unknown tensor");
  data[3] = NAN;
  CHECK(inq_model_set_tensor(m, "wte.weight", data.data(), right, 2) == INQ_ERR_INVALID_ARGUMENT, "NaN weight");
  data[3] = 0.1f;
  MUST(inq_model_set_tensor(m, "wte.weight", data.data(), right, 2));
  CHECK(inq_model_finalize(m) == INQ_ERR_STATE && std::strstr(inq_last_error(), "wpe.weight"),
        "finalize should name the first missing tensor: %s", inq_last_error());
  inq_context* c = nullptr;
  CHECK(inq_context_create(m, 1, 4, 1, 0, &c) == INQ_ERR_STATE, "context on an unfinalized model");
  MUST(inq_model_destroy(m));

  m = tu::random_model(cfg, 3);
  int64_t bytes = 0, bytes2 = 0;
  MUST(inq_context_memory_size(m, 2, 8, 4, 0, &bytes));
  MUST(inq_context_memory_size(m, 2, 8, 0, 0, &bytes2));
  CHECK(bytes > bytes2 && bytes2 > 0, "memory size: with cotangents %lld, without %lld", (long long)bytes,
        (long long)bytes2);
  CHECK(inq_context_memory_size(m, 0, 8, 4, 0, &bytes) == INQ_ERR_INVALID_ARGUMENT, "zero max_batch");
  CHECK(inq_context_memory_size(m, 2, 9, 4, 0, &bytes) == INQ_ERR_INVALID_ARGUMENT, "max_seq beyond n_positions");
  CHECK(inq_context_memory_size(m, 2, 8, 4, 8, &bytes) == INQ_ERR_INVALID_ARGUMENT, "unknown context flag");
  MUST(inq_context_create(m, 2, 8, 2, 0, &c));
  std::vector<int32_t> ids(3 * 8, 1), mask(2 * 8, 1);
  std::vector<float> logits(3 * 8 * 10), grad(2 * 8 * 8 * 4);
  CHECK(inq_forward(c, 3, 8, ids.data(), nullptr, nullptr, INQ_LOGITS_ALL, logits.data(), 0) == INQ_ERR_CAPACITY &&
            std::strstr(inq_last_error(), "max_batch"),
        "oversize batch: %s", inq_last_error());
  CHECK(inq_forward(c, 1, 9, ids.data(), nullptr, nullptr, INQ_LOGITS_ALL, logits.data(), 0) == INQ_ERR_CAPACITY,
        "oversize seq");
  CHECK(inq_forward(c, 1, 0, ids.data(), nullptr, nullptr, INQ_LOGITS_ALL, logits.data(), 0) == INQ_ERR_INVALID_ARGUMENT,
        "zero seq");
  CHECK(inq_forward(nullptr, 1, 8, ids.data(), nullptr, nullptr, INQ_LOGITS_ALL, logits.data(), 0) == INQ_ERR_NULL_POINTER,
        "NULL context");
  CHECK(inq_forward(c, 1, 8, nullptr, nullptr, nullptr, INQ_LOGITS_ALL, logits.data(), 0) == INQ_ERR_NULL_POINTER,
        "neither ids nor embeds");
  CHECK(inq_forward(c, 1, 8, ids.data(), nullptr, nullptr, INQ_LOGITS_ALL, nullptr, 0) == INQ_ERR_NULL_POINTER,
        "NULL logits");
  CHECK(inq_forward(c, 1, 8, ids.data(), nullptr, nullptr, 7, logits.data(), 0) == INQ_ERR_INVALID_ARGUMENT,
        "bad logits mode");
  CHECK(inq_forward(c, 1, 8, ids.data(), nullptr, nullptr, 0, nullptr, INQ_FWD_KEEP_ATTENTION) == INQ_ERR_CAPACITY,
        "keep attention without the context flag");
  ids[2] = 10;
  CHECK(inq_forward(c, 1, 8, ids.data(), nullptr, nullptr, 0, nullptr, 0) == INQ_ERR_INVALID_ARGUMENT &&
            std::strstr(inq_last_error(), "input_ids[2]"),
        "id beyond the vocabulary: %s", inq_last_error());
  ids[2] = 1;
  mask[3] = 0;
  CHECK(inq_forward(c, 1, 8, ids.data(), nullptr, mask.data(), 0, nullptr, 0) == INQ_ERR_INVALID_ARGUMENT,
        "right/middle padding accepted");
  mask[3] = 1;
  std::vector<int32_t> pos = {7, 7};
  std::vector<float> dl(2 * 10, 1.0f);
  CHECK(inq_backward_embeds(c, 2, 1, pos.data(), dl.data(), grad.data()) == INQ_ERR_STATE, "backward without a kept forward");
  MUST(inq_forward(c, 2, 8, ids.data(), nullptr, mask.data(), 0, nullptr, INQ_FWD_KEEP_FOR_BACKWARD));
  CHECK(inq_backward_embeds(c, 2, 2, pos.data(), dl.data(), grad.data()) == INQ_ERR_CAPACITY, "too many cotangents");
  CHECK(inq_backward_embeds(c, 1, 1, pos.data(), dl.data(), grad.data()) == INQ_ERR_SHAPE, "batch mismatch");
  pos[1] = 8;
  CHECK(inq_backward_embeds(c, 2, 1, pos.data(), dl.data(), grad.data()) == INQ_ERR_INVALID_ARGUMENT,
        "position beyond seq");
  pos[1] = 7;
  MUST(inq_backward_embeds(c, 2, 1, pos.data(), dl.data(), grad.data()));
  float step_logits[20];
  CHECK(inq_cache_step(c, 1, ids.data(), step_logits) == INQ_ERR_STATE, "step without prefill");
  MUST(inq_cache_prefill(c, 1, 7, ids.data(), nullptr, step_logits));
  CHECK(inq_backward_embeds(c, 2, 1, pos.data(), dl.data(), grad.data()) == INQ_ERR_STATE, "prefill keeps a forward");
  CHECK(inq_cache_step(c, 2, ids.data(), step_logits) == INQ_ERR_SHAPE, "step batch mismatch");
  MUST(inq_cache_step(c, 1, ids.data(), step_logits));
  CHECK(inq_cache_step(c, 1, ids.data(), step_logits) == INQ_ERR_CAPACITY, "step into a full cache");
  CHECK(inq_get_attention(c, 0, logits.data()) == INQ_ERR_STATE, "attention not kept");
  CHECK(inq_embed_tokens(c, ids.data(), -1, logits.data()) == INQ_ERR_INVALID_ARGUMENT, "negative n");
  MUST(inq_context_destroy(c));
  inq_context* fwd_only = nullptr;
  MUST(inq_context_create(m, 1, 8, 0, 0, &fwd_only));
  CHECK(inq_forward(fwd_only, 1, 8, ids.data(), nullptr, nullptr, 0, nullptr, INQ_FWD_KEEP_FOR_BACKWARD) ==
            INQ_ERR_CAPACITY,
        "keep for backward on a max_cotangents = 0 context");
  MUST(inq_forward(fwd_only, 1, 8, ids.data(), nullptr, nullptr, INQ_LOGITS_ALL, logits.data(), 0));
  MUST(inq_context_destroy(fwd_only));
  CHECK(inq_context_destroy(nullptr) == INQ_ERR_NULL_POINTER, "NULL context destroy");
  MUST(inq_model_destroy(m));
  std::printf("  %d error-path checks run\n", g_checks);
}

int main(int argc, char** argv) {
  const std::string fixtures = argc > 1 ? argv[1] : "";
  test_errors();
  test_ops();
  test_model_backward(false);
  test_model_backward(true);
  test_step_functions();
  test_points(false);
  test_points(true);
  bool have_fixtures = false;
  if (!fixtures.empty()) {
    try {
      tu::read_file(fixtures + "/hf/tiny-gpt2.json");
      have_fixtures = true;
    } catch (...) {
    }
  }
  if (have_fixtures) {
    try {
      test_fixture(fixtures, "tiny-gpt2");
      test_fixture(fixtures, "tiny-gpt2-bpe");
      test_fixture(fixtures, "tiny-llama");
    } catch (const std::exception& e) {
      CHECK(false, "fixture test threw: %s", e.what());
    }
  } else {
    std::printf("[fixtures] SKIPPED: no fixtures folder given or found (%s)\n", fixtures.c_str());
  }
  std::printf("%s: %d checks, %d failures\n", g_failures ? "FAILED" : "PASSED", g_checks, g_failures);
  return g_failures ? 1 : 0;
}
