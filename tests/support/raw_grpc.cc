#include "tests/support/raw_grpc.h"

#include <chrono>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"

namespace registryauth::testing {
namespace {

using google::protobuf::io::ArrayInputStream;
using google::protobuf::io::CodedInputStream;

std::string EncodeStringField(int field, const std::string& value) {
  std::string out;
  out.push_back(static_cast<char>((field << 3) | 2));
  uint64_t n = value.size();
  do {
    uint8_t b = n & 0x7f;
    n >>= 7;
    out.push_back(static_cast<char>(n ? (b | 0x80) : b));
  } while (n);
  return out + value;
}

// Visits the fields of one message: (field number, wire type, varint or bytes).
template <typename Fn>
bool ForEachField(const std::string& bytes, Fn fn) {
  ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  CodedInputStream in(&raw);
  while (uint32_t tag = in.ReadTag()) {
    const int field = static_cast<int>(tag >> 3);
    switch (tag & 7) {
      case 0: {
        uint64_t v;
        if (!in.ReadVarint64(&v)) return false;
        fn(field, v, std::string());
        break;
      }
      case 2: {
        uint32_t len;
        std::string s;
        if (!in.ReadVarint32(&len) || !in.ReadString(&s, static_cast<int>(len))) return false;
        fn(field, 0, s);
        break;
      }
      default:
        if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) return false;
    }
  }
  return true;
}

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

absl::StatusOr<int> HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::ByteBuffer request = ToBuffer(service.empty() ? "" : EncodeStringField(1, service));
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return FromGrpc(status);
  int serving = 0;  // absent field = UNKNOWN (0)
  if (!ForEachField(FromBuffer(response), [&](int f, uint64_t v, const std::string&) {
        if (f == 1) serving = static_cast<int>(v);
      })) {
    return absl::InternalError("malformed HealthCheckResponse");
  }
  return serving;
}

absl::StatusOr<std::vector<std::string>> ListServicesByReflection(
    const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::CompletionQueue cq;
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  auto step = [&](int want) {
    return cq.Next(&tag, &ok) && ok && tag == reinterpret_cast<void*>(want);
  };
  call->StartCall(reinterpret_cast<void*>(1));
  if (!step(1)) return absl::UnavailableError("reflection: start failed");
  // ServerReflectionRequest { list_services = 7: "*" }
  call->Write(ToBuffer(EncodeStringField(7, "*")), reinterpret_cast<void*>(2));
  if (!step(2)) return absl::UnavailableError("reflection: write failed");
  call->WritesDone(reinterpret_cast<void*>(3));
  if (!step(3)) return absl::UnavailableError("reflection: writes-done failed");
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(4));
  const bool got = cq.Next(&tag, &ok) && ok;
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!status.ok()) return FromGrpc(status);
  if (!got) return absl::InternalError("reflection: no response");
  // ServerReflectionResponse { list_services_response = 6 { service = 1 { name = 1 } } }
  std::vector<std::string> names;
  bool parsed = ForEachField(FromBuffer(response), [&](int f, uint64_t, const std::string& s) {
    if (f != 6) return;
    ForEachField(s, [&](int f2, uint64_t, const std::string& svc) {
      if (f2 != 1) return;
      ForEachField(svc, [&](int f3, uint64_t, const std::string& name) {
        if (f3 == 1) names.push_back(name);
      });
    });
  });
  if (!parsed) return absl::InternalError("malformed ServerReflectionResponse");
  return names;
}

}  // namespace registryauth::testing
