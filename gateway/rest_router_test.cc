// RestRouter's guarantees that hold whatever a handler or the service does (issue 15): one
// reply per request, 500 for anything thrown, and /token run on bounded token workers that
// answer 503 at once when full. Transport-free: requests go straight into Handle.
#include "gateway/rest_router.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "observability/metrics.h"

namespace registryauth::gateway {
namespace {

namespace v1 = ::registryauth::v1;

// Collects the replies of one request; counts them, so a second reply would show.
class Replies {
 public:
  RestRouter::Done Done() {
    return [this](RestReply r) {
      absl::MutexLock lock(&mu_);
      replies_.push_back(std::move(r));
    };
  }
  // Waits (bounded) for the first reply.
  RestReply Wait() {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](std::vector<RestReply>* v) { return !v->empty(); }, &replies_),
                         absl::Seconds(10));
    return replies_.empty() ? RestReply{0, "", "no reply"} : replies_.front();
  }
  size_t count() {
    absl::MutexLock lock(&mu_);
    return replies_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<RestReply> replies_ ABSL_GUARDED_BY(mu_);
};

// Blocks every call until released; or throws, as told.
class ControlledIssuer final : public api::InProcessTokenIssuer {
 public:
  grpc::Status IssueRegistryToken(const api::InProcessCall&, v1::IssueRegistryTokenRequest&,
                                  v1::IssueRegistryTokenResponse* response,
                                  std::string* request_id) override {
    ++calls;
    *request_id = "rid";
    if (throw_out_of_range) throw std::out_of_range("basic_string_view::substr");
    if (!started.HasBeenNotified()) started.Notify();  // (only the first call runs alone)
    release.WaitForNotification();
    response->set_token("t");
    response->set_expires_in(300);
    return grpc::Status::OK;
  }

  std::atomic<int> calls{0};
  std::atomic<bool> throw_out_of_range{false};
  absl::Notification started;
  absl::Notification release;
};

RestRequest Get(std::string target) {
  RestRequest r;
  r.method = "GET";
  r.target = std::move(target);
  return r;
}

std::shared_ptr<grpc::Channel> NowhereChannel() {
  // Never connected: the routes under test make no call on it.
  return grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
}

TEST(RestRouterBarrierTest, AnExceptionInAHandlerIsOne500AndTheRouterGoesOn) {
  RestRouterOptions options;
  std::atomic<bool> throw_now{true};
  options.before_dispatch_for_testing = [&](const RestRequest&) {
    if (throw_now.exchange(false)) throw std::out_of_range("basic_string_view::substr");
  };
  RestRouter router(NowhereChannel(), options);
  Replies first;
  router.Handle(Get("/healthz"), first.Done());
  RestReply r = first.Wait();
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("\"internal error\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("substr"), std::string::npos) << "the exception's text stays in the log";
  EXPECT_EQ(first.count(), 1u);
  Replies second;
  router.Handle(Get("/healthz"), second.Done());
  EXPECT_EQ(second.Wait().status, 200);
}

// /metrics is a route like /healthz: there with a registry, absent without one.
TEST(RestRouterMetricsTest, MetricsIsARouteWhenARegistryIsGiven) {
  observability::Registry registry;
  registry.AddCounter("demo_total", "A demo counter.", {}).WithLabels({}).Increment();
  RestRouterOptions options;
  options.metrics = &registry;
  RestRouter router(NowhereChannel(), options);
  Replies replies;
  router.Handle(Get("/metrics"), replies.Done());
  RestReply r = replies.Wait();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, observability::Registry::kContentType);
  EXPECT_EQ(r.route, "/metrics");
  EXPECT_NE(r.body.find("demo_total 1\n"), std::string::npos) << r.body;

  RestRouter without(NowhereChannel(), RestRouterOptions{});
  Replies none;
  without.Handle(Get("/metrics"), none.Done());
  EXPECT_EQ(none.Wait().status, 404);
}

