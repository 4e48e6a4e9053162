#include "crypto/keyring.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/secret.h"
#include "crypto/aes_gcm.h"
#include "crypto/test_vectors.h"
#include "gtest/gtest.h"

namespace registryauth::crypto {
namespace {

using ::registryauth::crypto::testing::Hex;
using ::registryauth::crypto::testing::ReadVectorFile;
using ::registryauth::crypto::testing::TestDataPath;
using ::registryauth::crypto::testing::Unhex;

constexpr std::string_view kAd = "registry_config/acme/ghcr/secret";

// Key bytes 0x00..0x1f and their base64 (from Python's base64 module).
std::string Key0To31() {
  std::string key(32, '\0');
  for (int i = 0; i < 32; ++i) key[i] = static_cast<char>(i);
  return key;
}
constexpr char kKey0To31Base64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

std::unique_ptr<KeyRing> MustRing(std::vector<std::pair<std::uint32_t, std::string>> keys,
                                  std::uint32_t primary) {
  std::vector<std::pair<std::uint32_t, SecretString>> secret_keys;
  for (auto& [id, key] : keys) secret_keys.emplace_back(id, SecretString(key));
  auto ring = KeyRing::Create(std::move(secret_keys), primary);
  EXPECT_TRUE(ring.ok()) << ring.status();
  return ring.ok() ? *std::move(ring) : nullptr;
}

std::string Decrypted(const KeyRing& ring, std::string_view ct, std::string_view ad) {
  auto pt = ring.Decrypt(ct, ad);
  return pt.ok() ? std::string(pt->view()) : "<" + pt.status().ToString() + ">";
}

void ExpectDecryptionFailed(const absl::StatusOr<SecretString>& result) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status().message(), "decryption failed");
}

TEST(KeyRingTest, RoundTrip) {
  auto ring = MustRing({{7, std::string(32, 'a')}}, 7);
  ASSERT_NE(ring, nullptr);
  auto ct = ring->Encrypt("ghp_token", kAd);
  ASSERT_TRUE(ct.ok()) << ct.status();
  EXPECT_EQ(ct->size(), 9 + KeyRing::kOverhead);
  EXPECT_EQ(ct->find("ghp_token"), std::string::npos);
  EXPECT_EQ(Decrypted(*ring, *ct, kAd), "ghp_token");
}

TEST(KeyRingTest, EmptyPlaintextAndEmptyAssociatedData) {
  auto ring = MustRing({{1, std::string(32, 'b')}}, 1);
  ASSERT_NE(ring, nullptr);
  for (std::string_view ad : {std::string_view(), kAd}) {
    auto ct = ring->Encrypt("", ad);
    ASSERT_TRUE(ct.ok()) << ct.status();
    EXPECT_EQ(ct->size(), KeyRing::kOverhead);
    auto pt = ring->Decrypt(*ct, ad);
    ASSERT_TRUE(pt.ok()) << pt.status();
    EXPECT_TRUE(pt->empty());
  }
}

TEST(KeyRingTest, BinaryPlaintextRoundTrips) {
  auto ring = MustRing({{1, std::string(32, 'c')}}, 1);
  ASSERT_NE(ring, nullptr);
  std::string plaintext;
  for (int i = 0; i < 256; ++i) plaintext.push_back(static_cast<char>(i));
  auto ct = ring->Encrypt(plaintext, kAd);
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(Decrypted(*ring, *ct, kAd), plaintext);
}

TEST(KeyRingTest, CiphertextCopiedToAnotherRowFails) {
  auto ring = MustRing({{1, std::string(32, 'd')}}, 1);
  ASSERT_NE(ring, nullptr);
  auto ct = ring->Encrypt("ghp_token", "registry_config/acme/ghcr/secret");
  ASSERT_TRUE(ct.ok());
  for (std::string_view other :
       {"registry_config/acme/ghcr/secreT", "registry_config/evil/ghcr/secret", "",
        "registry_config/acme/ghcr", "registry_config/acme/ghcr/secret/"}) {
    ExpectDecryptionFailed(ring->Decrypt(*ct, other));
  }
  // A trailing NUL byte is different associated data too.
  ExpectDecryptionFailed(
      ring->Decrypt(*ct, std::string("registry_config/acme/ghcr/secret") + std::string(1, '\0')));
}

