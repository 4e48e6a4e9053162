// registry-authd behind load balancers, end to end on a real PostgreSQL: the real stack
// (testing::LiveServer) over real HTTP and gRPC on loopback.
//
//   TrustedProxyNamesTheThrottledClient   --http_trusted_proxies=127.0.0.1/32: failed logins
//                                          sent with X-Forwarded-For: 203.0.113.7 block that
//                                          address (429) while 203.0.113.8 logs in; the access
//                                          log and the gRPC call log name the forwarded client.
//   UntrustedPeerCannotPickItsThrottleKey  no trusted proxies: the header is ignored, so the
//                                          same failures block every client of 127.0.0.1.
//   MaxConnectionAgeReplacesConnections    --grpc_max_connection_age=1s: a channel's TCP
//                                          connection is replaced every second (counted at a
//                                          loopback TCP proxy) and no call fails; without it,
//                                          one connection serves every call.
//
// Skips without PostgreSQL unless REGAUTH_REQUIRE_PG=1.
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "realm/basic_auth.h"
#include "server/config.h"
#include "tests/support/http_client.h"
#include "tests/support/live_server.h"
#include "tests/support/stderr_capture.h"
#include "tests/support/subprocess.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;
using testing::Ctx;

constexpr char kService[] = "registry.test";
constexpr char kAttacker[] = "203.0.113.7";
constexpr char kNeighbour[] = "203.0.113.8";

class BehindBalancerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    absl::StatusOr<std::unique_ptr<testing::TestStack>> stack = testing::TestStack::Builder()
                                                                    .WithTokenRealm(kService)
                                                                    .WithWorkspace("acme")
                                                                    .WithApp("acme", "web")
                                                                    .WithoutServer()
                                                                    .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  // The stack in local-development mode with the token realm on, plus `customize`; the first
  // start seeds workspace acme with app web.
  void Start(const std::function<void(server::ServerConfig&)>& customize) {
    absl::Status started = stack_->StartServer(customize);
    ASSERT_TRUE(started.ok()) << started;
  }

  // The service account acme+builder; returns its secret.
  std::string CreateServiceAccount() {
    v1::CreateServiceAccountRequest req;
    req.set_parent("workspaces/acme");
    req.set_service_account_id("builder");
    v1::RepositoryGrant* g = req.mutable_service_account()->add_grants();
    g->set_repository("acme/*");
    g->add_actions("pull");
    v1::ServiceAccountCredentials out;
    grpc::Status s = stack_->stub().CreateServiceAccount(Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.username(), "acme+builder");
    return out.secret();
  }

  // GET /token as `user`, sent with `X-Forwarded-For: forwarded_for`.
  testing::HttpReply Token(const std::string& forwarded_for, const std::string& user,
                           const std::string& password) {
    testing::HttpConnection http(stack_->server().http_port());
    EXPECT_TRUE(http.connected());
    return http.Request(
        "GET", absl::StrCat("/token?service=", kService, "&scope=repository:acme/web:pull"), "",
        {{"Authorization", realm::FormatBasicAuthorization(user, password)},
         {"X-Forwarded-For", forwarded_for}});
  }

  // Five failed logins from the attacker's address, each for a different (unknown) account so
  // that no account key is blocked, then more until the right password of acme+builder, sent
  // from that address right after a failure, is refused with 429 (the first block lasts 1 s
  // and doubles with every failure, so a slow machine just needs another round). Returns
  // whether it was refused.
  bool BlockAttacker(const std::string& secret) {
    int n = 0;
    auto fail_once = [&] {
      testing::HttpReply r = Token(kAttacker, absl::StrCat("acme+ghost", n++), "ras_wrong");
      EXPECT_TRUE(r.status == 401 || r.status == 429) << r.status << " " << r.body;
    };
    // An address's own failures block it after 4x the policy's free failures (20 by default;
    // services/login_throttle.h).
    for (int i = 0; i < 20; ++i) {
      testing::HttpReply r = Token(kAttacker, absl::StrCat("acme+ghost", n++), "ras_wrong");
      EXPECT_EQ(r.status, 401) << "failure " << i + 1 << ": " << r.body;
    }
    for (int round = 0; round < 5; ++round) {
      fail_once();
      testing::HttpReply r = Token(kAttacker, "acme+builder", secret);
      if (r.status == 429) {
        int retry_after = 0;
        EXPECT_TRUE(absl::SimpleAtoi(r.headers["retry-after"], &retry_after));
        EXPECT_GE(retry_after, 1);
        EXPECT_TRUE(absl::StrContains(r.body, "TOO_MANY_FAILED_LOGINS")) << r.body;
        return true;
      }
      EXPECT_EQ(r.status, 200) << r.body;
    }
    return false;
  }

  std::unique_ptr<testing::TestStack> stack_;
};

