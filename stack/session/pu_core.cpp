#include "stack/session/pu_core.hpp"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

#include "stack/calcapp/messages.hpp"
#include "stack/handlespace/handlespace.hpp"
#include "stack/handlespace/rng.hpp"
#include "stack/wire/constants.hpp"
#include "stack/wire/describe.hpp"
#include "stack/wire/names.hpp"

namespace rserpool::session {

namespace asap = wire::asap;
using json = nlohmann::json;
using std::chrono::microseconds;

std::string_view state_name(PuState s) {
  switch (s) {
    case PuState::idle: return "idle";
    case PuState::resolving: return "resolving";
    case PuState::connecting: return "connecting";
    case PuState::requested: return "requested";
    case PuState::running: return "running";
    case PuState::backoff: return "backoff";
    case PuState::done: return "done";
  }
  return "?";
}

namespace {

std::int64_t us(Clock::duration d) {
  return std::chrono::duration_cast<microseconds>(d).count();
}

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

struct PuCore::Impl {
  // The job in service.
  struct Job {
    calcapp::QueuedJob q;
    TimePoint started{};                   // became the head: service starts
    std::optional<TimePoint> accepted;     // first acceptance
    std::optional<std::uint32_t> pe;       // last PE tried
    std::uint64_t rejects = 0;
    std::uint64_t failovers = 0;
    std::optional<wire::Bytes> cookie;     // latest ASAP cookie bytes from a PE
    std::uint64_t cookie_progress = 0;     // its `completed`
    std::uint64_t reported = 0;            // progress as last reported by the PE
    std::optional<std::uint32_t> avoid;    // the PE that failed or rejected it last
    bool echoed = false;                   // the current attempt echoed the cookie
    std::uint64_t echoed_progress = 0;     // ... from this progress
  };
  // A failover in progress: from the PE's failure until another PE accepts the job.
  struct Failover {
    std::uint32_t from_pe = 0;
    std::string_view cause;
    std::int64_t detection_delay_us = 0;
    std::uint64_t reported = 0;  // the failed PE's last reported progress
    std::uint64_t attempts = 0;  // connections tried since (the failed PE again counts)
    std::vector<std::string> paths;  // (local, PE address) pairs that failed meanwhile
    TimePoint detected{};        // when the failure was first noticed
    SessionEnd local;            // the PU's end of the failed session (port 0: unknown)
  };
  struct PeSession {
    SessionId id = 0;
    std::uint32_t pe = 0;
    bool connected = false;
    TimePoint last_heard{};                // the connect attempt's start until heard
    std::optional<TimePoint> connect_due;
    std::optional<TimePoint> keepalive_sent;
    wire::Transport transport;             // the PE's user transport
    bool recheck = false;                  // reaching the PE again after its session broke;
                                           // until the PE is heard
    SessionEnd local;                      // the PU's end, once connected
  };

  Impl(PuConfig c, TimePoint start)
      : config(std::move(c)),
        workload(config.job_size, config.job_interval, config.seed, start, config.max_jobs),
        rng(config.seed ^ 0x5bd1e9955bd1e995ULL) {
    assert(config.registrar_count >= 1);
    assert(config.keepalive_interval.count() > 0 && config.keepalive_timeout.count() > 0);
    assert(config.registrar_timeout.count() > 0 && config.pe_connect_timeout.count() > 0);
    assert(config.empty_pool_retry.count() >= 0 && config.registrar_retry_delay.count() >= 0);
    assert(config.stale_cache.count() >= 0);
  }

  PuConfig config;
  calcapp::Workload workload;
  handlespace::Rng rng;          // retry delays, cache selection
  handlespace::Handlespace cache;
  PuState state = PuState::idle;
  bool started = false;
  PuCounters counters;

  // Registrar side.
  std::optional<RegistrarIndex> registrar;  // connecting or connected
  bool registrar_up = false;
  RegistrarIndex cursor = 0;                // next in the round robin
  std::size_t failures_in_row = 0;          // since the last answer
  bool want_resolution = false;
  bool outstanding = false;                 // HANDLE_RESOLUTION sent, no answer yet
  TimePoint resolution_sent{};
  std::optional<TimePoint> registrar_due;   // connect or response timeout
  std::optional<TimePoint> registrar_retry_at;
  std::optional<TimePoint> resolve_retry_at;  // empty pool

