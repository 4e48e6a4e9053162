// An IPv4 or IPv6 address parsed from a bare literal, in the one canonical text every part of
// the service uses for a client (the access log's `peer`, the token realm's throttle keys):
// inet_ntop's form (lower-case, `::` compressed), and an IPv4-mapped IPv6 address
// (`::ffff:192.0.2.1`, as a dual-stack socket reports IPv4 peers) as its IPv4 form, so one
// client always has one text.
//
//   std::optional<IpAddress> a = ParseIpAddress("2001:DB8::1");  // a->ToString() "2001:db8::1"
//
// Pure functions and a value type: thread-safe.
#ifndef REGISTRY_AUTH_COMMON_IP_ADDRESS_H_
#define REGISTRY_AUTH_COMMON_IP_ADDRESS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

// Parses a bare IP literal (no brackets, no port, no zone); IPv4-mapped IPv6 becomes IPv4.
std::optional<IpAddress> ParseIpAddress(std::string_view text);

}  // namespace registryauth

#endif  // REGISTRY_AUTH_COMMON_IP_ADDRESS_H_
