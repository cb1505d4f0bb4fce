// GEMMs of the linear layers through cuBLAS (twin of cpu/matmul.cpp). fp32 (CUBLAS_COMPUTE_32F) is the reference;
// a queue created for INQ_CTX_TF32 runs them as CUBLAS_COMPUTE_32F_FAST_TF32 (the named opt-in fast mode).
// cuBLAS is deterministic for a given shape, GPU and library version when, as here, each stream has its own handle
// and a fixed workspace (the arena's).
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

// cuBLAS workspace carved from the context arena (32 MiB, the size NVIDIA recommends for Hopper) plus alignment slack.
size_t matmul_workspace_floats();
void matmul_forward(float* out, const float* x, const float* w, const float* bias, int N, int K, int M, int transB,
                    const Workspace& ws, cudaStream_t stream);
void matmul_backward_input(float* dx, const float* dy, const float* w, int N, int K, int M, int transB,
                           const Workspace& ws, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
