// The rule CurlHttpClient applies to every redirect before following it (issue 17): resolve the
// `Location` value against the URL that answered, and follow it only if the result is an
// http(s) URL of the same origin - the same scheme, host and port (the scheme's default port
// when none is written) - so the request's headers and credentials never reach another server.
//
//   RedirectDecision d = DecideRedirect("https://registry.example.com/v2/", "/v2/?x=1");
//   if (!d.refusal.has_value()) url = d.next_url;  // "https://registry.example.com/v2/?x=1"
//
// The Location value may be absolute (`https://host/p`), scheme-relative (`//host/p`), or a
// path, query or fragment relative to the current URL; resolution is libcurl's URL API with
// the flags libcurl itself uses to follow a Location (spaces and non-ASCII bytes
// percent-encoded). A refused redirect says why, never quoting the URL (it may carry
// credentials in its user info or query). Pure functions: thread-safe.
#ifndef REGISTRY_AUTH_UPSTREAM_REDIRECT_POLICY_H_
#define REGISTRY_AUTH_UPSTREAM_REDIRECT_POLICY_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace registryauth::upstream {

// Longest Location value considered (a longer one is kBadLocation).
inline constexpr std::size_t kMaxRedirectLocation = 16 * 1024;

enum class RedirectRefusal {
  // Empty, longer than kMaxRedirectLocation, a control character (or DEL) in it, or no URL
  // results from it; also when the current URL itself does not parse.
  kBadLocation,
  // It resolves to a scheme other than http or https (ftp:, file:, ...).
  kNotHttp,
  // It resolves to another scheme, host or port than the current URL.
  kOtherOrigin,
};

struct RedirectDecision {
  std::optional<RedirectRefusal> refusal;  // unset: follow `next_url`
  std::string next_url;                    // the absolute URL to request next, when followed
};

RedirectDecision DecideRedirect(std::string_view current_url, std::string_view location);

// `scheme://host:port` of an absolute http(s) URL, lower case, with the scheme's default port
// when none is written; nullopt if `url` does not parse. Two URLs of one origin give the same.
std::optional<std::string> UrlOriginKey(std::string_view url);

}  // namespace registryauth::upstream

#endif  // REGISTRY_AUTH_UPSTREAM_REDIRECT_POLICY_H_
