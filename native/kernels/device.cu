#include "device.cuh"

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#ifndef INSEQ_CUDA_ARCHS
#define INSEQ_CUDA_ARCHS "unknown architectures"
#endif

namespace inq {
namespace cuda {

const Ops& cuda_ops();  // ops_table.cu

namespace {

__global__ void gather_rows_kernel(float* dst, const float* src, const int32_t* idx, int64_t n, int64_t C) {
  INQ_GRID_STRIDE(i, n * C) {
    const int64_t r = i / C, c = i - r * C;
    dst[i] = src[(int64_t)idx[r] * C + c];
  }
}

// Devices are created on first use and live as long as the process (their weights and contexts hold pointers).
std::mutex g_devices_mu;
std::vector<std::unique_ptr<CudaDevice>>& devices() {
  static std::vector<std::unique_ptr<CudaDevice>> d;
  return d;
}

int count_devices() {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // no driver, no GPU, driver too old: no CUDA devices, not an error
    return 0;
  }
  return n;
}

std::string bytes_str(size_t b) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%zu bytes (%.1f MiB)", b, (double)b / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

// ---------------------------------------------------------------- faults

void record_fault(int32_t status, const char* msg, bool sticky) {
  const Exec& e = bound_exec();
  if (status == INQ_ERR_DEVICE && e.queue) e.queue->mark_broken(msg);
  if (sticky) {
    int dev = e.device;
    if (dev < 0 && cudaGetDevice(&dev) != cudaSuccess) dev = -1;
    std::lock_guard<std::mutex> lock(g_devices_mu);
    if (dev >= 0 && dev < (int)devices().size() && devices()[dev]) devices()[dev]->mark_broken(msg);
  }
}

// ---------------------------------------------------------------- device

CudaDevice::CudaDevice(int ordinal) : ordinal_(ordinal) {
  cudaDeviceProp prop;
  // Constructed under g_devices_mu (cuda_device): not CUDA_CHECK, whose record_fault takes that mutex again for a
  // sticky error (a self-deadlock); there is no device to mark broken yet anyway.
  const cudaError_t err = cudaGetDeviceProperties(&prop, ordinal);
  if (err != cudaSuccess) {
    char msg[768];
    const int32_t status = status_of(err, "cudaGetDeviceProperties(&prop, ordinal)", __FILE__, __LINE__, msg,
                                     sizeof msg);
    (void)cudaGetLastError();
    throw Error{status, msg};
  }
  char buf[512];
  std::snprintf(buf, sizeof buf, "cuda:%d (%s, sm_%d%d, %.1f GiB)", ordinal, prop.name, prop.major, prop.minor,
                (double)prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
  name_ = buf;
}

const Ops& CudaDevice::ops() const { return cuda_ops(); }

void CudaDevice::mark_broken(const char* msg) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!broken_.load()) {
    broken_msg_ = msg;
    broken_.store(true);
  }
}

void CudaDevice::activate() {
  if (broken_.load()) {
    std::lock_guard<std::mutex> lock(mu_);
    INQ_FAIL(INQ_ERR_DEVICE, "CUDA device %d is unusable after an earlier device fault: %s", ordinal_,
             broken_msg_.c_str());
  }
  CUDA_CHECK(cudaSetDevice(ordinal_));
}

void* CudaDevice::alloc(size_t bytes, const char* what) {
  activate();
  if (bytes == 0) bytes = 256;
  void* p = nullptr;
  const cudaError_t err = cudaMalloc(&p, bytes);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    (void)cudaMemGetInfo(&free_b, &total_b);
    INQ_FAIL(INQ_ERR_OUT_OF_MEMORY, "allocating %s for %s on %s failed: out of device memory (%s free of %s)",
             bytes_str(bytes).c_str(), what, name_.c_str(), bytes_str(free_b).c_str(), bytes_str(total_b).c_str());
  }
  CUDA_CHECK(err);
  return p;
}

void CudaDevice::release(void* p) noexcept {
  if (!p) return;
  int prev = -1;
  (void)cudaGetDevice(&prev);
  (void)cudaSetDevice(ordinal_);
  (void)CUDA_TRY(cudaFree(p));
  if (prev >= 0) (void)cudaSetDevice(prev);
  (void)cudaGetLastError();
}

void* CudaDevice::alloc_host(size_t bytes, const char* what) {
  activate();
  if (bytes == 0) bytes = 256;
  void* p = nullptr;
  const cudaError_t err = cudaMallocHost(&p, bytes);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    INQ_FAIL(INQ_ERR_OUT_OF_MEMORY, "allocating %s of pinned host memory for %s failed", bytes_str(bytes).c_str(),
             what);
  }
  CUDA_CHECK(err);
  return p;
}

void CudaDevice::release_host(void* p) noexcept {
  if (!p) return;
  (void)CUDA_TRY(cudaFreeHost(p));
  (void)cudaGetLastError();
}

