#include "services/registry_event_envelope.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace registryauth::services {
namespace {

// One event as Distribution 2.8 sends it (trimmed of nothing: every member it writes).
constexpr char kPush[] = R"({"events": [{
  "id": "320678d8-ca14-430f-8bb6-4ca139cd83f7",
  "timestamp": "2026-12-07T20:21:01.123456789Z",
  "action": "push",
  "target": {
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "size": 708, "length": 708,
    "digest": "sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf",
    "repository": "acme/web",
    "url": "https://registry.example/v2/acme/web/manifests/sha256:fea8",
    "tag": "v1",
    "references": [{"mediaType": "application/octet-stream", "size": 2, "digest": "sha256:00"}]
  },
  "request": {"id": "3cbd", "addr": "10.0.0.7:51234", "host": "registry.example",
              "method": "PUT", "useragent": "skopeo/1.9.3"},
  "actor": {"name": "acme+ci"},
  "source": {"addr": "registry-0:5000", "instanceID": "5d6f"}
}]})";

std::string Envelope(const std::string& event) {
  return absl::StrCat(R"({"events": [)", event, "]}");
}

// An event with `extra` members appended to the event object (`target` replaced if given).
std::string Event(const std::string& target = R"({"repository": "acme/web"})",
                  const std::string& extra = "") {
  return absl::StrCat(R"({"id": "e1", "timestamp": "2026-12-07T20:21:01Z", "action": "pull",)",
                      R"("target": )", target, extra, "}");
}

void ExpectInvalid(const std::string& body, const std::string& message) {
  absl::StatusOr<std::vector<RegistryEvent>> events = ParseRegistryEnvelope(body);
  ASSERT_FALSE(events.ok()) << body.substr(0, 200);
  EXPECT_EQ(events.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(events.status().message(), message) << body.substr(0, 200);
}

TEST(RegistryEventEnvelopeTest, ReadsEveryMemberOfDistributionsEvent) {
  absl::StatusOr<std::vector<RegistryEvent>> events = ParseRegistryEnvelope(kPush);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  const RegistryEvent& e = (*events)[0];
  EXPECT_EQ(e.event_id, "320678d8-ca14-430f-8bb6-4ca139cd83f7");
  EXPECT_EQ(e.event_time, absl::FromUnixNanos(int64_t{1796674861123456789}));
  EXPECT_EQ(e.action, "push");
  EXPECT_EQ(e.media_type, "application/vnd.docker.distribution.manifest.v2+json");
  EXPECT_EQ(e.size, 708);
  EXPECT_EQ(e.digest, "sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf");
  EXPECT_EQ(e.repository, "acme/web");
  EXPECT_EQ(e.workspace_id, "acme");
  EXPECT_EQ(e.tag, "v1");
  EXPECT_EQ(e.request_addr, "10.0.0.7:51234");
  EXPECT_EQ(e.request_method, "PUT");
  EXPECT_EQ(e.user_agent, "skopeo/1.9.3");
  EXPECT_EQ(e.actor, "acme+ci");
  EXPECT_EQ(e.actor_kind, RegistryEventActorKind::kServiceAccount);
  EXPECT_EQ(e.receive_time, absl::InfinitePast());  // the receiver's to set
}

TEST(RegistryEventEnvelopeTest, OptionalMembersMayBeAbsentOrNull) {
  absl::StatusOr<std::vector<RegistryEvent>> events = ParseRegistryEnvelope(Envelope(
      Event(R"({"repository": "acme/api", "tag": null, "length": 5})", R"(, "actor": null)")));
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].tag, "");
  EXPECT_EQ((*events)[0].size, 5);  // `length`, from registries that send no `size`
  EXPECT_EQ((*events)[0].actor, "");
  EXPECT_EQ((*events)[0].actor_kind, RegistryEventActorKind::kAnonymous);
  EXPECT_TRUE(ParseRegistryEnvelope(R"({"events": []})")->empty());
}

TEST(RegistryEventEnvelopeTest, ActorKindComesFromTheUserName) {
  EXPECT_EQ(ActorKindOfUsername(""), RegistryEventActorKind::kAnonymous);
  EXPECT_EQ(ActorKindOfUsername("acme+ci"), RegistryEventActorKind::kServiceAccount);
  EXPECT_EQ(ActorKindOfUsername("pull+tok1"), RegistryEventActorKind::kPullToken);
  EXPECT_EQ(ActorKindOfUsername("build+acme"), RegistryEventActorKind::kWorkspaceCredential);
  EXPECT_EQ(ActorKindOfUsername("admin"), RegistryEventActorKind::kUnknown);
}

