// Fuzz target for the HTTP adapter's client address behind trusted proxies
// (gateway/client_address.h): the trusted-proxy CIDR list (TrustedProxies::Parse), one
// X-Forwarded-For entry (ParseForwardedEntry) and the right-to-left walk
// (ResolveClientAddress).
//
// Input: line 1 is the TCP peer address, line 2 the comma-separated trusted CIDRs (when they do
// not parse, a fixed set 10.0.0.0/8, 127.0.0.1/32, fd00::/8 is used so the walk still runs),
// every further line one X-Forwarded-For header line. Besides "never crash", it aborts when an
// invariant breaks:
//   - a parsed network has no bits set after its prefix, contains its own base address, and its
//     text form parses back to the same network;
//   - a parsed address or entry prints in a canonical form that parses back to itself;
//   - the client is the peer (canonical) when the peer is not trusted, and otherwise equals an
//     independent re-implementation of the walk (join, split, drop empty elements, scan from
//     the right);
//   - the client is always an address that parses, unless the peer itself does not (then the
//     peer is returned unchanged).
//
// Built with libFuzzer (see README.md) or with fuzz_driver.cc as an ordinary replay test.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gateway/client_address.h"

namespace {

using ::registryauth::gateway::IpAddress;
using ::registryauth::gateway::IpNetwork;
using ::registryauth::gateway::kMaxForwardedBytes;
using ::registryauth::gateway::kMaxForwardedHops;
using ::registryauth::gateway::ParseForwardedEntry;
using ::registryauth::gateway::ParseIpAddress;
using ::registryauth::gateway::ResolveClientAddress;
using ::registryauth::gateway::TrustedProxies;

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckCanonical(const IpAddress& a) {
  const std::string text = a.ToString();
  Check(!text.empty());
  std::optional<IpAddress> again = ParseIpAddress(text);
  Check(again.has_value() && *again == a && again->ToString() == text);
}

// The walk as the header comment of client_address.h states it, written independently.
std::string Reference(const TrustedProxies& trusted, absl::string_view peer,
                      const std::vector<absl::string_view>& lines) {
  std::optional<IpAddress> p = ParseIpAddress(peer);
  if (!p.has_value()) return std::string(peer);
  const std::string peer_text = p->ToString();
  if (trusted.empty() || !trusted.Contains(*p) || lines.empty()) return peer_text;
  size_t total = 0;
  for (absl::string_view l : lines) total += l.size() + 1;
  if (total > kMaxForwardedBytes + 1) return peer_text;
  const std::string joined = absl::StrJoin(lines, ",");
  std::vector<absl::string_view> entries;
  for (absl::string_view e : absl::StrSplit(joined, ',')) {
    if (e.find_first_not_of(" \t") != absl::string_view::npos) entries.push_back(e);
  }
  if (entries.empty()) return peer_text;
  int hops = 0;
  for (size_t i = entries.size(); i-- > 0;) {
    if (++hops > kMaxForwardedHops) return peer_text;
    std::optional<IpAddress> e = ParseForwardedEntry(entries[i]);
    if (!e.has_value()) return peer_text;
    if (!trusted.Contains(*e) || i == 0) return e->ToString();
  }
  return peer_text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> lines = absl::StrSplit(input, '\n');
  const absl::string_view peer = lines[0];
  const absl::string_view cidr_text = lines.size() > 1 ? lines[1] : absl::string_view();
  std::vector<absl::string_view> forwarded;
  for (size_t i = 2; i < lines.size(); ++i) forwarded.push_back(lines[i]);

  std::vector<std::string> cidrs;
  if (!cidr_text.empty()) cidrs = absl::StrSplit(cidr_text, ',');
  absl::StatusOr<TrustedProxies> parsed = TrustedProxies::Parse(cidrs);
  TrustedProxies trusted;
  if (parsed.ok()) {
    trusted = *parsed;
    for (const IpNetwork& n : trusted.networks()) {
      const int max = n.base.v4 ? 32 : 128;
      Check(n.prefix >= 0 && n.prefix <= max);
      for (int bit = n.prefix; bit < max; ++bit) {
        Check((n.base.bytes[bit / 8] & (0x80 >> (bit % 8))) == 0);
      }
      Check(trusted.Contains(n.base));
      CheckCanonical(n.base);
      absl::StatusOr<TrustedProxies> again =
          TrustedProxies::Parse({absl::StrCat(n.base.ToString(), "/", n.prefix)});
      Check(again.ok() && again->networks().size() == 1 && again->networks()[0].base == n.base &&
            again->networks()[0].prefix == n.prefix);
    }
  } else {
    Check(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    absl::StatusOr<TrustedProxies> fixed =
        TrustedProxies::Parse({"10.0.0.0/8", "127.0.0.1/32", "fd00::/8"});
    Check(fixed.ok());
    trusted = *fixed;
  }

  if (std::optional<IpAddress> p = ParseIpAddress(peer)) CheckCanonical(*p);
  for (absl::string_view line : forwarded) {
    for (absl::string_view entry : absl::StrSplit(line, ',')) {
      if (std::optional<IpAddress> e = ParseForwardedEntry(entry)) CheckCanonical(*e);
    }
  }

  const std::string client = ResolveClientAddress(trusted, peer, forwarded);
  Check(client == Reference(trusted, peer, forwarded));
  const std::optional<IpAddress> peer_ip = ParseIpAddress(peer);
  if (!peer_ip.has_value()) {
    Check(client == peer);
  } else {
    std::optional<IpAddress> c = ParseIpAddress(client);
    Check(c.has_value() && c->ToString() == client);
    if (!trusted.Contains(*peer_ip)) Check(client == peer_ip->ToString());
  }
  return 0;
}
