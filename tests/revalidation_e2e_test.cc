// Scheduled revalidation (services/revalidation.h) end to end: the real server over real gRPC
// and HTTP on a real PostgreSQL database, GitHub's API and ghcr.io played by local HTTP servers
// (--github_api_url, --ghcr_url), the server's fake clock standing in for the days between
// rounds, and rounds run through the server's own Revalidator (what its schedule runs).
//
//   APatThatStartsToFailTurnsInvalidOnTheNextRound
//       never-tested configs are tested on the first round and their expiry header stored; a
//       second round at once tests nothing; once GitHub refuses a PAT and a day passed, the
//       next round stores INVALID with one audit row (caller system:revalidation), the
//       unchanged config gets no row, and the gauges on /metrics move.
//   TwoReplicasNeverTestTheSameConfigTwice
//       two servers on one database run rounds at the same moment, twice: GitHub sees every PAT
//       exactly once per round.
//   TheOutboundPolicyAppliesToRevalidationToo
//       a tenant's config pointing at a loopback registry, with loopback not allowed, turns
//       INVALID (BLOCKED_BY_POLICY) on a round, and that registry never sees a request.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "server/config.h"
#include "server/server.h"
#include "services/revalidation.h"
#include "storage/testing/sql_probe.h"
#include "tests/support/http_client.h"
#include "tests/support/live_server.h"
#include "tests/support/test_stack.h"
#include "upstream/testing/fake_ghcr.h"
#include "upstream/testing/scripted_http_server.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;
using upstream::testing::ScriptedHttpServer;
using upstream::testing::ScriptedRequest;
using upstream::testing::ScriptedResponse;

constexpr char kLogin[] = "octo-bot";
constexpr char kRegistryToken[] = "ghcr-registry-token-abc";

// A classic PAT with write:packages, distinct per index.
std::string Pat(int i) { return absl::StrCat("ghp_revalidationPAT", 100000 + i, "abcdefghijklmn"); }