TEST_F(BehindBalancerTest, TrustedProxyNamesTheThrottledClient) {
  const LogFormat saved_format = GetLogFormat();
  SetLogFormat(LogFormat::kJson);
  absl::StatusOr<std::string> log_dir = testing::MakeTempDir("behind-balancer-log");
  ASSERT_TRUE(log_dir.ok());
  testing::StderrCapture capture(*log_dir + "/server.log");

  ASSERT_NO_FATAL_FAILURE(Start([](server::ServerConfig& c) {
    c.http_trusted_proxies = {"10.0.0.0/8", "127.0.0.1/32", "fd00::/8"};
  }));
  const std::string secret = CreateServiceAccount();
  ASSERT_FALSE(secret.empty());

  ASSERT_TRUE(BlockAttacker(secret)) << "the attacker's address was never blocked";
  // Another client behind the same balancer logs in with the right password; so does one whose
  // balancer chain has a trusted hop after the client, and the attacker's spoofed left-most
  // entry changes nothing for it.
  testing::HttpReply ok = Token(kNeighbour, "acme+builder", secret);
  EXPECT_EQ(ok.status, 200) << ok.body;
  testing::HttpReply chained =
      Token(absl::StrCat(kAttacker, ", ", kNeighbour, ", 10.1.2.3"), "acme+builder", secret);
  EXPECT_EQ(chained.status, 200) << chained.body;
  // The attacker is still blocked, even when it claims another address left of its own.
  testing::HttpReply spoof =
      Token(absl::StrCat(kNeighbour, ", ", kAttacker), "acme+builder", secret);
  EXPECT_EQ(spoof.status, 429) << spoof.body;

  stack_->StopServer();  // Every log line written.
  const std::string logs = capture.Stop();
  SetLogFormat(saved_format);
  std::multiset<std::string> http_peers;
  int token_grpc_lines = 0;
  std::istringstream in(logs);
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("peer") || !j["peer"].is_string()) continue;
    if (j["message"] == "http request" && j["route"] == "/token") {
      http_peers.insert(j["peer"].get<std::string>());
    }
    if (j["message"] == "grpc call" &&
        absl::StrContains(j.value("rpc", std::string()), "IssueRegistryToken")) {
      ++token_grpc_lines;
    }
  }
  EXPECT_GE(http_peers.count(kAttacker), 7u);
  EXPECT_EQ(http_peers.count(kNeighbour), 2u);
  EXPECT_EQ(http_peers.count("127.0.0.1"), 0u) << logs;
  // One access-log line per /token request (issue 20): the in-process IssueRegistryToken
  // call is counted in the gRPC metrics but writes no "grpc call" line of its own.
  EXPECT_EQ(token_grpc_lines, 0) << logs;
}

TEST_F(BehindBalancerTest, UntrustedPeerCannotPickItsThrottleKey) {
  ASSERT_NO_FATAL_FAILURE(Start([](server::ServerConfig&) {}));  // Nothing trusted.
  const std::string secret = CreateServiceAccount();
  ASSERT_FALSE(secret.empty());
  ASSERT_TRUE(BlockAttacker(secret));
  // Both "clients" are 127.0.0.1: the header named neither, so the neighbour is blocked too.
  testing::HttpReply r = Token(kNeighbour, "acme+builder", secret);
  EXPECT_EQ(r.status, 429) << r.body;
}

// Calls every 100 ms for `duration` over one channel through a TCP proxy; returns how many
// connections the proxy forwarded. Every call must succeed.
int ConnectionsDuringCalls(int grpc_port, absl::Duration duration) {
  absl::StatusOr<std::unique_ptr<testing::TcpProxy>> proxy = testing::TcpProxy::Start(grpc_port);
  EXPECT_TRUE(proxy.ok()) << proxy.status();
  if (!proxy.ok()) return -1;
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*proxy)->port()), grpc::InsecureChannelCredentials());
  auto stub = v1::RegistryAuthService::NewStub(channel);
  const absl::Time end = absl::Now() + duration;
  int calls = 0;
  while (absl::Now() < end) {
    v1::ListWorkspacesResponse out;
    grpc::Status s = stub->ListWorkspaces(Ctx().get(), {}, &out);
    EXPECT_TRUE(s.ok()) << "call " << calls << ": " << s.error_code() << " " << s.error_message();
    ++calls;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GE(calls, 10);
  return (*proxy)->forwarded_connections();
}

TEST_F(BehindBalancerTest, MaxConnectionAgeReplacesConnections) {
  ASSERT_NO_FATAL_FAILURE(Start([](server::ServerConfig& c) {
    c.grpc_max_connection_age = absl::Seconds(1);
    c.grpc_max_connection_age_grace = absl::Seconds(5);
  }));
  // gRPC jitters the age by +-10%: in 3.5 s a connection is replaced at least twice.
  const int aged = ConnectionsDuringCalls(stack_->server().grpc_port(), absl::Milliseconds(3500));
  EXPECT_GE(aged, 3);

  // Control: the default (no limit) keeps one connection for every call.
  stack_->StopServer();
  ASSERT_NO_FATAL_FAILURE(Start([](server::ServerConfig&) {}));
  EXPECT_EQ(ConnectionsDuringCalls(stack_->server().grpc_port(), absl::Milliseconds(3500)), 1);
}

}  // namespace
}  // namespace registryauth
