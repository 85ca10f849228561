// The PE's CalcApp service driven directly with injected time and real encoded messages
// (CalcApp on PPID 34, ASAP Cookie / Cookie Echo on PPID 11): admission and rejects,
// processor-sharing completion times, cookies by time and by calculations, resuming from a
// cookie echo, keep-alives both ways, lost sessions, load and usage events, shutdown
// cookies, discarded input (with a randomized robustness loop) and the order of ops.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "stack/calcapp/messages.hpp"
#include "stack/handlespace/rng.hpp"
#include "stack/calcapp/pe_service.hpp"
#include "stack/wire/constants.hpp"
#include "stack/wire/messages.hpp"
#include "tests/common/typed_events.hpp"

namespace session_test {
namespace {

namespace ses = rserpool::session;
namespace w = rserpool::wire;
namespace asap = w::asap;
namespace calc = rserpool::calcapp;
using calc::MessageType;
using json = nlohmann::json;
using ses::SessionId;
using ses::SessionOp;
using ses::TimePoint;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using w::Bytes;
using Ops = std::vector<std::string>;

const TimePoint T0 = TimePoint(std::chrono::hours(1000));
TimePoint at(std::int64_t ms) { return T0 + milliseconds(ms); }

constexpr std::uint32_t kOne = w::kFractionOne;

// Capacity 10^6/s; cookies, usage events off and keep-alives far away unless a test asks.
calc::ServiceConfig make_config(std::size_t max_jobs = 2) {
  calc::ServiceConfig c;
  c.server.capacity = 1e6;
  c.server.max_jobs = max_jobs;
  c.server.cookie_interval = nanoseconds(0);
  c.server.cookie_calculations = 0;
  c.keepalive_interval = milliseconds(3'600'000);
  c.keepalive_timeout = milliseconds(3'600'000);
  c.usage_interval = milliseconds(0);
  c.shutdown_cookie_probability = 1.0;
  c.seed = 7;
  return c;
}

calc::Message msg(MessageType t, std::uint32_t job = 0, std::uint64_t size = 0,
                  std::uint64_t completed = 0) {
  return calc::Message{t, 0, job, size, completed};
}

std::string show(const calc::Message& m) {
  return std::string(calc::name(m.type)) + " " + std::to_string(m.job_id) + " " +
         std::to_string(m.job_size) + " " + std::to_string(m.completed);
}

class Service {
 public:
  explicit Service(calc::ServiceConfig config = make_config(), TimePoint start = T0)
      : svc(config, start) {}

  // Each input clears `out` first: `out` holds the actions of the last input.
  void open(SessionId s, TimePoint now) { out.clear(); svc.opened(s, now, out); }
  void close(SessionId s, TimePoint now) { out.clear(); svc.closed(s, now, out); }
  void tick(TimePoint now) { out.clear(); svc.tick(now, out); }
  void shutdown(TimePoint now) { out.clear(); svc.shutdown(now, out); }
  void raw(SessionId s, std::uint32_t ppid, const Bytes& b, TimePoint now) {
    out.clear();
    svc.received(s, ppid, b, now, out);
  }
  void calc_in(SessionId s, const calc::Message& m, TimePoint now) {
    raw(s, w::kPpidCalcApp, calc::encode(m), now);
  }
  void asap_in(SessionId s, const asap::Message& m, TimePoint now) {
    raw(s, w::kPpidAsap, w::encode(m), now);
  }
  void request(SessionId s, std::uint32_t job, std::uint64_t size, TimePoint now) {
    calc_in(s, msg(MessageType::request, job, size), now);
  }
  void echo(SessionId s, const calc::Cookie& c, TimePoint now) {
    asap_in(s, asap::CookieEcho{calc::encode(c)}, now);
  }
  // Opens `s` and has job `job` of `size` accepted on it.
  void start_job(SessionId s, std::uint32_t job, std::uint64_t size, TimePoint now) {
    open(s, now);
    request(s, job, size, now);
    ASSERT_EQ(calc_sent(0, s), msg(MessageType::accept, job, size, 0)) << text();
  }

  // Operations as text: "s1 ACCEPT 7 2000000 0", "s1 COOKIE 7 2000000 1000000",
  // "s1 ASAP <type>", "s1 close"; a send that does not decode is a test failure.
  Ops ops() const {
    Ops v;
    for (const auto& op : out.ops) {
      const std::string who = "s" + std::to_string(op.session) + " ";
      if (op.kind == SessionOp::Kind::close) {
        v.push_back(who + "close");
      } else if (op.ppid == w::kPpidCalcApp) {
        const auto m = calc::decode_message(op.message);
        if (!m) ADD_FAILURE() << "undecodable CalcApp message: " << m.error().message();
        v.push_back(who + (m ? show(*m) : "?"));
      } else if (op.ppid == w::kPpidAsap) {
        const auto c = asap_cookie(op);
        if (c) {
          v.push_back(who + "COOKIE " + std::to_string(c->job_id) + " " +
                      std::to_string(c->job_size) + " " + std::to_string(c->completed));
        } else {
          const auto d = w::decode_asap(op.message);
          v.push_back(who + (d ? "ASAP " + std::to_string(static_cast<int>(
                                               asap::type_of(d->message)))
                               : "ASAP ?"));
        }
      } else {
        ADD_FAILURE() << "send on PPID " << op.ppid;
        v.push_back(who + "PPID " + std::to_string(op.ppid));
      }
    }
    return v;
  }

  // The i-th op, which must be a CalcApp send to `s`, decoded.
  std::optional<calc::Message> calc_sent(std::size_t i, SessionId s) const {
    if (i >= out.ops.size() || out.ops[i].kind != SessionOp::Kind::send ||
        out.ops[i].ppid != w::kPpidCalcApp) {
      ADD_FAILURE() << "op " << i << " is not a CalcApp send; ops: "
                    << testing::PrintToString(ops());
      return std::nullopt;
    }
    EXPECT_EQ(out.ops[i].session, s);
    const auto m = calc::decode_message(out.ops[i].message);
    if (!m) {
      ADD_FAILURE() << m.error().message();
      return std::nullopt;
    }
    return *m;
  }

  // The calcapp cookie inside an ASAP COOKIE op (PPID 11), or nullopt.
  static std::optional<calc::Cookie> asap_cookie(const SessionOp& op) {
    if (op.kind != SessionOp::Kind::send || op.ppid != w::kPpidAsap) return std::nullopt;
    const auto d = w::decode_asap(op.message);
    if (!d) {
      ADD_FAILURE() << "undecodable ASAP message: " << d.error().message();
      return std::nullopt;
    }
    const auto* c = std::get_if<asap::Cookie>(&d->message);
    if (c == nullptr) return std::nullopt;
    const auto cookie = calc::decode_cookie(c->cookie);
    if (!cookie) {
      ADD_FAILURE() << "undecodable CalcApp cookie: " << cookie.error().message();
      return std::nullopt;
    }
    return *cookie;
  }

