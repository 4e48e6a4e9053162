#include "services/names.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace registryauth::services {
namespace {

TEST(IsValidIdTest, AcceptsValidIds) {
  for (const char* id : {"a", "acme", "a1", "a-b", "a--b", "x9-y8-z7", "abc123"}) {
    EXPECT_TRUE(IsValidId(id)) << id;
  }
  EXPECT_TRUE(IsValidId(std::string(63, 'a')));
}

TEST(IsValidIdTest, RejectsInvalidIds) {
  for (const char* id : {"", "A", "Acme", "1abc", "-abc", "abc-", "a_b", "a.b", "a b", "é"}) {
    EXPECT_FALSE(IsValidId(id)) << id;
  }
  EXPECT_FALSE(IsValidId(std::string(64, 'a')));
}

TEST(ValidateIdTest, NamesTheField) {
  absl::Status s = ValidateId("Bad", "registry_id");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "registry_id: ")) << s;
  EXPECT_NE(s.message().find("\"Bad\""), absl::string_view::npos);
  EXPECT_EQ(ValidateId("", "app_id").message(), "app_id: required");
  EXPECT_TRUE(ValidateId("ok", "app_id").ok());
}

TEST(ParseWorkspaceNameTest, Parses) {
  absl::StatusOr<std::string> ws = ParseWorkspaceName("workspaces/acme", "name");
  ASSERT_TRUE(ws.ok()) << ws.status();
  EXPECT_EQ(*ws, "acme");
}

TEST(ParseWorkspaceNameTest, RejectsBadShapes) {
  for (const char* name :
       {"workspaces/", "workspaces", "workspace/acme", "workspaces/acme/", "/workspaces/acme",
        "workspaces/acme/apps/x", "workspaces/Acme", "workspaces//acme"}) {
    absl::StatusOr<std::string> ws = ParseWorkspaceName(name, "parent");
    EXPECT_EQ(ws.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_TRUE(absl::StartsWith(ws.status().message(), "parent: ")) << name;
  }
}

TEST(ParseWorkspaceNameTest, EmptyIsRequired) {
  EXPECT_EQ(ParseWorkspaceName("", "name").status().message(), "name: required");
}

TEST(ParseAppNameTest, Parses) {
  absl::StatusOr<AppName> n = ParseAppName("workspaces/acme/apps/web-1", "name");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->workspace_id, "acme");
  EXPECT_EQ(n->app_id, "web-1");
}

TEST(ParseAppNameTest, RejectsRegistryNameAndBadIds) {
  EXPECT_FALSE(ParseAppName("workspaces/acme/registries/gh", "name").ok());
  absl::Status s = ParseAppName("workspaces/acme/apps/Web", "app.name").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("app.name: invalid app id"), absl::string_view::npos) << s;
  s = ParseAppName("workspaces/a_b/apps/web", "name").status();
  EXPECT_NE(s.message().find("invalid workspace id"), absl::string_view::npos) << s;
}

TEST(ParseRegistryConfigNameTest, Parses) {
  absl::StatusOr<RegistryConfigName> n =
      ParseRegistryConfigName("workspaces/acme/registries/ghcr-main", "name");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->workspace_id, "acme");
  EXPECT_EQ(n->registry_id, "ghcr-main");
}

TEST(ParseRegistryConfigNameTest, MessageNamesFieldAndPattern) {
  absl::Status s = ParseRegistryConfigName("workspaces/acme/apps/x", "name").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StartsWith(s.message(), "name: must be workspaces/{workspace}/registries/{registry}"))
      << s;
}

TEST(ParseRegistryConfigNameTest, HugeInputIsNotEchoedInFull) {
  std::string huge = "workspaces/acme/registries/" + std::string(100000, 'x');
  absl::Status s = ParseRegistryConfigName(huge, "name").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(s.message().size(), 200u);
  std::string long_id = "workspaces/acme/registries/" + std::string(70, 'y');
  s = ParseRegistryConfigName(long_id, "name").status();
  EXPECT_LT(s.message().size(), 200u);
  EXPECT_NE(s.message().find("..."), absl::string_view::npos);
}

TEST(QuoteInputTest, EscapesAndTruncates) {
  EXPECT_EQ(QuoteInput("ab"), "\"ab\"");
  EXPECT_EQ(QuoteInput("a\nb"), "\"a\\nb\"");
  std::string q = QuoteInput(std::string(100, 'z'));
  EXPECT_EQ(q, "\"" + std::string(kMaxQuotedInput, 'z') + "\"...");
}

TEST(FormatTest, RoundTrips) {
  EXPECT_EQ(FormatWorkspaceName("acme"), "workspaces/acme");
  EXPECT_EQ(FormatAppName("acme", "web"), "workspaces/acme/apps/web");
  EXPECT_EQ(FormatRegistryConfigName("acme", "gh"), "workspaces/acme/registries/gh");
  absl::StatusOr<RegistryConfigName> n =
      ParseRegistryConfigName(FormatRegistryConfigName("w1", "r-2"), "name");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->workspace_id, "w1");
  EXPECT_EQ(n->registry_id, "r-2");
}

}  // namespace
}  // namespace registryauth::services
