// The typed events (stack/common/events.hpp): each struct survives to_json → from_json; the
// checks name the first defect in the order of the store's columns, with the store's texts;
// the quirks the store relies on (null as absent, integral floats, which writer a PE's
// load_changed came from, a stopped PE's id only with jobs) hold; fields a producer omits
// stay omitted; the producers' tests' check (typed_events.hpp) catches a renamed field and
// an event written without a struct.
#include "stack/common/events.hpp"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "tests/common/typed_events.hpp"

namespace rsplab::common {
namespace {

using nlohmann::json;

template <class T>
T round_trip(const T& e) {
  const json j = e;
  return j.get<T>();
}

// The message of the EventError that from_json throws for `j`, or "" when it parses.
template <class T>
std::string error_of(const json& j) {
  try {
    (void)j.get<T>();
  } catch (const EventError& e) {
    return e.what();
  }
  return "";
}

JobEvent full_job() {
  JobEvent j;
  j.job = 7;
  j.size = 5'000'000;
  j.status = "completed";
  j.queued_us = 1'700'000'000'000'000;
  j.started_us = j.queued_us + 10;
  j.accepted_us = j.queued_us + 20;
  j.completed_us = j.queued_us + 3'000'000;
  j.pe = "0x5e5e5e5e";
  j.rejects = 1;
  j.failovers = 2;
  j.queuing_delay_us = 10;
  j.startup_delay_us = 10;
  j.processing_us = 2'999'980;
  j.handling_us = 3'000'000;
  j.handling_speed = 1'666'666.5;
  return j;
}

TEST(Events, EveryStructSurvivesToJsonAndBack) {
  const JobEvent job = full_job();
  EXPECT_EQ(round_trip(job), job);
  JobEvent unfinished;
  unfinished.job = 8;
  unfinished.status = "unfinished";
  EXPECT_EQ(round_trip(unfinished), unfinished);

  FailoverEvent f;
  f.job = 3;
  f.from_pe = "0x1";
  f.cause = "connection_lost";
  f.to_pe = "0x2";
  f.cookie = true;
  f.resumed = 400;
  f.lost = 100;
  f.attempts = 1;
  f.detected_us = 1'700'000'000'000'000;
  f.local_addresses = std::vector<std::string>{"10.0.0.1", "10.1.0.1"};
  f.local_port = 40001;
  EXPECT_EQ(round_trip(f), f);
  EXPECT_EQ(round_trip(FailoverEvent{}), FailoverEvent{});

  HandleResolutionEvent h{{"0x1", "0x2"}, "CalcAppPool", 0, false, 812, std::nullopt};
  EXPECT_EQ(round_trip(h), h);
  h = {{}, "CalcAppPool", std::nullopt, true, 0, "empty pool"};
  EXPECT_EQ(round_trip(h), h);

  RegistrationEvent r;
  r.kind = "reregistration";
  r.addresses = json::array({"10.0.0.2"});
  r.load = 2'147'483'648;
  r.conn = 2;
  r.pool = "CalcAppPool";
  r.pe = "0x5e";
  r.policy = "lu";
  r.transport = "tcp";
  r.port = 9000;
  r.registration_life_ms = 30'000;
  EXPECT_EQ(round_trip(r), r);

  const DeregistrationEvent d{"CalcAppPool", "0x5e", "keepalive_timeout"};
  EXPECT_EQ(round_trip(d), d);
  const UsageEvent u{7.5e6, 1e7, 0.75};
  EXPECT_EQ(round_trip(u), u);

  const LoadChangedEvent service{0.5, 2, true}, core{2'147'483'648.0, std::nullopt, false};
  EXPECT_EQ(round_trip(service), service);
  EXPECT_EQ(round_trip(core), core);
  EXPECT_FALSE(json(core).contains("jobs"));  // what tells the registration core's load

  StoppedEvent s;
  s.kind = "stopped";
  s.id = "0x5e";
  s.jobs = {{4, 2, 100, 40, std::vector<std::string>{"10.0.1.2"}, 40001},
            {5, 3, 200, 0, std::nullopt, std::nullopt}};
  EXPECT_EQ(round_trip(s), s);

  const EchoDoneEvent echo{"count", 42, 42, 2, 0, 40, 1};
  EXPECT_EQ(round_trip(echo), echo);
}

TEST(Events, ToJsonNamesTheEventAndWritesAbsentFieldsAsNull) {
  const json j = JobEvent{};
  EXPECT_EQ(j.at("event"), "job");
  EXPECT_TRUE(j.at("completed_us").is_null());
  EXPECT_EQ(json(FailoverEvent{}).at("event"), "failover");
  EXPECT_EQ(json(UsageEvent{}).at("event"), "usage");
  EXPECT_EQ(json(DeregistrationEvent{}).at("event"), "deregistration");
}

TEST(Events, TheFirstDefectInColumnOrderIsNamed) {
  json j = full_job();
  EXPECT_EQ(error_of<JobEvent>(j), "");
  j.erase("status");
  j["size"] = "100";
  EXPECT_EQ(error_of<JobEvent>(j), "'size' is not an integer");
  j["job"] = 1.5;
  EXPECT_EQ(error_of<JobEvent>(j), "'job' is not an integer");
  j.erase("job");
  EXPECT_EQ(error_of<JobEvent>(j), "missing 'job'");

  json f = FailoverEvent{};
  f["cookie"] = "yes";
  EXPECT_EQ(error_of<FailoverEvent>(f), "'cookie' is not a boolean");
  f["cookie"] = false;
  f["local_addresses"] = json::array({"10.0.0.1", 5});
  EXPECT_EQ(error_of<FailoverEvent>(f), "'local_addresses' holds a non-string");
  f["local_addresses"] = "10.0.0.1";
  EXPECT_EQ(error_of<FailoverEvent>(f), "'local_addresses' is not an array");

  // pes is checked before pool (the row's count needs it first).
  const json h = {{"pes", "0x1"}};
  EXPECT_EQ(error_of<HandleResolutionEvent>(h), "'pes' is not an array");
  EXPECT_EQ(error_of<HandleResolutionEvent>(json{{"pes", json::array()}}), "missing 'pool'");

  // addresses and load come before the other fields of a registration.
  json r = {{"event", "registration"}, {"addresses", "10.0.0.2"}};
  EXPECT_EQ(error_of<RegistrationEvent>(r), "'addresses' is not an array");
  r["addresses"] = json::array({1});  // its elements are not checked
  r["load"] = "half";
  EXPECT_EQ(error_of<RegistrationEvent>(r), "'load' is not an integer");
  EXPECT_EQ(error_of<UsageEvent>(json{{"calculations", "many"}, {"offered", 1.0}}),
            "'calculations' is not a number");
  EXPECT_EQ(error_of<LoadChangedEvent>(json{{"load", true}}), "'load' is not a number");
  EXPECT_EQ(error_of<DeregistrationEvent>(json{{"pool", "p"}, {"pe", "0x5e"}}),
            "missing 'reason'");
}

TEST(Events, IntegersAreCheckedAsTheStoreChecksThem) {
  json j = full_job();
  j["size"] = 5e6;  // an integral float is an integer
  EXPECT_EQ(j.get<JobEvent>().size, 5'000'000);
  j["size"] = 18'000'000'000'000'000'000u;  // above INT64_MAX
  EXPECT_EQ(error_of<JobEvent>(j), "'size' is out of range");
  j["size"] = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(j.get<JobEvent>().size, std::numeric_limits<std::int64_t>::min());
  j["size"] = 1e300;
  EXPECT_EQ(error_of<JobEvent>(j), "'size' is not an integer");
}

TEST(Events, NullIsAbsentForOptionalFieldsOnly) {
  json j = full_job();
  j["started_us"] = nullptr;
  j["pe"] = nullptr;
  const auto job = j.get<JobEvent>();
  EXPECT_FALSE(job.started_us.has_value());
  EXPECT_FALSE(job.pe.has_value());
  j["status"] = nullptr;  // required: present but null is the wrong type
  EXPECT_EQ(error_of<JobEvent>(j), "'status' is not a string");
}

TEST(Events, ALoadChangedTellsItsWriterByTheJobsKey) {
  EXPECT_TRUE(json({{"load", 0.5}, {"jobs", 2}}).get<LoadChangedEvent>().from_service);
  EXPECT_TRUE(json({{"load", 0.5}, {"jobs", nullptr}}).get<LoadChangedEvent>().from_service);
  EXPECT_FALSE(
      json({{"load", 2147483648u}, {"reregistering", true}}).get<LoadChangedEvent>().from_service);
}

TEST(Events, AnEchoSeriesDoneIsToldFromCalcAppsByItsRequests) {
  EXPECT_TRUE(EchoDoneEvent::matches(json(EchoDoneEvent{})));
  EXPECT_FALSE(EchoDoneEvent::matches(json{{"event", "done"}, {"reason", "max_jobs"},
                                           {"jobs_completed", 3}, {"failovers", 0}}));
  EXPECT_EQ(error_of<EchoDoneEvent>(json{{"reason", "count"}, {"requests", 4}, {"answers", "4"}}),
            "'answers' is not an integer");
}

TEST(Events, AStoppedPeNeedsItsIdOnlyWithJobs) {
  EXPECT_EQ(error_of<StoppedEvent>(json{{"event", "killed"}}), "");
  EXPECT_EQ(error_of<StoppedEvent>(json{{"event", "killed"}, {"jobs", json::array()}}), "");
  const json job = {{"session", 1}, {"job", 2}, {"size", 3}, {"completed", 1}};
  EXPECT_EQ(error_of<StoppedEvent>(json{{"event", "killed"}, {"jobs", {job}}}), "missing 'id'");
  EXPECT_EQ(error_of<StoppedEvent>(json{{"event", "killed"}, {"jobs", {1}}}),
            "'jobs' holds a non-object");
  EXPECT_EQ(error_of<StoppedEvent>(json{{"event", "killed"}, {"jobs", "x"}}),
            "'jobs' is not an array");
  const auto s = json({{"event", "stopped"}, {"id", "0x5e"}, {"jobs", {job}}}).get<StoppedEvent>();
  EXPECT_EQ(s.kind, "stopped");
  ASSERT_EQ(s.jobs.size(), 1u);
  EXPECT_EQ(s.jobs[0].completed, 1);
  EXPECT_FALSE(s.jobs[0].pu_port.has_value());
}

TEST(Events, TheFurtherEventsSurviveToJsonAndBack) {
  const PuJobRejectedEvent pr{3, "0x2"};
  EXPECT_EQ(round_trip(pr), pr);
  const RegistrarFailoverEvent rf{std::nullopt, 1, "timeout"}, rf2{0, 1, "closed"};
  EXPECT_EQ(round_trip(rf), rf);
  EXPECT_EQ(round_trip(rf2), rf2);
  EXPECT_TRUE(json(rf).at("from").is_null());
  EXPECT_EQ(round_trip(SessionOpenedEvent{4}), SessionOpenedEvent{4});
  const SessionClosedEvent sc{4, "peer"};
  EXPECT_EQ(round_trip(sc), sc);
  const JobAcceptedEvent ja{4, 7, 5'000'000, 100, true, 2, 0.5};
  EXPECT_EQ(round_trip(ja), ja);
  const PeJobRejectedEvent pj{4, 7, 5'000'000, 2};
  EXPECT_EQ(round_trip(pj), pj);
  const JobCompletedEvent jc{4, 7, 5'000'000};
  EXPECT_EQ(round_trip(jc), jc);
  const JobAbortedEvent jab{4, 7, 5'000'000, 100, "keepalive_timeout"};
  EXPECT_EQ(round_trip(jab), jab);
  const CookieSentEvent cs{4, 7, 5'000'000, 100};
  EXPECT_EQ(round_trip(cs), cs);
  EXPECT_EQ(json(pr).at("event"), "job_rejected");
  EXPECT_EQ(json(pj).at("event"), "job_rejected");
  EXPECT_EQ(error_of<JobAbortedEvent>(json{{"session", 4}, {"job", 7}, {"size", 1}}),
            "missing 'completed'");
}

// As the producers have always written them: these optional fields are left out when absent.
TEST(Events, ToJsonOmitsTheFieldsItsProducerOmits) {
  const json h = HandleResolutionEvent{{"0x1"}, "p", 0, false, 10, std::nullopt};
  EXPECT_FALSE(h.contains("error"));
  EXPECT_EQ(json(HandleResolutionEvent{{}, "p", 0, false, 10, "empty pool"}).at("error"),
            "empty pool");
  const json f = FailoverEvent{};
  EXPECT_FALSE(f.contains("local_addresses"));
  EXPECT_FALSE(f.contains("local_port"));
  EXPECT_EQ(f.at("paths"), json::array());
  EXPECT_TRUE(f.at("to_pe").is_null());
  RegistrationEvent r;
  json j = r;
  EXPECT_FALSE(j.contains("load"));
  EXPECT_FALSE(j.contains("addresses_advertised"));
  r.load = 7;
  r.addresses_advertised = json::array({"10.0.0.1", "10.0.0.2"});
  r.parameters = {{"weight", 3}, {"load_degradation", 4}};
  j = r;
  EXPECT_EQ(j.at("load"), 7);
  EXPECT_EQ(j.at("weight"), 3);
  EXPECT_EQ(j.at("load_degradation"), 4);
  EXPECT_EQ(round_trip(r), r);
}

// Fields the store does not read are never an error: a malformed one is left out.
TEST(Events, UncheckedFieldsAreNeverAnError) {
  json f = FailoverEvent{};
  f["paths"] = "not a list";
  EXPECT_EQ(error_of<FailoverEvent>(f), "");
  EXPECT_TRUE(f.get<FailoverEvent>().paths.empty());
  json r = RegistrationEvent{};
  r["weight"] = "heavy";
  r["addresses_advertised"] = 5;
  EXPECT_EQ(error_of<RegistrationEvent>(r), "");
  EXPECT_TRUE(r.get<RegistrationEvent>().parameters.empty());
  EXPECT_FALSE(r.get<RegistrationEvent>().addresses_advertised);
}

// The services' and the session layer's further events (the block at the end of events.hpp).
TEST(Events, TheServicesEventsSurviveToJsonAndBack) {
  CalcAppDoneEvent c;
  c.reason = "max_jobs";
  c.jobs_generated = 3;
  c.jobs_completed = 2;
  c.jobs_unfinished = 1;
  c.calculations_completed = 10'000'000;
  c.handling_seconds = 4.5;
  c.handling_speed = 2'222'222.25;
  c.failovers = 1;
  c.resolutions = 4;
  c.cache_hits = 2;
  c.unreachable_reports = 1;
  c.registrar_failovers = 1;
  c.rejects = 3;
  c.discarded = 5;
  EXPECT_EQ(round_trip(c), c);
  EXPECT_EQ(json(c).at("event"), "done");
  EXPECT_FALSE(EchoDoneEvent::matches(json(c)));  // the store counts it only

  EchoDoneEvent echo{"stop", 10, 9, 1, 1, 8, 1};
  echo.resolutions = 2;
  echo.cache_hits = 1;
  echo.unreachable_reports = 1;
  echo.registrar_failovers = 0;
  echo.rejects = 0;
  echo.discarded = 3;
  EXPECT_EQ(round_trip(echo), echo);
  EXPECT_EQ(json(echo).at("discarded"), 3);

  const EchoResumedEvent r{4, 17};
  EXPECT_EQ(round_trip(r), r);
  const EchoEndedEvent ended{4, 20, 17, "keepalive_timeout"}, fresh{5, 3, std::nullopt, "shutdown"};
  EXPECT_EQ(round_trip(ended), ended);
  EXPECT_EQ(round_trip(fresh), fresh);
  EXPECT_TRUE(json(fresh).at("resumed_from").is_null());  // written as null, as always
  EXPECT_EQ(error_of<EchoEndedEvent>(json{{"session", 4}, {"replies", 1}}), "missing 'cause'");
}

// message_discarded: one struct for its four writers, each writing only its own fields.
TEST(Events, AMessageDiscardedWritesItsWritersFieldsOnly) {
  MessageDiscardedEvent registrar, core, session, pu;
  registrar.conn = 3;
  registrar.protocol = "ENRP";
  core.pr = 1;
  session.session = 7;
  session.ppid = 33;
  pu.from = "registrar 0";
  for (MessageDiscardedEvent* e : {&registrar, &core, &session, &pu}) {
    e->reason = "truncated";
    EXPECT_EQ(round_trip(*e), *e);
  }
  EXPECT_EQ(json(registrar), (json{{"event", "message_discarded"}, {"conn", 3},
                                   {"protocol", "ENRP"}, {"reason", "truncated"}}));
  EXPECT_EQ(json(core), (json{{"event", "message_discarded"}, {"pr", 1}, {"reason", "truncated"}}));
  EXPECT_EQ(json(session), (json{{"event", "message_discarded"}, {"session", 7}, {"ppid", 33},
                                 {"reason", "truncated"}}));
  EXPECT_EQ(json(pu), (json{{"event", "message_discarded"}, {"from", "registrar 0"},
                            {"reason", "truncated"}}));
  EXPECT_EQ(error_of<MessageDiscardedEvent>(json{{"pr", 1}}), "missing 'reason'");
}

// The registration core's load_changed: its raw 32-bit load an integer, as on the wire, and
// whether it re-registers at once.
TEST(Events, TheRegistrationCoresLoadChangedIsWrittenAsItWas) {
  const LoadChangedEvent core{268435456.0, std::nullopt, false, true};
  EXPECT_EQ(json(core), (json{{"event", "load_changed"}, {"load", 268435456}, {"reregistering", true}}));
  EXPECT_TRUE(json(core).at("load").is_number_integer());
  EXPECT_EQ(round_trip(core), core);
  const LoadChangedEvent service{0.25, 1, true};
  EXPECT_FALSE(json(service).contains("reregistering"));
  EXPECT_TRUE(json(service).at("load").is_number_float());
  // Not checked: a malformed reregistering is no error.
  EXPECT_EQ(error_of<LoadChangedEvent>(json{{"load", 5}, {"reregistering", "yes"}}), "");
}

// The registration core's and the registrar core's events (the store keeps them whole).
TEST(Events, TheCoresEventsSurviveToJsonAndBack) {
  const RegisteredEvent reg{"reregistered", 1, "CalcAppPool", "0x5e", "lu", 268435456};
  EXPECT_EQ(round_trip(reg), reg);
  EXPECT_EQ(json(reg).at("event"), "reregistered");
  const RegisteredEvent bare{"registered", 0, "p", "0x5e", std::nullopt, 0};
  EXPECT_EQ(round_trip(bare), bare);
  EXPECT_TRUE(json(bare).at("policy").is_null());
  EXPECT_EQ(round_trip(NoRegistrarEvent{"waiting for an announce"}),
            NoRegistrarEvent{"waiting for an announce"});
  const PeFailoverEvent pf{0, std::nullopt, "timeout", 5000};
  EXPECT_EQ(round_trip(pf), pf);
  EXPECT_TRUE(json(pf).at("to_pr").is_null());
  const RegistrarLearntEvent rl{2, "0x00005151"};
  EXPECT_EQ(round_trip(rl), rl);
  DeregisteredEvent d{std::nullopt, "p", "0x5e", false, std::nullopt};
  EXPECT_EQ(round_trip(d), d);
  EXPECT_FALSE(json(d).contains("causes"));  // omitted when absent
  EXPECT_TRUE(json(d).at("pr").is_null());
  d = {1, "p", "0x5e", true, std::vector<std::string>{"Invalid Values"}};
  EXPECT_EQ(round_trip(d), d);
  const PeErrorReceivedEvent er{0, {"Invalid Values"}};
  EXPECT_EQ(round_trip(er), er);
  const PeRegistrationRejectedEvent rr{0, "p", "0x5e", std::nullopt, false};
  EXPECT_EQ(round_trip(rr), rr);
  EXPECT_TRUE(json(rr).at("cause").is_null());
  const PeCoreStoppedEvent st{"shutdown"};
  EXPECT_EQ(round_trip(st), st);
  EXPECT_TRUE(PeCoreStoppedEvent::matches(json(st)));
  EXPECT_FALSE(PeCoreStoppedEvent::matches(json(StoppedEvent{})));  // a shell's stopped
  const HomeChangedEvent hc{std::nullopt, 1, "0x00005151"};
  EXPECT_EQ(round_trip(hc), hc);
  const RegistrationLostEvent lost{0, "p", "0x5e", true};
  EXPECT_EQ(round_trip(lost), lost);

  const ErrorSentEvent es{3, "ASAP", {"Unrecognized Message"}, "a registrar does not take X"};
  EXPECT_EQ(round_trip(es), es);
  EXPECT_EQ(round_trip(RegistrarErrorReceivedEvent{3}), RegistrarErrorReceivedEvent{3});
  const EnrpIgnoredEvent ei{3, "ENRP_PRESENCE"};
  EXPECT_EQ(round_trip(ei), ei);
  const RegistrarRegistrationRejectedEvent rj{3, "p", "0x5e", "Invalid Values", "why"};
  EXPECT_EQ(round_trip(rj), rj);
  const DeregistrationRefusedEvent dr{3, "p", "0x5e", "not the PE's own connection"};
  EXPECT_EQ(round_trip(dr), dr);
  const RateLimitedEvent rt{3, "handle_resolution", "p"};
  EXPECT_EQ(round_trip(rt), rt);
  RegistrarHandleResolutionEvent hr{3, "p", std::nullopt, 3, {"0x1", "0x2"}, "rr", std::nullopt};
  EXPECT_EQ(round_trip(hr), hr);
  EXPECT_TRUE(json(hr).at("requested").is_null());
  EXPECT_FALSE(json(hr).contains("error"));
  hr = {3, "q", 5, 3, {}, std::nullopt, "Unknown Pool Handle"};
  EXPECT_EQ(round_trip(hr), hr);
  EXPECT_FALSE(json(hr).contains("policy"));
  const PeNotRegisteredEvent nr{3, "p", "0x5e"};
  EXPECT_EQ(round_trip(nr), nr);
  UnreachableReportEvent ur{3, "p", "0x5e", false, std::nullopt, std::nullopt};
  EXPECT_EQ(round_trip(ur), ur);
  EXPECT_FALSE(json(ur).contains("reports"));
  ur = {3, "p", "0x5e", true, 1, 3};
  EXPECT_EQ(round_trip(ur), ur);
  const KeepaliveTimeoutEvent kt{"p", "0x5e"};
  EXPECT_EQ(round_trip(kt), kt);
  EXPECT_EQ(error_of<ErrorSentEvent>(json{{"conn", 3}, {"protocol", "ASAP"}, {"causes", "x"}}),
            "'causes' is not an array");
}

// An echo series' done: the session layer's counters besides failovers are not checked, as
// the store has never read them.
TEST(Events, AnEchoDonesSessionCountersAreNotChecked) {
  json d = EchoDoneEvent{"count", 4, 4, 0, 0, 4, 0};
  d.erase("cache_hits");
  d["discarded"] = "none";
  EXPECT_EQ(error_of<EchoDoneEvent>(d), "");
  EXPECT_EQ(d.get<EchoDoneEvent>().discarded, 0);
  d.erase("failovers");
  EXPECT_EQ(error_of<EchoDoneEvent>(d), "missing 'failovers'");
}

// The producers' tests check every event with expect_typed: a field renamed on one side
// only fails there.
TEST(Events, ARenamedFieldFailsTheProducersCheck) {
  using typed_events::Role;
  json f = FailoverEvent{};
  EXPECT_TRUE(typed_events::expect_typed(Role::pu, f));
  f["from_pe_id"] = f["from_pe"];
  f.erase("from_pe");
  EXPECT_NONFATAL_FAILURE(typed_events::expect_typed(Role::pu, f), "missing 'from_pe'");
  json u = UsageEvent{1, 2, 0.5};
  u["utilisation"] = 0.5;  // a field the struct does not write
  EXPECT_NONFATAL_FAILURE(typed_events::expect_typed(Role::pe, u), "written back");
  // A kind without a struct, or of another role, is not checked.
  EXPECT_FALSE(typed_events::expect_typed(Role::pe, json{{"event", "done"}}));
  EXPECT_FALSE(typed_events::expect_typed(Role::registrar, f));
  // A PU's done is checked against the struct of its service.
  json done = CalcAppDoneEvent{};
  EXPECT_TRUE(typed_events::expect_typed(Role::pu, done));
  done["jobs_done"] = done["jobs_completed"];
  done.erase("jobs_completed");
  EXPECT_NONFATAL_FAILURE(typed_events::expect_typed(Role::pu, done), "missing 'jobs_completed'");
  json echo = EchoDoneEvent{};
  echo["answer"] = 1;
  EXPECT_NONFATAL_FAILURE(typed_events::expect_typed(Role::pu, echo), "written back");
  // The harnesses' check: an event of a kind without a struct fails.
  EXPECT_NONFATAL_FAILURE(typed_events::expect_has_struct(Role::pe, json{{"event", "rebooted"}}),
                          "no struct");
  typed_events::expect_has_struct(Role::pe, json(PeCoreStoppedEvent{"shutdown"}));
  // Role tells the registrar's and the PE's error_received apart.
  EXPECT_NONFATAL_FAILURE(
      typed_events::expect_has_struct(Role::pe, json(RegistrarErrorReceivedEvent{3})),
      "missing 'pr'");
}

// ---- The nodes' own events (node/) ----

TEST(Events, TheNodesReadyAndStoppedEventsRoundTrip) {
  const RegistrarReady r{"10.0.0.1,10.1.0.1:3863", "10.0.0.1:9901", "sctp"};
  EXPECT_EQ(round_trip(r), r);
  MemberReady pe{2, "0x1a2b3c4d"};
  pe.user_transport = "127.0.0.1:40001";
  pe.transport = "tcp";
  pe.pool = "CalcAppPool";
  pe.policy = "rr";
  pe.capacity = 1e6;
  pe.max_jobs = 10;
  EXPECT_EQ(round_trip(pe), pe);
  const MemberReady pu{0, "pu-1"};
  EXPECT_EQ(json(pu), (json{{"event", "ready"}, {"member", 0}, {"id", "pu-1"}}));
  EXPECT_EQ(round_trip(pu), pu);
  EXPECT_EQ(error_of<MemberReady>(json{{"event", "ready"}, {"id", "x"}}), "missing 'member'");
  EXPECT_EQ(error_of<RegistrarReady>(json{{"event", "ready"}, {"asap", "a:1"}}),
            "missing 'enrp'");
  const RegistrarStoppedEvent stopped{15, {}, {}, {}, {}};
  EXPECT_EQ(round_trip(stopped), stopped);
  EXPECT_EQ(json(stopped), (json{{"event", "stopped"}, {"signal", 15}}));
  const RegistrarStoppedEvent counted{15, 3, 252, 2, 168};
  EXPECT_EQ(json(counted), (json{{"event", "stopped"}, {"signal", 15}, {"enrp_sent_messages", 3},
                                 {"enrp_sent_bytes", 252}, {"enrp_received_messages", 2},
                                 {"enrp_received_bytes", 168}}));
  EXPECT_EQ(round_trip(counted), counted);
  const MemberResumedEvent resumed{3};
  EXPECT_EQ(json(resumed), (json{{"event", "resumed"}, {"member", 3}}));
  EXPECT_EQ(round_trip(resumed), resumed);
  const MemberRestartedEvent restarted{1, "0x5e"};
  EXPECT_EQ(json(restarted), (json{{"event", "restarted"}, {"member", 1}, {"previous", "0x5e"}}));
  EXPECT_EQ(round_trip(restarted), restarted);
  EXPECT_EQ(error_of<MemberRestartedEvent>(json{{"event", "restarted"}, {"member", 1}}),
            "missing 'previous'");
  // A member killed while frozen, or an echo PE's: no "jobs" at all.
  StoppedEvent killed;
  killed.id = "0x5e";
  killed.member = 1;
  killed.has_jobs = false;
  EXPECT_EQ(json(killed), (json{{"event", "killed"}, {"id", "0x5e"}, {"member", 1}}));
  EXPECT_EQ(round_trip(killed), killed);
}

}  // namespace
}  // namespace rsplab::common
