#include "storage/store_conformance.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace registryauth::storage::testing {
namespace {

#define CONF_CONCAT_INNER_(a, b) a##b
#define CONF_CONCAT_(a, b) CONF_CONCAT_INNER_(a, b)
// Asserts that `rexpr` (a StatusOr) is OK and moves its value into `lhs`.
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(CONF_CONCAT_(conf_statusor_, __LINE__), lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  ASSERT_TRUE(statusor.ok()) << statusor.status();       \
  lhs = *std::move(statusor)
#define ASSERT_OK(expr)                    \
  do {                                     \
    const absl::Status conf_s_ = (expr);   \
    ASSERT_TRUE(conf_s_.ok()) << conf_s_;  \
  } while (false)
#define EXPECT_CODE(expr, code_name) \
  EXPECT_EQ((expr).code(), absl::StatusCode::code_name) << (expr)

using KeyCounts = std::map<uint32_t, int64_t>;

// A time with microseconds, like every time the stores hand back.
const absl::Time kT0 = absl::FromUnixMicros(1700000000123456);
const absl::Time kT1 = absl::FromUnixMicros(1700000100654321);

Workspace MakeWorkspace(std::string id) {
  Workspace w;
  w.id = std::move(id);
  w.display_name = "Acme Corp";
  w.create_time = kT0;
  w.update_time = kT0;
  return w;
}

App MakeApp(std::string ws, std::string id) {
  App a;
  a.workspace_id = std::move(ws);
  a.id = std::move(id);
  a.display_name = "Web frontend";
  a.registry_config_id = "ghcr";
  a.create_time = kT0;
  a.update_time = kT0;
  return a;
}

RegistryConfig MakeConfig(std::string ws, std::string id) {
  RegistryConfig c;
  c.workspace_id = std::move(ws);
  c.id = std::move(id);
  c.display_name = "GitHub packages";
  c.type = RegistryType::kGhcr;
  c.owner = "acme-inc";
  c.secret_ciphertext = std::string("\x01\x00\x00\x00\x07ciphertext\x00\xff", 17);
  c.secret_key_id = 7;
  c.secret_hint = "ghp_\xE2\x80\xA6" "a1b2";
  c.validation_status = ValidationStatus::kPending;
  c.create_time = kT0;
  c.update_time = kT0;
  return c;
}

void ExpectSameWorkspace(const Workspace& got, const Workspace& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.display_name, want.display_name);
  EXPECT_EQ(got.create_time, want.create_time);
  EXPECT_EQ(got.update_time, want.update_time);
  EXPECT_EQ(got.version, want.version);
}

void ExpectSameApp(const App& got, const App& want) {
  EXPECT_EQ(got.workspace_id, want.workspace_id);
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.display_name, want.display_name);
  EXPECT_EQ(got.registry_config_id, want.registry_config_id);
  EXPECT_EQ(got.create_time, want.create_time);
  EXPECT_EQ(got.update_time, want.update_time);
  EXPECT_EQ(got.version, want.version);
}

void ExpectSameConfig(const RegistryConfig& got, const RegistryConfig& want) {
  EXPECT_EQ(got.workspace_id, want.workspace_id);
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.display_name, want.display_name);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.owner, want.owner);
  EXPECT_EQ(got.login_server, want.login_server);
  EXPECT_EQ(got.url, want.url);
  EXPECT_EQ(got.repository_namespace, want.repository_namespace);
  EXPECT_EQ(got.username, want.username);
  EXPECT_EQ(got.secret_ciphertext, want.secret_ciphertext);  // binary-safe comparison
  EXPECT_EQ(got.secret_key_id, want.secret_key_id);
  EXPECT_EQ(got.secret_hint, want.secret_hint);
  EXPECT_EQ(got.is_default, want.is_default);
  EXPECT_EQ(got.validation_status, want.validation_status);
  EXPECT_EQ(got.validated_at, want.validated_at);
  EXPECT_EQ(got.last_validation_error, want.last_validation_error);
  EXPECT_EQ(got.create_time, want.create_time);
  EXPECT_EQ(got.update_time, want.update_time);
  EXPECT_EQ(got.version, want.version);
}

std::string Id(std::string_view prefix, int i) {
  return absl::StrFormat("%s%02d", std::string(prefix), i);
}

