#include "grad_accumulator.h"

#include <cmath>
#include <new>
#include <vector>

#include "device.h"

namespace inq {

namespace {

constexpr size_t kAlign = 256;

GradAccumulator& live_accumulator(Context* ctx, const char* what) {
  INQ_CHECK(ctx->grad_acc != nullptr && ctx->grad_acc->rows > 0, INQ_ERR_STATE,
            "%s: no gradient accumulator (call inq_grad_accumulator_reset first)", what);
  return *ctx->grad_acc;
}

}  // namespace

void grad_accumulator_reset(Context* ctx, int rows, int steps, int n_mult, const float* multipliers) {
  const Bound bound(ctx->queue);
  INQ_CHECK_POSITIVE(rows);
  INQ_CHECK_POSITIVE(steps);
  INQ_CHECK(n_mult >= 0, INQ_ERR_INVALID_ARGUMENT, "argument 'n_mult' must be >= 0 (got %d)", n_mult);
  INQ_CHECK((multipliers == nullptr) == (n_mult == 0), INQ_ERR_INVALID_ARGUMENT,
            "argument 'multipliers' must be given exactly when n_mult > 0 (n_mult %d, multipliers %s)", n_mult,
            multipliers ? "given" : "NULL");
  const int64_t C = ctx->model->cfg.n_embd;
  const double acc_floats = (double)rows * steps * C, mul_floats = (double)n_mult * rows * C;
  INQ_CHECK(acc_floats < 9.0e15 && mul_floats < 9.0e15, INQ_ERR_INVALID_ARGUMENT,
            "accumulator of %d rows x %d steps (x %d multiplier rows) is too large", rows, steps, n_mult);
  const size_t acc_b = align_up(sizeof(float) * (size_t)rows * steps * C, kAlign);
  const size_t mul_b = align_up(sizeof(float) * (size_t)n_mult * rows * C, kAlign);
  const size_t w_b = align_up(sizeof(float) * (size_t)ctx->max_batch, kAlign);
  const size_t s_b = align_up(sizeof(int32_t) * (size_t)(ctx->max_cot > 0 ? ctx->max_cot : 1), kAlign);
  const size_t total = acc_b + mul_b + w_b + s_b;
  Device& dev = *ctx->model->dev;
  if (!ctx->grad_acc) {
    ctx->grad_acc = new (std::nothrow) GradAccumulator();
    INQ_CHECK(ctx->grad_acc != nullptr, INQ_ERR_OUT_OF_MEMORY, "allocating the gradient accumulator object failed");
  }
  GradAccumulator& g = *ctx->grad_acc;
  g.rows = 0;  // unusable until the reset completes
  if (g.cap < total) {
    if (g.mem) {
      ctx->queue->finish();  // earlier work may still read the old memory
      dev.release(g.mem);
      g.mem = nullptr;
      g.cap = 0;
    }
    g.mem = static_cast<char*>(dev.alloc(total, "the gradient accumulator"));
    g.cap = total;
  }
  g.acc = reinterpret_cast<float*>(g.mem);
  g.mul = n_mult > 0 ? reinterpret_cast<float*>(g.mem + acc_b) : nullptr;
  g.weights = reinterpret_cast<float*>(g.mem + acc_b + mul_b);
  g.step_idx = reinterpret_cast<int32_t*>(g.mem + acc_b + mul_b + w_b);
  ctx->queue->zero(g.acc, sizeof(float) * (size_t)rows * steps * C);
  if (n_mult > 0) ctx->queue->upload(g.mul, multipliers, sizeof(float) * (size_t)n_mult * rows * C);
  g.steps = steps;
  g.n_mult = n_mult;
  g.rows = rows;
}

void grad_accumulator_read(Context* ctx, float* out) {
  const Bound bound(ctx->queue);
  GradAccumulator& g = live_accumulator(ctx, "inq_grad_accumulator_read");
  INQ_CHECK_NOT_NULL(out);
  ctx->queue->download(out, g.acc, sizeof(float) * (size_t)g.rows * g.steps * ctx->model->cfg.n_embd);
  ctx->queue->finish();
}

void grad_accumulator_reduce(Context* ctx, const float* multipliers, float* l2, float* sums) {
  const Bound bound(ctx->queue);
  GradAccumulator& g = live_accumulator(ctx, "inq_grad_accumulator_reduce");
  INQ_CHECK_NOT_NULL(l2);
  const Ops& ops = *ctx->ops;
  const int64_t C = ctx->model->cfg.n_embd, cells = (int64_t)g.rows * g.steps;
  Device& dev = *ctx->model->dev;
  if (dev.host_memory()) {
    ops.grad_reduce(l2, sums, g.acc, multipliers, g.rows, g.steps, (int)C);
    return;
  }
  // Device: the multipliers go up and the [rows, steps] results come down through a scratch of their own (once per
  // sequence, not in the backward's hot path).
  const size_t mul_b = multipliers ? align_up(sizeof(float) * (size_t)g.rows * C, kAlign) : 0;
  const size_t out_b = align_up(sizeof(float) * (size_t)cells, kAlign);
  DeviceBuffer scratch(dev, mul_b + 2 * out_b, "the gradient reduction");
  char* base = scratch.get<char>();
  float* mul = multipliers ? reinterpret_cast<float*>(base) : nullptr;
  float* dl2 = reinterpret_cast<float*>(base + mul_b);
  float* dsum = sums ? reinterpret_cast<float*>(base + mul_b + out_b) : nullptr;
  if (mul) ctx->queue->upload(mul, multipliers, sizeof(float) * (size_t)g.rows * C);
  ops.grad_reduce(dl2, dsum, g.acc, mul, g.rows, g.steps, (int)C);
  ctx->queue->download(l2, dl2, sizeof(float) * (size_t)cells);
  if (sums) ctx->queue->download(sums, dsum, sizeof(float) * (size_t)cells);
  ctx->queue->finish();
}

AccumulateTarget grad_accumulate_prepare(Context* ctx, int batch, int n_cot, const int32_t* positions,
                                         const AccumulateArgs& a, int rows, const char* what) {
  GradAccumulator& g = live_accumulator(ctx, what);
  INQ_CHECK(a.steps != nullptr, INQ_ERR_NULL_POINTER, "argument 'steps' is NULL");
  INQ_CHECK(a.row_weights != nullptr, INQ_ERR_NULL_POINTER, "argument 'row_weights' is NULL");
  INQ_CHECK(g.rows == rows, INQ_ERR_SHAPE,
            "%s: the accumulator has %d rows, the kept forward's gradient covers %d (reset it for this forward)", what,
            g.rows, rows);
  std::vector<char> seen((size_t)g.steps, 0);
  for (int i = 0; i < n_cot; ++i) {
    INQ_CHECK(a.steps[i] >= 0 && a.steps[i] < g.steps, INQ_ERR_INVALID_ARGUMENT,
              "%s: steps[%d] = %d is outside the accumulator's steps [0, %d)", what, i, a.steps[i], g.steps);
    INQ_CHECK(!seen[a.steps[i]], INQ_ERR_INVALID_ARGUMENT,
              "%s: steps[%d] = %d repeats an earlier column's step (each column needs its own cells)", what, i,
              a.steps[i]);
    seen[a.steps[i]] = 1;
  }
  for (int b = 0; b < batch; ++b)
    INQ_CHECK(std::isfinite(a.row_weights[b]), INQ_ERR_INVALID_ARGUMENT, "%s: row_weights[%d] is not finite", what, b);
  for (int r = 0; r < batch * n_cot; ++r)
    INQ_CHECK(positions[r] >= 0, INQ_ERR_INVALID_ARGUMENT,
              "%s: positions[%d, %d] = %d: an accumulating backward needs a position for every cotangent", what,
              r / n_cot, r % n_cot, positions[r]);
  const float* mul = nullptr;
  if (g.n_mult > 0) {
    INQ_CHECK(a.mult_row0 >= 0 && (int64_t)a.mult_row0 + batch <= g.n_mult, INQ_ERR_INVALID_ARGUMENT,
              "%s: mult_row0 %d + batch %d exceeds the accumulator's %d multiplier rows", what, a.mult_row0, batch,
              g.n_mult);
    mul = g.mul + (int64_t)a.mult_row0 * g.rows * ctx->model->cfg.n_embd;
  }
  ctx->queue->upload(g.weights, a.row_weights, sizeof(float) * (size_t)batch);
  ctx->queue->upload(g.step_idx, a.steps, sizeof(int32_t) * (size_t)n_cot);
  return AccumulateTarget{g.acc, g.weights, mul, g.step_idx, g.rows, g.steps};
}

void grad_accumulator_free(Context* ctx) noexcept {
  if (!ctx->grad_acc) return;
  if (ctx->grad_acc->mem) ctx->model->dev->release(ctx->grad_acc->mem);
  delete ctx->grad_acc;
  ctx->grad_acc = nullptr;
}

}  // namespace inq
