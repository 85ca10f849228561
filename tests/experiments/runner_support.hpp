// In-process stand-ins for what the runner's parts talk to, for their unit tests: SimClock (a
// simulated clock whose waits jump to the deadline or to the next thing it has scheduled) and
// FakeAgents (sites' agents that answer like `rsplab agent --stdio` after a simulated delay
// and record every request with its simulated time), plus a Harness that puts a RunDriver
// together on them with a results database in a temporary directory. No process, no
// namespace, no socket: a run of minutes takes milliseconds and its timing is exact. And
// Fixture: the tests' experiment files, one skeleton with their own members and faults.
#pragma once

#include <utility>  // before Asio

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "experiments/agent_link.hpp"
#include "experiments/experiment.hpp"
#include "experiments/loop.hpp"
#include "experiments/run_clock.hpp"
#include "experiments/run_driver.hpp"
#include "results/store.hpp"

namespace rsplab::experiments::testing {

using namespace std::chrono_literals;
using json = nlohmann::json;

// A test's experiment file: one pool at the sites, one registrar at the first, the groups,
// faults and sweep given (one YAML flow mapping or line each). Empty texts leave their key
// out.
struct Fixture {
  std::string name = "test";
  std::string duration = "20s", warmup = "5s", seed = "7", transport = "tcp";
  std::vector<std::string> sites = {"a: { isps: [x] }"};
  std::string pool = "P", policy = "rr";
  std::vector<std::string> pes = {"{ site: a, count: 2, capacity: 1e6 }"};
  std::vector<std::string> pus = {"{ site: a, count: 2, job-size: exp:1e6, interval: exp:1s }"};
  std::vector<std::string> faults = {};  // "{ at: 5s, kill: { group: P/pe0 } }"
  std::vector<std::string> sweep = {};   // "policy: [rr, lu]"

  std::string yaml() const {
    std::string y = "name: " + name + "\n";
    const std::pair<const char*, const std::string*> top[] = {
        {"duration", &duration}, {"warmup", &warmup}, {"seed", &seed}, {"transport", &transport}};
    for (const auto& [key, value] : top)
      if (!value->empty()) y += std::string(key) + ": " + *value + "\n";
    y += "sites:\n";
    for (const auto& site : sites) y += "  " + site + "\n";
    y += "registrars:\n  - { site: a }\npools:\n  " + pool + ":\n    policy: " + policy +
         "\n    pes:\n";
    for (const auto& g : pes) y += "      - " + g + "\n";
    y += "    pus:\n";
    for (const auto& g : pus) y += "      - " + g + "\n";
    if (!faults.empty()) y += "faults:\n";
    for (const auto& f : faults) y += "  - " + f + "\n";
    if (!sweep.empty()) y += "sweep:\n";
    for (const auto& line : sweep) y += "  " + line + "\n";
    return y;
  }
};

class SimClock final : public RunClock {
 public:
  static constexpr std::int64_t kEpochUs = 1'800'000'000'000'000;  // the wall clock at start

  time_point now() const override { return now_; }
  std::int64_t unix_us() const override {
    return kEpochUs + std::chrono::duration_cast<std::chrono::microseconds>(now_ - start_).count();
  }
  // Since the clock was made.
  std::chrono::nanoseconds elapsed() const { return now_ - start_; }

  // `f` runs when simulated time reaches `t` (timers due at once run in the order set).
  void at(time_point t, std::function<void()> f) { timers_.emplace(t, std::move(f)); }
  void after(std::chrono::nanoseconds d, std::function<void()> f) { at(now_ + d, std::move(f)); }

  void wait(boost::asio::io_context& io, time_point deadline) override {
    const bool ran = io.poll() > 0;
    io.restart();
    if (ran) return;
    const time_point next =
        timers_.empty() ? deadline : std::min(deadline, timers_.begin()->first);
    if (next > now_) now_ = next;
    while (!timers_.empty() && timers_.begin()->first <= now_) {
      auto f = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      f();
    }
  }

 private:
  time_point start_ = time_point{} + std::chrono::hours(1000);
  time_point now_ = start_;
  std::multimap<time_point, std::function<void()>> timers_;
};

// One request the runner sent an agent, with when (simulated).
struct Request {
  std::chrono::nanoseconds t{};  // SimClock::elapsed() when it was sent
  std::string site, op, name, role, line;
  std::vector<std::string> args;
  int sig = 0;
  bool up = false;
};

// The value after `flag` in `args` ("" when there is none).
inline std::string arg(const std::vector<std::string>& args, const std::string& flag) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == flag) return args[i + 1];
  return "";
}

// Agents that answer in-process: hello and time at once (after `latency`); a registrar
// listens (its "asap"/"enrp" lines) after `latency` unless in `never_ready`; each PE member
// reports ready and the first registrar registers it, unless its group is in `never_ready`;
// a PU group prints its counters and exits after its --runtime (an echo group's members
// report ready and end their series first). stop ends the agent. Events carry time_us.
class FakeAgents final : public AgentStarter {
 public:
  explicit FakeAgents(SimClock& clock) : clock_(clock) {}

