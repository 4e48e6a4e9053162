#include "storage/token_store_conformance.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace registryauth::storage::testing {
namespace {

#define TOK_CONCAT_INNER_(a, b) a##b
#define TOK_CONCAT_(a, b) TOK_CONCAT_INNER_(a, b)
// Asserts that `rexpr` (a StatusOr) is OK and moves its value into `lhs`.
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(TOK_CONCAT_(tok_statusor_, __LINE__), lhs, rexpr)
// `statusor` names a variable and `lhs` may be a declaration: neither can be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  ASSERT_TRUE(statusor.ok()) << statusor.status();       \
  lhs = *std::move(statusor)
// NOLINTEND(bugprone-macro-parentheses)
#define ASSERT_OK(expr)                 \
  do {                                  \
    const absl::Status tok_s_ = (expr); \
    ASSERT_TRUE(tok_s_.ok()) << tok_s_; \
  } while (false)
#define EXPECT_CODE(expr, code_name) EXPECT_EQ((expr).code(), absl::StatusCode::code_name) << (expr)

using KeyCounts = std::map<uint32_t, int64_t>;

// Times with microseconds, like every time the stores hand back.
const absl::Time kT0 = absl::FromUnixMicros(1700000000123456);
const absl::Time kT1 = absl::FromUnixMicros(1700000100654321);

// A recognisable secret hash: no error message may contain it.
constexpr char kSentinelText[] = "HASHSENTINEL-0123456789abcdefghi";
static_assert(sizeof(kSentinelText) == 33, "32 bytes");

// 32 bytes of binary, NUL and 0xff included.
std::string Digest(char fill) {
  std::string d(32, fill);
  d[0] = '\0';
  d[7] = '\xff';
  d[31] = '\0';
  return d;
}

SecretHash Hash(char fill, uint32_t key_id) {
  SecretHash h;
  h.digest = Digest(fill);
  h.key_id = key_id;
  return h;
}

// A token id: 22 base64url characters.
std::string TokenId(char prefix, int i) { return absl::StrFormat("%c%021d", prefix, i); }

Workspace MakeWorkspace(std::string id) {
  Workspace w;
  w.id = std::move(id);
  w.display_name = "Acme Corp";
  w.create_time = kT0;
  w.update_time = kT0;
  return w;
}

// A new uid per call (the column is unique, and tests re-create accounts under one name).
std::string NextUid() {
  static std::atomic<int64_t> next{1};
  return absl::StrFormat("00000000-0000-4000-8000-%012d", next.fetch_add(1));
}

ServiceAccount MakeAccount(std::string ws, std::string id) {
  ServiceAccount a;
  a.uid = NextUid();
  a.workspace_id = std::move(ws);
  a.id = std::move(id);
  a.display_name = "CI builder \xE2\x80\x94 main";
  a.grants = {{"acme/*", {"pull"}}, {"acme/web", {"delete", "pull", "push"}}};
  a.enabled = true;
  a.expire_time = absl::InfiniteFuture();
  a.secret_hash = Hash('a', 7);
  a.secret_rotate_time = kT0;
  a.last_used_time = absl::InfinitePast();
  a.create_time = kT0;
  a.update_time = kT0;
  return a;
}

// Created `second` seconds after kT0, expires an hour later.
PullToken MakePull(std::string id, std::string ws, std::string app, int second = 0) {
  PullToken t;
  t.id = std::move(id);
  t.workspace_id = std::move(ws);
  t.app_id = std::move(app);
  t.repository = absl::StrCat(t.workspace_id, "/", t.app_id);
  t.secret_hash = Hash('p', 7);
  t.created_by = "spiffe://cluster.local/ns/platform/sa/frontend";
  t.create_time = kT0 + absl::Seconds(second);
  t.expire_time = t.create_time + absl::Hours(1);
  return t;
}

RefreshToken MakeRefresh(std::string id, std::string ws, std::string subject, int second = 0) {
  RefreshToken t;
  t.id = std::move(id);
  t.subject = std::move(subject);
  t.service = "registry.example.com";
  t.workspace_id = std::move(ws);
  t.client_id = "docker";
  t.secret_hash = Hash('r', 7);
  t.subject_generation = Hash('g', 3).digest;
  t.create_time = kT0 + absl::Seconds(second);
  t.expire_time = t.create_time + absl::Hours(24 * 30);
  return t;
}

void ExpectSameAccount(const ServiceAccount& got, const ServiceAccount& want) {
  EXPECT_EQ(got.workspace_id, want.workspace_id);
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.uid, want.uid);
  EXPECT_EQ(got.display_name, want.display_name);
  EXPECT_TRUE(got.grants == want.grants);
  EXPECT_EQ(got.enabled, want.enabled);
  EXPECT_EQ(got.expire_time, want.expire_time);
  EXPECT_TRUE(got.secret_hash.digest == want.secret_hash.digest);  // binary: no printing
  EXPECT_EQ(got.secret_hash.key_id, want.secret_hash.key_id);
  EXPECT_EQ(got.secret_rotate_time, want.secret_rotate_time);
  EXPECT_EQ(got.last_used_time, want.last_used_time);
  EXPECT_EQ(got.create_time, want.create_time);
  EXPECT_EQ(got.update_time, want.update_time);
  EXPECT_EQ(got.version, want.version);
}

void ExpectSamePull(const PullToken& got, const PullToken& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.workspace_id, want.workspace_id);
  EXPECT_EQ(got.app_id, want.app_id);
  EXPECT_EQ(got.repository, want.repository);
  EXPECT_TRUE(got.secret_hash.digest == want.secret_hash.digest);
  EXPECT_EQ(got.secret_hash.key_id, want.secret_hash.key_id);
  EXPECT_EQ(got.created_by, want.created_by);
  EXPECT_EQ(got.create_time, want.create_time);
  EXPECT_EQ(got.expire_time, want.expire_time);
  EXPECT_EQ(got.revoke_time, want.revoke_time);
}

void ExpectSameRefresh(const RefreshToken& got, const RefreshToken& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.subject, want.subject);
  EXPECT_EQ(got.service, want.service);
  EXPECT_EQ(got.workspace_id, want.workspace_id);
  EXPECT_EQ(got.client_id, want.client_id);
  EXPECT_TRUE(got.secret_hash.digest == want.secret_hash.digest);
  EXPECT_EQ(got.secret_hash.key_id, want.secret_hash.key_id);
  EXPECT_TRUE(got.subject_generation == want.subject_generation);  // binary: no printing
  EXPECT_EQ(got.create_time, want.create_time);
  EXPECT_EQ(got.expire_time, want.expire_time);
  EXPECT_EQ(got.last_used_time, want.last_used_time);
  EXPECT_EQ(got.revoke_time, want.revoke_time);
}

void ExpectSameThrottle(const ThrottleState& got, const ThrottleState& want) {
  EXPECT_EQ(got.key, want.key);
  EXPECT_EQ(got.failures, want.failures);
  EXPECT_EQ(got.window_start, want.window_start);
  EXPECT_EQ(got.blocked_until, want.blocked_until);
}

template <typename Token>
std::vector<std::string> Ids(const std::vector<Token>& tokens) {
  std::vector<std::string> ids;
  for (const Token& t : tokens) ids.push_back(t.id);
  return ids;
}

// INVALID_ARGUMENT whose message names `constraint`.
void ExpectConstraint(const absl::Status& status, std::string_view constraint) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find(std::string(constraint)), std::string::npos)
      << status << " should name " << constraint;
}

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.append(s.data(), s.size());
  return out;
}

}  // namespace

std::string TokenStoreFactoryName(const ::testing::TestParamInfo<TokenStoreFactory>& info) {
  return info.param.name;
}

void TokenStoreConformanceTest::SetUp() {
  if (GetParam().check_available != nullptr) {
    GetParam().check_available();
    if (IsSkipped() || HasFatalFailure()) return;
  }
  absl::StatusOr<TokenStores> stores = GetParam().make_stores();
  ASSERT_TRUE(stores.ok()) << stores.status();
  stores_ = *std::move(stores);
  ASSERT_NE(stores_.registry, nullptr);
  ASSERT_NE(stores_.tokens, nullptr);
  for (const char* ws : {"acme", "beta"}) {
    ASSERT_TRUE(registry().CreateWorkspace(MakeWorkspace(ws)).ok());
  }
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TokenStoreConformanceTest);

// ---- Service accounts

