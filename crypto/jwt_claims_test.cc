#include "crypto/jwt_claims.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace registryauth::crypto {
namespace {

using nlohmann::json;

json Parsed(const JwtClaims& claims) { return json::parse(claims.json()); }

TEST(JwtClaimsWriterTest, WritesTheTokenRealmsClaimsAsOneJsonObject) {
  const std::vector<std::string> actions = {"pull", "push"};
  JwtClaimsWriter w;
  w.String("iss", "registry-auth").String("sub", "acme+builder").String("aud", "registry.test");
  w.Integer("iat", 1800000000).Integer("nbf", 1800000000).Integer("exp", 1800000300);
  w.String("jti", "abc").BeginArray("access");
  w.BeginObject().String("type", "repository").String("name", "acme/web");
  w.StringArray("actions", actions).EndObject();
  w.BeginObject().String("type", "registry").String("name", "catalog");
  w.StringArray("actions", std::vector<std::string>{"*"}).EndObject();
  w.EndArray();
  absl::StatusOr<JwtClaims> claims = std::move(w).Finish();
  ASSERT_TRUE(claims.ok()) << claims.status();
  const json expected = {
      {"iss", "registry-auth"},
      {"sub", "acme+builder"},
      {"aud", "registry.test"},
      {"iat", 1800000000},
      {"nbf", 1800000000},
      {"exp", 1800000300},
      {"jti", "abc"},
      {"access",
       {{{"type", "repository"}, {"name", "acme/web"}, {"actions", {"pull", "push"}}},
        {{"type", "registry"}, {"name", "catalog"}, {"actions", {"*"}}}}}};
  EXPECT_EQ(Parsed(*claims), expected) << claims->json();
  EXPECT_EQ(claims->json().find(' '), std::string::npos);  // compact
}

TEST(JwtClaimsWriterTest, EmptyAccessAndNegativeIntegers) {
  JwtClaimsWriter w;
  w.Integer("exp", -5).BeginArray("access").EndArray();
  absl::StatusOr<JwtClaims> claims = std::move(w).Finish();
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->json(), R"({"exp":-5,"access":[]})");
}

TEST(JwtClaimsWriterTest, EscapesQuotesBackslashesAndControlCharacters) {
  const std::string tricky = std::string("a\"b\\c\nd\te\x01") + "\xc3\xa9";
  JwtClaimsWriter w;
  w.String("sub", tricky);
  absl::StatusOr<JwtClaims> claims = std::move(w).Finish();
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(Parsed(*claims)["sub"], tricky);
  EXPECT_EQ(claims->json(), R"({"sub":"a\"b\\c\nd\te\u0001é"})");
}

TEST(JwtClaimsWriterTest, InvalidUtf8IsRefusedWithoutQuotingIt) {
  JwtClaimsWriter w;
  w.String("sub", "secret\xff");
  absl::StatusOr<JwtClaims> claims = std::move(w).Finish();
  ASSERT_EQ(claims.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(claims.status().message(), "JWT claims are not valid UTF-8");

  JwtClaimsWriter in_array;
  in_array.StringArray("actions", std::vector<std::string>{"pull", "\xc3"});
  EXPECT_FALSE(std::move(in_array).Finish().ok());
}

TEST(JwtClaimsWriterTest, RegisteredClaimsOfTheWrongTypeAreRefused) {
  for (const char* name : {"exp", "nbf", "iat"}) {
    JwtClaimsWriter w;
    w.String(name, "1800000000");
    EXPECT_EQ(std::move(w).Finish().status().code(), absl::StatusCode::kInvalidArgument) << name;
    JwtClaimsWriter a;
    a.BeginArray(name).EndArray();
    EXPECT_FALSE(std::move(a).Finish().ok()) << name;
  }
  JwtClaimsWriter aud;
  aud.Integer("aud", 1);
  EXPECT_EQ(std::move(aud).Finish().status().message(), "JWT claim aud must be a single string");
  JwtClaimsWriter aud_array;
  aud_array.StringArray("aud", std::vector<std::string>{"a", "b"});
  EXPECT_FALSE(std::move(aud_array).Finish().ok());
  // Inside an access entry the names carry no registered meaning.
  JwtClaimsWriter nested;
  nested.BeginArray("access").BeginObject().String("exp", "x").EndObject().EndArray();
  EXPECT_TRUE(std::move(nested).Finish().ok());
}

TEST(JwtClaimsWriterTest, RepeatedNamesAreRefusedPerObject) {
  JwtClaimsWriter w;
  w.String("sub", "a").String("sub", "b");
  EXPECT_EQ(std::move(w).Finish().status().message(), "JWT claims repeat a member name");
  JwtClaimsWriter two_objects;  // the same names in two entries are fine
  two_objects.BeginArray("access");
  two_objects.BeginObject().String("type", "repository").EndObject();
  two_objects.BeginObject().String("type", "repository").EndObject();
  two_objects.EndArray();
  EXPECT_TRUE(std::move(two_objects).Finish().ok());
}

TEST(JwtClaimsWriterTest, NamesFromTemporariesAreCheckedAfterTheyAreGone) {
  JwtClaimsWriter w;
  for (int i = 0; i < 20; ++i) w.Integer(std::string("claim_number_") + std::to_string(i), i);
  w.Integer(std::string("claim_number_") + "7", 7);  // a repeat, named by a new temporary
  EXPECT_EQ(std::move(w).Finish().status().message(), "JWT claims repeat a member name");
}

TEST(JwtClaimsWriterTest, UnbalancedOrMisplacedPartsAreRefused) {
  JwtClaimsWriter open_array;
  open_array.BeginArray("access");
  EXPECT_FALSE(std::move(open_array).Finish().ok());
  JwtClaimsWriter open_object;
  open_object.BeginArray("access").BeginObject();
  EXPECT_FALSE(std::move(open_object).Finish().ok());
  JwtClaimsWriter stray_end;
  stray_end.EndArray();
  EXPECT_FALSE(std::move(stray_end).Finish().ok());
  JwtClaimsWriter stray_object_end;
  stray_object_end.EndObject();
  EXPECT_FALSE(std::move(stray_object_end).Finish().ok());
  JwtClaimsWriter object_at_top;
  object_at_top.BeginObject().EndObject();
  EXPECT_FALSE(std::move(object_at_top).Finish().ok());
  JwtClaimsWriter member_in_array;
  member_in_array.BeginArray("access").String("type", "x").EndArray();
  EXPECT_FALSE(std::move(member_in_array).Finish().ok());
}

}  // namespace
}  // namespace registryauth::crypto
