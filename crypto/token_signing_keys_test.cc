#include "crypto/token_signing_keys.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "crypto/jwt_signer.h"
#include "crypto/key_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_files.h"

namespace registryauth::crypto {
namespace {

using ::registryauth::testing::DirectoryEntries;
using ::registryauth::testing::FileMode;
using ::registryauth::testing::ReadFileOrEmpty;

using ::testing::HasSubstr;

const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 3, 1, 12, 0, 0), absl::UTCTimeZone());

std::string TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const std::string dir = absl::StrCat(base != nullptr ? base : "/tmp", "/tsk_", name);
  ::mkdir(dir.c_str(), 0700);
  return dir;
}

void WriteText(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::remove(path.c_str());
  ASSERT_TRUE(WriteNewFile(path, text, mode).ok()) << path;
}

std::unique_ptr<SigningKey> NewKey(bool rsa = false) {
  absl::StatusOr<SecretString> pem = rsa ? GenerateRsaKeyPem(2048) : GenerateEs256KeyPem();
  EXPECT_TRUE(pem.ok()) << pem.status();
  auto key = SigningKey::FromPrivateKeyPem(*pem);
  EXPECT_TRUE(key.ok()) << key.status();
  return std::move(*key);
}

// A key pair on disk: <dir>/<id>.key.pem (0600) and <dir>/<id>.crt.pem.
struct KeyOnDisk {
  std::string id;
  std::string key_path;   // relative to the test dir
  std::string cert_path;  // relative to the test dir
  std::string cert_pem;
  std::shared_ptr<const VerifyingKey> public_key;
};

KeyOnDisk MakeKey(const std::string& dir, const std::string& id, bool rsa = false,
                  absl::Time not_before = kNow - absl::Hours(1),
                  absl::Time not_after = kNow + absl::Hours(24 * 365)) {
  KeyOnDisk k;
  k.id = id;
  k.key_path = id + ".key.pem";
  k.cert_path = id + ".crt.pem";
  absl::StatusOr<SecretString> pem = rsa ? GenerateRsaKeyPem(2048) : GenerateEs256KeyPem();
  EXPECT_TRUE(pem.ok());
  auto key = SigningKey::FromPrivateKeyPem(*pem);
  EXPECT_TRUE(key.ok());
  auto cert = (*key)->SelfSignedCertificatePem({"test signer " + id, not_before, not_after});
  EXPECT_TRUE(cert.ok()) << cert.status();
  k.cert_pem = *cert;
  k.public_key = (*key)->public_key();
  const std::string key_file = dir + "/" + k.key_path;
  std::remove(key_file.c_str());
  EXPECT_TRUE(WriteNewFile(key_file, pem->view(), 0600).ok());
  WriteText(dir + "/" + k.cert_path, *cert);
  return k;
}

std::string Line(const KeyOnDisk& k, const std::string& state, const std::string& extra = "") {
  return absl::StrCat("key ", k.id, " ", state, " private_key=", k.key_path, " cert=", k.cert_path,
                      extra, "\n");
}

std::string RetiringLine(const KeyOnDisk& k, const std::string& since, bool with_key) {
  return absl::StrCat("key ", k.id, " retiring", with_key ? " private_key=" + k.key_path : "",
                      " cert=", k.cert_path, " since=", since, "\n");
}

std::unique_ptr<TokenSigningKeys> LoadOk(const std::string& path, TokenSigningOptions options = {},
                                         absl::Time now = kNow) {
  auto keys = TokenSigningKeys::Load(path, options, now);
  EXPECT_TRUE(keys.ok()) << keys.status();
  return keys.ok() ? std::move(*keys) : nullptr;
}

nlohmann::json Claims(absl::Time now, absl::Duration ttl = absl::Minutes(5)) {
  return {{"iss", "registry-auth"},
          {"aud", "registry.example.com"},
          {"sub", "acme/builder"},
          {"iat", absl::ToUnixSeconds(now)},
          {"nbf", absl::ToUnixSeconds(now)},
          {"exp", absl::ToUnixSeconds(now + ttl)},
          {"access", nlohmann::json::array()}};
}

ClaimRequirements Want() {
  ClaimRequirements want;
  want.issuer = "registry-auth";
  want.audience = "registry.example.com";
  return want;
}

nlohmann::json HeaderOf(const std::string& token) {
  auto decoded = DecodeJwt(token);
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  return decoded.ok() ? decoded->header : nlohmann::json();
}

// ---- Parsing --------------------------------------------------------------------------------

