// grpc_load: a closed-loop load generator for a running registry-authd, over real gRPC.
//
//   REGAUTH_API_KEY=rak_... grpc_load --target=127.0.0.1:50051 --rpc=GetCredentials
//       --name=workspaces/bench/registries/gh1,workspaces/bench/registries/gh2
//       --concurrency=8 --warmup=3s --duration=20s
//
// N caller threads, each with a blocking stub, call back to back (a new call as soon as the
// previous one returns) and take the --name values round-robin. Calls that finish inside the
// measurement window (after --warmup, for --duration) count; warm-up calls and a call that
// straddles the end do not. Latency of every successful call goes into a per-thread
// log-linear histogram (bench/latency_histogram.h), merged at the end; failed calls are
// counted by status code. The report ends with one `RESULT key=value ...` line for scripts.
//
// The API key is read from an environment variable (--api_key_env, default REGAUTH_API_KEY),
// never from argv, and sent as `x-api-key` metadata. TLS: --tls_ca_file (server CA), and for
// mutual TLS --tls_cert_file / --tls_key_file.
//
// --seed creates what the names refer to instead of loading: each workspace and a GHCR
// configuration with a random `ghp_`-shaped secret per registry name (ALREADY_EXISTS is
// fine). It needs a key with registries.manage.
//
// --rpc: GetCredentials; GetRegistryConfig (the same read without decryption and audit
// record); HealthCheck (grpc.health.v1, the transport alone). More RPCs: add a row to kRpcs
// (e.g. MintPullToken with an app name). --preflight=false measures error paths too (e.g. no
// API key: the cost of a refused call).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "bench/latency_histogram.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/rpc_method.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/channel_arguments.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "registry-authd gRPC address host:port");
ABSL_FLAG(std::string, api_key_env, "REGAUTH_API_KEY",
          "environment variable holding the API key sent as x-api-key (unset or empty: none)");
ABSL_FLAG(std::string, tls_ca_file, "", "PEM CA bundle of the server certificate; enables TLS");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM client certificate chain (mutual TLS)");
ABSL_FLAG(std::string, tls_key_file, "", "PEM client private key (mutual TLS)");
ABSL_FLAG(std::string, tls_server_name, "", "expected server name, if not the target host");
ABSL_FLAG(std::string, rpc, "GetCredentials",
          "RPC to drive: GetCredentials | GetRegistryConfig | HealthCheck");
ABSL_FLAG(std::vector<std::string>, name, {},
          "resource name(s), comma-separated, e.g. workspaces/x/registries/y; taken round-robin");
ABSL_FLAG(int, concurrency, 1, "concurrent callers (threads, one call in flight each)");
ABSL_FLAG(int, channels, 1, "gRPC channels (TCP connections); callers are spread over them");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(3), "warm-up before measuring");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(20), "measurement window");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(5), "deadline of each call");
ABSL_FLAG(bool, preflight, true,
          "first call every name once and stop unless all answer OK (false: measure error paths)");
ABSL_FLAG(bool, seed, false,
          "create the workspaces and GHCR configurations named by --name, then exit");

