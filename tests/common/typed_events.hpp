// The check that producer and store agree, for the tests that drive a producer core (the
// registrar core, the PE registration core, the CalcApp and echo PE services, the CalcApp and
// echo PU cores): an event whose kind has a struct in
// stack/common/events.hpp must parse through its from_json without an error (as the results
// store parses it) and come back out of to_json unchanged. A field renamed on one side only,
// or an event written beside its struct, fails here instead of landing in malformed_events.
// The harnesses call expect_has_struct on every event they hand to a test: every event a core
// writes has a struct.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "stack/common/events.hpp"

namespace typed_events {

using nlohmann::json;
namespace ev = rsplab::common;

enum class Role { registrar, pe, pu };

template <class T>
void expect_struct(const json& e) {
  try {
    const json back = e.get<T>();
    EXPECT_EQ(back.dump(), e.dump()) << "read and written back through its struct";
  } catch (const ev::EventError& x) {
    ADD_FAILURE() << "from_json: " << x.what() << " in " << e.dump();
  }
}

// A PU's `done`: the echo series' (it has `requests`) or CalcApp's.
inline void expect_done(const json& e) {
  if (ev::EchoDoneEvent::matches(e))
    expect_struct<ev::EchoDoneEvent>(e);
  else
    expect_struct<ev::CalcAppDoneEvent>(e);
}

// A PE's `stopped`: the registration core's (with `reason`); a shell's is not checked here.
inline void expect_stopped(const json& e) {
  if (ev::PeCoreStoppedEvent::matches(e)) expect_struct<ev::PeCoreStoppedEvent>(e);
}

using Check = void (*)(const json&);
struct Kind {
  Role role;
  const char* name;
  Check check;
};

// Every event kind with a struct, by its producer's role (job_rejected is two events, done
// of a PU two as well; message_discarded has four writers, one struct; error_received,
// registration_rejected, failover and handle_resolution differ by role).
inline const Kind kKinds[] = {
    {Role::registrar, "registration", expect_struct<ev::RegistrationEvent>},
    {Role::registrar, "reregistration", expect_struct<ev::RegistrationEvent>},
    {Role::registrar, ev::DeregistrationEvent::kName, expect_struct<ev::DeregistrationEvent>},
    {Role::registrar, ev::MessageDiscardedEvent::kName, expect_struct<ev::MessageDiscardedEvent>},
    {Role::registrar, ev::ErrorSentEvent::kName, expect_struct<ev::ErrorSentEvent>},
    {Role::registrar, ev::RegistrarErrorReceivedEvent::kName,
     expect_struct<ev::RegistrarErrorReceivedEvent>},
    {Role::registrar, ev::EnrpIgnoredEvent::kName, expect_struct<ev::EnrpIgnoredEvent>},
    {Role::registrar, ev::RegistrarRegistrationRejectedEvent::kName,
     expect_struct<ev::RegistrarRegistrationRejectedEvent>},
    {Role::registrar, ev::DeregistrationRefusedEvent::kName,
     expect_struct<ev::DeregistrationRefusedEvent>},
    {Role::registrar, ev::RateLimitedEvent::kName, expect_struct<ev::RateLimitedEvent>},
    {Role::registrar, ev::RegistrarHandleResolutionEvent::kName,
     expect_struct<ev::RegistrarHandleResolutionEvent>},
    {Role::registrar, ev::PeNotRegisteredEvent::kName, expect_struct<ev::PeNotRegisteredEvent>},
    {Role::registrar, ev::UnreachableReportEvent::kName, expect_struct<ev::UnreachableReportEvent>},
    {Role::registrar, ev::KeepaliveTimeoutEvent::kName, expect_struct<ev::KeepaliveTimeoutEvent>},
    {Role::registrar, ev::PeerUpEvent::kName, expect_struct<ev::PeerUpEvent>},
    {Role::registrar, ev::PeerDownEvent::kName, expect_struct<ev::PeerDownEvent>},
    {Role::registrar, ev::ServingEvent::kName, expect_struct<ev::ServingEvent>},
    {Role::registrar, ev::HandleTableSyncEvent::kName, expect_struct<ev::HandleTableSyncEvent>},
    {Role::registrar, ev::AuditEvent::kName, expect_struct<ev::AuditEvent>},
    {Role::registrar, ev::TakeoverStartedEvent::kName, expect_struct<ev::TakeoverStartedEvent>},
    {Role::registrar, ev::TakeoverEvent::kName, expect_struct<ev::TakeoverEvent>},
    {Role::registrar, ev::TakeoverAckedEvent::kName, expect_struct<ev::TakeoverAckedEvent>},
    {Role::registrar, ev::PeAdoptedEvent::kName, expect_struct<ev::PeAdoptedEvent>},
    {Role::registrar, ev::PeerTakeoverEvent::kName, expect_struct<ev::PeerTakeoverEvent>},
    {Role::pu, ev::HandleResolutionEvent::kName, expect_struct<ev::HandleResolutionEvent>},
    {Role::pu, ev::FailoverEvent::kName, expect_struct<ev::FailoverEvent>},
    {Role::pu, ev::JobEvent::kName, expect_struct<ev::JobEvent>},
    {Role::pu, ev::PuJobRejectedEvent::kName, expect_struct<ev::PuJobRejectedEvent>},
    {Role::pu, ev::RegistrarFailoverEvent::kName, expect_struct<ev::RegistrarFailoverEvent>},
    {Role::pu, ev::MessageDiscardedEvent::kName, expect_struct<ev::MessageDiscardedEvent>},
    {Role::pu, "done", expect_done},
    {Role::pe, ev::UsageEvent::kName, expect_struct<ev::UsageEvent>},
    {Role::pe, ev::LoadChangedEvent::kName, expect_struct<ev::LoadChangedEvent>},
    {Role::pe, ev::SessionOpenedEvent::kName, expect_struct<ev::SessionOpenedEvent>},
    {Role::pe, ev::SessionClosedEvent::kName, expect_struct<ev::SessionClosedEvent>},
    {Role::pe, ev::JobAcceptedEvent::kName, expect_struct<ev::JobAcceptedEvent>},
    {Role::pe, ev::PeJobRejectedEvent::kName, expect_struct<ev::PeJobRejectedEvent>},
    {Role::pe, ev::JobCompletedEvent::kName, expect_struct<ev::JobCompletedEvent>},
    {Role::pe, ev::JobAbortedEvent::kName, expect_struct<ev::JobAbortedEvent>},
    {Role::pe, ev::CookieSentEvent::kName, expect_struct<ev::CookieSentEvent>},
    {Role::pe, ev::MessageDiscardedEvent::kName, expect_struct<ev::MessageDiscardedEvent>},
    {Role::pe, ev::EchoResumedEvent::kName, expect_struct<ev::EchoResumedEvent>},
    {Role::pe, ev::EchoEndedEvent::kName, expect_struct<ev::EchoEndedEvent>},
    {Role::pe, "registered", expect_struct<ev::RegisteredEvent>},
    {Role::pe, "reregistered", expect_struct<ev::RegisteredEvent>},
    {Role::pe, ev::NoRegistrarEvent::kName, expect_struct<ev::NoRegistrarEvent>},
    {Role::pe, ev::PeFailoverEvent::kName, expect_struct<ev::PeFailoverEvent>},
    {Role::pe, ev::RegistrarLearntEvent::kName, expect_struct<ev::RegistrarLearntEvent>},
    {Role::pe, ev::DeregisteredEvent::kName, expect_struct<ev::DeregisteredEvent>},
    {Role::pe, ev::PeErrorReceivedEvent::kName, expect_struct<ev::PeErrorReceivedEvent>},
    {Role::pe, ev::PeRegistrationRejectedEvent::kName,
     expect_struct<ev::PeRegistrationRejectedEvent>},
    {Role::pe, ev::PeCoreStoppedEvent::kName, expect_stopped},
    {Role::pe, ev::HomeChangedEvent::kName, expect_struct<ev::HomeChangedEvent>},
    {Role::pe, ev::RegistrationLostEvent::kName, expect_struct<ev::RegistrationLostEvent>},
};

// Checks `e`, written by a producer of `role`, when its kind has a struct; answers whether
// it has one.
inline bool expect_typed(Role role, const json& e) {
  const std::string name = e.is_object() ? e.value("event", "") : "";
  for (const Kind& k : kKinds)
    if (k.role == role && name == k.name) {
      k.check(e);
      return true;
    }
  return false;
}

// Every event the cores of stack/ write has a struct: checks `e` as expect_typed does, and
// fails when its kind has none (an event written by hand again). The harnesses call it.
inline void expect_has_struct(Role role, const json& e) {
  EXPECT_TRUE(expect_typed(role, e)) << "no struct in stack/common/events.hpp for " << e.dump();
}

}  // namespace typed_events
