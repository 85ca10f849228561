// SCTP through lksctp: one-to-one style sockets (SOCK_STREAM, IPPROTO_SCTP), multi-homed with
// sctp_bindx / sctp_connectx; a listener may share its port with connecting sockets
// (SO_REUSEPORT: a PE's ASAP endpoint, where RSPLIB uses one one-to-many socket). Asio only waits for readiness (async_wait on a generic socket
// wrapping the fd); the reads and writes are non-blocking sctp_recvmsg / sendmsg calls, which
// keep message boundaries and carry the PPID (network byte order on the wire and in the API).
//
//   readable ─► sctp_recvmsg until EAGAIN (MSG_EOR ends a message; notifications dropped)
//                 └─► on_message(ppid, message)
//   send() ─► queue ─► (posted) sendmmsg until EAGAIN ─► wait writable ─► ...
//             (all but the queue's last message with MSG_MORE: a burst leaves bundled)
//
// Every socket's options are set in configure(): PPIDs, SCTP_NODELAY, the default timers,
// and immediate SACKs where the caller asks (ListenOptions/ConnectOptions::immediate_sack).
#include <cerrno>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <unistd.h>

#include "stack/transport/internal.hpp"
// After internal.hpp: lksctp's header must follow <netinet/in.h> (IPPROTO_SCTP).
#include <netinet/sctp.h>

namespace rserpool::transport::detail {
namespace {

using GenericSocket = asio::generic::stream_protocol::socket;

bool any_v6(const std::vector<Address>& a, const std::vector<Address>& b = {}) {
  for (const auto& x : a) if (x.is_v6()) return true;
  for (const auto& x : b) if (x.is_v6()) return true;
  return false;
}

// The packed sockaddr array sctp_bindx / sctp_connectx take.
std::vector<std::uint8_t> pack(const std::vector<Address>& addresses, std::uint16_t port) {
  std::vector<std::uint8_t> out;
  for (const auto& a : addresses) {
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(a, port, false, ss);
    const auto* p = reinterpret_cast<const std::uint8_t*>(&ss);
    out.insert(out.end(), p, p + len);
  }
  return out;
}

// Walks the packed array sctp_getpaddrs / sctp_getladdrs return.
std::vector<Address> unpack(const sockaddr* addrs, int n, std::uint16_t* port) {
  std::vector<Address> out;
  const auto* p = reinterpret_cast<const std::uint8_t*>(addrs);
  for (int i = 0; i < n; ++i) {
    const auto* sa = reinterpret_cast<const sockaddr*>(p);
    Address a;
    std::uint16_t pt = 0;
    if (!from_sockaddr(sa, a, pt)) break;
    out.push_back(a);
    if (port) *port = pt;
    p += sa->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  }
  return out;
}

SctpTimers& default_timers() {
  static SctpTimers timers;
  return timers;
}

// SCTP_RTOINFO, SCTP_PEER_ADDR_PARAMS, SCTP_ASSOCINFO; on a socket before connect/listen
// they become the defaults of its associations, after it they change the one association.
std::error_code apply_timers(int fd, const SctpTimers& t) {
  if (t.rto_initial_ms || t.rto_min_ms || t.rto_max_ms) {
    sctp_rtoinfo rto{};
    rto.srto_initial = t.rto_initial_ms;
    rto.srto_min = t.rto_min_ms;
    rto.srto_max = t.rto_max_ms;
    if (::setsockopt(fd, IPPROTO_SCTP, SCTP_RTOINFO, &rto, sizeof rto) != 0) {
      return errno_code(errno);
    }
  }
  if (t.heartbeat_interval_ms || t.path_max_retrans) {
    sctp_paddrparams params{};  // address all zero: every path of the association
    params.spp_hbinterval = t.heartbeat_interval_ms;
    params.spp_pathmaxrxt = t.path_max_retrans;
    if (t.heartbeat_interval_ms) params.spp_flags = SPP_HB_ENABLE;
    if (::setsockopt(fd, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &params, sizeof params) != 0) {
      return errno_code(errno);
    }
  }
  if (t.assoc_max_retrans) {
    sctp_assocparams assoc{};
    assoc.sasoc_asocmaxrxt = t.assoc_max_retrans;
    if (::setsockopt(fd, IPPROTO_SCTP, SCTP_ASSOCINFO, &assoc, sizeof assoc) != 0) {
      return errno_code(errno);
    }
  }
  return {};
}


// The one place our SCTP sockets get their options: the PPID with each message, no
// Nagle-like delay, the default timers; with `immediate_sack` (ListenOptions, ConnectOptions)
// SCTP_DELAYED_SACK with sack_freq 1, which turns the delayed SACK off (sack_delay 0 leaves
// the unused delay as it is). Before listen/connect the options become the defaults of the
// socket's associations (an accepted one inherits its listener's); after, they change its
// one association.
std::error_code configure(int fd, bool immediate_sack) {
  sctp_event_subscribe events{};
  events.sctp_data_io_event = 1;
  if (::setsockopt(fd, IPPROTO_SCTP, SCTP_EVENTS, &events, sizeof events) != 0) {
    return errno_code(errno);
  }
  const int on = 1;
  if (::setsockopt(fd, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on) != 0) return errno_code(errno);
  if (immediate_sack) {  // a tuning: where the kernel refuses it, logged, not an error
    sctp_sack_info sack{};
    sack.sack_freq = 1;
    if (::setsockopt(fd, IPPROTO_SCTP, SCTP_DELAYED_SACK, &sack, sizeof sack) != 0)
      log(std::string("sctp: SCTP_DELAYED_SACK: ") + std::strerror(errno) +
          ": the peer's smoothed RTT holds our SACK delay");
  }
  return apply_timers(fd, default_timers());
}

int family_of(bool v6) { return v6 ? AF_INET6 : AF_INET; }

class SctpConnection final : public Connection {
 public:
  SctpConnection(asio::io_context& io, int fd, int family)
      : io_(io), socket_(io, asio::generic::stream_protocol(family, IPPROTO_SCTP), fd) {
    sockaddr* addrs = nullptr;
    const int n = sctp_getpaddrs(fd, 0, &addrs);
    if (n > 0) {
      unpack(addrs, n, &peer_port_);
      sctp_freepaddrs(addrs);
    }
  }
  ~SctpConnection() override {
    boost::system::error_code ec;
    socket_.close(ec);
  }

