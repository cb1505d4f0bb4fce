// The CPU device of device.h (host memory, memcpy) and the lookup of a device by ordinal.
#include "device.h"

#include <cstring>

#include "common.h"

namespace inq {

namespace {

class CpuQueue final : public Queue {
 public:
  void bind() override {}
  void unbind() override {}
  void upload(void* dst, const void* src, size_t bytes) override {
    if (bytes && dst != src) std::memmove(dst, src, bytes);
  }
  void download(void* dst, const void* src, size_t bytes) override {
    if (bytes && dst != src) std::memmove(dst, src, bytes);
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes && dst != src) std::memmove(dst, src, bytes);
  }
  void copy_rows(float* dst, int64_t dst_stride, const float* src, int64_t src_stride, int64_t rows,
                 int64_t cols) override {
    for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * dst_stride, src + r * src_stride, sizeof(float) * cols);
  }
  void zero(void* dst, size_t bytes) override {
    if (bytes) std::memset(dst, 0, bytes);
  }
  void gather_rows(float* dst, const float* src, const int32_t* idx, int64_t n, int64_t C) override {
    for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * C, src + (int64_t)idx[i] * C, sizeof(float) * C);
  }
  void finish() override {}
};

class CpuDevice final : public Device {
 public:
  int ordinal() const override { return INQ_DEVICE_CPU; }
  bool host_memory() const override { return true; }
  const Ops& ops() const override { return cpu_ops(); }
  const char* name() const override { return "cpu"; }
  int workspace_slots() const override { return num_threads() > 1 ? num_threads() : 1; }
  void* alloc(size_t bytes, const char* what) override { return aligned_alloc_or_throw(bytes, what); }
  void release(void* p) noexcept override { aligned_free(p); }
  void* alloc_host(size_t bytes, const char* what) override { return aligned_alloc_or_throw(bytes, what); }
  void release_host(void* p) noexcept override { aligned_free(p); }
  void upload_sync(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  Queue* make_queue(GemmMath math) override {
    (void)math;
    return new CpuQueue();
  }
};

}  // namespace

Device& cpu_device() {
  static CpuDevice d;
  return d;
}

Device& device(int ordinal) {
  INQ_CHECK(ordinal >= INQ_DEVICE_CPU, INQ_ERR_INVALID_ARGUMENT,
            "device %d is neither INQ_DEVICE_CPU (-1) nor a CUDA ordinal (>= 0)", ordinal);
  if (ordinal == INQ_DEVICE_CPU) return cpu_device();
#ifdef INSEQ_NATIVE_HAVE_CUDA
  return cuda::cuda_device(ordinal);
#else
  INQ_FAIL(INQ_ERR_UNSUPPORTED,
           "device %d: this build has no CUDA backend (CPU only, device -1); build native/ with nvcc present for "
           "libinseqnative_cuda", ordinal);
#endif
}

int cuda_device_count() {
#ifdef INSEQ_NATIVE_HAVE_CUDA
  return cuda::device_count();
#else
  return 0;
#endif
}

void cuda_device_info(int ordinal, inq_device_info* out) {
#ifdef INSEQ_NATIVE_HAVE_CUDA
  const int n = cuda::device_count();
  INQ_CHECK(ordinal >= 0 && ordinal < n, INQ_ERR_INVALID_ARGUMENT,
            "CUDA device %d does not exist (this machine has %d usable CUDA device(s))", ordinal, n);
  cuda::device_info(ordinal, out);
#else
  (void)out;
  INQ_FAIL(INQ_ERR_UNSUPPORTED, "CUDA device %d: this build has no CUDA backend (CPU only)", ordinal);
#endif
}

std::string cuda_build_info() {
#ifdef INSEQ_NATIVE_HAVE_CUDA
  return cuda::build_info();
#else
  return "cuda: not built (CPU-only library; libinseqnative_cuda is built when nvcc is found)";
#endif
}

}  // namespace inq
