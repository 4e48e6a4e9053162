// Callers confined to workspaces (the policy's `workspaces` line, auth/policy.h): every RPC of
// the guarded entry points, services::RegistryAuth and services::TokenRealm, for a caller
// confined to `acme`, against `acme`, `beta` (exists) and `gamma` (does not exist).
//
// The table is checked against the service descriptor (registryauth.v1.RegistryAuthService):
// an RPC added to the proto without an entry here fails ConfinementTable.CoversEveryRpc, so a
// new RPC cannot slip past the rule unnoticed.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "proto/registryauth/v1/registry_auth.pb.h"
#include "services/error_detail.h"
#include "services/registry_auth.h"
#include "services/registry_service.h"
#include "services/testing/callers.h"
#include "services/testing/fake_aead.h"
#include "services/testing/registry_auth_stack.h"
#include "services/testing/token_realm_fixture.h"

namespace registryauth::services {
namespace {

using auth::Permission;
using testing::Caller;

constexpr char kPat[] = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
constexpr char kTokenId[] = "AAAAAAAAAAAAAAAAAAAAAA";  // 22 base64url characters
constexpr char kStaleEtag[] = "\"999\"";

// How an RPC meets the confinement.
enum class Scope {
  kWorkspace,  // names a workspace resource: PERMISSION_DENIED outside the caller's list
  kFiltered,   // ListWorkspaces: answers, but only with the caller's workspaces
  kNotCaller,  // IssueRegistryToken: the principal is in the request, not the caller policy
};

struct Rpc {
  Scope scope = Scope::kWorkspace;
  // Whether a denial leaves an audit record (changes, GetCredentials, MintPullToken,
  // TestConnection; reads are not recorded).
  bool audited = false;
  // Calls the RPC on resources of workspace `ws`.
  std::function<absl::Status(const RequestContext&, const std::string& ws)> call;
};

absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

class ConfinementTest : public testing::TokenRealmTest {
 protected:
  void SetUp() override {
    testing::TokenRealmTest::SetUp();
    ASSERT_TRUE(store_.CreateWorkspace(Workspace{"beta", "Beta"}).ok());
    App web;
    web.workspace_id = "beta";
    web.id = "web";
    ASSERT_TRUE(store_.CreateApp(web).ok());
    for (const char* ws : {"acme", "beta"}) {
      const std::string parent = absl::StrCat("workspaces/", ws);
      RegistryConfigInput in;
      in.type = in.settings_type = RegistryType::kGhcr;
      in.owner = "org";
      in.secret = SecretString(kPat);
      ASSERT_TRUE(api_.CreateRegistryConfig(testing::Admin(), parent, "gh", std::move(in)).ok());
      ASSERT_TRUE(api_.CreateMember(testing::Admin(), parent, "alice", MemberRole::kOwner,
                                    MemberStatus::kActive)
                      .ok());
      ServiceAccountInput sa;
      sa.display_name = "builder";
      ASSERT_TRUE(realm_.CreateServiceAccount(testing::Admin(), parent, "builder", sa).ok());
    }
  }

  // Every permission, confined to acme (optionally acting for alice, OWNER everywhere).
  static RequestContext Confined(std::string user = "") {
    RequestContext ctx =
        Caller("helper",
               {Permission::kRegistriesManage, Permission::kRegistriesRead,
                Permission::kCredentialsRead, Permission::kTokensMint, Permission::kActAsUser},
               std::move(user));
    ctx.caller.workspaces.emplace();
    ctx.caller.workspaces->insert("acme");
    return ctx;
  }