TEST_P(TokenStoreConformanceTest, ServiceAccountRoundTripsEveryField) {
  ServiceAccount in = MakeAccount("acme", "builder");
  in.enabled = false;
  in.expire_time = kT1;
  in.secret_hash = Hash('x', 4294967295u);
  in.last_used_time = kT1;
  in.create_time = kT0 + absl::Nanoseconds(999);  // kept to the microsecond
  in.version = 42;                                // ignored: Create stores version 1
  ServiceAccount want = in;
  want.create_time = kT0;
  want.version = 1;
  ASSERT_OK_AND_ASSIGN(ServiceAccount created, tokens().CreateServiceAccount(in));
  ExpectSameAccount(created, want);
  ASSERT_OK_AND_ASSIGN(ServiceAccount got, tokens().GetServiceAccount("acme", "builder"));
  ExpectSameAccount(got, want);
}

TEST_P(TokenStoreConformanceTest, ServiceAccountInfiniteTimesRoundTrip) {
  ServiceAccount in = MakeAccount("acme", "builder");
  in.grants.clear();
  in.secret_rotate_time = absl::InfinitePast();
  ASSERT_OK_AND_ASSIGN(ServiceAccount created, tokens().CreateServiceAccount(in));
  EXPECT_EQ(created.expire_time, absl::InfiniteFuture());
  EXPECT_EQ(created.last_used_time, absl::InfinitePast());
  EXPECT_EQ(created.secret_rotate_time, absl::InfinitePast());
  EXPECT_TRUE(created.grants.empty());

  // Finite and back to "never".
  ServiceAccount update = created;
  update.expire_time = kT1;
  ASSERT_OK_AND_ASSIGN(ServiceAccount finite, tokens().UpdateServiceAccount(update, 0));
  EXPECT_EQ(finite.expire_time, kT1);
  update.expire_time = absl::InfiniteFuture();
  ASSERT_OK(tokens().UpdateServiceAccount(update, 0).status());
  ASSERT_OK_AND_ASSIGN(ServiceAccount got, tokens().GetServiceAccount("acme", "builder"));
  EXPECT_EQ(got.expire_time, absl::InfiniteFuture());
  // Already expired for ever.
  update.expire_time = absl::InfinitePast();
  ASSERT_OK_AND_ASSIGN(ServiceAccount past, tokens().UpdateServiceAccount(update, 0));
  EXPECT_EQ(past.expire_time, absl::InfinitePast());
}

TEST_P(TokenStoreConformanceTest, ServiceAccountNeedsItsWorkspace) {
  EXPECT_CODE(tokens().CreateServiceAccount(MakeAccount("ghost", "builder")).status(), kNotFound);
  EXPECT_CODE(tokens().ListServiceAccounts("ghost", {}).status(), kNotFound);
  ASSERT_OK_AND_ASSIGN(Page<ServiceAccount> empty, tokens().ListServiceAccounts("acme", {}));
  EXPECT_TRUE(empty.items.empty());
  EXPECT_FALSE(empty.has_more);
}

TEST_P(TokenStoreConformanceTest, ServiceAccountDuplicateIsAlreadyExists) {
  ASSERT_OK(tokens().CreateServiceAccount(MakeAccount("acme", "builder")).status());
  ServiceAccount again = MakeAccount("acme", "builder");
  again.display_name = "Other";
  EXPECT_CODE(tokens().CreateServiceAccount(again).status(), kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(ServiceAccount got, tokens().GetServiceAccount("acme", "builder"));
  EXPECT_EQ(got.display_name, MakeAccount("acme", "builder").display_name);
  // Ids are per workspace.
  ASSERT_OK(tokens().CreateServiceAccount(MakeAccount("beta", "builder")).status());
}

TEST_P(TokenStoreConformanceTest, MissingServiceAccountIsNotFound) {
  ASSERT_OK(tokens().CreateServiceAccount(MakeAccount("acme", "builder")).status());
  EXPECT_CODE(tokens().GetServiceAccount("acme", "other").status(), kNotFound);
  EXPECT_CODE(tokens().GetServiceAccount("beta", "builder").status(), kNotFound);
  EXPECT_CODE(tokens().GetServiceAccount("ghost", "builder").status(), kNotFound);
  // Text the database cannot hold matches nothing (rather than failing the query).
  EXPECT_CODE(tokens().GetServiceAccount("acme", "\xff\xfe").status(), kNotFound);
  EXPECT_CODE(tokens().GetServiceAccount(std::string("acme\0x", 6), "builder").status(), kNotFound);
  EXPECT_CODE(tokens().UpdateServiceAccount(MakeAccount("acme", "other"), 0).status(), kNotFound);
  EXPECT_CODE(tokens().DeleteServiceAccount("acme", "other", 0), kNotFound);
  EXPECT_CODE(tokens().DeleteServiceAccount("acme", "\xff", 0), kNotFound);
  EXPECT_CODE(tokens().TouchServiceAccount("acme", "other", kT1), kNotFound);
  EXPECT_CODE(tokens().TouchServiceAccount("\xff", "builder", kT1), kNotFound);
}

TEST_P(TokenStoreConformanceTest, ListServiceAccountsPagesById) {
  for (int i = 24; i >= 0; --i) {  // created out of order
    ASSERT_OK(
        tokens().CreateServiceAccount(MakeAccount("acme", absl::StrFormat("sa%02d", i))).status());
  }
  for (const char* id : {"aaa", "sa05", "zzz"}) {
    ASSERT_OK(tokens().CreateServiceAccount(MakeAccount("beta", id)).status());
  }
  std::vector<std::string> ids;
  std::vector<size_t> sizes;
  ListOptions options;
  options.page_size = 10;
  for (int guard = 0; guard < 10; ++guard) {
    ASSERT_OK_AND_ASSIGN(Page<ServiceAccount> page, tokens().ListServiceAccounts("acme", options));
    sizes.push_back(page.items.size());
    for (const ServiceAccount& a : page.items) {
      EXPECT_EQ(a.workspace_id, "acme");
      ids.push_back(a.id);
    }
    if (!page.has_more) break;
    options.start_after = page.items.back().id;
  }
  std::vector<std::string> want;
  for (int i = 0; i < 25; ++i) want.push_back(absl::StrFormat("sa%02d", i));
  EXPECT_EQ(ids, want);
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 5}));

  ASSERT_OK_AND_ASSIGN(Page<ServiceAccount> all, tokens().ListServiceAccounts("acme", {0, ""}));
  EXPECT_EQ(all.items.size(), 25u);  // page_size <= 0 means 50
  EXPECT_FALSE(all.has_more);
  ASSERT_OK_AND_ASSIGN(Page<ServiceAccount> exact, tokens().ListServiceAccounts("acme", {25, ""}));
  EXPECT_EQ(exact.items.size(), 25u);
  EXPECT_FALSE(exact.has_more);
  ASSERT_OK_AND_ASSIGN(Page<ServiceAccount> after,
                       tokens().ListServiceAccounts("acme", {10, "sa24"}));
  EXPECT_TRUE(after.items.empty());
  EXPECT_FALSE(after.has_more);
  EXPECT_CODE(tokens().ListServiceAccounts("acme", {10, "\xff"}).status(), kInvalidArgument);
}

TEST_P(TokenStoreConformanceTest, UpdateServiceAccountReplacesFieldsAndChecksVersion) {
  ServiceAccount in = MakeAccount("acme", "builder");
  ASSERT_OK_AND_ASSIGN(ServiceAccount v1, tokens().CreateServiceAccount(in));
  ASSERT_OK(tokens().TouchServiceAccount("acme", "builder", kT1));

  ServiceAccount change = v1;
  change.display_name = "Renamed";
  change.grants = {{"acme/api-*", {"*"}}};
  change.enabled = false;
  change.expire_time = kT1 + absl::Hours(1);
  change.secret_hash = Hash('n', 8);  // a regenerated secret is an update
  change.secret_rotate_time = kT1;
  change.update_time = kT1;
  change.create_time = kT1;                      // ignored
  change.last_used_time = absl::InfinitePast();  // ignored
  change.uid = NextUid();                        // ignored: a uid never changes
  ASSERT_OK_AND_ASSIGN(ServiceAccount v2, tokens().UpdateServiceAccount(change, 1));
  ServiceAccount want = change;
  want.uid = v1.uid;
  want.create_time = kT0;
  want.last_used_time = kT1;
  want.version = 2;
  ExpectSameAccount(v2, want);
  ASSERT_OK_AND_ASSIGN(ServiceAccount got, tokens().GetServiceAccount("acme", "builder"));
  ExpectSameAccount(got, want);

  change.display_name = "Stale";
  EXPECT_CODE(tokens().UpdateServiceAccount(change, 1).status(), kAborted);
  ASSERT_OK_AND_ASSIGN(got, tokens().GetServiceAccount("acme", "builder"));
  EXPECT_EQ(got.display_name, "Renamed");
  EXPECT_EQ(got.version, 2);
  // expected_version 0 skips the check.
  ASSERT_OK_AND_ASSIGN(ServiceAccount v3, tokens().UpdateServiceAccount(change, 0));
  EXPECT_EQ(v3.version, 3);
  EXPECT_EQ(v3.display_name, "Stale");
}

