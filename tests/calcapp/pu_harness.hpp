// Helpers of the PU core tests: a PuCore with its PuActions, typed registrar answers and
// CalcApp/ASAP PE messages in (encoded with the real codecs), its operations out (sends
// decoded with the codecs), events by name (each checked against its struct in
// stack/common/events.hpp: tests/common/typed_events.hpp), and injected time (T0, at() of
// harness.hpp).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "stack/calcapp/messages.hpp"
#include "stack/calcapp/pu_core.hpp"
#include "stack/wire/constants.hpp"
#include "stack/wire/messages.hpp"
#include "stack/wire/names.hpp"
#include "tests/common/typed_events.hpp"
#include "tests/session/harness.hpp"

namespace session_test {

namespace calc = rserpool::calcapp;
namespace values = rserpool::values;
using ses::PuOp;
using ses::PuState;
using ses::SessionId;
using MT = calc::MessageType;

inline constexpr std::int64_t kEpochUs = 1'700'000'000'000'000;  // the absolute time of T0
inline constexpr std::uint64_t kSize = 1'000'000;                 // default job size

// The absolute time of at(ms) in job events.
inline std::int64_t abs_us(std::int64_t ms) { return kEpochUs + ms * 1000; }

inline values::Distribution fixed_amount(double v) {
  return {values::Distribution::fixed, values::ValueKind::amount, v, 0};
}
inline values::Distribution fixed_seconds(double s) {
  return {values::Distribution::fixed, values::ValueKind::duration, s, 0};
}

// Jobs of kSize calculations every `interval_s` seconds from T0 (the first at T0 + interval).
inline calc::PuConfig make_pu_config(double interval_s = 60, std::size_t registrars = 2) {
  calc::PuConfig c;
  c.pool_handle = kPool;
  c.registrar_count = registrars;
  c.job_size = fixed_amount(static_cast<double>(kSize));
  c.job_interval = fixed_seconds(interval_s);
  c.seed = 7;
  c.keepalive_interval = milliseconds(5000);
  c.keepalive_timeout = milliseconds(5000);
  c.reject_retry_delay = fixed_seconds(1);
  c.empty_pool_retry = milliseconds(250);
  c.registrar_timeout = milliseconds(2000);
  c.registrar_retry_delay = milliseconds(1000);
  c.pe_connect_timeout = milliseconds(5000);
  c.epoch = T0;
  c.epoch_us = kEpochUs;
  return c;
}

inline std::string hex(std::uint32_t id) { return w::hex_id(id); }

inline w::PoolElement pool_element(std::uint32_t id) {
  w::PoolElement pe;
  pe.identifier = id;
  pe.home_server = 0x5151;
  pe.registration_life = 90000;
  pe.user_transport.kind = w::TransportKind::tcp;
  pe.user_transport.port = static_cast<std::uint16_t>(6000 + id);
  pe.user_transport.addresses = {w::Address::v4(10, 0, 1, static_cast<std::uint8_t>(id))};
  pe.policy.type = PolicyType::round_robin;
  return pe;
}

inline asap::HandleResolutionResponse answer(std::initializer_list<std::uint32_t> ids) {
  asap::HandleResolutionResponse r;
  r.pool_handle = kPool;
  r.overall_policy = w::Policy{PolicyType::round_robin};
  for (const auto id : ids) r.pool_elements.push_back(pool_element(id));
  return r;
}
inline asap::HandleResolutionResponse error_answer(CauseCode code) {
  asap::HandleResolutionResponse r;
  r.pool_handle = kPool;
  r.error = w::OperationError{{w::ErrorCause{code, {}}}};
  return r;
}

inline Bytes calc_bytes(MT type, std::uint32_t job, std::uint64_t completed,
                        std::uint64_t size = kSize) {
  return calc::encode(calc::Message{type, 0, job, size, completed});
}
inline Bytes cookie_bytes(std::uint32_t job, std::uint64_t completed, std::uint64_t size = kSize) {
  return calc::encode(calc::Cookie{job, size, completed});
}
// An ASAP COOKIE message carrying a CalcApp cookie.
inline Bytes asap_cookie(std::uint32_t job, std::uint64_t completed, std::uint64_t size = kSize) {
  return w::encode(asap::Message{asap::Cookie{cookie_bytes(job, completed, size)}});
}

class PuHarness {
 public:
  explicit PuHarness(calc::PuConfig config = make_pu_config(), TimePoint start = T0)
      : core(std::move(config), start) {}