TEST(RestRouterMetricsTest, TheMetricsListenersRouterServesMetricsAndHealthzOnly) {
  observability::Registry registry;
  std::unique_ptr<RestRouter> router = RestRouter::ForMetricsListener(registry);
  for (const char* path : {"/metrics", "/healthz"}) {
    Replies replies;
    router->Handle(Get(path), replies.Done());
    RestReply r = replies.Wait();
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.route, path);
  }
  for (const char* path : {"/readyz", "/token?service=s", "/v1/workspaces"}) {
    Replies replies;
    router->Handle(Get(path), replies.Done());
    EXPECT_EQ(replies.Wait().status, 404) << path;
  }
  RestRequest post = Get("/metrics");
  post.method = "POST";
  Replies replies;
  router->Handle(post, replies.Done());
  RestReply r = replies.Wait();
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET");
}

TEST(RestRouterBarrierTest, AThrowingInProcessTokenServiceIsA500) {
  ControlledIssuer issuer;
  issuer.throw_out_of_range = true;
  RestRouterOptions options;
  options.in_process_tokens = &issuer;
  RestRouter router(NowhereChannel(), options);
  Replies replies;
  router.Handle(Get("/token?service=registry.test"), replies.Done());
  EXPECT_EQ(replies.Wait().status, 500);
  EXPECT_EQ(issuer.calls.load(), 1);
  EXPECT_EQ(replies.count(), 1u);
}

// Found by rest_transcoder_fuzz: gRPC 1.51 aborts the process on a metadata value it finds
// illegal, and these headers travel as metadata. Each is refused with 400 before any call.
TEST(RestRouterBarrierTest, HeadersThatGrpcWouldRefuseAre400NotAnAbort) {
  RestRouter router(NowhereChannel(), RestRouterOptions{});
  for (const std::string& bad :
       {std::string("\xff"), std::string("a\tb"), std::string("\x7f"), std::string("ok\x80")}) {
    for (int which = 0; which < 3; ++which) {
      RestRequest r = Get("/v1/workspaces");
      (which == 0 ? r.api_key : which == 1 ? r.authorization : r.user) = bad;
      Replies replies;
      router.Handle(r, replies.Done());
      RestReply reply = replies.Wait();
      EXPECT_EQ(reply.status, 400) << which << " " << reply.body;
      EXPECT_NE(reply.body.find("visible ASCII"), std::string::npos) << reply.body;
      EXPECT_EQ(reply.body.find(bad), std::string::npos) << "the value is not echoed";
    }
  }
}

TEST(RestRouterTokenWorkersTest, TokenRunsOffTheCallingThreadAndFullMeans503) {
  ControlledIssuer issuer;
  RestRouterOptions options;
  options.in_process_tokens = &issuer;
  options.token_workers = 1;
  options.token_queue = 1;
  RestRouter router(NowhereChannel(), options);
  Replies busy_worker, queued, refused;
  // Handle returns at once: the service runs on the token worker (it blocks there).
  router.Handle(Get("/token?service=registry.test"), busy_worker.Done());
  issuer.started.WaitForNotification();
  router.Handle(Get("/token?service=registry.test"), queued.Done());
  router.Handle(Get("/token?service=registry.test"), refused.Done());
  RestReply r = refused.Wait();
  EXPECT_EQ(r.status, 503) << r.body;
  bool retry_after = false;
  for (const auto& [name, value] : r.headers) retry_after |= name == "Retry-After" && value == "1";
  EXPECT_TRUE(retry_after);
  EXPECT_EQ(busy_worker.count(), 0u);
  EXPECT_EQ(queued.count(), 0u);
  issuer.release.Notify();
  EXPECT_EQ(busy_worker.Wait().status, 200);
  EXPECT_EQ(queued.Wait().status, 200);
  EXPECT_EQ(issuer.calls.load(), 2);
}

// Answers as told and remembers what it was handed.
class FakeRegistryEvents final : public api::InProcessRegistryEvents {
 public:
  grpc::Status Notify(const api::InProcessCall& call, std::string_view authorization,
                      std::string_view body, Counts* counts) override {
    last_authorization = std::string(authorization);
    last_body = std::string(body);
    last_client = std::string(call.client_address);
    if (!answer.ok()) return answer;
    counts->received = 3;
    counts->stored = 2;
    counts->duplicates = 1;
    return grpc::Status::OK;
  }
  grpc::Status answer = grpc::Status::OK;
  std::string last_authorization, last_body, last_client;
};

