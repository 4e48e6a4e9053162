// `registry-authd signing-keys`, run in-process on real files with a fake clock.
#include "server/signing_keys_cli.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "crypto/token_signing_keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_files.h"

namespace registryauth::server {
namespace {

using ::registryauth::testing::FileMode;
using ::registryauth::testing::NewTestDir;
using ::registryauth::testing::ReadFileOrEmpty;

using ::registryauth::crypto::ClaimRequirements;
using ::registryauth::crypto::KeyIdStyle;
using ::registryauth::crypto::SigningKeySetFile;
using ::registryauth::crypto::SigningKeyState;
using ::registryauth::crypto::TokenSigningKeys;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 3, 1, 12, 0, 0), absl::UTCTimeZone());

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

class SigningKeysCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTestDir(
        absl::StrCat("skcli_", ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    ASSERT_FALSE(dir_.empty());
    set_ = dir_ + "/signing-keys.txt";
  }

  Result Run(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    std::ostringstream out;
    std::ostringstream err;
    SigningKeysIo io{&out, &err,
                     [env](const char* name) -> std::optional<std::string> {
                       auto it = env.find(name);
                       if (it == env.end()) return std::nullopt;
                       return it->second;
                     },
                     &clock_};
    Result r;
    r.code = RunSigningKeysCommand(args, io);
    r.out = out.str();
    r.err = err.str();
    outputs_.push_back(r.out + r.err);
    return r;
  }
  // `signing-keys <args...> --token_signing_keys=<set>`
  Result Cmd(std::vector<std::string> args) {
    args.insert(args.begin(), "signing-keys");
    args.push_back("--token_signing_keys=" + set_);
    return Run(std::move(args));
  }

  std::unique_ptr<TokenSigningKeys> Load() {
    auto keys = TokenSigningKeys::Load(set_, {}, clock_.Now());
    EXPECT_TRUE(keys.ok()) << keys.status();
    return keys.ok() ? std::move(*keys) : nullptr;
  }

  SigningKeySetFile ReadSet() {
    auto file = SigningKeySetFile::Read(set_);
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? *file : SigningKeySetFile();
  }

  // No command printed a line of any private key file of the test directory.
  void ExpectNoKeyMaterialPrinted(const std::vector<std::string>& key_files) {
    for (const std::string& f : key_files) {
      const std::string pem = ReadFileOrEmpty(f);
      ASSERT_THAT(pem, HasSubstr("PRIVATE KEY"));
      for (absl::string_view line : absl::StrSplit(pem, '\n')) {
        if (line.size() < 16 || absl::StartsWith(line, "-----")) continue;
        for (const std::string& text : outputs_) {
          EXPECT_FALSE(absl::StrContains(text, line)) << text;
        }
      }
    }
    for (const std::string& text : outputs_) {
      EXPECT_FALSE(absl::StrContains(text, "PRIVATE KEY")) << text;
    }
  }

  FakeClock clock_{kStart};
  std::string dir_;
  std::string set_;
  std::vector<std::string> outputs_;
};

nlohmann::json Claims(absl::Time now) {
  return {{"iss", "registry-auth"},
          {"aud", "registry"},
          {"exp", absl::ToUnixSeconds(now + absl::Minutes(5))},
          {"iat", absl::ToUnixSeconds(now)}};
}

