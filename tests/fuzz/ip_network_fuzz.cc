// Fuzz target for the IP parsing behind the outbound policy and `--upstream_allowed_networks`
// (common/ip_address.h): ParseIpNetwork, ParseIpAddress, IpAddressFromSockaddr, IpNetwork's
// Contains / ToString and IsInternalAddress.
//
// Input: the text before the first '\n' is a network (CIDR or single address) and the text
// after it an address; each is also tried as the other. The first 16 (IPv6) and 4 (IPv4) bytes
// of the input are besides taken as raw addresses, so IsInternalAddress sees every bit pattern,
// not only what the text parsers let through. Besides "never crash", it aborts when an
// invariant breaks:
//   - a parsed address prints canonically: its text is non-empty and parses back to the same
//     address with the same text; an IPv4 address written as IPv4-mapped IPv6 (`::ffff:a.b.c.d`)
//     parses to itself; a sockaddr_in / sockaddr_in6 of it gives it back;
//   - a parsed network has a prefix within 0..32 / 0..128 (the full length when the text has no
//     '/'), no address bits set after the prefix, contains its own base and its last address,
//     does not contain the base with a bit inside the prefix flipped, and prints as text that
//     parses back to the same network;
//   - Contains agrees with an independent bit-by-bit comparison, and InAnyNetwork with Contains;
//   - every ParseIpNetwork error is one of the fixed messages (it never quotes the text);
//   - IsInternalAddress is true for every range common/ip_address.h documents (checked one way
//     only, so adding ranges never breaks this target), gives an IPv4-mapped IPv6 address the
//     answer of its IPv4 form, and calls NAT64 and 6to4 forms of an internal IPv4 address
//     internal.
//
// Built with libFuzzer (see README.md) or with fuzz_driver.cc as an ordinary replay test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"

