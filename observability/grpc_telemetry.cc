#include "observability/grpc_telemetry.h"

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_code_name.h"
#include "common/log.h"
#include "google/protobuf/descriptor.h"

namespace registryauth::observability {
namespace {

namespace gexp = grpc::experimental;

constexpr int kCodes = 17;  // grpc::StatusCode OK .. UNAUTHENTICATED
constexpr size_t kMaxLoggedText = 200;
constexpr char kGetCredentials[] = "/registryauth.v1.RegistryAuthService/GetCredentials";

std::string CodeName(grpc::StatusCode code) { return std::string(GrpcCodeNameOrUnknown(code)); }

int CodeIndex(grpc::StatusCode code) {
  const int i = static_cast<int>(code);
  return i >= 0 && i < kCodes ? i : static_cast<int>(grpc::StatusCode::UNKNOWN);
}

bool IsServerFault(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return true;
    default:
      return false;
  }
}

const char* TypeName(gexp::ServerRpcInfo::Type type) {
  switch (type) {
    case gexp::ServerRpcInfo::Type::UNARY:
      return "unary";
    case gexp::ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case gexp::ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case gexp::ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unary";
}

std::string Truncated(std::string_view s) {
  return std::string(s.substr(0, std::min(s.size(), kMaxLoggedText)));
}

std::optional<std::string> OneValue(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, const char* key) {
  auto range = metadata.equal_range(key);
  if (range.first == range.second || std::next(range.first) != range.second) return std::nullopt;
  return std::string(range.first->second.data(), range.first->second.size());
}

}  // namespace

// The families, registered once per registry, and a per-method cache of the series so the
// hot path is a reader lock on a small map plus atomics.
class GrpcTelemetry::Shared {
 public:
  Shared(Registry& registry, GrpcCallerResolver identify)
      : identify_(std::move(identify)),
        handled_(
            registry.AddCounter("grpc_server_handled_total",
                                "gRPC calls completed on the server, by method and status code.",
                                {"grpc_service", "grpc_method", "grpc_type", "grpc_code"})),
        seconds_(registry.AddHistogram(
            "grpc_server_handling_seconds",
            "Time from the start of a gRPC call to its status, by method and status code.",
            {"grpc_service", "grpc_method", "grpc_code"}, LatencyBuckets())),
        credentials_(registry.AddCounter(
            "registry_auth_get_credentials_total",
            "GetCredentials calls by caller (policy name; \"\" when unauthenticated) and status "
            "code.",
            {"caller", "grpc_code"})) {}

  struct MethodSeries {
    std::string service;
    std::string method;
    std::string type;
    std::array<std::atomic<Counter*>, kCodes> handled{};
    std::array<std::atomic<Histogram*>, kCodes> seconds{};
  };

  // The series of a method; unknown methods share one entry (never keyed by their name).
  MethodSeries& Method(const char* full_method, gexp::ServerRpcInfo::Type type) {
    const std::string_view name(full_method != nullptr ? full_method : "");
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = methods_.find(name);
      if (it != methods_.end()) return *it->second;
    }
    std::pair<std::string, std::string> labels = GrpcMethodLabels(name);
    absl::MutexLock lock(&mu_);
    if (labels.first == "unknown") {
      if (unknown_ == nullptr) {
        unknown_ = std::make_unique<MethodSeries>();
        unknown_->service = unknown_->method = "unknown";
        unknown_->type = "unknown";
      }
      return *unknown_;
    }
    auto& slot = methods_[std::string(name)];
    if (slot == nullptr) {
      slot = std::make_unique<MethodSeries>();
      slot->service = std::move(labels.first);
      slot->method = std::move(labels.second);
      slot->type = TypeName(type);
    }
    return *slot;
  }

  void Record(MethodSeries& m, grpc::StatusCode code, double seconds) {
    const int i = CodeIndex(code);
    Counter* c = m.handled[i].load(std::memory_order_acquire);
    if (c == nullptr) {
      c = &handled_.WithLabels({m.service, m.method, m.type, CodeName(code)});
      m.handled[i].store(c, std::memory_order_release);
    }
    c->Increment();
    Histogram* h = m.seconds[i].load(std::memory_order_acquire);
    if (h == nullptr) {
      h = &seconds_.WithLabels({m.service, m.method, CodeName(code)});
      m.seconds[i].store(h, std::memory_order_release);
    }
    h->Observe(seconds);
  }

  void RecordGetCredentials(const std::string& caller, grpc::StatusCode code) {
    credentials_.WithLabels({caller, CodeName(code)}).Increment();
  }

  // Counts the call and writes its access-log line.
  void Finish(const char* full_method, gexp::ServerRpcInfo::Type type, grpc::StatusCode code,
              double seconds, const std::string& request_id, const GrpcCaller& caller,
              const std::string& peer) {
    MethodSeries& m = Count(full_method, type, code, seconds, caller);
    const LogLevel level = IsServerFault(code) ? LogLevel::kWarning : LogLevel::kInfo;
    if (!LogEnabled(level)) return;
    const std::string rpc = m.service == "unknown"
                                ? Truncated(full_method != nullptr ? full_method : "")
                                : "/" + m.service + "/" + m.method;
    Log(level, "grpc call",
        {{"request_id", request_id},
         {"rpc", rpc},
         {"caller", caller.identity},
         {"peer", Truncated(peer)},
         {"status", CodeName(code)},
         {"duration_ms", seconds * 1000.0}});
  }

