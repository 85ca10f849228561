// One PE member (pe.hpp): its listeners (user transport, ASAP endpoint) and registration,
// its sessions fed to the service, the registrar connections it accepts fed to the
// registration core, both cores' actions carried out in order, its timer, its shutdown.
#include <string>

#include "node/pe.hpp"
#include "stack/wire/describe.hpp"
#include "stack/wire/names.hpp"
#include "stack/wire/parameters.hpp"

namespace rsplab::node {

namespace asio = boost::asio;
namespace session = rserpool::session;
namespace transport = rserpool::transport;
namespace wire = rserpool::wire;
using common::Level;

common::Logger& pe_log() {
  static common::Logger log{"rsplab pe"};
  return log;
}

PeMember::PeMember(asio::io_context& io, std::size_t index, session::PeConfig config,
                   std::unique_ptr<PeApp> service, transport::Kind kind,
                   std::vector<transport::Endpoint> registrars, const transport::Endpoint& local,
                   EventLog& events, std::function<void()> on_done)
    : Member(index, wire::hex_id(config.pe_identifier), events, std::move(on_done)),
      timer_(io),
      service_(std::move(service)),
      links_(io, kind, std::move(registrars), link_callbacks()) {
  transport::Endpoint at = local;
  at.port = 0;
  if (kind == transport::Kind::tcp && at.addresses.size() > 1) at.addresses.resize(1);
  user_kind_ = kind;
  pool_ = wire::show_handle(config.pool_handle);
  if (const auto* info = wire::policy_info(config.policy.type)) policy_name_ = info->short_name;
  listener_ = transport::Listener::open(io, kind, at, {true, 0});
  user_ = listener_->local_endpoint();
  links_.set_local(user_.addresses);  // registrations come from the addresses they name
  // The ASAP endpoint: registrar connections leave from its port, which the registrar
  // records as the PE's ASAP transport; a registrar taking the PE over connects there (and
  // measures the PE's distance by the PE's SACKs: at once, as RegistrarLinks::connect).
  try {
    asap_listener_ = transport::Listener::open(
        io, kind, at, {false, wire::kPpidAsap},
        transport::ListenOptions{.share_port = true, .immediate_sack = true});
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("ASAP endpoint: ") + e.what());
  }
  asap_ = asap_listener_->local_endpoint();
  links_.set_local_port(asap_.port);
  config.user_transport.kind =
      kind == transport::Kind::sctp ? wire::TransportKind::sctp : wire::TransportKind::tcp;
  config.user_transport.use = wire::TransportUse::data_plus_control;
  config.user_transport.port = user_.port;
  for (const auto& a : user_.addresses) config.user_transport.addresses.push_back(to_wire(a));
  core_.emplace(std::move(config));
}

RegistrarLinks::Callbacks PeMember::link_callbacks() {
  auto& log = pe_log();
  return {[this](std::size_t i) {
            gate_.run([this, i] {
              with_now([&](auto now) { core_->registrar_connected(i, now, actions_); });
            });
          },
          [this, &log](std::size_t i, std::error_code ec) {
            gate_.run([this, &log, i, ec] {
              log(Level::info, "pe %s: registrar %zu: connect failed: %s", id().c_str(), i,
                  ec.message().c_str());
              with_now([&](auto now) { core_->registrar_connect_failed(i, now, actions_); });
            });
          },
          [this, &log](std::size_t i, std::error_code ec) {
            gate_.run([this, &log, i, ec] {
              log(Level::info, "pe %s: registrar %zu closed: %s", id().c_str(), i,
                  ec.message().c_str());
              with_now([&](auto now) { core_->registrar_closed(i, now, actions_); });
            });
          },
          [this](std::size_t i, std::span<const std::uint8_t> m) {
            gate_.deliver(m, [this, i](std::span<const std::uint8_t> b) {
              with_now([&](auto now) { core_->received(i, b, now, actions_); });
            });
          }};
}

void PeMember::announced(std::uint32_t server_id, const transport::Endpoint& registrar) {
  gate_.run([this, server_id, registrar] {
    const std::size_t i = links_.add(registrar);
    with_now([&](auto now) { core_->announce(server_id, i, now, actions_); });
  });
}