namespace registryauth::bench {
namespace {

namespace v1 = ::registryauth::v1;
using Stub = v1::RegistryAuthService::Stub;
using SteadyClock = std::chrono::steady_clock;

// One connection to the server: the generated stub and the channel under it (for services
// whose generated code Debian does not ship).
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<Stub> stub;
};

// One RPC the tool can drive. `call` makes one call for resource `name` and returns its status;
// it may turn an OK answer that is unusable into an error (counted like a server error).
struct RpcKind {
  const char* rpc;
  grpc::Status (*call)(Connection& connection, grpc::ClientContext* context,
                       const std::string& name);
};

const RpcKind kRpcs[] = {
    {"GetCredentials",
     [](Connection& connection, grpc::ClientContext* context, const std::string& name) {
       v1::GetCredentialsRequest request;
       request.set_name(name);
       v1::GetCredentialsResponse response;
       grpc::Status status = connection.stub->GetCredentials(context, request, &response);
       if (status.ok() && response.secret().empty()) {
         return grpc::Status(grpc::StatusCode::DATA_LOSS, "grpc_load: OK answer without a secret");
       }
       return status;
     }},
    // The same configuration read without decryption or audit record: the comparison point.
    {"GetRegistryConfig",
     [](Connection& connection, grpc::ClientContext* context, const std::string& name) {
       v1::GetRegistryConfigRequest request;
       request.set_name(name);
       v1::RegistryConfig response;
       return connection.stub->GetRegistryConfig(context, request, &response);
     }},
    // grpc.health.v1.Health/Check for the whole server (an empty request message): the gRPC
    // transport alone, no authentication, no database. `name` is ignored.
    {"HealthCheck",
     [](Connection& connection, grpc::ClientContext* context, const std::string&) {
       static const grpc::internal::RpcMethod kCheck("/grpc.health.v1.Health/Check",
                                                     grpc::internal::RpcMethod::NORMAL_RPC);
       grpc::Slice empty;  // a message of zero bytes; a ByteBuffer without slices is refused
       grpc::ByteBuffer request(&empty, 1), response;
       return grpc::internal::BlockingUnaryCall(connection.channel.get(), kCheck, context, request,
                                                &response);
     }},
};

const RpcKind* FindRpc(const std::string& rpc) {
  for (const RpcKind& kind : kRpcs) {
    if (rpc == kind.rpc) return &kind;
  }
  return nullptr;
}

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "grpc_load: %s\n", message.c_str());
  std::exit(2);
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail(absl::StrCat("cannot read ", path));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::shared_ptr<grpc::ChannelCredentials> MakeCredentials() {
  const std::string ca = absl::GetFlag(FLAGS_tls_ca_file);
  const std::string cert = absl::GetFlag(FLAGS_tls_cert_file);
  const std::string key = absl::GetFlag(FLAGS_tls_key_file);
  if (ca.empty()) {
    if (!cert.empty() || !key.empty()) Fail("--tls_cert_file/--tls_key_file need --tls_ca_file");
    return grpc::InsecureChannelCredentials();
  }
  if (cert.empty() != key.empty()) Fail("--tls_cert_file and --tls_key_file go together");
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFileOrDie(ca);
  if (!cert.empty()) {
    options.pem_cert_chain = ReadFileOrDie(cert);
    options.pem_private_key = ReadFileOrDie(key);
  }
  return grpc::SslCredentials(options);
}

// `count` channels with distinct arguments, so each gets its own connection.
std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(int count) {
  const auto credentials = MakeCredentials();
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("registryauth.bench.channel", i);
    if (!absl::GetFlag(FLAGS_tls_server_name).empty()) {
      args.SetSslTargetNameOverride(absl::GetFlag(FLAGS_tls_server_name));
    }
    channels.push_back(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target), credentials, args));
  }
  return channels;
}

class CallFactory {
 public:
  CallFactory(std::string api_key, absl::Duration deadline)
      : api_key_(std::move(api_key)), deadline_(absl::ToChronoNanoseconds(deadline)) {}

  void Prepare(grpc::ClientContext* context) const {
    context->set_deadline(std::chrono::system_clock::now() + deadline_);
    if (!api_key_.empty()) context->AddMetadata("x-api-key", api_key_);
  }

 private:
  const std::string api_key_;
  const std::chrono::nanoseconds deadline_;
};

// What one caller thread saw in the measurement window.
struct CallerResult {
  LatencyHistogram latency;  // successful calls only
  std::map<grpc::StatusCode, uint64_t> errors;
  std::map<grpc::StatusCode, std::string> first_error;
  uint64_t warmup_calls = 0;
  uint64_t warmup_errors = 0;
};

void RunCaller(Connection& connection, const RpcKind& kind, const CallFactory& calls,
               const std::vector<std::string>& names, size_t first_name,
               SteadyClock::time_point window_start, SteadyClock::time_point window_end,
               CallerResult& result) {
  size_t next = first_name;
  while (true) {
    const SteadyClock::time_point start = SteadyClock::now();
    if (start >= window_end) break;
    grpc::ClientContext context;
    calls.Prepare(&context);
    const grpc::Status status = kind.call(connection, &context, names[next]);
    const SteadyClock::time_point finish = SteadyClock::now();
    next = (next + 1) % names.size();
    if (finish < window_start) {
      ++result.warmup_calls;
      if (!status.ok()) ++result.warmup_errors;
      continue;
    }
    if (finish > window_end) break;  // straddles the end: not counted
    if (status.ok()) {
      result.latency.Record(static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(finish - start).count()));
    } else {
      ++result.errors[status.error_code()];
      result.first_error.emplace(status.error_code(), status.error_message().substr(0, 200));
    }
  }
}

