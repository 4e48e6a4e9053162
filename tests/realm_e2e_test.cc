// End-to-end token realm: the real registry-authd stack (gRPC + the HTTP adapter's /token) on
// a real PostgreSQL, Debian's real docker-registry (Distribution 2.8) configured with our realm
// and the rootcertbundle the server exported, and Debian's skopeo as the client. Runs in both
// token header modes a Distribution 2.x registry accepts: `kid` (libtrust key id) and `x5c`.
//
// A service account pushes an image built by hand to <ws>/<app>; a MintPullToken credential
// pulls it back byte for byte; the same pull token cannot pull another app, another workspace,
// or push; revoked and expired pull tokens and a disabled service account are refused.
// The server runs on a fake clock (tests/support/test_stack.h): expiries and the realm's cache
// lifetime pass by advancing it, never by sleeping. The real registry checks the tokens' times
// against the real clock, with Distribution's leeway of a minute; the tests advance the fake
// clock by seconds only.
//
// Skips without PostgreSQL or the registry tools, unless REGAUTH_REQUIRE_PG=1 /
// REGAUTH_REQUIRE_REGISTRY=1 (./test.sh sets both).
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/secret.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "gateway/http_gateway.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "model/tokens.h"
#include "nlohmann/json.hpp"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "realm/basic_auth.h"
#include "server/config.h"
#include "server/server.h"
#include "tests/support/distribution_registry.h"
#include "tests/support/http_client.h"
#include "tests/support/live_server.h"
#include "tests/support/oci_image.h"
#include "tests/support/skopeo.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;
using testing::Ctx;
using testing::OciImage;
using testing::RegistryCredentials;
using testing::SkopeoCopyOptions;
using testing::SkopeoResult;

constexpr char kService[] = "registry.test";
constexpr char kIssuer[] = "registry-auth-e2e";

struct Mode {
  const char* name;
  const char* header;     // --token_header
  const char* kid_style;  // --token_kid_style
};

// Short, so that a public_pull change made through the API is seen quickly.
constexpr absl::Duration kCacheTtl = absl::Seconds(1);