TEST(RegistryEventEnvelopeTest, WorkspaceIsTheRepositorysValidFirstSegment) {
  EXPECT_EQ(WorkspaceOfRepository("acme/web"), "acme");
  EXPECT_EQ(WorkspaceOfRepository("acme/web/frontend"), "acme");
  EXPECT_EQ(WorkspaceOfRepository("acme"), "");      // no app segment
  EXPECT_EQ(WorkspaceOfRepository("acme/"), "");     // empty app segment
  EXPECT_EQ(WorkspaceOfRepository("/web"), "");      // empty workspace
  EXPECT_EQ(WorkspaceOfRepository("Acme/web"), "");  // not the id grammar
  EXPECT_EQ(WorkspaceOfRepository("a_b/web"), "");
  absl::StatusOr<std::vector<RegistryEvent>> events =
      ParseRegistryEnvelope(Envelope(Event(R"({"repository": "ubuntu"})")));
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ((*events)[0].workspace_id, "");  // the receiver drops it
}

TEST(RegistryEventEnvelopeTest, MalformedBodiesAreRefusedWithFixedMessages) {
  ExpectInvalid("", "registry events: body is not valid JSON");
  ExpectInvalid("{\"events\": [", "registry events: body is not valid JSON");
  ExpectInvalid("\xff\xfe", "registry events: body is not valid JSON");
  ExpectInvalid(R"({"events": ["\xff"]})", "registry events: body is not valid JSON");
  ExpectInvalid("[]", "registry events: body must be a JSON object");
  ExpectInvalid("{}", "registry events: events must be an array");
  ExpectInvalid(R"({"events": {}})", "registry events: events must be an array");
  ExpectInvalid(Envelope("7"), "registry events: event 0: event must be an object");
  ExpectInvalid(Envelope(absl::StrCat(Event(), ",", R"({"id": 5})")),
                "registry events: event 1: id must be a string");
  ExpectInvalid(Envelope(R"({"timestamp": "2026-12-07T20:21:01Z"})"),
                "registry events: event 0: id is required");
  ExpectInvalid(Envelope(R"({"id": ""})"), "registry events: event 0: id must not be empty");
  ExpectInvalid(Envelope(R"({"id": "e", "timestamp": "yesterday <script>"})"),
                "registry events: event 0: timestamp must be an RFC 3339 time");
  ExpectInvalid(Envelope(R"({"id": "e", "timestamp": "2026-12-07T20:21:01"})"),
                "registry events: event 0: timestamp must be an RFC 3339 time");
  ExpectInvalid(Envelope(R"({"id": "e", "timestamp": "2026-12-07T20:21:01Z"})"),
                "registry events: event 0: action is required");
  ExpectInvalid(Envelope(R"({"id": "e", "timestamp": "2026-12-07T20:21:01Z", "action": "push"})"),
                "registry events: event 0: target is required");
  ExpectInvalid(Envelope(Event("[]")), "registry events: event 0: target must be an object");
  ExpectInvalid(Envelope(Event("{}")), "registry events: event 0: target.repository is required");
  ExpectInvalid(Envelope(Event(R"({"repository": "acme/web", "digest": ["x"]})")),
                "registry events: event 0: target.digest must be a string");
  ExpectInvalid(Envelope(Event(R"({"repository": "acme/web", "size": -1})")),
                "registry events: event 0: target.size must not be negative");
  ExpectInvalid(Envelope(Event(R"({"repository": "acme/web", "size": 1.5})")),
                "registry events: event 0: target.size must be a non-negative integer");
  ExpectInvalid(Envelope(Event(R"({"repository": "acme/web", "size": "7"})")),
                "registry events: event 0: target.size must be a non-negative integer");
  ExpectInvalid(Envelope(Event(R"({"repository": "acme/web", "size": 18446744073709551615})")),
                "registry events: event 0: target.size is out of range");
  ExpectInvalid(Envelope(Event(R"({"repository": "acme/web"})", R"(, "request": "PUT")")),
                "registry events: event 0: request must be an object");
  ExpectInvalid(Envelope(Event(R"({"repository": "acme/web"})", R"(, "actor": {"name": 1})")),
                "registry events: event 0: actor.name must be a string");
}

