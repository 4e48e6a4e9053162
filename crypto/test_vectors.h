// Test-only reader for the golden files in crypto/testdata/: blocks of `name = value` lines
// separated by blank lines, `#` comment lines ignored.
//
//   auto records = ReadVectorFile(TestDataPath("crypto/testdata/aes_gcm_256_vectors.txt"));
//   std::string key = Unhex(records[0].at("key"));
//
// Thread-compatible (plain functions over values).
#ifndef REGISTRY_AUTH_CRYPTO_TEST_VECTORS_H_
#define REGISTRY_AUTH_CRYPTO_TEST_VECTORS_H_

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace registryauth::crypto::testing {

using VectorRecord = std::map<std::string, std::string>;

// Path of a data file (given relative to the workspace root) inside the test's runfiles.
inline std::string TestDataPath(std::string_view workspace_relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) return std::string(workspace_relative);
  return absl::StrCat(srcdir, "/", workspace, "/", std::string(workspace_relative));
}

// Returns the records of a golden file; an empty vector if it cannot be read (tests then fail
// on their own "expected N records" assertion).
inline std::vector<VectorRecord> ReadVectorFile(const std::string& path) {
  std::vector<VectorRecord> records;
  std::ifstream in(path);
  VectorRecord current;
  std::string line;
  while (std::getline(in, line)) {
    const absl::string_view view = absl::StripAsciiWhitespace(line);
    if (!view.empty() && view[0] == '#') continue;
    if (view.empty()) {
      if (!current.empty()) records.push_back(std::move(current));
      current.clear();
      continue;
    }
    const std::size_t eq = view.find('=');
    if (eq == absl::string_view::npos) continue;
    current[std::string(absl::StripAsciiWhitespace(view.substr(0, eq)))] =
        std::string(absl::StripAsciiWhitespace(view.substr(eq + 1)));
  }
  if (!current.empty()) records.push_back(std::move(current));
  return records;
}

// Hex (lower or upper case) to bytes. The golden files are well-formed; a malformed value is a
// broken test, reported by the caller comparing sizes.
inline std::string Unhex(std::string_view hex) {
  return absl::HexStringToBytes(absl::string_view(hex.data(), hex.size()));
}

inline std::string Hex(std::string_view bytes) {
  return absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size()));
}

}  // namespace registryauth::crypto::testing

#endif  // REGISTRY_AUTH_CRYPTO_TEST_VECTORS_H_
