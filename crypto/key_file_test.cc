#include "crypto/key_file.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/secret.h"
#include "crypto/keyring.h"
#include "gtest/gtest.h"
#include "tests/support/test_files.h"

namespace registryauth::crypto {
namespace {

using ::registryauth::testing::DirectoryEntries;
using ::registryauth::testing::FileMode;
using ::registryauth::testing::ReadFileOrEmpty;

using Ids = std::vector<std::uint32_t>;

constexpr std::string_view kAd = "registryauth/v1/workspaces/acme/registries/gh#secret";
constexpr char kKeyA[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kKeyB[] = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

// A fresh directory under TEST_TMPDIR for each test.
std::string TempDir(std::string_view name) {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(base != nullptr ? base : "/tmp", "/", std::string(name));
  ::mkdir(dir.c_str(), 0700);
  return dir;
}

KeyFile MustParse(std::string_view text) {
  absl::StatusOr<KeyFile> file = KeyFile::Parse(text);
  EXPECT_TRUE(file.ok()) << file.status();
  return *std::move(file);
}

std::string Encrypted(const KeyFile& file, std::string_view plaintext) {
  auto ring = file.ToKeyRing();
  EXPECT_TRUE(ring.ok()) << ring.status();
  auto ct = (*ring)->Encrypt(plaintext, kAd);
  EXPECT_TRUE(ct.ok()) << ct.status();
  return ct.ok() ? *ct : "";
}

bool Decrypts(const KeyFile& file, std::string_view ct, std::string_view plaintext) {
  auto ring = file.ToKeyRing();
  if (!ring.ok()) return false;
  auto pt = (*ring)->Decrypt(ct, kAd);
  return pt.ok() && pt->view() == plaintext;
}

TEST(KeyFileTest, NewHasOneRandomPrimaryKey) {
  absl::StatusOr<KeyFile> a = KeyFile::New();
  absl::StatusOr<KeyFile> b = KeyFile::New();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->key_ids(), Ids{1});
  EXPECT_EQ(a->primary_id(), 1u);
  EXPECT_NE(a->Format()->view(), b->Format()->view());  // different random keys
}

TEST(KeyFileTest, AddGeneratedKeyTakesTheNextIdAndOptionallyBecomesPrimary) {
  KeyFile file = MustParse(absl::StrCat("primary 1\nkey 5 ", kKeyB, "\nkey 1 ", kKeyA, "\n"));
  const std::string old_ct = Encrypted(file, "ghp_old");

  absl::StatusOr<std::uint32_t> id = file.AddGeneratedKey(/*make_primary=*/false);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, 6u);  // max + 1, not count + 1
  EXPECT_EQ(file.primary_id(), 1u);
  id = file.AddGeneratedKey(/*make_primary=*/true);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, 7u);
  EXPECT_EQ(file.primary_id(), 7u);
  EXPECT_EQ(file.key_ids(), (Ids{1, 5, 6, 7}));
  EXPECT_TRUE(file.Contains(6));
  EXPECT_FALSE(file.Contains(2));

  // The existing keys are kept byte for byte; new ciphertexts use the new primary.
  EXPECT_TRUE(Decrypts(file, old_ct, "ghp_old"));
  const std::string new_ct = Encrypted(file, "ghp_new");
  EXPECT_EQ(KeyRing::KeyIdOf(new_ct), 7u);
  const std::string text(file.Format()->view());
  EXPECT_NE(text.find(absl::StrCat("key 1 ", kKeyA)), std::string::npos);
  EXPECT_NE(text.find(absl::StrCat("key 5 ", kKeyB)), std::string::npos);
  EXPECT_NE(text.find("primary 7\n"), std::string::npos);
}

TEST(KeyFileTest, NoIdLeftAfterTheLargest) {
  KeyFile file = MustParse(absl::StrCat("primary 4294967295\nkey 4294967295 ", kKeyA, "\n"));
  absl::StatusOr<std::uint32_t> id = file.AddGeneratedKey(true);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(file.key_ids(), Ids{4294967295u});
}

TEST(KeyFileTest, Promote) {
  KeyFile file = MustParse(absl::StrCat("primary 1\nkey 1 ", kKeyA, "\nkey 2 ", kKeyB, "\n"));
  absl::Status s = file.Promote(3);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "key 3 is not in the key file");
  EXPECT_EQ(file.primary_id(), 1u);
  ASSERT_TRUE(file.Promote(2).ok());
  EXPECT_EQ(file.primary_id(), 2u);
  EXPECT_EQ(KeyRing::KeyIdOf(Encrypted(file, "x")), 2u);
  EXPECT_TRUE(file.Promote(2).ok());  // idempotent
}

