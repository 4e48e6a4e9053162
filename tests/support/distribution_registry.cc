#include "tests/support/distribution_registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/support/skopeo.h"

namespace registryauth::testing {
namespace {

// A YAML double-quoted scalar.
std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, "\\x", absl::BytesToHexString(std::string(1, c)));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string RandomHex(int bytes) {
  std::string raw(static_cast<std::size_t>(bytes), '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  return absl::BytesToHexString(raw);
}

// A minimal HTTP/1.1 GET over loopback with a deadline (no keep-alive, no chunked bodies
// needed: the registry answers /v2/ with Content-Length, and we read to EOF anyway).
absl::StatusOr<RegistryProbe> HttpGet(int port, const std::string& target, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto fail = [fd](const std::string& why) {
    close(fd);
    return absl::UnavailableError(why);
  };
  auto wait_for = [&](short events) {
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) return false;
    pollfd p{fd, events, 0};
    return poll(&p, 1, static_cast<int>(ms)) == 1;
  };
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS || !wait_for(POLLOUT)) return fail("connect failed");
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail("connection refused");
  }
  const std::string request =
      absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1:", port,
                   "\r\nUser-Agent: registry-auth-test\r\nConnection: close\r\n\r\n");
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(POLLOUT)) return fail("send timed out");
    } else {
      return fail("send failed");
    }
  }
  std::string response;
  char buf[8192];
  while (true) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      response.append(buf, static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(POLLIN)) return fail("no complete answer before the deadline");
    } else {
      break;  // closed or reset: parse what arrived
    }
  }
  close(fd);
  const std::size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos) return absl::UnavailableError("no HTTP answer");
  std::vector<std::string> lines = absl::StrSplit(response.substr(0, head_end), "\r\n");
  std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
  RegistryProbe probe;
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &probe.status)) {
    return absl::UnavailableError(absl::StrCat("bad status line: ", lines[0]));
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    const std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
    std::string value(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
    if (name == "www-authenticate") probe.www_authenticate = value;
    if (name == "docker-distribution-api-version") probe.api_version = value;
  }
  probe.body = response.substr(head_end + 4);
  return probe;
}

}  // namespace

std::string DistributionConfigYaml(const RegistryOptions& options, int port,
                                   const std::string& storage_dir,
                                   const std::string& rootcertbundle_path) {
  std::string yaml = absl::StrCat(
      "# Written by tests/support/distribution_registry.cc\n"
      "version: 0.1\n"
      "log:\n"
      "  level: ",
      options.log_level,
      "\n"
      "  formatter: text\n"
      "  accesslog:\n"
      "    disabled: false\n"
      "storage:\n"
      "  filesystem:\n"
      "    rootdirectory: ",
      Quoted(storage_dir),
      "\n"
      "  delete:\n"
      "    enabled: ",
      options.delete_enabled ? "true" : "false",
      "\n"
      "  maintenance:\n"
      "    uploadpurging:\n"
      "      enabled: false\n"
      "http:\n"
      "  addr: ",
      Quoted(absl::StrCat("127.0.0.1:", port)),
      "\n"
      // A fixed secret per registry (else it logs a warning and makes one up per start).
      "  secret: ",
      Quoted(RandomHex(16)),
      "\n"
      "health:\n"
      "  storagedriver:\n"
      "    enabled: false\n");
  if (options.token_auth.has_value()) {
    const TokenAuthConfig& t = *options.token_auth;
    absl::StrAppend(&yaml,
                    "auth:\n"
                    "  token:\n"
                    "    realm: ",
                    Quoted(t.realm), "\n    service: ", Quoted(t.service),
                    "\n    issuer: ", Quoted(t.issuer),
                    "\n    rootcertbundle: ", Quoted(rootcertbundle_path), "\n");
  }
  if (options.notifications.has_value()) {
    const NotificationEndpoint& n = *options.notifications;
    absl::StrAppend(&yaml,
                    "notifications:\n"
                    "  endpoints:\n"
                    "    - name: registry-auth\n"
                    "      url: ",
                    Quoted(n.url), "\n");
    if (!n.authorization.empty()) {
      absl::StrAppend(&yaml, "      headers:\n        Authorization: [", Quoted(n.authorization),
                      "]\n");
    }
    absl::StrAppend(&yaml, "      timeout: ", absl::ToInt64Milliseconds(n.timeout),
                    "ms\n      threshold: ", n.threshold,
                    "\n      backoff: ", absl::ToInt64Milliseconds(n.backoff), "ms\n");
  }
  return yaml;
}

absl::StatusOr<std::string> DistributionRegistry::FindBinary() {
  if (const char* env = std::getenv(kBinaryEnv); env != nullptr && *env != '\0') {
    if (access(env, X_OK) != 0) {
      return absl::NotFoundError(absl::StrCat(kBinaryEnv, "=", env, " is not executable"));
    }
    return std::string(env);
  }
  std::optional<std::string> found = FindExecutable("docker-registry", {"/usr/bin"});
  if (!found.has_value()) {
    return absl::NotFoundError("docker-registry is not installed (Debian package docker-registry)");
  }
  return *found;
}

