// ASAP server announces (RFC 5352 §3.10) as a PE node hears them (`rsplab pe --announce`): one
// UDP socket on a multicast group (joined; the port shared with reuse_address) or a unicast
// address. Each announce goes to `announced` with the registrar's ASAP endpoint for `kind`:
// its transport parameter of that kind (a wildcard address stands for the sender's), else,
// when it has none, the sender's address on port 3863. Anything else is logged at debug
// level and dropped. Single-threaded, on the caller's io_context.
//
//   PR ──SERVER_ANNOUNCE (UDP)──► AnnounceReceiver ──(server id, endpoint)──► each member:
//     RegistrarLinks::add(endpoint) = i (known, or appended) ─► PeCore::announce(server id, i)
#pragma once

#include <utility>  // before Asio

#include <array>
#include <boost/asio.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "stack/common/log.hpp"
#include "stack/transport/transport.hpp"
#include "stack/wire/messages.hpp"

namespace rsplab::node {

class AnnounceReceiver {
 public:
  using Announced =
      std::function<void(std::uint32_t server_id, const rserpool::transport::Endpoint&)>;

  // Throws std::system_error when it cannot bind or join. `log`: where drops are told.
  AnnounceReceiver(boost::asio::io_context& io, const boost::asio::ip::udp::endpoint& at,
                   rserpool::transport::Kind kind, const common::Logger& log, Announced announced);

  void close();

 private:
  void receive();
  void received(std::span<const std::uint8_t> bytes);
  std::optional<rserpool::transport::Endpoint> endpoint_of(
      const rserpool::wire::asap::ServerAnnounce& a) const;

  boost::asio::ip::udp::socket socket_;
  rserpool::transport::Kind kind_;
  const common::Logger& log_;
  Announced announced_;
  boost::asio::ip::udp::endpoint from_;
  std::array<std::uint8_t, 65536> buffer_{};
};

}  // namespace rsplab::node