namespace {

using ::registryauth::InAnyNetwork;
using ::registryauth::IpAddress;
using ::registryauth::IpAddressFromSockaddr;
using ::registryauth::IpNetwork;
using ::registryauth::IsInternalAddress;
using ::registryauth::ParseIpAddress;
using ::registryauth::ParseIpNetwork;

std::string_view current_input;

// Aborts naming the line of the broken invariant and the input (hex), which libFuzzer's own
// reproducer file also holds; the replay test has only this.
void Check(bool condition, int line = __builtin_LINE()) {
  if (condition) return;
  std::fprintf(stderr, "ip_network_fuzz: invariant at line %d broken by input", line);
  for (char c : current_input) std::fprintf(stderr, " %02x", static_cast<unsigned char>(c));
  std::fprintf(stderr, "\n");
  std::abort();
}

int MaxPrefix(const IpAddress& a) { return a.v4 ? 32 : 128; }

bool Bit(const IpAddress& a, int bit) { return (a.bytes[bit / 8] & (0x80 >> (bit % 8))) != 0; }

IpAddress FlipBit(IpAddress a, int bit) {
  a.bytes[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
  return a;
}

// Contains, written independently: same family and the first `prefix` bits equal.
bool ReferenceContains(const IpNetwork& n, const IpAddress& a) {
  if (n.base.v4 != a.v4) return false;
  for (int bit = 0; bit < n.prefix; ++bit) {
    if (Bit(n.base, bit) != Bit(a, bit)) return false;
  }
  return true;
}

std::vector<IpNetwork> Networks(std::initializer_list<const char*> texts) {
  std::vector<IpNetwork> out;
  for (const char* text : texts) {
    std::optional<IpNetwork> n = ParseIpNetwork(text);
    Check(n.has_value());
    out.push_back(*n);
  }
  return out;
}

IpAddress V6(const uint8_t* bytes) {
  IpAddress a;
  a.v4 = false;
  std::memcpy(a.bytes.data(), bytes, 16);
  return a;
}

IpAddress V4(const uint8_t* bytes) {
  IpAddress a;
  a.v4 = true;
  std::memcpy(a.bytes.data(), bytes, 4);
  return a;
}

// `v4` carried in an IPv6 address: `prefix` (its leading bytes) then the 4 bytes at `offset`.
IpAddress Embed(const IpAddress& v4, std::initializer_list<uint8_t> prefix, size_t offset) {
  uint8_t bytes[16] = {};
  size_t i = 0;
  for (uint8_t b : prefix) bytes[i++] = b;
  std::memcpy(bytes + offset, v4.bytes.data(), 4);
  return V6(bytes);
}

// The ranges common/ip_address.h lists for IsInternalAddress.
bool DocumentedInternal(const IpAddress& a) {
  static const std::vector<IpNetwork>* const kRanges = new std::vector<IpNetwork>(
      Networks({"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4",
                "240.0.0.0/4", "::/127", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8"}));
  for (const IpNetwork& n : *kRanges) {
    if (ReferenceContains(n, a)) return true;
  }
  return false;
}

void CheckInternal(const IpAddress& a) {
  const bool internal = IsInternalAddress(a);
  if (DocumentedInternal(a)) Check(internal);
  if (!a.v4) return;
  // The IPv4-mapped form is the same address.
  Check(IsInternalAddress(Embed(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 12)) == internal);
  if (internal) {
    Check(IsInternalAddress(Embed(a, {0x00, 0x64, 0xff, 0x9b}, 12)));  // NAT64 64:ff9b::/96
    Check(IsInternalAddress(Embed(a, {0x20, 0x02}, 2)));               // 6to4 2002::/16
    Check(IsInternalAddress(Embed(a, {}, 12)));                        // IPv4-compatible ::/96
  }
}

void CheckAddress(const IpAddress& a) {
  const std::string text = a.ToString();
  Check(!text.empty());
  std::optional<IpAddress> again = ParseIpAddress(text);
  Check(again.has_value() && *again == a && again->ToString() == text);
  if (a.v4) {
    Check(text.find(':') == std::string::npos);
    std::optional<IpAddress> mapped = ParseIpAddress("::ffff:" + text);
    Check(mapped.has_value() && *mapped == a);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    std::memcpy(&in.sin_addr, a.bytes.data(), 4);
    std::optional<IpAddress> from = IpAddressFromSockaddr(reinterpret_cast<const sockaddr*>(&in));
    Check(from.has_value() && *from == a);
  } else {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    std::memcpy(&in6.sin6_addr, a.bytes.data(), 16);
    std::optional<IpAddress> from = IpAddressFromSockaddr(reinterpret_cast<const sockaddr*>(&in6));
    Check(from.has_value() && *from == a);  // `a` came from the parser: never IPv4-mapped
  }
  for (size_t i = a.v4 ? 4 : 16; i < 16; ++i) Check(a.bytes[i] == 0);
  CheckInternal(a);
}

void CheckError(const std::string& why) {
  static const std::set<std::string>* const kMessages = new std::set<std::string>{
      "not an IPv4 or IPv6 address or CIDR",
      "prefix length must be a decimal number",
      "prefix length must be 0..32",
      "prefix length must be 0..128",
      "write IPv4-mapped networks as IPv4 CIDRs",
      "has address bits set after the prefix length",
  };
  Check(kMessages->count(why) == 1);
}

std::optional<IpNetwork> CheckNetwork(std::string_view text) {
  std::string why;
  std::optional<IpNetwork> n = ParseIpNetwork(text, &why);
  if (!n.has_value()) {
    CheckError(why);
    Check(!ParseIpNetwork(text).has_value());  // the same answer without an error out-param
    return std::nullopt;
  }
  const int max = MaxPrefix(n->base);
  Check(n->prefix >= 0 && n->prefix <= max);
  if (text.find('/') == std::string_view::npos) Check(n->prefix == max);
  CheckAddress(n->base);
  for (int bit = n->prefix; bit < max; ++bit) Check(!Bit(n->base, bit));
  Check(n->Contains(n->base));
  IpAddress last = n->base;
  for (int bit = n->prefix; bit < max; ++bit) last = FlipBit(last, bit);
  Check(n->Contains(last));
  if (n->prefix > 0) Check(!n->Contains(FlipBit(n->base, n->prefix - 1)));
  const std::string printed = n->ToString();
  std::optional<IpNetwork> again = ParseIpNetwork(printed);
  Check(again.has_value() && again->base == n->base && again->prefix == n->prefix &&
        again->ToString() == printed);
  return n;
}

void CheckContains(const IpNetwork& n, const IpAddress& a) {
  const bool in = n.Contains(a);
  Check(in == ReferenceContains(n, a));
  Check(InAnyNetwork(a, {n}) == in);
  Check(!InAnyNetwork(a, {}));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  current_input = input;
  const size_t nl = input.find('\n');
  const std::string_view first = input.substr(0, nl);
  const std::string_view second =
      nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  std::optional<IpNetwork> network = CheckNetwork(first);
  std::optional<IpNetwork> network2 = CheckNetwork(second);
  std::optional<IpAddress> address = ParseIpAddress(second);
  std::optional<IpAddress> address2 = ParseIpAddress(first);
  if (address.has_value()) CheckAddress(*address);
  if (address2.has_value()) {
    CheckAddress(*address2);
    // A bare address is a network of one.
    Check(network.has_value() && network->base == *address2 &&
          network->prefix == MaxPrefix(*address2));
  }

  // Raw bit patterns, which the text parsers would not produce for IsInternalAddress.
  if (size >= 16) {
    const IpAddress raw6 = V6(data);
    CheckInternal(raw6);
    if (network.has_value()) CheckContains(*network, raw6);
  }
  if (size >= 4) {
    const IpAddress raw4 = V4(data + size - 4);
    CheckAddress(raw4);
    if (network.has_value()) CheckContains(*network, raw4);
    if (network2.has_value()) CheckContains(*network2, raw4);
  }
  if (network.has_value() && address.has_value()) CheckContains(*network, *address);
  if (network2.has_value() && address2.has_value()) CheckContains(*network2, *address2);
  return 0;
}
