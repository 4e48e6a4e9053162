#include "gateway/rest_router.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/bounded_executor.h"
#include "common/catch_all.h"
#include "common/log.h"
#include "gateway/grpc_error.h"
#include "gateway/rest_util.h"
#include "gateway/token_request.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/byte_buffer.h"

namespace registryauth::gateway {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using Async = v1::RegistryAuthService::StubInterface::async_interface;

constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";
constexpr absl::Duration kHealthCheckTimeout = absl::Seconds(2);
constexpr size_t kMaxRequestIdBytes = 128;

// Everything a handler needs besides the request.
struct Env {
  Async* async;
  grpc::GenericStub* generic;
  absl::Duration timeout;
  absl::string_view basic_realm;
  api::InProcessTokenIssuer* in_process_tokens;   // null: /token over the channel
  BoundedExecutor* token_workers;                 // with in_process_tokens
  const observability::Registry* metrics;         // what GET /metrics serves
  api::InProcessRegistryEvents* registry_events;  // POST /v1/registryEvents:notify
};

// ---- The barrier: one reply per request, whatever happens (issue 15) -----------------------

RestReply InternalErrorReply() {
  RestReply reply = RestRouter::ErrorReply(grpc::StatusCode::INTERNAL, "internal error");
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

// Logs an exception that reached a barrier (its text from CatchAll) and where.
void LogEscaped(absl::string_view where, const std::string& what) {
  LOG_ERROR(absl::StrCat("exception stopped at the ", where, " barrier: ", what));
}

// Holds a request's `done`: Reply passes the first reply on and drops any later one; if the
// last holder goes away without a reply (a handler threw, a callback was dropped), the
// request is answered 500 then. So every request gets exactly one reply, and a connection is
// never left waiting for one that will not come.
class ReplyOnce {
 public:
  explicit ReplyOnce(RestRouter::Done done) : done_(std::move(done)) {}
  ReplyOnce(const ReplyOnce&) = delete;
  ReplyOnce& operator=(const ReplyOnce&) = delete;
  ~ReplyOnce() {
    if (replied_.exchange(true)) return;
    if (std::optional<std::string> what = CatchAll([&] { done_(InternalErrorReply()); })) {
      LogEscaped("reply", *what);
    }
  }
  void Reply(RestReply reply) {
    if (replied_.exchange(true)) return;
    done_(std::move(reply));
  }

 private:
  RestRouter::Done done_;
  std::atomic<bool> replied_{false};
};

// A gRPC completion callback that cannot throw into the gRPC thread that runs it.
std::function<void(grpc::Status)> Guarded(std::function<void(grpc::Status)> callback) {
  return [callback = std::move(callback)](grpc::Status status) mutable {
    if (std::optional<std::string> what = CatchAll([&] { callback(std::move(status)); })) {
      LogEscaped("gRPC callback", *what);
    }
  };
}

// One request on its way to a handler, with its path variables and raw query string.
struct Call {
  PathTemplate::Bindings bindings;
  absl::string_view query;
  const RestRequest* request;
};

RestReply TextReply(int status, std::string body) {
  RestReply reply;
  reply.status = status;
  reply.content_type = "text/plain; charset=utf-8";
  reply.body = std::move(body);
  return reply;
}

RestReply StatusReply(const absl::Status& status) {
  return RestRouter::ErrorReply(static_cast<grpc::StatusCode>(status.code()), status.message());
}

// Retry-After for a throttled (429) or unavailable (503) call whose ErrorDetail says when to
// retry; a 429 without one still gets the minimum of 1 s.
void AddRetryAfter(const grpc::Status& status, RestReply* reply) {
  const grpc::StatusCode code = status.error_code();
  if (code != grpc::StatusCode::RESOURCE_EXHAUSTED && code != grpc::StatusCode::UNAVAILABLE) {
    return;
  }
  std::optional<int64_t> seconds = RetryAfterSeconds(status);
  if (!seconds.has_value() && code == grpc::StatusCode::RESOURCE_EXHAUSTED) seconds = 1;
  if (seconds.has_value()) reply->headers.emplace_back("Retry-After", absl::StrCat(*seconds));
}

// A value gRPC accepts as ASCII metadata (0x20..0x7E; no tabs, no bytes of 0x80 and up).
bool IsGrpcMetadataValue(absl::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
}

// ---- gRPC calls ------------------------------------------------------------------------------

// One in-flight unary call: its context, request and response. Owned by a shared_ptr that the
// completion callback holds, so it lives exactly as long as the call.
class PendingCall {
 public:
  virtual ~PendingCall() = default;
  grpc::ClientContext& context() { return context_; }
  virtual Message& request() = 0;
  virtual const Message& response() const = 0;
  virtual void Start(Async* async, std::function<void(grpc::Status)> on_done) = 0;

 private:
  grpc::ClientContext context_;
};

template <typename Req, typename Resp>
class TypedCall final : public PendingCall {
 public:
  using Method = void (Async::*)(grpc::ClientContext*, const Req*, Resp*,
                                 std::function<void(grpc::Status)>);
  explicit TypedCall(Method method) : method_(method) {}
  Message& request() override { return request_; }
  const Message& response() const override { return response_; }
  void Start(Async* async, std::function<void(grpc::Status)> on_done) override {
    (async->*method_)(&context(), &request_, &response_, Guarded(std::move(on_done)));
  }

 private:
  Method method_;
  Req request_;
  Resp response_;
};

using NewCallFn = std::function<std::shared_ptr<PendingCall>()>;

template <typename Req, typename Resp>
NewCallFn Rpc(typename TypedCall<Req, Resp>::Method method) {
  return [method] { return std::make_shared<TypedCall<Req, Resp>>(method); };
}

// The REST reply for a finished unary call: the response as JSON, or the error.
RestReply UnaryReply(PendingCall& call, const grpc::Status& status) {
  std::string request_id;
  const auto& initial = call.context().GetServerInitialMetadata();
  if (auto it = initial.find("x-request-id"); it != initial.end()) {
    request_id.assign(it->second.data(), it->second.size());
  }
  if (!status.ok()) {
    RestReply error = RestRouter::ErrorReply(status.error_code(), status.error_message());
    error.request_id = std::move(request_id);
    AddRetryAfter(status, &error);
    error.headers.emplace_back("Cache-Control", "no-store");
    return error;
  }
  RestReply reply;
  reply.request_id = std::move(request_id);
  // Some responses carry a secret shown once (MintPullToken, CreateServiceAccount, ...);
  // no API response is meant to be cached.
  reply.headers.emplace_back("Cache-Control", "no-store");
  google::protobuf::util::JsonPrintOptions options;
  const google::protobuf::util::Status s =
      google::protobuf::util::MessageToJsonString(call.response(), &reply.body, options);
  if (!s.ok()) {
    return RestRouter::ErrorReply(grpc::StatusCode::INTERNAL, "cannot encode the response");
  }
  return reply;
}

// Ends a gRPC completion callback: drops the call's state (its ClientContext holds a
// reference to the channel) BEFORE `done` runs and is destroyed. `done` carries the gateway's
// in-flight token; once the token is released, HttpGateway::Shutdown may go on and drop the
// gateway's own channel reference. The last reference to a channel must never go on gRPC's
// callback thread: the channel's teardown would then release gRPC's shared callback completion
// queue from one of that queue's own threads, which joins itself, fails, and frees the queue
// under the running thread (an abort in grpc_cq_internal_unref, seen in CI; grpc/grpc#32584).
template <typename State>
void FinishOnCallbackThread(std::shared_ptr<State>& state, RestRouter::Done& done,
                            RestReply reply) {
  state.reset();
  RestRouter::Done finish = std::move(done);
  finish(std::move(reply));
}

// ---- Field binding by reflection ---------------------------------------------------------------

const FieldDescriptor* FindField(const Descriptor* desc, absl::string_view name) {
  if (const FieldDescriptor* f = desc->FindFieldByName(std::string(name))) return f;
  for (int i = 0; i < desc->field_count(); ++i) {
    if (desc->field(i)->json_name() == name) return desc->field(i);
  }
  return nullptr;
}

bool IsFieldMask(const FieldDescriptor* f) {
  return f->type() == FieldDescriptor::TYPE_MESSAGE &&
         f->message_type()->full_name() == "google.protobuf.FieldMask";
}

// Resolves `a.b.c` to the message holding `c` (creating parents) and the descriptor of `c`,
// using proto names (and JSON names when `allow_json_names`).
absl::Status ResolveField(Message* root, absl::string_view path, bool allow_json_names,
                          Message** holder, const FieldDescriptor** field) {
  Message* msg = root;
  std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const Descriptor* desc = msg->GetDescriptor();
    const FieldDescriptor* f =
        allow_json_names ? FindField(desc, parts[i]) : desc->FindFieldByName(std::string(parts[i]));
    if (f == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown field \"", path, "\""));
    }
    if (i + 1 == parts.size()) {
      *holder = msg;
      *field = f;
      return absl::OkStatus();
    }
    if (f->is_repeated() || f->type() != FieldDescriptor::TYPE_MESSAGE) {
      return absl::InvalidArgumentError(absl::StrCat("field \"", path, "\" cannot be set here"));
    }
    msg = msg->GetReflection()->MutableMessage(msg, f);
  }
  return absl::InvalidArgumentError("empty field path");
}