TEST_P(TokenStoreConformanceTest, DeleteServiceAccountChecksVersion) {
  ASSERT_OK(tokens().CreateServiceAccount(MakeAccount("acme", "builder")).status());
  ASSERT_OK(tokens().CreateServiceAccount(MakeAccount("acme", "other")).status());
  EXPECT_CODE(tokens().DeleteServiceAccount("acme", "builder", 2), kAborted);
  ASSERT_OK(tokens().GetServiceAccount("acme", "builder").status());
  ASSERT_OK(tokens().DeleteServiceAccount("acme", "builder", 1));
  EXPECT_CODE(tokens().GetServiceAccount("acme", "builder").status(), kNotFound);
  EXPECT_CODE(tokens().DeleteServiceAccount("acme", "builder", 0), kNotFound);
  ASSERT_OK(tokens().DeleteServiceAccount("acme", "other", 0));
  ASSERT_OK_AND_ASSIGN(Page<ServiceAccount> left, tokens().ListServiceAccounts("acme", {}));
  EXPECT_TRUE(left.items.empty());
}

TEST_P(TokenStoreConformanceTest, TouchServiceAccountKeepsVersionAndNeverMovesBack) {
  ASSERT_OK(tokens().CreateServiceAccount(MakeAccount("acme", "builder")).status());
  ASSERT_OK(tokens().TouchServiceAccount("acme", "builder", kT1 + absl::Nanoseconds(500)));
  ASSERT_OK_AND_ASSIGN(ServiceAccount got, tokens().GetServiceAccount("acme", "builder"));
  EXPECT_EQ(got.last_used_time, kT1);
  EXPECT_EQ(got.version, 1);
  EXPECT_EQ(got.update_time, kT0);
  ASSERT_OK(tokens().TouchServiceAccount("acme", "builder", kT0));  // a late, older login
  ASSERT_OK_AND_ASSIGN(got, tokens().GetServiceAccount("acme", "builder"));
  EXPECT_EQ(got.last_used_time, kT1);
  ASSERT_OK(tokens().TouchServiceAccount("acme", "builder", kT1 + absl::Seconds(1)));
  ASSERT_OK_AND_ASSIGN(got, tokens().GetServiceAccount("acme", "builder"));
  EXPECT_EQ(got.last_used_time, kT1 + absl::Seconds(1));
}

TEST_P(TokenStoreConformanceTest, ServiceAccountConstraintsAreInvalidArgument) {
  struct Case {
    const char* what;
    void (*mutate)(ServiceAccount&);
    const char* constraint;  // nullptr: valid
  };
  const Case cases[] = {
      {"upper-case id", [](ServiceAccount& a) { a.id = "Builder"; }, "service_accounts_id_format"},
      {"no uid", [](ServiceAccount& a) { a.uid.clear(); }, "service_accounts_uid_format"},
      {"upper-case uid", [](ServiceAccount& a) { a.uid = "00000000-0000-4000-8000-00000000000A"; },
       "service_accounts_uid_format"},
      {"uid without dashes",
       [](ServiceAccount& a) { a.uid = "000000000000400080000000000000000a"; },
       "service_accounts_uid_format"},
      {"braced uid", [](ServiceAccount& a) { a.uid = "{00000000-0000-4000-8000-00000000000a}"; },
       "service_accounts_uid_format"},
      {"64-char id", [](ServiceAccount& a) { a.id = std::string(64, 'b'); },
       "service_accounts_id_format"},
      {"trailing dash", [](ServiceAccount& a) { a.id = "builder-"; }, "service_accounts_id_format"},
      {"63-char id", [](ServiceAccount& a) { a.id = std::string(63, 'b'); }, nullptr},
      {"257 characters", [](ServiceAccount& a) { a.display_name = Repeat("\xC3\xBC", 257); },
       "service_accounts_display_name_length"},
      {"256 characters", [](ServiceAccount& a) { a.display_name = Repeat("\xC3\xBC", 256); },
       nullptr},
      {"short hash", [](ServiceAccount& a) { a.secret_hash.digest.resize(31); },
       "service_accounts_secret_hash_length"},
      {"long hash", [](ServiceAccount& a) { a.secret_hash.digest.push_back('x'); },
       "service_accounts_secret_hash_length"},
      {"no hash", [](ServiceAccount& a) { a.secret_hash.digest.clear(); },
       "service_accounts_secret_hash_length"},
      {"101 grants",
       [](ServiceAccount& a) {
         a.grants.assign(101, RepositoryGrant{"acme/x", {"pull"}});
       },
       "service_accounts_grants_valid"},
      {"100 grants",
       [](ServiceAccount& a) {
         a.grants.assign(100, RepositoryGrant{"acme/x", {"pull"}});
       },
       nullptr},
      {"empty pattern",
       [](ServiceAccount& a) {
         a.grants = {{"", {"pull"}}};
       },
       "service_accounts_grants_valid"},
      {"pattern with space",
       [](ServiceAccount& a) {
         a.grants = {{"acme/a b", {"pull"}}};
       },
       "service_accounts_grants_valid"},
      {"256-byte pattern",
       [](ServiceAccount& a) {
         a.grants = {{"acme/" + std::string(251, 'x'), {"pull"}}};
       },
       "service_accounts_grants_valid"},
      {"255-byte pattern",
       [](ServiceAccount& a) {
         a.grants = {{"acme/" + std::string(250, 'x'), {"pull"}}};
       },
       nullptr},
      {"no actions",
       [](ServiceAccount& a) {
         a.grants = {{"acme/*", {}}};
       },
       "service_accounts_grants_valid"},
      {"upper-case action",
       [](ServiceAccount& a) {
         a.grants = {{"acme/*", {"PULL"}}};
       },
       "service_accounts_grants_valid"},
      {"empty action",
       [](ServiceAccount& a) {
         a.grants = {{"acme/*", {""}}};
       },
       "service_accounts_grants_valid"},
      {"33-letter action",
       [](ServiceAccount& a) {
         a.grants = {{"acme/*", {std::string(33, 'p')}}};
       },
       "service_accounts_grants_valid"},
      {"17 actions",
       [](ServiceAccount& a) {
         a.grants = {{"acme/*", std::vector<std::string>(17, "pull")}};
       },
       "service_accounts_grants_valid"},
      {"16 actions and *",
       [](ServiceAccount& a) {
         a.grants = {{"acme/*", std::vector<std::string>(15, "pull")}, {"acme/web", {"*"}}};
         a.grants[0].actions.push_back("*");
       },
       nullptr},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ServiceAccount a = MakeAccount("acme", absl::StrCat("sa", n++));
    c.mutate(a);
    absl::StatusOr<ServiceAccount> created = tokens().CreateServiceAccount(a);
    if (c.constraint == nullptr) {
      ASSERT_TRUE(created.ok()) << created.status();
      ASSERT_OK_AND_ASSIGN(ServiceAccount got, tokens().GetServiceAccount("acme", a.id));
      EXPECT_TRUE(got.grants == a.grants);
      EXPECT_EQ(got.display_name, a.display_name);
      continue;
    }
    ExpectConstraint(created.status(), c.constraint);
    EXPECT_CODE(tokens().GetServiceAccount("acme", a.id).status(), kNotFound);
    // Update refuses the same values and keeps the stored row.
    ServiceAccount good = MakeAccount("acme", "valid");
    if (!tokens().GetServiceAccount("acme", "valid").ok()) {
      ASSERT_OK(tokens().CreateServiceAccount(good).status());
    }
    ServiceAccount bad = good;
    c.mutate(bad);
    if (bad.id != good.id) continue;    // an id change addresses another row
    if (bad.uid != good.uid) continue;  // Update ignores the uid
    ExpectConstraint(tokens().UpdateServiceAccount(bad, 0).status(), c.constraint);
    ASSERT_OK_AND_ASSIGN(ServiceAccount kept, tokens().GetServiceAccount("acme", "valid"));
    EXPECT_EQ(kept.version, 1);
  }
}

