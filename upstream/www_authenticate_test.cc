#include "upstream/www_authenticate.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace registryauth::upstream {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

AuthChallenge Challenge(std::string scheme, Params params) {
  AuthChallenge c;
  c.scheme = std::move(scheme);
  c.params = std::move(params);
  return c;
}

AuthChallenge Token68(std::string scheme, std::string token68) {
  AuthChallenge c;
  c.scheme = std::move(scheme);
  c.token68 = std::move(token68);
  return c;
}

struct GoodCase {
  const char* name;
  std::string header;
  std::vector<AuthChallenge> want;
};

TEST(WwwAuthenticateTest, ParsesGoodHeaders) {
  const std::vector<GoodCase> cases = {
      {"docker hub",
       R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io")",
       {Challenge("bearer",
                  {{"realm", "https://auth.docker.io/token"}, {"service", "registry.docker.io"}})}},
      {"ghcr with scope",
       R"(Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull")",
       {Challenge("bearer", {{"realm", "https://ghcr.io/token"},
                             {"service", "ghcr.io"},
                             {"scope", "repository:user/image:pull"}})}},
      {"distribution insufficient_scope",
       R"(Bearer realm="http://127.0.0.1:5001/token",service="reg",scope="repository:a/b:pull,push",error="insufficient_scope")",
       {Challenge("bearer", {{"realm", "http://127.0.0.1:5001/token"},
                             {"service", "reg"},
                             {"scope", "repository:a/b:pull,push"},
                             {"error", "insufficient_scope"}})}},
      {"basic",
       R"(Basic realm="Registry Realm")",
       {Challenge("basic", {{"realm", "Registry Realm"}})}},
      {"scheme and names case-insensitive",
       R"(BEARER Realm="r", SERVICE=s)",
       {Challenge("bearer", {{"realm", "r"}, {"service", "s"}})}},
      {"token values and BWS",
       "Basic realm = r , charset=\tUTF-8",
       {Challenge("basic", {{"realm", "r"}, {"charset", "UTF-8"}})}},
      {"escapes in quoted string",
       R"(Basic realm="a \"quoted\" \\ back\slash")",
       {Challenge("basic", {{"realm", R"(a "quoted" \ backslash)"}})}},
      {"empty quoted value", R"(Basic realm="")", {Challenge("basic", {{"realm", ""}})}},
      {"comma inside quoted string",
       R"(Bearer scope="a:b:pull,push", realm="x")",
       {Challenge("bearer", {{"scope", "a:b:pull,push"}, {"realm", "x"}})}},
      {"two challenges",
       R"(Basic realm="simple", Bearer realm="https://a/t", service="s")",
       {Challenge("basic", {{"realm", "simple"}}),
        Challenge("bearer", {{"realm", "https://a/t"}, {"service", "s"}})}},
      {"rfc 7235 example with empty elements and a bare scheme",
       R"(Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple")",
       {Challenge("newauth", {{"realm", "apps"}, {"type", "1"}, {"title", R"(Login to "apps")"}}),
        Challenge("basic", {{"realm", "simple"}})}},
      {"empty list elements",
       " , Basic realm=a ,, , Negotiate ,",
       {Challenge("basic", {{"realm", "a"}}), Challenge("negotiate", {})}},
      {"token68", "Negotiate abc+/def==", {Token68("negotiate", "abc+/def==")}},
      {"token68 then challenge",
       "Negotiate YII=, Basic realm=x",
       {Token68("negotiate", "YII="), Challenge("basic", {{"realm", "x"}})}},
      {"bare scheme", "Basic", {Challenge("basic", {})}},
      // The grammar makes `realm=` a token68, not an auth-param without a value.
      {"token68 that looks like a param", "Bearer realm=", {Token68("bearer", "realm=")}},
      {"obs-text in quoted string",
       "Basic realm=\"caf\xc3\xa9\"",
       {Challenge("basic", {{"realm", "caf\xc3\xa9"}})}},
  };
  for (const GoodCase& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::vector<AuthChallenge>> got = ParseWwwAuthenticate(c.header);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
    // Formatting and parsing again gives the same challenges.
    absl::StatusOr<std::vector<AuthChallenge>> again =
        ParseWwwAuthenticate(FormatWwwAuthenticate(*got));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*again, *got);
  }
}

