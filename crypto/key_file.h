// KeyFile: an editable key file (the crypto/keyring.h text format), for `registry-authd keys`.
//
// Read() applies the same checks as KeyRing::LoadFile (regular file, no access for group or
// others). The edits work on the in-memory copy; Write() replaces the file atomically: the new
// text goes to a temporary file in the same directory (mode 0600, same owner and group as the
// file it replaces), is fsync'ed, renamed over the old file, and the directory is fsync'ed. A
// reader (a server reloading on SIGHUP) therefore sees either the old or the new file, never a
// torn one, and a crash leaves one of the two. Two tools editing the same file at once are not
// coordinated: the last rename wins (run one key command at a time).
//
// Errors name paths and key ids, never key bytes.
//
//   ASSIGN_OR_RETURN(KeyFile file, KeyFile::Read(path));
//   ASSIGN_OR_RETURN(uint32_t id, file.AddGeneratedKey(/*make_primary=*/true));
//   RETURN_IF_ERROR(file.Write(path));
//
// Thread-compatible.
#ifndef REGISTRY_AUTH_CRYPTO_KEY_FILE_H_
#define REGISTRY_AUTH_CRYPTO_KEY_FILE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/file_io.h"
#include "common/secret.h"
#include "crypto/keyring.h"

namespace registryauth::crypto {

class KeyFile {
 public:
  // A file with one freshly generated key, id 1, primary (to start a key ring).
  static absl::StatusOr<KeyFile> New();
  static absl::StatusOr<KeyFile> Parse(std::string_view text);
  // NOT_FOUND if the file does not exist; otherwise KeyRing::LoadFile's errors.
  static absl::StatusOr<KeyFile> Read(const std::string& path);

  std::uint32_t primary_id() const { return contents_.primary_id; }
  // Ascending.
  std::vector<std::uint32_t> key_ids() const;
  bool Contains(std::uint32_t id) const;

  // Adds a fresh random key with id = (largest id) + 1 and returns the id; with
  // `make_primary` it also becomes the primary. OUT_OF_RANGE if the largest id is already
  // 4294967295. (The file does not remember retired ids: if the largest id was retired, its id
  // comes back for the new key. Rotation retires old keys, never the newest, so this only
  // happens when an unused non-primary key is thrown away.)
  absl::StatusOr<std::uint32_t> AddGeneratedKey(bool make_primary);
  // Makes an existing key the primary. NOT_FOUND if the file has no key `id`.
  absl::Status Promote(std::uint32_t id);
  // Removes key `id`. NOT_FOUND if absent, FAILED_PRECONDITION if it is the primary (promote
  // another key first). Whether any stored secret still uses it is the caller's question.
  absl::Status Remove(std::uint32_t id);

  // The key ring this file describes.
  absl::StatusOr<std::unique_ptr<KeyRing>> ToKeyRing() const;
  // The file text (KeyRing::FormatKeyFile).
  absl::StatusOr<SecretString> Format() const;
  // Replaces `path` atomically with Format() (see the file comment).
  absl::Status Write(const std::string& path) const;

 private:
  explicit KeyFile(KeyRing::FileContents contents) : contents_(std::move(contents)) {}

  KeyRing::FileContents contents_;
};

// Key files are written with common/file_io.h's WriteFileAtomically (mode 0600, owner kept);
// named here too for the callers that edit key files by hand.
using ::registryauth::WriteFileAtomically;

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_KEY_FILE_H_
