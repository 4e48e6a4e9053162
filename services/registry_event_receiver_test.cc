#include "services/registry_event_receiver.h"

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "gtest/gtest.h"
#include "services/guard.h"
#include "storage/memory_store.h"
#include "storage/testing/failing_registry_store.h"

namespace registryauth::services {
namespace {

constexpr char kSecret[] = "s3cret-s3cret-s3cret-s3cret-s3cret-1";
constexpr char kNext[] = "n3xt-n3xt-n3xt-n3xt-n3xt-n3xt-n3xt-2";

std::string Event(const std::string& id, const std::string& repository,
                  const std::string& actor = "acme+ci") {
  return absl::StrCat(R"({"id": ")", id, R"(", "timestamp": "2026-12-07T20:21:01Z",)",
                      R"("action": "push", "target": {"repository": ")", repository,
                      R"(", "digest": "sha256:ab12", "tag": "v1"}, "actor": {"name": ")", actor,
                      R"("}})");
}

std::string Envelope(const std::vector<std::string>& events) {
  std::string out = R"({"events": [)";
  for (size_t i = 0; i < events.size(); ++i) absl::StrAppend(&out, i > 0 ? "," : "", events[i]);
  return out + "]}";
}

struct Counting : RegistryEventMetrics {
  void OnRegistryEvents(Result result, int64_t count) override { counts[Name(result)] += count; }
  std::map<std::string, int64_t> counts;
};

class RegistryEventReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(memory_.CreateWorkspace(Workspace{"acme", "Acme"}).ok());
    ASSERT_TRUE(memory_.CreateWorkspace(Workspace{"beta", "Beta"}).ok());
  }
  absl::StatusOr<RegistryEventReceiver::Result> Notify(const std::string& authorization,
                                                       const std::string& body) {
    return receiver_.Notify({authorization, body, "req-1", "10.0.0.9"});
  }
  std::vector<RegistryEvent> Stored(const std::string& ws) {
    return memory_.ListRegistryEvents(ws, {}, 1000, std::nullopt)->items;
  }
  std::vector<AuditEvent> Audit() { return memory_.ListAuditEvents({}, 1000, 0)->items; }

  FakeClock clock_{absl::FromUnixSeconds(1796680000)};
  storage::InMemoryRegistryStore memory_;
  storage::testing::FailingRegistryStore store_{memory_};
  Guard guard_{store_, clock_};
  Counting metrics_;
  std::vector<SecretString> secrets_ = {SecretString(kSecret), SecretString(kNext)};
  RegistryEventReceiver receiver_{secrets_, store_, guard_, clock_, &metrics_};
};

TEST_F(RegistryEventReceiverTest, StoresEventsOfExistingWorkspacesOnceAndDropsTheRest) {
  const std::string body = Envelope({Event("e1", "acme/web"), Event("e2", "beta/api", "pull+t"),
                                     Event("e3", "gone/web"), Event("e4", "ubuntu")});
  absl::StatusOr<RegistryEventReceiver::Result> r = Notify(absl::StrCat("Bearer ", kSecret), body);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->received, 4);
  EXPECT_EQ(r->stored, 2);
  EXPECT_EQ(r->duplicates, 0);
  EXPECT_EQ(r->unknown_workspace, 2);
  ASSERT_EQ(Stored("acme").size(), 1u);
  EXPECT_EQ(Stored("acme")[0].receive_time, clock_.Now());
  EXPECT_EQ(Stored("acme")[0].actor_kind, RegistryEventActorKind::kServiceAccount);
  ASSERT_EQ(Stored("beta").size(), 1u);
  EXPECT_EQ(Stored("beta")[0].actor_kind, RegistryEventActorKind::kPullToken);
  EXPECT_TRUE(Stored("gone").empty());

  // The registry retries the same envelope (with the rotation's second secret, scheme in
  // another case): stored once.
  r = Notify(absl::StrCat("bearer  ", kNext), body);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stored, 0);
  EXPECT_EQ(r->duplicates, 2);
  EXPECT_EQ(Stored("acme").size(), 1u);
  EXPECT_EQ(metrics_.counts["stored"], 2);
  EXPECT_EQ(metrics_.counts["duplicate"], 2);
  EXPECT_EQ(metrics_.counts["unknown_workspace"], 4);
  EXPECT_TRUE(Audit().empty());  // accepted deliveries are not audited one by one
}

