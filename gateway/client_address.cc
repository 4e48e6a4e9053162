#include "gateway/client_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace registryauth::gateway {
namespace {

// Longest text worth handing to inet_pton ("ffff:...:255.255.255.255" is 45 bytes).
constexpr size_t kMaxLiteral = INET6_ADDRSTRLEN;

absl::string_view TrimOws(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsPort(absl::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  int port = 0;
  return absl::SimpleAtoi(s, &port) && port <= 65535;
}

}  // namespace

std::optional<IpAddress> ParseForwardedEntry(absl::string_view entry) {
  entry = TrimOws(entry);
  if (entry.empty() || entry.size() > kMaxLiteral + 8) return std::nullopt;
  if (entry.front() == '[') {
    const size_t close = entry.find(']');
    if (close == absl::string_view::npos) return std::nullopt;
    absl::string_view after = entry.substr(close + 1);
    if (!after.empty() && !(after.front() == ':' && IsPort(after.substr(1)))) return std::nullopt;
    absl::string_view inside = entry.substr(1, close - 1);
    if (inside.find(':') == absl::string_view::npos) return std::nullopt;  // "[1.2.3.4]"
    return ParseIpAddress(inside);
  }
  const size_t first_colon = entry.find(':');
  if (first_colon != absl::string_view::npos &&
      entry.find(':', first_colon + 1) == absl::string_view::npos) {
    // Exactly one colon: IPv4 with a port (a bare IPv6 literal has at least two).
    if (!IsPort(entry.substr(first_colon + 1))) return std::nullopt;
    absl::string_view host = entry.substr(0, first_colon);
    if (host.find(':') != absl::string_view::npos) return std::nullopt;
    std::optional<IpAddress> a = ParseIpAddress(host);
    if (!a.has_value() || !a->v4) return std::nullopt;
    return a;
  }
  return ParseIpAddress(entry);
}

absl::StatusOr<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& cidrs) {
  TrustedProxies out;
  for (const std::string& raw : cidrs) {
    const absl::string_view entry = absl::StripAsciiWhitespace(raw);
    std::string why = "empty entry";
    std::optional<IpNetwork> n =
        entry.empty() ? std::nullopt : ::registryauth::ParseIpNetwork(ToStd(entry), &why);
    if (!n.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("\"", entry.substr(0, 64), "\": ", why));
    }
    out.networks_.push_back(*n);
  }
  return out;
}

bool TrustedProxies::Contains(const IpAddress& address) const {
  return InAnyNetwork(address, networks_);
}

std::string ResolveClientAddress(const TrustedProxies& trusted, absl::string_view peer,
                                 const std::vector<absl::string_view>& forwarded_for) {
  const std::optional<IpAddress> peer_ip = ParseIpAddress(peer);
  if (!peer_ip.has_value()) return std::string(peer);
  const std::string peer_text = peer_ip->ToString();
  if (trusted.empty() || !trusted.Contains(*peer_ip) || forwarded_for.empty()) return peer_text;

  // The lines in order form one list (RFC 9110 5.3); walk it from the right: the last line
  // first, each line from its end. The byte cap bounds what the walk examines, never the
  // whole header: the client writes the left part, and an oversized left part must not make
  // the client the proxy, whose throttle key every client behind it shares.
  size_t examined = 0;
  int hops = 0;
  std::optional<IpAddress> leftmost;
  for (auto line = forwarded_for.rbegin(); line != forwarded_for.rend(); ++line) {
    absl::string_view rest = *line;
    while (true) {
      const size_t comma = rest.rfind(',');
      const absl::string_view entry =
          comma == absl::string_view::npos ? rest : rest.substr(comma + 1);
      examined += entry.size() + 1;
      if (examined > kMaxForwardedBytes + 1) return peer_text;
      if (!TrimOws(entry).empty()) {  // Empty list elements are ignored (RFC 9110 5.6.1).
        if (++hops > kMaxForwardedHops) return peer_text;
        std::optional<IpAddress> ip = ParseForwardedEntry(entry);
        if (!ip.has_value()) return peer_text;
        if (!trusted.Contains(*ip)) return ip->ToString();
        leftmost = ip;
      }
      if (comma == absl::string_view::npos) break;
      rest = rest.substr(0, comma);
    }
  }
  // Every entry trusted: the left-most; no entry at all: the peer.
  return leftmost.has_value() ? leftmost->ToString() : peer_text;
}

}  // namespace registryauth::gateway
