#include "common/grpc_code_name.h"

#include "gtest/gtest.h"

namespace registryauth {
namespace {

TEST(GrpcCodeNameTest, EveryCanonicalCodeByItsEnumName) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::INVALID_ARGUMENT), "INVALID_ARGUMENT");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::FAILED_PRECONDITION), "FAILED_PRECONDITION");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::DATA_LOSS), "DATA_LOSS");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  for (int i = 0; i <= 16; ++i) {
    EXPECT_FALSE(GrpcCodeName(static_cast<grpc::StatusCode>(i)).empty()) << i;
  }
}

TEST(GrpcCodeNameTest, NonCanonicalValues) {
  // 17..31 and negative values fit grpc::StatusCode without being codes.
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(17)), "");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(-1)), "");
  EXPECT_EQ(GrpcCodeNameOrUnknown(static_cast<grpc::StatusCode>(20)), "UNKNOWN");
  EXPECT_EQ(GrpcCodeNameOrUnknown(grpc::StatusCode::ABORTED), "ABORTED");
}

}  // namespace
}  // namespace registryauth
