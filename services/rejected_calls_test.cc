// Refused calls from unauthenticated callers (services/rejected_calls.h, Guard::RecordRejected)
// cannot flood the audit table (issue 17): a bounded number of rows, every call counted.
#include "services/rejected_calls.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "services/guard.h"
#include "storage/memory_store.h"

namespace registryauth::services {
namespace {

class CountingMetrics : public RejectedCallMetrics {
 public:
  void OnRejectedCall(std::string_view action, bool recorded) override {
    absl::MutexLock lock(&mu_);
    ++counts_[absl::StrCat(std::string(action), recorded ? "/recorded" : "/aggregated")];
  }
  int Count(const std::string& key) {
    absl::MutexLock lock(&mu_);
    return counts_[key];
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, int> counts_;
};

class RejectedCallsTest : public ::testing::Test {
 protected:
  RejectedCallsTest()
      : clock_(absl::FromUnixSeconds(1800000000)), guard_(store_, clock_, &metrics_) {}

  std::vector<AuditEvent> Rows() {
    auto page = store_.ListAuditEvents(AuditFilter{}, 1000, 0);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->items : std::vector<AuditEvent>{};
  }
  void Refuse(const std::string& peer, const std::string& resource) {
    guard_.RecordRejected("", "GetCredentials", resource,
                          absl::UnauthenticatedError("missing API key"), "req-x", peer);
  }

