// Child processes for tests that drive real external tools (docker-registry, skopeo): a
// run-to-completion call that captures stdout and stderr under a deadline, and a long-running
// child whose output goes to a file. Both take the child's whole environment explicitly, so a
// test decides exactly what the tool sees, and neither goes through a shell.
//
//   ASSIGN_OR_RETURN(SubprocessResult r,
//                    RunSubprocess({"/usr/bin/skopeo", "--version"}, {"PATH=/usr/bin:/bin"},
//                                  absl::Seconds(10)));
//   ASSIGN_OR_RETURN(auto child, ChildProcess::Spawn(argv, env, log_path));
//   child->Stop(absl::Seconds(5));  // SIGTERM, then SIGKILL; always reaped
//
// Children stay in the test's process group (Bazel's timeout kills them with the test) and get
// SIGKILL if the test process dies first (PR_SET_PDEATHSIG). stdin is /dev/null.
// Thread-compatible; RunSubprocess itself is thread-safe.
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_SUBPROCESS_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace registryauth::testing {

struct SubprocessResult {
  // The exit status when the child exited normally, else -1 (killed by a signal or timed out).
  int exit_code = -1;
  int term_signal = 0;     // the signal that ended the child, 0 if it exited
  bool timed_out = false;  // the deadline passed and the child was killed with SIGKILL
  std::string stdout_text;
  std::string stderr_text;
};

// Runs argv[0] (an absolute path) with exactly `env` ("NAME=value" entries) and waits at most
// `timeout`. INTERNAL if the process cannot be started; a tool that fails is an OK result with
// a non-zero exit_code. Output beyond 16 MiB per stream is dropped.
absl::StatusOr<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv,
                                               const std::vector<std::string>& env,
                                               absl::Duration timeout);

// A long-running child with stdout and stderr appended to one file.
class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(const std::vector<std::string>& argv,
                                                             const std::vector<std::string>& env,
                                                             const std::string& output_path);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // Stop(absl::Seconds(5))

  pid_t pid() const { return pid_; }

  // If the child has exited (reaping it), a description such as "exit code 1" or "signal 9";
  // nullopt while it runs.
  std::optional<std::string> ExitDescription();

  // SIGTERM, up to `grace` for it to exit, then SIGKILL; reaps the child. Idempotent.
  void Stop(absl::Duration grace);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}

  pid_t pid_;
  bool reaped_ = false;
  std::string exit_description_;
};

// The first executable `name` in $PATH, then in each of `fallback_dirs`; nullopt if none.
std::optional<std::string> FindExecutable(const std::string& name,
                                          const std::vector<std::string>& fallback_dirs);

// A new empty directory under $TEST_TMPDIR (or /tmp outside Bazel) whose name starts with
// `prefix`. Mode 0700.
absl::StatusOr<std::string> MakeTempDir(const std::string& prefix);

// Whole-file helpers. WriteFile truncates and sets the file mode.
absl::Status WriteFile(const std::string& path, const std::string& contents, int mode = 0644);
absl::StatusOr<std::string> ReadFile(const std::string& path);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and released). Another
// process may take it before the caller binds it: callers that hand it to a child retry.
absl::StatusOr<int> PickFreeLoopbackPort();

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_SUBPROCESS_H_
