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

// packed: placed right after the previous tensor (no alignment padding), so tensors added one after another form
// one matrix (LLAMA's q | k | v and gate | up projections).
void add(Model* m, const std::string& name, std::initializer_list<int64_t> shape, bool packed = false) {
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
  if (packed && !m->tensors.empty()) {
    const TensorSlot& prev = m->tensors.back();
    t.offset = prev.offset + (size_t)prev.numel;
  } else {
    t.offset = m->weight_floats;
  }
  t.set = false;
  m->weight_floats = align_up(t.offset + (size_t)t.numel, 16);  // the next unpacked tensor starts 64-byte aligned
  m->index[name] = (int)m->tensors.size();
  m->tensors.push_back(t);
}

const float* W(const Model* m, const std::string& name) {
  return m->weights + m->tensors[m->index.at(name)].offset;
}

// NULL when the config leaves the tensor out (optional biases).
const float* W_opt(const Model* m, const std::string& name) {
  auto it = m->index.find(name);
  return it == m->index.end() ? nullptr : m->weights + m->tensors[it->second].offset;
}

const char* arch_name(int arch) {
  switch (arch) {
    case INQ_ARCH_GPT2: return "gpt2";
    case INQ_ARCH_LLAMA: return "llama";
    case INQ_ARCH_MARIAN: return "marian";
    case INQ_ARCH_M2M100: return "m2m_100";
    default: return "t5";
  }
}

void check_flag(int32_t v, const char* name) {
  INQ_CHECK(v == 0 || v == 1, INQ_ERR_INVALID_ARGUMENT, "config->%s must be 0 or 1 (got %d)", name, v);
}

void add_gpt2(Model* m, const inq_model_config* cfg) {
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
}

void add_llama(Model* m, const inq_model_config* cfg) {
  const int64_t C = cfg->n_embd, I = cfg->n_inner, V = cfg->vocab_size, KVC = kv_width(*cfg);
  add(m, "model.embed_tokens.weight", {V, C});
  for (int l = 0; l < cfg->n_layer; ++l) {
    const std::string h = "model.layers." + std::to_string(l) + ".";
    add(m, h + "input_layernorm.weight", {C});
    add(m, h + "self_attn.q_proj.weight", {C, C});
    add(m, h + "self_attn.k_proj.weight", {KVC, C}, true);
    add(m, h + "self_attn.v_proj.weight", {KVC, C}, true);
    if (cfg->attn_qkv_bias) {
      add(m, h + "self_attn.q_proj.bias", {C});
      add(m, h + "self_attn.k_proj.bias", {KVC}, true);
      add(m, h + "self_attn.v_proj.bias", {KVC}, true);
    }
    add(m, h + "self_attn.o_proj.weight", {C, C});
    if (cfg->attn_out_bias) add(m, h + "self_attn.o_proj.bias", {C});
    add(m, h + "post_attention_layernorm.weight", {C});
    add(m, h + "mlp.gate_proj.weight", {I, C});
    add(m, h + "mlp.up_proj.weight", {I, C}, true);
    if (cfg->mlp_bias) {
      add(m, h + "mlp.gate_proj.bias", {I});
      add(m, h + "mlp.up_proj.bias", {I}, true);
    }
    add(m, h + "mlp.down_proj.weight", {C, I});
    if (cfg->mlp_bias) add(m, h + "mlp.down_proj.bias", {C});
  }
  add(m, "model.norm.weight", {C});
  if (!cfg->tie_word_embeddings) add(m, "lm_head.weight", {V, C});
  // Not a checkpoint tensor: the caller computes the rotary frequencies of the config's rope_scaling.
  if (cfg->rope_inv_freq_table) add(m, "rope.inv_freq", {head_dim(*cfg) / 2});
}

void add_attention(Model* m, const std::string& p, int64_t C) {
  add(m, p + "q_proj.weight", {C, C});
  add(m, p + "k_proj.weight", {C, C}, true);
  add(m, p + "v_proj.weight", {C, C}, true);
  add(m, p + "q_proj.bias", {C});
  add(m, p + "k_proj.bias", {C}, true);
  add(m, p + "v_proj.bias", {C}, true);
  add(m, p + "out_proj.weight", {C, C});
  add(m, p + "out_proj.bias", {C});
}

