// The gateway's defences at the public front door, on real loopback sockets: the connection
// cap, the back-off after failed accepts (EMFILE), the exception barrier around the handlers,
// the idle timeout before the first byte, and /metrics on a listener of its own.
//
// Nothing here needs the gRPC backend: /healthz and /metrics are answered by the gateway
// itself and /token by an in-process issuer, so the channel leads nowhere and stays idle.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/in_process.h"
#include "gateway/http_gateway.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "observability/metrics.h"
#include "tests/support/http_client.h"

namespace registryauth::gateway {
namespace {

using Reply = ::registryauth::testing::HttpReply;
using Connection = ::registryauth::testing::HttpConnection;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::shared_ptr<grpc::Channel> IdleChannel() {
  // Never used by these tests; a channel is only connected on its first call.
  return grpc::CreateChannel("127.0.0.1:9", grpc::InsecureChannelCredentials());
}

// The value of one series (`name{labels}`) in the registry's text output; -1 when absent.
double MetricValue(const observability::Registry& registry, const std::string& series) {
  const std::string text = registry.Render();
  const std::string prefix = series + " ";
  size_t pos = 0;
  while ((pos = text.find(prefix, pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      const size_t start = pos + prefix.size();
      const size_t end = text.find('\n', start);
      double value = -1;
      if (absl::SimpleAtod(text.substr(start, end - start), &value)) return value;
      return -1;
    }
    pos += prefix.size();
  }
  return -1;
}

// Waits (polling, bounded by `limit`) until `done()` holds; returns whether it did.
template <class F>
bool WaitFor(F done, milliseconds limit = milliseconds(5000)) {
  const auto deadline = steady_clock::now() + limit;
  while (!done()) {
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

// A raw loopback TCP client whose reads are bounded by a deadline. The socket is made in the
// constructor, before connecting, so the EMFILE test can make it while descriptors remain.
class RawClient {
 public:
  RawClient() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~RawClient() { Close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool Connect(int port) {
    if (fd_ < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }

  bool Send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }

  bool SendGet(const std::string& path) {
    return Send(absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
  }

  // Reads until the peer closes (EOF or reset) or `limit` passes. `closed` says which.
  std::string ReadUntilClosed(milliseconds limit, bool* closed) {
    std::string out;
    *closed = false;
    const auto deadline = steady_clock::now() + limit;
    while (true) {
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()).count();
      if (left <= 0) return out;
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left));
      if (ready <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      *closed = true;  // 0: EOF; < 0: reset
      return out;
    }
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

bool IsOk(const std::string& response) { return absl::StartsWith(response, "HTTP/1.1 200"); }

// A GET on a fresh connection; true if it is answered 200 within `limit`.
bool ServedOnNewConnection(int port, const std::string& path, milliseconds limit) {
  RawClient c;
  if (!c.Connect(port) || !c.SendGet(path)) return false;
  bool closed = false;
  return IsOk(c.ReadUntilClosed(limit, &closed));
}

HttpGatewayOptions LoopbackOptions() {
  HttpGatewayOptions options;
  options.listen = "127.0.0.1:0";
  options.threads = 2;
  return options;
}

TEST(HttpGatewayLimitsTest, ConnectionCapRefusesNewConnectionsUntilOneCloses) {
  observability::Registry registry;
  HttpGatewayOptions options = LoopbackOptions();
  options.max_connections = 2;
  options.metrics = &registry;
  auto gw = HttpGateway::Create(options, IdleChannel());
  ASSERT_TRUE(gw.ok()) << gw.status();
  const int port = (*gw)->port();

  // Two idle keep-alive connections, each known to the server (a request was answered).
  auto first = std::make_unique<Connection>(port);
  Connection second(port);
  ASSERT_EQ(first->Request("GET", "/healthz").status, 200);
  ASSERT_EQ(second.Request("GET", "/healthz").status, 200);
  EXPECT_EQ(MetricValue(registry, R"(http_server_connections{listener="http"})"), 2);

  // The third is accepted and closed at once, its request unanswered.
  {
    RawClient third;
    ASSERT_TRUE(third.Connect(port));
    third.SendGet("/healthz");  // may fail once the reset has arrived
    bool closed = false;
    const std::string got = third.ReadUntilClosed(milliseconds(5000), &closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(got, "");
  }
  EXPECT_TRUE(WaitFor([&] {
    return MetricValue(registry, R"(http_server_connections_refused_total{listener="http"})") == 1;
  }));

  // The two still work.
  EXPECT_EQ(first->Request("GET", "/healthz").status, 200);
  EXPECT_EQ(second.Request("GET", "/healthz").status, 200);

  // One closes: its slot comes back (once the server has seen the close), and a new
  // connection is served.
  first.reset();
  EXPECT_TRUE(WaitFor([&] { return ServedOnNewConnection(port, "/healthz", milliseconds(2000)); }));
  EXPECT_EQ(second.Request("GET", "/healthz").status, 200);
}

TEST(HttpGatewayLimitsTest, IdleConnectionIsClosedAfterRequestTimeoutBeforeItsFirstByte) {
  // A connection that never sends a byte holds its slot for request_timeout at most.
  HttpGatewayOptions options = LoopbackOptions();
  options.max_connections = 1;
  options.request_timeout = absl::Milliseconds(300);
  auto gw = HttpGateway::Create(options, IdleChannel());
  ASSERT_TRUE(gw.ok()) << gw.status();
  RawClient silent;
  ASSERT_TRUE(silent.Connect((*gw)->port()));
  bool closed = false;
  EXPECT_EQ(silent.ReadUntilClosed(milliseconds(5000), &closed), "");
  EXPECT_TRUE(closed);
  EXPECT_TRUE(WaitFor(
      [&] { return ServedOnNewConnection((*gw)->port(), "/healthz", milliseconds(2000)); }));
}

// Lowers RLIMIT_NOFILE and opens /dev/null until the process is out of descriptors; undoes
// both when destroyed.
class DescriptorExhaustion {
 public:
  DescriptorExhaustion() {
    ok_ = getrlimit(RLIMIT_NOFILE, &saved_) == 0;
    if (!ok_) return;
    rlimit lowered = saved_;
    lowered.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, 1024);
    ok_ = setrlimit(RLIMIT_NOFILE, &lowered) == 0;
    for (int i = 0; ok_ && i < 4096; ++i) {
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        exhausted_ = errno == EMFILE;
        break;
      }
      fds_.push_back(fd);
    }
  }
  ~DescriptorExhaustion() { Release(); }

  bool exhausted() const { return ok_ && exhausted_; }

  void Release() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
    if (ok_) setrlimit(RLIMIT_NOFILE, &saved_);
    ok_ = false;
  }

 private:
  rlimit saved_{};
  bool ok_ = false;
  bool exhausted_ = false;
  std::vector<int> fds_;
};

TEST(HttpGatewayLimitsTest, AcceptErrorsBackOffInsteadOfSpinningAndRecover) {
  observability::Registry registry;
  HttpGatewayOptions options = LoopbackOptions();
  options.metrics = &registry;
  auto gw = HttpGateway::Create(options, IdleChannel());
  ASSERT_TRUE(gw.ok()) << gw.status();
  const std::string errors = R"(http_server_accept_errors_total{listener="http"})";
  ASSERT_EQ(MetricValue(registry, errors), 0);

  RawClient client;  // its descriptor exists before the process runs out
  {
    DescriptorExhaustion exhaustion;
    ASSERT_TRUE(exhaustion.exhausted());
    // The kernel completes the handshake; the gateway's accept() fails with EMFILE.
    ASSERT_TRUE(client.Connect((*gw)->port()));
    ASSERT_TRUE(client.SendGet("/healthz"));
    ASSERT_TRUE(WaitFor([&] { return MetricValue(registry, errors) >= 1; }));
    // Spinning would fail accept() hundreds of thousands of times a second; backing off from
    // 10 ms doubling to 1 s fails it about 7 times in the first second.
    const double before = MetricValue(registry, errors);
    std::this_thread::sleep_for(milliseconds(1000));
    const double in_one_second = MetricValue(registry, errors) - before;
    EXPECT_LT(in_one_second, 20);
  }
  // Descriptors are back: the waiting connection is served within one back-off (<= 1 s).
  bool closed = false;
  EXPECT_TRUE(IsOk(client.ReadUntilClosed(milliseconds(5000), &closed)));
  EXPECT_TRUE(ServedOnNewConnection((*gw)->port(), "/healthz", milliseconds(5000)));
}

// An in-process token issuer that throws, as a bug or an unexpected library exception would.
class ThrowingTokenIssuer final : public api::InProcessTokenIssuer {
 public:
  grpc::Status IssueRegistryToken(const api::InProcessCall&, v1::IssueRegistryTokenRequest&,
                                  v1::IssueRegistryTokenResponse*, std::string*) override {
    ++calls;
    throw std::runtime_error("issuer exploded: " + std::string(300, 'x'));
  }
  std::atomic<int> calls{0};
};

// A connection accepted while Shutdown runs (its accept handler already past the
// shutting-down check) must still be served or closed by its I/O thread before Shutdown
// returns: its start is queued on another thread's io_context, and that thread must not have
// left run() yet. Otherwise the session outlives Shutdown in a stopped io_context and is
// destroyed with the gateway, after the Listener it counts against is freed. Many rounds of
// Shutdown under a stream of connections; after each, no connection may still be open.
TEST(HttpGatewayLimitsTest, NoConnectionOutlivesShutdownUnderAStreamOfConnects) {
  for (int round = 0; round < 40; ++round) {
    observability::Registry registry;
    HttpGatewayOptions options = LoopbackOptions();
    options.threads = 4;
    options.metrics = &registry;
    auto gw = HttpGateway::Create(options, IdleChannel());
    ASSERT_TRUE(gw.ok()) << gw.status();
    const int port = (*gw)->port();
    std::atomic<bool> stop{false};
    std::atomic<int> connected{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < 2; ++i) {
      clients.emplace_back([&] {
        while (!stop.load()) {
          RawClient c;
          if (c.Connect(port)) connected.fetch_add(1);
        }
      });
    }
    ASSERT_TRUE(WaitFor([&] { return connected.load() >= 50 + round * 7; }));
    (*gw)->Shutdown();
    const double open = MetricValue(registry, R"(http_server_connections{listener="http"})");
    stop.store(true);
    for (std::thread& t : clients) t.join();
    ASSERT_EQ(open, 0) << "round " << round;
    gw->reset();
  }
}

TEST(HttpGatewayLimitsTest, ExceptionWhileServingIsA500AndTheGatewayKeepsServing) {
  observability::Registry registry;
  ThrowingTokenIssuer issuer;
  HttpGatewayOptions options = LoopbackOptions();
  options.metrics = &registry;
  options.in_process_tokens = &issuer;
  auto gw = HttpGateway::Create(options, IdleChannel());
  ASSERT_TRUE(gw.ok()) << gw.status();

  ::testing::internal::CaptureStderr();
  Connection c((*gw)->port());
  Reply r = c.Request(
      "GET", "/token?service=registry.test", "",
      {{"Authorization", "Basic c2VjcmV0LXVzZXI6c2VjcmV0LXB3"}, {"X-Request-Id", "exc-1"}});
  // The access line is written before the reply; the handler line before both.
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_TRUE(absl::StrContains(r.body, "\"INTERNAL\"")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "internal error")) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "exploded")) << r.body;
  EXPECT_EQ(r.headers["x-request-id"], "exc-1");
  EXPECT_EQ(issuer.calls, 1);
  // The /token service runs on a token worker: the router's barrier there (rest_router.h)
  // answers, so the connection itself is sound and stays open; the same connection serves on.
  EXPECT_EQ(c.Request("GET", "/healthz").status, 200);

  // One line for the exception, with what() cut short and no header values; the access line
  // names the request.
  EXPECT_TRUE(absl::StrContains(log, "a task threw")) << log;
  EXPECT_TRUE(absl::StrContains(log, "exc-1")) << log;
  EXPECT_TRUE(absl::StrContains(log, "issuer exploded")) << log;
  EXPECT_FALSE(absl::StrContains(log, std::string(250, 'x'))) << log;
  EXPECT_FALSE(absl::StrContains(log, "c2VjcmV0")) << log;

  // The gateway still serves, the same route too.
  Connection next((*gw)->port());
  EXPECT_EQ(next.Request("GET", "/healthz").status, 200);
  EXPECT_EQ(next.Request("POST", "/token", "grant_type=password&service=s&username=u&password=p",
                         {{"Content-Type", "application/x-www-form-urlencoded"}})
                .status,
            500);
  EXPECT_EQ(Connection((*gw)->port()).Request("GET", "/healthz").status, 200);
  EXPECT_EQ(issuer.calls, 2);
  EXPECT_EQ(MetricValue(registry,
                        R"(http_server_requests_total{method="GET",route="other",status="500"})"),
            1);
}

TEST(HttpGatewayLimitsTest, MetricsListenServesMetricsThereOnly) {
  observability::Registry registry;
  HttpGatewayOptions options = LoopbackOptions();
  options.metrics = &registry;
  options.metrics_listen = "127.0.0.1:0";
  auto gw = HttpGateway::Create(options, IdleChannel());
  ASSERT_TRUE(gw.ok()) << gw.status();
  ASSERT_GT((*gw)->metrics_port(), 0);
  ASSERT_NE((*gw)->metrics_port(), (*gw)->port());

  // The public listener: no /metrics, everything else as before.
  EXPECT_EQ(Connection((*gw)->port()).Request("GET", "/metrics").status, 404);
  EXPECT_EQ(Connection((*gw)->port()).Request("GET", "/healthz").status, 200);

  // The metrics listener: /metrics and /healthz, nothing else.
  Connection scraper((*gw)->metrics_port());
  Reply m = scraper.Request("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_TRUE(absl::StrContains(m.body, "# TYPE http_server_requests_total counter")) << m.body;
  EXPECT_TRUE(absl::StrContains(
      m.body, "http_server_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1\n"))
      << m.body;
  EXPECT_TRUE(absl::StrContains(m.body, "http_server_connections{listener=\"metrics\"} 1\n"))
      << m.body;
  EXPECT_EQ(scraper.Request("GET", "/healthz").status, 200);
  EXPECT_EQ(scraper.Request("GET", "/token?service=s").status, 404);
  EXPECT_EQ(scraper.Request("GET", "/v1/workspaces").status, 404);
  Reply post = scraper.Request("POST", "/metrics", "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers["allow"], "GET");
}

TEST(HttpGatewayLimitsTest, WithoutMetricsListenMetricsStayOnTheMainListener) {
  observability::Registry registry;
  HttpGatewayOptions options = LoopbackOptions();
  options.metrics = &registry;
  auto gw = HttpGateway::Create(options, IdleChannel());
  ASSERT_TRUE(gw.ok()) << gw.status();
  EXPECT_EQ((*gw)->metrics_port(), 0);
  Reply m = Connection((*gw)->port()).Request("GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_TRUE(absl::StrContains(m.body, "http_server_connections{listener=\"http\"} 1\n"))
      << m.body;
  EXPECT_TRUE(
      absl::StrContains(m.body, "http_server_connections_refused_total{listener=\"http\"} 0\n"))
      << m.body;
  EXPECT_FALSE(absl::StrContains(m.body, "listener=\"metrics\"")) << m.body;
}

TEST(HttpGatewayLimitsTest, CreateRejectsBadLimitsAndMetricsListen) {
  observability::Registry registry;
  for (int bad : {0, -1, 1000001}) {
    HttpGatewayOptions options = LoopbackOptions();
    options.max_connections = bad;
    EXPECT_EQ(HttpGateway::Create(options, IdleChannel()).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  HttpGatewayOptions no_registry = LoopbackOptions();
  no_registry.metrics_listen = "127.0.0.1:0";
  EXPECT_EQ(HttpGateway::Create(no_registry, IdleChannel()).status().code(),
            absl::StatusCode::kInvalidArgument);
  HttpGatewayOptions bad_address = LoopbackOptions();
  bad_address.metrics = &registry;
  bad_address.metrics_listen = "metrics.internal:9090";
  EXPECT_EQ(HttpGateway::Create(bad_address, IdleChannel()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace registryauth::gateway
