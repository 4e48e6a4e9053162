#include "upstream/retry.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/strings.h"
#include "upstream/github_headers.h"

namespace registryauth::upstream {
namespace {

std::string Seconds(absl::Duration d) {
  return absl::FormatDuration(absl::Ceil(d, absl::Seconds(1)));
}

absl::Status Fail(absl::StatusCode code, std::string message, UpstreamFailure failure) {
  return WithUpstreamFailure(absl::Status(code, message), failure);
}

}  // namespace

std::optional<TransientFailure> ClassifyTransient(const absl::StatusOr<HttpResponse>& outcome,
                                                  absl::Time now, std::string_view what) {
  TransientFailure t;
  t.failure.retryable = true;
  if (!outcome.ok()) {
    if (!IsRetryableHttpError(outcome.status())) return std::nullopt;
    t.failure.category = ProbeCategory::kNetwork;
    if (GetHttpErrorKind(outcome.status()) == HttpErrorKind::kTimeout) {
      t.code = absl::StatusCode::kDeadlineExceeded;
      t.failure.reason = "TIMEOUT";
      t.message =
          absl::StrCat(ToAbsl(what), " did not answer in time: ", outcome.status().message());
    } else {
      t.code = absl::StatusCode::kUnavailable;
      t.failure.reason = "NETWORK_UNREACHABLE";
      t.message = absl::StrCat("could not reach ", ToAbsl(what), ": ", outcome.status().message());
    }
    return t;
  }

  const HttpResponse& r = *outcome;
  std::optional<absl::Duration> retry_after;
  if (std::optional<std::string> v = r.Header("retry-after"))
    retry_after = ParseRetryAfter(*v, now);
  std::optional<int64_t> remaining;
  if (std::optional<std::string> v = r.Header("x-ratelimit-remaining")) {
    remaining = ParseRateLimitRemaining(*v);
  }
  std::optional<absl::Time> reset;
  if (std::optional<std::string> v = r.Header("x-ratelimit-reset")) reset = ParseRateLimitReset(*v);
  const bool used_up = remaining == 0;

  if (r.status == 429 || (r.status == 403 && (used_up || retry_after.has_value()))) {
    t.code = absl::StatusCode::kResourceExhausted;
    t.failure.category = ProbeCategory::kRegistry;
    t.failure.reason = "RATE_LIMITED";
    if (retry_after.has_value()) {
      t.server_wait = retry_after;
    } else if (used_up && reset.has_value()) {
      t.server_wait = std::max(absl::ZeroDuration(), *reset - now);
    }
    t.message = absl::StrCat(ToAbsl(what), " answered ", r.status, ": rate limited");
    if (used_up && reset.has_value()) {
      absl::StrAppend(&t.message, " (the API rate limit is used up until ",
                      absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", *reset, absl::UTCTimeZone()), ")");
    }
    return t;
  }
  if (r.status >= 500 && r.status <= 599) {
    t.code = absl::StatusCode::kUnavailable;
    t.failure.category = ProbeCategory::kRegistry;
    t.failure.reason = "UPSTREAM_UNAVAILABLE";
    t.server_wait = retry_after;
    t.message = absl::StrCat(ToAbsl(what), " answered ", r.status, ": a server-side error");
    return t;
  }
  return std::nullopt;
}

absl::Status TransportFailure(const absl::Status& status, std::string_view what) {
  UpstreamFailure f;
  f.category = ProbeCategory::kRegistry;
  std::string message;
  absl::StatusCode code = status.code();
  switch (GetHttpErrorKind(status).value_or(HttpErrorKind::kProtocol)) {
    case HttpErrorKind::kDns:
    case HttpErrorKind::kConnect:
    case HttpErrorKind::kConnectionLost:
      f.category = ProbeCategory::kNetwork;
      f.reason = "NETWORK_UNREACHABLE";
      f.retryable = true;
      message = absl::StrCat("could not reach ", ToAbsl(what), ": ", status.message());
      break;
    case HttpErrorKind::kTimeout:
      f.category = ProbeCategory::kNetwork;
      f.reason = "TIMEOUT";
      f.retryable = true;
      code = absl::StatusCode::kDeadlineExceeded;
      message = absl::StrCat(ToAbsl(what), " did not answer in time: ", status.message());
      break;
    case HttpErrorKind::kTls:
      f.reason = "TLS_FAILURE";
      code = absl::StatusCode::kFailedPrecondition;
      message = absl::StrCat("TLS with ", ToAbsl(what), " failed: ", status.message(),
                             ". Check that its certificate is valid for the host name and issued "
                             "by a CA this service trusts (or configure a CA bundle)");
      break;
    case HttpErrorKind::kBlocked:
      f.category = ProbeCategory::kNetwork;
      f.reason = "BLOCKED_BY_POLICY";
      code = absl::StatusCode::kPermissionDenied;
      message = absl::StrCat(ToAbsl(what), ": ", status.message(),
                             ". This service does not connect to loopback, private, link-local "
                             "or metadata addresses unless its operator allows the network "
                             "(--upstream_allowed_networks)");
      break;
    case HttpErrorKind::kBadRequest:
      f.reason = "BAD_URL";
      code = absl::StatusCode::kInvalidArgument;
      message = absl::StrCat("cannot send a request to ", ToAbsl(what), ": ", status.message());
      break;
    default:
      f.reason = "BAD_RESPONSE";
      if (code == absl::StatusCode::kOk) code = absl::StatusCode::kUnknown;
      message = absl::StrCat(ToAbsl(what), " did not give a usable answer: ", status.message());
      break;
  }
  return Fail(code, std::move(message), f);
}

ApiRetrier::ApiRetrier(const Clock& clock, Sleeper& sleeper, RetryOptions options)
    : clock_(clock),
      sleeper_(sleeper),
      options_(options),
      random_(options_.seed.has_value() ? *options_.seed : std::random_device()()) {}

absl::Duration ApiRetrier::Backoff(int attempt) const {
  absl::Duration upper = std::max(options_.initial_backoff, absl::ZeroDuration());
  for (int i = 1; i < attempt && upper < options_.max_backoff; ++i) upper *= 2;
  upper = std::min(upper, options_.max_backoff);
  if (upper <= absl::ZeroDuration()) return absl::ZeroDuration();
  double u;
  {
    absl::MutexLock lock(&mu_);
    u = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
  }
  return absl::Nanoseconds(static_cast<int64_t>(u * absl::ToDoubleNanoseconds(upper)));
}

absl::StatusOr<HttpResponse> ApiRetrier::Send(
    absl::FunctionRef<absl::StatusOr<HttpResponse>()> send, absl::Time deadline,
    std::string_view what) const {
  const int max_attempts = std::max(1, options_.max_attempts);
  for (int attempt = 1;; ++attempt) {
    if (clock_.Now() >= deadline) {
      return Fail(absl::StatusCode::kDeadlineExceeded,
                  absl::StrCat("the deadline passed before ", ToAbsl(what), " answered"),
                  {ProbeCategory::kNetwork, "TIMEOUT", true, absl::ZeroDuration()});
    }
    absl::StatusOr<HttpResponse> outcome = send();
    const absl::Time now = clock_.Now();
    std::optional<TransientFailure> t = ClassifyTransient(outcome, now, what);
    if (!t.has_value()) {
      if (!outcome.ok()) return TransportFailure(outcome.status(), what);
      return outcome;
    }
    const absl::Duration wait = t->server_wait.has_value() ? *t->server_wait : Backoff(attempt);
    std::string why;
    if (attempt >= max_attempts) {
      why = absl::StrCat(" (gave up after ", attempt, attempt == 1 ? " attempt)" : " attempts)");
    } else if (t->server_wait.has_value() && wait > options_.max_server_wait) {
      why = "";
    } else if (now + wait > deadline) {
      why = absl::StrCat(" (waiting ", Seconds(wait), " more would pass the deadline)");
    } else {
      sleeper_.SleepFor(wait);
      continue;
    }
    t->failure.retry_after = wait;
    std::string advice = "; try again later";
    if (t->server_wait.has_value() || t->failure.reason == "RATE_LIMITED") {
      advice = wait > absl::ZeroDuration() ? absl::StrCat("; try again in ", Seconds(wait))
                                           : "; try again";
    }
    absl::StrAppend(&t->message, why, advice);
    return Fail(t->code, std::move(t->message), t->failure);
  }
}

}  // namespace registryauth::upstream
