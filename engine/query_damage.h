// How many damaged blocks the queries of the calling thread have skipped. A query answers with
// what is readable; the HTTP layer compares this before and after running one to tell the
// client that its answer leaves records out (a Warning header the UI shows).
#pragma once

#include <cstdint>

namespace sloop {

// Damaged blocks skipped by queries on this thread since it started (each skip counts, also of a
// block skipped before).
uint64_t DamagedBlocksSkippedOnThisThread();

// Counts one skip on this thread (called by the shards).
void NoteDamagedBlockSkippedOnThisThread();

}  // namespace sloop
