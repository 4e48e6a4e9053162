#include "common/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <sys/socket.h>

#include <cstring>
#include <initializer_list>

namespace registryauth {
namespace {

// Longest text worth handing to inet_pton ("ffff:...:255.255.255.255" is 45 bytes).
constexpr size_t kMaxLiteral = INET6_ADDRSTRLEN;

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 form; any other address unchanged.
IpAddress Unmap(const IpAddress& in) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (in.v4 || std::memcmp(in.bytes.data(), kMapped, sizeof(kMapped)) != 0) return in;
  IpAddress v4;
  v4.v4 = true;
  std::memcpy(v4.bytes.data(), in.bytes.data() + 12, 4);
  return v4;
}

// The IPv4 address in bytes [offset, offset + 4) of an IPv6 address.
IpAddress EmbeddedV4(const IpAddress& v6, size_t offset) {
  IpAddress v4;
  v4.v4 = true;
  std::memcpy(v4.bytes.data(), v6.bytes.data() + offset, 4);
  return v4;
}

// True if the first `bits` bits of `a` equal those of `prefix`, given as its leading bytes: list
// every byte the bits reach (a /20 needs 3), as the bytes beyond the list are not compared.
bool HasPrefix(const IpAddress& a, std::initializer_list<uint8_t> prefix, int bits) {
  size_t i = 0;
  for (uint8_t byte : prefix) {
    const int left = bits - static_cast<int>(i) * 8;
    if (left <= 0) break;
    const uint8_t mask = left >= 8 ? 0xFF : static_cast<uint8_t>(0xFF << (8 - left));
    if ((a.bytes[i] & mask) != (byte & mask)) return false;
    ++i;
  }
  return true;
}

bool IsInternalV4(const IpAddress& a) {
  return HasPrefix(a, {0}, 8) ||              // "this network", 0.0.0.0
         HasPrefix(a, {10}, 8) ||             // private
         HasPrefix(a, {100, 64}, 10) ||       // shared address space (CGNAT)
         HasPrefix(a, {127}, 8) ||            // loopback
         HasPrefix(a, {169, 254}, 16) ||      // link-local, cloud metadata 169.254.169.254
         HasPrefix(a, {172, 16}, 12) ||       // private
         HasPrefix(a, {192, 0, 0}, 24) ||     // IETF protocol assignments
         HasPrefix(a, {192, 0, 2}, 24) ||     // documentation (TEST-NET-1)
         HasPrefix(a, {192, 168}, 16) ||      // private
         HasPrefix(a, {198, 18}, 15) ||       // benchmarking
         HasPrefix(a, {198, 51, 100}, 24) ||  // documentation (TEST-NET-2)
         HasPrefix(a, {203, 0, 113}, 24) ||   // documentation (TEST-NET-3)
         HasPrefix(a, {224}, 4) ||            // multicast
         HasPrefix(a, {240}, 4);              // reserved, limited broadcast 255.255.255.255
}

// The Teredo client's IPv4 address: the last 32 bits of a 2001::/32 address, inverted.
IpAddress TeredoClient(const IpAddress& v6) {
  IpAddress v4 = EmbeddedV4(v6, 12);
  for (size_t i = 0; i < 4; ++i) v4.bytes[i] = static_cast<uint8_t>(~v4.bytes[i]);
  return v4;
}

// IPv6 (never IPv4-mapped: the caller unmapped it). Forms that carry an IPv4 address and whose
// packets a translator or relay delivers to it are judged by that address; see the header.
bool IsInternalV6(const IpAddress& a) {
  if (HasPrefix(a, {0}, 8)) {
    // ::/8 is reserved: ::, ::1, IPv4-compatible ::/96 (deprecated), SIIT ::ffff:0:0:0/96,
    // the local-use NAT64 prefix 64:ff9b:1::/48 (where the IPv4 address sits is the
    // operator's choice) - all blocked. Only the well-known NAT64 prefix is judged.
    if (HasPrefix(a, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}, 96)) {
      return IsInternalV4(EmbeddedV4(a, 12));  // NAT64 64:ff9b::/96
    }
    return true;
  }
  if (HasPrefix(a, {0x20, 0x01, 0x00, 0x00}, 32)) return IsInternalV4(TeredoClient(a));
  if (HasPrefix(a, {0x20, 0x02}, 16)) return IsInternalV4(EmbeddedV4(a, 2));  // 6to4
  return HasPrefix(a, {0x01, 0, 0, 0, 0, 0, 0, 0}, 64) ||                     // discard-only
         HasPrefix(a, {0x20, 0x01, 0x00, 0x02, 0, 0}, 48) ||                  // benchmarking
         HasPrefix(a, {0x20, 0x01, 0x0d, 0xb8}, 32) ||                        // documentation
         HasPrefix(a, {0x3f, 0xff, 0x00}, 20) ||  // documentation (RFC 9637)
         HasPrefix(a, {0xfc}, 7) ||               // unique-local, AWS metadata fd00:ec2::254
         HasPrefix(a, {0xfe, 0x80}, 10) ||        // link-local
         HasPrefix(a, {0xfe, 0xc0}, 10) ||        // site-local (deprecated)
         HasPrefix(a, {0xff}, 8);                 // multicast
}

}  // namespace

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(v4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf)) == nullptr) return "";
  return buf;
}

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  // inet_pton reads up to the first NUL: "127.0.0.1\0junk" must not pass as 127.0.0.1.
  if (text.empty() || text.size() >= kMaxLiteral || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string z(text);  // inet_pton needs a terminated string
  IpAddress out;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, z.c_str(), out.bytes.data()) != 1) return std::nullopt;
    out.v4 = true;
    return out;
  }
  if (inet_pton(AF_INET6, z.c_str(), out.bytes.data()) != 1) return std::nullopt;
  out.v4 = false;
  return Unmap(out);
}