// Pages through a list with page_size 10 and checks the keyset contract; returns all ids.
template <typename T, typename ListFn>
std::vector<std::string> CollectPages(ListFn list, std::vector<size_t>* page_sizes) {
  std::vector<std::string> ids;
  ListOptions options;
  options.page_size = 10;
  for (int guard = 0; guard < 100; ++guard) {
    absl::StatusOr<Page<T>> page = list(options);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    page_sizes->push_back(page->items.size());
    for (const T& item : page->items) ids.push_back(item.id);
    if (!page->has_more) break;
    EXPECT_FALSE(page->items.empty());
    if (page->items.empty()) break;
    options.start_after = page->items.back().id;
  }
  return ids;
}

std::vector<std::string> ExpectedIds(std::string_view prefix, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(Id(prefix, i));
  return ids;
}

int CountDefaults(RegistryStore& store, const std::string& ws) {
  ListOptions options;
  options.page_size = 1000;
  absl::StatusOr<Page<RegistryConfig>> page = store.ListRegistryConfigs(ws, options);
  EXPECT_TRUE(page.ok()) << page.status();
  if (!page.ok()) return -1;
  return static_cast<int>(std::count_if(page->items.begin(), page->items.end(),
                                        [](const RegistryConfig& c) { return c.is_default; }));
}

}  // namespace

std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

void RegistryStoreConformanceTest::SetUp() {
  if (GetParam().check_available != nullptr) {
    GetParam().check_available();
    if (IsSkipped() || HasFatalFailure()) return;
  }
  absl::StatusOr<std::shared_ptr<RegistryStore>> store = GetParam().make_store();
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
  ASSERT_NE(store_, nullptr);
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RegistryStoreConformanceTest);

// ---- Workspaces

TEST_P(RegistryStoreConformanceTest, CreateWorkspaceStoresVersionOneAndRoundTrips) {
  Workspace in = MakeWorkspace("acme");
  in.version = 42;  // ignored: Create always stores version 1
  ASSERT_OK_AND_ASSIGN(Workspace created, store().CreateWorkspace(in));
  Workspace want = in;
  want.version = 1;
  ExpectSameWorkspace(created, want);
  ASSERT_OK_AND_ASSIGN(Workspace got, store().GetWorkspace("acme"));
  ExpectSameWorkspace(got, want);
}

TEST_P(RegistryStoreConformanceTest, TimesKeepMicrosecondsAndTruncateNanoseconds) {
  Workspace in = MakeWorkspace("acme");
  in.create_time = kT0 + absl::Nanoseconds(999);
  in.update_time = kT1 + absl::Nanoseconds(1);
  ASSERT_OK_AND_ASSIGN(Workspace created, store().CreateWorkspace(in));
  EXPECT_EQ(created.create_time, kT0);
  EXPECT_EQ(created.update_time, kT1);
  ASSERT_OK_AND_ASSIGN(Workspace got, store().GetWorkspace("acme"));
  EXPECT_EQ(got.create_time, kT0);
  EXPECT_EQ(got.update_time, kT1);
  // Before the epoch too.
  Workspace old = MakeWorkspace("old");
  old.create_time = absl::FromUnixMicros(-86400123457);
  old.update_time = absl::InfinitePast();
  ASSERT_OK(store().CreateWorkspace(old).status());
  ASSERT_OK_AND_ASSIGN(Workspace old_got, store().GetWorkspace("old"));
  EXPECT_EQ(old_got.create_time, old.create_time);
  EXPECT_EQ(old_got.update_time, absl::InfinitePast());
}

TEST_P(RegistryStoreConformanceTest, CreateWorkspaceTwiceIsAlreadyExists) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  Workspace again = MakeWorkspace("acme");
  again.display_name = "Other";
  EXPECT_CODE(store().CreateWorkspace(again).status(), kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(Workspace got, store().GetWorkspace("acme"));
  EXPECT_EQ(got.display_name, "Acme Corp");
}

