// A pool registrar on real sockets, on the caller's io_context: a thin Asio shell around the
// pure registrar core (stack/registrar/core.hpp). It accepts ASAP and ENRP connections (SCTP
// or the TCP mapping), dials the ones the core asks for (ENRP to peers, ASAP to adopted PEs),
// feeds their messages to the core with the time, carries out the core's sends, keeps one
// timer at the core's next deadline, writes the core's events as JSON lines (event_log.hpp),
// sends and hears ENRP presence on a UDP multicast group, and announces itself over ASAP by
// UDP multicast once the core serves. `rsplab registrar` is this plus signals (run.hpp);
// tests run it in-process.
//
//   PE/PU ──ASAP──► Listener ─► Connection ─► Core::received_asap(now) ─► Actions
//   peer  ──ENRP──► Listener ─► Connection ─► Core::received_enrp(now)  ─► Actions
//   Actions.connects ─► async_connect ─► Core::opened | Core::closed (sends held meanwhile)
//   Actions.sends ─► Connection::send          Actions.events ─► EventLog
//   Actions.multicast ─► UDP group ─► every registrar's Core::received_enrp_multicast
//   DeadlineTimer(next_deadline) ─► Core::tick(now)
//
// Threads: by default one io_context (the caller's), everything on it. With --threads N the
// node runs N-1 more io_contexts, each on a thread of its own, and the ASAP listener hands
// accepted connections round robin to the caller's and these (ListenOptions::
// connection_context): receiving, framing and sending of a connection run on its thread.
// The core, the connection table, the actions and the event log are under one mutex, taken
// by every handler that reaches the core; a send to a connection of another thread is
// posted to that thread. A resolution therefore sees the handlespace between two core
// calls, never a registration half applied. Of a resolution only the core's part is under
// the mutex (the selection and the encoding of the answer from the selected PEs): its
// request is decoded before and its answer sent after, on the connection's thread.
// Listeners, dials, timers and UDP stay on the caller's io_context. REQUIRES: the caller
// runs its io_context on one thread.
#pragma once

#include <utility>  // before Asio

#include <boost/asio.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <random>
#include <thread>
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
  // The core, read-only: its handlespace and peers (tests).
  const rserpool::registrar::Core& core() const { return *core_; }

 private:
  void configure(const options::RegistrarOptions& o);
  void listen(const rserpool::transport::Endpoint& asap, const rserpool::transport::Endpoint& enrp,
              bool also_tcp);
  void open(const rserpool::transport::Endpoint& at, bool is_asap, bool also_tcp);
  void accept(std::shared_ptr<rserpool::transport::Connection> c, bool is_asap);
  void read(rserpool::registrar::ConnId id, rserpool::transport::Connection& c, bool is_asap);
  void received(rserpool::registrar::ConnId id, bool is_asap, rserpool::transport::Connection& c,
                std::span<const std::uint8_t> m);
  void resolve(rserpool::registrar::ConnId id, rserpool::transport::Connection& c,
               const rserpool::wire::asap::HandleResolution& m);
  void dial(const rserpool::registrar::Connect& c);
  void connect(const rserpool::registrar::Connect& c);
  void start_workers(std::uint32_t threads);
  void stop_workers();
  boost::asio::io_context& next_context();
  // Whether `ctx`'s objects may be used here: always with one thread (the node is then used
  // from outside its io_context too, as before), else on ctx's thread only.
  bool here(boost::asio::io_context& ctx) const {
    return workers_.empty() || ctx.get_executor().running_in_this_thread();
  }
  bool on_main() const { return here(io_); }
  // Runs `f` on the caller's io_context: at once when this is its thread, else posted.
  template <class F>
  void on_main(F&& f) {
    if (on_main()) f();
    else boost::asio::post(io_, std::forward<F>(f));
  }
  void dialled(rserpool::registrar::ConnId id, bool is_asap, std::error_code ec,
               std::shared_ptr<rserpool::transport::Connection> c);
  void closed(rserpool::registrar::ConnId id);
  void execute();
  void arm();
  void start_announces(const boost::asio::ip::udp::endpoint& group);
  void send_announce();
  void open_presence(const boost::asio::ip::udp::endpoint& group);
  void receive_presence();

  boost::asio::io_context& io_;
  std::optional<rserpool::registrar::Core> core_;
  rserpool::transport::Kind kind_ = rserpool::transport::Kind::tcp;
  EventLog events_;
  std::vector<std::unique_ptr<rserpool::transport::Listener>> listeners_;  // ASAP's first
  rserpool::transport::Endpoint enrp_endpoint_;
  std::vector<rserpool::wire::Transport> asap_transports_;  // as announced
  std::vector<rserpool::wire::Transport> enrp_transports_;  // the core's Config::enrp.own
  struct Conn {
    std::shared_ptr<rserpool::transport::Connection> connection;  // null while dialled
    std::uint32_t ppid;  // ASAP or ENRP, by the endpoint it came in on or was dialled to
    std::vector<rserpool::wire::Bytes> held;  // the core's sends until it is open
    boost::asio::io_context* context = nullptr;  // where the connection lives
  };
  // --threads: the other io_contexts, each run by its thread until stop().
  struct Worker {
    boost::asio::io_context io{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
        io.get_executor()};
    std::thread thread;
  };
  std::vector<std::unique_ptr<Worker>> workers_;
  std::uint32_t threads_ = 1;
  std::size_t next_context_ = 0;
  // The core, conns_, actions_, events_, the counters, armed_deadline_, stopped_: every
  // handler that reaches the core holds it.
  std::mutex mutex_;
  std::optional<Clock::time_point> armed_deadline_;  // the core's deadline the timer is at
  bool announcing_ = false;
  std::map<rserpool::registrar::ConnId, Conn> conns_;
  rserpool::registrar::ConnId next_id_ = 1;
  rserpool::registrar::Actions actions_;
  DeadlineTimer timer_;
  std::optional<boost::asio::ip::udp::endpoint> announce_;  // --announce, once serving
  boost::asio::steady_timer announce_timer_;
  std::optional<boost::asio::ip::udp::socket> announce_socket_;
  boost::asio::ip::udp::endpoint announce_group_;
  // --enrp-announce: one socket joined to the group, sending and hearing presence.
  std::optional<boost::asio::ip::udp::socket> presence_socket_;
  boost::asio::ip::udp::endpoint presence_group_, presence_from_;
  std::vector<std::uint8_t> presence_buffer_;
  std::mt19937 rng_{std::random_device{}()};
  // Handlers of dials and datagrams check it: they may run after this node is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool started_ = false;
  bool stopped_ = false;
  // ENRP over peer connections, for the `stopped` event (bench/enrp_load).
  struct Counts {
    std::int64_t messages = 0, bytes = 0;
    void add(std::size_t n) { ++messages, bytes += static_cast<std::int64_t>(n); }
  };
  Counts enrp_sent_, enrp_received_;
  void send(Conn& c, rserpool::wire::Bytes message);
};

}  // namespace rsplab::node