TEST(SigningKeySetFileTest, ParsesAGoodFile) {
  const std::string text =
      "# signing keys\r\n"
      "\n"
      "key k3 next\tprivate_key=k3.key.pem cert=k3.crt.pem   # comment\r\n"
      "  key k2 active cert=/etc/regauth/k2.crt.pem private_key=/etc/regauth/k2.key.pem\n"
      "key k1 retiring since=2026-01-31T12:00:00Z cert=k1.crt.pem\n"
      "key k0.old_x-1 retiring private_key=k0.pem cert=k0.crt since=2026-01-31T13:00:00+01:00";
  auto file = SigningKeySetFile::Parse(text);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->entries().size(), 4u);
  const auto& e = file->entries();
  EXPECT_EQ(e[0].id, "k3");
  EXPECT_EQ(e[0].state, SigningKeyState::kNext);
  EXPECT_EQ(e[0].private_key_path, "k3.key.pem");
  EXPECT_EQ(e[0].cert_path, "k3.crt.pem");
  EXPECT_FALSE(e[0].since.has_value());
  EXPECT_EQ(e[1].state, SigningKeyState::kActive);
  EXPECT_EQ(e[1].private_key_path, "/etc/regauth/k2.key.pem");
  EXPECT_EQ(e[2].state, SigningKeyState::kRetiring);
  EXPECT_TRUE(e[2].private_key_path.empty());
  const absl::Time since =
      absl::FromCivil(absl::CivilSecond(2026, 1, 31, 12, 0, 0), absl::UTCTimeZone());
  EXPECT_EQ(e[2].since, since);
  EXPECT_EQ(e[3].id, "k0.old_x-1");
  EXPECT_EQ(e[3].since, since);  // 13:00+01:00 == 12:00Z
  ASSERT_NE(file->Active(), nullptr);
  EXPECT_EQ(file->Active()->id, "k2");
  EXPECT_EQ(file->Find("k1"), &e[2]);
  EXPECT_EQ(file->Find("nope"), nullptr);
}

TEST(SigningKeySetFileTest, FormatRoundTrips) {
  auto file = SigningKeySetFile::Parse(
      "key a active private_key=a.key cert=a.crt\n"
      "key b retiring cert=b.crt since=2026-02-03T04:05:06.789Z\n"
      "key c next private_key=c.key cert=c.crt\n");
  ASSERT_TRUE(file.ok()) << file.status();
  const std::string text = file->Format();
  EXPECT_THAT(text, HasSubstr("key b retiring cert=b.crt since=2026-02-03T04:05:06Z\n"));
  auto again = SigningKeySetFile::Parse(text);
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << text;
  EXPECT_EQ(again->entries(), file->entries());
}

TEST(SigningKeySetFileTest, EmptyFileAndNoActiveKeyParse) {
  auto empty = SigningKeySetFile::Parse("# nothing yet\n");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->entries().empty());
  EXPECT_EQ(empty->Active(), nullptr);
  auto next_only = SigningKeySetFile::Parse("key a next private_key=a cert=b\n");
  ASSERT_TRUE(next_only.ok());
  EXPECT_EQ(next_only->Active(), nullptr);
}

TEST(SigningKeySetFileTest, BadLinesNameTheLineAndNeverQuoteIt) {
  struct Case {
    std::string line;
    std::string message;
  };
  // Each bad line carries the marker "Zq9" somewhere, which must never show up in the error.
  const std::vector<Case> cases = {
      {"primary Zq9", "expected 'key <id>"},
      {"key Zq9 active", "expected 'key <id>"},
      {"key Zq9 active private_key=a cert=b since=2026-01-01T00:00:00Z extra=Zq9 more",
       "expected 'key <id>"},
      {"key -Zq9 next private_key=a cert=b", "key id must be 1 to 32 characters"},
      {"key Zq9/x next private_key=a cert=b", "key id must be 1 to 32 characters"},
      {absl::StrCat("key ", std::string(33, 'a'), " next private_key=Zq9 cert=b"),
       "key id must be 1 to 32 characters"},
      {"key a Zq9 private_key=a cert=b", "state must be active, next or retiring"},
      {"key a next private_key=a cert=b Zq9=1", "unknown attribute"},
      {"key a next private_key=a cert=b Zq9", "unknown attribute"},
      {"key a next private_key=a cert=b cert=Zq9", "repeated attribute"},
      {"key a next private_key= cert=Zq9", "empty or invalid path"},
      {"key a next private_key=Zq9 cert=", "empty or invalid path"},
      {"key a next private_key=Zq9 since=2026-01-01T00:00:00Z", "missing or invalid cert="},
      {"key a active cert=Zq9", "an active or next key needs private_key="},
      {"key a next cert=Zq9", "an active or next key needs private_key="},
      {"key a retiring cert=Zq9", "a retiring key needs since="},
      {"key a retiring cert=Zq9 since=2026-13-01T00:00:00Z", "since must be an RFC 3339 time"},
      {"key a retiring cert=Zq9 since=yesterday", "since must be an RFC 3339 time"},
      {"key a retiring cert=Zq9 since=2026-01-01", "since must be an RFC 3339 time"},
      {"key a retiring cert=Zq9 since=1969-12-31T23:59:59Z", "since must be an RFC 3339 time"},
      {"key a active private_key=x cert=Zq9 since=2026-01-01T00:00:00Z",
       "since= is only for retiring keys"},
      {"key a next private_key=x cert=Zq9 since=2026-01-01T00:00:00Z",
       "since= is only for retiring keys"},
  };
  for (const Case& c : cases) {
    const std::string text = "# header\n\n" + c.line + "\n";
    auto file = SigningKeySetFile::Parse(text);
    ASSERT_FALSE(file.ok()) << c.line;
    EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument) << c.line;
    EXPECT_THAT(std::string(file.status().message()), HasSubstr("signing key set: line 3: "))
        << c.line;
    EXPECT_THAT(std::string(file.status().message()), HasSubstr(c.message)) << c.line;
    EXPECT_FALSE(absl::StrContains(file.status().message(), "Zq9")) << file.status();
  }
}

