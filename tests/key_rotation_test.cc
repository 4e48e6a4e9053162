// Key rotation with the service running (issue 3, "Keys"): two replicas of the real server
// stack on one real PostgreSQL database and one key file, called over real gRPC by several
// client threads doing GetCredentials and UpdateRegistryConfig (new secrets) non-stop, while
// the test follows the multi-replica runbook of deploy/README.md: add a key (not primary),
// reload both, promote it, reload one replica and then the other, re-encrypt every stored
// secret (while other clients rename the configs being re-encrypted), retire the old key,
// reload both. Not one request may fail, and every read returns a secret that was really
// written: exactly the last one for the thread that wrote it, even when it reads through the
// other replica.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/secret.h"
#include "crypto/key_file.h"
#include "crypto/keyring.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "server/config.h"
#include "server/keys_cli.h"
#include "server/server.h"
#include "storage/postgres_store.h"
#include "tests/support/live_server.h"
#include "tests/support/test_stack.h"

namespace registryauth {
namespace {

namespace v1 = ::registryauth::v1;
using testing::Ctx;
using Counts = std::map<uint32_t, int64_t>;

constexpr int kConfigs = 50;
// Writers keep rewriting the first kHot configs (after the reload, under the new key); the
// others stay as they are, so re-encryption has real work to do under load.
constexpr int kHot = 30;
constexpr int kWriters = 4;  // each owns kHot / kWriters of the hot configs
constexpr int kReaders = 3;

std::string ConfigName(int i) { return absl::StrCat("workspaces/acme/registries/reg", i); }
std::string SecretFor(int config, int generation) {
  return absl::StrCat("ghp_rotation", config, "x", generation, "yyyyyyyyyyyyyyyyyyyyyyyy");
}

// What was written to each config: every value ever sent (readers may see any of them while a
// write is in flight), and the last acknowledged one.
class Ledger {
 public:
  void WillWrite(int config, const std::string& secret) {
    absl::MutexLock lock(&mu_);
    written_[config].insert(secret);
  }
  void Acknowledged(int config, const std::string& secret) {
    absl::MutexLock lock(&mu_);
    acked_[config] = secret;
  }
  bool WasWritten(int config, const std::string& secret) const {
    absl::MutexLock lock(&mu_);
    auto it = written_.find(config);
    return it != written_.end() && it->second.count(secret) != 0;
  }
  std::string LastAcknowledged(int config) const {
    absl::MutexLock lock(&mu_);
    auto it = acked_.find(config);
    return it == acked_.end() ? "" : it->second;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<int, std::set<std::string>> written_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::string> acked_ ABSL_GUARDED_BY(mu_);
};

struct Failures {
  absl::Mutex mu;
  std::vector<std::string> messages ABSL_GUARDED_BY(mu);
  void Add(std::string m) {
    absl::MutexLock lock(&mu);
    if (messages.size() < 20) messages.push_back(std::move(m));
    ++count;
  }
  std::atomic<int> count{0};
};

class KeyRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    auto stack = testing::TestStack::Builder().WithoutServer().Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    const char* tmp = std::getenv("TEST_TMPDIR");
    key_file_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/rotation_keys_", ::getpid(), ".txt");
    absl::StatusOr<crypto::KeyFile> first = crypto::KeyFile::New();  // key 1, primary
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(first->Write(key_file_).ok());

    for (auto& live : replicas_) {
      auto started = stack_->StartReplica([&](server::ServerConfig& config) {
        config.keys_text = SecretString();
        config.key_file = key_file_;
        config.db_pool_size = 6;
      });
      ASSERT_TRUE(started.ok()) << started.status();
      live = *std::move(started);
    }

    storage::PostgresOptions options;
    options.dsn = stack_->dsn();
    options.pool_size = 1;
    auto store = storage::PostgresRegistryStore::Create(options);
    ASSERT_TRUE(store.ok());
    store_ = *std::move(store);
  }

  void TearDown() override { std::remove(key_file_.c_str()); }

  // `registry-authd keys ...`, in-process.
  int Keys(std::vector<std::string> args, std::string* out = nullptr) {
    args.insert(args.begin(), "keys");
    args.push_back("--key_file=" + key_file_);
    args.push_back("--database_url=" + stack_->dsn());
    std::ostringstream o;
    std::ostringstream e;
    server::SubcommandIo io{&o, &e, [](const char*) { return std::nullopt; }, nullptr};
    const int code = server::RunSubcommand(args, io);
    if (out != nullptr) *out = o.str();
    if (code != 0) ADD_FAILURE() << absl::StrJoin(args, " ") << ": " << o.str() << e.str();
    return code;
  }

  grpc::Status Update(v1::RegistryAuthService::Stub& stub, int config, const std::string& secret) {
    v1::UpdateRegistryConfigRequest req;
    req.mutable_registry_config()->set_name(ConfigName(config));
    req.mutable_registry_config()->set_secret(secret);
    req.mutable_update_mask()->add_paths("secret");
    v1::RegistryConfig out;
    return stub.UpdateRegistryConfig(Ctx().get(), req, &out);
  }