// Sets the singular scalar (or FieldMask) field at `path` from its text form.
absl::Status SetFieldFromText(Message* root, absl::string_view path, const std::string& value,
                              bool allow_json_names) {
  Message* msg = nullptr;
  const FieldDescriptor* f = nullptr;
  if (absl::Status s = ResolveField(root, path, allow_json_names, &msg, &f); !s.ok()) return s;
  const auto* refl = msg->GetReflection();
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("\"", path, "\": ", what));
  };
  if (f->is_repeated()) return bad("repeated fields cannot be set from the URL");
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      refl->SetString(msg, f, value);
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("expected a 32-bit integer");
      refl->SetInt32(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("expected an integer");
      refl->SetInt64(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("expected an unsigned 32-bit integer");
      refl->SetUInt32(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("expected an unsigned integer");
      refl->SetUInt64(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      if (value == "true" || value == "1" || value.empty()) {
        refl->SetBool(msg, f, true);
      } else if (value == "false" || value == "0") {
        refl->SetBool(msg, f, false);
      } else {
        return bad("expected true or false");
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* ev = f->enum_type()->FindValueByName(value);
      int number;
      if (ev == nullptr && absl::SimpleAtoi(value, &number)) {
        ev = f->enum_type()->FindValueByNumber(number);
      }
      if (ev == nullptr) return bad("unknown enum value");
      refl->SetEnum(msg, f, ev);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      if (f->message_type()->full_name() == "google.protobuf.Timestamp") {
        google::protobuf::Timestamp ts;
        if (!google::protobuf::util::TimeUtil::FromString(value, &ts)) {
          return bad("expected an RFC 3339 timestamp, e.g. 2026-11-23T10:00:00Z");
        }
        refl->MutableMessage(msg, f)->CopyFrom(ts);
        return absl::OkStatus();
      }
      if (!IsFieldMask(f)) return bad("message fields cannot be set from the URL");
      auto* mask = static_cast<google::protobuf::FieldMask*>(refl->MutableMessage(msg, f));
      mask->Clear();
      for (absl::string_view p : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
        mask->add_paths(std::string(absl::StripAsciiWhitespace(p)));
      }
      return absl::OkStatus();
    }
    default:
      return bad("this field type cannot be set from the URL");
  }
}

// True if field paths `a` and `b` overlap (equal, or one is a prefix of the other at a '.').
bool PathsOverlap(absl::string_view a, absl::string_view b) {
  if (a.size() > b.size()) std::swap(a, b);
  return b == a || (absl::StartsWith(b, a) && b[a.size()] == '.');
}

// Parses a JSON body into `msg`. The parser's own messages quote offending values (which may
// be secrets), so only the field path or name is passed on.
absl::Status ParseJsonBody(absl::string_view body, Message* msg) {
  if (absl::StripAsciiWhitespace(body).empty()) return absl::OkStatus();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const google::protobuf::util::Status s = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), msg, options);
  if (s.ok()) return absl::OkStatus();
  const std::string message(s.message());
  absl::string_view m = message;
  if (absl::ConsumeSuffix(&m, ": Cannot find field.") && m.size() <= 100 && IsValidUtf8(m)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON body: unknown field \"", m, "\""));
  }
  if (absl::StartsWith(m, "(")) {
    absl::string_view field =
        m.substr(1, m.find(')') == absl::string_view::npos ? 0 : m.find(')') - 1);
    if (!field.empty() && field.size() <= 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid JSON body: invalid value for field \"", field, "\""));
    }
  }
  if (absl::StrContains(m, "Root element must be a message")) {
    return absl::InvalidArgumentError("invalid JSON body: expected a JSON object");
  }
  return absl::InvalidArgumentError("invalid JSON body: malformed JSON");
}

