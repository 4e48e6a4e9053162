#include "common/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace registryauth {
namespace {

IpAddress Ip(const char* text) {
  std::optional<IpAddress> a = ParseIpAddress(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

TEST(IpAddressTest, ParsesAndPrintsCanonically) {
  EXPECT_EQ(Ip("2001:DB8::1").ToString(), "2001:db8::1");
  EXPECT_EQ(Ip("::ffff:192.0.2.1").ToString(), "192.0.2.1");
  EXPECT_TRUE(Ip("::ffff:192.0.2.1").v4);
  EXPECT_FALSE(ParseIpAddress("").has_value());
  EXPECT_FALSE(ParseIpAddress("1.2.3").has_value());
  EXPECT_FALSE(ParseIpAddress("[::1]").has_value());
  EXPECT_FALSE(ParseIpAddress("fe80::1%eth0").has_value());
}

// ip_network_fuzz's first finding: inet_pton stops at a NUL byte, so "127.0.0.1\0junk" parsed
// as 127.0.0.1 (and "2::\0..." as 2::) although the text is no bare literal.
TEST(IpAddressTest, RefusesTextWithANulByte) {
  using namespace std::string_view_literals;
  EXPECT_FALSE(ParseIpAddress("127.0.0.1\0junk"sv).has_value());
  EXPECT_FALSE(ParseIpAddress("2::\0"
                              "160.0.0.1"sv)
                   .has_value());
  EXPECT_FALSE(ParseIpAddress("10.0.0.1\0"sv).has_value());
  EXPECT_FALSE(ParseIpNetwork("10.0.0.0\0/8"sv).has_value());
  EXPECT_FALSE(ParseIpNetwork("::1\0"sv).has_value());
}

TEST(IpAddressTest, FromSockaddrReadsBothFamiliesAndUnmaps) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  ASSERT_EQ(inet_pton(AF_INET, "10.1.2.3", &in.sin_addr), 1);
  std::optional<IpAddress> a = IpAddressFromSockaddr(reinterpret_cast<const sockaddr*>(&in));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->ToString(), "10.1.2.3");

  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr), 1);
  a = IpAddressFromSockaddr(reinterpret_cast<const sockaddr*>(&in6));
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->v4);
  EXPECT_EQ(a->ToString(), "127.0.0.1");

  ASSERT_EQ(inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr), 1);
  a = IpAddressFromSockaddr(reinterpret_cast<const sockaddr*>(&in6));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->ToString(), "fe80::1");

  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  EXPECT_FALSE(IpAddressFromSockaddr(reinterpret_cast<const sockaddr*>(&un)).has_value());
  EXPECT_FALSE(IpAddressFromSockaddr(nullptr).has_value());
}

TEST(IpNetworkTest, ParsesCidrsAndSingleAddresses) {
  std::optional<IpNetwork> n = ParseIpNetwork("10.0.0.0/8");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->prefix, 8);
  EXPECT_EQ(n->ToString(), "10.0.0.0/8");
  n = ParseIpNetwork("127.0.0.2");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->ToString(), "127.0.0.2/32");
  n = ParseIpNetwork("::1");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->ToString(), "::1/128");
  n = ParseIpNetwork("fd00::/8");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->ToString(), "fd00::/8");
  n = ParseIpNetwork("0.0.0.0/0");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->prefix, 0);
  n = ParseIpNetwork("192.168.1.0/24");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->prefix, 24);
}

TEST(IpNetworkTest, RefusesAnythingLoose) {
  for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/08",
                          "10.0.0.0/+8", "10.0.0.0/-1", "10.0.0.0/8 ", " 10.0.0.0/8", "10.0.0.1/8",
                          "10.0.0.0/8/8", "10.0.0.0/1000", "::ffff:10.0.0.0/104", "example.com/8",
                          "10.0.0.0/8,", "fd00::1/8", "10.0.0.0/ 8", "10.0.0.0/0x8"}) {
    std::string why;
    EXPECT_FALSE(ParseIpNetwork(bad, &why).has_value()) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  std::string why;
  EXPECT_FALSE(ParseIpNetwork("10.0.0.1/8", &why).has_value());
  EXPECT_EQ(why, "has address bits set after the prefix length");
  EXPECT_FALSE(ParseIpNetwork("10.0.0.0/33", &why).has_value());
  EXPECT_EQ(why, "prefix length must be 0..32");
}

