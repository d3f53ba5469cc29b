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

// Workers wait for a new generation number, run their share of the current job, and report back.
class ThreadPool {
 public:
  explicit ThreadPool(int n_threads) : n_threads_(n_threads) {
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      ++generation_;
    }
    cv_start_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int size() const { return n_threads_; }

  void run(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
    if (n_threads_ == 1 || n < 2) {
      if (n > 0) fn(0, n);
      return;
    }
    std::unique_lock<std::mutex> job_lock(job_mu_);  // one job at a time
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn;
      n_ = n;
      pending_ = n_threads_ - 1;
      ++generation_;
    }
    cv_start_.notify_all();
    run_share(0);
    std::unique_lock<std::mutex> lock(mu_);
    cv_done_.wait(lock, [this] { return pending_ == 0; });
    fn_ = nullptr;
  }

 private:
  void run_share(int index) {
    const int64_t chunk = (n_ + n_threads_ - 1) / n_threads_;
    const int64_t begin = std::min<int64_t>(n_, chunk * index);
    const int64_t end = std::min<int64_t>(n_, begin + chunk);
    if (begin < end) (*fn_)(begin, end);
  }

  void worker_loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_start_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stop_) return;
      }
      run_share(index);
      {
        std::lock_guard<std::mutex> lock(mu_);
        --pending_;
      }
      cv_done_.notify_one();
    }
  }

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex job_mu_;
  std::mutex mu_;
  std::condition_variable cv_start_, cv_done_;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

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
