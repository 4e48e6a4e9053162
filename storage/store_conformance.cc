#include "storage/store_conformance.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
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
// `statusor` names a variable and `lhs` may be a declaration: neither can be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  ASSERT_TRUE(statusor.ok()) << statusor.status();       \
  lhs = *std::move(statusor)
// NOLINTEND(bugprone-macro-parentheses)
#define ASSERT_OK(expr)                   \
  do {                                    \
    const absl::Status conf_s_ = (expr);  \
    ASSERT_TRUE(conf_s_.ok()) << conf_s_; \
  } while (false)
#define EXPECT_CODE(expr, code_name) EXPECT_EQ((expr).code(), absl::StatusCode::code_name) << (expr)

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
  c.secret_ciphertext = std::string(
      "\x01\x00\x00\x00\x07"  // split: "\x07c..." would be one hex escape, 0x7c
      "ciphertext\x00\xff",
      17);
  c.secret_key_id = 7;
  c.secret_hint =
      "ghp_\xE2\x80\xA6"
      "a1b2";
  c.validation_status = ValidationStatus::kPending;
  c.create_time = kT0;
  c.update_time = kT0;
  return c;
}

Member MakeMember(std::string ws, std::string user, MemberRole role = MemberRole::kMember,
                  MemberStatus status = MemberStatus::kActive) {
  Member m;
  m.workspace_id = std::move(ws);
  m.user_id = std::move(user);
  m.role = role;
  m.status = status;
  m.create_time = kT0;
  m.update_time = kT0;
  return m;
}

// An audit event at kT0 + `second` seconds.
AuditEvent MakeEvent(std::string resource, std::string caller, int second = 0) {
  AuditEvent e;
  e.time = kT0 + absl::Seconds(second);
  e.caller = std::move(caller);
  e.action = "GetRegistryConfig";
  e.resource = std::move(resource);
  e.outcome = "OK";
  e.request_id = "req-1";
  e.peer = "ipv4:127.0.0.1:50000";
  return e;
}

constexpr char kCallerA[] = "spiffe://cluster.local/ns/platform/sa/frontend";
constexpr char kCallerB[] = "spiffe://cluster.local/ns/platform/sa/worker";

void ExpectSameMember(const Member& got, const Member& want) {
  EXPECT_EQ(got.workspace_id, want.workspace_id);
  EXPECT_EQ(got.user_id, want.user_id);
  EXPECT_EQ(got.role, want.role);
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.create_time, want.create_time);
  EXPECT_EQ(got.update_time, want.update_time);
  EXPECT_EQ(got.version, want.version);
}

// Every field but the id.
void ExpectSameEvent(const AuditEvent& got, const AuditEvent& want) {
  EXPECT_EQ(got.time, want.time);
  EXPECT_EQ(got.caller, want.caller);
  EXPECT_EQ(got.on_behalf_of, want.on_behalf_of);
  EXPECT_EQ(got.action, want.action);
  EXPECT_EQ(got.resource, want.resource);
  EXPECT_EQ(got.outcome, want.outcome);
  EXPECT_EQ(got.detail, want.detail);
  EXPECT_EQ(got.request_id, want.request_id);
  EXPECT_EQ(got.peer, want.peer);
}

std::vector<std::string> WorkspaceIds(const Page<Workspace>& page) {
  std::vector<std::string> ids;
  for (const Workspace& w : page.items) ids.push_back(w.id);
  return ids;
}

