#include "services/registry_service.h"

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "crypto/jwk_test_util.h"
#include "crypto/jws.h"
#include "gtest/gtest.h"
#include "services/testing/fake_aead.h"
#include "services/validation.h"
#include "storage/memory_store.h"
#include "storage/testing/failing_registry_store.h"

namespace registryauth::services {
namespace {

constexpr char kPat[] = "ghp_R3gistryAuthTestToken0000000000a1b2";
constexpr char kPat2[] = "ghp_SecondTokenForRotation999999999c3d4";
constexpr char kWs[] = "workspaces/acme";

std::string Leaks(const RegistryConfig& c) {
  return absl::StrCat(c.workspace_id, "|", c.id, "|", c.display_name, "|", c.owner, "|",
                      c.login_server, "|", c.url, "|", c.repository_namespace, "|", c.username, "|",
                      c.secret_ciphertext, "|", c.secret_hint, "|", c.last_validation_error);
}

// True if any piece of `secret` (its whole, or its distinctive body) shows up in `text`.
bool ContainsSecret(absl::string_view text, absl::string_view secret) {
  return absl::StrContains(text, secret) || absl::StrContains(text, secret.substr(4, 20));
}

RegistryConfigInput GhcrInput(std::string owner = "acme", const char* pat = kPat) {
  RegistryConfigInput in;
  in.type = in.settings_type = RegistryType::kGhcr;
  in.owner = std::move(owner);
  if (pat != nullptr) in.secret = SecretString(pat);
  return in;
}

class RegistryServiceTest : public ::testing::Test {
 protected:
  RegistryServiceTest() : clock_(absl::FromUnixSeconds(1700000000)) {}

  void SetUp() override { ASSERT_TRUE(service_.CreateWorkspace("acme", "ACME").ok()); }

  absl::StatusOr<RegistryConfig> CreateGhcr(std::string_view id, bool is_default = false) {
    RegistryConfigInput in = GhcrInput();
    in.is_default = is_default;
    return service_.CreateRegistryConfig(kWs, id, std::move(in));
  }

  // Simulates TestConnection having recorded a successful validation.
  void MarkValid(std::string_view id) {
    RegistryConfig c = *store_.GetRegistryConfig("acme", id);
    c.validation_status = ValidationStatus::kValid;
    c.validated_at = clock_.Now();
    c.last_validation_error = "";
    ASSERT_TRUE(store_.UpdateRegistryConfig(c, 0).ok());
  }

  storage::InMemoryRegistryStore memory_;
  storage::testing::FailingRegistryStore store_{memory_};
  testing::FakeAead aead_{7};
  FakeClock clock_;
  RegistryService service_{store_, aead_, clock_};
};

// ---- etags ---------------------------------------------------------------------------------

TEST(EtagTest, RoundTripAndMalformed) {
  EXPECT_EQ(RegistryService::EtagOf(3), "\"3\"");
  EXPECT_EQ(*RegistryService::ParseEtag("\"42\"", "etag"), 42);
  EXPECT_EQ(*RegistryService::ParseEtag("", "etag"), 0);
  for (const char* bad :
       {"42", "\"\"", "\"0\"", "\"-1\"", "\"4x\"", "W/\"4\"", "\"4", "\"99999999999999999999\""}) {
    absl::StatusOr<int64_t> v = RegistryService::ParseEtag(bad, "registry_config.etag");
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(v.status().message(), "registry_config.etag: malformed") << bad;
  }
}

// ---- workspaces ----------------------------------------------------------------------------

TEST_F(RegistryServiceTest, CreateAndGetWorkspace) {
  clock_.Advance(absl::Seconds(5));
  absl::StatusOr<Workspace> w = service_.CreateWorkspace("beta", "Beta team");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->id, "beta");
  EXPECT_EQ(w->version, 1);
  EXPECT_EQ(w->create_time, clock_.Now());
  EXPECT_EQ(w->update_time, clock_.Now());
  absl::StatusOr<Workspace> got = service_.GetWorkspace("workspaces/beta");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->display_name, "Beta team");

  EXPECT_EQ(service_.CreateWorkspace("beta", "").status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(service_.CreateWorkspace("Beta", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status nf = service_.GetWorkspace("workspaces/nope").status();
  EXPECT_EQ(nf.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(nf.message(), "workspaces/nope: not found");
  EXPECT_EQ(service_.GetWorkspace("acme").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryServiceTest, ListWorkspacesPagesWithTokens) {
  for (const char* id : {"b1", "b2", "b3", "b4"})
    ASSERT_TRUE(service_.CreateWorkspace(id, "").ok());
  // acme, b1, b2, b3, b4
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<ListResult<Workspace>> page = service_.ListWorkspaces(2, token);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->items.size(), 2u);
    for (const Workspace& w : page->items) seen.push_back(w.id);
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"acme", "b1", "b2", "b3", "b4"}));

  absl::StatusOr<ListResult<Workspace>> all = service_.ListWorkspaces(0, "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items.size(), 5u);
  EXPECT_TRUE(all->next_page_token.empty());
  EXPECT_TRUE(service_.ListWorkspaces(5000, "").ok());
}

TEST_F(RegistryServiceTest, PageSizeAndTokenErrors) {
  absl::Status s = service_.ListWorkspaces(-1, "").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "page_size")) << s;
  for (const char* bad : {"garbage!!", "AAAA", "bm90LWEtdG9rZW4"}) {
    s = service_.ListWorkspaces(10, bad).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StartsWith(s.message(), "page_token")) << s;
  }
}

