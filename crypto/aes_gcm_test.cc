#include "crypto/aes_gcm.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/secret.h"
#include "crypto/test_vectors.h"
#include "gtest/gtest.h"

namespace registryauth::crypto {
namespace {

using ::registryauth::crypto::testing::Hex;
using ::registryauth::crypto::testing::ReadVectorFile;
using ::registryauth::crypto::testing::TestDataPath;
using ::registryauth::crypto::testing::Unhex;
using ::registryauth::crypto::testing::VectorRecord;

struct Vector {
  std::string name, key, iv, pt, aad, ct, tag;
};

std::vector<Vector> LoadNistVectors() {
  std::vector<Vector> out;
  for (const VectorRecord& r :
       ReadVectorFile(TestDataPath("crypto/testdata/aes_gcm_256_vectors.txt"))) {
    out.push_back(Vector{r.at("name"), Unhex(r.at("key")), Unhex(r.at("iv")), Unhex(r.at("pt")),
                         Unhex(r.at("aad")), Unhex(r.at("ct")), Unhex(r.at("tag"))});
  }
  return out;
}

std::unique_ptr<AesGcm256> MustCreate(std::string_view key) {
  auto gcm = AesGcm256::Create(SecretString(key));
  EXPECT_TRUE(gcm.ok()) << gcm.status();
  return gcm.ok() ? *std::move(gcm) : nullptr;
}

TEST(AesGcm256Test, GoldenFileHasTheFourNistAes256Cases) {
  const std::vector<Vector> vectors = LoadNistVectors();
  ASSERT_EQ(vectors.size(), 4u);
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(v.key.size(), 32u);
    EXPECT_EQ(v.iv.size(), 12u);
    EXPECT_EQ(v.tag.size(), 16u);
    EXPECT_EQ(v.ct.size(), v.pt.size());
  }
}

TEST(AesGcm256Test, SealMatchesKnownAnswers) {
  const std::vector<Vector> vectors = LoadNistVectors();
  ASSERT_EQ(vectors.size(), 4u);
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.name);
    auto gcm = MustCreate(v.key);
    ASSERT_NE(gcm, nullptr);
    auto sealed = gcm->Seal(v.iv, v.pt, v.aad);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(Hex(*sealed), Hex(v.ct + v.tag));
  }
}

TEST(AesGcm256Test, OpenMatchesKnownAnswers) {
  const std::vector<Vector> vectors = LoadNistVectors();
  ASSERT_EQ(vectors.size(), 4u);
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.name);
    auto gcm = MustCreate(v.key);
    ASSERT_NE(gcm, nullptr);
    auto opened = gcm->Open(v.iv, v.ct + v.tag, v.aad);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(Hex(opened->view()), Hex(v.pt));
  }
}

TEST(AesGcm256Test, EveryFlippedBitInCiphertextOrTagFails) {
  for (const Vector& v : LoadNistVectors()) {
    SCOPED_TRACE(v.name);
    auto gcm = MustCreate(v.key);
    ASSERT_NE(gcm, nullptr);
    const std::string sealed = v.ct + v.tag;
    for (std::size_t i = 0; i < sealed.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string tampered = sealed;
        tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
        auto opened = gcm->Open(v.iv, tampered, v.aad);
        ASSERT_FALSE(opened.ok()) << "byte " << i << " bit " << bit;
        EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
        EXPECT_EQ(opened.status().message(), "decryption failed");
      }
    }
  }
}

TEST(AesGcm256Test, EveryFlippedBitInAadOrNonceFails) {
  for (const Vector& v : LoadNistVectors()) {
    SCOPED_TRACE(v.name);
    auto gcm = MustCreate(v.key);
    ASSERT_NE(gcm, nullptr);
    const std::string sealed = v.ct + v.tag;
    for (std::size_t i = 0; i < v.aad.size() * 8; ++i) {
      std::string aad = v.aad;
      aad[i / 8] = static_cast<char>(aad[i / 8] ^ (1 << (i % 8)));
      EXPECT_FALSE(gcm->Open(v.iv, sealed, aad).ok()) << "aad bit " << i;
    }
    for (std::size_t i = 0; i < v.iv.size() * 8; ++i) {
      std::string iv = v.iv;
      iv[i / 8] = static_cast<char>(iv[i / 8] ^ (1 << (i % 8)));
      EXPECT_FALSE(gcm->Open(iv, sealed, v.aad).ok()) << "iv bit " << i;
    }
    // Appending to (or dropping) the aad fails too, including for the empty-aad cases.
    EXPECT_FALSE(gcm->Open(v.iv, sealed, v.aad + std::string(1, '\0')).ok());
    if (!v.aad.empty()) {
      EXPECT_FALSE(gcm->Open(v.iv, sealed, "").ok());
    }
  }
}