std::vector<std::string> ConfigKeys(const std::vector<RegistryConfig>& configs) {
  std::vector<std::string> keys;
  for (const RegistryConfig& c : configs) keys.push_back(absl::StrCat(c.workspace_id, "/", c.id));
  return keys;
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
  EXPECT_EQ(got.public_pull, want.public_pull);
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
  EXPECT_EQ(got.pull_only, want.pull_only);
  EXPECT_EQ(got.app_id, want.app_id);
  EXPECT_EQ(got.installation_id, want.installation_id);
  EXPECT_EQ(got.repositories, want.repositories);
  EXPECT_EQ(got.permissions, want.permissions);
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

// Pages through a list with page_size 10 and checks the keyset contract; returns all ids
// (`id_of(item)`).
template <typename T, typename ListFn, typename IdOf>
std::vector<std::string> CollectPagesBy(ListFn list, IdOf id_of, std::vector<size_t>* page_sizes) {
  std::vector<std::string> ids;
  ListOptions options;
  options.page_size = 10;
  for (int guard = 0; guard < 100; ++guard) {
    absl::StatusOr<Page<T>> page = list(options);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    page_sizes->push_back(page->items.size());
    for (const T& item : page->items) ids.push_back(id_of(item));
    if (!page->has_more) break;
    EXPECT_FALSE(page->items.empty());
    if (page->items.empty()) break;
    options.start_after = id_of(page->items.back());
  }
  return ids;
}

template <typename T, typename ListFn>
std::vector<std::string> CollectPages(ListFn list, std::vector<size_t>* page_sizes) {
  return CollectPagesBy<T>(
      list, [](const T& item) { return item.id; }, page_sizes);
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
  EXPECT_CODE(store().CreateRegistryConfig(MakeConfig("acme", "gh_cr")).status(), kInvalidArgument);
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
  change.public_pull = true;
  change.create_time = kT1;  // ignored
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
  const RegistryType types[] = {RegistryType::kGhcr, RegistryType::kAcr, RegistryType::kGeneric};
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
  change.secret_hint =
      "ghp_\xE2\x80\xA6"
      "zzzz";
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

// ---- Members

TEST_P(RegistryStoreConformanceTest, MemberLifecycle) {
  EXPECT_CODE(store().CreateMember(MakeMember("acme", "alice")).status(), kNotFound);
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());

  Member in = MakeMember("acme", "alice@example.com", MemberRole::kOwner);
  in.version = 9;  // ignored
  ASSERT_OK_AND_ASSIGN(Member created, store().CreateMember(in));
  Member want = in;
  want.version = 1;
  ExpectSameMember(created, want);
  ASSERT_OK_AND_ASSIGN(Member got, store().GetMember("acme", "alice@example.com"));
  ExpectSameMember(got, want);
  Member again = in;
  again.role = MemberRole::kMember;
  EXPECT_CODE(store().CreateMember(again).status(), kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(got, store().GetMember("acme", "alice@example.com"));
  EXPECT_EQ(got.role, MemberRole::kOwner);
  EXPECT_CODE(store().GetMember("acme", "bob").status(), kNotFound);
  EXPECT_CODE(store().GetMember("nope", "alice@example.com").status(), kNotFound);

  // Update replaces role and status, keeps create_time, moves the version.
  Member change =
      MakeMember("acme", "alice@example.com", MemberRole::kAdmin, MemberStatus::kInvited);
  change.create_time = kT1;  // ignored
  change.update_time = kT1;
  change.version = 77;  // ignored
  ASSERT_OK_AND_ASSIGN(Member updated, store().UpdateMember(change, 1));
  want = change;
  want.create_time = kT0;
  want.version = 2;
  ExpectSameMember(updated, want);
  ASSERT_OK_AND_ASSIGN(got, store().GetMember("acme", "alice@example.com"));
  ExpectSameMember(got, want);
  change.status = MemberStatus::kRemoved;
  EXPECT_CODE(store().UpdateMember(change, 1).status(), kAborted);
  ASSERT_OK_AND_ASSIGN(got, store().GetMember("acme", "alice@example.com"));
  EXPECT_EQ(got.version, 2);
  EXPECT_EQ(got.status, MemberStatus::kInvited);
  ASSERT_OK_AND_ASSIGN(updated, store().UpdateMember(change, 0));
  EXPECT_EQ(updated.version, 3);
  EXPECT_EQ(updated.status, MemberStatus::kRemoved);
  EXPECT_CODE(store().UpdateMember(MakeMember("acme", "bob"), 0).status(), kNotFound);
  EXPECT_CODE(store().UpdateMember(MakeMember("acme", "bob"), 1).status(), kNotFound);
  EXPECT_CODE(store().UpdateMember(MakeMember("nope", "alice@example.com"), 0).status(), kNotFound);

  EXPECT_CODE(store().DeleteMember("acme", "alice@example.com", 2), kAborted);
  ASSERT_OK(store().GetMember("acme", "alice@example.com").status());
  ASSERT_OK(store().DeleteMember("acme", "alice@example.com", 3));
  EXPECT_CODE(store().GetMember("acme", "alice@example.com").status(), kNotFound);
  EXPECT_CODE(store().DeleteMember("acme", "alice@example.com", 0), kNotFound);
  EXPECT_CODE(store().DeleteMember("nope", "alice@example.com", 0), kNotFound);
  // The id is free again, starting over at version 1.
  ASSERT_OK_AND_ASSIGN(created, store().CreateMember(in));
  EXPECT_EQ(created.version, 1);
}

// ChangeMemberLocked (issue 17): the decision sees the member, the acting user's membership
// and the ACTIVE OWNERs; it writes what the decision returns, nothing when it refuses, and
// checks the version like UpdateMember and DeleteMember.
TEST_P(RegistryStoreConformanceTest, ChangeMemberLockedDecidesOnWhatItReadAndWrites) {
  using storage::MemberChange;
  using storage::MemberChangeView;
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK(store().CreateMember(MakeMember("acme", "alice", MemberRole::kOwner)).status());
  ASSERT_OK(store().CreateMember(MakeMember("acme", "bob", MemberRole::kOwner)).status());
  ASSERT_OK(
      store()
          .CreateMember(MakeMember("acme", "carol", MemberRole::kOwner, MemberStatus::kInvited))
          .status());
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("beta")).status());
  ASSERT_OK(store().CreateMember(MakeMember("beta", "dave", MemberRole::kOwner)).status());

  MemberChangeView seen;
  auto demote = [&](const MemberChangeView& v) -> absl::StatusOr<MemberChange> {
    seen = v;
    MemberChange c;
    c.updated = v.target;
    c.updated.role = MemberRole::kAdmin;
    c.updated.update_time = kT1;
    return c;
  };
  ASSERT_OK_AND_ASSIGN(Member demoted,
                       store().ChangeMemberLocked("acme", "bob", "alice", 1, demote));
  EXPECT_EQ(seen.target.user_id, "bob");
  EXPECT_EQ(seen.target.role, MemberRole::kOwner);
  ASSERT_TRUE(seen.acting.has_value());
  EXPECT_EQ(seen.acting->user_id, "alice");
  EXPECT_EQ(seen.active_owners, 2);  // carol is INVITED; beta's owner is another workspace's
  EXPECT_EQ(demoted.role, MemberRole::kAdmin);
  EXPECT_EQ(demoted.version, 2);
  EXPECT_EQ(demoted.update_time, kT1);
  EXPECT_EQ(demoted.create_time, kT0);
  ASSERT_OK_AND_ASSIGN(Member got, store().GetMember("acme", "bob"));
  EXPECT_EQ(got.role, MemberRole::kAdmin);

  // An acting user who is no member, or none asked for.
  ASSERT_OK(store().ChangeMemberLocked("acme", "bob", "zed", 0, demote).status());
  EXPECT_FALSE(seen.acting.has_value());
  EXPECT_EQ(seen.active_owners, 1);
  ASSERT_OK(store().ChangeMemberLocked("acme", "bob", "", 0, demote).status());
  EXPECT_FALSE(seen.acting.has_value());

  // A refusal writes nothing.
  auto refuse = [](const MemberChangeView&) -> absl::StatusOr<MemberChange> {
    return absl::FailedPreconditionError("no");
  };
  EXPECT_CODE(store().ChangeMemberLocked("acme", "alice", "", 0, refuse).status(),
              kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(got, store().GetMember("acme", "alice"));
  EXPECT_EQ(got.role, MemberRole::kOwner);
  EXPECT_EQ(got.version, 1);

  // Versions, and what is missing.
  EXPECT_CODE(store().ChangeMemberLocked("acme", "bob", "", 1, demote).status(), kAborted);
  EXPECT_CODE(store().ChangeMemberLocked("acme", "nobody", "", 0, demote).status(), kNotFound);
  EXPECT_CODE(store().ChangeMemberLocked("nope", "bob", "", 0, demote).status(), kNotFound);

  // A removal returns the row as it was.
  auto remove = [](const MemberChangeView&) -> absl::StatusOr<MemberChange> {
    MemberChange c;
    c.remove = true;
    return c;
  };
  EXPECT_CODE(store().ChangeMemberLocked("acme", "carol", "", 7, remove).status(), kAborted);
  ASSERT_OK_AND_ASSIGN(Member removed, store().ChangeMemberLocked("acme", "carol", "", 1, remove));
  EXPECT_EQ(removed.user_id, "carol");
  EXPECT_EQ(removed.status, MemberStatus::kInvited);
  EXPECT_CODE(store().GetMember("acme", "carol").status(), kNotFound);
}

TEST_P(RegistryStoreConformanceTest, MemberValuesFollowTheSchema) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  const std::string bad_ids[] = {
      "", "has space", "tab\tx", std::string(257, 'u'), "caf\xC3\xA9", "del\x7f", "\x01"};
  for (const std::string& id : bad_ids) {
    absl::Status status = store().CreateMember(MakeMember("acme", id)).status();
    EXPECT_CODE(status, kInvalidArgument);
    EXPECT_NE(status.message().find("workspace_members_user_id_format"), std::string::npos)
        << status;
  }
  ASSERT_OK(store().CreateMember(MakeMember("acme", std::string(256, 'u'))).status());
  ASSERT_OK(store().CreateMember(MakeMember("acme", "!~spiffe://x/y?z=1&w=\"q\"")).status());
  ASSERT_OK_AND_ASSIGN(Member odd, store().GetMember("acme", "!~spiffe://x/y?z=1&w=\"q\""));
  EXPECT_EQ(odd.user_id, "!~spiffe://x/y?z=1&w=\"q\"");

  Member no_role = MakeMember("acme", "bob");
  no_role.role = MemberRole::kUnspecified;
  EXPECT_CODE(store().CreateMember(no_role).status(), kInvalidArgument);
  Member no_status = MakeMember("acme", "bob");
  no_status.status = MemberStatus::kUnspecified;
  EXPECT_CODE(store().CreateMember(no_status).status(), kInvalidArgument);
  EXPECT_CODE(store().GetMember("acme", "bob").status(), kNotFound);

  // Every role and status round-trips; an update to an unknown one changes nothing.
  const MemberRole roles[] = {MemberRole::kOwner, MemberRole::kAdmin, MemberRole::kMember};
  const MemberStatus statuses[] = {MemberStatus::kActive, MemberStatus::kInvited,
                                   MemberStatus::kRemoved};
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(
        store().CreateMember(MakeMember("acme", Id("user", i), roles[i], statuses[i])).status());
    ASSERT_OK_AND_ASSIGN(Member got, store().GetMember("acme", Id("user", i)));
    EXPECT_EQ(got.role, roles[i]);
    EXPECT_EQ(got.status, statuses[i]);
  }
  no_role.user_id = Id("user", 0);
  EXPECT_CODE(store().UpdateMember(no_role, 0).status(), kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(Member unchanged, store().GetMember("acme", Id("user", 0)));
  EXPECT_EQ(unchanged.role, MemberRole::kOwner);
  EXPECT_EQ(unchanged.version, 1);
}