// The field mask of the fields present in a JSON object body (grpc-gateway's behaviour for a
// PATCH without update_mask). `name` and `etag` select the resource and are left out.
void CollectMaskPaths(const google::protobuf::Struct& json, const Descriptor* desc,
                      const std::string& prefix, std::vector<std::string>* paths) {
  for (const auto& [key, value] : json.fields()) {
    const FieldDescriptor* f = FindField(desc, key);
    if (f == nullptr) continue;
    if (prefix.empty() && (f->name() == "name" || f->name() == "etag")) continue;
    const std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    const bool nested = !f->is_repeated() && f->type() == FieldDescriptor::TYPE_MESSAGE &&
                        !absl::StartsWith(f->message_type()->full_name(), "google.protobuf.") &&
                        value.has_struct_value() && !value.struct_value().fields().empty();
    if (nested) {
      CollectMaskPaths(value.struct_value(), f->message_type(), path, paths);
    } else {
      paths->push_back(path);
    }
  }
}

// ---- Handlers ----------------------------------------------------------------------------------

using Handler = std::function<void(const Env&, const Call&, RestRouter::Done)>;

// A route that calls one RPC. `body` is "" (no body allowed), "*" (the whole request) or the
// name of the request field the body fills.
Handler RpcHandler(NewCallFn new_call, std::string body) {
  return [new_call = std::move(new_call), body = std::move(body)](const Env& env, const Call& call,
                                                                  RestRouter::Done done) {
    std::shared_ptr<PendingCall> pending = new_call();
    Message& request = pending->request();
    const Descriptor* desc = request.GetDescriptor();
    std::vector<std::string> bound;  // Field paths set by the path or the body.

    // Body.
    const std::string& text = call.request->body;
    if (body.empty()) {
      if (!absl::StripAsciiWhitespace(text).empty()) {
        done(RestRouter::ErrorReply(grpc::StatusCode::INVALID_ARGUMENT,
                                    "this method takes no request body"));
        return;
      }
    } else {
      Message* target = &request;
      if (body != "*") {
        target = request.GetReflection()->MutableMessage(&request, desc->FindFieldByName(body));
      }
      if (absl::Status s = ParseJsonBody(text, target); !s.ok()) {
        done(StatusReply(s));
        return;
      }
      bound.push_back(body);
    }

    // Path variables (after the body so the URL wins over a name in the body).
    for (const auto& [path, value] : call.bindings) {
      if (absl::Status s = SetFieldFromText(&request, path, value, false); !s.ok()) {
        done(StatusReply(s));
        return;
      }
      bound.push_back(path);
    }

    // Query parameters.
    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> query =
        ParseQueryString(call.query);
    if (!query.ok()) {
      done(StatusReply(query.status()));
      return;
    }
    std::vector<std::string> seen;
    for (const auto& [key, value] : *query) {
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        done(RestRouter::ErrorReply(grpc::StatusCode::INVALID_ARGUMENT,
                                    absl::StrCat("query parameter \"", key, "\" repeated")));
        return;
      }
      seen.push_back(key);
      Message* holder = nullptr;
      const FieldDescriptor* field = nullptr;
      absl::Status s = ResolveField(&request, key, true, &holder, &field);
      if (s.ok()) {
        // Compare by proto names: the key may use JSON names.
        std::vector<std::string> proto_path;
        const Descriptor* d = desc;
        for (absl::string_view part : absl::StrSplit(key, '.')) {
          const FieldDescriptor* f = FindField(d, part);
          proto_path.push_back(f->name());
          d = f->message_type();
        }
        const std::string canonical = absl::StrJoin(proto_path, ".");
        for (const std::string& b : bound) {
          if (b == "*" || PathsOverlap(b, canonical)) {
            s = absl::InvalidArgumentError(absl::StrCat(
                "query parameter \"", key, "\" is set by the path or body of this method"));
            break;
          }
        }
        if (s.ok()) s = SetFieldFromText(&request, canonical, value, false);
      } else {
        s = absl::InvalidArgumentError(absl::StrCat("unknown query parameter \"", key, "\""));
      }
      if (!s.ok()) {
        done(StatusReply(s));
        return;
      }
    }

    // PATCH without update_mask: the mask is the set of fields present in the body.
    const FieldDescriptor* mask_field = desc->FindFieldByName("update_mask");
    if (mask_field != nullptr && IsFieldMask(mask_field) && !body.empty() && body != "*" &&
        std::find(seen.begin(), seen.end(), "update_mask") == seen.end() &&
        std::find(seen.begin(), seen.end(), "updateMask") == seen.end()) {
      google::protobuf::Struct json;
      std::vector<std::string> paths;
      if (!absl::StripAsciiWhitespace(text).empty() &&
          google::protobuf::util::JsonStringToMessage(text, &json).ok()) {
        CollectMaskPaths(json, desc->FindFieldByName(body)->message_type(), "", &paths);
      }
      if (paths.empty()) {
        done(RestRouter::ErrorReply(
            grpc::StatusCode::INVALID_ARGUMENT,
            "nothing to update: the body sets no fields and no update_mask was given"));
        return;
      }
      auto* mask = static_cast<google::protobuf::FieldMask*>(
          request.GetReflection()->MutableMessage(&request, mask_field));
      for (std::string& p : paths) mask->add_paths(std::move(p));
    }

    SetDeadline(pending->context(), env.timeout);
    if (!call.request->request_id.empty()) {
      pending->context().AddMetadata("x-request-id", call.request->request_id);
    }
    // gRPC 1.51 aborts the process on a metadata value it finds illegal (found by
    // rest_transcoder_fuzz: `X-Api-Key: \xff` or a tab killed the server), so every header
    // that travels as metadata must be visible ASCII or spaces first; otherwise 400, naming
    // the header and never echoing its value.
    const RestRequest& r = *call.request;
    for (const auto& [header, value] :
         {std::pair<const char*, const std::string*>{"x-api-key", &r.api_key},
          {"authorization", &r.authorization},
          {"x-registryauth-user", &r.user},
          {"x-forwarded-for", &r.forwarded_for}}) {
      if (!IsGrpcMetadataValue(*value)) {
        done(RestRouter::ErrorReply(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("header ", header, ": must be visible ASCII characters or spaces")));
        return;
      }
    }
    if (!r.api_key.empty()) pending->context().AddMetadata("x-api-key", r.api_key);
    if (!r.authorization.empty()) {
      pending->context().AddMetadata("authorization", r.authorization);
    }
    if (!r.user.empty()) pending->context().AddMetadata("x-registryauth-user", r.user);
    if (!r.forwarded_for.empty()) {
      pending->context().AddMetadata("x-forwarded-for", r.forwarded_for);
    }
    pending->Start(env.async, [pending, done = std::move(done)](grpc::Status status) mutable {
      RestReply reply = UnaryReply(*pending, status);
      FinishOnCallbackThread(pending, done, std::move(reply));
    });
  };
}