absl::StatusOr<std::unique_ptr<DistributionRegistry>> DistributionRegistry::Start(
    const RegistryOptions& options) {
  absl::StatusOr<std::string> binary = FindBinary();
  if (!binary.ok()) return binary.status();
  absl::StatusOr<std::string> dir = MakeTempDir("docker-registry");
  if (!dir.ok()) return dir.status();
  // The port is picked before the registry binds it; if someone else takes it meanwhile the
  // registry exits ("address already in use") and we try another one.
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<int> port = PickFreeLoopbackPort();
    if (!port.ok()) return port.status();
    std::unique_ptr<DistributionRegistry> registry(new DistributionRegistry(*binary, *dir, *port));
    last = registry->Launch(options);
    if (last.ok()) return registry;
    if (!absl::StrContains(registry->Logs(), "address already in use")) return last;
  }
  return last;
}

DistributionRegistry::~DistributionRegistry() { Stop(); }

void DistributionRegistry::Stop() {
  if (child_ != nullptr) child_->Stop(absl::Seconds(5));
}

absl::Status DistributionRegistry::Restart(const RegistryOptions& options) {
  Stop();
  child_.reset();
  return Launch(options);
}

absl::Status DistributionRegistry::Launch(const RegistryOptions& options) {
  options_ = options;
  std::string bundle_path;
  if (options.token_auth.has_value()) {
    bundle_path = absl::StrCat(dir_, "/token-rootcerts.pem");
    if (absl::Status s = WriteFile(bundle_path, options.token_auth->rootcertbundle_pem); !s.ok()) {
      return s;
    }
  }
  const std::string yaml =
      DistributionConfigYaml(options, port_, absl::StrCat(dir_, "/storage"), bundle_path);
  if (absl::Status s = WriteFile(config_path(), yaml, 0600); !s.ok()) return s;
  const std::string log_path = absl::StrCat(dir_, "/registry.log");
  // The registry reads REGISTRY_* variables as configuration overrides, so it gets a clean
  // environment: nothing from the test's environment can change its configuration.
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn({binary_, "serve", config_path()},
                          {"PATH=/usr/bin:/bin", absl::StrCat("HOME=", dir_)}, log_path);
  if (!child.ok()) return child.status();
  child_ = *std::move(child);

  const int expected_status = options.token_auth.has_value() ? 401 : 200;
  const absl::Time deadline = absl::Now() + options.start_timeout;
  std::string last_problem = "no answer yet";
  while (absl::Now() < deadline) {
    if (std::optional<std::string> exit = child_->ExitDescription(); exit.has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat("docker-registry exited (", *exit, ") during start-up; log:\n", Logs()));
    }
    absl::StatusOr<RegistryProbe> probe = HttpGet(port_, "/v2/", absl::Seconds(2));
    if (probe.ok()) {
      if (probe->status != expected_status) {
        last_problem = absl::StrCat("GET /v2/ answered ", probe->status);
      } else if (options.token_auth.has_value() &&
                 !absl::StartsWith(probe->www_authenticate, "Bearer ")) {
        last_problem = absl::StrCat("no Bearer challenge: ", probe->www_authenticate);
      } else {
        return absl::OkStatus();
      }
      Stop();
      return absl::FailedPreconditionError(absl::StrCat("docker-registry started but ",
                                                        last_problem, " (wanted ", expected_status,
                                                        "); log:\n", Logs()));
    }
    last_problem = std::string(probe.status().message());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
  }
  Stop();
  return absl::FailedPreconditionError(absl::StrCat(
      "docker-registry did not answer GET /v2/ within ",
      absl::FormatDuration(options.start_timeout), " (", last_problem, "); log:\n", Logs()));
}

absl::StatusOr<RegistryProbe> DistributionRegistry::ProbeV2() const {
  return HttpGet(port_, "/v2/", absl::Seconds(5));
}

std::string DistributionRegistry::host_port() const { return absl::StrCat("127.0.0.1:", port_); }

std::string DistributionRegistry::Reference(const std::string& repository,
                                            const std::string& tag) const {
  return absl::StrCat("docker://", host_port(), "/", repository, ":", tag);
}

std::string DistributionRegistry::BaseUrl() const { return absl::StrCat("http://", host_port()); }

std::string DistributionRegistry::Logs() const {
  absl::StatusOr<std::string> text = ReadFile(absl::StrCat(dir_, "/registry.log"));
  return text.ok() ? *text : "(no log)";
}

std::string DistributionRegistry::config_path() const { return absl::StrCat(dir_, "/config.yml"); }

RegistryToolsAvailability GetRegistryToolsAvailability() {
  RegistryToolsAvailability out;
  const char* require = std::getenv(DistributionRegistry::kRequireEnv);
  out.required = require != nullptr && std::string(require) == "1";
  std::vector<std::string> problems;
  if (absl::StatusOr<std::string> b = DistributionRegistry::FindBinary(); !b.ok()) {
    problems.emplace_back(b.status().message());
  }
  if (absl::StatusOr<std::string> b = Skopeo::FindBinary(); !b.ok()) {
    problems.emplace_back(b.status().message());
  }
  out.available = problems.empty();
  out.problem = absl::StrJoin(problems, "; ");
  return out;
}

}  // namespace registryauth::testing
