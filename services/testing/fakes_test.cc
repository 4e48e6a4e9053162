// The fakes must behave like the real implementations where services/ relies on it.
#include <string>

#include "gtest/gtest.h"
#include "services/testing/fake_aead.h"

namespace registryauth::services::testing {
namespace {

TEST(FakeAeadTest, RoundTripsAndBindsAssociatedData) {
  FakeAead aead(0x01020304);
  absl::StatusOr<std::string> ct = aead.Encrypt("ghp_secret", "row-a#secret");
  ASSERT_TRUE(ct.ok());
  ASSERT_GE(ct->size(), 5u);
  EXPECT_EQ((*ct)[0], '\x01');
  EXPECT_EQ(ct->substr(1, 4), std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(ct->find("ghp_secret"), std::string::npos);
  absl::StatusOr<SecretString> pt = aead.Decrypt(*ct, "row-a#secret");
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(pt->view(), "ghp_secret");
  EXPECT_EQ(aead.Decrypt(*ct, "row-b#secret").status().message(), "decryption failed");
  EXPECT_FALSE(aead.Decrypt("junk", "row-a#secret").ok());
  EXPECT_FALSE(FakeAead(9).Decrypt(*ct, "row-a#secret").ok());
  aead.set_fail_encrypt(true);
  EXPECT_FALSE(aead.Encrypt("x", "y").ok());
}

}  // namespace
}  // namespace registryauth::services::testing