  // The last input's events of that name (all of them checked against their structs).
  std::vector<json> events(std::string_view name) const {
    std::vector<json> v;
    for (const auto& e : out.events) {
      typed_events::expect_has_struct(typed_events::Role::pe, e);
      if (e.value("event", "") == name) v.push_back(e);
    }
    return v;
  }
  json event(std::string_view name) const {
    const auto v = events(name);
    if (v.size() != 1) {
      ADD_FAILURE() << "expected one '" << name << "' event, got " << v.size() << ": " << text();
      return json::object();
    }
    return v[0];
  }
  std::vector<std::string> names() const {
    std::vector<std::string> v;
    for (const auto& e : out.events) v.push_back(e.value("event", ""));
    return v;
  }
  std::string text() const { return json(out.events).dump(); }

  std::optional<nanoseconds> deadline() const {
    const auto d = svc.next_deadline();
    if (!d) return std::nullopt;
    return *d - T0;
  }

  calc::CalcAppService svc;
  ses::ServiceActions out;
};

std::string op(SessionId s, const calc::Message& m) {
  return "s" + std::to_string(s) + " " + show(m);
}
std::string cookie_op(SessionId s, std::uint32_t job, std::uint64_t size, std::uint64_t done) {
  return "s" + std::to_string(s) + " COOKIE " + std::to_string(job) + " " +
         std::to_string(size) + " " + std::to_string(done);
}
std::string close_op(SessionId s) { return "s" + std::to_string(s) + " close"; }
std::string complete_op(SessionId s, std::uint32_t job, std::uint64_t size) {
  return op(s, msg(MessageType::complete, job, size, size));
}

// ---------------------------------------------------------------------------------------
// Sessions and admission

TEST(PeServiceAdmission, OpenedSessionIsTrackedAndReported) {
  auto c = make_config();
  c.keepalive_interval = milliseconds(2500);
  Service h(c);
  EXPECT_EQ(h.deadline(), std::nullopt);
  h.open(5, at(100));
  EXPECT_EQ(h.event("session_opened")["session"], 5);
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.svc.sessions(), 1u);
  EXPECT_EQ(h.svc.counters().sessions, 1u);
  EXPECT_EQ(h.deadline(), milliseconds(2600));  // keep-alive from the open
}

TEST(PeServiceAdmission, RequestIsAcceptedWithItsJobLoadAndEvents) {
  Service h;
  h.open(1, at(0));
  h.request(1, 77, 2'000'000, at(10));
  EXPECT_EQ(h.ops(), Ops{op(1, msg(MessageType::accept, 77, 2'000'000, 0))});
  const auto ev = h.event("job_accepted");
  EXPECT_EQ(ev["session"], 1);
  EXPECT_EQ(ev["job"], 77);
  EXPECT_EQ(ev["size"], 2'000'000);
  EXPECT_EQ(ev["completed"], 0);
  EXPECT_EQ(ev["resumed"], false);
  EXPECT_EQ(ev["jobs"], 1);
  EXPECT_DOUBLE_EQ(ev["load"].get<double>(), 0.5);
  const auto load = h.event("load_changed");
  EXPECT_DOUBLE_EQ(load["load"].get<double>(), 0.5);
  EXPECT_EQ(load["jobs"], 1);
  EXPECT_EQ(h.svc.jobs(), 1u);
  EXPECT_EQ(h.svc.load(), kOne / 2);
  EXPECT_EQ(h.svc.counters().accepted, 1u);
  EXPECT_EQ(h.svc.counters().resumed, 0u);
}

TEST(PeServiceAdmission, RejectsAboveMaxJobsAndLeavesTheSessionOpen) {
  Service h(make_config(2));
  h.start_job(1, 11, 5'000'000, at(0));
  h.start_job(2, 22, 5'000'000, at(0));
  h.open(3, at(0));
  h.request(3, 33, 4'000'000, at(100));
  EXPECT_EQ(h.ops(), Ops{op(3, msg(MessageType::reject, 33, 4'000'000, 0))});
  const auto ev = h.event("job_rejected");
  EXPECT_EQ(ev["session"], 3);
  EXPECT_EQ(ev["job"], 33);
  EXPECT_EQ(ev["size"], 4'000'000);
  EXPECT_EQ(ev["jobs"], 2);
  EXPECT_TRUE(h.events("load_changed").empty());
  EXPECT_TRUE(h.events("session_closed").empty());
  EXPECT_EQ(h.svc.sessions(), 3u);
  EXPECT_EQ(h.svc.jobs(), 2u);
  EXPECT_EQ(h.svc.counters().rejected, 1u);
  EXPECT_EQ(h.svc.counters().accepted, 2u);

  // The rejected session stays usable: once a slot is free its next REQUEST is accepted.
  h.calc_in(1, msg(MessageType::abort, 11), at(200));
  h.request(3, 34, 1'000'000, at(300));
  EXPECT_EQ(h.ops(), Ops{op(3, msg(MessageType::accept, 34, 1'000'000, 0))});
}

TEST(PeServiceAdmission, SecondRequestOnABusySessionIsDiscarded) {
  Service h(make_config(3));
  h.start_job(1, 1, 5'000'000, at(0));
  h.request(1, 2, 1'000'000, at(10));
  EXPECT_TRUE(h.out.ops.empty());
  const auto ev = h.event("message_discarded");
  EXPECT_EQ(ev["session"], 1);
  EXPECT_EQ(ev["ppid"], w::kPpidCalcApp);
  EXPECT_EQ(h.svc.jobs(), 1u);
  EXPECT_EQ(h.svc.counters().discarded, 1u);
  // The job in service is the first one.
  EXPECT_EQ(h.svc.server().job(1)->size, 5'000'000u);
}

TEST(PeServiceAdmission, EmptyJobCompletesInTheSameInput) {
  Service h;
  h.open(1, at(0));
  h.request(1, 9, 0, at(5));
  EXPECT_EQ(h.ops(), (Ops{op(1, msg(MessageType::accept, 9, 0, 0)), complete_op(1, 9, 0)}));
  EXPECT_EQ(h.names(),
            (std::vector<std::string>{"job_accepted", "job_completed"}));  // load back to 0
  EXPECT_EQ(h.svc.jobs(), 0u);
  EXPECT_EQ(h.svc.counters().completed, 1u);
}

// ---------------------------------------------------------------------------------------
// Processor sharing

TEST(PeServiceSharing, JobAloneCompletesAtSizeOverCapacityExactly) {
  Service h;
  h.start_job(1, 42, 2'000'000, at(0));
  EXPECT_EQ(h.svc.next_deadline(), at(2000));
  h.tick(at(2000) - nanoseconds(1));
  EXPECT_TRUE(h.out.ops.empty()) << testing::PrintToString(h.ops());
  h.tick(at(2000));
  EXPECT_EQ(h.ops(), Ops{complete_op(1, 42, 2'000'000)});
  const auto ev = h.event("job_completed");
  EXPECT_EQ(ev["session"], 1);
  EXPECT_EQ(ev["job"], 42);
  EXPECT_EQ(ev["size"], 2'000'000);
  EXPECT_DOUBLE_EQ(h.event("load_changed")["load"].get<double>(), 0.0);
  EXPECT_EQ(h.svc.load(), 0u);
  EXPECT_EQ(h.svc.counters().completed, 1u);
  EXPECT_EQ(h.svc.sessions(), 1u);  // the PU closes the session
  EXPECT_EQ(h.deadline(), milliseconds(3'600'000));  // only the keep-alive is left
}

TEST(PeServiceSharing, TwoEqualJobsShareTheCapacityAndCompleteTogether) {
  Service h;
  h.start_job(1, 1, 1'000'000, at(0));
  h.start_job(2, 2, 1'000'000, at(0));
  EXPECT_EQ(h.svc.next_deadline(), at(2000));
  h.tick(at(1000));
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(2000));
  Ops got = h.ops();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (Ops{complete_op(1, 1, 1'000'000), complete_op(2, 2, 1'000'000)}));
  EXPECT_EQ(h.events("job_completed").size(), 2u);
  EXPECT_EQ(h.event("load_changed")["jobs"], 0);  // one event for the net change
}