TEST(KeyRingTest, EveryTruncationFails) {
  auto ring = MustRing({{1, std::string(32, 'e')}}, 1);
  ASSERT_NE(ring, nullptr);
  auto ct = ring->Encrypt("ghp_token", kAd);
  ASSERT_TRUE(ct.ok());
  for (std::size_t n = 0; n < ct->size(); ++n) {
    SCOPED_TRACE(n);
    ExpectDecryptionFailed(ring->Decrypt(ct->substr(0, n), kAd));
    ExpectDecryptionFailed(ring->Decrypt(ct->substr(ct->size() - n), kAd));
  }
  // Appending a byte fails as well.
  ExpectDecryptionFailed(ring->Decrypt(*ct + "x", kAd));
}

TEST(KeyRingTest, EveryBitFlipFails) {
  auto ring = MustRing({{1, std::string(32, 'f')}, {2, std::string(32, 'g')}}, 1);
  ASSERT_NE(ring, nullptr);
  auto ct = ring->Encrypt("ghp_token", kAd);
  ASSERT_TRUE(ct.ok());
  for (std::size_t i = 0; i < ct->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string tampered = *ct;
      tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
      SCOPED_TRACE(absl::StrCat("byte ", i, " bit ", bit));
      ExpectDecryptionFailed(ring->Decrypt(tampered, kAd));
    }
  }
}

TEST(KeyRingTest, HeaderIsAuthenticated) {
  // The same key under two ids: only the authenticated header tells them apart.
  const std::string key(32, 'h');
  auto ring = MustRing({{1, key}, {2, key}}, 2);
  ASSERT_NE(ring, nullptr);
  auto ct = ring->Encrypt("ghp_token", kAd);
  ASSERT_TRUE(ct.ok());
  ASSERT_EQ(KeyRing::KeyIdOf(*ct), 2u);
  std::string relabelled = *ct;
  relabelled[4] = 1;
  ASSERT_EQ(KeyRing::KeyIdOf(relabelled), 1u);
  ExpectDecryptionFailed(ring->Decrypt(relabelled, kAd));
}

TEST(KeyRingTest, WrongVersionFails) {
  auto ring = MustRing({{1, std::string(32, 'i')}}, 1);
  ASSERT_NE(ring, nullptr);
  auto ct = ring->Encrypt("ghp_token", kAd);
  ASSERT_TRUE(ct.ok());
  for (int version : {0x00, 0x02, 0x81, 0xff}) {
    std::string other = *ct;
    other[0] = static_cast<char>(version);
    ExpectDecryptionFailed(ring->Decrypt(other, kAd));
    EXPECT_EQ(KeyRing::KeyIdOf(other), 0u);
  }
}

TEST(KeyRingTest, CiphertextLayoutIsAsDocumented) {
  const std::string key(32, 'j');
  auto ring = MustRing({{0x01020304, key}}, 0x01020304);
  ASSERT_NE(ring, nullptr);
  auto ct = ring->Encrypt("ghp_token", kAd);
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(Hex(ct->substr(0, 5)), "0101020304");
  // Open the body with the bare primitive: aad = header || associated data.
  auto gcm = AesGcm256::Create(SecretString(key));
  ASSERT_TRUE(gcm.ok());
  auto pt = (*gcm)->Open(ct->substr(5, 12), ct->substr(17), ct->substr(0, 5) + std::string(kAd));
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(pt->view(), "ghp_token");
  EXPECT_FALSE((*gcm)->Open(ct->substr(5, 12), ct->substr(17), kAd).ok());
}

TEST(KeyRingTest, DecryptsVectorsFramedByAnIndependentImplementation) {
  const auto records = ReadVectorFile(TestDataPath("crypto/testdata/keyring_v1_vectors.txt"));
  ASSERT_EQ(records.size(), 3u);
  for (const auto& r : records) {
    const auto id = static_cast<std::uint32_t>(std::stoul(r.at("key_id")));
    SCOPED_TRACE(id);
    auto ring = MustRing({{id, Unhex(r.at("key"))}}, id);
    ASSERT_NE(ring, nullptr);
    const std::string ct = Unhex(r.at("ct"));
    EXPECT_EQ(KeyRing::KeyIdOf(ct), id);
    auto pt = ring->Decrypt(ct, r.at("aad"));
    ASSERT_TRUE(pt.ok()) << pt.status();
    EXPECT_EQ(Hex(pt->view()), r.at("pt"));
    ExpectDecryptionFailed(ring->Decrypt(ct, r.at("aad") + "x"));
  }
}

