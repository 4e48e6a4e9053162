#include "helpers/credential_helper.h"

#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "helpers/token_cache.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_files.h"

namespace registryauth::helpers {
namespace {

using ::registryauth::testing::NewTestDir;

constexpr char kPassword[] = "minted-password-do-not-log";

// The exact bytes a v1 kubelet writes on the plugin's stdin (json.Marshal of
// credentialprovider/v1.CredentialProviderRequest: TypeMeta's kind and apiVersion, then image).
constexpr char kKubeletRequest[] =
    "{\"kind\":\"CredentialProviderRequest\","
    "\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1\","
    "\"image\":\"registry.test:5000/acme/web:v1\"}\n";

// Counts calls and answers what the test set.
struct FakeMinter {
  int calls = 0;
  std::string last_workspace;
  std::string last_app;
  absl::Duration last_ttl;
  absl::Status error;
  absl::Duration lifetime = absl::Hours(1);
};

class CredentialHelperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTestDir("helper");
    WriteConfig("");
  }

  void WriteConfig(const std::string& extra) {
    config_path_ = dir_ + "/helper.conf";
    std::ofstream out(config_path_, std::ios::trunc);
    out << "address 127.0.0.1:1\n"
        << "registry registry.test:5000\n"
        << "cache_dir " << dir_ << "/cache\n"
        << extra;
  }

  struct Result {
    int exit_code;
    std::string out;
    std::string err;
  };

  Result Run(const std::string& argv0, std::vector<std::string> args, const std::string& input) {
    std::istringstream in(input);
    std::ostringstream out;
    std::ostringstream err;
    args.push_back("--config=" + config_path_);
    HelperIo io{&in, &out, &err, [](const std::string&) { return std::nullopt; }};
    HelperDeps deps{
        &clock_, [this](const HelperConfig&) -> absl::StatusOr<std::unique_ptr<PullTokenMinter>> {
          return std::unique_ptr<PullTokenMinter>(new Minter(minter_, clock_));
        }};
    int code = RunCredentialHelper(argv0, args, io, deps);
    EXPECT_EQ(err.str().find(kPassword), std::string::npos) << "the secret reached stderr";
    return {code, out.str(), err.str()};
  }

  Result Kubelet(const std::string& input) {
    return Run("/usr/local/bin/regauth-credential-helper", {"kubelet"}, input);
  }
  Result DockerGet(const std::string& server_url) {
    return Run("/usr/local/bin/docker-credential-regauth", {"get"}, server_url);
  }

  class Minter final : public PullTokenMinter {
   public:
    Minter(FakeMinter& state, const Clock& clock) : state_(state), clock_(clock) {}
    absl::StatusOr<CachedToken> Mint(const std::string& workspace, const std::string& app,
                                     absl::Duration ttl) override {
      ++state_.calls;
      state_.last_workspace = workspace;
      state_.last_app = app;
      state_.last_ttl = ttl;
      if (!state_.error.ok()) return state_.error;
      CachedToken t;
      t.username = absl::StrCat("pull+token", state_.calls);
      t.password = SecretString(kPassword);
      t.registry = "registry.test:5000";
      t.expire_time = clock_.Now() + state_.lifetime;
      return t;
    }

   private:
    FakeMinter& state_;
    const Clock& clock_;
  };

  FakeClock clock_{absl::FromUnixSeconds(1800000000)};
  FakeMinter minter_;
  std::string dir_;
  std::string config_path_;
};

TEST_F(CredentialHelperTest, KubeletAnswersTheV1ResponseType) {
  Result r = Kubelet(kKubeletRequest);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  // Exactly the fields of credentialprovider/v1.CredentialProviderResponse.
  EXPECT_EQ(j.size(), 5u) << r.out;
  EXPECT_EQ(j["apiVersion"], "credentialprovider.kubelet.k8s.io/v1");
  EXPECT_EQ(j["kind"], "CredentialProviderResponse");
  EXPECT_EQ(j["cacheKeyType"], "Image");
  // 1 h token, served until 5 min before expiry.
  EXPECT_EQ(j["cacheDuration"], "3300s");
  ASSERT_TRUE(j["auth"].is_object());
  EXPECT_EQ(j["auth"].size(), 1u);
  const nlohmann::json& auth = j["auth"]["registry.test:5000/acme/web"];
  EXPECT_EQ(auth, (nlohmann::json{{"username", "pull+token1"}, {"password", kPassword}}));
  EXPECT_EQ(minter_.last_workspace, "acme");
  EXPECT_EQ(minter_.last_app, "web");
  EXPECT_EQ(minter_.last_ttl, absl::Hours(1));
  EXPECT_EQ(r.err, "");
}

TEST_F(CredentialHelperTest, KubeletIgnoresNewerFieldsAndTakesDigests) {
  Result r = Kubelet(
      "{\"kind\":\"CredentialProviderRequest\",\"apiVersion\":"
      "\"credentialprovider.kubelet.k8s.io/v1\",\"image\":\"registry.test:5000/acme/api@sha256:"
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
      "\"serviceAccountToken\":\"sa-token-not-for-logs\",\"serviceAccountAnnotations\":{}}");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(minter_.last_app, "api");
  EXPECT_EQ(r.err.find("sa-token-not-for-logs"), std::string::npos);
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j["auth"].contains("registry.test:5000/acme/api")) << r.out;
}