  std::map<std::string, Rpc> Table() {
    const auto name = [](const std::string& ws, std::string_view rest = "") {
      return "workspaces/" + ws + std::string(rest);
    };
    const auto ghcr = [] {
      RegistryConfigInput in;
      in.type = in.settings_type = RegistryType::kGhcr;
      in.owner = "org2";
      in.secret = SecretString(kPat);
      return in;
    };
    std::map<std::string, Rpc> t;
    const auto add = [&t](std::string rpc, bool audited, auto call) {
      t[std::move(rpc)] = Rpc{
          Scope::kWorkspace, audited,
          [call](const RequestContext& c, const std::string& ws) { return StatusOf(call(c, ws)); }};
    };
    // ---- Workspaces
    add("CreateWorkspace", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.CreateWorkspace(c, ws, "X");
    });
    add("GetWorkspace", false, [&](const RequestContext& c, const std::string& ws) {
      return api_.GetWorkspace(c, name(ws));
    });
    t["ListWorkspaces"] = Rpc{Scope::kFiltered, false, nullptr};
    add("UpdateWorkspace", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.UpdateWorkspace(c, name(ws), "New", {}, kStaleEtag);
    });
    add("DeleteWorkspace", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.DeleteWorkspace(c, name(ws), kStaleEtag, true);
    });
    // ---- Apps
    add("CreateApp", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.CreateApp(c, name(ws), "new-app", "New", name(ws, "/registries/gh"), false);
    });
    add("GetApp", false, [&](const RequestContext& c, const std::string& ws) {
      return api_.GetApp(c, name(ws, "/apps/web"));
    });
    add("ListApps", false, [&](const RequestContext& c, const std::string& ws) {
      return api_.ListApps(c, name(ws), 0, "");
    });
    add("UpdateApp", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.UpdateApp(c, name(ws, "/apps/web"), "New", "", {"display_name"}, kStaleEtag,
                            false);
    });
    add("DeleteApp", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.DeleteApp(c, name(ws, "/apps/web"), kStaleEtag);
    });
    // ---- Registry configurations
    add("CreateRegistryConfig", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.CreateRegistryConfig(c, name(ws), "gh2", ghcr());
    });
    add("GetRegistryConfig", false, [&](const RequestContext& c, const std::string& ws) {
      return api_.GetRegistryConfig(c, name(ws, "/registries/gh"));
    });
    add("ListRegistryConfigs", false, [&](const RequestContext& c, const std::string& ws) {
      return api_.ListRegistryConfigs(c, name(ws), 0, "");
    });
    add("UpdateRegistryConfig", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.UpdateRegistryConfig(c, name(ws, "/registries/gh"), ghcr(), {"ghcr.owner"},
                                       kStaleEtag);
    });
    add("DeleteRegistryConfig", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.DeleteRegistryConfig(c, name(ws, "/registries/gh"), kStaleEtag);
    });
    // ---- Members
    add("CreateMember", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.CreateMember(c, name(ws), "zed", MemberRole::kMember, MemberStatus::kActive);
    });
    add("GetMember", false, [&](const RequestContext& c, const std::string& ws) {
      return api_.GetMember(c, name(ws, "/members/alice"));
    });
    add("ListMembers", false, [&](const RequestContext& c, const std::string& ws) {
      return api_.ListMembers(c, name(ws), 0, "");
    });
    add("UpdateMember", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.UpdateMember(c, name(ws, "/members/alice"), MemberRole::kAdmin,
                               MemberStatus::kActive, {"role"}, kStaleEtag);
    });
    add("DeleteMember", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.DeleteMember(c, name(ws, "/members/alice"), kStaleEtag);
    });
    // ---- Pull tokens
    add("MintPullToken", true, [&](const RequestContext& c, const std::string& ws) {
      return realm_.MintPullToken(c, name(ws, "/apps/web"), absl::Hours(1));
    });
    add("RevokePullToken", true, [&](const RequestContext& c, const std::string& ws) {
      return realm_.RevokePullToken(c, name(ws, absl::StrCat("/pullTokens/", kTokenId)));
    });
    add("RevokePullTokens", true, [&](const RequestContext& c, const std::string& ws) {
      return realm_.RevokePullTokens(c, name(ws, "/apps/web"));
    });
    add("ListPullTokens", false, [&](const RequestContext& c, const std::string& ws) {
      return realm_.ListPullTokens(c, name(ws, "/apps/web"), 0);
    });
    // ---- Service accounts
    add("CreateServiceAccount", true, [&](const RequestContext& c, const std::string& ws) {
      ServiceAccountInput in;
      in.display_name = "deployer";
      return realm_.CreateServiceAccount(c, name(ws), "deployer", in);
    });
    add("GetServiceAccount", false, [&](const RequestContext& c, const std::string& ws) {
      return realm_.GetServiceAccount(c, name(ws, "/serviceAccounts/builder"));
    });
    add("ListServiceAccounts", false, [&](const RequestContext& c, const std::string& ws) {
      return realm_.ListServiceAccounts(c, name(ws), 0, "");
    });
    add("UpdateServiceAccount", true, [&](const RequestContext& c, const std::string& ws) {
      ServiceAccountInput in;
      in.display_name = "renamed";
      return realm_.UpdateServiceAccount(c, name(ws, "/serviceAccounts/builder"), in,
                                         {"display_name"}, kStaleEtag);
    });
    add("DeleteServiceAccount", true, [&](const RequestContext& c, const std::string& ws) {
      return realm_.DeleteServiceAccount(c, name(ws, "/serviceAccounts/builder"), kStaleEtag);
    });
    add("RegenerateServiceAccountSecret", true,
        [&](const RequestContext& c, const std::string& ws) {
          return realm_.RegenerateServiceAccountSecret(c, name(ws, "/serviceAccounts/builder"),
                                                       kStaleEtag);
        });
    // ---- Refresh tokens
    add("ListRefreshTokens", false, [&](const RequestContext& c, const std::string& ws) {
      return realm_.ListRefreshTokens(c, name(ws), "", 0);
    });
    add("RevokeRefreshToken", true, [&](const RequestContext& c, const std::string& ws) {
      return realm_.RevokeRefreshToken(c, name(ws, absl::StrCat("/refreshTokens/", kTokenId)));
    });
    // ---- Token realm, credentials, audit
    t["IssueRegistryToken"] = Rpc{Scope::kNotCaller, false, nullptr};
    add("GetCredentials", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.GetCredentials(c, name(ws, "/registries/gh"));
    });
    add("TestConnection", true, [&](const RequestContext& c, const std::string& ws) {
      return api_.TestConnection(c, name(ws, "/registries/gh"));
    });
    add("ListAuditEvents", false, [&](const RequestContext& c, const std::string& ws) {
      AuditFilter filter;
      filter.resource = name(ws);
      return api_.ListAuditEvents(c, filter, 0, "");
    });
    // ---- Registry events
    add("ListRegistryEvents", false, [&](const RequestContext& c, const std::string& ws) {
      return api_.ListRegistryEvents(c, name(ws), RegistryEventFilter{}, 0, "");
    });
    return t;
  }

  // Denials of `ws` with the workspace id blanked, so answers for two workspaces compare.
  static std::string Blanked(const absl::Status& s, const std::string& ws) {
    return absl::StrCat(absl::StatusCodeToString(s.code()), ": ",
                        absl::StrReplaceAll(s.message(), {{ws, "<ws>"}}));
  }

  std::vector<AuditEvent> DeniedIn(const std::string& ws) {
    std::vector<AuditEvent> out;
    for (const AuditEvent& e : Audit()) {
      if (e.outcome == "PERMISSION_DENIED" && absl::StartsWith(e.resource, "workspaces/" + ws)) {
        out.push_back(e);
      }
    }
    return out;
  }

  testing::FakeAead aead_{7};
  RegistryService registry_{store_, aead_, clock_};
  testing::TestRegistryAuth api_{store_, registry_, clock_};
};

