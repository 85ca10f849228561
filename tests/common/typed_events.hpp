// The check that producer and store agree, for the tests that drive a producer core (the
// registrar core, the PE registration core, the CalcApp and echo PE services, the CalcApp and
// echo PU cores): an event whose kind has a struct in
// stack/common/events.hpp must parse through its from_json without an error (as the results
// store parses it) and come back out of to_json unchanged. A field renamed on one side only,
// or an event written beside its struct, fails here instead of landing in malformed_events.
// The harnesses call expect_typed on the events they hand to a test.
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

using Check = void (*)(const json&);
struct Kind {
  Role role;
  const char* name;
  Check check;
};

// Every event kind with a struct, by its producer's role (job_rejected is two events, done
// of a PU two as well; message_discarded has four writers, one struct).
inline const Kind kKinds[] = {
    {Role::registrar, "registration", expect_struct<ev::RegistrationEvent>},
    {Role::registrar, "reregistration", expect_struct<ev::RegistrationEvent>},
    {Role::registrar, ev::DeregistrationEvent::kName, expect_struct<ev::DeregistrationEvent>},
    {Role::registrar, ev::MessageDiscardedEvent::kName, expect_struct<ev::MessageDiscardedEvent>},
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

}  // namespace typed_events
