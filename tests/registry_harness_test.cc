// Proves the real-registry harness (tests/support: oci_image, skopeo, distribution_registry,
// stub_http_server) against Debian's docker-registry and skopeo, before any token realm of ours
// is involved: images built by hand go in and come back byte for byte, missing tags and
// refusals are reported as such, and token auth sends clients to the configured realm.
//
// Skips without docker-registry or skopeo, unless REGAUTH_REQUIRE_REGISTRY=1 (./test.sh).
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/distribution_registry.h"
#include "tests/support/oci_image.h"
#include "tests/support/skopeo.h"
#include "tests/support/stub_http_server.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace registryauth::testing {
namespace {

class RegistryHarnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_REGISTRY_TOOLS();
    absl::StatusOr<std::unique_ptr<Skopeo>> skopeo = Skopeo::Create(absl::Seconds(30));
    ASSERT_TRUE(skopeo.ok()) << skopeo.status();
    skopeo_ = *std::move(skopeo);
  }

  // A fresh, not yet existing directory path for an OCI layout.
  static std::string LayoutDir(const std::string& name) {
    absl::StatusOr<std::string> dir = MakeTempDir("layouts");
    EXPECT_TRUE(dir.ok()) << dir.status();
    return absl::StrCat(dir.ok() ? *dir : "/nonexistent", "/", name);
  }

  static OciImage BuildImage(const std::string& seed, const std::string& tag, int layers) {
    OciImageSpec spec;
    spec.seed = seed;
    spec.tag = tag;
    spec.layer_count = layers;
    absl::StatusOr<OciImage> image = WriteOciImage(LayoutDir(seed), spec);
    EXPECT_TRUE(image.ok()) << image.status();
    return image.ok() ? *std::move(image) : OciImage();
  }

  // Pushes `image` to `repository:tag`, pulls it into a new layout and checks both copies are
  // the same bytes.
  void PushAndPullBack(DistributionRegistry& registry, const OciImage& image,
                       const std::string& repository) {
    const std::string remote = registry.Reference(repository, image.tag);
    SkopeoResult push = skopeo_->Copy(image.Reference(), remote);
    ASSERT_TRUE(push.ok()) << push.Describe() << "\nregistry log:\n" << registry.Logs();
    EXPECT_EQ(push.failure, SkopeoFailure::kNone);

    // What the registry serves is our manifest, unchanged.
    SkopeoResult raw = skopeo_->Inspect(remote, std::nullopt, /*raw=*/true);
    ASSERT_TRUE(raw.ok()) << raw.Describe();
    EXPECT_EQ(raw.stdout_text, image.manifest.bytes);

    const std::string pulled_dir = LayoutDir(
        absl::StrCat("pulled-", repository.size(), "-", image.manifest.digest.substr(7, 12)));
    SkopeoResult pull = skopeo_->Copy(remote, absl::StrCat("oci:", pulled_dir, ":", image.tag));
    ASSERT_TRUE(pull.ok()) << pull.Describe() << "\nregistry log:\n" << registry.Logs();
    absl::StatusOr<OciImage> pulled = ReadOciImage(pulled_dir, image.tag);
    ASSERT_TRUE(pulled.ok()) << pulled.status();
    EXPECT_EQ(DescribeOciDifference(image, *pulled), "");
    EXPECT_EQ(pulled->manifest.digest, image.manifest.digest);
    EXPECT_EQ(pulled->diff_ids, image.diff_ids);
  }

  std::unique_ptr<Skopeo> skopeo_;
};

