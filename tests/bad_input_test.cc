// Table-driven bad input over real gRPC against the real stack on a real PostgreSQL.
// Every case must get the right code and a message naming the field, never echo a secret, never
// be huge; and after the whole table the stored data must be exactly as before.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "storage/testing/sql_probe.h"
#include "tests/support/live_server.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;
using testing::Ctx;
using Stub = v1::RegistryAuthService::Stub;

constexpr char kSecret[] = "ghp_BADINPUTsecret000000000000000000000Zz9";
constexpr char kLeakySecret[] = "ghp_LEAKY secret with space";

struct Case {
  std::string name;
  std::function<grpc::Status(Stub&)> call;
  grpc::StatusCode code;
  std::string field;  // must appear in the message (empty: not checked)
};

v1::CreateRegistryConfigRequest GhcrCreate(const std::string& id) {
  v1::CreateRegistryConfigRequest r;
  r.set_parent("workspaces/acme");
  r.set_registry_id(id);
  r.mutable_registry_config()->set_type(v1::GHCR);
  r.mutable_registry_config()->mutable_ghcr()->set_owner("acme");
  r.mutable_registry_config()->set_secret(kSecret);
  return r;
}

v1::CreateRegistryConfigRequest TypedCreate(v1::RegistryType type) {
  v1::CreateRegistryConfigRequest r;
  r.set_parent("workspaces/acme");
  r.set_registry_id("new-one");
  r.mutable_registry_config()->set_type(type);
  r.mutable_registry_config()->set_secret("s3cr3t-password");
  switch (type) {
    case v1::ACR:
      r.mutable_registry_config()->mutable_acr()->set_login_server("acme.azurecr.io");
      r.mutable_registry_config()->mutable_acr()->set_username("puller");
      break;
    case v1::DISTRIBUTION:
      r.mutable_registry_config()->mutable_distribution()->set_url("https://registry.example.com");
      r.mutable_registry_config()->mutable_distribution()->set_repository_namespace("acme");
      break;
    case v1::GENERIC:
      r.mutable_registry_config()->mutable_generic()->set_url("https://registry.example.com:5000");
      r.mutable_registry_config()->mutable_generic()->set_username("bot");
      break;
    default:
      break;
  }
  return r;
}

std::function<grpc::Status(Stub&)> CreateCfg(v1::CreateRegistryConfigRequest req) {
  return [req](Stub& s) {
    v1::RegistryConfig out;
    return s.CreateRegistryConfig(Ctx().get(), req, &out);
  };
}

std::function<grpc::Status(Stub&)> CreateWs(const std::string& id, const std::string& display) {
  return [id, display](Stub& s) {
    v1::CreateWorkspaceRequest req;
    req.set_workspace_id(id);
    req.mutable_workspace()->set_display_name(display);
    v1::Workspace out;
    return s.CreateWorkspace(Ctx().get(), req, &out);
  };
}

std::function<grpc::Status(Stub&)> GetWs(const std::string& name) {
  return [name](Stub& s) {
    v1::GetWorkspaceRequest req;
    req.set_name(name);
    v1::Workspace out;
    return s.GetWorkspace(Ctx().get(), req, &out);
  };
}

std::function<grpc::Status(Stub&)> GetCfg(const std::string& name) {
  return [name](Stub& s) {
    v1::GetRegistryConfigRequest req;
    req.set_name(name);
    v1::RegistryConfig out;
    return s.GetRegistryConfig(Ctx().get(), req, &out);
  };
}