TEST(SigningKeySetFileTest, DuplicateIdsAndTwoActivesAreRefused) {
  auto dup = SigningKeySetFile::Parse(
      "key a next private_key=a cert=a\n"
      "key b next private_key=b cert=b\n"
      "key a retiring cert=c since=2026-01-01T00:00:00Z\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "signing key set: line 3: duplicate key id (first on line 1)");
  auto two = SigningKeySetFile::Parse(
      "key a active private_key=a cert=a\n"
      "\n"
      "key b active private_key=b cert=b\n");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.status().message(), "signing key set: line 3: second active key (first on line 1)");
}

TEST(SigningKeySetFileTest, PromoteAndRemove) {
  auto file = SigningKeySetFile::Parse(
      "key old retiring cert=o since=2026-01-01T00:00:00Z\n"
      "key cur active private_key=c cert=c\n"
      "key new next private_key=n cert=n\n");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->Promote("cur", kNow).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(file->Promote("old", kNow).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(file->Promote("nope", kNow).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(file->Promote("new", kNow + absl::Milliseconds(700)).ok());
  EXPECT_EQ(file->Active()->id, "new");
  EXPECT_FALSE(file->Active()->since.has_value());
  EXPECT_EQ(file->Find("cur")->state, SigningKeyState::kRetiring);
  EXPECT_EQ(file->Find("cur")->since, kNow);  // whole seconds

  EXPECT_EQ(file->Remove("new").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(file->Remove("nope").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(file->Remove("old").ok());
  EXPECT_EQ(file->Find("old"), nullptr);
  EXPECT_EQ(file->entries().size(), 2u);

  // Edits keep the file parseable.
  auto again = SigningKeySetFile::Parse(file->Format());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->entries(), file->entries());
}

TEST(SigningKeySetFileTest, AddChecksLikeParse) {
  SigningKeySetFile file;
  SigningKeyEntry a{"a", SigningKeyState::kActive, "a.key", "a.crt", std::nullopt};
  ASSERT_TRUE(file.Add(a).ok());
  EXPECT_EQ(file.Add(a).code(), absl::StatusCode::kAlreadyExists);
  SigningKeyEntry b{"b", SigningKeyState::kActive, "b.key", "b.crt", std::nullopt};
  EXPECT_EQ(file.Add(b).code(), absl::StatusCode::kInvalidArgument);
  b.state = SigningKeyState::kNext;
  b.private_key_path = "";
  EXPECT_EQ(file.Add(b).code(), absl::StatusCode::kInvalidArgument);
  b.private_key_path = "has space";
  EXPECT_EQ(file.Add(b).code(), absl::StatusCode::kInvalidArgument);
  b.private_key_path = "b.key";
  b.id = "../b";
  EXPECT_EQ(file.Add(b).code(), absl::StatusCode::kInvalidArgument);
  b.id = "b";
  ASSERT_TRUE(file.Add(b).ok());
  EXPECT_EQ(file.entries().size(), 2u);
}

TEST(SigningKeySetFileTest, ReadNamesThePathAndReportsMissingFiles) {
  const std::string dir = TempDir();
  auto missing = SigningKeySetFile::Read(dir + "/none.txt");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  WriteText(dir + "/bad.txt", "key a bogus x\n");
  auto bad = SigningKeySetFile::Read(dir + "/bad.txt");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            absl::StrCat("signing key set ", dir,
                         "/bad.txt: line 1: state must be active, next or retiring"));
}

// ---- Loading --------------------------------------------------------------------------------

class TokenSigningKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    set_ = dir_ + "/signing-keys.txt";
  }
  void WriteSet(const std::string& text) { WriteText(set_, text); }
  absl::Status LoadStatus(absl::Time now = kNow) {
    return TokenSigningKeys::Load(set_, {}, now).status();
  }

  std::string dir_;
  std::string set_;
};