TEST_F(RegistryHarnessTest, PushAndPullBackByteForByteWithoutAuth) {
  absl::StatusOr<std::unique_ptr<DistributionRegistry>> registry = DistributionRegistry::Start();
  ASSERT_TRUE(registry.ok()) << registry.status();
  absl::StatusOr<RegistryProbe> probe = (*registry)->ProbeV2();
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_EQ(probe->status, 200);
  EXPECT_EQ(probe->api_version, "registry/2.0");
  EXPECT_EQ(probe->www_authenticate, "");

  const OciImage web = BuildImage("acme-web-v1", "v1", 2);
  const OciImage api = BuildImage("acme-api-v7", "v7", 1);
  ASSERT_NE(web.manifest.digest, api.manifest.digest);
  PushAndPullBack(**registry, web, "acme/web");
  PushAndPullBack(**registry, api, "acme/api");

  // Each repository holds its own image: acme/api has no v1, acme/web no v7.
  absl::StatusOr<std::string> out = MakeTempDir("missing");
  ASSERT_TRUE(out.ok());
  for (const auto& [repository, tag] : {std::pair<std::string, std::string>{"acme/web", "v7"},
                                        {"acme/api", "v1"},
                                        {"acme/nothing", "latest"}}) {
    SkopeoResult missing = skopeo_->Copy((*registry)->Reference(repository, tag),
                                         absl::StrCat("oci:", *out, "/", tag, ":", tag));
    EXPECT_FALSE(missing.ok()) << missing.Describe();
    EXPECT_EQ(missing.failure, SkopeoFailure::kNotFound) << missing.Describe();
    EXPECT_FALSE(missing.refused());
  }
  // The registry saw the pushes (its access log is kept for failure messages).
  EXPECT_TRUE(absl::StrContains((*registry)->Logs(), "/v2/acme/web/manifests/v1"));
}

TEST_F(RegistryHarnessTest, TokenAuthChallengesAndTheRealmRefusal) {
  absl::StatusOr<std::unique_ptr<StubHttpServer>> realm = StubHttpServer::Start(
      401, R"({"errors":[{"code":"UNAUTHORIZED","message":"invalid credentials"}]})");
  ASSERT_TRUE(realm.ok()) << realm.status();
  absl::StatusOr<TestPki> pki = TestPki::Create("registry-auth token signer");
  ASSERT_TRUE(pki.ok()) << pki.status();

  RegistryOptions options;
  options.token_auth = TokenAuthConfig{(*realm)->Url("/token"), "registry.test",
                                       "registry-auth-test", pki->ca().cert_pem};
  absl::StatusOr<std::unique_ptr<DistributionRegistry>> registry =
      DistributionRegistry::Start(options);
  ASSERT_TRUE(registry.ok()) << registry.status();
  absl::StatusOr<std::string> config = ReadFile((*registry)->config_path());
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(absl::StrContains(*config, "issuer: \"registry-auth-test\"")) << *config;

  absl::StatusOr<RegistryProbe> probe = (*registry)->ProbeV2();
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_EQ(probe->status, 401);
  EXPECT_EQ(probe->www_authenticate, absl::StrCat("Bearer realm=\"", (*realm)->Url("/token"),
                                                  "\",service=\"registry.test\""));
  EXPECT_TRUE(absl::StrContains(probe->body, "UNAUTHORIZED")) << probe->body;

  // A push with credentials: skopeo asks the realm for a push+pull token with HTTP basic auth,
  // the realm says 401, the push is refused.
  const std::string password = "s3cret-Passw0rd-for-the-test";
  const OciImage image = BuildImage("acme-web-v1", "v1", 1);
  SkopeoCopyOptions push;
  push.dest_creds = RegistryCredentials{"ci-bot", password};
  SkopeoResult refused =
      skopeo_->Copy(image.Reference(), (*registry)->Reference("acme/web", "v1"), push);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.failure, SkopeoFailure::kUnauthorized) << refused.Describe();
  EXPECT_TRUE(refused.refused());
  EXPECT_TRUE(absl::StrContains(refused.stderr_text, "unable to retrieve auth token"))
      << refused.Describe();
  // The password never shows, not even in the command line.
  EXPECT_FALSE(absl::StrContains(refused.Describe(), password));
  EXPECT_TRUE(absl::StrContains(refused.command, "--dest-creds ci-bot:<redacted>"))
      << refused.command;

  std::vector<RecordedRequest> asked = (*realm)->requests();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].method, "GET");
  EXPECT_EQ(asked[0].path, "/token");
  EXPECT_EQ(asked[0].query["service"], "registry.test");
  EXPECT_EQ(asked[0].query["account"], "ci-bot");
  EXPECT_EQ(asked[0].scopes, std::vector<std::string>{"repository:acme/web:pull,push"});
  EXPECT_EQ(asked[0].headers["authorization"],
            absl::StrCat("Basic ", absl::Base64Escape(absl::StrCat("ci-bot:", password))));

  // An anonymous pull asks for a pull-only token, without account or Authorization.
  absl::StatusOr<std::string> out = MakeTempDir("anonymous");
  ASSERT_TRUE(out.ok());
  SkopeoResult anonymous = skopeo_->Copy((*registry)->Reference("acme/web", "v1"),
                                         absl::StrCat("oci:", *out, "/img:v1"));
  EXPECT_EQ(anonymous.failure, SkopeoFailure::kUnauthorized) << anonymous.Describe();
  asked = (*realm)->requests();
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[1].scopes, std::vector<std::string>{"repository:acme/web:pull"});
  EXPECT_EQ(asked[1].query.count("account"), 0u);
  EXPECT_EQ(asked[1].headers.count("authorization"), 0u);
}

