// The HTTP client's address behind trusted proxies: which address the token realm throttles
// (`addr:<ip>`), the access log's `peer` and the audit trail see.
//
// By default the client is the TCP peer. When the TCP peer lies inside one of the trusted
// proxy networks (`--http_trusted_proxies`), the client is taken from `X-Forwarded-For`, the
// usual way: the header lines are joined in order (RFC 9110 5.3) and the comma-separated list
// is walked from the RIGHT (the entry the nearest proxy appended), skipping entries that are
// themselves trusted proxies; the first untrusted entry is the client; if every entry is
// trusted, the left-most one. Entries left of the client were written by the client itself and
// are never looked at, so a client cannot choose its own throttle key by sending the header;
// nor can anyone whose TCP peer is not trusted (the header is then ignored entirely).
//
// Entries: an IPv4 or IPv6 literal, optionally `[IPv6]`, `[IPv6]:port` or `IPv4:port` (some
// balancers append the port); surrounding spaces and tabs are ignored. The port is dropped.
// Empty list elements (`a,,b`, an empty header line) are skipped, as RFC 9110 5.6.1 asks.
// Anything else ("unknown", host names, obfuscated identifiers of RFC 7239, zone ids) is
// malformed: when the walk reaches a malformed entry, or would need more than
// kMaxForwardedHops entries or more than kMaxForwardedBytes examined from the right, the client
// is the TCP peer (the proxy's own address), never a guess. So is a header with no entry. Only
// the walk is bounded, never the whole header: its left part is the client's own text, and an
// oversized one must not make the client the proxy (every client behind it shares that key).
//
// Addresses come back in canonical text (inet_ntop: lower-case, `::` compressed), and an
// IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as a dual-stack socket reports IPv4 peers) as
// its IPv4 form, so one client always has one throttle key. Trusted networks of one family
// match only addresses of that family (after the mapping).
//
// Pure functions and an immutable value type: thread-safe.
//
//   ASSIGN_OR_RETURN(TrustedProxies trusted, TrustedProxies::Parse({"10.0.0.0/8", "fd00::/8"}));
//   std::string client = ResolveClientAddress(trusted, "10.1.2.3", {"203.0.113.7, 10.0.0.9"});
//   // client == "203.0.113.7"
#ifndef REGISTRY_AUTH_GATEWAY_CLIENT_ADDRESS_H_
#define REGISTRY_AUTH_GATEWAY_CLIENT_ADDRESS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ip_address.h"
#include "common/strings.h"

namespace registryauth::gateway {

// At most this many X-Forwarded-For entries are examined from the right.
inline constexpr int kMaxForwardedHops = 32;
// The walk examines at most this many bytes of X-Forwarded-For, from the right; past that the
// client is the TCP peer. (Bytes left of the client's entry are never examined.)
inline constexpr size_t kMaxForwardedBytes = 4096;

// The address and network types and parsers are common/ip_address.h's (the token realm keys on
// the same canonical text, the outbound policy parses its networks the same way).
using ::registryauth::IpAddress;
using ::registryauth::IpNetwork;
inline std::optional<IpAddress> ParseIpAddress(absl::string_view text) {
  return ::registryauth::ParseIpAddress(ToStd(text));
}

// One X-Forwarded-For entry as described in the file comment (brackets and port allowed).
std::optional<IpAddress> ParseForwardedEntry(absl::string_view entry);

// A set of trusted proxy networks. Empty: nothing is trusted.
class TrustedProxies {
 public:
  TrustedProxies() = default;

  // Each entry is what common/ip_address's ParseIpNetwork accepts - a CIDR (`10.0.0.0/8`,
  // `fd00::/8`) or a single address (`127.0.0.1`, i.e. /32 or /128), strictly (a CIDR with
  // bits set after the prefix, `10.0.0.1/8`, is refused as a likely typo) - except that
  // surrounding whitespace is ignored; empty entries are not allowed. INVALID_ARGUMENT quoting
  // the bad entry (CIDRs are not secret) and the parser's reason.
  static absl::StatusOr<TrustedProxies> Parse(const std::vector<std::string>& cidrs);

  bool empty() const { return networks_.empty(); }
  bool Contains(const IpAddress& address) const;
  const std::vector<IpNetwork>& networks() const { return networks_; }

 private:
  std::vector<IpNetwork> networks_;
};

// The client address for a request whose TCP peer address is `peer` (an IP literal as the
// socket reports it) and whose X-Forwarded-For header lines are `forwarded_for`, in order.
// Returns `peer` in canonical text when it is not trusted, has no usable header, or the walk
// fails; returns `peer` unchanged if it does not parse (should not happen).
std::string ResolveClientAddress(const TrustedProxies& trusted, absl::string_view peer,
                                 const std::vector<absl::string_view>& forwarded_for);

}  // namespace registryauth::gateway

#endif  // REGISTRY_AUTH_GATEWAY_CLIENT_ADDRESS_H_
