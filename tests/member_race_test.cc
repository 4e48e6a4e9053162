// Concurrent member changes over real gRPC and PostgreSQL (issue 17): the last-owner rule and
// the acting user's role are checked in the transaction that writes, with the workspace row
// locked, so two concurrent demotions or removals of a workspace's two owners never leave it
// without an ACTIVE OWNER. Each attempt starts both calls together; the race is run many times
// so that, before the fix, some attempt lets both through.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;
using testing::TestStack;

constexpr int kAttempts = 20;

class MemberRaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    absl::StatusOr<std::unique_ptr<TestStack>> stack = TestStack::Builder().Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  // A workspace whose only members are the OWNERs alice and bob.
  void MakeWorkspaceWithTwoOwners(const std::string& ws) {
    v1::CreateWorkspaceRequest cw;
    cw.set_workspace_id(ws);
    v1::Workspace w;
    grpc::Status s = stack_->stub().CreateWorkspace(stack_->Ctx().get(), cw, &w);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const char* user : {"alice", "bob"}) {
      v1::CreateMemberRequest c;
      c.set_parent(absl::StrCat("workspaces/", ws));
      c.set_member_id(user);
      c.mutable_member()->set_role(v1::Member::OWNER);
      v1::Member m;
      s = stack_->stub().CreateMember(stack_->Ctx().get(), c, &m);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
  }

  // Demotes (`remove` false) or deletes the member `user`, on behalf of `acting` if set.
  grpc::Status Change(const std::string& ws, const std::string& user, bool remove,
                      const std::string& acting) {
    std::unique_ptr<grpc::ClientContext> ctx = stack_->Ctx();
    if (!acting.empty()) ctx->AddMetadata("x-registryauth-user", acting);
    const std::string name = absl::StrCat("workspaces/", ws, "/members/", user);
    if (remove) {
      v1::DeleteMemberRequest d;
      d.set_name(name);
      google::protobuf::Empty e;
      return stack_->stub().DeleteMember(ctx.get(), d, &e);
    }
    v1::UpdateMemberRequest u;
    u.mutable_member()->set_name(name);
    u.mutable_member()->set_role(v1::Member::ADMIN);
    u.mutable_update_mask()->add_paths("role");
    v1::Member m;
    return stack_->stub().UpdateMember(ctx.get(), u, &m);
  }

  int ActiveOwners(const std::string& ws) {
    v1::ListMembersRequest l;
    l.set_parent(absl::StrCat("workspaces/", ws));
    v1::ListMembersResponse r;
    grpc::Status s = stack_->stub().ListMembers(stack_->Ctx().get(), l, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    int owners = 0;
    for (const v1::Member& m : r.members()) {
      if (m.role() == v1::Member::OWNER && m.status() == v1::Member::ACTIVE) ++owners;
    }
    return owners;
  }

  // Runs the two changes at once; exactly one must succeed and an owner must remain.
  void Race(const std::string& ws, bool remove_alice, bool remove_bob, bool on_behalf) {
    grpc::Status a;
    grpc::Status b;
    absl::Barrier* start = new absl::Barrier(2);
    auto go = [&](grpc::Status* out, const std::string& user, bool remove,
                  const std::string& acting) {
      if (start->Block()) delete start;
      *out = Change(ws, user, remove, acting);
    };
    // On behalf of the users, each owner demotes or removes the other.
    std::thread ta(go, &a, "alice", remove_alice, on_behalf ? "bob" : "");
    std::thread tb(go, &b, "bob", remove_bob, on_behalf ? "alice" : "");
    ta.join();
    tb.join();
    EXPECT_EQ(a.ok() + b.ok(), 1) << ws << ": alice " << a.error_message() << "; bob "
                                  << b.error_message();
    for (const grpc::Status* s : {&a, &b}) {
      if (s->ok()) continue;
      EXPECT_TRUE(s->error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
                  s->error_code() == grpc::StatusCode::PERMISSION_DENIED)
          << ws << ": " << s->error_code() << " " << s->error_message();
    }
    EXPECT_EQ(ActiveOwners(ws), 1) << ws;
  }

  std::unique_ptr<TestStack> stack_;
};

TEST_F(MemberRaceTest, ConcurrentDemotionsOfTheTwoOwnersLeaveOneOwner) {
  for (int i = 0; i < kAttempts; ++i) {
    const std::string ws = absl::StrCat("demote-", i);
    MakeWorkspaceWithTwoOwners(ws);
    Race(ws, /*remove_alice=*/false, /*remove_bob=*/false, /*on_behalf=*/false);
  }
}

TEST_F(MemberRaceTest, ConcurrentRemovalAndDemotionOfTheTwoOwnersLeaveOneOwner) {
  for (int i = 0; i < kAttempts; ++i) {
    const std::string ws = absl::StrCat("remove-", i);
    MakeWorkspaceWithTwoOwners(ws);
    Race(ws, /*remove_alice=*/true, /*remove_bob=*/i % 2 == 0, /*on_behalf=*/false);
  }
}

// Each owner, acting for themselves, demotes the other at the same time: the second one to
// write is no longer an OWNER (or would leave none), so it is refused.
TEST_F(MemberRaceTest, TwoOwnersDemotingEachOtherLeaveOneOwner) {
  for (int i = 0; i < kAttempts; ++i) {
    const std::string ws = absl::StrCat("mutual-", i);
    MakeWorkspaceWithTwoOwners(ws);
    Race(ws, /*remove_alice=*/false, /*remove_bob=*/i % 2 == 0, /*on_behalf=*/true);
  }
}

}  // namespace
}  // namespace registryauth