// The reply to a finished IssueRegistryToken, whichever way it ran.
RestReply TokenReply(TokenEndpoint endpoint, const grpc::Status& status,
                     const v1::IssueRegistryTokenResponse& response, absl::string_view realm,
                     std::string request_id) {
  RestReply reply = status.ok() ? TokenSuccessReply(endpoint, response, realm)
                                : TokenErrorReply(endpoint, TokenErrorFromStatus(status), realm);
  reply.request_id = std::move(request_id);
  return reply;
}

// GET and POST /token: the Docker token realm (token_request.h), one IssueRegistryToken call.
// The client's Authorization header carries registry credentials, not an API key: they go
// into the request message and are never forwarded as `authorization` metadata, which the
// server would read as the caller's own credentials. Only the request id and the client's
// address (for throttling) travel as metadata. In the server's own process the same request
// goes to RestRouterOptions::in_process_tokens instead, on this thread.
Handler TokenHandler(TokenEndpoint endpoint) {
  using TokenCall = TypedCall<v1::IssueRegistryTokenRequest, v1::IssueRegistryTokenResponse>;
  return [endpoint](const Env& env, const Call& call, RestRouter::Done done) {
    const RestRequest& r = *call.request;
    auto parse = [&](v1::IssueRegistryTokenRequest* request) {
      std::optional<TokenError> error = endpoint == TokenEndpoint::kGet
                                            ? ParseTokenQuery(call.query, r.authorization, request)
                                            : ParseTokenForm(r.content_type, r.body, request);
      if (error.has_value()) {
        WipeTokenSecrets(request);
        done(TokenErrorReply(endpoint, *error, env.basic_realm));
        return false;
      }
      return true;
    };
    if (env.in_process_tokens != nullptr) {
      // The same service method without the channel (api/in_process.h), on a token worker:
      // a cache miss waits on the database there, never on an I/O thread. When every worker
      // is busy and the queue is full the client hears 503 at once (issue 15).
      auto request = std::make_shared<v1::IssueRegistryTokenRequest>();
      if (!parse(request.get())) return;
      std::function<void()> task =
          [request, endpoint, issuer = env.in_process_tokens, realm = std::string(env.basic_realm),
           request_id_in = r.request_id, client = r.forwarded_for, done]() mutable {
            v1::IssueRegistryTokenResponse response;
            std::string request_id;
            const grpc::Status status = issuer->IssueRegistryToken(
                api::InProcessCall{request_id_in, client}, *request, &response, &request_id);
            WipeTokenSecrets(request.get());
            done(TokenReply(endpoint, status, response, realm, std::move(request_id)));
          };
      if (env.token_workers == nullptr) {
        task();
        return;
      }
      if (!env.token_workers->TrySchedule(task)) {
        WipeTokenSecrets(request.get());
        RestReply busy = TokenErrorReply(
            endpoint,
            TokenErrorFromStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                              "the token service is busy; try again")),
            env.basic_realm);
        busy.headers.emplace_back("Retry-After", "1");
        done(std::move(busy));
      }
      return;
    }
    auto pending =
        std::make_shared<TokenCall>(static_cast<TokenCall::Method>(&Async::IssueRegistryToken));
    if (!parse(&static_cast<v1::IssueRegistryTokenRequest&>(pending->request()))) return;
    SetDeadline(pending->context(), env.timeout);
    if (!r.request_id.empty()) pending->context().AddMetadata("x-request-id", r.request_id);
    if (!r.forwarded_for.empty()) {
      pending->context().AddMetadata("x-forwarded-for", r.forwarded_for);
    }
    std::string realm(env.basic_realm);
    pending->Start(env.async, [pending, endpoint, realm = std::move(realm),
                               done = std::move(done)](grpc::Status status) mutable {
      WipeTokenSecrets(static_cast<v1::IssueRegistryTokenRequest*>(&pending->request()));
      std::string request_id;
      const auto& initial = pending->context().GetServerInitialMetadata();
      if (auto it = initial.find("x-request-id"); it != initial.end()) {
        request_id.assign(it->second.data(), it->second.size());
      }
      RestReply reply = TokenReply(
          endpoint, status, static_cast<const v1::IssueRegistryTokenResponse&>(pending->response()),
          realm, std::move(request_id));
      FinishOnCallbackThread(pending, done, std::move(reply));
    });
  };
}