void CudaDevice::upload_sync(void* dst, const void* src, size_t bytes) {
  activate();
  CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
  // From pageable memory cudaMemcpy may return before the DMA into dst has finished, and the contexts' streams are
  // non-blocking (no implicit ordering with the legacy stream the copy ran on): wait for it, so that no kernel of a
  // context can read a weight before it has landed.
  CUDA_CHECK(cudaStreamSynchronize(cudaStreamLegacy));
}

Queue* CudaDevice::make_queue(GemmMath math) {
  activate();
  return new CudaQueue(this, math);
}

// ---------------------------------------------------------------- queue

CudaQueue::CudaQueue(CudaDevice* dev, GemmMath math) : dev_(dev), math_(math) {
  const Blas& b = blas();  // INQ_ERR_UNSUPPORTED when cuBLAS is missing: fail before allocating anything
  try {
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    for (int i = 0; i < 2; ++i) {
      stage_[i] = (char*)dev_->alloc_host(kStageBytes, "the context's staging buffer");
      CUDA_CHECK(cudaEventCreateWithFlags(&stage_done_[i], cudaEventDisableTiming));
    }
    CUBLAS_CHECK(b.create(&blas_));
    CUBLAS_CHECK(b.set_stream(blas_, stream_));
    // fp32 is the reference: tensor cores only when the context asked for them (INQ_CTX_TF32 / INQ_CTX_BF16; the
    // compute type of each GEMM call names the mode, see matmul.cu).
    CUBLAS_CHECK(b.set_math_mode(blas_, math_ == GemmMath::Tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  } catch (...) {
    release_all();
    throw;
  }
}

CudaQueue::~CudaQueue() { release_all(); }

void CudaQueue::release_all() noexcept {
  int prev = -1;
  (void)cudaGetDevice(&prev);
  (void)cudaSetDevice(dev_->ordinal());
  if (stream_) (void)CUDA_TRY(cudaStreamSynchronize(stream_));
  if (blas_ && blas().destroy) (void)blas().destroy(blas_);
  blas_ = nullptr;
  for (int i = 0; i < 2; ++i) {
    if (stage_done_[i]) (void)CUDA_TRY(cudaEventDestroy(stage_done_[i]));
    stage_done_[i] = nullptr;
    dev_->release_host(stage_[i]);
    stage_[i] = nullptr;
  }
  if (stream_) (void)CUDA_TRY(cudaStreamDestroy(stream_));
  stream_ = nullptr;
  (void)cudaGetLastError();
  if (prev >= 0) (void)cudaSetDevice(prev);
}

void CudaQueue::mark_broken(const char* msg) {
  if (!broken_) {
    broken_ = true;
    broken_msg_ = msg;
  }
}

void CudaQueue::bind() {
  INQ_CHECK(!broken_, INQ_ERR_DEVICE, "this context is unusable after an earlier device fault: %s",
            broken_msg_.c_str());
  dev_->activate();
  Exec e;
  e.device = dev_->ordinal();
  e.stream = stream_;
  e.blas = blas_;
  e.math = math_;
  e.queue = this;
  const Exec prev = exchange_exec(e);
  if (depth_++ == 0) prev_ = prev;
}

void CudaQueue::unbind() {
  if (--depth_ == 0) exchange_exec(prev_);
}

// Pageable caller memory goes through the two pinned halves: the host copies chunk k into half k % 2 while the
// device still reads chunk k - 1 from the other half.
void CudaQueue::upload(void* dst, const void* src, size_t bytes) {
  char* d = (char*)dst;
  const char* s = (const char*)src;
  for (size_t off = 0, k = 0; off < bytes; off += kStageBytes, ++k) {
    const size_t n = bytes - off < kStageBytes ? bytes - off : kStageBytes;
    const int h = (int)(k & 1);
    CUDA_CHECK(cudaEventSynchronize(stage_done_[h]));  // the previous copy out of this half has finished
    std::memcpy(stage_[h], s + off, n);
    CUDA_CHECK(cudaMemcpyAsync(d + off, stage_[h], n, cudaMemcpyHostToDevice, stream_));
    CUDA_CHECK(cudaEventRecord(stage_done_[h], stream_));
  }
}

void CudaQueue::download(void* dst, const void* src, size_t bytes) {
  char* d = (char*)dst;
  const char* s = (const char*)src;
  size_t pending_off = 0, pending_n = 0;
  int pending_h = -1;
  for (size_t off = 0, k = 0; off < bytes; off += kStageBytes, ++k) {
    const size_t n = bytes - off < kStageBytes ? bytes - off : kStageBytes;
    const int h = (int)(k & 1);
    CUDA_CHECK(cudaMemcpyAsync(stage_[h], s + off, n, cudaMemcpyDeviceToHost, stream_));
    CUDA_CHECK(cudaEventRecord(stage_done_[h], stream_));
    if (pending_h >= 0) {  // drain the previous chunk while this one copies
      CUDA_CHECK(cudaEventSynchronize(stage_done_[pending_h]));
      std::memcpy(d + pending_off, stage_[pending_h], pending_n);
    }
    pending_off = off;
    pending_n = n;
    pending_h = h;
  }
  if (pending_h >= 0) {
    CUDA_CHECK(cudaEventSynchronize(stage_done_[pending_h]));
    std::memcpy(d + pending_off, stage_[pending_h], pending_n);
  }
  if (bytes == 0) finish();
}

void CudaQueue::copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0 || dst == src) return;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}