void add_norm(Model* m, const std::string& p, int64_t C) {
  add(m, p + ".weight", {C});
  add(m, p + ".bias", {C});
}

// MarianMTModel's and M2M100ForConditionalGeneration's names (the BART layout). q | k | v are packed
// (self-attention: one [3C, C] GEMM; cross-attention: q alone, k | v one [2C, C] GEMM over the encoder output).
// M2M100 adds the final encoder / decoder layer_norm; Marian has final_logits_bias.
void add_bart(Model* m, const inq_model_config* cfg) {
  const int64_t C = cfg->n_embd, I = cfg->n_inner, V = cfg->vocab_size;
  add(m, "model.shared.weight", {V, C});
  for (int stack = 0; stack < 2; ++stack) {
    const int n = stack == 0 ? cfg->n_encoder_layer : cfg->n_layer;
    const std::string s = stack == 0 ? "model.encoder" : "model.decoder";
    for (int l = 0; l < n; ++l) {
      const std::string h = s + ".layers." + std::to_string(l) + ".";
      add_attention(m, h + "self_attn.", C);
      add_norm(m, h + "self_attn_layer_norm", C);
      if (stack == 1) {
        add_attention(m, h + "encoder_attn.", C);
        add_norm(m, h + "encoder_attn_layer_norm", C);
      }
      add(m, h + "fc1.weight", {I, C});
      add(m, h + "fc1.bias", {I});
      add(m, h + "fc2.weight", {C, I});
      add(m, h + "fc2.bias", {C});
      add_norm(m, h + "final_layer_norm", C);
    }
    if (cfg->arch == INQ_ARCH_M2M100) add_norm(m, s + ".layer_norm", C);
  }
  if (cfg->arch == INQ_ARCH_MARIAN) add(m, "final_logits_bias", {1, V});
}

// T5ForConditionalGeneration's names. Self-attention q | k | v packed ([3A, C]), cross-attention k | v ([2A, C]),
// gated feed-forward wi_0 | wi_1 ([2I, C]); no biases; relative_attention_bias only in block 0 of each stack.
void add_t5(Model* m, const inq_model_config* cfg) {
  const int64_t C = cfg->n_embd, I = cfg->n_inner, V = cfg->vocab_size, A = attn_width(*cfg), H = cfg->n_head;
  add(m, "shared.weight", {V, C});
  for (int stack = 0; stack < 2; ++stack) {
    const int n = stack == 0 ? cfg->n_encoder_layer : cfg->n_layer;
    const std::string s = stack == 0 ? "encoder" : "decoder";
    for (int l = 0; l < n; ++l) {
      const std::string b = s + ".block." + std::to_string(l) + ".layer.";
      add(m, b + "0.SelfAttention.q.weight", {A, C});
      add(m, b + "0.SelfAttention.k.weight", {A, C}, true);
      add(m, b + "0.SelfAttention.v.weight", {A, C}, true);
      add(m, b + "0.SelfAttention.o.weight", {C, A});
      if (l == 0) add(m, b + "0.SelfAttention.relative_attention_bias.weight", {cfg->rel_num_buckets, H});
      add(m, b + "0.layer_norm.weight", {C});
      if (stack == 1) {
        add(m, b + "1.EncDecAttention.q.weight", {A, C});
        add(m, b + "1.EncDecAttention.k.weight", {A, C});
        add(m, b + "1.EncDecAttention.v.weight", {A, C}, true);
        add(m, b + "1.EncDecAttention.o.weight", {C, A});
        add(m, b + "1.layer_norm.weight", {C});
      }
      const std::string f = b + (stack == 0 ? "1" : "2") + ".";
      if (cfg->gated_mlp) {
        add(m, f + "DenseReluDense.wi_0.weight", {I, C});
        add(m, f + "DenseReluDense.wi_1.weight", {I, C}, true);
      } else {
        add(m, f + "DenseReluDense.wi.weight", {I, C});
      }
      add(m, f + "DenseReluDense.wo.weight", {C, I});
      add(m, f + "layer_norm.weight", {C});
    }
    add(m, s + ".final_layer_norm.weight", {C});
  }
  if (!cfg->tie_word_embeddings) add(m, "lm_head.weight", {V, C});
}

