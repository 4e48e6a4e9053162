#include "upstream/redirect_policy.h"

#include <curl/curl.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace registryauth::upstream {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using Url = std::unique_ptr<CURLU, UrlDeleter>;

// A part of `u` (curl_url_get with `flags`), or nullopt.
std::optional<std::string> Part(CURLU* u, CURLUPart part, unsigned int flags = 0) {
  char* value = nullptr;
  if (curl_url_get(u, part, &value, flags) != CURLUE_OK || value == nullptr) return std::nullopt;
  std::string out(value);
  curl_free(value);
  return out;
}

constexpr char kZoneIdCharacters[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%";

// `scheme://host:port` of a parsed URL, lower case, with the scheme's default port. libcurl
// gives an IPv6 zone id apart from the host (`[fe80::1]` and `eth0`): it goes back inside the
// brackets, as written in a URL, since another zone is another interface.
std::optional<std::string> OriginKeyOf(CURLU* u) {
  std::optional<std::string> scheme = Part(u, CURLUPART_SCHEME);
  std::optional<std::string> host = Part(u, CURLUPART_HOST);
  std::optional<std::string> port = Part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!scheme.has_value() || !host.has_value() || !port.has_value()) return std::nullopt;
  if (std::optional<std::string> zone = Part(u, CURLUPART_ZONEID)) {
    // RFC 6874: unreserved characters and percent-encodings. libcurl takes any byte, '@'
    // included, which a reader that ends the user info at the last '@' would read otherwise.
    if (host->size() < 2 || host->back() != ']' || zone->empty() ||
        zone->find_first_not_of(kZoneIdCharacters) != std::string::npos) {
      return std::nullopt;
    }
    host->insert(host->size() - 1, absl::StrCat("%25", *zone));
  }
  return absl::AsciiStrToLower(absl::StrCat(*scheme, "://", *host, ":", *port));
}

bool HasControlCharacter(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// The URL that `text` gives (with `flags`), or null. curl_url_set needs a terminated string and
// stops at a NUL, so text with one (a control character) never gets here.
Url Parse(std::string_view text, unsigned int flags) {
  Url u(curl_url());
  if (u == nullptr) return nullptr;
  const std::string z(text);
  if (curl_url_set(u.get(), CURLUPART_URL, z.c_str(), flags) != CURLUE_OK) return nullptr;
  return u;
}

}  // namespace

std::optional<std::string> UrlOriginKey(std::string_view url) {
  if (HasControlCharacter(url)) return std::nullopt;
  Url u = Parse(url, 0);
  if (u == nullptr) return std::nullopt;
  return OriginKeyOf(u.get());
}

RedirectDecision DecideRedirect(std::string_view current_url, std::string_view location) {
  RedirectDecision d;
  d.refusal = RedirectRefusal::kBadLocation;
  if (location.empty() || location.size() > kMaxRedirectLocation || HasControlCharacter(location) ||
      HasControlCharacter(current_url)) {
    return d;
  }
  Url u = Parse(current_url, 0);
  if (u == nullptr) return d;
  std::optional<std::string> current_origin = OriginKeyOf(u.get());
  if (!current_origin.has_value()) return d;
  // What libcurl does with a Location (lib/transfer.c, Curl_follow): set it on the current URL,
  // which resolves a relative reference; unknown schemes parse so that they can be named.
  const std::string z(location);
  if (curl_url_set(u.get(), CURLUPART_URL, z.c_str(),
                   CURLU_URLENCODE | CURLU_ALLOW_SPACE | CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return d;
  }
  std::optional<std::string> next = Part(u.get(), CURLUPART_URL);
  std::optional<std::string> scheme = Part(u.get(), CURLUPART_SCHEME);
  if (!next.has_value() || !scheme.has_value()) return d;
  const std::string lower_scheme = absl::AsciiStrToLower(*scheme);
  if (lower_scheme != "http" && lower_scheme != "https") {
    d.refusal = RedirectRefusal::kNotHttp;
    return d;
  }
  // The origin of the text that will be requested, parsed afresh as libcurl will parse it, so
  // what is checked is what is sent.
  std::optional<std::string> next_origin = UrlOriginKey(*next);
  if (!next_origin.has_value()) return d;
  if (*next_origin != *current_origin) {
    d.refusal = RedirectRefusal::kOtherOrigin;
    return d;
  }
  d.refusal.reset();
  d.next_url = *std::move(next);
  return d;
}

}  // namespace registryauth::upstream
