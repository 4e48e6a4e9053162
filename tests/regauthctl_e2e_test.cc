// regauthctl against the real server over real TLS: mutual TLS with a client certificate, an
// API key from the environment or a file, acting for a user, members and the audit trail.
// regauthctl runs in-process (RunRegauthctl) with its real channel factory.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/regauthctl_lib.h"
#include "gtest/gtest.h"
#include "server/config.h"
#include "tests/support/live_server.h"
#include "tests/support/test_certs.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

struct Result {
  int code;
  std::string out;
  std::string err;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  ::chmod(path.c_str(), 0600);
}

class RegauthctlE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    auto stack = testing::TestStack::Builder()
                     .WithCaller("admin", "registries.manage")
                     .WithIdentityCaller("frontend", "spiffe://example.org/frontend",
                                         "registries.manage act_as_user")
                     .WithCaller("deployer", "tokens.mint")
                     .WithTokenRealm("registry.test")
                     .WithoutServer()
                     .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    dir_ = stack_->dir();
    auto pki = testing::TestPki::Create();
    ASSERT_TRUE(pki.ok());
    auto server_cert = pki->IssueServer();
    auto frontend_cert = pki->IssueClient("frontend", "spiffe://example.org/frontend");
    ASSERT_TRUE(server_cert.ok() && frontend_cert.ok());
    WriteFile(dir_ + "/ca.pem", pki->ca().cert_pem);
    WriteFile(dir_ + "/server.pem", server_cert->cert_pem);
    WriteFile(dir_ + "/server.key", server_cert->key_pem);
    WriteFile(dir_ + "/frontend.pem", frontend_cert->cert_pem);
    WriteFile(dir_ + "/frontend.key", frontend_cert->key_pem);
    admin_key_ = stack_->api_key("admin");
    deployer_key_ = stack_->api_key("deployer");
    WriteFile(dir_ + "/deployer.key", deployer_key_ + "\n");
    WriteFile(dir_ + "/admin.key", admin_key_ + "\n");
    absl::Status started = stack_->StartServer([&](server::ServerConfig& c) {
      c.tls_cert_file = dir_ + "/server.pem";
      c.tls_key_file = dir_ + "/server.key";
      c.tls_client_ca_file = dir_ + "/ca.pem";
      c.tls_client_auth = "optional";
    });
    ASSERT_TRUE(started.ok()) << started;
    live_ = &stack_->live();
    env_["REGAUTH_ADDR"] = absl::StrCat("localhost:", live_->server().grpc_port());
    env_["REGAUTH_TLS_CA"] = dir_ + "/ca.pem";
  }

  Result Run(std::vector<std::string> args) {
    std::istringstream in;
    std::ostringstream out, err;
    cli::CliIo io{&in, &out, &err, [this](const std::string& name) -> std::optional<std::string> {
                    auto it = env_.find(name);
                    if (it == env_.end()) return std::nullopt;
                    return it->second;
                  }};
    int code = cli::RunRegauthctl(args, io, cli::DefaultChannelFactory);
    return {code, out.str(), err.str()};
  }

  std::vector<std::string> Frontend(std::vector<std::string> args) {
    args.insert(args.begin(),
                {"--tls-cert=" + dir_ + "/frontend.pem", "--tls-key=" + dir_ + "/frontend.key"});
    return args;
  }

  std::unique_ptr<testing::TestStack> stack_;
  testing::LiveServer* live_ = nullptr;
  std::string dir_;
  std::string admin_key_;
  std::string deployer_key_;
  std::map<std::string, std::string> env_;
};

TEST_F(RegauthctlE2eTest, ApiKeyFromEnvironmentOrFileAndNeverFromArgv) {
  Result anonymous = Run({"workspaces", "list"});
  EXPECT_EQ(anonymous.code, 1);
  EXPECT_TRUE(absl::StrContains(anonymous.err, "UNAUTHENTICATED")) << anonymous.err;
  EXPECT_TRUE(absl::StrContains(anonymous.err, "(request id ")) << anonymous.err;

  Result from_file = Run({"--api-key-file=" + dir_ + "/admin.key", "workspaces", "create", "acme"});
  EXPECT_EQ(from_file.code, 0) << from_file.err;
  env_["REGAUTH_API_KEY"] = admin_key_;
  Result from_env = Run({"workspaces", "list"});
  EXPECT_EQ(from_env.code, 0) << from_env.err;
  EXPECT_TRUE(absl::StrContains(from_env.out, "acme"));

  Result argv = Run({"--api-key=" + admin_key_, "workspaces", "list"});
  EXPECT_EQ(argv.code, 2);
  EXPECT_FALSE(absl::StrContains(argv.err, admin_key_));

  env_["REGAUTH_API_KEY"] = "rak_wrong";
  Result wrong = Run({"workspaces", "list"});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_FALSE(absl::StrContains(wrong.err, "rak_wrong"));

  // Plaintext to the TLS port fails with a clear error, not a hang.
  env_["REGAUTH_API_KEY"] = admin_key_;
  env_.erase("REGAUTH_TLS_CA");
  Result plain = Run({"--timeout=3s", "workspaces", "list"});
  EXPECT_EQ(plain.code, 1);
  EXPECT_TRUE(absl::StrContains(plain.err, "UNAVAILABLE")) << plain.err;
  Result missing_ca = Run({"--tls-ca=" + dir_ + "/nope.pem", "workspaces", "list"});
  EXPECT_EQ(missing_ca.code, 1);
  EXPECT_TRUE(absl::StrContains(missing_ca.err, "nope.pem")) << missing_ca.err;
}