std::function<grpc::Status(Stub&)> UpdateCfg(v1::UpdateRegistryConfigRequest req) {
  return [req](Stub& s) {
    v1::RegistryConfig out;
    return s.UpdateRegistryConfig(Ctx().get(), req, &out);
  };
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    auto stack = testing::TestStack::Builder().Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  // Every stored row, as text, to compare before and after.
  std::string Snapshot() {
    std::string all;
    for (const char* q :
         {"SELECT row_to_json(t)::text FROM workspaces t ORDER BY id",
          "SELECT row_to_json(t)::text FROM apps t ORDER BY workspace_id, id",
          "SELECT row_to_json(t)::text FROM registry_configs t ORDER BY workspace_id, id"}) {
      absl::StatusOr<std::vector<std::string>> rows = testing::QueryColumn(stack_->dsn(), q);
      EXPECT_TRUE(rows.ok()) << rows.status();
      if (!rows.ok()) continue;
      for (const std::string& row : *rows) absl::StrAppend(&all, row, "\n");
    }
    return all;
  }

  std::unique_ptr<testing::TestStack> stack_;
};

TEST_F(BadInputTest, EveryCaseGetsAClearErrorAndNothingChanges) {
  Stub& stub = stack_->stub();
  // Fixture data: workspace acme with a GHCR config and an app; workspace other.
  ASSERT_TRUE(CreateWs("acme", "Acme")(stub).ok());
  ASSERT_TRUE(CreateWs("other", "Other")(stub).ok());
  ASSERT_TRUE(CreateCfg(GhcrCreate("ghcr"))(stub).ok());
  v1::RegistryConfig other_cfg;
  {
    v1::CreateRegistryConfigRequest r = GhcrCreate("elsewhere");
    r.set_parent("workspaces/other");
    ASSERT_TRUE(stub.CreateRegistryConfig(Ctx().get(), r, &other_cfg).ok());
  }
  {
    v1::CreateAppRequest r;
    r.set_parent("workspaces/acme");
    r.set_app_id("api");
    v1::App out;
    ASSERT_TRUE(stub.CreateApp(Ctx().get(), r, &out).ok());
  }
  v1::RegistryConfig current;
  {
    v1::GetRegistryConfigRequest r;
    r.set_name("workspaces/acme/registries/ghcr");
    ASSERT_TRUE(stub.GetRegistryConfig(Ctx().get(), r, &current).ok());
  }
  std::string workspaces_token;
  {
    v1::ListWorkspacesRequest r;
    r.set_page_size(1);
    v1::ListWorkspacesResponse out;
    ASSERT_TRUE(stub.ListWorkspaces(Ctx().get(), r, &out).ok());
    workspaces_token = out.next_page_token();
    ASSERT_FALSE(workspaces_token.empty());
  }
  const std::string before = Snapshot();
  const std::string huge(1 << 20, 'a');

  using C = grpc::StatusCode;
  std::vector<Case> cases = {
      {"empty workspace id", CreateWs("", "x"), C::INVALID_ARGUMENT, "workspace_id"},
      {"upper-case id", CreateWs("Acme2", "x"), C::INVALID_ARGUMENT, "workspace_id"},
      {"id starts with digit", CreateWs("1acme", "x"), C::INVALID_ARGUMENT, "workspace_id"},
      {"id 64 chars", CreateWs(std::string(64, 'a'), "x"), C::INVALID_ARGUMENT, "workspace_id"},
      {"id trailing hyphen", CreateWs("acme-", "x"), C::INVALID_ARGUMENT, "workspace_id"},
      {"id 1 MiB", CreateWs(huge, "x"), C::INVALID_ARGUMENT, "workspace_id"},
      {"id with slash", CreateWs("a/b", "x"), C::INVALID_ARGUMENT, "workspace_id"},
      {"display name 300 chars", CreateWs("fresh", std::string(300, 'd')), C::INVALID_ARGUMENT,
       "display_name"},
      {"display name control char", CreateWs("fresh", "a\x01z"), C::INVALID_ARGUMENT,
       "display_name"},
      {"duplicate workspace", CreateWs("acme", "again"), C::ALREADY_EXISTS, ""},
      {"name without collection", GetWs("acme"), C::INVALID_ARGUMENT, "name"},
      {"name empty id", GetWs("workspaces/"), C::INVALID_ARGUMENT, "name"},
      {"name extra segment", GetWs("workspaces/acme/extra"), C::INVALID_ARGUMENT, "name"},
      {"name 1 MiB", GetWs("workspaces/" + huge), C::INVALID_ARGUMENT, "name"},
      {"missing workspace", GetWs("workspaces/nope"), C::NOT_FOUND, ""},
      {"negative page size",
       [](Stub& s) {
         v1::ListWorkspacesRequest r;
         r.set_page_size(-1);
         v1::ListWorkspacesResponse out;
         return s.ListWorkspaces(Ctx().get(), r, &out);
       },
       C::INVALID_ARGUMENT, "page_size"},
      {"garbage page token",
       [](Stub& s) {
         v1::ListWorkspacesRequest r;
         r.set_page_token("!!not-a-token!!");
         v1::ListWorkspacesResponse out;
         return s.ListWorkspaces(Ctx().get(), r, &out);
       },
       C::INVALID_ARGUMENT, "page_token"},
      {"page token of another list",
       [workspaces_token](Stub& s) {
         v1::ListRegistryConfigsRequest r;
         r.set_parent("workspaces/acme");
         r.set_page_token(workspaces_token);
         v1::ListRegistryConfigsResponse out;
         return s.ListRegistryConfigs(Ctx().get(), r, &out);
       },
       C::INVALID_ARGUMENT, "page_token"},
      {"bad parent",
       [] {
         auto r = GhcrCreate("x");
         r.set_parent("workspace/acme");
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "parent"},
      {"empty registry id", CreateCfg(GhcrCreate("")), C::INVALID_ARGUMENT, "registry_id"},
      {"missing type",
       [] {
         auto r = GhcrCreate("x");
         r.mutable_registry_config()->set_type(v1::REGISTRY_TYPE_UNSPECIFIED);
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.type"},
      {"unknown type number",
       [] {
         auto r = GhcrCreate("x");
         r.mutable_registry_config()->set_type(static_cast<v1::RegistryType>(99));
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.type"},
      {"type/settings mismatch",
       [] {
         auto r = GhcrCreate("x");
         r.mutable_registry_config()->mutable_acr()->set_login_server("a.azurecr.io");
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config"},
      {"ghcr owner missing",
       [] {
         auto r = GhcrCreate("x");
         r.mutable_registry_config()->mutable_ghcr()->clear_owner();
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.ghcr.owner"},
      {"ghcr owner malformed",
       [] {
         auto r = GhcrCreate("x");
         r.mutable_registry_config()->mutable_ghcr()->set_owner("-bad--owner-");
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.ghcr.owner"},
      {"ghcr secret missing",
       [] {
         auto r = GhcrCreate("x");
         r.mutable_registry_config()->clear_secret();
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.secret"},
      {"secret with space",
       [] {
         auto r = GhcrCreate("x");
         r.mutable_registry_config()->set_secret(kLeakySecret);
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.secret"},
      {"secret 5000 bytes",
       [] {
         auto r = GhcrCreate("x");
         r.mutable_registry_config()->set_secret(std::string(5000, 'k'));
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.secret"},
      {"acr login server not azure",
       [] {
         auto r = TypedCreate(v1::ACR);
         r.mutable_registry_config()->mutable_acr()->set_login_server("evil.example.com");
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.acr.login_server"},
      {"acr login server with scheme",
       [] {
         auto r = TypedCreate(v1::ACR);
         r.mutable_registry_config()->mutable_acr()->set_login_server("https://acme.azurecr.io");
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.acr.login_server"},
      {"acr username missing",
       [] {
         auto r = TypedCreate(v1::ACR);
         r.mutable_registry_config()->mutable_acr()->clear_username();
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.acr.username"},
      {"distribution url ftp",
       [] {
         auto r = TypedCreate(v1::DISTRIBUTION);
         r.mutable_registry_config()->mutable_distribution()->set_url("ftp://registry.example.com");
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.distribution.url"},
      {"distribution plain http remote",
       [] {
         auto r = TypedCreate(v1::DISTRIBUTION);
         r.mutable_registry_config()->mutable_distribution()->set_url(
             "http://registry.example.com");
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.distribution.url"},
      {"distribution url with userinfo",
       [] {
         auto r = TypedCreate(v1::DISTRIBUTION);
         r.mutable_registry_config()->mutable_distribution()->set_url(
             "https://u:p@registry.example.com");
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.distribution.url"},
      {"distribution url port 70000",
       [] {
         auto r = TypedCreate(v1::DISTRIBUTION);
         r.mutable_registry_config()->mutable_distribution()->set_url(
             "https://registry.example.com:70000");
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.distribution.url"},
      {"distribution namespace upper case",
       [] {
         auto r = TypedCreate(v1::DISTRIBUTION);
         r.mutable_registry_config()->mutable_distribution()->set_repository_namespace("Bad/NS");
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.distribution.repository_namespace"},
      {"generic url missing",
       [] {
         auto r = TypedCreate(v1::GENERIC);
         r.mutable_registry_config()->mutable_generic()->clear_url();
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.generic.url"},
      {"generic username missing",
       [] {
         auto r = TypedCreate(v1::GENERIC);
         r.mutable_registry_config()->mutable_generic()->clear_username();
         return CreateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.generic.username"},
      {"config in missing workspace",
       [] {
         auto r = GhcrCreate("x");
         r.set_parent("workspaces/nope");
         return CreateCfg(r);
       }(),
       C::NOT_FOUND, ""},
      {"duplicate config", CreateCfg(GhcrCreate("ghcr")), C::ALREADY_EXISTS, ""},
      {"config name with unicode", GetCfg("workspaces/acme/registries/ghcr\xc3\xa9"),
       C::INVALID_ARGUMENT, "name"},
      {"config name of an app", GetCfg("workspaces/acme/apps/api"), C::INVALID_ARGUMENT, "name"},
      {"update unknown mask path",
       [&current] {
         v1::UpdateRegistryConfigRequest r;
         r.mutable_registry_config()->set_name(current.name());
         r.mutable_update_mask()->add_paths("no_such_field");
         return UpdateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "update_mask"},
      {"update changes type",
       [&current] {
         v1::UpdateRegistryConfigRequest r;
         r.mutable_registry_config()->set_name(current.name());
         r.mutable_registry_config()->set_type(v1::ACR);
         r.mutable_registry_config()->mutable_acr()->set_login_server("a.azurecr.io");
         r.mutable_registry_config()->mutable_acr()->set_username("u");
         r.mutable_update_mask()->add_paths("type");
         return UpdateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.type"},
      {"update malformed etag",
       [&current] {
         v1::UpdateRegistryConfigRequest r;
         r.mutable_registry_config()->set_name(current.name());
         r.mutable_registry_config()->set_display_name("new");
         r.mutable_registry_config()->set_etag("not an etag");
         r.mutable_update_mask()->add_paths("display_name");
         return UpdateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "etag"},
      {"update with invalid owner",
       [&current] {
         v1::UpdateRegistryConfigRequest r;
         r.mutable_registry_config()->set_name(current.name());
         r.mutable_registry_config()->mutable_ghcr()->set_owner("bad owner");
         r.mutable_update_mask()->add_paths("ghcr.owner");
         return UpdateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.ghcr.owner"},
      {"update with leaky secret",
       [&current] {
         v1::UpdateRegistryConfigRequest r;
         r.mutable_registry_config()->set_name(current.name());
         r.mutable_registry_config()->set_secret(kLeakySecret);
         r.mutable_update_mask()->add_paths("secret");
         return UpdateCfg(r);
       }(),
       C::INVALID_ARGUMENT, "registry_config.secret"},
      {"update missing config",
       [] {
         v1::UpdateRegistryConfigRequest r;
         r.mutable_registry_config()->set_name("workspaces/acme/registries/nope");
         r.mutable_registry_config()->set_display_name("x");
         r.mutable_update_mask()->add_paths("display_name");
         return UpdateCfg(r);
       }(),
       C::NOT_FOUND, ""},
      {"delete workspace with children",
       [](Stub& s) {
         v1::DeleteWorkspaceRequest r;
         r.set_name("workspaces/acme");
         google::protobuf::Empty out;
         return s.DeleteWorkspace(Ctx().get(), r, &out);
       },
       C::FAILED_PRECONDITION, ""},
      {"app registry in another workspace",
       [&other_cfg](Stub& s) {
         v1::CreateAppRequest r;
         r.set_parent("workspaces/acme");
         r.set_app_id("web");
         r.mutable_app()->set_registry_config(other_cfg.name());
         v1::App out;
         return s.CreateApp(Ctx().get(), r, &out);
       },
       C::INVALID_ARGUMENT, "registry_config"},
      {"app registry missing",
       [](Stub& s) {
         v1::CreateAppRequest r;
         r.set_parent("workspaces/acme");
         r.set_app_id("web");
         r.mutable_app()->set_registry_config("workspaces/acme/registries/nope");
         v1::App out;
         return s.CreateApp(Ctx().get(), r, &out);
       },
       C::NOT_FOUND, ""},
      {"request over 4 MiB", CreateWs("bigone", std::string(5 << 20, 'x')), C::RESOURCE_EXHAUSTED,
       ""},
  };
  ASSERT_GE(cases.size(), 30u);

  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    grpc::Status s = c.call(stub);
    EXPECT_EQ(s.error_code(), c.code) << s.error_message();
    if (!c.field.empty()) {
      EXPECT_TRUE(absl::StrContains(s.error_message(), c.field)) << s.error_message();
    }
    EXPECT_LE(s.error_message().size(), 512u) << "error messages stay short";
    EXPECT_FALSE(absl::StrContains(s.error_message(), "LEAKY")) << s.error_message();
    EXPECT_FALSE(absl::StrContains(s.error_message(), kSecret)) << s.error_message();
  }

  EXPECT_EQ(Snapshot(), before) << "bad input changed stored data";
  // And the service still works.
  v1::RegistryConfig after;
  v1::GetRegistryConfigRequest r;
  r.set_name("workspaces/acme/registries/ghcr");
  ASSERT_TRUE(stub.GetRegistryConfig(Ctx().get(), r, &after).ok());
  EXPECT_EQ(after.etag(), current.etag());
}

TEST_F(BadInputTest, StaleEtagsAreAborted) {
  Stub& stub = stack_->stub();
  ASSERT_TRUE(CreateWs("acme", "Acme")(stub).ok());
  v1::RegistryConfig v1cfg;
  ASSERT_TRUE(stub.CreateRegistryConfig(Ctx().get(), GhcrCreate("ghcr"), &v1cfg).ok());
  v1::UpdateRegistryConfigRequest u;
  u.mutable_registry_config()->set_name(v1cfg.name());
  u.mutable_registry_config()->set_display_name("one");
  u.mutable_registry_config()->set_etag(v1cfg.etag());
  u.mutable_update_mask()->add_paths("display_name");
  v1::RegistryConfig v2cfg;
  ASSERT_TRUE(stub.UpdateRegistryConfig(Ctx().get(), u, &v2cfg).ok());

  // Same update again with the now-stale etag.
  grpc::Status s = UpdateCfg(u)(stub);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();

  v1::DeleteRegistryConfigRequest d;
  d.set_name(v1cfg.name());
  d.set_etag(v1cfg.etag());
  google::protobuf::Empty out;
  s = stub.DeleteRegistryConfig(Ctx().get(), d, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();

  d.set_etag(v2cfg.etag());
  EXPECT_TRUE(stub.DeleteRegistryConfig(Ctx().get(), d, &out).ok());
}

}  // namespace
}  // namespace registryauth
