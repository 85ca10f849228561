// The PU node (pu.hpp): its options checked into the session layer's and the service's
// configuration, its members made; each member's registrar links and PE sessions, the
// core's actions carried out in order, its timer.
#include "node/pu.hpp"

#include <unistd.h>

#include <random>

#include "stack/calcapp/pu_core.hpp"
#include "stack/common/values.hpp"
#include "stack/wire/names.hpp"

namespace rsplab::node {

namespace asio = boost::asio;
namespace calcapp = rserpool::calcapp;
namespace session = rserpool::session;
namespace transport = rserpool::transport;
namespace values = rserpool::values;
namespace wire = rserpool::wire;
using common::Level;

common::Logger& pu_log() {
  static common::Logger log{"rsplab pu"};
  return log;
}

PuMember::PuMember(asio::io_context& io, std::size_t index, std::string name, PuApps& apps,
                   const session::PuSessionConfig& config, transport::Choice choice,
                   transport::Kind registrar_kind, std::vector<transport::Endpoint> registrars,
                   std::vector<transport::Address> local, EventLog& events,
                   std::function<void()> on_done)
    : Member(index, std::move(name), events, std::move(on_done)),
      io_(io),
      choice_(choice),
      local_(std::move(local)),
      pe_connect_timeout_(config.pe_connect_timeout),
      timer_(io),
      app_(apps.make(index, Clock::now())),
      core_(app_->inputs()),
      links_(io, registrar_kind, std::move(registrars), link_callbacks()) {
  // A multi-homed site: a registrar that one local address cannot reach is tried from
  // the others, within the core's connect timeout.
  links_.set_local(local_);
  links_.set_connect_options({true, config.registrar_timeout});
}

RegistrarLinks::Callbacks PuMember::link_callbacks() {
  auto& log = pu_log();
  return {[this](std::size_t i) {
            gate_.run([this, i] {
              with_now([&](auto now) { core_.registrar_connected(i, now, actions_); });
            });
          },
          [this, &log](std::size_t i, std::error_code ec) {
            gate_.run([this, &log, i, ec] {
              log(Level::info, "%s: registrar %zu: connect failed: %s", id().c_str(), i,
                  ec.message().c_str());
              with_now([&](auto now) { core_.registrar_connect_failed(i, now, actions_); });
            });
          },
          [this, &log](std::size_t i, std::error_code ec) {
            gate_.run([this, &log, i, ec] {
              log(Level::info, "%s: registrar %zu closed: %s", id().c_str(), i,
                  ec.message().c_str());
              with_now([&](auto now) { core_.registrar_closed(i, now, actions_); });
            });
          },
          [this](std::size_t i, std::span<const std::uint8_t> m) {
            gate_.deliver(m, [this, i](std::span<const std::uint8_t> b) {
              with_now([&](auto now) { core_.registrar_received(i, b, now, actions_); });
            });
          }};
}

void PuMember::start(const PuApps& apps) {
  common::MemberReady ready{index(), id()};
  apps.describe(ready);
  write(ready);
  with_now([&](auto now) { app_->start(now, actions_); });
}

void PuMember::shutdown() {
  if (gate_.dead() || done()) return;
  if (gate_.frozen()) gate_.resume();
  with_now([&](auto now) { app_->stop(now, actions_); });
}

// Every (local address, PE address) pair in turn over TCP, one association over all of
// them over SCTP: the PE counts as unreachable only when no pair works, and the pairs that
// failed go into the failover event.
void PuMember::connect_pe(session::SessionId s, const wire::Transport& pe) {
  transport::Kind kind =
      pe.kind == wire::TransportKind::sctp ? transport::Kind::sctp : transport::Kind::tcp;
  if (choice_ == transport::Choice::tcp) kind = transport::Kind::tcp;
  if (choice_ == transport::Choice::sctp) kind = transport::Kind::sctp;
  connecting_.insert(s);
  transport::async_connect_paths(
      io_, kind, to_endpoint(pe), local_, {true, 0}, {true, pe_connect_timeout_},
      [this, s, alive = alive_](std::error_code ec, std::shared_ptr<transport::Connection> c,
                                std::vector<transport::PathFailure> failed) {
        if (!*alive || connecting_.erase(s) == 0) {
          if (c) c->close();
          return;
        }
        std::vector<std::string> paths;
        for (const auto& f : failed) {
          paths.push_back(f.to_string());
          pu_log()(Level::info, "%s: session %llu: path %s", id().c_str(),
                   static_cast<unsigned long long>(s), paths.back().c_str());
        }
        if (ec || !c) {
          gate_.run([this, s, paths = std::move(paths)]() mutable {
            with_now([&](auto now) { core_.pe_connect_failed(s, now, actions_, std::move(paths)); });
          });
          return;
        }
        connected(s, std::move(c));
      });
}

void PuMember::connected(session::SessionId s, std::shared_ptr<transport::Connection> c) {
  session::SessionEnd end;
  const transport::Endpoint mine = c->local_endpoint();
  for (const auto& a : mine.addresses) end.addresses.push_back(a.to_string());
  end.port = mine.port;
  adopt(
      s, std::move(c),
      [this, s](std::uint32_t ppid, std::span<const std::uint8_t> b) {
        with_now([&](auto now) { core_.pe_received(s, ppid, b, now, actions_); });
      },
      [this, s] { with_now([&](auto now) { core_.pe_closed(s, now, actions_); }); },
      [this, s, end] { with_now([&](auto now) { core_.pe_connected(s, now, actions_, end); }); });
}

void PuMember::carry_out(session::PuOp& op) {
  using K = session::PuOp::Kind;
  switch (op.kind) {
    case K::connect_registrar: links_.connect(op.registrar); break;
    case K::close_registrar: links_.close(op.registrar); break;
    case K::send_registrar:
      if (!links_.send(op.registrar, op.message))
        pu_log()(Level::debug, "%s: registrar %zu: send refused", id().c_str(), op.registrar);
      break;
    case K::connect_pe:
      pu_log()(Level::debug, "%s: session %llu: connecting to PE %s", id().c_str(),
               static_cast<unsigned long long>(op.session), wire::hex_id(op.pe_identifier).c_str());
      connect_pe(op.session, op.pe);
      break;
    case K::close_pe:
      connecting_.erase(op.session);
      close_session(op.session);
      break;
    case K::send_pe: send_to(op.session, op.ppid, op.message); break;
  }
}

void PuMember::execute(Clock::time_point) {
  if (gate_.dead()) return;
  session::PuActions a = std::move(actions_);
  actions_.clear();
  for (auto& op : a.ops) carry_out(op);
  for (const auto& e : a.events) write(e);
  if (core_.state() == session::PuState::done) {
    drop_all();
    finish();
    return;
  }
  timer_.arm(app_->next_deadline(), [this] {
    gate_.run([this] { with_now([&](auto now) { app_->tick(now, actions_); }); });
  });
}

void PuMember::rearm() {
  with_now([](auto) {});
}

void PuMember::drop_all() {
  timer_.cancel();
  *alive_ = false;
  alive_ = std::make_shared<bool>(true);
  connecting_.clear();
  close_sessions();
  links_.close_all();
}

namespace {

// The session layer's and CalcApp's settings (the registrar list already parsed).
calcapp::PuConfig pu_config(const options::PuOptions& o, std::size_t registrars) {
  std::string error;
  calcapp::PuConfig config;
  config.pool_handle = *o.pool;
  config.registrar_count = registrars;
  config.job_size = *values::parse_distribution(*o.job_size, values::ValueKind::amount, &error);
  config.job_interval =
      *values::parse_distribution(*o.interval, values::ValueKind::duration, &error);
  config.reject_retry_delay =
      *values::parse_distribution(*o.reject_retry_delay, values::ValueKind::duration, &error);
  config.max_jobs = *o.jobs;
  config.keepalive_interval = *parse_ms(*o.keepalive_interval, false, &error);
  config.keepalive_timeout = *parse_ms(*o.keepalive_timeout, false, &error);
  config.stale_cache = *parse_ms(*o.stale_cache, true, &error);
  if (*o.resolution_items > 0) config.resolution_items = *o.resolution_items;
  return config;
}

// The members' cores: CalcApp's with `config`, or echo's with its session layer's settings.
std::unique_ptr<PuApps> pu_apps(const options::PuOptions& o, const calcapp::PuConfig& config) {
  if (*o.service != "echo") return make_pu_apps(config);
  rserpool::echo::PuConfig ec;
  static_cast<session::PuSessionConfig&>(ec) = config;
  std::string error;
  ec.interval = *parse_ms(*o.ping_interval, false, &error);  // validated
  ec.count = *o.replies;
  return make_pu_apps(std::move(ec));
}

}  // namespace

PuNode::PuNode(asio::io_context& io, const options::PuOptions& o, EventLog::Sink sink,
               std::function<void()> on_finished)
    : on_finished_(std::move(on_finished)) {
  // Each value by its grammar (options/roles.cpp); below, what needs more than one value.
  if (const auto why = options::validate(o); !why.empty()) throw UsageError(why);
  pu_log().level = *common::parse_level(*o.log_level);
  std::string error;
  const auto registrars = parse_registrars(*o.registrar, &error);
  if (!registrars) throw UsageError("--registrar: " + error);
  if (o.pool->empty()) throw UsageError("--pool: a non-empty pool handle");
  const auto choice = transport::parse_choice(*o.transport);
  std::vector<transport::Address> local;
  if (!o.local->empty()) {
    const auto l = transport::parse_endpoint(*o.local, 0, &error);
    if (!l) throw UsageError("--local: " + error);
    local = l->addresses;
  }
  calcapp::PuConfig config = pu_config(o, registrars->size());
  std::random_device rd;
  const std::uint64_t seed = *o.seed != 0 ? *o.seed : (std::uint64_t{rd()} << 32 | rd());
  const std::string name = o.name->empty() ? "pu-" + std::to_string(::getpid()) : *o.name;
  const transport::Kind registrar_kind = transport::resolve(*choice);
  pu_log()(Level::info, "transport %s (asked: %s)",
           std::string(transport::name(registrar_kind)).c_str(), o.transport->c_str());
  try {
    events_.open(*o.events, std::move(sink), {{"component", "pu"}});
  } catch (const std::exception& e) {
    throw UsageError(e.what());
  }
  config.seed = seed;
  config.epoch = Clock::now();
  config.epoch_us = EventLog::now_us();
  apps_ = pu_apps(o, config);
  for (std::size_t i = 0; i < *o.count; ++i) {
    members_.push_back(std::make_unique<PuMember>(
        io, i, *o.count == 1 ? name : name + "-" + std::to_string(i), *apps_, config, *choice,
        registrar_kind, *registrars, local, events_, [this] {
          if (++finished_ == members_.size() && on_finished_) on_finished_();
        }));
  }
}

PuNode::~PuNode() = default;

void PuNode::start() {
  for (auto& m : members_) m->start(*apps_);
}

void PuNode::stop() {
  for (auto& m : members_) m->shutdown();
}

}  // namespace rsplab::node
