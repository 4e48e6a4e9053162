#include "common/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "common/status_macros.h"
#include "common/strings.h"

namespace registryauth {
namespace {

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

std::string BaseOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Reads a whole regular file of at most kMaxSmallFileSize bytes into `out` (a std::string or,
// for a secret, a SecretString: then every buffer it grows through is wiped on release).
template <typename Buffer>
absl::Status ReadInto(const std::string& path, std::string_view what, bool private_file,
                      Buffer& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    return absl::ErrnoToStatus(error, Cat("cannot open ", what, " ", path));
  }
  FdCloser closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    return absl::ErrnoToStatus(error, Cat("cannot stat ", what, " ", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(Cat(what, " ", path, " is not a regular file"));
  }
  if (private_file && (st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        Cat(what, " ", path, " must not be readable by group or others (chmod 600)"));
  }
  const absl::Status too_large =
      absl::InvalidArgumentError(Cat(what, " ", path, " is larger than 1 MiB"));
  if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > kMaxSmallFileSize) {
    return too_large;
  }
  out.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t used = 0;
  while (true) {
    if (used == out.size()) {  // the file grew after fstat
      if (out.size() > kMaxSmallFileSize) return too_large;
      out.resize(std::min(out.size() * 2, kMaxSmallFileSize + 1));
    }
    char* data = nullptr;
    if constexpr (std::is_same_v<Buffer, SecretString>) {
      data = out.mutable_data();
    } else {
      data = &out[0];
    }
    const ssize_t n = ::read(fd, data + used, out.size() - used);
    if (n < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      return absl::ErrnoToStatus(error, Cat("cannot read ", what, " ", path));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > kMaxSmallFileSize) return too_large;
  out.resize(used);
  return absl::OkStatus();
}

// Gives the new file `fd` at `path` exactly `mode`, writes all of `content`, fsyncs and closes
// it. On failure the file is closed and removed, and the error names what failed.
absl::Status FinishFile(int fd, mode_t mode, std::string_view content, const std::string& path) {
  auto fail = [&](const char* what) {
    const int error = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return absl::ErrnoToStatus(error, Cat(what, path));
  };
  if (::fchmod(fd, mode) != 0) return fail("cannot chmod ");
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write ");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot fsync ");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(path.c_str());
    return absl::ErrnoToStatus(error, Cat("cannot close ", path));
  }
  return absl::OkStatus();
}

// Replaces `path` atomically: a temporary file in the same directory, fsync, rename, fsync of
// the directory. An existing file's owner and group carry over; its mode too unless
// `forced_mode` is set. A new file gets `forced_mode`, else `mode_if_new`.
absl::Status ReplaceFileAtomically(const std::string& path, std::string_view content,
                                   std::optional<mode_t> forced_mode, mode_t mode_if_new) {
  const std::string dir = DirectoryOf(path);
  struct stat existing;
  const bool exists = ::stat(path.c_str(), &existing) == 0;
  if (exists && !S_ISREG(existing.st_mode)) {
    return absl::FailedPreconditionError(Cat(path, " is not a regular file"));
  }
  const mode_t mode = forced_mode.has_value() ? *forced_mode
                      : exists                ? (existing.st_mode & 07777)
                                              : mode_if_new;

  // mkstemp creates the file with mode 0600 and O_EXCL; the fchmod below sets the final mode
  // independently of the libc. The name starts with '.' so globs over the directory do not
  // pick it up.
  std::string tmp = Cat(dir, "/.", BaseOf(path), ".tmp-XXXXXX");
  const int fd = ::mkostemp(&tmp[0], O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, Cat("cannot create a temporary file in ", dir));
  }
  if (exists && (existing.st_uid != ::geteuid() || existing.st_gid != ::getegid()) &&
      ::fchown(fd, existing.st_uid, existing.st_gid) != 0) {
    const int error = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return absl::ErrnoToStatus(error, Cat("cannot give ", tmp, " the owner and group of ", path));
  }
  // After fchown, which may clear set-id bits.
  RETURN_IF_ERROR(FinishFile(fd, mode, content, tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    return absl::ErrnoToStatus(error, Cat("cannot rename ", tmp, " to ", path));
  }
  // Make the rename itself durable.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return absl::ErrnoToStatus(errno, Cat("cannot open directory ", dir));
  }
  const int synced = ::fsync(dir_fd);
  const int error = errno;
  ::close(dir_fd);
  if (synced != 0) {
    return absl::ErrnoToStatus(error, Cat("cannot fsync directory ", dir));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SecretString> ReadPrivateFile(const std::string& path, std::string_view what) {
  SecretString out;
  absl::Status s = ReadInto(path, what, /*private_file=*/true, out);
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, std::string_view what) {
  std::string out;
  absl::Status s = ReadInto(path, what, /*private_file=*/false, out);
  if (!s.ok()) return s;
  return out;
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view content) {
  return ReplaceFileAtomically(path, content, mode_t{0600}, 0600);
}

absl::Status WriteFileAtomicallyWithMode(const std::string& path, std::string_view content,
                                         mode_t mode_if_new) {
  return ReplaceFileAtomically(path, content, std::nullopt, mode_if_new);
}

absl::Status WriteNewFile(const std::string& path, std::string_view content, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    const int error = errno;
    if (error == EEXIST) return absl::AlreadyExistsError(Cat(path, " already exists"));
    return absl::ErrnoToStatus(error, Cat("cannot create ", path));
  }
  // The umask may have narrowed `mode`; FinishFile sets it exactly.
  return FinishFile(fd, mode, content, path);
}

std::string DirectoryOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace registryauth
