// Limits on how a client sends a request that cpp-httplib 0.11 (Debian 12) cannot enforce itself.
//
// The library drops a connection only when it is *silent* for --timeout. A slowloris client that
// trickles a byte at a time, or one that sends endless short header lines (the library caps the
// length of one line, not their number), keeps its HTTP thread, and grows its request, for as long
// as it likes. RequestDeadlines watches the server's connections from a thread of its own:
//  - a connection gets `deadline` to deliver one request, headers and body, counted from when it
//    was accepted or its previous request was answered;
//  - the header bytes the library has read for one request may not exceed `max_header_bytes`
//    (bytes the kernel received minus those still unread, TCP_INFO + SIOCINQ).
// A connection over either limit has its socket shut down, so the library's blocked read sees EOF
// and closes it. Time spent in a handler (generation, streaming) is not limited here.
//
// It finds the connections by scanning /proc/self/fd for sockets accepted on the server's port (the
// library gives no hook at accept), and learns where each one is in its request from the HTTP layer,
// keyed by the peer address the library reports. Linux only; elsewhere start() does nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace kaiyuan::server {

class RequestDeadlines {
 public:
  struct Limits {
    std::chrono::milliseconds deadline{30000};
    uint64_t max_header_bytes = 64u << 10;
    std::chrono::milliseconds scan_interval{100};
  };
  // Called (from the watcher thread) for each connection cut: the peer and why.
  using CutLogger = std::function<void(const std::string& peer, const std::string& reason)>;

  RequestDeadlines(int local_port, Limits limits, CutLogger log = nullptr);
  ~RequestDeadlines();
  RequestDeadlines(const RequestDeadlines&) = delete;
  RequestDeadlines& operator=(const RequestDeadlines&) = delete;

  void start();
  void stop();

  // Where a connection is in its request, from the HTTP layer (peer address and port as the
  // library reports them).
  void headers_received(const std::string& peer_addr, int peer_port, bool body_follows);
  void body_received(const std::string& peer_addr, int peer_port);
  void request_answered(const std::string& peer_addr, int peer_port);

  uint64_t connections_cut() const { return cut_.load(); }

  // For a server that has stopped accepting: from now on every scan also shuts down the connections
  // that are not inside a request's handler (idle keep-alive ones, and requests still arriving),
  // which the library would otherwise keep for its whole keep-alive timeout before it can exit.
  // A request being handled keeps its connection until it is answered.
  void close_idle_from_now() { closing_.store(true); }

  // One scan of the sockets (the watcher thread calls this every scan_interval; tests call it).
  void scan_once();

 private:
  enum class Phase { kHeaders, kBody, kHandling };
  struct Connection {
    int fd = -1;
    Phase phase = Phase::kHeaders;
    std::chrono::steady_clock::time_point since;  // when the current request began to arrive
    uint64_t consumed_at_start = 0;               // bytes the library had read when it began
    bool rebase = false;                          // take consumed_at_start at the next scan
    bool seen = false;                            // found by the last scan
    bool marked = false;                          // told about by the HTTP layer since the last scan
  };

  Connection& entry(const std::string& key);
  void run();

  const int port_;
  const Limits limits_;
  const CutLogger log_;
  std::mutex mutex_;
  std::map<std::string, Connection> connections_;  // key: "addr|port" of the peer
  std::atomic<uint64_t> cut_{0};
  std::atomic<bool> closing_{false};
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace kaiyuan::server
