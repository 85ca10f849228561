// Headless Chromium over the DevTools pipe (tests/support/browser.hpp): starting the
// browser in a throw-away profile, the NUL-framed JSON exchange, and what a page load
// collects from the protocol's events.
#include "tests/support/browser.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "agents/command.hpp"
#include "agents/spawn.hpp"

extern char** environ;

namespace rsplab::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "browser.XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

// Our environment with HOME and the XDG directories moved into `dir`: Chromium writes
// caches and settings there, never into the user's home.
std::vector<std::string> browser_environment(const std::string& dir) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (entry.rfind("HOME=", 0) == 0 || entry.rfind("XDG_", 0) == 0) continue;
    env.push_back(entry);
  }
  for (const char* name : {"HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"})
    env.push_back(std::string(name) + "=" + dir);
  return env;
}

std::vector<std::string> browser_arguments(const std::string& binary, const std::string& dir) {
  return {binary,
          "--headless",
          "--no-sandbox",  // root in a container: the sandbox cannot start
          "--disable-gpu",
          "--disable-dev-shm-usage",  // containers have a small /dev/shm
          "--remote-debugging-pipe",
          "--user-data-dir=" + dir + "/profile",
          "--no-first-run",
          "--no-default-browser-check",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--host-resolver-rules=MAP * ~NOTFOUND",  // no host resolves: nothing leaves
          "--window-size=1280,1024",
          "about:blank"};
}

// Spawns `argv` with `end` as its fds 3 and 4, stdin /dev/null, stdout and stderr into `log`.
pid_t spawn_browser(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                    int end, const std::string& log) {
  agents::SpawnOptions o;
  o.in = agents::Redirect::null();
  o.out = agents::Redirect::file(log, false, 0600);
  o.err_to_out = true;
  o.keep_fds = {{end, 3}, {end, 4}};
  o.clear_env = true;
  o.env = env;
  const agents::Spawned s = agents::spawn_process(argv, o);
  if (s.exec_errno != 0) {
    agents::wait_for(s.pid);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(s.exec_errno));
  }
  return s.pid;
}

std::string text_of_args(const json& args) {
  std::string out;
  for (const auto& a : args) {
    if (!out.empty()) out += " ";
    out += a.contains("value")
               ? (a["value"].is_string() ? a["value"].get<std::string>() : a["value"].dump())
               : a.value("description", a.value("type", ""));
  }
  return out;
}

}  // namespace

std::string HeadlessBrowser::find() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    const std::string path = agents::find_tool(name);
    if (!path.empty()) return path;
  }
  return "";
}

