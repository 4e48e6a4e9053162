// Test-only: sends this process's stderr (fd 2) to a file while alive, so a test can read what
// the code under test logged. Stop() (also run by the destructor) restores stderr and returns
// everything written to the file.
//
//   StderrCapture capture(::testing::TempDir() + "/server.log");
//   ... run the server ...
//   const std::string logs = capture.Stop();
//
// Not thread-safe; one capture at a time per process.
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_STDERR_CAPTURE_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_STDERR_CAPTURE_H_

#include <string>

namespace registryauth::testing {

class StderrCapture {
 public:
  explicit StderrCapture(const std::string& path);
  ~StderrCapture() { Stop(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  std::string Stop();

 private:
  std::string path_;
  int saved_ = -1;
};

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_STDERR_CAPTURE_H_