  Kind kind() const override { return Kind::sctp; }
  int fd() const { return const_cast<GenericSocket&>(socket_).native_handle(); }
  bool closed() const { return closed_; }

  void start(Handler handler) override {
    handler_ = std::move(handler);
    if (closed_) return;
    wait_read();
  }

  bool send(std::uint32_t ppid, std::span<const std::uint8_t> message) override {
    if (closed_ || !frameable(message)) return false;
    queue_.push_back({ppid, std::vector<std::uint8_t>(message.begin(), message.end())});
    if (!writing_) {
      writing_ = true;
      // Never fails inside send(): the owner may not expect on_close there.
      asio::post(socket_.get_executor(), [self = shared(), this] { flush(); });
    }
    return true;
  }

  void close() override { shut(false); }
  void abort() override { shut(true); }

  std::vector<Address> peer_addresses() const override {
    if (closed_) return {};
    sockaddr* addrs = nullptr;
    const int n = sctp_getpaddrs(fd(), 0, &addrs);
    if (n <= 0) return {};
    auto out = unpack(addrs, n, nullptr);
    sctp_freepaddrs(addrs);
    return out;
  }
  std::uint16_t peer_port() const override { return peer_port_; }
  asio::io_context& context() const override { return io_; }
  Endpoint local_endpoint() const override {
    if (closed_) return {};
    sockaddr* addrs = nullptr;
    const int n = sctp_getladdrs(fd(), 0, &addrs);
    if (n <= 0) return {};
    Endpoint ep;
    ep.addresses = unpack(addrs, n, &ep.port);
    sctp_freeladdrs(addrs);
    return ep;
  }

 private:
  struct Outgoing {
    std::uint32_t ppid;
    std::vector<std::uint8_t> message;
  };
  static constexpr std::size_t kBatch = 64;

  void wait_read() {
    socket_.async_wait(GenericSocket::wait_read,
                       [self = shared(), this](boost::system::error_code ec) { on_readable(ec); });
  }

