#include "crypto/base64url.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace registryauth::crypto {
namespace {

TEST(Base64Url, Rfc4648Vectors) {
  // RFC 4648 §10, with the padding removed (RFC 7515 §2).
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  for (std::string_view plain : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto decoded = Base64UrlDecode(Base64UrlEncode(plain));
    ASSERT_TRUE(decoded.ok()) << plain;
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64Url, UsesTheUrlSafeAlphabet) {
  // 0xfb 0xff is "+/8=" in standard base64.
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  auto decoded = Base64UrlDecode("-_8");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "\xfb\xff");
}

TEST(Base64Url, Rfc7515HeaderExample) {
  // RFC 7515 §3.3 / A.1: {"typ":"JWT",\r\n "alg":"HS256"}
  EXPECT_EQ(Base64UrlEncode("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}"),
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9");
}

TEST(Base64Url, StrictDecodingRefusesNonCanonicalInput) {
  for (std::string_view bad : {
           "Zg==",      // padding
           "Zm8=",      // padding
           "Z",         // 4k+1 characters cannot hold whole bytes
           "Zm9vY",     // same
           "Zh",        // non-zero unused bits (canonical is "Zg")
           "Zm9",       // non-zero unused bits (canonical is "Zm8")
           "+/8",       // standard alphabet
           "Zm 9v",     // space
           "Zm9v\n",    // newline
           "Zm9v\r\n",  // CRLF
           "Zm.9",      // dot
           "\xc3\xa9",  // non-ASCII
       }) {
    auto decoded = Base64UrlDecode(bad);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(decoded.status().message(), "invalid base64url");
  }
  EXPECT_FALSE(Base64UrlDecode(std::string_view("Zm\0v", 4)).ok());
}

TEST(Base64Url, RoundTripsEveryLength) {
  std::mt19937 rng(7);
  for (std::size_t n = 0; n < 300; ++n) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    const std::string text = Base64UrlEncode(bytes);
    EXPECT_EQ(text.size(), (n * 4 + 2) / 3);
    EXPECT_EQ(text.find_first_of("=+/"), std::string::npos);
    auto decoded = Base64UrlDecode(text);
    ASSERT_TRUE(decoded.ok()) << n;
    EXPECT_EQ(*decoded, bytes);
  }
}

TEST(Base32, Rfc4648Vectors) {
  // RFC 4648 §10, padding removed.
  EXPECT_EQ(Base32EncodeNoPadding(""), "");
  EXPECT_EQ(Base32EncodeNoPadding("f"), "MY");
  EXPECT_EQ(Base32EncodeNoPadding("fo"), "MZXQ");
  EXPECT_EQ(Base32EncodeNoPadding("foo"), "MZXW6");
  EXPECT_EQ(Base32EncodeNoPadding("foob"), "MZXW6YQ");
  EXPECT_EQ(Base32EncodeNoPadding("fooba"), "MZXW6YTB");
  EXPECT_EQ(Base32EncodeNoPadding("foobar"), "MZXW6YTBOI");
  // 30 bytes -> exactly 48 characters (the libtrust key id).
  EXPECT_EQ(Base32EncodeNoPadding(std::string(30, '\xff')), std::string(48, '7'));
}

}  // namespace
}  // namespace registryauth::crypto
