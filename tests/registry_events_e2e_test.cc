// Registry events end to end (issue 19): the real server with PostgreSQL receives the platform
// registry's notifications at `POST /v1/registryEvents:notify` and serves them per workspace
// through ListRegistryEvents over gRPC and REST.
//   - ReceiverStoresOnceAndServesPerWorkspace: envelopes POSTed by the test (as Distribution
//     would) are stored once (a replay adds nothing), events of unknown workspaces are dropped,
//     beta sees none of acme's, a wrong or missing secret is 401 and stores nothing, another
//     Content-Type is 415, bad filters are INVALID_ARGUMENT / 400, and the metric counts it all.
//   - RealRegistryReportsPushAndPull: Debian's docker-registry, configured to notify the live
//     server, reports a skopeo push by a service account and a pull by a pull token; both appear
//     in acme's list with the right principal kind and name, digest and tag, beta sees none, an
//     event POSTed again by the test is stored once, and a wrong secret stores nothing.
//   - SecretFileReadableByOthersIsRefusedAtStart.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "server/config.h"
#include "storage/testing/pg_test_db.h"
#include "tests/support/distribution_registry.h"
#include "tests/support/http_client.h"
#include "tests/support/oci_image.h"
#include "tests/support/skopeo.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_stack.h"

namespace registryauth::testing {
namespace {

constexpr char kSecret[] = "e2e-registry-events-secret-0123456789abcdef";
constexpr char kNotifyPath[] = "/v1/registryEvents:notify";

std::string Event(const std::string& id, const std::string& repository, const std::string& actor,
                  const std::string& action = "push") {
  return absl::StrCat(R"({"id":")", id, R"(","timestamp":"2026-12-07T20:21:01.5Z","action":")",
                      action,
                      R"(","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json",)",
                      R"("size":525,"digest":"sha256:ab12","repository":")", repository,
                      R"(","tag":"v1"},"request":{"addr":"10.0.0.7:4000","method":"PUT",)",
                      R"("useragent":"skopeo/1.9"},"actor":{"name":")", actor, R"("}})");
}

std::string Envelope(const std::vector<std::string>& events) {
  std::string out = R"({"events":[)";
  for (size_t i = 0; i < events.size(); ++i) absl::StrAppend(&out, i > 0 ? "," : "", events[i]);
  return out + "]}";
}

class RegistryEventsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    absl::StatusOr<std::unique_ptr<TestStack>> stack =
        TestStack::Builder()
            .WithTokenRealm("registry.test", "registry-auth-e2e")
            .WithCaller("admin", "registries.manage tokens.mint")
            .WithCaller("acme-reader", "registries.read", "acme")
            .WithCaller("frontend", "registries.manage act_as_user")
            .WithWorkspace("acme")
            .WithWorkspace("beta")
            .WithApp("acme", "web")
            .WithoutServer()
            .Build();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    secret_file_ = stack_->dir() + "/registry-events.secret";
    ASSERT_TRUE(WriteFile(secret_file_, absl::StrCat(kSecret, "\n"), 0600).ok());
    absl::Status started = stack_->StartServer(
        [this](server::ServerConfig& c) { c.registry_events_secret_file = secret_file_; });
    ASSERT_TRUE(started.ok()) << started;
  }

  // The real registry, trusting this stack's realm and notifying its receiver, and a skopeo;
  // then the service account acme+builder (pull and push on acme/*) pushes acme/web:v1, an
  // image made from `seed`. Sets registry_, skopeo_, builder_ and pushed_digest_.
  void StartRegistryAndPushAsBuilder(const std::string& seed) {
    absl::StatusOr<std::string> bundle = ReadFile(stack_->rootcertbundle_path());
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    RegistryOptions options;
    options.token_auth =
        TokenAuthConfig{absl::StrCat("http://127.0.0.1:", stack_->http_port(), "/token"),
                        "registry.test", "registry-auth-e2e", *bundle};
    options.notifications =
        NotificationEndpoint{absl::StrCat("http://127.0.0.1:", stack_->http_port(), kNotifyPath),
                             absl::StrCat("Bearer ", kSecret)};
    absl::StatusOr<std::unique_ptr<DistributionRegistry>> registry =
        DistributionRegistry::Start(options);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    absl::StatusOr<std::unique_ptr<Skopeo>> skopeo = Skopeo::Create(absl::Seconds(60));
    ASSERT_TRUE(skopeo.ok()) << skopeo.status();
    skopeo_ = *std::move(skopeo);

    v1::CreateServiceAccountRequest sa;
    sa.set_parent("workspaces/acme");
    sa.set_service_account_id("builder");
    v1::RepositoryGrant* grant = sa.mutable_service_account()->add_grants();
    grant->set_repository("acme/*");
    grant->add_actions("pull");
    grant->add_actions("push");
    grpc::Status s = stack_->stub().CreateServiceAccount(stack_->Ctx("admin").get(), sa, &builder_);
    ASSERT_TRUE(s.ok()) << s.error_message();
    absl::StatusOr<std::string> layouts = MakeTempDir("layouts");
    ASSERT_TRUE(layouts.ok());
    OciImageSpec spec;
    spec.seed = seed;
    spec.tag = "v1";
    absl::StatusOr<OciImage> image = WriteOciImage(*layouts + "/acme-web", spec);
    ASSERT_TRUE(image.ok()) << image.status();
    pushed_digest_ = image->manifest.digest;
    SkopeoCopyOptions push;
    push.dest_creds = RegistryCredentials{builder_.username(), builder_.secret()};
    SkopeoResult pushed =
        skopeo_->Copy(image->Reference(), registry_->Reference("acme/web", "v1"), push);
    ASSERT_TRUE(pushed.ok()) << pushed.Describe() << "\n" << registry_->Logs();
  }

  HttpReply Notify(const std::string& body, const std::string& authorization) {
    HttpConnection conn(stack_->http_port());
    std::vector<std::pair<std::string, std::string>> headers;
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    return conn.Request("POST", kNotifyPath, body, headers);
  }

  std::vector<v1::RegistryEvent> List(const std::string& ws, const std::string& caller = "admin",
                                      grpc::Status* status = nullptr,
                                      const v1::ListRegistryEventsRequest& filter = {}) {
    v1::ListRegistryEventsRequest req = filter;
    req.set_parent("workspaces/" + ws);
    req.set_page_size(1000);
    v1::ListRegistryEventsResponse out;
    grpc::Status s = stack_->stub().ListRegistryEvents(stack_->Ctx(caller).get(), req, &out);
    if (status != nullptr) *status = s;
    if (status == nullptr) {
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    return {out.registry_events().begin(), out.registry_events().end()};
  }

  std::string Metrics() {
    const int port = stack_->server().metrics_port() != 0 ? stack_->server().metrics_port()
                                                          : stack_->http_port();
    return HttpConnection(port).Request("GET", "/metrics").body;
  }

  std::unique_ptr<TestStack> stack_;
  std::string secret_file_;
  // Set by StartRegistryAndPushAsBuilder.
  std::unique_ptr<DistributionRegistry> registry_;
  std::unique_ptr<Skopeo> skopeo_;
  v1::ServiceAccountCredentials builder_;
  std::string pushed_digest_;
};