TEST_P(RegistryStoreConformanceTest, ListMembersPagesByUserIdBytewise) {
  EXPECT_CODE(store().ListMembers("acme", {}).status(), kNotFound);
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme-2")).status());
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acmf")).status());
  for (int i = 0; i < 25; ++i) {
    ASSERT_OK(store().CreateMember(MakeMember("acme", Id("user", (i * 7) % 25))).status());
    ASSERT_OK(store().CreateMember(MakeMember(i % 2 ? "acme-2" : "acmf", Id("user", i))).status());
  }
  std::vector<size_t> sizes;
  std::vector<std::string> ids = CollectPagesBy<Member>(
      [this](const ListOptions& o) { return store().ListMembers("acme", o); },
      [](const Member& m) { return m.user_id; }, &sizes);
  EXPECT_EQ(ids, ExpectedIds("user", 25));
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 5}));
  // Listed members carry every field.
  ListOptions one;
  one.page_size = 1;
  ASSERT_OK_AND_ASSIGN(Page<Member> first, store().ListMembers("acme", one));
  ASSERT_EQ(first.items.size(), 1u);
  EXPECT_TRUE(first.has_more);
  Member want = MakeMember("acme", Id("user", 0));
  want.version = 1;
  ExpectSameMember(first.items[0], want);

  // Bytewise, whatever the database locale: digits < upper case < '_' < lower case < '~'.
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("bytes")).status());
  for (const char* user : {"alice", "~tilde", "Bob", "_x", "Zed", "a.b", "0"}) {
    ASSERT_OK(store().CreateMember(MakeMember("bytes", user)).status());
  }
  ASSERT_OK_AND_ASSIGN(Page<Member> all, store().ListMembers("bytes", {}));
  std::vector<std::string> users;
  for (const Member& m : all.items) users.push_back(m.user_id);
  EXPECT_EQ(users, (std::vector<std::string>{"0", "Bob", "Zed", "_x", "a.b", "alice", "~tilde"}));
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("empty")).status());
  ASSERT_OK_AND_ASSIGN(Page<Member> empty, store().ListMembers("empty", {}));
  EXPECT_TRUE(empty.items.empty());
  EXPECT_FALSE(empty.has_more);
}

TEST_P(RegistryStoreConformanceTest, ListWorkspacesOfUserListsActiveMembershipsOnly) {
  for (const char* ws : {"a1", "b2", "c3", "d4", "e5", "f6"}) {
    ASSERT_OK(store().CreateWorkspace(MakeWorkspace(ws)).status());
  }
  ASSERT_OK(store().CreateMember(MakeMember("f6", "alice")).status());
  ASSERT_OK(store().CreateMember(MakeMember("a1", "alice", MemberRole::kOwner)).status());
  ASSERT_OK(
      store()
          .CreateMember(MakeMember("b2", "alice", MemberRole::kMember, MemberStatus::kInvited))
          .status());
  ASSERT_OK(store()
                .CreateMember(MakeMember("c3", "alice", MemberRole::kAdmin, MemberStatus::kRemoved))
                .status());
  ASSERT_OK(store().CreateMember(MakeMember("d4", "alice", MemberRole::kAdmin)).status());
  ASSERT_OK(store().CreateMember(MakeMember("d4", "bob")).status());
  ASSERT_OK(store().CreateMember(MakeMember("e5", "bob")).status());
  ASSERT_OK(store().CreateMember(MakeMember("e5", "alicia")).status());

  ASSERT_OK_AND_ASSIGN(Page<Workspace> page, store().ListWorkspacesOfUser("alice", {}));
  EXPECT_EQ(WorkspaceIds(page), (std::vector<std::string>{"a1", "d4", "f6"}));
  EXPECT_FALSE(page.has_more);
  ASSERT_FALSE(page.items.empty());
  Workspace want = MakeWorkspace("a1");
  want.version = 1;
  ExpectSameWorkspace(page.items[0], want);  // whole workspace rows

  ListOptions options;
  options.page_size = 2;
  ASSERT_OK_AND_ASSIGN(page, store().ListWorkspacesOfUser("alice", options));
  EXPECT_EQ(WorkspaceIds(page), (std::vector<std::string>{"a1", "d4"}));
  EXPECT_TRUE(page.has_more);
  options.start_after = "d4";
  ASSERT_OK_AND_ASSIGN(page, store().ListWorkspacesOfUser("alice", options));
  EXPECT_EQ(WorkspaceIds(page), (std::vector<std::string>{"f6"}));
  EXPECT_FALSE(page.has_more);
  options.start_after = "b";  // need not be an existing id
  ASSERT_OK_AND_ASSIGN(page, store().ListWorkspacesOfUser("alice", options));
  EXPECT_EQ(WorkspaceIds(page), (std::vector<std::string>{"d4", "f6"}));

  // Status changes move workspaces in and out.
  ASSERT_OK(
      store()
          .UpdateMember(MakeMember("d4", "alice", MemberRole::kAdmin, MemberStatus::kRemoved), 1)
          .status());
  ASSERT_OK(store().UpdateMember(MakeMember("b2", "alice"), 1).status());
  ASSERT_OK(store().DeleteMember("a1", "alice", 0));
  ASSERT_OK_AND_ASSIGN(page, store().ListWorkspacesOfUser("alice", {}));
  EXPECT_EQ(WorkspaceIds(page), (std::vector<std::string>{"b2", "f6"}));
  ASSERT_OK_AND_ASSIGN(page, store().ListWorkspacesOfUser("bob", {}));
  EXPECT_EQ(WorkspaceIds(page), (std::vector<std::string>{"d4", "e5"}));

  // Unknown users (user ids are case-sensitive and exact) have no workspaces.
  for (const char* user : {"Alice", "ali", "nobody"}) {
    ASSERT_OK_AND_ASSIGN(page, store().ListWorkspacesOfUser(user, {}));
    EXPECT_TRUE(page.items.empty()) << user;
    EXPECT_FALSE(page.has_more);
  }
}