class RealmE2eTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    REGAUTH_SKIP_WITHOUT_REGISTRY_TOOLS();
    // The signing key and its self-signed certificate are made as `registry-authd signing-keys
    // generate` makes them; the realm runs on a fake clock the tests advance.
    const Mode mode = GetParam();
    absl::StatusOr<std::unique_ptr<testing::TestStack>> stack =
        testing::TestStack::Builder()
            .WithTokenRealm(kService, kIssuer)
            .WithWorkspace("acme")
            .WithWorkspace("other")
            .WithApp("acme", "web")
            .WithApp("acme", "api")
            .WithApp("other", "web")
            .WithFakeClock()
            // By value: replicas (StartReplica) apply it again after SetUp has returned.
            .Configure([mode](server::ServerConfig& c) {
              c.token_header = mode.header;
              c.token_kid_style = mode.kid_style;
              c.token_cache_ttl = kCacheTtl;
            })
            .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    live_ = &stack_->live();
    stub_ = &stack_->stub();
    bundle_path_ = stack_->rootcertbundle_path();

    absl::StatusOr<std::string> bundle = testing::ReadFile(bundle_path_);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    ASSERT_TRUE(absl::StrContains(*bundle, "BEGIN CERTIFICATE"));
    testing::RegistryOptions options;
    options.token_auth = testing::TokenAuthConfig{
        absl::StrCat("http://127.0.0.1:", live_->server().http_port(), "/token"), kService, kIssuer,
        *bundle};
    absl::StatusOr<std::unique_ptr<testing::DistributionRegistry>> registry =
        testing::DistributionRegistry::Start(options);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);

    absl::StatusOr<std::unique_ptr<testing::Skopeo>> skopeo =
        testing::Skopeo::Create(absl::Seconds(60));
    ASSERT_TRUE(skopeo.ok()) << skopeo.status();
    skopeo_ = *std::move(skopeo);
  }

  RegistryCredentials CreateServiceAccount(const std::string& ws, const std::string& id,
                                           const std::string& pattern) {
    v1::CreateServiceAccountRequest req;
    req.set_parent("workspaces/" + ws);
    req.set_service_account_id(id);
    v1::RepositoryGrant* g = req.mutable_service_account()->add_grants();
    g->set_repository(pattern);
    g->add_actions("pull");
    g->add_actions("push");
    v1::ServiceAccountCredentials out;
    grpc::Status s = stub_->CreateServiceAccount(Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.username(), ws + "+" + id);
    return {out.username(), out.secret()};
  }

  // The account's uid, as `regauthctl service-accounts get` shows it.
  std::string UidOf(const std::string& ws, const std::string& id) {
    v1::GetServiceAccountRequest req;
    req.set_name(absl::StrCat("workspaces/", ws, "/serviceAccounts/", id));
    v1::ServiceAccount out;
    grpc::Status s = stub_->GetServiceAccount(Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.uid();
  }

  v1::MintPullTokenResponse Mint(const std::string& app, absl::Duration ttl) {
    v1::MintPullTokenRequest req;
    req.set_app(app);
    if (ttl > absl::ZeroDuration()) req.mutable_ttl()->set_seconds(absl::ToInt64Seconds(ttl));
    v1::MintPullTokenResponse out;
    grpc::Status s = stub_->MintPullToken(Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // Creates acme's configuration of the platform registry (a DISTRIBUTION config on the
  // realm's registry_host, namespace acme) and returns its request, for variations.
  v1::CreateRegistryConfigRequest CreatePlatformConfig() {
    v1::CreateRegistryConfigRequest create;
    create.set_parent("workspaces/acme");
    create.set_registry_id("platform");
    v1::RegistryConfig* config = create.mutable_registry_config();
    config->set_type(v1::DISTRIBUTION);
    config->mutable_distribution()->set_url("https://registry.test:5000");
    config->mutable_distribution()->set_repository_namespace("acme");
    v1::RegistryConfig created;
    grpc::Status s = stub_->CreateRegistryConfig(Ctx().get(), create, &created);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return create;
  }

  OciImage Build(const std::string& seed) {
    absl::StatusOr<std::string> dir = testing::MakeTempDir("layouts");
    EXPECT_TRUE(dir.ok());
    testing::OciImageSpec spec;
    spec.seed = seed;
    spec.tag = "v1";
    absl::StatusOr<OciImage> image = testing::WriteOciImage(*dir + "/" + seed, spec);
    EXPECT_TRUE(image.ok()) << image.status();
    return image.ok() ? *std::move(image) : OciImage();
  }

  SkopeoResult Push(const OciImage& image, const std::string& repo,
                    const RegistryCredentials& creds) {
    SkopeoCopyOptions o;
    o.dest_creds = creds;
    return skopeo_->Copy(image.Reference(), registry_->Reference(repo, image.tag), o);
  }

  // Pulls repo:v1 into a fresh layout; the image on success.
  absl::StatusOr<OciImage> Pull(const std::string& repo, const RegistryCredentials& creds,
                                SkopeoResult* result) {
    absl::StatusOr<std::string> dir = testing::MakeTempDir("pulled");
    if (!dir.ok()) return dir.status();
    SkopeoCopyOptions o;
    o.src_creds = creds;
    *result = skopeo_->Copy(registry_->Reference(repo, "v1"), absl::StrCat("oci:", *dir, ":v1"), o);
    if (!result->ok()) return absl::PermissionDeniedError(result->Describe());
    return testing::ReadOciImage(*dir, "v1");
  }

  void ExpectRefused(const SkopeoResult& r) {
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.refused()) << r.Describe() << "\nregistry log tail:\n"
                             << registry_->Logs().substr(registry_->Logs().size() > 3000
                                                             ? registry_->Logs().size() - 3000
                                                             : 0);
  }

  std::unique_ptr<testing::TestStack> stack_;
  std::string bundle_path_;
  testing::LiveServer* live_ = nullptr;
  v1::RegistryAuthService::Stub* stub_ = nullptr;
  std::unique_ptr<testing::DistributionRegistry> registry_;
  std::unique_ptr<testing::Skopeo> skopeo_;
};

TEST_P(RealmE2eTest, PushWithServiceAccountPullWithPullTokenAndNothingMore) {
  const RegistryCredentials builder = CreateServiceAccount("acme", "builder", "acme/*");
  const RegistryCredentials other_builder = CreateServiceAccount("other", "builder", "other/*");

  const OciImage web = Build("acme-web");
  const OciImage api = Build("acme-api");
  const OciImage other = Build("other-web");
  SkopeoResult r = Push(web, "acme/web", builder);
  ASSERT_TRUE(r.ok()) << r.Describe() << "\nregistry log:\n" << registry_->Logs();
  ASSERT_TRUE(Push(api, "acme/api", builder).ok());
  ASSERT_TRUE(Push(other, "other/web", other_builder).ok());
  // The workspace boundary holds for service accounts too.
  ExpectRefused(Push(web, "other/web", builder));

  // A deployment's pull token pulls acme/web back, byte for byte.
  const v1::MintPullTokenResponse minted = Mint("workspaces/acme/apps/web", absl::ZeroDuration());
  EXPECT_EQ(minted.registry(), "registry.test:5000");
  const RegistryCredentials pull{minted.username(), minted.password()};
  absl::StatusOr<OciImage> pulled = Pull("acme/web", pull, &r);
  ASSERT_TRUE(pulled.ok()) << pulled.status() << "\nregistry log:\n" << registry_->Logs();
  EXPECT_EQ(testing::DescribeOciDifference(web, *pulled), "");
  EXPECT_EQ(pulled->manifest.digest, web.manifest.digest);

  // ... and nothing else: another app, another workspace, a push.
  EXPECT_FALSE(Pull("acme/api", pull, &r).ok());
  ExpectRefused(r);
  EXPECT_FALSE(Pull("other/web", pull, &r).ok());
  ExpectRefused(r);
  const OciImage evil = Build("evil");
  ExpectRefused(Push(evil, "acme/web", pull));

  // Revoked: refused at the realm.
  v1::RevokePullTokenRequest revoke;
  revoke.set_name(minted.name());
  v1::PullToken revoked;
  ASSERT_TRUE(stub_->RevokePullToken(Ctx().get(), revoke, &revoked).ok());
  EXPECT_TRUE(revoked.has_revoke_time());
  EXPECT_FALSE(Pull("acme/web", pull, &r).ok());
  ExpectRefused(r);

  // Expired: a 1 s token works, then stops working.
  const v1::MintPullTokenResponse short_lived = Mint("workspaces/acme/apps/web", absl::Seconds(1));
  const RegistryCredentials brief{short_lived.username(), short_lived.password()};
  const absl::Time expiry = absl::FromUnixSeconds(short_lived.expire_time().seconds());
  stack_->clock().Advance(std::max(absl::ZeroDuration(), expiry - stack_->clock().Now()) +
                          absl::Milliseconds(1100));
  EXPECT_FALSE(Pull("acme/web", brief, &r).ok());
  ExpectRefused(r);

  // A disabled service account is refused; enabled again, it works again.
  v1::UpdateServiceAccountRequest disable;
  disable.mutable_service_account()->set_name("workspaces/acme/serviceAccounts/builder");
  disable.mutable_service_account()->set_disabled(true);
  disable.mutable_update_mask()->add_paths("disabled");
  v1::ServiceAccount updated;
  ASSERT_TRUE(stub_->UpdateServiceAccount(Ctx().get(), disable, &updated).ok());
  EXPECT_TRUE(updated.disabled());
  ExpectRefused(Push(api, "acme/api", builder));
  EXPECT_FALSE(Pull("acme/web", builder, &r).ok());
  ExpectRefused(r);
  disable.mutable_service_account()->set_disabled(false);
  ASSERT_TRUE(stub_->UpdateServiceAccount(Ctx().get(), disable, &updated).ok());
  EXPECT_TRUE(Pull("acme/web", builder, &r).ok()) << r.Describe();
}

// GetCredentials of a DISTRIBUTION configuration on the platform registry (the realm's
// registry_host): no stored secret; a freshly minted push+pull credential for the workspace's
// namespace, which the real registry accepts through the realm, for that namespace only.
TEST_P(RealmE2eTest, GetCredentialsMintsAWorkspaceCredentialForThePlatformRegistry) {
  const v1::CreateRegistryConfigRequest create = CreatePlatformConfig();
  ASSERT_FALSE(HasFailure());
  v1::RegistryConfig created;
  grpc::Status s;

  v1::GetCredentialsRequest get;
  get.set_name("workspaces/acme/registries/platform");
  v1::GetCredentialsResponse creds;
  s = stub_->GetCredentials(Ctx().get(), get, &creds);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(creds.registry_host(), "registry.test:5000");
  EXPECT_EQ(creds.repository_namespace(), "acme");
  EXPECT_TRUE(absl::StartsWith(creds.username(), "build+")) << creds.username();
  ASSERT_TRUE(creds.has_expire_time());
  EXPECT_GT(creds.expire_time().seconds(), absl::ToUnixSeconds(absl::Now() + absl::Minutes(50)));
  const RegistryCredentials minted{creds.username(), creds.secret()};

  // Push and pull back inside the workspace, byte for byte; nothing in another workspace.
  const OciImage image = Build("minted-push");
  SkopeoResult r = Push(image, "acme/web", minted);
  ASSERT_TRUE(r.ok()) << r.Describe() << "\nregistry log:\n" << registry_->Logs();
  absl::StatusOr<OciImage> pulled = Pull("acme/web", minted, &r);
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(testing::DescribeOciDifference(image, *pulled), "");
  ExpectRefused(Push(image, "other/web", minted));

  // The same configuration read back carries no secret, and another config of the same type
  // on a different registry still needs its own stored credential.
  v1::CreateRegistryConfigRequest elsewhere = create;
  elsewhere.set_registry_id("elsewhere");
  elsewhere.mutable_registry_config()->mutable_distribution()->set_url("https://other.test");
  ASSERT_TRUE(stub_->CreateRegistryConfig(Ctx().get(), elsewhere, &created).ok());
  get.set_name("workspaces/acme/registries/elsewhere");
  s = stub_->GetCredentials(Ctx().get(), get, &creds);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
}

// Issue 19: GetCredentials with a narrowing gives a build push+pull on its own repository only.
// The real registry accepts a credential narrowed to acme/web for acme/web and refuses it
// acme/api; the audit row says how it was narrowed; a narrowing that would widen, leave the
// workspace or outlive the default is refused, and so is one for a stored secret.
TEST_P(RealmE2eTest, ANarrowedBuildCredentialPushesItsRepositoryOnly) {
  const v1::CreateRegistryConfigRequest create = CreatePlatformConfig();
  ASSERT_FALSE(HasFailure());
  v1::RegistryConfig created;
  grpc::Status s;

  v1::GetCredentialsRequest get;
  get.set_name("workspaces/acme/registries/platform");
  get.mutable_narrowing()->add_repositories("acme/web");
  get.mutable_narrowing()->mutable_ttl()->set_seconds(900);
  v1::GetCredentialsResponse creds;
  std::unique_ptr<grpc::ClientContext> ctx = Ctx();
  ctx->AddMetadata("x-request-id", "narrowed-get-credentials");
  s = stub_->GetCredentials(ctx.get(), get, &creds);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(absl::StartsWith(creds.username(), "build+")) << creds.username();
  ASSERT_TRUE(creds.has_expire_time());
  EXPECT_EQ(creds.expire_time().seconds(),
            absl::ToUnixSeconds(stack_->clock().Now() + absl::Seconds(900)));
  const RegistryCredentials narrowed{creds.username(), creds.secret()};

  const OciImage image = Build("narrowed-push");
  SkopeoResult r = Push(image, "acme/web", narrowed);
  ASSERT_TRUE(r.ok()) << r.Describe() << "\nregistry log:\n" << registry_->Logs();
  absl::StatusOr<OciImage> pulled = Pull("acme/web", narrowed, &r);
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(testing::DescribeOciDifference(image, *pulled), "");
  ExpectRefused(Push(image, "acme/api", narrowed));
  ExpectRefused(Push(image, "acme/web/sub", narrowed));
  ExpectRefused(Push(image, "other/web", narrowed));
  // An un-narrowed credential of the same workspace pushes acme/api, so the refusal above is
  // the narrowing's.
  get.clear_narrowing();
  ASSERT_TRUE(stub_->GetCredentials(Ctx().get(), get, &creds).ok());
  r = Push(image, "acme/api", {creds.username(), creds.secret()});
  EXPECT_TRUE(r.ok()) << r.Describe();

  // The audit row records the narrowing (and never the secret).
  v1::ListAuditEventsRequest list;
  list.set_resource("workspaces/acme/registries/platform");
  v1::ListAuditEventsResponse events;
  ASSERT_TRUE(stub_->ListAuditEvents(Ctx().get(), list, &events).ok());
  bool found = false;
  for (const v1::AuditEvent& e : events.audit_events()) {
    if (e.request_id() != "narrowed-get-credentials") continue;
    found = true;
    EXPECT_EQ(e.action(), "GetCredentials");
    EXPECT_EQ(e.detail(), "narrowed: repositories=acme/web ttl=15m");
    EXPECT_FALSE(absl::StrContains(e.detail(), narrowed.password));
  }
  EXPECT_TRUE(found);

  // Refused: outside the workspace, malformed, longer than the default, for a stored secret.
  struct Bad {
    const char* repository;
    int64_t ttl_seconds;
    const char* registry;
  };
  for (const Bad& bad :
       {Bad{"other/web", 0, "platform"}, Bad{"acme", 0, "platform"}, Bad{"*", 0, "platform"},
        Bad{"acme/web", 7200, "platform"}, Bad{"acme/web", -1, "platform"}}) {
    v1::GetCredentialsRequest req;
    req.set_name(absl::StrCat("workspaces/acme/registries/", bad.registry));
    req.mutable_narrowing()->add_repositories(bad.repository);
    if (bad.ttl_seconds != 0) req.mutable_narrowing()->mutable_ttl()->set_seconds(bad.ttl_seconds);
    v1::GetCredentialsResponse out;
    s = stub_->GetCredentials(Ctx().get(), req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << bad.repository << " " << bad.ttl_seconds << ": " << s.error_message();
    EXPECT_TRUE(out.secret().empty());
  }
  v1::CreateRegistryConfigRequest elsewhere = create;
  elsewhere.set_registry_id("elsewhere");
  elsewhere.mutable_registry_config()->mutable_distribution()->set_url("https://other.test");
  elsewhere.mutable_registry_config()->mutable_distribution()->set_username("svc");
  elsewhere.mutable_registry_config()->set_secret("stored-secret");
  s = stub_->CreateRegistryConfig(Ctx().get(), elsewhere, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::GetCredentialsRequest stored;
  stored.set_name("workspaces/acme/registries/elsewhere");
  v1::GetCredentialsResponse out;
  ASSERT_TRUE(stub_->GetCredentials(Ctx().get(), stored, &out).ok());
  EXPECT_EQ(out.secret(), "stored-secret");
  stored.mutable_narrowing()->add_repositories("acme/web");
  out.Clear();
  s = stub_->GetCredentials(Ctx().get(), stored, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_TRUE(out.secret().empty());
}

// Public repositories: anonymous clients pull an app marked public_pull (and only pull it);
// turning it off takes their access away again.
TEST_P(RealmE2eTest, AnonymousPullOfPublicAppsOnly) {
  const RegistryCredentials builder = CreateServiceAccount("acme", "builder", "acme/*");
  const OciImage web = Build("public-web");
  ASSERT_TRUE(Push(web, "acme/web", builder).ok());
  ASSERT_TRUE(Push(Build("private-api"), "acme/api", builder).ok());

  auto pull_anonymously = [&](const std::string& repo) -> absl::StatusOr<OciImage> {
    absl::StatusOr<std::string> dir = testing::MakeTempDir("anonymous");
    if (!dir.ok()) return dir.status();
    SkopeoResult r =
        skopeo_->Copy(registry_->Reference(repo, "v1"), absl::StrCat("oci:", *dir, ":v1"));
    if (!r.ok()) {
      EXPECT_TRUE(r.refused()) << r.Describe();
      return absl::PermissionDeniedError(r.Describe());
    }
    return testing::ReadOciImage(*dir, "v1");
  };
  auto set_public = [&](bool on) {
    v1::UpdateAppRequest req;
    req.mutable_app()->set_name("workspaces/acme/apps/web");
    req.mutable_app()->set_public_pull(on);
    req.mutable_update_mask()->add_paths("public_pull");
    v1::App out;
    grpc::Status s = stub_->UpdateApp(Ctx().get(), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.public_pull(), on);
    stack_->clock().Advance(kCacheTtl + absl::Milliseconds(200));  // the cached answer expires
  };

  EXPECT_FALSE(pull_anonymously("acme/web").ok());
  set_public(true);
  absl::StatusOr<OciImage> pulled = pull_anonymously("acme/web");
  ASSERT_TRUE(pulled.ok()) << pulled.status() << "\nregistry log:\n" << registry_->Logs();
  EXPECT_EQ(testing::DescribeOciDifference(web, *pulled), "");
  // Only that app, and only pull.
  EXPECT_FALSE(pull_anonymously("acme/api").ok());
  SkopeoCopyOptions anonymous_push;
  const OciImage evil = Build("evil-public");
  ExpectRefused(
      skopeo_->Copy(evil.Reference(), registry_->Reference("acme/web", evil.tag), anonymous_push));
  // Another workspace's pull token may pull the public app as well.
  const v1::MintPullTokenResponse other = Mint("workspaces/other/apps/web", absl::ZeroDuration());
  SkopeoResult r;
  EXPECT_TRUE(Pull("acme/web", {other.username(), other.password()}, &r).ok()) << r.Describe();

  set_public(false);
  EXPECT_FALSE(pull_anonymously("acme/web").ok());
}

// The /token endpoint itself over real HTTP: the token response a registry client reads, the
// 401 with a challenge, the 400 for an unknown service.
// TestConnection of a DISTRIBUTION config against the real registry and this service's own
// realm: the registry's 401 challenge, the realm with the service account's Basic credentials,
// the registry again with the token.
TEST_P(RealmE2eTest, TestConnectionAgainstTheRealRegistry) {
  const RegistryCredentials builder = CreateServiceAccount("acme", "builder", "acme/*");
  auto create = [&](const std::string& id, const std::string& secret) {
    v1::CreateRegistryConfigRequest req;
    req.set_parent("workspaces/acme");
    req.set_registry_id(id);
    v1::RegistryConfig* c = req.mutable_registry_config();
    c->set_type(v1::DISTRIBUTION);
    c->mutable_distribution()->set_url(registry_->BaseUrl());
    c->mutable_distribution()->set_repository_namespace("acme");
    c->mutable_distribution()->set_username(builder.username);
    c->set_secret(secret);
    v1::RegistryConfig out;
    grpc::Status s = stub_->CreateRegistryConfig(Ctx().get(), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.validation_status(), v1::PENDING);
  };
  auto test = [&](const std::string& id, v1::TestConnectionResponse* out) {
    v1::TestConnectionRequest req;
    req.set_name("workspaces/acme/registries/" + id);
    std::unique_ptr<grpc::ClientContext> ctx = Ctx();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub_->TestConnection(ctx.get(), req, out);
  };
  auto stored = [&](const std::string& id) {
    v1::GetRegistryConfigRequest req;
    req.set_name("workspaces/acme/registries/" + id);
    v1::RegistryConfig out;
    EXPECT_TRUE(stub_->GetRegistryConfig(Ctx().get(), req, &out).ok());
    return out;
  };
  create("good", builder.password);
  create("bad", "ras_" + std::string(43, 'x'));

  v1::TestConnectionResponse good;
  grpc::Status s = test("good", &good);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(good.result(), v1::VALID) << good.DebugString();
  ASSERT_EQ(good.steps_size(), 3) << good.DebugString();
  EXPECT_EQ(good.steps(0).name(), "ping");
  EXPECT_EQ(good.steps(1).name(), "token");
  EXPECT_EQ(good.steps(2).name(), "authenticate");
  for (const auto& step : good.steps()) EXPECT_TRUE(step.ok()) << step.DebugString();
  EXPECT_TRUE(good.credentials_verified());
  EXPECT_TRUE(good.recorded());
  EXPECT_FALSE(good.has_error());
  v1::RegistryConfig good_row = stored("good");
  EXPECT_EQ(good_row.validation_status(), v1::VALID);
  EXPECT_TRUE(good_row.has_validated_at());
  EXPECT_EQ(good_row.last_validation_error(), "");

  v1::TestConnectionResponse bad;
  s = test("bad", &bad);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(bad.result(), v1::INVALID) << bad.DebugString();
  ASSERT_EQ(bad.steps_size(), 2) << bad.DebugString();
  EXPECT_TRUE(bad.steps(0).ok());  // the registry answered with its challenge
  EXPECT_EQ(bad.steps(1).name(), "token");
  EXPECT_FALSE(bad.steps(1).ok());  // our realm refused the secret
  EXPECT_EQ(bad.error().category(), v1::ErrorDetail::AUTHENTICATION);
  EXPECT_EQ(bad.error().reason(), "CREDENTIALS_REJECTED");
  EXPECT_FALSE(bad.error().retryable());
  v1::RegistryConfig bad_row = stored("bad");
  EXPECT_EQ(bad_row.validation_status(), v1::INVALID);
  EXPECT_TRUE(absl::StartsWith(bad_row.last_validation_error(), "token: "))
      << bad_row.last_validation_error();
  // Neither secret is anywhere in what came back or was stored.
  for (const std::string& text :
       {good.DebugString(), bad.DebugString(), good_row.DebugString(), bad_row.DebugString()}) {
    EXPECT_FALSE(absl::StrContains(text, builder.password));
    EXPECT_FALSE(absl::StrContains(text, std::string(43, 'x')));
  }

  // The registry gone: NETWORK, retryable, and the config says INVALID.
  registry_.reset();
  v1::TestConnectionResponse down;
  s = test("good", &down);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(down.result(), v1::INVALID);
  EXPECT_EQ(down.error().category(), v1::ErrorDetail::NETWORK) << down.DebugString();
  EXPECT_TRUE(down.error().retryable());
  EXPECT_EQ(stored("good").validation_status(), v1::INVALID);
}

// `registry:catalog:*` only for the accounts of --token_catalog_accounts (each named with its
// uid, served here by a replica started with the setting): the real registry lists its
// repositories to them and refuses everyone else, including an account re-created under the
// same name and one of a workspace deleted and re-created by someone else.
TEST_P(RealmE2eTest, CatalogOnlyForConfiguredAccounts) {
  const RegistryCredentials builder = CreateServiceAccount("acme", "builder", "acme/*");
  const RegistryCredentials ops = CreateServiceAccount("acme", "ops", "acme/*");
  const std::string ops_uid = UidOf("acme", "ops");
  ASSERT_TRUE(IsUid(ops_uid)) << ops_uid;
  absl::StatusOr<std::unique_ptr<testing::LiveServer>> replica =
      stack_->StartReplica([&](server::ServerConfig& c) {
        c.token_catalog_accounts = {{"acme+ops", ops_uid}};
      });
  ASSERT_TRUE(replica.ok()) << replica.status();
  SkopeoResult pushed = Push(Build("catalog"), "acme/web", builder);
  ASSERT_TRUE(pushed.ok()) << pushed.Describe();

  auto catalog_as = [&](const RegistryCredentials& who) {
    testing::HttpConnection realm((*replica)->server().http_port());
    testing::HttpReply token = realm.Request(
        "GET", absl::StrCat("/token?service=", kService, "&scope=registry:catalog:*"), "",
        {{"Authorization", realm::FormatBasicAuthorization(who.username, who.password)}});
    EXPECT_EQ(token.status, 200) << token.body;
    const std::string bearer = nlohmann::json::parse(token.body, nullptr, false).value("token", "");
    testing::HttpConnection registry(registry_->port());
    return registry.Request("GET", "/v2/_catalog", "", {{"Authorization", "Bearer " + bearer}});
  };
  testing::HttpReply listed = catalog_as(ops);
  EXPECT_EQ(listed.status, 200) << listed.body;
  EXPECT_TRUE(absl::StrContains(listed.body, "\"acme/web\"")) << listed.body;
  testing::HttpReply refused = catalog_as(builder);
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_FALSE(absl::StrContains(refused.body, "acme/web"));

  // The same name, another account: deleted and re-created by the workspace's admin.
  v1::DeleteServiceAccountRequest del;
  del.set_name("workspaces/acme/serviceAccounts/ops");
  google::protobuf::Empty empty;
  ASSERT_TRUE(stub_->DeleteServiceAccount(Ctx().get(), del, &empty).ok());
  const RegistryCredentials again = CreateServiceAccount("acme", "ops", "acme/*");
  EXPECT_NE(UidOf("acme", "ops"), ops_uid);
  stack_->clock().Advance(kCacheTtl + absl::Milliseconds(200));  // the replica's cache expires
  refused = catalog_as(again);
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_FALSE(absl::StrContains(refused.body, "acme/web"));

  // The workspace deleted with everything in it, re-created under the same id by someone else,
  // with an `ops` account of its own.
  v1::DeleteWorkspaceRequest drop;
  drop.set_name("workspaces/acme");
  drop.set_force(true);
  grpc::Status dropped = stub_->DeleteWorkspace(Ctx().get(), drop, &empty);
  ASSERT_TRUE(dropped.ok()) << dropped.error_message();
  v1::CreateWorkspaceRequest create;
  create.set_workspace_id("acme");
  v1::Workspace created;
  grpc::Status recreated = stub_->CreateWorkspace(Ctx().get(), create, &created);
  ASSERT_TRUE(recreated.ok()) << recreated.error_message();
  const RegistryCredentials squatter = CreateServiceAccount("acme", "ops", "acme/*");
  stack_->clock().Advance(kCacheTtl + absl::Milliseconds(200));
  refused = catalog_as(squatter);
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_FALSE(absl::StrContains(refused.body, "acme/web"));
}

TEST_P(RealmE2eTest, TokenEndpointAnswersLikeADockerRealm) {
  const RegistryCredentials builder = CreateServiceAccount("acme", "builder", "acme/*");
  testing::HttpConnection http(live_->server().http_port());
  ASSERT_TRUE(http.connected());
  const std::string basic = realm::FormatBasicAuthorization(builder.username, builder.password);
  testing::HttpReply ok = http.Request(
      "GET",
      absl::StrCat("/token?service=", kService,
                   "&scope=repository:acme/web:pull,push&scope=repository:other/web:pull"
                   "&offline_token=true&client_id=e2e"),
      "", {{"Authorization", basic}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.headers["cache-control"], "no-store");
  nlohmann::json body = nlohmann::json::parse(ok.body);
  EXPECT_EQ(body["token"], body["access_token"]);
  EXPECT_TRUE(body["expires_in"].is_number_integer());
  EXPECT_GE(body["expires_in"].get<int64_t>(), 60);
  EXPECT_TRUE(body["issued_at"].is_string());
  ASSERT_TRUE(body["refresh_token"].is_string());

  // The refresh token works over the OAuth2 POST form and reports the granted scope.
  const std::string form = absl::StrCat(
      "grant_type=refresh_token&service=", kService,
      "&client_id=e2e&scope=", "repository%3Aacme%2Fweb%3Apull+repository%3Aother%2Fweb%3Apull",
      "&refresh_token=", body["refresh_token"].get<std::string>());
  testing::HttpReply refreshed =
      http.Request("POST", "/token", form, {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_EQ(nlohmann::json::parse(refreshed.body)["scope"], "repository:acme/web:pull");

  testing::HttpReply bad = http.Request(
      "GET", absl::StrCat("/token?service=", kService), "",
      {{"Authorization", realm::FormatBasicAuthorization(builder.username, "ras_wrong")}});
  EXPECT_EQ(bad.status, 401);
  EXPECT_FALSE(bad.headers["www-authenticate"].empty());
  EXPECT_FALSE(absl::StrContains(bad.body, builder.password));

  // The HTTP client's address reaches the service (throttling and audit rows use it).
  testing::HttpReply created =
      http.Request("POST", "/v1/workspaces/acme/serviceAccounts?service_account_id=viahttp", "{}",
                   {{"Content-Type", "application/json"}});
  ASSERT_EQ(created.status, 200) << created.body;
  v1::ListAuditEventsRequest audit;
  audit.set_resource("workspaces/acme/serviceAccounts/viahttp");
  v1::ListAuditEventsResponse events;
  ASSERT_TRUE(stub_->ListAuditEvents(Ctx().get(), audit, &events).ok());
  ASSERT_EQ(events.audit_events_size(), 1);
  EXPECT_EQ(events.audit_events(0).peer(), "http:127.0.0.1");

  testing::HttpReply unknown = http.Request("GET", "/token?service=elsewhere", "", {});
  EXPECT_EQ(unknown.status, 400) << unknown.body;
}

// Issue 19: every /token answer that grants push (or delete) lands in the audit trail, off the
// request path, within a bounded delay, while many tokens are issued at once over real HTTP;
// pull-only answers write nothing.
TEST_P(RealmE2eTest, PushTokenIssuanceIsAuditedWithinABoundedDelayPullOnlyIsNot) {
  const RegistryCredentials builder = CreateServiceAccount("acme", "builder", "acme/*");
  const std::string basic = realm::FormatBasicAuthorization(builder.username, builder.password);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;  // push tokens per thread, and as many pull-only ones
  std::atomic<int> failures{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      testing::HttpConnection http(live_->server().http_port());
      if (!http.connected()) {
        ++failures;
        return;
      }
      for (int i = 0; i < kPerThread; ++i) {
        for (const char* kind : {"push", "pull"}) {
          testing::HttpReply r = http.Request(
              "GET", absl::StrCat("/token?service=", kService, "&scope=repository:acme/web:", kind),
              "", {{"Authorization", basic}, {"X-Request-Id", absl::StrCat(kind, "-", t, "-", i)}});
          if (r.status != 200) ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const absl::Time issued = absl::Now();
  ASSERT_EQ(failures.load(), 0);

  // Poll the trail (as an operator would) until every push token is there.
  auto audited = [&] {
    std::set<std::string> ids;
    v1::ListAuditEventsRequest req;
    req.set_resource("workspaces/acme/serviceAccounts/builder");
    req.set_page_size(1000);
    for (;;) {
      v1::ListAuditEventsResponse page;
      grpc::Status s = stub_->ListAuditEvents(Ctx().get(), req, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      for (const v1::AuditEvent& e : page.audit_events()) {
        if (e.action() != "IssueRegistryToken") continue;
        ids.insert(e.request_id());
        EXPECT_EQ(e.caller(), "acme+builder");
        EXPECT_EQ(e.outcome(), "OK");
        EXPECT_EQ(e.detail(), "granted repository:acme/web:push");
        EXPECT_EQ(e.peer(), "http:127.0.0.1");
        EXPECT_FALSE(absl::StrContains(e.detail(), builder.password));
      }
      if (page.next_page_token().empty()) break;
      req.set_page_token(page.next_page_token());
    }
    return ids;
  };
  std::set<std::string> ids;
  const absl::Time deadline = issued + absl::Seconds(5);
  while ((ids = audited()).size() < kThreads * kPerThread && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const absl::Duration delay = absl::Now() - issued;
  std::set<std::string> want;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) want.insert(absl::StrCat("push-", t, "-", i));
  }
  EXPECT_EQ(ids, want) << "every push token once, no pull-only one";
  // The flusher writes every 200 ms; a second is a generous bound on a shared machine.
  EXPECT_LT(delay, absl::Seconds(1)) << "issued " << 2 * kThreads * kPerThread << " tokens in "
                                     << (issued - start) << ", all rows seen after " << delay;
  std::cerr << "token audit e2e: " << 2 * kThreads * kPerThread << " tokens in "
            << absl::FormatDuration(issued - start) << ", push rows all listed "
            << absl::FormatDuration(delay) << " after the last one\n";
}

// Adapter-only mode (--http_upstream): a second process's HTTP adapter in front of the
// server's gRPC port serves the same realm and REST routes.
TEST_P(RealmE2eTest, RemoteHttpAdapterServesTheSameRealm) {
  const RegistryCredentials builder = CreateServiceAccount("acme", "builder", "acme/*");
  absl::StatusOr<std::unique_ptr<server::HttpAdapterOnly>> adapter = stack_->StartAdapterOnly();
  ASSERT_TRUE(adapter.ok()) << adapter.status();

  testing::HttpConnection http((*adapter)->port());
  ASSERT_TRUE(http.connected());
  testing::HttpReply token = http.Request(
      "GET", absl::StrCat("/token?service=", kService, "&scope=repository:acme/web:push"), "",
      {{"Authorization", realm::FormatBasicAuthorization(builder.username, builder.password)}});
  ASSERT_EQ(token.status, 200) << token.body;
  const std::string jwt = nlohmann::json::parse(token.body)["token"];
  absl::StatusOr<crypto::DecodedJwt> decoded = crypto::DecodeJwt(jwt);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->claims["sub"], "acme+builder");
  EXPECT_EQ(decoded->claims["access"][0]["actions"], nlohmann::json({"push"}));

  testing::HttpReply apps = http.Request("GET", "/v1/workspaces/acme/apps");
  ASSERT_EQ(apps.status, 200) << apps.body;
  EXPECT_TRUE(absl::StrContains(apps.body, "workspaces/acme/apps/web")) << apps.body;

  // A registry pointed at the remote adapter works like one pointed at the server.
  testing::RegistryOptions options;
  options.token_auth =
      testing::TokenAuthConfig{absl::StrCat("http://127.0.0.1:", (*adapter)->port(), "/token"),
                               kService, kIssuer, *testing::ReadFile(bundle_path_)};
  ASSERT_TRUE(registry_->Restart(options).ok());
  SkopeoResult r = Push(Build("via-adapter"), "acme/web", builder);
  EXPECT_TRUE(r.ok()) << r.Describe();
  (*adapter)->Shutdown();
}

INSTANTIATE_TEST_SUITE_P(HeaderModes, RealmE2eTest,
                         ::testing::Values(Mode{"kid", "kid", "libtrust"},
                                           Mode{"x5c", "x5c", "libtrust"}),
                         [](const ::testing::TestParamInfo<Mode>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace registryauth
