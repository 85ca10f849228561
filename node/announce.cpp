// The announce receiver of a PE node (announce.hpp): datagrams decoded, server announces
// turned into the registrar's ASAP endpoint of the node's transport.
#include "node/announce.hpp"

#include <algorithm>
#include <string>

#include "node/shell.hpp"
#include "stack/wire/names.hpp"
#include "stack/wire/parameters.hpp"

namespace rsplab::node {

namespace asio = boost::asio;
namespace transport = rserpool::transport;
namespace wire = rserpool::wire;
using common::Level;

AnnounceReceiver::AnnounceReceiver(asio::io_context& io, const asio::ip::udp::endpoint& at,
                                   transport::Kind kind, const common::Logger& log,
                                   Announced announced)
    : socket_(io, at.protocol()), kind_(kind), log_(log), announced_(std::move(announced)) {
  if (at.address().is_multicast()) {
    socket_.set_option(asio::socket_base::reuse_address(true));
    socket_.bind(asio::ip::udp::endpoint(at.protocol(), at.port()));
    socket_.set_option(asio::ip::multicast::join_group(at.address()));
  } else {
    socket_.bind(at);
  }
  receive();
}

void AnnounceReceiver::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void AnnounceReceiver::receive() {
  socket_.async_receive_from(
      asio::buffer(buffer_), from_, [this](const boost::system::error_code& ec, std::size_t n) {
        if (ec == asio::error::operation_aborted || !socket_.is_open()) return;
        if (ec)
          log_(Level::debug, "announce socket: %s", ec.message().c_str());
        else
          received(std::span<const std::uint8_t>(buffer_.data(), n));
        receive();
      });
}

void AnnounceReceiver::received(std::span<const std::uint8_t> bytes) {
  const std::string from = from_.address().to_string();
  const auto decoded = wire::decode_asap(bytes);
  if (!decoded)
    return log_(Level::debug, "datagram from %s dropped: %s", from.c_str(),
                decoded.error().message().c_str());
  const auto* a = std::get_if<wire::asap::ServerAnnounce>(&decoded->message);
  if (!a)
    return log_(Level::debug, "datagram from %s dropped: %s, not a server announce", from.c_str(),
                std::string(wire::message_type_name(wire::Protocol::asap, bytes[0])).c_str());
  const auto registrar = endpoint_of(*a);
  if (!registrar)
    return log_(Level::debug, "announce of %s from %s dropped: no %s transport",
                wire::hex_id(a->server_id).c_str(), from.c_str(),
                std::string(transport::name(kind_)).c_str());
  log_(Level::debug, "announce of %s: %s", wire::hex_id(a->server_id).c_str(),
       registrar->to_string().c_str());
  announced_(a->server_id, *registrar);
}

std::optional<transport::Endpoint> AnnounceReceiver::endpoint_of(
    const wire::asap::ServerAnnounce& a) const {
  if (a.transports.empty()) return transport::Endpoint{{from_.address()}, wire::kAsapPort};
  const auto want =
      kind_ == transport::Kind::sctp ? wire::TransportKind::sctp : wire::TransportKind::tcp;
  const auto t = std::find_if(a.transports.begin(), a.transports.end(),
                              [&](const wire::Transport& x) { return x.kind == want; });
  if (t == a.transports.end()) return std::nullopt;
  transport::Endpoint e = to_endpoint(*t);
  std::erase_if(e.addresses, [](const transport::Address& x) { return x.is_unspecified(); });
  if (e.addresses.empty()) e.addresses.push_back(from_.address());
  return e;
}

}  // namespace rsplab::node
