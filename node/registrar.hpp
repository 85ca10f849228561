// A pool registrar on real sockets, on the caller's io_context: a thin Asio shell around the
// pure registrar core (stack/registrar/core.hpp). It accepts ASAP and ENRP connections (SCTP
// or the TCP mapping), feeds their messages to the core with the time, carries out the core's
// sends, keeps one timer at the core's next deadline, writes the core's events as JSON lines
// (event_log.hpp), and optionally announces itself by UDP multicast. `rsplab registrar` is
// this plus signals (run.hpp); tests run it in-process.
//
//   PE/PU ──ASAP──► Listener ─► Connection ─► Core::received_asap(now) ─► Actions
//   Actions.sends ─► Connection::send          Actions.events ─► EventLog
//   DeadlineTimer(next_deadline) ─► Core::tick(now)
//
// Single-threaded: one io_context, no locks.
#pragma once

#include <utility>  // before Asio

#include <boost/asio.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "node/event_log.hpp"
#include "node/shell.hpp"
#include "options/roles.hpp"
#include "stack/registrar/core.hpp"
#include "stack/transport/transport.hpp"
#include "stack/wire/parameters.hpp"

namespace rsplab::node {

class RegistrarNode {
 public:
  // Checks `o` (UsageError), opens its events (`sink`, else o.events; UsageError), listens
  // and starts announcing (std::exception when it cannot). Writes no event yet.
  RegistrarNode(boost::asio::io_context& io, const options::RegistrarOptions& o,
                EventLog::Sink sink = {});
  ~RegistrarNode();
  RegistrarNode(const RegistrarNode&) = delete;
  RegistrarNode& operator=(const RegistrarNode&) = delete;

  // Writes the `ready` event (its endpoints and transport).
  void start();
  // As SIGTERM (`signal`): the `stopped` event, every listener and connection closed, no
  // timer left. Idempotent.
  void stop(int signal);

  rserpool::transport::Endpoint asap_endpoint() const;
  rserpool::transport::Endpoint enrp_endpoint() const { return enrp_endpoint_; }
  rserpool::transport::Kind kind() const { return kind_; }
  std::uint32_t identifier() const { return core_->config().identifier; }

 private:
  void configure(const options::RegistrarOptions& o);
  void listen(const rserpool::transport::Endpoint& asap, const rserpool::transport::Endpoint& enrp,
              bool also_tcp);
  void open(const rserpool::transport::Endpoint& at, bool is_asap, bool also_tcp);
  void accept(std::shared_ptr<rserpool::transport::Connection> c, bool is_asap);
  void execute();
  void arm();
  void start_announces(const boost::asio::ip::udp::endpoint& group);
  void send_announce();

  boost::asio::io_context& io_;
  std::optional<rserpool::registrar::Core> core_;
  rserpool::transport::Kind kind_ = rserpool::transport::Kind::tcp;
  EventLog events_;
  std::vector<std::unique_ptr<rserpool::transport::Listener>> listeners_;  // ASAP's first
  rserpool::transport::Endpoint enrp_endpoint_;
  std::vector<rserpool::wire::Transport> asap_transports_;  // as announced
  struct Conn {
    std::shared_ptr<rserpool::transport::Connection> connection;
    std::uint32_t ppid;  // ASAP or ENRP, by the endpoint it came in on
  };
  std::map<rserpool::registrar::ConnId, Conn> conns_;
  rserpool::registrar::ConnId next_id_ = 1;
  rserpool::registrar::Actions actions_;
  DeadlineTimer timer_;
  boost::asio::steady_timer announce_timer_;
  std::optional<boost::asio::ip::udp::socket> announce_socket_;
  boost::asio::ip::udp::endpoint announce_group_;
  std::mt19937 rng_{std::random_device{}()};
  bool stopped_ = false;
};

}  // namespace rsplab::node