TEST_F(CredentialHelperTest, SecondCallWithinTheCacheWindowDoesNotMint) {
  ASSERT_EQ(Kubelet(kKubeletRequest).exit_code, 0);
  clock_.Advance(absl::Minutes(30));
  Result r = Kubelet(kKubeletRequest);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(minter_.calls, 1);
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(j["cacheDuration"], "1500s");  // what is left of the cached token's window
  EXPECT_EQ(j["auth"]["registry.test:5000/acme/web"]["username"], "pull+token1");
  // The docker protocol shares the cache.
  ASSERT_EQ(DockerGet("registry.test:5000/acme/web").exit_code, 0);
  EXPECT_EQ(minter_.calls, 1);
  clock_.Advance(absl::Minutes(25));  // 5 min left: refresh
  r = Kubelet(kKubeletRequest);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(minter_.calls, 2);
  j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(j["auth"]["registry.test:5000/acme/web"]["username"], "pull+token2");
}

// Security row 33r: a cached token is served only to the service and registry host it was
// minted for. Two configs sharing one cache_dir (say prod and staging, both run by root) must
// not hand staging's registry the token prod's service minted, nor a second registry host of
// one config a token minted while pulling from the first.
TEST_F(CredentialHelperTest, CachedTokenIsNotServedToAnotherServiceOrRegistryHost) {
  ASSERT_EQ(Kubelet(kKubeletRequest).exit_code, 0);
  ASSERT_EQ(minter_.calls, 1);
  // Same cache_dir, another service.
  std::ofstream(config_path_, std::ios::trunc) << "address 127.0.0.2:1\n"
                                               << "registry registry.test:5000\n"
                                               << "cache_dir " << dir_ << "/cache\n";
  Result r = Kubelet(kKubeletRequest);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(minter_.calls, 2) << "a token of another service was served from the cache";
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(j["auth"]["registry.test:5000/acme/web"]["username"], "pull+token2");
  // One config, two registry hosts: each host gets a token minted for it.
  WriteConfig("registry mirror.test\n");
  ASSERT_EQ(Kubelet(kKubeletRequest).exit_code, 0);
  EXPECT_EQ(minter_.calls, 3);
  r = Kubelet(
      "{\"kind\":\"CredentialProviderRequest\",\"apiVersion\":"
      "\"credentialprovider.kubelet.k8s.io/v1\",\"image\":\"mirror.test/acme/web:v1\"}");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(minter_.calls, 4) << "a token minted for registry.test:5000 was served to mirror.test";
  // Each keeps its own entry: no re-mint when they alternate.
  ASSERT_EQ(Kubelet(kKubeletRequest).exit_code, 0);
  ASSERT_EQ(DockerGet("mirror.test/acme/web").exit_code, 0);
  EXPECT_EQ(minter_.calls, 4);
}

TEST_F(CredentialHelperTest, ShortLivedTokenIsNotCachedByTheKubelet) {
  minter_.lifetime = absl::Minutes(3);  // the server capped the TTL below refresh_before
  Result r = Kubelet(kKubeletRequest);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(j["cacheDuration"], "0s");
  ASSERT_EQ(Kubelet(kKubeletRequest).exit_code, 0);
  EXPECT_EQ(minter_.calls, 2);
}

TEST_F(CredentialHelperTest, KubeletBadRequests) {
  struct Case {
    std::string input;
    const char* want;
  };
  for (const Case& c : {
           Case{"", "not a JSON object"},
           Case{"[]", "not a JSON object"},
           Case{"{\"kind\":\"CredentialProviderRequest\",\"apiVersion\":\"v1\",\"image\":\"x\"}",
                "apiVersion must be"},
           Case{"{\"kind\":\"Other\",\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1\","
                "\"image\":\"x\"}",
                "kind must be"},
           Case{"{\"kind\":\"CredentialProviderRequest\",\"apiVersion\":"
                "\"credentialprovider.kubelet.k8s.io/v1\"}",
                "image is required"},
           Case{"{\"kind\":\"CredentialProviderRequest\",\"apiVersion\":"
                "\"credentialprovider.kubelet.k8s.io/v1\",\"image\":\"ghcr.io/acme/web\"}",
                "not our registry: ghcr.io"},
           Case{"{\"kind\":\"CredentialProviderRequest\",\"apiVersion\":"
                "\"credentialprovider.kubelet.k8s.io/v1\",\"image\":\"registry.test:5000/a/b/c\"}",
                "repository a/b/c is not <workspace>/<app>"},
           Case{"{\"kind\":\"CredentialProviderRequest\",\"apiVersion\":"
                "\"credentialprovider.kubelet.k8s.io/v1\",\"image\":\"registry.test:5000/a/b:\"}",
                "invalid image reference"},
           Case{std::string(kMaxStdinBytes + 10, ' '), "input larger than"},
       }) {
    Result r = Kubelet(c.input);
    EXPECT_EQ(r.exit_code, 1) << c.input.substr(0, 200);
    EXPECT_EQ(r.out, "") << c.input.substr(0, 200);
    EXPECT_NE(r.err.find(c.want), std::string::npos) << c.input.substr(0, 200) << " -> " << r.err;
  }
  EXPECT_EQ(minter_.calls, 0);
}

