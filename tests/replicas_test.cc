// Scale-out (issue 6): three real registry-authd processes (the built binary, started as child
// processes) on loopback, sharing one fresh PostgreSQL database, one key ring file, one token
// signing-key set file and one caller policy (an API key), with the token realm on. The client
// round-robins across them: one gRPC channel per replica for the RPCs, HTTP for /token.
//
//   ConcurrentStartMigratesOnce      all three start at the same moment on an empty database:
//                                    all come up, every migration is applied exactly once.
//   PrincipalsWorkOnEveryReplica     a pull token minted on A is exchanged at /token on B and
//                                    the JWT verifies against the exported signing keys; a
//                                    service account created via A logs in on C; a refresh
//                                    token issued by B works on C and, revoked via A, is
//                                    refused on B and C.
//   RevokedPullTokenLeavesEveryCacheOnceTheTtlRan
//                                    a pull token revoked via A is refused by a replica that
//                                    had it cached once --token_cache_ttl ran (two in-process
//                                    servers on one fake clock: no sleep).
//   ThrottleIsSharedAcrossReplicas   failed logins spread round-robin trip the throttle (429,
//                                    Retry-After) on all three: first the (account, address)
//                                    pair's wrong answers, then the address itself.
//   SurvivesSigkillOfOneReplica      client threads mix GetCredentials, MintPullToken,
//                                    CreateRegistryConfig and /token round-robin; one replica is
//                                    SIGKILLed mid-load; clients drop it after a connection
//                                    failure; nothing the survivors accepted failed, nothing
//                                    acknowledged is lost, and the audit trail has exactly one
//                                    row per acknowledged GetCredentials.
//
// Each test gets its own database and its own three processes (the throttle test leaves the
// loopback address blocked). Needs PostgreSQL (REGAUTH_TEST_PG_DSN); fails without it when
// REGAUTH_REQUIRE_PG=1.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "realm/basic_auth.h"
#include "server/config.h"
#include "storage/migrations.h"
#include "storage/testing/pg_test_db.h"
#include "storage/testing/sql_probe.h"
#include "tests/support/http_client.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;

constexpr char kService[] = "registry.replicas.test";
constexpr char kIssuer[] = "registry-auth-replicas";
constexpr int kReplicas = 3;
constexpr const char* kReplicaNames[kReplicas] = {"A", "B", "C"};
// --token_cache_ttl for the replicas: how long one may reuse an account or pull-token row (and
// a clean throttle state) that another replica has since changed.
constexpr absl::Duration kCacheTtl = absl::Seconds(1);

// The daemon from the test's runfiles (data dependency //server:registry-authd).
std::string DaemonPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  if (srcdir == nullptr) return "server/registry-authd";
  return absl::StrCat(srcdir, "/registry_auth/server/registry-authd");
}

// The ErrorDetail packed into grpc-status-details-bin; empty if none.
v1::ErrorDetail DetailOf(const grpc::Status& status) {
  v1::RpcStatus rpc;
  v1::ErrorDetail detail;
  if (rpc.ParseFromString(status.error_details()) && rpc.details_size() > 0) {
    rpc.details(0).UnpackTo(&detail);
  }
  return detail;
}

// A connection-level failure: the channel could not reach the process (refused, reset, closed
// mid-call). Answers from the server itself (a database error is UNAVAILABLE too) carry the
// request id it echoes in the response metadata, and GetCredentials' also an ErrorDetail.
bool IsConnectionFailure(const grpc::Status& status, const grpc::ClientContext& ctx) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return false;
  if (!DetailOf(status).reason().empty()) return false;
  return ctx.GetServerInitialMetadata().count("x-request-id") == 0 &&
         ctx.GetServerTrailingMetadata().count("x-request-id") == 0;
}