  grpc::Status Get(v1::RegistryAuthService::Stub& stub, int config, std::string* secret) {
    v1::GetCredentialsRequest req;
    req.set_name(ConfigName(config));
    v1::GetCredentialsResponse out;
    grpc::Status s = stub.GetCredentials(Ctx().get(), req, &out);
    *secret = out.secret();
    return s;
  }

  std::unique_ptr<testing::TestStack> stack_;
  std::string key_file_;
  std::unique_ptr<testing::LiveServer> replicas_[2];
  std::unique_ptr<storage::PostgresRegistryStore> store_;
};

TEST_F(KeyRotationTest, RequestsKeepSucceedingDuringRotationAndReencryption) {
  v1::RegistryAuthService::Stub& stub = replicas_[0]->stub();
  auto replica = [&](int i) -> v1::RegistryAuthService::Stub& { return replicas_[i % 2]->stub(); };
  auto reload = [&](int i) {
    absl::Status s = replicas_[i]->server().ReloadKeys();
    EXPECT_TRUE(s.ok()) << "replica " << i << ": " << s;
  };
  {
    v1::CreateWorkspaceRequest req;
    req.set_workspace_id("acme");
    req.mutable_workspace()->set_display_name("Acme");
    v1::Workspace out;
    ASSERT_TRUE(stub.CreateWorkspace(Ctx().get(), req, &out).ok());
  }
  Ledger ledger;
  for (int i = 0; i < kConfigs; ++i) {
    v1::CreateRegistryConfigRequest req;
    req.set_parent("workspaces/acme");
    req.set_registry_id(absl::StrCat("reg", i));
    req.mutable_registry_config()->set_type(v1::GHCR);
    req.mutable_registry_config()->mutable_ghcr()->set_owner("acme");
    req.mutable_registry_config()->set_secret(SecretFor(i, 0));
    ledger.WillWrite(i, SecretFor(i, 0));
    v1::RegistryConfig out;
    grpc::Status s = stub.CreateRegistryConfig(Ctx().get(), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ledger.Acknowledged(i, SecretFor(i, 0));
  }
  ASSERT_EQ(*store_->CountSecretsByKeyId(), (Counts{{1, kConfigs}}));

  Failures failures;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> requests{0};
  std::vector<std::thread> threads;
  // Writers: each owns hot configs w, w + kWriters, ...; writes a new secret through one
  // replica, then reads it back through the other (read-your-writes must hold exactly).
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      int generation = 0;
      while (!stop.load()) {
        ++generation;
        for (int i = w; i < kHot && !stop.load(); i += kWriters) {
          const std::string secret = SecretFor(i, generation);
          ledger.WillWrite(i, secret);
          grpc::Status s = Update(replica(w), i, secret);
          ++requests;
          if (!s.ok()) {
            failures.Add(
                absl::StrCat("update reg", i, ": ", s.error_code(), " ", s.error_message()));
            continue;
          }
          ledger.Acknowledged(i, secret);
          std::string got;
          s = Get(replica(w + 1), i, &got);
          ++requests;
          if (!s.ok()) {
            failures.Add(absl::StrCat("get reg", i, ": ", s.error_code(), " ", s.error_message()));
          } else if (got != secret) {
            failures.Add(absl::StrCat("get reg", i, " after own write: wrong secret"));
          }
        }
      }
    });
  }
  // A renamer: changes the display name (not the secret) of the cold configs, so updates
  // that keep the secret race the re-encryption of exactly those rows.
  threads.emplace_back([&] {
    int n = 0;
    while (!stop.load()) {
      const int i = kHot + n % (kConfigs - kHot);
      v1::UpdateRegistryConfigRequest req;
      req.mutable_registry_config()->set_name(ConfigName(i));
      req.mutable_registry_config()->set_display_name(absl::StrCat("renamed ", n));
      req.mutable_update_mask()->add_paths("display_name");
      v1::RegistryConfig out;
      grpc::Status s = replica(n).UpdateRegistryConfig(Ctx().get(), req, &out);
      ++requests;
      ++n;
      if (!s.ok()) {
        failures.Add(absl::StrCat("rename reg", i, ": ", s.error_code(), " ", s.error_message()));
      }
    }
  });
  // Readers: any config, any time; the secret must be one that was written to that config.
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      int i = r;
      int n = r;
      while (!stop.load()) {
        i = (i + 7) % kConfigs;
        std::string got;
        grpc::Status s = Get(replica(n++), i, &got);
        ++requests;
        if (!s.ok()) {
          failures.Add(absl::StrCat("get reg", i, ": ", s.error_code(), " ", s.error_message()));
        } else if (!ledger.WasWritten(i, got)) {
          failures.Add(absl::StrCat("get reg", i, ": a secret that was never written"));
        }
      }
    });
  }
  auto wait_for_requests = [&](int64_t n) {
    const int64_t target = requests.load() + n;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (requests.load() < target && absl::Now() < deadline)
      absl::SleepFor(absl::Milliseconds(5));
  };

  wait_for_requests(300);
  const int64_t before_rotation = requests.load();

  // 1. New key 2, not yet primary: every replica must be able to read it before any replica
  // writes with it.
  ASSERT_EQ(Keys({"generate", "--primary=false"}), 0);
  reload(0);
  reload(1);
  wait_for_requests(200);

  // 2. Promote it; the replicas pick it up one after the other. In between, replica 0 writes
  // under key 2 and replica 1 under key 1, and each reads what the other wrote.
  ASSERT_EQ(Keys({"promote", "2"}), 0);
  reload(0);
  wait_for_requests(300);
  reload(1);
  wait_for_requests(200);

  // A key file that drops key 1 while secrets still use it is refused; so is a broken file.
  // The server keeps its ring and the load does not notice.
  {
    absl::StatusOr<crypto::KeyFile> good = crypto::KeyFile::Read(key_file_);
    ASSERT_TRUE(good.ok());
    crypto::KeyFile without1 = *good;
    ASSERT_TRUE(without1.Remove(1).ok());
    ASSERT_TRUE(without1.Write(key_file_).ok());
    absl::Status refused = replicas_[0]->server().ReloadKeys();
    EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
    EXPECT_TRUE(absl::StrContains(refused.message(), "still in use")) << refused;
    // Key 1 with other bytes (say, regenerated by hand under the same id).
    crypto::KeyFile reused = *good;
    ASSERT_TRUE(reused.Remove(1).ok());
    ASSERT_TRUE(reused.AddGeneratedKey(false).ok());  // id 3
    SecretString text = *reused.Format();
    std::string edited(text.view());
    edited.replace(edited.find("key 3 "), 6, "key 1 ");
    ASSERT_TRUE(crypto::WriteFileAtomically(key_file_, edited).ok());
    WipeString(edited);
    refused = replicas_[1]->server().ReloadKeys();
    EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
    EXPECT_TRUE(absl::StrContains(refused.message(), "different key bytes")) << refused;
    ASSERT_TRUE(crypto::WriteFileAtomically(key_file_, "primary 2\nkey 2 broken\n").ok());
    EXPECT_EQ(replicas_[1]->server().ReloadKeys().code(), absl::StatusCode::kInvalidArgument);
    ASSERT_TRUE(good->Write(key_file_).ok());
    wait_for_requests(100);
  }

  // 3. Re-encrypt everything under key 2 in small batches while the writers keep writing.
  Counts before_reencrypt = *store_->CountSecretsByKeyId();
  EXPECT_GE(before_reencrypt[1], kConfigs - kHot);
  std::string reencrypt_out;
  ASSERT_EQ(Keys({"reencrypt", "--batch_size=5"}, &reencrypt_out), 0);
  EXPECT_TRUE(absl::StrContains(reencrypt_out, "done: every stored secret is under key 2"))
      << reencrypt_out;
  EXPECT_EQ(*store_->CountSecretsByKeyId(), (Counts{{2, kConfigs}}));

  // 4. Retire key 1, and reload: the replicas now hold key 2 alone.
  ASSERT_EQ(Keys({"retire", "1"}), 0);
  reload(0);
  reload(1);
  wait_for_requests(300);
  const int64_t during_rotation = requests.load() - before_rotation;

  stop.store(true);
  for (std::thread& t : threads) t.join();

  {
    absl::MutexLock lock(&failures.mu);
    EXPECT_EQ(failures.count.load(), 0) << absl::StrJoin(failures.messages, "\n");
  }
  EXPECT_GE(during_rotation, 1100);  // the load really ran through the rotation
  RecordProperty("requests", static_cast<int>(requests.load()));

  // Every secret reads back as the last one written, with key 2 alone.
  for (int i = 0; i < kConfigs; ++i) {
    std::string got;
    grpc::Status s = Get(stub, i, &got);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(got, ledger.LastAcknowledged(i)) << i;
  }
  EXPECT_EQ(*store_->CountSecretsByKeyId(), (Counts{{2, kConfigs}}));
  std::string usage;
  ASSERT_EQ(Keys({"usage"}, &usage), 0);
  EXPECT_TRUE(absl::StrContains(usage, absl::StrFormat("%-10d %10d %12d  primary", 2, kConfigs, 0)))
      << usage;
  EXPECT_FALSE(absl::StrContains(usage, "\n1 ")) << usage;
  auto ring = crypto::KeyRing::LoadFile(key_file_);
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ((*ring)->key_ids(), std::vector<uint32_t>{2});
}

// Keys given as text (REGAUTH_KEYS) have no file to re-read: ReloadKeys says so and keeps them.
TEST(KeyReloadTest, KeysFromTheEnvironmentCannotBeReloaded) {
  REGAUTH_SKIP_WITHOUT_PG();
  auto stack = testing::TestStack::Builder().Build();
  ASSERT_TRUE(stack.ok()) << stack.status();
  absl::Status s = (*stack)->server().ReloadKeys();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(s.message(), "REGAUTH_KEYS")) << s;
}

}  // namespace
}  // namespace registryauth