  void on_readable(boost::system::error_code ec) {
    if (closed_) {
      handler_ = {};
      return;
    }
    if (ec) {
      fail(to_std(ec));
      return;
    }
    // A bounded batch per wake-up, so that one busy peer cannot starve the rest.
    for (int messages = 0; messages < 64;) {
      sctp_sndrcvinfo info{};
      int flags = 0;
      const int n = sctp_recvmsg(fd(), buffer_.data() + filled_, buffer_.size() - filled_,
                                 nullptr, nullptr, &info, &flags);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        fail(errno_code(errno));
        return;
      }
      if (n == 0) {
        fail(Errc::peer_closed);
        return;
      }
      filled_ += static_cast<std::size_t>(n);
      const bool notification = (flags & MSG_NOTIFICATION) != 0;
      if (!(flags & MSG_EOR)) {  // a part of a message: read on
        if (filled_ < buffer_.size()) continue;
        if (!notification) {
          fail(Errc::message_too_large);
          return;
        }
        filled_ = 0;  // an oversized notification: drop its parts until MSG_EOR
        discarding_ = true;
        continue;
      }
      const std::size_t size = filled_;
      filled_ = 0;
      if (notification || discarding_) {
        discarding_ = false;
        continue;
      }
      ++messages;
      if (handler_.on_message) {
        handler_.on_message(ntohl(info.sinfo_ppid),
                            std::span<const std::uint8_t>(buffer_.data(), size));
      }
      if (closed_) {  // close() from inside on_message
        handler_ = {};
        return;
      }
    }
    wait_read();
  }

  // Out with the queue, in order: every message but the queue's last with MSG_MORE, so that
  // the kernel bundles what a burst of answers queued into as few packets as fit (SCTP's
  // MSG_MORE holds the chunks until a send without it); the last goes without and sends
  // them all. One message alone goes out at once, as before (SCTP_NODELAY). sendmmsg: up to
  // kBatch messages per system call.
  void flush() {
    if (closed_) return;
    while (!queue_.empty()) {
      const bool last = queue_.size() == 1;
      const std::size_t count = last ? 1 : std::min(queue_.size() - 1, kBatch);
      const int n = send_batch(count, last ? 0 : MSG_MORE);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          socket_.async_wait(GenericSocket::wait_write,
                             [self = shared(), this](boost::system::error_code ec) {
                               if (closed_) return;
                               if (ec) {
                                 fail(to_std(ec));
                                 return;
                               }
                               flush();
                             });
          return;
        }
        fail(errno_code(errno));
        return;
      }
      queue_.erase(queue_.begin(), queue_.begin() + n);
    }
    writing_ = false;
  }

  // The first `count` (<= kBatch) queued messages in one sendmmsg, each with its PPID
  // (SCTP_SNDRCV), `flags` added to MSG_NOSIGNAL | MSG_DONTWAIT (sendmsg, not lksctp's
  // sctp_sendmsg: that one cannot pass MSG_NOSIGNAL, and a send on a shut-down association
  // would raise SIGPIPE). How many went out, or -1 with errno.
  int send_batch(std::size_t count, int flags) {
    struct Control {
      alignas(cmsghdr) char bytes[CMSG_SPACE(sizeof(sctp_sndrcvinfo))];
    };
    std::array<mmsghdr, kBatch> msgs{};
    std::array<iovec, kBatch> iovs{};
    std::array<Control, kBatch> controls{};
    for (std::size_t i = 0; i < count; ++i) {
      const Outgoing& out = queue_[i];
      iovs[i] = {const_cast<std::uint8_t*>(out.message.data()), out.message.size()};
      msghdr& msg = msgs[i].msg_hdr;
      msg.msg_iov = &iovs[i];
      msg.msg_iovlen = 1;
      msg.msg_control = controls[i].bytes;
      msg.msg_controllen = sizeof controls[i].bytes;
      cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
      cmsg->cmsg_level = IPPROTO_SCTP;
      cmsg->cmsg_type = SCTP_SNDRCV;
      cmsg->cmsg_len = CMSG_LEN(sizeof(sctp_sndrcvinfo));
      sctp_sndrcvinfo info{};
      info.sinfo_ppid = htonl(out.ppid);
      std::memcpy(CMSG_DATA(cmsg), &info, sizeof info);
    }
    return ::sendmmsg(fd(), msgs.data(), static_cast<unsigned>(count),
                      MSG_NOSIGNAL | MSG_DONTWAIT | flags);
  }

  // close() (SHUTDOWN after the data in flight) or abort() (ABORT: SO_LINGER 0 makes the
  // kernel abort the association and drop what it holds). The aborted wait releases handler_.
  void shut(bool abort) {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    if (abort) {
      const linger now{1, 0};
      ::setsockopt(fd(), SOL_SOCKET, SO_LINGER, &now, sizeof now);
    }
    boost::system::error_code ec;
    socket_.close(ec);
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

  std::shared_ptr<SctpConnection> shared() {
    return std::static_pointer_cast<SctpConnection>(shared_from_this());
  }

  asio::io_context& io_;
  GenericSocket socket_;
  Handler handler_;
  bool closed_ = false;
  bool writing_ = false;
  bool discarding_ = false;
  std::uint16_t peer_port_ = 0;
  std::array<std::uint8_t, kMaxMessageSize + 1> buffer_;  // +1: a larger message shows
  std::size_t filled_ = 0;
  std::deque<Outgoing> queue_;
};