TEST_F(RegistryServiceTest, PageSizeAboveMaxIsClamped) {
  for (int i = 0; i < 1001; ++i) {
    ASSERT_TRUE(service_.CreateApp(kWs, absl::StrCat("app", i), "", "").ok());
  }
  absl::StatusOr<ListResult<App>> page = service_.ListApps(kWs, 5000, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 1000u);
  EXPECT_FALSE(page->next_page_token.empty());
  absl::StatusOr<ListResult<App>> rest = service_.ListApps(kWs, 5000, page->next_page_token);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->items.size(), 1u);
  EXPECT_TRUE(rest->next_page_token.empty());
  absl::StatusOr<ListResult<App>> dflt = service_.ListApps(kWs, 0, "");
  ASSERT_TRUE(dflt.ok());
  EXPECT_EQ(dflt->items.size(), 50u);
}

TEST_F(RegistryServiceTest, PageTokenIsBoundToItsList) {
  ASSERT_TRUE(service_.CreateWorkspace("other", "").ok());
  for (const char* id : {"a1", "a2", "a3"}) ASSERT_TRUE(service_.CreateApp(kWs, id, "", "").ok());
  absl::StatusOr<ListResult<App>> page = service_.ListApps(kWs, 1, "");
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->next_page_token.empty());
  const std::string token = page->next_page_token;
  EXPECT_TRUE(service_.ListApps(kWs, 1, token).ok());
  // Another workspace, another collection, another list type: all refused.
  EXPECT_EQ(service_.ListApps("workspaces/other", 1, token).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.ListRegistryConfigs(kWs, 1, token).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.ListWorkspaces(1, token).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryServiceTest, UpdateWorkspaceMaskAndEtag) {
  Workspace w = *service_.GetWorkspace(kWs);
  clock_.Advance(absl::Minutes(1));
  absl::StatusOr<Workspace> u = service_.UpdateWorkspace(kWs, "ACME Inc", {"display_name"},
                                                         RegistryService::EtagOf(w.version));
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->display_name, "ACME Inc");
  EXPECT_EQ(u->version, w.version + 1);
  EXPECT_EQ(u->create_time, w.create_time);
  EXPECT_EQ(u->update_time, clock_.Now());

  // Stale etag.
  absl::Status s =
      service_.UpdateWorkspace(kWs, "X", {"display_name"}, RegistryService::EtagOf(w.version))
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(service_.GetWorkspace(kWs)->display_name, "ACME Inc");

  // Malformed etag, unknown path (quoted, truncated).
  s = service_.UpdateWorkspace(kWs, "X", {}, "v1").status();
  EXPECT_EQ(s.message(), "workspace.etag: malformed");
  s = service_.UpdateWorkspace(kWs, "X", {"name"}, "").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "update_mask: unknown path \"name\"");
  s = service_.UpdateWorkspace(kWs, "X", {std::string(5000, 'p')}, "").status();
  EXPECT_LT(s.message().size(), 120u);

  // Empty mask: only populated fields; an empty display_name is left alone.
  u = service_.UpdateWorkspace(kWs, "", {}, "");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->display_name, "ACME Inc");
  // "*" replaces it.
  u = service_.UpdateWorkspace(kWs, "", {"*"}, "");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->display_name, "");
}

TEST_F(RegistryServiceTest, DeleteWorkspaceNeedsForceWithChildren) {
  ASSERT_TRUE(CreateGhcr("gh").ok());
  absl::Status s = service_.DeleteWorkspace(kWs, "", false);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_.DeleteWorkspace(kWs, "\"9\"", true).code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(service_.DeleteWorkspace(kWs, "", true).ok());
  EXPECT_EQ(service_.GetWorkspace(kWs).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_.DeleteWorkspace(kWs, "", true).code(), absl::StatusCode::kNotFound);
}

// ---- apps ----------------------------------------------------------------------------------

TEST_F(RegistryServiceTest, AppRegistryConfigMustExistInSameWorkspace) {
  ASSERT_TRUE(CreateGhcr("gh").ok());
  ASSERT_TRUE(service_.CreateWorkspace("other", "").ok());
  absl::StatusOr<App> app = service_.CreateApp(kWs, "web", "Web", "workspaces/acme/registries/gh");
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_EQ(app->registry_config_id, "gh");
  EXPECT_EQ(app->workspace_id, "acme");

  absl::Status s = service_.CreateApp(kWs, "api", "", "workspaces/other/registries/gh").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "app.registry_config: ")) << s;
  s = service_.CreateApp(kWs, "api", "", "workspaces/acme/registries/missing").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(s.message(), "app.registry_config: ")) << s;
  s = service_.CreateApp(kWs, "api", "", "registries/gh").status();
  EXPECT_TRUE(absl::StartsWith(s.message(), "app.registry_config: ")) << s;
  s = service_.CreateApp(kWs, "Bad_Id", "", "").status();
  EXPECT_TRUE(absl::StartsWith(s.message(), "app_id: ")) << s;
  s = service_.CreateApp("workspaces/nope", "api", "", "").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_.CreateApp(kWs, "web", "", "").status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(RegistryServiceTest, UpdateAndDeleteApp) {
  ASSERT_TRUE(CreateGhcr("gh").ok());
  ASSERT_TRUE(CreateGhcr("gh2").ok());
  App app = *service_.CreateApp(kWs, "web", "Web", "workspaces/acme/registries/gh");
  absl::StatusOr<App> u =
      service_.UpdateApp("workspaces/acme/apps/web", "", "workspaces/acme/registries/gh2",
                         {"registry_config"}, RegistryService::EtagOf(1));
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->registry_config_id, "gh2");
  EXPECT_EQ(u->display_name, "Web");
  // "*" with an empty registry_config falls back to the workspace default.
  u = service_.UpdateApp("workspaces/acme/apps/web", "Web 2", "", {"*"}, "");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->registry_config_id, "");
  EXPECT_EQ(u->display_name, "Web 2");
  absl::Status s =
      service_.UpdateApp("workspaces/acme/apps/web", "", "", {"repository"}, "").status();
  EXPECT_EQ(s.message(), "update_mask: unknown path \"repository\"");
  EXPECT_EQ(service_.DeleteApp("workspaces/acme/apps/web", "\"1\"").code(),
            absl::StatusCode::kAborted);
  EXPECT_TRUE(service_.DeleteApp("workspaces/acme/apps/web", RegistryService::EtagOf(3)).ok());
  EXPECT_EQ(service_.GetApp("workspaces/acme/apps/web").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RegistryServiceTest, RealmUserNamePrefixesAreReservedWorkspaceIds) {
  for (const char* id : {"pull", "build"}) {
    absl::Status s = service_.CreateWorkspace(id, "").status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << id;
    EXPECT_TRUE(absl::StrContains(s.message(), "reserved")) << s;
  }
  EXPECT_TRUE(service_.CreateWorkspace("pulls", "").ok());
}

