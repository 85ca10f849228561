#include "agents/agent.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <vector>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "agents/child.hpp"
#include "agents/protocol.hpp"
#include "stack/common/log.hpp"
#include "stack/common/wall_clock.hpp"

namespace rsplab::agents {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;

// The clock of this host's events (RSPLAB_CLOCK_OFFSET_US shifts both together).
std::int64_t unix_us() { return common::wall_clock_us(); }

// An interface address as text ("" for a family other than IPv4 and IPv6).
std::string address_text(const sockaddr* a) {
  char text[INET6_ADDRSTRLEN] = {};
  if (a->sa_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a)->sin_addr, text, sizeof text);
  else if (a->sa_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr, text, sizeof text);
  return text;
}

// The addresses of this host that components could bind: every address of an interface that
// is up, IPv4 first, without loopback and link-local ones.
std::vector<std::string> host_addresses() {
  std::vector<std::string> v4, v6;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return {};
  for (const ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      if ((ntohl(a->sin_addr.s_addr) >> 16) == 0xa9fe) continue;  // 169.254/16
      v4.push_back(address_text(i->ifa_addr));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr) || IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) continue;
      v6.push_back(address_text(i->ifa_addr));
    }
  }
  ::freeifaddrs(list);
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

// Reached over ssh: the local address of that connection (SSH_CONNECTION's third field) and
// the interface holding it, if that is not loopback. A link-down of it would cut the runner
// off, so `link` refuses it.
std::optional<std::pair<std::string, std::string>> control_path() {
  const char* env = std::getenv("SSH_CONNECTION");
  if (!env) return std::nullopt;
  std::istringstream fields(env);
  std::string client, client_port, server;
  if (!(fields >> client >> client_port >> server)) return std::nullopt;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return std::nullopt;
  std::optional<std::pair<std::string, std::string>> found;
  for (const ifaddrs* i = list; i && !found; i = i->ifa_next) {
    if (i->ifa_addr && server == address_text(i->ifa_addr))
      found = std::make_pair(server, std::string(i->ifa_name));
  }
  ::freeifaddrs(list);
  return found;
}

std::string describe_status(int st) {
  if (WIFEXITED(st)) return "exit " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return "signal " + std::to_string(WTERMSIG(st));
  return "status " + std::to_string(st);
}

class Agent {
 public:
  Agent(asio::io_context& io, std::string version, std::chrono::milliseconds idle_timeout)
      : io_(io),
        version_(std::move(version)),
        in_(io, ::dup(0)),
        out_(io, ::dup(1)),
        timer_(io),
        idle_(io),
        idle_timeout_(idle_timeout) {}

  void start() {
    read();
    watch_idle();
  }
  int exit_code() const { return exit_code_; }

 private:
  void read() {
    asio::async_read_until(in_, buffer_, '\n',
                           [this](const boost::system::error_code& ec, std::size_t) {
                             if (ec) {
                               // The runner is gone (or closed our input): clean up, exit.
                               stop(false);
                               return;
                             }
                             std::istream is(&buffer_);
                             std::string line;
                             std::getline(is, line);
                             watch_idle();
                             handle(line);
                             if (!stopping_) read();
                           });
  }

