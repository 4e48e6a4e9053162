#include "realm/basic_auth.h"

#include <string>

#include "gtest/gtest.h"

namespace registryauth::realm {
namespace {

TEST(BasicAuthTest, ParsesWhatClientsSend) {
  // RFC 7617 section 2's example: Aladdin / open sesame.
  absl::StatusOr<BasicCredentials> c =
      ParseBasicAuthorization("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->username, "Aladdin");
  EXPECT_EQ(c->password.view(), "open sesame");
  // Scheme case-insensitive; several spaces; a password with ':' in it.
  // "sa:x:p" splits at the first ':' (RFC 7617: no ':' in user ids) -> "sa" / "x:p".
  c = ParseBasicAuthorization("bAsIc   " + FormatBasicAuthorization("sa:x", "p").substr(6));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->username, "sa");
  EXPECT_EQ(c->password.view(), "x:p");
  c = ParseBasicAuthorization(FormatBasicAuthorization("robot", "pa:ss:word"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->username, "robot");
  EXPECT_EQ(c->password.view(), "pa:ss:word");
}

TEST(BasicAuthTest, FormatRoundTripsEveryPaddingLength) {
  for (const std::string& pw :
       {std::string("a"), std::string("ab"), std::string("abc"), std::string("abcd"),
        std::string(200, 'z'), std::string("\xff\x00\x01", 3)}) {
    std::string header = FormatBasicAuthorization("u", pw);
    absl::StatusOr<BasicCredentials> c = ParseBasicAuthorization(header);
    ASSERT_TRUE(c.ok()) << header;
    EXPECT_EQ(c->password.view(), pw);
  }
  EXPECT_EQ(FormatBasicAuthorization("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(BasicAuthTest, RefusesMalformedHeaders) {
  for (const char* bad : {
           "", "Basic", "Basic ", "Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
           "BasicQWxhZGRpbjpvcGVuIHNlc2FtZQ==",       // no space
           "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ",        // padding missing
           "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=",       // wrong padding
           "Basic QWxhZGRp bjpvcGVuIHNlc2FtZQ==",     // space inside
           "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n",  // control characters
           "Basic QWxh=GRpbjpvcGVuIHNlc2FtZQ==",      // '=' inside
           "Basic QWxhZGRpbjpvcGVuIHNlc2FtZR==",      // non-canonical (bits under padding)
           "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ-_",      // URL-safe alphabet
           "Basic b3BlbnNlc2FtZQ==",                  // "opensesame": no ':'
           "Basic Om9wZW4=",                          // ":open": empty user
           "Basic dXNlcjo=",                          // "user:": empty password
           "Basic dQF6cA==",                          // "u\x01:p": control char in user
       }) {
    absl::StatusOr<BasicCredentials> c = ParseBasicAuthorization(bad);
    EXPECT_FALSE(c.ok()) << "accepted: " << bad;
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << bad;
      EXPECT_EQ(c.status().message().find("QWxh"), std::string::npos);
    }
  }
  EXPECT_FALSE(ParseBasicAuthorization("Basic " + std::string(5000, 'A')).ok());
  EXPECT_FALSE(ParseBasicAuthorization(FormatBasicAuthorization(std::string(257, 'u'), "p")).ok());
  EXPECT_TRUE(ParseBasicAuthorization(FormatBasicAuthorization(std::string(256, 'u'), "p")).ok());
}

TEST(BasicAuthTest, ErrorsNeverContainThePassword) {
  absl::StatusOr<BasicCredentials> c =
      ParseBasicAuthorization(FormatBasicAuthorization("\x01", "hunter2-secret"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace registryauth::realm