TEST(WwwAuthenticateTest, RejectsBadHeaders) {
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"empty", ""},
      {"only separators", " , ,"},
      {"param without scheme", R"(realm="x")"},
      {"unterminated quote", R"(Bearer realm="https://a/t)"},
      {"quote in token", R"(Bearer realm=ab"c")"},
      {"missing value", "Bearer service=x, realm="},
      {"missing value before comma", "Bearer realm=, service=x"},
      {"repeated param", R"(Bearer realm="a", Realm="b")"},
      {"control character in quoted string", std::string("Basic realm=\"a\x01z\"")},
      {"newline in quoted string", "Basic realm=\"a\nb\""},
      {"NUL", std::string("Basic realm=\"a\0b\"", 16)},
      {"escape at end", R"(Basic realm="abc\)"},
      {"tab after scheme", "Basic\trealm=x"},
      {"no comma between params", R"(Bearer realm="a" service="b")"},
      {"garbage after token68", "Negotiate abc== def"},
      {"slash in scheme", "Bea/rer realm=x"},
      {"leading equals", "=Bearer"},
      {"non-token value", "Bearer realm=@x"},
      {"json instead of a challenge", R"({"realm":"x"})"},
  };
  for (const auto& [name, header] : cases) {
    SCOPED_TRACE(name);
    absl::StatusOr<std::vector<AuthChallenge>> got = ParseWwwAuthenticate(header);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(WwwAuthenticateTest, ErrorsNeverQuoteTheInput) {
  const std::string header = R"(Bearer realm="SECRET-looking-value)";
  absl::StatusOr<std::vector<AuthChallenge>> got = ParseWwwAuthenticate(header);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message().find("SECRET"), absl::string_view::npos);
  EXPECT_EQ(std::string(got.status().message()),
            "malformed WWW-Authenticate header: unterminated quoted string at byte 13");
}

TEST(WwwAuthenticateTest, EnforcesLimits) {
  std::string many_challenges;
  for (std::size_t i = 0; i <= kMaxChallenges; ++i) many_challenges += "Basic realm=x, ";
  EXPECT_FALSE(ParseWwwAuthenticate(many_challenges).ok());

  std::string many_params = "Bearer ";
  for (std::size_t i = 0; i <= kMaxAuthParams; ++i) {
    many_params += "p" + std::to_string(i) + "=v, ";
  }
  EXPECT_FALSE(ParseWwwAuthenticate(many_params).ok());

  const std::string long_value =
      "Basic realm=\"" + std::string(kMaxWwwAuthenticateBytes, 'a') + "\"";
  absl::StatusOr<std::vector<AuthChallenge>> got = ParseWwwAuthenticate(long_value);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(std::string(got.status().message()), "WWW-Authenticate header too long");

  // Just under the limits is fine.
  std::string max_params = "Bearer ";
  for (std::size_t i = 0; i < kMaxAuthParams; ++i) {
    max_params += "p" + std::to_string(i) + "=v, ";
  }
  EXPECT_TRUE(ParseWwwAuthenticate(max_params).ok());
}

TEST(WwwAuthenticateTest, ParamAndFindChallenge) {
  absl::StatusOr<std::vector<AuthChallenge>> got =
      ParseWwwAuthenticate(R"(Basic realm="b", Bearer realm="https://a/t",service="s")");
  ASSERT_TRUE(got.ok()) << got.status();
  const AuthChallenge* bearer = FindChallenge(*got, "BEARER");
  ASSERT_NE(bearer, nullptr);
  EXPECT_EQ(bearer->Param("Realm"), "https://a/t");
  EXPECT_EQ(bearer->Param("service"), "s");
  EXPECT_EQ(bearer->Param("scope"), std::nullopt);
  EXPECT_EQ(FindChallenge(*got, "negotiate"), nullptr);
}

TEST(WwwAuthenticateTest, SeveralFields) {
  absl::StatusOr<std::vector<AuthChallenge>> got =
      ParseWwwAuthenticateFields({R"(Basic realm="b")", R"(Bearer realm="r")"});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[1].scheme, "bearer");
  EXPECT_FALSE(ParseWwwAuthenticateFields({}).ok());
  EXPECT_FALSE(ParseWwwAuthenticateFields({"Basic realm=b", "realm=x"}).ok());
}

}  // namespace
}  // namespace registryauth::upstream
