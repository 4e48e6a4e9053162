#include "gateway/rest_util.h"

#include "gtest/gtest.h"

namespace registryauth::gateway {
namespace {

TEST(AppendJsonStringTest, EscapesBetweenPlainRuns) {
  std::string out = "x";
  AppendJsonString("", &out);
  EXPECT_EQ(out, "x\"\"");
  out.clear();
  AppendJsonString("ab\"c\\d\ne\rf\tg\x01h\x7f\xc3\xa9/", &out);
  EXPECT_EQ(out, "\"ab\\\"c\\\\d\\ne\\rf\\tg\\u0001h\\u007f\xc3\xa9/\"");
  out.clear();
  AppendJsonString("\"\"", &out);
  EXPECT_EQ(out, "\"\\\"\\\"\"");
  out.clear();
  AppendJsonString(std::string(3, '\0'), &out);
  EXPECT_EQ(out, "\"\\u0000\\u0000\\u0000\"");
}

TEST(PercentDecodeTest, DecodesEscapesAndPlus) {
  EXPECT_EQ(*PercentDecode("a%2Fb%20c+d", /*plus_as_space=*/true), "a/b c d");
  EXPECT_EQ(*PercentDecode("a+b", /*plus_as_space=*/false), "a+b");
  EXPECT_EQ(*PercentDecode("%e2%80%a6", false), "\xe2\x80\xa6");
  EXPECT_EQ(*PercentDecode("", false), "");
}

TEST(PercentDecodeTest, RejectsBadEscapesAndNonUtf8) {
  for (const char* bad : {"%", "%4", "a%zz", "%g0", "%ff", "%c0%af", "%ed%a0%80"}) {
    EXPECT_EQ(PercentDecode(bad, true).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ParseQueryStringTest, SplitsAndDecodes) {
  auto params = ParseQueryString("a=1&&b=x%3Dy&flag&c=");
  ASSERT_TRUE(params.ok());
  ASSERT_EQ(params->size(), 4u);
  EXPECT_EQ((*params)[0], std::make_pair(std::string("a"), std::string("1")));
  EXPECT_EQ((*params)[1], std::make_pair(std::string("b"), std::string("x=y")));
  EXPECT_EQ((*params)[2], std::make_pair(std::string("flag"), std::string("")));
  EXPECT_EQ((*params)[3], std::make_pair(std::string("c"), std::string("")));
  EXPECT_FALSE(ParseQueryString("a=%").ok());
  EXPECT_FALSE(ParseQueryString("%zz=1").ok());
}

TEST(IsValidUtf8Test, AcceptsAndRejects) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x9f\x98"));      // truncated
  EXPECT_FALSE(IsValidUtf8("\xc1\xbf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

TEST(GrpcMappingTest, StatusesAndNames) {
  EXPECT_EQ(HttpStatusFromGrpcCode(grpc::StatusCode::INVALID_ARGUMENT), 400);
  EXPECT_EQ(HttpStatusFromGrpcCode(grpc::StatusCode::FAILED_PRECONDITION), 400);
  EXPECT_EQ(HttpStatusFromGrpcCode(grpc::StatusCode::NOT_FOUND), 404);
  EXPECT_EQ(HttpStatusFromGrpcCode(grpc::StatusCode::ALREADY_EXISTS), 409);
  EXPECT_EQ(HttpStatusFromGrpcCode(grpc::StatusCode::ABORTED), 409);
  EXPECT_EQ(HttpStatusFromGrpcCode(grpc::StatusCode::PERMISSION_DENIED), 403);
  EXPECT_EQ(HttpStatusFromGrpcCode(grpc::StatusCode::UNAUTHENTICATED), 401);
  EXPECT_EQ(HttpStatusFromGrpcCode(grpc::StatusCode::UNAVAILABLE), 503);
  EXPECT_EQ(HttpStatusFromGrpcCode(grpc::StatusCode::UNIMPLEMENTED), 501);
  EXPECT_EQ(HttpStatusFromGrpcCode(grpc::StatusCode::DEADLINE_EXCEEDED), 504);
  EXPECT_EQ(HttpStatusFromGrpcCode(grpc::StatusCode::INTERNAL), 500);
  EXPECT_EQ(HttpStatusFromGrpcCode(static_cast<grpc::StatusCode>(99)), 500);
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::FAILED_PRECONDITION), "FAILED_PRECONDITION");
}

TEST(ErrorJsonTest, EscapesTheMessage) {
  EXPECT_EQ(ErrorJson(grpc::StatusCode::NOT_FOUND, "a \"b\"\\\n\x01"),
            R"({"code":5,"message":"a \"b\"\\\n\u0001","status":"NOT_FOUND"})");
  EXPECT_EQ(ErrorJson(grpc::StatusCode::INTERNAL, "\xff"),
            R"j({"code":13,"message":"(message is not valid UTF-8)","status":"INTERNAL"})j");
}

}  // namespace
}  // namespace registryauth::gateway
