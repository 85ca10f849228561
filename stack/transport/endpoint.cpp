// Names, choices, endpoints, errors, logging; the Kind-dispatching entry points.
#include <cerrno>
#include <charconv>
#include <cstring>
#include <iostream>
#include <mutex>
#include <unistd.h>

#include "stack/transport/internal.hpp"

namespace rserpool::transport {

// ---------------------------------------------------------------- errors
namespace {
class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "rserpool.transport"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::bad_length: return "frame with a Message Length below 4";
      case Errc::frame_too_short: return "PPID-prefixed frame shorter than a message header";
      case Errc::message_too_large: return "message over 65535 bytes";
      case Errc::peer_closed: return "closed by the peer";
      case Errc::no_sctp: return "the kernel has no SCTP";
      case Errc::no_address: return "endpoint without an address";
      case Errc::timed_out: return "connection attempt timed out";
    }
    return "unknown transport error " + std::to_string(value);
  }
};
}  // namespace

const std::error_category& transport_category() noexcept {
  static const Category category;
  return category;
}

// ---------------------------------------------------------------- logging
namespace {
LogSink& sink() {
  static LogSink s;
  return s;
}
}  // namespace

void set_log_sink(LogSink s) { sink() = std::move(s); }

namespace detail {
void log(std::string_view line) {
  if (sink()) {
    sink()(line);
  } else {
    std::clog << "transport: " << line << '\n';
  }
}

std::error_code to_std(const boost::system::error_code& ec) {
  if (!ec) return {};
  if (ec == asio::error::eof) return Errc::peer_closed;
  if (ec.category() == boost::system::system_category() ||
      ec.category() == boost::system::generic_category()) {
    return errno_code(ec.value());
  }
  return ec;  // Boost's own conversion keeps the category's message
}

std::error_code share_port(int fd) {
  const int on = 1;
  for (const int option : {SO_REUSEADDR, SO_REUSEPORT})
    if (::setsockopt(fd, SOL_SOCKET, option, &on, sizeof on) != 0) return errno_code(errno);
  return {};
}

Address unmap(const Address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  }
  return a;
}

socklen_t to_sockaddr(const Address& a, std::uint16_t port, bool v6, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  Address addr = a;
  if (v6 && addr.is_v4()) addr = asio::ip::make_address_v6(asio::ip::v4_mapped, addr.to_v4());
  if (addr.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    const auto bytes = addr.to_v4().to_bytes();
    std::memcpy(&sin->sin_addr, bytes.data(), bytes.size());
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  const auto bytes = addr.to_v6().to_bytes();
  std::memcpy(&sin6->sin6_addr, bytes.data(), bytes.size());
  sin6->sin6_scope_id = addr.to_v6().scope_id();
  return sizeof(sockaddr_in6);
}

bool from_sockaddr(const sockaddr* sa, Address& a, std::uint16_t& port) {
  if (sa->sa_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), &sin.sin_addr, b.size());
    a = asio::ip::address_v4(b);
    port = ntohs(sin.sin_port);
    return true;
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), &sin6.sin6_addr, b.size());
    a = unmap(asio::ip::address_v6(b, sin6.sin6_scope_id));
    port = ntohs(sin6.sin6_port);
    return true;
  }
  return false;
}
}  // namespace detail

// ---------------------------------------------------------------- kinds and choices
std::string_view name(Kind k) { return k == Kind::sctp ? "sctp" : "tcp"; }

std::optional<Choice> parse_choice(std::string_view text) {
  if (text == "auto") return Choice::automatic;
  if (text == "tcp") return Choice::tcp;
  if (text == "sctp") return Choice::sctp;
  return std::nullopt;
}

namespace {
// errno of the probe socket(), 0 when SCTP works. Probed once per process.
int sctp_probe_errno() {
  static const int result = [] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);
    if (fd < 0) return errno != 0 ? errno : EPROTONOSUPPORT;
    ::close(fd);
    return 0;
  }();
  return result;
}
}  // namespace

bool sctp_available() { return sctp_probe_errno() == 0; }

Kind resolve(Choice c) {
  switch (c) {
    case Choice::tcp: return Kind::tcp;
    case Choice::sctp: return Kind::sctp;
    case Choice::automatic: break;
  }
  if (sctp_available()) {
    detail::log("auto: sctp (the kernel has SCTP)");
    return Kind::sctp;
  }
  detail::log(std::string("auto: tcp (no kernel SCTP: socket(IPPROTO_SCTP): ") +
              std::strerror(sctp_probe_errno()) + ")");
  return Kind::tcp;
}

// ---------------------------------------------------------------- endpoints
std::string Endpoint::to_string() const {
  std::string out;
  if (addresses.empty()) out = "*";
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    if (i > 0) out += ',';
    if (addresses[i].is_v6()) {
      out += '[' + addresses[i].to_string() + ']';
    } else {
      out += addresses[i].to_string();
    }
  }
  return out + ':' + std::to_string(port);
}

