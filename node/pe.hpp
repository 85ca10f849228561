// Pool elements on real sockets, on the caller's io_context, serving CalcApp or (service
// echo) the echo service: `rsplab pe` is this plus signals and `--control stdin` (run.hpp).
// Each member (PeMember) is a thin Asio shell around two pure cores: the registration core
// (PeCore) and the service (PeApp, services.hpp). It opens its user-transport listener (whose
// endpoint it registers; TCP frames carry a PPID prefix so that service data and the ASAP
// control channel share one connection) and its ASAP endpoint (a listener whose port its
// registrar connections leave from, so that the ASAP transport its registrar records, and
// hands to its ENRP peers, is one a registrar taking the PE over can connect to; accepted
// connections are registrar connections of the core's), carries out the cores' ops in order, feeds back
// what happened with the time, keeps one timer at the cores' next deadline, pushes the
// service's load to the registration core and writes both cores' events (event_log.hpp).
//
//   PeCore ──connect/close/abort/send(i)──► RegistrarLinks ──► registrar i (PPID 11)
//   registrar j ──connect──► ASAP endpoint ──► RegistrarLinks::accept ─► PeCore (index j)
//   PU ──accept──► session s ──message(ppid)──► PeApp ──send/close(s)──► PU
//   PeApp::load() changed ──► PeCore::set_load (adaptive policies re-register)
//   DeadlineTimer(min of both next_deadline) ─► tick both
//   stop() (SIGTERM) ─► service.shutdown (cookies), PeCore::shutdown (deregister) ─► finished
//
// A PeNode hosts `--count` members and, with `--announce`, one AnnounceReceiver that hands
// every announce to every member; kill/freeze/resume/shutdown go to one member (member.hpp),
// restart replaces one with a fresh PE. Single-threaded: one io_context, no locks.
#pragma once

#include <utility>  // before Asio

#include <boost/asio.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "node/announce.hpp"
#include "node/event_log.hpp"
#include "node/member.hpp"
#include "node/services.hpp"
#include "node/shell.hpp"
#include "options/roles.hpp"
#include "stack/calcapp/pe_service.hpp"
#include "stack/common/log.hpp"
#include "stack/common/values.hpp"
#include "stack/handlespace/rng.hpp"
#include "stack/session/pe_core.hpp"
#include "stack/transport/transport.hpp"

namespace rsplab::node {

// The stderr logger of `rsplab pe` (its level: the node's --log-level).
common::Logger& pe_log();

// One PE: its registration core, its service, its listener, registrar links and
// sessions. Every entry point goes through the gate (--control).
class PeMember final : public Member {
 public:
  PeMember(boost::asio::io_context& io, std::size_t index, rserpool::session::PeConfig config,
           std::unique_ptr<PeApp> service, rserpool::transport::Kind kind,
           std::vector<rserpool::transport::Endpoint> registrars,
           const rserpool::transport::Endpoint& local, EventLog& events,
           std::function<void()> on_done);

  const rserpool::transport::Endpoint& user() const { return user_; }
  // The ASAP endpoint: the port registrar connections leave from (the PE's ASAP transport
  // at its registrar), where a registrar that takes the PE over connects.
  const rserpool::transport::Endpoint& asap() const { return asap_; }
  bool failed() const { return failed_; }

  // A registrar announced itself at `registrar` (its ASAP endpoint).
  void announced(std::uint32_t server_id, const rserpool::transport::Endpoint& registrar);
  // `previous`: the id of the member this one replaces (--control restart).
  void start(const std::string& previous = "");
  // Clean shutdown: fresh cookies (with probability p), sessions closed, deregistration.
  void shutdown() override;
  // The last resort of a shutdown that does not end.
  void abandon();

 private:
  // Runs `f(now)` (a call into a core), then carries out what the cores said.
  template <class F>
  void with_now(F f) {
    const auto now = Clock::now();
    f(now);
    execute(now);
  }
  RegistrarLinks::Callbacks link_callbacks();
  void accept(std::shared_ptr<rserpool::transport::Connection> c);
  void accept_registrar(std::shared_ptr<rserpool::transport::Connection> c);
  void execute(Clock::time_point now);
  void carry_out_service();
  void carry_out_registration();
  void rearm() override;
  void add_progress(common::StoppedEvent& e) override;
  void drop_all() override;

  DeadlineTimer timer_;
  std::unique_ptr<PeApp> service_;
  std::optional<rserpool::session::PeCore> core_;
  RegistrarLinks links_;
  std::unique_ptr<rserpool::transport::Listener> listener_;
  rserpool::transport::Endpoint user_;
  std::unique_ptr<rserpool::transport::Listener> asap_listener_;
  rserpool::transport::Endpoint asap_;
  rserpool::transport::Kind user_kind_ = rserpool::transport::Kind::tcp;
  std::string pool_, policy_name_;
  rserpool::session::SessionId next_session_ = 1;
  rserpool::session::Actions actions_;
  rserpool::session::ServiceActions service_actions_;
  std::uint32_t pushed_load_ = 0;
  bool shutting_down_ = false;
  bool failed_ = false;
};

// What a PeNode's options say, checked (pe.cpp).
struct PeSetup;

class PeNode {
 public:
  // Checks `o` (UsageError), opens its events (`sink`, else o.events; UsageError), makes its
  // members, each listening, and the announce receiver (std::exception: "user transport: …",
  // "--announce: …"). `on_finished`: every member is done (and none is held for a restart,
  // hold()), or one failed, or stop() gave up waiting; `rsplab pe` then exits.
  PeNode(boost::asio::io_context& io, const options::PeOptions& o, EventLog::Sink sink = {},
         std::function<void()> on_finished = {});
  ~PeNode();
  PeNode(const PeNode&) = delete;
  PeNode& operator=(const PeNode&) = delete;

  // Every member starts: its `ready` event, then registration.
  void start();
  std::size_t size() const { return members_.size(); }
  PeMember& member(std::size_t i) { return *members_[i]; }
  // For `--control stdin` (open_control): read at each command, a member may be replaced.
  const std::vector<std::unique_ptr<PeMember>>& members() const { return members_; }
  // Member i killed (if alive), then back as a fresh PE: a new random identifier, the same
  // capacity, a new listener (`--control` restart).
  void restart(std::size_t i);
  // While held (a controller is there), members that end may be restarted: the node is
  // finished only once released (or when one failed).
  void hold(bool held);
  // As SIGTERM: the announces closed, every member shut down (cookies, deregistration);
  // finished once all are done, or 5 s later anyway.
  void stop();
  // A member's registration can never succeed (inconsistent pooling policy): exit status 1.
  bool failed() const;

 private:
  void make_member();
  void member_done();
  void finish();
  std::uint32_t random_id();

  boost::asio::io_context& io_;
  std::unique_ptr<PeSetup> setup_;
  EventLog events_;
  std::function<void()> on_finished_;
  std::vector<std::unique_ptr<PeMember>> members_;
  // Members replaced by restart(): dead, but kept while their handlers may run.
  std::vector<std::unique_ptr<PeMember>> graveyard_;
  // Each member's service, made anew for a restart (the same configuration).
  std::vector<std::function<std::unique_ptr<PeApp>()>> services_;
  std::optional<AnnounceReceiver> announce_receiver_;
  boost::asio::steady_timer exit_timer_;
  std::random_device rd_;
  std::mt19937_64 ids_;
  std::optional<rserpool::handlespace::Rng> capacity_rng_;
  std::size_t finished_ = 0;
  bool restarting_ = false;
  bool held_ = false;
  bool ended_ = false;
};

}  // namespace rsplab::node