void finalize_bart(Model* m) {
  m->wte = m->lm_head = W(m, "model.shared.weight");
  m->final_logits_bias = W_opt(m, "final_logits_bias");
  for (int stack = 0; stack < 2; ++stack) {
    const int n = stack == 0 ? m->cfg.n_encoder_layer : m->cfg.n_layer;
    const std::string s = stack == 0 ? "model.encoder" : "model.decoder";
    for (int l = 0; l < n; ++l) {
      const std::string h = s + ".layers." + std::to_string(l) + ".";
      Seq2SeqLayerWeights w{};
      w.self_qkv_w = W(m, h + "self_attn.q_proj.weight");  // q | k | v packed
      w.self_qkv_b = W(m, h + "self_attn.q_proj.bias");
      w.self_o_w = W(m, h + "self_attn.out_proj.weight");
      w.self_o_b = W(m, h + "self_attn.out_proj.bias");
      w.ln1_w = W(m, h + "self_attn_layer_norm.weight");
      w.ln1_b = W(m, h + "self_attn_layer_norm.bias");
      if (stack == 1) {
        w.cross_q_w = W(m, h + "encoder_attn.q_proj.weight");
        w.cross_q_b = W(m, h + "encoder_attn.q_proj.bias");
        w.cross_kv_w = W(m, h + "encoder_attn.k_proj.weight");  // k | v packed
        w.cross_kv_b = W(m, h + "encoder_attn.k_proj.bias");
        w.cross_o_w = W(m, h + "encoder_attn.out_proj.weight");
        w.cross_o_b = W(m, h + "encoder_attn.out_proj.bias");
        w.ln2_w = W(m, h + "encoder_attn_layer_norm.weight");
        w.ln2_b = W(m, h + "encoder_attn_layer_norm.bias");
      }
      w.fc1_w = W(m, h + "fc1.weight");
      w.fc1_b = W(m, h + "fc1.bias");
      w.fc2_w = W(m, h + "fc2.weight");
      w.fc2_b = W(m, h + "fc2.bias");
      w.ln3_w = W(m, h + "final_layer_norm.weight");
      w.ln3_b = W(m, h + "final_layer_norm.bias");
      (stack == 0 ? m->enc_layers : m->dec_layers).push_back(w);
    }
  }
  m->enc_norm_w = W_opt(m, "model.encoder.layer_norm.weight");
  m->enc_norm_b = W_opt(m, "model.encoder.layer_norm.bias");
  m->dec_norm_w = W_opt(m, "model.decoder.layer_norm.weight");
  m->dec_norm_b = W_opt(m, "model.decoder.layer_norm.bias");
}

void finalize_t5(Model* m) {
  m->wte = W(m, "shared.weight");
  m->lm_head = m->cfg.tie_word_embeddings ? m->wte : W(m, "lm_head.weight");
  for (int stack = 0; stack < 2; ++stack) {
    const int n = stack == 0 ? m->cfg.n_encoder_layer : m->cfg.n_layer;
    const std::string s = stack == 0 ? "encoder" : "decoder";
    for (int l = 0; l < n; ++l) {
      const std::string b = s + ".block." + std::to_string(l) + ".layer.";
      Seq2SeqLayerWeights w{};
      w.self_qkv_w = W(m, b + "0.SelfAttention.q.weight");  // q | k | v packed
      w.self_o_w = W(m, b + "0.SelfAttention.o.weight");
      w.ln1_w = W(m, b + "0.layer_norm.weight");
      if (stack == 1) {
        w.cross_q_w = W(m, b + "1.EncDecAttention.q.weight");
        w.cross_kv_w = W(m, b + "1.EncDecAttention.k.weight");  // k | v packed
        w.cross_o_w = W(m, b + "1.EncDecAttention.o.weight");
        w.ln2_w = W(m, b + "1.layer_norm.weight");
      }
      const std::string f = b + (stack == 0 ? "1" : "2") + ".";
      w.fc1_w = W(m, f + (m->cfg.gated_mlp ? "DenseReluDense.wi_0.weight" : "DenseReluDense.wi.weight"));
      w.fc2_w = W(m, f + "DenseReluDense.wo.weight");
      w.ln3_w = W(m, f + "layer_norm.weight");
      (stack == 0 ? m->enc_layers : m->dec_layers).push_back(w);
    }
    (stack == 0 ? m->enc_norm_w : m->dec_norm_w) = W(m, s + ".final_layer_norm.weight");
    (stack == 0 ? m->enc_rel_bias : m->dec_rel_bias) =
        W(m, s + ".block.0.layer.0.SelfAttention.relative_attention_bias.weight");
  }
}

