#include "gateway/client_address.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace registryauth::gateway {
namespace {

TrustedProxies Trust(const std::vector<std::string>& cidrs) {
  absl::StatusOr<TrustedProxies> t = TrustedProxies::Parse(cidrs);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : TrustedProxies();
}

TEST(ParseIpAddressTest, CanonicalForms) {
  struct Case {
    const char* in;
    const char* out;  // nullptr: refused
  } cases[] = {
      {"192.0.2.1", "192.0.2.1"},
      {"0.0.0.0", "0.0.0.0"},
      {"2001:DB8:0:0::1", "2001:db8::1"},
      {"::1", "::1"},
      {"::ffff:192.0.2.1", "192.0.2.1"},  // IPv4-mapped: one key per client
      {"::ffff:c000:0201", "192.0.2.1"},
      {"::192.0.2.1", "::192.0.2.1"},  // IPv4-compatible is a different (v6) address
      {"", nullptr},
      {"01.2.3.4", nullptr},
      {"1.2.3", nullptr},
      {"256.1.1.1", nullptr},
      {"1.2.3.4 ", nullptr},
      {"fe80::1%eth0", nullptr},
      {"localhost", nullptr},
      {"[::1]", nullptr},
      {"1:2:3:4:5:6:7:8:9", nullptr},
  };
  for (const Case& c : cases) {
    std::optional<IpAddress> a = ParseIpAddress(c.in);
    if (c.out == nullptr) {
      EXPECT_FALSE(a.has_value()) << c.in;
    } else {
      ASSERT_TRUE(a.has_value()) << c.in;
      EXPECT_EQ(a->ToString(), c.out) << c.in;
    }
  }
}

TEST(ParseForwardedEntryTest, PortsBracketsAndGarbage) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {" 203.0.113.7 ", "203.0.113.7"},
      {"\t203.0.113.7", "203.0.113.7"},
      {"203.0.113.7:8443", "203.0.113.7"},
      {"[2001:db8::7]", "2001:db8::7"},
      {"[2001:db8::7]:443", "2001:db8::7"},
      {"2001:db8::7", "2001:db8::7"},
      {"203.0.113.7:", nullptr},
      {"203.0.113.7:65536", nullptr},
      {"203.0.113.7:x", nullptr},
      {"[203.0.113.7]", nullptr},
      {"[2001:db8::7]x", nullptr},
      {"[2001:db8::7]:", nullptr},
      {"[2001:db8::7", nullptr},
      {"unknown", nullptr},
      {"_hidden", nullptr},
      {"client.example.com", nullptr},
      {"", nullptr},
      {"   ", nullptr},
      {"203.0.113.7 203.0.113.8", nullptr},
      {"for=203.0.113.7", nullptr},
  };
  for (const Case& c : cases) {
    std::optional<IpAddress> a = ParseForwardedEntry(c.in);
    if (c.out == nullptr) {
      EXPECT_FALSE(a.has_value()) << "\"" << c.in << "\" -> " << a->ToString();
    } else {
      ASSERT_TRUE(a.has_value()) << c.in;
      EXPECT_EQ(a->ToString(), c.out) << c.in;
    }
  }
}

TEST(TrustedProxiesTest, ParsesAndMatches) {
  TrustedProxies t = Trust({"10.0.0.0/8", " 127.0.0.1/32", "fd00::/8", "192.0.2.9", "::1"});
  ASSERT_EQ(t.networks().size(), 5u);
  struct Case {
    const char* ip;
    bool trusted;
  } cases[] = {
      {"10.0.0.0", true},
      {"10.255.255.255", true},
      {"11.0.0.0", false},
      {"9.255.255.255", false},
      {"127.0.0.1", true},
      {"127.0.0.2", false},
      {"fd12:3456::1", true},
      {"fe00::1", false},
      {"192.0.2.9", true},
      {"192.0.2.10", false},
      {"::1", true},
      {"::2", false},
      {"::ffff:10.1.2.3", true},  // mapped IPv4 matches the IPv4 network
      {"::a01:203", false},       // ::10.1.2.3 is IPv6, not in 10/8
  };
  for (const Case& c : cases) {
    std::optional<IpAddress> a = ParseIpAddress(c.ip);
    ASSERT_TRUE(a.has_value()) << c.ip;
    EXPECT_EQ(t.Contains(*a), c.trusted) << c.ip;
  }
  // Non-octet prefix lengths.
  TrustedProxies odd = Trust({"172.16.0.0/12", "2001:db8:8000::/33", "0.0.0.0/0"});
  EXPECT_TRUE(odd.Contains(*ParseIpAddress("172.31.255.255")));
  EXPECT_TRUE(odd.Contains(*ParseIpAddress("8.8.8.8")));  // 0.0.0.0/0: all of IPv4
  EXPECT_FALSE(odd.Contains(*ParseIpAddress("2001:db8::1")));
  EXPECT_TRUE(odd.Contains(*ParseIpAddress("2001:db8:ffff::1")));
  EXPECT_FALSE(odd.Contains(*ParseIpAddress("2001:db9::1")));
  EXPECT_TRUE(TrustedProxies().empty());
  EXPECT_TRUE(Trust({}).empty());
}

