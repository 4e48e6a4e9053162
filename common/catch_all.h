// The exception barrier every request path ends in (issue 15: nothing thrown while a request is
// served may reach std::terminate): run a step, stop whatever it throws, and hand back a short,
// loggable text of it. Exception messages here are library texts (`basic_string_view::substr`,
// `bad_alloc`), never request data, and they are cut short all the same.
//
//   if (std::optional<std::string> what = CatchAll([&] { Serve(request); })) {
//     LOG_ERROR(absl::StrCat("serving threw: ", *what));
//     Reply500();
//   }
//
// Pure; thread-safe.
#ifndef REGISTRY_AUTH_COMMON_CATCH_ALL_H_
#define REGISTRY_AUTH_COMMON_CATCH_ALL_H_

#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <utility>

namespace registryauth {

// The longest exception text a log line carries.
inline constexpr size_t kMaxExceptionText = 200;

// `what` cut to kMaxExceptionText bytes ("..." appended when cut); null (an exception not
// derived from std::exception) reads "non-standard exception".
inline std::string ExceptionText(const char* what) {
  std::string text = what == nullptr ? "non-standard exception" : what;
  if (text.size() > kMaxExceptionText) {
    text.resize(kMaxExceptionText);
    text += "...";
  }
  return text;
}

// Runs `f()`: nullopt when it returned, else ExceptionText of what it threw.
template <typename F>
std::optional<std::string> CatchAll(F&& f) {
  try {
    std::forward<F>(f)();
    return std::nullopt;
  } catch (const std::exception& e) {
    return ExceptionText(e.what());
  } catch (...) {
    return ExceptionText(nullptr);
  }
}

}  // namespace registryauth

#endif  // REGISTRY_AUTH_COMMON_CATCH_ALL_H_