  // Each input clears `out` first: `out` holds the actions of the last input. `log` keeps
  // every event of the run.
  void start(TimePoint now) { run([&] { core.start(now, out); }); }
  void reg_connected(std::size_t i, TimePoint now) {
    run([&] { core.registrar_connected(i, now, out); });
  }
  void reg_connect_failed(std::size_t i, TimePoint now) {
    run([&] { core.registrar_connect_failed(i, now, out); });
  }
  void reg_closed(std::size_t i, TimePoint now) {
    run([&] { core.registrar_closed(i, now, out); });
  }
  void reg_in(std::size_t i, const asap::Message& m, TimePoint now) { reg_raw(i, w::encode(m), now); }
  void reg_raw(std::size_t i, const Bytes& b, TimePoint now) {
    run([&] { core.registrar_received(i, b, now, out); });
  }
  void pe_connected(SessionId s, TimePoint now, ses::SessionEnd local = {}) {
    run([&] { core.pe_connected(s, now, out, local); });
  }
  void pe_connect_failed(SessionId s, TimePoint now, std::vector<std::string> paths = {}) {
    run([&] { core.pe_connect_failed(s, now, out, std::move(paths)); });
  }
  void pe_closed(SessionId s, TimePoint now) { run([&] { core.pe_closed(s, now, out); }); }
  void pe_raw(SessionId s, std::uint32_t ppid, const Bytes& b, TimePoint now) {
    run([&] { core.pe_received(s, ppid, b, now, out); });
  }
  void pe_calc(SessionId s, MT type, std::uint32_t job, std::uint64_t completed, TimePoint now) {
    pe_raw(s, w::kPpidCalcApp, calc_bytes(type, job, completed), now);
  }
  void pe_cookie(SessionId s, std::uint32_t job, std::uint64_t completed, TimePoint now) {
    pe_raw(s, w::kPpidAsap, asap_cookie(job, completed), now);
  }
  void tick(TimePoint now) { run([&] { core.tick(now, out); }); }
  void stop(TimePoint now) { run([&] { core.stop(now, out); }); }

  std::optional<std::int64_t> deadline_ms() const {
    const auto d = core.next_deadline();
    if (!d) return std::nullopt;
    return std::chrono::duration_cast<milliseconds>(*d - T0).count();
  }

  // The operations, as "connect_registrar 0", "close_registrar 1",
  // "send_registrar 0 HANDLE_RESOLUTION", "connect_pe 3 0x00000002", "close_pe 3",
  // "send_pe 3 REQUEST" (CalcApp) or "send_pe 3 ASAP_COOKIE_ECHO".
  std::vector<std::string> ops() const {
    std::vector<std::string> v;
    for (const auto& op : out.ops) {
      const std::string s = std::to_string(op.session);
      const std::string r = std::to_string(op.registrar);
      switch (op.kind) {
        case PuOp::Kind::connect_registrar: v.push_back("connect_registrar " + r); break;
        case PuOp::Kind::close_registrar: v.push_back("close_registrar " + r); break;
        case PuOp::Kind::send_registrar: v.push_back("send_registrar " + r + " " + asap_name(op.message)); break;
        case PuOp::Kind::connect_pe: v.push_back("connect_pe " + s + " " + hex(op.pe_identifier)); break;
        case PuOp::Kind::close_pe: v.push_back("close_pe " + s); break;
        case PuOp::Kind::send_pe:
          if (op.ppid == w::kPpidCalcApp) {
            const auto m = calc::decode_message(op.message);
            v.push_back("send_pe " + s + " " + (m ? std::string(calc::name(m->type)) : "?"));
          } else if (op.ppid == w::kPpidAsap) {
            v.push_back("send_pe " + s + " " + asap_name(op.message));
          } else {
            v.push_back("send_pe " + s + " ppid " + std::to_string(op.ppid));
          }
          break;
      }
    }
    return v;
  }

  static std::string asap_name(const Bytes& b) {
    const auto d = w::decode_asap(b);
    if (!d) return "undecodable";
    return std::string(w::message_type_name(w::Protocol::asap,
                                            static_cast<std::uint8_t>(asap::type_of(d->message))));
  }

  const PuOp* op(std::size_t i) const {
    if (i < out.ops.size()) return &out.ops[i];
    ADD_FAILURE() << "no op " << i << "; ops: " << testing::PrintToString(ops());
    return nullptr;
  }