  // PE side.
  std::optional<Job> job;
  std::optional<PeSession> session;
  std::optional<Failover> failover;
  std::optional<TimePoint> backoff_until;
  SessionId next_session = 1;
  std::vector<handlespace::PeRef> refs;  // scratch

  std::int64_t abs_us(TimePoint t) const { return config.epoch_us + us(t - config.epoch); }

  // -------------------------------------------------------------------------------------
  // Common

  void discard(std::string from, std::string reason, PuActions& out) {
    ++counters.discarded;
    out.events.push_back(
        {{"event", "message_discarded"}, {"from", std::move(from)}, {"reason", std::move(reason)}});
  }
  static std::string from_registrar(RegistrarIndex i) { return "registrar " + std::to_string(i); }
  static std::string from_session(SessionId s) { return "session " + std::to_string(s); }

  // -------------------------------------------------------------------------------------
  // Registrars

  void connect_registrar(RegistrarIndex i, TimePoint now, PuActions& out) {
    registrar = i;
    registrar_up = false;
    outstanding = false;
    cursor = (i + 1) % config.registrar_count;
    registrar_retry_at.reset();
    registrar_due = now + config.registrar_timeout;
    PuOp op;
    op.kind = PuOp::Kind::connect_registrar;
    op.registrar = i;
    out.ops.push_back(std::move(op));
  }

  void close_registrar(PuActions& out) {
    if (registrar) {
      PuOp op;
      op.kind = PuOp::Kind::close_registrar;
      op.registrar = *registrar;
      out.ops.push_back(std::move(op));
    }
    registrar.reset();
    registrar_up = false;
    outstanding = false;
    registrar_due.reset();
  }

  void send_registrar(const asap::Message& m, PuActions& out) {
    assert(registrar && registrar_up);
    PuOp op;
    op.kind = PuOp::Kind::send_registrar;
    op.registrar = *registrar;
    op.message = wire::encode(m);
    out.ops.push_back(std::move(op));
  }

  // Leaves the current registrar for the next one: at once, or after the retry delay when
  // a whole round has failed. `close`: the connection (or attempt) is still ours to close.
  void registrar_failover(std::string_view reason, bool close, TimePoint now, PuActions& out) {
    const auto from = registrar;
    if (close) {
      close_registrar(out);
    } else {
      registrar.reset();
      registrar_up = false;
      outstanding = false;
      registrar_due.reset();
    }
    ++counters.registrar_failovers;
    ++failures_in_row;
    out.events.push_back({{"event", "registrar_failover"},
                          {"from", opt(from)},
                          {"to", cursor},
                          {"reason", reason}});
    if (failures_in_row >= config.registrar_count) {
      failures_in_row = 0;
      registrar_retry_at = now + config.registrar_retry_delay;
    } else {
      connect_registrar(cursor, now, out);
    }
  }

  void send_resolution(TimePoint now, PuActions& out) {
    send_registrar(asap::HandleResolution{config.pool_handle, config.resolution_items}, out);
    outstanding = true;
    resolution_sent = now;
    registrar_due = now + config.registrar_timeout;
  }

  // Asks a registrar: now when one is connected, else once one is.
  void ask_registrar(TimePoint now, PuActions& out) {
    want_resolution = true;
    if (registrar_up) {
      if (!outstanding) send_resolution(now, out);
    } else if (!registrar && !registrar_retry_at) {
      connect_registrar(cursor, now, out);
    }
  }

