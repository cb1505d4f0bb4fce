// Helpers for the native self-test and benchmark: a tiny JSON reader, base64, a safetensors reader, model loading
// through the C ABI, random models, and a clock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "inseq_native.h"

namespace tu {

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  double num = 0;
  bool b = false;
  std::string str;
  std::vector<Json> arr;
  std::map<std::string, Json> obj;
  const Json& operator[](const std::string& k) const;
  const Json& operator[](size_t i) const { return arr.at(i); }
  bool has(const std::string& k) const { return kind == Object && obj.count(k) > 0; }
};
Json parse_json(const std::string& text);  // throws std::runtime_error
std::string read_file(const std::string& path);  // throws std::runtime_error
std::vector<uint8_t> base64_decode(const std::string& s);
std::vector<float> decode_f32(const Json& tensor);  // {"data_base64": ...}
std::vector<int32_t> ints(const Json& arr);

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};
// All F32 tensors of a safetensors file by name.
std::map<std::string, Tensor> read_safetensors(const std::string& path);

// Config of an HF GPT-2 config.json.
inq_model_config gpt2_config_from_json(const Json& cfg);
// Config of an HF Llama config.json (model_type llama; rope_scaling null).
inq_model_config llama_config_from_json(const Json& cfg);
// Either of the two by model_type.
inq_model_config config_from_json(const Json& cfg);
// Creates, fills (names without the "transformer." prefix) and finalizes a model; aborts the test on failure.
inq_model* load_model(const inq_model_config& cfg, const std::map<std::string, Tensor>& tensors);
// A model with N(0, std) weights (LayerNorm weights 1 + 0.1 N, biases 0.1 N) from a fixed seed.
inq_model* random_model(const inq_model_config& cfg, uint64_t seed, float std = 0.2f);
inq_model_config small_config(int n_layer, int n_head, int n_embd, int vocab, int n_positions);
// A Llama shape: n_kv_head key/value heads, SwiGLU width 2 * n_embd, untied LM head, q/k/v biases when asked.
inq_model_config small_llama_config(int n_layer, int n_head, int n_kv_head, int n_embd, int vocab, int n_positions,
                                    int qkv_bias = 0);

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
  double normal();
};

double now_seconds();

}  // namespace tu