TEST_P(RegistryStoreConformanceTest, InvalidIdIsInvalidArgument) {
  EXPECT_CODE(store().CreateWorkspace(MakeWorkspace("Acme")).status(), kInvalidArgument);
  EXPECT_CODE(store().CreateWorkspace(MakeWorkspace("acme-")).status(), kInvalidArgument);
  EXPECT_CODE(store().CreateWorkspace(MakeWorkspace(std::string(64, 'a'))).status(),
              kInvalidArgument);
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace(std::string(63, 'a'))).status());
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  EXPECT_CODE(store().CreateApp(MakeApp("acme", "9lives")).status(), kInvalidArgument);
  EXPECT_CODE(store().CreateRegistryConfig(MakeConfig("acme", "gh_cr")).status(),
              kInvalidArgument);
  RegistryConfig untyped = MakeConfig("acme", "ghcr");
  untyped.type = RegistryType::kUnspecified;
  EXPECT_CODE(store().CreateRegistryConfig(untyped).status(), kInvalidArgument);
}

TEST_P(RegistryStoreConformanceTest, GetMissingWorkspaceIsNotFound) {
  EXPECT_CODE(store().GetWorkspace("nope").status(), kNotFound);
}

TEST_P(RegistryStoreConformanceTest, UpdateWorkspaceBumpsVersionAndKeepsCreateTime) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  Workspace change = MakeWorkspace("acme");
  change.display_name = "Acme GmbH";
  change.create_time = kT1;  // ignored
  change.update_time = kT1;
  change.version = 99;  // ignored
  ASSERT_OK_AND_ASSIGN(Workspace updated, store().UpdateWorkspace(change, 1));
  EXPECT_EQ(updated.version, 2);
  EXPECT_EQ(updated.display_name, "Acme GmbH");
  EXPECT_EQ(updated.create_time, kT0);
  EXPECT_EQ(updated.update_time, kT1);
  ASSERT_OK_AND_ASSIGN(Workspace got, store().GetWorkspace("acme"));
  ExpectSameWorkspace(got, updated);

  // Stale version: ABORTED, nothing changes.
  change.display_name = "Stale";
  EXPECT_CODE(store().UpdateWorkspace(change, 1).status(), kAborted);
  ASSERT_OK_AND_ASSIGN(got, store().GetWorkspace("acme"));
  EXPECT_EQ(got.display_name, "Acme GmbH");
  EXPECT_EQ(got.version, 2);

  // expected_version 0 skips the check.
  ASSERT_OK_AND_ASSIGN(updated, store().UpdateWorkspace(change, 0));
  EXPECT_EQ(updated.version, 3);
  EXPECT_EQ(updated.display_name, "Stale");

  EXPECT_CODE(store().UpdateWorkspace(MakeWorkspace("nope"), 0).status(), kNotFound);
  EXPECT_CODE(store().UpdateWorkspace(MakeWorkspace("nope"), 1).status(), kNotFound);
}

TEST_P(RegistryStoreConformanceTest, DeleteWorkspaceChecksVersion) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK(store().UpdateWorkspace(MakeWorkspace("acme"), 1).status());
  EXPECT_CODE(store().DeleteWorkspace("acme", 1, false), kAborted);
  ASSERT_OK(store().GetWorkspace("acme").status());
  ASSERT_OK(store().DeleteWorkspace("acme", 2, false));
  EXPECT_CODE(store().GetWorkspace("acme").status(), kNotFound);
  EXPECT_CODE(store().DeleteWorkspace("acme", 0, false), kNotFound);
  // Version 0 skips the check.
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("beta")).status());
  ASSERT_OK(store().DeleteWorkspace("beta", 0, false));
  EXPECT_CODE(store().GetWorkspace("beta").status(), kNotFound);
}

