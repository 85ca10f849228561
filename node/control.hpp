// `--control stdin` of a `--count` process: commands as JSON lines on standard input,
// one per line, each naming a member 0..N-1:
//
//   {"cmd": "kill", "member": 3}     crash it: connections dropped without a goodbye
//   {"cmd": "stop", "member": 3}     freeze it (as SIGSTOP): nothing it receives or times is
//                                    handled until resumed
//   {"cmd": "resume", "member": 3}   thaw it (as SIGCONT)
//   {"cmd": "shutdown", "member": 3} a clean shutdown of that member only (PE: deregisters,
//                                    cookies; PU: records its unfinished jobs)
//   {"cmd": "restart", "member": 3}  PEs only: killed as by kill (if alive), then back as a
//                                    fresh PE: a new random identifier, no jobs, a new
//                                    listener, registering from scratch
//
// A bad line is reported on stderr and changes nothing; end of input leaves the members
// running (on_end tells the owner). Single-threaded, on the caller's io_context.
#pragma once

#include <utility>  // before Asio

#include <boost/asio.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rsplab::node {

struct ControlCommand {
  enum class Kind { kill, stop, resume, shutdown, restart };
  Kind kind;
  std::size_t member = 0;
};

// One line; nullopt with `error` set when it is not a command for a member < `members`.
std::optional<ControlCommand> parse_control(std::string_view line, std::size_t members,
                                            std::string* error);

// Reads commands from standard input until its end.
class StdinControl {
 public:
  using Handler = std::function<void(const ControlCommand&)>;
  // `report`: where bad lines are described (one line each).
  StdinControl(boost::asio::io_context& io, std::size_t members, Handler handler,
               std::function<void(const std::string&)> report);
  ~StdinControl();
  void close();
  // Called once when standard input ends (EOF or a read error; not after close()).
  void on_end(std::function<void()> f) { on_end_ = std::move(f); }

 private:
  void read();
  boost::asio::posix::stream_descriptor in_;
  boost::asio::streambuf buffer_;
  std::size_t members_;
  Handler handler_;
  std::function<void(const std::string&)> report_;
  std::function<void()> on_end_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace rsplab::node
