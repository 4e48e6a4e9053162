#include "crypto/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace registryauth::crypto {
namespace {

absl::Status ErrnoError(int error, const std::string& what) {
  return absl::ErrnoToStatus(error, what);
}

// Directory part of `path` ("." for a bare file name).
std::string DirOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

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
  if (!Contains(id)) return absl::NotFoundError(absl::StrCat("key ", id, " is not in the key file"));
  contents_.primary_id = id;
  return absl::OkStatus();
}

absl::Status KeyFile::Remove(std::uint32_t id) {
  if (!Contains(id)) return absl::NotFoundError(absl::StrCat("key ", id, " is not in the key file"));
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

namespace {

// Replaces `path` atomically: a temporary file in the same directory, fsync, rename, fsync of
// the directory. An existing file's owner and group carry over; its mode too unless
// `forced_mode` is set. A new file gets `forced_mode`, else `mode_if_new`.
absl::Status ReplaceFileAtomically(const std::string& path, std::string_view content,
                                   std::optional<mode_t> forced_mode, mode_t mode_if_new) {
  const std::string dir = DirOf(path);
  struct stat existing;
  const bool exists = ::stat(path.c_str(), &existing) == 0;
  if (exists && !S_ISREG(existing.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  }
  const mode_t mode = forced_mode.has_value() ? *forced_mode
                      : exists                 ? (existing.st_mode & 07777)
                                               : mode_if_new;

  // mkstemp creates the file with mode 0600 and O_EXCL; the fchmod below sets the final mode
  // independently of the libc. The name starts with '.' so globs over the directory do not
  // pick it up.
  std::string tmp = absl::StrCat(dir, "/.", BaseOf(path), ".tmp-XXXXXX");
  const int fd = ::mkostemp(&tmp[0], O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError(errno, absl::StrCat("cannot create a temporary file in ", dir));
  }
  auto fail = [&](int error, const std::string& what) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoError(error, what);
  };
  if (exists && (existing.st_uid != ::geteuid() || existing.st_gid != ::getegid()) &&
      ::fchown(fd, existing.st_uid, existing.st_gid) != 0) {
    return fail(errno, absl::StrCat("cannot give ", tmp, " the owner and group of ", path));
  }
  // After fchown, which may clear set-id bits.
  if (::fchmod(fd, mode) != 0) return fail(errno, absl::StrCat("cannot chmod ", tmp));
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno, absl::StrCat("cannot write ", tmp));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail(errno, absl::StrCat("cannot fsync ", tmp));
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(error, absl::StrCat("cannot close ", tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(error, absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  // Make the rename itself durable.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return ErrnoError(errno, absl::StrCat("cannot open directory ", dir));
  const int synced = ::fsync(dir_fd);
  const int error = errno;
  ::close(dir_fd);
  if (synced != 0) return ErrnoError(error, absl::StrCat("cannot fsync directory ", dir));
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, std::string_view content) {
  return ReplaceFileAtomically(path, content, mode_t{0600}, 0600);
}

absl::Status WriteFileAtomicallyWithMode(const std::string& path, std::string_view content,
                                         mode_t mode_if_new) {
  return ReplaceFileAtomically(path, content, std::nullopt, mode_if_new);
}

}  // namespace registryauth::crypto
