#include "realm/grants.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace registryauth::realm {
namespace {

std::vector<ResourceScope> Scopes(std::vector<std::string> params) {
  absl::StatusOr<std::vector<ResourceScope>> s = ParseScopes(params);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : std::vector<ResourceScope>{};
}

std::string Granted(const std::vector<std::string>& asked, const std::vector<Grant>& grants,
                    bool catalog = false) {
  return FormatScopes(Authorize(Scopes(asked), grants, catalog));
}

TEST(MatchesPatternTest, Globs) {
  EXPECT_TRUE(MatchesPattern("acme/web", "acme/web"));
  EXPECT_FALSE(MatchesPattern("acme/web", "acme/web2"));
  EXPECT_FALSE(MatchesPattern("acme/web", "acme/we"));
  EXPECT_TRUE(MatchesPattern("acme/*", "acme/web"));
  EXPECT_TRUE(MatchesPattern("acme/*", "acme/team/web"));
  EXPECT_FALSE(MatchesPattern("acme/*", "acme"));
  EXPECT_FALSE(MatchesPattern("acme/*", "acmex/web"));
  EXPECT_TRUE(MatchesPattern("acme/api-*", "acme/api-users"));
  EXPECT_FALSE(MatchesPattern("acme/api-*", "acme/web-api-x"));
  EXPECT_TRUE(MatchesPattern("acme/*-svc", "acme/a-b-svc"));
  EXPECT_TRUE(MatchesPattern("acme/*/*", "acme/a/b"));
  EXPECT_FALSE(MatchesPattern("acme/*/*", "acme/a"));
  // Pathological backtracking stays cheap and correct.
  EXPECT_FALSE(MatchesPattern(std::string(100, '*') + "b", std::string(250, 'a')));
}

TEST(AuthorizeTest, IntersectsRequestWithGrants) {
  const std::vector<Grant> push_pull = {{"acme/*", {"pull", "push"}}};
  EXPECT_EQ(Granted({"repository:acme/web:pull,push"}, push_pull), "repository:acme/web:pull,push");
  // Asking for more yields less, not an error.
  EXPECT_EQ(Granted({"repository:acme/web:pull,push,delete"}, push_pull),
            "repository:acme/web:pull,push");
  EXPECT_EQ(Granted({"repository:other/web:pull", "repository:acme/api:pull"}, push_pull),
            "repository:acme/api:pull");
  EXPECT_EQ(Granted({"repository:other/web:pull"}, push_pull), "");
  // "*" asks for everything the grants allow.
  EXPECT_EQ(Granted({"repository:acme/web:*"}, push_pull), "repository:acme/web:pull,push");
  EXPECT_EQ(Granted({"repository:acme/web:*"}, {{"acme/*", {"*"}}}), "repository:acme/web:*");
  EXPECT_EQ(Granted({"repository:acme/web:pull,delete"}, {{"acme/*", {"*"}}}),
            "repository:acme/web:delete,pull");
  // Unknown actions are never granted, even under "*".
  EXPECT_EQ(Granted({"repository:acme/web:pull,frobnicate"}, {{"acme/*", {"*"}}}),
            "repository:acme/web:pull");
  // Grants combine.
  EXPECT_EQ(
      Granted({"repository:acme/web:pull,push"}, {{"acme/*", {"pull"}}, {"acme/web", {"push"}}}),
      "repository:acme/web:pull,push");
}

TEST(AuthorizeTest, PullTokenForOneApp) {
  const std::vector<Grant> pull_web = {{"acme/web", {"pull"}}};
  EXPECT_EQ(Granted({"repository:acme/web:pull"}, pull_web), "repository:acme/web:pull");
  EXPECT_EQ(Granted({"repository:acme/web:push"}, pull_web), "");
  EXPECT_EQ(Granted({"repository:acme/api:pull"}, pull_web), "");
  EXPECT_EQ(Granted({"repository:beta/web:pull"}, pull_web), "");
  EXPECT_EQ(Granted({"repository:acme/web/sub:pull"}, pull_web), "");
}

// Issue 15: the registry never strips a host, so `localhost/acme/x` is a repository of the
// `localhost` namespace and `evil.com/acme/y` of `evil.com`: neither is acme's.
TEST(AuthorizeTest, NamesAreMatchedWholeAsTheRegistrySeesThem) {
  EXPECT_EQ(Granted({"repository:localhost:5000/acme/web:pull"}, {{"acme/web", {"pull"}}}), "");
  EXPECT_EQ(Granted({"repository:localhost/acme/x:push,pull"}, {{"acme/*", {"pull", "push"}}}), "");
  EXPECT_EQ(Granted({"repository:evil.com/acme/y:push"}, {{"acme/*", {"pull", "push"}}}), "");
  EXPECT_EQ(Granted({"repository:acme/x:push,pull", "repository:localhost/acme/x:push,pull"},
                    {{"acme/*", {"pull", "push"}}}),
            "repository:acme/x:pull,push");
  // A host-looking component further down is an ordinary part of acme's namespace.
  EXPECT_EQ(Granted({"repository:acme/evil.com/y:pull"}, {{"acme/*", {"pull"}}}),
            "repository:acme/evil.com/y:pull");
}

TEST(AuthorizeTest, CatalogOnlyForListers) {
  EXPECT_EQ(Granted({"registry:catalog:*"}, {{"acme/*", {"*"}}}), "");
  EXPECT_EQ(Granted({"registry:catalog:*"}, {}, /*catalog=*/true), "registry:catalog:*");
  EXPECT_EQ(Granted({"registry:catalog:pull"}, {}, /*catalog=*/true), "");
}

TEST(AuthorizeTest, OtherTypesAndClassesGetNothing) {
  EXPECT_EQ(Granted({"repository(plugin):acme/web:pull"}, {{"acme/*", {"*"}}}), "");
  EXPECT_EQ(Granted({"thing:acme/web:pull"}, {{"acme/*", {"*"}}}), "");
}

TEST(ValidateGrantTest, PatternsStayInTheWorkspace) {
  EXPECT_TRUE(ValidateGrantPattern("acme", "acme/*").ok());
  EXPECT_TRUE(ValidateGrantPattern("acme", "acme/api-*").ok());
  EXPECT_TRUE(ValidateGrantPattern("acme", "acme/team/web").ok());
  EXPECT_FALSE(ValidateGrantPattern("acme", "*").ok());
  EXPECT_FALSE(ValidateGrantPattern("acme", "acme").ok());
  EXPECT_FALSE(ValidateGrantPattern("acme", "acme/").ok());
  EXPECT_FALSE(ValidateGrantPattern("acme", "acmex/*").ok());
  EXPECT_FALSE(ValidateGrantPattern("acme", "beta/*").ok());
  EXPECT_FALSE(ValidateGrantPattern("acme", "acme/Web").ok());
  EXPECT_FALSE(ValidateGrantPattern("acme", "acme//x").ok());
  EXPECT_FALSE(ValidateGrantPattern("acme", "acme/" + std::string(251, 'a')).ok());
  EXPECT_TRUE(ValidateGrantActions({"pull"}).ok());
  EXPECT_TRUE(ValidateGrantActions({"*"}).ok());
  EXPECT_FALSE(ValidateGrantActions({}).ok());
  EXPECT_FALSE(ValidateGrantActions({"pull", "own"}).ok());
}

}  // namespace
}  // namespace registryauth::realm
