// Retrying GitHub API calls: a Sleeper seam (so tests never really wait) and ApiRetrier, which
// sends one request again while the failure is transient.
//
//   ApiRetrier retrier(clock, sleeper);
//   absl::StatusOr<HttpResponse> resp = retrier.Send(
//       [&] { return http.Send(BuildRequest()); }, deadline, "GitHub (GET
//       https://api.github.com/user)");
//   if (!resp.ok()) return resp.status();   // carries an UpstreamFailure
//   if (resp->status == 401) ...            // final answers are the caller's to judge
//
// Transient (retried): a transport error IsRetryableHttpError() accepts (DNS, connect, timeout,
// lost connection); any 5xx; 429; 403 when it is a rate limit (`x-ratelimit-remaining: 0`, or
// a `Retry-After` header; GitHub answers rate limits with 403 or 429). Every other answer, 2xx
// to 4xx (400, 401, 403 without those headers, 404, 422, ...), is final and returned as is;
// other transport errors (TLS, redirect, size, bad URL) fail at once.
//
// Delay before the next attempt, in order of preference:
//   1. `Retry-After` (seconds or HTTP-date);
//   2. `x-ratelimit-remaining: 0` with `x-ratelimit-reset`: until the reset time (now if past);
//   3. exponential backoff with full jitter: uniform in [0, min(max_backoff,
//      initial_backoff * 2^(attempt-1))].
// The loop stops, returning the failure (retryable, with retry_after = the wait it would have
// needed), when the wait would end after the caller's deadline, when a server-requested wait
// exceeds `max_server_wait` (an hour-long primary rate-limit reset is the caller's to schedule,
// not a thread's to sleep through), or after `max_attempts` sends.
//
// Failures are a Status with an UpstreamFailure payload (upstream/github.h):
//   NETWORK  NETWORK_UNREACHABLE  UNAVAILABLE        DNS, connect, lost connection (retryable)
//   NETWORK  TIMEOUT              DEADLINE_EXCEEDED  request timeout or deadline (retryable)
//   REGISTRY RATE_LIMITED         RESOURCE_EXHAUSTED 429 / 403 rate limit (retryable)
//   REGISTRY UPSTREAM_UNAVAILABLE UNAVAILABLE        5xx (retryable)
//   REGISTRY TLS_FAILURE          FAILED_PRECONDITION certificate or handshake (not retryable)
//   REGISTRY BAD_URL              INVALID_ARGUMENT   the URL cannot be sent
//   REGISTRY BAD_RESPONSE         the client's code  redirect, size or protocol failures
// Messages name the call (`what`) and the HTTP status, never a header value or body.
//
// Thread-safe: one ApiRetrier serves concurrent calls (its jitter source is locked).
#ifndef REGISTRY_AUTH_UPSTREAM_RETRY_H_
#define REGISTRY_AUTH_UPSTREAM_RETRY_H_

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "upstream/github.h"
#include "upstream/http_client.h"

namespace registryauth::upstream {

// Waits. Injected wherever logic waits (backoff), so tests drive time instead of sleeping.
// Implementations are thread-safe.
//
//   sleeper.SleepFor(absl::Seconds(2));
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void SleepFor(absl::Duration duration) = 0;
};

class RealSleeper final : public Sleeper {
 public:
  void SleepFor(absl::Duration duration) override {
    if (duration > absl::ZeroDuration()) absl::SleepFor(duration);
  }
};

// For tests: records each requested sleep and advances `clock` (if given) by it instead of
// waiting. Thread-safe.
class FakeSleeper final : public Sleeper {
 public:
  explicit FakeSleeper(FakeClock* clock = nullptr) : clock_(clock) {}

  void SleepFor(absl::Duration duration) override {
    absl::MutexLock lock(&mu_);
    sleeps_.push_back(duration);
    if (clock_ != nullptr && duration > absl::ZeroDuration()) clock_->Advance(duration);
  }

  std::vector<absl::Duration> sleeps() const {
    absl::MutexLock lock(&mu_);
    return sleeps_;
  }

 private:
  FakeClock* const clock_;
  mutable absl::Mutex mu_;
  std::vector<absl::Duration> sleeps_ ABSL_GUARDED_BY(mu_);
};

struct RetryOptions {
  // Sends per call, the first included. 1 = never retry.
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(30);
  // Longest Retry-After / rate-limit reset wait slept through; longer ones end the loop.
  absl::Duration max_server_wait = absl::Seconds(60);
  // Seed of the jitter source; unset = from std::random_device.
  std::optional<uint64_t> seed;
};

// A transient failure: what to report if it is the last one, and the wait the server asked
// for (Retry-After, rate-limit reset), if any.
struct TransientFailure {
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  UpstreamFailure failure;  // retryable
  std::string message;
  std::optional<absl::Duration> server_wait;
};

// Classifies one outcome of `what` at `now`: nullopt if it is a final answer (the caller's to
// judge) or a permanent transport error (see TransportFailure).
std::optional<TransientFailure> ClassifyTransient(const absl::StatusOr<HttpResponse>& outcome,
                                                  absl::Time now, std::string_view what);

// The Status for a transport error from HttpClient::Send (no HTTP answer): `what` and the
// client's message, the client's code, and an UpstreamFailure from the HttpErrorKind (table
// above; a status without a kind is REGISTRY BAD_RESPONSE).
absl::Status TransportFailure(const absl::Status& status, std::string_view what);

class ApiRetrier {
 public:
  // `clock` and `sleeper` must outlive the retrier.
  ApiRetrier(const Clock& clock, Sleeper& sleeper, RetryOptions options = {});

  // Calls `send` (one exchange; it should build its request afresh, with `deadline`) until the
  // outcome is final or the loop stops (class comment). `what` names the call in messages and
  // must not hold a secret.
  absl::StatusOr<HttpResponse> Send(absl::FunctionRef<absl::StatusOr<HttpResponse>()> send,
                                    absl::Time deadline, std::string_view what) const;

  const RetryOptions& options() const { return options_; }

 private:
  // Full-jitter backoff after the `attempt`-th send failed.
  absl::Duration Backoff(int attempt) const;

  const Clock& clock_;
  Sleeper& sleeper_;
  const RetryOptions options_;
  mutable absl::Mutex mu_;
  mutable std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth::upstream

#endif  // REGISTRY_AUTH_UPSTREAM_RETRY_H_
