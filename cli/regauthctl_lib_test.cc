#include "cli/regauthctl_lib.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "api/testing/in_memory_stack.h"
#include "crypto/jws.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "model/model.h"
#include "model/tokens.h"

namespace registryauth::cli {
namespace {

struct Result {
  int code;
  std::string out;
  std::string err;
};

// True if `out` has a line `key:<spaces>value` (the human view aligns values).
bool HasKv(const std::string& out, const std::string& key, const std::string& value) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (!absl::ConsumePrefix(&line, key + ":")) continue;
    if (absl::StripLeadingAsciiWhitespace(line) == value && line.size() > value.size()) {
      return true;
    }
  }
  return false;
}

class RegauthctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    stack_.RegisterOn(builder);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  Result Run(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    std::istringstream in(stdin_text);
    std::ostringstream out, err;
    CliIo io{&in, &out, &err, [this](const std::string& name) -> std::optional<std::string> {
               auto it = env_.find(name);
               if (it == env_.end()) return std::nullopt;
               return it->second;
             }};
    int code = RunRegauthctl(args, io, [this](const ChannelSpec& spec) {
      addrs_.push_back(spec.addr);
      return server_->InProcessChannel(grpc::ChannelArguments());
    });
    return {code, out.str(), err.str()};
  }

  api::testing::InMemoryStack stack_;
  std::unique_ptr<grpc::Server> server_;
  std::map<std::string, std::string> env_;
  std::vector<std::string> addrs_;
};

TEST_F(RegauthctlTest, AddressComesFromFlagThenEnvThenDefault) {
  EXPECT_EQ(Run({"workspaces", "list"}).code, 0);
  env_["REGAUTH_ADDR"] = "10.0.0.1:9";
  EXPECT_EQ(Run({"workspaces", "list"}).code, 0);
  EXPECT_EQ(Run({"--addr", "h:1", "workspaces", "list"}).code, 0);
  EXPECT_EQ(addrs_, (std::vector<std::string>{"127.0.0.1:50051", "10.0.0.1:9", "h:1"}));
}

TEST_F(RegauthctlTest, SecretFromStdinIsTrimmedAndNeverPrinted) {
  ASSERT_EQ(Run({"workspaces", "create", "acme"}).code, 0);
  const std::string secret = "ghp_AAAABBBBCCCCDDDDEEEE1234";
  Result r = Run({"registries", "create", "acme", "gh", "--type", "GHCR", "--owner=acme",
                  "--secret-stdin", "--json"},
                 secret + "\r\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(stack_.StoredSecret("workspaces/acme/registries/gh"), secret);
  EXPECT_FALSE(absl::StrContains(r.out + r.err, secret));
  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &json).ok()) << r.out;
  EXPECT_EQ(json.fields().at("secretHint").string_value(), "ghp_…1234");

  // Empty stdin: a usage error, nothing sent.
  Result empty = Run(
      {"registries", "create", "acme", "gh2", "--type=ghcr", "--owner=a", "--secret-stdin"}, "\n");
  EXPECT_EQ(empty.code, 2);
  EXPECT_FALSE(stack_.StoredSecret("workspaces/acme/registries/gh2").has_value());
  // Two sources at once.
  env_["S"] = "x";
  EXPECT_EQ(Run({"registries", "create", "acme", "gh3", "--type=ghcr", "--owner=a",
                 "--secret-stdin", "--secret-env=S"},
                "y")
                .code,
            2);
  EXPECT_EQ(
      Run({"registries", "create", "acme", "gh3", "--type=ghcr", "--owner=a", "--secret-env=UNSET"})
          .code,
      2);
}

