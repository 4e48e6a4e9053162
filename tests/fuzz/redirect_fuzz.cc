// Fuzz target for the redirect rule of the outbound HTTP client (upstream/redirect_policy.h,
// DecideRedirect): a registry's `Location` value resolved against the URL that answered, and
// followed only within the same scheme, host and port.
//
// Input: line 1 is the current URL, the rest the Location value (the whole input when there is
// no line break). The Location is also decided against three fixed URLs
// (`https://registry.example.com:5000/v2/a/b?q=1`, `http://127.0.0.1:8080/v2/`,
// `https://[::1]/v2/`), so mutations of it are not wasted on a current URL that does not parse.
// Besides "never crash", it aborts (with a message) when:
//   - a followed redirect's URL is not the same origin as the current URL, judged twice: by
//     libcurl's URL API with the flags libcurl applies to CURLOPT_URL, and by a hand-written
//     reading of `scheme://[userinfo@]host[:port]` (lower-cased, default ports 80 and 443);
//   - a followed URL is empty, not http(s), longer than the Location allows, or holds a space
//     or control character; or a refusal carries a URL;
//   - a URL that was followed is not followed again as its own Location, or the same input
//     gets two different answers.
//
// Built with libFuzzer (see README.md) or with fuzz_driver.cc as an ordinary replay test.
#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "upstream/redirect_policy.h"

namespace {

using ::registryauth::upstream::DecideRedirect;
using ::registryauth::upstream::kMaxRedirectLocation;
using ::registryauth::upstream::RedirectDecision;
using ::registryauth::upstream::RedirectRefusal;

std::string_view current_input;

// Aborts saying what broke and with which input (hex; libFuzzer also writes it to a file, the
// replay test has only this).
void Check(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "redirect_fuzz: %s; input", what);
  for (char c : current_input) std::fprintf(stderr, " %02x", static_cast<unsigned char>(c));
  std::fprintf(stderr, "\n");
  std::abort();
}

// `%XX` sequences decoded (libcurl decodes the host it reads; its URL text encodes a '%' in a
// host, or before an IPv6 zone id, as %25).
std::string PercentDecoded(std::string_view s) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// scheme, host (with its IPv6 zone id) and port as libcurl reads the URL when it is given as
// CURLOPT_URL.
struct Origin {
  std::string scheme, host;
  long port = 0;
  bool operator==(const Origin& o) const {
    return scheme == o.scheme && host == o.host && port == o.port;
  }
};

std::optional<Origin> CurlOrigin(const std::string& url) {
  CURLU* u = curl_url();
  Check(u != nullptr, "curl_url");
  std::optional<Origin> out;
  char* scheme = nullptr;
  char* host = nullptr;
  char* port = nullptr;
  char* zone = nullptr;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) ==
          CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    Origin o;
    o.scheme = absl::AsciiStrToLower(scheme);
    o.host = absl::AsciiStrToLower(host);
    // The zone id comes apart from the host (and, unlike the host, not percent-decoded): put
    // it back, decoded, as HandOrigin reads it.
    if (curl_url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK && !o.host.empty()) {
      o.host.insert(o.host.size() - 1, "%" + absl::AsciiStrToLower(PercentDecoded(zone)));
    }
    if (absl::SimpleAtoi(port, &o.port)) out = o;
  }
  curl_free(zone);
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return out;
}

// The same, read by hand from a normalized absolute URL: `scheme://[userinfo@]host[:port]`
// followed by '/', '?', '#' or the end; the host percent-decoded.
std::optional<Origin> HandOrigin(std::string_view url) {
  const size_t colon = url.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  Origin o;
  o.scheme = absl::AsciiStrToLower(absl::string_view(url.data(), colon));
  std::string_view authority = url.substr(colon + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    port = authority.substr(close + 1);
  } else if (const size_t c = authority.rfind(':'); c != std::string_view::npos) {
    host = authority.substr(0, c);
    port = authority.substr(c);
  }
  if (host.empty()) return std::nullopt;
  o.host = absl::AsciiStrToLower(PercentDecoded(host));
  if (port.empty()) {
    if (o.scheme == "http") {
      o.port = 80;
    } else if (o.scheme == "https") {
      o.port = 443;
    } else {
      return std::nullopt;
    }
  } else if (port.front() != ':' ||
             !absl::SimpleAtoi(absl::string_view(port.data() + 1, port.size() - 1), &o.port)) {
    return std::nullopt;
  }
  return o;
}

void CheckDecision(const std::string& current, std::string_view location) {
  const RedirectDecision d = DecideRedirect(current, location);
  const RedirectDecision again = DecideRedirect(current, location);
  Check(d.refusal == again.refusal && d.next_url == again.next_url, "two answers to one input");
  if (d.refusal.has_value()) {
    Check(d.next_url.empty(), "a refusal carries a URL");
    return;
  }
  const std::string& next = d.next_url;
  Check(!next.empty(), "followed an empty URL");
  Check(!location.empty() && location.size() <= kMaxRedirectLocation,
        "followed an empty or over-long Location");
  for (char c : next) {
    const auto u = static_cast<unsigned char>(c);
    Check(u > 0x20 && u != 0x7f, "a followed URL holds a space or control character");
  }
  const std::string lower = absl::AsciiStrToLower(next.substr(0, 8));
  Check(lower.rfind("http://", 0) == 0 || lower.rfind("https://", 0) == 0,
        "a followed URL is not http(s)");

  // The invariant: the same scheme, host and port, however it is read.
  const std::optional<Origin> from = CurlOrigin(current);
  const std::optional<Origin> to = CurlOrigin(next);
  Check(from.has_value() && to.has_value(), "libcurl cannot read a followed URL");
  Check(*from == *to, "followed a redirect to another origin (libcurl's reading)");
  const std::optional<Origin> hand = HandOrigin(next);
  Check(hand.has_value() && *hand == *from, "followed a redirect to another origin (by hand)");

  const RedirectDecision self = DecideRedirect(next, next);
  Check(!self.refusal.has_value(), "a followed URL is refused as its own Location");
  Check(CurlOrigin(self.next_url) == from, "a followed URL moves as its own Location");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  current_input = input;
  const size_t nl = input.find('\n');
  const std::string current(input.substr(0, nl));
  const std::string_view location =
      nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  CheckDecision(current, location);
  // Against the fixed URLs the whole input is the Location when it has no line break.
  const std::string_view fixed_location = nl == std::string_view::npos ? input : location;
  for (const char* fixed : {"https://registry.example.com:5000/v2/a/b?q=1",
                            "http://127.0.0.1:8080/v2/", "https://[::1]/v2/"}) {
    CheckDecision(fixed, fixed_location);
  }
  return 0;
}