TEST(RegistryEventEnvelopeTest, StringsAreBoundedAndFreeOfControlCharacters) {
  const std::string long_tag(kMaxRegistryEventFieldBytes + 1, 't');
  ExpectInvalid(
      Envelope(Event(absl::StrCat(R"({"repository": "acme/web", "tag": ")", long_tag, R"("})"))),
      "registry events: event 0: target.tag is too long");
  const std::string max_tag(kMaxRegistryEventFieldBytes, 't');
  EXPECT_TRUE(
      ParseRegistryEnvelope(
          Envelope(Event(absl::StrCat(R"({"repository": "acme/web", "tag": ")", max_tag, R"("})"))))
          .ok());
  const std::string long_id(kMaxRegistryEventIdBytes + 1, 'i');
  ExpectInvalid(Envelope(absl::StrCat(R"({"id": ")", long_id, R"("})")),
                "registry events: event 0: id is too long");
  ExpectInvalid(Envelope(Event(R"({"repository": "acme/web\u0000x"})")),
                "registry events: event 0: target.repository must not contain control characters");
  // What the registry's client chose (its User-Agent, X-Forwarded-For) is never refused, which
  // would wedge the registry's retries (security row 46), and never stored raw either: control
  // characters become '?', and it is cut at a character boundary.
  absl::StatusOr<std::vector<RegistryEvent>> cleaned = ParseRegistryEnvelope(
      Envelope(Event(R"({"repository": "acme/web", "mediaType": "x\u0000y"})",
                     R"(, "request": {"useragent": "curl\r\nX-Forged: 1", "method": "PUT\u007f",)"
                     R"( "addr": "10.0.0.7\t"})")));
  ASSERT_TRUE(cleaned.ok()) << cleaned.status();
  ASSERT_EQ(cleaned->size(), 1U);
  EXPECT_EQ((*cleaned)[0].user_agent, "curl??X-Forged: 1");
  EXPECT_EQ((*cleaned)[0].request_method, "PUT?");
  EXPECT_EQ((*cleaned)[0].request_addr, "10.0.0.7?");
  EXPECT_EQ((*cleaned)[0].media_type, "x?y");
  // 1023 ASCII bytes and a 2-byte character: the character does not fit and goes whole.
  const std::string long_agent = std::string(kMaxRegistryEventFieldBytes - 1, 'a') + "\xC3\xBC";
  cleaned = ParseRegistryEnvelope(
      Envelope(Event(R"({"repository": "acme/web"})",
                     absl::StrCat(R"(, "request": {"useragent": ")", long_agent, R"("})"))));
  ASSERT_TRUE(cleaned.ok()) << cleaned.status();
  EXPECT_EQ((*cleaned)[0].user_agent, std::string(kMaxRegistryEventFieldBytes - 1, 'a'));
  // The registry's own fields stay strict.
  ExpectInvalid(Envelope(Event(R"({"repository": "acme/web"})", R"(, "actor": {"name": "a\tb"})")),
                "registry events: event 0: actor.name must not contain control characters");
  ExpectInvalid(Envelope(Event(R"({"repository": "acme/web"})", R"(, "request": {"addr": 7})")),
                "registry events: event 0: request.addr must be a string");
}

TEST(RegistryEventEnvelopeTest, SizeCountAndDepthAreLimited) {
  std::string many = R"({"events": [)";
  for (size_t i = 0; i <= kMaxRegistryEnvelopeEvents; ++i) {
    absl::StrAppend(&many, i > 0 ? "," : "", Event());
  }
  many += "]}";
  ASSERT_LT(many.size(), kMaxRegistryEnvelopeBytes);
  ExpectInvalid(many, "registry events: too many events");

  std::string big = Envelope(
      Event(R"({"repository": "acme/web"})",
            absl::StrCat(R"(, "pad": ")", std::string(kMaxRegistryEnvelopeBytes, 'p'), R"(")")));
  ExpectInvalid(big, "registry events: body is too large");

  // Ignored members may nest, up to the limit; a million brackets are refused without being
  // built (and without a recursive destruction).
  EXPECT_TRUE(ParseRegistryEnvelope(
                  Envelope(Event(R"({"repository": "acme/web"})", R"(, "x": [[[[{"y": 1}]]]])")))
                  .ok());
  ExpectInvalid(Envelope(Event(R"({"repository": "acme/web"})", R"(, "x": [[[[[{"y": 1}]]]]])")),
                "registry events: body is nested too deeply");
  const std::string deep(kMaxRegistryEnvelopeBytes / 4, '[');
  ExpectInvalid(absl::StrCat(R"({"events": )", deep), "registry events: body is nested too deeply");
  ExpectInvalid(absl::StrCat(R"({"events": )", deep, std::string(deep.size(), ']'), "}"),
                "registry events: body is nested too deeply");
}

}  // namespace
}  // namespace registryauth::services
