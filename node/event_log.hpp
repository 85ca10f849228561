// Structured events of a component (registrar, pe, pu) as JSON lines: each event gets
// "time_us" (UTC, microseconds since the Unix epoch), the component and its identity,
// then its own fields. Written to a file or to standard output ("-"), flushed per line
// so an agent reading the pipe sees events as they happen, or handed line by line to a
// function (a Sink: the in-process tests of tests/node). Single-threaded.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "stack/common/wall_clock.hpp"

namespace rsplab::node {

class EventLog {
 public:
  // Takes each event as it would be written (time_us, identity, fields).
  using Sink = std::function<void(const nlohmann::ordered_json& line)>;

  EventLog() = default;
  // Opens `path` ("-": stdout, "": no events). Throws std::runtime_error on failure.
  void open(const std::string& path, nlohmann::json identity);
  // Every event to `sink` (none: no events).
  void open(Sink sink, nlohmann::json identity);
  // To `sink` when there is one, else to `path` (a node's events: a test's sink, or the
  // --events option). Throws as open(path) does.
  void open(const std::string& path, Sink sink, nlohmann::json identity);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  bool enabled() const { return file_ != nullptr || sink_ != nullptr; }
  void write(const nlohmann::json& event);

  // The event clock (stack/common/wall_clock.hpp: RSPLAB_CLOCK_OFFSET_US shifts it).
  static std::int64_t now_us() { return common::wall_clock_us(); }

 private:
  std::FILE* file_ = nullptr;
  bool owned_ = false;
  Sink sink_;
  nlohmann::json identity_;
};

}  // namespace rsplab::node