TEST_P(RegistryStoreConformanceTest, CreateWorkspaceWithMemberIsAtomic) {
  Workspace ws = MakeWorkspace("acme");
  ws.version = 7;  // ignored
  Member owner = MakeMember("ignored", "alice", MemberRole::kOwner);
  owner.version = 5;  // ignored
  ASSERT_OK_AND_ASSIGN(Workspace created, store().CreateWorkspaceWithMember(ws, owner));
  Workspace want_ws = ws;
  want_ws.version = 1;
  ExpectSameWorkspace(created, want_ws);
  ASSERT_OK_AND_ASSIGN(Workspace got_ws, store().GetWorkspace("acme"));
  ExpectSameWorkspace(got_ws, want_ws);
  ASSERT_OK_AND_ASSIGN(Member got_member, store().GetMember("acme", "alice"));
  Member want_member = owner;
  want_member.workspace_id = "acme";  // taken from the workspace
  want_member.version = 1;
  ExpectSameMember(got_member, want_member);
  EXPECT_CODE(store().GetMember("ignored", "alice").status(), kNotFound);
  ASSERT_OK_AND_ASSIGN(Page<Workspace> mine, store().ListWorkspacesOfUser("alice", {}));
  EXPECT_EQ(WorkspaceIds(mine), (std::vector<std::string>{"acme"}));

  // An existing workspace: ALREADY_EXISTS and nothing changes.
  Workspace again = MakeWorkspace("acme");
  again.display_name = "Other";
  EXPECT_CODE(store().CreateWorkspaceWithMember(again, MakeMember("acme", "bob")).status(),
              kAlreadyExists);
  EXPECT_CODE(store().GetMember("acme", "bob").status(), kNotFound);
  ASSERT_OK_AND_ASSIGN(got_ws, store().GetWorkspace("acme"));
  EXPECT_EQ(got_ws.display_name, "Acme Corp");

  // A member the schema refuses: no workspace is left behind.
  EXPECT_CODE(store()
                  .CreateWorkspaceWithMember(MakeWorkspace("beta"), MakeMember("beta", "has space"))
                  .status(),
              kInvalidArgument);
  EXPECT_CODE(store().GetWorkspace("beta").status(), kNotFound);
  Member no_role = MakeMember("beta", "bob");
  no_role.role = MemberRole::kUnspecified;
  EXPECT_CODE(store().CreateWorkspaceWithMember(MakeWorkspace("beta"), no_role).status(),
              kInvalidArgument);
  EXPECT_CODE(store().GetWorkspace("beta").status(), kNotFound);
  // A workspace the schema refuses: no member either.
  EXPECT_CODE(
      store().CreateWorkspaceWithMember(MakeWorkspace("Beta"), MakeMember("Beta", "bob")).status(),
      kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(Page<Workspace> all, store().ListWorkspaces({}));
  EXPECT_EQ(WorkspaceIds(all), (std::vector<std::string>{"acme"}));
  ASSERT_OK_AND_ASSIGN(Page<Workspace> bobs, store().ListWorkspacesOfUser("bob", {}));
  EXPECT_TRUE(bobs.items.empty());

  // The failed attempts left nothing that blocks a proper create.
  ASSERT_OK(
      store().CreateWorkspaceWithMember(MakeWorkspace("beta"), MakeMember("", "bob")).status());
  ASSERT_OK(store().GetMember("beta", "bob").status());
}

TEST_P(RegistryStoreConformanceTest, DeleteWorkspaceDeletesItsMembers) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("other")).status());
  ASSERT_OK(store().CreateMember(MakeMember("acme", "alice", MemberRole::kOwner)).status());
  ASSERT_OK(store().CreateMember(MakeMember("acme", "bob")).status());
  ASSERT_OK(store().CreateMember(MakeMember("other", "alice")).status());

  // Members alone never block a delete, even without force.
  ASSERT_OK(store().DeleteWorkspace("acme", 1, false));
  EXPECT_CODE(store().GetMember("acme", "alice").status(), kNotFound);
  EXPECT_CODE(store().GetMember("acme", "bob").status(), kNotFound);
  ASSERT_OK_AND_ASSIGN(Page<Workspace> mine, store().ListWorkspacesOfUser("alice", {}));
  EXPECT_EQ(WorkspaceIds(mine), (std::vector<std::string>{"other"}));
  ASSERT_OK(store().GetMember("other", "alice").status());

  // With apps it still needs force; then members go with everything else.
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("beta")).status());
  ASSERT_OK(store().CreateMember(MakeMember("beta", "carol")).status());
  ASSERT_OK(store().CreateApp(MakeApp("beta", "web")).status());
  EXPECT_CODE(store().DeleteWorkspace("beta", 0, false), kFailedPrecondition);
  ASSERT_OK(store().GetMember("beta", "carol").status());
  ASSERT_OK(store().DeleteWorkspace("beta", 0, true));
  EXPECT_CODE(store().GetMember("beta", "carol").status(), kNotFound);

  // The ids are free again, with no leftovers.
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK_AND_ASSIGN(Page<Member> members, store().ListMembers("acme", {}));
  EXPECT_TRUE(members.items.empty());
  ASSERT_OK(store().CreateMember(MakeMember("acme", "alice")).status());
  ASSERT_OK_AND_ASSIGN(Member again, store().GetMember("acme", "alice"));
  EXPECT_EQ(again.version, 1);
}

// ---- Audit trail

TEST_P(RegistryStoreConformanceTest, AuditEventsAppendAndListNewestFirst) {
  ASSERT_OK_AND_ASSIGN(Page<AuditEvent> empty, store().ListAuditEvents({}, 0, 0));
  EXPECT_TRUE(empty.items.empty());
  EXPECT_FALSE(empty.has_more);

  AuditEvent in = MakeEvent("workspaces/acme/registries/gh", kCallerA);
  in.id = 12345;                           // ignored
  in.time = kT0 + absl::Nanoseconds(999);  // kept to the microsecond
  in.on_behalf_of = "user-42";
  in.action = "GetCredentials";
  in.outcome = "PERMISSION_DENIED";
  in.detail = "caller may not read \"gh\" \xE2\x80\x94 'quoted' \\ back";
  in.request_id = "7f3c9a1e-0000-4000-8000-000000000001";
  std::vector<AuditEvent> appended;
  ASSERT_OK_AND_ASSIGN(AuditEvent first, store().AppendAuditEvent(in));
  AuditEvent want = in;
  want.time = kT0;
  ExpectSameEvent(first, want);
  EXPECT_GT(first.id, 0);
  appended.push_back(first);
  // Events need not arrive in time order; the id is the order.
  for (int i = 0; i < 3; ++i) {
    AuditEvent next =
        MakeEvent(absl::StrCat("workspaces/w", i), i % 2 ? kCallerA : kCallerB, 10 - i);
    next.time = i == 2 ? absl::InfinitePast() : next.time;
    ASSERT_OK_AND_ASSIGN(AuditEvent stored, store().AppendAuditEvent(next));
    ExpectSameEvent(stored, next);
    EXPECT_GT(stored.id, appended.back().id);  // ids grow with every append
    appended.push_back(stored);
  }
  ASSERT_OK_AND_ASSIGN(Page<AuditEvent> page, store().ListAuditEvents({}, 0, 0));
  ASSERT_EQ(page.items.size(), appended.size());
  EXPECT_FALSE(page.has_more);
  for (size_t i = 0; i < appended.size(); ++i) {
    const AuditEvent& got = page.items[i];
    const AuditEvent& expected = appended[appended.size() - 1 - i];
    EXPECT_EQ(got.id, expected.id);
    ExpectSameEvent(got, expected);
  }
}

