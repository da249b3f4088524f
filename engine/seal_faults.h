// Test-only seam: seals that stop part-way, as if the process died there, for the crash tests
// (tests/engine/store_test.cc). Production code never includes this header.
#pragma once

namespace sloop {

class Store;

// From now on every seal of `store` stops after `step` (1: sorted copy written, 2: segment
// renamed into place, 3: index written, 4: index renamed (committed), 5: swapped in, arrival-order
// file not yet removed) and fails with kAborted, leaving its files as a crash there would. 0: no
// fault. The destructor's seal stops at the same step.
void InjectSealFaultForTesting(Store& store, int step);

}  // namespace sloop
