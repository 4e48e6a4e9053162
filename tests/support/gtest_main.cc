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