TEST_F(TokenSigningKeysTest, LoadsAllStatesWithRelativePaths) {
  const KeyOnDisk a = MakeKey(dir_, "a");
  const KeyOnDisk b = MakeKey(dir_, "b");
  const KeyOnDisk c = MakeKey(dir_, "c");
  const KeyOnDisk d = MakeKey(dir_, "d");
  WriteSet(Line(b, "next") + Line(a, "active") + RetiringLine(c, "2026-02-01T00:00:00Z", false) +
           RetiringLine(d, "2026-02-02T00:00:00Z", true));
  // Relative paths resolve against the set file's directory, not the working directory.
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_NE(std::string(cwd), dir_);
  auto keys = LoadOk(set_);
  ASSERT_NE(keys, nullptr);
  ASSERT_EQ(keys->keys().size(), 4u);
  EXPECT_EQ(keys->active().id, "a");
  EXPECT_EQ(keys->ActiveKeyId(KeyIdStyle::kLibtrust), a.public_key->LibtrustKeyId());
  EXPECT_EQ(keys->ActiveKeyId(KeyIdStyle::kJwkThumbprint), a.public_key->JwkThumbprint());
  EXPECT_EQ(keys->KeyId(), a.public_key->LibtrustKeyId());  // default style
  EXPECT_EQ(keys->algorithm(), JwsAlgorithm::kEs256);

  const SigningKeyInfo& next = keys->keys()[0];
  EXPECT_EQ(next.id, "b");
  EXPECT_EQ(next.state, SigningKeyState::kNext);
  EXPECT_TRUE(next.has_private_key);
  EXPECT_EQ(next.private_key_path, dir_ + "/b.key.pem");
  EXPECT_EQ(next.cert_path, dir_ + "/b.crt.pem");
  EXPECT_EQ(next.jwk_thumbprint, b.public_key->JwkThumbprint());
  EXPECT_EQ(next.cert_not_after, kNow + absl::Hours(24 * 365));
  EXPECT_EQ(next.cert_not_before, kNow - absl::Hours(1));
  const SigningKeyInfo& retiring = keys->keys()[2];
  EXPECT_EQ(retiring.state, SigningKeyState::kRetiring);
  EXPECT_FALSE(retiring.has_private_key);
  EXPECT_TRUE(retiring.private_key_path.empty());
  EXPECT_EQ(retiring.libtrust_key_id, c.public_key->LibtrustKeyId());
  EXPECT_EQ(retiring.retiring_since,
            absl::FromCivil(absl::CivilSecond(2026, 2, 1), absl::UTCTimeZone()));
  EXPECT_TRUE(keys->keys()[3].has_private_key);

  const std::string summary = keys->Summary();
  EXPECT_THAT(summary, HasSubstr("a (active, ES256)"));
  EXPECT_THAT(summary, HasSubstr("c (retiring, ES256)"));
  EXPECT_THAT(summary, HasSubstr(a.public_key->LibtrustKeyId()));
}

TEST_F(TokenSigningKeysTest, AlgorithmComesFromTheKey) {
  const KeyOnDisk r = MakeKey(dir_, "r", /*rsa=*/true);
  WriteSet(Line(r, "active"));
  auto keys = LoadOk(set_);
  ASSERT_NE(keys, nullptr);
  EXPECT_EQ(keys->algorithm(), JwsAlgorithm::kRs256);
  EXPECT_EQ(keys->active().algorithm, JwsAlgorithm::kRs256);
  auto token = keys->Sign(Claims(kNow));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(HeaderOf(*token)["alg"], "RS256");
  EXPECT_TRUE(keys->Verify(*token, Want(), kNow).ok());
}

TEST_F(TokenSigningKeysTest, NoActiveKeyIsRefused) {
  const KeyOnDisk a = MakeKey(dir_, "a");
  WriteSet(Line(a, "next"));
  absl::Status s = LoadStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("no active key"));
  WriteSet("# empty\n");
  EXPECT_EQ(LoadStatus().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TokenSigningKeysTest, MissingFilesAreRefusedNamingTheKey) {
  const KeyOnDisk a = MakeKey(dir_, "a");
  WriteSet(Line(a, "active") + "key gone next private_key=gone.key.pem cert=" + a.cert_path + "\n");
  absl::Status s = LoadStatus();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("signing key gone: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr(dir_ + "/gone.key.pem"));

  WriteSet(Line(a, "active") + "key gone retiring cert=gone.crt.pem since=2026-01-01T00:00:00Z\n");
  s = LoadStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("signing key gone: cannot open certificate"));

  EXPECT_EQ(TokenSigningKeys::Load(dir_ + "/no-such-set.txt", {}, kNow).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TokenSigningKeysTest, GroupReadablePrivateKeyIsRefused) {
  const KeyOnDisk a = MakeKey(dir_, "a");
  WriteSet(Line(a, "active"));
  ASSERT_TRUE(LoadStatus().ok());
  ASSERT_EQ(::chmod((dir_ + "/" + a.key_path).c_str(), 0640), 0);
  absl::Status s = LoadStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("signing key a: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr("must not be readable by group or others"));
  ASSERT_EQ(::chmod((dir_ + "/" + a.key_path).c_str(), 0604), 0);
  EXPECT_EQ(LoadStatus().code(), absl::StatusCode::kFailedPrecondition);
  // The certificate is public: any mode is fine.
  ASSERT_EQ(::chmod((dir_ + "/" + a.key_path).c_str(), 0400), 0);
  ASSERT_EQ(::chmod((dir_ + "/" + a.cert_path).c_str(), 0644), 0);
  EXPECT_TRUE(LoadStatus().ok());
}

TEST_F(TokenSigningKeysTest, CertificateOfAnotherKeyIsRefused) {
  const KeyOnDisk a = MakeKey(dir_, "a");
  const KeyOnDisk b = MakeKey(dir_, "b");
  WriteSet("key a active private_key=" + a.key_path + " cert=" + b.cert_path + "\n");
  absl::Status s = LoadStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("signing key a: the certificate"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("does not hold the public key"));
  EXPECT_FALSE(absl::StrContains(s.message(), "PRIVATE KEY"));
  // Same for a next key.
  WriteSet(Line(a, "active") + "key b next private_key=" + b.key_path + " cert=" + a.cert_path +
           "\n");
  s = LoadStatus();
  EXPECT_THAT(std::string(s.message()), HasSubstr("signing key b: the certificate"));
}

TEST_F(TokenSigningKeysTest, GarbageFilesAreRefusedWithoutQuotingThem) {
  const KeyOnDisk a = MakeKey(dir_, "a");
  WriteText(dir_ + "/junk.key.pem", "-----BEGIN PRIVATE KEY-----\nSECRETJUNK\n", 0600);
  WriteSet("key a active private_key=junk.key.pem cert=" + a.cert_path + "\n");
  absl::Status s = LoadStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("signing key a: private key file"));
  EXPECT_FALSE(absl::StrContains(s.message(), "SECRETJUNK"));
  WriteText(dir_ + "/junk.crt.pem", "not a certificate\n");
  WriteSet("key a active private_key=" + a.key_path + " cert=junk.crt.pem\n");
  s = LoadStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("signing key a: certificate file"));
}