TEST_P(RegistryStoreConformanceTest, AuditEventFilters) {
  // Event i happens at kT0 + i seconds.
  const std::pair<const char*, const char*> events[] = {
      {"workspaces/acme", kCallerA},                  // 0
      {"workspaces/acme/registries/gh", kCallerB},    // 1
      {"workspaces/acme-2/registries/gh", kCallerA},  // 2: shares the prefix, not the parent
      {"workspaces/acmex", kCallerA},                 // 3
      {"workspaces/acme/apps/web", kCallerB},         // 4
      {"workspaces/a%e/registries/x", kCallerA},      // 5: LIKE metacharacters
      {"workspaces/a_me", kCallerA},                  // 6
      {"workspaces/ACME/registries/gh", kCallerA},    // 7: case differs
      {"workspaces/acme/", kCallerB},                 // 8: under "workspaces/acme/"
      {"", kCallerA},                                 // 9: no resource (e.g. KeyRetire)
      {"workspaces/acme.", kCallerA},                 // 10: '.' sorts just before '/'
      {"workspaces/acme0", kCallerA},                 // 11: '0' sorts just after '/'
  };
  std::map<int64_t, int> index_of_id;
  for (int i = 0; i < static_cast<int>(std::size(events)); ++i) {
    ASSERT_OK_AND_ASSIGN(AuditEvent e,
                         store().AppendAuditEvent(MakeEvent(events[i].first, events[i].second, i)));
    index_of_id[e.id] = i;
  }
  auto list = [&](const AuditFilter& filter) {
    std::vector<int> indexes;
    absl::StatusOr<Page<AuditEvent>> page = store().ListAuditEvents(filter, 100, 0);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return indexes;
    EXPECT_FALSE(page->has_more);
    for (const AuditEvent& e : page->items) indexes.push_back(index_of_id[e.id]);
    return indexes;
  };
  auto by_resource = [&](std::string resource) {
    AuditFilter filter;
    filter.resource = std::move(resource);
    return list(filter);
  };
  using Ix = std::vector<int>;
  EXPECT_EQ(list({}), (Ix{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(by_resource("workspaces/acme"), (Ix{8, 4, 1, 0}));
  EXPECT_EQ(by_resource("workspaces/acme/registries/gh"), (Ix{1}));
  EXPECT_EQ(by_resource("workspaces/acme/registries"), (Ix{1}));
  EXPECT_EQ(by_resource("workspaces/acme/registries/g"), Ix{});
  EXPECT_EQ(by_resource("workspaces/acme/"), (Ix{8}));
  EXPECT_EQ(by_resource("workspaces/a%e"), (Ix{5}));
  EXPECT_EQ(by_resource("workspaces/a_me"), (Ix{6}));
  EXPECT_EQ(by_resource("workspaces/a%"), Ix{});
  EXPECT_EQ(by_resource("workspaces/ACME"), (Ix{7}));
  EXPECT_EQ(by_resource("workspaces"), (Ix{11, 10, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(by_resource("workspaces/"), Ix{});  // nothing is under "workspaces//"
  EXPECT_EQ(by_resource("workspace"), Ix{});

  AuditFilter caller;
  caller.caller = kCallerB;
  EXPECT_EQ(list(caller), (Ix{8, 4, 1}));
  caller.caller = "spiffe://cluster.local/ns/platform/sa/work";  // exact, not a prefix
  EXPECT_EQ(list(caller), Ix{});

  AuditFilter window;
  window.start_time = kT0 + absl::Seconds(1);  // inclusive
  window.end_time = kT0 + absl::Seconds(4);    // exclusive
  EXPECT_EQ(list(window), (Ix{3, 2, 1}));
  AuditFilter from;
  from.start_time = kT0 + absl::Seconds(9);
  EXPECT_EQ(list(from), (Ix{11, 10, 9}));
  AuditFilter until;
  until.end_time = kT0 + absl::Seconds(1);
  EXPECT_EQ(list(until), (Ix{0}));
  // Bounds finer than the stored microseconds still compare exactly.
  AuditFilter fine;
  fine.start_time = kT0 + absl::Seconds(1) + absl::Nanoseconds(1);
  fine.end_time = kT0 + absl::Seconds(3) + absl::Nanoseconds(1);
  EXPECT_EQ(list(fine), (Ix{3, 2}));
  fine.start_time = kT0 + absl::Seconds(1) - absl::Nanoseconds(1);
  fine.end_time = kT0 + absl::Seconds(3);
  EXPECT_EQ(list(fine), (Ix{2, 1}));

  AuditFilter all_of_them;
  all_of_them.resource = "workspaces/acme";
  all_of_them.caller = kCallerB;
  all_of_them.start_time = kT0 + absl::Seconds(2);
  EXPECT_EQ(list(all_of_them), (Ix{8, 4}));
  all_of_them.end_time = kT0 + absl::Seconds(8);
  EXPECT_EQ(list(all_of_them), (Ix{4}));
  all_of_them.caller = kCallerA;
  EXPECT_EQ(list(all_of_them), Ix{});
}

TEST_P(RegistryStoreConformanceTest, AuditEventsPageWithBeforeId) {
  std::vector<int64_t> ids;  // in append order
  for (int i = 0; i < 25; ++i) {
    ASSERT_OK_AND_ASSIGN(
        AuditEvent e, store().AppendAuditEvent(
                          MakeEvent(i % 2 ? "workspaces/odd" : "workspaces/even/x", kCallerA, i)));
    ids.push_back(e.id);
  }
  auto collect = [&](const AuditFilter& filter, int page_size, std::vector<size_t>* sizes) {
    std::vector<int64_t> seen;
    int64_t before = 0;
    for (int guard = 0; guard < 100; ++guard) {
      absl::StatusOr<Page<AuditEvent>> page = store().ListAuditEvents(filter, page_size, before);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      sizes->push_back(page->items.size());
      for (const AuditEvent& e : page->items) seen.push_back(e.id);
      if (!page->has_more) break;
      EXPECT_FALSE(page->items.empty());
      if (page->items.empty()) break;
      before = page->items.back().id;
    }
    return seen;
  };
  std::vector<int64_t> newest_first(ids.rbegin(), ids.rend());
  std::vector<size_t> sizes;
  EXPECT_EQ(collect({}, 10, &sizes), newest_first);
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 5}));
  // An exact multiple: the last full page says has_more = false.
  sizes.clear();
  EXPECT_EQ(collect({}, 5, &sizes), newest_first);
  EXPECT_EQ(sizes, (std::vector<size_t>{5, 5, 5, 5, 5}));
  // Paging a filtered list.
  AuditFilter even;
  even.resource = "workspaces/even";
  std::vector<int64_t> even_ids;
  for (int i = 24; i >= 0; i -= 2) even_ids.push_back(ids[i]);
  sizes.clear();
  EXPECT_EQ(collect(even, 5, &sizes), even_ids);
  EXPECT_EQ(sizes, (std::vector<size_t>{5, 5, 3}));

  // before_id need not be an id that was returned; ids at or above it are left out.
  ASSERT_OK_AND_ASSIGN(Page<AuditEvent> below, store().ListAuditEvents({}, 3, ids[10]));
  ASSERT_EQ(below.items.size(), 3u);
  EXPECT_EQ(below.items[0].id, ids[9]);
  EXPECT_TRUE(below.has_more);
  ASSERT_OK_AND_ASSIGN(Page<AuditEvent> none, store().ListAuditEvents({}, 10, ids[0]));
  EXPECT_TRUE(none.items.empty());
  EXPECT_FALSE(none.has_more);
  ASSERT_OK_AND_ASSIGN(Page<AuditEvent> beyond,
                       store().ListAuditEvents({}, 100, ids.back() + 1000));
  EXPECT_EQ(beyond.items.size(), 25u);
  ASSERT_OK_AND_ASSIGN(Page<AuditEvent> negative, store().ListAuditEvents({}, 100, -5));
  EXPECT_EQ(negative.items.size(), 25u);  // <= 0 starts at the newest
}

TEST_P(RegistryStoreConformanceTest, AuditPageSizeDefaultsTo50AndIsClampedTo1000) {
  for (int i = 0; i < 1001; ++i) {
    ASSERT_OK(store().AppendAuditEvent(MakeEvent("workspaces/acme", kCallerA, i)).status());
  }
  for (int page_size : {0, -1}) {
    ASSERT_OK_AND_ASSIGN(Page<AuditEvent> page, store().ListAuditEvents({}, page_size, 0));
    EXPECT_EQ(page.items.size(), 50u) << page_size;
    EXPECT_TRUE(page.has_more);
  }
  ASSERT_OK_AND_ASSIGN(Page<AuditEvent> clamped, store().ListAuditEvents({}, 5000, 0));
  EXPECT_EQ(clamped.items.size(), 1000u);
  EXPECT_TRUE(clamped.has_more);
  ASSERT_OK_AND_ASSIGN(Page<AuditEvent> rest,
                       store().ListAuditEvents({}, 5000, clamped.items.back().id));
  EXPECT_EQ(rest.items.size(), 1u);
  EXPECT_FALSE(rest.has_more);
}

TEST_P(RegistryStoreConformanceTest, AuditTruncatesFreeTextAndRefusesLongNames) {
  const std::string u_umlaut = "\xC3\xBC";  // one character, two bytes
  AuditEvent in = MakeEvent("workspaces/acme", kCallerA);
  in.detail = std::string(kAuditDetailMaxChars - 1, 'd') + u_umlaut + u_umlaut;
  in.peer = std::string(kAuditFieldMaxChars + 100, 'p');
  in.request_id.clear();
  for (size_t i = 0; i < kAuditFieldMaxChars; ++i) in.request_id += u_umlaut;  // at the limit
  ASSERT_OK_AND_ASSIGN(AuditEvent stored, store().AppendAuditEvent(in));
  AuditEvent want = in;
  want.detail = std::string(kAuditDetailMaxChars - 1, 'd') + u_umlaut;  // cut on a character
  want.peer = std::string(kAuditFieldMaxChars, 'p');
  ExpectSameEvent(stored, want);
  ASSERT_OK_AND_ASSIGN(Page<AuditEvent> page, store().ListAuditEvents({}, 0, 0));
  ASSERT_EQ(page.items.size(), 1u);
  ExpectSameEvent(page.items[0], want);

  // Identities and names are refused, not cut; a refused event leaves no trace.
  const std::string too_long(kAuditFieldMaxChars + 1, 'x');
  const std::pair<std::string AuditEvent::*, const char*> names[] = {
      {&AuditEvent::caller, "audit_events_caller_length"},
      {&AuditEvent::on_behalf_of, "audit_events_on_behalf_of_length"},
      {&AuditEvent::action, "audit_events_action_length"},
      {&AuditEvent::resource, "audit_events_resource_length"},
      {&AuditEvent::outcome, "audit_events_outcome_length"},
  };
  for (const auto& [field, constraint] : names) {
    AuditEvent bad = MakeEvent("workspaces/acme", kCallerA);
    bad.*field = too_long;
    absl::Status status = store().AppendAuditEvent(bad).status();
    EXPECT_CODE(status, kInvalidArgument);
    EXPECT_NE(status.message().find(constraint), std::string::npos) << status;
    AuditEvent at_limit = MakeEvent("workspaces/acme", kCallerA);
    at_limit.*field = std::string(kAuditFieldMaxChars, 'x');
    ASSERT_OK(store().AppendAuditEvent(at_limit).status());
  }
  ASSERT_OK_AND_ASSIGN(page, store().ListAuditEvents({}, 0, 0));
  EXPECT_EQ(page.items.size(), 1u + std::size(names));
}

// ---- Key rotation

TEST_P(RegistryStoreConformanceTest, ReEncryptionListsBatchesAndSwapsWithCompareAndSet) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("beta")).status());
  const std::pair<const char*, const char*> rows[] = {
      {"beta", "a"}, {"acme", "z"}, {"acme", "b"}, {"acme", "m"}, {"acme", "c"}};
  const uint32_t keys[] = {1, 1, 2, 1, 4000000000u};
  for (int i = 0; i < 5; ++i) {
    RegistryConfig c = MakeConfig(rows[i].first, rows[i].second);
    c.secret_key_id = keys[i];
    c.secret_ciphertext += static_cast<char>('0' + i);  // distinct ciphertexts
    ASSERT_OK(store().CreateRegistryConfig(c).status());
  }
  RegistryConfig plain = MakeConfig("acme", "plain");
  plain.secret_ciphertext.clear();
  plain.secret_key_id = 1;  // no secret: nothing to re-encrypt
  ASSERT_OK(store().CreateRegistryConfig(plain).status());

  using Keys = std::vector<std::string>;
  ASSERT_OK_AND_ASSIGN(std::vector<RegistryConfig> batch, store().ListSecretsNotUnderKey(2, 10));
  EXPECT_EQ(ConfigKeys(batch), (Keys{"acme/c", "acme/m", "acme/z", "beta/a"}));
  ASSERT_OK_AND_ASSIGN(batch, store().ListSecretsNotUnderKey(2, 2));
  EXPECT_EQ(ConfigKeys(batch), (Keys{"acme/c", "acme/m"}));
  ASSERT_OK_AND_ASSIGN(batch, store().ListSecretsNotUnderKey(2, 0));  // 0 means the default
  EXPECT_EQ(batch.size(), 4u);
  ASSERT_OK_AND_ASSIGN(batch, store().ListSecretsNotUnderKey(1, 10));
  EXPECT_EQ(ConfigKeys(batch), (Keys{"acme/b", "acme/c"}));
  ASSERT_OK_AND_ASSIGN(batch, store().ListSecretsNotUnderKey(4000000000u, 10));
  EXPECT_EQ(ConfigKeys(batch), (Keys{"acme/b", "acme/m", "acme/z", "beta/a"}));
  // Batches carry whole rows, ciphertext included.
  ASSERT_OK_AND_ASSIGN(RegistryConfig m, store().GetRegistryConfig("acme", "m"));
  ExpectSameConfig(batch[1], m);

  // Compare-and-set: only the exact current ciphertext is replaced.
  const std::string rotated = std::string("\x01\x00\x00\x00\x02rotated\x00", 13);
  ASSERT_OK_AND_ASSIGN(bool swapped,
                       store().ReplaceSecretCiphertext("acme", "m", "stale", rotated, 2));
  EXPECT_FALSE(swapped);
  ASSERT_OK_AND_ASSIGN(RegistryConfig got, store().GetRegistryConfig("acme", "m"));
  ExpectSameConfig(got, m);
  ASSERT_OK_AND_ASSIGN(swapped, store().ReplaceSecretCiphertext(
                                    "acme", "m", m.secret_ciphertext.substr(1), rotated, 2));
  EXPECT_FALSE(swapped);  // no partial matches
  ASSERT_OK_AND_ASSIGN(
      swapped, store().ReplaceSecretCiphertext("acme", "m", m.secret_ciphertext, rotated, 2));
  EXPECT_TRUE(swapped);
  ASSERT_OK_AND_ASSIGN(got, store().GetRegistryConfig("acme", "m"));
  RegistryConfig want = m;  // version and update_time unchanged: etags survive a rotation
  want.secret_ciphertext = rotated;
  want.secret_key_id = 2;
  ExpectSameConfig(got, want);
  // The row changed meanwhile: the old ciphertext no longer matches.
  ASSERT_OK_AND_ASSIGN(
      swapped, store().ReplaceSecretCiphertext("acme", "m", m.secret_ciphertext, "other", 3));
  EXPECT_FALSE(swapped);
  ASSERT_OK_AND_ASSIGN(got, store().GetRegistryConfig("acme", "m"));
  ExpectSameConfig(got, want);
  // Missing rows, rows without a secret, and empty old ciphertexts never match.
  ASSERT_OK_AND_ASSIGN(swapped, store().ReplaceSecretCiphertext("acme", "gone", rotated, "x", 2));
  EXPECT_FALSE(swapped);
  ASSERT_OK_AND_ASSIGN(swapped, store().ReplaceSecretCiphertext("nope", "m", rotated, "x", 2));
  EXPECT_FALSE(swapped);
  ASSERT_OK_AND_ASSIGN(swapped, store().ReplaceSecretCiphertext("acme", "plain", "", "x", 2));
  EXPECT_FALSE(swapped);
  ASSERT_OK_AND_ASSIGN(got, store().GetRegistryConfig("acme", "plain"));
  EXPECT_TRUE(got.secret_ciphertext.empty());
  EXPECT_CODE(store().ReplaceSecretCiphertext("acme", "m", rotated, "", 2).status(),
              kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(got, store().GetRegistryConfig("acme", "m"));
  ExpectSameConfig(got, want);

  // Swapped rows drop out of the next batch; the counts follow.
  ASSERT_OK_AND_ASSIGN(batch, store().ListSecretsNotUnderKey(2, 10));
  EXPECT_EQ(ConfigKeys(batch), (Keys{"acme/c", "acme/z", "beta/a"}));
  for (const RegistryConfig& c : batch) {
    ASSERT_OK_AND_ASSIGN(swapped,
                         store().ReplaceSecretCiphertext(c.workspace_id, c.id, c.secret_ciphertext,
                                                         c.secret_ciphertext + "+k2", 2));
    EXPECT_TRUE(swapped);
  }
  ASSERT_OK_AND_ASSIGN(batch, store().ListSecretsNotUnderKey(2, 10));
  EXPECT_TRUE(batch.empty());
  ASSERT_OK_AND_ASSIGN(KeyCounts counts, store().CountSecretsByKeyId());
  EXPECT_EQ(counts, (KeyCounts{{2, 5}}));
  ASSERT_OK_AND_ASSIGN(got, store().GetRegistryConfig("beta", "a"));
  EXPECT_EQ(got.version, 1);
}

TEST_P(RegistryStoreConformanceTest, ConcurrentCompareAndSetHasOneWinner) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK_AND_ASSIGN(RegistryConfig c, store().CreateRegistryConfig(MakeConfig("acme", "gh")));
  constexpr int kThreads = 8;
  std::atomic<int> winners{0};
  std::atomic<int> errors{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      absl::StatusOr<bool> swapped = store().ReplaceSecretCiphertext(
          "acme", "gh", c.secret_ciphertext, absl::StrCat("writer-", t), 2);
      if (!swapped.ok()) {
        ++errors;
      } else if (*swapped) {
        ++winners;
      }
    });
  }
  go.store(true);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(winners.load(), 1);
  ASSERT_OK_AND_ASSIGN(RegistryConfig got, store().GetRegistryConfig("acme", "gh"));
  EXPECT_EQ(got.secret_ciphertext.rfind("writer-", 0), 0u);
  EXPECT_EQ(got.version, 1);
}

