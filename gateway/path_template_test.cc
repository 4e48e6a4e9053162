#include "gateway/path_template.h"

#include "gtest/gtest.h"

namespace registryauth::gateway {
namespace {

PathTemplate::Bindings MatchOrDie(const char* tmpl, const char* path) {
  absl::StatusOr<PathTemplate> t = PathTemplate::Parse(tmpl);
  EXPECT_TRUE(t.ok()) << t.status();
  absl::StatusOr<SplitRequestPath> p = SplitPath(path);
  EXPECT_TRUE(p.ok()) << p.status();
  auto b = t->Match(*p);
  EXPECT_TRUE(b.has_value()) << tmpl << " vs " << path;
  return b.value_or(PathTemplate::Bindings{});
}

bool Matches(const char* tmpl, const char* path) {
  absl::StatusOr<PathTemplate> t = PathTemplate::Parse(tmpl);
  absl::StatusOr<SplitRequestPath> p = SplitPath(path);
  return t.ok() && p.ok() && t->Match(*p).has_value();
}

TEST(PathTemplateTest, BindsVariables) {
  auto b = MatchOrDie("/v1/{name=workspaces/*/apps/*}", "/v1/workspaces/acme/apps/web");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].first, "name");
  EXPECT_EQ(b[0].second, "workspaces/acme/apps/web");

  b = MatchOrDie("/v1/{parent=workspaces/*}/registries", "/v1/workspaces/a%2Db/registries");
  EXPECT_EQ(b[0].second, "workspaces/a-b");

  b = MatchOrDie("/v1/{app=workspaces/*/apps/*}:mintPullToken",
                 "/v1/workspaces/a/apps/b:mintPullToken");
  EXPECT_EQ(b[0].second, "workspaces/a/apps/b");

  b = MatchOrDie("/v1/{workspace.name=workspaces/*}", "/v1/workspaces/a");
  EXPECT_EQ(b[0].first, "workspace.name");

  b = MatchOrDie("/x/{a}/{b}", "/x/1/2");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].second, "2");
  EXPECT_TRUE(MatchOrDie("/healthz", "/healthz").empty());
}

TEST(PathTemplateTest, RejectsNonMatches) {
  EXPECT_FALSE(Matches("/v1/{name=workspaces/*}", "/v1/workspaces"));
  EXPECT_FALSE(Matches("/v1/{name=workspaces/*}", "/v1/workspaces/"));
  EXPECT_FALSE(Matches("/v1/{name=workspaces/*}", "/v1/workspaces/a/b"));
  EXPECT_FALSE(Matches("/v1/{name=workspaces/*}", "/v1/workspaces/a:verb"));
  EXPECT_FALSE(Matches("/v1/{name=workspaces/*}", "/v1/projects/a"));
  EXPECT_FALSE(Matches("/v1/{app=workspaces/*}:mint", "/v1/workspaces/a"));
  EXPECT_FALSE(Matches("/v1/{app=workspaces/*}:mint", "/v1/workspaces/a:other"));
}

TEST(PathTemplateTest, ParseRejectsBadTemplates) {
  for (const char* bad : {"", "v1/x", "/v1/{name", "/v1/{na me}", "/v1/{name=a/**}", "/v1//x",
                          "/v1/x/", "/v1/{=x}"}) {
    EXPECT_FALSE(PathTemplate::Parse(bad).ok()) << bad;
  }
}

TEST(SplitPathTest, DecodesAndRejects) {
  auto p = SplitPath("/a/b%20c/d:verb");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->segments, (std::vector<std::string>{"a", "b c", "d"}));
  EXPECT_EQ(p->verb, "verb");
  EXPECT_FALSE(SplitPath("relative").ok());
  EXPECT_FALSE(SplitPath("/a%2Fb").ok());
  EXPECT_FALSE(SplitPath("/a%zz").ok());
}

}  // namespace
}  // namespace registryauth::gateway