TEST_P(TokenStoreConformanceTest, TextThatIsNotUtf8IsInvalidArgument) {
  const std::string bad_texts[] = {"\xff", "caf\xC3", std::string("a\0b", 3),
                                   "\xED\xA0\x80" /* surrogate */, "\xC0\xAF" /* overlong */};
  for (const std::string& bad : bad_texts) {
    ServiceAccount a = MakeAccount("acme", "builder");
    a.display_name = bad;
    EXPECT_CODE(tokens().CreateServiceAccount(a).status(), kInvalidArgument);
    a = MakeAccount("acme", "builder");
    a.grants = {{"acme/" + bad, {"pull"}}};
    EXPECT_CODE(tokens().CreateServiceAccount(a).status(), kInvalidArgument);
    PullToken p = MakePull(TokenId('p', 1), "acme", "web");
    p.created_by = bad;
    EXPECT_CODE(tokens().CreatePullToken(p), kInvalidArgument);
    RefreshToken r = MakeRefresh(TokenId('r', 1), "acme", "acme+builder");
    r.client_id = bad;
    EXPECT_CODE(tokens().CreateRefreshToken(r), kInvalidArgument);
    r = MakeRefresh(TokenId('r', 1), bad, "acme+builder");
    EXPECT_CODE(tokens().CreateRefreshToken(r), kInvalidArgument);
  }
  // Nothing was stored; valid non-ASCII text is fine.
  ServiceAccount a = MakeAccount("acme", "builder");
  a.display_name = "\xF0\x9F\x90\xB3 \xE6\x9E\x84\xE7\xAF\x89";  // whale, 4-byte and 3-byte
  ASSERT_OK(tokens().CreateServiceAccount(a).status());
  ASSERT_OK_AND_ASSIGN(ServiceAccount got, tokens().GetServiceAccount("acme", "builder"));
  EXPECT_EQ(got.display_name, a.display_name);
  EXPECT_CODE(tokens().GetPullToken(TokenId('p', 1)).status(), kNotFound);
  EXPECT_CODE(tokens().GetRefreshToken(TokenId('r', 1)).status(), kNotFound);
}

// ---- Pull tokens

TEST_P(TokenStoreConformanceTest, PullTokenRoundTrips) {
  PullToken in = MakePull(TokenId('p', 1), "acme", "web");  // the app need not exist
  in.secret_hash = Hash('q', 4294967295u);
  in.create_time = kT0 + absl::Nanoseconds(1);
  ASSERT_OK(tokens().CreatePullToken(in));
  PullToken want = in;
  want.create_time = kT0;
  ASSERT_OK_AND_ASSIGN(PullToken got, tokens().GetPullToken(in.id));
  ExpectSamePull(got, want);
  EXPECT_EQ(got.revoke_time, absl::InfiniteFuture());

  // Revoked at creation, never expiring: both round-trip.
  PullToken revoked = MakePull("AZaz09_-AZaz09_-AZaz09", "acme", "web");
  revoked.revoke_time = kT1;
  revoked.expire_time = absl::InfiniteFuture();
  ASSERT_OK(tokens().CreatePullToken(revoked));
  ASSERT_OK_AND_ASSIGN(got, tokens().GetPullToken(revoked.id));
  ExpectSamePull(got, revoked);
}

