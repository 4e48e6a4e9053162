// Authorization, membership rules, credentials and auditing of services::RegistryAuth, on the
// fake store (fast; the same rules run end to end over gRPC in tests/).
#include "services/registry_auth.h"
#include "services/testing/callers.h"
#include "services/testing/registry_auth_stack.h"

#include <string>

#include "absl/strings/match.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "services/error_detail.h"
#include "services/testing/fake_aead.h"
#include "storage/memory_store.h"
#include "storage/testing/failing_registry_store.h"

namespace registryauth::services {
namespace {

using auth::Permission;

constexpr char kPat[] = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";

using testing::Caller;

class RegistryAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The front end creates the workspace for alice, who becomes its OWNER.
    ASSERT_TRUE(api_.CreateWorkspace(User("alice"), "acme", "ACME").ok());
    ASSERT_TRUE(api_.CreateMember(User("alice"), "workspaces/acme", "bob", MemberRole::kAdmin,
                                  MemberStatus::kActive)
                    .ok());
    ASSERT_TRUE(api_.CreateMember(User("alice"), "workspaces/acme", "carol", MemberRole::kMember,
                                  MemberStatus::kActive)
                    .ok());
    ASSERT_TRUE(api_.CreateMember(User("alice"), "workspaces/acme", "dave", MemberRole::kAdmin,
                                  MemberStatus::kRemoved)
                    .ok());
  }

  static RequestContext Frontend(std::string user = "") {
    return Caller("frontend", {Permission::kRegistriesManage, Permission::kActAsUser}, user);
  }
  static RequestContext User(std::string user) { return Frontend(std::move(user)); }
  static RequestContext Worker() { return Caller("build-worker", {Permission::kCredentialsRead}); }

  absl::StatusOr<RegistryConfig> CreateGhcr(const RequestContext& ctx, std::string id,
                                            const char* pat = kPat) {
    RegistryConfigInput in;
    in.type = in.settings_type = RegistryType::kGhcr;
    in.owner = "acme-org";
    if (pat != nullptr) in.secret = SecretString(pat);
    return api_.CreateRegistryConfig(ctx, "workspaces/acme", id, std::move(in));
  }

  std::vector<AuditEvent> Audit() { return store_.ListAuditEvents(AuditFilter{}, 1000, 0)->items; }

  FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  storage::InMemoryRegistryStore memory_;
  storage::testing::FailingRegistryStore store_{memory_};
  testing::FakeAead aead_{7};
  RegistryService registry_{store_, aead_, clock_};
  testing::TestRegistryAuth api_{store_, registry_, clock_};
};