TEST_F(RegistryEventsE2eTest, ReceiverStoresOnceAndServesPerWorkspace) {
  const std::string bearer = absl::StrCat("Bearer ", kSecret);
  const std::string body =
      Envelope({Event("ev-1", "acme/web", "acme+builder"),
                Event("ev-2", "acme/web", "pull+AbCdEfGhIjKlMnOpQrStUv", "pull"),
                Event("ev-3", "gone/web", "gone+x"), Event("ev-4", "library/ubuntu", "")});
  HttpReply r = Notify(body, bearer);
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json counts = nlohmann::json::parse(r.body);
  EXPECT_EQ(counts["received"], 4);
  EXPECT_EQ(counts["stored"], 2);
  EXPECT_EQ(counts["dropped"], 2);

  // A retried delivery: 2xx again, nothing new.
  r = Notify(body, bearer);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["duplicates"], 2);

  std::vector<v1::RegistryEvent> acme = List("acme");
  ASSERT_EQ(acme.size(), 2u);
  for (const v1::RegistryEvent& e : acme) {
    EXPECT_EQ(e.repository(), "acme/web");
    EXPECT_EQ(e.digest(), "sha256:ab12");
    EXPECT_EQ(e.tag(), "v1");
    EXPECT_TRUE(e.has_receive_time());
    if (e.event_id() == "ev-1") {
      EXPECT_EQ(e.actor().kind(), v1::PRINCIPAL_KIND_SERVICE_ACCOUNT);
      EXPECT_EQ(e.actor().principal(), "workspaces/acme/serviceAccounts/builder");
    } else {
      EXPECT_EQ(e.actor().kind(), v1::PRINCIPAL_KIND_PULL_TOKEN);
      EXPECT_EQ(e.actor().principal(), "workspaces/acme/pullTokens/AbCdEfGhIjKlMnOpQrStUv");
    }
  }
  EXPECT_TRUE(List("beta").empty());

  // A caller confined to acme reads acme, and is denied beta.
  EXPECT_EQ(List("acme", "acme-reader").size(), 2u);
  grpc::Status denied;
  List("beta", "acme-reader", &denied);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // Bad filters.
  v1::ListRegistryEventsRequest bad;
  bad.set_repository("beta/web");
  grpc::Status invalid;
  List("acme", "admin", &invalid, bad);
  EXPECT_EQ(invalid.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListRegistryEventsRequest pulls;
  pulls.set_action("pull");
  ASSERT_EQ(List("acme", "admin", nullptr, pulls).size(), 1u);

  // The same over REST.
  HttpConnection rest(stack_->http_port());
  HttpReply listed = rest.Request("GET", "/v1/workspaces/acme/registryEvents?action=push", "",
                                  {{"x-api-key", stack_->api_key("admin")}});
  ASSERT_EQ(listed.status, 200) << listed.body;
  nlohmann::json page = nlohmann::json::parse(listed.body);
  ASSERT_EQ(page["registryEvents"].size(), 1u) << listed.body;
  EXPECT_EQ(page["registryEvents"][0]["eventId"], "ev-1");
  EXPECT_EQ(page["registryEvents"][0]["actor"]["kind"], "PRINCIPAL_KIND_SERVICE_ACCOUNT");
  EXPECT_EQ(rest.Request("GET", "/v1/workspaces/acme/registryEvents?action=steal", "",
                         {{"x-api-key", stack_->api_key("admin")}})
                .status,
            400);
  EXPECT_EQ(rest.Request("GET", "/v1/workspaces/acme/registryEvents").status, 401);

  // Wrong, missing and misplaced secrets: 401 with a Bearer challenge, nothing stored.
  const std::string fresh = Envelope({Event("ev-9", "acme/web", "acme+builder")});
  for (const std::string& authorization :
       {std::string(), std::string("Bearer wrong-secret-wrong-secret-wrong-secret"),
        absl::StrCat("Basic ", kSecret), absl::StrCat("Bearer ", kSecret, "0")}) {
    HttpReply refused = Notify(fresh, authorization);
    EXPECT_EQ(refused.status, 401) << authorization;
    EXPECT_TRUE(absl::StartsWith(refused.headers["www-authenticate"], "Bearer"));
    EXPECT_FALSE(absl::StrContains(refused.body, kSecret));
  }
  // A malformed envelope with the right secret: 400, quoting nothing.
  HttpReply malformed = Notify(R"({"events":[{"id":"<script>"}]})", bearer);
  EXPECT_EQ(malformed.status, 400);
  EXPECT_FALSE(absl::StrContains(malformed.body, "<script>"));
  // Another Content-Type: 415.
  HttpConnection raw(stack_->http_port());
  raw.SendRaw(absl::StrCat(
      "POST ", kNotifyPath, " HTTP/1.1\r\nHost: test\r\nAuthorization: ", bearer,
      "\r\nContent-Type: text/plain\r\nContent-Length: ", fresh.size(), "\r\n\r\n", fresh));
  EXPECT_EQ(raw.Read().status, 415);
  EXPECT_EQ(List("acme").size(), 2u);  // ev-9 never stored

  const std::string metrics = Metrics();
  EXPECT_TRUE(
      absl::StrContains(metrics, R"(registry_auth_registry_events_total{result="stored"} 2)"))
      << metrics;
  EXPECT_TRUE(
      absl::StrContains(metrics, R"(registry_auth_registry_events_total{result="duplicate"} 2)"));
  EXPECT_TRUE(absl::StrContains(
      metrics, R"(registry_auth_registry_events_total{result="unknown_workspace"} 4)"));
  EXPECT_TRUE(absl::StrContains(
      metrics, R"(registry_auth_registry_events_total{result="unauthenticated"} 4)"));
  EXPECT_FALSE(absl::StrContains(metrics, kSecret));
}