TEST_P(TokenStoreConformanceTest, PullTokenNeedsWorkspaceAndUniqueId) {
  EXPECT_CODE(tokens().CreatePullToken(MakePull(TokenId('p', 1), "ghost", "web")), kNotFound);
  ASSERT_OK(tokens().CreatePullToken(MakePull(TokenId('p', 1), "acme", "web")));
  // Ids are global.
  EXPECT_CODE(tokens().CreatePullToken(MakePull(TokenId('p', 1), "beta", "api")), kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(PullToken got, tokens().GetPullToken(TokenId('p', 1)));
  EXPECT_EQ(got.workspace_id, "acme");
  EXPECT_CODE(tokens().GetPullToken(TokenId('p', 2)).status(), kNotFound);
  EXPECT_CODE(tokens().GetPullToken("short").status(), kNotFound);
  EXPECT_CODE(tokens().GetPullToken("\xff\xff").status(), kNotFound);
}

TEST_P(TokenStoreConformanceTest, PullTokenConstraintsAreInvalidArgument) {
  struct Case {
    const char* what;
    void (*mutate)(PullToken&);
    const char* constraint;
  };
  const Case cases[] = {
      {"21-char id", [](PullToken& t) { t.id.pop_back(); }, "pull_tokens_id_format"},
      {"23-char id", [](PullToken& t) { t.id.push_back('a'); }, "pull_tokens_id_format"},
      {"'+' in id", [](PullToken& t) { t.id[3] = '+'; }, "pull_tokens_id_format"},
      {"'=' in id", [](PullToken& t) { t.id[21] = '='; }, "pull_tokens_id_format"},
      {"bad app id", [](PullToken& t) { t.app_id = "Web"; }, "pull_tokens_app_id_format"},
      {"empty app id", [](PullToken& t) { t.app_id = ""; }, "pull_tokens_app_id_format"},
      {"empty repository", [](PullToken& t) { t.repository = ""; },
       "pull_tokens_repository_format"},
      {"repository with space", [](PullToken& t) { t.repository = "acme/ web"; },
       "pull_tokens_repository_format"},
      {"256-byte repository", [](PullToken& t) { t.repository = std::string(256, 'r'); },
       "pull_tokens_repository_format"},
      {"short hash", [](PullToken& t) { t.secret_hash.digest.resize(16); },
       "pull_tokens_secret_hash_length"},
      {"1025-char created_by", [](PullToken& t) { t.created_by = Repeat("\xC3\xA9", 1025); },
       "pull_tokens_created_by_length"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    PullToken t = MakePull(TokenId('p', 1), "acme", "web");
    c.mutate(t);
    ExpectConstraint(tokens().CreatePullToken(t), c.constraint);
  }
  PullToken longest = MakePull(TokenId('p', 1), "acme", "web");
  longest.repository = std::string(255, 'r');
  longest.created_by = Repeat("\xC3\xA9", 1024);
  ASSERT_OK(tokens().CreatePullToken(longest));
  ASSERT_OK_AND_ASSIGN(std::vector<PullToken> all, tokens().ListPullTokens("acme", "", 0));
  EXPECT_EQ(all.size(), 1u);
}

TEST_P(TokenStoreConformanceTest, ListPullTokensNewestFirst) {
  // (id, app, second); p03 and p04 share a create time: the larger id comes first.
  const std::vector<std::tuple<int, const char*, int>> rows = {
      {1, "web", 10}, {2, "api", 20}, {3, "web", 30}, {4, "web", 30}, {5, "web", 5}};
  for (const auto& [i, app, second] : rows) {
    ASSERT_OK(tokens().CreatePullToken(MakePull(TokenId('p', i), "acme", app, second)));
  }
  ASSERT_OK(tokens().CreatePullToken(MakePull(TokenId('p', 9), "beta", "web", 50)));
  // Revoked and expired tokens are listed too.
  ASSERT_OK_AND_ASSIGN(bool revoked, tokens().RevokePullToken(TokenId('p', 3), kT1));
  EXPECT_TRUE(revoked);
  PullToken expired = MakePull(TokenId('p', 6), "acme", "web", 1);
  expired.expire_time = kT0;
  ASSERT_OK(tokens().CreatePullToken(expired));

  ASSERT_OK_AND_ASSIGN(std::vector<PullToken> web, tokens().ListPullTokens("acme", "web", 10));
  EXPECT_EQ(Ids(web), (std::vector<std::string>{TokenId('p', 4), TokenId('p', 3), TokenId('p', 1),
                                                TokenId('p', 5), TokenId('p', 6)}));
  EXPECT_EQ(web[1].revoke_time, kT1);
  ASSERT_OK_AND_ASSIGN(std::vector<PullToken> all, tokens().ListPullTokens("acme", "", 0));
  EXPECT_EQ(Ids(all),
            (std::vector<std::string>{TokenId('p', 4), TokenId('p', 3), TokenId('p', 2),
                                      TokenId('p', 1), TokenId('p', 5), TokenId('p', 6)}));
  ASSERT_OK_AND_ASSIGN(std::vector<PullToken> top, tokens().ListPullTokens("acme", "web", 2));
  EXPECT_EQ(Ids(top), (std::vector<std::string>{TokenId('p', 4), TokenId('p', 3)}));
  ASSERT_OK_AND_ASSIGN(std::vector<PullToken> none, tokens().ListPullTokens("acme", "nope", 0));
  EXPECT_TRUE(none.empty());
  ASSERT_OK_AND_ASSIGN(none, tokens().ListPullTokens("acme", "\xff", 0));
  EXPECT_TRUE(none.empty());
  EXPECT_CODE(tokens().ListPullTokens("ghost", "", 0).status(), kNotFound);
  EXPECT_CODE(tokens().ListPullTokens("ghost", "web", 0).status(), kNotFound);
  EXPECT_CODE(tokens().ListPullTokens("\xff", "web", 0).status(), kNotFound);
}

TEST_P(TokenStoreConformanceTest, ListPullTokensDefaultLimitIs100) {
  for (int i = 0; i < 101; ++i) {
    ASSERT_OK(tokens().CreatePullToken(MakePull(TokenId('p', i), "acme", "web", i)));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<PullToken> page, tokens().ListPullTokens("acme", "web", 0));
  ASSERT_EQ(page.size(), 100u);
  EXPECT_EQ(page.front().id, TokenId('p', 100));
  EXPECT_EQ(page.back().id, TokenId('p', 1));
  ASSERT_OK_AND_ASSIGN(page, tokens().ListPullTokens("acme", "", -1));
  EXPECT_EQ(page.size(), 100u);
  ASSERT_OK_AND_ASSIGN(page, tokens().ListPullTokens("acme", "web", 5000));  // clamped to 1000
  EXPECT_EQ(page.size(), 101u);
}

TEST_P(TokenStoreConformanceTest, RevokePullTokenOnce) {
  ASSERT_OK(tokens().CreatePullToken(MakePull(TokenId('p', 1), "acme", "web")));
  ASSERT_OK_AND_ASSIGN(bool first, tokens().RevokePullToken(TokenId('p', 1), kT1));
  EXPECT_TRUE(first);
  ASSERT_OK_AND_ASSIGN(bool second,
                       tokens().RevokePullToken(TokenId('p', 1), kT1 + absl::Hours(1)));
  EXPECT_FALSE(second);
  ASSERT_OK_AND_ASSIGN(PullToken got, tokens().GetPullToken(TokenId('p', 1)));
  EXPECT_EQ(got.revoke_time, kT1);  // the first revocation stands
  EXPECT_CODE(tokens().RevokePullToken(TokenId('p', 2), kT1).status(), kNotFound);
  EXPECT_CODE(tokens().RevokePullToken("\xff", kT1).status(), kNotFound);
}

TEST_P(TokenStoreConformanceTest, RevokePullTokensOfAppCountsOnlyUnrevoked) {
  for (int i = 1; i <= 3; ++i) {
    ASSERT_OK(tokens().CreatePullToken(MakePull(TokenId('p', i), "acme", "web", i)));
  }
  ASSERT_OK(tokens().CreatePullToken(MakePull(TokenId('p', 4), "acme", "api")));
  ASSERT_OK(tokens().CreatePullToken(MakePull(TokenId('p', 5), "beta", "web")));
  ASSERT_OK(tokens().RevokePullToken(TokenId('p', 1), kT0).status());

  ASSERT_OK_AND_ASSIGN(int64_t revoked, tokens().RevokePullTokensOfApp("acme", "web", kT1));
  EXPECT_EQ(revoked, 2);
  ASSERT_OK_AND_ASSIGN(revoked, tokens().RevokePullTokensOfApp("acme", "web", kT1));
  EXPECT_EQ(revoked, 0);
  ASSERT_OK_AND_ASSIGN(PullToken p1, tokens().GetPullToken(TokenId('p', 1)));
  EXPECT_EQ(p1.revoke_time, kT0);
  ASSERT_OK_AND_ASSIGN(PullToken p3, tokens().GetPullToken(TokenId('p', 3)));
  EXPECT_EQ(p3.revoke_time, kT1);
  ASSERT_OK_AND_ASSIGN(PullToken p4, tokens().GetPullToken(TokenId('p', 4)));
  EXPECT_EQ(p4.revoke_time, absl::InfiniteFuture());
  ASSERT_OK_AND_ASSIGN(PullToken p5, tokens().GetPullToken(TokenId('p', 5)));
  EXPECT_EQ(p5.revoke_time, absl::InfiniteFuture());
  ASSERT_OK_AND_ASSIGN(revoked, tokens().RevokePullTokensOfApp("ghost", "web", kT1));
  EXPECT_EQ(revoked, 0);
  ASSERT_OK_AND_ASSIGN(revoked, tokens().RevokePullTokensOfApp("acme", "\xff", kT1));
  EXPECT_EQ(revoked, 0);
}

TEST_P(TokenStoreConformanceTest, DeleteExpiredPullTokensBeforeATime) {
  auto expiring = [](int i, absl::Time expire) {
    PullToken t = MakePull(TokenId('p', i), "acme", "web");
    t.expire_time = expire;
    return t;
  };
  ASSERT_OK(tokens().CreatePullToken(expiring(1, kT0 - absl::Seconds(1))));
  ASSERT_OK(tokens().CreatePullToken(expiring(2, kT0)));
  ASSERT_OK(tokens().CreatePullToken(expiring(3, kT0 + absl::Microseconds(1))));
  ASSERT_OK(tokens().CreatePullToken(expiring(4, absl::InfiniteFuture())));
  PullToken revoked = expiring(5, kT0 - absl::Hours(1));
  revoked.revoke_time = kT0 - absl::Hours(2);
  ASSERT_OK(tokens().CreatePullToken(revoked));

  ASSERT_OK_AND_ASSIGN(int64_t deleted, tokens().DeleteExpiredPullTokens(kT0));  // strictly before
  EXPECT_EQ(deleted, 2);
  EXPECT_CODE(tokens().GetPullToken(TokenId('p', 1)).status(), kNotFound);
  EXPECT_CODE(tokens().GetPullToken(TokenId('p', 5)).status(), kNotFound);
  ASSERT_OK(tokens().GetPullToken(TokenId('p', 2)).status());
  // A bound finer than a microsecond compares exactly.
  ASSERT_OK_AND_ASSIGN(deleted, tokens().DeleteExpiredPullTokens(kT0 + absl::Nanoseconds(1)));
  EXPECT_EQ(deleted, 1);
  ASSERT_OK(tokens().GetPullToken(TokenId('p', 3)).status());
  ASSERT_OK_AND_ASSIGN(deleted, tokens().DeleteExpiredPullTokens(kT0 + absl::Hours(1)));
  EXPECT_EQ(deleted, 1);
  ASSERT_OK(tokens().GetPullToken(TokenId('p', 4)).status());
}

// ---- Refresh tokens

TEST_P(TokenStoreConformanceTest, RefreshTokenRoundTripsAndNeedsWorkspace) {
  RefreshToken in = MakeRefresh(TokenId('r', 1), "acme", "acme+builder");
  in.secret_hash = Hash('s', 0);
  ASSERT_OK(tokens().CreateRefreshToken(in));
  ASSERT_OK_AND_ASSIGN(RefreshToken got, tokens().GetRefreshToken(in.id));
  ExpectSameRefresh(got, in);
  EXPECT_EQ(got.last_used_time, absl::InfinitePast());
  EXPECT_EQ(got.revoke_time, absl::InfiniteFuture());

  RefreshToken used = MakeRefresh(TokenId('r', 2), "acme", "acme+builder");
  used.last_used_time = kT1;
  used.revoke_time = kT1 + absl::Seconds(1);
  used.service = "";
  used.client_id = "";
  ASSERT_OK(tokens().CreateRefreshToken(used));
  ASSERT_OK_AND_ASSIGN(got, tokens().GetRefreshToken(used.id));
  ExpectSameRefresh(got, used);

  EXPECT_CODE(tokens().CreateRefreshToken(MakeRefresh(TokenId('r', 3), "ghost", "ghost+x")),
              kNotFound);
  EXPECT_CODE(tokens().CreateRefreshToken(MakeRefresh(TokenId('r', 1), "beta", "beta+x")),
              kAlreadyExists);
  EXPECT_CODE(tokens().GetRefreshToken(TokenId('r', 3)).status(), kNotFound);
  EXPECT_CODE(tokens().GetRefreshToken("\xff").status(), kNotFound);
}

TEST_P(TokenStoreConformanceTest, RefreshTokenConstraintsAreInvalidArgument) {
  struct Case {
    const char* what;
    void (*mutate)(RefreshToken&);
    const char* constraint;
  };
  const Case cases[] = {
      {"bad id", [](RefreshToken& t) { t.id = "rrt_" + t.id; }, "refresh_tokens_id_format"},
      {"empty subject", [](RefreshToken& t) { t.subject = ""; }, "refresh_tokens_subject_format"},
      {"subject with space", [](RefreshToken& t) { t.subject = "acme builder"; },
       "refresh_tokens_subject_format"},
      {"257-byte subject", [](RefreshToken& t) { t.subject = std::string(257, 's'); },
       "refresh_tokens_subject_format"},
      {"256-char service", [](RefreshToken& t) { t.service = std::string(256, 's'); },
       "refresh_tokens_service_length"},
      {"256-char client id", [](RefreshToken& t) { t.client_id = std::string(256, 'c'); },
       "refresh_tokens_client_id_length"},
      {"long hash", [](RefreshToken& t) { t.secret_hash.digest.append("x"); },
       "refresh_tokens_secret_hash_length"},
      {"short subject generation", [](RefreshToken& t) { t.subject_generation = "x"; },
       "refresh_tokens_subject_generation_length"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    RefreshToken t = MakeRefresh(TokenId('r', 1), "acme", "acme+builder");
    c.mutate(t);
    ExpectConstraint(tokens().CreateRefreshToken(t), c.constraint);
  }
  RefreshToken longest = MakeRefresh(TokenId('r', 1), "acme", std::string(256, 's'));
  longest.service = Repeat("\xC3\xA9", 255);
  longest.client_id = Repeat("\xC3\xA9", 255);
  ASSERT_OK(tokens().CreateRefreshToken(longest));
}

TEST_P(TokenStoreConformanceTest, ListRefreshTokensNewestFirst) {
  ASSERT_OK(tokens().CreateRefreshToken(MakeRefresh(TokenId('r', 1), "acme", "acme+ci", 10)));
  ASSERT_OK(tokens().CreateRefreshToken(MakeRefresh(TokenId('r', 2), "acme", "acme+ci", 30)));
  ASSERT_OK(tokens().CreateRefreshToken(MakeRefresh(TokenId('r', 3), "acme", "acme+web", 20)));
  ASSERT_OK(tokens().CreateRefreshToken(MakeRefresh(TokenId('r', 4), "acme", "acme+ci", 30)));
  ASSERT_OK(tokens().CreateRefreshToken(MakeRefresh(TokenId('r', 5), "beta", "acme+ci", 40)));

  ASSERT_OK_AND_ASSIGN(std::vector<RefreshToken> ci,
                       tokens().ListRefreshTokens("acme", "acme+ci", 0));
  EXPECT_EQ(Ids(ci), (std::vector<std::string>{TokenId('r', 4), TokenId('r', 2), TokenId('r', 1)}));
  ASSERT_OK_AND_ASSIGN(std::vector<RefreshToken> all, tokens().ListRefreshTokens("acme", "", 0));
  EXPECT_EQ(Ids(all), (std::vector<std::string>{TokenId('r', 4), TokenId('r', 2), TokenId('r', 3),
                                                TokenId('r', 1)}));
  ASSERT_OK_AND_ASSIGN(std::vector<RefreshToken> one,
                       tokens().ListRefreshTokens("acme", "acme+ci", 1));
  EXPECT_EQ(Ids(one), (std::vector<std::string>{TokenId('r', 4)}));
  ASSERT_OK_AND_ASSIGN(std::vector<RefreshToken> none,
                       tokens().ListRefreshTokens("acme", "acme+nobody", 0));
  EXPECT_TRUE(none.empty());
  EXPECT_CODE(tokens().ListRefreshTokens("ghost", "", 0).status(), kNotFound);
}

TEST_P(TokenStoreConformanceTest, RevokeAndTouchRefreshTokens) {
  ASSERT_OK(tokens().CreateRefreshToken(MakeRefresh(TokenId('r', 1), "acme", "acme+ci")));
  ASSERT_OK(tokens().CreateRefreshToken(MakeRefresh(TokenId('r', 2), "acme", "acme+ci")));
  ASSERT_OK(tokens().CreateRefreshToken(MakeRefresh(TokenId('r', 3), "acme", "acme+ci")));
  ASSERT_OK(tokens().CreateRefreshToken(MakeRefresh(TokenId('r', 4), "acme", "acme+web")));

  ASSERT_OK_AND_ASSIGN(bool first, tokens().RevokeRefreshToken(TokenId('r', 1), kT0));
  EXPECT_TRUE(first);
  ASSERT_OK_AND_ASSIGN(bool second, tokens().RevokeRefreshToken(TokenId('r', 1), kT1));
  EXPECT_FALSE(second);
  EXPECT_CODE(tokens().RevokeRefreshToken(TokenId('r', 9), kT1).status(), kNotFound);

  ASSERT_OK_AND_ASSIGN(int64_t revoked, tokens().RevokeRefreshTokensOfSubject("acme+ci", kT1));
  EXPECT_EQ(revoked, 2);
  ASSERT_OK_AND_ASSIGN(revoked, tokens().RevokeRefreshTokensOfSubject("acme+ci", kT1));
  EXPECT_EQ(revoked, 0);
  ASSERT_OK_AND_ASSIGN(revoked, tokens().RevokeRefreshTokensOfSubject("\xff", kT1));
  EXPECT_EQ(revoked, 0);
  ASSERT_OK_AND_ASSIGN(RefreshToken r1, tokens().GetRefreshToken(TokenId('r', 1)));
  EXPECT_EQ(r1.revoke_time, kT0);
  ASSERT_OK_AND_ASSIGN(RefreshToken r2, tokens().GetRefreshToken(TokenId('r', 2)));
  EXPECT_EQ(r2.revoke_time, kT1);
  ASSERT_OK_AND_ASSIGN(RefreshToken r4, tokens().GetRefreshToken(TokenId('r', 4)));
  EXPECT_EQ(r4.revoke_time, absl::InfiniteFuture());

  ASSERT_OK(tokens().TouchRefreshToken(TokenId('r', 4), kT1 + absl::Nanoseconds(10)));
  ASSERT_OK(tokens().TouchRefreshToken(TokenId('r', 4), kT0));  // never moves back
  ASSERT_OK_AND_ASSIGN(r4, tokens().GetRefreshToken(TokenId('r', 4)));
  EXPECT_EQ(r4.last_used_time, kT1);
  EXPECT_CODE(tokens().TouchRefreshToken(TokenId('r', 9), kT1), kNotFound);
  EXPECT_CODE(tokens().TouchRefreshToken("\xff", kT1), kNotFound);
}

TEST_P(TokenStoreConformanceTest, DeleteExpiredRefreshTokensBeforeATime) {
  RefreshToken old = MakeRefresh(TokenId('r', 1), "acme", "acme+ci");
  old.expire_time = kT0 - absl::Seconds(1);
  RefreshToken now = MakeRefresh(TokenId('r', 2), "acme", "acme+ci");
  now.expire_time = kT0;
  RefreshToken later = MakeRefresh(TokenId('r', 3), "beta", "beta+ci");
  ASSERT_OK(tokens().CreateRefreshToken(old));
  ASSERT_OK(tokens().CreateRefreshToken(now));
  ASSERT_OK(tokens().CreateRefreshToken(later));
  ASSERT_OK_AND_ASSIGN(int64_t deleted, tokens().DeleteExpiredRefreshTokens(kT0));
  EXPECT_EQ(deleted, 1);
  ASSERT_OK_AND_ASSIGN(deleted, tokens().DeleteExpiredRefreshTokens(kT0 + absl::Nanoseconds(1)));
  EXPECT_EQ(deleted, 1);
  ASSERT_OK(tokens().GetRefreshToken(TokenId('r', 3)).status());
  ASSERT_OK_AND_ASSIGN(deleted, tokens().DeleteExpiredRefreshTokens(kT0));
  EXPECT_EQ(deleted, 0);
}

// ---- Failed-login throttle

TEST_P(TokenStoreConformanceTest, ThrottleFollowsNextThrottleState) {
  ThrottlePolicy policy;
  policy.free_failures = 3;
  policy.window = absl::Minutes(10);
  policy.base_delay = absl::Seconds(1);
  policy.max_delay = absl::Seconds(8);
  FakeClock clock(kT0);
  const std::string key = "account:acme+builder";

  ASSERT_OK_AND_ASSIGN(ThrottleState zero, tokens().GetThrottleState(key));
  ExpectSameThrottle(zero, ThrottleState{key, 0, absl::InfinitePast(), absl::InfinitePast()});

  // (clock advance before the failure, failures, blocked for, from now; ZeroDuration = not
  // blocked). Free failures, then 1s, 2s, 4s, 8s, capped at 8s.
  struct Step {
    absl::Duration advance;
    int32_t failures;
    absl::Duration blocked_for;
  };
  const Step steps[] = {
      {absl::ZeroDuration(), 1, absl::ZeroDuration()}, {absl::Seconds(1), 2, absl::ZeroDuration()},
      {absl::Seconds(1), 3, absl::ZeroDuration()},     {absl::Seconds(1), 4, absl::Seconds(1)},
      {absl::Seconds(1), 5, absl::Seconds(2)},         {absl::Seconds(2), 6, absl::Seconds(4)},
      {absl::Seconds(4), 7, absl::Seconds(8)},         {absl::Seconds(8), 8, absl::Seconds(8)},
      {absl::Seconds(1), 9, absl::Seconds(8)},
  };
  ThrottleState expected = zero;
  for (const Step& step : steps) {
    SCOPED_TRACE(step.failures);
    clock.Advance(step.advance);
    ASSERT_OK_AND_ASSIGN(ThrottleState got, tokens().RecordLoginFailure(key, clock.Now(), policy));
    expected = NextThrottleState(expected, clock.Now(), policy);
    ExpectSameThrottle(got, expected);
    EXPECT_EQ(got.failures, step.failures);
    EXPECT_EQ(got.window_start, kT0);
    EXPECT_EQ(got.blocked_until, step.blocked_for == absl::ZeroDuration()
                                     ? absl::InfinitePast()
                                     : clock.Now() + step.blocked_for);
    ASSERT_OK_AND_ASSIGN(ThrottleState stored, tokens().GetThrottleState(key));
    ExpectSameThrottle(stored, got);
  }
  const absl::Time last_block = expected.blocked_until;

  // The window ends: counting starts again (a block already set stays as it was).
  clock.Set(kT0 + policy.window);
  ASSERT_OK_AND_ASSIGN(ThrottleState fresh, tokens().RecordLoginFailure(key, clock.Now(), policy));
  ExpectSameThrottle(fresh, ThrottleState{key, 1, kT0 + policy.window, last_block});

  // Other keys are independent.
  ASSERT_OK_AND_ASSIGN(ThrottleState other,
                       tokens().RecordLoginFailure("addr:192.0.2.1", clock.Now(), policy));
  EXPECT_EQ(other.failures, 1);

  // A successful login forgets the failures.
  ASSERT_OK(tokens().ClearLoginFailures(key));
  ASSERT_OK_AND_ASSIGN(ThrottleState cleared, tokens().GetThrottleState(key));
  ExpectSameThrottle(cleared, zero);
  ASSERT_OK(tokens().ClearLoginFailures(key));  // clearing twice is fine
  ASSERT_OK(tokens().ClearLoginFailures("never-seen"));
  clock.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(ThrottleState again, tokens().RecordLoginFailure(key, clock.Now(), policy));
  ExpectSameThrottle(again, ThrottleState{key, 1, clock.Now(), absl::InfinitePast()});
  ASSERT_OK_AND_ASSIGN(other, tokens().GetThrottleState("addr:192.0.2.1"));
  EXPECT_EQ(other.failures, 1);
}

TEST_P(TokenStoreConformanceTest, ThrottleKeepsMicroseconds) {
  ThrottlePolicy policy;
  policy.free_failures = 0;
  policy.base_delay = absl::Milliseconds(1500);
  ASSERT_OK_AND_ASSIGN(ThrottleState got,
                       tokens().RecordLoginFailure("k", kT0 + absl::Nanoseconds(999), policy));
  EXPECT_EQ(got.window_start, kT0);
  EXPECT_EQ(got.blocked_until, kT0 + absl::Milliseconds(1500));
  ASSERT_OK_AND_ASSIGN(ThrottleState stored, tokens().GetThrottleState("k"));
  ExpectSameThrottle(stored, got);
}

TEST_P(TokenStoreConformanceTest, DeleteStaleThrottleStates) {
  ThrottlePolicy policy;  // free 5, window 15 min
  ThrottlePolicy harsh = policy;
  harsh.free_failures = 0;
  harsh.base_delay = absl::Hours(1);
  harsh.max_delay = absl::Hours(1);
  ASSERT_OK(tokens().RecordLoginFailure("old", kT0, policy).status());
  ASSERT_OK(tokens().RecordLoginFailure("recent", kT0 + absl::Minutes(9), policy).status());
  ASSERT_OK(tokens().RecordLoginFailure("blocked", kT0, harsh).status());  // until kT0 + 1h

  // "old"'s window ends exactly at the bound: stale.
  ASSERT_OK_AND_ASSIGN(int64_t deleted,
                       tokens().DeleteStaleThrottleStates(kT0 + policy.window, policy));
  EXPECT_EQ(deleted, 1);
  ASSERT_OK_AND_ASSIGN(ThrottleState old, tokens().GetThrottleState("old"));
  EXPECT_EQ(old.failures, 0);
  ASSERT_OK_AND_ASSIGN(ThrottleState recent, tokens().GetThrottleState("recent"));
  EXPECT_EQ(recent.failures, 1);
  ASSERT_OK_AND_ASSIGN(ThrottleState blocked, tokens().GetThrottleState("blocked"));
  EXPECT_EQ(blocked.failures, 1);
  EXPECT_EQ(blocked.blocked_until, kT0 + absl::Hours(1));

  // The window of "recent" has ended but not the block of "blocked".
  ASSERT_OK_AND_ASSIGN(deleted, tokens().DeleteStaleThrottleStates(
                                    kT0 + absl::Minutes(24) + absl::Nanoseconds(1), policy));
  EXPECT_EQ(deleted, 1);
  ASSERT_OK_AND_ASSIGN(blocked, tokens().GetThrottleState("blocked"));
  EXPECT_EQ(blocked.failures, 1);
  ASSERT_OK_AND_ASSIGN(deleted, tokens().DeleteStaleThrottleStates(kT0 + absl::Hours(1), policy));
  EXPECT_EQ(deleted, 1);
  ASSERT_OK_AND_ASSIGN(deleted, tokens().DeleteStaleThrottleStates(kT0 + absl::Hours(9), policy));
  EXPECT_EQ(deleted, 0);
}

TEST_P(TokenStoreConformanceTest, ThrottleKeyLimits) {
  const ThrottlePolicy policy;
  ASSERT_OK(tokens().RecordLoginFailure(std::string(512, 'k'), kT0, policy).status());
  ExpectConstraint(tokens().RecordLoginFailure(std::string(513, 'k'), kT0, policy).status(),
                   "login_throttle_key_length");
  ExpectConstraint(tokens().RecordLoginFailure("", kT0, policy).status(),
                   "login_throttle_key_length");
  // Keys carry client-chosen user names: text that cannot be stored is refused, not INTERNAL.
  EXPECT_CODE(tokens().RecordLoginFailure("account:\xff", kT0, policy).status(), kInvalidArgument);
  EXPECT_CODE(tokens().RecordLoginFailure(std::string("account:a\0b", 11), kT0, policy).status(),
              kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(ThrottleState state, tokens().GetThrottleState("account:\xff"));
  EXPECT_EQ(state.failures, 0);
  EXPECT_EQ(state.key, "account:\xff");
  ASSERT_OK(tokens().ClearLoginFailures("account:\xff"));
  // Multi-byte keys count bytes.
  ASSERT_OK(tokens().RecordLoginFailure(Repeat("\xC3\xA9", 256), kT0, policy).status());
  EXPECT_CODE(tokens().RecordLoginFailure(Repeat("\xC3\xA9", 256) + "x", kT0, policy).status(),
              kInvalidArgument);
}

TEST_P(TokenStoreConformanceTest, ConcurrentFailuresOnOneKeyAreNotLost) {
  constexpr int kThreads = 8;
  constexpr int kFailuresPerThread = 25;
  const ThrottlePolicy policy;  // every failure is at kT0: one window
  const std::string key = "account:acme+builder";
  absl::Mutex mu;
  std::vector<int32_t> seen;  // the failures count each call returned
  std::vector<absl::Status> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kFailuresPerThread; ++i) {
        absl::StatusOr<ThrottleState> state = tokens().RecordLoginFailure(key, kT0, policy);
        absl::MutexLock lock(&mu);
        if (state.ok()) {
          seen.push_back(state->failures);
        } else {
          errors.push_back(state.status());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const absl::Status& e : errors) ADD_FAILURE() << e;
  ASSERT_OK_AND_ASSIGN(ThrottleState final_state, tokens().GetThrottleState(key));
  EXPECT_EQ(final_state.failures, kThreads * kFailuresPerThread);
  // Each call saw its own count: the read-modify-writes were serialised.
  std::sort(seen.begin(), seen.end());
  std::vector<int32_t> want(kThreads * kFailuresPerThread);
  for (size_t i = 0; i < want.size(); ++i) want[i] = static_cast<int32_t>(i + 1);
  EXPECT_EQ(seen, want);
}

// ---- Key rotation, cascade, secrecy

TEST_P(TokenStoreConformanceTest, CountSecretHashesByKeyId) {
  ASSERT_OK_AND_ASSIGN(KeyCounts empty, tokens().CountSecretHashesByKeyId());
  EXPECT_TRUE(empty.empty());
  ServiceAccount a1 = MakeAccount("acme", "one");
  a1.secret_hash.key_id = 1;
  ServiceAccount a2 = MakeAccount("beta", "two");
  a2.secret_hash.key_id = 2;
  ASSERT_OK(tokens().CreateServiceAccount(a1).status());
  ASSERT_OK(tokens().CreateServiceAccount(a2).status());
  PullToken p1 = MakePull(TokenId('p', 1), "acme", "web");
  p1.secret_hash.key_id = 1;
  p1.revoke_time = kT0;  // revoked rows count until deleted
  PullToken p2 = MakePull(TokenId('p', 2), "acme", "web");
  p2.secret_hash.key_id = 4294967295u;
  p2.expire_time = kT0 - absl::Hours(1);  // so do expired ones
  ASSERT_OK(tokens().CreatePullToken(p1));
  ASSERT_OK(tokens().CreatePullToken(p2));
  RefreshToken r1 = MakeRefresh(TokenId('r', 1), "acme", "acme+one");
  r1.secret_hash.key_id = 2;
  ASSERT_OK(tokens().CreateRefreshToken(r1));
  ASSERT_OK_AND_ASSIGN(KeyCounts counts, tokens().CountSecretHashesByKeyId());
  EXPECT_EQ(counts, (KeyCounts{{1, 2}, {2, 2}, {4294967295u, 1}}));
  ASSERT_OK(tokens().DeleteExpiredPullTokens(kT0).status());
  ASSERT_OK_AND_ASSIGN(counts, tokens().CountSecretHashesByKeyId());
  EXPECT_EQ(counts, (KeyCounts{{1, 2}, {2, 2}}));
}

TEST_P(TokenStoreConformanceTest, DeletingAWorkspaceDeletesItsAccountsAndTokens) {
  if (!GetParam().cascades) GTEST_SKIP() << GetParam().name << " does not cascade";
  App app;
  app.workspace_id = "acme";
  app.id = "web";
  app.create_time = kT0;
  app.update_time = kT0;
  ASSERT_OK(registry().CreateApp(app).status());
  for (const char* ws : {"acme", "beta"}) {
    ASSERT_OK(tokens().CreateServiceAccount(MakeAccount(ws, "builder")).status());
  }
  ASSERT_OK(tokens().CreatePullToken(MakePull(TokenId('p', 1), "acme", "web")));
  ASSERT_OK(tokens().CreatePullToken(MakePull(TokenId('p', 2), "beta", "web")));
  ASSERT_OK(tokens().CreateRefreshToken(MakeRefresh(TokenId('r', 1), "acme", "acme+builder")));
  ASSERT_OK(tokens().CreateRefreshToken(MakeRefresh(TokenId('r', 2), "beta", "beta+builder")));
  ASSERT_OK(tokens().RecordLoginFailure("account:acme+builder", kT0, {}).status());

  ASSERT_OK(registry().DeleteWorkspace("acme", 0, /*force=*/true));
  EXPECT_CODE(tokens().GetServiceAccount("acme", "builder").status(), kNotFound);
  EXPECT_CODE(tokens().GetPullToken(TokenId('p', 1)).status(), kNotFound);
  EXPECT_CODE(tokens().GetRefreshToken(TokenId('r', 1)).status(), kNotFound);
  ASSERT_OK(tokens().GetServiceAccount("beta", "builder").status());
  ASSERT_OK(tokens().GetPullToken(TokenId('p', 2)).status());
  ASSERT_OK(tokens().GetRefreshToken(TokenId('r', 2)).status());
  ASSERT_OK_AND_ASSIGN(ThrottleState throttle, tokens().GetThrottleState("account:acme+builder"));
  EXPECT_EQ(throttle.failures, 1);  // throttle keys belong to no workspace
  ASSERT_OK_AND_ASSIGN(KeyCounts counts, tokens().CountSecretHashesByKeyId());
  EXPECT_EQ(counts, (KeyCounts{{7, 3}}));

  // A new workspace of the same name starts empty.
  ASSERT_OK(registry().CreateWorkspace(MakeWorkspace("acme")).status());
  ASSERT_OK_AND_ASSIGN(Page<ServiceAccount> accounts, tokens().ListServiceAccounts("acme", {}));
  EXPECT_TRUE(accounts.items.empty());
  ASSERT_OK_AND_ASSIGN(std::vector<PullToken> pulls, tokens().ListPullTokens("acme", "", 0));
  EXPECT_TRUE(pulls.empty());
}

TEST_P(TokenStoreConformanceTest, ErrorsNeverContainSecretHashes) {
  SecretHash sentinel;
  sentinel.digest = kSentinelText;
  sentinel.key_id = 3;
  std::vector<absl::Status> errors;

  ServiceAccount a = MakeAccount("acme", "builder");
  a.secret_hash = sentinel;
  ASSERT_OK(tokens().CreateServiceAccount(a).status());
  errors.push_back(tokens().CreateServiceAccount(a).status());  // duplicate
  ServiceAccount ghost = a;
  ghost.workspace_id = "ghost";
  errors.push_back(tokens().CreateServiceAccount(ghost).status());
  ServiceAccount bad = a;
  bad.id = "other";
  bad.display_name = std::string(300, 'x');
  errors.push_back(tokens().CreateServiceAccount(bad).status());
  bad = a;
  bad.secret_hash.digest += "-TOO-LONG";
  errors.push_back(tokens().UpdateServiceAccount(bad, 0).status());
  errors.push_back(tokens().UpdateServiceAccount(a, 7).status());  // stale

  PullToken p = MakePull(TokenId('p', 1), "acme", "web");
  p.secret_hash = sentinel;
  ASSERT_OK(tokens().CreatePullToken(p));
  errors.push_back(tokens().CreatePullToken(p));
  p.id = TokenId('p', 2);
  p.workspace_id = "ghost";
  errors.push_back(tokens().CreatePullToken(p));
  p.workspace_id = "acme";
  p.secret_hash.digest.resize(20);
  errors.push_back(tokens().CreatePullToken(p));

  RefreshToken r = MakeRefresh(TokenId('r', 1), "acme", "acme+builder");
  r.secret_hash = sentinel;
  ASSERT_OK(tokens().CreateRefreshToken(r));
  errors.push_back(tokens().CreateRefreshToken(r));
  r.id = TokenId('r', 2);
  r.subject = "bad subject";
  errors.push_back(tokens().CreateRefreshToken(r));

  for (const absl::Status& e : errors) {
    EXPECT_FALSE(e.ok());
    EXPECT_EQ(std::string(e.message()).find("HASHSENTINEL"), std::string::npos) << e;
    EXPECT_NE(e.code(), absl::StatusCode::kInternal) << e;
  }
}

}  // namespace registryauth::storage::testing
