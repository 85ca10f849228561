// echo::PuCore: the PU side of the echo service on the session layer (pu_core.hpp).
#include "stack/echo/pu_core.hpp"

#include <cassert>
#include <string_view>
#include <utility>

#include "stack/common/events.hpp"
#include "stack/echo/messages.hpp"

namespace rserpool::echo {

using session::Reply;
using session::Unit;

struct PuCore::Impl : session::PuService {
  explicit Impl(PuConfig c) : config(std::move(c)), layer(config, *this, counters) {
    assert(config.interval.count() > 0);
  }

  PuConfig config;
  PuCounters counters;
  session::PuSession layer;
  std::uint64_t next_message_no = 1;
  std::uint64_t replies = 0;  // highest reply number counted + 1
  std::optional<TimePoint> next_ping;

  bool enough() const { return config.count != 0 && counters.replies() >= config.count; }

  wire::Bytes ping() {
    ++counters.requests;
    return encode(Message{MessageType::ping, 0, next_message_no++, 0, {}});
  }

  // session::PuService
  std::uint32_t ppid() const override { return kPpidEcho; }
  wire::Bytes start_message(const Unit&) override { return ping(); }
  std::optional<wire::Bytes> resume_message(const Unit&) override { return ping(); }
  wire::Bytes keepalive(const Unit&) override {
    return encode(Message{MessageType::keepalive, 0, 0, 0, {}});
  }

  Reply reply(const Unit&, std::span<const std::uint8_t> bytes) override {
    const auto m = decode_message(bytes);
    if (!m) return Reply::discarded(m.error().message());
    Reply r;
    r.name = std::string(name(m->type));
    switch (m->type) {
      case MessageType::pong:
        ++counters.answers;
        if (m->reply_no < replies) ++counters.duplicates;
        else replies = m->reply_no + 1;
        r.progress = replies;
        r.kind = layer.state() == PuState::requested ? Reply::Kind::accepted
                 : enough()                          ? Reply::Kind::done
                                                     : Reply::Kind::progress;
        return r;
      case MessageType::keepalive:
        r.kind = Reply::Kind::answer;
        r.answer = encode(Message{MessageType::keepalive_ack, 0, 0, 0, {}});
        return r;
      case MessageType::keepalive_ack:
        r.kind = Reply::Kind::heard;
        return r;
      case MessageType::ping:
        break;
    }
    r.kind = Reply::Kind::discard;
    r.reason = "a PU does not take " + r.name;
    return r;
  }

  session::CookieState cookie(const Unit&, std::span<const std::uint8_t> state) override {
    const auto c = decode_cookie(state);
    if (!c) return {std::nullopt, "cookie: " + c.error().message()};
    return {c->reply_no, {}};
  }

  void accepted(const Unit&, TimePoint now, PuActions& out) override {
    next_ping = now + config.interval;
    if (enough()) layer.complete(now, out);
  }

  void finished(const Unit&, TimePoint, PuActions& out) override { finish("count", out); }

  // The series is the one unit, id 1.
  void started(TimePoint now, PuActions& out) override {
    Unit u;
    u.id = 1;
    u.started = now;
    layer.begin(std::move(u), now, out);
  }

  void finish(std::string_view reason, PuActions& out) {
    layer.abandon(out);
    layer.close_all(out);
    next_ping.reset();
    const auto i64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
    rsplab::common::EchoDoneEvent done;
    done.reason = std::string(reason);
    done.requests = i64(counters.requests);
    done.answers = i64(counters.answers);
    done.duplicates = i64(counters.duplicates);
    done.lost = i64(counters.lost());
    done.replies = i64(replies);
    counters.fill(done);
    out.events.push_back(done);
  }

  void tick(TimePoint now, PuActions& out) {
    if (!layer.running()) return;
    layer.tick(now, out);
    if (layer.state() != PuState::running || !next_ping || *next_ping > now) return;
    layer.send(ping(), out);
    next_ping = *next_ping + config.interval;
    if (*next_ping <= now) next_ping = now + config.interval;  // a late tick: no burst
  }

  std::optional<TimePoint> next_deadline() const {
    std::optional<TimePoint> d = layer.next_deadline();
    if (layer.state() == PuState::running && next_ping && (!d || *next_ping < *d)) d = next_ping;
    return d;
  }
};

PuCore::PuCore(PuConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {
  attach(impl_->layer);
}
PuCore::~PuCore() = default;

void PuCore::tick(TimePoint now, PuActions& out) { impl_->tick(now, out); }
std::optional<TimePoint> PuCore::next_deadline() const { return impl_->next_deadline(); }
void PuCore::stop(TimePoint, PuActions& out) {
  if (impl_->layer.state() == PuState::done) return;
  impl_->finish("stop", out);
}

const PuCounters& PuCore::counters() const { return impl_->counters; }

}  // namespace rserpool::echo
