// regauthctl: the command-line client of the RegistryAuthService gRPC API, for people and
// scripts. This is the whole program as a library so tests can run it in-process; the binary
// (regauthctl.cc) only wires real stdin/stdout/stderr, the environment and channels.
//
//   regauthctl [--addr=HOST:PORT] [--json] [--timeout=10s] [--tls-ca=PEM ...] [--user=ID]
//              <resource> <verb> [args] [flags]
//
// Authentication: a client certificate (--tls-cert/--tls-key, mutual TLS) or an API key from
// $REGAUTH_API_KEY or --api-key-file (never from argv). --user acts for an end user (the caller
// needs act_as_user).
//
// Exit codes: 0 success, 1 the RPC failed (`error: <GRPC_CODE>: <message>` on stderr),
// 2 usage error (message and usage text on stderr). Secrets are never taken from argv: use
// --secret-stdin, --secret-file=PATH or --secret-env=VAR; they are never printed.
//
// RunRegauthctl is thread-compatible (it only touches what `io` gives it).
//
//   CliIo io{&std::cin, &std::cout, &std::cerr, EnvFromProcess};
//   return RunRegauthctl({"workspaces", "list"}, io, DefaultChannelFactory);
#ifndef REGISTRY_AUTH_CLI_REGAUTHCTL_LIB_H_
#define REGISTRY_AUTH_CLI_REGAUTHCTL_LIB_H_

#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

namespace registryauth::cli {

struct CliIo {
  std::istream* in;
  std::ostream* out;
  std::ostream* err;
  // Looks up an environment variable (REGAUTH_ADDR, --secret-env).
  std::function<std::optional<std::string>(const std::string&)> getenv;
};

// Where and how to connect: from --addr and the --tls-* flags (or REGAUTH_ADDR, REGAUTH_TLS_CA,
// REGAUTH_TLS_CERT, REGAUTH_TLS_KEY).
struct ChannelSpec {
  std::string addr;
  std::string tls_ca_file;    // trust roots for the server certificate; empty: plaintext
  std::string tls_cert_file;  // client certificate chain (mutual TLS), with tls_key_file
  std::string tls_key_file;
};

// Makes the channel; an error status is printed as `error: <message>` with exit code 1.
using ChannelFactory =
    std::function<absl::StatusOr<std::shared_ptr<grpc::Channel>>(const ChannelSpec& spec)>;

// Plaintext when spec.tls_ca_file is empty, else TLS verifying the server against that CA
// bundle, presenting the client certificate when given.
absl::StatusOr<std::shared_ptr<grpc::Channel>> DefaultChannelFactory(const ChannelSpec& spec);

// getenv(3) wrapper for CliIo::getenv.
std::optional<std::string> EnvFromProcess(const std::string& name);

// The usage text printed by `regauthctl help` and on usage errors.
const char* UsageText();

// Runs one command; `args` excludes the program name. Returns the process exit code.
int RunRegauthctl(const std::vector<std::string>& args, const CliIo& io,
                  const ChannelFactory& channel_factory);

}  // namespace registryauth::cli

#endif  // REGISTRY_AUTH_CLI_REGAUTHCTL_LIB_H_