TEST_F(RegauthctlE2eTest, MembersAndAuditThroughMutualTlsActingForUsers) {
  // The front end (client certificate) creates a workspace for alice, who becomes its owner.
  Result created = Run(Frontend({"--user=alice", "workspaces", "create", "acme"}));
  ASSERT_EQ(created.code, 0) << created.err;
  Result added =
      Run(Frontend({"--user=alice", "members", "create", "acme", "bob", "--role=admin"}));
  ASSERT_EQ(added.code, 0) << added.err;
  EXPECT_TRUE(absl::StrContains(added.out, "role:")) << added.out;
  Result carol = Run(Frontend(
      {"--user=bob", "members", "create", "acme", "carol", "--role=member", "--status=invited"}));
  ASSERT_EQ(carol.code, 0) << carol.err;

  Result list = Run(Frontend({"--user=carol", "members", "list", "acme"}));
  EXPECT_EQ(list.code, 1) << list.out;  // invited: no access yet
  EXPECT_TRUE(absl::StrContains(list.err, "PERMISSION_DENIED")) << list.err;
  Result accepted =
      Run(Frontend({"--user=alice", "members", "update", "acme", "carol", "--status=active"}));
  ASSERT_EQ(accepted.code, 0) << accepted.err;
  list = Run(Frontend({"--user=carol", "members", "list", "acme"}));
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_TRUE(absl::StrContains(list.out, "alice  owner")) << list.out;
  EXPECT_TRUE(absl::StrContains(list.out, "carol  member")) << list.out;

  // An admin cannot make someone owner; the owner can.
  Result promote =
      Run(Frontend({"--user=bob", "members", "update", "acme", "carol", "--role=owner"}));
  EXPECT_EQ(promote.code, 1);
  EXPECT_TRUE(absl::StrContains(promote.err, "PERMISSION_DENIED")) << promote.err;
  Result bad_role =
      Run(Frontend({"--user=alice", "members", "update", "acme", "carol", "--role=emperor"}));
  EXPECT_EQ(bad_role.code, 2);
  Result removed = Run(Frontend({"--user=alice", "members", "delete", "acme", "carol"}));
  EXPECT_EQ(removed.code, 0) << removed.err;
  Result get = Run(Frontend({"--user=alice", "members", "get", "acme", "carol"}));
  EXPECT_EQ(get.code, 1);

  // The audit trail, read with the admin's API key, filtered and as JSON.
  env_["REGAUTH_API_KEY"] = admin_key_;
  Result audit = Run({"--request-id=cli-audit-1", "audit", "list", "--resource=workspaces/acme",
                      "--caller=spiffe://example.org/frontend", "--all", "--page-size=2"});
  ASSERT_EQ(audit.code, 0) << audit.err;
  EXPECT_TRUE(absl::StrContains(audit.out, "CreateMember")) << audit.out;
  EXPECT_TRUE(absl::StrContains(audit.out, "PERMISSION_DENIED")) << audit.out;
  EXPECT_TRUE(absl::StrContains(audit.out, "bob")) << audit.out;
  Result json = Run(
      {"--json", "audit", "list", "--since=2000-01-01T00:00:00Z", "--until=2000-01-02T00:00:00Z"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(json.out, "{}\n");
  Result bad_time = Run({"audit", "list", "--since=yesterday"});
  EXPECT_EQ(bad_time.code, 2);
  EXPECT_TRUE(absl::StrContains(bad_time.err, "RFC 3339")) << bad_time.err;
}

// The value of `key:` in regauthctl's aligned key/value output ("" if absent).
std::string Field(const std::string& out, const std::string& key) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, key + ":")) {
      return std::string(absl::StripAsciiWhitespace(line.substr(key.size() + 1)));
    }
  }
  return "";
}