// Issue 15: a client reads `localhost/...` as a registry host, so it is never a workspace.
TEST_F(RegistryServiceTest, HostLikeWorkspaceIdsAreReserved) {
  absl::Status s = service_.CreateWorkspace("localhost", "").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "reserved")) << s;
  for (const char* id : {"evil.com", "localhost:5000", "LOCALHOST"}) {
    EXPECT_EQ(service_.CreateWorkspace(id, "").status().code(), absl::StatusCode::kInvalidArgument)
        << id;
  }
  EXPECT_TRUE(service_.CreateWorkspace("localhost2", "").ok());
}

TEST_F(RegistryServiceTest, PublicPullIsSetOnCreateAndChangedThroughTheMask) {
  absl::StatusOr<App> app = service_.CreateApp(kWs, "web", "Web", "", /*public_pull=*/true);
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_TRUE(app->public_pull);
  EXPECT_FALSE(service_.CreateApp(kWs, "api", "", "")->public_pull);
  const std::string name = "workspaces/acme/apps/web";
  // Without a mask a false value changes nothing (it cannot be told from "not given").
  absl::StatusOr<App> u = service_.UpdateApp(name, "Web 2", "", {}, "", false);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->public_pull);
  EXPECT_EQ(u->display_name, "Web 2");
  // Named in the mask, it is turned off, and only it changes.
  u = service_.UpdateApp(name, "", "", {"public_pull"}, "", false);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_FALSE(u->public_pull);
  EXPECT_EQ(u->display_name, "Web 2");
  EXPECT_FALSE(service_.GetApp(name)->public_pull);
  // Without a mask, true turns it on.
  u = service_.UpdateApp(name, "", "", {}, "", true);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(service_.GetApp(name)->public_pull);
}

TEST_F(RegistryServiceTest, RegistryConfigInUseByAnAppCannotBeDeleted) {
  ASSERT_TRUE(CreateGhcr("gh").ok());
  ASSERT_TRUE(CreateGhcr("gh2").ok());
  ASSERT_TRUE(service_.CreateApp(kWs, "web", "", "workspaces/acme/registries/gh").ok());
  absl::Status s = service_.DeleteRegistryConfig("workspaces/acme/registries/gh", "");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "workspaces/acme/apps/web")) << s;
  EXPECT_TRUE(service_.GetRegistryConfig("workspaces/acme/registries/gh").ok());
  // Once the app falls back to the workspace default, the config can go.
  ASSERT_TRUE(service_.UpdateApp("workspaces/acme/apps/web", "", "", {"registry_config"}, "").ok());
  EXPECT_TRUE(service_.DeleteRegistryConfig("workspaces/acme/registries/gh", "").ok());
}

// ---- registry configs ----------------------------------------------------------------------

TEST_F(RegistryServiceTest, CreateGhcrEncryptsAndHints) {
  clock_.Advance(absl::Seconds(30));
  absl::StatusOr<RegistryConfig> c = CreateGhcr("gh");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->type, RegistryType::kGhcr);
  EXPECT_EQ(c->owner, "acme");
  EXPECT_EQ(c->version, 1);
  EXPECT_EQ(c->validation_status, ValidationStatus::kPending);
  EXPECT_FALSE(c->validated_at.has_value());
  EXPECT_EQ(c->create_time, clock_.Now());
  EXPECT_EQ(c->update_time, clock_.Now());
  EXPECT_EQ(c->secret_key_id, 7u);
  EXPECT_FALSE(c->secret_ciphertext.empty());
  EXPECT_EQ(c->secret_hint,
            "ghp_\xE2\x80\xA6"
            "a1b2");
  EXPECT_FALSE(ContainsSecret(Leaks(*c), kPat));

  absl::StatusOr<SecretString> pt = service_.DecryptSecret(*c);
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(pt->view(), kPat);

  // The ciphertext is bound to its row: copied to another row it does not decrypt.
  RegistryConfig moved = *c;
  moved.id = "other";
  absl::Status s = service_.DecryptSecret(moved).status();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "decryption failed");
}

TEST_F(RegistryServiceTest, CreateValidatesAndNamesFields) {
  absl::Status s = service_.CreateRegistryConfig(kWs, "gh", GhcrInput("")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "registry_config.ghcr.owner: ")) << s;
  s = service_.CreateRegistryConfig(kWs, "gh", GhcrInput("acme", nullptr)).status();
  EXPECT_TRUE(absl::StartsWith(s.message(), "registry_config.secret: ")) << s;
  s = service_.CreateRegistryConfig(kWs, "GH", GhcrInput()).status();
  EXPECT_TRUE(absl::StartsWith(s.message(), "registry_id: ")) << s;
  s = service_.CreateRegistryConfig("workspaces/acme/apps/x", "gh", GhcrInput()).status();
  EXPECT_TRUE(absl::StartsWith(s.message(), "parent: ")) << s;
  s = service_.CreateRegistryConfig("workspaces/none", "gh", GhcrInput()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(CreateGhcr("gh").ok());
  s = CreateGhcr("gh").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "workspaces/acme/registries/gh: already exists");
}

