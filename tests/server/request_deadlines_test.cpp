// RequestDeadlines on real loopback sockets: which connections it shuts down, and when. Scans are
// run by hand (scan_once) so that each check happens at a known point; only the deadline itself
// is a time, and the waits exceed it by a wide margin.
#include "server/request_deadlines.h"

#include <gtest/gtest.h>

#ifdef __linux__
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

namespace kaiyuan::server {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 200ms;
constexpr auto kPastDeadline = 400ms;

int local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(listen(fd, 8), 0);
    port = local_port(fd);
  }
  ~Listener() { close(fd); }
};

// One accepted connection: `server` is the side RequestDeadlines watches.
struct Connection {
  int client = -1;
  int server = -1;
  int client_port = 0;
  explicit Connection(const Listener& l) {
    client = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(l.port));
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    server = accept(l.fd, nullptr, nullptr);
    EXPECT_GE(server, 0);
    client_port = local_port(client);
  }
  ~Connection() {
    close(client);
    close(server);
  }
  // True when the server side reads EOF at once, as after shutdown() (nothing was sent to it).
  bool server_sees_eof(int wait_ms = 1000) const {
    pollfd p{server, POLLIN, 0};
    if (poll(&p, 1, wait_ms) != 1) return false;
    char c;
    return recv(server, &c, 1, MSG_DONTWAIT) == 0;
  }
  void send_bytes(size_t n) const {
    std::string chunk(n, 'x');
    size_t sent = 0;
    while (sent < n) {
      const ssize_t k = ::send(client, chunk.data() + sent, n - sent, 0);
      ASSERT_GT(k, 0);
      sent += static_cast<size_t>(k);
    }
  }
  // Reads what the client sent, as the HTTP library would while parsing headers.
  size_t drain(size_t n) const {
    std::vector<char> buf(n);
    size_t got = 0;
    while (got < n) {
      pollfd p{server, POLLIN, 0};
      if (poll(&p, 1, 1000) != 1) break;
      const ssize_t k = recv(server, buf.data() + got, n - got, 0);
      if (k <= 0) break;
      got += static_cast<size_t>(k);
    }
    return got;
  }
};

RequestDeadlines::Limits limits() {
  RequestDeadlines::Limits l;
  l.deadline = std::chrono::duration_cast<std::chrono::milliseconds>(kDeadline);
  l.max_header_bytes = 4096;
  return l;
}

TEST(RequestDeadlines, ConnectionThatSendsNoRequestIsClosedAfterTheDeadline) {
  Listener l;
  Connection c(l);
  std::vector<std::string> log;
  RequestDeadlines d(l.port, limits(), [&](const std::string& peer, const std::string& why) { log.push_back(peer + " " + why); });
  d.scan_once();
  EXPECT_EQ(d.connections_cut(), 0u);
  std::this_thread::sleep_for(kPastDeadline);
  d.scan_once();
  EXPECT_EQ(d.connections_cut(), 1u);
  EXPECT_TRUE(c.server_sees_eof());
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0], "127.0.0.1:" + std::to_string(c.client_port) + " did not send its request within 200 ms");
}

TEST(RequestDeadlines, TricklingClientIsClosedToo) {
  // Bytes arriving (and being read) do not restart the deadline: that is the point.
  Listener l;
  Connection c(l);
  RequestDeadlines d(l.port, limits());
  d.scan_once();
  for (int i = 0; i < 8; ++i) {
    c.send_bytes(1);
    EXPECT_EQ(c.drain(1), 1u);
    std::this_thread::sleep_for(60ms);
  }
  d.scan_once();
  EXPECT_EQ(d.connections_cut(), 1u);
}

TEST(RequestDeadlines, RequestBeingHandledIsNotLimitedAndTheNextOneIs) {
  Listener l;
  Connection c(l);
  RequestDeadlines d(l.port, limits());
  d.scan_once();
  d.headers_received("127.0.0.1", c.client_port, /*body_follows=*/false);
  std::this_thread::sleep_for(kPastDeadline);
  d.scan_once();
  EXPECT_EQ(d.connections_cut(), 0u) << "a long generation must not be cut";
  // Answered: the connection now waits for its next request, and the clock starts again.
  d.request_answered("127.0.0.1", c.client_port);
  d.scan_once();
  EXPECT_EQ(d.connections_cut(), 0u);
  std::this_thread::sleep_for(kPastDeadline);
  d.scan_once();
  EXPECT_EQ(d.connections_cut(), 1u);
}