TEST(AesGcm256Test, WrongKeyFails) {
  const std::vector<Vector> vectors = LoadNistVectors();
  ASSERT_EQ(vectors.size(), 4u);
  // Cases 15 and 16 use the same key; open case 15 with case 14's (all-zero) key.
  auto zero_key = MustCreate(vectors[1].key);
  ASSERT_NE(zero_key, nullptr);
  auto opened = zero_key->Open(vectors[2].iv, vectors[2].ct + vectors[2].tag, vectors[2].aad);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AesGcm256Test, CreateRejectsKeysThatAreNot32Bytes) {
  for (std::size_t size : {0, 1, 16, 24, 31, 33, 64}) {
    auto gcm = AesGcm256::Create(SecretString(std::string(size, 'k')));
    ASSERT_FALSE(gcm.ok()) << size;
    EXPECT_EQ(gcm.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(gcm.status().message().find("kkkk"), std::string_view::npos);
  }
  EXPECT_TRUE(AesGcm256::Create(SecretString(std::string(32, 'k'))).ok());
}

TEST(AesGcm256Test, RejectsNoncesThatAreNot12Bytes) {
  auto gcm = MustCreate(std::string(32, '\x01'));
  ASSERT_NE(gcm, nullptr);
  for (std::size_t size : {0, 8, 11, 13, 16}) {
    const std::string nonce(size, 'n');
    auto sealed = gcm->Seal(nonce, "plaintext", "aad");
    ASSERT_FALSE(sealed.ok()) << size;
    EXPECT_EQ(sealed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(sealed.status().message(), "encryption failed");
    auto opened = gcm->Open(nonce, std::string(32, 'c'), "aad");
    ASSERT_FALSE(opened.ok()) << size;
    EXPECT_EQ(opened.status().message(), "decryption failed");
  }
}

TEST(AesGcm256Test, OpenRejectsInputShorterThanTheTag) {
  auto gcm = MustCreate(std::string(32, '\x02'));
  ASSERT_NE(gcm, nullptr);
  const std::string nonce(12, '\0');
  for (std::size_t size = 0; size < AesGcm256::kTagSize; ++size) {
    auto opened = gcm->Open(nonce, std::string(size, '\0'), "");
    ASSERT_FALSE(opened.ok()) << size;
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(AesGcm256Test, RoundTripsEmptyAndLargePlaintexts) {
  auto gcm = MustCreate(std::string(32, '\x03'));
  ASSERT_NE(gcm, nullptr);
  const std::string nonce = "0123456789ab";
  for (std::size_t size : {0, 1, 15, 16, 17, 4096, 1 << 20}) {
    std::string plaintext(size, '\0');
    for (std::size_t i = 0; i < size; ++i) plaintext[i] = static_cast<char>(i * 31 + 7);
    auto sealed = gcm->Seal(nonce, plaintext, size % 2 == 0 ? "" : "aad");
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    ASSERT_EQ(sealed->size(), size + AesGcm256::kTagSize);
    auto opened = gcm->Open(nonce, *sealed, size % 2 == 0 ? "" : "aad");
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_TRUE(opened->view() == plaintext) << size;
  }
}

TEST(AesGcm256Test, ConcurrentUseOfOneObject) {
  auto gcm = MustCreate(std::string(32, '\x04'));
  ASSERT_NE(gcm, nullptr);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        std::string nonce(12, static_cast<char>(t));
        nonce[0] = static_cast<char>(i);
        const std::string plaintext = "secret-" + std::to_string(t) + "-" + std::to_string(i);
        auto sealed = gcm->Seal(nonce, plaintext, "aad");
        if (!sealed.ok()) {
          ++failures[t];
          continue;
        }
        auto opened = gcm->Open(nonce, *sealed, "aad");
        if (!opened.ok() || opened->view() != plaintext) ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace registryauth::crypto
