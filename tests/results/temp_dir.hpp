// What the results tests share: a temporary directory for their SQLite files, removed with
// its contents at the end of the test, and the run clock's units of the synthetic events.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace rsplab::results::testing {

inline constexpr std::int64_t kStart = 1'700'000'000'000'000;  // the run clock's zero, UTC µs
inline constexpr std::int64_t kSecond = 1'000'000;

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "results_test.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace rsplab::results::testing