  void on_registrar_message(RegistrarIndex i, std::span<const std::uint8_t> bytes, TimePoint now,
                            PuActions& out) {
    if (registrar != i || !registrar_up)
      return discard(from_registrar(i), "not the current registrar", out);
    auto decoded = wire::decode_asap(bytes);
    if (!decoded) return discard(from_registrar(i), decoded.error().message(), out);
    const auto* r = std::get_if<asap::HandleResolutionResponse>(&decoded->message);
    if (r == nullptr)
      return discard(from_registrar(i),
                     std::string("a PU does not take ") +
                         std::string(wire::message_type_name(wire::Protocol::asap, bytes[0])),
                     out);
    if (!outstanding)
      return discard(from_registrar(i), "unexpected Handle Resolution Response", out);
    if (r->pool_handle != config.pool_handle)
      return discard(from_registrar(i), "Handle Resolution Response for another pool", out);
    outstanding = false;
    want_resolution = false;
    registrar_due.reset();
    failures_in_row = 0;
    ++counters.resolutions;
    if (config.stale_cache.count() > 0 && !r->error) {
      for (const auto& pe : r->pool_elements) {
        const auto reg = cache.register_pe(config.pool_handle, pe);
        if (reg.outcome == handlespace::Handlespace::Outcome::added ||
            reg.outcome == handlespace::Handlespace::Outcome::updated)
          cache.schedule(reg.ref, handlespace::TimerKind::expiry, now + config.stale_cache);
      }
    }
    std::vector<wire::PoolElement> pes = r->error ? std::vector<wire::PoolElement>{}
                                                  : r->pool_elements;
    json ev = {{"event", "handle_resolution"}, {"registrar", i},
               {"pool", wire::show_handle(config.pool_handle)}, {"pes", ids(pes)},
               {"cached", false}, {"latency_us", us(now - resolution_sent)}};
    if (pes.empty()) {
      ev["error"] = r->error && !r->error->causes.empty()
                        ? std::string(wire::cause_name(r->error->causes[0].code))
                        : std::string("empty pool");
    }
    out.events.push_back(std::move(ev));
    resolved(pes, now, out);
  }

  static json ids(const std::vector<wire::PoolElement>& pes) {
    json v = json::array();
    for (const auto& pe : pes) v.push_back(wire::hex_id(pe.identifier));
    return v;
  }

  // -------------------------------------------------------------------------------------
  // Resolution and PE selection

  void purge_cache(TimePoint now) {
    while (const auto t = cache.next_timer()) {
      if (t->due > now) break;
      cache.remove(t->pe);
    }
  }

  void resolve(TimePoint now, PuActions& out) {
    assert(job);
    state = PuState::resolving;
    resolve_retry_at.reset();
    backoff_until.reset();
    if (config.stale_cache.count() > 0) {
      purge_cache(now);
      const auto members = cache.members(config.pool_handle);
      if (!members.empty()) {
        refs.clear();
        cache.select(config.pool_handle, members.size(), rng, refs);
        std::vector<wire::PoolElement> pes;
        for (const auto ref : refs) pes.push_back(cache.entry(ref).element);
        ++counters.resolutions;
        ++counters.cache_hits;
        out.events.push_back({{"event", "handle_resolution"}, {"registrar", nullptr},
                              {"pool", wire::show_handle(config.pool_handle)},
                              {"pes", ids(pes)}, {"cached", true}, {"latency_us", 0}});
        return resolved(pes, now, out);
      }
    }
    ask_registrar(now, out);
  }

  void resolved(const std::vector<wire::PoolElement>& pes, TimePoint now, PuActions& out) {
    if (!job || state != PuState::resolving) return;  // nothing waits for it
    if (pes.empty()) {
      resolve_retry_at = now + config.empty_pool_retry;
      return;
    }
    const wire::PoolElement* pick = &pes.front();
    for (const auto& pe : pes)
      if (!job->avoid || pe.identifier != *job->avoid) {
        pick = &pe;
        break;
      }
    connect_pe(*pick, now, out);
  }

  // -------------------------------------------------------------------------------------
  // PE sessions

  void connect_pe(const wire::PoolElement& pe, TimePoint now, PuActions& out) {
    connect_pe(pe.identifier, pe.user_transport, false, now, out);
  }
  void connect_pe(std::uint32_t pe, const wire::Transport& transport, bool recheck,
                  TimePoint now, PuActions& out) {
    session = PeSession{next_session++, pe, false, now, now + config.pe_connect_timeout,
                        std::nullopt, transport, recheck, {}};
    state = PuState::connecting;
    job->pe = pe;
    if (failover) ++failover->attempts;
    PuOp op;
    op.kind = PuOp::Kind::connect_pe;
    op.session = session->id;
    op.pe = transport;
    op.pe_identifier = pe;
    out.ops.push_back(std::move(op));
  }