TEST_P(RegistryStoreConformanceTest, DeleteWorkspaceWithChildrenNeedsForce) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("other")).status());
  ASSERT_OK(store().CreateApp(MakeApp("acme", "web")).status());
  EXPECT_CODE(store().DeleteWorkspace("acme", 0, false), kFailedPrecondition);
  ASSERT_OK(store().DeleteApp("acme", "web", 0));
  ASSERT_OK(store().CreateRegistryConfig(MakeConfig("acme", "ghcr")).status());
  EXPECT_CODE(store().DeleteWorkspace("acme", 0, false), kFailedPrecondition);
  ASSERT_OK(store().GetRegistryConfig("acme", "ghcr").status());

  ASSERT_OK(store().CreateApp(MakeApp("acme", "web")).status());
  ASSERT_OK(store().CreateApp(MakeApp("acme", "api")).status());
  RegistryConfig second = MakeConfig("acme", "acr");
  second.is_default = true;
  ASSERT_OK(store().CreateRegistryConfig(second).status());
  ASSERT_OK(store().CreateApp(MakeApp("other", "web")).status());
  ASSERT_OK(store().CreateRegistryConfig(MakeConfig("other", "ghcr")).status());

  // A stale version wins over force.
  EXPECT_CODE(store().DeleteWorkspace("acme", 5, true), kAborted);
  ASSERT_OK(store().DeleteWorkspace("acme", 1, true));
  EXPECT_CODE(store().GetWorkspace("acme").status(), kNotFound);
  EXPECT_CODE(store().GetApp("acme", "web").status(), kNotFound);
  EXPECT_CODE(store().GetApp("acme", "api").status(), kNotFound);
  EXPECT_CODE(store().GetRegistryConfig("acme", "ghcr").status(), kNotFound);
  EXPECT_CODE(store().GetRegistryConfig("acme", "acr").status(), kNotFound);
  // The other workspace is untouched.
  ASSERT_OK(store().GetApp("other", "web").status());
  ASSERT_OK(store().GetRegistryConfig("other", "ghcr").status());
  ASSERT_OK_AND_ASSIGN(KeyCounts counts, store().CountSecretsByKeyId());
  EXPECT_EQ(counts, (KeyCounts{{7, 1}}));
  // The id is free again, with no leftovers.
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK_AND_ASSIGN(Page<App> apps, store().ListApps("acme", {}));
  EXPECT_TRUE(apps.items.empty());
  ASSERT_OK_AND_ASSIGN(Page<RegistryConfig> configs, store().ListRegistryConfigs("acme", {}));
  EXPECT_TRUE(configs.items.empty());
}

TEST_P(RegistryStoreConformanceTest, ListWorkspacesPagesWithoutDuplicatesOrGaps) {
  // Created out of order; listed by id.
  for (int i = 24; i >= 0; --i) {
    ASSERT_OK(store().CreateWorkspace(MakeWorkspace(Id("ws", i))).status());
  }
  std::vector<size_t> sizes;
  std::vector<std::string> ids = CollectPages<Workspace>(
      [this](const ListOptions& o) { return store().ListWorkspaces(o); }, &sizes);
  EXPECT_EQ(ids, ExpectedIds("ws", 25));
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 5}));
  // An exact multiple: the last full page says has_more = false.
  ListOptions options;
  options.page_size = 5;
  options.start_after = Id("ws", 19);
  ASSERT_OK_AND_ASSIGN(Page<Workspace> last, store().ListWorkspaces(options));
  EXPECT_EQ(last.items.size(), 5u);
  EXPECT_FALSE(last.has_more);
  // page_size 0 means the default (50).
  ASSERT_OK_AND_ASSIGN(Page<Workspace> all, store().ListWorkspaces(ListOptions{0, ""}));
  EXPECT_EQ(all.items.size(), 25u);
  EXPECT_FALSE(all.has_more);
}

TEST_P(RegistryStoreConformanceTest, ListOfEmptyStoreIsEmpty) {
  ASSERT_OK_AND_ASSIGN(Page<Workspace> page, store().ListWorkspaces({}));
  EXPECT_TRUE(page.items.empty());
  EXPECT_FALSE(page.has_more);
}

// ---- Apps

