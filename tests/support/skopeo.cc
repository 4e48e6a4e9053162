#include "tests/support/skopeo.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "tests/support/subprocess.h"

namespace registryauth::testing {
namespace {

constexpr char kRedacted[] = "<redacted>";

std::string Redact(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    absl::StrReplaceAll({{secret, kRedacted}}, &text);
  }
  return text;
}

bool ContainsAny(const std::string& haystack, std::initializer_list<const char*> needles) {
  for (const char* needle : needles) {
    if (absl::StrContains(haystack, needle)) return true;
  }
  return false;
}

// Quotes an argument for display when it is not plain.
std::string DisplayArg(const std::string& arg) {
  const bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$`") == std::string::npos;
  return plain ? arg : absl::StrCat("'", absl::StrReplaceAll(arg, {{"'", "'\\''"}}), "'");
}

void AddCreds(std::vector<std::string>* args, std::vector<std::string>* secrets, const char* flag,
              const std::optional<RegistryCredentials>& creds) {
  if (!creds.has_value()) return;
  args->push_back(flag);
  args->push_back(absl::StrCat(creds->username, ":", creds->password));
  secrets->push_back(creds->password);
}

}  // namespace

std::string SkopeoFailureName(SkopeoFailure failure) {
  switch (failure) {
    case SkopeoFailure::kNone:
      return "none";
    case SkopeoFailure::kUnauthorized:
      return "unauthorized";
    case SkopeoFailure::kDenied:
      return "denied";
    case SkopeoFailure::kNotFound:
      return "not found";
    case SkopeoFailure::kConnection:
      return "connection";
    case SkopeoFailure::kTimeout:
      return "timeout";
    case SkopeoFailure::kOther:
      return "other";
  }
  return "other";
}

SkopeoFailure ClassifySkopeoError(const std::string& stderr_text) {
  // Only the fatal line matters; with --debug, earlier lines log every request.
  std::string text = absl::AsciiStrToLower(stderr_text);
  if (const std::size_t fatal = text.rfind("level=fatal"); fatal != std::string::npos) {
    text = text.substr(fatal);
  }
  // Status codes appear in containers/image messages as "registry 401 (unauthorized)",
  // "status 401" or "401 unauthorized"; bare numbers could be part of a digest.
  if (ContainsAny(text, {"connection refused", "connection reset", "no such host", "i/o timeout",
                         "network is unreachable", "server misbehaving"})) {
    return SkopeoFailure::kConnection;
  }
  if (ContainsAny(text, {"denied", "forbidden", " 403 ", "(403", "status 403", "registry 403"})) {
    return SkopeoFailure::kDenied;
  }
  if (ContainsAny(text, {"unauthorized", "authentication required", "invalid username/password",
                         "status 401", "registry 401", " 401 ", "(401"})) {
    return SkopeoFailure::kUnauthorized;
  }
  if (ContainsAny(text, {"manifest unknown", "name unknown", "blob unknown", "not found",
                         "status 404", "registry 404", " 404 ", "(404"})) {
    return SkopeoFailure::kNotFound;
  }
  return SkopeoFailure::kOther;
}

std::string SkopeoResult::Describe() const {
  return absl::StrCat("$ ", command, "\n",
                      timed_out ? "timed out" : absl::StrCat("exit code ", exit_code),
                      ", failure: ", SkopeoFailureName(failure), "\n--- stdout ---\n", stdout_text,
                      "\n--- stderr ---\n", stderr_text);
}

absl::StatusOr<std::string> Skopeo::FindBinary() {
  if (const char* env = std::getenv(kBinaryEnv); env != nullptr && *env != '\0') {
    if (access(env, X_OK) != 0) {
      return absl::NotFoundError(absl::StrCat(kBinaryEnv, "=", env, " is not executable"));
    }
    return std::string(env);
  }
  std::optional<std::string> found = FindExecutable("skopeo", {"/usr/bin"});
  if (!found.has_value())
    return absl::NotFoundError("skopeo is not installed (Debian package skopeo)");
  return *found;
}

absl::StatusOr<std::unique_ptr<Skopeo>> Skopeo::Create(absl::Duration timeout) {
  absl::StatusOr<std::string> binary = FindBinary();
  if (!binary.ok()) return binary.status();
  absl::StatusOr<std::string> dir = MakeTempDir("skopeo");
  if (!dir.ok()) return dir.status();
  for (const char* sub : {"/home", "/home/.config", "/home/.config/containers", "/run", "/tmp",
                          "/registries.d", "/certs"}) {
    const std::string path = absl::StrCat(*dir, sub);
    if (mkdir(path.c_str(), 0700) != 0) {
      return absl::InternalError(absl::StrCat("cannot create ", path));
    }
  }
  const std::pair<const char*, const char*> files[] = {
      // Accept any image: the tests check digests themselves.
      {"/policy.json", R"({"default": [{"type": "insecureAcceptAnything"}]})"},
      // Replaces /etc/containers/registries.conf and its drop-ins: no mirrors, no blocks, no
      // short-name aliases.
      {"/home/.config/containers/registries.conf", "unqualified-search-registries = []\n"},
  };
  for (const auto& [name, text] : files) {
    if (absl::Status s = WriteFile(absl::StrCat(*dir, name), text); !s.ok()) return s;
  }
  return std::unique_ptr<Skopeo>(new Skopeo(*binary, *dir, timeout));
}

std::vector<std::string> Skopeo::Environment() const {
  return {
      path_prefix_.empty() ? "PATH=/usr/bin:/bin"
                           : absl::StrCat("PATH=", path_prefix_, ":/usr/bin:/bin"),
      absl::StrCat("HOME=", dir_, "/home"),
      absl::StrCat("XDG_RUNTIME_DIR=", dir_, "/run"),
      absl::StrCat("XDG_CONFIG_HOME=", dir_, "/home/.config"),
      absl::StrCat("XDG_DATA_HOME=", dir_, "/home/.local/share"),
      absl::StrCat("TMPDIR=", dir_, "/tmp"),
      // Read by skopeo as the --authfile default; never created by the harness, so no stored
      // credentials (a test may write one, e.g. with credHelpers).
      absl::StrCat("REGISTRY_AUTH_FILE=", dir_, "/run/auth.json"),
      // containers/image treats a non-zero value as "rootless": its blob-info cache and
      // signature store then live under $XDG_DATA_HOME instead of /var/lib/containers.
      "_CONTAINERS_ROOTLESS_UID=65534",
      "LC_ALL=C",
  };
}

SkopeoResult Skopeo::Run(const std::vector<std::string>& args,
                         const std::vector<std::string>& secrets) {
  std::vector<std::string> argv = {binary_,
                                   "--policy",
                                   absl::StrCat(dir_, "/policy.json"),
                                   "--registries.d",
                                   absl::StrCat(dir_, "/registries.d"),
                                   "--tmpdir",
                                   absl::StrCat(dir_, "/tmp"),
                                   "--command-timeout",
                                   absl::StrCat(absl::ToInt64Seconds(timeout_), "s")};
  if (debug_) argv.push_back("--debug");
  argv.insert(argv.end(), args.begin(), args.end());

  SkopeoResult result;
  std::vector<std::string> shown;
  for (const std::string& a : argv) shown.push_back(DisplayArg(Redact(a, secrets)));
  result.command = absl::StrJoin(shown, " ");
  // The harness deadline is a little later than skopeo's own --command-timeout, so a slow
  // operation normally ends with skopeo's message rather than a kill.
  absl::StatusOr<SubprocessResult> run =
      RunSubprocess(argv, Environment(), timeout_ + absl::Seconds(5));
  if (!run.ok()) {
    result.stderr_text = std::string(run.status().message());
    result.failure = SkopeoFailure::kOther;
    return result;
  }
  result.exit_code = run->exit_code;
  result.timed_out = run->timed_out;
  result.stdout_text = Redact(run->stdout_text, secrets);
  result.stderr_text = Redact(run->stderr_text, secrets);
  if (result.timed_out) {
    result.failure = SkopeoFailure::kTimeout;
  } else if (result.exit_code == 0) {
    result.failure = SkopeoFailure::kNone;
  } else {
    result.failure = ClassifySkopeoError(run->stderr_text);
  }
  return result;
}

SkopeoResult Skopeo::Copy(const std::string& src, const std::string& dst,
                          const SkopeoCopyOptions& options) {
  std::vector<std::string> args = {"copy"};
  std::vector<std::string> secrets;
  const bool src_docker = absl::StartsWith(src, "docker://");
  const bool dst_docker = absl::StartsWith(dst, "docker://");
  const std::string verify = options.tls_verify ? "true" : "false";
  if (src_docker) {
    args.push_back(absl::StrCat("--src-tls-verify=", verify));
    args.insert(args.end(), {"--src-cert-dir", absl::StrCat(dir_, "/certs")});
  }
  if (dst_docker) {
    args.push_back(absl::StrCat("--dest-tls-verify=", verify));
    args.insert(args.end(), {"--dest-cert-dir", absl::StrCat(dir_, "/certs")});
  }
  AddCreds(&args, &secrets, "--src-creds", options.src_creds);
  AddCreds(&args, &secrets, "--dest-creds", options.dest_creds);
  if (options.preserve_digests) args.push_back("--preserve-digests");
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  args.push_back(src);
  args.push_back(dst);
  return Run(args, secrets);
}

SkopeoResult Skopeo::Inspect(const std::string& image,
                             const std::optional<RegistryCredentials>& creds, bool raw,
                             bool tls_verify) {
  std::vector<std::string> args = {"inspect"};
  std::vector<std::string> secrets;
  if (absl::StartsWith(image, "docker://")) {
    args.push_back(absl::StrCat("--tls-verify=", tls_verify ? "true" : "false"));
    args.insert(args.end(), {"--cert-dir", absl::StrCat(dir_, "/certs")});
  }
  AddCreds(&args, &secrets, "--creds", creds);
  if (raw) args.push_back("--raw");
  args.push_back(image);
  return Run(args, secrets);
}

}  // namespace registryauth::testing