// Security row 45: a workspace id is free again once its workspace is deleted, and whoever
// creates the next workspace under it (another tenant) must not read the registry events of
// its predecessor (repositories, tags, digests, actors, the builds' addresses and agents).
TEST_F(RegistryEventsE2eTest, AWorkspaceReCreatedUnderTheSameIdDoesNotSeeItsPredecessorsEvents) {
  const std::string bearer = absl::StrCat("Bearer ", kSecret);
  auto as_user = [this](const std::string& user) {
    std::unique_ptr<grpc::ClientContext> ctx = stack_->Ctx("frontend");
    ctx->AddMetadata("x-registryauth-user", user);
    return ctx;
  };
  auto create = [&](const std::string& user) {
    v1::CreateWorkspaceRequest req;
    req.set_workspace_id("gamma");
    v1::Workspace w;
    grpc::Status s = stack_->stub().CreateWorkspace(as_user(user).get(), req, &w);
    EXPECT_TRUE(s.ok()) << s.error_message();
  };
  auto list = [&](const std::string& user) {
    v1::ListRegistryEventsRequest req;
    req.set_parent("workspaces/gamma");
    req.set_page_size(1000);
    v1::ListRegistryEventsResponse out;
    grpc::Status s = stack_->stub().ListRegistryEvents(as_user(user).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const v1::RegistryEvent& e : out.registry_events()) ids.push_back(e.event_id());
    return ids;
  };

  create("alice");
  HttpReply r =
      Notify(Envelope({Event("ev-gamma-old", "gamma/secret-project", "gamma+ci")}), bearer);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(list("alice"), std::vector<std::string>{"ev-gamma-old"});

  v1::DeleteWorkspaceRequest del;
  del.set_name("workspaces/gamma");
  del.set_force(true);
  google::protobuf::Empty empty;
  grpc::Status s = stack_->stub().DeleteWorkspace(as_user("alice").get(), del, &empty);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));

  // Another tenant takes the id: the predecessor's events are not theirs to read.
  create("mallory");
  EXPECT_TRUE(list("mallory").empty());
  v1::ListRegistryEventsRequest filtered;
  filtered.set_repository("gamma/secret-project");
  grpc::Status status;
  EXPECT_TRUE(List("gamma", "admin", &status, filtered).empty());
  EXPECT_TRUE(status.ok()) << status.error_message();

  // What the new workspace's own registry does is listed as usual.
  r = Notify(Envelope({Event("ev-gamma-new", "gamma/web", "gamma+ci")}), bearer);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(list("mallory"), std::vector<std::string>{"ev-gamma-new"});
}

// Security row 46: the request member of an event is what the registry's client sent (its
// User-Agent, its method): anyone who pulls a public image, or a compromised build, chooses it.
// Distribution retries a delivery that gets no 2xx, the same envelope, forever, so an envelope
// refused for such a field would stop every later event of every tenant (and hide the attacker's
// own push). The fields are kept, cleaned.
TEST_F(RegistryEventsE2eTest, AClientChosenUserAgentOrAddressNeverBlocksTheDelivery) {
  const std::string bearer = absl::StrCat("Bearer ", kSecret);
  // What Distribution sends for a push whose client sent `User-Agent: docker/24<TAB>x<DEL>`
  // (Go's JSON encoding: the tab as \t, DEL as \u007f); the address and method are cleaned
  // the same way, should a registry ever report them as sent.
  nlohmann::json event = nlohmann::json::parse(Event("ev-ua", "acme/web", "acme+builder"));
  event["request"]["useragent"] = "docker/24\tx\x7f";
  event["request"]["addr"] = std::string(5000, '1');
  event["request"]["method"] = "PUT\r\n";
  const std::string body = nlohmann::json{{"events", {event}}}.dump();
  HttpReply r = Notify(body, bearer);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["stored"], 1);

  std::vector<v1::RegistryEvent> acme = List("acme");
  ASSERT_EQ(acme.size(), 1u);
  const v1::RegistryEvent& e = acme[0];
  EXPECT_EQ(e.event_id(), "ev-ua");
  EXPECT_EQ(e.actor().name(), "acme+builder");  // the push is on record
  EXPECT_EQ(e.user_agent(), "docker/24?x?");
  EXPECT_EQ(e.request_method(), "PUT??");
  EXPECT_EQ(e.request_addr(), std::string(1024, '1'));

  // The next delivery goes through as usual.
  r = Notify(Envelope({Event("ev-after", "acme/web", "acme+builder")}), bearer);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(List("acme").size(), 2u);
}

