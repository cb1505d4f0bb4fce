// A model: validated config, the table of expected tensors (canonical name, shape, offset) and one allocation
// holding every weight. Weights are written by inq_model_set_tensor, then frozen by finalize.
#pragma once

#include <atomic>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "ops.h"

namespace inq {

struct TensorSlot {
  std::string name;
  int ndim;
  int64_t shape[4];
  int64_t numel;
  size_t offset;  // floats from the start of the weight allocation
  bool set;
};

struct LayerWeights {
  const float *ln1_w, *ln1_b, *attn_w, *attn_b, *proj_w, *proj_b;
  const float *ln2_w, *ln2_b, *fc_w, *fc_b, *mlp_proj_w, *mlp_proj_b;
};

}  // namespace inq

struct inq_model {
  inq_model_config cfg;
  int device;
  const inq::Ops* ops;
  std::vector<inq::TensorSlot> tensors;
  std::unordered_map<std::string, int> index;
  float* weights = nullptr;
  size_t weight_floats = 0;
  bool finalized = false;
  // One reference for the caller's handle plus one per context: the last release frees the model.
  std::atomic<int> refs{1};

  // Resolved after finalize.
  const float *wte = nullptr, *wpe = nullptr, *lnf_w = nullptr, *lnf_b = nullptr, *lm_head = nullptr;
  std::vector<inq::LayerWeights> layers;

  ~inq_model();
};

namespace inq {

using Model = ::inq_model;

void validate_config(const inq_model_config* cfg);
Model* model_create(const inq_model_config* cfg, int device);
void model_release(Model* m);
void model_set_tensor(Model* m, const char* name, const float* data, const int64_t* shape, int ndim);
void model_finalize(Model* m);

}  // namespace inq
