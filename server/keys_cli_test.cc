// `registry-authd keys` and `apikey`, run in-process against a real PostgreSQL database
// (REGAUTH_TEST_PG_DSN) and real key files.
#include "server/keys_cli.h"

#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "auth/policy.h"
#include "common/clock.h"
#include "common/secret.h"
#include "crypto/key_file.h"
#include "crypto/keyring.h"
#include "crypto/keyring_holder.h"
#include "gtest/gtest.h"
#include "model/model.h"
#include "model/tokens.h"
#include "server/subcommand_test_util.h"
#include "services/registry_service.h"
#include "storage/postgres_store.h"
#include "storage/postgres_token_store.h"
#include "storage/testing/pg_test_db.h"
#include "tests/support/test_files.h"

namespace registryauth::server {
namespace {

using ::registryauth::testing::NewTestDir;
using ::registryauth::testing::ReadFileOrEmpty;

using ::registryauth::crypto::KeyFile;
using ::registryauth::crypto::KeyRing;
using ::registryauth::testing::PgTestDb;
using Counts = std::map<uint32_t, int64_t>;

using Result = SubcommandResult;

// The base64 key strings of a key file (to look for leaks).
std::vector<std::string> KeyStrings(const std::string& path) {
  std::vector<std::string> keys;
  for (absl::string_view line : absl::StrSplit(ReadFileOrEmpty(path), '\n')) {
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    if (parts.size() == 3 && parts[0] == "key") keys.push_back(parts[2]);
  }
  return keys;
}

std::string GhcrSecret(int i) {
  return absl::StrCat("ghp_KeysCliTest", 100000 + i, "zzzzzzzzzzzzzzzzzzz");
}

class KeysCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    absl::StatusOr<std::unique_ptr<PgTestDb>> db = PgTestDb::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    storage::PostgresOptions options;
    options.dsn = db_->dsn();
    options.pool_size = 2;
    auto store = storage::PostgresRegistryStore::Create(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ASSERT_TRUE(store_->ApplyMigrations().ok());
    dir_ = NewTestDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_FALSE(dir_.empty());
    key_file_ = dir_ + "/keys.txt";
  }

  Result Run(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    return RunSubcommandForTest(args, std::move(env));
  }
  // `keys <args...> --key_file=... --database_url=...`
  Result Keys(std::vector<std::string> args) {
    args.insert(args.begin(), "keys");
    args.push_back("--key_file=" + key_file_);
    args.push_back("--database_url=" + db_->dsn());
    return Run(std::move(args));
  }

  // A service that encrypts with the key file's keys, `primary` as the primary.
  std::unique_ptr<crypto::KeyRingHolder> RingFromFile(uint32_t primary) {
    absl::StatusOr<KeyFile> file = KeyFile::Read(key_file_);
    EXPECT_TRUE(file.ok()) << file.status();
    EXPECT_TRUE(file->Promote(primary).ok());
    return std::make_unique<crypto::KeyRingHolder>(*file->ToKeyRing());
  }

  void CreateConfigs(crypto::Aead& aead, int first, int count) {
    services::RegistryService service(*store_, aead, clock_);
    if (!store_->GetWorkspace("acme").ok()) {
      ASSERT_TRUE(service.CreateWorkspace("acme", "Acme").ok());
    }
    for (int i = first; i < first + count; ++i) {
      services::RegistryConfigInput in;
      in.type = in.settings_type = RegistryType::kGhcr;
      in.owner = "acme";
      in.secret = SecretString(GhcrSecret(i));
      auto created =
          service.CreateRegistryConfig("workspaces/acme", absl::StrCat("reg", i), std::move(in));
      ASSERT_TRUE(created.ok()) << created.status();
    }
  }

  std::string DecryptWith(const crypto::Aead& aead, int i) {
    services::RegistryService service(*store_, aead, clock_);
    auto config = store_->GetRegistryConfig("acme", absl::StrCat("reg", i));
    if (!config.ok()) return "<missing>";
    auto plain = service.DecryptSecret(*config);
    return plain.ok() ? std::string(plain->view()) : "<does not decrypt>";
  }

