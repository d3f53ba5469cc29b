#include "server/request_deadlines.h"

#include <cstddef>
#include <cstdlib>
#include <optional>
#include <vector>

#ifdef __linux__
#include <dirent.h>
#include <linux/tcp.h>  // struct tcp_info with tcpi_bytes_received (glibc's netinet/tcp.h lacks it)
#include <netdb.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace kaiyuan::server {
namespace {

using Clock = std::chrono::steady_clock;

std::string key_of(const std::string& addr, int port) { return addr + "|" + std::to_string(port); }

#ifdef __linux__
int port_of(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return -1;
}

// The peer of an accepted socket on `local_port` as "addr|port", written as cpp-httplib writes
// Request::remote_addr (getnameinfo, numeric host); empty for anything else.
std::string accepted_peer(int fd, int local_port) {
  struct stat st{};
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return {};
  sockaddr_storage local{}, peer{};
  socklen_t len = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0 || port_of(local) != local_port) return {};
  len = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return {};  // the listening socket
  char host[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&peer), len, host, sizeof(host), nullptr, 0, NI_NUMERICHOST) != 0)
    return {};
  return key_of(host, port_of(peer));
}

// Bytes of the stream the application has read so far: received by the kernel minus still queued.
// nullopt where the kernel does not report bytes_received (before Linux 4.1).
std::optional<uint64_t> bytes_consumed(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  if (len < offsetof(tcp_info, tcpi_bytes_received) + sizeof(info.tcpi_bytes_received)) return std::nullopt;
  int unread = 0;
  if (ioctl(fd, FIONREAD, &unread) != 0 || unread < 0) unread = 0;
  const uint64_t received = info.tcpi_bytes_received;
  return received >= static_cast<uint64_t>(unread) ? received - static_cast<uint64_t>(unread) : 0;
}

std::vector<int> open_fds() {
  std::vector<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  const int own = dirfd(dir);
  while (const dirent* e = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && fd != own) fds.push_back(static_cast<int>(fd));
  }
  closedir(dir);
  return fds;
}
#endif

}  // namespace

RequestDeadlines::RequestDeadlines(int local_port, Limits limits, CutLogger log)
    : port_(local_port), limits_(limits), log_(std::move(log)) {}

RequestDeadlines::~RequestDeadlines() { stop(); }

void RequestDeadlines::start() {
#ifdef __linux__
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
#endif
}

void RequestDeadlines::stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RequestDeadlines::run() {
  std::unique_lock<std::mutex> lock(stop_mutex_);
  while (!stopping_) {
    lock.unlock();
    scan_once();
    lock.lock();
    stop_cv_.wait_for(lock, limits_.scan_interval, [this] { return stopping_; });
  }
}

RequestDeadlines::Connection& RequestDeadlines::entry(const std::string& key) {
  auto [it, inserted] = connections_.try_emplace(key);
  if (inserted) it->second.since = Clock::now();
  it->second.marked = true;
  return it->second;
}

void RequestDeadlines::headers_received(const std::string& peer_addr, int peer_port, bool body_follows) {
  std::lock_guard<std::mutex> lock(mutex_);
  Connection& c = entry(key_of(peer_addr, peer_port));
  c.phase = body_follows ? Phase::kBody : Phase::kHandling;
  c.rebase = false;
}

void RequestDeadlines::body_received(const std::string& peer_addr, int peer_port) {
  std::lock_guard<std::mutex> lock(mutex_);
  entry(key_of(peer_addr, peer_port)).phase = Phase::kHandling;
}

void RequestDeadlines::request_answered(const std::string& peer_addr, int peer_port) {
  std::lock_guard<std::mutex> lock(mutex_);
  Connection& c = entry(key_of(peer_addr, peer_port));
  c.phase = Phase::kHeaders;  // waiting for the next request on this connection
  c.since = Clock::now();
  c.rebase = true;
}

void RequestDeadlines::scan_once() {
#ifdef __linux__
  const auto now = Clock::now();
  std::vector<std::pair<std::string, int>> found;
  for (int fd : open_fds()) {
    std::string peer = accepted_peer(fd, port_);
    if (!peer.empty()) found.emplace_back(std::move(peer), fd);
  }
  std::vector<std::pair<std::string, std::string>> cut;  // peer, reason: logged outside the lock
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [key, c] : connections_) c.seen = false;
    for (const auto& [key, fd] : found) {
      auto [it, inserted] = connections_.try_emplace(key);
      Connection& c = it->second;
      if (inserted || (c.fd != -1 && c.fd != fd)) {  // a connection we have not seen yet
        c = Connection{};
        c.since = now;
      }
      c.fd = fd;
      c.seen = true;
      const std::optional<uint64_t> consumed = bytes_consumed(fd);
      if (c.rebase) {
        c.consumed_at_start = consumed.value_or(0);
        c.rebase = false;
      }
      std::string reason;
      const bool idle_at_shutdown = c.phase != Phase::kHandling && closing_.load();
      if (idle_at_shutdown) {
        reason = "closed: the server is shutting down";
      } else if (c.phase != Phase::kHandling && now - c.since > limits_.deadline) {
        reason = "did not send its request within " +
                 std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(limits_.deadline).count()) + " ms";
      } else if (c.phase == Phase::kHeaders && consumed && *consumed > c.consumed_at_start &&
                 *consumed - c.consumed_at_start > limits_.max_header_bytes) {
        reason = "sent more than " + std::to_string(limits_.max_header_bytes) + " bytes of request headers";
      }
      if (reason.empty()) continue;
      // Still the same connection? (The fd could have been closed and reused since the listing.)
      if (accepted_peer(fd, port_) != key) continue;
      shutdown(fd, SHUT_RDWR);
      if (!idle_at_shutdown) cut_.fetch_add(1);  // a limit enforced, not a shutdown
      cut.emplace_back(key, std::move(reason));
      c = Connection{};  // if the library has not closed it by the next scan, it starts afresh
      c.fd = fd;
      c.since = now;
      c.seen = true;
    }
    for (auto it = connections_.begin(); it != connections_.end();) {
      // Gone, unless the HTTP layer told us about it since the last scan (it may not be listed yet).
      if (!it->second.seen && !it->second.marked) {
        it = connections_.erase(it);
      } else {
        it->second.marked = false;
        ++it;
      }
    }
  }
  if (log_) {
    for (auto& [key, reason] : cut) {
      std::string peer = key;
      peer[peer.rfind('|')] = ':';
      log_(peer, reason);
    }
  }
#endif
}

}  // namespace kaiyuan::server
