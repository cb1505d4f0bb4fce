// Where a model's weights and a context's arena live, and how bytes move between there and the caller's host
// memory. The graphs (decoder.cpp) are written against the ops table plus this: on the CPU device the arena is
// host memory and every copy is a memcpy (or nothing: ops read the caller's buffers directly); on a CUDA device
// (native/kernels/device.cu) the arena is one device allocation, inputs are uploaded and outputs downloaded through
// pinned staging on the context's stream, and host-computed integer tables (positions, row maps, targets) are
// written into a pinned mirror and uploaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common.h"
#include "ops.h"

namespace inq {

// One context's (or one inq_op_run call's) execution queue: on CUDA a stream with its cuBLAS handle and staging
// buffers. All copies are ordered with the ops run while the queue is bound.
class Queue {
 public:
  virtual ~Queue() = default;
  // Makes this queue the one the ops of the calling thread run on (fails with INQ_ERR_DEVICE when an earlier device
  // fault made it unusable). unbind restores what was bound before.
  virtual void bind() = 0;
  virtual void unbind() = 0;
  // Caller host memory -> device memory.
  virtual void upload(void* dst, const void* src, size_t bytes) = 0;
  // Device memory -> caller host memory; complete when it returns (waits for the queued ops it depends on).
  virtual void download(void* dst, const void* src, size_t bytes) = 0;
  // Device -> device.
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  // rows x cols floats between strided device rows (strides in floats).
  virtual void copy_rows(float* dst, int64_t dst_stride, const float* src, int64_t src_stride, int64_t rows,
                         int64_t cols) = 0;
  virtual void zero(void* dst, size_t bytes) = 0;
  // dst[i, :] = src[idx[i], :] for i < n rows of C floats; idx is device memory.
  virtual void gather_rows(float* dst, const float* src, const int32_t* idx, int64_t n, int64_t C) = 0;
  // Waits for everything queued; surfaces asynchronous device faults as INQ_ERR_DEVICE.
  virtual void finish() = 0;
};

class Device {
 public:
  virtual ~Device() = default;
  virtual int ordinal() const = 0;         // INQ_DEVICE_CPU or a CUDA ordinal
  virtual bool host_memory() const = 0;    // device pointers are host pointers (the CPU)
  virtual const Ops& ops() const = 0;
  virtual const char* name() const = 0;    // "cpu", "cuda:0 (NVIDIA H100 ...)"
  // Independent GEMM / step-function scratch slots a context needs (CPU: its OpenMP threads; CUDA: 1).
  virtual int workspace_slots() const = 0;
  // Device memory; INQ_ERR_OUT_OF_MEMORY naming `what`, the requested and (GPU) the free bytes.
  virtual void* alloc(size_t bytes, const char* what) = 0;
  virtual void release(void* p) noexcept = 0;
  // Host memory the device copies from and to fastest (pinned on CUDA).
  virtual void* alloc_host(size_t bytes, const char* what) = 0;
  virtual void release_host(void* p) noexcept = 0;
  // Synchronous host -> device copy outside any context (weights).
  virtual void upload_sync(void* dst, const void* src, size_t bytes) = 0;
  // The GEMM arithmetic of the queue's matmuls (INQ_CTX_TF32 / INQ_CTX_BF16; the CPU always computes fp32).
  virtual Queue* make_queue(GemmMath math) = 0;
};

// The device for INQ_DEVICE_CPU or a CUDA ordinal: INQ_ERR_INVALID_ARGUMENT below -1, INQ_ERR_UNSUPPORTED in a
// build without CUDA, INQ_ERR_DEVICE / INQ_ERR_INVALID_ARGUMENT for an ordinal that does not exist or is unusable.
Device& device(int ordinal);
Device& cpu_device();

// CUDA devices usable by this build: 0 in the CPU build and wherever the driver or a GPU is missing (never fails).
int cuda_device_count();
// "cuda: runtime 13.0, driver 13.0, cuBLAS libcublas.so.13, 1 device(s): NVIDIA H100 ..." or why there is none.
std::string cuda_build_info();
// Name, compute capability, SMs, clock, memory and versions of CUDA device `ordinal` (inq_cuda_device_info).
void cuda_device_info(int ordinal, inq_device_info* out);

// Device memory owned by a scope (tests, single-op runs, benchmarks; never the hot path).
class DeviceBuffer {
 public:
  DeviceBuffer(Device& dev, size_t bytes, const char* what) : dev_(&dev), p_(dev.alloc(bytes, what)) {}
  ~DeviceBuffer() { dev_->release(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <typename T = float>
  T* get() const {
    return static_cast<T*>(p_);
  }

 private:
  Device* dev_;
  void* p_;
};

// Binds a queue for the lifetime of the scope.
class Bound {
 public:
  explicit Bound(Queue* q) : q_(q) { q_->bind(); }
  ~Bound() { q_->unbind(); }
  Bound(const Bound&) = delete;
  Bound& operator=(const Bound&) = delete;

 private:
  Queue* q_;
};

#ifdef INSEQ_NATIVE_HAVE_CUDA
namespace cuda {
// Implemented in native/kernels/device.cu.
Device& cuda_device(int ordinal);
int device_count();
std::string build_info();
void device_info(int ordinal, inq_device_info* out);
}  // namespace cuda
#endif

}  // namespace inq