// The race key rotation must survive: a client reads a row, re-encryption swaps its
// ciphertext (the version does not move), then the client writes its change of another field.
TEST_P(RegistryStoreConformanceTest, UpdateKeepingSecretNeverWritesBackAStaleCiphertext) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK_AND_ASSIGN(RegistryConfig read, store().CreateRegistryConfig(MakeConfig("acme", "gh")));
  ASSERT_OK(store().CreateRegistryConfig(MakeConfig("acme", "other")).status());
  const std::string rotated = std::string("\x01\x00\x00\x00\x09rotated\x00", 13);
  ASSERT_OK_AND_ASSIGN(bool swapped, store().ReplaceSecretCiphertext(
                                         "acme", "gh", read.secret_ciphertext, rotated, 9));
  ASSERT_TRUE(swapped);

  RegistryConfig change = read;  // still holds the old ciphertext, key 7 and hint
  change.display_name = "renamed";
  change.secret_hint = "stale hint";
  change.update_time = kT1;
  ASSERT_OK_AND_ASSIGN(RegistryConfig updated,
                       store().UpdateRegistryConfigKeepingSecret(change, read.version));
  RegistryConfig want = read;
  want.display_name = "renamed";
  want.update_time = kT1;
  want.version = read.version + 1;
  want.secret_ciphertext = rotated;
  want.secret_key_id = 9;
  ExpectSameConfig(updated, want);
  ASSERT_OK_AND_ASSIGN(RegistryConfig got, store().GetRegistryConfig("acme", "gh"));
  ExpectSameConfig(got, want);

  // The transactional path (is_default) too, and the version check still applies.
  change.is_default = true;
  EXPECT_CODE(store().UpdateRegistryConfigKeepingSecret(change, read.version).status(), kAborted);
  ASSERT_OK_AND_ASSIGN(updated, store().UpdateRegistryConfigKeepingSecret(change, 0));
  EXPECT_TRUE(updated.is_default);
  EXPECT_EQ(updated.secret_ciphertext, rotated);
  EXPECT_EQ(updated.secret_key_id, 9u);
  EXPECT_EQ(updated.version, read.version + 2);

  // A row without a secret stays without one; missing rows are NOT_FOUND.
  RegistryConfig plain = MakeConfig("acme", "plain");
  plain.secret_ciphertext.clear();
  plain.secret_hint.clear();
  ASSERT_OK(store().CreateRegistryConfig(plain).status());
  ASSERT_OK_AND_ASSIGN(updated,
                       store().UpdateRegistryConfigKeepingSecret(MakeConfig("acme", "plain"), 1));
  EXPECT_TRUE(updated.secret_ciphertext.empty());
  EXPECT_TRUE(updated.secret_hint.empty());
  EXPECT_CODE(store().UpdateRegistryConfigKeepingSecret(MakeConfig("acme", "none"), 0).status(),
              kNotFound);
  ASSERT_OK_AND_ASSIGN(KeyCounts counts, store().CountSecretsByKeyId());
  EXPECT_EQ(counts, (KeyCounts{{7, 1}, {9, 1}}));
}