void Healthz(const Env&, const Call&, RestRouter::Done done) { done(TextReply(200, "ok")); }

// ---- POST /v1/registryEvents:notify: the platform registry's notifications --------------------

constexpr char kRegistryEventsPath[] = "/v1/registryEvents:notify";

// Distribution's media type, or plain JSON; parameters (charset) ignored, case-insensitive.
bool IsRegistryEventsContentType(absl::string_view content_type) {
  absl::string_view type = content_type.substr(0, content_type.find(';'));
  type = absl::StripAsciiWhitespace(type);
  return absl::EqualsIgnoreCase(type, "application/vnd.docker.distribution.events.v1+json") ||
         absl::EqualsIgnoreCase(type, "application/json");
}

RestReply NotifyReply(const grpc::Status& status, const api::InProcessRegistryEvents::Counts& c) {
  RestReply reply;
  if (status.ok()) {
    reply.body = absl::StrCat(R"({"received":)", c.received, R"(,"stored":)", c.stored,
                              R"(,"duplicates":)", c.duplicates, R"(,"dropped":)", c.dropped, "}");
  } else {
    reply = RestRouter::ErrorReply(status.error_code(), status.error_message());
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      reply.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="registry-events")");
    }
  }
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

// The body is Distribution's envelope, not a proto, so this is no JSON-mapped RPC: the
// registry's bearer secret and the body go to RestRouterOptions::registry_events (the server's
// own process only) on a token worker, since storing waits on the database. 2xx only once the
// events are stored; anything else makes the registry retry.
void NotifyRegistryEvents(const Env& env, const Call& call, RestRouter::Done done) {
  const RestRequest& r = *call.request;
  if (!IsRegistryEventsContentType(r.content_type)) {
    RestReply reply = RestRouter::ErrorReply(
        grpc::StatusCode::INVALID_ARGUMENT,
        "Content-Type must be application/vnd.docker.distribution.events.v1+json");
    reply.status = 415;
    done(std::move(reply));
    return;
  }
  std::function<void()> task = [sink = env.registry_events, authorization = r.authorization,
                                body = r.body, request_id = r.request_id, client = r.forwarded_for,
                                done]() mutable {
    api::InProcessRegistryEvents::Counts counts;
    const grpc::Status status =
        sink->Notify(api::InProcessCall{request_id, client}, authorization, body, &counts);
    done(NotifyReply(status, counts));
  };
  if (env.token_workers == nullptr) {
    task();
    return;
  }
  if (!env.token_workers->TrySchedule(task)) {
    RestReply busy = RestRouter::ErrorReply(grpc::StatusCode::UNAVAILABLE, "busy; try again");
    busy.headers.emplace_back("Retry-After", "1");
    done(std::move(busy));
  }
}

// Only routed when RestRouterOptions::metrics is set (or on the metrics listener's router).
void Metrics(const Env& env, const Call&, RestRouter::Done done) {
  RestReply reply = TextReply(200, env.metrics->Render());
  reply.content_type = observability::Registry::kContentType;
  done(std::move(reply));
}