TEST_F(RegistryServiceTest, DistributionWithoutSecret) {
  RegistryConfigInput in;
  in.type = in.settings_type = RegistryType::kDistribution;
  in.url = "http://127.0.0.1:5000";
  in.repository_namespace = "teams/acme";
  absl::StatusOr<RegistryConfig> c = service_.CreateRegistryConfig(kWs, "own", std::move(in));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->secret_ciphertext.empty());
  EXPECT_EQ(c->secret_hint, "");
  EXPECT_EQ(c->secret_key_id, 0u);
  EXPECT_EQ(service_.DecryptSecret(*c).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(aead_.encrypt_calls(), 0);
}

TEST_F(RegistryServiceTest, DefaultSwitches) {
  ASSERT_TRUE(CreateGhcr("a", /*is_default=*/true).ok());
  ASSERT_TRUE(CreateGhcr("b", /*is_default=*/true).ok());
  EXPECT_FALSE(service_.GetRegistryConfig("workspaces/acme/registries/a")->is_default);
  EXPECT_TRUE(service_.GetRegistryConfig("workspaces/acme/registries/b")->is_default);

  RegistryConfigInput in;
  in.is_default = true;
  absl::StatusOr<RegistryConfig> u = service_.UpdateRegistryConfig(
      "workspaces/acme/registries/a", std::move(in), {"is_default"}, "");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->is_default);
  EXPECT_FALSE(service_.GetRegistryConfig("workspaces/acme/registries/b")->is_default);
}

TEST_F(RegistryServiceTest, UpdateWithoutSecretKeepsItAndValidation) {
  RegistryConfig created = *CreateGhcr("gh");
  MarkValid("gh");
  clock_.Advance(absl::Hours(1));
  // Full replacement with the same settings and no secret.
  absl::StatusOr<RegistryConfig> u =
      service_.UpdateRegistryConfig("workspaces/acme/registries/gh", GhcrInput("acme", nullptr),
                                    {"*"}, RegistryService::EtagOf(2));
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->secret_ciphertext, created.secret_ciphertext);
  EXPECT_EQ(u->secret_hint, created.secret_hint);
  EXPECT_EQ(u->validation_status, ValidationStatus::kValid);
  EXPECT_TRUE(u->validated_at.has_value());
  EXPECT_EQ(u->update_time, clock_.Now());
  EXPECT_EQ(u->create_time, created.create_time);
  EXPECT_EQ(service_.DecryptSecret(*u)->view(), kPat);

  // "secret" in the mask with an empty secret still keeps it.
  u = service_.UpdateRegistryConfig("workspaces/acme/registries/gh", RegistryConfigInput{},
                                    {"secret", "display_name"}, "");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->secret_ciphertext, created.secret_ciphertext);
  EXPECT_EQ(u->validation_status, ValidationStatus::kValid);
}

// Key rotation re-encrypts the row between the service's read and its write (the failing
// store's hook runs right before the write). A change without a new secret must not put the old
// ciphertext back; a new secret simply wins.
TEST_F(RegistryServiceTest, UpdateDoesNotUndoAConcurrentReencryption) {
  RegistryConfig created = *CreateGhcr("gh");
  testing::FakeAead key9(9);
  const std::string rotated = *key9.Encrypt(kPat, *RegistryService::SecretAssociatedData(created));
  bool swapped = false;
  store_.set_before_update_config([&](std::string_view, std::string_view) {
    if (swapped) return;
    swapped = *store_.ReplaceSecretCiphertext("acme", "gh", created.secret_ciphertext, rotated, 9);
  });
  RegistryConfigInput in;
  in.display_name = "Renamed";
  absl::StatusOr<RegistryConfig> u = service_.UpdateRegistryConfig(
      "workspaces/acme/registries/gh", std::move(in), {"display_name"}, "");
  ASSERT_TRUE(u.ok()) << u.status();
  ASSERT_TRUE(swapped);
  EXPECT_EQ(u->display_name, "Renamed");
  EXPECT_EQ(u->secret_ciphertext, rotated);
  EXPECT_EQ(u->secret_key_id, 9u);
  RegistryConfig stored = *store_.GetRegistryConfig("acme", "gh");
  EXPECT_EQ(stored.secret_ciphertext, rotated);
  EXPECT_EQ(key9.Decrypt(stored.secret_ciphertext, *RegistryService::SecretAssociatedData(stored))
                ->view(),
            kPat);

  // With a new secret, the write replaces whatever is stored.
  swapped = false;
  created = stored;
  RegistryConfigInput with_secret;
  with_secret.secret = SecretString(kPat2);
  u = service_.UpdateRegistryConfig("workspaces/acme/registries/gh", std::move(with_secret),
                                    {"secret"}, "");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->secret_key_id, 7u);
  EXPECT_EQ(service_.DecryptSecret(*store_.GetRegistryConfig("acme", "gh"))->view(), kPat2);
}

TEST_F(RegistryServiceTest, NewSecretResetsValidation) {
  RegistryConfig created = *CreateGhcr("gh");
  MarkValid("gh");
  RegistryConfigInput in;
  in.secret = SecretString(kPat2);
  absl::StatusOr<RegistryConfig> u =
      service_.UpdateRegistryConfig("workspaces/acme/registries/gh", std::move(in), {"secret"}, "");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_NE(u->secret_ciphertext, created.secret_ciphertext);
  EXPECT_EQ(u->secret_hint,
            "ghp_\xE2\x80\xA6"
            "c3d4");
  EXPECT_EQ(u->validation_status, ValidationStatus::kPending);
  EXPECT_FALSE(u->validated_at.has_value());
  EXPECT_EQ(u->last_validation_error, "");
  EXPECT_EQ(service_.DecryptSecret(*u)->view(), kPat2);
  EXPECT_FALSE(ContainsSecret(Leaks(*u), kPat2));
}

