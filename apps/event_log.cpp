#include "apps/event_log.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace rsplab {

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

EventLog::~EventLog() {
  if (owned_) std::fclose(file_);
}

void EventLog::write(const nlohmann::json& event) {
  if (file_ == nullptr) return;
  nlohmann::ordered_json line;
  line["time_us"] = now_us();
  for (const auto& [k, v] : identity_.items()) line[k] = v;
  for (const auto& [k, v] : event.items()) line[k] = v;
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fputs(text.c_str(), file_);
  std::fputc('\n', file_);
  std::fflush(file_);
}

}  // namespace rsplab
