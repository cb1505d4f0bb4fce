#include "model.h"

#include <cmath>
#include <cstring>

namespace inq {

namespace {

std::string shape_str(const int64_t* s, int ndim) {
  std::string r = "[";
  for (int i = 0; i < ndim; ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

void add(Model* m, const std::string& name, std::initializer_list<int64_t> shape) {
  TensorSlot t;
  t.name = name;
  t.ndim = (int)shape.size();
  t.numel = 1;
  int i = 0;
  for (int64_t d : shape) {
    t.shape[i++] = d;
    t.numel *= d;
  }
  for (; i < 4; ++i) t.shape[i] = 0;
  t.offset = m->weight_floats;
  t.set = false;
  m->weight_floats += align_up((size_t)t.numel, 16);  // every tensor starts 64-byte aligned
  m->index[name] = (int)m->tensors.size();
  m->tensors.push_back(t);
}

const float* W(const Model* m, const std::string& name) {
  return m->weights + m->tensors[m->index.at(name)].offset;
}

}  // namespace

void validate_config(const inq_model_config* c) {
  INQ_CHECK(c->struct_size == (int32_t)sizeof(inq_model_config), INQ_ERR_INVALID_ARGUMENT,
            "config->struct_size is %d, expected sizeof(inq_model_config) = %d", c->struct_size,
            (int)sizeof(inq_model_config));
  INQ_CHECK(c->arch == INQ_ARCH_GPT2, INQ_ERR_INVALID_ARGUMENT, "config->arch %d is not a known inq_arch (GPT2 = %d)",
            c->arch, INQ_ARCH_GPT2);
  INQ_CHECK_POSITIVE(c->n_layer);
  INQ_CHECK_POSITIVE(c->n_head);
  INQ_CHECK_POSITIVE(c->n_embd);
  INQ_CHECK_POSITIVE(c->n_inner);
  INQ_CHECK_POSITIVE(c->n_positions);
  INQ_CHECK_POSITIVE(c->vocab_size);
  INQ_CHECK(c->n_embd % c->n_head == 0, INQ_ERR_INVALID_ARGUMENT,
            "config->n_head (%d) must divide config->n_embd (%d)", c->n_head, c->n_embd);
  INQ_CHECK(c->activation >= INQ_ACT_GELU_TANH && c->activation <= INQ_ACT_SILU, INQ_ERR_INVALID_ARGUMENT,
            "config->activation %d is not a known inq_activation (1..4)", c->activation);
  INQ_CHECK(std::isfinite(c->norm_eps) && c->norm_eps > 0.0f, INQ_ERR_INVALID_ARGUMENT,
            "config->norm_eps must be finite and > 0 (got %g)", (double)c->norm_eps);
  INQ_CHECK(c->tie_word_embeddings == 0 || c->tie_word_embeddings == 1, INQ_ERR_INVALID_ARGUMENT,
            "config->tie_word_embeddings must be 0 or 1 (got %d)", c->tie_word_embeddings);
  INQ_CHECK(c->scale_attn_weights == 0 || c->scale_attn_weights == 1, INQ_ERR_INVALID_ARGUMENT,
            "config->scale_attn_weights must be 0 or 1 (got %d)", c->scale_attn_weights);
  INQ_CHECK(c->scale_attn_by_inverse_layer_idx == 0 || c->scale_attn_by_inverse_layer_idx == 1,
            INQ_ERR_INVALID_ARGUMENT, "config->scale_attn_by_inverse_layer_idx must be 0 or 1 (got %d)",
            c->scale_attn_by_inverse_layer_idx);
  // Keep every per-tensor element count and per-row product far from int overflow in the ops.
  const int64_t lim = (int64_t)1 << 30;
  INQ_CHECK((int64_t)c->vocab_size * c->n_embd < lim && (int64_t)c->n_embd * c->n_inner < lim &&
                (int64_t)c->n_positions * c->n_embd < lim && (int64_t)3 * c->n_embd < lim,
            INQ_ERR_INVALID_ARGUMENT, "config sizes too large (vocab_size %d, n_embd %d, n_inner %d, n_positions %d)",
            c->vocab_size, c->n_embd, c->n_inner, c->n_positions);
}

Model* model_create(const inq_model_config* cfg, int device) {
  validate_config(cfg);
  check_cpu_device(device);
  Model* m = new Model();
  m->cfg = *cfg;
  m->device = device;
  m->ops = &cpu_ops();
  const int64_t C = cfg->n_embd, I = cfg->n_inner, V = cfg->vocab_size, P = cfg->n_positions;
  add(m, "wte.weight", {V, C});
  add(m, "wpe.weight", {P, C});
  for (int l = 0; l < cfg->n_layer; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    add(m, h + "ln_1.weight", {C});
    add(m, h + "ln_1.bias", {C});
    add(m, h + "attn.c_attn.weight", {C, 3 * C});
    add(m, h + "attn.c_attn.bias", {3 * C});
    add(m, h + "attn.c_proj.weight", {C, C});
    add(m, h + "attn.c_proj.bias", {C});
    add(m, h + "ln_2.weight", {C});
    add(m, h + "ln_2.bias", {C});
    add(m, h + "mlp.c_fc.weight", {C, I});
    add(m, h + "mlp.c_fc.bias", {I});
    add(m, h + "mlp.c_proj.weight", {I, C});
    add(m, h + "mlp.c_proj.bias", {C});
  }
  add(m, "ln_f.weight", {C});
  add(m, "ln_f.bias", {C});
  if (!cfg->tie_word_embeddings) add(m, "lm_head.weight", {V, C});
  try {
    m->weights = (float*)aligned_alloc_or_throw(m->weight_floats * sizeof(float), "model weights");
  } catch (...) {
    delete m;
    throw;
  }
  return m;
}

void model_release(Model* m) {
  if (m->refs.fetch_sub(1) == 1) delete m;
}

void model_set_tensor(Model* m, const char* name, const float* data, const int64_t* shape, int ndim) {
  INQ_CHECK(!m->finalized, INQ_ERR_STATE, "model is finalized; tensor '%s' can no longer be set", name);
  auto it = m->index.find(name);
  INQ_CHECK(it != m->index.end(), INQ_ERR_INVALID_ARGUMENT, "unknown tensor '%s' for a gpt2 model", name);
  TensorSlot& t = m->tensors[it->second];
  INQ_CHECK(ndim >= 1 && ndim <= 4, INQ_ERR_INVALID_ARGUMENT, "tensor '%s': ndim %d outside 1..4", name, ndim);
  bool same = ndim == t.ndim;
  for (int i = 0; same && i < ndim; ++i) same = shape[i] == t.shape[i];
  INQ_CHECK(same, INQ_ERR_SHAPE, "tensor '%s' has shape %s, expected %s", name, shape_str(shape, ndim).c_str(),
            shape_str(t.shape, t.ndim).c_str());
  for (int64_t i = 0; i < t.numel; ++i)
    INQ_CHECK(std::isfinite(data[i]), INQ_ERR_INVALID_ARGUMENT, "tensor '%s': element %lld is not finite (%g)", name,
              (long long)i, (double)data[i]);
  std::memcpy(m->weights + t.offset, data, sizeof(float) * (size_t)t.numel);
  t.set = true;
}

void model_finalize(Model* m) {
  if (m->finalized) return;
  for (const TensorSlot& t : m->tensors)
    INQ_CHECK(t.set, INQ_ERR_STATE, "tensor '%s' %s was never set (finalize needs all %d tensors)", t.name.c_str(),
              shape_str(t.shape, t.ndim).c_str(), (int)m->tensors.size());
  m->wte = W(m, "wte.weight");
  m->wpe = W(m, "wpe.weight");
  m->lnf_w = W(m, "ln_f.weight");
  m->lnf_b = W(m, "ln_f.bias");
  m->lm_head = m->cfg.tie_word_embeddings ? m->wte : W(m, "lm_head.weight");
  for (int l = 0; l < m->cfg.n_layer; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    LayerWeights w;
    w.ln1_w = W(m, h + "ln_1.weight");
    w.ln1_b = W(m, h + "ln_1.bias");
    w.attn_w = W(m, h + "attn.c_attn.weight");
    w.attn_b = W(m, h + "attn.c_attn.bias");
    w.proj_w = W(m, h + "attn.c_proj.weight");
    w.proj_b = W(m, h + "attn.c_proj.bias");
    w.ln2_w = W(m, h + "ln_2.weight");
    w.ln2_b = W(m, h + "ln_2.bias");
    w.fc_w = W(m, h + "mlp.c_fc.weight");
    w.fc_b = W(m, h + "mlp.c_fc.bias");
    w.mlp_proj_w = W(m, h + "mlp.c_proj.weight");
    w.mlp_proj_b = W(m, h + "mlp.c_proj.bias");
    m->layers.push_back(w);
  }
  m->finalized = true;
}

}  // namespace inq

inq_model::~inq_model() { inq::aligned_free(weights); }