TEST_F(RegistryServiceTest, IdentityChangeResetsValidationDisplayNameDoesNot) {
  ASSERT_TRUE(CreateGhcr("gh").ok());
  MarkValid("gh");
  RegistryConfigInput in;
  in.display_name = "Renamed";
  absl::StatusOr<RegistryConfig> u = service_.UpdateRegistryConfig(
      "workspaces/acme/registries/gh", std::move(in), {"display_name"}, "");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->validation_status, ValidationStatus::kValid);

  // Empty mask: only populated fields (the owner, with the secret it is bound to);
  // display_name stays.
  u = service_.UpdateRegistryConfig("workspaces/acme/registries/gh", GhcrInput("octo-org"), {}, "");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->owner, "octo-org");
  EXPECT_EQ(u->display_name, "Renamed");
  EXPECT_EQ(u->validation_status, ValidationStatus::kPending);
  EXPECT_FALSE(u->validated_at.has_value());
}

RegistryConfigInput GitHubAppInput() {
  RegistryConfigInput in;
  in.type = in.settings_type = RegistryType::kGitHubApp;
  in.app_id = "123456";
  in.installation_id = 42;
  in.repositories = {"web", "api"};
  in.permissions = {{"metadata", "read"}, {"contents", "read"}};
  in.secret = crypto::testing::SharedRsaKeyPem();
  return in;
}