int Seed(Stub& stub, const CallFactory& calls, const std::vector<std::string>& names) {
  std::random_device random;
  std::mt19937_64 rng(random());
  static constexpr char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  int failures = 0;
  auto check = [&](const grpc::Status& status, const std::string& what) {
    if (status.ok() || status.error_code() == grpc::StatusCode::ALREADY_EXISTS) return;
    ++failures;
    std::fprintf(stderr, "grpc_load: seed %s: %s: %s\n", what.c_str(),
                 CodeName(status.error_code()).c_str(), status.error_message().c_str());
  };
  for (const std::string& name : names) {
    const std::vector<std::string> parts = absl::StrSplit(name, '/');
    if (parts.size() != 4 || parts[0] != "workspaces" || parts[2] != "registries") {
      Fail(absl::StrCat("--seed needs names like workspaces/W/registries/R, got ", name));
    }
    {
      grpc::ClientContext context;
      calls.Prepare(&context);
      v1::CreateWorkspaceRequest request;
      request.set_workspace_id(parts[1]);
      v1::Workspace response;
      check(stub.CreateWorkspace(&context, request, &response), "workspace " + parts[1]);
    }
    {
      // A random classic-PAT-shaped secret: "ghp_" + 36 alphanumerics (40 bytes).
      std::string secret = "ghp_";
      for (int i = 0; i < 36; ++i) secret.push_back(kAlnum[rng() % (sizeof(kAlnum) - 1)]);
      grpc::ClientContext context;
      calls.Prepare(&context);
      v1::CreateRegistryConfigRequest request;
      request.set_parent(absl::StrCat("workspaces/", parts[1]));
      request.set_registry_id(parts[3]);
      v1::RegistryConfig* config = request.mutable_registry_config();
      config->set_type(v1::GHCR);
      config->mutable_ghcr()->set_owner(parts[1]);
      config->set_secret(secret);
      v1::RegistryConfig response;
      check(stub.CreateRegistryConfig(&context, request, &response), name);
    }
  }
  if (failures == 0) std::printf("seeded %zu registry configurations\n", names.size());
  return failures == 0 ? 0 : 1;
}

std::string Ms(uint64_t ns) { return absl::StrFormat("%.3f", static_cast<double>(ns) / 1e6); }