TEST_F(RegistryHarnessTest, RealmNotListeningIsAConnectionErrorNotARefusal) {
  absl::StatusOr<int> dead_port = PickFreeLoopbackPort();
  ASSERT_TRUE(dead_port.ok());
  absl::StatusOr<TestPki> pki = TestPki::Create();
  ASSERT_TRUE(pki.ok());
  RegistryOptions options;
  const std::string realm_url = absl::StrCat("http://127.0.0.1:", *dead_port, "/token");
  options.token_auth =
      TokenAuthConfig{realm_url, "registry.test", "registry-auth-test", pki->ca().cert_pem};
  absl::StatusOr<std::unique_ptr<DistributionRegistry>> registry =
      DistributionRegistry::Start(options);
  ASSERT_TRUE(registry.ok()) << registry.status();

  const OciImage image = BuildImage("acme-web-v2", "v2", 1);
  SkopeoCopyOptions push;
  push.dest_creds = RegistryCredentials{"ci-bot", "pw-never-shown"};
  SkopeoResult result =
      skopeo_->Copy(image.Reference(), (*registry)->Reference("acme/web", "v2"), push);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failure, SkopeoFailure::kConnection) << result.Describe();
  EXPECT_FALSE(result.refused());
  EXPECT_TRUE(absl::StrContains(result.stderr_text, absl::StrCat("127.0.0.1:", *dead_port)))
      << result.Describe();
}

TEST_F(RegistryHarnessTest, RestartChangesAuthAndKeepsPortAndImages) {
  absl::StatusOr<std::unique_ptr<DistributionRegistry>> registry = DistributionRegistry::Start();
  ASSERT_TRUE(registry.ok()) << registry.status();
  const int port = (*registry)->port();
  const OciImage image = BuildImage("kept-across-restarts", "v1", 1);
  SkopeoResult push = skopeo_->Copy(image.Reference(), (*registry)->Reference("acme/kept", "v1"));
  ASSERT_TRUE(push.ok()) << push.Describe();

  // Token auth with one bundle, then with another service name and bundle.
  absl::StatusOr<TestPki> first = TestPki::Create("first signer");
  absl::StatusOr<TestPki> second = TestPki::Create("second signer");
  ASSERT_TRUE(first.ok() && second.ok());
  RegistryOptions options;
  options.token_auth = TokenAuthConfig{"http://127.0.0.1:9/token", "service-one", "issuer-one",
                                       first->ca().cert_pem};
  ASSERT_TRUE((*registry)->Restart(options).ok()) << (*registry)->Logs();
  EXPECT_EQ((*registry)->port(), port);
  absl::StatusOr<std::string> bundle =
      ReadFile(absl::StrCat((*registry)->dir(), "/token-rootcerts.pem"));
  ASSERT_TRUE(bundle.ok());
  EXPECT_EQ(*bundle, first->ca().cert_pem);

  options.token_auth = TokenAuthConfig{"http://127.0.0.1:9/token", "service-two", "issuer-two",
                                       second->ca().cert_pem};
  ASSERT_TRUE((*registry)->Restart(options).ok()) << (*registry)->Logs();
  absl::StatusOr<RegistryProbe> probe = (*registry)->ProbeV2();
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_EQ(probe->status, 401);
  EXPECT_TRUE(absl::StrContains(probe->www_authenticate, "service=\"service-two\""))
      << probe->www_authenticate;
  bundle = ReadFile(absl::StrCat((*registry)->dir(), "/token-rootcerts.pem"));
  ASSERT_TRUE(bundle.ok());
  EXPECT_EQ(*bundle, second->ca().cert_pem);

  // Back to no auth: the image pushed before the restarts is still there.
  ASSERT_TRUE((*registry)->Restart(RegistryOptions()).ok()) << (*registry)->Logs();
  EXPECT_EQ((*registry)->port(), port);
  SkopeoResult raw = skopeo_->Inspect((*registry)->Reference("acme/kept", "v1"), std::nullopt,
                                      /*raw=*/true);
  ASSERT_TRUE(raw.ok()) << raw.Describe();
  EXPECT_EQ(raw.stdout_text, image.manifest.bytes);
}