TEST_F(RegistryServiceTest, GitHubAppCreateSortsNarrowingAndHintsTheKeyFingerprint) {
  absl::StatusOr<RegistryConfig> c = service_.CreateRegistryConfig(kWs, "app", GitHubAppInput());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->type, RegistryType::kGitHubApp);
  EXPECT_EQ(c->app_id, "123456");
  EXPECT_EQ(c->installation_id, 42);
  EXPECT_EQ(c->repositories, (std::vector<std::string>{"api", "web"}));
  EXPECT_EQ(c->permissions, (std::vector<std::pair<std::string, std::string>>{
                                {"contents", "read"}, {"metadata", "read"}}));
  auto key = crypto::SigningKey::FromPrivateKeyPem(crypto::testing::SharedRsaKeyPem());
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(c->secret_hint, (*key)->public_key()->Sha256Fingerprint());
  const std::string pem(crypto::testing::SharedRsaKeyPem().view());
  const std::string body = pem.substr(pem.find('\n') + 1, 40);
  EXPECT_FALSE(absl::StrContains(Leaks(*c), body));
  absl::StatusOr<SecretString> pt = service_.DecryptSecret(*c);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(pt->view(), crypto::testing::SharedRsaKeyPem().view());

  // A PAT where the key belongs: refused before anything is stored.
  RegistryConfigInput pat = GitHubAppInput();
  pat.secret = SecretString(kPat);
  absl::Status s = service_.CreateRegistryConfig(kWs, "app2", std::move(pat)).status();
  EXPECT_TRUE(absl::StartsWith(s.message(), "registry_config.secret: ")) << s;
  EXPECT_FALSE(absl::StrContains(s.message(), kPat));
  EXPECT_EQ(store_.GetRegistryConfig("acme", "app2").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryServiceTest, GitHubAppUpdateByMaskResetsValidationOnIdentityChange) {
  ASSERT_TRUE(service_.CreateRegistryConfig(kWs, "app", GitHubAppInput()).ok());
  MarkValid("app");
  const std::string name = "workspaces/acme/registries/app";

  // Narrowing changed through its mask path: stored sorted, validation back to PENDING.
  RegistryConfigInput in;
  in.settings_type = RegistryType::kGitHubApp;
  in.repositories = {"zeta", "alpha"};
  absl::StatusOr<RegistryConfig> u =
      service_.UpdateRegistryConfig(name, in, {"github_app.repositories"}, "");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->repositories, (std::vector<std::string>{"alpha", "zeta"}));
  EXPECT_EQ(u->app_id, "123456");
  EXPECT_EQ(u->permissions.size(), 2u);
  EXPECT_EQ(u->validation_status, ValidationStatus::kPending);

  // Clearing the permissions with an explicit path; the empty mask would skip an empty list.
  MarkValid("app");
  in = RegistryConfigInput();
  in.settings_type = RegistryType::kGitHubApp;
  u = service_.UpdateRegistryConfig(name, in, {"github_app.permissions"}, "");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->permissions.empty());
  EXPECT_EQ(u->validation_status, ValidationStatus::kPending);

  // The installation id through the empty mask (populated fields only), with the key it is
  // bound to.
  in.installation_id = 77;
  in.secret = crypto::testing::SharedRsaKeyPem();
  u = service_.UpdateRegistryConfig(name, in, {}, "");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->installation_id, 77);
  EXPECT_EQ(u->repositories, (std::vector<std::string>{"alpha", "zeta"}));

  // Bad values and paths of other types are refused; nothing changes.
  in = RegistryConfigInput();
  in.settings_type = RegistryType::kGitHubApp;
  in.installation_id = -1;
  EXPECT_EQ(
      service_.UpdateRegistryConfig(name, in, {"github_app.installation_id"}, "").status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.UpdateRegistryConfig(name, in, {"ghcr.owner"}, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  RegistryConfigInput ec;
  ec.secret = *crypto::GenerateEs256KeyPem();
  absl::Status s = service_.UpdateRegistryConfig(name, ec, {"secret"}, "").status();
  EXPECT_TRUE(absl::StartsWith(s.message(), "registry_config.secret: ")) << s;
  EXPECT_EQ(store_.GetRegistryConfig("acme", "app")->installation_id, 77);
}

// ---- a stored secret is bound to its endpoint (issue 17) ------------------------------------

// One string setting of `from` copied into `to` by its field name.
void CopySettingForTest(const RegistryConfigInput& from, RegistryConfig& to, std::string_view f) {
  if (f == "url") to.url = from.url;
  if (f == "username") to.username = from.username;
  if (f == "login_server") to.login_server = from.login_server;
  if (f == "owner") to.owner = from.owner;
  if (f == "app_id") to.app_id = from.app_id;
}

struct BindingCase {
  const char* id;
  RegistryConfigInput create;
  // One binding field changed, as the update input, its mask path and the error's field name.
  RegistryConfigInput change;
  const char* path;
  const char* field;
};

std::vector<BindingCase> BindingCases() {
  std::vector<BindingCase> cases;
  auto input = [](RegistryType type) {
    RegistryConfigInput in;
    in.type = in.settings_type = type;
    return in;
  };
  auto settings = [](RegistryType type) {
    RegistryConfigInput in;
    in.settings_type = type;
    return in;
  };
  RegistryConfigInput dist = input(RegistryType::kDistribution);
  dist.url = "https://registry.example.com";
  dist.repository_namespace = "acme";
  dist.username = "bot";
  dist.secret = SecretString("old-password-1234");
  RegistryConfigInput acr = input(RegistryType::kAcr);
  acr.login_server = "acme.azurecr.io";
  acr.username = "acme-pull";
  acr.secret = SecretString("old-password-1234");
  RegistryConfigInput generic = input(RegistryType::kGeneric);
  generic.url = "https://registry.example.com";
  generic.username = "bot";
  generic.secret = SecretString("old-password-1234");

  RegistryConfigInput c = settings(RegistryType::kDistribution);
  c.url = "https://attacker.example.net";
  cases.push_back({"dist-url", dist, c, "distribution.url", "registry_config.distribution.url"});
  c = settings(RegistryType::kDistribution);
  c.username = "someone-else";
  cases.push_back(
      {"dist-user", dist, c, "distribution.username", "registry_config.distribution.username"});
  c = settings(RegistryType::kAcr);
  c.login_server = "evil.azurecr.io";
  cases.push_back({"acr-host", acr, c, "acr.login_server", "registry_config.acr.login_server"});
  c = settings(RegistryType::kAcr);
  c.username = "someone-else";
  cases.push_back({"acr-user", acr, c, "acr.username", "registry_config.acr.username"});
  c = settings(RegistryType::kGhcr);
  c.owner = "octo-org";
  cases.push_back({"gh-owner", GhcrInput(), c, "ghcr.owner", "registry_config.ghcr.owner"});
  c = settings(RegistryType::kGitHubApp);
  c.app_id = "654321";
  cases.push_back(
      {"app-id", GitHubAppInput(), c, "github_app.app_id", "registry_config.github_app.app_id"});
  c = settings(RegistryType::kGitHubApp);
  c.installation_id = 77;
  cases.push_back({"app-inst", GitHubAppInput(), c, "github_app.installation_id",
                   "registry_config.github_app.installation_id"});
  c = settings(RegistryType::kGeneric);
  c.url = "https://attacker.example.net";
  cases.push_back({"gen-url", generic, c, "generic.url", "registry_config.generic.url"});
  c = settings(RegistryType::kGeneric);
  c.username = "someone-else";
  cases.push_back({"gen-user", generic, c, "generic.username", "registry_config.generic.username"});
  return cases;
}

TEST_F(RegistryServiceTest, ChangingWhereTheSecretGoesNeedsANewSecret) {
  for (BindingCase& tc : BindingCases()) {
    SCOPED_TRACE(tc.id);
    const SecretString old_secret = tc.create.secret;
    ASSERT_TRUE(service_.CreateRegistryConfig(kWs, tc.id, tc.create).ok());
    const std::string name = absl::StrCat(kWs, "/registries/", tc.id);
    const RegistryConfig before = *store_.GetRegistryConfig("acme", tc.id);

    // By its mask path and by the empty mask: refused, naming the field; nothing is written.
    for (const FieldMask& mask : {FieldMask{tc.path}, FieldMask{}}) {
      absl::Status s = service_.UpdateRegistryConfig(name, tc.change, mask, "").status();
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
      EXPECT_TRUE(absl::StartsWith(s.message(), tc.field)) << s;
      EXPECT_TRUE(absl::StrContains(s.message(), "requires a new secret")) << s;
      EXPECT_FALSE(ContainsSecret(s.message(), std::string(old_secret.view()))) << s;
    }
    RegistryConfig after = *store_.GetRegistryConfig("acme", tc.id);
    EXPECT_EQ(after.version, before.version);
    EXPECT_EQ(Leaks(after), Leaks(before));

    // "secret" in the mask without a value is no new secret either.
    FieldMask with_empty_secret{tc.path, "secret"};
    EXPECT_EQ(service_.UpdateRegistryConfig(name, tc.change, with_empty_secret, "").status().code(),
              absl::StatusCode::kInvalidArgument);

    // With a new secret in the same update, the change goes through.
    RegistryConfigInput with_secret = tc.change;
    with_secret.secret = old_secret;
    absl::StatusOr<RegistryConfig> u =
        service_.UpdateRegistryConfig(name, with_secret, {tc.path, "secret"}, "");
    ASSERT_TRUE(u.ok()) << u.status();
    EXPECT_EQ(u->version, before.version + 1);
    EXPECT_EQ(service_.DecryptSecret(*u)->view(), old_secret.view());
  }
}

TEST_F(RegistryServiceTest, SecretBindingAllowsUnchangedValuesAndOtherSettings) {
  for (BindingCase& tc : BindingCases()) {
    SCOPED_TRACE(tc.id);
    ASSERT_TRUE(service_.CreateRegistryConfig(kWs, tc.id, tc.create).ok());
    const std::string name = absl::StrCat(kWs, "/registries/", tc.id);
    // The whole settings message again, without a secret: the same values are no change.
    RegistryConfigInput same = tc.create;
    same.secret = SecretString();
    same.type = RegistryType::kUnspecified;
    absl::StatusOr<RegistryConfig> u = service_.UpdateRegistryConfig(
        name, same, {std::string(SettingsFieldName(tc.create.type))}, "");
    ASSERT_TRUE(u.ok()) << u.status();
    EXPECT_EQ(u->version, 2);
  }
  // Settings that only narrow how the secret is used stay free to change.
  RegistryConfigInput pull_only;
  pull_only.settings_type = RegistryType::kGhcr;
  pull_only.pull_only = true;
  EXPECT_TRUE(service_
                  .UpdateRegistryConfig("workspaces/acme/registries/gh-owner", pull_only,
                                        {"ghcr.pull_only"}, "")
                  .ok());
  RegistryConfigInput ns;
  ns.settings_type = RegistryType::kDistribution;
  ns.repository_namespace = "other";
  EXPECT_TRUE(service_
                  .UpdateRegistryConfig("workspaces/acme/registries/dist-url", ns,
                                        {"distribution.repository_namespace"}, "")
                  .ok());
  RegistryConfigInput repos;
  repos.settings_type = RegistryType::kGitHubApp;
  repos.repositories = {"other"};
  EXPECT_TRUE(service_
                  .UpdateRegistryConfig("workspaces/acme/registries/app-id", repos,
                                        {"github_app.repositories"}, "")
                  .ok());

  // Several binding fields at once: all are named.
  RegistryConfigInput both;
  both.settings_type = RegistryType::kAcr;
  both.login_server = "evil.azurecr.io";
  both.username = "someone-else";
  absl::Status s =
      service_.UpdateRegistryConfig("workspaces/acme/registries/acr-host", both, {"acr"}, "")
          .status();
  EXPECT_TRUE(absl::StartsWith(s.message(),
                               "registry_config.acr.login_server, registry_config.acr.username: "))
      << s;

  // Without a stored secret there is nothing to redirect.
  RegistryConfigInput open;
  open.type = open.settings_type = RegistryType::kDistribution;
  open.url = "https://registry.example.com";
  open.repository_namespace = "acme";
  ASSERT_TRUE(service_.CreateRegistryConfig(kWs, "open", open).ok());
  RegistryConfigInput moved;
  moved.settings_type = RegistryType::kDistribution;
  moved.url = "https://mirror.example.net";
  EXPECT_TRUE(
      service_
          .UpdateRegistryConfig("workspaces/acme/registries/open", moved, {"distribution.url"}, "")
          .ok());
}

// The endpoint is part of the ciphertext's associated data: a row whose endpoint changed
// behind the service's back (a bug, a hand-edited row) does not decrypt, for every type.
TEST_F(RegistryServiceTest, AnEndpointChangedInTheRowDoesNotDecrypt) {
  for (BindingCase& tc : BindingCases()) {
    SCOPED_TRACE(tc.id);
    const SecretString secret = tc.create.secret;
    absl::StatusOr<RegistryConfig> c = service_.CreateRegistryConfig(kWs, tc.id, tc.create);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->secret_ad_version, kSecretAdVersionCurrent);
    ASSERT_TRUE(service_.DecryptSecret(*c).ok());
    // The same change the service refuses without a new secret, written into the row.
    RegistryConfig edited = *c;
    if (std::string(tc.path) == "github_app.installation_id") {
      edited.installation_id = tc.change.installation_id;
    } else {
      for (std::string_view f : {"url", "username", "login_server", "owner", "app_id"}) {
        if (absl::EndsWith(tc.path, "." + std::string(f))) {
          CopySettingForTest(tc.change, edited, f);
        }
      }
    }
    ASSERT_NE(*RegistryService::SecretAssociatedData(edited),
              *RegistryService::SecretAssociatedData(*c));
    absl::StatusOr<SecretString> plain = service_.DecryptSecret(edited);
    EXPECT_EQ(plain.status().code(), absl::StatusCode::kInternal) << plain.status();
    EXPECT_EQ(plain.status().message(), "decryption failed");
    // Claiming the old associated data does not help either.
    edited = *c;
    edited.secret_ad_version = 1;
    EXPECT_EQ(service_.DecryptSecret(edited).status().code(), absl::StatusCode::kInternal);
    edited.secret_ad_version = 3;
    EXPECT_EQ(service_.DecryptSecret(edited).status().code(), absl::StatusCode::kInternal);
    EXPECT_EQ(service_.DecryptSecret(*c)->view(), secret.view());
  }
}