std::optional<IpAddress> IpAddressFromSockaddr(const sockaddr* address) {
  if (address == nullptr) return std::nullopt;
  IpAddress out;
  if (address->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, address, sizeof(in));
    std::memcpy(out.bytes.data(), &in.sin_addr, 4);
    out.v4 = true;
    return out;
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, address, sizeof(in6));
    std::memcpy(out.bytes.data(), &in6.sin6_addr, 16);
    out.v4 = false;
    return Unmap(out);
  }
  return std::nullopt;
}

bool IpNetwork::Contains(const IpAddress& address) const {
  if (base.v4 != address.v4) return false;
  const int full = prefix / 8;
  if (std::memcmp(base.bytes.data(), address.bytes.data(), full) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (base.bytes[full] & mask) == (address.bytes[full] & mask);
}

std::string IpNetwork::ToString() const { return base.ToString() + "/" + std::to_string(prefix); }

std::optional<IpNetwork> ParseIpNetwork(std::string_view text, std::string* error) {
  auto fail = [error](const char* why) -> std::optional<IpNetwork> {
    if (error != nullptr) *error = why;
    return std::nullopt;
  };
  const size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  std::optional<IpAddress> base = ParseIpAddress(address_text);
  if (!base.has_value()) return fail("not an IPv4 or IPv6 address or CIDR");
  const int max_prefix = base->v4 ? 32 : 128;
  IpNetwork n;
  n.base = *base;
  n.prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view len = text.substr(slash + 1);
    if (len.empty() || len.size() > 3 || (len.size() > 1 && len.front() == '0') ||
        len.find_first_not_of("0123456789") != std::string_view::npos) {
      return fail("prefix length must be a decimal number");
    }
    n.prefix = std::stoi(std::string(len));
    if (n.prefix > max_prefix) {
      return fail(base->v4 ? "prefix length must be 0..32" : "prefix length must be 0..128");
    }
    // "::ffff:10.0.0.0/104" was mapped to IPv4 by ParseIpAddress: its prefix is not meaningful
    // in the IPv4 space, so refuse rather than guess.
    if (base->v4 && address_text.find(':') != std::string_view::npos) {
      return fail("write IPv4-mapped networks as IPv4 CIDRs");
    }
  }
  for (int bit = n.prefix; bit < max_prefix; ++bit) {
    if ((n.base.bytes[bit / 8] & (0x80 >> (bit % 8))) != 0) {
      return fail("has address bits set after the prefix length");
    }
  }
  return n;
}

bool InAnyNetwork(const IpAddress& address, const std::vector<IpNetwork>& networks) {
  for (const IpNetwork& n : networks) {
    if (n.Contains(address)) return true;
  }
  return false;
}

bool IsInternalAddress(const IpAddress& address) {
  const IpAddress a = Unmap(address);
  return a.v4 ? IsInternalV4(a) : IsInternalV6(a);
}

}  // namespace registryauth
