#include "realm/scope.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace registryauth::realm {
namespace {

struct Case {
  const char* text;
  const char* type;
  const char* cls;
  const char* name;
  std::set<std::string> actions;
};

TEST(ParseResourceScopeTest, AcceptsTheSpecGrammar) {
  const std::vector<Case> cases = {
      {"repository:acme/web:pull", "repository", "", "acme/web", {"pull"}},
      {"repository:acme/web:push,pull", "repository", "", "acme/web", {"pull", "push"}},
      {"repository:acme/web:pull,push,pull", "repository", "", "acme/web", {"pull", "push"}},
      {"repository:acme/web:*", "repository", "", "acme/web", {"*"}},
      {"repository:acme/web:pull,", "repository", "", "acme/web", {"pull"}},
      {"repository:localhost:5000/acme/web:pull,push",
       "repository",
       "",
       "localhost:5000/acme/web",
       {"pull", "push"}},
      {"repository:host.example.com:5000/ns/app:pull",
       "repository",
       "",
       "host.example.com:5000/ns/app",
       {"pull"}},
      {"repository:Registry.Example.com/a:pull",
       "repository",
       "",
       "Registry.Example.com/a",
       {"pull"}},
      {"repository:ghcr.io/acme/web:pull", "repository", "", "ghcr.io/acme/web", {"pull"}},
      {"repository(plugin):acme/p:pull", "repository", "plugin", "acme/p", {"pull"}},
      {"registry:catalog:*", "registry", "", "catalog", {"*"}},
      {"repository:a/b.c_d__e---f/g:delete", "repository", "", "a/b.c_d__e---f/g", {"delete"}},
      {"repository:library:pull", "repository", "", "library", {"pull"}},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ResourceScope> s = ParseResourceScope(c.text);
    ASSERT_TRUE(s.ok()) << c.text << ": " << s.status();
    EXPECT_EQ(s->type, c.type) << c.text;
    EXPECT_EQ(s->resource_class, c.cls) << c.text;
    EXPECT_EQ(s->name, c.name) << c.text;
    EXPECT_EQ(s->actions, c.actions) << c.text;
  }
}

TEST(ParseResourceScopeTest, RefusesMalformedScopes) {
  for (const char* bad : {
           "",
           "repository",
           "repository:acme/web",        // no actions part
           ":acme/web:pull",             // empty type
           "Repository:acme/web:pull",   // upper-case type
           "repo-sitory:acme/web:pull",  // '-' in type
           "repository()::pull",
           "repository(Plugin):a:pull",
           "repository(plugin:a:pull",
           "repository::pull",           // empty name
           "repository:Acme/web:pull",   // upper case outside the host
           "repository:acme//web:pull",  // empty component
           "repository:/acme:pull",
           "repository:acme/:pull",
           "repository:acme/web/:pull",
           "repository:acme/-web:pull",  // separator at the start of a component
           "repository:acme/web-:pull",
           "repository:acme/we..b:pull",   // two dots
           "repository:acme/we___b:pull",  // three underscores
           "repository:acme/w eb:pull",
           "repository:acme/web:PULL",
           "repository:acme/web:pu-ll",
           "repository:acme/web:pull*",
           "repository:acme/web:",  // no action at all
           "repository:acme/web:,",
           "repository:localhost:x/acme:pull",    // port not numeric
           "repository:localhost:123456/a:pull",  // port too long
           "repository:-bad.host/a:pull",
           "repository:acme/web:a,b,c,d,e,f,g,h,i",  // 9 actions
       }) {
    absl::StatusOr<ResourceScope> s = ParseResourceScope(bad);
    EXPECT_FALSE(s.ok()) << "accepted: " << bad;
    if (!s.ok()) EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ParseResourceScope("repository:" + std::string(256, 'a') + ":pull").ok());
  EXPECT_TRUE(ParseResourceScope("repository:" + std::string(255, 'a') + ":pull").ok());
  EXPECT_FALSE(ParseResourceScope("repository:a:" + std::string(33, 'p')).ok());
}

TEST(ParseResourceScopeTest, ErrorsDoNotEchoTheName) {
  absl::StatusOr<ResourceScope> s = ParseResourceScope("repository:SECRET-looking/Name:pull");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message().find("SECRET"), std::string::npos);
}

TEST(ParseScopesTest, SplitsSpacesAndMergesDuplicates) {
  absl::StatusOr<std::vector<ResourceScope>> s =
      ParseScopes({"repository:acme/web:pull", "repository:acme/web:push repository:acme/api:pull",
                   "  registry:catalog:*  ", ""});
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ(FormatScope((*s)[0]), "repository:acme/web:pull,push");
  EXPECT_EQ(FormatScope((*s)[1]), "repository:acme/api:pull");
  EXPECT_EQ(FormatScope((*s)[2]), "registry:catalog:*");
  EXPECT_EQ(FormatScopes(*s),
            "repository:acme/web:pull,push repository:acme/api:pull registry:catalog:*");
  // Classes keep resources apart.
  s = ParseScopes({"repository:a:pull", "repository(plugin):a:push"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 2u);
  EXPECT_EQ(FormatScope((*s)[1]), "repository(plugin):a:push");
  // No scope at all is fine (a login check: docker login asks for none).
  s = ParseScopes({});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->empty());
}

TEST(ParseScopesTest, BoundsTheWork) {
  std::string many;
  for (int i = 0; i < 33; ++i) many += "repository:a/r" + std::to_string(i) + ":pull ";
  EXPECT_FALSE(ParseScopes({many}).ok());  // also over 4096? no: 33 scopes
  std::vector<std::string> repeated(1000, "repository:a/b:pull");
  EXPECT_TRUE(ParseScopes(repeated).ok());  // duplicates merge into one
  EXPECT_FALSE(ParseScopes({std::string(4097, ' ')}).ok());
  // One bad part fails the whole request.
  EXPECT_FALSE(ParseScopes({"repository:a:pull", "repository:A:pull"}).ok());
  // Merged actions are bounded too.
  EXPECT_FALSE(ParseScopes({"repository:a:a,b,c,d", "repository:a:e,f,g,h,i"}).ok());
}

TEST(SplitRepositoryNameTest, HostOnlyWhenTheFirstComponentLooksLikeOne) {
  EXPECT_EQ(SplitRepositoryName("acme/web").host, "");
  EXPECT_EQ(SplitRepositoryName("acme/web").path, "acme/web");
  EXPECT_EQ(SplitRepositoryName("localhost/acme").host, "localhost");
  EXPECT_EQ(SplitRepositoryName("localhost:5000/acme/web").host, "localhost:5000");
  EXPECT_EQ(SplitRepositoryName("localhost:5000/acme/web").path, "acme/web");
  EXPECT_EQ(SplitRepositoryName("ghcr.io/acme/web").host, "ghcr.io");
  EXPECT_EQ(SplitRepositoryName("web").host, "");
}

TEST(IsValidRepositoryPathTest, Grammar) {
  EXPECT_TRUE(IsValidRepositoryPath("acme/web-app_2/x.y"));
  EXPECT_FALSE(IsValidRepositoryPath("acme/Web"));
  EXPECT_FALSE(IsValidRepositoryPath("acme/web/"));
  EXPECT_FALSE(IsValidRepositoryPath(""));
  EXPECT_FALSE(IsValidRepositoryPath("localhost:5000/acme"));
}

}  // namespace
}  // namespace registryauth::realm