RestRequest Notify(std::string content_type) {
  RestRequest r;
  r.method = "POST";
  r.target = "/v1/registryEvents:notify";
  r.body = R"({"events":[]})";
  r.content_type = std::move(content_type);
  r.authorization = "Bearer s";
  r.forwarded_for = "10.0.0.7";
  return r;
}

TEST(RestRouterRegistryEventsTest, OnlyWithAReceiverAndOnlyDistributionsEnvelope) {
  {
    RestRouter without(NowhereChannel(), RestRouterOptions{});
    Replies replies;
    without.Handle(Notify("application/json"), replies.Done());
    EXPECT_EQ(replies.Wait().status, 404);
  }
  FakeRegistryEvents sink;
  RestRouterOptions options;
  options.registry_events = &sink;
  RestRouter router(NowhereChannel(), options);
  Replies ok;
  router.Handle(Notify("application/vnd.docker.distribution.events.v1+json; charset=utf-8"),
                ok.Done());
  RestReply reply = ok.Wait();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"received":3,"stored":2,"duplicates":1,"dropped":0})");
  EXPECT_EQ(reply.route, "/v1/registryEvents:notify");
  EXPECT_EQ(sink.last_authorization, "Bearer s");
  EXPECT_EQ(sink.last_client, "10.0.0.7");

  Replies wrong_type;
  router.Handle(Notify("text/plain"), wrong_type.Done());
  EXPECT_EQ(wrong_type.Wait().status, 415);

  sink.answer = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid credentials");
  Replies refused;
  router.Handle(Notify("application/json"), refused.Done());
  reply = refused.Wait();
  EXPECT_EQ(reply.status, 401);
  bool challenge = false;
  for (const auto& [name, value] : reply.headers) {
    if (name == "WWW-Authenticate" && value.rfind("Bearer", 0) == 0) challenge = true;
  }
  EXPECT_TRUE(challenge);

  sink.answer = grpc::Status(grpc::StatusCode::UNAVAILABLE, "database down");
  Replies down;
  router.Handle(Notify("application/json"), down.Done());
  EXPECT_EQ(down.Wait().status, 503);  // the registry retries
  Replies get;
  router.Handle(Get("/v1/registryEvents:notify"), get.Done());
  EXPECT_EQ(get.Wait().status, 405);
}

// The route table is written by hand from the `HTTP:` lines of registry_auth.proto; this holds
// the two together (method, path template and body field, both ways).
TEST(RestRouterTableTest, MatchesTheHttpLinesOfTheProto) {
  std::ifstream in("proto/registryauth/v1/registry_auth.proto");
  ASSERT_TRUE(in.good()) << "the proto is a data dependency of this test";
  std::set<std::string> documented;
  const std::regex http(R"(^\s*// HTTP: ([A-Z]+) (/v1/[^ ?]+)(\?\S*)?(?:\s+body: (\S+))?\s*$)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, http)) {
      documented.insert(m[1].str() + " " + m[2].str() + " body=" + m[4].str());
    }
  }
  ASSERT_GE(documented.size(), 30u) << "the proto's HTTP: lines were not found";
  std::set<std::string> served;
  RestRouter router(NowhereChannel(), RestRouterOptions{});
  for (const RestRouter::RouteInfo& r : router.RouteTable()) {
    if (r.path.rfind("/v1/", 0) != 0) continue;  // /healthz, /readyz, /token: not the mapping
    served.insert(r.method + " " + r.path + " body=" + r.body);
  }
  std::vector<std::string> only_documented, only_served;
  std::set_difference(documented.begin(), documented.end(), served.begin(), served.end(),
                      std::back_inserter(only_documented));
  std::set_difference(served.begin(), served.end(), documented.begin(), documented.end(),
                      std::back_inserter(only_served));
  EXPECT_TRUE(only_documented.empty())
      << "in the proto, not served: " << ::testing::PrintToString(only_documented);
  EXPECT_TRUE(only_served.empty())
      << "served, not in the proto: " << ::testing::PrintToString(only_served);
}

}  // namespace
}  // namespace registryauth::gateway
