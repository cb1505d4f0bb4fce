#include "embedding.cuh"

namespace inq {
namespace cuda {

namespace {

// out may alias embeds (each element is read before it is written by the same thread).
__global__ void embedding_forward_kernel(float* out, const int32_t* ids, const float* embeds, const int32_t* pos,
                                         const float* wte, const float* wpe, int64_t N, int C) {
  INQ_GRID_STRIDE(i, N * C) {
    const int64_t n = i / C, c = i - n * C;
    const float e = ids ? wte[(int64_t)ids[n] * C + c] : embeds[i];
    out[i] = wpe ? e + wpe[(int64_t)pos[n] * C + c] : e;  // rotary models: no position row
  }
}

__global__ void cotangent_scatter_kernel(float* out, const float* src, RowMap map, int C) {
  INQ_GRID_STRIDE(i, (int64_t)map.rows * C) {
    const int64_t n = i / C, c = i - n * C;
    const int r = map.owner[n];
    out[i] = n == (int64_t)map.start[r + 1] - 1 ? src[(int64_t)r * C + c] : 0.0f;
  }
}

}  // namespace

// Ids and positions are range-checked by the caller before any op runs.
void embedding_forward(float* out, const int32_t* ids, const float* embeds, const int32_t* pos, const float* wte,
                       const float* wpe, int N, int C, int V, int P, cudaStream_t stream) {
  (void)V;
  (void)P;
  if (N <= 0) return;
  embedding_forward_kernel<<<grid_for((int64_t)N * C), kBlock, 0, stream>>>(out, ids, embeds, pos, wte, wpe, N, C);
  CUDA_CHECK_LAUNCH();
}

void cotangent_scatter(float* out, const float* src, RowMap map, int C, cudaStream_t stream) {
  if (map.rows <= 0) return;
  cotangent_scatter_kernel<<<grid_for((int64_t)map.rows * C), kBlock, 0, stream>>>(out, src, map, C);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace inq