// ---- Operations

TEST_P(RegistryStoreConformanceTest, PullOnlyRoundTripsAndIsGhcrOnly) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  RegistryConfig in = MakeConfig("acme", "gh");
  in.pull_only = true;
  ASSERT_OK_AND_ASSIGN(RegistryConfig created, store().CreateRegistryConfig(in));
  EXPECT_TRUE(created.pull_only);
  ASSERT_OK_AND_ASSIGN(RegistryConfig got, store().GetRegistryConfig("acme", "gh"));
  EXPECT_TRUE(got.pull_only);
  got.pull_only = false;
  ASSERT_OK_AND_ASSIGN(RegistryConfig updated, store().UpdateRegistryConfig(got, got.version));
  EXPECT_FALSE(updated.pull_only);
  RegistryConfig acr = MakeConfig("acme", "acr");
  acr.type = RegistryType::kAcr;
  acr.owner.clear();
  acr.pull_only = true;
  EXPECT_CODE(store().CreateRegistryConfig(acr).status(), kInvalidArgument);
}

TEST_P(RegistryStoreConformanceTest, GitHubAppSettingsRoundTripAndBelongToGitHubApp) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  RegistryConfig in = MakeConfig("acme", "app");
  in.type = RegistryType::kGitHubApp;
  in.owner.clear();
  in.app_id = "Iv23liAbCdEf12345678";
  in.installation_id = std::numeric_limits<int64_t>::max();
  in.repositories = {"api", "web.site_2-x"};
  in.permissions = {{"contents", "read"}, {"metadata", "read"}, {"pull_requests", "write"}};
  ASSERT_OK_AND_ASSIGN(RegistryConfig created, store().CreateRegistryConfig(in));
  RegistryConfig want = in;
  want.version = 1;
  ExpectSameConfig(created, want);
  ASSERT_OK_AND_ASSIGN(RegistryConfig got, store().GetRegistryConfig("acme", "app"));
  ExpectSameConfig(got, want);

  // Narrowing removed, App id changed: both read back as written.
  got.repositories.clear();
  got.permissions = {{"contents", "write"}};
  got.app_id = "123456";
  got.installation_id = 7;
  ASSERT_OK_AND_ASSIGN(RegistryConfig updated, store().UpdateRegistryConfig(got, got.version));
  ASSERT_OK_AND_ASSIGN(RegistryConfig again, store().GetRegistryConfig("acme", "app"));
  EXPECT_TRUE(again.repositories.empty());
  EXPECT_EQ(again.permissions,
            (std::vector<std::pair<std::string, std::string>>{{"contents", "write"}}));
  EXPECT_EQ(again.app_id, "123456");
  EXPECT_EQ(again.installation_id, 7);
  EXPECT_EQ(again.version, updated.version);

  // What the table refuses: App fields on another type, an App without its ids, list
  // elements that could not travel (a comma) or are not GitHub's.
  RegistryConfig ghcr = MakeConfig("acme", "gh");
  ghcr.app_id = "123";
  EXPECT_CODE(store().CreateRegistryConfig(ghcr).status(), kInvalidArgument);
  ghcr.app_id.clear();
  ghcr.repositories = {"web"};
  EXPECT_CODE(store().CreateRegistryConfig(ghcr).status(), kInvalidArgument);
  RegistryConfig bad = in;
  bad.id = "bad";
  bad.installation_id = 0;
  EXPECT_CODE(store().CreateRegistryConfig(bad).status(), kInvalidArgument);
  bad.installation_id = 1;
  bad.app_id.clear();
  EXPECT_CODE(store().CreateRegistryConfig(bad).status(), kInvalidArgument);
  bad.app_id = "1";
  bad.repositories = {"a,b"};
  EXPECT_CODE(store().CreateRegistryConfig(bad).status(), kInvalidArgument);
  bad.repositories = {"web"};
  bad.permissions = {{"contents", "sudo"}};
  EXPECT_CODE(store().CreateRegistryConfig(bad).status(), kInvalidArgument);
  bad.permissions = {{"contents", "read"}};
  ASSERT_OK(store().CreateRegistryConfig(bad).status());
  // Nothing refused left a trace.
  EXPECT_CODE(store().GetRegistryConfig("acme", "gh").status(), kNotFound);
}

