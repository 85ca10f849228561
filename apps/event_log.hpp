// Structured events of a component (registrar, pe, pu) as JSON lines: each event gets
// "time_us" (UTC, microseconds since the Unix epoch), the component and its identity,
// then its own fields. Written to a file or to standard output ("-"), flushed per line
// so an agent reading the pipe sees events as they happen. Single-threaded.
#pragma once

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "stack/common/wall_clock.hpp"

namespace rsplab {

class EventLog {
 public:
  EventLog() = default;
  // Opens `path` ("-": stdout, "": no events). Throws std::runtime_error on failure.
  void open(const std::string& path, nlohmann::json identity);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  bool enabled() const { return file_ != nullptr; }
  void write(const nlohmann::json& event);

  // The event clock (stack/common/wall_clock.hpp: RSPLAB_CLOCK_OFFSET_US shifts it).
  static std::int64_t now_us() { return common::wall_clock_us(); }

 private:
  std::FILE* file_ = nullptr;
  bool owned_ = false;
  nlohmann::json identity_;
};

}  // namespace rsplab