TEST_F(TokenSigningKeysTest, ExpiredActiveCertificateIsRefused) {
  const KeyOnDisk old = MakeKey(dir_, "old", false, kNow - absl::Hours(48), kNow - absl::Hours(1));
  const KeyOnDisk cur = MakeKey(dir_, "cur");
  WriteSet(Line(old, "active"));
  absl::Status s = LoadStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("signing key old: the active key's certificate"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("expired"));
  // Valid an hour earlier.
  EXPECT_TRUE(LoadStatus(kNow - absl::Hours(2)).ok());
  // An expired certificate of a retiring or next key does not stop the set.
  WriteSet(Line(cur, "active") + RetiringLine(old, "2026-01-01T00:00:00Z", true));
  EXPECT_TRUE(LoadStatus().ok());
  // Not valid yet (beyond the one-minute leeway).
  const KeyOnDisk future =
      MakeKey(dir_, "future", false, kNow + absl::Hours(1), kNow + absl::Hours(100));
  WriteSet(Line(future, "active"));
  s = LoadStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("is not valid before"));
}

TEST_F(TokenSigningKeysTest, SameKeyTwiceIsRefused) {
  const KeyOnDisk a = MakeKey(dir_, "a");
  WriteSet(Line(a, "active") + "key a2 retiring cert=" + a.cert_path +
           " since=2026-01-01T00:00:00Z\n");
  absl::Status s = LoadStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("signing keys a and a2 hold the same public key"));
}

// ---- Signing and verifying ------------------------------------------------------------------

TEST_F(TokenSigningKeysTest, KidModeInBothStyles) {
  const KeyOnDisk a = MakeKey(dir_, "a");
  const KeyOnDisk n = MakeKey(dir_, "n");
  WriteSet(Line(a, "active") + Line(n, "next"));
  for (KeyIdStyle style : {KeyIdStyle::kLibtrust, KeyIdStyle::kJwkThumbprint}) {
    TokenSigningOptions options;
    options.kid_style = style;
    auto keys = LoadOk(set_, options);
    ASSERT_NE(keys, nullptr);
    const JwtSigner& signer = *keys;
    EXPECT_EQ(signer.KeyId(), a.public_key->KeyId(style));
    auto token = signer.Sign(Claims(kNow));
    ASSERT_TRUE(token.ok()) << token.status();
    const nlohmann::json header = HeaderOf(*token);
    EXPECT_EQ(header["kid"], a.public_key->KeyId(style));
    EXPECT_EQ(header["alg"], "ES256");
    EXPECT_FALSE(header.contains("x5c"));

    // Our verifier.
    const JwtVerifier& verifier = *keys;
    auto claims = verifier.Verify(*token, Want(), kNow + absl::Minutes(1));
    ASSERT_TRUE(claims.ok()) << claims.status();
    EXPECT_EQ((*claims)["sub"], "acme/builder");
    // crypto/jwt.h directly, with only the public key from the certificate (what a registry
    // holds).
    auto from_cert = VerifyingKey::FromCertificatePem(a.cert_pem);
    ASSERT_TRUE(from_cert.ok());
    VerifyingKeySet registry({std::shared_ptr<const VerifyingKey>(std::move(*from_cert))});
    FakeClock clock(kNow);
    auto direct = VerifyJwt(
        *token, [&](std::string_view kid) { return registry.Find(kid); }, Want(), clock);
    EXPECT_TRUE(direct.ok()) << direct.status();
    // Expired, wrong audience.
    EXPECT_EQ(verifier.Verify(*token, Want(), kNow + absl::Minutes(10)).status().code(),
              absl::StatusCode::kUnauthenticated);
    ClaimRequirements other = Want();
    other.audience = "other.example.com";
    EXPECT_EQ(verifier.Verify(*token, other, kNow).status().code(),
              absl::StatusCode::kUnauthenticated);
  }
}