TEST_F(RegistryEventsE2eTest, SecretFileReadableByOthersIsRefusedAtStart) {
  stack_->StopServer();
  ASSERT_TRUE(WriteFile(secret_file_, absl::StrCat(kSecret, "\n"), 0644).ok());
  absl::Status started = stack_->StartServer(
      [this](server::ServerConfig& c) { c.registry_events_secret_file = secret_file_; });
  EXPECT_FALSE(started.ok());
  EXPECT_FALSE(absl::StrContains(started.ToString(), kSecret));
  ASSERT_TRUE(WriteFile(secret_file_, "too-short\n", 0600).ok());
  started = stack_->StartServer(
      [this](server::ServerConfig& c) { c.registry_events_secret_file = secret_file_; });
  EXPECT_EQ(started.code(), absl::StatusCode::kInvalidArgument) << started;
  EXPECT_FALSE(absl::StrContains(started.ToString(), "too-short"));
}

TEST_F(RegistryEventsE2eTest, RealRegistryReportsPushAndPull) {
  REGAUTH_SKIP_WITHOUT_REGISTRY_TOOLS();
  // A service account pushes acme/web:v1.
  ASSERT_NO_FATAL_FAILURE(StartRegistryAndPushAsBuilder("acme-web"));

  // A pull token pulls it back.
  v1::MintPullTokenRequest mint;
  mint.set_app("workspaces/acme/apps/web");
  v1::MintPullTokenResponse token;
  grpc::Status s = stack_->stub().MintPullToken(stack_->Ctx("admin").get(), mint, &token);
  ASSERT_TRUE(s.ok()) << s.error_message();
  absl::StatusOr<std::string> pulled_dir = MakeTempDir("pulled");
  ASSERT_TRUE(pulled_dir.ok());
  SkopeoCopyOptions pull;
  pull.src_creds = RegistryCredentials{token.username(), token.password()};
  SkopeoResult pulled = skopeo_->Copy(registry_->Reference("acme/web", "v1"),
                                      absl::StrCat("oci:", *pulled_dir, ":v1"), pull);
  ASSERT_TRUE(pulled.ok()) << pulled.Describe();

  // The registry delivers asynchronously: wait (bounded) for the manifest's push and pull.
  const std::string digest = pushed_digest_;
  const v1::RegistryEvent* manifest_push = nullptr;
  const v1::RegistryEvent* manifest_pull = nullptr;
  std::vector<v1::RegistryEvent> events;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    events = List("acme");
    manifest_push = manifest_pull = nullptr;
    for (const v1::RegistryEvent& e : events) {
      if (e.digest() != digest) continue;
      if (e.action() == "push") manifest_push = &e;
      if (e.action() == "pull") manifest_pull = &e;
    }
    if (manifest_push != nullptr && manifest_pull != nullptr) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_NE(manifest_push, nullptr) << registry_->Logs();
  ASSERT_NE(manifest_pull, nullptr) << registry_->Logs();
  EXPECT_EQ(manifest_push->repository(), "acme/web");
  EXPECT_EQ(manifest_push->tag(), "v1");
  EXPECT_EQ(manifest_push->actor().name(), builder_.username());
  EXPECT_EQ(manifest_push->actor().kind(), v1::PRINCIPAL_KIND_SERVICE_ACCOUNT);
  EXPECT_EQ(manifest_push->actor().principal(), "workspaces/acme/serviceAccounts/builder");
  EXPECT_EQ(manifest_pull->repository(), "acme/web");
  EXPECT_EQ(manifest_pull->tag(), "v1");
  EXPECT_EQ(manifest_pull->actor().name(), token.username());
  EXPECT_EQ(manifest_pull->actor().kind(), v1::PRINCIPAL_KIND_PULL_TOKEN);
  EXPECT_EQ(manifest_pull->actor().principal(), token.name());
  for (const v1::RegistryEvent& e : events) {
    EXPECT_EQ(e.repository(), "acme/web");  // blobs and the manifest of acme/web only
    EXPECT_FALSE(e.request_addr().empty());
  }
  EXPECT_TRUE(List("beta").empty());

  // The test replays the push it just saw: stored once.
  const size_t before = List("acme").size();
  const std::string replay = Envelope({Event(manifest_push->event_id(), "acme/web", "acme+x")});
  HttpReply again = Notify(replay, absl::StrCat("Bearer ", kSecret));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(nlohmann::json::parse(again.body)["duplicates"], 1);
  // A wrong secret: 401 and nothing stored.
  const std::string forged = Envelope({Event("forged-1", "acme/web", "acme+builder")});
  EXPECT_EQ(Notify(forged, "Bearer not-the-secret-not-the-secret-000000").status, 401);
  std::vector<v1::RegistryEvent> after = List("acme");
  EXPECT_GE(after.size(), before);  // the registry may still deliver late pulls of blobs
  for (const v1::RegistryEvent& e : after) {
    EXPECT_NE(e.event_id(), "forged-1");
    if (e.event_id() == manifest_push->event_id()) {
      EXPECT_EQ(e.actor().name(), builder_.username());  // the first delivery stays
    }
  }
}