  void close_pe(PuActions& out) {
    if (!session) return;
    PuOp op;
    op.kind = PuOp::Kind::close_pe;
    op.session = session->id;
    out.ops.push_back(std::move(op));
    session.reset();
  }

  void send_pe(std::uint32_t ppid, wire::Bytes message, PuActions& out) {
    assert(session);
    PuOp op;
    op.kind = PuOp::Kind::send_pe;
    op.session = session->id;
    op.ppid = ppid;
    op.message = std::move(message);
    out.ops.push_back(std::move(op));
  }

  void send_calcapp(calcapp::MessageType type, PuActions& out) {
    send_pe(wire::kPpidCalcApp,
            calcapp::encode(calcapp::Message{type, 0, job->q.id, job->q.size, job->reported}),
            out);
  }

  void send_request(PuActions& out) {
    if (job->cookie) {
      job->echoed = true;
      job->echoed_progress = job->cookie_progress;
      send_pe(wire::kPpidAsap, wire::encode(asap::CookieEcho{*job->cookie}), out);
    } else {
      job->echoed = false;
      job->echoed_progress = 0;
      send_pe(wire::kPpidCalcApp,
              calcapp::encode(calcapp::Message{calcapp::MessageType::request, 0, job->q.id,
                                               job->q.size, 0}),
              out);
    }
    state = PuState::requested;
  }

  // The session with the PE in use broke, or no connection to it came up. A session that
  // broke is first connected again (the shell tries every pair of addresses): the PU's own
  // path may be what failed. The PE is reported and avoided only when that fails too.
  void pe_failed(std::string_view cause, bool close, TimePoint now, PuActions& out,
                 std::vector<std::string> paths = {}) {
    assert(session && job);
    const PeSession failed = *session;
    if (close) close_pe(out);
    session.reset();
    if (!failover) {
      failover = Failover{failed.pe, cause, us(now - failed.last_heard), job->reported, 0, {},
                          now, failed.local};
      ++counters.failovers;
      ++job->failovers;
    }
    for (auto& p : paths) failover->paths.push_back(std::move(p));
    if (failed.connected && !failed.recheck)
      return connect_pe(failed.pe, failed.transport, true, now, out);
    if (registrar_up) {
      send_registrar(asap::EndpointUnreachable{config.pool_handle, failed.pe}, out);
      ++counters.unreachable_reports;
    }
    if (const auto ref = cache.find(config.pool_handle, failed.pe)) cache.remove(*ref);
    job->avoid = failed.pe;
    resolve(now, out);
  }

  void write_failover(std::optional<std::uint32_t> to_pe, PuActions& out) {
    if (!failover || !job) return;
    json ev = {{"event", "failover"},
               {"job", job->q.id},
               {"from_pe", wire::hex_id(failover->from_pe)},
               {"cause", failover->cause},
               {"detection_delay_us", failover->detection_delay_us},
               {"attempts", failover->attempts},
               {"paths", failover->paths},
               {"detected_us", abs_us(failover->detected)}};
    if (failover->local.port != 0) {
      ev["local_addresses"] = failover->local.addresses;
      ev["local_port"] = failover->local.port;
    }
    if (to_pe) {
      ev["to_pe"] = wire::hex_id(*to_pe);
      ev["cookie"] = job->echoed;
      ev["resumed"] = job->echoed_progress;
      ev["lost"] = failover->reported > job->echoed_progress
                       ? failover->reported - job->echoed_progress
                       : 0;
    } else {
      ev["to_pe"] = nullptr;
      ev["cookie"] = false;
      ev["resumed"] = nullptr;
      ev["lost"] = failover->reported;
    }
    out.events.push_back(std::move(ev));
    failover.reset();
  }

