#include "services/registry_event_log.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "storage/memory_store.h"

namespace registryauth::services {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1796674861);

RegistryEvent Event(std::string id, std::string ws, int seconds, std::string action = "push") {
  RegistryEvent e;
  e.event_id = std::move(id);
  e.workspace_id = ws;
  e.repository = absl::StrCat(ws, "/web");
  e.action = std::move(action);
  e.digest = "sha256:ab12";
  e.tag = "v1";
  e.actor = absl::StrCat(ws, "+ci");
  e.actor_kind = RegistryEventActorKind::kServiceAccount;
  e.event_time = kT0 + absl::Seconds(seconds);
  e.receive_time = kT0 + absl::Seconds(seconds);
  return e;
}

class RegistryEventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_
                    .AppendRegistryEvents({Event("a", "acme", 1), Event("b", "acme", 2, "pull"),
                                           Event("c", "acme", 2), Event("d", "acme", 3),
                                           Event("x", "beta", 4)})
                    .ok());
  }
  absl::StatusCode Code(const RegistryEventFilter& f, int page_size = 0,
                        const std::string& token = "") {
    return log_.List("acme", f, page_size, token).status().code();
  }
  storage::InMemoryRegistryStore store_;
  RegistryEventLog log_{store_};
};

TEST_F(RegistryEventLogTest, PagesThroughOneWorkspaceWithTokensBoundToTheFilter) {
  std::vector<std::string> seen;
  std::string token;
  do {
    absl::StatusOr<ListResult<RegistryEvent>> page = log_.List("acme", {}, 2, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const RegistryEvent& e : page->items) seen.push_back(e.event_id);
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(seen, (std::vector<std::string>{"d", "b", "c", "a"}));

  absl::StatusOr<ListResult<RegistryEvent>> first = log_.List("acme", {}, 1, "");
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->next_page_token.empty());
  RegistryEventFilter pulls;
  pulls.action = "pull";
  // Another filter or another workspace does not accept the token.
  EXPECT_EQ(Code(pulls, 1, first->next_page_token), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_.List("beta", {}, 1, first->next_page_token).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code({}, 1, "not-a-token"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code({}, -1), absl::StatusCode::kInvalidArgument);

  absl::StatusOr<ListResult<RegistryEvent>> beta = log_.List("beta", {}, 0, "");
  ASSERT_TRUE(beta.ok());
  ASSERT_EQ(beta->items.size(), 1u);
  EXPECT_EQ(beta->items[0].event_id, "x");
}

TEST_F(RegistryEventLogTest, BadFiltersAreInvalidArgument) {
  RegistryEventFilter f;
  f.repository = "beta/web";  // another workspace's repository
  EXPECT_EQ(Code(f), absl::StatusCode::kInvalidArgument);
  f.repository = "acme";
  EXPECT_EQ(Code(f), absl::StatusCode::kInvalidArgument);
  f.repository = "acme/web";
  EXPECT_EQ(Code(f), absl::StatusCode::kOk);
  f = {};
  f.action = "steal";
  EXPECT_EQ(Code(f), absl::StatusCode::kInvalidArgument);
  f = {};
  f.digest = "sha256:XYZ";
  EXPECT_EQ(Code(f), absl::StatusCode::kInvalidArgument);
  f.digest = "sha256:ab12";
  EXPECT_EQ(Code(f), absl::StatusCode::kOk);
  f = {};
  f.tag = ".hidden";
  EXPECT_EQ(Code(f), absl::StatusCode::kInvalidArgument);
  f.tag = std::string(129, 't');
  EXPECT_EQ(Code(f), absl::StatusCode::kInvalidArgument);
  f = {};
  f.actor = "acme+ci\n";
  EXPECT_EQ(Code(f), absl::StatusCode::kInvalidArgument);
  f = {};
  f.start_time = kT0 + absl::Seconds(5);
  f.end_time = kT0 + absl::Seconds(5);
  EXPECT_EQ(Code(f), absl::StatusCode::kInvalidArgument);
  f.end_time = kT0 + absl::Seconds(6);
  EXPECT_EQ(Code(f), absl::StatusCode::kOk);
}

TEST(PrincipalOfActorTest, NamesThePrincipalFromTheUserName) {
  EXPECT_EQ(PrincipalOfActor("acme+ci", "acme"), "workspaces/acme/serviceAccounts/ci");
  EXPECT_EQ(PrincipalOfActor("beta+ci", "acme"), "workspaces/beta/serviceAccounts/ci");
  EXPECT_EQ(PrincipalOfActor("pull+AbCd_-12", "acme"), "workspaces/acme/pullTokens/AbCd_-12");
  EXPECT_EQ(PrincipalOfActor("build+x1", "acme"), "workspaces/acme");
  EXPECT_EQ(PrincipalOfActor("", "acme"), "");
  EXPECT_EQ(PrincipalOfActor("admin", "acme"), "");
  EXPECT_EQ(PrincipalOfActor("Acme+ci", "acme"), "");
  EXPECT_EQ(PrincipalOfActor("pull+a/b", "acme"), "");
  EXPECT_EQ(PrincipalOfActor("pull+", "acme"), "");
}

}  // namespace
}  // namespace registryauth::services