// Row 46 with Debian's docker-registry: a pull whose client sends a tab in its User-Agent is
// reported by the registry as it is; the event is stored cleaned and the registry's later
// deliveries still arrive (before, the envelope got 400 and the registry retried it forever).
TEST_F(RegistryEventsE2eTest, RealRegistryDeliversPastAClientChosenUserAgent) {
  REGAUTH_SKIP_WITHOUT_REGISTRY_TOOLS();
  ASSERT_NO_FATAL_FAILURE(StartRegistryAndPushAsBuilder("acme-web-ua"));

  // A registry token for the pull, from the realm, then two manifest pulls straight at the
  // registry: the first with the client's chosen headers, the second an ordinary one.
  HttpReply t =
      HttpConnection(stack_->http_port())
          .Request("GET", "/token?service=registry.test&scope=repository:acme/web:pull", "",
                   {{"Authorization",
                     absl::StrCat("Basic ", absl::Base64Escape(absl::StrCat(
                                                builder_.username(), ":", builder_.secret())))}});
  ASSERT_EQ(t.status, 200) << t.body;
  const std::string bearer = nlohmann::json::parse(t.body)["token"].get<std::string>();
  const std::string manifest = "/v2/acme/web/manifests/v1";
  const std::string accept = "application/vnd.oci.image.manifest.v1+json";
  HttpReply evil = HttpConnection(registry_->port())
                       .Request("GET", manifest, "",
                                {{"Authorization", absl::StrCat("Bearer ", bearer)},
                                 {"Accept", accept},
                                 {"User-Agent", "evil\tagent"}});
  ASSERT_EQ(evil.status, 200) << evil.body << registry_->Logs();
  HttpReply plain = HttpConnection(registry_->port())
                        .Request("GET", manifest, "",
                                 {{"Authorization", absl::StrCat("Bearer ", bearer)},
                                  {"Accept", accept},
                                  {"User-Agent", "after/1"}});
  ASSERT_EQ(plain.status, 200) << plain.body;

  bool saw_evil = false;
  bool saw_after = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline && !(saw_evil && saw_after)) {
    for (const v1::RegistryEvent& e : List("acme")) {
      if (e.action() != "pull") continue;
      if (e.user_agent() == "evil?agent") saw_evil = true;
      if (e.user_agent() == "after/1") saw_after = true;
    }
    if (!(saw_evil && saw_after)) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(saw_evil) << registry_->Logs();
  EXPECT_TRUE(saw_after) << registry_->Logs();
}

}  // namespace
}  // namespace registryauth::testing