  // The i-th op, which must be an ASAP send to registrar `to`, decoded as T.
  template <class T>
  std::optional<T> sent_registrar(std::size_t i, std::size_t to) const {
    const PuOp* o = op(i);
    if (!o) return std::nullopt;
    if (o->kind != PuOp::Kind::send_registrar) {
      ADD_FAILURE() << "op " << i << " is not send_registrar: " << testing::PrintToString(ops());
      return std::nullopt;
    }
    EXPECT_EQ(o->registrar, to);
    return as<T>(o->message);
  }
  // The i-th op, which must be a CalcApp send on session `s`.
  std::optional<calc::Message> sent_calc(std::size_t i, SessionId s) const {
    const PuOp* o = op(i);
    if (!o) return std::nullopt;
    if (o->kind != PuOp::Kind::send_pe || o->ppid != w::kPpidCalcApp) {
      ADD_FAILURE() << "op " << i << " is not a CalcApp send: " << testing::PrintToString(ops());
      return std::nullopt;
    }
    EXPECT_EQ(o->session, s);
    const auto m = calc::decode_message(o->message);
    if (!m) {
      ADD_FAILURE() << "undecodable CalcApp message: " << m.error().message();
      return std::nullopt;
    }
    return *m;
  }
  // The i-th op, which must be an ASAP send on session `s`, decoded as T.
  template <class T>
  std::optional<T> sent_pe_asap(std::size_t i, SessionId s) const {
    const PuOp* o = op(i);
    if (!o) return std::nullopt;
    if (o->kind != PuOp::Kind::send_pe || o->ppid != w::kPpidAsap) {
      ADD_FAILURE() << "op " << i << " is not an ASAP send to a PE: "
                    << testing::PrintToString(ops());
      return std::nullopt;
    }
    EXPECT_EQ(o->session, s);
    return as<T>(o->message);
  }
  // The session of the i-th op, which must be connect_pe.
  SessionId connect_session(std::size_t i) const {
    const PuOp* o = op(i);
    if (!o) return 0;
    EXPECT_EQ(o->kind, PuOp::Kind::connect_pe) << testing::PrintToString(ops());
    return o->session;
  }

  std::vector<json> events(std::string_view name) const { return filter(out.events, name); }
  std::vector<json> logged(std::string_view name) const { return filter(log, name); }
  json event(std::string_view name) const {
    const auto v = events(name);
    if (v.size() != 1) {
      ADD_FAILURE() << "expected one '" << name << "' event, got " << v.size() << ": " << text();
      return json::object();
    }
    return v[0];
  }
  std::string text() const { return json(out.events).dump(); }

  // start at `now` and registrar 0 connected at once.
  void up(TimePoint now) {
    start(now);
    reg_connected(0, now);
  }
  // At `now` the head job is resolved (HANDLE_RESOLUTION to registrar `r` expected among
  // the last ops), answered with `ids` at `answered`, and the PE connected: returns the
  // session (0 on failure). Expects REQUEST or COOKIE_ECHO after connecting.
  SessionId resolve_connect(std::size_t r, std::initializer_list<std::uint32_t> ids,
                            TimePoint answered, ses::SessionEnd local = {}) {
    reg_in(r, answer(ids), answered);
    if (out.ops.size() != 1 || out.ops[0].kind != PuOp::Kind::connect_pe) {
      ADD_FAILURE() << "expected connect_pe: " << testing::PrintToString(ops()) << " " << text();
      return 0;
    }
    const SessionId s = out.ops[0].session;
    pe_connected(s, answered, local);
    return s;
  }

  calc::PuCore core;
  ses::PuActions out;
  std::vector<json> log;

 private:
  template <class F>
  void run(F f) {
    out.clear();
    f();
    for (const auto& e : out.events) {
      typed_events::expect_has_struct(typed_events::Role::pu, e);
      log.push_back(e);
    }
  }
  template <class T>
  static std::optional<T> as(const Bytes& b) {
    const auto m = decode(b);
    if (!m) return std::nullopt;
    if (const auto* t = std::get_if<T>(&*m)) return *t;
    ADD_FAILURE() << "ASAP type " << static_cast<int>(asap::type_of(*m));
    return std::nullopt;
  }
  static std::vector<json> filter(const std::vector<json>& from, std::string_view name) {
    std::vector<json> v;
    for (const auto& e : from)
      if (e.value("event", "") == name) v.push_back(e);
    return v;
  }
};

}  // namespace session_test