  void on_pe_message(SessionId s, std::uint32_t ppid, std::span<const std::uint8_t> bytes,
                     TimePoint now, PuActions& out) {
    if (!session || session->id != s || !session->connected || !job)
      return discard(from_session(s), "not the current session", out);
    // Whatever it is, the PE is alive.
    session->last_heard = now;
    session->keepalive_sent.reset();
    session->recheck = false;
    if (ppid == wire::kPpidAsap) return on_pe_asap(s, bytes, out);
    if (ppid != wire::kPpidCalcApp)
      return discard(from_session(s), "unknown PPID " + std::to_string(ppid), out);
    const auto m = calcapp::decode_message(bytes);
    if (!m) return discard(from_session(s), m.error().message(), out);
    const std::string type(calcapp::name(m->type));
    if (m->job_id != job->q.id)
      return discard(from_session(s), type + " for another job", out);
    switch (m->type) {
      case calcapp::MessageType::accept: {
        if (state != PuState::requested) return discard(from_session(s), "unexpected ACCEPT", out);
        state = PuState::running;
        if (!job->accepted) job->accepted = now;
        job->reported = m->completed;
        return write_failover(session->pe, out);
      }
      case calcapp::MessageType::reject: {
        if (state != PuState::requested) return discard(from_session(s), "unexpected REJECT", out);
        const std::uint32_t pe = session->pe;
        close_pe(out);
        ++counters.rejects;
        ++job->rejects;
        job->avoid = pe;
        out.events.push_back({{"event", "job_rejected"}, {"job", job->q.id},
                              {"pe", wire::hex_id(pe)}});
        state = PuState::backoff;
        backoff_until = now + values::sample_duration(config.reject_retry_delay, rng);
        return;
      }
      case calcapp::MessageType::complete: {
        if (state != PuState::running)
          return discard(from_session(s), "unexpected COMPLETE", out);
        close_pe(out);
        return complete(now, out);
      }
      case calcapp::MessageType::keepalive:
        return send_calcapp(calcapp::MessageType::keepalive_ack, out);
      case calcapp::MessageType::keepalive_ack:
        if (state == PuState::running) job->reported = m->completed;
        return;
      case calcapp::MessageType::request:
      case calcapp::MessageType::abort:
        return discard(from_session(s), "a PU does not take " + type, out);
    }
  }

  void on_pe_asap(SessionId s, std::span<const std::uint8_t> bytes, PuActions& out) {
    auto decoded = wire::decode_asap(bytes);
    if (!decoded) return discard(from_session(s), decoded.error().message(), out);
    const auto* c = std::get_if<asap::Cookie>(&decoded->message);
    if (c == nullptr)
      return discard(from_session(s),
                     std::string("a PU does not take ") +
                         std::string(wire::message_type_name(wire::Protocol::asap, bytes[0])) +
                         " from a PE",
                     out);
    const auto cookie = calcapp::decode_cookie(c->cookie);
    if (!cookie) return discard(from_session(s), "cookie: " + cookie.error().message(), out);
    if (cookie->job_id != job->q.id || cookie->job_size != job->q.size)
      return discard(from_session(s), "cookie of another job", out);
    job->cookie = c->cookie;
    job->cookie_progress = cookie->completed;
    job->reported = cookie->completed;
  }

  // -------------------------------------------------------------------------------------
  // Jobs

  void arrive(TimePoint now) { counters.jobs_generated += workload.arrive(now); }

  // The head goes into service, if there is one.
  void next_job(TimePoint now, PuActions& out) {
    if (config.max_jobs != 0 && counters.jobs_completed >= config.max_jobs)
      return finish("max_jobs", out);
    arrive(now);
    const auto head = workload.start();
    if (!head) {
      state = PuState::idle;
      return;
    }
    job = Job{};
    job->q = *head;
    job->started = now;
    resolve(now, out);
  }

  json job_event(const calcapp::QueuedJob& q, const Job* j, std::optional<TimePoint> completed) {
    const std::int64_t queued = abs_us(q.queued);
    std::optional<std::int64_t> started, accepted, done;
    if (j) started = abs_us(j->started);
    if (j && j->accepted) accepted = abs_us(*j->accepted);
    if (completed) done = abs_us(*completed);
    const auto diff = [](std::optional<std::int64_t> b, std::optional<std::int64_t> a) {
      return a && b ? json(*b - *a) : json(nullptr);
    };
    json ev = {{"event", "job"},
               {"job", q.id},
               {"size", q.size},
               {"status", completed ? "completed" : "unfinished"},
               {"queued_us", queued},
               {"started_us", opt(started)},
               {"accepted_us", opt(accepted)},
               {"completed_us", opt(done)},
               {"pe", j && j->pe ? json(wire::hex_id(*j->pe)) : json(nullptr)},
               {"rejects", j ? j->rejects : 0},
               {"failovers", j ? j->failovers : 0},
               {"queuing_delay_us", diff(started, queued)},
               {"startup_delay_us", diff(accepted, started)},
               {"processing_us", diff(done, accepted)},
               {"handling_us", diff(done, queued)},
               {"handling_speed", nullptr}};
    if (done && *done > queued) {
      const double seconds = static_cast<double>(*done - queued) / 1e6;
      ev["handling_speed"] = static_cast<double>(q.size) / seconds;
    }
    return ev;
  }