TEST_F(SigningKeysCliTest, GenerateStartsTheSetWithAnActiveKeyThenAddsNextKeys) {
  Result r = Cmd({"generate"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("created " + set_ + ": added key k20260301 (active, ES256)"));
  EXPECT_EQ(FileMode(dir_ + "/k20260301.key.pem"), 0600u);
  EXPECT_EQ(FileMode(dir_ + "/k20260301.crt.pem"), 0644u);
  EXPECT_EQ(FileMode(set_), 0644u);

  r = Cmd({"generate"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("updated " + set_ + ": added key k20260301-2 (next, ES256)"));
  EXPECT_THAT(r.out, HasSubstr("signing-keys promote k20260301-2"));

  SigningKeySetFile file = ReadSet();
  ASSERT_EQ(file.entries().size(), 2u);
  EXPECT_EQ(file.entries()[0].state, SigningKeyState::kActive);
  EXPECT_EQ(file.entries()[0].private_key_path, "k20260301.key.pem");
  EXPECT_EQ(file.entries()[1].state, SigningKeyState::kNext);

  auto keys = Load();
  ASSERT_NE(keys, nullptr);
  EXPECT_EQ(keys->active().id, "k20260301");
  EXPECT_EQ(keys->active().cert_not_after, kStart + absl::Hours(24 * 1095));
  EXPECT_EQ(keys->active().cert_not_before, kStart - absl::Minutes(5));
  // The printed kids are the real ones.
  EXPECT_THAT(outputs_[0], HasSubstr(keys->active().libtrust_key_id));
  EXPECT_THAT(outputs_[0], HasSubstr(keys->active().jwk_thumbprint));
  ExpectNoKeyMaterialPrinted({dir_ + "/k20260301.key.pem", dir_ + "/k20260301-2.key.pem"});
}

TEST_F(SigningKeysCliTest, GenerateFlags) {
  Result r = Cmd(
      {"generate", "--id=rsa1", "--alg=RS256", "--cert_cn=tokens.example.com", "--validity=30d"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto keys = Load();
  ASSERT_NE(keys, nullptr);
  EXPECT_EQ(keys->active().id, "rsa1");
  EXPECT_EQ(keys->algorithm(), crypto::JwsAlgorithm::kRs256);
  EXPECT_EQ(keys->active().cert_not_after, kStart + absl::Hours(24 * 30));
  EXPECT_THAT(r.out, HasSubstr("CN tokens.example.com"));

  r = Cmd({"generate", "--id=e2", "--validity=2h"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Load()->keys()[1].cert_not_after, kStart + absl::Hours(2));

  // The same id again, or files that already exist: refused, nothing overwritten.
  const std::string cert_before = ReadFileOrEmpty(dir_ + "/e2.crt.pem");
  r = Cmd({"generate", "--id=e2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("key e2 is already in"));
  ASSERT_EQ(::rename(set_.c_str(), (set_ + ".bak").c_str()), 0);
  r = Cmd({"generate", "--id=e2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("already exists"));
  EXPECT_EQ(ReadFileOrEmpty(dir_ + "/e2.crt.pem"), cert_before);
  EXPECT_FALSE(Exists(set_)) << "a refused generate creates no set file";
}

TEST_F(SigningKeysCliTest, UsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"generate", "--alg=HS256"}, "--alg must be ES256 or RS256"},
      {{"generate", "--validity=soon"}, "--validity must be a positive duration"},
      {{"generate", "--validity=-1h"}, "--validity must be a positive duration"},
      {{"generate", "--validity=4000d"}, "--validity must be a positive duration"},
      {{"generate", "--cert_cn="}, "--cert_cn must be 1 to 64 bytes"},
      {{"generate", "--id=../x"}, "--id must be 1 to 32 characters"},
      {{"generate", "--bogus=1"}, "unknown flag --bogus"},
      {{"generate", "extra"}, "takes no positional arguments"},
      {{"promote"}, "needs exactly one key ID"},
      {{"promote", "a/b"}, "ID must be 1 to 32 characters"},
      {{"remove", "a", "--max_token_ttl=0s"}, "--max_token_ttl must be a positive duration"},
      {{"remove", "a", "--force=maybe"}, "--force must be true or false"},
      {{"export"}, "needs --rootcertbundle=F and/or --jwks=F"},
      {{"export", "--jwks=x", "--kid_style=kid"}, "--kid_style must be jwk-thumbprint or libtrust"},
      {{"frobnicate"}, "unknown command \"frobnicate\""},
  };
  for (const Case& c : cases) {
    Result r = Cmd(c.args);
    EXPECT_EQ(r.code, 2) << c.args[0] << " " << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_THAT(r.err, HasSubstr("usage: registry-authd signing-keys"));
  }
  EXPECT_FALSE(Exists(set_));

  Result r = Run({"signing-keys", "list"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("needs --token_signing_keys (or REGAUTH_TOKEN_SIGNING_KEYS)"));
  r = Run({"signing-keys"});
  EXPECT_EQ(r.code, 2);
  r = Run({"signing-keys", "help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("usage: registry-authd signing-keys"));
  EXPECT_TRUE(IsSigningKeysSubcommand("signing-keys"));
  EXPECT_FALSE(IsSigningKeysSubcommand("keys"));
}

TEST_F(SigningKeysCliTest, EnvironmentFallbacks) {
  Result r = Run({"signing-keys", "generate"}, {{"REGAUTH_TOKEN_SIGNING_KEYS", set_}});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(Exists(set_));
  r = Run({"signing-keys", "export"},
          {{"REGAUTH_TOKEN_SIGNING_KEYS", set_},
           {"REGAUTH_TOKEN_EXPORT_ROOTCERTBUNDLE", dir_ + "/bundle.pem"},
           {"REGAUTH_TOKEN_EXPORT_JWKS", dir_ + "/jwks.json"}});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(Exists(dir_ + "/bundle.pem"));
  EXPECT_TRUE(Exists(dir_ + "/jwks.json"));
  // A flag wins over the environment.
  r = Run({"signing-keys", "list", "--token_signing_keys=" + dir_ + "/none.txt"},
          {{"REGAUTH_TOKEN_SIGNING_KEYS", set_}});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(dir_ + "/none.txt"));
}

TEST_F(SigningKeysCliTest, PromoteRules) {
  ASSERT_EQ(Cmd({"generate", "--id=a"}).code, 0);
  ASSERT_EQ(::chmod(set_.c_str(), 0640), 0);
  Result r = Cmd({"promote", "a"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("key a is active; only a next key can be promoted"));
  r = Cmd({"promote", "zz"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("there is no key zz"));

  ASSERT_EQ(Cmd({"generate", "--id=b"}).code, 0);
  clock_.Advance(absl::Hours(3));
  r = Cmd({"promote", "b"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("key b is active"));
  EXPECT_THAT(r.out, HasSubstr("key a is retiring since 2026-03-01T15:00:00Z"));
  EXPECT_THAT(r.out, HasSubstr("allowed from 2026-03-02T15:01:00Z"));
  EXPECT_EQ(FileMode(set_), 0640u) << "the set file keeps its mode";
  SigningKeySetFile file = ReadSet();
  EXPECT_EQ(file.Active()->id, "b");
  EXPECT_EQ(file.Find("a")->since, kStart + absl::Hours(3));
}

TEST_F(SigningKeysCliTest, PromoteRefusesASetThatWouldNotLoad) {
  ASSERT_EQ(Cmd({"generate", "--id=a"}).code, 0);
  ASSERT_EQ(Cmd({"generate", "--id=b", "--validity=1h"}).code, 0);
  const std::string before = ReadFileOrEmpty(set_);
  clock_.Advance(absl::Hours(2));  // b's certificate has expired
  Result r = Cmd({"promote", "b"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("is unchanged"));
  EXPECT_THAT(r.err, HasSubstr("signing key b: the active key's certificate"));
  EXPECT_EQ(ReadFileOrEmpty(set_), before);
}

TEST_F(SigningKeysCliTest, RemoveWaitsForTheTokenTtl) {
  ASSERT_EQ(Cmd({"generate", "--id=a"}).code, 0);
  ASSERT_EQ(Cmd({"generate", "--id=b"}).code, 0);
  Result r = Cmd({"remove", "b"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("key b is next; only a retiring key can be removed"));
  ASSERT_EQ(Cmd({"promote", "b"}).code, 0);

  clock_.Advance(absl::Hours(24));
  r = Cmd({"remove", "a"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("tokens it signed may still be in use until 2026-03-02T12:01:00Z"));
  EXPECT_NE(ReadSet().Find("a"), nullptr);
  // A shorter TTL allows it earlier.
  r = Cmd({"list", "--max_token_ttl=1h"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("removable"));
  EXPECT_THAT(r.out, Not(HasSubstr("removable from")));

  clock_.Advance(absl::Seconds(60));
  r = Cmd({"remove", "a"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("removed key a"));
  EXPECT_THAT(r.out, HasSubstr("left in place: " + dir_ + "/a.key.pem"));
  EXPECT_TRUE(Exists(dir_ + "/a.key.pem"));
  EXPECT_TRUE(Exists(dir_ + "/a.crt.pem"));
  EXPECT_EQ(ReadSet().Find("a"), nullptr);
  r = Cmd({"remove", "a"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("there is no key a"));
}

TEST_F(SigningKeysCliTest, RemoveForceAndDeleteFiles) {
  ASSERT_EQ(Cmd({"generate", "--id=a"}).code, 0);
  ASSERT_EQ(Cmd({"generate", "--id=b"}).code, 0);
  ASSERT_EQ(Cmd({"promote", "b"}).code, 0);
  Result r = Cmd({"remove", "a", "--max_token_ttl=10m"});
  EXPECT_EQ(r.code, 1);
  r = Cmd({"remove", "a", "--force", "--delete_files"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("deleted " + dir_ + "/a.key.pem"));
  EXPECT_FALSE(Exists(dir_ + "/a.key.pem"));
  EXPECT_FALSE(Exists(dir_ + "/a.crt.pem"));
  EXPECT_TRUE(Exists(dir_ + "/b.key.pem"));
  EXPECT_EQ(Load()->keys().size(), 1u);
}

TEST_F(SigningKeysCliTest, ListShowsKeysWithoutSecrets) {
  ASSERT_EQ(Cmd({"generate", "--id=a"}).code, 0);
  ASSERT_EQ(Cmd({"generate", "--id=b", "--alg=RS256"}).code, 0);
  Result r = Cmd({"list"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto keys = Load();
  ASSERT_NE(keys, nullptr);
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_TRUE(absl::StartsWith(lines[0], "ID "));
  EXPECT_THAT(lines[1], HasSubstr("active"));
  EXPECT_THAT(lines[1], HasSubstr("ES256"));
  EXPECT_THAT(lines[1], HasSubstr(keys->keys()[0].libtrust_key_id));
  EXPECT_THAT(lines[1], HasSubstr(keys->keys()[0].jwk_thumbprint));
  EXPECT_THAT(lines[1], HasSubstr("2029-02-28T12:00:00Z"));  // 1095 days
  EXPECT_THAT(lines[2], HasSubstr("next"));
  EXPECT_THAT(lines[2], HasSubstr("RS256"));
  ExpectNoKeyMaterialPrinted({dir_ + "/a.key.pem", dir_ + "/b.key.pem"});

  // A set that does not load: the error and the entries, exit 1.
  ASSERT_EQ(::chmod((dir_ + "/a.key.pem").c_str(), 0644), 0);
  r = Cmd({"list"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("must not be readable by group or others"));
  EXPECT_THAT(r.out, HasSubstr("a active private_key=a.key.pem cert=a.crt.pem"));
}

TEST_F(SigningKeysCliTest, RotationFlowEndToEnd) {
  const std::string bundle = dir_ + "/rootcertbundle.pem";
  const std::string jwks = dir_ + "/jwks.json";
  auto export_files = [&] {
    Result r = Cmd({"export", "--rootcertbundle=" + bundle, "--jwks=" + jwks});
    EXPECT_EQ(r.code, 0) << r.err;
  };
  auto bundle_count = [&] {
    auto chain = crypto::CertificateDerChainFromPem(ReadFileOrEmpty(bundle));
    return chain.ok() ? chain->size() : 0u;
  };
  ClaimRequirements want;
  want.audience = "registry";

  ASSERT_EQ(Cmd({"generate", "--id=k1"}).code, 0);
  export_files();
  EXPECT_EQ(bundle_count(), 1u);
  std::string t1 = *Load()->Sign(Claims(clock_.Now()));

  // Generate the next key and export: published, not signing.
  ASSERT_EQ(Cmd({"generate", "--id=k2"}).code, 0);
  export_files();
  EXPECT_EQ(bundle_count(), 2u);
  auto jwks_doc = nlohmann::json::parse(ReadFileOrEmpty(jwks));
  ASSERT_EQ(jwks_doc["keys"].size(), 2u);
  auto keys = Load();
  EXPECT_EQ(keys->active().id, "k1");
  std::set<std::string> kids = {jwks_doc["keys"][0]["kid"].get<std::string>(),
                                jwks_doc["keys"][1]["kid"].get<std::string>()};
  EXPECT_EQ(kids, (std::set<std::string>{keys->keys()[0].jwk_thumbprint,
                                         keys->keys()[1].jwk_thumbprint}));
  Result libtrust =
      Cmd({"export", "--jwks=" + dir_ + "/jwks-libtrust.json", "--kid_style=libtrust"});
  ASSERT_EQ(libtrust.code, 0) << libtrust.err;
  EXPECT_EQ(nlohmann::json::parse(ReadFileOrEmpty(dir_ + "/jwks-libtrust.json"))["keys"][1]["kid"],
            keys->keys()[1].libtrust_key_id);
  EXPECT_EQ(crypto::DecodeJwt(*keys->Sign(Claims(clock_.Now())))->kid,
            keys->keys()[0].libtrust_key_id);

  // Promote: k2 signs, k1's token still verifies.
  clock_.Advance(absl::Minutes(1));
  ASSERT_EQ(Cmd({"promote", "k2"}).code, 0);
  keys = Load();
  std::string t2 = *keys->Sign(Claims(clock_.Now()));
  EXPECT_EQ(crypto::DecodeJwt(t2)->kid, keys->keys()[1].libtrust_key_id);
  EXPECT_TRUE(keys->Verify(t2, want, clock_.Now()).ok());
  EXPECT_TRUE(keys->Verify(t1, want, clock_.Now()).ok());

  // Remove: refused before the TTL, allowed after; then k1 is gone from the exports.
  EXPECT_EQ(Cmd({"remove", "k1", "--max_token_ttl=1h"}).code, 1);
  clock_.Advance(absl::Hours(1) + absl::Seconds(59));
  EXPECT_EQ(Cmd({"remove", "k1", "--max_token_ttl=1h"}).code, 1);
  clock_.Advance(absl::Seconds(1));
  ASSERT_EQ(Cmd({"remove", "k1", "--max_token_ttl=1h"}).code, 0);
  export_files();
  EXPECT_EQ(bundle_count(), 1u);
  EXPECT_EQ(nlohmann::json::parse(ReadFileOrEmpty(jwks))["keys"].size(), 1u);
  EXPECT_EQ(Load()->Verify(t1, want, clock_.Now() - absl::Hours(1)).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(FileMode(bundle), 0644u);
  EXPECT_EQ(FileMode(jwks), 0644u);
  ExpectNoKeyMaterialPrinted({dir_ + "/k1.key.pem", dir_ + "/k2.key.pem"});
}

}  // namespace
}  // namespace registryauth::server