  // (Re)arms the idle watchdog: no request for idle_timeout_ → stop as at end of input.
  void watch_idle() {
    if (idle_timeout_.count() <= 0 || stopping_) return;
    idle_.expires_after(idle_timeout_);
    idle_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      common::Logger{"rsplab agent"}(common::Level::info, "no request for %lld ms: stopping",
                                     static_cast<long long>(idle_timeout_.count()));
      stop(false);
    });
  }

  template <typename Message>
  void send(const Message& m) {
    pending_.push_back(protocol::encode(m) + "\n");
    if (!writing_) write_next();
  }
  void write_next() {
    if (pending_.empty()) {
      writing_ = false;
      if (finished_) io_.stop();
      return;
    }
    writing_ = true;
    auto data = std::make_shared<std::string>(std::move(pending_.front()));
    pending_.erase(pending_.begin());
    asio::async_write(out_, asio::buffer(*data),
                      [this, data](const boost::system::error_code& ec, std::size_t) {
                        if (ec) {
                          pending_.clear();
                          writing_ = false;
                          if (!stopping_) stop(false);
                          if (finished_) io_.stop();
                          return;
                        }
                        write_next();
                      });
  }
  void error(const std::string& message) { send(protocol::Error{message}); }

  void handle(const std::string& line) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) return;
    protocol::Request request;
    try {
      request = protocol::parse_request(line);
    } catch (const protocol::Malformed& e) {
      return error(e.what());
    }
    std::visit(
        [this](const auto& r) {
          try {
            serve(r);
          } catch (const std::exception& e) {
            error(std::string(r.kOp) + ": " + e.what());
          }
        },
        request);
  }

  void serve(const protocol::HelloRequest&) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    protocol::HelloReply hello{version_, ::getpid(), host, unix_us(), host_addresses(), {}, {}};
    if (const auto c = control_path()) {
      hello.control_address = c->first;
      hello.control_interface = c->second;
    }
    send(hello);
  }
  void serve(const protocol::TimeRequest& r) { send(protocol::TimeReply{r.seq, unix_us()}); }
  void serve(const protocol::StartRequest& r) { start_component(r.name, r.role, r.args); }
  void serve(const protocol::SignalRequest& r) {
    const auto it = children_.find(r.name);
    if (it == children_.end()) return error("signal: no component '" + r.name + "'");
    it->second->signal(r.signal);
  }
  void serve(const protocol::ControlRequest& r) {
    const auto it = children_.find(r.name);
    if (it == children_.end()) return error("control: no component '" + r.name + "'");
    it->second->write_line(r.line);
  }
  void serve(const protocol::LinkRequest& r) { link(r.interface, r.up); }
  void serve(const protocol::StopRequest&) { stop(true); }

  void start_component(const std::string& name, const std::string& role,
                       const std::vector<std::string>& args) {
    if (role != "registrar" && role != "pe" && role != "pu")
      return error("start: role must be registrar, pe or pu, not '" + role + "'");
    if (children_.count(name)) return error("start: '" + name + "' exists already");
    std::vector<std::string> argv = {Child::self_exe(), role};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--events");
    argv.push_back("-");
    auto child = Child::spawn(
        io_, argv,
        {[this, name](const std::string& line) {
           if (!line.empty() && line.front() == '{') {
             json e = json::parse(line, nullptr, false);
             if (!e.is_discarded()) {
               send(protocol::Event{name, std::move(e)});
               return;
             }
           }
           send(protocol::Line{name, line});
         },
         [this, name](int st) {
           const auto it = children_.find(name);
           protocol::Exited exited{name, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                                   describe_status(st)};
           if (it != children_.end()) {
             const auto& u = it->second->usage();
             exited.max_rss_kib = u.max_rss_kib;
             exited.cpu_s = u.user_s + u.system_s;
           }
           send(exited);
           children_.erase(name);
           if (stopping_ && children_.empty()) finish();
         }},
        {});
    children_[name] = child;
    send(protocol::Started{name, child->pid()});
  }

  void link(const std::string& interface, bool up) {
    if (const auto c = control_path(); c && !up && c->second == interface) {
      send(protocol::LinkReply{interface, up, false,
                               "refused: " + interface +
                                   " carries this agent's own connection (ssh to " + c->first +
                                   "); cutting it would cut the runner off"});
      return;
    }
    std::vector<std::string> argv = {"/sbin/ip", "link", "set", "dev", interface,
                                     up ? "up" : "down"};
    if (::access(argv[0].c_str(), X_OK) != 0) argv[0] = "/usr/sbin/ip";
    auto out = std::make_shared<std::string>();
    Child::Options o;
    o.stdin_pipe = false;
    Child::spawn(io_, argv,
                 {[out](const std::string& l) { *out += l; },
                  [this, interface, up, out](int st) {
                    const bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
                    protocol::LinkReply r{interface, up, ok, {}};
                    if (!ok) r.error = describe_status(st) + (out->empty() ? "" : ": " + *out);
                    send(r);
                  }},
                 o);
  }

  void stop(bool reply) {
    if (stopping_) return;
    stopping_ = true;
    reply_ = reply;
    boost::system::error_code ignored;
    in_.close(ignored);
    for (auto& [n, c] : children_) c->signal(SIGTERM);
    if (children_.empty()) return finish();
    timer_.expires_after(std::chrono::seconds(5));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      for (auto& [n, c] : children_) c->signal(SIGKILL);
    });
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    idle_.cancel();
    if (reply_) send(protocol::Stopped{});
    if (!writing_) io_.stop();
  }

  asio::io_context& io_;
  std::string version_;
  asio::posix::stream_descriptor in_, out_;
  asio::streambuf buffer_;
  std::vector<std::string> pending_;
  bool writing_ = false;
  std::map<std::string, std::shared_ptr<Child>> children_;
  asio::steady_timer timer_;
  asio::steady_timer idle_;
  std::chrono::milliseconds idle_timeout_;
  bool stopping_ = false, reply_ = false, finished_ = false;
  int exit_code_ = 0;
};

}  // namespace

int run_agent(const std::string& version, std::chrono::milliseconds idle_timeout) {
  ::signal(SIGPIPE, SIG_IGN);
  // Die with the runner (also when started through `ip netns exec`, which execs us).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  asio::io_context io;
  Agent agent(io, version, idle_timeout);
  agent.start();
  io.run();
  return agent.exit_code();
}

}  // namespace rsplab::agents