  std::chrono::nanoseconds latency = 1ms;
  std::set<std::string> never_ready;   // components that never become ready
  std::set<std::string> lines_only;    // components that print their ready lines, no event
  std::set<std::string> events_only;   // components that report ready but print nothing
  std::set<std::string> silent_sites;  // agents that never answer hello
  std::vector<Request> requests;

  std::unique_ptr<AgentLink> start(const Site& site, const std::string& /*netns*/,
                                   const std::string& /*log*/, AgentListener& l) override {
    listener_ = &l;
    return std::make_unique<Link>(*this, site.name);
  }

  // The agent of `site` ends now (`status`: a raw wait status), as a crashed one does.
  void lose(const std::string& site, int status, const std::string& last_words) {
    listener_->lost(site, status, last_words);
  }
  AgentListener& listener() { return *listener_; }
  // The requests of one op, in order.
  std::vector<Request> sent(const std::string& op) const {
    std::vector<Request> out;
    for (const auto& r : requests)
      if (r.op == op) out.push_back(r);
    return out;
  }

 private:
  class Link final : public AgentLink {
   public:
    Link(FakeAgents& a, std::string site) : a_(a), site_(std::move(site)) {}
    void hello() override {
      a_.record(request("hello"));
      if (a_.silent_sites.count(site_) > 0) return;
      a_.later([a = &a_, site = site_] {
        agents::protocol::HelloReply hello;
        hello.version = "test";
        a->listener_->hello(site, hello);
      });
    }
    void time(std::int64_t) override {
      a_.record(request("time"));
      a_.later([a = &a_, site = site_] { a->listener_->time(site, a->clock_.unix_us()); });
    }
    void start(const std::string& name, const std::string& role,
               const std::vector<std::string>& args) override {
      {
        Request r = request("start");
        r.name = name;
        r.role = role;
        r.args = args;
        a_.record(std::move(r));
      }
      a_.started(site_, name, role, args);
    }
    void control(const std::string& name, const std::string& line) override {
      {
        Request r = request("control");
        r.name = name;
        r.line = line;
        a_.record(std::move(r));
      }
    }
    void signal(const std::string& name, int sig) override {
      {
        Request r = request("signal");
        r.name = name;
        r.sig = sig;
        a_.record(std::move(r));
      }
      if (sig == SIGKILL)
        a_.later([a = &a_, site = site_, name] {
          ComponentExit e;
          e.code = 137;
          e.status = "signal 9";
          a->listener_->exited(site, name, e);
        });
    }
    void link(const std::string& interface, bool up) override {
      {
        Request r = request("link");
        r.name = interface;
        r.up = up;
        a_.record(std::move(r));
      }
    }
    void stop() override {
      a_.record(request("stop"));
      a_.later([a = &a_, site = site_] {
        a->listener_->stopped(site);
        a->listener_->lost(site, 0, "");  // it ends: exit 0
      });
    }
    void kill() override { a_.record(request("kill")); }

   private:
    Request request(std::string op) const {
      Request r;
      r.site = site_;
      r.op = std::move(op);
      return r;
    }
    FakeAgents& a_;
    std::string site_;
  };

  void record(Request r) {
    r.t = clock_.elapsed();
    requests.push_back(std::move(r));
  }
  void later(std::function<void()> f, std::chrono::nanoseconds extra = {}) {
    clock_.after(latency + extra, std::move(f));
  }