TEST(TrustedProxiesTest, RefusesBadEntriesQuotingThem) {
  for (const char* bad : {"", " ", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8",
                          "10.0.0.1/8", "fd00::1/8", "fd00::/129", "example.com/8", "10.0.0.0/ 8",
                          "10.0.0.0/0008", "::ffff:10.0.0.0/104", "10.0.0.0/8,11.0.0.0/8"}) {
    absl::StatusOr<TrustedProxies> t = TrustedProxies::Parse({bad});
    ASSERT_FALSE(t.ok()) << "\"" << bad << "\"";
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find(absl::StrCat("\"", absl::StripAsciiWhitespace(bad))),
              absl::string_view::npos)
        << t.status();
  }
}

// One CIDR grammar in the service: a trusted-proxy entry (trimmed) parses exactly when
// common/ip_address's ParseIpNetwork accepts it, to the same network.
TEST(TrustedProxiesTest, AcceptsExactlyWhatParseIpNetworkAccepts) {
  for (const char* entry : {"10.0.0.0/8",
                            "127.0.0.1",
                            "::1",
                            "fd00::/8",
                            "0.0.0.0/0",
                            "172.16.0.0/12",
                            "2001:db8:8000::/33",
                            "10.0.0.0/08",
                            "10.0.0.0/+8",
                            "10.0.0.0/0x8",
                            "10.0.0.1/8",
                            "10.0.0.0/33",
                            "::/129",
                            "::ffff:10.0.0.0/104",
                            "::ffff:10.0.0.1",
                            "10.0.0.0/8/8",
                            "example.com/8",
                            "10.0.0.0/",
                            "/8",
                            "fe80::1%eth0",
                            "10.0.0.0/1000"}) {
    std::string why;
    const std::optional<IpNetwork> want = ParseIpNetwork(entry, &why);
    const absl::StatusOr<TrustedProxies> got = TrustedProxies::Parse({entry});
    ASSERT_EQ(got.ok(), want.has_value()) << entry << ": " << got.status();
    if (want.has_value()) {
      ASSERT_EQ(got->networks().size(), 1U) << entry;
      EXPECT_EQ(got->networks()[0].base, want->base) << entry;
      EXPECT_EQ(got->networks()[0].prefix, want->prefix) << entry;
    } else {
      // The shared parser's reason, after the quoted entry.
      EXPECT_NE(got.status().message().find(why), absl::string_view::npos) << got.status();
    }
  }
}

TEST(ResolveClientAddressTest, Table) {
  const TrustedProxies lb = Trust({"10.0.0.0/8", "fd00::/8"});
  const TrustedProxies none;
  struct Case {
    const char* name;
    const TrustedProxies* trusted;
    const char* peer;
    std::vector<absl::string_view> xff;
    const char* want;
  } cases[] = {
      {"no trusted proxies: header ignored", &none, "10.0.0.5", {"203.0.113.7"}, "10.0.0.5"},
      {"untrusted peer: header ignored", &lb, "198.51.100.1", {"203.0.113.7"}, "198.51.100.1"},
      {"trusted peer, no header", &lb, "10.0.0.5", {}, "10.0.0.5"},
      {"trusted peer, empty header", &lb, "10.0.0.5", {" "}, "10.0.0.5"},
      {"one hop", &lb, "10.0.0.5", {"203.0.113.7"}, "203.0.113.7"},
      {"client spoofs a left entry", &lb, "10.0.0.5", {"1.1.1.1, 203.0.113.7"}, "203.0.113.7"},
      {"trusted hops skipped", &lb, "10.0.0.5", {"203.0.113.7, 10.0.0.9, 10.1.1.1"}, "203.0.113.7"},
      {"spoofed trusted entry left of client",
       &lb,
       "10.0.0.5",
       {"10.9.9.9, 203.0.113.7"},
       "203.0.113.7"},
      {"all trusted: left-most", &lb, "10.0.0.5", {"10.0.0.7, 10.0.0.8"}, "10.0.0.7"},
      {"lines joined in order", &lb, "10.0.0.5", {"203.0.113.7", "10.0.0.9"}, "203.0.113.7"},
      {"second line's client wins", &lb, "10.0.0.5", {"10.0.0.9", "203.0.113.8"}, "203.0.113.8"},
      {"garbage left of client is never read",
       &lb,
       "10.0.0.5",
       {"garbage, 203.0.113.7"},
       "203.0.113.7"},
      {"garbage reached: the peer", &lb, "10.0.0.5", {"203.0.113.7, unknown"}, "10.0.0.5"},
      {"garbage after trusted hops: the peer", &lb, "10.0.0.5", {"unknown, 10.0.0.9"}, "10.0.0.5"},
      {"empty elements skipped", &lb, "10.0.0.5", {"203.0.113.7, ,"}, "203.0.113.7"},
      {"empty lines skipped", &lb, "10.0.0.5", {"", "203.0.113.7", "", " "}, "203.0.113.7"},
      {"only empty elements: the peer", &lb, "10.0.0.5", {",, ,", ""}, "10.0.0.5"},
      {"all trusted after empties: left-most",
       &lb,
       "10.0.0.5",
       {",10.0.0.7,,10.0.0.8"},
       "10.0.0.7"},
      {"ports and brackets", &lb, "10.0.0.5", {"[2001:db8::7]:5555, 10.0.0.9:80"}, "2001:db8::7"},
      {"IPv4 with port", &lb, "10.0.0.5", {"203.0.113.7:41000"}, "203.0.113.7"},
      {"IPv6 peer", &lb, "fd00::1", {"2001:DB8::7"}, "2001:db8::7"},
      {"mapped peer and entry", &lb, "::ffff:10.0.0.5", {"::ffff:203.0.113.7"}, "203.0.113.7"},
      {"untrusted peer canonicalised", &none, "::ffff:198.51.100.1", {}, "198.51.100.1"},
      {"unparsable peer unchanged", &lb, "not-an-ip", {"203.0.113.7"}, "not-an-ip"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ResolveClientAddress(*c.trusted, c.peer, c.xff), c.want) << c.name;
  }
}

