// Helpers shared by the transport's implementation files. Not part of the interface.
#pragma once

#include <utility>  // before Asio

#include <boost/asio.hpp>
#include <boost/system/error_code.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <string>
#include <string_view>
#include <system_error>

#include "stack/transport/transport.hpp"

namespace rserpool::transport::detail {

void log(std::string_view line);

// SO_REUSEADDR and SO_REUSEPORT on a socket not yet bound (ListenOptions::share_port,
// ConnectOptions::local_port). The errno of a failed setsockopt.
std::error_code share_port(int fd);

// Boost's error to std's: errno values stay system errors, EOF becomes Errc::peer_closed.
std::error_code to_std(const boost::system::error_code& ec);
inline std::error_code errno_code(int e) { return {e, std::system_category()}; }

// An IPv4-mapped IPv6 address as IPv4; others unchanged.
Address unmap(const Address& a);

// sockaddr <-> Address. to_sockaddr: IPv4 addresses as sockaddr_in unless `v6` (then mapped).
socklen_t to_sockaddr(const Address& a, std::uint16_t port, bool v6, sockaddr_storage& out);
bool from_sockaddr(const sockaddr* sa, Address& a, std::uint16_t& port);

std::shared_ptr<Connection> make_tcp_connection(asio::ip::tcp::socket socket, Framing framing);

void async_connect_tcp(asio::io_context& io, const Endpoint& remote,
                       const std::vector<Address>& local, Framing framing,
                       ConnectOptions options, PathsHandler handler);
// SCTP reads ConnectOptions' timeout, local_port and immediate_sack (one association: no
// pairs to try).
void async_connect_sctp(asio::io_context& io, const Endpoint& remote,
                        const std::vector<Address>& local,
                        std::function<void(std::error_code, std::shared_ptr<Connection>)> handler,
                        ConnectOptions options = {});
std::unique_ptr<Listener> open_tcp_listener(asio::io_context& io, const Endpoint& local,
                                            Framing framing, ListenOptions options);
std::unique_ptr<Listener> open_sctp_listener(asio::io_context& io, const Endpoint& local,
                                             ListenOptions options);
std::error_code set_sctp_timers(Connection& c, const SctpTimers& t);
void set_default_sctp_timers(const SctpTimers& timers);
std::optional<std::chrono::microseconds> tcp_rtt(Connection& c);
std::optional<std::chrono::microseconds> sctp_rtt(Connection& c);

}  // namespace rserpool::transport::detail
