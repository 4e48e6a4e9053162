// The small files the service reads and writes: key files, signing keys and certificates, the
// token-signing exports. One place for the checks a secret file needs on the way in and for
// crash-safe replacement on the way out.
//
//   ASSIGN_OR_RETURN(SecretString text, ReadPrivateFile(path, "key file"));  // chmod 600 only
//   ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(path, "certificate file"));
//   RETURN_IF_ERROR(WriteFileAtomically(path, text.view()));                 // mode 0600
//
// Reads accept regular files of at most kMaxSmallFileSize bytes. `what` names the file in
// errors ("cannot open key file /etc/x", "key file /etc/x is not a regular file", "... must not
// be readable by group or others (chmod 600)", "... is larger than 1 MiB"); errors name the
// path, never the content. A private file is read into a SecretString, so every buffer it
// passes through is wiped when freed (common/secret.h).
//
// Thread-compatible: concurrent calls on different paths are fine; writers of one path race
// (the last rename wins, and each reader sees one whole version).
#ifndef REGISTRY_AUTH_COMMON_FILE_IO_H_
#define REGISTRY_AUTH_COMMON_FILE_IO_H_

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/secret.h"

namespace registryauth {

inline constexpr std::size_t kMaxSmallFileSize = 1 << 20;  // 1 MiB

// Reads a private file: FAILED_PRECONDITION unless it is a regular file that group and others
// cannot access (any bit of 077 set is refused).
absl::StatusOr<SecretString> ReadPrivateFile(const std::string& path, std::string_view what);

// Reads a file that is not secret (certificates, key-set lists): a regular file, any mode.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, std::string_view what);

// Writes `content` to `path` atomically (temporary file in the same directory, mode 0600,
// fsync, rename, fsync of the directory). If `path` exists, the new file gets its owner and
// group (so a root operator does not lock the service user out). Errors name the path only.
absl::Status WriteFileAtomically(const std::string& path, std::string_view content);

// The same, for files that are not secret: an existing file keeps its mode (and owner and
// group); a new one gets `mode_if_new`.
absl::Status WriteFileAtomicallyWithMode(const std::string& path, std::string_view content,
                                         mode_t mode_if_new);

// Creates `path` with `mode`, which must not exist yet (O_EXCL, no symlink followed;
// ALREADY_EXISTS otherwise), writes `content` and fsyncs it. On failure the file is removed.
absl::Status WriteNewFile(const std::string& path, std::string_view content, mode_t mode);

// The directory part of `path`: "." for a bare file name, "/" for a file in the root.
std::string DirectoryOf(const std::string& path);

}  // namespace registryauth

#endif  // REGISTRY_AUTH_COMMON_FILE_IO_H_
