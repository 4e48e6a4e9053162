// regauth-credential-helper against the real server over TLS with a real API key (issue 18):
// the built binary in kubelet and docker mode (argv[0] docker-credential-regauth), its on-disk
// cache across processes (a second run mints nothing: counted with ListPullTokens), expiry
// (in-process with a fake clock and the real gRPC minter), and each failure the helper names:
// unknown app, no permission, service unreachable, an API key file others can read. Then the
// real thing: skopeo pulls from a real docker-registry through the token realm with an auth file
// that only names the helper (`credHelpers`), no password on disk but the helper's API key.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "helpers/credential_helper.h"
#include "helpers/pull_token_minter.h"
#include "nlohmann/json.hpp"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "server/config.h"
#include "tests/support/distribution_registry.h"
#include "tests/support/oci_image.h"
#include "tests/support/skopeo.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

constexpr char kRegistry[] = "registry.test:5000";

std::string KubeletRequest(const std::string& image) {
  return absl::StrCat(
      "{\"kind\":\"CredentialProviderRequest\",\"apiVersion\":"
      "\"credentialprovider.kubelet.k8s.io/v1\",\"image\":\"",
      image, "\"}");
}

void WriteFile(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  ::chmod(path.c_str(), mode);
}

// The helper binary from the test's runfiles (data dependency).
std::string HelperPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  if (srcdir == nullptr) return "helpers/regauth-credential-helper";
  return absl::StrCat(srcdir, "/registry_auth/helpers/regauth-credential-helper");
}

class CredentialHelperE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    auto stack = testing::TestStack::Builder()
                     .WithCaller("admin", "registries.manage")
                     .WithCaller("node", "tokens.mint")
                     .WithCaller("reader", "registries.read")
                     .WithCaller("acme-node", "tokens.mint", "acme")  // confined to acme
                     .WithTokenRealm("registry.test")
                     .WithWorkspace("acme")
                     .WithWorkspace("beta")
                     .WithApp("acme", "web")
                     .WithApp("beta", "web")
                     .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    dir_ = stack_->dir();
    auto pki = testing::TestPki::Create();
    ASSERT_TRUE(pki.ok());
    auto server_cert = pki->IssueServer();
    ASSERT_TRUE(server_cert.ok());
    WriteFile(dir_ + "/ca.pem", pki->ca().cert_pem, 0644);
    WriteFile(dir_ + "/server.pem", server_cert->cert_pem);
    WriteFile(dir_ + "/server.key", server_cert->key_pem);
    WriteFile(dir_ + "/node.key", stack_->api_key("node") + "\n");
    WriteFile(dir_ + "/reader.key", stack_->api_key("reader") + "\n");
    WriteFile(dir_ + "/acme-node.key", stack_->api_key("acme-node") + "\n");
    // Build() seeded over the stack's plaintext stub; restarted with TLS for the helper.
    absl::Status started = stack_->StartServer([&](server::ServerConfig& c) {
      c.tls_cert_file = dir_ + "/server.pem";
      c.tls_key_file = dir_ + "/server.key";
      c.tls_client_ca_file = dir_ + "/ca.pem";
      c.tls_client_auth = "optional";
    });
    ASSERT_TRUE(started.ok()) << started;
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = pki->ca().cert_pem;
    admin_stub_ = v1::RegistryAuthService::NewStub(grpc::CreateChannel(
        absl::StrCat("localhost:", stack_->grpc_port()), grpc::SslCredentials(tls)));
    WriteConfig("node.key");
    ASSERT_EQ(::symlink(HelperPath().c_str(), (dir_ + "/docker-credential-regauth").c_str()), 0);
  }

  void WriteConfig(const std::string& key_file, const std::string& address = "") {
    config_ = dir_ + "/helper.conf";
    WriteFile(
        config_,
        absl::StrCat("address ",
                     address.empty() ? absl::StrCat("127.0.0.1:", stack_->grpc_port()) : address,
                     "\n", "tls_ca ", dir_, "/ca.pem\n", "api_key_file ", dir_, "/", key_file, "\n",
                     "registry ", kRegistry, "\n", "docker_app acme/web\n", "cache_dir ", dir_,
                     "/cache\n", "timeout 5s\n"));
  }

  // Runs the binary (through /bin/sh only to feed `input` on stdin).
  testing::SubprocessResult RunBinary(const std::string& program, const std::string& args,
                                      const std::string& input) {
    WriteFile(dir_ + "/stdin", input);
    absl::StatusOr<testing::SubprocessResult> r = testing::RunSubprocess(
        {"/bin/sh", "-c", absl::StrCat("exec \"$0\" ", args, " < \"$1\""), program,
         dir_ + "/stdin"},
        {"REGAUTH_HELPER_CONFIG=" + config_, "PATH=/usr/bin:/bin"}, absl::Seconds(30));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : testing::SubprocessResult{};
  }

  int PullTokenCount(const std::string& workspace = "acme") {
    v1::ListPullTokensRequest req;
    req.set_parent(absl::StrCat("workspaces/", workspace, "/apps/web"));
    v1::ListPullTokensResponse out;
    grpc::Status s = admin_stub_->ListPullTokens(stack_->Ctx("admin").get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.pull_tokens_size();
  }

  // The helper in-process with `clock` and the real gRPC minter.
  struct InProcess {
    int code;
    std::string out;
    std::string err;
  };
  InProcess RunInProcess(const Clock& clock, const std::string& input) {
    std::istringstream in(input);
    std::ostringstream out;
    std::ostringstream err;
    helpers::HelperIo io{&in, &out, &err, [](const std::string&) { return std::nullopt; }};
    helpers::HelperDeps deps{&clock, helpers::CreateGrpcPullTokenMinter};
    int code = helpers::RunCredentialHelper("regauth-credential-helper",
                                            {"kubelet", "--config=" + config_}, io, deps);
    return {code, out.str(), err.str()};
  }

  std::unique_ptr<testing::TestStack> stack_;
  std::unique_ptr<v1::RegistryAuthService::Stub> admin_stub_;  // over TLS
  std::string dir_;
  std::string config_;
};

