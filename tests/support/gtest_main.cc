// The main() of every test: GoogleTest plus a failure signal handler, so that a crash (an
// abort in a library's assertion, a segfault) prints a symbolized stack trace into the test
// log instead of a bare "assertion failed" line.

#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "gtest/gtest.h"

int main(int argc, char** argv) {
  absl::InitializeSymbolizer(argv[0]);
  absl::InstallFailureSignalHandler(absl::FailureSignalHandlerOptions());
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

// Leaks that LeakSanitizer (`bazel test --config=asan`, .bazelrc) must not report: only leaks
// inside uninstrumented Debian system libraries, each with its reason; a leak in our code is a
// bug to fix. Compiled into every test, so they apply however the test is started; without a
// sanitizer nothing calls this.
// NOLINTNEXTLINE(bugprone-reserved-identifier): the name LeakSanitizer looks up
extern "C" const char* __lsan_default_suppressions() {
  // gRPC's c-ares DNS resolver (Debian libgrpc 1.51 on libc-ares 1.18) leaves small strings
  // allocated inside libcares at exit in tests whose channels resolve a name ("localhost").
  // Its stacks stop in libcares (built without frame pointers), so only the module can be named.
  return "leak:libcares.so\n";
}
