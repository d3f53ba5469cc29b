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
class ThreadPool {
 public:
  explicit ThreadPool(int n_threads) : n_threads_(n_threads) {
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
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
    fn_ = &fn;
    n_ = n;
    pending_.store(n_threads_ - 1, std::memory_order_relaxed);
    publish_job();
    t_inside_job = true;
    run_share(0);
    t_inside_job = false;
    for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < kSpinIterations) cpu_relax();
      else std::this_thread::yield();
    }
    fn_ = nullptr;
  }

 private:
  // Enough to bridge the serial work between two kernels of one decode step (~1 ms), short enough
  // that a process waiting for input goes quiet at once.
  static constexpr int kSpinIterations = 1 << 15;

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

  void run_share(int index) {
    const int64_t chunk = (n_ + n_threads_ - 1) / n_threads_;
    const int64_t begin = std::min<int64_t>(n_, chunk * index);
    const int64_t end = std::min<int64_t>(n_, begin + chunk);
    if (begin < end) (*fn_)(begin, end);
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

  void worker_loop(int index) {
    t_inside_job = true;
    uint64_t seen = 0;
    for (;;) {
      wait_for_job(seen);
      seen = generation_.load(std::memory_order_acquire);
      if (stop_.load()) return;
      run_share(index);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
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
  std::atomic<int> pending_{0};
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
