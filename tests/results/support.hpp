// What the results tests share: a temporary directory for their SQLite files, removed with
// its contents at the end of the test, the run clock's units of the synthetic events, and
// the event lines themselves (docs/events.md), as the components write them.
#pragma once

#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <system_error>

namespace rsplab::results::testing {

inline constexpr std::int64_t kStart = 1'700'000'000'000'000;  // the run clock's zero, UTC µs
inline constexpr std::int64_t kSecond = 1'000'000;

// Seconds as µs, rounded.
inline std::int64_t us(double seconds) { return std::llround(seconds * kSecond); }

// An event line of `component` (pe, pu, registrar) with identity `id`, written `at_us`
// after the run clock's zero `start` (its time_us is absolute, as on the wire), with
// `fields` added.
inline nlohmann::json event_line(const std::string& component, const std::string& id,
                                 std::int64_t at_us, const std::string& event,
                                 const nlohmann::json& fields = nlohmann::json::object(),
                                 std::int64_t start = kStart) {
  nlohmann::json e = {
      {"time_us", start + at_us}, {"component", component}, {"id", id}, {"event", event}};
  for (const auto& [k, v] : fields.items()) e[k] = v;
  return e;
}

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