TEST_F(RegistryAuthTest, RolesDecideWhatAUserMayChange) {
  EXPECT_TRUE(CreateGhcr(User("alice"), "gh1").ok());                        // OWNER
  EXPECT_TRUE(CreateGhcr(User("bob"), "gh2").ok());                          // ADMIN
  absl::StatusOr<RegistryConfig> member = CreateGhcr(User("carol"), "gh3");  // MEMBER
  EXPECT_EQ(member.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(GetErrorDetail(member.status())->reason, kReasonRoleTooLow);
  absl::StatusOr<RegistryConfig> removed = CreateGhcr(User("dave"), "gh4");  // REMOVED admin
  EXPECT_EQ(removed.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(GetErrorDetail(removed.status())->reason, kReasonNotAMember);
  absl::StatusOr<RegistryConfig> stranger = CreateGhcr(User("mallory"), "gh5");
  EXPECT_EQ(stranger.status().code(), absl::StatusCode::kPermissionDenied);

  // Reads: any ACTIVE member.
  EXPECT_TRUE(api_.GetRegistryConfig(User("carol"), "workspaces/acme/registries/gh1").ok());
  EXPECT_EQ(api_.GetRegistryConfig(User("dave"), "workspaces/acme/registries/gh1").status().code(),
            absl::StatusCode::kPermissionDenied);
  // TestConnection: OWNER/ADMIN pass the check (then UNIMPLEMENTED: no tester configured
  // here), MEMBER does not.
  EXPECT_EQ(api_.TestConnection(User("bob"), "workspaces/acme/registries/gh1").status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(api_.TestConnection(User("carol"), "workspaces/acme/registries/gh1").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(RegistryAuthTest, CallerPermissionsComeFirst) {
  RequestContext no_act = Caller("ui", {Permission::kRegistriesManage}, "alice");
  EXPECT_EQ(CreateGhcr(no_act, "gh").status().code(), absl::StatusCode::kPermissionDenied);
  RequestContext reader = Caller("reader", {Permission::kRegistriesRead});
  EXPECT_TRUE(api_.ListRegistryConfigs(reader, "workspaces/acme", 0, "").ok());
  EXPECT_EQ(CreateGhcr(reader, "gh").status().code(), absl::StatusCode::kPermissionDenied);
  RequestContext worker = Worker();
  EXPECT_EQ(api_.ListRegistryConfigs(worker, "workspaces/acme", 0, "").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(api_.ListAuditEvents(worker, AuditFilter{}, 0, "").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(RegistryAuthTest, GetCredentialsOnlyForTrustedCallersAndAlwaysAudited) {
  ASSERT_TRUE(CreateGhcr(Frontend(), "gh").ok());
  absl::StatusOr<Credentials> c = api_.GetCredentials(Worker(), "workspaces/acme/registries/gh");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->secret.view(), kPat);
  EXPECT_EQ(c->registry_host, "ghcr.io");
  EXPECT_EQ(c->username, "acme-org");

  // The front end (even the owner acting through it) never gets secrets.
  EXPECT_EQ(api_.GetCredentials(User("alice"), "workspaces/acme/registries/gh").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(api_.GetCredentials(Frontend(), "workspaces/acme/registries/gh").status().code(),
            absl::StatusCode::kPermissionDenied);

  std::vector<AuditEvent> events = Audit();
  int ok = 0, denied = 0;
  for (const AuditEvent& e : events) {
    EXPECT_FALSE(absl::StrContains(e.detail, kPat));
    if (e.action != "GetCredentials") continue;
    EXPECT_EQ(e.resource, "workspaces/acme/registries/gh");
    if (e.outcome == "OK") {
      ++ok;
      EXPECT_EQ(e.caller, "spiffe://example.org/build-worker");
      EXPECT_EQ(e.request_id, "req-build-worker");
    }
    if (e.outcome == "PERMISSION_DENIED") ++denied;
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(denied, 2);
}

TEST_F(RegistryAuthTest, NoAuditRecordNoSecret) {
  ASSERT_TRUE(CreateGhcr(Frontend(), "gh").ok());
  // Every audit append fails from now on: GetCredentials must hand out nothing.
  store_.set_fail_audit_appends(true);
  absl::StatusOr<Credentials> c = api_.GetCredentials(Worker(), "workspaces/acme/registries/gh");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorDetail(c.status())->reason, kReasonAuditUnavailable);
  EXPECT_TRUE(GetErrorDetail(c.status())->retryable);
}

TEST_F(RegistryAuthTest, IncompleteCredentials) {
  // A platform-registry config saved before its service credential: allowed, but incomplete.
  RegistryConfigInput in;
  in.type = in.settings_type = RegistryType::kDistribution;
  in.url = "https://registry.example.com:5000";
  in.repository_namespace = "acme";
  ASSERT_TRUE(
      api_.CreateRegistryConfig(Frontend(), "workspaces/acme", "nosecret", std::move(in)).ok());
  absl::StatusOr<Credentials> c =
      api_.GetCredentials(Worker(), "workspaces/acme/registries/nosecret");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  std::optional<ErrorDetail> d = GetErrorDetail(c.status());
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->reason, kReasonIncompleteCredentials);
  EXPECT_EQ(d->category, ErrorCategory::kAuthentication);
  EXPECT_EQ(api_.GetCredentials(Worker(), "workspaces/acme/registries/none").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(api_.GetCredentials(Worker(), "bogus").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryAuthTest, GetCredentialsPerRegistryType) {
  struct Case {
    RegistryType type;
    std::string owner, login_server, url, ns, username;
    std::string host, user, want_ns;
  };
  const std::vector<Case> cases = {
      {RegistryType::kGhcr, "acme-org", "", "", "", "", "ghcr.io", "acme-org", "acme-org"},
      {RegistryType::kAcr, "", "acme.azurecr.io", "", "", "acr-pull", "acme.azurecr.io", "acr-pull",
       ""},
      {RegistryType::kDistribution, "", "", "https://registry.example.com:5000/", "teams/acme",
       "svc", "registry.example.com:5000", "svc", "teams/acme"},
      {RegistryType::kGeneric, "", "", "http://127.0.0.1:5000", "", "bob", "127.0.0.1:5000", "bob",
       ""},
  };
  int n = 0;
  for (const Case& c : cases) {
    RegistryConfigInput in;
    in.type = in.settings_type = c.type;
    in.owner = c.owner;
    in.login_server = c.login_server;
    in.url = c.url;
    in.repository_namespace = c.ns;
    in.username = c.username;
    in.secret = SecretString("secret-" + std::to_string(n));
    const std::string id = "r" + std::to_string(n);
    absl::StatusOr<RegistryConfig> created =
        api_.CreateRegistryConfig(Frontend(), "workspaces/acme", id, std::move(in));
    ASSERT_TRUE(created.ok()) << id << ": " << created.status();
    absl::StatusOr<Credentials> got =
        api_.GetCredentials(Worker(), "workspaces/acme/registries/" + id);
    ASSERT_TRUE(got.ok()) << id << ": " << got.status();
    EXPECT_EQ(got->type, c.type) << id;
    EXPECT_EQ(got->registry_host, c.host) << id;
    EXPECT_EQ(got->username, c.user) << id;
    EXPECT_EQ(got->repository_namespace, c.want_ns) << id;
    EXPECT_EQ(got->secret.view(), "secret-" + std::to_string(n)) << id;
    ++n;
  }
}

TEST_F(RegistryAuthTest, TheLastOwnerStays) {
  absl::StatusOr<Member> alice = api_.GetMember(User("alice"), "workspaces/acme/members/alice");
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->role, MemberRole::kOwner);
  absl::StatusOr<Member> demoted =
      api_.UpdateMember(User("alice"), "workspaces/acme/members/alice", MemberRole::kAdmin,
                        MemberStatus::kUnspecified, {}, "");
  EXPECT_EQ(demoted.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(api_.DeleteMember(User("alice"), "workspaces/acme/members/alice", "").code(),
            absl::StatusCode::kFailedPrecondition);
  // An ADMIN cannot make an OWNER; the OWNER can, and then step down.
  EXPECT_EQ(api_.UpdateMember(User("bob"), "workspaces/acme/members/carol", MemberRole::kOwner,
                              MemberStatus::kUnspecified, {}, "")
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(api_.UpdateMember(User("alice"), "workspaces/acme/members/bob", MemberRole::kOwner,
                                MemberStatus::kUnspecified, {}, "")
                  .ok());
  EXPECT_TRUE(api_.UpdateMember(User("alice"), "workspaces/acme/members/alice", MemberRole::kMember,
                                MemberStatus::kUnspecified, {}, "")
                  .ok());
}

TEST_F(RegistryAuthTest, UsersSeeOnlyTheirWorkspaces) {
  ASSERT_TRUE(api_.CreateWorkspace(User("zed"), "other", "").ok());
  absl::StatusOr<ListResult<Workspace>> alice = api_.ListWorkspaces(User("alice"), 0, "");
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->items.size(), 1u);
  EXPECT_EQ(alice->items[0].id, "acme");
  absl::StatusOr<ListResult<Workspace>> all = api_.ListWorkspaces(Frontend(), 0, "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items.size(), 2u);
  EXPECT_EQ(api_.GetWorkspace(User("alice"), "workspaces/other").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(RegistryAuthTest, AuditTrailFiltersAndPages) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(CreateGhcr(Frontend(), "gh" + std::to_string(i)).ok());
  AuditFilter filter;
  filter.resource = "workspaces/acm";
  absl::StatusOr<ListResult<AuditEvent>> none = api_.ListAuditEvents(Frontend(), filter, 0, "");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->items.empty());  // a prefix must end at a name segment
  filter.resource = "workspaces/acme";
  filter.caller = "spiffe://example.org/frontend";
  std::vector<std::string> seen;
  std::string token;
  do {
    absl::StatusOr<ListResult<AuditEvent>> page =
        api_.ListAuditEvents(Frontend(), filter, 2, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const AuditEvent& e : page->items) seen.push_back(e.resource + " " + e.action);
    token = page->next_page_token;
  } while (!token.empty());
  // Newest first; the membership set-up was also done by the front end.
  ASSERT_GE(seen.size(), 5u);
  EXPECT_EQ(seen[0], "workspaces/acme/registries/gh4 CreateRegistryConfig");
  filter.caller = "someone-else";
  EXPECT_EQ(api_.ListAuditEvents(Frontend(), filter, 2, "").status().code(), absl::StatusCode::kOk);
  absl::StatusOr<ListResult<AuditEvent>> first = api_.ListAuditEvents(Frontend(), {}, 1, "");
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->next_page_token.empty());
  EXPECT_EQ(api_.ListAuditEvents(Frontend(), filter, 1, first->next_page_token).status().code(),
            absl::StatusCode::kInvalidArgument);  // token of another filter
}

}  // namespace
}  // namespace registryauth::services
