// Classification of skopeo's error messages. The messages are the ones skopeo 1.9.3 printed
// against docker-registry 2.8.2 in the situations named (see registry_harness_test for the
// live versions).
#include "tests/support/skopeo.h"

#include "gtest/gtest.h"

namespace registryauth::testing {
namespace {

TEST(ClassifySkopeoErrorTest, RealMessages) {
  // Token realm answered 401 to the basic-auth token request.
  EXPECT_EQ(
      ClassifySkopeoError(
          R"x(time="..." level=fatal msg="trying to reuse blob sha256:1e93cf090ac787e2248b4e962d9496cd6ac868a58825a9ee0e318221969db529 at destination: unable to retrieve auth token: invalid username/password: unauthorized: nope")x"),
      SkopeoFailure::kUnauthorized);
  // Registry refused the bearer token.
  EXPECT_EQ(ClassifySkopeoError(
                "time=\"...\" level=fatal msg=\"Error parsing image name "
                "\\\"docker://127.0.0.1:16002/acme/web:v1\\\": reading manifest v1 in "
                "127.0.0.1:16002/acme/web: errors:\\nunauthorized: authentication required\\n\""),
            SkopeoFailure::kUnauthorized);
  // Realm not listening.
  EXPECT_EQ(
      ClassifySkopeoError(
          R"x(time="..." level=fatal msg="trying to reuse blob sha256:1e93 at destination: Get \"http://127.0.0.1:1/token?account=u&scope=repository%3Aacme%2Fweb%3Apull%2Cpush&service=test-registry\": dial tcp 127.0.0.1:1: connect: connection refused")x"),
      SkopeoFailure::kConnection);
  // Tag missing.
  EXPECT_EQ(
      ClassifySkopeoError(
          R"x(time="..." level=fatal msg="initializing source docker://127.0.0.1:15000/acme/web:nope: reading manifest nope in 127.0.0.1:15000/acme/web: manifest unknown: manifest unknown")x"),
      SkopeoFailure::kNotFound);
  EXPECT_EQ(
      ClassifySkopeoError(
          R"x(level=fatal msg="writing manifest: uploading manifest v1 to 127.0.0.1:5000/acme/web: denied: requested access to the resource is denied")x"),
      SkopeoFailure::kDenied);
  EXPECT_EQ(
      ClassifySkopeoError(
          R"x(level=fatal msg="Requesting bearer token: invalid status code from registry 403 (Forbidden)")x"),
      SkopeoFailure::kDenied);
}

TEST(ClassifySkopeoErrorTest, DigestsAreNotStatusCodesAndOnlyTheFatalLineCounts) {
  EXPECT_EQ(ClassifySkopeoError(
                R"x(level=fatal msg="copying blob sha256:0401403404aa: something odd happened")x"),
            SkopeoFailure::kOther);
  // --debug output mentions a 401 ping before the real (fatal) problem.
  EXPECT_EQ(ClassifySkopeoError("level=debug msg=\"Ping http://127.0.0.1:1/v2/ status 401\"\n"
                                "level=fatal msg=\"manifest unknown: manifest unknown\""),
            SkopeoFailure::kNotFound);
  EXPECT_EQ(ClassifySkopeoError(""), SkopeoFailure::kOther);
}

TEST(SkopeoResultTest, RefusedAndDescribe) {
  SkopeoResult r;
  r.exit_code = 1;
  r.command = "skopeo copy --dest-creds bot:<redacted> a b";
  r.failure = SkopeoFailure::kUnauthorized;
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.refused());
  r.failure = SkopeoFailure::kDenied;
  EXPECT_TRUE(r.refused());
  r.failure = SkopeoFailure::kConnection;
  EXPECT_FALSE(r.refused());
  EXPECT_NE(r.Describe().find("failure: connection"), std::string::npos) << r.Describe();
  EXPECT_EQ(SkopeoFailureName(SkopeoFailure::kNotFound), "not found");
}

}  // namespace
}  // namespace registryauth::testing