TEST_F(RegistryEventReceiverTest, WrongOrMissingSecretsAreRefusedAndNothingIsStored) {
  const std::string body = Envelope({Event("e1", "acme/web")});
  for (const std::string& authorization :
       {std::string(), std::string("Bearer"), std::string("Bearer "),
        absl::StrCat("Basic ", kSecret), absl::StrCat("Bearer ", kSecret, "x"),
        absl::StrCat("Bearer ", std::string(kSecret).substr(1)),
        absl::StrCat("Bearer ", kSecret, " ", kNext), absl::StrCat("Bearer", kSecret)}) {
    absl::StatusOr<RegistryEventReceiver::Result> r = Notify(authorization, body);
    ASSERT_FALSE(r.ok()) << authorization;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << authorization;
    EXPECT_EQ(r.status().message(), "invalid credentials");
  }
  EXPECT_TRUE(Stored("acme").empty());
  EXPECT_EQ(metrics_.counts["unauthenticated"], 8);
  // Eight refusals from one address in one minute: one audit row, not eight; it quotes nothing.
  const std::vector<AuditEvent> audit = Audit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "NotifyRegistryEvents");
  EXPECT_EQ(audit[0].outcome, "UNAUTHENTICATED");
  EXPECT_EQ(audit[0].peer, "10.0.0.9");
  EXPECT_EQ(audit[0].detail.find(kSecret), std::string::npos);
}

TEST_F(RegistryEventReceiverTest, MalformedEnvelopesAndStoreOutagesAreErrors) {
  absl::StatusOr<RegistryEventReceiver::Result> r =
      Notify(absl::StrCat("Bearer ", kSecret), R"({"events": [{"id": 1}]})");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(metrics_.counts["invalid"], 1);

  // The store is down: an error (the transport answers 5xx and the registry retries), nothing
  // stored, nothing counted as stored.
  store_.set_next_error(absl::UnavailableError("database down"));
  r = Notify(absl::StrCat("Bearer ", kSecret), Envelope({Event("e1", "acme/web")}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(Stored("acme").empty());
  EXPECT_EQ(metrics_.counts["error"], 1);
  EXPECT_EQ(metrics_.counts["stored"], 0);
  // The retry succeeds.
  r = Notify(absl::StrCat("Bearer ", kSecret), Envelope({Event("e1", "acme/web")}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stored, 1);
}

TEST(RegistryEventSecretsTest, OneOrTwoStrongSecretsPerFile) {
  absl::StatusOr<std::vector<SecretString>> one =
      ParseRegistryEventSecrets(SecretString(absl::StrCat("\n  ", kSecret, "  \r\n\n")));
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].view(), kSecret);
  absl::StatusOr<std::vector<SecretString>> two =
      ParseRegistryEventSecrets(SecretString(absl::StrCat(kSecret, "\n", kNext, "\n")));
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->size(), 2u);
  for (const std::string& bad : {std::string(), std::string("\n \n"), std::string("short"),
                                 absl::StrCat(kSecret, "\n", kNext, "\n", kSecret),
                                 absl::StrCat(kSecret, " x"), std::string(257, 'a')}) {
    absl::StatusOr<std::vector<SecretString>> r = ParseRegistryEventSecrets(SecretString(bad));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(r.status().message()).find("short"), std::string::npos);
    EXPECT_EQ(std::string(r.status().message()).find(kSecret), std::string::npos);
  }
}

}  // namespace
}  // namespace registryauth::services
