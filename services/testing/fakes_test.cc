// The fakes must behave like the real implementations where services/ relies on it.
#include <string>

#include "gtest/gtest.h"
#include "services/testing/fake_aead.h"
#include "services/testing/fake_store.h"

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

TEST(FakeRegistryStoreTest, VersionsDefaultsAndParents) {
  FakeRegistryStore store;
  RegistryConfig c;
  c.workspace_id = "acme";
  c.id = "a";
  EXPECT_EQ(store.CreateRegistryConfig(c).status().code(), absl::StatusCode::kNotFound);
  Workspace w;
  w.id = "acme";
  ASSERT_EQ(store.CreateWorkspace(w)->version, 1);
  c.is_default = true;
  ASSERT_TRUE(store.CreateRegistryConfig(c).ok());
  c.id = "b";
  ASSERT_TRUE(store.CreateRegistryConfig(c).ok());
  EXPECT_FALSE(store.GetRegistryConfig("acme", "a")->is_default);
  EXPECT_EQ(store.UpdateRegistryConfig(c, 5).status().code(), absl::StatusCode::kAborted);
  absl::StatusOr<RegistryConfig> u = store.UpdateRegistryConfig(c, 1);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->version, 2);
  EXPECT_EQ(store.DeleteWorkspace("acme", 0, false).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store.DeleteWorkspace("acme", 0, true).ok());
  EXPECT_EQ(store.GetRegistryConfig("acme", "b").status().code(), absl::StatusCode::kNotFound);
}

TEST(FakeRegistryStoreTest, Pages) {
  FakeRegistryStore store;
  for (const char* id : {"c", "a", "b"}) {
    Workspace w;
    w.id = id;
    ASSERT_TRUE(store.CreateWorkspace(w).ok());
  }
  absl::StatusOr<Page<Workspace>> p = store.ListWorkspaces({2, ""});
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->items.size(), 2u);
  EXPECT_EQ(p->items[0].id, "a");
  EXPECT_TRUE(p->has_more);
  p = store.ListWorkspaces({2, "b"});
  ASSERT_EQ(p->items.size(), 1u);
  EXPECT_EQ(p->items[0].id, "c");
  EXPECT_FALSE(p->has_more);
}

}  // namespace
}  // namespace registryauth::services::testing
