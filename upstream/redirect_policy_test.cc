// DecideRedirect (upstream/redirect_policy.h): relative references resolve against the current
// URL, and only http(s) URLs of the same scheme, host and port are followed.
#include "upstream/redirect_policy.h"

#include <optional>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace registryauth::upstream {
namespace {

using namespace std::string_view_literals;

// The URL followed, or "" when refused.
std::string Next(std::string_view current, std::string_view location) {
  RedirectDecision d = DecideRedirect(current, location);
  return d.refusal.has_value() ? "" : d.next_url;
}

std::optional<RedirectRefusal> Refusal(std::string_view current, std::string_view location) {
  return DecideRedirect(current, location).refusal;
}

constexpr char kHttp[] = "http://127.0.0.1:8080/v2/a?q=1";
constexpr char kHttps[] = "https://registry.example.com/v2/a/b";

TEST(RedirectPolicyTest, RelativeReferencesResolveAgainstTheCurrentUrl) {
  EXPECT_EQ(Next(kHttp, "/b"), "http://127.0.0.1:8080/b");
  EXPECT_EQ(Next(kHttps, "c"), "https://registry.example.com/v2/a/c");
  EXPECT_EQ(Next(kHttps, "../c"), "https://registry.example.com/v2/c");
  EXPECT_EQ(Next(kHttps, "?n=2"), "https://registry.example.com/v2/a/b?n=2");
  EXPECT_EQ(Next("http://[::1]:5000/v2/", "/x"), "http://[::1]:5000/x");
  // A fragment does not change the origin (libcurl 7.88 resolves "#part" against the
  // directory, not the document: ".../v2/a/#part").
  const std::string fragment = Next(kHttps, "#part");
  EXPECT_EQ(UrlOriginKey(fragment), "https://registry.example.com:443") << fragment;
  EXPECT_EQ(fragment.substr(fragment.size() - 5), "#part") << fragment;
  EXPECT_EQ(Next(kHttps, "/x#y"), "https://registry.example.com/x#y");
  // Spaces and non-ASCII bytes are percent-encoded, as libcurl does.
  EXPECT_EQ(Next(kHttps, "/a b"), "https://registry.example.com/a%20b");
  EXPECT_EQ(Next(kHttps, "/\xc3\xa9"), "https://registry.example.com/%c3%a9");
}

TEST(RedirectPolicyTest, TheSameOriginIsFollowedWhateverItsSpelling) {
  EXPECT_EQ(Next(kHttps, "https://registry.example.com/v2/"), "https://registry.example.com/v2/");
  EXPECT_EQ(Next(kHttps, "HTTPS://REGISTRY.example.com/x"), "https://REGISTRY.example.com/x");
  EXPECT_EQ(Next(kHttps, "https://registry.example.com:443/x"),
            "https://registry.example.com:443/x");  // the default port, written
  EXPECT_EQ(Next("https://registry.example.com:443/", "https://registry.example.com/x"),
            "https://registry.example.com/x");
  EXPECT_EQ(Next("http://h/", "http://h:80/x"), "http://h:80/x");
  EXPECT_EQ(Next(kHttps, "//registry.example.com/x"), "https://registry.example.com/x");
}

TEST(RedirectPolicyTest, AnotherSchemeHostOrPortIsRefused) {
  for (const char* location :
       {"http://registry.example.com/v2/", "https://registry.example.com:8443/v2/",
        "https://attacker.example.net/v2/", "//attacker.example.net/x",
        "https://registry.example.com.attacker.example.net/", "https://169.254.169.254/",
        "https://registry.example.com./x"}) {
    SCOPED_TRACE(location);
    EXPECT_EQ(Refusal(kHttps, location), RedirectRefusal::kOtherOrigin);
  }
  EXPECT_EQ(Refusal(kHttp, "https://127.0.0.1:8080/"), RedirectRefusal::kOtherOrigin);
  EXPECT_EQ(Refusal(kHttp, "http://127.0.0.1/"), RedirectRefusal::kOtherOrigin);  // port 80
  EXPECT_EQ(Refusal(kHttp, "http://localhost:8080/"), RedirectRefusal::kOtherOrigin);
}

// redirect_fuzz's first finding: libcurl reports an IPv6 zone id apart from the host, so
// `[fe80::1%25eth0]` and `[fe80::1%25eth1]` (another interface) looked like one origin.
TEST(RedirectPolicyTest, AnotherIpv6ZoneIsAnotherOrigin) {
  constexpr char kZoned[] = "http://[fe80::1%25eth0]:8080/v2/";
  EXPECT_EQ(Refusal(kZoned, "http://[fe80::1%25eth1]:8080/v2/"), RedirectRefusal::kOtherOrigin);
  EXPECT_EQ(Refusal(kZoned, "http://[fe80::1]:8080/v2/"), RedirectRefusal::kOtherOrigin);
  EXPECT_EQ(Refusal("http://[fe80::1]:8080/", "http://[fe80::1%25eth0]:8080/"),
            RedirectRefusal::kOtherOrigin);
  EXPECT_EQ(Next(kZoned, "/x"), "http://[fe80::1%25eth0]:8080/x");
  EXPECT_EQ(UrlOriginKey(kZoned), "http://[fe80::1%25eth0]:8080");
}

// redirect_fuzz, second finding: libcurl takes the first '@' as the end of the user info and
// accepts any byte in a zone id, so `http://@[::%25@x]/` is host `[::]` zone `@x` to libcurl
// but host `x]` to a reader that takes the last '@' (as RFC 3986 readers do). A zone id is
// RFC 6874's unreserved characters and percent-encodings only; anything else does not parse.
TEST(RedirectPolicyTest, AZoneIdIsUnreservedCharactersOnly) {
  EXPECT_EQ(UrlOriginKey("http://@[::%25@x]/"), std::nullopt);
  EXPECT_EQ(Refusal("http://@[::%25@x]/", "/"), RedirectRefusal::kBadLocation);
  EXPECT_EQ(Refusal("http://[fe80::1%25eth0]/", "http://@[fe80::1%25@eth0]/"),
            RedirectRefusal::kBadLocation);
  EXPECT_EQ(Refusal("http://[fe80::1%25eth0]/", "http://[fe80::1%25eth0:x]/"),
            RedirectRefusal::kBadLocation);
  EXPECT_EQ(UrlOriginKey("http://[fe80::1%25en-0.1_~]/"), "http://[fe80::1%25en-0.1_~]:80");
}

TEST(RedirectPolicyTest, UserInfoDoesNotHideTheHost) {
  // The host is what follows the '@'.
  EXPECT_EQ(Refusal(kHttps, "https://registry.example.com@attacker.example.net/"),
            RedirectRefusal::kOtherOrigin);
  EXPECT_EQ(Refusal(kHttps, "https://registry.example.com:443@attacker.example.net/"),
            RedirectRefusal::kOtherOrigin);
  EXPECT_EQ(Refusal(kHttps, "https://user:pass@attacker.example.net/"),
            RedirectRefusal::kOtherOrigin);
  // On the same origin it is the server's own choice: followed.
  EXPECT_EQ(Next(kHttps, "https://someone@registry.example.com/x"),
            "https://someone@registry.example.com/x");
}

TEST(RedirectPolicyTest, OtherSchemesAreNotHttp) {
  for (const char* location : {"ftp://registry.example.com/x", "file:///etc/passwd",
                               "gopher://registry.example.com/", "dict://127.0.0.1:11211/"}) {
    SCOPED_TRACE(location);
    EXPECT_EQ(Refusal(kHttps, location), RedirectRefusal::kNotHttp);
  }
  // Without "//" libcurl finds no host in them: refused as not parsing.
  EXPECT_EQ(Refusal(kHttps, "javascript:alert(1)"), RedirectRefusal::kBadLocation);
  EXPECT_EQ(Refusal(kHttps, "mailto:a@example.com"), RedirectRefusal::kBadLocation);
}

TEST(RedirectPolicyTest, BadLocationsAreRefused) {
  EXPECT_EQ(Refusal(kHttps, ""), RedirectRefusal::kBadLocation);
  for (std::string_view location :
       {"/a\r\nX-Injected: 1"sv, "/a\nb"sv, "/a\0b"sv, "/a\tb"sv, "/\x7f"sv, "\x01"sv}) {
    SCOPED_TRACE(location);
    EXPECT_EQ(Refusal(kHttps, location), RedirectRefusal::kBadLocation);
  }
  EXPECT_EQ(Refusal(kHttps, "https://[::1/"), RedirectRefusal::kBadLocation);
  EXPECT_EQ(Refusal(kHttps, "https://exa mple.com/"), RedirectRefusal::kBadLocation);
  // The current URL must itself be an absolute URL.
  EXPECT_EQ(Refusal("/v2/", "/x"), RedirectRefusal::kBadLocation);
  EXPECT_EQ(Refusal("", "/x"), RedirectRefusal::kBadLocation);
  EXPECT_EQ(Refusal("https://h/\n", "/x"), RedirectRefusal::kBadLocation);
}

TEST(RedirectPolicyTest, HugeLocationsAreRefused) {
  const std::string path = "/" + std::string(kMaxRedirectLocation - 1, 'a');
  EXPECT_EQ(Next(kHttps, path), "https://registry.example.com" + path);
  EXPECT_EQ(Refusal(kHttps, path + "a"), RedirectRefusal::kBadLocation);
  EXPECT_EQ(Refusal(kHttps, "https://" + std::string(100000, 'h') + "/"),
            RedirectRefusal::kBadLocation);
}

// Tricks that confuse hand-written URL parsers: whatever they resolve to, the result is
// refused or keeps the origin.
TEST(RedirectPolicyTest, TricksEitherKeepTheOriginOrAreRefused) {
  const std::optional<std::string> origin = UrlOriginKey(kHttps);
  ASSERT_EQ(origin, "https://registry.example.com:443");
  for (const char* location :
       {"\\\\attacker.example.net/x", "/\\attacker.example.net/x", "https:attacker.example.net/x",
        "https:/attacker.example.net/x", "https:///attacker.example.net/x",
        "/%2f%2fattacker.example.net/", "http://registry.example.com:443/",
        "https://registry.example.com:0443/", "https://[::ffff:7f00:1]/", "https://0x7f.1/",
        " https://attacker.example.net/", "https://registry.example.com%2eattacker.net/",
        "https://registry.example.com#@attacker.example.net/",
        "https://registry.example.com?@attacker.example.net/"}) {
    SCOPED_TRACE(location);
    RedirectDecision d = DecideRedirect(kHttps, location);
    if (!d.refusal.has_value()) {
      EXPECT_EQ(UrlOriginKey(d.next_url), origin) << d.next_url;
    }
  }
}

TEST(RedirectPolicyTest, OriginKeyHasTheDefaultPortAndLowerCase) {
  EXPECT_EQ(UrlOriginKey("HTTPS://Registry.Example.com/v2/"), "https://registry.example.com:443");
  EXPECT_EQ(UrlOriginKey("http://h/"), "http://h:80");
  EXPECT_EQ(UrlOriginKey("http://u:p@h:8080/x?y#z"), "http://h:8080");
  EXPECT_EQ(UrlOriginKey("/relative"), std::nullopt);
  EXPECT_EQ(UrlOriginKey("http://h/\r\n"), std::nullopt);
}

}  // namespace
}  // namespace registryauth::upstream