int Main() {
  const std::vector<std::string> names = absl::GetFlag(FLAGS_name);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int channel_count = absl::GetFlag(FLAGS_channels);
  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  if (names.empty()) Fail("--name is required");
  if (concurrency < 1 || concurrency > 4096) Fail("--concurrency must be 1..4096");
  if (channel_count < 1 || channel_count > concurrency) Fail("--channels must be 1..concurrency");
  if (duration <= absl::ZeroDuration() || warmup < absl::ZeroDuration()) {
    Fail("--duration must be > 0 and --warmup >= 0");
  }
  const RpcKind* kind = FindRpc(absl::GetFlag(FLAGS_rpc));
  if (kind == nullptr) {
    std::vector<std::string> known;
    for (const RpcKind& k : kRpcs) known.push_back(k.rpc);
    Fail(absl::StrCat("unknown --rpc; one of: ", absl::StrJoin(known, ", ")));
  }
  const char* key = std::getenv(absl::GetFlag(FLAGS_api_key_env).c_str());
  const CallFactory calls(key == nullptr ? "" : key, absl::GetFlag(FLAGS_deadline));

  std::vector<Connection> connections;
  for (auto& channel : MakeChannels(channel_count)) {
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      Fail(absl::StrCat("cannot connect to ", absl::GetFlag(FLAGS_target)));
    }
    std::unique_ptr<Stub> stub = v1::RegistryAuthService::NewStub(channel);
    connections.push_back(Connection{std::move(channel), std::move(stub)});
  }
  if (absl::GetFlag(FLAGS_seed)) return Seed(*connections[0].stub, calls, names);

  // Preflight: every name answers OK once, so a misconfigured run fails loudly, not as a
  // table of errors.
  for (const std::string& name : names) {
    if (!absl::GetFlag(FLAGS_preflight)) break;
    grpc::ClientContext context;
    calls.Prepare(&context);
    const grpc::Status status = kind->call(connections[0], &context, name);
    if (!status.ok()) {
      Fail(absl::StrCat("preflight ", kind->rpc, " ", name, ": ", CodeName(status.error_code()),
                        ": ", status.error_message()));
    }
  }

  std::vector<std::unique_ptr<CallerResult>> results;
  for (int i = 0; i < concurrency; ++i) results.push_back(std::make_unique<CallerResult>());
  const SteadyClock::time_point window_start =
      SteadyClock::now() + absl::ToChronoNanoseconds(warmup);
  const SteadyClock::time_point window_end = window_start + absl::ToChronoNanoseconds(duration);
  std::vector<std::thread> threads;
  for (int i = 0; i < concurrency; ++i) {
    threads.emplace_back(RunCaller, std::ref(connections[i % channel_count]), std::cref(*kind),
                         std::cref(calls), std::cref(names), i % names.size(), window_start,
                         window_end, std::ref(*results[i]));
  }
  for (std::thread& t : threads) t.join();

  auto total = std::make_unique<LatencyHistogram>();
  std::map<grpc::StatusCode, uint64_t> errors;
  std::map<grpc::StatusCode, std::string> first_error;
  uint64_t error_count = 0, warmup_calls = 0, warmup_errors = 0;
  for (const auto& r : results) {
    total->Merge(r->latency);
    for (const auto& [code, n] : r->errors) {
      errors[code] += n;
      error_count += n;
    }
    for (const auto& [code, message] : r->first_error) first_error.emplace(code, message);
    warmup_calls += r->warmup_calls;
    warmup_errors += r->warmup_errors;
  }
  const double seconds = absl::ToDoubleSeconds(duration);
  const double rate = static_cast<double>(total->count()) / seconds;

  std::printf("rpc=%s target=%s concurrency=%d channels=%d names=%zu warmup=%s duration=%s\n",
              kind->rpc, absl::GetFlag(FLAGS_target).c_str(), concurrency, channel_count,
              names.size(), absl::FormatDuration(warmup).c_str(),
              absl::FormatDuration(duration).c_str());
  std::printf("calls: %llu ok, %llu failed (warm-up: %llu calls, %llu failed)\n",
              static_cast<unsigned long long>(total->count()),
              static_cast<unsigned long long>(error_count),
              static_cast<unsigned long long>(warmup_calls),
              static_cast<unsigned long long>(warmup_errors));
  std::printf("throughput: %.1f ok calls/s, %.1f failed calls/s\n", rate,
              static_cast<double>(error_count) / seconds);
  std::printf("latency ms (ok calls): min %s  mean %.3f  p50 %s  p90 %s  p99 %s  max %s\n",
              Ms(total->min()).c_str(), total->mean() / 1e6, Ms(total->Percentile(50)).c_str(),
              Ms(total->Percentile(90)).c_str(), Ms(total->Percentile(99)).c_str(),
              Ms(total->max()).c_str());
  std::vector<std::string> error_parts;
  for (const auto& [code, n] : errors) {
    error_parts.push_back(absl::StrCat(CodeName(code), "=", n));
    std::printf("error %s x%llu, e.g. \"%s\"\n", CodeName(code).c_str(),
                static_cast<unsigned long long>(n), first_error[code].c_str());
  }
  std::printf(
      "RESULT rpc=%s concurrency=%d ok=%llu errors=%llu calls_per_s=%.1f mean_ms=%.3f "
      "p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s error_codes=%s\n",
      kind->rpc, concurrency, static_cast<unsigned long long>(total->count()),
      static_cast<unsigned long long>(error_count), rate, total->mean() / 1e6,
      Ms(total->Percentile(50)).c_str(), Ms(total->Percentile(90)).c_str(),
      Ms(total->Percentile(99)).c_str(), Ms(total->max()).c_str(),
      error_parts.empty() ? "-" : absl::StrJoin(error_parts, ",").c_str());
  return error_count == 0 ? 0 : 1;
}

}  // namespace
}  // namespace registryauth::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "closed-loop gRPC load against registry-authd; see bench/grpc_load.cc.\n"
      "  REGAUTH_API_KEY=... grpc_load --rpc=GetCredentials --name=workspaces/w/registries/r "
      "--concurrency=8 --duration=20s");
  absl::ParseCommandLine(argc, argv);
  return registryauth::bench::Main();
}