// ---------------------------------------------------------------- connect
struct SctpConnect : std::enable_shared_from_this<SctpConnect> {
  SctpConnect(asio::io_context& io, int fd, int family,
              std::function<void(std::error_code, std::shared_ptr<Connection>)> h)
      : io(io), family(family), socket(io, asio::generic::stream_protocol(family, IPPROTO_SCTP), fd),
        timer(io), handler(std::move(h)) {}

  void finish(std::error_code ec) {
    if (done) return;
    done = true;
    timer.cancel();
    if (ec) {
      boost::system::error_code ignored;
      socket.close(ignored);
      handler(ec, nullptr);
      return;
    }
    const int fd = socket.release();
    handler({}, std::make_shared<SctpConnection>(io, fd, family));
  }

  asio::io_context& io;
  int family;
  GenericSocket socket;
  asio::steady_timer timer;
  std::function<void(std::error_code, std::shared_ptr<Connection>)> handler;
  bool done = false;
};

// ---------------------------------------------------------------- listener
class SctpListener final : public Listener {
 public:
  struct State {
    State(asio::io_context& io, int fd, int family)
        : io(io), family(family),
          socket(io, asio::generic::stream_protocol(family, IPPROTO_SCTP), fd) {}
    asio::io_context& io;
    int family;
    GenericSocket socket;
    std::function<void(std::shared_ptr<Connection>)> on_accept;
    std::function<asio::io_context&()> connection_context;
    bool immediate_sack = false;
    bool closed = false;
  };