TEST_F(CredentialHelperTest, MintErrorsSayWhatWentWrong) {
  struct Case {
    absl::Status error;
    const char* want;
  };
  for (const Case& c : {
           Case{absl::NotFoundError("app not found"),
                "unknown app workspaces/acme/apps/web (NOT_FOUND: app not found)"},
           Case{absl::PermissionDeniedError("caller lacks tokens.mint"),
                "no permission to mint pull tokens for workspaces/acme/apps/web"},
           Case{absl::UnauthenticatedError("bad key"), "no permission to mint pull tokens"},
           Case{absl::UnavailableError("connection refused"),
                "registry-auth service unreachable at 127.0.0.1:1 (UNAVAILABLE"},
           Case{absl::DeadlineExceededError("deadline"),
                "registry-auth service unreachable at 127.0.0.1:1 (DEADLINE_EXCEEDED"},
       }) {
    minter_.error = c.error;
    Result k = Kubelet(kKubeletRequest);
    EXPECT_EQ(k.exit_code, 1);
    EXPECT_EQ(k.out, "");
    EXPECT_NE(k.err.find(c.want), std::string::npos) << k.err;
    Result d = DockerGet("registry.test:5000/acme/web");
    EXPECT_EQ(d.exit_code, 1);
    EXPECT_NE(d.out.find(c.want), std::string::npos) << d.out;  // the protocol's channel
    EXPECT_NE(d.err.find(c.want), std::string::npos) << d.err;
  }
}

TEST_F(CredentialHelperTest, DockerGetWithConfiguredApp) {
  WriteConfig("docker_app acme/web\n");
  Result r = DockerGet("https://registry.test:5000\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(j, (nlohmann::json{{"ServerURL", "https://registry.test:5000"},
                               {"Username", "pull+token1"},
                               {"Secret", kPassword}}));
  EXPECT_EQ(minter_.last_workspace, "acme");
  EXPECT_EQ(minter_.last_app, "web");
}

TEST_F(CredentialHelperTest, DockerGetPathBeatsDockerApp) {
  WriteConfig("docker_app acme/web\n");
  ASSERT_EQ(DockerGet("registry.test:5000/beta/api").exit_code, 0);
  EXPECT_EQ(minter_.last_workspace, "beta");
  EXPECT_EQ(minter_.last_app, "api");
}

TEST_F(CredentialHelperTest, DockerNotFoundCases) {
  for (const char* url : {"ghcr.io", "registry.test:5000"}) {  // foreign; no app to mint for
    Result r = DockerGet(url);
    EXPECT_EQ(r.exit_code, 1) << url;
    EXPECT_EQ(r.out, "credentials not found in native keychain\n") << url;
    EXPECT_NE(r.err.find(std::string(url) == "ghcr.io" ? "not our registry" : "no docker_app"),
              std::string::npos)
        << r.err;
  }
  EXPECT_EQ(minter_.calls, 0);
}

TEST_F(CredentialHelperTest, DockerOtherVerbs) {
  Result r = Run("docker-credential-regauth", {"list"}, "");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "{}\n");
  r = Run("docker-credential-regauth", {"store"},
          "{\"ServerURL\":\"registry.test:5000\",\"Username\":\"u\",\"Secret\":\"s\"}");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("store is not supported"), std::string::npos);
  ASSERT_EQ(DockerGet("registry.test:5000/acme/web").exit_code, 0);
  r = Run("regauth-credential-helper", {"docker", "erase"}, "registry.test:5000");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(DockerGet("registry.test:5000/acme/web").exit_code, 0);
  EXPECT_EQ(minter_.calls, 2);  // erase dropped the cached token
}

TEST_F(CredentialHelperTest, UsageAndConfigErrors) {
  EXPECT_EQ(Run("regauth-credential-helper", {}, "").exit_code, 2);
  EXPECT_EQ(Run("regauth-credential-helper", {"get"}, "").exit_code, 2);
  EXPECT_EQ(Run("docker-credential-regauth", {"kubelet"}, "").exit_code, 2);
  EXPECT_EQ(Run("regauth-credential-helper", {"docker", "get", "x"}, "").exit_code, 2);
  EXPECT_EQ(Run("regauth-credential-helper", {"help"}, "").exit_code, 0);
  WriteConfig("bogus key\n");
  Result r = Kubelet(kKubeletRequest);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("config line 4: unknown key"), std::string::npos) << r.err;
  config_path_ = dir_ + "/missing.conf";
  r = DockerGet("registry.test:5000");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.conf"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace registryauth::helpers
