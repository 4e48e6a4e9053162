#include "crypto/hmac_sha256.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace registryauth::crypto {
namespace {

std::string Hex(const unsigned char* bytes) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), HmacSha256::kSize));
}

// RFC 4231 test cases 1, 2 and 6 (a key longer than the block size).
TEST(HmacSha256Test, Rfc4231Vectors) {
  struct Case {
    std::string key, data, mac;
  };
  const std::vector<Case> cases = {
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
  };
  for (const Case& c : cases) {
    HmacSha256 mac(c.key);
    unsigned char out[HmacSha256::kSize];
    ASSERT_TRUE(mac.Compute(c.data, out));
    EXPECT_EQ(Hex(out), c.mac) << c.data;
    // Reusable: the prepared state is copied, not consumed.
    ASSERT_TRUE(mac.Compute(c.data, out));
    EXPECT_EQ(Hex(out), c.mac) << c.data;
  }
}

// The same answers as OpenSSL's one-shot HMAC for many inputs, from several threads at once.
TEST(HmacSha256Test, MatchesOneShotHmacAcrossThreads) {
  const std::string key = "a key of some thirty-two bytes!!";
  HmacSha256 mac(key);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string data(static_cast<size_t>(i), static_cast<char>('a' + t));
        unsigned char ours[HmacSha256::kSize], theirs[HmacSha256::kSize];
        unsigned int len = 0;
        if (!mac.Compute(data, ours) ||
            HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(data.data()), data.size(), theirs,
                 &len) == nullptr ||
            Hex(ours) != Hex(theirs)) {
          ++mismatches[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(HmacSha256Test, EmptyKeyAndEmptyData) {
  HmacSha256 mac("");
  unsigned char out[HmacSha256::kSize];
  ASSERT_TRUE(mac.Compute("", out));
  EXPECT_EQ(Hex(out), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

}  // namespace
}  // namespace registryauth::crypto