TEST_P(RegistryStoreConformanceTest, AppLifecycle) {
  EXPECT_CODE(store().CreateApp(MakeApp("acme", "web")).status(), kNotFound);
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());

  App in = MakeApp("acme", "web");
  in.version = 13;
  ASSERT_OK_AND_ASSIGN(App created, store().CreateApp(in));
  App want = in;
  want.version = 1;
  ExpectSameApp(created, want);
  ASSERT_OK_AND_ASSIGN(App got, store().GetApp("acme", "web"));
  ExpectSameApp(got, want);
  EXPECT_CODE(store().CreateApp(in).status(), kAlreadyExists);
  EXPECT_CODE(store().GetApp("acme", "api").status(), kNotFound);
  EXPECT_CODE(store().GetApp("nope", "web").status(), kNotFound);

  App change = MakeApp("acme", "web");
  change.display_name = "Frontend";
  change.registry_config_id = "";  // back to the workspace default
  change.create_time = kT1;        // ignored
  change.update_time = kT1;
  ASSERT_OK_AND_ASSIGN(App updated, store().UpdateApp(change, 1));
  want = change;
  want.create_time = kT0;
  want.version = 2;
  ExpectSameApp(updated, want);
  ASSERT_OK_AND_ASSIGN(got, store().GetApp("acme", "web"));
  ExpectSameApp(got, want);
  EXPECT_CODE(store().UpdateApp(change, 1).status(), kAborted);
  ASSERT_OK_AND_ASSIGN(updated, store().UpdateApp(change, 0));
  EXPECT_EQ(updated.version, 3);
  EXPECT_CODE(store().UpdateApp(MakeApp("acme", "api"), 0).status(), kNotFound);

  EXPECT_CODE(store().DeleteApp("acme", "web", 2), kAborted);
  ASSERT_OK(store().GetApp("acme", "web").status());
  ASSERT_OK(store().DeleteApp("acme", "web", 3));
  EXPECT_CODE(store().GetApp("acme", "web").status(), kNotFound);
  EXPECT_CODE(store().DeleteApp("acme", "web", 0), kNotFound);
}

TEST_P(RegistryStoreConformanceTest, ListAppsPagesWithinOneWorkspace) {
  EXPECT_CODE(store().ListApps("acme", {}).status(), kNotFound);
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme-2")).status());
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acmf")).status());
  for (int i = 0; i < 25; ++i) {
    ASSERT_OK(store().CreateApp(MakeApp("acme", Id("app", (i * 7) % 25))).status());
    ASSERT_OK(store().CreateApp(MakeApp(i % 2 ? "acme-2" : "acmf", Id("app", i))).status());
  }
  std::vector<size_t> sizes;
  std::vector<std::string> ids = CollectPages<App>(
      [this](const ListOptions& o) { return store().ListApps("acme", o); }, &sizes);
  EXPECT_EQ(ids, ExpectedIds("app", 25));
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 5}));
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("empty")).status());
  ASSERT_OK_AND_ASSIGN(Page<App> empty, store().ListApps("empty", {}));
  EXPECT_TRUE(empty.items.empty());
  EXPECT_FALSE(empty.has_more);
}

// ---- Registry configs

TEST_P(RegistryStoreConformanceTest, RegistryConfigRoundTripsEveryField) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  RegistryConfig in = MakeConfig("acme", "dist");
  in.type = RegistryType::kDistribution;
  in.display_name = "Registry \xC3\xBC \"quoted\" 'single' \\ back";
  in.owner = "";
  in.login_server = "unused.example";
  in.url = "https://registry.internal:5000";
  in.repository_namespace = "teams/acme";
  in.username = "svc-acme";
  std::string ciphertext;
  for (int i = 0; i < 256; ++i) ciphertext.push_back(static_cast<char>(i));
  ciphertext += std::string(3, '\0');
  in.secret_ciphertext = ciphertext;
  in.secret_key_id = std::numeric_limits<uint32_t>::max();
  in.secret_hint = "\xE2\x80\xA6";
  in.is_default = true;
  in.validation_status = ValidationStatus::kInvalid;
  in.validated_at = kT1;
  in.last_validation_error = "401 Unauthorized from https://registry.internal:5000/v2/";
  in.update_time = kT1;
  ASSERT_OK_AND_ASSIGN(RegistryConfig created, store().CreateRegistryConfig(in));
  RegistryConfig want = in;
  want.version = 1;
  ExpectSameConfig(created, want);
  ASSERT_OK_AND_ASSIGN(RegistryConfig got, store().GetRegistryConfig("acme", "dist"));
  ExpectSameConfig(got, want);

  // No secret, no validated_at, every type and status.
  const RegistryType types[] = {RegistryType::kGhcr, RegistryType::kAcr,
                                RegistryType::kGeneric};
  const ValidationStatus statuses[] = {ValidationStatus::kPending, ValidationStatus::kValid,
                                       ValidationStatus::kPending};
  for (int i = 0; i < 3; ++i) {
    RegistryConfig plain = MakeConfig("acme", Id("plain", i));
    plain.type = types[i];
    plain.validation_status = statuses[i];
    plain.secret_ciphertext.clear();
    plain.secret_key_id = 0;
    plain.secret_hint.clear();
    ASSERT_OK(store().CreateRegistryConfig(plain).status());
    ASSERT_OK_AND_ASSIGN(RegistryConfig plain_got,
                         store().GetRegistryConfig("acme", Id("plain", i)));
    want = plain;
    want.version = 1;
    ExpectSameConfig(plain_got, want);
    EXPECT_FALSE(plain_got.validated_at.has_value());
  }
}