// Decodes grpc.health.v1.HealthCheckResponse by hand (field 1, enum ServingStatus): Debian
// ships no generated health proto, and the message is a single varint.
std::optional<int> ParseServingStatus(const std::string& bytes) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  int status = 0;  // UNKNOWN when absent (proto3 default).
  while (uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == 1 &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      uint32_t v;
      if (!in.ReadVarint32(&v)) return std::nullopt;
      status = static_cast<int>(v);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return std::nullopt;
    }
  }
  if (!in.ConsumedEntireMessage()) return std::nullopt;
  return status;
}

void Readyz(const Env& env, const Call&, RestRouter::Done done) {
  struct State {
    grpc::ClientContext context;
    grpc::ByteBuffer request;  // HealthCheckRequest{service: ""} encodes to zero bytes.
    grpc::ByteBuffer response;
  };
  auto state = std::make_shared<State>();
  SetDeadline(state->context, std::min(env.timeout, kHealthCheckTimeout));
  grpc::Slice empty("", 0);
  state->request = grpc::ByteBuffer(&empty, 1);
  env.generic->UnaryCall(
      &state->context, kHealthCheckMethod, grpc::StubOptions(), &state->request, &state->response,
      Guarded([state, done = std::move(done)](grpc::Status status) mutable {
        constexpr int kServing = 1;
        bool ready = false;
        grpc::Slice slice;
        if (status.ok() && state->response.DumpToSingleSlice(&slice).ok()) {
          std::optional<int> serving = ParseServingStatus(
              std::string(reinterpret_cast<const char*>(slice.begin()), slice.size()));
          ready = serving.has_value() && *serving == kServing;
        }
        FinishOnCallbackThread(state, done,
                               ready ? TextReply(200, "ready") : TextReply(503, "not ready"));
      }));
}

}  // namespace

struct RestRouter::Route {
  std::string method;
  PathTemplate path;
  Handler handler;
  std::string path_template;  // as written in the table, for RestReply::route
  std::string body;           // RouteSpec::body
};

std::vector<RestRouter::RouteInfo> RestRouter::RouteTable() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const Route& r : routes_) out.push_back({r.method, r.path_template, r.body});
  return out;
}