HeadlessBrowser::HeadlessBrowser(const std::string& binary, std::chrono::milliseconds timeout)
    : dir_(make_temp_dir()) {
  int ends[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  // The child's end away from 3 and 4, which its dup2s overwrite.
  const int child_end = fcntl(ends[1], F_DUPFD_CLOEXEC, 10);
  ::close(ends[1]);
  pipe_ = ends[0];
  try {
    pid_ = spawn_browser(browser_arguments(binary, dir_), browser_environment(dir_), child_end,
                         dir_ + "/chromium.log");
  } catch (...) {
    ::close(child_end);
    ::close(pipe_);
    std::filesystem::remove_all(dir_);
    throw;
  }
  ::close(child_end);
  try {
    attach(Clock::now() + timeout);
  } catch (...) {
    shut_down();
    throw;
  }
}

void HeadlessBrowser::attach(Clock::time_point deadline) {
  std::string target;
  while (target.empty()) {
    const json targets = call("Target.getTargets", json::object(), true, deadline);
    for (const auto& t : targets["targetInfos"])
      if (t.value("type", "") == "page") target = t["targetId"];
    if (target.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  session_ = call("Target.attachToTarget", {{"targetId", target}, {"flatten", true}}, true,
                  deadline)["sessionId"];
  for (const char* domain : {"Runtime.enable", "Log.enable", "Network.enable", "Page.enable"})
    call(domain, json::object(), false, deadline);
}

HeadlessBrowser::~HeadlessBrowser() { shut_down(); }

void HeadlessBrowser::shut_down() {
  try {
    call("Browser.close", json::object(), true, Clock::now() + std::chrono::seconds(5));
  } catch (const std::exception&) {
    // It may close the pipe before answering; the wait below reaps it either way.
  }
  ::close(pipe_);
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string HeadlessBrowser::log() const {
  std::ifstream in(dir_ + "/chromium.log");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

json HeadlessBrowser::next(Clock::time_point deadline) {
  while (true) {
    if (const auto end = buffer_.find('\0'); end != std::string::npos) {
      json message = json::parse(buffer_.substr(0, end));
      buffer_.erase(0, end + 1);
      return message;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{pipe_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      throw std::runtime_error("the browser did not answer in time; its log:\n" + log());
    char chunk[65536];
    const ssize_t n = ::read(pipe_, chunk, sizeof chunk);
    if (n <= 0) throw std::runtime_error("the browser closed the pipe; its log:\n" + log());
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

json HeadlessBrowser::call(const std::string& method, const json& params, bool browser,
                           Clock::time_point deadline) {
  json message = {{"id", ++next_id_}, {"method", method}, {"params", params}};
  if (!browser) message["sessionId"] = session_;
  const std::string bytes = message.dump() + '\0';
  for (std::size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(pipe_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      throw std::runtime_error(method + ": cannot write to the browser: " + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
  while (true) {
    json reply = next(deadline);
    if (reply.value("id", std::int64_t{-1}) != next_id_) {
      events_.push_back(std::move(reply));
      continue;
    }
    if (reply.contains("error")) throw std::runtime_error(method + ": " + reply["error"].dump());
    return reply["result"];
  }
}

void HeadlessBrowser::record(const json& event, PageLoad& page, const std::string& page_url) const {
  if (event.value("sessionId", "") != session_) return;
  const std::string method = event.value("method", "");
  const json& p = event.contains("params") ? event["params"] : json::object();
  if (method == "Runtime.exceptionThrown") {
    const json& d = p["exceptionDetails"];
    const std::string description =
        d.contains("exception") ? d["exception"].value("description", "") : std::string();
    page.errors.push_back("exception: " + d.value("text", "") + " " + description);
  } else if (method == "Runtime.consoleAPICalled") {
    const std::string type = p.value("type", "");
    if (type == "error" || type == "assert")
      page.errors.push_back("console." + type + ": " +
                            text_of_args(p.value("args", json::array())));
  } else if (method == "Log.entryAdded") {
    const json& e = p["entry"];
    if (e.value("level", "") == "error")
      page.errors.push_back("log: " + e.value("text", "") + " (" + e.value("url", "") + ")");
  } else if (method == "Network.requestWillBeSent") {
    const std::string url = p["request"].value("url", "");
    if (url != page_url && url.rfind("data:", 0) != 0) page.requests.push_back(url);
  }
}

HeadlessBrowser::PageLoad HeadlessBrowser::load(const std::string& path,
                                                const std::string& expression,
                                                std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string url = "file://" + std::filesystem::absolute(path).string();
  events_.clear();
  call("Page.navigate", {{"url", url}}, false, deadline);
  auto loaded = [&] {
    for (const auto& e : events_)
      if (e.value("method", "") == "Page.loadEventFired" && e.value("sessionId", "") == session_)
        return true;
    return false;
  };
  while (!loaded()) events_.push_back(next(deadline));
  const json result =
      call("Runtime.evaluate",
           {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}}, false,
           deadline);
  if (result.contains("exceptionDetails"))
    throw std::runtime_error("the expression threw: " + result["exceptionDetails"].dump());
  PageLoad page;
  for (const auto& e : events_) record(e, page, url);
  page.value = result["result"].value("value", json());
  return page;
}

}  // namespace rsplab::test