TEST_P(RegistryStoreConformanceTest, RegistryConfigLifecycle) {
  EXPECT_CODE(store().CreateRegistryConfig(MakeConfig("acme", "ghcr")).status(), kNotFound);
  RegistryConfig default_in_missing = MakeConfig("acme", "ghcr");
  default_in_missing.is_default = true;
  EXPECT_CODE(store().CreateRegistryConfig(default_in_missing).status(), kNotFound);
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());

  RegistryConfig in = MakeConfig("acme", "ghcr");
  in.version = 5;
  ASSERT_OK_AND_ASSIGN(RegistryConfig created, store().CreateRegistryConfig(in));
  EXPECT_EQ(created.version, 1);
  EXPECT_CODE(store().CreateRegistryConfig(in).status(), kAlreadyExists);
  in.is_default = true;
  EXPECT_CODE(store().CreateRegistryConfig(in).status(), kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(RegistryConfig got, store().GetRegistryConfig("acme", "ghcr"));
  EXPECT_FALSE(got.is_default);
  EXPECT_CODE(store().GetRegistryConfig("acme", "acr").status(), kNotFound);

  // Update replaces every field but ids and create_time.
  RegistryConfig change = MakeConfig("acme", "ghcr");
  change.display_name = "GHCR (rotated)";
  change.owner = "acme-labs";
  change.secret_ciphertext = std::string("\0\0new", 5);
  change.secret_key_id = 8;
  change.secret_hint = "ghp_\xE2\x80\xA6" "zzzz";
  change.validation_status = ValidationStatus::kValid;
  change.validated_at = kT1;
  change.last_validation_error = "";
  change.create_time = kT1;
  change.update_time = kT1;
  ASSERT_OK_AND_ASSIGN(RegistryConfig updated, store().UpdateRegistryConfig(change, 1));
  RegistryConfig want = change;
  want.create_time = kT0;
  want.version = 2;
  ExpectSameConfig(updated, want);
  ASSERT_OK_AND_ASSIGN(got, store().GetRegistryConfig("acme", "ghcr"));
  ExpectSameConfig(got, want);

  // Clearing the secret and validated_at.
  change.secret_ciphertext.clear();
  change.secret_key_id = 0;
  change.validated_at.reset();
  ASSERT_OK_AND_ASSIGN(updated, store().UpdateRegistryConfig(change, 2));
  EXPECT_EQ(updated.version, 3);
  EXPECT_TRUE(updated.secret_ciphertext.empty());
  EXPECT_FALSE(updated.validated_at.has_value());

  EXPECT_CODE(store().UpdateRegistryConfig(change, 2).status(), kAborted);
  change.is_default = true;
  EXPECT_CODE(store().UpdateRegistryConfig(change, 2).status(), kAborted);
  ASSERT_OK_AND_ASSIGN(got, store().GetRegistryConfig("acme", "ghcr"));
  EXPECT_EQ(got.version, 3);
  EXPECT_FALSE(got.is_default);
  change.is_default = false;
  ASSERT_OK_AND_ASSIGN(updated, store().UpdateRegistryConfig(change, 0));
  EXPECT_EQ(updated.version, 4);
  EXPECT_CODE(store().UpdateRegistryConfig(MakeConfig("acme", "acr"), 0).status(), kNotFound);
  RegistryConfig missing_default = MakeConfig("acme", "acr");
  missing_default.is_default = true;
  EXPECT_CODE(store().UpdateRegistryConfig(missing_default, 0).status(), kNotFound);

  EXPECT_CODE(store().DeleteRegistryConfig("acme", "ghcr", 3), kAborted);
  ASSERT_OK(store().GetRegistryConfig("acme", "ghcr").status());
  ASSERT_OK(store().DeleteRegistryConfig("acme", "ghcr", 4));
  EXPECT_CODE(store().GetRegistryConfig("acme", "ghcr").status(), kNotFound);
  EXPECT_CODE(store().DeleteRegistryConfig("acme", "ghcr", 0), kNotFound);
}

