#include "experiments/runner.hpp"

#include <utility>  // before Asio

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agents/child.hpp"
#include "agents/journal.hpp"
#include "agents/sites.hpp"
#include "results/store.hpp"

#include <sqlite3.h>

namespace rsplab::experiments {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::int64_t unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ms_text(Duration d) {
  return std::to_string(std::chrono::duration_cast<milliseconds>(d).count()) + "ms";
}

std::string clock_text(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, s / 60 % 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

// FNV-1a: a stable per-name offset of a run's seed (groups draw different workloads).
std::uint64_t name_hash(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

const char* ip_binary() { return ::access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip"; }

// One component process as its agent reports it.
struct Component {
  std::string name;  // "pr0", "CalcAppPool/pe0"
  std::string role;  // registrar | pe | pu
  std::string site;
  std::string pool, policy;
  std::vector<std::string> lines;  // what it printed that is not an event
  std::optional<json> summary;     // a PU's counters line
  bool exited = false;
  int code = -1;
  std::string status;
  long max_rss_kib = 0;  // from its agent, once exited
  double cpu_s = 0;
  std::map<std::size_t, std::string> members;  // member index → event id
  std::map<std::string, std::int64_t> rows;    // event id → components row
};

struct Member {
  std::string component;
  std::size_t index;
  std::string id;
  bool killed = false, stopped = false;
  bool replaced = false;  // restarted: a new member (new id) took its place
};

class Driver {
 public:
  Driver(const Plan& plan, const RunnerOptions& options, std::ostream& out, std::ostream& err)
      : plan_(plan), options_(options), out_(out), err_(err), signals_(io_, SIGINT, SIGTERM) {}
  ~Driver() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  int run() {
    ::signal(SIGPIPE, SIG_IGN);
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) interrupted_ = true;
    });
    const auto cleaned = agents::cleanup_dead();
    if (!cleaned.undone.empty())
      out_ << "cleanup: removed what dead runners left: " << join(cleaned.undone, ", ") << "\n";
    try {
      journal_.emplace(agents::Journal::open());
    } catch (const std::exception& e) {
      err_ << "rsplab run: journal: " << e.what() << "\n";
      return 1;
    }
    std::string why;
    std::set<std::string> completed, unfinished;
    netns_ = !options_.loopback && agents::available(&why);
    if (!netns_)
      out_ << "sites: loopback addresses (" << (options_.loopback ? "--loopback" : why)
           << "); link faults are skipped\n";
    log_dir_ = options_.log_dir.empty() ? options_.output + ".logs" : options_.log_dir;
    try {
      store_.emplace(results::Store::open(options_.output));
      const Owners owners = lock_database();
      if (owners == Owners::none) {
        if (const auto n = store_->interrupt_running("runner died"); n > 0)
          out_ << options_.output << ": " << n
               << " run(s) left running by a runner that died: marked interrupted\n";
      } else if (owners == Owners::others) {
        err_ << "rsplab run: warning: another rsplab run is writing " << options_.output
             << ": its runs in progress count as not done\n";
      }
      results::ExperimentInfo e;
      e.name = plan_.name;
      e.file = plan_.file;
      e.source = plan_.source;
      e.rsplab_version = options_.version;
      char host[256] = {};
      ::gethostname(host, sizeof host - 1);
      e.host = host;
      utsname u{};
      if (::uname(&u) == 0) e.kernel = std::string(u.sysname) + " " + u.release;
      const auto earlier = options_.fresh ? std::nullopt : store_->find_experiment(e);
      experiment_id_ = earlier ? *earlier : store_->add_experiment(e);
      if (!options_.fresh) {
        completed = store_->completed_keys();
        unfinished = store_->unfinished_keys();
      }
    } catch (const std::exception& e) {
      err_ << "rsplab run: " << options_.output << ": " << e.what() << "\n";
      return 1;
    }
    ::mkdir(log_dir_.c_str(), 0755);

    // What an earlier runner did into this file: completed keys are skipped.
    skip_.assign(plan_.runs.size(), false);
    std::size_t done = 0, rerun = 0;
    Duration left{};
    for (const Run& r : plan_.runs) {
      if (completed.count(r.key) > 0) {
        skip_[r.index] = true;
        ++done;
        continue;
      }
      if (unfinished.count(r.key) > 0) ++rerun;
      left += r.warmup + r.duration + kRunAllowance;
    }
    out_ << plan_.name << ": " << plan_.runs.size() << " run(s), about "
         << clock_text(std::chrono::duration<double>(left).count()) << "; results in "
         << options_.output << "\n";
    if (done > 0 || rerun > 0) {
      out_ << "resuming: " << done << " of " << plan_.runs.size() << " runs completed earlier in "
           << options_.output << ", " << plan_.runs.size() - done << " to run";
      if (rerun > 0) out_ << " (" << rerun << " interrupted/failed earlier: rerun)";
      out_ << "\n";
    }
    campaign_start_ = Clock::now();
    int code = 0;
    for (const Run& r : plan_.runs) {
      if (skip_[r.index]) {
        out_ << label(r) << ": skipped (completed earlier, key " << r.key.substr(0, 12)
             << "…)\n";
        continue;
      }
      const std::string outcome = run_one(r);
      if (outcome == "interrupted") {
        code = 130;
        break;
      }
      if (outcome != "completed") code = 1;
    }
    summarize();
    return code;
  }

 private:
  // ---- the event loop -------------------------------------------------------------------
  // Runs the io_context until `done()` or `timeout` or an interrupt; whether done() held.
  bool pump(const std::function<bool()>& done, Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (interrupted_ || Clock::now() >= deadline) return done();
      io_.run_one_for(milliseconds(20));
      if (io_.stopped()) io_.restart();
      progress(false);
    }
    return true;
  }

