#include "core/parallel.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kaiyuan {
namespace {

// cgroup v2 "cpu.max" holds "QUOTA PERIOD" or "max PERIOD"; v1 splits them in two files.
int cgroup_cpu_limit() {
  std::ifstream v2("/sys/fs/cgroup/cpu.max");
  std::string quota;
  long long period = 0;
  if (v2 >> quota >> period) {
    if (quota != "max" && period > 0) return std::max(1, static_cast<int>((std::stoll(quota) + period - 1) / period));
    return 0;
  }
  std::ifstream q1("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), p1("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  long long q = 0, p = 0;
  if ((q1 >> q) && (p1 >> p) && q > 0 && p > 0) return std::max(1, static_cast<int>((q + p - 1) / p));
  return 0;
}

// Workers spin on a job generation counter for a short while after each job (decode issues hundreds
// of tiny parallel loops per token, and waking a sleeping thread costs tens of microseconds), then
// sleep on a condition variable so an idle process does not burn its CPUs.
//
// A job is cut into a few chunks per thread that the threads claim one at a time, rather than one
// fixed share per thread: when another process holds a core, a worker can come late to a job (or
// not at all), and the others then take its chunks instead of waiting for it. With fixed shares the
// whole step waited for the descheduled thread at every one of those hundreds of barriers, and
// throughput fell ~10x as soon as anything else ran on the machine.
class ThreadPool {
 public:
  explicit ThreadPool(int n_threads) : n_threads_(n_threads) {
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
  }
  ~ThreadPool() {
    stop_.store(true);
    publish_job();
    for (auto& t : workers_) t.join();
  }
  int size() const { return n_threads_; }

  void run(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
    // Serial when there is one thread, one item, or when called from inside a job (a nested
    // parallel_for would otherwise wait for workers that are busy running its caller).
    if (n_threads_ == 1 || n < 2 || t_inside_job) {
      if (n > 0) fn(0, n);
      return;
    }
    std::lock_guard<std::mutex> job_lock(job_mu_);  // one job at a time
    const int64_t chunks = std::min<int64_t>({n, int64_t{n_threads_} * kChunksPerThread, kMaxChunks});
    fn_ = &fn;
    n_ = n;
    chunk_size_ = (n + chunks - 1) / chunks;
    const int64_t n_chunks = (n + chunk_size_ - 1) / chunk_size_;
    done_.store(0, std::memory_order_relaxed);
    const uint64_t gen = ++last_generation_ & 0xFFFFFFFFu;
    work_.store(gen << 32 | static_cast<uint64_t>(n_chunks) << 16, std::memory_order_release);
    publish_job();
    t_inside_job = true;
    run_chunks(gen);
    t_inside_job = false;
    for (int spins = 0; done_.load(std::memory_order_acquire) != n_chunks; ++spins) {
      if (spins < kSpinIterations) cpu_relax();
      else std::this_thread::yield();  // a worker is running its last chunk off-core
    }
    fn_ = nullptr;
  }

 private:
  // Enough to bridge the serial work between two kernels of one decode step (~1 ms), short enough
  // that a process waiting for input goes quiet at once.
  static constexpr int kSpinIterations = 1 << 15;
  static constexpr int64_t kChunksPerThread = 4;
  static constexpr int64_t kMaxChunks = 0xFFFF;  // the chunk fields of work_ are 16 bits

  static void cpu_relax() { __builtin_ia32_pause(); }

  // Dekker-style handshake with sleeping workers (both sides seq_cst): a worker registers in
  // sleepers_ before re-checking generation_, the publisher bumps generation_ before reading
  // sleepers_, so one of them always sees the other.
  void publish_job() {
    generation_.fetch_add(1);
    if (sleepers_.load() > 0) {
      { std::lock_guard<std::mutex> lock(mu_); }
      cv_start_.notify_all();
    }
  }

  // Claims and runs chunks of job `gen` until none is left. work_ holds the job's generation (bits
  // 32-63), its chunk count (16-31) and the next unclaimed chunk (0-15) in one word, so a claim is
  // one compare-and-swap that fails once the job is done or replaced: fn_, n_ and chunk_size_ are
  // read only after a successful claim, while the job cannot finish.
  void run_chunks(uint64_t gen) {
    uint64_t w = work_.load(std::memory_order_acquire);
    for (;;) {
      if ((w >> 32) != gen) return;
      const uint64_t next = w & 0xFFFFu, count = (w >> 16) & 0xFFFFu;
      if (next >= count) return;
      if (!work_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      const int64_t begin = static_cast<int64_t>(next) * chunk_size_;
      const int64_t end = std::min<int64_t>(n_, begin + chunk_size_);
      (*fn_)(begin, end);
      done_.fetch_add(1, std::memory_order_release);
      w = work_.load(std::memory_order_acquire);
    }
  }

  void wait_for_job(uint64_t seen) {
    for (int spins = 0; spins < kSpinIterations; ++spins) {
      if (generation_.load(std::memory_order_acquire) != seen) return;
      cpu_relax();
    }
    std::unique_lock<std::mutex> lock(mu_);
    sleepers_.fetch_add(1);
    cv_start_.wait(lock, [&] { return generation_.load() != seen; });
    sleepers_.fetch_sub(1);
  }

  void worker_loop() {
    t_inside_job = true;
    uint64_t seen = 0;
    for (;;) {
      wait_for_job(seen);
      seen = generation_.load(std::memory_order_acquire);
      if (stop_.load()) return;
      // The job now published, if any: its generation is in work_ (stale ones fail to claim).
      run_chunks(work_.load(std::memory_order_acquire) >> 32);
    }
  }

  static thread_local bool t_inside_job;

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex job_mu_;
  std::mutex mu_;
  std::condition_variable cv_start_;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t chunk_size_ = 1;
  uint64_t last_generation_ = 0;  // the caller's (under job_mu_)
  std::atomic<uint64_t> work_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
};

thread_local bool ThreadPool::t_inside_job = false;

std::atomic<int> g_requested_threads{0};

ThreadPool& pool() {
  static ThreadPool p(g_requested_threads.load() > 0 ? g_requested_threads.load() : available_cpus());
  return p;
}

}  // namespace

int available_cpus() {
  int n = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) n = CPU_COUNT(&set);
  const int quota = cgroup_cpu_limit();
  if (quota > 0) n = std::min(n, quota);
  return std::max(1, n);
}

void set_num_threads(int n) { g_requested_threads.store(std::max(1, n)); }

int num_threads() { return pool().size(); }

void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) { pool().run(n, fn); }

}  // namespace kaiyuan
