// A persistent pool of worker threads for data-parallel loops. The thread count defaults to the
// CPUs this process may run on (affinity mask, cgroup quota) and is set once from `-t`.
#pragma once

#include <cstdint>
#include <functional>

namespace kaiyuan {

// CPUs available to this process: sched_getaffinity, capped by a cgroup v2/v1 CPU quota.
int available_cpus();

// Sets the number of threads parallel_for uses (>= 1). Call before the first parallel_for.
void set_num_threads(int n);
int num_threads();

// Calls fn(begin, end) on disjoint chunks covering [0, n), on up to num_threads() threads, and
// returns when all are done. Chunks are contiguous and as even as possible.
void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace kaiyuan