// `service-accounts get` shows the uid an operator puts in --token_catalog_accounts; a
// re-created account of the same name shows another.
TEST_F(RegauthctlTest, ServiceAccountGetShowsItsUid) {
  ASSERT_EQ(Run({"workspaces", "create", "platform"}).code, 0);
  auto uid_of_ops = [&] {
    Result got = Run({"service-accounts", "get", "platform", "ops"});
    EXPECT_EQ(got.code, 0) << got.err;
    EXPECT_TRUE(HasKv(got.out, "username", "platform+ops")) << got.out;
    for (absl::string_view line : absl::StrSplit(got.out, '\n')) {
      if (absl::ConsumePrefix(&line, "uid:")) {
        return std::string(absl::StripLeadingAsciiWhitespace(line));
      }
    }
    return std::string();
  };
  Result created =
      Run({"service-accounts", "create", "platform", "ops", "--grants=platform/*=pull"});
  ASSERT_EQ(created.code, 0) << created.err;
  const std::string first = uid_of_ops();
  EXPECT_TRUE(IsUid(first)) << first;
  ASSERT_EQ(Run({"service-accounts", "delete", "platform", "ops"}).code, 0);
  ASSERT_EQ(Run({"service-accounts", "create", "platform", "ops", "--grants=platform/*=pull"}).code,
            0);
  const std::string second = uid_of_ops();
  EXPECT_TRUE(IsUid(second)) << second;
  EXPECT_NE(first, second);
}