  // Counts the call (no log line).
  MethodSeries& Count(const char* full_method, gexp::ServerRpcInfo::Type type,
                      grpc::StatusCode code, double seconds, const GrpcCaller& caller) {
    MethodSeries& m = Method(full_method, type);
    Record(m, code, seconds);
    if (full_method != nullptr && kGetCredentials == std::string_view(full_method)) {
      RecordGetCredentials(caller.name, code);
    }
    return m;
  }

  GrpcCaller Identify(const grpc::ServerContextBase& context) const {
    return identify_ ? identify_(context) : GrpcCaller{};
  }

 private:
  const GrpcCallerResolver identify_;
  CounterFamily& handled_;
  HistogramFamily& seconds_;
  CounterFamily& credentials_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<MethodSeries>, std::less<>> methods_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<MethodSeries> unknown_ ABSL_GUARDED_BY(mu_);
};

namespace {

class TelemetryInterceptor : public gexp::Interceptor {
 public:
  TelemetryInterceptor(GrpcTelemetry::Shared& shared, gexp::ServerRpcInfo* info)
      : shared_(shared), info_(info), start_(std::chrono::steady_clock::now()) {}

  ~TelemetryInterceptor() override {
    // A call that ended without sending a status (the client went away first).
    if (!finished_) Finish(grpc::StatusCode::CANCELLED, /*with_context=*/false);
  }

  void Intercept(gexp::InterceptorBatchMethods* methods) override {
    using H = gexp::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(H::POST_RECV_INITIAL_METADATA)) {
      if (auto* md = methods->GetRecvInitialMetadata(); md != nullptr) {
        if (auto id = OneValue(*md, "x-request-id"); id.has_value()) {
          request_id_ = Truncated(*id);
        }
      }
    }
    if (methods->QueryInterceptionHookPoint(H::PRE_SEND_INITIAL_METADATA)) {
      if (auto* md = methods->GetSendInitialMetadata(); md != nullptr) {
        auto it = md->find("x-request-id");
        if (it != md->end()) request_id_ = Truncated(it->second);
      }
    }
    if (methods->QueryInterceptionHookPoint(H::PRE_SEND_STATUS) && !finished_) {
      Finish(methods->GetSendStatus().error_code(), /*with_context=*/true);
    }
    methods->Proceed();
  }

 private:
  void Finish(grpc::StatusCode code, bool with_context) {
    finished_ = true;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    GrpcCaller caller;
    std::string peer;
    grpc::ServerContextBase* context = with_context ? info_->server_context() : nullptr;
    if (context != nullptr) {
      caller = shared_.Identify(*context);
      peer = context->peer();
      // In-process calls come from the HTTP gateway, which names its client.
      if (peer == "unknown" || peer.rfind("inproc", 0) == 0) {
        if (auto fwd = OneValue(context->client_metadata(), "x-forwarded-for");
            fwd.has_value() && !fwd->empty()) {
          peer = "http:" + Truncated(*fwd);
        }
      }
    }
    shared_.Finish(info_->method(), info_->type(), code, seconds, request_id_, caller, peer);
  }

  GrpcTelemetry::Shared& shared_;
  gexp::ServerRpcInfo* const info_;
  const std::chrono::steady_clock::time_point start_;
  std::string request_id_;
  bool finished_ = false;
};

class TelemetryFactory : public gexp::ServerInterceptorFactoryInterface {
 public:
  explicit TelemetryFactory(std::shared_ptr<GrpcTelemetry::Shared> shared)
      : shared_(std::move(shared)) {}

  gexp::Interceptor* CreateServerInterceptor(gexp::ServerRpcInfo* info) override {
    return new TelemetryInterceptor(*shared_, info);
  }

 private:
  const std::shared_ptr<GrpcTelemetry::Shared> shared_;
};

}  // namespace

std::pair<std::string, std::string> GrpcMethodLabels(std::string_view full_method) {
  const std::pair<std::string, std::string> unknown{"unknown", "unknown"};
  if (full_method.size() < 4 || full_method.size() > 256 || full_method[0] != '/') return unknown;
  const size_t slash = full_method.find('/', 1);
  if (slash == std::string_view::npos || slash + 1 >= full_method.size()) return unknown;
  const std::string service(full_method.substr(1, slash - 1));
  const std::string method(full_method.substr(slash + 1));
  if (method.find('/') != std::string::npos) return unknown;
  // Debian ships no generated health proto; grpc's health service is built in.
  if (service == "grpc.health.v1.Health") {
    return method == "Check" || method == "Watch" ? std::make_pair(service, method) : unknown;
  }
  const google::protobuf::ServiceDescriptor* s =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
  if (s == nullptr || s->FindMethodByName(method) == nullptr) return unknown;
  return {service, method};
}

GrpcTelemetry::GrpcTelemetry(Registry& registry, GrpcCallerResolver identify)
    : shared_(std::make_shared<Shared>(registry, std::move(identify))) {}

GrpcTelemetry::~GrpcTelemetry() = default;

std::unique_ptr<gexp::ServerInterceptorFactoryInterface> GrpcTelemetry::NewInterceptorFactory()
    const {
  return std::make_unique<TelemetryFactory>(shared_);
}

void GrpcTelemetry::RecordInProcessCall(const char* full_method, grpc::StatusCode code,
                                        std::chrono::steady_clock::duration elapsed) const {
  shared_->Count(full_method, gexp::ServerRpcInfo::Type::UNARY, code,
                 std::chrono::duration<double>(elapsed).count(), GrpcCaller{});
}

std::unique_ptr<gexp::ServerInterceptorFactoryInterface> NewGrpcTelemetryFactory(
    Registry& registry, GrpcCallerResolver identify) {
  return GrpcTelemetry(registry, std::move(identify)).NewInterceptorFactory();
}

}  // namespace registryauth::observability