  // "run 2/5 policy=rr rep 0"
  std::string label(const Run& r) const {
    std::ostringstream s;
    s << "run " << (r.index + 1) << "/" << plan_.runs.size();
    for (const auto& [k, v] : r.parameters) s << " " << k << "=" << v;
    s << " rep " << r.repetition;
    return s.str();
  }

  // Whether other runners are writing to the database, by a shared flock(2) on its log
  // directory that every runner holds while it lives (the kernel drops a dead one's). Not on
  // the database file itself: closing any descriptor of it would drop SQLite's own locks.
  enum class Owners { none, others, unknown };
  Owners lock_database() {
    const std::string dir = options_.output + ".logs";
    ::mkdir(dir.c_str(), 0755);
    lock_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock_fd_ < 0) {
      err_ << "rsplab run: warning: " << dir << ": " << std::strerror(errno)
           << ": runs left running by dead runners stay so\n";
      return Owners::unknown;
    }
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0) {
      ::flock(lock_fd_, LOCK_SH);  // a conversion: others may now share it
      return Owners::none;
    }
    ::flock(lock_fd_, LOCK_SH | LOCK_NB);
    return Owners::others;
  }

  void progress(bool force) {
    if (!run_) return;
    const auto now = Clock::now();
    const auto every = options_.terminal ? milliseconds(500) : milliseconds(10000);
    if (!force && now - last_progress_ < every) return;
    last_progress_ = now;
    const double t = clock_started_ ? std::chrono::duration<double>(now - *clock_started_).count() : 0;
    const double total = std::chrono::duration<double>(run_->warmup + run_->duration).count();
    std::ostringstream line;
    line << label(*run_) << ": " << clock_text(t) << "/" << clock_text(total) << ", jobs "
         << jobs_done_ << ", failovers " << failovers_;
    double left = 0;
    for (std::size_t i = run_->index; i < plan_.runs.size(); ++i)
      if (!skip_[i])
        left += std::chrono::duration<double>(plan_.runs[i].warmup + plan_.runs[i].duration +
                                              kRunAllowance).count();
    left -= std::min(t, total);
    line << ", elapsed " << clock_text(std::chrono::duration<double>(now - campaign_start_).count())
         << ", remaining ~" << clock_text(left);
    if (options_.terminal)
      out_ << "\r\033[K" << line.str() << std::flush;
    else
      out_ << line.str() << "\n" << std::flush;
  }

  // ---- agents -----------------------------------------------------------------------------
  void start_agent(const std::string& site, const std::string& netns) {
    std::vector<std::string> argv;
    if (!netns.empty()) argv = {ip_binary(), "netns", "exec", netns};
    argv.push_back(agents::Child::self_exe());
    argv.push_back("agent");
    argv.push_back("--stdio");
    agents::Child::Options o;
    o.stderr_path = log_dir_ + "/run" + std::to_string(run_->index) + "-" + site + ".log";
    auto child = agents::Child::spawn(
        io_, argv,
        {[this, site](const std::string& line) { on_agent_line(site, line); },
         [this, site](int) { agents_[site].exited = true; }},
        o);
    const auto st = agents::process_start_time(child->pid());
    journal_->add("pid " + std::to_string(child->pid()) + " " + std::to_string(st));
    agents_[site] = Agent{child, false, false, "pid " + std::to_string(child->pid()) + " " + std::to_string(st)};
    child->write_line(json{{"op", "hello"}}.dump());
  }

  void send(const std::string& site, const json& request) {
    const auto it = agents_.find(site);
    if (it != agents_.end() && it->second.child) it->second.child->write_line(request.dump());
  }

  void on_agent_line(const std::string& site, const std::string& line) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      err_ << "\nrsplab run: agent " << site << ": not a protocol line: " << line << "\n";
      return;
    }
    const std::string op = j.value("op", "");
    if (op == "stopped") {
      agents_[site].stopped = true;
      return;
    }
    if (op == "error") {
      err_ << "\nrsplab run: agent " << site << ": " << j.value("message", "") << "\n";
      return;
    }
    if (op == "link") {
      if (!j.value("ok", false))
        err_ << "\nrsplab run: agent " << site << ": link: " << j.value("error", "") << "\n";
      return;
    }
    if (op == "hello" || op == "started") return;
    const std::string name = j.value("name", "");
    const auto c = components_.find(name);
    if (c == components_.end()) return;
    Component& comp = c->second;
    if (op == "line") {
      comp.lines.push_back(j.value("line", ""));
    } else if (op == "exited") {
      comp.exited = true;
      comp.code = j.value("code", -1);
      comp.status = j.value("status", "");
      comp.max_rss_kib = j.value("max_rss_kib", 0L);
      comp.cpu_s = j.value("cpu_s", 0.0);
    } else if (op == "event") {
      on_event(comp, j["event"]);
    }
  }

  void on_event(Component& comp, const json& e) {
    if (!e.contains("event")) {  // a PU's closing counters
      comp.summary = e;
      return;
    }
    const std::string kind = e.value("event", "");
    const std::string id = e.value("id", "");
    if (kind == "ready" && e.contains("member") && e["member"].is_number_unsigned()) {
      const auto m = e["member"].get<std::size_t>();
      comp.members[m] = id;
      members_by_id_[id] = {comp.name, m, id};
    }
    if (comp.role == "registrar") {
      if (kind == "registration") registered_.insert(e.value("pe", ""));
      if (kind == "ready") transport_used_ = e.value("transport", transport_used_);
    } else if (comp.role == "pe") {
      if (kind == "job_accepted") ++active_[id];
      if ((kind == "job_completed" || kind == "job_aborted") && active_[id] > 0) --active_[id];
    } else if (comp.role == "pu") {
      if (kind == "job" && e.value("status", "") == "completed") ++jobs_done_;
      if (kind == "failover") ++failovers_;
    }
    if (run_id_)
      store_event(comp, e);
    else
      early_.push_back({comp.name, e});
  }

  void store_event(Component& comp, const json& e) {
    ++events_stored_;
    const std::string id = e.value("id", "");
    auto row = comp.rows.find(id);
    if (row == comp.rows.end()) {
      results::ComponentInfo info;
      info.role = comp.role;
      info.site = comp.site;
      info.identity = id;
      info.pool = comp.pool;
      info.policy = comp.policy;
      info.name = comp.name;
      if (e.value("event", "") == "ready" && e.contains("member")) {
        info.name += "#" + e["member"].dump();
        info.capacity = e.value("capacity", 0.0);
      }
      if (const auto s = sites_.find(comp.site); s != sites_.end()) info.addresses = s->second;
      row = comp.rows.emplace(id, store_->add_component(*run_id_, info)).first;
    }
    store_->add_event(*run_id_, row->second, e);
  }

  Component& start_component(const std::string& site, const std::string& name,
                             const std::string& role, std::vector<std::string> args) {
    Component& c = components_[name];
    c.name = name;
    c.role = role;
    c.site = site;
    args.push_back("--log-level");
    args.push_back("warning");
    send(site, {{"op", "start"}, {"name", name}, {"role", role}, {"args", args}});
    return c;
  }

  // ---- one run ----------------------------------------------------------------------------
  std::string run_one(const Run& r) {
    reset(r);
    std::string outcome = "completed", reason;
    try {
      deploy_and_run(r);
      if (interrupted_) outcome = "interrupted";
    } catch (const std::exception& e) {
      outcome = "failed";
      reason = e.what();
      if (options_.terminal) out_ << "\n";
      err_ << "rsplab run: run " << (r.index + 1) << " failed: " << reason << "\n";
    }
    teardown();
    if (run_id_) {
      store_->end_run(*run_id_, outcome, unix_us(), reason);
    } else {
      // Never reached readiness: keep a row saying so.
      begin_run(r, unix_us());
      store_->end_run(*run_id_, outcome, unix_us(), reason);
    }
    if (options_.terminal) out_ << "\n";
    std::ostringstream line;
    line << "run " << (r.index + 1) << "/" << plan_.runs.size() << " " << outcome << ": jobs "
         << jobs_done_ << ", failovers " << failovers_;
    const auto check = check_counts();
    if (!check.empty()) line << "; " << check;
    out_ << line.str() << "\n" << resources() << std::flush;
    run_ = nullptr;
    return outcome;
  }

  void reset(const Run& r) {
    run_ = &r;
    run_id_.reset();
    clock_started_.reset();
    components_.clear();
    agents_.clear();
    sites_.clear();
    members_by_id_.clear();
    registered_.clear();
    active_.clear();
    early_.clear();
    jobs_done_ = failovers_ = 0;
    events_stored_ = events_at_clock_start_ = 0;
    transport_used_ = r.transport;
    topology_.reset();
  }

  void begin_run(const Run& r, std::int64_t start_us) {
    results::RunInfo info;
    info.experiment_id = experiment_id_;
    info.index = r.index;
    info.key = r.key;
    info.parameters = r.parameters;
    info.seed = r.seed;
    info.repetition = r.repetition;
    info.transport = transport_used_;
    info.resolved = r.resolved;
    info.start_unix_us = start_us;
    info.warmup_us = std::chrono::duration_cast<std::chrono::microseconds>(r.warmup).count();
    info.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(r.duration).count();
    run_id_ = store_->begin_run(info);
    for (auto& [name, e] : early_) store_event(components_[name], e);
    early_.clear();
  }

  void deploy_and_run(const Run& r) {
    deploy_started_ = Clock::now();
    // Sites.
    std::map<std::string, std::string> netns;
    if (netns_) {
      std::vector<agents::SiteSpec> specs;
      for (const auto& s : r.sites) specs.push_back({s.name, s.isps});
      char tag[16];
      std::snprintf(tag, sizeof tag, "%04x%02zu", static_cast<unsigned>(::getpid()) & 0xffffu,
                    r.index % 100);
      topology_ = agents::Topology::create(specs, tag, *journal_);
      for (const auto& s : topology_->sites()) {
        netns[s.name] = s.netns;
        sites_[s.name] = s.ipv4_addresses();
      }
    } else {
      // Without namespaces every site is 127.0.0.1: a TCP connection leaves from that
      // address whatever the site, and a registrar accepts a PE only at an address it can
      // verify on the connection.
      for (const auto& site : r.sites) sites_[site.name] = {"127.0.0.1"};
    }
    for (const auto& s : r.sites) start_agent(s.name, netns_ ? netns[s.name] : "");

    // Registrars: wait for their ASAP endpoints.
    const std::string transport = r.transport;
    for (const auto& pr : r.registrars) {
      const std::string addrs = join(sites_[pr.site], ",");
      std::vector<std::string> args = {"--transport", transport, "--asap", addrs + ":0",
                                       "--enrp", addrs + ":0"};
      args.insert(args.end(), pr.args.begin(), pr.args.end());
      start_component(pr.site, pr.name, "registrar", args);
    }
    std::vector<std::string> registrar_list;
    for (const auto& pr : r.registrars) {
      Component& c = components_[pr.name];
      if (!pump([&] { return c.exited || std::any_of(c.lines.begin(), c.lines.end(), [](const std::string& l) { return l.rfind("asap ", 0) == 0; }); },
                std::chrono::seconds(30)))
        throw std::runtime_error(interrupted_ ? "interrupted" : "registrar " + pr.name + " did not start");
      if (c.exited) throw std::runtime_error("registrar " + pr.name + " exited: " + c.status);
      for (const auto& l : c.lines) {
        if (l.rfind("asap ", 0) != 0) continue;
        const std::string ep = l.substr(5);
        const auto colon = ep.rfind(':');
        for (const auto& a : split(ep.substr(0, colon), ','))
          registrar_list.push_back(a + ep.substr(colon));
      }
    }
    const std::string registrars = join(registrar_list, ",");

    // PEs: every one registered starts the run's clock.
    std::size_t pe_total = 0;
    for (const auto& g : r.pes) {
      std::vector<std::string> args = {
          "--registrar", registrars, "--pool", g.pool, "--policy", g.policy,
          "--count", std::to_string(g.count), "--local", join(sites_[g.site], ","),
          "--transport", transport, "--seed",
          std::to_string((r.seed ^ name_hash(g.name)) | 1), "--control", "stdin"};
      args.insert(args.end(), g.args.begin(), g.args.end());
      Component& c = start_component(g.site, g.name, "pe", args);
      c.pool = g.pool;
      c.policy = g.policy;
      pe_total += g.count;
    }
    std::set<std::string> pe_ids;
    const bool all_registered = pump(
        [&] {
          pe_ids.clear();
          for (const auto& g : r.pes) {
            const Component& c = components_[g.name];
            if (c.exited) return true;
            for (const auto& l : c.lines)
              if (l.rfind("pe ", 0) == 0) pe_ids.insert(l.substr(3, l.find(' ', 3) - 3));
          }
          if (pe_ids.size() < pe_total) return false;
          return std::all_of(pe_ids.begin(), pe_ids.end(),
                             [&](const std::string& id) { return registered_.count(id) > 0; });
        },
        std::chrono::seconds(60));
    for (const auto& g : r.pes)
      if (components_[g.name].exited)
        throw std::runtime_error("PE group " + g.name + " exited: " + components_[g.name].status);
    if (!all_registered)
      throw std::runtime_error(interrupted_ ? "interrupted"
                                            : "not every PE registered within 60 s (" +
                                                  std::to_string(registered_.size()) + " of " +
                                                  std::to_string(pe_total) + ")");

    // The run's clock starts now.
    clock_started_ = Clock::now();
    events_at_clock_start_ = events_stored_;
    begin_run(r, unix_us());
    const auto runtime = r.warmup + r.duration;
    for (const auto& g : r.pus) {
      std::vector<std::string> args = {
          "--registrar", registrars, "--pool", g.pool, "--count", std::to_string(g.count),
          "--local", join(sites_[g.site], ","), "--transport", transport, "--seed",
          std::to_string((r.seed ^ name_hash(g.name)) | 1), "--name", g.name, "--runtime",
          ms_text(runtime), "--control", "stdin"};
      args.insert(args.end(), g.args.begin(), g.args.end());
      Component& c = start_component(g.site, g.name, "pu", args);
      c.pool = g.pool;
    }

    // Faults at their times, then the end of the PUs.
    struct Due {
      Duration at;
      Fault fault;
    };
    std::vector<Due> due;
    for (const auto& f : r.faults) {
      due.push_back({f.at, f});
      if (f.lasts) {
        Fault back = f;
        back.lasts.reset();
        back.kind = f.kind == Fault::Kind::link_down ? Fault::Kind::link_up
                    : f.kind == Fault::Kind::stop    ? Fault::Kind::resume
                                                     : f.kind;
        if (back.kind != f.kind) due.push_back({f.at + *f.lasts, back});
      }
    }
    std::stable_sort(due.begin(), due.end(), [](const Due& a, const Due& b) { return a.at < b.at; });
    for (const auto& d : due) {
      const auto when = *clock_started_ + d.at;
      pump([&] { return Clock::now() >= when; }, runtime + std::chrono::seconds(1));
      if (interrupted_) return;
      apply(d.fault);
    }
    const auto pus_done = [&] {
      for (const auto& g : r.pus)
        if (!components_[g.name].exited) return false;
      return true;
    };
    pump(pus_done, *clock_started_ + runtime + std::chrono::seconds(60) - Clock::now());
    if (interrupted_) return;
    if (!pus_done()) throw std::runtime_error("PUs did not end 60 s after their runtime");
  }

  static std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out(1);
    for (char c : s) {
      if (c == sep) out.emplace_back();
      else out.back().push_back(c);
    }
    return out;
  }

  // ---- faults -----------------------------------------------------------------------------
  void apply(const Fault& f) {
    const std::int64_t at = std::chrono::duration_cast<std::chrono::microseconds>(
                                Clock::now() - *clock_started_).count();
    const std::int64_t scheduled = std::chrono::duration_cast<std::chrono::microseconds>(f.at).count();
    json details = {{"scheduled_us", scheduled}};
    std::string kind;
    switch (f.kind) {
      case Fault::Kind::kill: kind = "kill"; break;
      case Fault::Kind::stop: kind = "stop"; break;
      case Fault::Kind::resume: kind = "resume"; break;
      case Fault::Kind::restart: kind = "restart"; break;
      case Fault::Kind::link_down: kind = "link_down"; break;
      case Fault::Kind::link_up: kind = "link_up"; break;
    }
    std::string target = f.target;
    if (f.kind == Fault::Kind::link_down || f.kind == Fault::Kind::link_up) {
      target = f.site + "/" + f.isp;
      if (!topology_) {
        details["skipped"] = "loopback sites have no ISP links";
      } else {
        const auto& site = topology_->site(f.site);
        for (const auto& l : site.links)
          if (l.isp == f.isp) {
            send(f.site, {{"op", "link"}, {"interface", l.interface},
                          {"up", f.kind == Fault::Kind::link_up}});
            details["interface"] = l.interface;
          }
      }
    } else if (const auto pr = components_.find(f.target);
               pr != components_.end() && pr->second.role == "registrar") {
      const int sig = f.kind == Fault::Kind::kill ? SIGKILL : f.kind == Fault::Kind::stop ? SIGSTOP : SIGCONT;
      send(pr->second.site, {{"op", "signal"}, {"name", pr->first}, {"signal", sig}});
    } else {
      // Members of groups: the target group, or every PE group of a pool (and site).
      std::vector<Member*> candidates;
      for (auto& [id, m] : members_by_id_) {
        const Component& c = components_[m.component];
        const bool match = c.name == f.target ||
                           (c.role == "pe" && c.pool == f.target && (f.site.empty() || c.site == f.site));
        if (!match || m.replaced) continue;
        if (f.kind == Fault::Kind::restart) {
          if (c.role == "pe") candidates.push_back(&m);
          continue;
        }
        if (m.killed) continue;
        if (f.kind == Fault::Kind::resume ? m.stopped : !m.stopped) candidates.push_back(&m);
      }
      // Restart: crashed members first (they come back); otherwise the busiest first (jobs
      // in progress), then by order.
      std::stable_sort(candidates.begin(), candidates.end(), [this](Member* a, Member* b) {
        if (a->killed != b->killed) return a->killed;
        return active_[a->id] > active_[b->id];
      });
      json hit = json::array();
      for (std::size_t i = 0; i < candidates.size() && i < f.count; ++i) {
        Member& m = *candidates[i];
        const std::string cmd = kind;
        send(components_[m.component].site,
             {{"op", "control"},
              {"name", m.component},
              {"line", json{{"cmd", cmd}, {"member", m.index}}.dump()}});
        if (f.kind == Fault::Kind::kill) m.killed = true;
        if (f.kind == Fault::Kind::stop) m.stopped = true;
        if (f.kind == Fault::Kind::resume) m.stopped = false;
        if (f.kind == Fault::Kind::restart) m.replaced = true;  // its successor reports anew
        hit.push_back({{"component", m.component}, {"member", m.index}, {"id", m.id},
                       {"jobs_in_progress", active_[m.id]}});
      }
      details["members"] = hit;
      if (hit.empty()) details["skipped"] = "no member to " + kind;
    }
    store_->add_fault(*run_id_, kind, target, at, details);
    if (options_.terminal) out_ << "\r\033[K";
    out_ << "  t=" << clock_text(at / 1e6) << " " << kind << " " << target;
    if (details.contains("members") && !details["members"].empty())
      out_ << " (" << details["members"].size() << " member(s): "
           << details["members"][0].value("id", "") << ", "
           << details["members"][0].value("jobs_in_progress", 0) << " job(s) in progress)";
    if (details.contains("skipped")) out_ << " (skipped: " << details["skipped"].get<std::string>() << ")";
    out_ << "\n" << std::flush;
  }

  // ---- teardown ---------------------------------------------------------------------------
  void teardown() {
    for (auto& [site, a] : agents_) send(site, {{"op", "stop"}});
    const bool was = interrupted_;
    interrupted_ = false;  // the teardown must run to its end
    pump([&] {
      for (auto& [site, a] : agents_)
        if (!a.exited) return false;
      return true;
    }, std::chrono::seconds(15));
    for (auto& [site, a] : agents_) {
      if (!a.exited && a.child) a.child->signal(SIGKILL);
    }
    pump([&] {
      for (auto& [site, a] : agents_)
        if (!a.exited) return false;
      return true;
    }, std::chrono::seconds(3));
    for (auto& [site, a] : agents_) journal_->remove(a.journal_entry);
    interrupted_ = was;
    if (topology_) {
      try {
        topology_->destroy();
      } catch (const std::exception& e) {
        err_ << "rsplab run: removing the sites: " << e.what() << "\n";
      }
      topology_.reset();
    }
    if (store_) store_->flush();
  }

  // The components' own counters against the rows stored: nothing may be lost.
  std::string check_counts() {
    if (!run_id_) return "";
    std::int64_t jobs = 0, failovers = 0, resolutions = 0;
    bool all = true;
    for (const auto& [name, c] : components_) {
      if (c.role != "pu") continue;
      if (!c.summary) {
        all = false;
        continue;
      }
      jobs += c.summary->value("jobs_completed", 0) + c.summary->value("jobs_unfinished", 0);
      failovers += c.summary->value("failovers", 0);
      resolutions += c.summary->value("resolutions", 0);
    }
    if (!all) return "some PU printed no counters";
    store_->flush();
    const auto sj = store_->count("jobs", *run_id_);
    const auto sf = store_->count("failovers", *run_id_);
    const auto sr = store_->count("handle_resolutions", *run_id_);
    std::ostringstream s;
    if (sj == jobs && sf == failovers && sr == resolutions)
      s << "stored " << sj << " jobs, " << sf << " failovers, " << sr
        << " handle resolutions: all the PUs counted";
    else
      s << "MISMATCH: PUs counted " << jobs << " jobs, " << failovers << " failovers, "
        << resolutions << " resolutions; stored " << sj << ", " << sf << ", " << sr;
    return s.str();
  }

  void summarize();

  // What the run cost: deployment time, events into SQLite, peak memory and CPU time of the
  // runner and of each component role (summed over its processes; peak = the largest).
  std::string resources() {
    if (!clock_started_) return "";
    std::ostringstream s;
    const double deploy = std::chrono::duration<double>(*clock_started_ - deploy_started_).count();
    const double measured = std::chrono::duration<double>(Clock::now() - *clock_started_).count();
    char buf[160];
    std::snprintf(buf, sizeof buf, "  deployed in %.1f s; %lld events stored (%.0f/s while running)\n",
                  deploy, static_cast<long long>(events_stored_),
                  measured > 0 ? (events_stored_ - events_at_clock_start_) / measured : 0.0);
    s << buf;
    rusage self{};
    ::getrusage(RUSAGE_SELF, &self);
    std::snprintf(buf, sizeof buf, "  peak RSS / CPU: runner %.0f MB / %.1f s",
                  self.ru_maxrss / 1024.0,
                  self.ru_utime.tv_sec + self.ru_utime.tv_usec / 1e6 + self.ru_stime.tv_sec +
                      self.ru_stime.tv_usec / 1e6);
    s << buf;
    for (const char* role : {"registrar", "pe", "pu"}) {
      long rss = 0;
      double cpu = 0;
      int n = 0;
      for (const auto& [name, c] : components_)
        if (c.role == role) {
          rss = std::max(rss, c.max_rss_kib);
          cpu += c.cpu_s;
          ++n;
        }
      if (n == 0) continue;
      std::snprintf(buf, sizeof buf, "; %s x%d %.0f MB / %.1f s", role, n, rss / 1024.0, cpu);
      s << buf;
    }
    s << "\n";
    return s.str();
  }

  struct Agent {
    std::shared_ptr<agents::Child> child;
    bool stopped = false, exited = false;
    std::string journal_entry;
  };

  const Plan& plan_;
  RunnerOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  asio::io_context io_;
  asio::signal_set signals_;
  bool interrupted_ = false;
  bool netns_ = false;
  std::optional<agents::Journal> journal_;
  std::optional<results::Store> store_;
  std::int64_t experiment_id_ = 0;
  int lock_fd_ = -1;
  std::vector<bool> skip_;  // by run index: completed earlier
  std::string log_dir_;
  Clock::time_point campaign_start_, last_progress_;

  // The current run.
  const Run* run_ = nullptr;
  std::optional<std::int64_t> run_id_;
  std::optional<Clock::time_point> clock_started_;
  std::unique_ptr<agents::Topology> topology_;
  std::map<std::string, Agent> agents_;
  std::map<std::string, Component> components_;
  std::map<std::string, std::vector<std::string>> sites_;  // site → addresses
  std::map<std::string, Member> members_by_id_;
  std::set<std::string> registered_;
  std::map<std::string, int> active_;  // PE id → jobs in progress
  std::vector<std::pair<std::string, json>> early_;  // events before the run's row exists
  std::int64_t jobs_done_ = 0, failovers_ = 0;
  std::int64_t events_stored_ = 0, events_at_clock_start_ = 0;
  Clock::time_point deploy_started_;
  std::string transport_used_;
};

