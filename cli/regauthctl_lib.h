// regauthctl: the command-line client of the RegistryAuthService gRPC API, for people and
// scripts. This is the whole program as a library so tests can run it in-process; the binary
// (regauthctl.cc) only wires real stdin/stdout/stderr, the environment and channels.
//
//   regauthctl [--addr=HOST:PORT] [--json] [--timeout=10s] <resource> <verb> [args] [flags]
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

#include "grpcpp/channel.h"

namespace registryauth::cli {

struct CliIo {
  std::istream* in;
  std::ostream* out;
  std::ostream* err;
  // Looks up an environment variable (REGAUTH_ADDR, --secret-env).
  std::function<std::optional<std::string>(const std::string&)> getenv;
};

// Makes the channel for `--addr`.
using ChannelFactory = std::function<std::shared_ptr<grpc::Channel>(const std::string& addr)>;

// A plaintext channel to `addr` (the service listens on loopback without TLS for now).
std::shared_ptr<grpc::Channel> DefaultChannelFactory(const std::string& addr);

// getenv(3) wrapper for CliIo::getenv.
std::optional<std::string> EnvFromProcess(const std::string& name);

// The usage text printed by `regauthctl help` and on usage errors.
const char* UsageText();

// Runs one command; `args` excludes the program name. Returns the process exit code.
int RunRegauthctl(const std::vector<std::string>& args, const CliIo& io,
                  const ChannelFactory& channel_factory);

}  // namespace registryauth::cli

#endif  // REGISTRY_AUTH_CLI_REGAUTHCTL_LIB_H_