TEST_F(ConfinementTest, CoversEveryRpc) {
  const google::protobuf::ServiceDescriptor* service =
      v1::GetWorkspaceRequest::descriptor()->file()->FindServiceByName("RegistryAuthService");
  ASSERT_NE(service, nullptr);
  const std::map<std::string, Rpc> table = Table();
  std::set<std::string> rpcs;
  for (int i = 0; i < service->method_count(); ++i) {
    rpcs.insert(service->method(i)->name());
    EXPECT_EQ(table.count(service->method(i)->name()), 1U)
        << service->method(i)->name() << " has no entry: decide how confinement applies to it";
  }
  for (const auto& [rpc, entry] : table) {
    EXPECT_EQ(rpcs.count(rpc), 1U) << rpc << " is not an RPC of the service";
  }
}

TEST_F(ConfinementTest, EveryWorkspaceRpcIsDeniedOutsideTheCallersWorkspaces) {
  for (const std::string& user : {std::string(), std::string("alice")}) {
    for (const auto& [rpc, entry] : Table()) {
      if (entry.scope != Scope::kWorkspace) continue;
      SCOPED_TRACE(absl::StrCat(rpc, user.empty() ? "" : " on behalf of alice"));
      const RequestContext ctx = Confined(user);

      // Its own workspace: whatever the unconfined caller would get, but never this denial.
      const absl::Status own = entry.call(ctx, "acme");
      EXPECT_EQ(own.message().find("confined"), absl::string_view::npos) << own;

      // Another workspace, existing or not: the same denial, recorded like other denials.
      const size_t beta_before = DeniedIn("beta").size();
      const absl::Status beta = entry.call(ctx, "beta");
      EXPECT_EQ(beta.code(), absl::StatusCode::kPermissionDenied) << beta;
      ASSERT_TRUE(GetErrorDetail(beta).has_value()) << beta;
      EXPECT_EQ(GetErrorDetail(beta)->reason, kReasonPermissionDenied);
      const absl::Status gamma = entry.call(ctx, "gamma");
      EXPECT_EQ(Blanked(beta, "beta"), Blanked(gamma, "gamma"));
      if (entry.audited) {
        const std::vector<AuditEvent> denied = DeniedIn("beta");
        ASSERT_EQ(denied.size(), beta_before + 1);
        EXPECT_EQ(denied.front().caller, ctx.caller.identity);  // newest first
        EXPECT_EQ(denied.front().action, rpc);
      }
    }
  }
  // Nothing of beta was changed or handed out.
  EXPECT_TRUE(store_.GetRegistryConfig("beta", "gh").ok());
  EXPECT_TRUE(store_.GetMember("beta", "alice").ok());
  EXPECT_EQ(store_.GetWorkspace("beta")->display_name, "Beta");
  EXPECT_FALSE(store_.GetWorkspace("gamma").ok());
}

