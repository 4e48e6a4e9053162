// Callers confined to workspaces, end to end over real gRPC and PostgreSQL: a node's helper
// whose policy entry says `workspaces acme` mints pull tokens for acme only, sees only acme in
// ListWorkspaces, is denied beta (audited) with the same answer as a workspace that does not
// exist, and a policy reload (SIGHUP: RegistryAuthServer::ReloadPolicy) that changes its list
// takes effect on the next call; a broken list is refused and the old one stays.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "server/server.h"
#include "storage/testing/pg_test_db.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_stack.h"

namespace registryauth::testing {
namespace {

class ConfinementE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    absl::StatusOr<std::unique_ptr<TestStack>> stack =
        TestStack::Builder()
            .WithTokenRealm("registry.test", "registry-auth-e2e")
            .WithCaller("admin", "registries.manage tokens.mint")
            .WithCaller("node", "tokens.mint registries.read", "acme")
            .WithWorkspace("acme")
            .WithWorkspace("beta")
            .WithWorkspace("zulu")
            .WithApp("acme", "web")
            .WithApp("beta", "web")
            .WithApp("zulu", "web")
            .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  grpc::Status Mint(const std::string& workspace) {
    v1::MintPullTokenRequest req;
    req.set_app("workspaces/" + workspace + "/apps/web");
    v1::MintPullTokenResponse out;
    return stack_->stub().MintPullToken(stack_->Ctx("node").get(), req, &out);
  }

  // Every workspace ListWorkspaces shows the node, one per page.
  std::vector<std::string> ListedForNode() {
    std::vector<std::string> ids;
    std::string token;
    for (int pages = 0; pages < 10; ++pages) {
      v1::ListWorkspacesRequest req;
      req.set_page_size(1);
      req.set_page_token(token);
      v1::ListWorkspacesResponse out;
      grpc::Status s = stack_->stub().ListWorkspaces(stack_->Ctx("node").get(), req, &out);
      EXPECT_TRUE(s.ok()) << s.error_message();
      EXPECT_TRUE(out.next_page_token().empty() || out.workspaces_size() == 1);
      for (const v1::Workspace& w : out.workspaces()) ids.push_back(w.name());
      token = out.next_page_token();
      if (token.empty()) break;
    }
    return ids;
  }

  void Reload(const std::string& from, const std::string& to) {
    const std::string text = absl::StrReplaceAll(stack_->PolicyText(), {{from, to}});
    ASSERT_NE(text, stack_->PolicyText());
    ASSERT_TRUE(WriteFile(stack_->policy_file(), text, 0600).ok());
    absl::Status reloaded = stack_->server().ReloadPolicy();
    ASSERT_TRUE(reloaded.ok()) << reloaded;
  }

  std::unique_ptr<TestStack> stack_;
};

TEST_F(ConfinementE2eTest, ConfinedCallerReachesOnlyItsWorkspaces) {
  EXPECT_TRUE(Mint("acme").ok());
  const grpc::Status beta = Mint("beta");
  EXPECT_EQ(beta.error_code(), grpc::StatusCode::PERMISSION_DENIED) << beta.error_message();
  const grpc::Status gamma = Mint("gamma");  // does not exist: the same answer
  EXPECT_EQ(gamma.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(absl::StrReplaceAll(beta.error_message(), {{"beta", "x"}}),
            absl::StrReplaceAll(gamma.error_message(), {{"gamma", "x"}}));

  v1::GetWorkspaceRequest get;
  get.set_name("workspaces/beta");
  v1::Workspace ws;
  EXPECT_EQ(stack_->stub().GetWorkspace(stack_->Ctx("node").get(), get, &ws).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  get.set_name("workspaces/acme");
  EXPECT_TRUE(stack_->stub().GetWorkspace(stack_->Ctx("node").get(), get, &ws).ok());

  EXPECT_EQ(ListedForNode(), std::vector<std::string>{"workspaces/acme"});

  // The denial is in beta's audit trail, under the node's identity.
  v1::ListAuditEventsRequest audit;
  audit.set_resource("workspaces/beta");
  v1::ListAuditEventsResponse events;
  ASSERT_TRUE(stack_->stub().ListAuditEvents(stack_->Ctx("admin").get(), audit, &events).ok());
  bool found = false;
  for (const v1::AuditEvent& e : events.audit_events()) {
    if (e.action() == "MintPullToken" && e.caller() == "apikey:node") {
      EXPECT_EQ(e.outcome(), "PERMISSION_DENIED");
      found = true;
    }
  }
  EXPECT_TRUE(found);

  // The unconfined admin still reaches beta.
  v1::MintPullTokenRequest req;
  req.set_app("workspaces/beta/apps/web");
  v1::MintPullTokenResponse out;
  EXPECT_TRUE(stack_->stub().MintPullToken(stack_->Ctx("admin").get(), req, &out).ok());
}

TEST_F(ConfinementE2eTest, PolicyReloadChangesTheConfinement) {
  ASSERT_TRUE(Mint("acme").ok());
  ASSERT_EQ(Mint("beta").error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // SIGHUP with a new list: acme is out, beta and zulu are in, on the next call.
  Reload("  workspaces acme\n", "  workspaces beta\n  workspaces zulu\n");
  EXPECT_EQ(Mint("acme").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Mint("beta").ok());
  EXPECT_TRUE(Mint("zulu").ok());
  EXPECT_EQ(ListedForNode(), (std::vector<std::string>{"workspaces/beta", "workspaces/zulu"}));

  // A broken list (`*` mixed with ids) is refused, naming the line; the list in force stays.
  ASSERT_TRUE(WriteFile(stack_->policy_file(),
                        absl::StrReplaceAll(stack_->PolicyText(),
                                            {{"  workspaces acme\n", "  workspaces acme *\n"}}),
                        0600)
                  .ok());
  const absl::Status broken = stack_->server().ReloadPolicy();
  EXPECT_EQ(broken.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(broken.message().find("line"), absl::string_view::npos) << broken;
  EXPECT_EQ(Mint("acme").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Mint("beta").ok());

  // Without the line the node reaches every workspace again (today's default).
  Reload("  workspaces acme\n", "");
  EXPECT_TRUE(Mint("acme").ok());
  EXPECT_TRUE(Mint("beta").ok());
  EXPECT_EQ(ListedForNode(),
            (std::vector<std::string>{"workspaces/acme", "workspaces/beta", "workspaces/zulu"}));
}

}  // namespace
}  // namespace registryauth::testing
