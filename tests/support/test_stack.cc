#include "tests/support/test_stack.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "auth/policy.h"
#include "tests/support/subprocess.h"

namespace registryauth::testing {

TestStack::Builder& TestStack::Builder::WithCaller(std::string name, std::string permissions,
                                                   std::string workspaces) {
  callers_.push_back({std::move(name), "", std::move(permissions), std::move(workspaces)});
  return *this;
}

TestStack::Builder& TestStack::Builder::WithIdentityCaller(std::string name, std::string identity,
                                                           std::string permissions) {
  callers_.push_back({std::move(name), std::move(identity), std::move(permissions)});
  return *this;
}

TestStack::Builder& TestStack::Builder::WithTokenRealm(std::string service, std::string issuer) {
  token_service_ = std::move(service);
  token_issuer_ = std::move(issuer);
  return *this;
}

TestStack::Builder& TestStack::Builder::WithWorkspace(std::string id) {
  workspaces_.push_back(std::move(id));
  return *this;
}

TestStack::Builder& TestStack::Builder::WithApp(std::string workspace, std::string app,
                                                bool public_pull) {
  apps_.push_back({std::move(workspace), std::move(app), public_pull});
  return *this;
}

TestStack::Builder& TestStack::Builder::WithFakeClock() {
  fake_clock_ = true;
  return *this;
}

TestStack::Builder& TestStack::Builder::WithEmptyDatabase() {
  empty_database_ = true;
  return *this;
}

TestStack::Builder& TestStack::Builder::WithoutServer() {
  start_server_ = false;
  return *this;
}

TestStack::Builder& TestStack::Builder::Configure(Customize customize) {
  customize_.push_back(std::move(customize));
  return *this;
}

absl::StatusOr<std::unique_ptr<TestStack>> TestStack::Builder::Build() {
  std::unique_ptr<TestStack> stack(new TestStack(*this));
  absl::StatusOr<std::unique_ptr<PgTestDb>> db =
      empty_database_ ? PgTestDb::Create() : PgTestDb::CreateMigrated();
  if (!db.ok()) return db.status();
  stack->db_ = *std::move(db);
  absl::StatusOr<std::string> dir = MakeTempDir("stack");
  if (!dir.ok()) return dir.status();
  stack->dir_ = *dir;
  // One key ring for every server of the stack, so replicas read each other's rows.
  stack->keys_text_ = SecretString(RandomKeyRingText());
  if (fake_clock_) stack->clock_ = std::make_shared<FakeClock>(absl::Now());

  if (!callers_.empty()) {
    for (const Caller& caller : callers_) {
      if (!caller.identity.empty()) continue;
      absl::StatusOr<SecretString> key = auth::GenerateApiKey();
      if (!key.ok()) return key.status();
      stack->api_keys_[caller.name] = std::string(key->view());
    }
    stack->policy_file_ = stack->dir_ + "/policy";
    absl::Status written = WriteFile(stack->policy_file_, stack->PolicyText(), 0600);
    if (!written.ok()) return written;
  }
  if (!token_service_.empty()) {
    absl::StatusOr<std::string> set_file = WriteTestSigningKeys(stack->dir_);
    if (!set_file.ok()) return set_file.status();
    stack->signing_keys_file_ = *set_file;
    stack->rootcertbundle_path_ = stack->dir_ + "/rootcertbundle.pem";
  }
  if (start_server_) {
    absl::Status started = stack->StartServer();
    if (!started.ok()) return started;
  }
  return stack;
}

TestStack::~TestStack() { StopServer(); }

std::string TestStack::PolicyText() const {
  std::string text;
  for (const Builder::Caller& caller : builder_.callers_) {
    absl::StrAppend(&text, "caller ", caller.name, "\n  ");
    if (caller.identity.empty()) {
      absl::StrAppend(&text, "api_key ", auth::HashApiKey(api_key(caller.name)));
    } else {
      absl::StrAppend(&text, "identity ", caller.identity);
    }
    absl::StrAppend(&text, "\n  permissions ", caller.permissions, "\n");
    if (!caller.workspaces.empty())
      absl::StrAppend(&text, "  workspaces ", caller.workspaces, "\n");
  }
  return text;
}

std::string TestStack::api_key(const std::string& caller) const {
  auto it = api_keys_.find(caller);
  return it == api_keys_.end() ? std::string() : it->second;
}

std::unique_ptr<grpc::ClientContext> TestStack::Ctx(const std::string& caller) const {
  std::unique_ptr<grpc::ClientContext> ctx = testing::Ctx();
  const std::string key = api_key(caller);
  if (!key.empty()) ctx->AddMetadata("x-api-key", key);
  return ctx;
}

void TestStack::Configure(server::ServerConfig& config, const Customize& customize) const {
  config.database_url = db_->dsn();
  config.keys_text = keys_text_;
  config.allow_unauthenticated = policy_file_.empty();
  config.policy_file = policy_file_;
  if (!builder_.token_service_.empty()) {
    config.token_service = builder_.token_service_;
    config.token_issuer = builder_.token_issuer_;
    config.token_signing_keys = signing_keys_file_;
    config.token_export_rootcertbundle = rootcertbundle_path_;
    config.registry_host = builder_.token_service_ + ":5000";
  }
  config.clock = clock_;
  for (const Customize& c : builder_.customize_) c(config);
  if (customize) customize(config);
}

absl::Status TestStack::StartServer(const Customize& customize) {
  StopServer();
  absl::StatusOr<std::unique_ptr<LiveServer>> live = StartReplica(customize);
  if (!live.ok()) return live.status();
  live_ = *std::move(live);
  if (seeded_) return absl::OkStatus();
  seeded_ = true;
  return Seed();
}

void TestStack::StopServer() { live_.reset(); }

absl::StatusOr<std::unique_ptr<LiveServer>> TestStack::StartReplica(const Customize& customize) {
  return LiveServer::Start(db_->dsn(),
                           [&](server::ServerConfig& config) { Configure(config, customize); });
}

absl::StatusOr<std::unique_ptr<server::HttpAdapterOnly>> TestStack::StartAdapterOnly() {
  server::ServerConfig config;
  config.http_listen = "127.0.0.1:0";
  config.http_upstream = absl::StrCat("127.0.0.1:", grpc_port());
  return server::StartHttpAdapterOnly(config);
}

absl::Status TestStack::Seed() {
  // As the first caller who may create workspaces (and is not confined to some); anonymous in
  // the development mode.
  std::string seeder;
  for (const Builder::Caller& caller : builder_.callers_) {
    const bool confined = !caller.workspaces.empty() && caller.workspaces != "*";
    if (caller.identity.empty() && !confined &&
        absl::StrContains(caller.permissions, "registries.manage")) {
      seeder = caller.name;
      break;
    }
  }
  if (!policy_file_.empty() && seeder.empty() &&
      (!builder_.workspaces_.empty() || !builder_.apps_.empty())) {
    return absl::FailedPreconditionError(
        "seeding needs a WithCaller caller with registries.manage");
  }
  for (const std::string& id : builder_.workspaces_) {
    v1::CreateWorkspaceRequest req;
    req.set_workspace_id(id);
    v1::Workspace out;
    grpc::Status s = stub().CreateWorkspace(Ctx(seeder).get(), req, &out);
    if (!s.ok())
      return absl::InternalError(absl::StrCat("seeding workspace ", id, ": ", s.error_message()));
  }
  for (const Builder::AppSeed& seed : builder_.apps_) {
    v1::CreateAppRequest req;
    req.set_parent(absl::StrCat("workspaces/", seed.workspace));
    req.set_app_id(seed.app);
    if (seed.public_pull) req.mutable_app()->set_public_pull(true);
    v1::App out;
    grpc::Status s = stub().CreateApp(Ctx(seeder).get(), req, &out);
    if (!s.ok()) {
      return absl::InternalError(
          absl::StrCat("seeding app ", seed.workspace, "/", seed.app, ": ", s.error_message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace registryauth::testing
