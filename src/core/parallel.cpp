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
// A job's units are dealt out as one contiguous range per thread, which its owner claims from the
// front a piece at a time while threads that have run out take pieces from the back of the others'
// ranges. The owner's pieces follow one another in memory, so a matmul's weight stream (and its
// prefetch, which runs ahead across piece boundaries) never restarts within a thread's share;
// stealing keeps the end of a job balanced, and a worker that comes late to a job (or not at all,
// because another process holds its core) has its range taken by the others instead of holding up
// the step: with fixed shares the whole step waited for a descheduled thread at every one of those
// hundreds of barriers, and throughput fell ~10x as soon as anything else ran on the machine.
class ThreadPool {
 public:
  explicit ThreadPool(int n_threads) : n_threads_(n_threads), ranges_(new Range[static_cast<size_t>(n_threads)]) {
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
    unit_size_ = (n + kMaxUnits - 1) / kMaxUnits;
    const int64_t n_units = (n + unit_size_ - 1) / unit_size_;
    max_piece_.store(std::max<int64_t>(1, n_units / (int64_t{n_threads_} * kPiecesPerThread)), std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    const uint64_t gen = ++last_generation_ & 0xFFFFFFFFu;
    for (int i = 0; i < n_threads_; ++i) {
      const auto lo = static_cast<uint64_t>(n_units * i / n_threads_), hi = static_cast<uint64_t>(n_units * (i + 1) / n_threads_);
      ranges_[static_cast<size_t>(i)].w.store(gen << 32 | lo << 16 | hi, std::memory_order_relaxed);
    }
    job_generation_.store(gen, std::memory_order_release);
    publish_job();
    t_inside_job = true;
    run_job(0, gen);
    t_inside_job = false;
    for (int spins = 0; done_.load(std::memory_order_acquire) != n_units; ++spins) {
      if (spins < kSpinIterations) cpu_relax();
      else std::this_thread::yield();  // a worker is running its last piece off-core
    }
    fn_ = nullptr;
  }

 private:
  // Enough to bridge the serial work between two kernels of one decode step (~1 ms), short enough
  // that a process waiting for input goes quiet at once.
  static constexpr int kSpinIterations = 1 << 15;
  // A piece is at most 1/(threads x kPiecesPerThread) of the job, as the claimed chunks were: what a
  // thread descheduled in the middle of one holds up. Owners take half of what is left of their
  // range up to that, thieves a quarter of what is left of the range they steal from.
  static constexpr int64_t kPiecesPerThread = 4;
  static constexpr int64_t kMaxUnits = 0xFFFF;  // the range fields are 16 bits

  // One thread's range of units [front, back) of job `gen`: bits 32-63 the generation, 16-31
  // front, 0-15 back. On its own cache line: owners update theirs without disturbing the others.
  struct alignas(64) Range {
    std::atomic<uint64_t> w{0};
  };

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

  // Takes a piece of range `r` of job `gen`, from the front (its owner) or the back (a thief): true
  // with [begin, end) in units, false once the range is empty or belongs to another job. fn_, n_,
  // unit_size_ are read only after a successful claim, while the job cannot finish.
  bool claim(Range& r, uint64_t gen, bool owner, int64_t& begin, int64_t& end) {
    uint64_t w = r.w.load(std::memory_order_acquire);
    for (;;) {
      if ((w >> 32) != gen) return false;
      const auto front = static_cast<int64_t>((w >> 16) & 0xFFFFu), back = static_cast<int64_t>(w & 0xFFFFu);
      if (front >= back) return false;
      const int64_t left = back - front;
      // max_piece_ may already be the next job's if this one ended meanwhile; the CAS fails then.
      const int64_t take = std::min(max_piece_.load(std::memory_order_relaxed), std::max<int64_t>(1, owner ? (left + 1) / 2 : left / 4));
      begin = owner ? front : back - take;
      end = begin + take;
      const uint64_t next = owner ? (w & ~(uint64_t{0xFFFF} << 16)) | static_cast<uint64_t>(end) << 16
                                  : (w & ~uint64_t{0xFFFF}) | static_cast<uint64_t>(begin);
      if (r.w.compare_exchange_weak(w, next, std::memory_order_acq_rel, std::memory_order_acquire)) return true;
    }
  }

  void run_units(int64_t begin, int64_t end) {
    (*fn_)(begin * unit_size_, std::min(n_, end * unit_size_));
    done_.fetch_add(end - begin, std::memory_order_release);
  }

  // Thread `self` runs its own range, then steals from the others until every range is empty.
  void run_job(int self, uint64_t gen) {
    int64_t begin = 0, end = 0;
    while (claim(ranges_[static_cast<size_t>(self)], gen, true, begin, end)) run_units(begin, end);
    for (bool stole = true; stole;) {
      stole = false;
      for (int k = 1; k < n_threads_; ++k) {
        Range& victim = ranges_[static_cast<size_t>((self + k) % n_threads_)];
        while (claim(victim, gen, false, begin, end)) {
          run_units(begin, end);
          stole = true;
        }
      }
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

  void worker_loop(int self) {
    t_inside_job = true;
    uint64_t seen = 0;
    for (;;) {
      wait_for_job(seen);
      seen = generation_.load(std::memory_order_acquire);
      if (stop_.load()) return;
      // The job now published, if any (stale generations fail to claim).
      run_job(self, job_generation_.load(std::memory_order_acquire));
    }
  }

  static thread_local bool t_inside_job;

  int n_threads_;
  std::unique_ptr<Range[]> ranges_;
  std::vector<std::thread> workers_;
  std::mutex job_mu_;
  std::mutex mu_;
  std::condition_variable cv_start_;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t unit_size_ = 1;
  std::atomic<int64_t> max_piece_{1};
  uint64_t last_generation_ = 0;  // the caller's (under job_mu_)
  std::atomic<uint64_t> job_generation_{0};
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
