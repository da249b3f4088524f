#include "engine/malloc_tuning.h"

#include <malloc.h>

namespace sloop {

void TuneAllocator() {
  // Fixing the threshold also turns off glibc's dynamic adjustment of it (and of the trim
  // threshold, left at its default).
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
}

}  // namespace sloop