TEST(ResolveClientAddressTest, HopAndSizeCaps) {
  const TrustedProxies lb = Trust({"10.0.0.0/8"});
  // kMaxForwardedHops trusted entries and then the client: too deep, the peer.
  std::string chain = "203.0.113.7";
  for (int i = 0; i < kMaxForwardedHops; ++i) absl::StrAppend(&chain, ", 10.0.0.", i + 1);
  EXPECT_EQ(ResolveClientAddress(lb, "10.0.0.5", {chain}), "10.0.0.5");
  // One hop fewer: found.
  std::string ok_chain = "203.0.113.7";
  for (int i = 0; i < kMaxForwardedHops - 1; ++i) absl::StrAppend(&ok_chain, ", 10.0.0.", i + 1);
  EXPECT_EQ(ResolveClientAddress(lb, "10.0.0.5", {ok_chain}), "203.0.113.7");
  // Only the right end matters for depth: a long spoofed prefix is fine if under the byte cap.
  std::string spoofed;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&spoofed, "1.1.1.", i, ", ");
  absl::StrAppend(&spoofed, "203.0.113.7");
  EXPECT_EQ(ResolveClientAddress(lb, "10.0.0.5", {spoofed}), "203.0.113.7");
  // Over the byte cap: the peer.
  std::string huge(kMaxForwardedBytes, ' ');
  huge += "203.0.113.7";
  EXPECT_EQ(ResolveClientAddress(lb, "10.0.0.5", {huge}), "10.0.0.5");
  std::vector<absl::string_view> many(200, "10.0.0.1, 10.0.0.2");
  EXPECT_EQ(ResolveClientAddress(lb, "10.0.0.5", many), "10.0.0.5");
  // Empty elements do not count as hops.
  std::string sparse = "203.0.113.7";
  for (int i = 0; i < kMaxForwardedHops - 1; ++i) absl::StrAppend(&sparse, ",,, 10.0.0.", i + 1);
  EXPECT_EQ(ResolveClientAddress(lb, "10.0.0.5", {sparse}), "203.0.113.7");
}

// Issue 15 review: the client writes the left part of X-Forwarded-For, the balancer appends
// the client's real address on the right. An oversized left part must not turn the client into
// the balancer (whose address every other client shares): 21 such failed logins would block
// `addr:<balancer>` and so every client behind it, right secrets included.
TEST(ResolveClientAddressTest, AnOversizedSpoofedPrefixDoesNotMakeTheClientTheProxy) {
  const TrustedProxies lb = Trust({"10.0.0.0/8"});
  std::string spoofed(kMaxForwardedBytes + 100, '1');
  // One line: the client's header with the balancer's entry appended.
  EXPECT_EQ(ResolveClientAddress(lb, "10.0.0.5", {spoofed + ", 203.0.113.7"}), "203.0.113.7");
  // Two lines: the client's own line, then the balancer's.
  EXPECT_EQ(ResolveClientAddress(lb, "10.0.0.5", {spoofed, "203.0.113.7"}), "203.0.113.7");
  // Behind two trusted tiers as well.
  EXPECT_EQ(ResolveClientAddress(lb, "10.0.0.5", {spoofed + ", 203.0.113.7, 10.1.1.1"}),
            "203.0.113.7");
}

}  // namespace
}  // namespace registryauth::gateway