void Driver::summarize() {
  if (!store_) return;
  store_->flush();
  out_ << "\nresults: " << options_.output << "\n";
  // Per policy over the plan's completed runs, each key once (its newest completed row, also
  // one of an earlier invocation; with --fresh only this one's): the measured window only
  // (policy_summary, results/README.md); handling speed pooled over the runs as
  // Σ size / Σ handling time.
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "SELECT coalesce(policy, '-'), count(*), sum(jobs_completed), "
      "CASE WHEN sum(handling_us) > 0 THEN sum(calculations) * 1e6 / sum(handling_us) END, "
      "sum(failovers) FROM policy_summary WHERE run_id IN ("
      "  SELECT max(id) FROM runs WHERE status = 'completed'"
      "    AND key IN (SELECT value FROM json_each(?1)) AND (?2 IS NULL OR experiment_id = ?2)"
      "  GROUP BY key) "
      "GROUP BY policy ORDER BY policy";
  if (sqlite3_prepare_v2(store_->handle(), sql, -1, &st, nullptr) != SQLITE_OK) {
    err_ << "rsplab run: summary: " << sqlite3_errmsg(store_->handle()) << "\n";
    return;
  }
  json keys = json::array();
  for (const Run& r : plan_.runs) keys.push_back(r.key);
  const std::string keys_text = keys.dump();
  sqlite3_bind_text(st, 1, keys_text.c_str(), -1, SQLITE_TRANSIENT);
  if (options_.fresh) sqlite3_bind_int64(st, 2, experiment_id_);
  char line[256];
  std::snprintf(line, sizeof line, "%-10s %5s %8s %26s %10s\n", "policy", "runs", "jobs",
                "handling speed (calc/s)", "failovers");
  out_ << line;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::snprintf(line, sizeof line, "%-10s %5lld %8lld %26.0f %10lld\n",
                  reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                  static_cast<long long>(sqlite3_column_int64(st, 1)),
                  static_cast<long long>(sqlite3_column_int64(st, 2)), sqlite3_column_double(st, 3),
                  static_cast<long long>(sqlite3_column_int64(st, 4)));
    out_ << line;
  }
  sqlite3_finalize(st);
  out_ << "(completed runs; jobs completed inside the measured window, after warm-up;\n"
          " handling speed = Σ size / Σ handling time over them)\n";
}

}  // namespace

int run_plan(const Plan& plan, const RunnerOptions& options, std::ostream& out, std::ostream& err) {
  Driver d(plan, options, out, err);
  return d.run();
}

}  // namespace rsplab::experiments