  SctpListener(asio::io_context& io, const Endpoint& local, ListenOptions options) {
    const bool v6 = any_v6(local.addresses);
    const int family = family_of(v6);
    const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_SCTP);
    if (fd < 0) throw std::system_error(errno_code(errno), "sctp socket");
    auto fail = [&](const std::string& what) {
      const int e = errno;
      ::close(fd);
      throw std::system_error(errno_code(e), what);
    };
    const int on = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) fail("SO_REUSEADDR");
    if (options.share_port && share_port(fd)) fail("SO_REUSEPORT");
    if (auto ec = configure(fd, options.immediate_sack)) {
      ::close(fd);
      throw std::system_error(ec, "sctp socket options");
    }
    if (local.addresses.empty()) {
      sockaddr_storage ss;
      const socklen_t len = to_sockaddr(asio::ip::address_v4::any(), local.port, false, ss);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        fail("sctp bind " + local.to_string());
      }
    } else {
      auto packed = pack(local.addresses, local.port);
      if (sctp_bindx(fd, reinterpret_cast<sockaddr*>(packed.data()),
                     static_cast<int>(local.addresses.size()), SCTP_BINDX_ADD_ADDR) != 0) {
        fail("sctp_bindx " + local.to_string());
      }
    }
    if (::listen(fd, 128) != 0) fail("sctp listen " + local.to_string());
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    Address ignored;
    std::uint16_t port = local.port;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      from_sockaddr(reinterpret_cast<sockaddr*>(&ss), ignored, port);
    }
    local_ = Endpoint{local.addresses, port};
    state_ = std::make_shared<State>(io, fd, family);
    state_->connection_context = options.connection_context;
    state_->immediate_sack = options.immediate_sack;
  }
  ~SctpListener() override { close(); }

  void start(std::function<void(std::shared_ptr<Connection>)> on_accept) override {
    state_->on_accept = std::move(on_accept);
    wait(state_);
  }
  Endpoint local_endpoint() const override { return local_; }
  void close() override {
    if (state_->closed) return;
    state_->closed = true;
    boost::system::error_code ec;
    state_->socket.close(ec);
  }

 private:
  static void wait(std::shared_ptr<State> state) {
    state->socket.async_wait(GenericSocket::wait_read, [state](boost::system::error_code ec) {
      if (state->closed) return;
      if (ec) {
        log("sctp accept: " + ec.message());
        return;
      }
      while (!state->closed) {
        const int fd = ::accept4(state->socket.native_handle(), nullptr, nullptr,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EINTR || errno == ECONNABORTED) continue;
          if (errno != EAGAIN && errno != EWOULDBLOCK) {
            log(std::string("sctp accept: ") + std::strerror(errno));
            auto timer = std::make_shared<asio::steady_timer>(state->io,
                                                              std::chrono::milliseconds(100));
            timer->async_wait([state, timer](boost::system::error_code) {
              if (!state->closed) wait(state);
            });
            return;
          }
          break;
        }
        if (auto cec = configure(fd, state->immediate_sack)) {  // inherited, but say it again
          log("sctp accept: socket options: " + cec.message());
        }
        asio::io_context& into =
            state->connection_context ? state->connection_context() : state->io;
        auto connection = std::make_shared<SctpConnection>(into, fd, state->family);
        if (state->on_accept) state->on_accept(std::move(connection));
      }
      if (!state->closed) wait(state);
    });
  }

  std::shared_ptr<State> state_;
  Endpoint local_;
};

// A socket to connect from: our options, bound to `local` (sctp_bindx; none: the kernel's
// choice) on `port`, which a listener of ours shares (SO_REUSEPORT, which Linux's SCTP
// honours for one-to-one sockets: a listener and connecting sockets on one port, checked on
// Debian's 6.1 kernel by tests/transport's Sctp.*SharedPort*; where a kernel refuses, the
// bind fails and the caller leaves from another port). The fd, or -1 with `error` set.
int open_bound(int family, const std::vector<Address>& local, std::uint16_t port,
               bool immediate_sack, std::error_code& error) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_SCTP);
  if (fd < 0) {
    error = errno_code(errno);
    return -1;
  }
  error = configure(fd, immediate_sack);
  if (!error && port != 0) error = share_port(fd);
  if (!error && !local.empty()) {
    auto packed = pack(local, port);
    if (sctp_bindx(fd, reinterpret_cast<sockaddr*>(packed.data()),
                   static_cast<int>(local.size()), SCTP_BINDX_ADD_ADDR) != 0) {
      error = errno_code(errno);
    }
  } else if (!error && port != 0) {
    sockaddr_storage ss;
    const Address any = family == AF_INET6 ? Address(asio::ip::address_v6::any())
                                           : Address(asio::ip::address_v4::any());
    const socklen_t len = to_sockaddr(any, port, false, ss);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) error = errno_code(errno);
  }
  if (!error) return fd;
  ::close(fd);
  return -1;
}

}  // namespace

