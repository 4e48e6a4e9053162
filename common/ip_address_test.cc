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
  for (const char* external :
       {"1.1.1.1",         "8.8.8.8",         "9.255.255.255",   "11.0.0.0",
        "100.63.255.255",  "100.128.0.0",     "126.255.255.255", "128.0.0.0",
        "169.253.255.255", "169.255.0.0",     "172.15.255.255",  "172.32.0.0",
        "192.0.1.1",       "192.167.255.255", "192.169.0.0",     "198.17.255.255",
        "198.20.0.0",      "223.255.255.255", "140.82.112.3",    "2001:db8::1",
        "2606:4700::1111", "fbff:ffff::1",    "fe00::1",         "64:ff9b::808:808",
        "2002:808:808::1", "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(IsInternalAddress(Ip(external))) << external;
  }
}

}  // namespace
}  // namespace registryauth