TEST_P(RegistryStoreConformanceTest, ListRegistryConfigsPages) {
  EXPECT_CODE(store().ListRegistryConfigs("acme", {}).status(), kNotFound);
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("beta")).status());
  for (int i = 0; i < 25; ++i) {
    ASSERT_OK(store().CreateRegistryConfig(MakeConfig("acme", Id("reg", 24 - i))).status());
  }
  ASSERT_OK(store().CreateRegistryConfig(MakeConfig("beta", Id("reg", 30))).status());
  std::vector<size_t> sizes;
  std::vector<std::string> ids = CollectPages<RegistryConfig>(
      [this](const ListOptions& o) { return store().ListRegistryConfigs("acme", o); }, &sizes);
  EXPECT_EQ(ids, ExpectedIds("reg", 25));
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 5}));
  // Listed configs carry every field, like Get.
  ListOptions one;
  one.page_size = 1;
  ASSERT_OK_AND_ASSIGN(Page<RegistryConfig> first, store().ListRegistryConfigs("acme", one));
  ASSERT_EQ(first.items.size(), 1u);
  EXPECT_TRUE(first.has_more);
  RegistryConfig want = MakeConfig("acme", Id("reg", 0));
  want.version = 1;
  ExpectSameConfig(first.items[0], want);
}

TEST_P(RegistryStoreConformanceTest, CreateDefaultClearsPreviousDefault) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("beta")).status());
  RegistryConfig beta = MakeConfig("beta", "ghcr");
  beta.is_default = true;
  ASSERT_OK(store().CreateRegistryConfig(beta).status());

  RegistryConfig a = MakeConfig("acme", "a");
  a.is_default = true;
  ASSERT_OK(store().CreateRegistryConfig(a).status());
  ASSERT_OK(store().CreateRegistryConfig(MakeConfig("acme", "b")).status());
  EXPECT_EQ(CountDefaults(store(), "acme"), 1);

  RegistryConfig c = MakeConfig("acme", "c");
  c.is_default = true;
  c.update_time = kT1;
  ASSERT_OK_AND_ASSIGN(RegistryConfig created, store().CreateRegistryConfig(c));
  EXPECT_TRUE(created.is_default);
  EXPECT_EQ(CountDefaults(store(), "acme"), 1);
  ASSERT_OK_AND_ASSIGN(RegistryConfig old, store().GetRegistryConfig("acme", "a"));
  EXPECT_FALSE(old.is_default);
  EXPECT_EQ(old.version, 2);  // it changed, so its version moved
  EXPECT_EQ(old.update_time, kT1);
  ASSERT_OK_AND_ASSIGN(RegistryConfig untouched, store().GetRegistryConfig("acme", "b"));
  EXPECT_EQ(untouched.version, 1);
  // Another workspace keeps its own default.
  ASSERT_OK_AND_ASSIGN(RegistryConfig beta_got, store().GetRegistryConfig("beta", "ghcr"));
  EXPECT_TRUE(beta_got.is_default);
  EXPECT_EQ(beta_got.version, 1);
}

TEST_P(RegistryStoreConformanceTest, UpdateDefaultClearsPreviousDefault) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  RegistryConfig a = MakeConfig("acme", "a");
  a.is_default = true;
  ASSERT_OK(store().CreateRegistryConfig(a).status());
  ASSERT_OK(store().CreateRegistryConfig(MakeConfig("acme", "b")).status());

  RegistryConfig b = MakeConfig("acme", "b");
  b.is_default = true;
  b.update_time = kT1;
  ASSERT_OK_AND_ASSIGN(RegistryConfig updated, store().UpdateRegistryConfig(b, 1));
  EXPECT_TRUE(updated.is_default);
  EXPECT_EQ(updated.version, 2);
  EXPECT_EQ(CountDefaults(store(), "acme"), 1);
  ASSERT_OK_AND_ASSIGN(RegistryConfig old, store().GetRegistryConfig("acme", "a"));
  EXPECT_FALSE(old.is_default);
  EXPECT_EQ(old.version, 2);

  // Re-asserting the current default changes nothing else.
  ASSERT_OK_AND_ASSIGN(updated, store().UpdateRegistryConfig(b, 2));
  EXPECT_EQ(updated.version, 3);
  ASSERT_OK_AND_ASSIGN(old, store().GetRegistryConfig("acme", "a"));
  EXPECT_EQ(old.version, 2);
  EXPECT_EQ(CountDefaults(store(), "acme"), 1);

  // Clearing the flag leaves no default.
  b.is_default = false;
  ASSERT_OK(store().UpdateRegistryConfig(b, 3).status());
  EXPECT_EQ(CountDefaults(store(), "acme"), 0);
}