void validate_seq2seq(const inq_model_config* c) {
  INQ_CHECK_POSITIVE(c->n_encoder_layer);
  INQ_CHECK(std::isfinite(c->embed_scale) && c->embed_scale > 0.0f, INQ_ERR_INVALID_ARGUMENT,
            "config->embed_scale must be finite and > 0 (got %g)", (double)c->embed_scale);
  INQ_CHECK(kv_heads(*c) == c->n_head, INQ_ERR_INVALID_ARGUMENT,
            "config->n_kv_head %d: encoder-decoder models have no grouped-query attention (0 or n_head = %d)",
            c->n_kv_head, c->n_head);
  INQ_CHECK(c->scale_attn_by_inverse_layer_idx == 0, INQ_ERR_INVALID_ARGUMENT,
            "encoder-decoder attention is not scaled by layer index (scale_attn_by_inverse_layer_idx must be 0)");
  check_flag(c->gated_mlp, "gated_mlp");
  if (c->arch == INQ_ARCH_T5) {
    INQ_CHECK(c->head_dim > 0 && c->head_dim <= 4096, INQ_ERR_INVALID_ARGUMENT,
              "T5: config->head_dim (d_kv) must be in 1..4096 (got %d)", c->head_dim);
    INQ_CHECK(c->rel_num_buckets >= 2 && c->rel_num_buckets <= 4096 && c->rel_max_distance > 0,
              INQ_ERR_INVALID_ARGUMENT,
              "T5: relative attention needs rel_num_buckets in 2..4096 and rel_max_distance > 0 (got %d, %d)",
              c->rel_num_buckets, c->rel_max_distance);
    INQ_CHECK(c->scale_attn_weights == 0 && c->embed_scale == 1.0f, INQ_ERR_INVALID_ARGUMENT,
              "T5 scales neither scores nor embeddings (scale_attn_weights 0, embed_scale 1; got %d, %g)",
              c->scale_attn_weights, (double)c->embed_scale);
  } else {
    INQ_CHECK(c->head_dim == 0 || c->head_dim * c->n_head == c->n_embd, INQ_ERR_INVALID_ARGUMENT,
              "config->head_dim %d: MARIAN / M2M100 heads split n_embd (0 or n_embd / n_head)", c->head_dim);
    INQ_CHECK(c->tie_word_embeddings == 1 && c->scale_attn_weights == 1 && c->gated_mlp == 0,
              INQ_ERR_INVALID_ARGUMENT,
              "MARIAN / M2M100: tie_word_embeddings 1, scale_attn_weights 1, gated_mlp 0 (got %d, %d, %d)",
              c->tie_word_embeddings, c->scale_attn_weights, c->gated_mlp);
  }
}

}  // namespace

