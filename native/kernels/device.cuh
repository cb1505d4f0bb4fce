// The CUDA device of src/device.h: device memory, pinned staging, one stream + cuBLAS handle per context queue, and
// the record of faults that make a queue or a whole device unusable.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "../src/device.h"
#include "common.cuh"

namespace inq {
namespace cuda {

// Records a failed CUDA call: the queue bound on this thread becomes unusable for status INQ_ERR_DEVICE, and for a
// sticky fault the device too (every later call on it fails with the first fault's message).
void record_fault(int32_t status, const char* msg, bool sticky);

class CudaDevice;

class CudaQueue final : public Queue {
 public:
  CudaQueue(CudaDevice* dev, GemmMath math);
  ~CudaQueue() override;
  void bind() override;
  void unbind() override;
  void upload(void* dst, const void* src, size_t bytes) override;
  void download(void* dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void copy_rows(float* dst, int64_t dst_stride, const float* src, int64_t src_stride, int64_t rows,
                 int64_t cols) override;
  void zero(void* dst, size_t bytes) override;
  void gather_rows(float* dst, const float* src, const int32_t* idx, int64_t n, int64_t C) override;
  void finish() override;

  void mark_broken(const char* msg);
  cudaStream_t stream() const { return stream_; }

 private:
  void release_all() noexcept;

  CudaDevice* dev_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  GemmMath math_;
  // Two pinned halves: while the device copies one, the host fills (or drains) the other.
  static constexpr size_t kStageBytes = 8u << 20;
  char* stage_[2] = {nullptr, nullptr};
  cudaEvent_t stage_done_[2] = {nullptr, nullptr};
  bool broken_ = false;
  std::string broken_msg_;
  Exec prev_;
  int depth_ = 0;
};

class CudaDevice final : public Device {
 public:
  explicit CudaDevice(int ordinal);
  int ordinal() const override { return ordinal_; }
  bool host_memory() const override { return false; }
  const Ops& ops() const override;
  const char* name() const override { return name_.c_str(); }
  int workspace_slots() const override { return 1; }
  void* alloc(size_t bytes, const char* what) override;
  void release(void* p) noexcept override;
  void* alloc_host(size_t bytes, const char* what) override;
  void release_host(void* p) noexcept override;
  void upload_sync(void* dst, const void* src, size_t bytes) override;
  Queue* make_queue(GemmMath math) override;

  // Makes this device current on the calling thread; INQ_ERR_DEVICE after a sticky fault.
  void activate();
  void mark_broken(const char* msg);
  bool broken() const { return broken_.load(); }

 private:
  int ordinal_;
  std::string name_;
  std::atomic<bool> broken_{false};
  std::mutex mu_;
  std::string broken_msg_;
};

}  // namespace cuda
}  // namespace inq