// ---- Operations

TEST_P(RegistryStoreConformanceTest, PingIsOk) { ASSERT_OK(store().Ping()); }

TEST_P(RegistryStoreConformanceTest, CountSecretsByKeyId) {
  ASSERT_OK_AND_ASSIGN(KeyCounts counts, store().CountSecretsByKeyId());
  EXPECT_TRUE(counts.empty());
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("beta")).status());
  const std::pair<const char*, uint32_t> rows[] = {
      {"acme", 1}, {"acme", 1}, {"beta", 1}, {"beta", 2}, {"acme", 4000000000u}};
  int n = 0;
  for (const auto& [ws, key_id] : rows) {
    RegistryConfig c = MakeConfig(ws, Id("reg", n++));
    c.secret_key_id = key_id;
    ASSERT_OK(store().CreateRegistryConfig(c).status());
  }
  RegistryConfig no_secret = MakeConfig("acme", "plain");
  no_secret.secret_ciphertext.clear();
  no_secret.secret_key_id = 1;  // not counted: there is no secret
  ASSERT_OK(store().CreateRegistryConfig(no_secret).status());
  ASSERT_OK_AND_ASSIGN(counts, store().CountSecretsByKeyId());
  EXPECT_EQ(counts, (KeyCounts{{1, 3}, {2, 1}, {4000000000u, 1}}));

  // Re-encrypting with key 2 moves the count.
  RegistryConfig rotated = MakeConfig("acme", Id("reg", 0));
  rotated.secret_key_id = 2;
  ASSERT_OK(store().UpdateRegistryConfig(rotated, 0).status());
  ASSERT_OK(store().DeleteRegistryConfig("acme", Id("reg", 4), 0));
  ASSERT_OK_AND_ASSIGN(counts, store().CountSecretsByKeyId());
  EXPECT_EQ(counts, (KeyCounts{{1, 2}, {2, 2}}));
}

// ---- Concurrency

TEST_P(RegistryStoreConformanceTest, ConcurrentUpdatesWithExpectedVersion) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK(store().CreateRegistryConfig(MakeConfig("acme", "ghcr")).status());
  constexpr int kThreads = 8;
  constexpr int kAttempts = 10;
  std::atomic<int> successes{0};
  std::atomic<int> aborted{0};
  std::atomic<int> other_errors{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kAttempts; ++i) {
        absl::StatusOr<RegistryConfig> current = store().GetRegistryConfig("acme", "ghcr");
        if (!current.ok()) {
          ++other_errors;
          continue;
        }
        RegistryConfig next = *current;
        next.display_name = absl::StrCat("writer ", t, " attempt ", i);
        next.is_default = (i % 2 == 0);  // exercise the transactional path too
        absl::StatusOr<RegistryConfig> updated =
            store().UpdateRegistryConfig(next, current->version);
        if (updated.ok()) {
          ++successes;
          if (updated->version != current->version + 1) ++other_errors;
        } else if (absl::IsAborted(updated.status())) {
          ++aborted;
        } else {
          ++other_errors;
        }
      }
    });
  }
  go.store(true);
  for (std::thread& thread : threads) thread.join();
  RecordProperty("successes", successes.load());
  RecordProperty("aborted", aborted.load());
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_EQ(successes.load() + aborted.load(), kThreads * kAttempts);
  EXPECT_GE(successes.load(), 1);
  ASSERT_OK_AND_ASSIGN(RegistryConfig final_row, store().GetRegistryConfig("acme", "ghcr"));
  // Exactly the successful updates moved the version: no lost or doubled update.
  EXPECT_EQ(final_row.version, 1 + successes.load());
}

}  // namespace registryauth::storage::testing
