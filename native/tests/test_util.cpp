#include "test_util.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tu {

namespace {

struct Parser {
  const std::string& s;
  size_t i = 0;
  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  }
  [[noreturn]] void bad(const char* what) {
    throw std::runtime_error(std::string("json: ") + what + " at offset " + std::to_string(i));
  }
  std::string string() {
    if (s[i] != '"') bad("expected string");
    ++i;
    std::string r;
    while (i < s.size() && s[i] != '"') {
      char c = s[i++];
      if (c != '\\') {
        r += c;
        continue;
      }
      c = s[i++];
      switch (c) {
        case 'n': r += '\n'; break;
        case 't': r += '\t'; break;
        case 'r': r += '\r'; break;
        case 'b': r += '\b'; break;
        case 'f': r += '\f'; break;
        case 'u': {
          unsigned cp = (unsigned)std::strtoul(s.substr(i, 4).c_str(), nullptr, 16);
          i += 4;
          if (cp >= 0xD800 && cp < 0xDC00 && s.compare(i, 2, "\\u") == 0) {
            unsigned lo = (unsigned)std::strtoul(s.substr(i + 2, 4).c_str(), nullptr, 16);
            i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          if (cp < 0x80) {
            r += (char)cp;
          } else if (cp < 0x800) {
            r += (char)(0xC0 | (cp >> 6));
            r += (char)(0x80 | (cp & 63));
          } else if (cp < 0x10000) {
            r += (char)(0xE0 | (cp >> 12));
            r += (char)(0x80 | ((cp >> 6) & 63));
            r += (char)(0x80 | (cp & 63));
          } else {
            r += (char)(0xF0 | (cp >> 18));
            r += (char)(0x80 | ((cp >> 12) & 63));
            r += (char)(0x80 | ((cp >> 6) & 63));
            r += (char)(0x80 | (cp & 63));
          }
          break;
        }
        default: r += c;
      }
    }
    if (i >= s.size()) bad("unterminated string");
    ++i;
    return r;
  }
  Json value() {
    ws();
    if (i >= s.size()) bad("unexpected end");
    Json j;
    const char c = s[i];
    if (c == '{') {
      j.kind = Json::Object;
      ++i;
      ws();
      if (s[i] == '}') {
        ++i;
        return j;
      }
      for (;;) {
        ws();
        std::string k = string();
        ws();
        if (s[i++] != ':') bad("expected ':'");
        j.obj[k] = value();
        ws();
        if (s[i] == ',') {
          ++i;
          continue;
        }
        if (s[i++] != '}') bad("expected '}'");
        return j;
      }
    }
    if (c == '[') {
      j.kind = Json::Array;
      ++i;
      ws();
      if (s[i] == ']') {
        ++i;
        return j;
      }
      for (;;) {
        j.arr.push_back(value());
        ws();
        if (s[i] == ',') {
          ++i;
          continue;
        }
        if (s[i++] != ']') bad("expected ']'");
        return j;
      }
    }
    if (c == '"') {
      j.kind = Json::String;
      j.str = string();
      return j;
    }
    if (s.compare(i, 4, "true") == 0) {
      j.kind = Json::Bool;
      j.b = true;
      i += 4;
      return j;
    }
    if (s.compare(i, 5, "false") == 0) {
      j.kind = Json::Bool;
      i += 5;
      return j;
    }
    if (s.compare(i, 4, "null") == 0) {
      i += 4;
      return j;
    }
    char* end = nullptr;
    j.kind = Json::Number;
    j.num = std::strtod(s.c_str() + i, &end);
    if (end == s.c_str() + i) bad("unexpected character");
    i = end - s.c_str();
    return j;
  }
};

}  // namespace

const Json& Json::operator[](const std::string& k) const {
  auto it = obj.find(k);
  if (it == obj.end()) throw std::runtime_error("json: missing key '" + k + "'");
  return it->second;
}

