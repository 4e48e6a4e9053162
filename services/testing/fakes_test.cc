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

TEST(FakeRegistryStoreTest, MembersGoWithTheirWorkspace) {
  FakeRegistryStore store;
  Member alice;
  alice.workspace_id = "acme";
  alice.user_id = "alice";
  alice.role = MemberRole::kOwner;
  EXPECT_EQ(store.CreateMember(alice).status().code(), absl::StatusCode::kNotFound);
  Workspace w;
  w.id = "acme";
  absl::StatusOr<Workspace> created = store.CreateWorkspaceWithMember(w, alice);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(store.CreateWorkspaceWithMember(w, alice).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store.CreateMember(alice).status().code(), absl::StatusCode::kAlreadyExists);
  Member bob = alice;
  bob.user_id = "bob";
  bob.status = MemberStatus::kInvited;
  ASSERT_EQ(store.CreateMember(bob)->version, 1);
  bob.status = MemberStatus::kActive;
  EXPECT_EQ(store.UpdateMember(bob, 5).status().code(), absl::StatusCode::kAborted);
  ASSERT_EQ(store.UpdateMember(bob, 1)->version, 2);
  absl::StatusOr<Page<Member>> members = store.ListMembers("acme", {1, ""});
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->items.size(), 1u);
  EXPECT_EQ(members->items[0].user_id, "alice");
  EXPECT_TRUE(members->has_more);
  absl::StatusOr<Page<Workspace>> of_bob = store.ListWorkspacesOfUser("bob", {});
  ASSERT_TRUE(of_bob.ok());
  ASSERT_EQ(of_bob->items.size(), 1u);
  EXPECT_EQ(of_bob->items[0].id, "acme");

  store.set_next_error(absl::UnavailableError("down"));
  EXPECT_EQ(store.GetMember("acme", "bob").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(store.GetMember("acme", "bob").ok());  // the error was used up

  // Members do not block a delete without force.
  EXPECT_TRUE(store.DeleteWorkspace("acme", 0, false).ok());
  EXPECT_EQ(store.GetMember("acme", "alice").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store.ListWorkspacesOfUser("bob", {})->items.empty());
}

TEST(FakeRegistryStoreTest, AuditTrailNewestFirstWithFilters) {
  FakeRegistryStore store;
  for (const char* resource : {"workspaces/acme", "workspaces/acme/registries/gh",
                               "workspaces/acme-2", "workspaces/beta"}) {
    AuditEvent e;
    e.resource = resource;
    e.detail = std::string(3000, 'd');
    absl::StatusOr<AuditEvent> stored = store.AppendAuditEvent(e);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->detail.size(), storage::kAuditDetailMaxChars);
  }
  AuditFilter acme;
  acme.resource = "workspaces/acme";
  absl::StatusOr<Page<AuditEvent>> page = store.ListAuditEvents(acme, 0, 0);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].resource, "workspaces/acme/registries/gh");
  EXPECT_EQ(page->items[1].resource, "workspaces/acme");
  page = store.ListAuditEvents({}, 1, page->items[0].id);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].resource, "workspaces/acme");
  EXPECT_FALSE(page->has_more);
  store.set_next_error(absl::UnavailableError("down"));
  EXPECT_EQ(store.AppendAuditEvent({}).status().code(), absl::StatusCode::kUnavailable);
}

TEST(FakeRegistryStoreTest, ReEncryptionCompareAndSet) {
  FakeRegistryStore store;
  Workspace w;
  w.id = "acme";
  ASSERT_TRUE(store.CreateWorkspace(w).ok());
  RegistryConfig c;
  c.workspace_id = "acme";
  c.id = "gh";
  c.secret_ciphertext = "ct-1";
  c.secret_key_id = 1;
  ASSERT_TRUE(store.CreateRegistryConfig(c).ok());
  absl::StatusOr<std::vector<RegistryConfig>> batch = store.ListSecretsNotUnderKey(2, 10);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_FALSE(*store.ReplaceSecretCiphertext("acme", "gh", "stale", "ct-2", 2));
  EXPECT_TRUE(*store.ReplaceSecretCiphertext("acme", "gh", "ct-1", "ct-2", 2));
  absl::StatusOr<RegistryConfig> got = store.GetRegistryConfig("acme", "gh");
  EXPECT_EQ(got->secret_ciphertext, "ct-2");
  EXPECT_EQ(got->secret_key_id, 2u);
  EXPECT_EQ(got->version, 1);
  EXPECT_TRUE(store.ListSecretsNotUnderKey(2, 10)->empty());
  store.set_next_error(absl::AbortedError("conflict"));
  EXPECT_EQ(store.ReplaceSecretCiphertext("acme", "gh", "ct-2", "ct-3", 3).status().code(),
            absl::StatusCode::kAborted);
}

}  // namespace
}  // namespace registryauth::services::testing