TEST_F(RegauthctlTest, UpdateSendsOnlyTheGivenFlags) {
  ASSERT_EQ(Run({"workspaces", "create", "acme"}).code, 0);
  env_["PW"] = "password-of-the-bot";
  ASSERT_EQ(Run({"registries", "create", "acme", "az", "--type=acr", "--login-server=a.azurecr.io",
                 "--username=bot", "--display-name=Azure", "--secret-env=PW"})
                .code,
            0);
  // The username says whose the secret is: changing it alone is refused (issue 17).
  Result refused = Run({"registries", "update", "acme", "az", "--username=bot2"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_TRUE(absl::StrContains(refused.err, "registry_config.acr.username")) << refused.err;
  Result r = Run({"registries", "update", "acme", "az", "--username=bot2", "--secret-env=PW"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(HasKv(r.out, "username", "bot2")) << r.out;
  EXPECT_TRUE(HasKv(r.out, "login_server", "a.azurecr.io")) << r.out;
  EXPECT_TRUE(HasKv(r.out, "display_name", "Azure")) << r.out;
  EXPECT_EQ(stack_.StoredSecret("workspaces/acme/registries/az"), "password-of-the-bot");

  Result def = Run({"registries", "update", "acme", "az", "--default=true"});
  ASSERT_EQ(def.code, 0);
  EXPECT_TRUE(HasKv(def.out, "default", "true")) << def.out;
  EXPECT_EQ(Run({"registries", "update", "acme", "az", "--owner=x"}).code, 2);  // not ACR
  EXPECT_EQ(Run({"registries", "update", "acme", "az"}).code, 2);               // nothing to update
  // Stale etag (well-formed, an old version) -> ABORTED -> exit 1.
  Result stale = Run({"registries", "update", "acme", "az", "--display-name=x", "--etag=\"99\""});
  EXPECT_EQ(stale.code, 1);
  EXPECT_TRUE(absl::StartsWith(stale.err, "error: ABORTED: ")) << stale.err;
}

TEST_F(RegauthctlTest, GitHubAppFlagsAndKeyFile) {
  ASSERT_EQ(Run({"workspaces", "create", "acme"}).code, 0);
  // A real RSA key: the service checks that it is one.
  absl::StatusOr<SecretString> pem = crypto::GenerateRsaKeyPem(2048);
  ASSERT_TRUE(pem.ok()) << pem.status();
  const std::string key(pem->view());
  ASSERT_EQ(key.back(), '\n');
  // A line from the middle of the key body, to check that no output echoes the key.
  std::vector<std::string> key_lines = absl::StrSplit(key, '\n');
  ASSERT_GT(key_lines.size(), 4u);
  const std::string key_body = key_lines[2];
  const std::string path = ::testing::TempDir() + "/app.private-key.pem";
  {
    std::ofstream f(path);
    f << key;
  }
  Result r = Run({"registries", "create", "acme", "app", "--type=github-app", "--app-id=314159",
                  "--installation-id=777", "--repositories=web, api",
                  "--permissions=contents=read,metadata=read", "--secret-file=" + path});
  ASSERT_EQ(r.code, 0) << r.err;
  // The file as it is, less one trailing newline (as with every secret source).
  EXPECT_EQ(stack_.StoredSecret("workspaces/acme/registries/app"), key.substr(0, key.size() - 1));
  EXPECT_TRUE(HasKv(r.out, "type", "GITHUB_APP")) << r.out;
  EXPECT_TRUE(HasKv(r.out, "app_id", "314159")) << r.out;
  EXPECT_TRUE(HasKv(r.out, "installation_id", "777")) << r.out;
  EXPECT_TRUE(HasKv(r.out, "repositories", "api,web")) << r.out;  // the service sorts them
  EXPECT_TRUE(HasKv(r.out, "permissions", "contents=read,metadata=read")) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out + r.err, key_body));

  // Narrowing removed by an empty list; bad numbers and pairs are usage errors.
  Result u = Run({"registries", "update", "acme", "app", "--repositories="});
  ASSERT_EQ(u.code, 0) << u.err;
  EXPECT_TRUE(HasKv(u.out, "permissions", "contents=read,metadata=read")) << u.out;
  EXPECT_FALSE(absl::StrContains(u.out, "web"));
  EXPECT_EQ(Run({"registries", "update", "acme", "app", "--installation-id=-3"}).code, 2);
  EXPECT_EQ(Run({"registries", "update", "acme", "app", "--installation-id=12x"}).code, 2);
  EXPECT_EQ(Run({"registries", "update", "acme", "app", "--permissions=contents"}).code, 2);
  EXPECT_EQ(Run({"registries", "update", "acme", "app", "--owner=acme"}).code, 2);
}

TEST_F(RegauthctlTest, ListAllFollowsPages) {
  for (const char* id : {"a", "b", "c"}) ASSERT_EQ(Run({"workspaces", "create", id}).code, 0);
  Result one = Run({"workspaces", "list", "--page-size=2"});
  ASSERT_EQ(one.code, 0);
  std::vector<std::string> lines = absl::StrSplit(one.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << one.out;  // header, 2 rows, next page hint
  EXPECT_TRUE(absl::StartsWith(lines[3], "next page: --page-token=")) << one.out;

  Result all = Run({"--json", "workspaces", "list", "--page-size=2", "--all"});
  ASSERT_EQ(all.code, 0);
  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(all.out, &json).ok());
  EXPECT_EQ(json.fields().at("workspaces").list_value().values_size(), 3);
  EXPECT_EQ(json.fields().count("nextPageToken"), 0u);
}

TEST_F(RegauthctlTest, AppsCommands) {
  ASSERT_EQ(Run({"workspaces", "create", "acme"}).code, 0);
  env_["PW"] = "pw";
  ASSERT_EQ(Run({"registries", "create", "acme", "hub", "--type=generic", "--url=https://r",
                 "--username=u", "--secret-env=PW"})
                .code,
            0);
  Result created = Run({"apps", "create", "acme", "web", "--registry=hub"});
  ASSERT_EQ(created.code, 0) << created.err;
  EXPECT_TRUE(absl::StrContains(created.out, "workspaces/acme/registries/hub"));
  EXPECT_TRUE(HasKv(created.out, "repository", "acme/web")) << created.out;
  Result list = Run({"apps", "list", "acme"});
  EXPECT_TRUE(absl::StrContains(list.out, "web   hub       acme/web")) << list.out;
  EXPECT_TRUE(HasKv(created.out, "public_pull", "false")) << created.out;
  EXPECT_EQ(Run({"apps", "update", "acme", "web", "--display-name=Web"}).code, 0);
  Result made_public = Run({"apps", "update", "acme", "web", "--public-pull"});
  ASSERT_EQ(made_public.code, 0) << made_public.err;
  EXPECT_TRUE(HasKv(made_public.out, "public_pull", "true")) << made_public.out;
  EXPECT_TRUE(HasKv(made_public.out, "display_name", "Web")) << made_public.out;
  EXPECT_TRUE(HasKv(Run({"apps", "update", "acme", "web", "--public-pull=false"}).out,
                    "public_pull", "false"));
  EXPECT_TRUE(
      HasKv(Run({"apps", "create", "acme", "api", "--public-pull"}).out, "public_pull", "true"));
  EXPECT_EQ(Run({"apps", "update", "acme", "web", "--public-pull=maybe"}).code, 2);
  EXPECT_EQ(Run({"apps", "delete", "acme", "web"}).out, "deleted workspaces/acme/apps/web\n");
  EXPECT_EQ(Run({"apps", "get", "acme", "web"}).code, 1);
}

TEST_F(RegauthctlTest, EventsListFiltersAndShowsThePrincipalKind) {
  ASSERT_EQ(Run({"workspaces", "create", "acme"}).code, 0);
  RegistryEvent push;
  push.event_id = "e1";
  push.workspace_id = "acme";
  push.repository = "acme/web";
  push.action = "push";
  push.tag = "v1";
  push.digest = "sha256:ab12";
  push.actor = "acme+ci";
  push.actor_kind = RegistryEventActorKind::kServiceAccount;
  push.request_addr = "10.0.0.7";
  push.event_time = absl::FromUnixSeconds(1796674861);
  push.receive_time = push.event_time;
  RegistryEvent pull = push;
  pull.event_id = "e2";
  pull.action = "pull";
  pull.actor = "pull+tok";
  pull.actor_kind = RegistryEventActorKind::kPullToken;
  pull.event_time += absl::Seconds(1);
  ASSERT_TRUE(stack_.store().AppendRegistryEvents({push, pull}).ok());

  Result all = Run({"events", "list", "acme"});
  ASSERT_EQ(all.code, 0) << all.err;
  std::vector<std::string> lines = absl::StrSplit(all.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << all.out;  // header, newest first
  EXPECT_TRUE(absl::StrContains(lines[1], "pull+tok")) << all.out;
  EXPECT_TRUE(absl::StrContains(lines[1], "pull-token")) << all.out;
  EXPECT_TRUE(absl::StrContains(lines[2], "service-account")) << all.out;

  Result pushes = Run({"--json", "events", "list", "acme", "--action=push", "--tag=v1",
                       "--since=2026-12-07T00:00:00Z"});
  ASSERT_EQ(pushes.code, 0) << pushes.err;
  EXPECT_TRUE(
      absl::StrContains(pushes.out, "\"principal\": \"workspaces/acme/serviceAccounts/ci\""))
      << pushes.out;
  EXPECT_FALSE(absl::StrContains(pushes.out, "pull+tok")) << pushes.out;
  // Bad filters: refused by the server (INVALID_ARGUMENT) or as usage.
  EXPECT_EQ(Run({"events", "list", "acme", "--action=steal"}).code, 1);
  EXPECT_EQ(Run({"events", "list", "acme", "--repository=beta/web"}).code, 1);
  EXPECT_EQ(Run({"events", "list", "acme", "--since=yesterday"}).code, 2);
  EXPECT_EQ(Run({"events", "list", "acme", "--until=tomorrow"}).code, 2);
  EXPECT_EQ(Run({"events", "list"}).code, 2);
  EXPECT_EQ(Run({"events", "list", "acme", "--resource=x"}).code, 2);
}

TEST_F(RegauthctlTest, UsageErrors) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"bogus"},
           {"workspaces"},
           {"workspaces", "get"},
           {"workspaces", "get", "a", "b"},
           {"workspaces", "get", "a/b"},
           {"workspaces", "get", "a", "--force"},
           {"workspaces", "list", "--page-size=-1"},
           {"workspaces", "list", "--timeout=soon"},
           {"workspaces", "list", "--json=maybe"},
           {"workspaces", "list", "--nope"},
           {"workspaces", "update", "a"},
           {"registries", "create", "a", "r", "--type=quay"},
           {"registries", "create", "a", "r"},
           {"registries", "create", "a", "r", "--type=ghcr", "--secret", "s3cr3t"},
           {"workspaces", "get", "--addr"}}) {
    Result r = Run(args);
    EXPECT_EQ(r.code, 2) << absl::StrJoin(args, " ");
    EXPECT_TRUE(absl::StartsWith(r.err, "error: ")) << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, "usage: regauthctl"));
    EXPECT_FALSE(absl::StrContains(r.err, "s3cr3t"));
  }
  Result help = Run({"help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_TRUE(absl::StartsWith(help.out, "usage: regauthctl"));
}

}  // namespace
}  // namespace registryauth::cli
