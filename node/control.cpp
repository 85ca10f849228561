// `--control stdin` (control.hpp): a command line parsed, standard input read line by line.
#include "node/control.hpp"

#include <unistd.h>

#include <istream>
#include <nlohmann/json.hpp>

namespace rsplab::node {

std::optional<ControlCommand> parse_control(std::string_view line, std::size_t members,
                                            std::string* error) {
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *error = "not a JSON object";
    return std::nullopt;
  }
  const auto cmd = j.find("cmd");
  if (cmd == j.end() || !cmd->is_string()) {
    *error = "no \"cmd\" (kill, stop, resume, shutdown, restart)";
    return std::nullopt;
  }
  ControlCommand c{};
  const std::string name = cmd->get<std::string>();
  if (name == "kill") c.kind = ControlCommand::Kind::kill;
  else if (name == "stop") c.kind = ControlCommand::Kind::stop;
  else if (name == "resume") c.kind = ControlCommand::Kind::resume;
  else if (name == "shutdown") c.kind = ControlCommand::Kind::shutdown;
  else if (name == "restart") c.kind = ControlCommand::Kind::restart;
  else {
    *error = "unknown cmd '" + name + "' (kill, stop, resume, shutdown, restart)";
    return std::nullopt;
  }
  const auto member = j.find("member");
  if (member == j.end() || !member->is_number_unsigned() ||
      member->get<std::uint64_t>() >= members) {
    *error = "\"member\" must be a number 0.." + std::to_string(members - 1);
    return std::nullopt;
  }
  c.member = static_cast<std::size_t>(member->get<std::uint64_t>());
  return c;
}

StdinControl::StdinControl(boost::asio::io_context& io, std::size_t members, Handler handler,
                           std::function<void(const std::string&)> report)
    : in_(io, ::dup(STDIN_FILENO)),
      members_(members),
      handler_(std::move(handler)),
      report_(std::move(report)) {
  read();
}

StdinControl::~StdinControl() {
  *alive_ = false;
  close();
}

void StdinControl::close() {
  boost::system::error_code ec;
  in_.close(ec);
}

void StdinControl::read() {
  boost::asio::async_read_until(
      in_, buffer_, '\n',
      [this, alive = alive_](const boost::system::error_code& ec, std::size_t) {
        if (!*alive) return;
        if (ec) {
          if (ec == boost::asio::error::operation_aborted) return;  // close()
          if (ec != boost::asio::error::eof) report_("control: " + ec.message());
          if (const auto end = std::move(on_end_)) end();
          return;
        }
        std::istream is(&buffer_);
        std::string line;
        std::getline(is, line);
        if (!line.empty() && line.find_first_not_of(" \t\r") != std::string::npos) {
          std::string error;
          if (const auto c = parse_control(line, members_, &error))
            handler_(*c);
          else
            report_("control: '" + line + "': " + error);
        }
        read();
      });
}

}  // namespace rsplab::node