TEST(RequestDeadlines, BodyMustArriveWithinTheSameDeadline) {
  Listener l;
  RequestDeadlines d(l.port, limits());
  {
    Connection c(l);
    d.scan_once();
    d.headers_received("127.0.0.1", c.client_port, /*body_follows=*/true);
    std::this_thread::sleep_for(kPastDeadline);
    d.scan_once();
    EXPECT_EQ(d.connections_cut(), 1u);
  }  // closed, as the HTTP library closes a connection after the cut

  Connection quick(l);
  d.scan_once();
  d.headers_received("127.0.0.1", quick.client_port, true);
  d.body_received("127.0.0.1", quick.client_port);
  std::this_thread::sleep_for(kPastDeadline);
  d.scan_once();
  EXPECT_EQ(d.connections_cut(), 1u) << "a request whose body arrived is being handled";
}

TEST(RequestDeadlines, TooManyHeaderBytesReadIsClosedAtOnce) {
  Listener l;
  Connection c(l);
  RequestDeadlines d(l.port, limits());
  d.scan_once();
  c.send_bytes(3000);
  EXPECT_EQ(c.drain(3000), 3000u);
  d.scan_once();
  EXPECT_EQ(d.connections_cut(), 0u) << "3000 bytes are within the 4096-byte limit";
  c.send_bytes(3000);
  EXPECT_EQ(c.drain(3000), 3000u);
  d.scan_once();
  EXPECT_EQ(d.connections_cut(), 1u);
}

// A stopping server: connections between requests (idle keep-alive, or never used) are shut down
// at the next scan, well before any deadline; one whose request is being handled is kept until it
// is answered. None of them counts as a cut (no limit was broken).
TEST(RequestDeadlines, AtShutdownIdleConnectionsCloseAndHandledOnesFinish) {
  Listener l;
  Connection idle(l), fresh(l), busy(l);
  RequestDeadlines d(l.port, limits());
  d.scan_once();
  d.headers_received("127.0.0.1", idle.client_port, /*body_follows=*/false);
  d.request_answered("127.0.0.1", idle.client_port);
  d.headers_received("127.0.0.1", busy.client_port, /*body_follows=*/false);
  d.scan_once();
  EXPECT_FALSE(idle.server_sees_eof(0));
  d.close_idle_from_now();
  d.scan_once();
  EXPECT_TRUE(idle.server_sees_eof());
  EXPECT_TRUE(fresh.server_sees_eof());
  EXPECT_FALSE(busy.server_sees_eof(100)) << "a request being handled must be allowed to finish";
  d.request_answered("127.0.0.1", busy.client_port);
  d.scan_once();
  EXPECT_TRUE(busy.server_sees_eof());
  EXPECT_EQ(d.connections_cut(), 0u);
}

TEST(RequestDeadlines, UnreadBytesAndBodiesDoNotCountAsHeaders) {
  Listener l;
  Connection unread(l), body(l);
  RequestDeadlines d(l.port, limits());
  d.scan_once();
  unread.send_bytes(20000);  // queued in the kernel: a request not yet picked up by a thread
  d.headers_received("127.0.0.1", body.client_port, true);
  body.send_bytes(20000);
  EXPECT_EQ(body.drain(20000), 20000u);
  std::this_thread::sleep_for(50ms);
  d.scan_once();
  EXPECT_EQ(d.connections_cut(), 0u);

  // After an answer, header bytes count from where the previous request ended.
  d.body_received("127.0.0.1", body.client_port);
  d.request_answered("127.0.0.1", body.client_port);
  d.scan_once();
  body.send_bytes(3000);
  EXPECT_EQ(body.drain(3000), 3000u);
  d.scan_once();
  EXPECT_EQ(d.connections_cut(), 0u);
}

TEST(RequestDeadlines, ConnectionsOnOtherPortsAreLeftAlone) {
  Listener ours, other;
  Connection c(other);
  RequestDeadlines d(ours.port, limits());
  d.scan_once();
  std::this_thread::sleep_for(kPastDeadline);
  d.scan_once();
  EXPECT_EQ(d.connections_cut(), 0u);
  c.send_bytes(1);
  EXPECT_EQ(c.drain(1), 1u) << "the connection is still open";
}

TEST(RequestDeadlines, WatcherThreadStartsAndStops) {
  Listener l;
  Connection c(l);
  RequestDeadlines d(l.port, limits());
  d.start();
  EXPECT_TRUE(c.server_sees_eof(/*wait_ms=*/10000));
  d.stop();
  EXPECT_EQ(d.connections_cut(), 1u);
}

}  // namespace
}  // namespace kaiyuan::server
#endif
