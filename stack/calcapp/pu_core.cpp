// calcapp::PuCore: the PU side of CalcApp on the generic session layer (pu_core.hpp): the
// workload, what REQUEST/ACCEPT/REJECT/COMPLETE/KEEPALIVE mean for a job, job records.
#include "stack/calcapp/pu_core.hpp"

#include <cassert>
#include <string>
#include <utility>

#include "stack/calcapp/messages.hpp"
#include "stack/common/events.hpp"
#include "stack/wire/constants.hpp"
#include "stack/wire/describe.hpp"

namespace rserpool::calcapp {

namespace common = rsplab::common;
using session::Reply;
using session::Unit;

namespace {
// A count as an event field.
std::int64_t i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }
}  // namespace

struct PuCore::Impl : session::PuService {
  Impl(PuConfig c, TimePoint start)
      : config(std::move(c)),
        workload(config.job_size, config.job_interval, config.seed, start, config.max_jobs),
        layer(config, *this, counters) {}

  PuConfig config;
  Workload workload;
  PuCounters counters;
  session::PuSession layer;
  std::optional<QueuedJob> job;  // the one in service (the layer's unit)

  // -------------------------------------------------------------------------------------
  // session::PuService

  std::uint32_t ppid() const override { return wire::kPpidCalcApp; }

  Message message(MessageType type, const Unit& u, std::uint64_t completed) const {
    return Message{type, 0, u.id, job->size, completed};
  }
  wire::Bytes start_message(const Unit& u) override {
    return encode(message(MessageType::request, u, 0));
  }
  wire::Bytes keepalive(const Unit& u) override {
    return encode(message(MessageType::keepalive, u, u.reported));
  }

  Reply reply(const Unit& u, std::span<const std::uint8_t> bytes) override {
    const auto m = decode_message(bytes);
    if (!m) return Reply::discarded(m.error().message());
    Reply r;
    r.name = std::string(name(m->type));
    if (m->job_id != u.id) return Reply::discarded(r.name + " for another job");
    r.progress = m->completed;
    switch (m->type) {
      case MessageType::accept: r.kind = Reply::Kind::accepted; break;
      case MessageType::reject: r.kind = Reply::Kind::rejected; break;
      case MessageType::complete: r.kind = Reply::Kind::done; break;
      case MessageType::keepalive:
        r.kind = Reply::Kind::answer;
        r.answer = encode(message(MessageType::keepalive_ack, u, u.reported));
        break;
      case MessageType::keepalive_ack: r.kind = Reply::Kind::progress; break;
      case MessageType::request:
      case MessageType::abort:
        r.kind = Reply::Kind::discard;
        r.reason = "a PU does not take " + r.name;
        break;
    }
    return r;
  }

  session::CookieState cookie(const Unit& u, std::span<const std::uint8_t> state) override {
    const auto c = decode_cookie(state);
    if (!c) return {std::nullopt, "cookie: " + c.error().message()};
    if (c->job_id != u.id || c->job_size != job->size) return {std::nullopt, "cookie of another job"};
    return {c->completed, {}};
  }

  void started(TimePoint now, PuActions& out) override { tick(now, out); }  // arrived already

  void finished(const Unit& u, TimePoint now, PuActions& out) override {
    const common::JobEvent ev = job_event(*job, &u, now);
    ++counters.jobs_completed;
    counters.calculations_completed += job->size;
    if (ev.handling_us) counters.handling_seconds += static_cast<double>(*ev.handling_us) / 1e6;
    out.events.push_back(ev);
    workload.finish();
    job.reset();
    next_job(now, out);
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
    if (!head) return;  // the layer is idle
    job = *head;
    Unit u;
    u.id = head->id;
    u.started = now;
    layer.begin(std::move(u), now, out);
  }

  common::JobEvent job_event(const QueuedJob& q, const Unit* j,
                             std::optional<TimePoint> completed) {
    common::JobEvent ev;
    ev.job = q.id;
    ev.size = i64(q.size);
    ev.status = completed ? "completed" : "unfinished";
    ev.queued_us = layer.abs_us(q.queued);
    if (j) ev.started_us = layer.abs_us(j->started);
    if (j && j->accepted) ev.accepted_us = layer.abs_us(*j->accepted);
    if (completed) ev.completed_us = layer.abs_us(*completed);
    if (j && j->pe) ev.pe = wire::hex_id(*j->pe);
    ev.rejects = j ? j->rejects : 0;
    ev.failovers = j ? j->failovers : 0;
    const auto diff = [](std::optional<std::int64_t> b, std::optional<std::int64_t> a) {
      return a && b ? std::optional(*b - *a) : std::nullopt;
    };
    const std::optional<std::int64_t> queued = ev.queued_us;
    ev.queuing_delay_us = diff(ev.started_us, queued);
    ev.startup_delay_us = diff(ev.accepted_us, ev.started_us);
    ev.processing_us = diff(ev.completed_us, ev.accepted_us);
    ev.handling_us = diff(ev.completed_us, queued);
    if (ev.completed_us && *ev.completed_us > ev.queued_us) {
      const double seconds = static_cast<double>(*ev.completed_us - ev.queued_us) / 1e6;
      ev.handling_speed = static_cast<double>(q.size) / seconds;
    }
    return ev;
  }

  // The run is over: unfinished jobs recorded, everything closed, `done`.
  void finish(std::string_view reason, PuActions& out) {
    if (const auto u = layer.abandon(out)) {
      out.events.push_back(job_event(*job, &*u, std::nullopt));
      ++counters.jobs_unfinished;
      workload.finish();
      job.reset();
    }
    for (const auto& q : workload.queue()) {
      out.events.push_back(job_event(q, nullptr, std::nullopt));
      ++counters.jobs_unfinished;
    }
    layer.close_all(out);
    common::CalcAppDoneEvent done;
    done.reason = std::string(reason);
    done.jobs_generated = i64(counters.jobs_generated);
    done.jobs_completed = i64(counters.jobs_completed);
    done.jobs_unfinished = i64(counters.jobs_unfinished);
    done.calculations_completed = i64(counters.calculations_completed);
    done.handling_seconds = counters.handling_seconds;
    done.handling_speed = counters.handling_speed();
    counters.fill(done);
    out.events.push_back(done);
  }

  void tick(TimePoint now, PuActions& out) {
    if (!layer.running()) return;
    layer.tick(now, out);
    arrive(now);
    if (!job && layer.state() == PuState::idle) next_job(now, out);
  }

  std::optional<TimePoint> next_deadline() const {
    if (!layer.running()) return std::nullopt;
    std::optional<TimePoint> d = layer.next_deadline();
    if (!workload.exhausted()) {
      const TimePoint t = workload.next_arrival();
      if (!d || t < *d) d = t;
    }
    return d;
  }
};

PuCore::PuCore(PuConfig config, TimePoint start)
    : impl_(std::make_unique<Impl>(std::move(config), start)) {
  attach(impl_->layer);
}

PuCore::~PuCore() = default;

void PuCore::tick(TimePoint now, PuActions& out) { impl_->tick(now, out); }

std::optional<TimePoint> PuCore::next_deadline() const { return impl_->next_deadline(); }

void PuCore::stop(TimePoint now, PuActions& out) {
  auto& m = *impl_;
  if (m.layer.state() == PuState::done) return;
  m.arrive(now);
  m.finish("stop", out);
}

const PuCounters& PuCore::counters() const { return impl_->counters; }
std::size_t PuCore::queued() const { return impl_->workload.queue().size(); }

}  // namespace rserpool::calcapp