std::optional<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port,
                                       std::string* error) {
  auto fail = [&](std::string why) -> std::optional<Endpoint> {
    if (error) *error = "bad endpoint '" + std::string(text) + "': " + std::move(why);
    return std::nullopt;
  };
  Endpoint ep;
  ep.port = default_port;
  if (text.empty()) return fail("empty");
  std::size_t i = 0;
  if (text[0] == '*') {  // the wildcard: every local address
    i = 1;
    if (i < text.size() && text[i] != ':') return fail("'*' stands alone");
  } else {
    while (true) {
      std::string_view item;
      if (i < text.size() && text[i] == '[') {
        const auto close = text.find(']', i);
        if (close == std::string_view::npos) return fail("'[' without ']'");
        item = text.substr(i + 1, close - i - 1);
        i = close + 1;
        boost::system::error_code ec;
        auto a = asio::ip::make_address_v6(std::string(item), ec);
        if (ec) return fail("'" + std::string(item) + "' is not an IPv6 address");
        ep.addresses.push_back(detail::unmap(a));
      } else {
        const auto end = text.find_first_of(",:", i);
        item = text.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
        i = end == std::string_view::npos ? text.size() : end;
        if (i < text.size() && text[i] == ':' &&
            text.find(':', i + 1) != std::string_view::npos) {
          return fail("IPv6 addresses go in brackets, as [::1]:3863");
        }
        if (item.empty()) return fail("empty address");
        boost::system::error_code ec;
        auto a = asio::ip::make_address_v4(std::string(item), ec);
        if (ec) return fail("'" + std::string(item) + "' is not an IPv4 address");
        ep.addresses.push_back(a);
      }
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      break;
    }
  }
  if (i < text.size()) {
    if (text[i] != ':') return fail("unexpected '" + std::string(text.substr(i)) + "'");
    const auto digits = text.substr(i + 1);
    unsigned value = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() ||
        value > 65535) {
      return fail("port '" + std::string(digits) + "' is not a number 0-65535");
    }
    ep.port = static_cast<std::uint16_t>(value);
  }
  return ep;
}

// ---------------------------------------------------------------- dispatch
std::unique_ptr<Listener> Listener::open(asio::io_context& io, Kind kind, const Endpoint& local,
                                         Framing framing, ListenOptions options) {
  if (kind == Kind::sctp) return detail::open_sctp_listener(io, local, options);
  return detail::open_tcp_listener(io, local, framing, options);
}

void async_connect(asio::io_context& io, Kind kind, const Endpoint& remote,
                   const std::vector<Address>& local, Framing framing,
                   std::function<void(std::error_code, std::shared_ptr<Connection>)> handler) {
  async_connect_paths(io, kind, remote, local, framing, {},
                      [handler = std::move(handler)](std::error_code ec,
                                                     std::shared_ptr<Connection> c,
                                                     std::vector<PathFailure>) {
                        handler(ec, std::move(c));
                      });
}

void async_connect_paths(asio::io_context& io, Kind kind, const Endpoint& remote,
                         const std::vector<Address>& local, Framing framing,
                         ConnectOptions options, PathsHandler handler) {
  if (kind == Kind::tcp) {
    detail::async_connect_tcp(io, remote, local, framing, options, std::move(handler));
    return;
  }
  detail::async_connect_sctp(
      io, remote, local,
      [remote = remote.addresses, local, handler = std::move(handler)](
          std::error_code ec, std::shared_ptr<Connection> c) {
        std::vector<PathFailure> failed;
        if (ec) failed.push_back({local, remote, ec});
        handler(ec, std::move(c), std::move(failed));
      },
      options);
}

std::string PathFailure::to_string() const {
  const auto list = [](const std::vector<Address>& addresses) {
    std::string text;
    for (const auto& a : addresses) text += (text.empty() ? "" : ",") + a.to_string();
    return text.empty() ? std::string("*") : text;
  };
  return list(local) + "->" + list(remote) + ": " + error.message();
}

void async_connect_auto(asio::io_context& io, Choice choice, const Endpoint& remote,
                        const std::vector<Address>& local, Framing framing,
                        std::function<void(std::error_code, std::shared_ptr<Connection>)> handler,
                        std::chrono::milliseconds sctp_timeout) {
  if (choice != Choice::automatic || !sctp_available()) {
    const Kind kind = choice == Choice::sctp ? Kind::sctp : Kind::tcp;
    if (choice == Choice::automatic) {
      detail::log("auto: tcp to " + remote.to_string() + " (no kernel SCTP)");
    }
    async_connect(io, kind, remote, local, framing, std::move(handler));
    return;
  }
  auto target = remote.to_string();
  detail::async_connect_sctp(
      io, remote, local,
      [&io, remote, local, framing, target, handler = std::move(handler)](
          std::error_code ec, std::shared_ptr<Connection> connection) mutable {
        if (!ec) {
          detail::log("auto: sctp to " + target);
          handler(ec, std::move(connection));
          return;
        }
        detail::log("auto: sctp to " + target + " failed (" + ec.message() +
                    "): falling back to tcp for this peer");
        detail::async_connect_tcp(
            io, remote, local, framing, {},
            [target, handler = std::move(handler)](std::error_code ec2,
                                                  std::shared_ptr<Connection> c2,
                                                  std::vector<PathFailure>) {
              if (ec2) {
                detail::log("auto: tcp to " + target + " failed too (" + ec2.message() + ")");
              } else {
                detail::log("auto: tcp to " + target);
              }
              handler(ec2, std::move(c2));
            });
      },
      ConnectOptions{.timeout = sctp_timeout});
}

std::error_code set_sctp_timers(Connection& connection, const SctpTimers& timers) {
  if (connection.kind() != Kind::sctp) {
    return std::make_error_code(std::errc::operation_not_supported);
  }
  return detail::set_sctp_timers(connection, timers);
}

void set_default_sctp_timers(const SctpTimers& timers) { detail::set_default_sctp_timers(timers); }

std::optional<std::chrono::microseconds> smoothed_rtt(Connection& connection) {
  return connection.kind() == Kind::sctp ? detail::sctp_rtt(connection)
                                         : detail::tcp_rtt(connection);
}

}  // namespace rserpool::transport