void validate_config(const inq_model_config* c) {
  INQ_CHECK(c->struct_size == (int32_t)sizeof(inq_model_config), INQ_ERR_INVALID_ARGUMENT,
            "config->struct_size is %d, expected sizeof(inq_model_config) = %d", c->struct_size,
            (int)sizeof(inq_model_config));
  INQ_CHECK(c->arch >= INQ_ARCH_GPT2 && c->arch <= INQ_ARCH_T5, INQ_ERR_INVALID_ARGUMENT,
            "config->arch %d is not a known inq_arch (GPT2 = 1, LLAMA = 2, MARIAN = 3, M2M100 = 4, T5 = 5)", c->arch);
  INQ_CHECK_POSITIVE(c->n_layer);
  INQ_CHECK_POSITIVE(c->n_head);
  INQ_CHECK_POSITIVE(c->n_embd);
  INQ_CHECK_POSITIVE(c->n_inner);
  INQ_CHECK_POSITIVE(c->n_positions);
  INQ_CHECK_POSITIVE(c->vocab_size);
  INQ_CHECK(c->arch == INQ_ARCH_T5 || c->n_embd % c->n_head == 0, INQ_ERR_INVALID_ARGUMENT,
            "config->n_head (%d) must divide config->n_embd (%d)", c->n_head, c->n_embd);
  INQ_CHECK(is_seq2seq(*c) || (c->head_dim == 0 && c->rel_num_buckets == 0 && c->gated_mlp == 0),
            INQ_ERR_INVALID_ARGUMENT,
            "config->head_dim, rel_num_buckets and gated_mlp are encoder-decoder fields (0 for decoder-only archs)");
  INQ_CHECK(c->arch == INQ_ARCH_LLAMA ? c->sliding_window >= 0 : c->sliding_window == 0, INQ_ERR_INVALID_ARGUMENT,
            "config->sliding_window %d: >= 0 for LLAMA (0: no window), 0 for other archs", c->sliding_window);
  INQ_CHECK(c->arch == INQ_ARCH_LLAMA ? (c->rope_inv_freq_table == 0 || c->rope_inv_freq_table == 1)
                                      : c->rope_inv_freq_table == 0,
            INQ_ERR_INVALID_ARGUMENT, "config->rope_inv_freq_table %d: 0 or 1 for LLAMA, 0 for other archs",
            c->rope_inv_freq_table);
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
  INQ_CHECK(c->n_kv_head >= 0, INQ_ERR_INVALID_ARGUMENT, "config->n_kv_head must be >= 0 (0: n_head), got %d",
            c->n_kv_head);
  INQ_CHECK(c->n_head % kv_heads(*c) == 0, INQ_ERR_INVALID_ARGUMENT,
            "config->n_kv_head (%d) must divide config->n_head (%d)", c->n_kv_head, c->n_head);
  check_flag(c->attn_qkv_bias, "attn_qkv_bias");
  check_flag(c->attn_out_bias, "attn_out_bias");
  check_flag(c->mlp_bias, "mlp_bias");
  if (is_seq2seq(*c)) {
    validate_seq2seq(c);
  } else if (c->arch == INQ_ARCH_GPT2) {
    INQ_CHECK(kv_heads(*c) == c->n_head, INQ_ERR_INVALID_ARGUMENT,
              "config->n_kv_head %d: GPT-2 has no grouped-query attention (0 or n_head = %d)", c->n_kv_head, c->n_head);
  } else {
    INQ_CHECK(std::isfinite(c->rope_theta) && c->rope_theta > 0.0f, INQ_ERR_INVALID_ARGUMENT,
              "config->rope_theta must be finite and > 0 (got %g)", (double)c->rope_theta);
    INQ_CHECK(head_dim(*c) % 2 == 0 && head_dim(*c) <= 1024, INQ_ERR_INVALID_ARGUMENT,
              "head dim n_embd / n_head = %d must be even and <= 1024 for rotary positions", head_dim(*c));
    INQ_CHECK(c->activation == INQ_ACT_SILU, INQ_ERR_INVALID_ARGUMENT,
              "config->activation %d: the LLAMA block's gated MLP is SwiGLU (INQ_ACT_SILU = %d)", c->activation,
              INQ_ACT_SILU);
    INQ_CHECK(c->scale_attn_weights == 1 && c->scale_attn_by_inverse_layer_idx == 0, INQ_ERR_INVALID_ARGUMENT,
              "LLAMA attention scales scores by 1/sqrt(head_dim) only (scale_attn_weights 1, "
              "scale_attn_by_inverse_layer_idx 0; got %d, %d)",
              c->scale_attn_weights, c->scale_attn_by_inverse_layer_idx);
  }
  // Keep every per-tensor element count and per-row product far from int overflow in the ops.
  const int64_t lim = (int64_t)1 << 30;
  INQ_CHECK((int64_t)c->vocab_size * c->n_embd < lim && (int64_t)c->n_embd * c->n_inner < lim &&
                (int64_t)c->n_positions * c->n_embd < lim && (int64_t)3 * c->n_embd < lim &&
                (int64_t)2 * c->n_inner < lim,
            INQ_ERR_INVALID_ARGUMENT, "config sizes too large (vocab_size %d, n_embd %d, n_inner %d, n_positions %d)",
            c->vocab_size, c->n_embd, c->n_inner, c->n_positions);
}