  std::vector<AuditEvent> KeyAudit() {
    AuditFilter filter;
    filter.caller = "registry-authd keys";
    auto page = store_->ListAuditEvents(filter, 100, 0);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->items : std::vector<AuditEvent>{};
  }

  // Nothing the commands printed or recorded holds key bytes or a stored secret.
  void ExpectNoLeaks(const std::vector<std::string>& texts) {
    std::vector<std::string> needles = KeyStrings(key_file_);
    for (int i = 0; i < 40; ++i) needles.push_back(GhcrSecret(i));
    for (const AuditEvent& e : KeyAudit()) {
      for (const std::string& needle : needles) {
        EXPECT_FALSE(absl::StrContains(absl::StrCat(e.detail, e.resource, e.caller), needle));
      }
    }
    for (const std::string& text : texts) {
      for (const std::string& needle : needles) {
        EXPECT_FALSE(absl::StrContains(text, needle)) << text;
      }
    }
  }

  std::unique_ptr<PgTestDb> db_;
  std::unique_ptr<storage::PostgresRegistryStore> store_;
  FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  std::string dir_;
  std::string key_file_;
};

// One line of `keys usage` output.
std::string UsageRow(uint32_t id, int64_t secrets, int64_t hashes, const std::string& note) {
  return absl::StrFormat("%-10d %10d %12d  %s\n", id, secrets, hashes, note);
}

TEST_F(KeysCliTest, GeneratePromoteAndAuditRows) {
  Result r = Keys({"generate"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "created " + key_file_ + ": added key 1 (primary)"))
      << r.out;
  struct stat st;
  ASSERT_EQ(::stat(key_file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  r = Keys({"generate", "--primary=false"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "added key 2 (primary stays 1)")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "keys promote 2")) << r.out;
  auto ring = KeyRing::LoadFile(key_file_);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ((*ring)->key_ids(), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ((*ring)->primary_key_id(), 1u);

  r = Keys({"promote", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "primary key 2 (was 1)")) << r.out;
  EXPECT_EQ((*KeyRing::LoadFile(key_file_))->primary_key_id(), 2u);

  r = Keys({"promote", "7"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "key 7 is not in the key file")) << r.err;

  r = Keys({"generate", "--noprimary"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ((*KeyRing::LoadFile(key_file_))->primary_key_id(), 2u);
  r = Keys({"generate"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ((*KeyRing::LoadFile(key_file_))->primary_key_id(), 4u);

  std::vector<AuditEvent> audit = KeyAudit();  // newest first
  ASSERT_EQ(audit.size(), 6u);
  const std::vector<std::vector<std::string>> want = {
      {"KeyGenerate", "keys/4", "OK"},       {"KeyGenerate", "keys/3", "OK"},
      {"KeyPromote", "keys/7", "NOT_FOUND"}, {"KeyPromote", "keys/2", "OK"},
      {"KeyGenerate", "keys/2", "OK"},       {"KeyGenerate", "keys/1", "OK"}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(audit[i].action, want[i][0]) << i;
    EXPECT_EQ(audit[i].resource, want[i][1]) << i;
    EXPECT_EQ(audit[i].outcome, want[i][2]) << i;
    EXPECT_TRUE(absl::StartsWith(audit[i].peer, "local:")) << audit[i].peer;
    EXPECT_TRUE(absl::StartsWith(audit[i].request_id, "keys-")) << audit[i].request_id;
  }
  EXPECT_EQ(audit[0].detail, "primary=4");
  EXPECT_EQ(audit[3].detail, "previous_primary=1");
  ExpectNoLeaks({r.out, r.err});
}

TEST_F(KeysCliTest, GenerateWithoutDatabaseWritesNoAuditAndUnreachableDatabaseChangesNothing) {
  Result r = Run({"keys", "generate", "--key_file=" + key_file_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(KeyAudit().empty());
  const std::string before = ReadFileOrEmpty(key_file_);

  // The database is checked before the file is touched.
  r = Run({"keys", "generate", "--key_file=" + key_file_,
           "--database_url=host=127.0.0.1 port=1 dbname=x connect_timeout=1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "database")) << r.err;
  EXPECT_EQ(ReadFileOrEmpty(key_file_), before);
}

TEST_F(KeysCliTest, FlagsFallBackToTheEnvironment) {
  std::map<std::string, std::string> env = {{"REGAUTH_KEY_FILE", key_file_},
                                            {"REGAUTH_DATABASE_URL", db_->dsn()}};
  Result r = Run({"keys", "generate"}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(KeyAudit().size(), 1u);
  r = Run({"keys", "usage"}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "primary")) << r.out;

  // usage and reencrypt read keys from REGAUTH_KEYS too.
  r = Run({"keys", "usage"},
          {{"REGAUTH_DATABASE_URL", db_->dsn()}, {"REGAUTH_KEYS", ReadFileOrEmpty(key_file_)}});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "primary")) << r.out;
}

TEST_F(KeysCliTest, UsageErrorsExitTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {"keys"},
      {"keys", "frobnicate"},
      {"keys", "generate"},  // no key file
      {"keys", "generate", "--key_file=x", "--primary=maybe"},
      {"keys", "generate", "--key_file=x", "--colour=red"},  // unknown flag
      {"keys", "promote", "--key_file=x"},                   // no ID
      {"keys", "promote", "0", "--key_file=x"},
      {"keys", "promote", "4294967296", "--key_file=x"},
      {"keys", "promote", "1", "2", "--key_file=x"},
      {"keys", "retire", "1", "--key_file=x"},  // no database
      {"keys", "usage", "--key_file=x"},        // no database
      {"keys", "usage", "--database_url=x"},    // no keys
      {"keys", "reencrypt", "--key_file=x", "--database_url=x", "--batch_size=0"},
      {"keys", "reencrypt", "--key_file=x", "--database_url=x", "--batch_size=1001"},
      {"keys", "reencrypt", "--key_file=x", "--database_url=x", "--max_rows=-1"},
      {"apikey", "extra"},
  };
  for (const std::vector<std::string>& args : bad) {
    Result r = Run(args);
    EXPECT_EQ(r.code, 2) << absl::StrJoin(args, " ") << "\n" << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, "usage: registry-authd")) << r.err;
  }
  Result help = Run({"keys", "help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_TRUE(absl::StrContains(help.out, "reencrypt")) << help.out;
}

TEST_F(KeysCliTest, FullRotationAgainstPostgres) {
  // Keys 1, 2 and 3 in the file. Secrets are written under 1, then under 2.
  ASSERT_EQ(Keys({"generate"}).code, 0);
  ASSERT_EQ(Keys({"generate"}).code, 0);
  ASSERT_EQ(Keys({"generate", "--primary=false"}).code, 0);
  std::unique_ptr<crypto::KeyRingHolder> under1 = RingFromFile(1);
  std::unique_ptr<crypto::KeyRingHolder> under2 = RingFromFile(2);
  CreateConfigs(*under1, 0, 12);
  CreateConfigs(*under2, 12, 13);
  ASSERT_EQ(*store_->CountSecretsByKeyId(), (Counts{{1, 12}, {2, 13}}));
  std::map<int, RegistryConfig> before;
  for (int i = 0; i < 25; ++i)
    before[i] = *store_->GetRegistryConfig("acme", absl::StrCat("reg", i));

  Result r = Keys({"usage"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, UsageRow(1, 12, 0, ""))) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, UsageRow(2, 13, 0, "primary"))) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, UsageRow(3, 0, 0, "unused: may be retired"))) << r.out;

  // Retiring a key in use, or the primary, is refused and changes nothing.
  const std::string file_before = ReadFileOrEmpty(key_file_);
  r = Keys({"retire", "1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "key 1 still encrypts 12 stored secrets")) << r.err;
  r = Keys({"retire", "2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "key 2 is the primary key")) << r.err;
  r = Keys({"retire", "9"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(ReadFileOrEmpty(key_file_), file_before);

  // Promote 3, interrupt the re-encryption after 10 rows, then resume.
  ASSERT_EQ(Keys({"promote", "3"}).code, 0);
  r = Keys({"reencrypt", "--batch_size=4", "--max_rows=10"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "summary: 10 rewritten, 0 raced")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "run again to continue")) << r.out;
  Counts counts = *store_->CountSecretsByKeyId();
  EXPECT_EQ(counts[3], 10);
  EXPECT_EQ(counts[1] + counts[2], 15);

  r = Keys({"reencrypt", "--batch_size=4"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "batch 1: 4 rewritten")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "summary: 15 rewritten, 0 raced")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "done: every stored secret is under key 3")) << r.out;
  EXPECT_EQ(*store_->CountSecretsByKeyId(), (Counts{{3, 25}}));

  // Same plaintext, readable with key 3 alone; version, etag and update_time unchanged.
  ASSERT_EQ(Keys({"retire", "1"}).code, 0);
  r = Keys({"retire", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "keys left: 3 (primary 3)")) << r.out;
  auto only3 = KeyRing::LoadFile(key_file_);
  ASSERT_TRUE(only3.ok());
  EXPECT_EQ((*only3)->key_ids(), std::vector<uint32_t>{3});
  crypto::KeyRingHolder holder3(*std::move(only3));
  for (int i = 0; i < 25; ++i) {
    EXPECT_EQ(DecryptWith(holder3, i), GhcrSecret(i)) << i;
    RegistryConfig after = *store_->GetRegistryConfig("acme", absl::StrCat("reg", i));
    EXPECT_EQ(after.version, before[i].version);
    EXPECT_EQ(services::RegistryService::EtagOf(after.version),
              services::RegistryService::EtagOf(before[i].version));
    EXPECT_EQ(after.update_time, before[i].update_time);
    EXPECT_EQ(after.secret_hint, before[i].secret_hint);
    EXPECT_NE(after.secret_ciphertext, before[i].secret_ciphertext);
  }
  r = Keys({"usage"});
  ASSERT_EQ(r.code, 0);
  EXPECT_TRUE(absl::StrContains(r.out, UsageRow(3, 25, 0, "primary"))) << r.out;

  std::vector<AuditEvent> audit = KeyAudit();
  std::vector<std::string> actions;
  for (const AuditEvent& e : audit)
    actions.push_back(absl::StrCat(e.action, " ", e.resource, " ", e.outcome));
  EXPECT_EQ(actions,
            (std::vector<std::string>{
                "KeyRetire keys/2 OK", "KeyRetire keys/1 OK", "KeyReencrypt keys/3 OK",
                "KeyReencrypt keys/3 OK", "KeyPromote keys/3 OK", "KeyRetire keys/9 NOT_FOUND",
                "KeyRetire keys/2 FAILED_PRECONDITION", "KeyRetire keys/1 FAILED_PRECONDITION",
                "KeyGenerate keys/3 OK", "KeyGenerate keys/2 OK", "KeyGenerate keys/1 OK"}));
  EXPECT_EQ(audit[2].detail, "rewritten=15 raced=0 skipped=0 finished=true");
  EXPECT_EQ(audit[3].detail, "rewritten=10 raced=0 skipped=0 finished=false");
  ExpectNoLeaks({r.out, r.err});
}

// Issue 17 on PostgreSQL: rows written before the endpoint binding (secret_ad_version 1, the
// migration's default) are moved to the current associated data by `keys reencrypt`, with no
// new key; afterwards an edited endpoint no longer decrypts.
TEST_F(KeysCliTest, ReencryptBindsPreMigrationRowsToTheirEndpoint) {
  ASSERT_EQ(Keys({"generate"}).code, 0);
  std::unique_ptr<crypto::KeyRingHolder> ring = RingFromFile(1);
  CreateConfigs(*ring, 0, 3);
  // Rows 0 and 1 as a server before the binding wrote them: identity-only associated data.
  for (int i = 0; i < 2; ++i) {
    RegistryConfig c = *store_->GetRegistryConfig("acme", absl::StrCat("reg", i));
    absl::StatusOr<std::string> ct =
        ring->Encrypt(GhcrSecret(i), services::RegistryService::SecretAssociatedData("acme", c.id));
    ASSERT_TRUE(ct.ok());
    c.secret_ciphertext = *ct;
    c.secret_ad_version = 1;
    ASSERT_TRUE(store_->UpdateRegistryConfig(c, 0).ok());
    EXPECT_EQ(DecryptWith(*ring, i), GhcrSecret(i));  // still readable before the run
  }
  const std::string current_before = store_->GetRegistryConfig("acme", "reg2")->secret_ciphertext;
  Result usage = Keys({"usage"});
  ASSERT_EQ(usage.code, 0) << usage.err;
  EXPECT_TRUE(absl::StrContains(usage.out, "2 secrets are not yet bound to their endpoint"))
      << usage.out;

  Result r = Keys({"reencrypt"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "summary: 2 rewritten")) << r.out;
  for (int i = 0; i < 3; ++i) {
    RegistryConfig c = *store_->GetRegistryConfig("acme", absl::StrCat("reg", i));
    EXPECT_EQ(c.secret_ad_version, kSecretAdVersionCurrent) << i;
    EXPECT_EQ(DecryptWith(*ring, i), GhcrSecret(i));
  }
  EXPECT_EQ(store_->GetRegistryConfig("acme", "reg2")->secret_ciphertext, current_before);
  usage = Keys({"usage"});
  ASSERT_EQ(usage.code, 0) << usage.err;
  EXPECT_FALSE(absl::StrContains(usage.out, "not yet bound")) << usage.out;

  // Bound now: another owner in the row does not decrypt.
  RegistryConfig moved = *store_->GetRegistryConfig("acme", "reg0");
  moved.owner = "attacker";
  ASSERT_TRUE(store_->UpdateRegistryConfigKeepingSecret(moved, 0).ok());
  EXPECT_EQ(DecryptWith(*ring, 0), "<does not decrypt>");
  // A second run has nothing to do: every row is current (reg0 too, which is not listed and
  // stays undecryptable; its owner's next secret replaces it).
  r = Keys({"reencrypt"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "summary: 0 rewritten")) << r.out;
  ExpectNoLeaks({r.out, r.err});
}

TEST_F(KeysCliTest, UndecryptableRowsAreSkippedReportedAndBlockRetirement) {
  ASSERT_EQ(Keys({"generate"}).code, 0);
  ASSERT_EQ(Keys({"generate", "--primary=false"}).code, 0);
  CreateConfigs(*RingFromFile(1), 0, 6);
  // Two secrets under a key the file never had (a lost key).
  auto lost = KeyRing::Parse(
      absl::StrCat("primary 9\nkey 9 ", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "\n"));
  ASSERT_TRUE(lost.ok());
  crypto::KeyRingHolder lost_holder(*std::move(lost));
  CreateConfigs(lost_holder, 6, 2);
  ASSERT_EQ(Keys({"promote", "2"}).code, 0);

  Result usage = Keys({"usage"});
  ASSERT_EQ(usage.code, 0);
  EXPECT_TRUE(absl::StrContains(usage.out,
                                absl::StrFormat("%-10d %10d %12d  NOT IN THE KEY RING", 9, 2, 0)))
      << usage.out;

  // Batches of 1 with 2 bad rows in front of the loop: it must page past them and end.
  Result r = Keys({"reencrypt", "--batch_size=1"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out,
                                "summary: 6 rewritten, 0 raced (changed meanwhile; a row "
                                "still under an old key is retried), 2 skipped"))
      << r.out;
  EXPECT_TRUE(absl::StrContains(
      r.out,
      "skipped (does not decrypt): workspaces/acme/registries/reg6: key 9 is not in the "
      "key ring\n"))
      << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "workspaces/acme/registries/reg7: key 9")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.err, "2 secrets could not be re-encrypted")) << r.err;
  EXPECT_EQ(*store_->CountSecretsByKeyId(), (Counts{{2, 6}, {9, 2}}));

  std::vector<AuditEvent> audit = KeyAudit();
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit[0].action, "KeyReencrypt");
  EXPECT_EQ(audit[0].outcome, "OK");
  EXPECT_EQ(audit[0].detail, "rewritten=6 raced=0 skipped=2 finished=true");

  // A second run has nothing left but the two bad rows, and still ends.
  r = Keys({"reencrypt"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.out, "summary: 0 rewritten, 0 raced")) << r.out;
  // Key 1 is unused now and may go; key 9 is not in the file at all.
  EXPECT_EQ(Keys({"retire", "1"}).code, 0);
  EXPECT_EQ(Keys({"retire", "9"}).code, 1);
  ExpectNoLeaks({r.out, r.err, usage.out});
}

TEST_F(KeysCliTest, ApiKeyPrintsAKeyAndItsPolicyLine) {
  Result r = Run({"apikey"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_TRUE(absl::StartsWith(lines[0], "rak_")) << lines[0];
  EXPECT_EQ(lines[1], "api_key " + auth::HashApiKey(lines[0]));
  EXPECT_FALSE(absl::StrContains(r.err, lines[0]));
  // The line goes straight into a policy, which then knows the key.
  auto policy = auth::CallerPolicy::Parse(
      absl::StrCat("caller ci\n  ", lines[1], "\n  permissions registries.read\n"));
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE((*policy)->FindByApiKey(lines[0]).has_value());
  EXPECT_NE(Run({"apikey"}).out, r.out);  // fresh every time
}

TEST_F(KeysCliTest, TokenHashesCountAndBlockRetirement) {
  ASSERT_EQ(Keys({"generate"}).code, 0);
  ASSERT_EQ(Keys({"generate"}).code, 0);  // key 2 becomes primary
  // A service account whose secret hash was made under key 1.
  storage::PostgresOptions options;
  options.dsn = db_->dsn();
  options.pool_size = 1;
  auto tokens = storage::PostgresTokenStore::Create(options);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_TRUE(store_->CreateWorkspace(Workspace{"acme", "Acme"}).ok());
  absl::StatusOr<crypto::SecretDigest> digest = RingFromFile(1)->Get()->Hash("ras_x");
  ASSERT_TRUE(digest.ok());
  ASSERT_EQ(digest->key_id, 1u);
  ServiceAccount sa;
  sa.uid = "00000000-0000-4000-8000-000000000001";
  sa.workspace_id = "acme";
  sa.id = "builder";
  sa.secret_hash = {digest->digest, digest->key_id};
  sa.create_time = sa.update_time = sa.secret_rotate_time = absl::Now();
  ASSERT_TRUE((*tokens)->CreateServiceAccount(sa).ok());

  Result r = Keys({"usage"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, UsageRow(1, 0, 1,
                                                "token hashes only: regenerate those "
                                                "service-account secrets, or let the "
                                                "tokens expire")))
      << r.out;
  r = Keys({"retire", "1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "key 1 still verifies 1 token hashes")) << r.err;

  ASSERT_TRUE((*tokens)->DeleteServiceAccount("acme", "builder", 0).ok());
  r = Keys({"retire", "1"});
  EXPECT_EQ(r.code, 0) << r.err;
}

}  // namespace
}  // namespace registryauth::server