  void complete(TimePoint now, PuActions& out) {
    assert(job);
    json ev = job_event(job->q, &*job, now);
    ++counters.jobs_completed;
    counters.calculations_completed += job->q.size;
    if (ev["handling_us"].is_number())
      counters.handling_seconds += static_cast<double>(ev["handling_us"].get<std::int64_t>()) / 1e6;
    out.events.push_back(std::move(ev));
    workload.finish();
    job.reset();
    failover.reset();
    next_job(now, out);
  }

  // The run is over: unfinished jobs recorded, everything closed, `done`.
  void finish(std::string_view reason, PuActions& out) {
    if (job) {
      write_failover(std::nullopt, out);
      close_pe(out);
      out.events.push_back(job_event(job->q, &*job, std::nullopt));
      ++counters.jobs_unfinished;
      workload.finish();
      job.reset();
    }
    for (const auto& q : workload.queue()) {
      out.events.push_back(job_event(q, nullptr, std::nullopt));
      ++counters.jobs_unfinished;
    }
    close_pe(out);
    close_registrar(out);
    state = PuState::done;
    want_resolution = false;
    registrar_retry_at.reset();
    resolve_retry_at.reset();
    backoff_until.reset();
    session.reset();
    out.events.push_back({{"event", "done"},
                          {"reason", reason},
                          {"jobs_generated", counters.jobs_generated},
                          {"jobs_completed", counters.jobs_completed},
                          {"jobs_unfinished", counters.jobs_unfinished},
                          {"calculations_completed", counters.calculations_completed},
                          {"handling_seconds", counters.handling_seconds},
                          {"handling_speed", counters.handling_speed()},
                          {"rejects", counters.rejects},
                          {"failovers", counters.failovers},
                          {"resolutions", counters.resolutions},
                          {"cache_hits", counters.cache_hits},
                          {"unreachable_reports", counters.unreachable_reports},
                          {"registrar_failovers", counters.registrar_failovers},
                          {"discarded", counters.discarded}});
  }

  bool running() const { return started && state != PuState::done; }

  // -------------------------------------------------------------------------------------
  // Time

  void tick(TimePoint now, PuActions& out) {
    if (!running()) return;
    if (registrar_retry_at && *registrar_retry_at <= now) {
      registrar_retry_at.reset();
      if (!registrar) connect_registrar(cursor, now, out);
    }
    if (registrar_due && *registrar_due <= now) {
      registrar_due.reset();
      if (registrar && (!registrar_up || outstanding)) registrar_failover("timeout", true, now, out);
    }
    if (session) {
      if (!session->connected) {
        if (session->connect_due && *session->connect_due <= now)
          pe_failed("connect_failed", true, now, out);
      } else if (session->keepalive_sent) {
        if (*session->keepalive_sent + config.keepalive_timeout <= now)
          pe_failed("keepalive_timeout", true, now, out);
      } else if (session->last_heard + config.keepalive_interval <= now) {
        session->keepalive_sent = now;
        send_calcapp(calcapp::MessageType::keepalive, out);
      }
    }
    if (backoff_until && *backoff_until <= now) {
      backoff_until.reset();
      if (state == PuState::backoff && job) resolve(now, out);
    }
    if (resolve_retry_at && *resolve_retry_at <= now) {
      resolve_retry_at.reset();
      if (state == PuState::resolving && job) resolve(now, out);
    }
    arrive(now);
    if (!job && state == PuState::idle) next_job(now, out);
  }

