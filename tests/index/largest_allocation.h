// The largest single allocation a piece of code makes, for tests that hostile input cannot make a
// reader allocate without bound. Only in a test binary that links largest_allocation.cc, which
// replaces operator new to watch.
#pragma once

#include <cstddef>
#include <functional>

namespace sloop::testing {

// Runs fn and returns the largest single operator new it (or anything meanwhile) asked for.
size_t LargestAllocation(const std::function<void()>& fn);

}  // namespace sloop::testing