Model* model_create(const inq_model_config* cfg, int device) {
  validate_config(cfg);
  Device& dev = inq::device(device);
  Model* m = new Model();
  m->cfg = *cfg;
  m->device = device;
  m->dev = &dev;
  m->ops = &dev.ops();
  if (cfg->arch == INQ_ARCH_LLAMA)
    add_llama(m, cfg);
  else if (cfg->arch == INQ_ARCH_T5)
    add_t5(m, cfg);
  else if (is_seq2seq(*cfg))
    add_bart(m, cfg);
  else
    add_gpt2(m, cfg);
  try {
    m->weights = (float*)dev.alloc(m->weight_floats * sizeof(float), "model weights");
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
  INQ_CHECK(it != m->index.end(), INQ_ERR_INVALID_ARGUMENT, "unknown tensor '%s' for a %s model", name,
            arch_name(m->cfg.arch));
  TensorSlot& t = m->tensors[it->second];
  INQ_CHECK(ndim >= 1 && ndim <= 4, INQ_ERR_INVALID_ARGUMENT, "tensor '%s': ndim %d outside 1..4", name, ndim);
  bool same = ndim == t.ndim;
  for (int i = 0; same && i < ndim; ++i) same = shape[i] == t.shape[i];
  INQ_CHECK(same, INQ_ERR_SHAPE, "tensor '%s' has shape %s, expected %s", name, shape_str(shape, ndim).c_str(),
            shape_str(t.shape, t.ndim).c_str());
  for (int64_t i = 0; i < t.numel; ++i)
    INQ_CHECK(std::isfinite(data[i]), INQ_ERR_INVALID_ARGUMENT, "tensor '%s': element %lld is not finite (%g)", name,
              (long long)i, (double)data[i]);
  m->dev->upload_sync(m->weights + t.offset, data, sizeof(float) * (size_t)t.numel);
  t.set = true;
}

void model_finalize(Model* m) {
  if (m->finalized) return;
  for (const TensorSlot& t : m->tensors)
    INQ_CHECK(t.set, INQ_ERR_STATE, "tensor '%s' %s was never set (finalize needs all %d tensors)", t.name.c_str(),
              shape_str(t.shape, t.ndim).c_str(), (int)m->tensors.size());
  if (is_seq2seq(m->cfg)) {
    if (m->cfg.arch == INQ_ARCH_T5)
      finalize_t5(m);
    else
      finalize_bart(m);
    m->finalized = true;
    return;
  }
  if (m->cfg.arch == INQ_ARCH_LLAMA) {
    m->wte = W(m, "model.embed_tokens.weight");
    m->lnf_w = W(m, "model.norm.weight");
    m->lm_head = m->cfg.tie_word_embeddings ? m->wte : W(m, "lm_head.weight");
    for (int l = 0; l < m->cfg.n_layer; ++l) {
      const std::string h = "model.layers." + std::to_string(l) + ".";
      LayerWeights w{};
      w.ln1_w = W(m, h + "input_layernorm.weight");
      w.attn_w = W(m, h + "self_attn.q_proj.weight");  // q | k | v packed
      w.attn_b = W_opt(m, h + "self_attn.q_proj.bias");
      w.proj_w = W(m, h + "self_attn.o_proj.weight");
      w.proj_b = W_opt(m, h + "self_attn.o_proj.bias");
      w.ln2_w = W(m, h + "post_attention_layernorm.weight");
      w.fc_w = W(m, h + "mlp.gate_proj.weight");  // gate | up packed
      w.fc_b = W_opt(m, h + "mlp.gate_proj.bias");
      w.mlp_proj_w = W(m, h + "mlp.down_proj.weight");
      w.mlp_proj_b = W_opt(m, h + "mlp.down_proj.bias");
      m->layers.push_back(w);
    }
    m->rope_inv_freq = W_opt(m, "rope.inv_freq");
    m->finalized = true;
    return;
  }
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

inq_model::~inq_model() {
  if (dev) dev->release(weights);
}