TEST(KeyRingTest, RotationKeepsOldCiphertextsReadable) {
  const std::string key1(32, 'k');
  const std::string key2(32, 'l');
  auto old_ring = MustRing({{1, key1}}, 1);
  ASSERT_NE(old_ring, nullptr);
  auto old_ct = old_ring->Encrypt("old secret", kAd);
  ASSERT_TRUE(old_ct.ok());
  EXPECT_EQ(KeyRing::KeyIdOf(*old_ct), 1u);

  auto rotated = MustRing({{1, key1}, {2, key2}}, 2);
  ASSERT_NE(rotated, nullptr);
  EXPECT_EQ(rotated->primary_key_id(), 2u);
  EXPECT_EQ(rotated->key_ids(), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(Decrypted(*rotated, *old_ct, kAd), "old secret");

  auto new_ct = rotated->Encrypt("new secret", kAd);
  ASSERT_TRUE(new_ct.ok());
  EXPECT_EQ(KeyRing::KeyIdOf(*new_ct), 2u);
  EXPECT_EQ(Decrypted(*rotated, *new_ct, kAd), "new secret");
  // The old ring does not know key 2.
  ExpectDecryptionFailed(old_ring->Decrypt(*new_ct, kAd));
}

TEST(KeyRingTest, UnknownKeyIdFails) {
  auto ring_a = MustRing({{5, std::string(32, 'm')}}, 5);
  auto ring_b = MustRing({{6, std::string(32, 'm')}}, 6);
  ASSERT_NE(ring_a, nullptr);
  ASSERT_NE(ring_b, nullptr);
  auto ct = ring_a->Encrypt("ghp_token", kAd);
  ASSERT_TRUE(ct.ok());
  ExpectDecryptionFailed(ring_b->Decrypt(*ct, kAd));
}

TEST(KeyRingTest, SameKeyIdDifferentKeyFails) {
  auto ring_a = MustRing({{5, std::string(32, 'n')}}, 5);
  auto ring_b = MustRing({{5, std::string(32, 'o')}}, 5);
  ASSERT_NE(ring_a, nullptr);
  ASSERT_NE(ring_b, nullptr);
  auto ct = ring_a->Encrypt("ghp_token", kAd);
  ASSERT_TRUE(ct.ok());
  ExpectDecryptionFailed(ring_b->Decrypt(*ct, kAd));
}

TEST(KeyRingTest, EncryptionsUseFreshNonces) {
  auto ring = MustRing({{1, std::string(32, 'p')}}, 1);
  ASSERT_NE(ring, nullptr);
  auto a = ring->Encrypt("same plaintext", kAd);
  auto b = ring->Encrypt("same plaintext", kAd);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_NE(a->substr(5, 12), b->substr(5, 12));
  EXPECT_EQ(Decrypted(*ring, *a, kAd), Decrypted(*ring, *b, kAd));
}

TEST(KeyRingTest, KeyIdOfMalformedIsZero) {
  EXPECT_EQ(KeyRing::KeyIdOf(""), 0u);
  EXPECT_EQ(KeyRing::KeyIdOf(std::string(32, '\x01')), 0u);  // one byte short
  std::string ok(33, '\0');
  ok[0] = 1;
  ok[1] = '\xff';
  ok[4] = '\x01';
  EXPECT_EQ(KeyRing::KeyIdOf(ok), 0xff000001u);
}

TEST(KeyRingTest, CreateValidatesItsInput) {
  const std::string key(32, 'q');
  struct Case {
    std::vector<std::pair<std::uint32_t, std::string>> keys;
    std::uint32_t primary;
  };
  const std::vector<Case> bad = {
      {{}, 1},                           // no keys
      {{{0, key}}, 0},                   // id 0
      {{{1, key}, {1, key}}, 1},         // duplicate
      {{{1, std::string(31, 'q')}}, 1},  // short key
      {{{1, key}}, 2},                   // primary missing
  };
  for (const Case& c : bad) {
    std::vector<std::pair<std::uint32_t, SecretString>> keys;
    for (const auto& [id, k] : c.keys) keys.emplace_back(id, SecretString(k));
    auto ring = KeyRing::Create(std::move(keys), c.primary);
    ASSERT_FALSE(ring.ok());
    EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ring.status().message().find("qqqq"), std::string_view::npos);
  }
}