void async_connect_sctp(asio::io_context& io, const Endpoint& remote,
                        const std::vector<Address>& local,
                        std::function<void(std::error_code, std::shared_ptr<Connection>)> handler,
                        ConnectOptions options) {
  auto post_error = [&](std::error_code ec) {
    asio::post(io, [handler = std::move(handler), ec] { handler(ec, nullptr); });
  };
  if (remote.addresses.empty()) return post_error(Errc::no_address);
  if (!sctp_available()) return post_error(Errc::no_sctp);
  const bool v6 = any_v6(remote.addresses, local);
  const int family = family_of(v6);
  std::error_code error;
  int fd = open_bound(family, local, options.local_port, options.immediate_sack, error);
  if (fd < 0 && options.local_port != 0) {
    log("sctp bind port " + std::to_string(options.local_port) + ": " + error.message() +
        ": from a port the kernel picks");
    fd = open_bound(family, local, 0, options.immediate_sack, error);
  }
  if (fd < 0) return post_error(error);
  auto close_with = [&](std::error_code ec) {
    ::close(fd);
    post_error(ec);
  };
  auto packed = pack(remote.addresses, remote.port);
  // Synchronously up to here (the socket exists in the caller's network namespace);
  // only the handshake is waited for.
  const int rc = sctp_connectx(fd, reinterpret_cast<sockaddr*>(packed.data()),
                               static_cast<int>(remote.addresses.size()), nullptr);
  if (rc != 0 && errno != EINPROGRESS) return close_with(errno_code(errno));
  auto attempt = std::make_shared<SctpConnect>(io, fd, family, std::move(handler));
  if (options.timeout.count() > 0) {
    attempt->timer.expires_after(options.timeout);
    attempt->timer.async_wait([attempt](boost::system::error_code ec) {
      if (!ec) attempt->finish(Errc::timed_out);
    });
  }
  attempt->socket.async_wait(GenericSocket::wait_write, [attempt](boost::system::error_code ec) {
    if (attempt->done) return;
    if (ec) {
      attempt->finish(to_std(ec));
      return;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(attempt->socket.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      err = errno;
    }
    attempt->finish(err != 0 ? errno_code(err) : std::error_code());
  });
}

std::unique_ptr<Listener> open_sctp_listener(asio::io_context& io, const Endpoint& local,
                                             ListenOptions options) {
  if (!sctp_available()) throw std::system_error(Errc::no_sctp, "sctp listen");
  return std::make_unique<SctpListener>(io, local, options);
}

std::error_code set_sctp_timers(Connection& connection, const SctpTimers& t) {
  auto* c = dynamic_cast<SctpConnection*>(&connection);
  if (c == nullptr || c->closed()) return std::make_error_code(std::errc::bad_file_descriptor);
  return apply_timers(c->fd(), t);
}

void set_default_sctp_timers(const SctpTimers& timers) { default_timers() = timers; }

// Linux hands SCTP_STATUS's srtt out in jiffies, unconverted (its rto beside it is in ms):
// the kernel's HZ, from /proc/timer_list (root only): jiffies = 2^32 + HZ·(uptime − 300 s)
// on 64-bit kernels (INITIAL_JIFFIES), snapped to 100, 250, 300 or 1000. 250 (Debian's and
// Ubuntu's) where it cannot be read.
long kernel_hz() {
  static const long hz = [] {
    std::FILE* f = std::fopen("/proc/timer_list", "r");
    if (f == nullptr) return 250L;
    double now_s = -1;
    unsigned long long jiffies = 0;
    char line[256];
    while (std::fgets(line, sizeof line, f) != nullptr && jiffies == 0) {
      unsigned long long ns = 0;
      if (now_s < 0 && std::sscanf(line, "now at %llu nsecs", &ns) == 1) now_s = ns / 1e9;
      std::sscanf(line, "jiffies: %llu", &jiffies);
    }
    std::fclose(f);
    const double up = now_s - 300;
    if (now_s < 0 || jiffies <= (1ULL << 32) || up < 10) return 250L;
    const double estimate = static_cast<double>(jiffies - (1ULL << 32)) / up;
    for (const long candidate : {100L, 250L, 300L, 1000L})
      if (std::abs(estimate - candidate) < candidate * 0.05) return candidate;
    return 250L;
  }();
  return hz;
}

std::optional<std::chrono::microseconds> sctp_rtt(Connection& connection) {
  auto* c = dynamic_cast<SctpConnection*>(&connection);
  if (c == nullptr || c->closed()) return std::nullopt;
  sctp_status status{};
  socklen_t len = sizeof status;
  if (::getsockopt(c->fd(), IPPROTO_SCTP, SCTP_STATUS, &status, &len) != 0) return std::nullopt;
  return std::chrono::microseconds(std::int64_t{status.sstat_primary.spinfo_srtt} * 1'000'000 /
                                   kernel_hz());
}

}  // namespace rserpool::transport::detail