TEST_F(RegistryHarnessTest, StartFailureCarriesTheRegistryLog) {
  // Distribution refuses token auth without a signing certificate; the error says why.
  RegistryOptions options;
  options.token_auth = TokenAuthConfig{"http://127.0.0.1:9/token", "s", "i", ""};
  options.start_timeout = absl::Seconds(10);
  absl::StatusOr<std::unique_ptr<DistributionRegistry>> registry =
      DistributionRegistry::Start(options);
  ASSERT_FALSE(registry.ok());
  EXPECT_EQ(registry.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(registry.status().message(), "exited")) << registry.status();
  EXPECT_TRUE(absl::StrContains(registry.status().message(), "certificate")) << registry.status();
}

TEST_F(RegistryHarnessTest, SkopeoReadsOnlyItsPrivateConfiguration) {
  absl::StatusOr<std::unique_ptr<DistributionRegistry>> registry = DistributionRegistry::Start();
  ASSERT_TRUE(registry.ok()) << registry.status();
  const OciImage image = BuildImage("isolation", "v1", 1);
  skopeo_->set_debug(true);  // --debug logs which files skopeo reads
  SkopeoResult push = skopeo_->Copy(image.Reference(), (*registry)->Reference("acme/iso", "v1"));
  ASSERT_TRUE(push.ok()) << push.Describe();
  const std::string& log = push.stderr_text;
  const std::string dir = skopeo_->dir();
  EXPECT_TRUE(absl::StrContains(log, absl::StrCat("registries configuration \\\"", dir,
                                                  "/home/.config/containers/registries.conf\\\"")))
      << log;
  EXPECT_TRUE(absl::StrContains(log, absl::StrCat("Using registries.d directory ", dir))) << log;
  EXPECT_TRUE(absl::StrContains(log, absl::StrCat("Using blob info cache at ", dir))) << log;
  EXPECT_TRUE(absl::StrContains(log, absl::StrCat("certificates and private keys in ", dir)))
      << log;
  EXPECT_FALSE(absl::StrContains(log, "/etc/containers")) << log;
  EXPECT_FALSE(absl::StrContains(log, "/etc/docker")) << log;
  EXPECT_FALSE(absl::StrContains(log, "/var/lib/containers")) << log;
}

TEST(RegistryToolsTest, BinaryOverrideThatDoesNotExistIsNotFound) {
  const char* saved = std::getenv(DistributionRegistry::kBinaryEnv);
  const std::string previous = saved != nullptr ? saved : "";
  setenv(DistributionRegistry::kBinaryEnv, "/nonexistent/docker-registry", 1);
  EXPECT_EQ(DistributionRegistry::FindBinary().status().code(), absl::StatusCode::kNotFound);
  const RegistryToolsAvailability tools = GetRegistryToolsAvailability();
  EXPECT_FALSE(tools.available);
  EXPECT_TRUE(absl::StrContains(tools.problem, "/nonexistent/docker-registry")) << tools.problem;
  if (saved != nullptr) {
    setenv(DistributionRegistry::kBinaryEnv, previous.c_str(), 1);
  } else {
    unsetenv(DistributionRegistry::kBinaryEnv);
  }
}

}  // namespace
}  // namespace registryauth::testing
