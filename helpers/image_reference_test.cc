#include "helpers/image_reference.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace registryauth::helpers {
namespace {

constexpr char kDigest[] =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(ParseImageReferenceTest, RegistryWithPortWorkspaceAppAndTag) {
  absl::StatusOr<ImageReference> ref = ParseImageReference("Registry.Example.com:5000/acme/web:v1");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->registry, "registry.example.com:5000");
  EXPECT_EQ(ref->path, "acme/web");
  EXPECT_EQ(ref->workspace, "acme");
  EXPECT_EQ(ref->app, "web");
  EXPECT_EQ(ref->tag, "v1");
  EXPECT_EQ(ref->digest, "");
  EXPECT_EQ(ref->Repository(), "registry.example.com:5000/acme/web");
}

TEST(ParseImageReferenceTest, DigestWithAndWithoutTag) {
  absl::StatusOr<ImageReference> ref =
      ParseImageReference(std::string("registry.test:5000/acme/web@") + kDigest);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->digest, kDigest);
  EXPECT_EQ(ref->tag, "");
  EXPECT_EQ(ref->app, "web");
  ref = ParseImageReference(std::string("registry.test/acme/web:1.2@") + kDigest);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->registry, "registry.test");
  EXPECT_EQ(ref->tag, "1.2");
  EXPECT_EQ(ref->digest, kDigest);
}

TEST(ParseImageReferenceTest, NoTagLocalhostAndIpv6) {
  absl::StatusOr<ImageReference> ref = ParseImageReference("localhost/acme/web");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->registry, "localhost");
  EXPECT_EQ(ref->tag, "");
  ref = ParseImageReference("[::1]:5000/acme/web:latest");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->registry, "[::1]:5000");
  EXPECT_EQ(ref->workspace, "acme");
}

TEST(ParseImageReferenceTest, NoRegistryHostMeansDockerHub) {
  absl::StatusOr<ImageReference> ref = ParseImageReference("library/nginx:1.25");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->registry, "docker.io");
  ref = ParseImageReference("nginx");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->registry, "docker.io");
  EXPECT_EQ(ref->path, "nginx");
  EXPECT_EQ(ref->workspace, "");
}

TEST(ParseImageReferenceTest, PathThatIsNotWorkspaceAppLeavesThemEmpty) {
  for (const char* input : {"registry.test/acme/team/web", "registry.test/web",
                            "registry.test/1acme/web", "registry.test/acme/web_1"}) {
    absl::StatusOr<ImageReference> ref = ParseImageReference(input);
    ASSERT_TRUE(ref.ok()) << input << ": " << ref.status();
    EXPECT_EQ(ref->workspace, "") << input;
    EXPECT_EQ(ref->app, "") << input;
    EXPECT_FALSE(ref->path.empty()) << input;
  }
}

TEST(ParseImageReferenceTest, BadInputIsRefused) {
  for (const char* input : {
           "",
           "registry.test/",
           "registry.test//web",
           "registry.test/acme/web:",
           "registry.test/acme/web:-bad",
           "registry.test/acme/web@sha256:short",
           "registry.test/acme/web@sha256:ZZ23456789abcdef0123456789abcdef",
           "registry.test:99999/acme/web",
           "registry.test:/acme/web",
           "-registry.test/acme/web",
           "registry.test/Acme/web",
           "registry.test/acme/web tag",
           "registry.test/acme/web\n",
           "registry.test/acme/web\x01",
           "registry.test/acme/caf\xc3\xa9",
           "[::1/acme/web",
       }) {
    absl::StatusOr<ImageReference> ref = ParseImageReference(input);
    EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument) << "input: " << input;
  }
}

TEST(ParseImageReferenceTest, HugeInputIsRefusedWithoutEchoingIt) {
  std::string huge = "registry.test/acme/" + std::string(1 << 20, 'a');
  absl::StatusOr<ImageReference> ref = ParseImageReference(huge);
  EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(ref.status().message().size(), 100u);
}

TEST(ParseServerUrlTest, BareHostSchemesAndV2) {
  for (const char* input :
       {"registry.test:5000", "https://registry.test:5000", "http://registry.test:5000/",
        "https://REGISTRY.test:5000/v2/", "registry.test:5000/v1/"}) {
    absl::StatusOr<ImageReference> ref = ParseServerUrl(input);
    ASSERT_TRUE(ref.ok()) << input << ": " << ref.status();
    EXPECT_EQ(ref->registry, "registry.test:5000") << input;
    EXPECT_EQ(ref->path, "") << input;
  }
}

TEST(ParseServerUrlTest, PathNamesTheApp) {
  absl::StatusOr<ImageReference> ref = ParseServerUrl("registry.test:5000/acme/web");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->workspace, "acme");
  EXPECT_EQ(ref->app, "web");
  ref = ParseServerUrl("https://registry.test:5000/v2/acme/web/");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->workspace, "acme");
}

TEST(ParseServerUrlTest, BadInputIsRefused) {
  for (const char* input :
       {"", "https://", "user@registry.test", "registry.test/?x=1", "registry.test/#f",
        "registry.test:0", "registry test", "ftp://registry.test"}) {
    EXPECT_EQ(ParseServerUrl(input).status().code(), absl::StatusCode::kInvalidArgument)
        << "input: " << input;
  }
  EXPECT_EQ(ParseServerUrl(std::string(5000, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(IsValidResourceIdTest, FollowsTheServiceRule) {
  EXPECT_TRUE(IsValidResourceId("acme"));
  EXPECT_TRUE(IsValidResourceId("a-1"));
  EXPECT_FALSE(IsValidResourceId(""));
  EXPECT_FALSE(IsValidResourceId("1a"));
  EXPECT_FALSE(IsValidResourceId("a-"));
  EXPECT_FALSE(IsValidResourceId("A"));
  EXPECT_FALSE(IsValidResourceId(std::string(64, 'a')));
  EXPECT_TRUE(IsValidResourceId(std::string(63, 'a')));
}

}  // namespace
}  // namespace registryauth::helpers
