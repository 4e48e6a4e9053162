// registry-authd: the registry-auth server.
//
// Configuration comes from flags and environment variables (see `registry-authd --helpfull` or
// server/config.cc). It never starts PostgreSQL itself: it connects to --database_url.
// SIGTERM/SIGINT stop it gracefully: new calls are refused, in-flight calls get
// --shutdown_grace to finish. SIGHUP reloads, each on its own, the caller policy file, the key
// file, the token signing keys and the gRPC and HTTPS certificates (RegistryAuthServer::Reload*:
// a bad file is logged and the previous one stays in force; open connections are kept).
//
// `registry-authd keys ...`, `registry-authd apikey`, `registry-authd migrate` and
// `registry-authd signing-keys ...` are operator subcommands (server/keys_cli.h,
// server/migrate_cli.h, server/signing_keys_cli.h); they run and exit without starting the
// server.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "gateway/http_gateway.h"
#include "server/config.h"
#include "server/keys_cli.h"
#include "server/server.h"
#include "server/signing_keys_cli.h"

namespace {

// "HTTP listening on ..." and, with --metrics_listen, "metrics listening on ...".
void LogHttpListeners(const registryauth::server::ServerConfig& config, int http_port,
                      int metrics_port) {
  const std::string http_host = config.http_listen.substr(0, config.http_listen.rfind(':'));
  if (metrics_port == 0) {
    LOG_INFO(absl::StrCat("HTTP listening on ", http_host, ":", http_port,
                          " (/healthz, /readyz, /metrics, /token, /v1/...)"));
    return;
  }
  LOG_INFO(absl::StrCat("HTTP listening on ", http_host, ":", http_port,
                        " (/healthz, /readyz, /token, /v1/...)"));
  const std::string metrics_host =
      config.metrics_listen.substr(0, config.metrics_listen.rfind(':'));
  LOG_INFO(absl::StrCat("metrics listening on ", metrics_host, ":", metrics_port,
                        " (/metrics, /healthz)"));
}

}  // namespace