void PeMember::start(const std::string& previous) {
  listener_->start([this](std::shared_ptr<transport::Connection> c) { accept(std::move(c)); });
  asap_listener_->start(
      [this](std::shared_ptr<transport::Connection> c) { accept_registrar(std::move(c)); });
  if (!previous.empty())
    write(common::MemberRestartedEvent{static_cast<std::int64_t>(index()), previous});
  common::MemberReady ready{index(), id()};
  ready.user_transport = user_.to_string();
  ready.transport = std::string(transport::name(user_kind_));
  ready.pool = pool_;
  ready.policy = policy_name_;
  ready.asap = asap_.to_string();
  service_->describe(ready);
  write(ready);
  with_now([&](auto now) { core_->start(now, actions_); });
}

void PeMember::shutdown() {
  gate_.run([this] {
    if (shutting_down_ || done()) return;
    shutting_down_ = true;
    listener_->close();
    asap_listener_->close();
    with_now([&](auto now) {
      service_->shutdown(now, service_actions_);
      core_->shutdown(now, actions_);
    });
  });
}

void PeMember::abandon() {
  drop_all();
  finish();
}

void PeMember::accept(std::shared_ptr<transport::Connection> c) {
  const session::SessionId s = next_session_++;
  adopt(
      s, std::move(c),
      [this, s](std::uint32_t ppid, std::span<const std::uint8_t> b) {
        with_now([&](auto now) { service_->received(s, ppid, b, now, service_actions_); });
      },
      [this, s] { with_now([&](auto now) { service_->closed(s, now, service_actions_); }); },
      [this, s] { with_now([&](auto now) { service_->opened(s, now, service_actions_); }); });
}

// A registrar connected to the ASAP endpoint (one that took this PE over: its keep-alive
// with the H flag follows): a registrar connection of the core's from now on.
void PeMember::accept_registrar(std::shared_ptr<transport::Connection> c) {
  gate_.run([this, c = std::move(c)]() mutable {
    if (shutting_down_ || done()) return c->close();
    const std::string from =
        transport::Endpoint{c->peer_addresses(), c->peer_port()}.to_string();
    const std::size_t i = links_.accept(std::move(c));
    pe_log()(Level::info, "pe %s: registrar %zu: connected from %s to the ASAP endpoint",
             id().c_str(), i, from.c_str());
    with_now([&](auto now) { core_->registrar_accepted(i, now, actions_); });
  });
}

// The service's ops and events, then its load to the registration core.
void PeMember::carry_out_service() {
  session::ServiceActions sa = std::move(service_actions_);
  service_actions_.clear();
  for (auto& op : sa.ops) {
    if (op.kind == session::SessionOp::Kind::send)
      send_to(op.session, op.ppid, op.message);
    else
      close_session(op.session);
  }
  for (const auto& e : sa.events) write(e);
}

void PeMember::carry_out_registration() {
  session::Actions a = std::move(actions_);
  actions_.clear();
  for (auto& op : a.ops) {
    switch (op.kind) {
      case session::Op::Kind::connect: links_.connect(op.registrar); break;
      case session::Op::Kind::close: links_.close(op.registrar); break;
      case session::Op::Kind::abort: links_.abort(op.registrar); break;
      case session::Op::Kind::send:
        if (!links_.send(op.registrar, op.message))
          pe_log()(Level::warning, "pe %s: registrar %zu: send refused", id().c_str(),
                   op.registrar);
        break;
    }
  }
  for (const auto& e : a.events) write(e);
}

void PeMember::execute(Clock::time_point now) {
  if (gate_.dead()) return;
  for (int round = 0; round < 2; ++round) {
    carry_out_service();
    if (service_->load() != pushed_load_ && !shutting_down_) {
      pushed_load_ = service_->load();
      core_->set_load(pushed_load_, now, actions_);
    }
    carry_out_registration();
  }
  if (core_->state() == session::PeState::done) {
    if (!shutting_down_) failed_ = true;
    drop_all();
    finish();
    return;
  }
  std::optional<Clock::time_point> due = core_->next_deadline();
  if (const auto s = service_->next_deadline(); s && (!due || *s < *due)) due = s;
  timer_.arm(due, [this] {
    gate_.run([this] {
      with_now([&](auto now) {
        service_->tick(now, service_actions_);
        core_->tick(now, actions_);
      });
    });
  });
}

void PeMember::rearm() {
  with_now([](auto) {});
}

// What the service had in progress (services.hpp, PeApp::add_progress).
void PeMember::add_progress(common::StoppedEvent& e) {
  with_now([&](auto now) {
    service_->add_progress(e, now, service_actions_,
                           [this](session::SessionId s) { return peer(s); });
  });
}

void PeMember::drop_all() {
  timer_.cancel();
  listener_->close();
  asap_listener_->close();
  close_sessions();
  links_.close_all();
}

}  // namespace rsplab::node
