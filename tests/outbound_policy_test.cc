// The outbound policy end to end: TestConnection of DISTRIBUTION configurations through the real
// server over real gRPC, with --upstream_allowed_networks narrowed by each test. Targets the
// policy refuses - the service's own port, the cloud metadata address, a private address, a
// redirect to loopback, a DNS name that resolves to loopback - fail BLOCKED_BY_POLICY without a
// connection reaching them and without the address they resolved to in the answer; an allowed
// network still works. And one workspace's (or one user's) slow tests cannot take every
// TestConnection slot.
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/ip_address.h"
#include "gtest/gtest.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "server/config.h"
#include "tests/support/live_server.h"
#include "tests/support/test_stack.h"
#include "upstream/testing/scripted_http_server.h"
#include "upstream/testing/silent_listener.h"

namespace registryauth {
namespace {

using ::registryauth::upstream::testing::ScriptedHttpServer;
using ::registryauth::upstream::testing::ScriptedResponse;
using ::registryauth::upstream::testing::SilentListener;

constexpr char kPassword[] = "outbound-policy-canary-password";

class OutboundPolicyTest : public ::testing::Test {
 protected:
  // A stack whose allowance is exactly `allowed` (LiveServer's loopback allowance replaced),
  // sending outbound calls through `proxy` if not empty (--upstream_proxy).
  void Start(const std::vector<std::string>& allowed, const std::string& proxy = "") {
    REGAUTH_SKIP_WITHOUT_PG();
    auto stack = testing::TestStack::Builder()
                     .WithWorkspace("acme")
                     .Configure([allowed, proxy](server::ServerConfig& c) {
                       c.upstream_allowed_networks.clear();
                       for (const std::string& cidr : allowed) {
                         c.upstream_allowed_networks.push_back(*ParseIpNetwork(cidr));
                       }
                       c.upstream_proxy = proxy;
                       c.test_connection_timeout = absl::Seconds(5);
                     })
                     .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  // A DISTRIBUTION config `id` of `workspace` at `url`, created as `user` ("": no user).
  grpc::Status CreateDistribution(const std::string& workspace, const std::string& id,
                                  const std::string& url, const std::string& user = "") {
    v1::CreateRegistryConfigRequest create;
    create.set_parent("workspaces/" + workspace);
    create.set_registry_id(id);
    v1::RegistryConfig* config = create.mutable_registry_config();
    config->set_type(v1::DISTRIBUTION);
    config->mutable_distribution()->set_url(url);
    config->mutable_distribution()->set_repository_namespace(workspace);
    config->mutable_distribution()->set_username("builder");
    config->set_secret(kPassword);
    v1::RegistryConfig created;
    return stack_->stub().CreateRegistryConfig(As(user).get(), create, &created);
  }

  // A context acting for `user` (x-registryauth-user), or for no user.
  std::unique_ptr<grpc::ClientContext> As(const std::string& user) {
    std::unique_ptr<grpc::ClientContext> ctx = stack_->Ctx();
    if (!user.empty()) ctx->AddMetadata("x-registryauth-user", user);
    return ctx;
  }

  // The stack for the slot tests: 8 TestConnection slots, 2 per workspace (and per user).
  void StartWithSlots(std::vector<std::string> workspaces) {
    REGAUTH_SKIP_WITHOUT_PG();
    testing::TestStack::Builder builder;
    for (std::string& ws : workspaces) builder.WithWorkspace(std::move(ws));
    auto stack = builder
                     .Configure([](server::ServerConfig& c) {
                       c.test_connection_timeout = absl::Seconds(20);
                       c.test_connection_max_concurrent = 8;
                       c.test_connection_max_per_workspace = 2;
                     })
                     .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  // Runs `tests` TestConnection calls at once through `test(i)` and waits until `slow` (the
  // registry they reach) has seen two of them; `while_held` runs then, before they are joined.
  // Checks that 2 ran and the others were refused at once (RESOURCE_EXHAUSTED).
  static void ExpectTwoRunAndTheRestRefused(const std::function<grpc::StatusCode(int)>& test,
                                            int tests, ScriptedHttpServer& slow,
                                            const std::function<void()>& while_held) {
    std::vector<grpc::StatusCode> codes(tests);
    std::vector<std::thread> greedy;
    for (int i = 0; i < tests; ++i) {
      greedy.emplace_back([&, i] { codes[i] = test(i); });
    }
    const absl::Time wait_until = absl::Now() + absl::Seconds(5);
    while (slow.connections() < 2 && absl::Now() < wait_until) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_GE(slow.connections(), 2);
    if (slow.connections() >= 2) while_held();
    for (std::thread& t : greedy) t.join();
    int ok = 0;
    int refused = 0;
    for (grpc::StatusCode code : codes) {
      ok += code == grpc::StatusCode::OK ? 1 : 0;
      refused += code == grpc::StatusCode::RESOURCE_EXHAUSTED ? 1 : 0;
    }
    EXPECT_EQ(ok, 2);
    EXPECT_EQ(refused, tests - 2);
    EXPECT_EQ(slow.connections(), 2);
  }

  v1::TestConnectionResponse TestUrl(const std::string& id, const std::string& url) {
    grpc::Status s = CreateDistribution("acme", id, url);
    EXPECT_TRUE(s.ok()) << url << ": " << s.error_message();
    v1::TestConnectionRequest req;
    req.set_name("workspaces/acme/registries/" + id);
    v1::TestConnectionResponse out;
    s = stack_->stub().TestConnection(stack_->Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << url << ": " << s.error_message();
    EXPECT_FALSE(absl::StrContains(out.DebugString(), kPassword));
    return out;
  }

  // Refused by the policy, and the answer does not name `hidden` (the address a name resolved to).
  static void ExpectBlocked(const v1::TestConnectionResponse& r, const std::string& hidden = "") {
    EXPECT_EQ(r.result(), v1::INVALID) << r.DebugString();
    EXPECT_EQ(r.error().reason(), "BLOCKED_BY_POLICY") << r.DebugString();
    EXPECT_FALSE(r.error().retryable()) << r.DebugString();
    EXPECT_TRUE(absl::StrContains(r.DebugString(), "blocked by outbound policy"))
        << r.DebugString();
    if (!hidden.empty()) {
      EXPECT_FALSE(absl::StrContains(r.DebugString(), hidden)) << hidden;
    }
  }

  std::unique_ptr<testing::TestStack> stack_;
};

TEST_F(OutboundPolicyTest, TheServicesOwnPortIsRefused) {
  Start({});
  if (stack_ == nullptr) return;
  ExpectBlocked(TestUrl("self", absl::StrCat("http://127.0.0.1:", stack_->grpc_port())));
  ExpectBlocked(TestUrl("self-http", absl::StrCat("http://127.0.0.1:", stack_->http_port())));
}

TEST_F(OutboundPolicyTest, MetadataAndPrivateAddressesAreRefusedAtOnce) {
  Start({"127.0.0.0/8"});
  if (stack_ == nullptr) return;
  const absl::Time start = absl::Now();
  ExpectBlocked(TestUrl("metadata", "https://169.254.169.254"));
  ExpectBlocked(TestUrl("private", "https://10.255.255.1:5000"));
  ExpectBlocked(TestUrl("ula", "https://[fd00:ec2::254]"));
  // Refused before connecting: nothing waited for the (unroutable) targets to time out.
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
}

TEST_F(OutboundPolicyTest, ANameThatResolvesToLoopbackIsRefusedWithoutTouchingIt) {
  Start({"127.0.0.2/32"});  // loopback, but not the address `localhost` resolves to
  if (stack_ == nullptr) return;
  auto registry = ScriptedHttpServer::Start();
  ASSERT_TRUE(registry.ok()) << registry.status();
  (*registry)->Route("/v2/", ScriptedResponse{200, {}, "{}"});
  ExpectBlocked(TestUrl("by-name", absl::StrCat("http://localhost:", (*registry)->port())),
                "127.0.0.1");
  EXPECT_EQ((*registry)->connections(), 0);
}

TEST_F(OutboundPolicyTest, ARedirectToLoopbackIsRefusedWithoutTouchingIt) {
  Start({"127.0.0.1/32"});
  if (stack_ == nullptr) return;
  auto target = SilentListener::Start("127.0.0.2");
  ASSERT_TRUE(target.ok()) << target.status();
  auto registry = ScriptedHttpServer::Start();
  ASSERT_TRUE(registry.ok()) << registry.status();
  (*registry)->Route(
      "/v2/",
      ScriptedResponse{
          302, {{"Location", absl::StrCat("http://127.0.0.2:", (*target)->port(), "/v2/")}}, ""});
  ExpectBlocked(TestUrl("redirect", (*registry)->BaseUrl()), "127.0.0.2");
  EXPECT_EQ((*registry)->connections(), 1);
  EXPECT_FALSE((*target)->SawConnection());
}

// With --upstream_proxy the connect-time check sees only the proxy's address (here on an
// allowed network, 127.0.0.1): the service resolves and checks each target itself, and a
// refused one never reaches the proxy. An allowed one does go through it.
TEST_F(OutboundPolicyTest, ThroughAProxyRefusedTargetsNeverReachTheProxy) {
  auto proxy = SilentListener::Start("127.0.0.1");
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  Start({"127.0.0.1/32"}, (*proxy)->Url());
  if (stack_ == nullptr) return;
  ExpectBlocked(TestUrl("metadata", "https://169.254.169.254"));
  ExpectBlocked(TestUrl("private", "https://10.255.255.1:5000"));
  ExpectBlocked(TestUrl("loopback", "https://127.0.0.2:5000"));
  EXPECT_FALSE((*proxy)->SawConnection());
  // The control: an allowed target is handed to the proxy (which never answers).
  const v1::TestConnectionResponse allowed = TestUrl("allowed", "https://127.0.0.1:5000");
  EXPECT_NE(allowed.error().reason(), "BLOCKED_BY_POLICY") << allowed.DebugString();
  EXPECT_TRUE((*proxy)->SawConnection());
}

TEST_F(OutboundPolicyTest, AnAllowedNetworkStillWorks) {
  Start({"127.0.0.1/32"});
  if (stack_ == nullptr) return;
  auto registry = ScriptedHttpServer::Start();
  ASSERT_TRUE(registry.ok()) << registry.status();
  (*registry)->Route("/v2/", ScriptedResponse{200, {}, "{}"});
  v1::TestConnectionResponse r = TestUrl("allowed", (*registry)->BaseUrl());
  EXPECT_NE(r.error().reason(), "BLOCKED_BY_POLICY") << r.DebugString();
  EXPECT_GE((*registry)->connections(), 1);
  EXPECT_FALSE((*registry)->requests().empty());
}

TEST_F(OutboundPolicyTest, OneWorkspacesSlowTestsDoNotBlockAnothers) {
  StartWithSlots({"acme", "other"});
  if (stack_ == nullptr) return;
  auto slow = ScriptedHttpServer::Start();
  ASSERT_TRUE(slow.ok()) << slow.status();
  (*slow)->Route("/v2/", ScriptedResponse{200, {}, "{}", absl::Seconds(6)});
  auto fast = ScriptedHttpServer::Start();
  ASSERT_TRUE(fast.ok()) << fast.status();
  (*fast)->Route("/v2/", ScriptedResponse{200, {}, "{}"});
  grpc::Status s = CreateDistribution("acme", "reg", (*slow)->BaseUrl());
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = CreateDistribution("other", "reg", (*fast)->BaseUrl());
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto test = [&](const std::string& workspace) {
    v1::TestConnectionRequest req;
    req.set_name("workspaces/" + workspace + "/registries/reg");
    v1::TestConnectionResponse out;
    return stack_->stub().TestConnection(stack_->Ctx().get(), req, &out).error_code();
  };

  // acme starts 10 tests against its slow registry: 2 run, 8 are refused at once. Meanwhile
  // another workspace's test runs and answers without waiting for acme's.
  ExpectTwoRunAndTheRestRefused([&](int) { return test("acme"); }, 10, **slow,
                                [&] {
                                  const absl::Time start = absl::Now();
                                  EXPECT_EQ(test("other"), grpc::StatusCode::OK);
                                  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
                                  EXPECT_GE((*fast)->connections(), 1);
                                });
}

TEST_F(OutboundPolicyTest, OneUsersSlowTestsInManyWorkspacesDoNotBlockAnotherUser) {
  // Review of issue 17: any user may create workspaces, so the per-workspace bound alone let one
  // user with 4 workspaces hold all 8 slots. Mallory's tests across 5 workspaces of her own are
  // bounded like one workspace's; pat's test still runs at once.
  StartWithSlots({});
  if (stack_ == nullptr) return;
  auto slow = ScriptedHttpServer::Start();
  ASSERT_TRUE(slow.ok()) << slow.status();
  (*slow)->Route("/v2/", ScriptedResponse{200, {}, "{}", absl::Seconds(6)});
  auto fast = ScriptedHttpServer::Start();
  ASSERT_TRUE(fast.ok()) << fast.status();
  (*fast)->Route("/v2/", ScriptedResponse{200, {}, "{}"});
  auto workspace_with_registry = [&](const std::string& user, const std::string& workspace,
                                     const std::string& url) {
    v1::CreateWorkspaceRequest ws;
    ws.set_workspace_id(workspace);
    v1::Workspace created;
    grpc::Status s = stack_->stub().CreateWorkspace(As(user).get(), ws, &created);
    ASSERT_TRUE(s.ok()) << s.error_message();
    s = CreateDistribution(workspace, "reg", url, user);
    ASSERT_TRUE(s.ok()) << s.error_message();
  };
  for (int i = 0; i < 5; ++i) {
    workspace_with_registry("mallory", absl::StrCat("mallory-", i), (*slow)->BaseUrl());
  }
  workspace_with_registry("pat", "pats", (*fast)->BaseUrl());
  auto test = [&](const std::string& user, const std::string& workspace) {
    v1::TestConnectionRequest req;
    req.set_name("workspaces/" + workspace + "/registries/reg");
    v1::TestConnectionResponse out;
    return stack_->stub().TestConnection(As(user).get(), req, &out).error_code();
  };

  // Mallory starts 2 tests in each of her 5 workspaces: 2 run, 8 are refused at once.
  ExpectTwoRunAndTheRestRefused(
      [&](int i) { return test("mallory", absl::StrCat("mallory-", i / 2)); }, 10, **slow,
      [&] {
        const absl::Time start = absl::Now();
        EXPECT_EQ(test("pat", "pats"), grpc::StatusCode::OK);
        EXPECT_LT(absl::Now() - start, absl::Seconds(3));
      });
}

}  // namespace
}  // namespace registryauth
