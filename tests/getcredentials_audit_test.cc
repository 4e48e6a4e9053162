// GetCredentials' audit rows under concurrency (issue 20: the rows of concurrent calls are
// written by group commit, services/audit_group_commit.h), over real gRPC against a real
// PostgreSQL database:
//   ConcurrentCallsEachLeaveExactlyOneRow    16 callers x 5 calls: each acknowledged call has
//                                            exactly one OK row with its request id, caller
//                                            and resource, and no other row exists.
//   RefusedAndMissingCallsAreStillAudited    a caller without credentials.read and a missing
//                                            configuration are answered and recorded with
//                                            their outcome, also while others are served.
//   NoRowNoSecretWhenTheTableRefusesInserts  a trigger makes audit_events refuse inserts:
//                                            every concurrent call fails UNAVAILABLE and no
//                                            secret leaves; once the table takes rows again,
//                                            calls succeed.
// Needs PostgreSQL (REGAUTH_TEST_PG_DSN); fails without it when REGAUTH_REQUIRE_PG=1.
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "storage/testing/pg_test_db.h"
#include "storage/testing/sql_probe.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;

constexpr char kSecret[] = "registry-password-1234";

class GetCredentialsAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    absl::StatusOr<std::unique_ptr<testing::TestStack>> stack =
        testing::TestStack::Builder()
            .WithCaller("admin", "registries.manage")
            .WithCaller("worker", "credentials.read registries.read")
            .WithCaller("reader", "registries.read")
            .WithWorkspace("acme")
            .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    for (const char* id : {"r0", "r1", "r2"}) {
      v1::CreateRegistryConfigRequest req;
      req.set_parent("workspaces/acme");
      req.set_registry_id(id);
      v1::RegistryConfig* c = req.mutable_registry_config();
      c->set_type(v1::DISTRIBUTION);
      c->mutable_distribution()->set_url("https://registry.example.com");
      c->mutable_distribution()->set_repository_namespace("acme");
      c->mutable_distribution()->set_username("bot");
      c->set_secret(kSecret);
      v1::RegistryConfig out;
      grpc::Status s = stack_->stub().CreateRegistryConfig(stack_->Ctx("admin").get(), req, &out);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
  }

  // GetCredentials as `caller` with the request id `request_id`.
  grpc::Status Get(const std::string& caller, const std::string& name,
                   const std::string& request_id, v1::GetCredentialsResponse* out) {
    std::unique_ptr<grpc::ClientContext> ctx = stack_->Ctx(caller);
    ctx->AddMetadata("x-request-id", request_id);
    v1::GetCredentialsRequest req;
    req.set_name(name);
    return stack_->stub().GetCredentials(ctx.get(), req, out);
  }

  // request_id -> "caller resource outcome" of every GetCredentials row.
  std::map<std::string, std::vector<std::string>> Rows() {
    std::map<std::string, std::vector<std::string>> rows;
    absl::StatusOr<testing::SqlRows> got = testing::QueryRows(
        stack_->dsn(),
        "SELECT request_id, caller || ' ' || resource || ' ' || outcome FROM audit_events"
        " WHERE action = 'GetCredentials'");
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) return rows;
    for (const std::vector<std::string>& r : *got) rows[r[0]].push_back(r[1]);
    return rows;
  }

  std::unique_ptr<testing::TestStack> stack_;
};

TEST_F(GetCredentialsAuditTest, ConcurrentCallsEachLeaveExactlyOneRow) {
  constexpr int kThreads = 16;
  constexpr int kCalls = 5;
  std::vector<std::vector<grpc::Status>> status(kThreads);
  std::vector<std::vector<std::string>> secrets(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        v1::GetCredentialsResponse out;
        status[t].push_back(Get("worker", absl::StrCat("workspaces/acme/registries/r", (t + i) % 3),
                                absl::StrCat("gc-", t, "-", i), &out));
        secrets[t].push_back(out.secret());
      }
    });
  }
  for (std::thread& th : threads) th.join();
  std::map<std::string, std::vector<std::string>> rows = Rows();
  EXPECT_EQ(rows.size(), static_cast<size_t>(kThreads * kCalls));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kCalls; ++i) {
      ASSERT_TRUE(status[t][i].ok()) << t << "/" << i << ": " << status[t][i].error_message();
      EXPECT_EQ(secrets[t][i], kSecret);
      EXPECT_EQ(rows[absl::StrCat("gc-", t, "-", i)],
                std::vector<std::string>{
                    absl::StrCat("apikey:worker workspaces/acme/registries/r", (t + i) % 3, " OK")})
          << t << "/" << i;
    }
  }
}

TEST_F(GetCredentialsAuditTest, RefusedAndMissingCallsAreStillAudited) {
  std::vector<std::thread> threads;
  std::vector<grpc::Status> served(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      v1::GetCredentialsResponse out;
      served[t] = Get("worker", "workspaces/acme/registries/r0", absl::StrCat("ok-", t), &out);
    });
  }
  v1::GetCredentialsResponse refused_out, missing_out;
  grpc::Status refused = Get("reader", "workspaces/acme/registries/r0", "refused-1", &refused_out);
  grpc::Status missing =
      Get("worker", "workspaces/acme/registries/none", "missing-1", &missing_out);
  for (std::thread& th : threads) th.join();
  for (const grpc::Status& s : served) EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED) << refused.error_message();
  EXPECT_EQ(refused_out.secret(), "");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND) << missing.error_message();
  std::map<std::string, std::vector<std::string>> rows = Rows();
  EXPECT_EQ(
      rows["refused-1"],
      std::vector<std::string>{"apikey:reader workspaces/acme/registries/r0 PERMISSION_DENIED"});
  EXPECT_EQ(rows["missing-1"],
            std::vector<std::string>{"apikey:worker workspaces/acme/registries/none NOT_FOUND"});
  EXPECT_EQ(rows.size(), 10u);
}

TEST_F(GetCredentialsAuditTest, NoRowNoSecretWhenTheTableRefusesInserts) {
  absl::StatusOr<std::string> refused =
      testing::ExecuteSql(stack_->dsn(),
                          "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS"
                          " $$ BEGIN RAISE EXCEPTION 'audit_events refuses rows (test)'; END $$;"
                          " CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events"
                          " FOR EACH ROW EXECUTE FUNCTION refuse_audit()");
  ASSERT_TRUE(refused.ok()) << refused.status();
  constexpr int kThreads = 8;
  std::vector<grpc::Status> status(kThreads);
  std::vector<std::string> secrets(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      v1::GetCredentialsResponse out;
      status[t] = Get("worker", "workspaces/acme/registries/r1", absl::StrCat("down-", t), &out);
      secrets[t] = out.secret();
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(status[t].error_code(), grpc::StatusCode::UNAVAILABLE)
        << t << ": " << status[t].error_message();
    EXPECT_EQ(secrets[t], "") << t;
    EXPECT_EQ(status[t].error_message().find(kSecret), std::string::npos);
  }
  EXPECT_TRUE(Rows().empty());

  ASSERT_TRUE(testing::ExecuteSql(stack_->dsn(), "DROP TRIGGER refuse_audit ON audit_events").ok());
  v1::GetCredentialsResponse out;
  grpc::Status s = Get("worker", "workspaces/acme/registries/r1", "up-again", &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.secret(), kSecret);
  EXPECT_EQ(Rows()["up-again"].size(), 1u);
}

}  // namespace
}  // namespace registryauth