TEST_P(RegistryStoreConformanceTest, RecordValidationAppliesOnlyToTheTestedVersion) {
  ASSERT_OK(store().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK_AND_ASSIGN(RegistryConfig c, store().CreateRegistryConfig(MakeConfig("acme", "gh")));
  const absl::Time tested_at = kT0 + absl::Minutes(3) + absl::Microseconds(5);
  AuditEvent event = MakeEvent("workspaces/acme/registries/gh", kCallerA, 180);
  event.action = "TestConnection";
  event.outcome = "OK";
  event.detail = "INVALID: token rejected";

  ASSERT_OK_AND_ASSIGN(bool applied,
                       store().RecordValidation("acme", "gh", c.version, ValidationStatus::kInvalid,
                                                tested_at, "token rejected", event));
  EXPECT_TRUE(applied);
  ASSERT_OK_AND_ASSIGN(RegistryConfig got, store().GetRegistryConfig("acme", "gh"));
  EXPECT_EQ(got.validation_status, ValidationStatus::kInvalid);
  ASSERT_TRUE(got.validated_at.has_value());
  EXPECT_EQ(*got.validated_at, tested_at);
  EXPECT_EQ(got.last_validation_error, "token rejected");
  // Output-only fields: version, update_time (and so the etag) do not move.
  EXPECT_EQ(got.version, c.version);
  EXPECT_EQ(got.update_time, c.update_time);
  ASSERT_OK_AND_ASSIGN(Page<AuditEvent> audit, store().ListAuditEvents(AuditFilter(), 10, 0));
  ASSERT_EQ(audit.items.size(), 1u);
  EXPECT_EQ(audit.items[0].action, "TestConnection");
  EXPECT_EQ(audit.items[0].detail, "INVALID: token rejected");

  // The config changed after the test started: the outcome is not stored, the event is.
  RegistryConfig changed = got;
  changed.username = "someone-else";
  changed.update_time = kT0 + absl::Minutes(4);
  ASSERT_OK_AND_ASSIGN(RegistryConfig v2, store().UpdateRegistryConfig(changed, c.version));
  ASSERT_OK_AND_ASSIGN(applied,
                       store().RecordValidation("acme", "gh", c.version, ValidationStatus::kValid,
                                                tested_at, "", event));
  EXPECT_FALSE(applied);
  ASSERT_OK_AND_ASSIGN(got, store().GetRegistryConfig("acme", "gh"));
  EXPECT_EQ(got.validation_status, ValidationStatus::kInvalid);
  EXPECT_EQ(got.version, v2.version);
  ASSERT_OK_AND_ASSIGN(applied,
                       store().RecordValidation("acme", "gh", v2.version, ValidationStatus::kValid,
                                                tested_at, "", event));
  EXPECT_TRUE(applied);
  ASSERT_OK_AND_ASSIGN(got, store().GetRegistryConfig("acme", "gh"));
  EXPECT_EQ(got.validation_status, ValidationStatus::kValid);
  EXPECT_EQ(got.last_validation_error, "");

  // A missing config: nothing to store on, the attempt is still on record.
  ASSERT_OK_AND_ASSIGN(
      applied,
      store().RecordValidation("acme", "gone", 1, ValidationStatus::kValid, tested_at, "", event));
  EXPECT_FALSE(applied);
  ASSERT_OK_AND_ASSIGN(audit, store().ListAuditEvents(AuditFilter(), 10, 0));
  EXPECT_EQ(audit.items.size(), 4u);

  // An unknown status is refused and changes nothing.
  EXPECT_CODE(store()
                  .RecordValidation("acme", "gh", v2.version, ValidationStatus::kUnspecified,
                                    tested_at, "", event)
                  .status(),
              kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(got, store().GetRegistryConfig("acme", "gh"));
  EXPECT_EQ(got.validation_status, ValidationStatus::kValid);
  ASSERT_OK_AND_ASSIGN(audit, store().ListAuditEvents(AuditFilter(), 10, 0));
  EXPECT_EQ(audit.items.size(), 4u);
}

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
