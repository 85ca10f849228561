// The services behind the PE and PU shells' interfaces (services.hpp): what is the same
// for every service is forwarded once (PeAppOf, PuAppOf, PuAppsOf); each service adds its
// `ready` fields, its progress on a kill and its summary line.
#include "node/services.hpp"

#include <type_traits>
#include <utility>
#include <vector>

namespace rsplab::node {
namespace {

namespace calcapp = rserpool::calcapp;
namespace echo = rserpool::echo;
namespace session = rserpool::session;
using json = nlohmann::json;

// Forwards the shell's inputs to service S (both services take the same ones).
template <class S>
class PeAppOf : public PeApp {
 public:
  template <class... A>
  explicit PeAppOf(A&&... a) : s_(std::forward<A>(a)...) {}
  void opened(SessionId s, TimePoint now, Actions& out) override { s_.opened(s, now, out); }
  void closed(SessionId s, TimePoint now, Actions& out) override { s_.closed(s, now, out); }
  void received(SessionId s, std::uint32_t ppid, std::span<const std::uint8_t> m, TimePoint now,
                Actions& out) override {
    s_.received(s, ppid, m, now, out);
  }
  void tick(TimePoint now, Actions& out) override { s_.tick(now, out); }
  std::optional<TimePoint> next_deadline() const override { return s_.next_deadline(); }
  void shutdown(TimePoint now, Actions& out) override { s_.shutdown(now, out); }
  std::uint32_t load() const override { return s_.load(); }

 protected:
  S s_;
};

class CalcAppPe final : public PeAppOf<calcapp::CalcAppService> {
 public:
  CalcAppPe(const calcapp::ServiceConfig& c, TimePoint start) : PeAppOf(c, start) {}

  void describe(common::MemberReady& ready) const override {
    ready.capacity = s_.server().config().capacity;
    ready.max_jobs = static_cast<std::int64_t>(s_.server().config().max_jobs);
  }
  // `jobs`: each job in service now, its progress and its PU's end of the session (what
  // the runner's store matches against the PU's failover to count the work lost exactly).
  void add_progress(common::StoppedEvent& e, TimePoint now, Actions& out,
                    const Peer& peer) override {
    e.has_jobs = true;
    e.jobs.clear();
    for (const auto& p : s_.progress(now, out)) {
      common::JobProgress job{static_cast<std::int64_t>(p.session),
                              static_cast<std::int64_t>(p.job), static_cast<std::int64_t>(p.size),
                              static_cast<std::int64_t>(p.completed), std::nullopt, std::nullopt};
      if (const json pu = peer(p.session); !pu.is_null()) {
        job.pu_addresses = pu["addresses"].get<std::vector<std::string>>();
        job.pu_port = pu["port"].get<std::int64_t>();
      }
      e.jobs.push_back(std::move(job));
    }
  }
};

class EchoPe final : public PeAppOf<echo::EchoService> {
 public:
  explicit EchoPe(const echo::ServiceConfig& c) : PeAppOf(c), cookie_every_(c.cookie_every) {}

  void describe(common::MemberReady& ready) const override {
    ready.service = "echo";
    ready.cookie_every = static_cast<std::int64_t>(cookie_every_);
  }
  void add_progress(common::StoppedEvent&, TimePoint, Actions&, const Peer&) override {}

 private:
  std::uint64_t cookie_every_;
};

template <class Core>
class PuAppOf final : public PuApp {
 public:
  template <class... A>
  explicit PuAppOf(A&&... a) : core(std::forward<A>(a)...) {}
  session::PuInputs& inputs() override { return core; }
  void start(TimePoint now, Actions& out) override { core.start(now, out); }
  void tick(TimePoint now, Actions& out) override { core.tick(now, out); }
  std::optional<TimePoint> next_deadline() const override { return core.next_deadline(); }
  void stop(TimePoint now, Actions& out) override { core.stop(now, out); }

  Core core;
};

// Makes the members' cores from one configuration and keeps sight of them for the summary.
template <class Core, class Config>
class PuAppsOf : public PuApps {
 public:
  explicit PuAppsOf(Config config) : config_(std::move(config)) {}

