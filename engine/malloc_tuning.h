// How the process's allocator is set up for a long-running recorder (the sloop binary and the
// benchmark harness, which measures what the binary would use).
#pragma once

namespace sloop {

// glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), after which
// the buffers of a seal or a query (a few MiB each) come from the heap, and the heap stays as
// large as its high-water mark, fragmented. A fixed threshold keeps such buffers in their own
// mappings, handed back to the system when freed. Call first thing in main.
void TuneAllocator();

}  // namespace sloop
