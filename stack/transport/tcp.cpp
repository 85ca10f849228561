// The TCP mapping: a stream socket, the Deframer on the way in, a send queue on the way out.
//
//   async_read_some ─► Deframer ─► on_message ...      send() ─► queue ─► async_write (batch)
#include <netinet/in.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>

#include <netinet/tcp.h>

#include "stack/transport/internal.hpp"

namespace rserpool::transport::detail {
namespace {

using asio::ip::tcp;

class TcpConnection final : public Connection {
 public:
  TcpConnection(tcp::socket socket, Framing framing)
      : socket_(std::move(socket)),
        framing_(framing),
        deframer_(framing.ppid_prefix, framing.implicit_ppid) {
    boost::system::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);  // RSerPool messages are small and urgent
    auto remote = socket_.remote_endpoint(ec);
    if (!ec) {
      peer_address_ = unmap(remote.address());
      peer_port_ = remote.port();
    }
  }
  ~TcpConnection() override {
    boost::system::error_code ec;
    socket_.close(ec);
  }

  Kind kind() const override { return Kind::tcp; }

  void start(Handler handler) override {
    handler_ = std::move(handler);
    if (closed_) return;
    read();
  }

  bool send(std::uint32_t ppid, std::span<const std::uint8_t> message) override {
    if (closed_) return false;
    std::vector<std::uint8_t> frame;
    frame.reserve(message.size() + kPpidSize);
    if (!append_frame(framing_.ppid_prefix, ppid, message, frame)) return false;
    queue_.push_back(std::move(frame));
    if (inflight_.empty()) write();
    return true;
  }

  void close() override { shut(false); }
  void abort() override { shut(true); }