TEST_F(RegauthctlE2eTest, ServiceAccountsAndPullTokens) {
  const std::string admin = "--api-key-file=" + dir_ + "/admin.key";
  const std::string deployer = "--api-key-file=" + dir_ + "/deployer.key";
  ASSERT_EQ(Run({admin, "workspaces", "create", "acme"}).code, 0);
  ASSERT_EQ(Run({admin, "apps", "create", "acme", "web"}).code, 0);

  Result created = Run({admin, "service-accounts", "create", "acme", "builder",
                        "--grants=acme/*=pull,push;acme/api-*=pull"});
  ASSERT_EQ(created.code, 0) << created.err;
  EXPECT_EQ(Field(created.out, "username"), "acme+builder") << created.out;
  EXPECT_EQ(Field(created.out, "grants"), "acme/*=pull,push;acme/api-*=pull") << created.out;
  const std::string secret = Field(created.out, "secret");
  EXPECT_TRUE(absl::StartsWith(secret, "ras_")) << created.out;

  Result list = Run({admin, "service-accounts", "list", "acme"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_TRUE(absl::StrContains(list.out, "acme+builder")) << list.out;
  EXPECT_FALSE(absl::StrContains(list.out, secret));  // shown once, never again
  Result get = Run({admin, "--json", "service-accounts", "get", "acme", "builder"});
  ASSERT_EQ(get.code, 0) << get.err;
  EXPECT_FALSE(absl::StrContains(get.out, secret));

  Result disabled =
      Run({admin, "service-accounts", "update", "acme", "builder", "--disabled=true"});
  ASSERT_EQ(disabled.code, 0) << disabled.err;
  EXPECT_EQ(Field(disabled.out, "disabled"), "true") << disabled.out;
  Result regenerated = Run({admin, "service-accounts", "regenerate-secret", "acme", "builder"});
  ASSERT_EQ(regenerated.code, 0) << regenerated.err;
  EXPECT_TRUE(absl::StartsWith(Field(regenerated.out, "secret"), "ras_"));
  EXPECT_FALSE(absl::StrContains(regenerated.out, secret));

  // Bad input: usage errors (2) locally, INVALID_ARGUMENT (1) from the server.
  EXPECT_EQ(Run({admin, "service-accounts", "create", "acme", "x", "--grants=acme/*"}).code, 2);
  Result outside = Run({admin, "service-accounts", "create", "acme", "x", "--grants=other/*=pull"});
  EXPECT_EQ(outside.code, 1);
  EXPECT_TRUE(absl::StrContains(outside.err, "INVALID_ARGUMENT")) << outside.err;
  EXPECT_EQ(Run({admin, "service-accounts", "update", "acme", "builder"}).code, 2);

  // Pull tokens: deployers mint, admins may not; revoke by id and by app.
  Result denied = Run({admin, "pull-tokens", "mint", "acme", "web"});
  EXPECT_EQ(denied.code, 1);
  EXPECT_TRUE(absl::StrContains(denied.err, "PERMISSION_DENIED")) << denied.err;
  Result minted = Run({deployer, "pull-tokens", "mint", "acme", "web", "--ttl=30m"});
  ASSERT_EQ(minted.code, 0) << minted.err;
  EXPECT_EQ(Field(minted.out, "registry"), "registry.test:5000") << minted.out;
  EXPECT_TRUE(absl::StartsWith(Field(minted.out, "username"), "pull+")) << minted.out;
  EXPECT_TRUE(absl::StartsWith(Field(minted.out, "password"), "rpt_")) << minted.out;
  const std::string name = Field(minted.out, "name");
  ASSERT_TRUE(absl::StartsWith(name, "workspaces/acme/pullTokens/")) << minted.out;
  const std::string token_id = name.substr(name.rfind('/') + 1);
  ASSERT_EQ(Run({deployer, "pull-tokens", "mint", "acme", "web"}).code, 0);
  Result tokens = Run({deployer, "pull-tokens", "list", "acme", "--app=web"});
  ASSERT_EQ(tokens.code, 0) << tokens.err;
  EXPECT_TRUE(absl::StrContains(tokens.out, token_id)) << tokens.out;
  EXPECT_FALSE(absl::StrContains(tokens.out, "rpt_"));
  Result revoked = Run({deployer, "pull-tokens", "revoke", "acme", token_id});
  ASSERT_EQ(revoked.code, 0) << revoked.err;
  EXPECT_TRUE(absl::StartsWith(Field(revoked.out, "revoke_time"), "20")) << revoked.out;
  Result rest = Run({deployer, "pull-tokens", "revoke-app", "acme", "web"});
  ASSERT_EQ(rest.code, 0) << rest.err;
  EXPECT_TRUE(absl::StrContains(rest.out, "revoked 1 pull tokens")) << rest.out;
}

}  // namespace
}  // namespace registryauth