TEST(IpNetworkTest, ContainsChecksThePrefixBitsAndTheFamily) {
  const IpNetwork n = *ParseIpNetwork("172.16.0.0/12");
  EXPECT_TRUE(n.Contains(Ip("172.16.0.0")));
  EXPECT_TRUE(n.Contains(Ip("172.31.255.255")));
  EXPECT_FALSE(n.Contains(Ip("172.32.0.0")));
  EXPECT_FALSE(n.Contains(Ip("172.15.255.255")));
  EXPECT_FALSE(n.Contains(Ip("::ac10:1")));          // IPv6, not IPv4
  EXPECT_TRUE(n.Contains(Ip("::ffff:172.16.0.1")));  // mapped is IPv4

  const IpNetwork one = *ParseIpNetwork("127.0.0.2");
  EXPECT_TRUE(one.Contains(Ip("127.0.0.2")));
  EXPECT_FALSE(one.Contains(Ip("127.0.0.1")));
  EXPECT_FALSE(one.Contains(Ip("127.0.0.3")));

  const IpNetwork all4 = *ParseIpNetwork("0.0.0.0/0");
  EXPECT_TRUE(all4.Contains(Ip("8.8.8.8")));
  EXPECT_FALSE(all4.Contains(Ip("2001:db8::1")));

  const IpNetwork v6 = *ParseIpNetwork("fd00:ec2::/32");
  EXPECT_TRUE(v6.Contains(Ip("fd00:ec2::254")));
  EXPECT_FALSE(v6.Contains(Ip("fd00:ec3::254")));
  const IpNetwork odd = *ParseIpNetwork("2001:db8::/33");
  EXPECT_TRUE(odd.Contains(Ip("2001:db8:7fff::1")));
  EXPECT_FALSE(odd.Contains(Ip("2001:db8:8000::1")));

  const std::vector<IpNetwork> list = {one, v6};
  EXPECT_TRUE(InAnyNetwork(Ip("127.0.0.2"), list));
  EXPECT_TRUE(InAnyNetwork(Ip("fd00:ec2::1"), list));
  EXPECT_FALSE(InAnyNetwork(Ip("127.0.0.1"), list));
  EXPECT_FALSE(InAnyNetwork(Ip("127.0.0.1"), {}));
}

TEST(IsInternalAddressTest, RefusesSpecialPurposeRanges) {
  for (const char* internal : {"0.0.0.0",
                               "0.1.2.3",
                               "10.0.0.1",
                               "10.255.255.255",
                               "100.64.0.1",
                               "100.127.255.254",
                               "127.0.0.1",
                               "127.255.0.9",
                               "169.254.0.1",
                               "169.254.169.254",
                               "172.16.0.1",
                               "172.31.255.254",
                               "192.0.0.8",
                               "192.168.0.1",
                               "198.18.0.1",
                               "198.19.255.255",
                               "224.0.0.1",
                               "239.255.255.250",
                               "240.0.0.1",
                               "255.255.255.255",
                               "::",
                               "::1",
                               "::127.0.0.1",
                               "::10.0.0.1",
                               "::ffff:127.0.0.1",
                               "::ffff:169.254.169.254",
                               "::ffff:10.0.0.5",
                               "fc00::1",
                               "fd00:ec2::254",
                               "fdff:ffff::1",
                               "fe80::1",
                               "febf:ffff::1",
                               "fec0::1",
                               "ff02::1",
                               "ff0e::1",
                               "64:ff9b::a00:1",
                               "64:ff9b::7f00:1",
                               "2002:7f00:1::",
                               "2002:a9fe:a9fe::1"}) {
    EXPECT_TRUE(IsInternalAddress(Ip(internal))) << internal;
  }
}

