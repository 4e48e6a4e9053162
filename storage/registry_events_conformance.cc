// The registry-event part of the RegistryStore conformance suite (AppendRegistryEvents,
// ListRegistryEvents, PruneRegistryEvents), in its own file beside store_conformance.cc; the
// same fixture, so every backend that instantiates RegistryStoreConformanceTest runs it.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "storage/store_conformance.h"

namespace registryauth::storage::testing {
namespace {

// Asserts that `rexpr` (a StatusOr) is OK and declares `lhs` with its value. `lhs` is a name
// (pasted into the temporary's name too), so it cannot be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define EV_ASSERT_OK_AND_ASSIGN(lhs, rexpr)                          \
  auto ev_statusor_##lhs = (rexpr);                                  \
  ASSERT_TRUE(ev_statusor_##lhs.ok()) << ev_statusor_##lhs.status(); \
  auto lhs = *std::move(ev_statusor_##lhs)
// NOLINTEND(bugprone-macro-parentheses)

const absl::Time kBase = absl::FromUnixMicros(1700000000123456);

RegistryEvent MakeEvent(std::string id, std::string ws, int seconds) {
  RegistryEvent e;
  e.event_id = std::move(id);
  e.workspace_id = ws;
  e.repository = absl::StrCat(ws, "/web");
  e.action = "push";
  e.digest = "sha256:aaaa";
  e.tag = "v1";
  e.media_type = "application/vnd.oci.image.manifest.v1+json";
  e.size = 1234;
  e.actor = absl::StrCat(ws, "+ci");
  e.actor_kind = RegistryEventActorKind::kServiceAccount;
  e.request_addr = "10.0.0.7:41234";
  e.request_method = "PUT";
  e.user_agent = "skopeo/1.9";
  e.event_time = kBase + absl::Seconds(seconds);
  e.receive_time = kBase + absl::Seconds(seconds + 1);
  return e;
}

std::vector<std::string> Ids(const Page<RegistryEvent>& page) {
  std::vector<std::string> ids;
  for (const RegistryEvent& e : page.items) ids.push_back(e.event_id);
  return ids;
}

using Ids_ = std::vector<std::string>;

TEST_P(RegistryStoreConformanceTest, RegistryEventsRoundTripEveryField) {
  RegistryEvent e = MakeEvent("ev-1", "acme", 0);
  e.event_time += absl::Nanoseconds(789);  // kept to the microsecond, truncated
  e.user_agent = "docker/24 \xC3\xBC";     // UTF-8 round-trips
  EV_ASSERT_OK_AND_ASSIGN(inserted, store().AppendRegistryEvents({e}));
  EXPECT_EQ(inserted, 1);
  EV_ASSERT_OK_AND_ASSIGN(page, store().ListRegistryEvents("acme", {}, 10, std::nullopt));
  ASSERT_EQ(page.items.size(), 1U);
  EXPECT_FALSE(page.has_more);
  const RegistryEvent& got = page.items[0];
  EXPECT_EQ(got.event_id, "ev-1");
  EXPECT_EQ(got.workspace_id, "acme");
  EXPECT_EQ(got.repository, "acme/web");
  EXPECT_EQ(got.action, "push");
  EXPECT_EQ(got.digest, "sha256:aaaa");
  EXPECT_EQ(got.tag, "v1");
  EXPECT_EQ(got.media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(got.size, 1234);
  EXPECT_EQ(got.actor, "acme+ci");
  EXPECT_EQ(got.actor_kind, RegistryEventActorKind::kServiceAccount);
  EXPECT_EQ(got.request_addr, "10.0.0.7:41234");
  EXPECT_EQ(got.request_method, "PUT");
  EXPECT_EQ(got.user_agent, "docker/24 \xC3\xBC");
  EXPECT_EQ(got.event_time, kBase);
  EXPECT_EQ(got.receive_time, kBase + absl::Seconds(1));
}

TEST_P(RegistryStoreConformanceTest, RegistryEventsAreStoredOncePerEventId) {
  const std::vector<RegistryEvent> batch = {MakeEvent("a", "acme", 1), MakeEvent("b", "acme", 2)};
  EV_ASSERT_OK_AND_ASSIGN(first, store().AppendRegistryEvents(batch));
  EXPECT_EQ(first, 2);
  // The registry retries the same envelope: nothing new, nothing changed.
  EV_ASSERT_OK_AND_ASSIGN(replayed, store().AppendRegistryEvents(batch));
  EXPECT_EQ(replayed, 0);
  // A batch with an old and a new event, and a duplicate inside the batch itself.
  RegistryEvent changed = MakeEvent("a", "acme", 1);
  changed.tag = "rewritten";
  EV_ASSERT_OK_AND_ASSIGN(mixed, store().AppendRegistryEvents({changed, MakeEvent("c", "acme", 3),
                                                               MakeEvent("c", "acme", 3)}));
  EXPECT_EQ(mixed, 1);
  EV_ASSERT_OK_AND_ASSIGN(page, store().ListRegistryEvents("acme", {}, 10, std::nullopt));
  EXPECT_EQ(Ids(page), (Ids_{"c", "b", "a"}));
  EXPECT_EQ(page.items[2].tag, "v1");  // the first delivery stays
  EV_ASSERT_OK_AND_ASSIGN(empty, store().AppendRegistryEvents({}));
  EXPECT_EQ(empty, 0);
}

TEST_P(RegistryStoreConformanceTest, RegistryEventsOfAnotherWorkspaceAreInvisible) {
  ASSERT_TRUE(store()
                  .AppendRegistryEvents({MakeEvent("a1", "acme", 1), MakeEvent("b1", "beta", 2),
                                         MakeEvent("a2", "acme", 3)})
                  .ok());
  EV_ASSERT_OK_AND_ASSIGN(acme, store().ListRegistryEvents("acme", {}, 10, std::nullopt));
  EXPECT_EQ(Ids(acme), (Ids_{"a2", "a1"}));
  EV_ASSERT_OK_AND_ASSIGN(beta, store().ListRegistryEvents("beta", {}, 10, std::nullopt));
  EXPECT_EQ(Ids(beta), (Ids_{"b1"}));
  // A filter naming another workspace's repository finds nothing either.
  RegistryEventFilter f;
  f.repository = "beta/web";
  EV_ASSERT_OK_AND_ASSIGN(cross, store().ListRegistryEvents("acme", f, 10, std::nullopt));
  EXPECT_TRUE(cross.items.empty());
  EV_ASSERT_OK_AND_ASSIGN(none, store().ListRegistryEvents("gamma", {}, 10, std::nullopt));
  EXPECT_TRUE(none.items.empty());
}

// received_since (the workspace's create time, set by RegistryEventLog) leaves out what was
// received earlier: a re-created workspace's predecessor's events (security row 45).
TEST_P(RegistryStoreConformanceTest, RegistryEventsReceivedBeforeABoundAreLeftOut) {
  // Received at kBase + 1s, + 11s, + 21s.
  EV_ASSERT_OK_AND_ASSIGN(
      inserted,
      store().AppendRegistryEvents({MakeEvent("ev-old", "acme", 0), MakeEvent("ev-mid", "acme", 10),
                                    MakeEvent("ev-new", "acme", 20)}));
  EXPECT_EQ(inserted, 3);
  RegistryEventFilter f;
  f.received_since = kBase + absl::Seconds(11);
  EV_ASSERT_OK_AND_ASSIGN(page, store().ListRegistryEvents("acme", f, 10, std::nullopt));
  EXPECT_EQ(Ids(page), (Ids_{"ev-new", "ev-mid"}));
  f.received_since = kBase + absl::Seconds(11) + absl::Nanoseconds(1);
  EV_ASSERT_OK_AND_ASSIGN(later, store().ListRegistryEvents("acme", f, 10, std::nullopt));
  EXPECT_EQ(Ids(later), (Ids_{"ev-new"}));
}

TEST_P(RegistryStoreConformanceTest, RegistryEventFiltersAllApply) {
  RegistryEvent push = MakeEvent("push", "acme", 1);
  RegistryEvent pull = MakeEvent("pull", "acme", 2);
  pull.action = "pull";
  pull.actor = "pull+ro";
  pull.actor_kind = RegistryEventActorKind::kPullToken;
  RegistryEvent api = MakeEvent("api", "acme", 3);
  api.repository = "acme/api";
  api.tag = "v2";
  api.digest = "sha256:bbbb";
  RegistryEvent late = MakeEvent("late", "acme", 10);
  late.tag = "";
  ASSERT_TRUE(store().AppendRegistryEvents({push, pull, api, late}).ok());

  const auto list = [&](const RegistryEventFilter& f) {
    absl::StatusOr<Page<RegistryEvent>> page =
        store().ListRegistryEvents("acme", f, 10, std::nullopt);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? Ids(*page) : Ids_{};
  };
  RegistryEventFilter f;
  f.repository = "acme/api";
  EXPECT_EQ(list(f), (Ids_{"api"}));
  f = {};
  f.tag = "v1";
  EXPECT_EQ(list(f), (Ids_{"pull", "push"}));
  f = {};
  f.digest = "sha256:bbbb";
  EXPECT_EQ(list(f), (Ids_{"api"}));
  f = {};
  f.action = "pull";
  EXPECT_EQ(list(f), (Ids_{"pull"}));
  f = {};
  f.actor = "pull+ro";
  EXPECT_EQ(list(f), (Ids_{"pull"}));
  f = {};
  f.start_time = kBase + absl::Seconds(2);  // inclusive
  f.end_time = kBase + absl::Seconds(10);   // exclusive
  EXPECT_EQ(list(f), (Ids_{"api", "pull"}));
  // Bounds finer than a microsecond compare against the stored microseconds exactly.
  f = {};
  f.start_time = kBase + absl::Seconds(2) + absl::Nanoseconds(1);
  EXPECT_EQ(list(f), (Ids_{"late", "api"}));
  f = {};
  f.action = "push";
  f.tag = "v1";
  f.repository = "acme/web";
  EXPECT_EQ(list(f), (Ids_{"push"}));
  f.actor = "someone-else";
  EXPECT_EQ(list(f), Ids_{});
}

TEST_P(RegistryStoreConformanceTest, RegistryEventsPageAcrossEqualTimestamps) {
  // Five events at one instant and two later: newest first, ties by event id.
  std::vector<RegistryEvent> events;
  for (const char* id : {"e", "c", "a", "d", "b"}) events.push_back(MakeEvent(id, "acme", 5));
  events.push_back(MakeEvent("z-new", "acme", 9));
  events.push_back(MakeEvent("y-old", "acme", 1));
  ASSERT_TRUE(store().AppendRegistryEvents(events).ok());
  std::vector<std::string> seen;
  std::optional<RegistryEventCursor> after;
  int pages = 0;
  while (true) {
    EV_ASSERT_OK_AND_ASSIGN(page, store().ListRegistryEvents("acme", {}, 2, after));
    ++pages;
    for (const RegistryEvent& e : page.items) seen.push_back(e.event_id);
    if (!page.has_more) break;
    ASSERT_FALSE(page.items.empty());
    after = RegistryEventCursor{page.items.back().event_time, page.items.back().event_id};
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(seen, (Ids_{"z-new", "a", "b", "c", "d", "e", "y-old"}));
  EXPECT_EQ(pages, 4);
}

TEST_P(RegistryStoreConformanceTest, RegistryEventsOverLimitsAreRefusedWhole) {
  const auto refused = [&](RegistryEvent bad) {
    absl::StatusOr<int64_t> r = store().AppendRegistryEvents({MakeEvent("fine", "acme", 1), bad});
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad.event_id;
  };
  RegistryEvent e = MakeEvent("", "acme", 1);
  refused(e);
  e = MakeEvent(std::string(kRegistryEventIdMaxChars + 1, 'x'), "acme", 1);
  refused(e);
  e = MakeEvent("bad-ws", "Acme", 1);
  refused(e);
  e = MakeEvent("long-repo", "acme", 1);
  e.repository = std::string(kRegistryEventFieldMaxChars + 1, 'r');
  refused(e);
  e = MakeEvent("nul", "acme", 1);
  e.tag = std::string("v\0x", 3);
  refused(e);
  e = MakeEvent("bad-utf8", "acme", 1);
  e.user_agent = "\xff\xfe";
  refused(e);
  e = MakeEvent("kind", "acme", 1);
  e.actor_kind = static_cast<RegistryEventActorKind>(9);
  refused(e);
  // Nothing of a refused batch was stored.
  EV_ASSERT_OK_AND_ASSIGN(page, store().ListRegistryEvents("acme", {}, 10, std::nullopt));
  EXPECT_TRUE(page.items.empty());
  // Exactly at the limits is fine (characters, not bytes).
  e = MakeEvent(std::string(kRegistryEventIdMaxChars, 'x'), "acme", 1);
  e.user_agent.clear();
  for (size_t i = 0; i < kRegistryEventFieldMaxChars; ++i) e.user_agent += "\xC3\xBC";
  EV_ASSERT_OK_AND_ASSIGN(n, store().AppendRegistryEvents({e}));
  EXPECT_EQ(n, 1);
}

TEST_P(RegistryStoreConformanceTest, PruneRegistryEventsDeletesOldestInBatches) {
  std::vector<RegistryEvent> events;
  for (int i = 0; i < 7; ++i) {
    events.push_back(MakeEvent(absl::StrCat("old-", i), i % 2 == 0 ? "acme" : "beta", i));
  }
  events.push_back(MakeEvent("new", "acme", 100));
  ASSERT_TRUE(store().AppendRegistryEvents(events).ok());
  const absl::Time cutoff = kBase + absl::Seconds(50);
  EV_ASSERT_OK_AND_ASSIGN(first, store().PruneRegistryEvents(cutoff, 3));
  EXPECT_EQ(first, 3);
  // The oldest went first: old-0..old-2; old-3.. remain.
  EV_ASSERT_OK_AND_ASSIGN(acme, store().ListRegistryEvents("acme", {}, 10, std::nullopt));
  EXPECT_EQ(Ids(acme), (Ids_{"new", "old-6", "old-4"}));
  EV_ASSERT_OK_AND_ASSIGN(second, store().PruneRegistryEvents(cutoff, 3));
  EXPECT_EQ(second, 3);
  EV_ASSERT_OK_AND_ASSIGN(third, store().PruneRegistryEvents(cutoff, 3));
  EXPECT_EQ(third, 1);
  EV_ASSERT_OK_AND_ASSIGN(fourth, store().PruneRegistryEvents(cutoff, 0));
  EXPECT_EQ(fourth, 0);
  EV_ASSERT_OK_AND_ASSIGN(left, store().ListRegistryEvents("acme", {}, 10, std::nullopt));
  EXPECT_EQ(Ids(left), (Ids_{"new"}));
  EV_ASSERT_OK_AND_ASSIGN(beta, store().ListRegistryEvents("beta", {}, 10, std::nullopt));
  EXPECT_TRUE(beta.items.empty());
  // An event exactly at the cutoff stays (before is exclusive).
  EV_ASSERT_OK_AND_ASSIGN(at, store().PruneRegistryEvents(kBase + absl::Seconds(100), 0));
  EXPECT_EQ(at, 0);
  // The pruned ids may come back (a late retry of a pruned event is stored again).
  EV_ASSERT_OK_AND_ASSIGN(again, store().AppendRegistryEvents({MakeEvent("old-0", "acme", 0)}));
  EXPECT_EQ(again, 1);
}

}  // namespace
}  // namespace registryauth::storage::testing