class RevalidationE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    auto github = ScriptedHttpServer::Start();
    ASSERT_TRUE(github.ok()) << github.status();
    github_ = *std::move(github);
    auto ghcr = ScriptedHttpServer::Start();
    ASSERT_TRUE(ghcr.ok()) << ghcr.status();
    ghcr_ = *std::move(ghcr);

    // GitHub's /user: every PAT of Pat() is good (counted) until revoked; PATs given an expiry
    // carry GitHub's expiration header.
    github_->Route("/user", [this](const ScriptedRequest& r) {
      const std::string auth = r.Header("authorization").value_or("");
      absl::MutexLock lock(&mu_);
      for (const auto& [pat, unused] : known_) {
        if (auth != absl::StrCat("Bearer ", pat)) continue;
        ++user_calls_[pat];
        if (revoked_.count(pat) > 0) {
          return ScriptedResponse{401, {}, R"({"message":"Bad credentials"})"};
        }
        ScriptedResponse ok{200,
                            {{"X-OAuth-Scopes", "repo, write:packages"}},
                            absl::StrCat(R"({"login":")", kLogin, R"("})"),
                            slow_ ? absl::Milliseconds(30) : absl::ZeroDuration()};
        if (auto e = expires_.find(pat); e != expires_.end()) {
          ok.headers.emplace_back(
              "github-authentication-token-expiration",
              absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", e->second, absl::UTCTimeZone()));
        }
        return ok;
      }
      return ScriptedResponse{401, {}, R"({"message":"Bad credentials"})"};
    });
    upstream::testing::RouteFakeGhcr(*ghcr_, kLogin, kRegistryToken,
                                     [this](const std::string& pat) {
                                       absl::MutexLock lock(&mu_);
                                       return known_.count(pat) > 0;
                                     });

    auto stack = testing::TestStack::Builder()
                     .WithWorkspace("acme")
                     .WithWorkspace("beta")
                     .WithFakeClock()
                     .Configure([&](server::ServerConfig& c) {
                       c.github_api_url = github_->BaseUrl();
                       c.ghcr_url = ghcr_->BaseUrl();
                       c.test_connection_timeout = absl::Seconds(10);
                       c.revalidate_interval = absl::Hours(24);
                     })
                     .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  void Create(const std::string& ws, const std::string& id, const std::string& pat) {
    {
      absl::MutexLock lock(&mu_);
      known_[pat] = true;
    }
    v1::CreateRegistryConfigRequest req;
    req.set_parent("workspaces/" + ws);
    req.set_registry_id(id);
    v1::RegistryConfig* c = req.mutable_registry_config();
    c->set_type(v1::GHCR);
    c->mutable_ghcr()->set_owner("acme-org");
    c->set_secret(pat);
    v1::RegistryConfig out;
    grpc::Status s = stack_->stub().CreateRegistryConfig(stack_->Ctx().get(), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  v1::RegistryConfig Stored(const std::string& ws, const std::string& id) {
    v1::GetRegistryConfigRequest req;
    req.set_name(absl::StrCat("workspaces/", ws, "/registries/", id));
    v1::RegistryConfig out;
    grpc::Status s = stack_->stub().GetRegistryConfig(stack_->Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // The audit rows scheduled revalidation wrote for `resource`: "detail" each, oldest first.
  std::vector<std::string> RevalidationRows(const std::string& resource) {
    absl::StatusOr<std::vector<std::string>> rows =
        testing::QueryColumn(stack_->dsn(),
                             "SELECT detail FROM audit_events WHERE caller = 'system:revalidation'"
                             " AND resource = $1 AND action = 'TestConnection' ORDER BY id",
                             {resource});
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<std::string>();
  }

  services::RevalidationRound Round(server::RegistryAuthServer& server) {
    services::Revalidator* revalidator = server.revalidator();
    EXPECT_NE(revalidator, nullptr);
    if (revalidator == nullptr) return {};
    absl::StatusOr<services::RevalidationRound> round = revalidator->RunRound();
    EXPECT_TRUE(round.ok()) << round.status();
    return round.ok() ? *round : services::RevalidationRound();
  }

  int UserCalls(const std::string& pat) {
    absl::MutexLock lock(&mu_);
    auto it = user_calls_.find(pat);
    return it == user_calls_.end() ? 0 : it->second;
  }

  std::string Metrics() {
    testing::HttpConnection http(stack_->server().metrics_port() > 0
                                     ? stack_->server().metrics_port()
                                     : stack_->http_port());
    EXPECT_TRUE(http.connected());
    testing::HttpReply r = http.Request("GET", "/metrics");
    EXPECT_EQ(r.status, 200);
    return r.body;
  }

  absl::Mutex mu_;
  std::map<std::string, bool> known_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> revoked_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> expires_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> user_calls_ ABSL_GUARDED_BY(mu_);
  bool slow_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<ScriptedHttpServer> github_;
  std::unique_ptr<ScriptedHttpServer> ghcr_;
  std::unique_ptr<testing::TestStack> stack_;
};

TEST_F(RevalidationE2eTest, APatThatStartsToFailTurnsInvalidOnTheNextRound) {
  const absl::Time expires =
      absl::FromUnixSeconds(absl::ToUnixSeconds(stack_->clock().Now() + absl::Hours(24 * 10)));
  {
    absl::MutexLock lock(&mu_);
    expires_[Pat(2)] = expires;
  }
  Create("acme", "gh", Pat(1));
  Create("beta", "expiring", Pat(2));
  EXPECT_EQ(Stored("acme", "gh").validation_status(), v1::PENDING);

  // Round 1: both were never validated.
  services::RevalidationRound first = Round(stack_->server());
  EXPECT_TRUE(first.ran);
  EXPECT_EQ(first.tested, 2);
  EXPECT_EQ(first.invalid, 0);
  EXPECT_EQ(Stored("acme", "gh").validation_status(), v1::VALID);
  v1::RegistryConfig expiring = Stored("beta", "expiring");
  EXPECT_EQ(expiring.validation_status(), v1::VALID);
  ASSERT_TRUE(expiring.has_credential_expire_time());
  EXPECT_EQ(expiring.credential_expire_time().seconds(), absl::ToUnixSeconds(expires));
  EXPECT_FALSE(Stored("acme", "gh").has_credential_expire_time());
  // PENDING -> VALID is a change: one row each.
  EXPECT_EQ(RevalidationRows("workspaces/acme/registries/gh"), std::vector<std::string>{"VALID"});
  EXPECT_EQ(RevalidationRows("workspaces/beta/registries/expiring").size(), 1u);
  std::string metrics = Metrics();
  EXPECT_TRUE(absl::StrContains(
      metrics, "registry_auth_credentials_expiring{type=\"ghcr\",window=\"14d\"} 1\n"))
      << metrics;
  EXPECT_TRUE(absl::StrContains(
      metrics, "registry_auth_credentials_expiring{type=\"ghcr\",window=\"3d\"} 0\n"));
  EXPECT_TRUE(absl::StrContains(metrics, "registry_auth_credentials_invalid{type=\"ghcr\"} 0\n"));

  // Round 2 at once: nothing is due; GitHub is not asked.
  const int calls = UserCalls(Pat(1));
  services::RevalidationRound second = Round(stack_->server());
  EXPECT_TRUE(second.ran);
  EXPECT_EQ(second.tested, 0);
  EXPECT_EQ(UserCalls(Pat(1)), calls);

  // GitHub stops accepting the first PAT; a day later the next round finds out.
  {
    absl::MutexLock lock(&mu_);
    revoked_.insert(Pat(1));
  }
  stack_->clock().Advance(absl::Hours(24 * 8));
  services::RevalidationRound third = Round(stack_->server());
  EXPECT_EQ(third.tested, 2);
  EXPECT_EQ(third.invalid, 1);
  v1::RegistryConfig gh = Stored("acme", "gh");
  EXPECT_EQ(gh.validation_status(), v1::INVALID);
  EXPECT_FALSE(gh.last_validation_error().empty());
  const std::vector<std::string> rows = RevalidationRows("workspaces/acme/registries/gh");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(absl::StartsWith(rows[1], "INVALID CREDENTIALS_REJECTED")) << rows[1];
  // The other one stayed VALID: validated again, no new row.
  EXPECT_EQ(RevalidationRows("workspaces/beta/registries/expiring").size(), 1u);
  EXPECT_EQ(Stored("beta", "expiring").validation_status(), v1::VALID);
  // Two days left on it now: in both windows; and one INVALID config.
  metrics = Metrics();
  EXPECT_TRUE(absl::StrContains(
      metrics, "registry_auth_credentials_expiring{type=\"ghcr\",window=\"3d\"} 1\n"))
      << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "registry_auth_credentials_invalid{type=\"ghcr\"} 1\n"));
  // Never a secret in the trail or the metrics.
  for (const std::string& row : rows) EXPECT_FALSE(absl::StrContains(row, Pat(1)));
  EXPECT_FALSE(absl::StrContains(metrics, Pat(1)));
}

TEST_F(RevalidationE2eTest, TwoReplicasNeverTestTheSameConfigTwice) {
  constexpr int kConfigs = 8;
  for (int i = 0; i < kConfigs; ++i) {
    Create(i % 2 == 0 ? "acme" : "beta", absl::StrCat("gh-", i), Pat(i));
  }
  {
    absl::MutexLock lock(&mu_);
    slow_ = true;  // each /user answer takes 30 ms, so the rounds overlap
  }
  absl::StatusOr<std::unique_ptr<testing::LiveServer>> replica = stack_->StartReplica();
  ASSERT_TRUE(replica.ok()) << replica.status();

  for (int pass = 1; pass <= 2; ++pass) {
    services::RevalidationRound a;
    services::RevalidationRound b;
    std::thread other([&] { b = Round((*replica)->server()); });
    a = Round(stack_->server());
    other.join();
    EXPECT_EQ(a.tested + b.tested, kConfigs) << "pass " << pass;
    EXPECT_TRUE(a.ran || b.ran);
    for (int i = 0; i < kConfigs; ++i) {
      EXPECT_EQ(UserCalls(Pat(i)), pass) << "PAT " << i << ", pass " << pass;
    }
    stack_->clock().Advance(absl::Hours(25));
  }
  EXPECT_EQ(Stored("beta", "gh-7").validation_status(), v1::VALID);
}

TEST_F(RevalidationE2eTest, TheOutboundPolicyAppliesToRevalidationToo) {
  auto internal = ScriptedHttpServer::Start();
  ASSERT_TRUE(internal.ok()) << internal.status();
  (*internal)->Route("/v2/", ScriptedResponse{200, {}, "{}"});
  // A server whose outbound policy allows no internal network (production's default).
  auto stack = testing::TestStack::Builder()
                   .WithWorkspace("acme")
                   .WithFakeClock()
                   .Configure([](server::ServerConfig& c) { c.upstream_allowed_networks.clear(); })
                   .Build();
  ASSERT_TRUE(stack.ok()) << stack.status();
  stack_ = *std::move(stack);
  v1::CreateRegistryConfigRequest req;
  req.set_parent("workspaces/acme");
  req.set_registry_id("internal");
  v1::RegistryConfig* c = req.mutable_registry_config();
  c->set_type(v1::GENERIC);
  c->mutable_generic()->set_url((*internal)->BaseUrl());
  c->mutable_generic()->set_username("probe");
  c->set_secret("internal-password-0123456789");
  v1::RegistryConfig out;
  grpc::Status s = stack_->stub().CreateRegistryConfig(stack_->Ctx().get(), req, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();

  services::RevalidationRound round = Round(stack_->server());
  EXPECT_EQ(round.tested, 1);
  EXPECT_EQ(round.invalid, 1);
  EXPECT_EQ(Stored("acme", "internal").validation_status(), v1::INVALID);
  const std::vector<std::string> rows = RevalidationRows("workspaces/acme/registries/internal");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(rows[0], "INVALID BLOCKED_BY_POLICY")) << rows[0];
  EXPECT_TRUE((*internal)->requests().empty());
}

}  // namespace
}  // namespace registryauth