namespace {

struct RouteSpec {
  const char* method;
  const char* path;
  Handler handler;
  const char* body = "";  // the request field the JSON body binds to ("*": all; "": none)
};

// A JSON-mapped RPC: the handler and, for the table's test, the body field it binds.
RouteSpec RpcRoute(const char* method, const char* path, NewCallFn new_call, const char* body) {
  return RouteSpec{method, path, RpcHandler(std::move(new_call), body), body};
}

// The route table: one line per `HTTP:` comment of registry_auth.proto (rest_router_test holds
// the two together).
std::vector<RouteSpec> RouteSpecs() {
  using v1::App;
  using v1::RegistryConfig;
  using v1::Workspace;
  using Empty = google::protobuf::Empty;
  namespace v = v1;
  return {
      {"GET", "/healthz", Healthz},
      {"GET", "/readyz", Readyz},
      {"GET", "/token", TokenHandler(TokenEndpoint::kGet)},
      {"POST", "/token", TokenHandler(TokenEndpoint::kPost)},

      RpcRoute("POST", "/v1/workspaces",
               Rpc<v::CreateWorkspaceRequest, Workspace>(&Async::CreateWorkspace), "workspace"),
      RpcRoute("GET", "/v1/{name=workspaces/*}",
               Rpc<v::GetWorkspaceRequest, Workspace>(&Async::GetWorkspace), ""),
      RpcRoute("GET", "/v1/workspaces",
               Rpc<v::ListWorkspacesRequest, v::ListWorkspacesResponse>(&Async::ListWorkspaces),
               ""),
      RpcRoute("PATCH", "/v1/{workspace.name=workspaces/*}",
               Rpc<v::UpdateWorkspaceRequest, Workspace>(&Async::UpdateWorkspace), "workspace"),
      RpcRoute("DELETE", "/v1/{name=workspaces/*}",
               Rpc<v::DeleteWorkspaceRequest, Empty>(&Async::DeleteWorkspace), ""),

      RpcRoute("POST", "/v1/{parent=workspaces/*}/apps",
               Rpc<v::CreateAppRequest, App>(&Async::CreateApp), "app"),
      RpcRoute("GET", "/v1/{name=workspaces/*/apps/*}", Rpc<v::GetAppRequest, App>(&Async::GetApp),
               ""),
      RpcRoute("GET", "/v1/{parent=workspaces/*}/apps",
               Rpc<v::ListAppsRequest, v::ListAppsResponse>(&Async::ListApps), ""),
      RpcRoute("PATCH", "/v1/{app.name=workspaces/*/apps/*}",
               Rpc<v::UpdateAppRequest, App>(&Async::UpdateApp), "app"),
      RpcRoute("DELETE", "/v1/{name=workspaces/*/apps/*}",
               Rpc<v::DeleteAppRequest, Empty>(&Async::DeleteApp), ""),

      RpcRoute("POST", "/v1/{parent=workspaces/*}/registries",
               Rpc<v::CreateRegistryConfigRequest, RegistryConfig>(&Async::CreateRegistryConfig),
               "registry_config"),
      RpcRoute("GET", "/v1/{name=workspaces/*/registries/*}",
               Rpc<v::GetRegistryConfigRequest, RegistryConfig>(&Async::GetRegistryConfig), ""),
      RpcRoute("GET", "/v1/{parent=workspaces/*}/registries",
               Rpc<v::ListRegistryConfigsRequest, v::ListRegistryConfigsResponse>(
                   &Async::ListRegistryConfigs),
               ""),
      RpcRoute("PATCH", "/v1/{registry_config.name=workspaces/*/registries/*}",
               Rpc<v::UpdateRegistryConfigRequest, RegistryConfig>(&Async::UpdateRegistryConfig),
               "registry_config"),
      RpcRoute("DELETE", "/v1/{name=workspaces/*/registries/*}",
               Rpc<v::DeleteRegistryConfigRequest, Empty>(&Async::DeleteRegistryConfig), ""),

      RpcRoute("POST", "/v1/{parent=workspaces/*}/members",
               Rpc<v::CreateMemberRequest, v::Member>(&Async::CreateMember), "member"),
      RpcRoute("GET", "/v1/{name=workspaces/*/members/*}",
               Rpc<v::GetMemberRequest, v::Member>(&Async::GetMember), ""),
      RpcRoute("GET", "/v1/{parent=workspaces/*}/members",
               Rpc<v::ListMembersRequest, v::ListMembersResponse>(&Async::ListMembers), ""),
      RpcRoute("PATCH", "/v1/{member.name=workspaces/*/members/*}",
               Rpc<v::UpdateMemberRequest, v::Member>(&Async::UpdateMember), "member"),
      RpcRoute("DELETE", "/v1/{name=workspaces/*/members/*}",
               Rpc<v::DeleteMemberRequest, Empty>(&Async::DeleteMember), ""),

      RpcRoute("GET", "/v1/auditEvents",
               Rpc<v::ListAuditEventsRequest, v::ListAuditEventsResponse>(&Async::ListAuditEvents),
               ""),
      RpcRoute("GET", "/v1/{parent=workspaces/*}/registryEvents",
               Rpc<v::ListRegistryEventsRequest, v::ListRegistryEventsResponse>(
                   &Async::ListRegistryEvents),
               ""),

      RpcRoute("POST", "/v1/{app=workspaces/*/apps/*}:mintPullToken",
               Rpc<v::MintPullTokenRequest, v::MintPullTokenResponse>(&Async::MintPullToken), "*"),
      RpcRoute("POST", "/v1/{name=workspaces/*/registries/*}:testConnection",
               Rpc<v::TestConnectionRequest, v::TestConnectionResponse>(&Async::TestConnection),
               "*"),

      RpcRoute("POST", "/v1/{name=workspaces/*/pullTokens/*}:revoke",
               Rpc<v::RevokePullTokenRequest, v::PullToken>(&Async::RevokePullToken), "*"),
      RpcRoute(
          "POST", "/v1/{app=workspaces/*/apps/*}:revokePullTokens",
          Rpc<v::RevokePullTokensRequest, v::RevokePullTokensResponse>(&Async::RevokePullTokens),
          "*"),
      RpcRoute("GET", "/v1/{parent=workspaces/*}/pullTokens",
               Rpc<v::ListPullTokensRequest, v::ListPullTokensResponse>(&Async::ListPullTokens),
               ""),
      // Not an `HTTP:` line of the proto but its natural additional binding: ListPullTokens
      // also takes an app as parent, which the workspace-level path cannot express.
      RpcRoute("GET", "/v1/{parent=workspaces/*/apps/*}/pullTokens",
               Rpc<v::ListPullTokensRequest, v::ListPullTokensResponse>(&Async::ListPullTokens),
               ""),

      RpcRoute("POST", "/v1/{parent=workspaces/*}/serviceAccounts",
               Rpc<v::CreateServiceAccountRequest, v::ServiceAccountCredentials>(
                   &Async::CreateServiceAccount),
               "service_account"),
      RpcRoute("GET", "/v1/{name=workspaces/*/serviceAccounts/*}",
               Rpc<v::GetServiceAccountRequest, v::ServiceAccount>(&Async::GetServiceAccount), ""),
      RpcRoute("GET", "/v1/{parent=workspaces/*}/serviceAccounts",
               Rpc<v::ListServiceAccountsRequest, v::ListServiceAccountsResponse>(
                   &Async::ListServiceAccounts),
               ""),
      RpcRoute("PATCH", "/v1/{service_account.name=workspaces/*/serviceAccounts/*}",
               Rpc<v::UpdateServiceAccountRequest, v::ServiceAccount>(&Async::UpdateServiceAccount),
               "service_account"),
      RpcRoute("DELETE", "/v1/{name=workspaces/*/serviceAccounts/*}",
               Rpc<v::DeleteServiceAccountRequest, Empty>(&Async::DeleteServiceAccount), ""),
      RpcRoute("POST", "/v1/{name=workspaces/*/serviceAccounts/*}:regenerateSecret",
               Rpc<v::RegenerateServiceAccountSecretRequest, v::ServiceAccountCredentials>(
                   &Async::RegenerateServiceAccountSecret),
               "*"),

      RpcRoute(
          "GET", "/v1/{parent=workspaces/*}/refreshTokens",
          Rpc<v::ListRefreshTokensRequest, v::ListRefreshTokensResponse>(&Async::ListRefreshTokens),
          ""),
      RpcRoute("POST", "/v1/{name=workspaces/*/refreshTokens/*}:revoke",
               Rpc<v::RevokeRefreshTokenRequest, v::RefreshToken>(&Async::RevokeRefreshToken), "*"),
  };
}

std::vector<RestRouter::Route> BuildRoutes(std::vector<RouteSpec> specs) {
  std::vector<RestRouter::Route> routes;
  for (RouteSpec& spec : specs) {
    absl::StatusOr<PathTemplate> path = PathTemplate::Parse(spec.path);
    // The table is a compile-time constant of this file; a bad entry is a programming error
    // that the tests catch, so it is skipped rather than crashing a server.
    if (!path.ok()) continue;
    routes.push_back(RestRouter::Route{spec.method, *std::move(path), std::move(spec.handler),
                                       spec.path, spec.body});
  }
  return routes;
}

constexpr char kMetricsPath[] = "/metrics";

}  // namespace