Json parse_json(const std::string& text) {
  Parser p{text};
  return p.value();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<uint8_t> base64_decode(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<uint8_t> out;
  out.reserve(s.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (char c : s) {
    const int v = val(c);
    if (v < 0) continue;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back((uint8_t)((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::vector<float> decode_f32(const Json& t) {
  const std::vector<uint8_t> bytes = base64_decode(t["data_base64"].str);
  std::vector<float> f(bytes.size() / 4);
  std::memcpy(f.data(), bytes.data(), f.size() * 4);
  return f;
}

std::vector<int32_t> ints(const Json& a) {
  std::vector<int32_t> r;
  for (const Json& v : a.arr) r.push_back((int32_t)v.num);
  return r;
}

std::map<std::string, Tensor> read_safetensors(const std::string& path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 8) throw std::runtime_error(path + ": too short for a safetensors file");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > bytes.size() - 8) throw std::runtime_error(path + ": header length beyond the file");
  const Json header = parse_json(bytes.substr(8, n));
  const char* data = bytes.data() + 8 + n;
  const size_t data_len = bytes.size() - 8 - n;
  std::map<std::string, Tensor> out;
  for (const auto& kv : header.obj) {
    if (kv.first == "__metadata__") continue;
    if (kv.second["dtype"].str != "F32") throw std::runtime_error(kv.first + ": dtype is not F32");
    Tensor t;
    int64_t numel = 1;
    for (const Json& d : kv.second["shape"].arr) {
      t.shape.push_back((int64_t)d.num);
      numel *= (int64_t)d.num;
    }
    const size_t b = (size_t)kv.second["data_offsets"][0].num, e = (size_t)kv.second["data_offsets"][1].num;
    if (e < b || e > data_len || e - b != (size_t)numel * 4) throw std::runtime_error(kv.first + ": bad data_offsets");
    t.data.resize(numel);
    std::memcpy(t.data.data(), data + b, e - b);
    out[kv.first] = std::move(t);
  }
  return out;
}

inq_model_config gpt2_config_from_json(const Json& c) {
  inq_model_config m{};
  m.struct_size = sizeof m;
  m.arch = INQ_ARCH_GPT2;
  m.n_layer = (int)c["n_layer"].num;
  m.n_head = (int)c["n_head"].num;
  m.n_embd = (int)c["n_embd"].num;
  m.n_inner = c.has("n_inner") && c["n_inner"].kind == Json::Number ? (int)c["n_inner"].num : 4 * m.n_embd;
  m.n_positions = (int)c["n_positions"].num;
  m.vocab_size = (int)c["vocab_size"].num;
  const std::string act = c["activation_function"].str;
  m.activation = act == "gelu" ? INQ_ACT_GELU_ERF : act == "relu" ? INQ_ACT_RELU : INQ_ACT_GELU_TANH;
  m.norm_eps = (float)c["layer_norm_epsilon"].num;
  m.tie_word_embeddings = 1;
  m.scale_attn_weights = c.has("scale_attn_weights") ? (int)c["scale_attn_weights"].b : 1;
  m.scale_attn_by_inverse_layer_idx =
      c.has("scale_attn_by_inverse_layer_idx") ? (int)c["scale_attn_by_inverse_layer_idx"].b : 0;
  return m;
}

inq_model_config llama_config_from_json(const Json& c) {
  inq_model_config m{};
  m.struct_size = sizeof m;
  m.arch = INQ_ARCH_LLAMA;
  m.n_layer = (int)c["num_hidden_layers"].num;
  m.n_head = (int)c["num_attention_heads"].num;
  m.n_kv_head = c.has("num_key_value_heads") ? (int)c["num_key_value_heads"].num : m.n_head;
  m.n_embd = (int)c["hidden_size"].num;
  m.n_inner = (int)c["intermediate_size"].num;
  m.n_positions = (int)c["max_position_embeddings"].num;
  m.vocab_size = (int)c["vocab_size"].num;
  m.activation = INQ_ACT_SILU;
  m.norm_eps = (float)c["rms_norm_eps"].num;
  m.tie_word_embeddings = c.has("tie_word_embeddings") ? (int)c["tie_word_embeddings"].b : 0;
  m.scale_attn_weights = 1;
  m.rope_theta = c.has("rope_theta") ? (float)c["rope_theta"].num : 10000.0f;
  const int bias = c.has("attention_bias") ? (int)c["attention_bias"].b : 0;
  m.attn_qkv_bias = m.attn_out_bias = bias;
  m.mlp_bias = c.has("mlp_bias") ? (int)c["mlp_bias"].b : 0;
  return m;
}

inq_model_config config_from_json(const Json& c) {
  return c["model_type"].str == "llama" ? llama_config_from_json(c) : gpt2_config_from_json(c);
}

static void must(int32_t st, const char* what) {
  if (st != INQ_OK) {
    std::fprintf(stderr, "FATAL: %s failed with status %d: %s\n", what, st, inq_last_error());
    std::exit(2);
  }
}

inq_model* load_model(const inq_model_config& cfg, const std::map<std::string, Tensor>& tensors) {
  inq_model* m = nullptr;
  must(inq_model_create(&cfg, INQ_DEVICE_CPU, &m), "inq_model_create");
  for (const auto& kv : tensors) {
    std::string name = kv.first;
    if (name.rfind("transformer.", 0) == 0) name = name.substr(12);
    if (name.find(".attn.bias") != std::string::npos || name.find(".attn.masked_bias") != std::string::npos) continue;
    must(inq_model_set_tensor(m, name.c_str(), kv.second.data.data(), kv.second.shape.data(),
                              (int32_t)kv.second.shape.size()),
         name.c_str());
  }
  must(inq_model_finalize(m), "inq_model_finalize");
  return m;
}

double Rng::normal() {
  const double u1 = uniform() + 1e-300, u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

inq_model* random_model(const inq_model_config& cfg, uint64_t seed, float std) {
  inq_model* m = nullptr;
  must(inq_model_create(&cfg, INQ_DEVICE_CPU, &m), "inq_model_create");
  int32_t count = 0;
  must(inq_model_tensor_count(m, &count), "inq_model_tensor_count");
  Rng rng(seed);
  for (int32_t i = 0; i < count; ++i) {
    char name[128];
    int64_t shape[4];
    int32_t ndim = 0;
    must(inq_model_tensor_info(m, i, name, sizeof name, shape, &ndim), "inq_model_tensor_info");
    int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= shape[d];
    std::vector<float> data(n);
    const std::string s = name;
    const bool is_ln = s.find("ln_") != std::string::npos || s.find("norm") != std::string::npos;
    const bool is_bias = s.size() > 5 && s.compare(s.size() - 5, 5, ".bias") == 0;
    for (int64_t j = 0; j < n; ++j) {
      const double z = rng.normal();
      data[j] = (float)(is_ln && !is_bias ? 1.0 + 0.1 * z : is_bias ? 0.1 * z : std * z);
    }
    must(inq_model_set_tensor(m, name, data.data(), shape, ndim), name);
  }
  must(inq_model_finalize(m), "inq_model_finalize");
  return m;
}

inq_model_config small_config(int n_layer, int n_head, int n_embd, int vocab, int n_positions) {
  inq_model_config c{};
  c.struct_size = sizeof c;
  c.arch = INQ_ARCH_GPT2;
  c.n_layer = n_layer;
  c.n_head = n_head;
  c.n_embd = n_embd;
  c.n_inner = 4 * n_embd;
  c.n_positions = n_positions;
  c.vocab_size = vocab;
  c.activation = INQ_ACT_GELU_TANH;
  c.norm_eps = 1e-5f;
  c.tie_word_embeddings = 1;
  c.scale_attn_weights = 1;
  c.scale_attn_by_inverse_layer_idx = 0;
  return c;
}

inq_model_config small_llama_config(int n_layer, int n_head, int n_kv_head, int n_embd, int vocab, int n_positions,
                                    int qkv_bias) {
  inq_model_config c = small_config(n_layer, n_head, n_embd, vocab, n_positions);
  c.arch = INQ_ARCH_LLAMA;
  c.n_kv_head = n_kv_head;
  c.n_inner = 2 * n_embd;
  c.activation = INQ_ACT_SILU;
  c.norm_eps = 1e-6f;
  c.tie_word_embeddings = 0;
  c.rope_theta = 10000.0f;
  c.attn_qkv_bias = qkv_bias;
  return c;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace tu