struct Replica {
  std::string name;
  std::unique_ptr<testing::ChildProcess> process;
  std::string log_path;
  std::string bundle_path;  // --token_export_rootcertbundle
  int grpc_port = 0;
  int http_port = 0;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::RegistryAuthService::Stub> stub;
};

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    absl::StatusOr<std::unique_ptr<testing::PgTestDb>> db = testing::PgTestDb::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    absl::StatusOr<std::string> dir = testing::MakeTempDir("replicas");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;

    // One key ring, one signing-key set and one policy for all replicas, made with the
    // binary's own subcommands as an operator would.
    const std::vector<std::string> env = {"PATH=/usr/bin:/bin"};
    auto run = [&](const std::vector<std::string>& argv) {
      absl::StatusOr<testing::SubprocessResult> r =
          testing::RunSubprocess(argv, env, absl::Seconds(30));
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) return std::string();
      EXPECT_EQ(r->exit_code, 0) << absl::StrJoin(argv, " ") << "\n" << r->stderr_text;
      return r->stdout_text;
    };
    run({DaemonPath(), "keys", "generate", "--key_file=" + dir_ + "/keys.txt"});
    ASSERT_EQ(::mkdir((dir_ + "/signing").c_str(), 0700), 0);
    signing_keys_ = dir_ + "/signing/keys";
    run({DaemonPath(), "signing-keys", "generate", "--token_signing_keys=" + signing_keys_});
    const std::string apikey = run({DaemonPath(), "apikey"});
    std::vector<std::string> lines = absl::StrSplit(apikey, '\n', absl::SkipEmpty());
    ASSERT_EQ(lines.size(), 2u) << apikey;
    api_key_ = lines[0];
    ASSERT_TRUE(absl::StartsWith(api_key_, "rak_"));
    ASSERT_TRUE(testing::WriteFile(dir_ + "/policy.txt",
                                   absl::StrCat("caller replicas-test\n  ", lines[1],
                                                "\n  permissions credentials.read tokens.mint "
                                                "registries.manage\n"),
                                   0600)
                    .ok());

    // All three at once on the empty database: their migrations race for the advisory lock.
    for (int i = 0; i < kReplicas; ++i) {
      Replica& r = replicas_[i];
      r.name = kReplicaNames[i];
      r.log_path = absl::StrCat(dir_, "/authd-", r.name, ".log");
      r.bundle_path = absl::StrCat(dir_, "/rootcertbundle-", r.name, ".pem");
      const std::vector<std::string> argv = {
          DaemonPath(),
          "--grpc_listen=127.0.0.1:0",
          "--http_listen=127.0.0.1:0",
          "--key_file=" + dir_ + "/keys.txt",
          "--policy_file=" + dir_ + "/policy.txt",
          "--insecure_allow_unauthenticated=false",
          std::string("--token_service=") + kService,
          std::string("--token_issuer=") + kIssuer,
          "--token_signing_keys=" + signing_keys_,
          "--token_export_rootcertbundle=" + r.bundle_path,
          absl::StrCat("--registry_host=", kService, ":5000"),
          absl::StrCat("--token_cache_ttl=", absl::ToInt64Seconds(kCacheTtl), "s"),
          "--db_pool_size=4",
          "--shutdown_grace=1s",
          "--startup_timeout=30s",
          // Never the internet: nothing listens on port 9.
          "--github_api_url=http://127.0.0.1:9",
          "--ghcr_url=http://127.0.0.1:9",
      };
      absl::StatusOr<std::unique_ptr<testing::ChildProcess>> child = testing::ChildProcess::Spawn(
          argv, {"PATH=/usr/bin:/bin", "REGAUTH_DATABASE_URL=" + db_->dsn()}, r.log_path);
      ASSERT_TRUE(child.ok()) << child.status();
      r.process = *std::move(child);
    }
    for (Replica& r : replicas_) {
      ASSERT_NO_FATAL_FAILURE(WaitUntilListening(r));
      r.channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", r.grpc_port),
                                      grpc::InsecureChannelCredentials());
      r.stub = v1::RegistryAuthService::NewStub(r.channel);
    }
  }

  void TearDown() override {
    for (Replica& r : replicas_) {
      if (r.process) r.process->Stop(absl::Seconds(5));
    }
  }

  // Reads the replica's log until it names both ports (JSON lines from main.cc).
  void WaitUntilListening(Replica& r) {
    const absl::Time deadline = absl::Now() + absl::Seconds(45);
    while (absl::Now() < deadline) {
      absl::StatusOr<std::string> log = testing::ReadFile(r.log_path);
      if (log.ok()) {
        r.grpc_port = PortAfter(*log, "gRPC listening on 127.0.0.1:");
        r.http_port = PortAfter(*log, "HTTP listening on 127.0.0.1:");
        if (r.grpc_port > 0 && r.http_port > 0) return;
      }
      if (std::optional<std::string> exit = r.process->ExitDescription()) {
        FAIL() << "replica " << r.name << " ended (" << *exit << "):\n" << log.value_or("");
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "replica " << r.name << " did not start:\n"
           << testing::ReadFile(r.log_path).value_or("");
  }

  static int PortAfter(const std::string& log, const std::string& marker) {
    size_t at = log.find(marker);
    if (at == std::string::npos) return 0;
    at += marker.size();
    size_t end = at;
    while (end < log.size() && log[end] >= '0' && log[end] <= '9') ++end;
    int port = 0;
    return absl::SimpleAtoi(log.substr(at, end - at), &port) ? port : 0;
  }

  // A client context with the shared policy's API key, a request id and a 10 s deadline.
  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& request_id = "") const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx->AddMetadata("x-api-key", api_key_);
    if (!request_id.empty()) ctx->AddMetadata("x-request-id", request_id);
    return ctx;
  }

  v1::RegistryAuthService::Stub& Stub(int i) { return *replicas_[i].stub; }

  void CreateWorkspaceAndApp(int via) {
    v1::CreateWorkspaceRequest ws;
    ws.set_workspace_id("acme");
    v1::Workspace ws_out;
    grpc::Status s = Stub(via).CreateWorkspace(Ctx().get(), ws, &ws_out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::CreateAppRequest app;
    app.set_parent("workspaces/acme");
    app.set_app_id("web");
    v1::App app_out;
    s = Stub((via + 1) % kReplicas).CreateApp(Ctx().get(), app, &app_out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // A service account `acme+<id>` allowed to pull and push acme/*, created via replica `via`.
  std::pair<std::string, std::string> CreateServiceAccount(int via, const std::string& id) {
    v1::CreateServiceAccountRequest req;
    req.set_parent("workspaces/acme");
    req.set_service_account_id(id);
    v1::RepositoryGrant* g = req.mutable_service_account()->add_grants();
    g->set_repository("acme/*");
    g->add_actions("pull");
    g->add_actions("push");
    v1::ServiceAccountCredentials out;
    grpc::Status s = Stub(via).CreateServiceAccount(Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {out.username(), out.secret()};
  }

  static testing::HttpReply GetToken(int http_port, const std::string& user,
                                     const std::string& password, const std::string& scope,
                                     const std::string& extra = "") {
    testing::HttpConnection http(http_port);
    return http.Request("GET", absl::StrCat("/token?service=", kService, "&scope=", scope, extra),
                        "", {{"Authorization", realm::FormatBasicAuthorization(user, password)}});
  }

  static testing::HttpReply Refresh(int http_port, const std::string& refresh_token) {
    testing::HttpConnection http(http_port);
    return http.Request("POST", "/token",
                        absl::StrCat("grant_type=refresh_token&service=", kService,
                                     "&client_id=replicas&scope=repository%3Aacme%2Fweb%3Apull"
                                     "&refresh_token=",
                                     refresh_token),
                        {{"Content-Type", "application/x-www-form-urlencoded"}});
  }

  // Verifies a registry token against the certificates a replica exported
  // (--token_export_rootcertbundle, what the registry is configured with); its claims.
  absl::StatusOr<nlohmann::json> VerifyAgainstExport(const Replica& exporter,
                                                     const std::string& jwt) {
    absl::StatusOr<std::string> bundle = testing::ReadFile(exporter.bundle_path);
    if (!bundle.ok()) return bundle.status();
    std::vector<std::shared_ptr<const crypto::VerifyingKey>> keys;
    constexpr char kEnd[] = "-----END CERTIFICATE-----";
    for (absl::string_view part : absl::StrSplit(*bundle, kEnd, absl::SkipWhitespace())) {
      if (!absl::StrContains(part, "BEGIN CERTIFICATE")) continue;
      absl::StatusOr<std::unique_ptr<crypto::VerifyingKey>> key =
          crypto::VerifyingKey::FromCertificatePem(absl::StrCat(part, kEnd, "\n"));
      if (!key.ok()) return key.status();
      keys.push_back(*std::move(key));
    }
    if (keys.empty()) return absl::NotFoundError("no certificate in the exported bundle");
    crypto::VerifyingKeySet set(std::move(keys));
    absl::StatusOr<crypto::DecodedJwt> verified =
        crypto::VerifyJwtSignature(jwt, [&](std::string_view kid) { return set.Find(kid); });
    if (!verified.ok()) return verified.status();
    crypto::ClaimRequirements requirements;
    requirements.issuer = kIssuer;
    requirements.audience = kService;
    if (absl::Status s = crypto::ValidateClaims(verified->claims, requirements, absl::Now());
        !s.ok()) {
      return s;
    }
    return verified->claims;
  }

  std::unique_ptr<testing::PgTestDb> db_;
  std::string dir_;
  std::string signing_keys_;
  std::string api_key_;
  std::array<Replica, kReplicas> replicas_;
};

// a) Three replicas started at the same moment on an empty database all come up, and each
// migration was applied exactly once (pg_advisory_xact_lock serialises them).
TEST_F(ReplicasTest, ConcurrentStartMigratesOnce) {
  const std::vector<storage::Migration>& embedded = storage::EmbeddedMigrations();
  ASSERT_FALSE(embedded.empty());
  absl::StatusOr<testing::SqlRows> rows = testing::QueryRows(
      db_->dsn(), "SELECT version, checksum FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), embedded.size());
  for (size_t i = 0; i < embedded.size(); ++i) {
    int64_t version = 0;
    EXPECT_TRUE(absl::SimpleAtoi((*rows)[i][0], &version)) << (*rows)[i][0];
    EXPECT_EQ(version, embedded[i].version);
    EXPECT_EQ((*rows)[i][1], storage::MigrationChecksum(embedded[i].sql));
  }
  for (Replica& r : replicas_) {
    testing::HttpConnection http(r.http_port);
    testing::HttpReply ready = http.Request("GET", "/readyz");
    EXPECT_EQ(ready.status, 200) << r.name << ": " << ready.body;
    absl::StatusOr<std::string> log = testing::ReadFile(r.log_path);
    ASSERT_TRUE(log.ok());
    EXPECT_FALSE(absl::StrContains(*log, "\"level\":\"error\"")) << r.name << ":\n" << *log;
  }
  // Every replica answers with the same data: one write, three readers.
  CreateWorkspaceAndApp(0);
  for (int i = 0; i < kReplicas; ++i) {
    v1::GetAppRequest req;
    req.set_name("workspaces/acme/apps/web");
    v1::App out;
    grpc::Status s = Stub(i).GetApp(Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << kReplicaNames[i] << ": " << s.error_message();
  }
}

// b) Principals created on one replica work on the others, and tokens signed by one verify
// against the keys another exported.
TEST_F(ReplicasTest, PrincipalsWorkOnEveryReplica) {
  constexpr int A = 0, B = 1, C = 2;
  ASSERT_NO_FATAL_FAILURE(CreateWorkspaceAndApp(A));

  // A pull token minted on A, exchanged at /token on B; the JWT verifies against C's export.
  v1::MintPullTokenRequest mint;
  mint.set_app("workspaces/acme/apps/web");
  v1::MintPullTokenResponse pull;
  grpc::Status s = Stub(A).MintPullToken(Ctx().get(), mint, &pull);
  ASSERT_TRUE(s.ok()) << s.error_message();
  testing::HttpReply token = GetToken(replicas_[B].http_port, pull.username(), pull.password(),
                                      "repository:acme/web:pull,push");
  ASSERT_EQ(token.status, 200) << token.body;
  const std::string jwt = nlohmann::json::parse(token.body).value("token", "");
  for (const Replica& exporter : replicas_) {
    absl::StatusOr<nlohmann::json> claims = VerifyAgainstExport(exporter, jwt);
    ASSERT_TRUE(claims.ok()) << exporter.name << ": " << claims.status();
    EXPECT_EQ((*claims)["sub"], pull.username());
    EXPECT_EQ(
        (*claims)["access"],
        nlohmann::json::parse(R"([{"type":"repository","name":"acme/web","actions":["pull"]}])"));
  }

  // A service account created via A logs in on C.
  const auto [user, secret] = CreateServiceAccount(A, "builder");
  token = GetToken(replicas_[C].http_port, user, secret, "repository:acme/web:pull,push");
  ASSERT_EQ(token.status, 200) << token.body;
  absl::StatusOr<nlohmann::json> claims =
      VerifyAgainstExport(replicas_[A], nlohmann::json::parse(token.body).value("token", ""));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ((*claims)["sub"], user);
  EXPECT_EQ((*claims)["access"][0]["actions"], nlohmann::json({"pull", "push"}));

  // A refresh token issued by B works on C; revoked via A, B and C refuse it at once (refresh
  // tokens are read from the database on every use, nothing caches them).
  token = GetToken(replicas_[B].http_port, user, secret, "repository:acme/web:pull",
                   "&offline_token=true&client_id=replicas");
  ASSERT_EQ(token.status, 200) << token.body;
  const std::string refresh = nlohmann::json::parse(token.body).value("refresh_token", "");
  ASSERT_TRUE(absl::StartsWith(refresh, "rrt_")) << token.body;
  testing::HttpReply refreshed = Refresh(replicas_[C].http_port, refresh);
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_EQ(nlohmann::json::parse(refreshed.body).value("scope", ""), "repository:acme/web:pull");
  EXPECT_TRUE(
      VerifyAgainstExport(replicas_[B], nlohmann::json::parse(refreshed.body).value("token", ""))
          .ok());

  v1::ListRefreshTokensRequest list;
  list.set_parent("workspaces/acme");
  list.set_subject(user);
  v1::ListRefreshTokensResponse listed;
  s = Stub(A).ListRefreshTokens(Ctx().get(), list, &listed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(listed.refresh_tokens_size(), 1);
  v1::RevokeRefreshTokenRequest revoke;
  revoke.set_name(listed.refresh_tokens(0).name());
  v1::RefreshToken revoked;
  s = Stub(A).RevokeRefreshToken(Ctx().get(), revoke, &revoked);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(revoked.has_revoke_time());
  for (int i : {B, C}) {
    testing::HttpReply refused = Refresh(replicas_[i].http_port, refresh);
    EXPECT_EQ(refused.status, 401) << kReplicaNames[i] << ": " << refused.body;
  }
}

// b') A pull token B has just used (and cached), revoked via A: A refuses it at once, B once
// its cache entry is older than --token_cache_ttl. Two servers in this process on one
// database and one fake clock (tests/support/test_stack.h), so the cache lifetime passes by
// advancing the clock instead of sleeping; the child processes above run on the real clock.
TEST(InProcessReplicasTest, RevokedPullTokenLeavesEveryCacheOnceTheTtlRan) {
  REGAUTH_SKIP_WITHOUT_PG();
  absl::StatusOr<std::unique_ptr<testing::TestStack>> stack =
      testing::TestStack::Builder()
          .WithTokenRealm(kService, kIssuer)
          .WithWorkspace("acme")
          .WithApp("acme", "web")
          .WithFakeClock()
          .Configure([](server::ServerConfig& c) { c.token_cache_ttl = kCacheTtl; })
          .Build();
  ASSERT_TRUE(stack.ok()) << stack.status();
  testing::TestStack& a = **stack;
  absl::StatusOr<std::unique_ptr<testing::LiveServer>> b = a.StartReplica();
  ASSERT_TRUE(b.ok()) << b.status();
  auto get_token = [](int http_port, const v1::MintPullTokenResponse& pull) {
    testing::HttpConnection http(http_port);
    return http.Request(
        "GET", absl::StrCat("/token?service=", kService, "&scope=repository:acme/web:pull"), "",
        {{"Authorization", realm::FormatBasicAuthorization(pull.username(), pull.password())}});
  };

  v1::MintPullTokenRequest mint;
  mint.set_app("workspaces/acme/apps/web");
  v1::MintPullTokenResponse pull;
  grpc::Status s = a.stub().MintPullToken(a.Ctx().get(), mint, &pull);
  ASSERT_TRUE(s.ok()) << s.error_message();
  testing::HttpReply token = get_token((*b)->server().http_port(), pull);
  ASSERT_EQ(token.status, 200) << token.body;
  v1::RevokePullTokenRequest revoke_pull;
  revoke_pull.set_name(pull.name());
  v1::PullToken revoked_pull;
  s = a.stub().RevokePullToken(a.Ctx().get(), revoke_pull, &revoked_pull);
  ASSERT_TRUE(s.ok()) << s.error_message();
  token = get_token(a.http_port(), pull);
  EXPECT_EQ(token.status, 401) << token.body;
  a.clock().Advance(kCacheTtl + absl::Milliseconds(300));
  token = get_token((*b)->server().http_port(), pull);
  EXPECT_EQ(token.status, 401) << token.body;
}

// c) Failed logins spread round-robin across the replicas trip the throttle on all of them:
// 5 free failures, then a block of 1 s that doubles with every further failure (the throttle
// policy has no flags; these are its defaults). While blocked, even the right password gets
// 429 with Retry-After.
TEST_F(ReplicasTest, ThrottleIsSharedAcrossReplicas) {
  ASSERT_NO_FATAL_FAILURE(CreateWorkspaceAndApp(0));
  const auto [user, secret] = CreateServiceAccount(1, "guessed");
  const std::string scope = "repository:acme/web:pull";
  int next = 0;
  // The structured binding `user` is captured by an init-capture: C++17 lets a lambda name a
  // structured binding only that way (gcc accepts more; clang, hence clang-tidy, does not).
  auto fail_once = [&, &user = user]() {
    const int i = next++ % kReplicas;
    return std::make_pair(i, GetToken(replicas_[i].http_port, user, "ras_wrong", scope));
  };
  for (int n = 0; n < 5; ++n) {
    auto [i, reply] = fail_once();
    ASSERT_EQ(reply.status, 401) << "failure " << n + 1 << " on " << kReplicaNames[i] << ": "
                                 << reply.body;
  }
  // From the sixth on, the (account, address) pair is blocked, wherever the failure lands: every
  // replica answers the wrong password 429 (each failure is counted in the shared store first).
  for (int n = 5; n < 20; ++n) {
    auto [i, reply] = fail_once();
    ASSERT_EQ(reply.status, 429) << "failure " << n + 1 << " on " << kReplicaNames[i] << ": "
                                 << reply.body;
  }
  // The right secret is checked first: the pair's failures never refuse it (issue 15). The
  // address has 20 failures, its free allowance (4x the account's), so it is not blocked yet.
  for (int i = 0; i < kReplicas; ++i) {
    testing::HttpReply reply = GetToken(replicas_[i].http_port, user, secret, scope);
    EXPECT_EQ(reply.status, 200) << kReplicaNames[i] << ": " << reply.body;
  }
  // The next failure blocks the client's own address for 1 s (2 s, 4 s, ... for each one
  // after it). Every replica must refuse even the right password from it while it lasts. If this
  // machine is so slow that a block ends before all three were asked, fail once more (a longer
  // block) and ask again.
  bool all_blocked = false;
  for (int round = 0; round < 5 && !all_blocked; ++round) {
    auto [failed_on, failure] = fail_once();
    ASSERT_TRUE(failure.status == 401 || failure.status == 429)
        << kReplicaNames[failed_on] << ": " << failure.status << " " << failure.body;
    const absl::Time blocked_at = absl::Now();
    all_blocked = true;
    for (int i = 0; i < kReplicas; ++i) {
      testing::HttpReply reply = GetToken(replicas_[i].http_port, user, secret, scope);
      if (reply.status == 429) {
        int retry_after = 0;
        EXPECT_TRUE(absl::SimpleAtoi(reply.headers["retry-after"], &retry_after))
            << reply.headers["retry-after"];
        EXPECT_GE(retry_after, 1);
        EXPECT_TRUE(absl::StrContains(reply.body, "TOO_MANY_FAILED_LOGINS")) << reply.body;
        continue;
      }
      all_blocked = false;
      // Accepted only if the whole block (at least 1 s << round) had already passed.
      EXPECT_EQ(reply.status, 200) << kReplicaNames[i] << ": " << reply.body;
      EXPECT_GE(absl::Now() - blocked_at, absl::Seconds(1) * (1 << round))
          << kReplicaNames[i] << " accepted a login during the block";
      break;
    }
  }
  EXPECT_TRUE(all_blocked);
}

// d) Load across the three, one SIGKILLed mid-load.
TEST_F(ReplicasTest, SurvivesSigkillOfOneReplica) {
  constexpr int kVictim = 1;  // B
  constexpr int kThreads = 4;
  const absl::Duration kBeforeKill = absl::Milliseconds(1500);
  const absl::Duration kAfterKill = absl::Milliseconds(2500);
  ASSERT_NO_FATAL_FAILURE(CreateWorkspaceAndApp(0));
  const auto [sa_user, sa_secret] = CreateServiceAccount(2, "deployer");

  struct Config {
    std::string name;
    std::string secret;
  };
  auto create_config = [&](int via, const std::string& id, const std::string& secret,
                           grpc::ClientContext* ctx) {
    v1::CreateRegistryConfigRequest req;
    req.set_parent("workspaces/acme");
    req.set_registry_id(id);
    v1::RegistryConfig* c = req.mutable_registry_config();
    c->set_type(v1::GENERIC);
    c->mutable_generic()->set_url("https://canary.replicas.test");
    c->mutable_generic()->set_username("canary");
    c->set_secret(secret);
    v1::RegistryConfig out;
    return Stub(via).CreateRegistryConfig(ctx, req, &out);
  };
  // Configs that exist before the load, read by every thread.
  std::vector<Config> seeded;
  for (int i = 0; i < 3; ++i) {
    Config c{absl::StrCat("workspaces/acme/registries/seed-", i),
             absl::StrCat("canary-seed-", i, "-", absl::ToUnixNanos(absl::Now()))};
    grpc::Status s = create_config(i, absl::StrCat("seed-", i), c.secret, Ctx().get());
    ASSERT_TRUE(s.ok()) << s.error_message();
    seeded.push_back(c);
  }

  // What IsConnectionFailure relies on: the server's own errors carry its request id.
  {
    std::unique_ptr<grpc::ClientContext> ctx = Ctx("probe");
    v1::GetCredentialsRequest req;
    req.set_name("workspaces/acme/registries/missing");
    v1::GetCredentialsResponse out;
    grpc::Status s = Stub(0).GetCredentials(ctx.get(), req, &out);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
    ASSERT_FALSE(IsConnectionFailure(grpc::Status(grpc::StatusCode::UNAVAILABLE, "probe"), *ctx));
  }

  struct Outcome {
    int64_t ok = 0;
    int64_t ok_after_kill = 0;
  };
  std::mutex mu;
  std::vector<std::string> failures;       // anything but a connection failure to the victim
  std::vector<Config> created;             // acknowledged CreateRegistryConfig
  std::set<std::string> credentials_ok;    // request ids of acknowledged GetCredentials
  std::set<std::string> credentials_lost;  // GetCredentials that failed on the victim
  std::array<Outcome, kReplicas> per_replica{};
  int64_t victim_connection_failures = 0;
  std::map<std::string, int64_t> ok_by_kind;
  std::atomic<bool> stop{false};
  std::atomic<bool> killed{false};

  auto worker = [&, &sa_user = sa_user, &sa_secret = sa_secret](int t) {  // see fail_once above
    std::array<bool, kReplicas> dropped{};
    std::array<std::unique_ptr<testing::HttpConnection>, kReplicas> http;
    std::vector<Config> mine = seeded;
    std::optional<std::pair<std::string, std::string>> pull;  // last minted pull credential
    int rr = t;                                               // round-robin position
    for (int64_t n = 0; !stop.load(); ++n) {
      int i = -1;
      for (int k = 0; k < kReplicas && i < 0; ++k, ++rr) {
        if (!dropped[rr % kReplicas]) i = rr % kReplicas;
      }
      if (i < 0) {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back(absl::StrCat("thread ", t, ": every replica dropped"));
        return;
      }
      const bool after_kill = killed.load();
      const std::string request_id = absl::StrCat("load-", t, "-", n);
      std::string kind;
      bool ok = false;
      bool connection_failure = false;
      std::string error;
      Config made;
      switch (n % 4) {
        case 0: {  // CreateRegistryConfig with a canary secret
          kind = "CreateRegistryConfig";
          made = {absl::StrCat("workspaces/acme/registries/load-", t, "-", n),
                  absl::StrCat("canary-", t, "-", n, "-", absl::ToUnixNanos(absl::Now()))};
          std::unique_ptr<grpc::ClientContext> ctx = Ctx(request_id);
          grpc::Status s =
              create_config(i, absl::StrCat("load-", t, "-", n), made.secret, ctx.get());
          ok = s.ok();
          connection_failure = IsConnectionFailure(s, *ctx);
          error = s.error_message();
          break;
        }
        case 1: {  // GetCredentials of a config this thread knows, secret checked
          kind = "GetCredentials";
          const Config& c = mine[static_cast<size_t>(n / 4) % mine.size()];
          v1::GetCredentialsRequest req;
          req.set_name(c.name);
          v1::GetCredentialsResponse out;
          std::unique_ptr<grpc::ClientContext> ctx = Ctx(request_id);
          grpc::Status s = Stub(i).GetCredentials(ctx.get(), req, &out);
          ok = s.ok() && out.secret() == c.secret;
          connection_failure = IsConnectionFailure(s, *ctx);
          error = s.ok() ? "wrong secret for " + c.name : s.error_message();
          std::lock_guard<std::mutex> lock(mu);
          if (s.ok()) {
            credentials_ok.insert(request_id);
          } else if (i == kVictim) {
            credentials_lost.insert(request_id);
          }
          break;
        }
        case 2: {  // MintPullToken
          kind = "MintPullToken";
          v1::MintPullTokenRequest req;
          req.set_app("workspaces/acme/apps/web");
          v1::MintPullTokenResponse out;
          std::unique_ptr<grpc::ClientContext> ctx = Ctx(request_id);
          grpc::Status s = Stub(i).MintPullToken(ctx.get(), req, &out);
          ok = s.ok();
          connection_failure = IsConnectionFailure(s, *ctx);
          error = s.error_message();
          if (ok) pull = {out.username(), out.password()};
          break;
        }
        default: {  // /token with the pull token just minted on the replica before, or the SA
          kind = "/token";
          const bool use_pull = pull.has_value() && (n / 4) % 2 == 0;
          const std::string user = use_pull ? pull->first : sa_user;
          const std::string pass = use_pull ? pull->second : sa_secret;
          if (!http[i] || !http[i]->connected()) {
            http[i] = std::make_unique<testing::HttpConnection>(replicas_[i].http_port);
          }
          testing::HttpReply reply;
          if (http[i]->connected()) {
            reply = http[i]->Request(
                "GET", absl::StrCat("/token?service=", kService, "&scope=repository:acme/web:pull"),
                "", {{"Authorization", realm::FormatBasicAuthorization(user, pass)}});
          }
          connection_failure = !reply.ok;
          ok = reply.ok && reply.status == 200 && absl::StrContains(reply.body, "\"token\":");
          error = absl::StrCat("HTTP ", reply.status, " ", reply.body);
          if (!reply.ok || !reply.keep_alive) http[i].reset();
          break;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      if (ok) {
        ++per_replica[i].ok;
        if (after_kill) ++per_replica[i].ok_after_kill;
        ++ok_by_kind[kind];
        if (kind == "CreateRegistryConfig") {
          created.push_back(made);
          mine.push_back(made);
        }
      } else if (i == kVictim && killed.load() && connection_failure) {
        ++victim_connection_failures;
        dropped[i] = true;  // this client stops using the replica
      } else {
        failures.push_back(
            absl::StrCat(kind, " on ", kReplicaNames[i], " (", request_id, "): ", error));
      }
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  absl::SleepFor(kBeforeKill);
  killed.store(true);
  ASSERT_EQ(::kill(replicas_[kVictim].process->pid(), SIGKILL), 0);
  absl::SleepFor(kAfterKill);
  stop.store(true);
  for (std::thread& t : threads) t.join();
  replicas_[kVictim].process->Stop(absl::Seconds(1));  // reaps it
  EXPECT_EQ(replicas_[kVictim].process->ExitDescription().value_or(""), "signal 9");

  std::string summary = absl::StrCat("victim connection failures: ", victim_connection_failures);
  for (const auto& [kind, count] : ok_by_kind) absl::StrAppend(&summary, "; ", kind, " ok ", count);
  for (int i = 0; i < kReplicas; ++i) {
    absl::StrAppend(&summary, "; ", kReplicaNames[i], " ok ", per_replica[i].ok, " (after kill ",
                    per_replica[i].ok_after_kill, ")");
  }
  std::cout << "load: " << summary << std::endl;

  // Every request the survivors (and the victim before its death) accepted succeeded.
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, first ones:\n"
                                << absl::StrJoin(failures.begin(),
                                                 failures.begin() +
                                                     static_cast<std::ptrdiff_t>(
                                                         std::min<size_t>(failures.size(), 10)),
                                                 "\n");
  // Each client saw at most one connection failure before it dropped the victim.
  EXPECT_LE(victim_connection_failures, kThreads);
  // Requests kept succeeding on both survivors after the kill.
  for (int i = 0; i < kReplicas; ++i) {
    if (i == kVictim) continue;
    EXPECT_GE(per_replica[i].ok_after_kill, 20) << kReplicaNames[i];
  }
  for (const char* kind : {"CreateRegistryConfig", "GetCredentials", "MintPullToken", "/token"}) {
    EXPECT_GE(ok_by_kind[kind], 10) << kind;
  }

  // Nothing acknowledged is lost: every config created during the load reads back with its
  // secret from every surviving replica.
  ASSERT_FALSE(created.empty());
  int64_t verified = 0;
  for (const Config& c : created) {
    for (int i = 0; i < kReplicas; ++i) {
      if (i == kVictim) continue;
      v1::GetCredentialsRequest req;
      req.set_name(c.name);
      v1::GetCredentialsResponse out;
      grpc::Status s = Stub(i).GetCredentials(Ctx("verify").get(), req, &out);
      ASSERT_TRUE(s.ok()) << c.name << " on " << kReplicaNames[i] << ": " << s.error_message();
      ASSERT_EQ(out.secret(), c.secret) << c.name << " on " << kReplicaNames[i];
      ++verified;
    }
  }
  EXPECT_EQ(verified, 2 * static_cast<int64_t>(created.size()));

  // The audit trail: exactly one OK row per acknowledged GetCredentials; any other load row
  // belongs to a call the victim recorded but could not answer before it died.
  absl::StatusOr<testing::SqlRows> rows =
      testing::QueryRows(db_->dsn(),
                         "SELECT request_id, outcome FROM audit_events "
                         "WHERE action = 'GetCredentials' AND request_id LIKE 'load-%'");
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::map<std::string, int> seen;
  for (const std::vector<std::string>& row : *rows) {
    const std::string& id = row[0];
    ++seen[id];
    if (credentials_ok.count(id) > 0) {
      EXPECT_EQ(row[1], "OK") << id;
    }
  }
  int64_t unacknowledged = 0;
  for (const auto& [id, count] : seen) {
    EXPECT_EQ(count, 1) << id;
    if (credentials_ok.count(id) > 0) continue;
    ++unacknowledged;
    EXPECT_EQ(credentials_lost.count(id), 1u) << "audit row for a call nobody made: " << id;
  }
  for (const std::string& id : credentials_ok) {
    EXPECT_EQ(seen.count(id), 1u) << "no audit row for acknowledged GetCredentials " << id;
  }
  EXPECT_EQ(static_cast<int64_t>(rows->size()),
            static_cast<int64_t>(credentials_ok.size()) + unacknowledged);
  std::cout << "audit: " << rows->size() << " GetCredentials rows for " << credentials_ok.size()
            << " acknowledged calls (" << unacknowledged
            << " recorded by the victim without an answer); " << created.size()
            << " configs created under load, each read back from both survivors" << std::endl;

  // The survivors are still ready.
  for (int i = 0; i < kReplicas; ++i) {
    if (i == kVictim) continue;
    testing::HttpConnection http(replicas_[i].http_port);
    EXPECT_EQ(http.Request("GET", "/readyz").status, 200) << kReplicaNames[i];
  }
}

}  // namespace
}  // namespace registryauth