// Rows written before the binding (associated-data version 1) keep decrypting, under the row's
// identity only, until re-encryption or a new secret moves them to the current version.
TEST_F(RegistryServiceTest, RowsUnderTheOldAssociatedDataStillDecrypt) {
  RegistryConfig legacy = *CreateGhcr("gh");
  legacy.secret_ciphertext =
      *aead_.Encrypt(kPat, RegistryService::SecretAssociatedData("acme", "gh"));
  legacy.secret_ad_version = 1;
  ASSERT_TRUE(store_.UpdateRegistryConfig(legacy, 0).ok());
  RegistryConfig stored = *store_.GetRegistryConfig("acme", "gh");
  EXPECT_EQ(service_.DecryptSecret(stored)->view(), kPat);
  // A display-name change keeps the old ciphertext and its version.
  RegistryConfigInput in;
  in.display_name = "Renamed";
  ASSERT_TRUE(
      service_.UpdateRegistryConfig("workspaces/acme/registries/gh", in, {"display_name"}, "")
          .ok());
  stored = *store_.GetRegistryConfig("acme", "gh");
  EXPECT_EQ(stored.secret_ad_version, 1u);
  EXPECT_EQ(service_.DecryptSecret(stored)->view(), kPat);
  // A new secret is written under the current version.
  RegistryConfigInput with_secret;
  with_secret.secret = SecretString(kPat2);
  ASSERT_TRUE(
      service_.UpdateRegistryConfig("workspaces/acme/registries/gh", with_secret, {"secret"}, "")
          .ok());
  stored = *store_.GetRegistryConfig("acme", "gh");
  EXPECT_EQ(stored.secret_ad_version, kSecretAdVersionCurrent);
  EXPECT_EQ(service_.DecryptSecret(stored)->view(), kPat2);
}