TEST_F(TokenSigningKeysTest, X5cModeCarriesTheCertificateAndKid) {
  const KeyOnDisk a = MakeKey(dir_, "a");
  const KeyOnDisk r = MakeKey(dir_, "r");
  WriteSet(Line(a, "active") + RetiringLine(r, "2026-02-01T00:00:00Z", true));
  TokenSigningOptions options;
  options.header_mode = TokenHeaderMode::kX5c;
  options.kid_style = KeyIdStyle::kJwkThumbprint;
  auto keys = LoadOk(set_, options);
  ASSERT_NE(keys, nullptr);
  auto token = keys->Sign(Claims(kNow));
  ASSERT_TRUE(token.ok()) << token.status();
  const nlohmann::json header = HeaderOf(*token);
  auto der = CertificateDerChainFromPem(a.cert_pem);
  ASSERT_TRUE(der.ok());
  ASSERT_TRUE(header["x5c"].is_array());
  ASSERT_EQ(header["x5c"].size(), 1u);
  EXPECT_EQ(header["x5c"][0], absl::Base64Escape(der->front()));
  EXPECT_EQ(header["kid"], a.public_key->JwkThumbprint());
  EXPECT_TRUE(keys->Verify(*token, Want(), kNow).ok());

  // Without a kid, the x5c leaf alone finds the key: ours verify, a stranger's does not.
  auto a_key =
      SigningKey::FromPrivateKeyPem(SecretString(ReadFileOrEmpty(dir_ + "/" + a.key_path)));
  auto r_key =
      SigningKey::FromPrivateKeyPem(SecretString(ReadFileOrEmpty(dir_ + "/" + r.key_path)));
  ASSERT_TRUE(a_key.ok() && r_key.ok());
  auto r_der = CertificateDerChainFromPem(r.cert_pem);
  JwtHeaderOptions only_x5c;
  only_x5c.x5c_der = *r_der;
  auto by_x5c = SignJwt(**r_key, Claims(kNow), only_x5c);
  ASSERT_TRUE(by_x5c.ok());
  EXPECT_TRUE(keys->Verify(*by_x5c, Want(), kNow).ok()) << "retiring key via x5c";

  auto stranger = NewKey();
  auto stranger_cert = stranger->SelfSignedCertificatePem(
      {"stranger", kNow - absl::Hours(1), kNow + absl::Hours(1)});
  JwtHeaderOptions stranger_x5c;
  stranger_x5c.x5c_der = *CertificateDerChainFromPem(*stranger_cert);
  auto forged = SignJwt(*stranger, Claims(kNow), stranger_x5c);
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(keys->Verify(*forged, Want(), kNow).status().code(),
            absl::StatusCode::kUnauthenticated);

  // Our certificate in x5c but a stranger's signature: the signature check fails.
  auto forged2 = SignJwt(*stranger, Claims(kNow), only_x5c);
  EXPECT_EQ(keys->Verify(*forged2, Want(), kNow).status().code(),
            absl::StatusCode::kUnauthenticated);

  // kid and x5c naming different keys (both ours) is refused.
  JwtHeaderOptions mixed;
  mixed.kid = KeyIdStyle::kLibtrust;
  mixed.x5c_der = *r_der;
  auto mixed_token = SignJwt(**a_key, Claims(kNow), mixed);
  ASSERT_TRUE(mixed_token.ok());
  EXPECT_EQ(keys->Verify(*mixed_token, Want(), kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenSigningKeysTest, VerifierFindsEveryPublishedKeyInEitherStyleAndNoOther) {
  const KeyOnDisk a = MakeKey(dir_, "a");
  const KeyOnDisk n = MakeKey(dir_, "n");
  const KeyOnDisk r = MakeKey(dir_, "r");
  WriteSet(Line(a, "active") + Line(n, "next") + RetiringLine(r, "2026-02-01T00:00:00Z", true));
  auto keys = LoadOk(set_);
  ASSERT_NE(keys, nullptr);
  for (const KeyOnDisk* k : {&a, &n, &r}) {
    auto key =
        SigningKey::FromPrivateKeyPem(SecretString(ReadFileOrEmpty(dir_ + "/" + k->key_path)));
    ASSERT_TRUE(key.ok());
    for (KeyIdStyle style : {KeyIdStyle::kLibtrust, KeyIdStyle::kJwkThumbprint}) {
      JwtHeaderOptions h;
      h.kid = style;
      auto token = SignJwt(**key, Claims(kNow), h);
      ASSERT_TRUE(token.ok());
      EXPECT_TRUE(keys->Verify(*token, Want(), kNow).ok()) << k->id;
    }
  }
  auto stranger = NewKey();
  JwtHeaderOptions h;
  h.kid = KeyIdStyle::kLibtrust;
  auto token = SignJwt(*stranger, Claims(kNow), h);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(keys->Verify(*token, Want(), kNow).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(keys->Verify("not.a.token", Want(), kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- Exports --------------------------------------------------------------------------------

TEST_F(TokenSigningKeysTest, ExportsHoldEveryPublishedKey) {
  const KeyOnDisk a = MakeKey(dir_, "a");
  const KeyOnDisk n = MakeKey(dir_, "n", /*rsa=*/true);
  const KeyOnDisk r = MakeKey(dir_, "r");
  WriteSet(Line(a, "active") + Line(n, "next") + RetiringLine(r, "2026-02-01T00:00:00Z", false));
  auto keys = LoadOk(set_);
  ASSERT_NE(keys, nullptr);

  const std::string bundle = keys->RootCertBundlePem();
  auto bundle_der = CertificateDerChainFromPem(bundle);
  ASSERT_TRUE(bundle_der.ok()) << bundle_der.status();
  ASSERT_EQ(bundle_der->size(), 3u);
  std::set<std::string> want;
  for (const KeyOnDisk* k : {&a, &n, &r})
    want.insert(CertificateDerChainFromPem(k->cert_pem)->front());
  EXPECT_EQ(std::set<std::string>(bundle_der->begin(), bundle_der->end()), want);
  EXPECT_FALSE(absl::StrContains(bundle, "PRIVATE"));

  for (KeyIdStyle style : {KeyIdStyle::kLibtrust, KeyIdStyle::kJwkThumbprint}) {
    const nlohmann::json jwks = keys->Jwks(style);
    ASSERT_TRUE(jwks["keys"].is_array());
    ASSERT_EQ(jwks["keys"].size(), 3u);
    std::set<std::string> kids;
    for (const auto& jwk : jwks["keys"]) {
      kids.insert(jwk["kid"].get<std::string>());
      EXPECT_FALSE(jwk.contains("d")) << "no private parts";
      EXPECT_FALSE(jwk.contains("p"));
    }
    EXPECT_EQ(kids, (std::set<std::string>{a.public_key->KeyId(style), n.public_key->KeyId(style),
                                           r.public_key->KeyId(style)}));
    EXPECT_EQ(jwks["keys"][1]["alg"], "RS256");
  }

  const std::string bundle_path = dir_ + "/out/rootcertbundle.pem";
  const std::string jwks_path = dir_ + "/out/jwks.json";
  ::mkdir((dir_ + "/out").c_str(), 0755);
  ASSERT_TRUE(
      WriteTokenSigningExports(*keys, bundle_path, jwks_path, KeyIdStyle::kJwkThumbprint).ok());
  EXPECT_EQ(ReadFileOrEmpty(bundle_path), bundle);
  EXPECT_EQ(nlohmann::json::parse(ReadFileOrEmpty(jwks_path)),
            keys->Jwks(KeyIdStyle::kJwkThumbprint));
  EXPECT_EQ(FileMode(bundle_path), 0644u);
  EXPECT_EQ(FileMode(jwks_path), 0644u);
  // No temporary files are left behind.
  std::vector<std::string> entries = DirectoryEntries(dir_ + "/out");
  EXPECT_EQ(std::set<std::string>(entries.begin(), entries.end()),
            (std::set<std::string>{"rootcertbundle.pem", "jwks.json"}));
  // An empty path skips that file.
  ASSERT_EQ(::unlink(jwks_path.c_str()), 0);
  ASSERT_TRUE(WriteTokenSigningExports(*keys, bundle_path, "", KeyIdStyle::kLibtrust).ok());
  EXPECT_EQ(FileMode(jwks_path), 0u);
}

TEST(TokenSigningFilesTest, AtomicWriteKeepsTheModeAndNewFileRefusesToOverwrite) {
  const std::string dir = TempDir();
  const std::string path = dir + "/f.txt";
  std::remove(path.c_str());
  ASSERT_TRUE(WriteFileAtomicallyWithMode(path, "one", 0644).ok());
  EXPECT_EQ(FileMode(path), 0644u);
  EXPECT_EQ(ReadFileOrEmpty(path), "one");
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  ASSERT_TRUE(WriteFileAtomicallyWithMode(path, "two", 0644).ok());
  EXPECT_EQ(FileMode(path), 0640u);
  EXPECT_EQ(ReadFileOrEmpty(path), "two");

  const std::string secret = dir + "/s.pem";
  std::remove(secret.c_str());
  ASSERT_TRUE(WriteNewFile(secret, "x", 0600).ok());
  EXPECT_EQ(FileMode(secret), 0600u);
  EXPECT_EQ(WriteNewFile(secret, "y", 0600).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFileOrEmpty(secret), "x");
  EXPECT_EQ(DirectoryEntries(dir).size(), 2u);
}

TEST(TokenSigningNamesTest, ParseAndNameOptions) {
  EXPECT_EQ(*ParseTokenHeaderMode("kid"), TokenHeaderMode::kKid);
  EXPECT_EQ(*ParseTokenHeaderMode("x5c"), TokenHeaderMode::kX5c);
  EXPECT_FALSE(ParseTokenHeaderMode("X5C").ok());
  EXPECT_EQ(*ParseKeyIdStyle("libtrust"), KeyIdStyle::kLibtrust);
  EXPECT_EQ(*ParseKeyIdStyle("jwk-thumbprint"), KeyIdStyle::kJwkThumbprint);
  EXPECT_FALSE(ParseKeyIdStyle("thumbprint").ok());
  EXPECT_EQ(KeyIdStyleName(KeyIdStyle::kJwkThumbprint), "jwk-thumbprint");
  EXPECT_EQ(TokenHeaderModeName(TokenHeaderMode::kX5c), "x5c");
  EXPECT_EQ(SigningKeyStateName(SigningKeyState::kRetiring), "retiring");
  EXPECT_EQ(RetiringKeyRemovableAt(kNow, absl::Hours(1)),
            kNow + absl::Hours(1) + absl::Seconds(60));
}

// ---- Rotation -------------------------------------------------------------------------------

TEST_F(TokenSigningKeysTest, RotationFlowWithAHolder) {
  FakeClock clock(kNow);
  const KeyOnDisk k1 = MakeKey(dir_, "k1");
  WriteSet(Line(k1, "active"));
  TokenSigningKeysHolder holder(LoadOk(set_));
  auto t1 = holder.Sign(Claims(clock.Now(), absl::Hours(1)));
  ASSERT_TRUE(t1.ok());
  EXPECT_EQ(HeaderOf(*t1)["kid"], k1.public_key->LibtrustKeyId());

  // 1. Generate the next key: published, not signing.
  const KeyOnDisk k2 = MakeKey(dir_, "k2");
  auto file = SigningKeySetFile::Read(set_);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(
      file->Add({"k2", SigningKeyState::kNext, k2.key_path, k2.cert_path, std::nullopt}).ok());
  WriteSet(file->Format());
  ASSERT_TRUE(holder.Reload(set_, clock.Now()).ok());
  EXPECT_EQ(holder.KeyId(), k1.public_key->LibtrustKeyId());
  auto bundle = CertificateDerChainFromPem(holder.Get()->RootCertBundlePem());
  ASSERT_TRUE(bundle.ok());
  EXPECT_EQ(bundle->size(), 2u);
  EXPECT_EQ(holder.Get()->Jwks(KeyIdStyle::kJwkThumbprint)["keys"].size(), 2u);
  auto still_k1 = holder.Sign(Claims(clock.Now()));
  EXPECT_EQ(HeaderOf(*still_k1)["kid"], k1.public_key->LibtrustKeyId());

  // 2. Promote: k2 signs, k1's tokens still verify.
  clock.Advance(absl::Hours(1));
  ASSERT_TRUE(file->Promote("k2", clock.Now()).ok());
  WriteSet(file->Format());
  ASSERT_TRUE(holder.Reload(set_, clock.Now()).ok());
  auto t2 = holder.Sign(Claims(clock.Now()));
  ASSERT_TRUE(t2.ok());
  EXPECT_EQ(HeaderOf(*t2)["kid"], k2.public_key->LibtrustKeyId());
  EXPECT_TRUE(holder.Verify(*t2, Want(), clock.Now()).ok());
  EXPECT_TRUE(holder.Verify(*t1, Want(), clock.Now() - absl::Minutes(30)).ok());
  EXPECT_EQ(holder.Get()->keys()[0].state, SigningKeyState::kRetiring);

  // 3. Not removable before since + TTL + leeway; removable after.
  const absl::Duration ttl = absl::Hours(2);
  EXPECT_TRUE(holder.Get()->RemovableRetiringKeys(ttl, clock.Now()).empty());
  clock.Advance(ttl);
  EXPECT_TRUE(holder.Get()->RemovableRetiringKeys(ttl, clock.Now()).empty()) << "leeway";
  clock.Advance(absl::Seconds(60));
  EXPECT_EQ(holder.Get()->RemovableRetiringKeys(ttl, clock.Now()), std::vector<std::string>{"k1"});

  // 4. Remove: k1's tokens no longer verify; the export holds only k2.
  ASSERT_TRUE(file->Remove("k1").ok());
  WriteSet(file->Format());
  ASSERT_TRUE(holder.Reload(set_, clock.Now()).ok());
  EXPECT_EQ(holder.Verify(*t1, Want(), kNow).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CertificateDerChainFromPem(holder.Get()->RootCertBundlePem())->size(), 1u);

  // A broken file leaves the previous set in force.
  WriteSet("key k2 active\n");
  EXPECT_FALSE(holder.Reload(set_, clock.Now()).ok());
  EXPECT_EQ(holder.KeyId(), k2.public_key->LibtrustKeyId());
  holder.Set(nullptr);
  EXPECT_NE(holder.Get(), nullptr);
}

TEST_F(TokenSigningKeysTest, HolderSignsConcurrentlyWhileSetsSwap) {
  const KeyOnDisk a = MakeKey(dir_, "a");
  const KeyOnDisk b = MakeKey(dir_, "b");
  WriteSet(Line(a, "active") + Line(b, "next"));
  std::shared_ptr<const TokenSigningKeys> first = LoadOk(set_);
  WriteSet(Line(b, "active") + RetiringLine(a, "2026-03-01T00:00:00Z", true));
  std::shared_ptr<const TokenSigningKeys> second = LoadOk(set_);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  TokenSigningKeysHolder holder(first);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto token = holder.Sign(Claims(kNow));
        if (!token.ok() || !holder.Verify(*token, Want(), kNow).ok()) ++failures;
      }
    });
  }
  for (int i = 0; i < 50; ++i) holder.Set(i % 2 == 0 ? second : first);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace registryauth::crypto