TEST_F(CredentialHelperE2eTest, KubeletModeMintsOnceThenServesTheCache) {
  testing::SubprocessResult r =
      RunBinary(HelperPath(), "kubelet", KubeletRequest("registry.test:5000/acme/web:v1"));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  nlohmann::json j = nlohmann::json::parse(r.stdout_text, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.stdout_text;
  EXPECT_EQ(j["kind"], "CredentialProviderResponse");
  EXPECT_EQ(j["cacheKeyType"], "Image");
  const nlohmann::json& auth = j["auth"]["registry.test:5000/acme/web"];
  ASSERT_TRUE(auth.is_object()) << r.stdout_text;
  const std::string username = auth["username"];
  const std::string password = auth["password"];
  EXPECT_EQ(username.rfind("pull+", 0), 0u) << username;
  EXPECT_EQ(r.stderr_text.find(password), std::string::npos);
  EXPECT_EQ(PullTokenCount(), 1);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/cache/registry.test:5000_acme_web.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  // The credential works at the token realm for exactly that repository.
  v1::IssueRegistryTokenRequest issue;
  issue.set_service("registry.test");
  issue.set_username(username);
  issue.set_password(password);
  issue.add_scopes("repository:acme/web:pull");
  v1::IssueRegistryTokenResponse token;
  grpc::Status issued = admin_stub_->IssueRegistryToken(stack_->Ctx().get(), issue, &token);
  ASSERT_TRUE(issued.ok()) << issued.error_message();
  EXPECT_EQ(std::vector<std::string>(token.granted_scopes().begin(), token.granted_scopes().end()),
            std::vector<std::string>{"repository:acme/web:pull"});

  // A second process within the cache window: the same token, no new MintPullToken.
  r = RunBinary(HelperPath(), "kubelet", KubeletRequest("registry.test:5000/acme/web:v2"));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  j = nlohmann::json::parse(r.stdout_text, nullptr, false);
  EXPECT_EQ(j["auth"]["registry.test:5000/acme/web"]["password"], password);
  // The docker protocol, by argv[0], shares it too.
  r = RunBinary(dir_ + "/docker-credential-regauth", "get", kRegistry);
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  j = nlohmann::json::parse(r.stdout_text, nullptr, false);
  EXPECT_EQ(
      j, (nlohmann::json{{"ServerURL", kRegistry}, {"Username", username}, {"Secret", password}}));
  EXPECT_EQ(PullTokenCount(), 1);
}

TEST_F(CredentialHelperE2eTest, AnExpiredCacheMintsAgain) {
  FakeClock clock(absl::Now());
  InProcess first = RunInProcess(clock, KubeletRequest("registry.test:5000/acme/web:v1"));
  ASSERT_EQ(first.code, 0) << first.err;
  clock.Advance(absl::Minutes(30));
  InProcess cached = RunInProcess(clock, KubeletRequest("registry.test:5000/acme/web:v1"));
  ASSERT_EQ(cached.code, 0) << cached.err;
  EXPECT_EQ(cached.out, [&] {
    // Same token; the cache duration shrank by the 30 minutes.
    nlohmann::json j = nlohmann::json::parse(first.out);
    std::string d = j["cacheDuration"];
    j["cacheDuration"] = absl::StrCat(std::stoll(d.substr(0, d.size() - 1)) - 1800, "s");
    return j.dump() + "\n";
  }());
  EXPECT_EQ(PullTokenCount(), 1);
  clock.Advance(absl::Minutes(26));  // less than refresh_before (5 min) left
  InProcess renewed = RunInProcess(clock, KubeletRequest("registry.test:5000/acme/web:v1"));
  ASSERT_EQ(renewed.code, 0) << renewed.err;
  EXPECT_NE(renewed.out, first.out);
  EXPECT_EQ(PullTokenCount(), 2);
}

TEST_F(CredentialHelperE2eTest, UnknownAppSaysSo) {
  testing::SubprocessResult r =
      RunBinary(HelperPath(), "kubelet", KubeletRequest("registry.test:5000/acme/nope:v1"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stdout_text, "");
  EXPECT_NE(r.stderr_text.find("unknown app workspaces/acme/apps/nope (NOT_FOUND"),
            std::string::npos)
      << r.stderr_text;
}

TEST_F(CredentialHelperE2eTest, NotOurRegistrySaysSo) {
  testing::SubprocessResult r = RunBinary(HelperPath(), "kubelet", KubeletRequest("ghcr.io/a/b"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find("not our registry: ghcr.io"), std::string::npos) << r.stderr_text;
  r = RunBinary(dir_ + "/docker-credential-regauth", "get", "ghcr.io");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stdout_text, "credentials not found in native keychain\n");
}

TEST_F(CredentialHelperE2eTest, CallerWithoutTokensMintHasNoPermission) {
  WriteConfig("reader.key");
  testing::SubprocessResult r =
      RunBinary(dir_ + "/docker-credential-regauth", "get", "registry.test:5000/acme/web");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stdout_text.find("no permission to mint pull tokens for workspaces/acme/apps/web"),
            std::string::npos)
      << r.stdout_text;
  EXPECT_NE(r.stderr_text.find("PERMISSION_DENIED"), std::string::npos) << r.stderr_text;
  EXPECT_EQ(PullTokenCount(), 0);
}

TEST_F(CredentialHelperE2eTest, ServiceUnreachableSaysSo) {
  stack_->StopServer();
  WriteConfig("node.key", "127.0.0.1:1");
  testing::SubprocessResult r =
      RunBinary(HelperPath(), "kubelet", KubeletRequest("registry.test:5000/acme/web:v1"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find("registry-auth service unreachable at 127.0.0.1:1"),
            std::string::npos)
      << r.stderr_text;
}

TEST_F(CredentialHelperE2eTest, ApiKeyFileOthersCanReadIsRefused) {
  ASSERT_EQ(::chmod((dir_ + "/node.key").c_str(), 0644), 0);
  testing::SubprocessResult r =
      RunBinary(HelperPath(), "kubelet", KubeletRequest("registry.test:5000/acme/web:v1"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find("must not be readable by group or others"), std::string::npos)
      << r.stderr_text;
  EXPECT_EQ(r.stderr_text.find(stack_->api_key("node")), std::string::npos);
  EXPECT_EQ(PullTokenCount(), 0);
}

// skopeo's auth file names only the helper for the registry; the helper's config (found by
// skopeo's $XDG_CONFIG_HOME, which the helper inherits) mints for docker_app acme/web.
TEST_F(CredentialHelperE2eTest, SkopeoPullsThroughCredHelpersWithNoPasswordOnDisk) {
  REGAUTH_SKIP_WITHOUT_REGISTRY_TOOLS();
  absl::StatusOr<std::string> bundle = testing::ReadFile(stack_->rootcertbundle_path());
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  testing::RegistryOptions options;
  options.token_auth =
      testing::TokenAuthConfig{absl::StrCat("http://127.0.0.1:", stack_->http_port(), "/token"),
                               "registry.test", "registry-auth", *bundle};
  absl::StatusOr<std::unique_ptr<testing::DistributionRegistry>> registry =
      testing::DistributionRegistry::Start(options);
  ASSERT_TRUE(registry.ok()) << registry.status();
  absl::StatusOr<std::unique_ptr<testing::Skopeo>> skopeo = testing::Skopeo::Create();
  ASSERT_TRUE(skopeo.ok()) << skopeo.status();

  // Builders push acme/web:v1 and beta/web:v1 with service accounts' passwords (on the command
  // line only).
  absl::StatusOr<std::string> layouts = testing::MakeTempDir("layouts");
  ASSERT_TRUE(layouts.ok());
  testing::OciImageSpec spec;
  spec.seed = "helper";
  spec.tag = "v1";
  absl::StatusOr<testing::OciImage> image = testing::WriteOciImage(*layouts + "/helper", spec);
  ASSERT_TRUE(image.ok()) << image.status();
  for (const std::string ws : {"acme", "beta"}) {
    v1::CreateServiceAccountRequest create;
    create.set_parent("workspaces/" + ws);
    create.set_service_account_id("builder");
    v1::RepositoryGrant* grant = create.mutable_service_account()->add_grants();
    grant->set_repository(ws + "/web");
    grant->add_actions("pull");
    grant->add_actions("push");
    v1::ServiceAccountCredentials builder;
    grpc::Status created =
        admin_stub_->CreateServiceAccount(stack_->Ctx("admin").get(), create, &builder);
    ASSERT_TRUE(created.ok()) << created.error_message();
    testing::SkopeoCopyOptions push;
    push.dest_creds = testing::RegistryCredentials{builder.username(), builder.secret()};
    testing::SkopeoResult pushed =
        (*skopeo)->Copy(image->Reference(), (*registry)->Reference(ws + "/web", "v1"), push);
    ASSERT_TRUE(pushed.ok()) << pushed.Describe();
  }

  // The puller's world: the helper on PATH, its config, an auth file with credHelpers only.
  const std::string home = (*skopeo)->dir();
  const std::string bin = home + "/bin";
  ASSERT_EQ(::mkdir(bin.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(HelperPath().c_str(), (bin + "/docker-credential-regauth").c_str()), 0);
  (*skopeo)->set_path_prefix(bin);
  ASSERT_EQ(::mkdir((home + "/home/.config/regauth").c_str(), 0700), 0);
  config_ = home + "/home/.config/regauth/credential-helper.conf";
  WriteFile(config_, absl::StrCat("address 127.0.0.1:", stack_->grpc_port(), "\n", "tls_ca ", dir_,
                                  "/ca.pem\n", "api_key_file ", dir_, "/node.key\n", "registry ",
                                  (*registry)->host_port(), "\n", "docker_app acme/web\n",
                                  "cache_dir ", dir_, "/cache\n"));
  // Without the auth file the pull is anonymous and refused (acme/web is not public).
  testing::SkopeoResult anonymous = (*skopeo)->Inspect((*registry)->Reference("acme/web", "v1"));
  EXPECT_TRUE(anonymous.refused()) << anonymous.Describe();
  WriteFile(home + "/run/auth.json",
            absl::StrCat("{\"credHelpers\":{\"", (*registry)->host_port(), "\":\"regauth\"}}"));

  auto pull = [&](const std::string& repository = "acme/web") {
    absl::StatusOr<std::string> out = testing::MakeTempDir("pulled");
    EXPECT_TRUE(out.ok());
    testing::SkopeoResult r = (*skopeo)->Copy((*registry)->Reference(repository, "v1"),
                                              absl::StrCat("oci:", *out, ":v1"));
    if (!r.ok()) return r;
    absl::StatusOr<testing::OciImage> pulled = testing::ReadOciImage(*out, "v1");
    EXPECT_TRUE(pulled.ok()) << pulled.status();
    if (pulled.ok()) {
      EXPECT_EQ(pulled->manifest.digest, image->manifest.digest);
    }
    return r;
  };
  testing::SkopeoResult first = pull();
  ASSERT_TRUE(first.ok()) << first.Describe();
  EXPECT_EQ(PullTokenCount(), 1);
  // Within the cache window: no new MintPullToken.
  testing::SkopeoResult second = pull();
  ASSERT_TRUE(second.ok()) << second.Describe();
  EXPECT_EQ(PullTokenCount(), 1);
  // The kubelet provider's answer works as credentials for the same pull (the cached token).
  testing::SubprocessResult kubelet = RunBinary(
      HelperPath(), "kubelet", KubeletRequest((*registry)->Reference("acme/web", "v1").substr(9)));
  ASSERT_EQ(kubelet.exit_code, 0) << kubelet.stderr_text;
  nlohmann::json answer = nlohmann::json::parse(kubelet.stdout_text, nullptr, false);
  const nlohmann::json& auth = answer["auth"][absl::StrCat((*registry)->host_port(), "/acme/web")];
  ASSERT_TRUE(auth.is_object()) << kubelet.stdout_text;
  absl::StatusOr<std::string> kubelet_out = testing::MakeTempDir("kubelet-pulled");
  ASSERT_TRUE(kubelet_out.ok());
  std::remove((home + "/run/auth.json").c_str());  // only the kubelet's answer from here on
  testing::SkopeoCopyOptions with_answer;
  with_answer.src_creds = testing::RegistryCredentials{auth["username"], auth["password"]};
  testing::SkopeoResult by_kubelet =
      (*skopeo)->Copy((*registry)->Reference("acme/web", "v1"),
                      absl::StrCat("oci:", *kubelet_out, ":v1"), with_answer);
  EXPECT_TRUE(by_kubelet.ok()) << by_kubelet.Describe();
  EXPECT_EQ(PullTokenCount(), 1);  // the cached token
  WriteFile(home + "/run/auth.json",
            absl::StrCat("{\"credHelpers\":{\"", (*registry)->host_port(), "\":\"regauth\"}}"));
  // The cached token inside the refresh window (refresh_before 1h > its remaining life): the
  // next pull mints a new token and succeeds with it.
  std::ofstream(config_, std::ios::app) << "refresh_before 1h\n";
  testing::SkopeoResult third = pull();
  ASSERT_TRUE(third.ok()) << third.Describe();
  EXPECT_EQ(PullTokenCount(), 2);
  // Nothing in skopeo's folder holds a password: the auth file names the helper only.
  EXPECT_EQ(testing::ReadFile(home + "/run/auth.json").value_or(""),
            absl::StrCat("{\"credHelpers\":{\"", (*registry)->host_port(), "\":\"regauth\"}}"));

  // A node whose caller is confined to acme (policy `workspaces acme`): its helper pulls
  // acme/web, and cannot pull beta/web, neither for docker (the pull falls back to anonymous
  // and is refused) nor for the kubelet; no token is minted for beta.
  auto confined_config = [&](const std::string& app) {
    WriteFile(config_, absl::StrCat("address 127.0.0.1:", stack_->grpc_port(), "\n", "tls_ca ",
                                    dir_, "/ca.pem\n", "api_key_file ", dir_, "/acme-node.key\n",
                                    "registry ", (*registry)->host_port(), "\n", "docker_app ", app,
                                    "\n", "cache_dir ", dir_, "/cache-confined\n"));
  };
  confined_config("acme/web");
  testing::SkopeoResult own = pull("acme/web");
  EXPECT_TRUE(own.ok()) << own.Describe();
  EXPECT_EQ(PullTokenCount("acme"), 3);
  confined_config("beta/web");
  testing::SkopeoResult other = pull("beta/web");
  EXPECT_TRUE(other.refused()) << other.Describe();
  testing::SubprocessResult refused = RunBinary(
      HelperPath(), "kubelet", KubeletRequest((*registry)->Reference("beta/web", "v1").substr(9)));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.stdout_text, "");
  EXPECT_NE(
      refused.stderr_text.find("no permission to mint pull tokens for workspaces/beta/apps/web"),
      std::string::npos)
      << refused.stderr_text;
  EXPECT_EQ(PullTokenCount("beta"), 0);
}

}  // namespace
}  // namespace registryauth
