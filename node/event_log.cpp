// The event log (event_log.hpp): each line's time, identity and fields, to a file or a sink.
#include "node/event_log.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace rsplab::node {

void EventLog::open(const std::string& path, nlohmann::json identity) {
  identity_ = std::move(identity);
  if (path.empty()) return;
  if (path == "-") {
    file_ = stdout;
    return;
  }
  file_ = std::fopen(path.c_str(), "a");
  if (file_ == nullptr)
    throw std::runtime_error("cannot open events file '" + path + "': " + std::strerror(errno));
  owned_ = true;
}

void EventLog::open(Sink sink, nlohmann::json identity) {
  identity_ = std::move(identity);
  sink_ = std::move(sink);
}

void EventLog::open(const std::string& path, Sink sink, nlohmann::json identity) {
  if (sink)
    open(std::move(sink), std::move(identity));
  else
    open(path, std::move(identity));
}

EventLog::~EventLog() {
  if (owned_) std::fclose(file_);
}

void EventLog::write(const nlohmann::json& event) {
  if (!enabled()) return;
  nlohmann::ordered_json line;
  line["time_us"] = now_us();
  for (const auto& [k, v] : identity_.items()) line[k] = v;
  for (const auto& [k, v] : event.items()) line[k] = v;
  if (sink_) return sink_(line);
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fputs(text.c_str(), file_);
  std::fputc('\n', file_);
  std::fflush(file_);
}

}  // namespace rsplab::node
