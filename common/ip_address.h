// An IPv4 or IPv6 address parsed from a bare literal, in the one canonical text every part of
// the service uses for a client (the access log's `peer`, the token realm's throttle keys):
// inet_ntop's form (lower-case, `::` compressed), and an IPv4-mapped IPv6 address
// (`::ffff:192.0.2.1`, as a dual-stack socket reports IPv4 peers) as its IPv4 form, so one
// client always has one text.
//
//   std::optional<IpAddress> a = ParseIpAddress("2001:DB8::1");  // a->ToString() "2001:db8::1"
//
// Networks (CIDRs) and the special-purpose ranges that outbound requests must not reach unless
// allowed (upstream/curl_http_client.h, the outbound policy):
//
//   std::string why;
//   std::optional<IpNetwork> n = ParseIpNetwork("10.0.0.0/8", &why);  // n->Contains(*a)
//   IsInternalAddress(*ParseIpAddress("169.254.169.254"));             // true
//
// Pure functions and a value type: thread-safe.
#ifndef REGISTRY_AUTH_COMMON_IP_ADDRESS_H_
#define REGISTRY_AUTH_COMMON_IP_ADDRESS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sockaddr;

namespace registryauth {

// An IPv4 or IPv6 address. IPv4 addresses use the first 4 bytes.
struct IpAddress {
  bool v4 = true;
  std::array<uint8_t, 16> bytes{};

  // Canonical text (see the file comment).
  std::string ToString() const;
  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.v4 == b.v4 && a.bytes == b.bytes;
  }
};

// Parses a bare IP literal (no brackets, port, zone or NUL byte); IPv4-mapped IPv6 becomes IPv4.
std::optional<IpAddress> ParseIpAddress(std::string_view text);

// The address of an AF_INET or AF_INET6 socket address (IPv4-mapped IPv6 becomes IPv4, as in
// ParseIpAddress); nullopt for any other family or a null pointer.
std::optional<IpAddress> IpAddressFromSockaddr(const sockaddr* address);

// A network: the addresses whose first `prefix` bits equal `base`'s.
struct IpNetwork {
  IpAddress base;
  int prefix = 0;  // 0..32 (IPv4) or 0..128 (IPv6)

  bool Contains(const IpAddress& address) const;
  // "10.0.0.0/8", "fd00::/8".
  std::string ToString() const;
};

// Parses a CIDR (`10.0.0.0/8`, `fd00::/8`) or a single address (`127.0.0.1` = /32, `::1` =
// /128), strictly: no surrounding whitespace, a decimal prefix length in range without sign or
// leading zeros, no bits set after the prefix (`10.0.0.1/8` is a likely typo), and no IPv4-mapped
// IPv6 CIDR (write it as IPv4). On failure returns nullopt and, if `error` is not null, says why
// (without quoting the text).
std::optional<IpNetwork> ParseIpNetwork(std::string_view text, std::string* error = nullptr);

// True if `address` is in any of `networks`.
bool InAnyNetwork(const IpAddress& address, const std::vector<IpNetwork>& networks);

// True for addresses an outbound request must not reach unless explicitly allowed: the IANA
// special-purpose ranges that are not ordinary internet hosts.
//   IPv4: "this network" (0.0.0.0/8), private (10/8, 172.16/12, 192.168/16), shared address
//   space / CGNAT (100.64/10), loopback (127/8), link-local (169.254/16, with the cloud
//   metadata address 169.254.169.254), IETF protocol assignments (192.0.0.0/24), documentation
//   (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24), benchmarking (198.18/15), multicast
//   (224/4), reserved (240/4, with the limited broadcast 255.255.255.255).
//   IPv6: all of ::/8 (reserved: ::, ::1, IPv4-compatible ::/96, SIIT ::ffff:0:0:0/96, local-use
//   NAT64 64:ff9b:1::/48) except the well-known NAT64 prefix, discard-only (100::/64),
//   benchmarking (2001:2::/48), documentation (2001:db8::/32, 3fff::/20), unique-local
//   (fc00::/7, with AWS's metadata address fd00:ec2::254), link-local (fe80::/10), site-local
//   (fec0::/10, deprecated), multicast (ff00::/8).
// IPv6 forms whose packets a translator or relay delivers to an IPv4 address are judged by that
// address, since that is the host reached: IPv4-mapped (::ffff:0:0/96, the IPv4 host itself),
// well-known NAT64 (64:ff9b::/96, the last 32 bits), 6to4 (2002::/16, bits 16..47) and Teredo
// (2001::/32, the client's address: the last 32 bits inverted; the Teredo server's address in
// bits 32..63 only matters to the client). Blocking these prefixes whole would cut off
// IPv6-only hosts that reach public registries through NAT64. Where the position of the IPv4
// address is not fixed (local-use NAT64) or the form is deprecated (IPv4-compatible), the whole
// prefix is blocked.
bool IsInternalAddress(const IpAddress& address);

}  // namespace registryauth

#endif  // REGISTRY_AUTH_COMMON_IP_ADDRESS_H_