  std::optional<TimePoint> next_deadline() const {
    if (!running()) return std::nullopt;
    std::optional<TimePoint> d;
    const auto take = [&d](std::optional<TimePoint> t) {
      if (t && (!d || *t < *d)) d = t;
    };
    if (!workload.exhausted()) take(workload.next_arrival());
    take(registrar_due);
    take(registrar_retry_at);
    take(resolve_retry_at);
    take(backoff_until);
    if (session) {
      if (!session->connected) take(session->connect_due);
      else if (session->keepalive_sent) take(*session->keepalive_sent + config.keepalive_timeout);
      else take(session->last_heard + config.keepalive_interval);
    }
    return d;
  }
};

PuCore::PuCore(PuConfig config, TimePoint start)
    : impl_(std::make_unique<Impl>(std::move(config), start)) {}

PuCore::~PuCore() = default;

void PuCore::anchor_clock(TimePoint now, std::int64_t now_us) {
  impl_->config.epoch = now;
  impl_->config.epoch_us = now_us;
}

void PuCore::start(TimePoint now, PuActions& out) {
  auto& m = *impl_;
  if (m.started || m.state == PuState::done) return;
  m.started = true;
  m.connect_registrar(0, now, out);
  m.tick(now, out);  // jobs that arrived already
}

void PuCore::registrar_connected(RegistrarIndex i, TimePoint now, PuActions& out) {
  auto& m = *impl_;
  // A connection we no longer want is the shell's to drop; ignored.
  if (!m.running() || m.registrar != i || m.registrar_up) return;
  m.registrar_up = true;
  m.registrar_due.reset();
  if (m.want_resolution) m.send_resolution(now, out);
}

void PuCore::registrar_connect_failed(RegistrarIndex i, TimePoint now, PuActions& out) {
  auto& m = *impl_;
  if (!m.running() || m.registrar != i || m.registrar_up) return;
  m.registrar_failover("connect_failed", false, now, out);
}

void PuCore::registrar_closed(RegistrarIndex i, TimePoint now, PuActions& out) {
  auto& m = *impl_;
  if (!m.running() || m.registrar != i) return;
  m.registrar_failover("closed", false, now, out);
}

void PuCore::registrar_received(RegistrarIndex i, std::span<const std::uint8_t> message,
                                TimePoint now, PuActions& out) {
  auto& m = *impl_;
  if (!m.running()) return;
  m.on_registrar_message(i, message, now, out);
}

void PuCore::pe_connected(SessionId s, TimePoint now, PuActions& out, SessionEnd local) {
  auto& m = *impl_;
  if (!m.running() || !m.session || m.session->id != s || m.session->connected) return;
  m.session->connected = true;
  m.session->local = std::move(local);
  m.session->connect_due.reset();
  m.session->last_heard = now;
  // Reached again after a broken session: the request is the probe, answered within
  // keepalive_timeout or the PE counts as failed.
  if (m.session->recheck) m.session->keepalive_sent = now;
  else m.session->keepalive_sent.reset();
  m.send_request(out);
}

void PuCore::pe_connect_failed(SessionId s, TimePoint now, PuActions& out,
                               std::vector<std::string> paths) {
  auto& m = *impl_;
  if (!m.running() || !m.session || m.session->id != s || m.session->connected) return;
  m.pe_failed("connect_failed", false, now, out, std::move(paths));
}

void PuCore::pe_closed(SessionId s, TimePoint now, PuActions& out) {
  auto& m = *impl_;
  if (!m.running() || !m.session || m.session->id != s) return;
  m.pe_failed(m.session->connected ? "connection_lost" : "connect_failed", false, now, out);
}

void PuCore::pe_received(SessionId s, std::uint32_t ppid, std::span<const std::uint8_t> message,
                         TimePoint now, PuActions& out) {
  auto& m = *impl_;
  if (!m.running()) return;
  m.on_pe_message(s, ppid, message, now, out);
}

void PuCore::tick(TimePoint now, PuActions& out) { impl_->tick(now, out); }

std::optional<TimePoint> PuCore::next_deadline() const { return impl_->next_deadline(); }

void PuCore::stop(TimePoint now, PuActions& out) {
  auto& m = *impl_;
  if (m.state == PuState::done) return;
  m.arrive(now);
  m.finish("stop", out);
}

PuState PuCore::state() const { return impl_->state; }
const PuCounters& PuCore::counters() const { return impl_->counters; }
std::size_t PuCore::queued() const { return impl_->workload.queue().size(); }

}  // namespace rserpool::session
