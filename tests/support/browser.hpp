// Test support: a headless Chromium driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages ending in NUL, the browser reads fd 3 and writes
// fd 4). One browser is started per HeadlessBrowser and loads any number of local pages,
// which keeps launches (seconds each) to one per test. For every page it reports what went
// wrong while loading (uncaught exceptions, console.error/assert, the browser's own error
// log: a refused resource, a CSP violation), every request other than the page itself and
// data: URIs, and the value of a JavaScript expression evaluated after the load event.
//
//   test ─► HeadlessBrowser(binary) ─► chromium --headless --remote-debugging-pipe
//        ─► load(file, expression) ─► Page.navigate … Page.loadEventFired ─► Runtime.evaluate
//
// Hermetic: the profile, HOME and XDG directories live in a temporary directory removed at
// the end; every host name resolves to nothing (--host-resolver-rules), so a page that
// wants the network fails fast and shows up in `requests`. --no-sandbox because tests run
// as root in containers, where Chromium's sandbox cannot start. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace rsplab::test {

class HeadlessBrowser {
 public:
  struct PageLoad {
    std::vector<std::string> errors;  // one line each: "exception: …", "console.error: …", "log: …"
    std::vector<std::string> requests;  // URLs fetched besides the page and data: URIs
    nlohmann::json value;               // the expression's value (returnByValue)
  };

  // The Chromium executable (chromium, chromium-browser, google-chrome in PATH and the
  // usual directories), or "" when none is installed.
  static std::string find();

  // Starts the browser and attaches to its page. Throws std::runtime_error (with the
  // browser's stderr) when it does not answer within `timeout`.
  explicit HeadlessBrowser(const std::string& binary,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HeadlessBrowser();  // Browser.close, then SIGKILL if it lingers; removes the profile
  HeadlessBrowser(const HeadlessBrowser&) = delete;
  HeadlessBrowser& operator=(const HeadlessBrowser&) = delete;

  // Loads a local file, waits for its load event, evaluates `expression` in the page.
  // Throws std::runtime_error on a protocol error or timeout.
  PageLoad load(const std::string& path, const std::string& expression,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // The browser's stderr so far (for failure messages).
  std::string log() const;

 private:
  void attach(std::chrono::steady_clock::time_point deadline);
  void shut_down();
  // Sends a command (to the page's session unless `browser`) and returns its result;
  // events read meanwhile go to `events_`.
  nlohmann::json call(const std::string& method, const nlohmann::json& params, bool browser,
                      std::chrono::steady_clock::time_point deadline);
  // The next message from the browser, or throws at the deadline / end of the pipe.
  nlohmann::json next(std::chrono::steady_clock::time_point deadline);
  void record(const nlohmann::json& event, PageLoad& page, const std::string& page_url) const;

  std::string dir_;
  pid_t pid_ = -1;
  int pipe_ = -1;  // our end of the socket pair the browser has as fds 3 and 4
  std::string buffer_;
  std::int64_t next_id_ = 0;
  std::string session_;
  std::vector<nlohmann::json> events_;
};

}  // namespace rsplab::test