TEST(KeyFileTest, RemoveRefusesThePrimaryAndUnknownIds) {
  KeyFile file = MustParse(absl::StrCat("primary 2\nkey 1 ", kKeyA, "\nkey 2 ", kKeyB, "\n"));
  const std::string under1 = [&] {
    KeyFile only1 = MustParse(absl::StrCat("primary 1\nkey 1 ", kKeyA, "\n"));
    return Encrypted(only1, "ghp_one");
  }();
  EXPECT_TRUE(Decrypts(file, under1, "ghp_one"));

  absl::Status s = file.Remove(2);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "key 2 is the primary key; promote another key first");
  EXPECT_EQ(file.Remove(9).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(file.key_ids(), (Ids{1, 2}));

  ASSERT_TRUE(file.Remove(1).ok());
  EXPECT_EQ(file.key_ids(), Ids{2});
  EXPECT_FALSE(Decrypts(file, under1, "ghp_one"));
  EXPECT_EQ(std::string(file.Format()->view()).find(kKeyA), std::string::npos);
}

TEST(KeyFileTest, WriteReplacesAtomicallyWithMode0600AndLeavesNoTemporaryFile) {
  const std::string dir = TempDir("write_atomic");
  const std::string path = dir + "/keys.txt";
  std::remove(path.c_str());
  const mode_t old_umask = ::umask(0);  // a careless umask must not matter
  absl::StatusOr<KeyFile> file = KeyFile::New();
  ASSERT_TRUE(file.ok());
  absl::Status written = file->Write(path);
  ::umask(old_umask);
  ASSERT_TRUE(written.ok()) << written;
  EXPECT_EQ(FileMode(path), 0600u);
  EXPECT_EQ(DirectoryEntries(dir), std::vector<std::string>{"keys.txt"});

  // Round trip through the file, then edit and write again.
  absl::StatusOr<KeyFile> read = KeyFile::Read(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->Format()->view(), file->Format()->view());
  const std::string ct = Encrypted(*read, "ghp_persisted");

  struct stat before;
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  ASSERT_TRUE(read->AddGeneratedKey(true).ok());
  ASSERT_TRUE(read->Write(path).ok());
  struct stat after;
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);  // a new file renamed into place, not rewritten
  EXPECT_EQ(FileMode(path), 0600u);
  EXPECT_EQ(DirectoryEntries(dir), std::vector<std::string>{"keys.txt"});

  absl::StatusOr<std::unique_ptr<KeyRing>> ring = KeyRing::LoadFile(path);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ((*ring)->key_ids(), (Ids{1, 2}));
  EXPECT_EQ((*ring)->primary_key_id(), 2u);
  absl::StatusOr<SecretString> pt = (*ring)->Decrypt(ct, kAd);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(pt->view(), "ghp_persisted");
}

TEST(KeyFileTest, ReadAppliesTheKeyFileChecks) {
  const std::string dir = TempDir("read_checks");
  absl::StatusOr<KeyFile> missing = KeyFile::Read(dir + "/none.txt");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);

  const std::string open_path = dir + "/open.txt";
  {
    std::ofstream out(open_path);
    out << "primary 1\nkey 1 " << kKeyA << "\n";
  }
  ASSERT_EQ(::chmod(open_path.c_str(), 0644), 0);
  absl::StatusOr<KeyFile> open = KeyFile::Read(open_path);
  EXPECT_EQ(open.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(open.status().message()).find(kKeyA), std::string::npos);
}

TEST(KeyFileTest, WriteErrorsNameThePathNotTheKeys) {
  const std::string dir = TempDir("write_errors");
  KeyFile file = MustParse(absl::StrCat("primary 1\nkey 1 ", kKeyA, "\n"));

  absl::Status s = file.Write(dir + "/no/such/dir/keys.txt");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find(dir + "/no/such/dir"), std::string::npos) << s;
  EXPECT_EQ(std::string(s.message()).find(kKeyA), std::string::npos);

  const std::string subdir = dir + "/a-directory";
  ::mkdir(subdir.c_str(), 0700);
  s = file.Write(subdir);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(DirectoryEntries(dir), std::vector<std::string>{"a-directory"});
}

TEST(KeyFileTest, RelativePathWritesInTheWorkingDirectory) {
  const std::string dir = TempDir("relative");
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(::chdir(dir.c_str()), 0);
  KeyFile file = MustParse(absl::StrCat("primary 1\nkey 1 ", kKeyA, "\n"));
  absl::Status s = file.Write("keys.txt");
  ASSERT_EQ(::chdir(cwd), 0);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadFileOrEmpty(dir + "/keys.txt"), std::string(file.Format()->view()));
}

}  // namespace
}  // namespace registryauth::crypto