RestRouter::RestRouter(std::shared_ptr<grpc::Channel> channel, absl::Duration rpc_timeout)
    : RestRouter(std::move(channel), RestRouterOptions{rpc_timeout}) {}

RestRouter::RestRouter(std::shared_ptr<grpc::Channel> channel, RestRouterOptions options)
    : channel_(std::move(channel)),
      stub_(v1::RegistryAuthService::NewStub(channel_)),
      generic_stub_(std::make_unique<grpc::GenericStub>(channel_)),
      options_(std::move(options)) {
  if ((options_.in_process_tokens != nullptr || options_.registry_events != nullptr) &&
      options_.token_workers > 0) {
    token_workers_ = std::make_unique<BoundedExecutor>(options_.token_workers, options_.token_queue,
                                                       "token worker");
  }
  std::vector<RouteSpec> specs = RouteSpecs();
  if (options_.metrics != nullptr) specs.push_back({"GET", kMetricsPath, Metrics});
  if (options_.registry_events != nullptr) {
    specs.push_back({"POST", kRegistryEventsPath, NotifyRegistryEvents});
  }
  routes_ = BuildRoutes(std::move(specs));
}

RestRouter::RestRouter(MetricsListenerTag, const observability::Registry& metrics) {
  options_.metrics = &metrics;
  routes_ = BuildRoutes({{"GET", kMetricsPath, Metrics}, {"GET", "/healthz", Healthz}});
}

std::unique_ptr<RestRouter> RestRouter::ForMetricsListener(const observability::Registry& metrics) {
  return std::unique_ptr<RestRouter>(new RestRouter(MetricsListenerTag{}, metrics));
}

RestRouter::~RestRouter() = default;

RestReply RestRouter::ErrorReply(grpc::StatusCode code, absl::string_view message) {
  RestReply reply;
  reply.status = HttpStatusFromGrpcCode(code);
  reply.body = ErrorJson(code, message);
  return reply;
}

void RestRouter::Handle(const RestRequest& request, Done done) const {
  auto once = std::make_shared<ReplyOnce>(std::move(done));
  if (std::optional<std::string> what = CatchAll([&] {
        HandleUnguarded(request, [once](RestReply reply) { once->Reply(std::move(reply)); });
      })) {
    LogEscaped("HTTP request", *what);
    once->Reply(InternalErrorReply());
  }
}

void RestRouter::HandleUnguarded(const RestRequest& request, Done done) const {
  if (options_.before_dispatch_for_testing) options_.before_dispatch_for_testing(request);
  absl::string_view target = request.target;
  absl::string_view query;
  if (size_t q = target.find('?'); q != absl::string_view::npos) {
    query = target.substr(q + 1);
    target = target.substr(0, q);
  }
  if (size_t hash = query.find('#'); hash != absl::string_view::npos) query = query.substr(0, hash);

  absl::StatusOr<SplitRequestPath> path = SplitPath(target);
  if (!path.ok()) {
    done(StatusReply(path.status()));
    return;
  }
  Call call;
  call.request = &request;
  const Route* route = nullptr;
  std::vector<std::string> allowed;
  for (const Route& r : routes_) {
    std::optional<PathTemplate::Bindings> bindings = r.path.Match(*path);
    if (!bindings.has_value()) continue;
    if (std::find(allowed.begin(), allowed.end(), r.method) == allowed.end()) {
      allowed.push_back(r.method);
    }
    if (route == nullptr && r.method == request.method) {
      route = &r;
      call.bindings = *std::move(bindings);
    }
  }
  if (route == nullptr) {
    if (allowed.empty()) {
      done(ErrorReply(grpc::StatusCode::NOT_FOUND, "no such path"));
      return;
    }
    RestReply reply = ErrorReply(grpc::StatusCode::UNIMPLEMENTED,
                                 absl::StrCat("method ", request.method, " not allowed"));
    if (!IsValidUtf8(request.method)) {
      reply = ErrorReply(grpc::StatusCode::UNIMPLEMENTED, "method not allowed");
    }
    reply.status = 405;
    reply.allow = absl::StrJoin(allowed, ", ");
    done(std::move(reply));
    return;
  }

  call.query = query;

  if (request.request_id.size() > kMaxRequestIdBytes ||
      !std::all_of(request.request_id.begin(), request.request_id.end(),
                   [](char c) { return c >= 0x21 && c <= 0x7E; })) {
    RestReply reply = ErrorReply(grpc::StatusCode::INVALID_ARGUMENT,
                                 "x-request-id must be at most 128 visible ASCII characters");
    reply.route = route->path_template;
    done(std::move(reply));
    return;
  }
  // The metrics listener's router has no channel (and no route that needs one).
  Env env{stub_ == nullptr ? nullptr : stub_->async(),
          generic_stub_.get(),
          options_.rpc_timeout,
          options_.basic_realm,
          options_.in_process_tokens,
          token_workers_.get(),
          options_.metrics,
          options_.registry_events};
  route->handler(env, call, [tmpl = &route->path_template, done = std::move(done)](RestReply r) {
    r.route = *tmpl;
    done(std::move(r));
  });
}

}  // namespace registryauth::gateway
