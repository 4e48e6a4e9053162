#include "common/file_io.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/support/test_files.h"

namespace registryauth {
namespace {

using ::registryauth::testing::DirectoryEntries;
using ::registryauth::testing::FileMode;
using ::registryauth::testing::NewTestDir;
using ::registryauth::testing::ReadFileOrEmpty;

void WriteWithMode(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

TEST(FileIoTest, PrivateFileIsReadOnlyWhenGroupAndOthersHaveNoAccess) {
  const std::string dir = NewTestDir("file_io");
  const std::string path = dir + "/k";
  WriteWithMode(path, "secret bytes", 0600);
  absl::StatusOr<SecretString> read = ReadPrivateFile(path, "key file");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->view(), "secret bytes");

  for (mode_t mode : {0640, 0604, 0610, 0601}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    absl::StatusOr<SecretString> refused = ReadPrivateFile(path, "key file");
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << mode;
    EXPECT_EQ(refused.status().message(),
              "key file " + path + " must not be readable by group or others (chmod 600)");
    EXPECT_FALSE(absl::StrContains(refused.status().message(), "secret bytes"));
  }
  // Not secret: any mode.
  absl::StatusOr<std::string> plain = ReadSmallFile(path, "certificate file");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, "secret bytes");
}

TEST(FileIoTest, ReadErrorsNameTheFileNeverTheContent) {
  const std::string dir = NewTestDir("file_io");
  absl::StatusOr<SecretString> missing = ReadPrivateFile(dir + "/none", "key file");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(missing.status().message(), "cannot open key file " + dir))
      << missing.status();

  absl::StatusOr<std::string> directory = ReadSmallFile(dir, "signing key set");
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(directory.status().message(), "signing key set " + dir + " is not a regular file");

  const std::string big = dir + "/big";
  WriteWithMode(big, std::string(kMaxSmallFileSize + 1, 'x'), 0600);
  absl::StatusOr<SecretString> too_large = ReadPrivateFile(big, "key file");
  EXPECT_EQ(too_large.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(too_large.status().message(), "key file " + big + " is larger than 1 MiB");

  const std::string exact = dir + "/exact";
  WriteWithMode(exact, std::string(kMaxSmallFileSize, 'y'), 0600);
  absl::StatusOr<SecretString> at_limit = ReadPrivateFile(exact, "key file");
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_EQ(at_limit->size(), kMaxSmallFileSize);
}

TEST(FileIoTest, AtomicWriteIsPrivateAndLeavesNoTemporaryFile) {
  const std::string dir = NewTestDir("file_io");
  const std::string path = dir + "/keys";
  ASSERT_TRUE(WriteFileAtomically(path, "one").ok());
  EXPECT_EQ(FileMode(path), 0600u);
  EXPECT_EQ(ReadFileOrEmpty(path), "one");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ASSERT_TRUE(WriteFileAtomically(path, "two").ok());
  EXPECT_EQ(FileMode(path), 0600u);  // a secret file's mode is forced back
  EXPECT_EQ(ReadFileOrEmpty(path), "two");
  EXPECT_EQ(DirectoryEntries(dir), std::vector<std::string>{"keys"});

  EXPECT_EQ(WriteFileAtomically(dir, "x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(WriteFileAtomically(dir + "/no/such/dir/f", "x").ok());
}

TEST(FileIoTest, AtomicWriteWithModeKeepsAnExistingMode) {
  const std::string dir = NewTestDir("file_io");
  const std::string path = dir + "/jwks.json";
  ASSERT_TRUE(WriteFileAtomicallyWithMode(path, "one", 0644).ok());
  EXPECT_EQ(FileMode(path), 0644u);
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  ASSERT_TRUE(WriteFileAtomicallyWithMode(path, "two", 0644).ok());
  EXPECT_EQ(FileMode(path), 0640u);
  EXPECT_EQ(ReadFileOrEmpty(path), "two");
}

TEST(FileIoTest, NewFileGetsItsExactModeAndNeverOverwrites) {
  const std::string dir = NewTestDir("file_io");
  const std::string path = dir + "/key.pem";
  const mode_t old_umask = ::umask(077);
  ASSERT_TRUE(WriteNewFile(path, "x", 0644).ok());
  ::umask(old_umask);
  EXPECT_EQ(FileMode(path), 0644u);
  absl::Status again = WriteNewFile(path, "y", 0600);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFileOrEmpty(path), "x");
  ASSERT_EQ(::symlink(path.c_str(), (dir + "/link").c_str()), 0);
  EXPECT_FALSE(WriteNewFile(dir + "/link", "z", 0600).ok());
  EXPECT_EQ(ReadFileOrEmpty(path), "x");
}

TEST(FileIoTest, DirectoryOf) {
  EXPECT_EQ(DirectoryOf("keys"), ".");
  EXPECT_EQ(DirectoryOf("/keys"), "/");
  EXPECT_EQ(DirectoryOf("/etc/regauth/keys"), "/etc/regauth");
  EXPECT_EQ(DirectoryOf("conf/keys"), "conf");
}

}  // namespace
}  // namespace registryauth