  void started(const std::string& site, const std::string& name, const std::string& role,
               const std::vector<std::string>& args) {
    if (never_ready.count(name) > 0) return;
    if (role == "registrar") registrar_started(site, name);
    const bool echo = arg(args, "--service") == "echo";
    if (role == "pe") pe_started(site, name, std::stoul(arg(args, "--count")), echo);
    if (role == "pu" && echo) echo_pu_started(site, name, std::stoul(arg(args, "--count")), arg(args, "--runtime"));
    else if (role == "pu") pu_started(site, name, arg(args, "--runtime"));
  }
  // An event as a component writes it: stamped with the (simulated) wall clock.
  void emit(const std::string& site, const std::string& name, json e) {
    e["time_us"] = clock_.unix_us();
    listener_->event(site, name, e);
  }
  void registrar_started(const std::string& site, const std::string& name) {
    if (registrar_.empty()) registrar_ = name, registrar_site_ = site;
    const int n = ++registrars_;
    later([this, site, name, n] {
      if (events_only.count(name) == 0) {
        listener_->line(site, name, "asap 127.0.0.1:" + std::to_string(30000 + n));
        listener_->line(site, name, "enrp 127.0.0.1:" + std::to_string(31000 + n));
      }
      if (lines_only.count(name) > 0) return;
      emit(site, name, {{"event", "ready"}, {"id", "pr-" + std::to_string(n)},
                                    {"asap", "127.0.0.1:" + std::to_string(30000 + n)},
                                    {"enrp", "127.0.0.1:" + std::to_string(31000 + n)},
                                    {"transport", "tcp"}});
    });
  }
  // An echo PE's ready has its service and no capacity (docs/events.md).
  void pe_started(const std::string& site, const std::string& name, std::size_t count, bool echo) {
    for (std::size_t i = 0; i < count; ++i) {
      const std::string id = name + "-" + std::to_string(i) + "-" + std::to_string(++pes_);
      later([this, site, name, id, i, echo] {
        if (events_only.count(name) == 0) listener_->line(site, name, "pe " + id + " registered");
        if (lines_only.count(name) > 0) return;
        json ready = {{"event", "ready"}, {"id", id}, {"member", i}};
        if (echo)
          ready.update({{"service", "echo"}, {"cookie_every", 1}});
        else
          ready["capacity"] = 1e6;
        emit(site, name, ready);
        emit(registrar_site_, registrar_,
             {{"event", "registration"}, {"id", "pr-1"}, {"pe", id},
              {"pool", name.substr(0, name.find('/'))}, {"policy", "rr"}});
      });
    }
  }
  void pu_started(const std::string& site, const std::string& name, const std::string& runtime) {
    const auto ms = std::chrono::milliseconds(std::stol(runtime));  // "30000ms"
    clock_.after(ms, [this, site, name] {
      listener_->event(site, name, {{"jobs_completed", 0}, {"jobs_unfinished", 0},
                                    {"failovers", 0}, {"resolutions", 0}});
      ComponentExit e;
      e.code = 0;
      e.status = "exit 0";
      listener_->exited(site, name, e);
    });
  }

  // Each echo member reports ready, and after --runtime its series' `done` (member i: 100 + i
  // round trips), then the group prints its counters and exits.
  void echo_pu_started(const std::string& site, const std::string& name, std::size_t count,
                       const std::string& runtime) {
    later([this, site, name, count] {
      for (std::size_t i = 0; i < count; ++i)
        emit(site, name, {{"event", "ready"}, {"id", name + "-" + std::to_string(i)},
                          {"member", i}, {"service", "echo"}});
    });
    clock_.after(std::chrono::milliseconds(std::stol(runtime)), [this, site, name, count] {
      std::int64_t answers = 0;
      for (std::size_t i = 0; i < count; ++i) {
        const auto n = static_cast<std::int64_t>(100 + i);
        answers += n;
        emit(site, name, {{"event", "done"}, {"id", name + "-" + std::to_string(i)},
                          {"reason", "stop"}, {"requests", n + 1}, {"answers", n},
                          {"duplicates", 0}, {"lost", 1}, {"replies", n}, {"failovers", 0}});
      }
      listener_->event(site, name, {{"members", count}, {"answers", answers}, {"failovers", 0},
                                    {"resolutions", 0}});
      ComponentExit e;
      e.code = 0;
      e.status = "exit 0";
      listener_->exited(site, name, e);
    });
  }

  SimClock& clock_;
  AgentListener* listener_ = nullptr;
  std::string registrar_, registrar_site_;
  int registrars_ = 0;
  std::size_t pes_ = 0;
};

// A RunDriver on a SimClock and FakeAgents, loopback sites, a results database in a fresh
// temporary directory.
struct Harness {
  explicit Harness(const std::string& yaml)
      : dir(std::filesystem::temp_directory_path() /
            ("rsplab-runner-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(++serial()))),
        plan(parse_plan(yaml, "test.yaml", "test")),
        loop(clock, false),
        agents(clock),
        store((std::filesystem::create_directories(dir), results::Store::open(dir / "r.db"))) {
    options.output = (dir / "r.db").string();
    options.version = "test";
    results::ExperimentInfo e;
    e.name = plan.name;
    e.file = plan.file;
    e.source = plan.source;
    experiment_id = store.add_experiment(e);
  }
  ~Harness() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  RunDriver& driver() {
    if (!driver_)
      driver_ = std::make_unique<RunDriver>(RunDriver::Setup{
          plan, options, loop, agents, store, out, err, experiment_id, false, dir.string(),
          nullptr, false});
    return *driver_;
  }
  Outcome run(std::size_t i = 0) { return driver().run_one(plan.runs.at(i)); }
  // When the run's clock started: the first PU's start.
  std::chrono::nanoseconds clock_start() const {
    for (const auto& r : agents.requests)
      if (r.op == "start" && r.role == "pu") return r.t;
    return std::chrono::nanoseconds::max();
  }

  static int& serial() {
    static int n = 0;
    return n;
  }

  std::filesystem::path dir;
  Plan plan;
  RunnerOptions options;
  SimClock clock;
  Loop loop;
  FakeAgents agents;
  results::Store store;
  std::int64_t experiment_id = 0;
  std::ostringstream out, err;

 private:
  std::unique_ptr<RunDriver> driver_;
};

}  // namespace rsplab::experiments::testing