  FakeClock clock_;
  storage::InMemoryRegistryStore store_;
  CountingMetrics metrics_;
  Guard guard_;
};

TEST_F(RejectedCallsTest, AThousandRefusedCallsWriteABoundedNumberOfRowsAndAreAllCounted) {
  for (int i = 0; i < 1000; ++i) {
    Refuse(absl::StrCat("ipv4:198.51.100.7:", 40000 + i), "workspaces/acme/registries/gh");
  }
  std::vector<AuditEvent> rows = Rows();
  ASSERT_EQ(rows.size(), 1u);  // the first one, as before
  EXPECT_EQ(rows[0].action, "GetCredentials");
  EXPECT_EQ(rows[0].outcome, "UNAUTHENTICATED");
  EXPECT_EQ(rows[0].request_id, "req-x");
  EXPECT_EQ(metrics_.Count("GetCredentials/recorded"), 1);
  EXPECT_EQ(metrics_.Count("GetCredentials/aggregated"), 999);

  // The next minute's first refusal writes the summary of the last one, then its own row.
  clock_.Advance(absl::Minutes(1));
  Refuse("ipv4:198.51.100.7:50000", "workspaces/acme/registries/gh");
  rows = Rows();
  ASSERT_EQ(rows.size(), 3u);
  int summaries = 0;
  for (const AuditEvent& e : rows) {
    if (!absl::StrContains(e.detail, "not recorded one by one")) continue;
    ++summaries;
    EXPECT_TRUE(absl::StartsWith(e.detail, "999 more refused calls from addr:198.51.100.7"))
        << e.detail;
    EXPECT_EQ(e.resource, "workspaces/acme/registries/gh");
    EXPECT_EQ(e.outcome, "UNAUTHENTICATED");
  }
  EXPECT_EQ(summaries, 1);
  EXPECT_EQ(metrics_.Count("GetCredentials/recorded") + metrics_.Count("GetCredentials/aggregated"),
            1001);
}

TEST_F(RejectedCallsTest, VaryingNamesAndAddressesDoesNotEscapeTheBound) {
  for (int i = 0; i < 1000; ++i) {
    Refuse(absl::StrCat("ipv4:203.0.113.", i % 250, ":1234"),
           absl::StrCat("workspaces/w", i, "/registries/r"));
  }
  const size_t first_minute = Rows().size();
  EXPECT_EQ(first_minute, static_cast<size_t>(RejectedCallLimiter::kDefaultMaxKeysPerMinute));
  clock_.Advance(absl::Minutes(1));
  Refuse("ipv4:203.0.113.1:1234", "workspaces/w0/registries/r");
  // One overflow summary (the 900 beyond the limit) and the new minute's row.
  std::vector<AuditEvent> rows = Rows();
  EXPECT_EQ(rows.size(), first_minute + 2);
  bool overflow = false;
  for (const AuditEvent& e : rows) {
    if (absl::StartsWith(e.detail, "900 more refused calls from * ")) overflow = true;
  }
  EXPECT_TRUE(overflow);
  EXPECT_EQ(metrics_.Count("GetCredentials/recorded") + metrics_.Count("GetCredentials/aggregated"),
            1001);
}

TEST_F(RejectedCallsTest, OneAddressCannotTakeTheWholeMinutesBudget) {
  // Review of issue 17: one client varying the resource name took all 100 keys of a minute, so
  // 100 rows of its own text were written and every other client's refusals that minute were
  // only counted into the anonymous overflow row (no address, no resource): a cheap way to
  // write rows and to hide other attempts. One address now gets at most
  // kDefaultMaxKeysPerAddress keys a minute; the rest of its calls make one summary row.
  for (int i = 0; i < 1000; ++i) {
    Refuse("ipv4:198.51.100.66:1234", absl::StrCat("workspaces/w", i, "/registries/r"));
  }
  Refuse("ipv6:[2001:db8:1::5]:443", "workspaces/acme/registries/gh");
  std::vector<AuditEvent> rows = Rows();
  int from_flooder = 0;
  int from_other = 0;
  for (const AuditEvent& e : rows) {
    if (absl::StrContains(e.peer, "198.51.100.66")) ++from_flooder;
    if (absl::StrContains(e.peer, "2001:db8:1::5")) {
      ++from_other;
      EXPECT_EQ(e.resource, "workspaces/acme/registries/gh");
    }
  }
  EXPECT_EQ(from_flooder, RejectedCallLimiter::kDefaultMaxKeysPerAddress);
  EXPECT_EQ(from_other, 1);
  // The flooder's other calls are one summary row with its address, at the window's end.
  clock_.Advance(absl::Minutes(1));
  guard_.FlushRejected();
  int summaries = 0;
  for (const AuditEvent& e : Rows()) {
    if (absl::StartsWith(e.detail,
                         absl::StrCat(1000 - RejectedCallLimiter::kDefaultMaxKeysPerAddress,
                                      " more refused calls from addr:198.51.100.66"))) {
      ++summaries;
      EXPECT_EQ(e.resource, "*");
    }
  }
  EXPECT_EQ(summaries, 1);
  EXPECT_EQ(metrics_.Count("GetCredentials/recorded") + metrics_.Count("GetCredentials/aggregated"),
            1001);
}

TEST_F(RejectedCallsTest, FlushRejectedWritesThePendingSummaryWithoutAnotherRefusal) {
  for (int i = 0; i < 5; ++i) Refuse("ipv4:198.51.100.9:1", "workspaces/acme/registries/gh");
  ASSERT_EQ(Rows().size(), 1u);
  guard_.FlushRejected();
  std::vector<AuditEvent> rows = Rows();
  ASSERT_EQ(rows.size(), 2u);
  int summaries = 0;
  for (const AuditEvent& e : rows) {
    if (absl::StartsWith(e.detail, "4 more refused calls from addr:198.51.100.9")) ++summaries;
  }
  EXPECT_EQ(summaries, 1);
  guard_.FlushRejected();  // nothing pending: no new row
  EXPECT_EQ(Rows().size(), 2u);
}

TEST(RejectedCallLimiterTest, PerAddressBudgetCountsOnlyRecordedKeys) {
  // Addresses whose calls all went to the overflow hold no state: memory stays bounded by the
  // window's keys however many addresses call.
  FakeClock clock(absl::FromUnixSeconds(1800000000));
  RejectedCallLimiter limiter(clock, /*max_keys_per_minute=*/2, /*max_keys_per_address=*/1);
  EXPECT_TRUE(
      limiter.OnRejected("ipv4:10.0.0.1:1", "A", "r1", absl::StatusCode::kUnauthenticated).record);
  EXPECT_FALSE(
      limiter.OnRejected("ipv4:10.0.0.1:1", "A", "r2", absl::StatusCode::kUnauthenticated).record);
  for (int i = 0; i < 50; ++i) {
    EXPECT_FALSE(limiter
                     .OnRejected(absl::StrCat("ipv4:10.0.1.", i, ":1"), "A", "r",
                                 absl::StatusCode::kUnauthenticated)
                     .record);
  }
  std::vector<RejectedCallLimiter::Summary> s = limiter.Flush();
  ASSERT_EQ(s.size(), 2u);  // 10.0.0.1's "*" key and the overflow
  EXPECT_EQ(s[0].address, "addr:10.0.0.1");
  EXPECT_EQ(s[0].resource, "*");
  EXPECT_EQ(s[0].count, 1);
  EXPECT_EQ(s[1].address, "*");
  EXPECT_EQ(s[1].count, 50);
}

TEST(RejectedCallLimiterTest, FlushSummarizesWhatWasCounted) {
  FakeClock clock(absl::FromUnixSeconds(1800000000));
  RejectedCallLimiter limiter(clock, 2);
  EXPECT_TRUE(
      limiter.OnRejected("ipv4:10.0.0.1:1", "A", "r", absl::StatusCode::kUnauthenticated).record);
  EXPECT_FALSE(
      limiter.OnRejected("ipv4:10.0.0.1:2", "A", "r", absl::StatusCode::kUnauthenticated).record);
  std::vector<RejectedCallLimiter::Summary> s = limiter.Flush();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].count, 1);
  EXPECT_EQ(s[0].address, "addr:10.0.0.1");
  EXPECT_TRUE(limiter.Flush().empty());
  EXPECT_TRUE(
      limiter.OnRejected("ipv4:10.0.0.1:3", "A", "r", absl::StatusCode::kUnauthenticated).record);
}

}  // namespace
}  // namespace registryauth::services