TEST(IsInternalAddressTest, AllowsPublicAddresses) {
  // 2001:db8::1 moved to the internal side (documentation range, issue 17).
  for (const char* external :
       {"1.1.1.1",         "8.8.8.8",         "9.255.255.255",    "11.0.0.0",
        "100.63.255.255",  "100.128.0.0",     "126.255.255.255",  "128.0.0.0",
        "169.253.255.255", "169.255.0.0",     "172.15.255.255",   "172.32.0.0",
        "192.0.1.1",       "192.167.255.255", "192.169.0.0",      "198.17.255.255",
        "198.20.0.0",      "223.255.255.255", "140.82.112.3",     "2606:4700::1111",
        "fbff:ffff::1",    "fe00::1",         "64:ff9b::808:808", "2002:808:808::1",
        "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(IsInternalAddress(Ip(external))) << external;
  }
  EXPECT_TRUE(IsInternalAddress(Ip("2001:db8::1")));
}

// Every special-purpose range at both of its edges: its first and last address are internal,
// the addresses just outside are not - unless they fall in a neighbouring internal range, which
// the comment names.
TEST(IsInternalAddressTest, EveryRangeAtBothEdges) {
  struct Case {
    const char* address;
    bool internal;
  } cases[] = {
      // 0.0.0.0/8 "this network"; below it is nothing.
      {"0.0.0.0", true},
      {"0.255.255.255", true},
      {"1.0.0.0", false},
      // 192.0.0.0/24 IETF protocol assignments.
      {"191.255.255.255", false},
      {"192.0.0.0", true},
      {"192.0.0.255", true},
      {"192.0.1.0", false},
      // 192.0.2.0/24 TEST-NET-1 (documentation).
      {"192.0.1.255", false},
      {"192.0.2.0", true},
      {"192.0.2.255", true},
      {"192.0.3.0", false},
      // 198.18.0.0/15 benchmarking.
      {"198.17.255.255", false},
      {"198.18.0.0", true},
      {"198.19.255.255", true},
      {"198.20.0.0", false},
      // 198.51.100.0/24 TEST-NET-2 (documentation).
      {"198.51.99.255", false},
      {"198.51.100.0", true},
      {"198.51.100.255", true},
      {"198.51.101.0", false},
      // 203.0.113.0/24 TEST-NET-3 (documentation).
      {"203.0.112.255", false},
      {"203.0.113.0", true},
      {"203.0.113.255", true},
      {"203.0.114.0", false},
      // 240.0.0.0/4 reserved, with the limited broadcast 255.255.255.255 at its top; below it
      // is multicast (224/4), internal too.
      {"223.255.255.255", false},
      {"239.255.255.255", true},
      {"240.0.0.0", true},
      {"255.255.255.254", true},
      {"255.255.255.255", true},
      // IPv4-mapped ::ffff:0:0/96: judged as the IPv4 address it is.
      {"::ffff:0.0.0.0", true},
      {"::ffff:1.0.0.0", false},
      {"::ffff:192.0.2.1", true},
      {"::ffff:223.255.255.255", false},
      {"::ffff:255.255.255.255", true},
      // ::/8 is reserved: ::, ::1, IPv4-compatible ::/96, the SIIT form ::ffff:0:a.b.c.d and
      // the local-use NAT64 prefix live there, all internal; only the well-known NAT64 prefix
      // is judged. Above it (100::/8) is unassigned but for the discard prefix.
      {"::", true},
      {"::8.8.8.8", true},  // IPv4-compatible, deprecated: blocked whatever it carries
      {"::ffff:0:808:808", true},
      {"::fffe:ffff:ffff", true},
      {"ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
      // NAT64 well-known prefix 64:ff9b::/96: judged by the IPv4 address in its last 32 bits.
      {"64:ff9b::", true},  // 0.0.0.0
      {"64:ff9b::808:808", false},
      {"64:ff9b::c000:201", true},                      // 192.0.2.1
      {"64:ff9b::ffff:ffff", true},                     // 255.255.255.255
      {"64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", true},  // ::/8
      {"64:ff9b:0:0:0:1::", true},                      // ::/8
      // Local-use NAT64 64:ff9b:1::/48 (RFC 8215): where the IPv4 address sits is the
      // operator's choice, so the whole prefix is blocked, whatever it seems to carry.
      {"64:ff9b:1::", true},
      {"64:ff9b:1::808:808", true},
      {"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", true},
      // Discard-only 100::/64.
      {"100::", true},
      {"100::ffff:ffff:ffff:ffff", true},
      {"100:0:0:1::", false},
      // Teredo 2001::/32: judged by the client's IPv4 address, the last 32 bits inverted
      // (f7f7:f7f7 is 8.8.8.8, f5ff:fffe is 10.0.0.1, 80ff:fffe is 127.0.0.1).
      {"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
      {"2001:0:4136:e378:8000:63bf:f7f7:f7f7", false},
      {"2001:0:4136:e378:8000:63bf:f5ff:fffe", true},
      {"2001:0:4136:e378:8000:63bf:80ff:fffe", true},
      {"2001::", true},                                // client 255.255.255.255
      {"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", true},  // client 0.0.0.0
      {"2001:1::", false},
      // Benchmarking 2001:2::/48.
      {"2001:1:ffff:ffff:ffff:ffff:ffff:ffff", false},
      {"2001:2::", true},
      {"2001:2:0:ffff:ffff:ffff:ffff:ffff", true},
      {"2001:2:1::", false},
      // Documentation 2001:db8::/32 and 3fff::/20 (RFC 9637).
      {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false},
      {"2001:db8::", true},
      {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
      {"2001:db9::", false},
      {"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
      {"3fff::", true},
      {"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", true},
      {"3fff:1000::", false},
      // 6to4 2002::/16: judged by the IPv4 address in bits 16..47.
      {"2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
      {"2002::", true},  // 0.0.0.0
      {"2002:808:808::", false},
      {"2002:c000:201::", true},                          // 192.0.2.1
      {"2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},  // 255.255.255.255
      {"2003::", false},
      // Unique-local fc00::/7; link-local fe80::/10; site-local fec0::/10; multicast ff00::/8.
      {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
      {"fc00::", true},
      {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
      {"fe00::", false},
      {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
      {"fe80::", true},
      {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
      {"fec0::", true},
      {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
      {"ff00::", true},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsInternalAddress(Ip(c.address)), c.internal) << c.address;
  }
}

// An address built by hand with v4 == false and the IPv4-mapped bytes (as a sockaddr_in6 can
// carry) is judged like the IPv4 address.
TEST(IsInternalAddressTest, UnparsedMappedAddressIsJudgedAsIpv4) {
  IpAddress mapped;
  mapped.v4 = false;
  mapped.bytes = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 203, 0, 113, 9};
  EXPECT_TRUE(IsInternalAddress(mapped));
  mapped.bytes[12] = 8;
  mapped.bytes[13] = 8;
  mapped.bytes[14] = 8;
  mapped.bytes[15] = 8;
  EXPECT_FALSE(IsInternalAddress(mapped));
}

}  // namespace
}  // namespace registryauth