// Issue 12: at a crash the service tells each job's progress at that instant (processor
// sharing included), after what fell due by then; a completed job is not listed.
TEST(PeServiceSharing, ProgressAtAnInstantIsEachJobsSharedProgress) {
  Service h(make_config(3));
  h.start_job(1, 11, 4'000'000, at(0));
  h.start_job(2, 12, 500'000, at(1000));  // shares from 1 s: done at 2 s
  h.open(3, at(1000));                      // a session without a job
  h.out.clear();
  const auto jobs = h.svc.progress(at(2500), h.out);
  EXPECT_EQ(h.ops(), (Ops{complete_op(2, 12, 500'000)}));  // fell due at 2 s
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].session, 1u);
  EXPECT_EQ(jobs[0].job, 11u);
  EXPECT_EQ(jobs[0].size, 4'000'000u);
  // 1e6 alone for 1 s, 0.5e6 for 1 s, 1e6 alone for 0.5 s.
  EXPECT_EQ(jobs[0].completed, 2'000'000u);
}

TEST(PeServiceSharing, LateArrivalSlowsTheFirstJobDown) {
  Service h(make_config(3));
  h.start_job(1, 1, 3'000'000, at(0));  // alone for 1 s: 1e6 done
  h.start_job(2, 2, 1'000'000, at(1000));
  // Shared 0.5e6/s each: job 2 is done at 3 s (job 1 at 2e6), job 1 alone again until 4 s.
  EXPECT_EQ(h.svc.next_deadline(), at(3000));
  h.tick(at(3000));
  EXPECT_EQ(h.ops(), Ops{complete_op(2, 2, 1'000'000)});
  EXPECT_EQ(h.svc.server().job(1)->completed, 2'000'000u);
  EXPECT_EQ(h.svc.next_deadline(), at(4000));
  h.tick(at(4000));
  EXPECT_EQ(h.ops(), Ops{complete_op(1, 1, 3'000'000)});
}

TEST(PeServiceSharing, CompletionIsReportedByAnyInputNotOnlyTick) {
  Service h(make_config(3));
  h.start_job(1, 1, 1'000'000, at(0));
  h.open(2, at(1500));  // the job completed at 1 s
  EXPECT_EQ(h.ops(), Ops{complete_op(1, 1, 1'000'000)});
  EXPECT_EQ(h.names(), (std::vector<std::string>{"job_completed", "session_opened",
                                                 "load_changed"}));
}

TEST(PeServiceSharing, RequestAtACompletionInstantKeepsTheLoadWithoutAnEvent) {
  Service h(make_config(3));
  h.start_job(1, 1, 1'000'000, at(0));
  h.open(2, at(0));
  h.request(2, 2, 1'000'000, at(1000));  // job 1 completes, job 2 arrives: still one job
  EXPECT_EQ(h.ops(), (Ops{complete_op(1, 1, 1'000'000),
                          op(2, msg(MessageType::accept, 2, 1'000'000, 0))}));
  EXPECT_TRUE(h.events("load_changed").empty()) << h.text();
  EXPECT_EQ(h.svc.load(), kOne / 3);
}

// ---------------------------------------------------------------------------------------
// Cookies

TEST(PeServiceCookies, ByTimeCarryTheProgressAtEachInterval) {
  auto c = make_config(3);
  c.server.cookie_interval = milliseconds(1000);
  Service h(c);
  h.start_job(1, 5, 3'000'000, at(0));
  EXPECT_EQ(h.svc.next_deadline(), at(1000));
  h.tick(at(1000));
  EXPECT_EQ(h.ops(), Ops{cookie_op(1, 5, 3'000'000, 1'000'000)});
  const auto ev = h.event("cookie_sent");
  EXPECT_EQ(ev["session"], 1);
  EXPECT_EQ(ev["job"], 5);
  EXPECT_EQ(ev["size"], 3'000'000);
  EXPECT_EQ(ev["completed"], 1'000'000);
  EXPECT_EQ(h.out.ops[0].ppid, w::kPpidAsap);
  h.tick(at(2000));
  EXPECT_EQ(h.ops(), Ops{cookie_op(1, 5, 3'000'000, 2'000'000)});
  h.tick(at(3000));  // completes: no cookie of a finished job
  EXPECT_EQ(h.ops(), Ops{complete_op(1, 5, 3'000'000)});
  EXPECT_EQ(h.svc.counters().cookies, 2u);
}

TEST(PeServiceCookies, ByTimeUnderSharingCarryTheSharedProgress) {
  auto c = make_config(3);
  c.server.cookie_interval = milliseconds(1000);
  Service h(c);
  h.start_job(1, 1, 4'000'000, at(0));
  h.start_job(2, 2, 4'000'000, at(0));
  h.tick(at(1000));
  Ops got = h.ops();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (Ops{cookie_op(1, 1, 4'000'000, 500'000), cookie_op(2, 2, 4'000'000, 500'000)}));
  EXPECT_EQ(h.events("cookie_sent").size(), 2u);
}

TEST(PeServiceCookies, ByCalculationsComeEveryXCalculations) {
  auto c = make_config(3);
  c.server.cookie_calculations = 1e6;
  Service h(c);
  h.start_job(1, 1, 3'000'000, at(0));
  h.start_job(2, 2, 3'000'000, at(0));
  // 0.5e6/s each: 1e6 calculations every 2 s, completion at 6 s.
  for (const std::int64_t t : {2000, 4000}) {
    EXPECT_EQ(h.svc.next_deadline(), at(t));
    h.tick(at(t));
    Ops got = h.ops();
    std::sort(got.begin(), got.end());
    const std::uint64_t done = static_cast<std::uint64_t>(t) * 500;
    EXPECT_EQ(got, (Ops{cookie_op(1, 1, 3'000'000, done), cookie_op(2, 2, 3'000'000, done)}))
        << "at " << t;
  }
  EXPECT_EQ(h.svc.next_deadline(), at(6000));
  h.tick(at(6000));
  EXPECT_EQ(h.events("cookie_sent").size(), 0u);
  EXPECT_EQ(h.events("job_completed").size(), 2u);
  EXPECT_EQ(h.svc.counters().cookies, 4u);
}

TEST(PeServiceCookies, WhicheverComesFirstOfTimeAndCalculations) {
  auto c = make_config(3);
  c.server.cookie_interval = milliseconds(5000);
  c.server.cookie_calculations = 2e6;
  Service h(c);
  h.start_job(1, 1, 10'000'000, at(0));
  EXPECT_EQ(h.svc.next_deadline(), at(2000));  // 2e6 calculations after 2 s, alone
  h.tick(at(2000));
  EXPECT_EQ(h.ops(), Ops{cookie_op(1, 1, 10'000'000, 2'000'000)});
}

TEST(PeServiceCookies, CookieEchoResumesFromTheCookiesProgress) {
  Service h;
  h.open(1, at(0));
  h.echo(1, calc::Cookie{9, 3'000'000, 2'000'000}, at(100));
  EXPECT_EQ(h.ops(), Ops{op(1, msg(MessageType::accept, 9, 3'000'000, 2'000'000))});
  const auto ev = h.event("job_accepted");
  EXPECT_EQ(ev["resumed"], true);
  EXPECT_EQ(ev["job"], 9);
  EXPECT_EQ(ev["size"], 3'000'000);
  EXPECT_EQ(ev["completed"], 2'000'000);
  EXPECT_EQ(h.svc.counters().resumed, 1u);
  EXPECT_EQ(h.svc.counters().accepted, 1u);
  // The remaining 1e6 calculations take 1 s.
  EXPECT_EQ(h.svc.next_deadline(), at(1100));
  h.tick(at(1100));
  EXPECT_EQ(h.ops(), Ops{complete_op(1, 9, 3'000'000)});
}

TEST(PeServiceCookies, CookieEchoOnAFullServerIsRejectedWithTheCookiesState) {
  Service h(make_config(1));
  h.start_job(1, 1, 5'000'000, at(0));
  h.open(2, at(0));
  h.echo(2, calc::Cookie{9, 3'000'000, 2'000'000}, at(100));
  EXPECT_EQ(h.ops(), Ops{op(2, msg(MessageType::reject, 9, 3'000'000, 2'000'000))});
  EXPECT_EQ(h.event("job_rejected")["job"], 9);
  EXPECT_EQ(h.svc.counters().resumed, 0u);
}

TEST(PeServiceCookies, BadCookieEchoesAreDiscarded) {
  Service h(make_config(3));
  h.open(1, at(0));
  h.asap_in(1, asap::CookieEcho{Bytes{1, 2, 3, 4, 5}}, at(1));  // not 20 bytes
  EXPECT_EQ(h.event("message_discarded")["ppid"], w::kPpidAsap);
  h.echo(1, calc::Cookie{1, 10, 11}, at(2));  // completed above the size
  EXPECT_EQ(h.event("message_discarded")["session"], 1);
  EXPECT_TRUE(h.out.ops.empty());
  // Echo while a job is in service.
  h.request(1, 3, 1'000'000, at(3));
  h.echo(1, calc::Cookie{3, 1'000'000, 10}, at(4));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_EQ(h.events("message_discarded").size(), 1u);
  EXPECT_EQ(h.svc.jobs(), 1u);
  EXPECT_EQ(h.svc.counters().discarded, 3u);
  EXPECT_EQ(h.svc.counters().resumed, 0u);
}

TEST(PeServiceCookies, ResumedJobGetsCookiesFromItsResumedProgress) {
  auto c = make_config(1);
  c.server.cookie_calculations = 1e6;
  Service h(c);
  h.open(1, at(0));
  h.echo(1, calc::Cookie{4, 5'000'000, 2'500'000}, at(0));
  h.tick(at(1000));
  EXPECT_EQ(h.ops(), Ops{cookie_op(1, 4, 5'000'000, 3'500'000)});
}

// ---------------------------------------------------------------------------------------
// Keep-alives and lost sessions

TEST(PeServiceKeepAlive, KeepAliveIsAnsweredWithTheCurrentProgress) {
  Service h;
  h.open(1, at(0));
  h.calc_in(1, msg(MessageType::keepalive), at(10));  // no job: zeros
  EXPECT_EQ(h.ops(), Ops{op(1, msg(MessageType::keepalive_ack, 0, 0, 0))});
  h.request(1, 8, 2'000'000, at(0 + 100));
  h.calc_in(1, msg(MessageType::keepalive, 8), at(600));
  EXPECT_EQ(h.ops(), Ops{op(1, msg(MessageType::keepalive_ack, 8, 2'000'000, 500'000))});
  h.calc_in(1, msg(MessageType::keepalive), at(3000));  // completed at 2.1 s: zeros again
  EXPECT_EQ(h.ops(), (Ops{complete_op(1, 8, 2'000'000),
                          op(1, msg(MessageType::keepalive_ack, 0, 0, 0))}));
}

TEST(PeServiceKeepAlive, SilentSessionGetsKeepAliveThenTimesOutAndFreesItsSlot) {
  auto c = make_config(1);
  c.keepalive_interval = milliseconds(2500);
  c.keepalive_timeout = milliseconds(2500);
  Service h(c);
  h.start_job(1, 3, 100'000'000, at(0));
  EXPECT_EQ(h.svc.next_deadline(), at(2500));
  h.tick(at(2499));
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(2500));
  EXPECT_EQ(h.ops(), Ops{op(1, msg(MessageType::keepalive, 3, 100'000'000, 2'500'000))});
  EXPECT_EQ(h.svc.next_deadline(), at(5000));
  h.tick(at(4999));
  EXPECT_TRUE(h.out.ops.empty());  // one KEEPALIVE outstanding at a time
  h.tick(at(5000));
  EXPECT_EQ(h.ops(), Ops{close_op(1)});
  const auto aborted = h.event("job_aborted");
  EXPECT_EQ(aborted["session"], 1);
  EXPECT_EQ(aborted["job"], 3);
  EXPECT_EQ(aborted["size"], 100'000'000);
  EXPECT_EQ(aborted["completed"], 5'000'000);
  EXPECT_EQ(aborted["cause"], "keepalive_timeout");
  const auto closed = h.event("session_closed");
  EXPECT_EQ(closed["session"], 1);
  EXPECT_EQ(closed["cause"], "keepalive_timeout");
  EXPECT_EQ(h.event("load_changed")["jobs"], 0);
  EXPECT_EQ(h.svc.sessions(), 0u);
  EXPECT_EQ(h.svc.jobs(), 0u);
  EXPECT_EQ(h.svc.counters().keepalive_timeouts, 1u);
  EXPECT_EQ(h.svc.counters().aborted, 1u);
  EXPECT_EQ(h.deadline(), std::nullopt);
  // Capacity is free again: a new PU's job is accepted.
  h.open(2, at(5001));
  h.request(2, 4, 1000, at(5001));
  EXPECT_EQ(h.ops(), Ops{op(2, msg(MessageType::accept, 4, 1000, 0))});
  // The dead session takes nothing.
  h.calc_in(1, msg(MessageType::keepalive_ack), at(5002));
  EXPECT_EQ(h.event("message_discarded")["reason"], "unknown session");
}

TEST(PeServiceKeepAlive, AnAnswerClearsTheOutstandingKeepAlive) {
  auto c = make_config(1);
  c.keepalive_interval = milliseconds(2500);
  c.keepalive_timeout = milliseconds(2500);
  Service h(c);
  h.open(1, at(0));
  h.tick(at(2500));
  EXPECT_EQ(h.ops(), Ops{op(1, msg(MessageType::keepalive, 0, 0, 0))});
  h.calc_in(1, msg(MessageType::keepalive_ack), at(3000));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_TRUE(h.out.events.empty());
  EXPECT_EQ(h.svc.next_deadline(), at(5500));  // silent again from 3 s
  h.tick(at(5000));
  EXPECT_TRUE(h.out.ops.empty());
  h.tick(at(5500));
  EXPECT_EQ(h.ops(), Ops{op(1, msg(MessageType::keepalive, 0, 0, 0))});
  EXPECT_EQ(h.svc.counters().keepalive_timeouts, 0u);
}

TEST(PeServiceKeepAlive, AnyValidMessageCountsAsHeardButMalformedBytesDoNot) {
  auto c = make_config(1);
  c.keepalive_interval = milliseconds(2500);
  Service h(c);
  h.open(1, at(0));
  h.calc_in(1, msg(MessageType::complete, 1, 2, 2), at(2000));  // unexpected, yet alive
  EXPECT_EQ(h.events("message_discarded").size(), 1u);
  EXPECT_EQ(h.svc.next_deadline(), at(4500));
  h.asap_in(1, asap::Cookie{Bytes{1, 2, 3, 4}}, at(4000));  // ASAP a PE does not take
  EXPECT_EQ(h.events("message_discarded").size(), 1u);
  EXPECT_EQ(h.svc.next_deadline(), at(6500));
  h.raw(1, w::kPpidCalcApp, Bytes{1, 0, 0}, at(6000));  // malformed: not heard
  EXPECT_EQ(h.svc.next_deadline(), at(6500));
}

TEST(PeServiceKeepAlive, LateTickSendsTheKeepAliveBeforeTimingOut) {
  auto c = make_config(1);
  c.keepalive_interval = milliseconds(2500);
  c.keepalive_timeout = milliseconds(2500);
  Service h(c);
  h.open(1, at(0));
  h.tick(at(60'000));  // way past interval + timeout: the PU still gets its chance
  EXPECT_EQ(h.ops(), Ops{op(1, msg(MessageType::keepalive, 0, 0, 0))});
  EXPECT_EQ(h.svc.next_deadline(), at(62'500));
}

TEST(PeServiceLost, ClosedSessionFreesItsCapacity) {
  Service h(make_config(1));
  h.start_job(1, 6, 4'000'000, at(0));
  h.open(2, at(0));
  h.request(2, 7, 1000, at(0));
  ASSERT_EQ(h.ops(), Ops{op(2, msg(MessageType::reject, 7, 1000, 0))});
  h.close(1, at(1000));
  EXPECT_TRUE(h.out.ops.empty());  // the shell has nothing left to close
  const auto aborted = h.event("job_aborted");
  EXPECT_EQ(aborted["job"], 6);
  EXPECT_EQ(aborted["completed"], 1'000'000);
  EXPECT_EQ(aborted["cause"], "session_lost");
  EXPECT_EQ(h.event("session_closed")["cause"], "peer");
  EXPECT_DOUBLE_EQ(h.event("load_changed")["load"].get<double>(), 0.0);
  EXPECT_EQ(h.svc.counters().aborted, 1u);
  EXPECT_EQ(h.svc.sessions(), 1u);
  h.request(2, 7, 1000, at(1001));
  EXPECT_EQ(h.ops(), Ops{op(2, msg(MessageType::accept, 7, 1000, 0))});
}

TEST(PeServiceLost, ClosingAnIdleOrUnknownSessionIsHarmless) {
  Service h;
  h.close(99, at(0));
  EXPECT_TRUE(h.out.ops.empty());
  EXPECT_TRUE(h.out.events.empty());
  h.open(1, at(0));
  h.close(1, at(10));
  EXPECT_EQ(h.names(), std::vector<std::string>{"session_closed"});
  h.close(1, at(20));  // twice
  EXPECT_TRUE(h.out.events.empty());
  EXPECT_EQ(h.svc.sessions(), 0u);
  EXPECT_EQ(h.deadline(), std::nullopt);
}

TEST(PeServiceLost, NothingIsSentOnASessionClosedAsItsJobCompletes) {
  Service h;
  h.start_job(1, 6, 1'000'000, at(0));
  h.start_job(2, 7, 1'000'000, at(0));
  h.close(1, at(2000));  // both completed at 2 s; the COMPLETE to 1 has nowhere to go
  EXPECT_EQ(h.ops(), Ops{complete_op(2, 7, 1'000'000)});
  EXPECT_EQ(h.events("job_completed").size(), 2u);
  EXPECT_TRUE(h.events("job_aborted").empty());
  EXPECT_EQ(h.svc.counters().completed, 2u);
}

TEST(PeServiceLost, AbortRemovesTheNamedJob) {
  Service h;
  h.start_job(1, 6, 4'000'000, at(0));
  h.calc_in(1, msg(MessageType::abort, 5), at(500));  // not its job
  EXPECT_EQ(h.event("message_discarded")["session"], 1);
  EXPECT_EQ(h.svc.jobs(), 1u);
  h.calc_in(1, msg(MessageType::abort, 6), at(1000));
  EXPECT_TRUE(h.out.ops.empty());
  const auto ev = h.event("job_aborted");
  EXPECT_EQ(ev["job"], 6);
  EXPECT_EQ(ev["size"], 4'000'000);
  EXPECT_EQ(ev["completed"], 1'000'000);
  EXPECT_EQ(ev["cause"], "abort");
  EXPECT_EQ(h.svc.jobs(), 0u);
  EXPECT_EQ(h.svc.sessions(), 1u);
  EXPECT_EQ(h.svc.counters().aborted, 1u);
  h.calc_in(1, msg(MessageType::abort, 6), at(1100));  // gone already
  EXPECT_EQ(h.events("message_discarded").size(), 1u);
}

// Producer and store agree (tests/common/typed_events.hpp): sessions, an accepted, a
// rejected, an aborted and a completed job, cookies, load and usage write every PE service
// event that has a struct in stack/common/events.hpp, and each parses back through it.
TEST(PeServiceEvents, EveryTypedEventParsesBackThroughItsStruct) {
  namespace ev = rsplab::common;
  calc::ServiceConfig c = make_config(1);
  c.server.cookie_interval = milliseconds(1000);
  c.usage_interval = milliseconds(1000);
  Service h(c);
  std::vector<json> log;
  const auto keep = [&] { log.insert(log.end(), h.out.events.begin(), h.out.events.end()); };
  h.start_job(1, 6, 4'000'000, at(0));
  keep();
  h.open(2, at(0));
  keep();
  h.request(2, 7, 1000, at(0));  // full: job_rejected
  keep();
  h.tick(at(1500));  // usage and a cookie at 1 s
  keep();
  h.close(1, at(2000));  // job_aborted, session_closed
  keep();
  h.request(2, 8, 1000, at(2001));
  keep();
  h.tick(at(3000));  // job_completed
  keep();
  std::set<std::string> typed;
  for (const json& e : log)
    if (typed_events::expect_typed(typed_events::Role::pe, e)) typed.insert(e["event"]);
  EXPECT_EQ(typed, (std::set<std::string>{
                       ev::SessionOpenedEvent::kName, ev::SessionClosedEvent::kName,
                       ev::JobAcceptedEvent::kName, ev::PeJobRejectedEvent::kName,
                       ev::JobCompletedEvent::kName, ev::JobAbortedEvent::kName,
                       ev::CookieSentEvent::kName, ev::LoadChangedEvent::kName,
                       ev::UsageEvent::kName}));
  for (const json& e : log) {
    if (e["event"] == "job_aborted") {
      EXPECT_EQ(e.get<ev::JobAbortedEvent>().completed, 2'000'000);
    } else if (e["event"] == "load_changed") {
      EXPECT_TRUE(e.get<ev::LoadChangedEvent>().from_service);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Load and usage

TEST(PeServiceLoad, LoadFollowsTheJobsWithOneEventPerChange) {
  Service h(make_config(4));
  std::vector<double> seen;
  for (SessionId s = 1; s <= 4; ++s) {
    h.start_job(s, static_cast<std::uint32_t>(s), 10'000'000, at(0));
    seen.push_back(h.event("load_changed")["load"].get<double>());
    EXPECT_EQ(h.event("load_changed")["jobs"], s);
    EXPECT_EQ(h.svc.load(), static_cast<std::uint32_t>(s * kOne / 4));
  }
  EXPECT_EQ(seen, (std::vector<double>{0.25, 0.5, 0.75, 1.0}));
  EXPECT_EQ(h.svc.load(), kOne);
  h.open(5, at(0));
  h.request(5, 5, 1, at(0));  // rejected: no change
  EXPECT_TRUE(h.events("load_changed").empty());
  h.close(2, at(10));
  EXPECT_DOUBLE_EQ(h.event("load_changed")["load"].get<double>(), 0.75);
  h.calc_in(1, msg(MessageType::keepalive), at(20));  // no change: no event
  EXPECT_TRUE(h.events("load_changed").empty());
}

TEST(PeServiceUsage, BusyServerUsesItsWholeCapacityInEveryWindow) {
  auto c = make_config(3);
  c.usage_interval = milliseconds(1000);
  Service h(c);
  h.start_job(1, 1, 3'000'000, at(0));
  h.start_job(2, 2, 4'000'000, at(500));
  h.start_job(3, 3, 3'000'000, at(700));  // 10^7 calculations: busy until exactly 10 s
  double calculations = 0, offered = 0;
  int windows = 0;
  for (TimePoint t = at(0); t < at(10'000);) {
    t = *h.svc.next_deadline();
    h.tick(t);
    for (const auto& u : h.events("usage")) {
      ++windows;
      EXPECT_DOUBLE_EQ(u["offered"].get<double>(), 1e6);
      EXPECT_NEAR(u["calculations"].get<double>(), 1e6, 1e-3) << "window " << windows;
      EXPECT_NEAR(u["utilization"].get<double>(), 1.0, 1e-9);
      calculations += u["calculations"].get<double>();
      offered += u["offered"].get<double>();
    }
  }
  EXPECT_EQ(windows, 10);
  EXPECT_NEAR(calculations, 1e7, 1e-2);  // capacity × time
  EXPECT_DOUBLE_EQ(offered, 1e7);
  EXPECT_EQ(h.svc.counters().completed, 3u);
  // Idle afterwards: nothing used.
  EXPECT_EQ(h.svc.next_deadline(), at(11'000));
  h.tick(at(11'000));
  EXPECT_DOUBLE_EQ(h.event("usage")["calculations"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(h.event("usage")["utilization"].get<double>(), 0.0);
}

TEST(PeServiceUsage, PartlyBusyWindowAndLateInputsKeepExactWindows) {
  auto c = make_config(3);
  c.usage_interval = milliseconds(1000);
  Service h(c);
  h.start_job(1, 1, 500'000, at(0));  // busy for the first half second
  EXPECT_EQ(h.svc.next_deadline(), at(500));
  // A late input reports every window it passed, each exactly one interval long.
  h.open(2, at(3500));
  const auto usage = h.events("usage");
  ASSERT_EQ(usage.size(), 3u);
  EXPECT_DOUBLE_EQ(usage[0]["calculations"].get<double>(), 500'000);
  EXPECT_DOUBLE_EQ(usage[0]["utilization"].get<double>(), 0.5);
  for (const auto& u : usage) EXPECT_DOUBLE_EQ(u["offered"].get<double>(), 1e6);
  EXPECT_DOUBLE_EQ(usage[1]["calculations"].get<double>(), 0);
  EXPECT_EQ(h.events("job_completed").size(), 1u);
  EXPECT_EQ(h.svc.next_deadline(), at(4000));
}

TEST(PeServiceUsage, NoUsageEventsWhenTheIntervalIsZero) {
  Service h;  // usage_interval 0
  h.start_job(1, 1, 1'000'000, at(0));
  h.tick(at(100'000));
  EXPECT_TRUE(h.events("usage").empty());
}

// ---------------------------------------------------------------------------------------
// Shutdown

TEST(PeServiceShutdown, WithPOneEveryJobGetsAFreshCookieThenAllSessionsClose) {
  auto c = make_config(3);
  c.shutdown_cookie_probability = 1.0;
  Service h(c);
  h.start_job(1, 1, 4'000'000, at(0));
  h.start_job(2, 2, 4'000'000, at(0));
  h.open(3, at(0));  // no job
  h.shutdown(at(1000));
  EXPECT_EQ(h.ops(), (Ops{cookie_op(1, 1, 4'000'000, 500'000),
                          cookie_op(2, 2, 4'000'000, 500'000), close_op(1), close_op(2),
                          close_op(3)}));
  EXPECT_EQ(h.events("cookie_sent").size(), 2u);
  const auto closed = h.events("session_closed");
  ASSERT_EQ(closed.size(), 3u);
  for (const auto& e : closed) EXPECT_EQ(e["cause"], "shutdown");
  const auto aborted = h.events("job_aborted");
  ASSERT_EQ(aborted.size(), 2u);
  for (const auto& e : aborted) EXPECT_EQ(e["cause"], "shutdown");
  EXPECT_TRUE(h.events("load_changed").empty());  // the PE is leaving
  EXPECT_EQ(h.svc.counters().cookies, 2u);
  EXPECT_EQ(h.svc.sessions(), 0u);
  EXPECT_EQ(h.svc.jobs(), 0u);
  EXPECT_EQ(h.deadline(), std::nullopt);

  // It takes nothing afterwards.
  h.open(4, at(1001));
  EXPECT_TRUE(h.out.ops.empty() && h.out.events.empty());
  h.request(4, 4, 1, at(1002));
  EXPECT_TRUE(h.out.ops.empty() && h.out.events.empty());
  h.close(1, at(1003));
  h.tick(at(100'000));
  h.shutdown(at(100'001));
  EXPECT_TRUE(h.out.ops.empty() && h.out.events.empty());
  EXPECT_EQ(h.svc.counters().discarded, 0u);
  EXPECT_EQ(h.deadline(), std::nullopt);
}

TEST(PeServiceShutdown, WithPZeroNoCookiesButEverySessionCloses) {
  auto c = make_config(3);
  c.shutdown_cookie_probability = 0.0;
  Service h(c);
  h.start_job(1, 1, 4'000'000, at(0));
  h.start_job(2, 2, 4'000'000, at(0));
  h.shutdown(at(1000));
  EXPECT_EQ(h.ops(), (Ops{close_op(1), close_op(2)}));
  EXPECT_TRUE(h.events("cookie_sent").empty());
  EXPECT_EQ(h.svc.counters().cookies, 0u);
}

TEST(PeServiceShutdown, ReportsWhatFellDueBeforeTheShutdownCookies) {
  auto c = make_config(3);
  c.shutdown_cookie_probability = 1.0;
  Service h(c);
  h.start_job(1, 1, 1'000'000, at(0));
  h.start_job(2, 2, 5'000'000, at(0));
  h.shutdown(at(3000));  // job 1 completed at 2 s
  EXPECT_EQ(h.ops(), (Ops{complete_op(1, 1, 1'000'000), cookie_op(2, 2, 5'000'000, 2'000'000),
                          close_op(1), close_op(2)}));
}

TEST(PeServiceShutdown, FractionalPCookiesAboutThatShareOfTheJobs) {
  auto c = make_config(400);
  c.shutdown_cookie_probability = 0.25;
  Service h(c);
  for (SessionId s = 1; s <= 400; ++s)
    h.start_job(s, static_cast<std::uint32_t>(s), 1'000'000'000, at(0));
  h.shutdown(at(10));
  const auto cookies = h.events("cookie_sent").size();
  EXPECT_GT(cookies, 60u);   // mean 100, sd ~8.7
  EXPECT_LT(cookies, 140u);
  EXPECT_EQ(h.events("session_closed").size(), 400u);
}

// ---------------------------------------------------------------------------------------
// Discarded input and robustness

TEST(PeServiceDiscard, MalformedUnexpectedAndUnknownInputIsDiscarded) {
  Service h(make_config(3));
  h.start_job(1, 1, 5'000'000, at(0));
  struct Case {
    SessionId s;
    std::uint32_t ppid;
    Bytes bytes;
  };
  Bytes long_msg = calc::encode(msg(MessageType::request, 2, 10));
  long_msg.push_back(0);
  Bytes bad_type = calc::encode(msg(MessageType::request, 2, 10));
  bad_type[0] = 9;
  Bytes bad_len = calc::encode(msg(MessageType::request, 2, 10));
  bad_len[3] = 20;
  const std::vector<Case> cases = {
      {1, w::kPpidCalcApp, {}},
      {1, w::kPpidCalcApp, {1, 0, 0}},
      {1, w::kPpidCalcApp, long_msg},
      {1, w::kPpidCalcApp, bad_type},
      {1, w::kPpidCalcApp, bad_len},
      {1, w::kPpidCalcApp, calc::encode(msg(MessageType::request, 2, 10, 11))},  // done > size
      {1, w::kPpidCalcApp, calc::encode(msg(MessageType::accept, 1, 10))},
      {1, w::kPpidCalcApp, calc::encode(msg(MessageType::reject, 1, 10))},
      {1, w::kPpidCalcApp, calc::encode(msg(MessageType::complete, 1, 10, 10))},
      {1, w::kPpidAsap, {}},
      {1, w::kPpidAsap, {0x0c, 0, 0, 3}},
      {1, w::kPpidAsap, w::encode(asap::Message{asap::Cookie{calc::encode(calc::Cookie{})}})},
      {1, w::kPpidAsap, w::encode(asap::Message{asap::HandleResolution{"pool", std::nullopt}})},
      {1, w::kPpidEnrp, calc::encode(msg(MessageType::request, 2, 10))},
      {1, 0, calc::encode(msg(MessageType::keepalive))},
      {77, w::kPpidCalcApp, calc::encode(msg(MessageType::request, 2, 10))},
      {77, w::kPpidAsap, w::encode(asap::Message{asap::CookieEcho{calc::encode(calc::Cookie{})}})},
  };
  std::uint64_t n = 0;
  for (const auto& c : cases) {
    h.raw(c.s, c.ppid, c.bytes, at(10));
    ++n;
    EXPECT_TRUE(h.out.ops.empty()) << "case " << n - 1;
    const auto ev = h.event("message_discarded");
    EXPECT_EQ(ev["session"], c.s) << "case " << n - 1;
    EXPECT_EQ(ev["ppid"], c.ppid) << "case " << n - 1;
    EXPECT_FALSE(ev.value("reason", "").empty()) << "case " << n - 1;
    EXPECT_EQ(h.svc.counters().discarded, n);
  }
  EXPECT_EQ(h.events("message_discarded").back()["reason"], "unknown session");
  // The session and its job are untouched.
  EXPECT_EQ(h.svc.sessions(), 1u);
  EXPECT_EQ(h.svc.jobs(), 1u);
  EXPECT_EQ(h.svc.counters().accepted, 1u);
  EXPECT_EQ(h.svc.server().job(1)->completed, 10'000u);
}

// Random bytes on both PPIDs (plain noise, mutated valid messages, cookie echoes) with
// sessions opening and closing and time moving: no crash, every send decodes and goes to an
// open session, the bookkeeping adds up, and a tick leaves nothing due.
TEST(PeServiceDiscard, RandomizedInputKeepsTheServiceConsistent) {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    auto c = make_config(3);
    c.server.cookie_interval = milliseconds(700);
    c.server.cookie_calculations = 400'000;
    c.keepalive_interval = milliseconds(900);
    c.keepalive_timeout = milliseconds(600);
    c.usage_interval = milliseconds(1000);
    c.shutdown_cookie_probability = 0.5;
    c.seed = seed;
    Service h(c);
    rserpool::handlespace::Rng rng(seed);
    std::set<SessionId> open;
    SessionId next_id = 1;
    TimePoint now = T0;
    const auto pick = [&]() -> SessionId {
      if (open.empty() || rng.below(10) == 0) return next_id + rng.below(3);  // maybe unknown
      auto it = open.begin();
      std::advance(it, static_cast<long>(rng.below(open.size())));
      return *it;
    };
    const auto random_bytes = [&](std::size_t n) {
      Bytes b(n);
      for (auto& x : b) x = static_cast<std::uint8_t>(rng.next());
      return b;
    };
    for (int step = 0; step < 4000; ++step) {
      now += milliseconds(rng.below(300));
      const auto before = open;
      const auto r = rng.below(100);
      std::optional<SessionId> closed_by_shell;
      if (r < 8) {
        h.open(next_id, now);
        open.insert(next_id++);
      } else if (r < 12) {
        const SessionId s = pick();
        h.close(s, now);
        open.erase(s);
        closed_by_shell = s;
      } else if (r < 30) {
        h.tick(now);
        if (const auto d = h.svc.next_deadline()) {
          EXPECT_GT(*d, now);
        }
      } else {
        const SessionId s = pick();
        const std::uint32_t ppid =
            rng.below(10) == 0 ? static_cast<std::uint32_t>(rng.below(40))
                               : (rng.below(2) ? w::kPpidCalcApp : w::kPpidAsap);
        Bytes b;
        const auto kind = rng.below(4);
        if (kind == 0) {
          b = random_bytes(rng.below(40));
        } else if (kind == 1) {
          calc::Message m{static_cast<MessageType>(1 + rng.below(7)), 0,
                          static_cast<std::uint32_t>(rng.below(5)), rng.below(3'000'000), 0};
          m.completed = rng.below(m.job_size + 2);
          b = calc::encode(m);
        } else if (kind == 2) {
          const std::uint64_t size = rng.below(3'000'000);
          b = w::encode(asap::Message{asap::CookieEcho{
              calc::encode(calc::Cookie{static_cast<std::uint32_t>(rng.below(5)), size,
                                        rng.below(size + 2)})}});
        } else {
          b = calc::encode(msg(MessageType::request, 1, rng.below(2'000'000)));
        }
        if (!b.empty() && rng.below(4) == 0) b[rng.below(b.size())] ^= 1u << rng.below(8);
        h.raw(s, ppid, b, now);
      }
      // Every op decodes (ops() fails the test otherwise) and targets a session that was
      // open, and not the one the shell just reported closed.
      (void)h.ops();
      for (const auto& o : h.out.ops) {
        EXPECT_TRUE(before.count(o.session)) << "op to session " << o.session;
        EXPECT_NE(std::optional(o.session), closed_by_shell);
        if (o.kind == SessionOp::Kind::close) open.erase(o.session);
      }
      const auto& k = h.svc.counters();
      ASSERT_LE(h.svc.jobs(), 3u);
      ASSERT_EQ(h.svc.sessions(), open.size()) << "seed " << seed << " step " << step;
      ASSERT_EQ(k.accepted, k.completed + k.aborted + h.svc.jobs())
          << "seed " << seed << " step " << step;
      ASSERT_EQ(h.svc.load(), h.svc.jobs() * kOne / 3);
    }
    h.shutdown(now);
    EXPECT_EQ(h.svc.sessions(), 0u);
    EXPECT_EQ(h.svc.jobs(), 0u);
    EXPECT_EQ(h.events("session_closed").size(), open.size());
    EXPECT_GT(h.svc.counters().accepted, 0u) << "the loop should exercise real jobs";
    EXPECT_GT(h.svc.counters().discarded, 0u);
  }
}

// ---------------------------------------------------------------------------------------
// Order of operations

TEST(PeServiceOrder, SendsOfASessionComeBeforeItsClose) {
  auto c = make_config(2);
  c.server.cookie_interval = milliseconds(5000);
  c.keepalive_interval = milliseconds(2500);
  c.keepalive_timeout = milliseconds(2500);
  Service h(c);
  h.start_job(1, 1, 100'000'000, at(0));
  h.tick(at(2500));
  ASSERT_EQ(h.ops(), Ops{op(1, msg(MessageType::keepalive, 1, 100'000'000, 2'500'000))});
  // At 5 s the cookie falls due and the keep-alive times out: the cookie goes first.
  h.tick(at(5000));
  EXPECT_EQ(h.ops(), (Ops{cookie_op(1, 1, 100'000'000, 5'000'000), close_op(1)}));
  EXPECT_EQ(h.names(), (std::vector<std::string>{"cookie_sent", "job_aborted", "session_closed",
                                                 "load_changed"}));
}

TEST(PeServiceOrder, SimultaneousKeepAliveTimersGoInDeadlineOrder) {
  auto c = make_config(2);
  c.keepalive_interval = milliseconds(1000);
  c.keepalive_timeout = milliseconds(1000);
  Service h(c);
  h.open(3, at(0));
  h.open(2, at(10));
  h.open(1, at(20));
  h.tick(at(1500));
  EXPECT_EQ(h.ops(), (Ops{op(3, msg(MessageType::keepalive)), op(2, msg(MessageType::keepalive)),
                          op(1, msg(MessageType::keepalive))}));
  h.tick(at(2500));
  EXPECT_EQ(h.ops(), (Ops{close_op(1), close_op(2), close_op(3)}));  // all sent at 1.5 s
}

TEST(PeServiceOrder, NextDeadlineIsTheEarliestOfServerKeepAliveAndUsage) {
  auto c = make_config(2);
  c.keepalive_interval = milliseconds(2500);
  c.usage_interval = milliseconds(3000);
  Service h(c);
  EXPECT_EQ(h.svc.next_deadline(), at(3000));  // usage only
  h.start_job(1, 1, 1'000'000, at(0));
  EXPECT_EQ(h.svc.next_deadline(), at(1000));  // the completion
  h.tick(at(1000));
  EXPECT_EQ(h.svc.next_deadline(), at(2500));  // the keep-alive
  h.calc_in(1, msg(MessageType::keepalive_ack), at(1000));
  h.tick(at(2500));
  EXPECT_EQ(h.svc.next_deadline(), at(3000));  // usage before the next keep-alive (3.5 s)
}

}  // namespace
}  // namespace session_test