TEST_F(RegistryServiceTest, UpdateMaskErrors) {
  ASSERT_TRUE(CreateGhcr("gh").ok());
  const char* name = "workspaces/acme/registries/gh";
  RegistryConfigInput acr;
  acr.type = acr.settings_type = RegistryType::kAcr;
  acr.login_server = "x.azurecr.io";
  acr.username = "u";
  absl::Status s = service_.UpdateRegistryConfig(name, acr, {"type"}, "").status();
  EXPECT_EQ(s.message(), "registry_config.type: immutable");
  s = service_.UpdateRegistryConfig(name, acr, {}, "").status();
  EXPECT_EQ(s.message(), "registry_config.type: immutable");
  acr.type = RegistryType::kUnspecified;
  s = service_.UpdateRegistryConfig(name, acr, {"acr.username"}, "").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "update_mask: path \"acr.username\"")) << s;
  s = service_.UpdateRegistryConfig(name, acr, {"ghcr"}, "").status();
  EXPECT_TRUE(absl::StartsWith(s.message(), "registry_config.acr: does not match")) << s;
  s = service_.UpdateRegistryConfig(name, acr, {"secret_hint"}, "").status();
  EXPECT_EQ(s.message(), "update_mask: unknown path \"secret_hint\"");
  // Re-validation of the merged config names the field.
  s = service_.UpdateRegistryConfig(name, GhcrInput("-bad-", nullptr), {"ghcr.owner"}, "").status();
  EXPECT_TRUE(absl::StartsWith(s.message(), "registry_config.ghcr.owner: ")) << s;
  s = service_.UpdateRegistryConfig(name, GhcrInput("acme", nullptr), {"ghcr"}, "\"7\"").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  s = service_.UpdateRegistryConfig(name, GhcrInput(), {"ghcr"}, "7").status();
  EXPECT_EQ(s.message(), "registry_config.etag: malformed");
  s = service_.UpdateRegistryConfig("workspaces/acme/registries/none", GhcrInput(), {}, "")
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  // Nothing changed.
  RegistryConfig c = *service_.GetRegistryConfig(name);
  EXPECT_EQ(c.version, 1);
  EXPECT_EQ(c.owner, "acme");
}

TEST_F(RegistryServiceTest, SecretNeverInErrors) {
  ASSERT_TRUE(CreateGhcr("gh").ok());
  std::vector<absl::Status> errors;
  RegistryConfigInput bad = GhcrInput();
  bad.secret = SecretString(std::string(kPat) + " with space");
  errors.push_back(service_.CreateRegistryConfig(kWs, "x1", bad).status());
  errors.push_back(service_.CreateRegistryConfig(kWs, "gh", GhcrInput()).status());
  errors.push_back(service_.CreateRegistryConfig(kWs, "BAD", GhcrInput()).status());
  errors.push_back(
      service_.UpdateRegistryConfig("workspaces/acme/registries/gh", bad, {"secret"}, "").status());
  errors.push_back(
      service_.UpdateRegistryConfig("workspaces/acme/registries/gh", GhcrInput(), {"x"}, "")
          .status());
  aead_.set_fail_encrypt(true);
  errors.push_back(service_.CreateRegistryConfig(kWs, "x2", GhcrInput()).status());
  for (const absl::Status& s : errors) {
    EXPECT_FALSE(s.ok());
    EXPECT_FALSE(ContainsSecret(s.message(), kPat)) << s;
  }
  EXPECT_EQ(errors.back().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(errors.back().message(), "encryption failed");
  EXPECT_EQ(service_.GetRegistryConfig("workspaces/acme/registries/x2").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RegistryServiceTest, ListAndDeleteRegistryConfigs) {
  for (const char* id : {"r1", "r2", "r3"}) ASSERT_TRUE(CreateGhcr(id).ok());
  absl::StatusOr<ListResult<RegistryConfig>> p1 = service_.ListRegistryConfigs(kWs, 2, "");
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->items.size(), 2u);
  EXPECT_EQ(p1->items[0].id, "r1");
  absl::StatusOr<ListResult<RegistryConfig>> p2 =
      service_.ListRegistryConfigs(kWs, 2, p1->next_page_token);
  ASSERT_TRUE(p2.ok());
  ASSERT_EQ(p2->items.size(), 1u);
  EXPECT_EQ(p2->items[0].id, "r3");
  EXPECT_TRUE(p2->next_page_token.empty());
  for (const RegistryConfig& c : p1->items) EXPECT_FALSE(ContainsSecret(Leaks(c), kPat));

  EXPECT_EQ(service_.DeleteRegistryConfig("workspaces/acme/registries/r2", "\"3\"").code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(service_.DeleteRegistryConfig("workspaces/acme/registries/r2", "x").message(),
            "etag: malformed");
  EXPECT_TRUE(service_.DeleteRegistryConfig("workspaces/acme/registries/r2", "\"1\"").ok());
  EXPECT_EQ(service_.ListRegistryConfigs(kWs, 0, "")->items.size(), 2u);
  EXPECT_EQ(service_.ListRegistryConfigs("workspaces/none", 0, "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RegistryServiceTest, StoreErrorsPassThrough) {
  store_.set_next_error(absl::UnavailableError("database unreachable"));
  absl::Status s = service_.GetRegistryConfig("workspaces/acme/registries/gh").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "database unreachable");
}

}  // namespace
}  // namespace registryauth::services