TEST_F(ConfinementTest, UnconfinedCallersReachEveryWorkspaceAsBefore) {
  RequestContext open = Confined();
  open.caller.workspaces.reset();
  for (const auto& [rpc, entry] : Table()) {
    if (entry.scope != Scope::kWorkspace) continue;
    SCOPED_TRACE(rpc);
    const absl::Status beta = entry.call(open, "beta");
    EXPECT_NE(beta.code(), absl::StatusCode::kPermissionDenied) << beta;
  }
}

TEST_F(ConfinementTest, ListWorkspacesShowsOnlyTheCallersWorkspacesPageByPage) {
  // Confined to five ids, three of which exist (acme, beta, zulu); `other` and `gamma`
  // exist/do not exist outside the list.
  ASSERT_TRUE(store_.CreateWorkspace(Workspace{"zulu", "Zulu"}).ok());
  RequestContext ctx = Confined();
  ctx.caller.workspaces =
      std::set<std::string, std::less<>>{"acme", "beta", "delta", "echo", "zulu"};
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<ListResult<Workspace>> page = api_.ListWorkspaces(ctx, 1, token);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_LE(page->items.size(), 1U);
    // Never an empty page that asks for another.
    if (!page->next_page_token.empty()) {
      ASSERT_EQ(page->items.size(), 1U);
    }
    for (const Workspace& w : page->items) seen.push_back(w.id);
    token = page->next_page_token;
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(seen, (std::vector<std::string>{"acme", "beta", "zulu"}));
  EXPECT_EQ(pages, 3);

  // All in one page.
  absl::StatusOr<ListResult<Workspace>> all = api_.ListWorkspaces(ctx, 0, "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items.size(), 3U);
  EXPECT_TRUE(all->next_page_token.empty());

  // An unconfined caller's token does not widen the list: the results stay filtered.
  RequestContext open = Confined();
  open.caller.workspaces.reset();
  absl::StatusOr<ListResult<Workspace>> first = api_.ListWorkspaces(open, 1, "");
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->next_page_token.empty());
  absl::StatusOr<ListResult<Workspace>> rest = api_.ListWorkspaces(ctx, 0, first->next_page_token);
  ASSERT_TRUE(rest.ok()) << rest.status();
  for (const Workspace& w : rest->items) EXPECT_TRUE(ctx.caller.MayUseWorkspace(w.id)) << w.id;

  // On behalf of a user: the user's workspaces within the caller's list (alice is OWNER of
  // acme and beta; not a member of zulu).
  absl::StatusOr<ListResult<Workspace>> alice = api_.ListWorkspaces(Confined("alice"), 0, "");
  ASSERT_TRUE(alice.ok()) << alice.status();
  ASSERT_EQ(alice->items.size(), 1U);
  EXPECT_EQ(alice->items[0].id, "acme");
}

TEST_F(ConfinementTest, ConfinedCallersCreateOnlyWorkspacesOfTheirList) {
  RequestContext ctx = Confined();
  ctx.caller.workspaces->insert("delta");
  EXPECT_TRUE(api_.CreateWorkspace(ctx, "delta", "Delta").ok());
  EXPECT_EQ(api_.CreateWorkspace(ctx, "echo", "Echo").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(store_.GetWorkspace("echo").ok());
}

TEST_F(ConfinementTest, AuditListingOnlyWithinTheCallersWorkspaces) {
  RequestContext ctx = Confined();
  AuditFilter filter;
  // No filter, or a filter that is not inside one of its workspaces: denied.
  for (const char* resource : {"", "workspaces/beta", "workspaces/acmex", "workspaces/",
                               "workspaces", "apps/web", "workspaces/beta/apps/web"}) {
    filter.resource = resource;
    EXPECT_EQ(api_.ListAuditEvents(ctx, filter, 0, "").status().code(),
              absl::StatusCode::kPermissionDenied)
        << resource;
  }
  for (const char* resource : {"workspaces/acme", "workspaces/acme/registries/gh"}) {
    filter.resource = resource;
    absl::StatusOr<ListResult<AuditEvent>> events = api_.ListAuditEvents(ctx, filter, 0, "");
    ASSERT_TRUE(events.ok()) << resource << ": " << events.status();
    EXPECT_FALSE(events->items.empty()) << resource;
    for (const AuditEvent& e : events->items) {
      EXPECT_TRUE(absl::StartsWith(e.resource, "workspaces/acme/") ||
                  e.resource == "workspaces/acme")
          << e.resource;
    }
  }
}

}  // namespace
}  // namespace registryauth::services