  std::unique_ptr<PuApp> make(std::size_t i, TimePoint now) override {
    Config c = config_;
    c.seed = config_.seed + i;
    std::unique_ptr<PuAppOf<Core>> app;
    if constexpr (std::is_constructible_v<Core, Config, TimePoint>)
      app = std::make_unique<PuAppOf<Core>>(std::move(c), now);
    else
      app = std::make_unique<PuAppOf<Core>>(std::move(c));
    cores_.push_back(&app->core);
    return app;
  }

 protected:
  // The session layer's counters of every member, summed.
  session::PuSessionCounters session_total() const {
    session::PuSessionCounters t;
    for (const Core* core : cores_) {
      const auto& c = core->counters();
      t.rejects += c.rejects;
      t.failovers += c.failovers;
      t.resolutions += c.resolutions;
      t.cache_hits += c.cache_hits;
      t.unreachable_reports += c.unreachable_reports;
      t.registrar_failovers += c.registrar_failovers;
      t.discarded += c.discarded;
    }
    return t;
  }
  // The summary line's last fields, the same for every service.
  static void write_session(nlohmann::ordered_json& out, const session::PuSessionCounters& t) {
    out["rejects"] = t.rejects;
    out["failovers"] = t.failovers;
    out["resolutions"] = t.resolutions;
    out["cache_hits"] = t.cache_hits;
    out["unreachable_reports"] = t.unreachable_reports;
  }

  Config config_;
  std::vector<const Core*> cores_;
};

class CalcAppPus final : public PuAppsOf<calcapp::PuCore, calcapp::PuConfig> {
 public:
  using PuAppsOf::PuAppsOf;

  nlohmann::ordered_json summary() const override {
    calcapp::PuCounters t;
    for (const auto* core : cores_) {
      const auto& c = core->counters();
      t.jobs_generated += c.jobs_generated;
      t.jobs_completed += c.jobs_completed;
      t.jobs_unfinished += c.jobs_unfinished;
      t.calculations_completed += c.calculations_completed;
      t.handling_seconds += c.handling_seconds;
    }
    nlohmann::ordered_json out = {{"members", cores_.size()},
                                  {"jobs_generated", t.jobs_generated},
                                  {"jobs_completed", t.jobs_completed},
                                  {"jobs_unfinished", t.jobs_unfinished},
                                  {"calculations_completed", t.calculations_completed},
                                  {"handling_speed", t.handling_speed()}};
    write_session(out, session_total());
    return out;
  }
  bool unanswered() const override {
    std::uint64_t generated = 0;
    for (const auto* core : cores_) generated += core->counters().jobs_generated;
    return generated > 0 && session_total().resolutions == 0;
  }
  void describe(common::MemberReady&) const override {}
};

class EchoPus final : public PuAppsOf<echo::PuCore, echo::PuConfig> {
 public:
  using PuAppsOf::PuAppsOf;

  nlohmann::ordered_json summary() const override {
    echo::PuCounters t;
    for (const auto* core : cores_) {
      const auto& c = core->counters();
      t.requests += c.requests;
      t.answers += c.answers;
      t.duplicates += c.duplicates;
    }
    nlohmann::ordered_json out = {{"members", cores_.size()},
                                  {"requests", t.requests},
                                  {"answers", t.answers},
                                  {"duplicates", t.duplicates},
                                  {"lost", t.lost()},
                                  {"replies", t.replies()}};
    write_session(out, session_total());
    return out;
  }
  // Every member begins its series at once: a run without a resolution never reached a PE.
  bool unanswered() const override {
    return !cores_.empty() && session_total().resolutions == 0;
  }
  void describe(common::MemberReady& ready) const override { ready.service = "echo"; }
};

}  // namespace

std::unique_ptr<PeApp> make_pe_app(const calcapp::ServiceConfig& config, TimePoint start) {
  return std::make_unique<CalcAppPe>(config, start);
}
std::unique_ptr<PeApp> make_pe_app(const echo::ServiceConfig& config) {
  return std::make_unique<EchoPe>(config);
}

std::unique_ptr<PuApps> make_pu_apps(calcapp::PuConfig config) {
  return std::make_unique<CalcAppPus>(std::move(config));
}
std::unique_ptr<PuApps> make_pu_apps(echo::PuConfig config) {
  return std::make_unique<EchoPus>(std::move(config));
}

}  // namespace rsplab::node