// ---- key file ----------------------------------------------------------------------------

TEST(KeyFileTest, ParsesCommentsBlankLinesCrlfAndTabs) {
  const std::string text = absl::StrCat(
      "# data keys\r\n", "\r\n", "   \t\n", "primary\t4294967295   # newest\r\n", "key 4294967295 ",
      kKey0To31Base64, "\r\n", "  key\t12 ", kKey0To31Base64, "  # old\n");
  auto ring = KeyRing::Parse(text);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ((*ring)->primary_key_id(), 4294967295u);
  EXPECT_EQ((*ring)->key_ids(), (std::vector<std::uint32_t>{12, 4294967295u}));

  // The parsed key is bytes 0..31: a ring built from raw bytes decrypts its output.
  auto raw = MustRing({{4294967295u, Key0To31()}}, 4294967295u);
  ASSERT_NE(raw, nullptr);
  auto ct = (*ring)->Encrypt("x", kAd);
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(Decrypted(*raw, *ct, kAd), "x");
}

TEST(KeyFileTest, Base64CoversTheWholeAlphabet) {
  // Two keys whose encodings use all 64 characters; bytes from Python's base64 module.
  const std::string b64_1 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopQ=";
  const std::string b64_2 = "qrstuvwxyz0123456789+/ABCDEFGHIJKLMNOPQRSTU=";
  const SecretString key1(
      Unhex("00108310518720928b30d38f41149351559761969b71d79f8218a39259a7a294"));
  const SecretString key2(
      Unhex("aabb2dbafc31cb3d35db7e39ebbf3dfbf00108310518720928b30d38f4114935"));

  auto text = KeyRing::FormatKeyFile({{1, &key1}, {2, &key2}}, 2);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_NE(text->view().find("\nprimary 2\n"), std::string_view::npos);
  EXPECT_NE(text->view().find(absl::StrCat("\nkey 1 ", b64_1, "\n")), std::string_view::npos);
  EXPECT_NE(text->view().find(absl::StrCat("\nkey 2 ", b64_2, "\n")), std::string_view::npos);

  auto parsed = KeyRing::Parse(absl::StrCat("primary 1\nkey 1 ", b64_1, "\nkey 2 ", b64_2, "\n"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  for (const auto& [id, key] : {std::make_pair(1u, &key1), std::make_pair(2u, &key2)}) {
    auto raw = MustRing({{id, std::string(key->view())}}, id);
    ASSERT_NE(raw, nullptr);
    auto ct = raw->Encrypt("secret", kAd);
    ASSERT_TRUE(ct.ok());
    EXPECT_EQ(Decrypted(**parsed, *ct, kAd), "secret") << id;
  }
}

TEST(KeyFileTest, GenerateFormatParseRoundTrip) {
  auto k1 = KeyRing::GenerateKey();
  auto k2 = KeyRing::GenerateKey();
  ASSERT_TRUE(k1.ok());
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(k1->size(), 32u);
  EXPECT_NE(k1->view(), k2->view());
  auto text = KeyRing::FormatKeyFile({{3, &*k1}, {9, &*k2}}, 9);
  ASSERT_TRUE(text.ok()) << text.status();
  auto ring = KeyRing::Parse(text->view());
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ((*ring)->primary_key_id(), 9u);
  EXPECT_EQ((*ring)->key_ids(), (std::vector<std::uint32_t>{3, 9}));
  auto raw = MustRing({{3, std::string(k1->view())}, {9, std::string(k2->view())}}, 3);
  ASSERT_NE(raw, nullptr);
  auto ct = (*ring)->Encrypt("pat", kAd);
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(Decrypted(*raw, *ct, kAd), "pat");
}

TEST(KeyFileTest, FormatKeyFileValidatesItsInput) {
  const SecretString good(std::string(32, 'r'));
  const SecretString short_key(std::string(31, 'r'));
  EXPECT_EQ(KeyRing::FormatKeyFile({}, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(KeyRing::FormatKeyFile({{1, &good}}, 2).ok());
  EXPECT_FALSE(KeyRing::FormatKeyFile({{0, &good}}, 0).ok());
  EXPECT_FALSE(KeyRing::FormatKeyFile({{1, &good}, {1, &good}}, 1).ok());
  EXPECT_FALSE(KeyRing::FormatKeyFile({{1, nullptr}}, 1).ok());
  auto bad = KeyRing::FormatKeyFile({{1, &short_key}}, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("rrrr"), std::string_view::npos);
}

struct ParseErrorCase {
  std::string name;
  std::string text;
  std::string expected_fragment;              // e.g. "line 3"
  std::vector<std::string> secret_fragments;  // must not appear in the message
};

std::vector<ParseErrorCase> ParseErrorCases() {
  const std::string good = std::string(kKey0To31Base64);
  const std::string bad_char = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd*h8=";
  const std::string short_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==";  // 31 bytes
  const std::string long_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g";   // 33 bytes
  const std::string non_canonical = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=";
  const std::string unpadded = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
  const std::string mid_pad = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx=dHh8=";
  return {
      {"missing primary", "key 1 " + good + "\n", "no 'primary' line", {good}},
      {"no keys", "primary 1\n", "no 'key' lines", {}},
      {"primary not present", "primary 2\nkey 1 " + good + "\n", "line 1", {good}},
      {"two primaries", "primary 1\nkey 1 " + good + "\nprimary 1\n", "line 3", {good}},
      {"duplicate id", "primary 1\nkey 1 " + good + "\nkey 1 " + good + "\n", "line 3", {good}},
      {"bad base64", "primary 1\n# c\nkey 1 " + bad_char + "\n", "line 3", {bad_char, "wd*h"}},
      {"short key", "primary 1\nkey 1 " + short_key + "\n", "line 2", {short_key}},
      {"long key", "primary 1\nkey 1 " + long_key + "\n", "line 2", {long_key}},
      {"non-canonical", "primary 1\nkey 1 " + non_canonical + "\n", "line 2", {non_canonical}},
      {"unpadded", "primary 1\nkey 1 " + unpadded + "\n", "line 2", {unpadded}},
      {"padding inside", "primary 1\nkey 1 " + mid_pad + "\n", "line 2", {mid_pad}},
      {"garbage line",
       "primary 1\nkey 1 " + good + "\nhunter2 is my password\n",
       "line 3",
       {good, "hunter2"}},
      {"key typo", "primary 1\nkye 1 " + good + "\n", "line 2", {good, "kye"}},
      {"key without id", "primary 1\nkey " + good + "\n", "line 2", {good}},
      {"extra field", "primary 1\nkey 1 " + good + " extra\n", "line 2", {good, "extra"}},
      {"key split by space",
       "primary 1\nkey 1 AAECAwQFBgcICQoLDA0ODx AREhMUFRYXGBkaGxwdHh8=\n",
       "line 2",
       {"AAECAwQFBgcICQoLDA0ODx", "AREhMUFRYXGBkaGxwdHh8="}},
      {"id 0 key", "primary 1\nkey 0 " + good + "\nkey 1 " + good + "\n", "line 2", {good}},
      {"id 0 primary", "primary 0\nkey 1 " + good + "\n", "line 1", {good}},
      {"id too large", "primary 4294967296\nkey 4294967296 " + good + "\n", "line 1", {good}},
      {"id with sign", "primary 1\nkey +1 " + good + "\n", "line 2", {good}},
      {"id leading zero", "primary 1\nkey 01 " + good + "\n", "line 2", {good}},
      {"id hex", "primary 1\nkey 0x1 " + good + "\n", "line 2", {good}},
      {"empty file", "", "no 'key' lines", {}},
  };
}

TEST(KeyFileTest, ParseErrorsNameTheLineButNoKeyText) {
  for (const ParseErrorCase& c : ParseErrorCases()) {
    SCOPED_TRACE(c.name);
    auto ring = KeyRing::Parse(c.text);
    ASSERT_FALSE(ring.ok());
    EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(ring.status().message());
    EXPECT_NE(message.find(c.expected_fragment), std::string_view::npos) << message;
    for (const std::string& secret : c.secret_fragments) {
      EXPECT_EQ(message.find(secret), std::string_view::npos) << message;
    }
    // Nor any 6-character piece of the key text or the raw key bytes.
    const std::string_view key_text = kKey0To31Base64;
    for (std::size_t i = 0; i + 6 <= key_text.size(); ++i) {
      EXPECT_EQ(message.find(key_text.substr(i, 6)), std::string::npos) << message;
    }
    EXPECT_EQ(message.find(Key0To31().substr(1, 6)), std::string_view::npos);
  }
}

// ---- LoadFile -------------------------------------------------------------------------------

std::string TempPath(std::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", std::string(name));
}

std::string WriteFile(std::string_view name, std::string_view content, mode_t mode) {
  const std::string path = TempPath(name);
  std::remove(path.c_str());
  {
    std::ofstream out(path, std::ios::binary);
    out << content;
  }
  EXPECT_EQ(::chmod(path.c_str(), mode), 0);
  return path;
}

TEST(LoadFileTest, AcceptsMode0600) {
  const std::string path =
      WriteFile("keys_0600", absl::StrCat("primary 1\nkey 1 ", kKey0To31Base64, "\n"), 0600);
  auto ring = KeyRing::LoadFile(path);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ((*ring)->primary_key_id(), 1u);
  auto raw = MustRing({{1, Key0To31()}}, 1);
  ASSERT_NE(raw, nullptr);
  auto ct = (*ring)->Encrypt("from file", kAd);
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(Decrypted(*raw, *ct, kAd), "from file");

  // 0400 is fine too.
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(KeyRing::LoadFile(path).ok());
}

TEST(LoadFileTest, RefusesFilesOthersCanAccess) {
  for (mode_t mode : {0644, 0640, 0604, 0660, 0606, 0610}) {
    const std::string path =
        WriteFile("keys_open", absl::StrCat("primary 1\nkey 1 ", kKey0To31Base64, "\n"), mode);
    auto ring = KeyRing::LoadFile(path);
    ASSERT_FALSE(ring.ok()) << std::oct << mode;
    EXPECT_EQ(ring.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(
        ring.status().message(),
        absl::StrCat("key file ", path, " must not be readable by group or others (chmod 600)"));
  }
}

TEST(LoadFileTest, MissingFileIsNotFoundAndNamesThePath) {
  const std::string path = TempPath("no_such_key_file");
  auto ring = KeyRing::LoadFile(path);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(ring.status().message().find(path), std::string_view::npos);
}

TEST(LoadFileTest, DirectoryIsRefused) {
  const std::string path = TempPath("key_dir");
  ::mkdir(path.c_str(), 0700);
  auto ring = KeyRing::LoadFile(path);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(LoadFileTest, ParseErrorNamesPathAndLineButNotContent) {
  const std::string bad_char = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd*h8=";
  const std::string path =
      WriteFile("keys_bad", absl::StrCat("primary 1\n\nkey 1 ", bad_char, "\n"), 0600);
  auto ring = KeyRing::LoadFile(path);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(ring.status().message());
  EXPECT_NE(message.find(path), std::string_view::npos) << message;
  EXPECT_NE(message.find("line 3"), std::string_view::npos) << message;
  EXPECT_EQ(message.find("AAECAwQF"), std::string_view::npos) << message;
}

TEST(LoadFileTest, RefusesHugeFiles) {
  const std::string path = WriteFile("keys_huge", std::string((1 << 20) + 1, '#'), 0600);
  auto ring = KeyRing::LoadFile(path);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeyRingTest, ChangedKeyIdsFindsReusedIdsWithOtherBytes) {
  auto a = MustRing({{1, std::string(32, 'a')}, {2, std::string(32, 'b')}, {3, Key0To31()}}, 1);
  auto same = MustRing({{2, std::string(32, 'b')}, {1, std::string(32, 'a')}}, 2);
  auto other = MustRing({{1, std::string(32, 'a')},
                         {2, std::string(32, 'c')},
                         {3, std::string(32, 'd')},
                         {4, std::string(32, 'e')}},
                        4);
  ASSERT_TRUE(a && same && other);
  EXPECT_TRUE(a->ChangedKeyIds(*same).empty());
  EXPECT_TRUE(a->ChangedKeyIds(*a).empty());
  EXPECT_EQ(a->ChangedKeyIds(*other), (std::vector<std::uint32_t>{2, 3}));
  EXPECT_EQ(other->ChangedKeyIds(*a), (std::vector<std::uint32_t>{2, 3}));
}

TEST(KeyRingTest, ConcurrentEncryptDecrypt) {
  auto ring = MustRing({{1, std::string(32, 's')}, {2, std::string(32, 't')}}, 2);
  ASSERT_NE(ring, nullptr);
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i) {
        const std::string pt = absl::StrCat("token-", t, "-", i);
        const std::string ad = absl::StrCat("row/", t, "/", i);
        auto ct = ring->Encrypt(pt, ad);
        if (!ct.ok()) {
          ++failures[t];
          continue;
        }
        auto back = ring->Decrypt(*ct, ad);
        if (!back.ok() || back->view() != pt) ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace registryauth::crypto

namespace registryauth::crypto {
namespace {

// Expected value from Python's hmac/hashlib: HKDF-SHA256 written out by hand
// (PRK = HMAC(32 zero bytes, key); OKM = HMAC(PRK, info || 0x01)), then HMAC(OKM, secret).
TEST(KeyRingSecretHashTest, KnownAnswerFromIndependentHkdf) {
  std::unique_ptr<KeyRing> ring = MustRing({{7, Key0To31()}}, 7);
  ASSERT_NE(ring, nullptr);
  absl::StatusOr<SecretDigest> d = ring->Hash("ras_example-secret");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->key_id, 7u);
  EXPECT_EQ(Hex(d->digest), "6e1d9a15ae28534185eab651f51878c56bfb06c5ed95a0d3047c78520b3684a4");
  EXPECT_TRUE(ring->Verify("ras_example-secret", *d));
}

TEST(KeyRingSecretHashTest, VerifyRefusesOtherSecretsKeysAndShapes) {
  std::string other_key(32, 'k');
  std::unique_ptr<KeyRing> ring = MustRing({{1, Key0To31()}, {2, other_key}}, 2);
  ASSERT_NE(ring, nullptr);
  absl::StatusOr<SecretDigest> d = ring->Hash("rpt_secret");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->key_id, 2u);  // the primary
  EXPECT_EQ(d->digest.size(), 32u);
  EXPECT_TRUE(ring->Verify("rpt_secret", *d));
  EXPECT_FALSE(ring->Verify("rpt_secreT", *d));
  EXPECT_FALSE(ring->Verify("", *d));

  SecretDigest wrong_key = *d;
  wrong_key.key_id = 1;  // same digest claimed under the other key
  EXPECT_FALSE(ring->Verify("rpt_secret", wrong_key));
  SecretDigest unknown = *d;
  unknown.key_id = 99;
  EXPECT_FALSE(ring->Verify("rpt_secret", unknown));
  SecretDigest truncated = *d;
  truncated.digest.pop_back();
  EXPECT_FALSE(ring->Verify("rpt_secret", truncated));
  SecretDigest flipped = *d;
  flipped.digest[31] ^= 1;
  EXPECT_FALSE(ring->Verify("rpt_secret", flipped));

  // A hash made under key 2 keeps verifying after key 1 becomes primary, and a ring without
  // key 2 refuses it.
  std::unique_ptr<KeyRing> rotated = MustRing({{1, Key0To31()}, {2, other_key}}, 1);
  EXPECT_TRUE(rotated->Verify("rpt_secret", *d));
  EXPECT_EQ(rotated->Hash("rpt_secret")->key_id, 1u);
  std::unique_ptr<KeyRing> retired = MustRing({{1, Key0To31()}}, 1);
  EXPECT_FALSE(retired->Verify("rpt_secret", *d));
}

TEST(KeyRingSecretHashTest, HashKeyIsNotTheDataKey) {
  // HMAC directly under the data key must differ from the derived-key hash.
  std::unique_ptr<KeyRing> ring = MustRing({{1, Key0To31()}}, 1);
  unsigned char mac[32];
  unsigned int len = 0;
  const std::string key = Key0To31();
  const std::string secret = "ras_x";
  HMAC(EVP_sha256(), key.data(), 32, reinterpret_cast<const unsigned char*>(secret.data()),
       secret.size(), mac, &len);
  EXPECT_NE(ring->Hash(secret)->digest, std::string(reinterpret_cast<char*>(mac), 32));
}

}  // namespace
}  // namespace registryauth::crypto
