// The services a `rsplab pe` or `rsplab pu` shell runs (`--service calcapp|echo`), each
// behind one small interface, so that the shells hold no service's types: a PE member's
// service (PeApp: calcapp::CalcAppService or echo::EchoService) and a PU member's core
// (PuApp: calcapp::PuCore or echo::PuCore), with what differs between them in the shells'
// output — a PE's `ready` fields and the work in progress a `killed` / `stopped` event
// carries, a PU process's summary line.
//
//   pe shell ──opened/closed/received/tick/shutdown(now)──► PeApp ──ServiceActions──► shell
//   pu shell ──inputs() (session::PuInputs), start/tick/stop(now)──► PuApp ──PuActions──►
//   PuApps: makes each member's PuApp, sums their counters into the summary line
//
// Single-threaded, as the shells.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string_view>

#include "stack/calcapp/pe_service.hpp"
#include "stack/calcapp/pu_core.hpp"
#include "stack/echo/pe_service.hpp"
#include "stack/common/events.hpp"
#include "stack/echo/pu_core.hpp"
#include "stack/session/pe_sessions.hpp"
#include "stack/session/pu_session.hpp"

namespace rsplab::node {

using TimePoint = std::chrono::steady_clock::time_point;

// One PE member's service. The shell feeds it its sessions (by its SessionId) with `now`
// and carries out the returned actions in order; load() goes to the registration core.
class PeApp {
 public:
  using SessionId = rserpool::session::SessionId;
  using Actions = rserpool::session::ServiceActions;
  // The PU's end of session s as {"addresses": [...], "port": n}; null when gone.
  using Peer = std::function<nlohmann::json(SessionId)>;

  virtual ~PeApp() = default;
  virtual void opened(SessionId s, TimePoint now, Actions& out) = 0;
  virtual void closed(SessionId s, TimePoint now, Actions& out) = 0;
  virtual void received(SessionId s, std::uint32_t ppid, std::span<const std::uint8_t> message,
                        TimePoint now, Actions& out) = 0;
  virtual void tick(TimePoint now, Actions& out) = 0;
  virtual std::optional<TimePoint> next_deadline() const = 0;
  virtual void shutdown(TimePoint now, Actions& out) = 0;
  virtual std::uint32_t load() const = 0;
  // The service's fields of the member's `ready` event (CalcApp: capacity, max_jobs; echo:
  // service, cookie_every).
  virtual void describe(common::MemberReady& ready) const = 0;
  // The work in progress at `now`, added to a `killed` / `stopped` event (CalcApp: `jobs`;
  // echo: nothing, its cookies make the PU's failover exact); what fell due first to `out`.
  virtual void add_progress(common::StoppedEvent& event, TimePoint now, Actions& out,
                            const Peer& peer) = 0;
};

std::unique_ptr<PeApp> make_pe_app(const rserpool::calcapp::ServiceConfig& config,
                                   TimePoint start);
std::unique_ptr<PeApp> make_pe_app(const rserpool::echo::ServiceConfig& config);

// One PU member's core: the session layer's inputs plus start, tick and stop.
class PuApp {
 public:
  using Actions = rserpool::session::PuActions;

  virtual ~PuApp() = default;
  virtual rserpool::session::PuInputs& inputs() = 0;
  virtual void start(TimePoint now, Actions& out) = 0;
  virtual void tick(TimePoint now, Actions& out) = 0;
  virtual std::optional<TimePoint> next_deadline() const = 0;
  virtual void stop(TimePoint now, Actions& out) = 0;
};

// The members of one `rsplab pu` process, all of one service.
class PuApps {
 public:
  virtual ~PuApps() = default;
  // Member i's core (seed + i), starting at `now`. The PuApps outlives it.
  virtual std::unique_ptr<PuApp> make(std::size_t i, TimePoint now) = 0;
  // The counters of every member made, summed: the JSON line the process prints at its end.
  virtual nlohmann::ordered_json summary() const = 0;
  // Work was asked for but no registrar ever answered a handle resolution (exit status 1).
  virtual bool unanswered() const = 0;
  // The service's fields of each member's `ready` event (echo: service).
  virtual void describe(common::MemberReady& ready) const = 0;
};

std::unique_ptr<PuApps> make_pu_apps(rserpool::calcapp::PuConfig config);
std::unique_ptr<PuApps> make_pu_apps(rserpool::echo::PuConfig config);

}  // namespace rsplab::node
