// Pool users on real sockets, on the caller's io_context, submitting CalcApp jobs or (service
// echo) running echo series: `rsplab pu` is this plus signals, `--runtime` and `--control
// stdin` (run.hpp). Each member (PuMember) is a thin Asio shell around the pure PU core
// (PuApp, services.hpp: calcapp::PuCore or echo::PuCore): it carries out the core's ops in
// order — registrar connections by index (ASAP, PPID 11), PE sessions by the core's
// SessionId (service data and ASAP on one connection: a PPID prefix per frame on TCP) —
// feeds back what happened with the time, keeps one timer at the core's next deadline and
// writes the core's events (event_log.hpp).
//
//   PuApp ──connect/close/send_registrar(i)──► RegistrarLinks ──► registrar i
//   PuApp ──connect_pe(s, PE's user transport)──► async_connect ──► pe_connected / _failed
//   PuApp ──send_pe(s, ppid) / close_pe(s)──► Connection ──message/closed──► PuApp
//   DeadlineTimer(next_deadline) ─► tick;  stop() (SIGTERM, --runtime) ─► unfinished jobs
//
// A PuNode hosts `--count` members; kill/freeze/resume/shutdown go to one of them
// (member.hpp). Single-threaded: one io_context, no locks.
#pragma once

#include <utility>  // before Asio

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "node/event_log.hpp"
#include "node/member.hpp"
#include "node/services.hpp"
#include "node/shell.hpp"
#include "options/roles.hpp"
#include "stack/common/log.hpp"
#include "stack/session/pu_session.hpp"
#include "stack/transport/transport.hpp"

namespace rsplab::node {

// The stderr logger of `rsplab pu` (its level: the node's --log-level).
common::Logger& pu_log();

class PuMember final : public Member {
 public:
  PuMember(boost::asio::io_context& io, std::size_t index, std::string name, PuApps& apps,
           const rserpool::session::PuSessionConfig& config, rserpool::transport::Choice choice,
           rserpool::transport::Kind registrar_kind,
           std::vector<rserpool::transport::Endpoint> registrars,
           std::vector<rserpool::transport::Address> local, EventLog& events,
           std::function<void()> on_done);

  void start(const PuApps& apps);
  // The run is over: unfinished jobs recorded, connections closed.
  void shutdown() override;

 private:
  template <class F>
  void with_now(F f) {
    const auto now = Clock::now();
    core_.anchor_clock(now, EventLog::now_us());
    f(now);
    execute(now);
  }
  RegistrarLinks::Callbacks link_callbacks();
  void connect_pe(rserpool::session::SessionId s, const rserpool::wire::Transport& pe);
  void connected(rserpool::session::SessionId s, std::shared_ptr<rserpool::transport::Connection> c);
  void execute(Clock::time_point now);
  void carry_out(rserpool::session::PuOp& op);
  void rearm() override;
  void drop_all() override;

  boost::asio::io_context& io_;
  rserpool::transport::Choice choice_;
  std::vector<rserpool::transport::Address> local_;
  std::chrono::milliseconds pe_connect_timeout_;
  DeadlineTimer timer_;
  std::unique_ptr<PuApp> app_;
  rserpool::session::PuInputs& core_;  // app_'s
  RegistrarLinks links_;
  std::set<rserpool::session::SessionId> connecting_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // pending connects' guard
  rserpool::session::PuActions actions_;
};

class PuNode {
 public:
  // Checks `o` (UsageError), opens its events (`sink`, else o.events; UsageError) and makes
  // its members. `on_finished`: every member is done (its jobs or series over, or stopped).
  PuNode(boost::asio::io_context& io, const options::PuOptions& o, EventLog::Sink sink = {},
         std::function<void()> on_finished = {});
  ~PuNode();
  PuNode(const PuNode&) = delete;
  PuNode& operator=(const PuNode&) = delete;

  // Every member starts: its `ready` event, then its work.
  void start();
  std::size_t size() const { return members_.size(); }
  PuMember& member(std::size_t i) { return *members_[i]; }
  const std::vector<std::unique_ptr<PuMember>>& members() const { return members_; }
  // As SIGTERM: every member's run ends (unfinished jobs recorded).
  void stop();
  bool finished() const { return finished_ == members_.size(); }
  // The members' counters summed: the line `rsplab pu` prints at its end.
  nlohmann::ordered_json summary() const { return apps_->summary(); }
  // Work was asked for but no registrar ever answered (exit status 1).
  bool unanswered() const { return apps_->unanswered(); }

 private:
  EventLog events_;
  std::function<void()> on_finished_;
  std::unique_ptr<PuApps> apps_;
  std::vector<std::unique_ptr<PuMember>> members_;
  std::size_t finished_ = 0;
};

}  // namespace rsplab::node
