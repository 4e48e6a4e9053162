#include "crypto/key_file.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_io.h"
#include "common/status_macros.h"

namespace registryauth::crypto {

absl::StatusOr<KeyFile> KeyFile::New() {
  ASSIGN_OR_RETURN(SecretString key, KeyRing::GenerateKey());
  KeyRing::FileContents contents;
  contents.keys.emplace_back(1, std::move(key));
  contents.primary_id = 1;
  return KeyFile(std::move(contents));
}

absl::StatusOr<KeyFile> KeyFile::Parse(std::string_view text) {
  ASSIGN_OR_RETURN(KeyRing::FileContents contents, KeyRing::ParseContents(text));
  return KeyFile(std::move(contents));
}

absl::StatusOr<KeyFile> KeyFile::Read(const std::string& path) {
  ASSIGN_OR_RETURN(KeyRing::FileContents contents, KeyRing::LoadFileContents(path));
  return KeyFile(std::move(contents));
}

std::vector<std::uint32_t> KeyFile::key_ids() const {
  std::vector<std::uint32_t> ids;
  for (const auto& entry : contents_.keys) ids.push_back(entry.first);
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool KeyFile::Contains(std::uint32_t id) const {
  return std::any_of(contents_.keys.begin(), contents_.keys.end(),
                     [id](const auto& entry) { return entry.first == id; });
}

absl::StatusOr<std::uint32_t> KeyFile::AddGeneratedKey(bool make_primary) {
  std::uint32_t max_id = 0;
  for (const auto& entry : contents_.keys) max_id = std::max(max_id, entry.first);
  if (max_id == std::numeric_limits<std::uint32_t>::max()) {
    return absl::OutOfRangeError("key id 4294967295 is taken; no larger id is left");
  }
  ASSIGN_OR_RETURN(SecretString key, KeyRing::GenerateKey());
  const std::uint32_t id = max_id + 1;
  contents_.keys.emplace_back(id, std::move(key));
  if (make_primary) contents_.primary_id = id;
  return id;
}

absl::Status KeyFile::Promote(std::uint32_t id) {
  if (!Contains(id))
    return absl::NotFoundError(absl::StrCat("key ", id, " is not in the key file"));
  contents_.primary_id = id;
  return absl::OkStatus();
}

absl::Status KeyFile::Remove(std::uint32_t id) {
  if (!Contains(id))
    return absl::NotFoundError(absl::StrCat("key ", id, " is not in the key file"));
  if (id == contents_.primary_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("key ", id, " is the primary key; promote another key first"));
  }
  contents_.keys.erase(std::remove_if(contents_.keys.begin(), contents_.keys.end(),
                                      [id](const auto& entry) { return entry.first == id; }),
                       contents_.keys.end());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<KeyRing>> KeyFile::ToKeyRing() const {
  std::vector<std::pair<std::uint32_t, SecretString>> keys;
  for (const auto& [id, key] : contents_.keys) keys.emplace_back(id, key);  // copies wipe too
  return KeyRing::Create(std::move(keys), contents_.primary_id);
}

absl::StatusOr<SecretString> KeyFile::Format() const {
  std::vector<std::pair<std::uint32_t, const SecretString*>> keys;
  for (const auto& [id, key] : contents_.keys) keys.emplace_back(id, &key);
  return KeyRing::FormatKeyFile(keys, contents_.primary_id);
}

absl::Status KeyFile::Write(const std::string& path) const {
  ASSIGN_OR_RETURN(SecretString text, Format());
  return WriteFileAtomically(path, text.view());
}

}  // namespace registryauth::crypto
