#include "agents/agent.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "agents/child.hpp"

namespace rsplab::agents {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;

std::string describe_status(int st) {
  if (WIFEXITED(st)) return "exit " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return "signal " + std::to_string(WTERMSIG(st));
  return "status " + std::to_string(st);
}

class Agent {
 public:
  Agent(asio::io_context& io, std::string version)
      : io_(io), version_(std::move(version)), in_(io, ::dup(0)), out_(io, ::dup(1)), timer_(io) {}

  void start() { read(); }
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
                             handle(line);
                             if (!stopping_) read();
                           });
  }

  void send(const json& j) {
    pending_.push_back(j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
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
  void error(const std::string& message) { send({{"op", "error"}, {"message", message}}); }

  void handle(const std::string& line) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) return;
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("op") || !j["op"].is_string())
      return error("not a request (a JSON object with \"op\"): " + line);
    const std::string op = j["op"];
    try {
      if (op == "hello") {
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        send({{"op", "hello"}, {"version", version_}, {"pid", ::getpid()}, {"host", host}});
      } else if (op == "start") {
        start_component(j.at("name").get<std::string>(), j.at("role").get<std::string>(),
                        j.value("args", std::vector<std::string>{}));
      } else if (op == "signal") {
        const auto it = children_.find(j.at("name").get<std::string>());
        if (it == children_.end()) return error("signal: no component '" + j["name"].get<std::string>() + "'");
        it->second->signal(j.at("signal").get<int>());
      } else if (op == "control") {
        const auto it = children_.find(j.at("name").get<std::string>());
        if (it == children_.end()) return error("control: no component '" + j["name"].get<std::string>() + "'");
        it->second->write_line(j.at("line").get<std::string>());
      } else if (op == "link") {
        link(j.at("interface").get<std::string>(), j.at("up").get<bool>());
      } else if (op == "stop") {
        stop(true);
      } else {
        error("unknown op '" + op + "' (hello, start, signal, control, link, stop)");
      }
    } catch (const std::exception& e) {
      error(op + ": " + e.what());
    }
  }

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
               send({{"op", "event"}, {"name", name}, {"event", std::move(e)}});
               return;
             }
           }
           send({{"op", "line"}, {"name", name}, {"line", line}});
         },
         [this, name](int st) {
           const auto it = children_.find(name);
           json exited = {{"op", "exited"},
                          {"name", name},
                          {"status", describe_status(st)},
                          {"code", WIFEXITED(st) ? WEXITSTATUS(st) : -1}};
           if (it != children_.end()) {
             const auto& u = it->second->usage();
             exited["max_rss_kib"] = u.max_rss_kib;
             exited["cpu_s"] = u.user_s + u.system_s;
           }
           send(exited);
           children_.erase(name);
           if (stopping_ && children_.empty()) finish();
         }},
        {});
    children_[name] = child;
    send({{"op", "started"}, {"name", name}, {"pid", child->pid()}});
  }

  void link(const std::string& interface, bool up) {
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
                    json r = {{"op", "link"}, {"interface", interface}, {"up", up}, {"ok", ok}};
                    if (!ok) r["error"] = describe_status(st) + (out->empty() ? "" : ": " + *out);
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
    if (reply_) send({{"op", "stopped"}});
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
  bool stopping_ = false, reply_ = false, finished_ = false;
  int exit_code_ = 0;
};

}  // namespace

int run_agent(const std::string& version) {
  ::signal(SIGPIPE, SIG_IGN);
  // Die with the runner (also when started through `ip netns exec`, which execs us).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  asio::io_context io;
  Agent agent(io, version);
  agent.start();
  io.run();
  return agent.exit_code();
}

}  // namespace rsplab::agents