int main(int argc, char** argv) {
  // Debian builds Abseil with its debug-mode lock-order (deadlock) detection on, and gRPC's
  // mutexes are absl::Mutex: every lock and every destroyed mutex then updates one global
  // lock graph, about 5% of the CPU of a busy /token (docs/benchmarks.md). Lock order is
  // checked by the sanitizer and unit-test builds, not in the server.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Operator subcommands have their own small flag syntax and never start the server.
  if (argc >= 2 && registryauth::server::IsSigningKeysSubcommand(argv[1])) {
    registryauth::server::SigningKeysIo io{&std::cout, &std::cerr,
                                           registryauth::server::ProcessEnv(), nullptr};
    return registryauth::server::RunSigningKeysCommand(
        std::vector<std::string>(argv + 1, argv + argc), io);
  }
  if (argc >= 2 && registryauth::server::IsSubcommand(argv[1])) {
    registryauth::server::SubcommandIo io{&std::cout, &std::cerr,
                                          registryauth::server::ProcessEnv(), nullptr};
    return registryauth::server::RunSubcommand(std::vector<std::string>(argv + 1, argv + argc), io);
  }
  absl::SetProgramUsageMessage(
      "registry-authd: container-registry credential service.\n"
      "  registry-authd --database_url='host=... dbname=...' --key_file=keys.txt\n"
      "  registry-authd keys generate|promote|usage|reencrypt|retire ...  (key rotation)\n"
      "  registry-authd apikey                                          (new API key)\n"
      "  registry-authd migrate [--database_url=DSN]                    (apply migrations, exit)\n"
      "  registry-authd signing-keys generate|promote|remove|list|export (token signing keys)\n"
      "  registry-authd --http_upstream=host:port [--http_upstream_ca_file=F] (HTTP adapter only)\n"
      "Every flag also reads an environment variable (REGAUTH_<FLAG>, see --helpfull).");
  absl::ParseCommandLine(argc, argv);

  // Block the stop signals in every thread (threads inherit the mask), then wait for them here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // reload the caller policy and the key ring
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A closed client socket must not kill the process.
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<registryauth::server::ServerConfig> config =
      registryauth::server::ServerConfigFromFlags(registryauth::server::ProcessEnv());
  if (!config.ok()) {
    std::fprintf(stderr, "registry-authd: configuration error: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  // Validated by ServerConfigFromFlags; from here on every line has the chosen shape.
  registryauth::LogFormat log_format = registryauth::LogFormat::kJson;
  registryauth::LogLevel log_level = registryauth::LogLevel::kInfo;
  registryauth::ParseLogFormat(config->log_format, &log_format);
  registryauth::ParseLogLevel(config->log_level, &log_level);
  registryauth::SetLogFormat(log_format);
  registryauth::SetMinLogLevel(log_level);
  // Once serving, info lines go out in batches (--log_flush_interval); every return below
  // writes what is left first.
  struct StopBufferingOnReturn {
    ~StopBufferingOnReturn() { registryauth::StopLogBuffering(); }
  } stop_buffering;
  if (!config->http_upstream.empty()) {
    auto gateway = registryauth::server::StartHttpAdapterOnly(*config);
    if (!gateway.ok()) {
      std::fprintf(stderr, "registry-authd: cannot start: %s\n",
                   gateway.status().ToString().c_str());
      return 1;
    }
    LogHttpListeners(*config, (*gateway)->port(), (*gateway)->metrics_port());
    registryauth::StartLogBuffering(config->log_flush_interval);
    int signal_number = 0;
    while (true) {
      sigwait(&stop_signals, &signal_number);
      if (signal_number != SIGHUP) break;
      if (!config->http_tls_cert_file.empty()) {
        absl::Status s = (*gateway)->ReloadCertificate();
        LOG_INFO(s.ok() ? std::string("HTTP adapter certificate reloaded")
                        : absl::StrCat("HTTP adapter certificate NOT reloaded: ", s.message()));
      }
    }
    (*gateway)->Shutdown();
    LOG_INFO("stopped");
    return 0;
  }
  auto server = registryauth::server::RegistryAuthServer::Start(*config);
  if (!server.ok()) {
    std::fprintf(stderr, "registry-authd: cannot start: %s\n", server.status().ToString().c_str());
    return 1;
  }
  const std::string grpc_host = config->grpc_listen.substr(0, config->grpc_listen.rfind(':'));
  LOG_INFO(absl::StrCat("gRPC listening on ", grpc_host, ":", (*server)->grpc_port(),
                        " (registryauth.v1.RegistryAuthService, grpc.health.v1, reflection)"));
  LogHttpListeners(*config, (*server)->http_port(), (*server)->metrics_port());
  registryauth::StartLogBuffering(config->log_flush_interval);

  int signal_number = 0;
  while (true) {
    sigwait(&stop_signals, &signal_number);
    if (signal_number != SIGHUP) break;
    LOG_INFO(
        "received SIGHUP, reloading the caller policy, the key ring, the signing keys and "
        "the TLS certificates");
    // Both log their outcome; one failing does not stop the other.
    if (!config->policy_file.empty()) (*server)->ReloadPolicy().IgnoreError();
    (*server)->ReloadKeys().IgnoreError();
    if (!config->token_service.empty()) (*server)->ReloadSigningKeys().IgnoreError();
    if (!config->http_tls_cert_file.empty()) (*server)->ReloadHttpCertificate().IgnoreError();
    if (!config->tls_cert_file.empty()) (*server)->ReloadGrpcCertificate().IgnoreError();
  }
  LOG_INFO(absl::StrCat("received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
                        ", shutting down (grace ", absl::FormatDuration(config->shutdown_grace),
                        ")"));
  (*server)->Shutdown(config->shutdown_grace);
  LOG_INFO("stopped");
  return 0;
}
