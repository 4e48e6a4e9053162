// Test-only: the small file-system helpers tests that write files share: a fresh directory, a
// file's text and mode, a directory's entries.
//
//   const std::string dir = NewTestDir("keys");
//   ... write dir + "/key" ...
//   EXPECT_EQ(FileMode(dir + "/key"), 0600u);
//   EXPECT_EQ(DirectoryEntries(dir), std::vector<std::string>{"key"});
//
// Thread-compatible.
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_TEST_FILES_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_TEST_FILES_H_

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace registryauth::testing {

// A new, empty directory (mode 0700) under TEST_TMPDIR (else /tmp), named `<prefix>_XXXXXX`.
std::string NewTestDir(std::string_view prefix);

// The whole file as bytes; "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

// The permission bits (07777) of `path`; 0 when it does not exist.
mode_t FileMode(const std::string& path);

// The names in `dir` without "." and "..", sorted; empty when it cannot be read.
std::vector<std::string> DirectoryEntries(const std::string& dir);

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_TEST_FILES_H_
