#include "tests/index/largest_allocation.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> g_watching{false};
std::atomic<size_t> g_largest{0};
}  // namespace

// This binary's operator new (not inlined, so that the compiler pairs the malloc and free inside
// with nothing else).
[[gnu::noinline]] void* operator new(size_t n) {
  if (g_watching.load(std::memory_order_relaxed)) {
    size_t seen = g_largest.load(std::memory_order_relaxed);
    while (n > seen && !g_largest.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
    }
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace sloop::testing {

size_t LargestAllocation(const std::function<void()>& fn) {
  g_largest.store(0);
  g_watching.store(true);
  fn();
  g_watching.store(false);
  return g_largest.load();
}

}  // namespace sloop::testing