  std::vector<Address> peer_addresses() const override {
    if (closed_ || !peer_address_) return {};
    return {*peer_address_};
  }
  std::uint16_t peer_port() const override { return peer_port_; }
  asio::io_context& context() const override {
    return static_cast<asio::io_context&>(
        asio::query(const_cast<tcp::socket&>(socket_).get_executor(), asio::execution::context));
  }
  Endpoint local_endpoint() const override {
    boost::system::error_code ec;
    auto local = socket_.local_endpoint(ec);
    if (ec) return {};
    return Endpoint{{unmap(local.address())}, local.port()};
  }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared(), this](boost::system::error_code ec, std::size_t n) {
                              on_read(ec, n);
                            });
  }

  void on_read(boost::system::error_code ec, std::size_t n) {
    if (closed_) {
      handler_ = {};
      return;
    }
    if (ec) {
      fail(to_std(ec));
      return;
    }
    deframer_.append(std::span<const std::uint8_t>(buffer_.data(), n));
    while (auto frame = deframer_.next()) {
      if (handler_.on_message) handler_.on_message(frame->ppid, frame->message);
      if (closed_) {  // close() from inside on_message
        handler_ = {};
        return;
      }
    }
    if (deframer_.error()) {
      fail(deframer_.error());
      return;
    }
    read();
  }

  void write() {
    while (!queue_.empty()) {
      inflight_.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    buffers_.clear();
    for (const auto& frame : inflight_) buffers_.push_back(asio::buffer(frame));
    asio::async_write(socket_, buffers_,
                      [self = shared(), this](boost::system::error_code ec, std::size_t) {
                        inflight_.clear();
                        if (closed_) return;
                        if (ec) {
                          fail(to_std(ec));
                          return;
                        }
                        if (!queue_.empty()) write();
                      });
  }

  // close() (FIN after what the kernel holds) or abort() (RST, the kernel's queue dropped).
  void shut(bool abort) {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    boost::system::error_code ec;
    if (abort)
      socket_.set_option(asio::socket_base::linger(true, 0), ec);
    else
      socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    // handler_ is released by the aborted read (we may be inside on_message right now).
  }

  // Once: closes and tells the owner. Never called from inside on_message.
  void fail(std::error_code ec) {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    boost::system::error_code ignored;
    socket_.close(ignored);
    Handler handler = std::move(handler_);
    handler_ = {};
    if (handler.on_close) handler.on_close(ec);
  }

  std::shared_ptr<TcpConnection> shared() {
    return std::static_pointer_cast<TcpConnection>(shared_from_this());
  }

 public:
  // The kernel's smoothed RTT of the connection (TCP_INFO's tcpi_rtt); nullopt once closed.
  std::optional<std::chrono::microseconds> rtt() {
    if (closed_) return std::nullopt;
    tcp_info info{};
    socklen_t len = sizeof info;
    if (::getsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
      return std::nullopt;
    return std::chrono::microseconds(info.tcpi_rtt);
  }

 private:
  tcp::socket socket_;
  Framing framing_;
  Deframer deframer_;
  Handler handler_;
  bool closed_ = false;
  std::optional<Address> peer_address_;
  std::uint16_t peer_port_ = 0;
  std::array<std::uint8_t, 65536> buffer_;
  std::deque<std::vector<std::uint8_t>> queue_;     // waiting for the write in flight
  std::vector<std::vector<std::uint8_t>> inflight_;  // being written
  std::vector<asio::const_buffer> buffers_;
};

// ---------------------------------------------------------------- connect
// Tries (local, remote) pairs in order: each remote address, and for it each local address
// of its family (only the first without every_local; the kernel's choice without any), one
// at a time, each for its share of the timeout. The handler gets the first connection, and
// every pair that failed before it.
//
//   try_next ─► open, bind(local) ─► async_connect(remote) ──ok──► handler(conn, failed)
//                    ▲                  │ error / timer (timeout / pairs) ─► cancel
//                    └──── failed += {local, remote, error} ◄──┘
struct ConnectAttempt : std::enable_shared_from_this<ConnectAttempt> {
  ConnectAttempt(asio::io_context& io, const Endpoint& remote, const std::vector<Address>& local,
                 Framing f, ConnectOptions o, PathsHandler h)
      : socket(io), timer(io), port(remote.port), framing(f), options(o), handler(std::move(h)) {
    for (const auto& r : remote.addresses) {
      bool any = false;
      for (const auto& l : local) {
        if (l.is_v4() != r.is_v4()) continue;
        pairs.push_back({l, r});
        any = true;
        if (!options.every_local) break;
      }
      if (!any) pairs.push_back({std::nullopt, r});
    }
    if (!pairs.empty()) attempt_timeout = options.timeout / static_cast<long>(pairs.size());
  }

  void try_next() {
    if (index >= pairs.size()) {
      handler(last ? last : std::error_code(Errc::no_address), nullptr, std::move(failed));
      return;
    }
    ++index;
    attempt(options.local_port);
  }

  // The current pair, leaving from `local_port` (0: the kernel's choice).
  void attempt(std::uint16_t local_port) {
    const auto [from, to] = pairs[index - 1];
    const tcp::endpoint target(to, port);
    boost::system::error_code ec;
    socket.close(ec);
    socket.open(target.protocol(), ec);
    if (!ec) ec = bind(from, target, local_port);
    if (ec) return fail(to_std(ec));
    timed_out = false;
    const std::size_t id = ++attempts;
    if (attempt_timeout.count() > 0) {
      timer.expires_after(attempt_timeout);
      timer.async_wait([self = shared_from_this(), id](boost::system::error_code e) {
        if (e || self->attempts != id || self->finished) return;
        self->timed_out = true;
        boost::system::error_code ignored;
        self->socket.cancel(ignored);
      });
    }
    socket.async_connect(target, [self = shared_from_this(), local_port](
                                     boost::system::error_code ec2) {
      self->timer.cancel();
      if (ec2 && local_port != 0 && !self->timed_out &&
          (ec2 == asio::error::address_in_use || ec2.value() == EADDRNOTAVAIL)) {
        // This pair still in use from the shared port (TIME_WAIT): from another port.
        log("tcp connect from port " + std::to_string(local_port) + ": " + ec2.message() +
            ": from a port the kernel picks");
        return self->attempt(0);
      }
      if (ec2) return self->fail(self->timed_out ? std::error_code(Errc::timed_out) : to_std(ec2));
      self->finished = true;
      self->handler({}, make_tcp_connection(std::move(self->socket), self->framing),
                    std::move(self->failed));
    });
  }

  // Binds the source: `from` (else the wildcard of the target's family when a port is
  // asked), on `local_port` shared with a listener; a port that cannot be bound is left to
  // the kernel (logged).
  boost::system::error_code bind(const std::optional<Address>& from, const tcp::endpoint& target,
                                 std::uint16_t local_port) {
    boost::system::error_code ec;
    if (!from && local_port == 0) return ec;
    const Address address = from ? *from
                            : target.address().is_v4()
                                ? Address(asio::ip::address_v4::any())
                                : Address(asio::ip::address_v6::any());
    if (local_port != 0) {
      if (const auto e = share_port(socket.native_handle())) {
        ec.assign(e.value(), boost::system::system_category());
        return ec;
      }
      socket.bind(tcp::endpoint(address, local_port), ec);
      if (!ec) return ec;
      log("tcp bind " + Endpoint{{address}, local_port}.to_string() + ": " + ec.message() +
          ": from a port the kernel picks");
      ec.clear();
      if (!from) return ec;
    }
    // The port is chosen at connect(), by the whole 4-tuple (IP_BIND_ADDRESS_NO_PORT): a
    // bind to port 0 would take a port for this address alone, and a site of 10,000 PUs and
    // 3,000 PEs runs the kernel's ephemeral range dry (every bind then scans it, then fails).
    const int one = 1;
    ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    socket.bind(tcp::endpoint(address, 0), ec);
    return ec;
  }

  // The pair just tried failed: noted, and the next one tried.
  void fail(std::error_code ec) {
    const auto& [from, to] = pairs[index - 1];
    failed.push_back({from ? std::vector<Address>{*from} : std::vector<Address>{}, {to}, ec});
    last = ec;
    try_next();
  }

  tcp::socket socket;
  asio::steady_timer timer;
  std::uint16_t port;
  Framing framing;
  ConnectOptions options;
  std::chrono::milliseconds attempt_timeout{0};
  PathsHandler handler;
  std::vector<std::pair<std::optional<Address>, Address>> pairs;
  std::size_t index = 0;     // pairs started
  std::size_t attempts = 0;  // connects started (a pair may be tried twice: local_port)
  bool timed_out = false;
  bool finished = false;
  std::vector<PathFailure> failed;
  std::error_code last;
};

// ---------------------------------------------------------------- listener
class TcpListener final : public Listener {
 public:
  struct State {
    std::vector<tcp::acceptor> acceptors;
    std::function<void(std::shared_ptr<Connection>)> on_accept;
    std::function<asio::io_context&()> connection_context;
    Framing framing;
    bool closed = false;
  };

  TcpListener(asio::io_context& io, const Endpoint& local, Framing framing,
              ListenOptions options)
      : io_(io), state_(std::make_shared<State>()) {
    state_->framing = framing;
    state_->connection_context = options.connection_context;
    std::vector<Address> addresses = local.addresses;
    if (addresses.empty()) addresses.push_back(asio::ip::address_v4::any());
    std::uint16_t port = local.port;
    for (const auto& address : addresses) {
      const tcp::endpoint ep(address, port);
      tcp::acceptor acceptor(io);
      try {
        acceptor.open(ep.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        if (options.share_port) {
          if (const auto e = share_port(acceptor.native_handle()))
            throw boost::system::system_error(e.value(), boost::system::system_category());
        }
        if (address.is_v6()) acceptor.set_option(asio::ip::v6_only(true));
        acceptor.bind(ep);
        acceptor.listen();
        port = acceptor.local_endpoint().port();  // port 0: the rest take the same one
      } catch (const boost::system::system_error& e) {
        throw std::system_error(to_std(e.code()),
                                "tcp listen on " + Endpoint{{address}, port}.to_string());
      }
      state_->acceptors.push_back(std::move(acceptor));
    }
    local_ = Endpoint{local.addresses, port};
  }
  ~TcpListener() override { close(); }

  void start(std::function<void(std::shared_ptr<Connection>)> on_accept) override {
    state_->on_accept = std::move(on_accept);
    for (std::size_t i = 0; i < state_->acceptors.size(); ++i) accept(state_, i, io_);
  }
  Endpoint local_endpoint() const override { return local_; }
  void close() override {
    if (state_->closed) return;
    state_->closed = true;
    boost::system::error_code ec;
    for (auto& a : state_->acceptors) a.close(ec);
  }

 private:
  static void accept(std::shared_ptr<State> state, std::size_t i, asio::io_context& io) {
    state->acceptors[i].async_accept(
        [state, i, &io](boost::system::error_code ec, tcp::socket socket) {
          if (state->closed) return;
          if (ec) {
            // EMFILE and the like: log, pause, go on accepting.
            log("tcp accept: " + ec.message());
            auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(100));
            timer->async_wait([state, i, &io, timer](boost::system::error_code) {
              if (!state->closed) accept(state, i, io);
            });
            return;
          }
          std::shared_ptr<Connection> connection;
          if (state->connection_context) {
            // Accepted here, then moved: a pending accept holds a socket of this io_context
            // only, whichever io_context is destroyed first.
            const auto protocol = socket.local_endpoint(ec).protocol();
            const auto fd = ec ? -1 : socket.release(ec);
            if (!ec) {
              connection = make_tcp_connection(
                  tcp::socket(state->connection_context(), protocol, fd), state->framing);
            }
          } else {
            connection = make_tcp_connection(std::move(socket), state->framing);
          }
          if (!connection) {
            log("tcp accept: " + ec.message());
            if (!state->closed) accept(state, i, io);
            return;
          }
          if (state->on_accept) state->on_accept(std::move(connection));
          if (!state->closed) accept(state, i, io);
        });
  }

  asio::io_context& io_;
  std::shared_ptr<State> state_;
  Endpoint local_;
};

}  // namespace

std::shared_ptr<Connection> make_tcp_connection(asio::ip::tcp::socket socket, Framing framing) {
  return std::make_shared<TcpConnection>(std::move(socket), framing);
}

void async_connect_tcp(asio::io_context& io, const Endpoint& remote,
                       const std::vector<Address>& local, Framing framing,
                       ConnectOptions options, PathsHandler handler) {
  auto attempt =
      std::make_shared<ConnectAttempt>(io, remote, local, framing, options, std::move(handler));
  // Never call the handler before async_connect returns.
  asio::post(io, [attempt] { attempt->try_next(); });
}

std::optional<std::chrono::microseconds> tcp_rtt(Connection& c) {
  auto* tcp = dynamic_cast<TcpConnection*>(&c);
  return tcp ? tcp->rtt() : std::nullopt;
}

std::unique_ptr<Listener> open_tcp_listener(asio::io_context& io, const Endpoint& local,
                                            Framing framing, ListenOptions options) {
  return std::make_unique<TcpListener>(io, local, framing, options);
}

}  // namespace rserpool::transport::detail
