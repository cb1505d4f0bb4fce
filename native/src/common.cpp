#include "common.h"

#include <atomic>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <new>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace inq {

void fail(int32_t status, const char* file, int line, const char* fmt, ...) {
  const char* base = std::strrchr(file, '/');
  char buf[1024];
  int n = std::snprintf(buf, sizeof buf, "%s:%d: ", base ? base + 1 : file, line);
  if (n < 0) n = 0;
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
  va_end(ap);
  throw Error{status, buf};
}

namespace {
std::atomic<int> g_threads{0};  // 0: runtime default

int default_threads() {
  static const int n = [] {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
  }();
  return n;
}
}  // namespace

void set_num_threads(int n) { g_threads.store(n > 0 ? n : 0); }

int num_threads() {
  const int n = g_threads.load();
  return n > 0 ? n : default_threads();
}

void* aligned_alloc_or_throw(size_t bytes, const char* what) {
  void* p = nullptr;
  if (bytes == 0) bytes = 64;
  if (posix_memalign(&p, 64, bytes) != 0 || p == nullptr)
    INQ_FAIL(INQ_ERR_OUT_OF_MEMORY, "allocating %zu bytes for %s failed", bytes, what);
  return p;
}

void aligned_free(void* p) { std::free(p); }

}  // namespace inq