void CudaQueue::copy_rows(float* dst, int64_t dst_stride, const float* src, int64_t src_stride, int64_t rows,
                          int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  CUDA_CHECK(cudaMemcpy2DAsync(dst, (size_t)dst_stride * sizeof(float), src, (size_t)src_stride * sizeof(float),
                               (size_t)cols * sizeof(float), (size_t)rows, cudaMemcpyDeviceToDevice, stream_));
}

void CudaQueue::zero(void* dst, size_t bytes) {
  if (bytes == 0) return;
  CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream_));
}

void CudaQueue::gather_rows(float* dst, const float* src, const int32_t* idx, int64_t n, int64_t C) {
  if (n <= 0) return;
  gather_rows_kernel<<<grid_for(n * C), kBlock, 0, stream_>>>(dst, src, idx, n, C);
  CUDA_CHECK_LAUNCH();
}

void CudaQueue::finish() { CUDA_CHECK(cudaStreamSynchronize(stream_)); }

// ---------------------------------------------------------------- lookup

int device_count() {
  static const int n = count_devices();
  return n;
}

Device& cuda_device(int ordinal) {
  const int n = device_count();
  INQ_CHECK(n > 0, INQ_ERR_UNSUPPORTED,
            "device %d: no CUDA device is usable (no GPU, no driver, or a driver older than this build's CUDA %d.%d "
            "runtime); use INQ_DEVICE_CPU (-1)",
            ordinal, CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
  INQ_CHECK(ordinal < n, INQ_ERR_INVALID_ARGUMENT, "CUDA device %d does not exist (%d device(s))", ordinal, n);
  std::lock_guard<std::mutex> lock(g_devices_mu);
  auto& d = devices();
  if ((int)d.size() < n) d.resize(n);
  if (!d[ordinal]) d[ordinal].reset(new CudaDevice(ordinal));
  return *d[ordinal];
}

void device_info(int ordinal, inq_device_info* out) {
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, ordinal));
  std::snprintf(out->name, sizeof out->name, "%s", prop.name);
  out->cc_major = prop.major;
  out->cc_minor = prop.minor;
  out->multiprocessors = prop.multiProcessorCount;
  // cudaDeviceProp::clockRate is gone in CUDA 13; the attribute works in 11.x through 13.
  int clock = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&clock, cudaDevAttrClockRate, ordinal));
  out->clock_khz = clock;
  out->total_bytes = (int64_t)prop.totalGlobalMem;
  size_t free_b = 0, total_b = 0;
  int prev = -1;
  (void)cudaGetDevice(&prev);
  if (cudaSetDevice(ordinal) == cudaSuccess && cudaMemGetInfo(&free_b, &total_b) == cudaSuccess)
    out->free_bytes = (int64_t)free_b;
  else
    out->free_bytes = -1;
  (void)cudaGetLastError();
  if (prev >= 0) (void)cudaSetDevice(prev);
  int drv = 0;
  if (cudaDriverGetVersion(&drv) != cudaSuccess) drv = 0;
  (void)cudaGetLastError();
  out->driver_version = drv;
  out->runtime_version = CUDART_VERSION;
}

std::string build_info() {
  char buf[768];
  int drv = 0;
  if (cudaDriverGetVersion(&drv) != cudaSuccess) drv = 0;
  (void)cudaGetLastError();
  const int n = device_count();
  int len = std::snprintf(buf, sizeof buf, "cuda: runtime %d.%d (static) for %s, driver %d.%d%s, ",
                          CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10, INSEQ_CUDA_ARCHS, drv / 1000,
                          drv % 1000 / 10, drv ? "" : " (none)");
  std::string s(buf, len > 0 ? (size_t)len : 0);
  s += "cuBLAS libcublas.so." + std::to_string((int)CUBLAS_VER_MAJOR) + " (loaded on first use), ";
  s += std::to_string(n) + " device(s)";
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, i) == cudaSuccess) {
      std::snprintf(buf, sizeof buf, "%s%d: %s sm_%d%d", i ? ", " : ": ", i, prop.name, prop.major, prop.minor);
      s += buf;
    }
  }
  (void)cudaGetLastError();
  return s;
}

}  // namespace cuda
}  // namespace inq
