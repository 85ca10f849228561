// The processes around the nodes (run.hpp): a node built (its errors to exit statuses), what
// the command prints, signals, `--control stdin`, and the io_context run to the end.
#include "node/run.hpp"

#include <utility>  // before Asio

#include <boost/asio.hpp>
#include <csignal>
#include <chrono>
#include <exception>
#include <memory>
#include <ostream>
#include <string>

#include "node/control.hpp"
#include "node/member.hpp"
#include "node/pe.hpp"
#include "node/pu.hpp"
#include "node/registrar.hpp"
#include "node/shell.hpp"
#include "stack/common/log.hpp"

namespace rsplab::node {
namespace {

namespace asio = boost::asio;
using common::Level;

// The node `make()` builds, or the exit status of why it could not be (reported on `err`
// after "rsplab ROLE: ").
template <class Node, class Make>
std::unique_ptr<Node> build(const char* role, std::ostream& err, int& status, Make make) {
  try {
    return make();
  } catch (const UsageError& e) {
    err << "rsplab " << role << ": " << e.what() << "\n";
    status = kExitUsage;
  } catch (const std::exception& e) {
    err << "rsplab " << role << ": " << e.what() << "\n";
    status = kExitFailed;
  }
  return nullptr;
}

}  // namespace

int run_registrar(const options::RegistrarOptions& o, std::ostream& out, std::ostream& err) {
  asio::io_context io;
  int status = kExitOk;
  const auto node = build<RegistrarNode>("registrar", err, status,
                                         [&] { return std::make_unique<RegistrarNode>(io, o); });
  if (!node) return status;
  const common::Logger log{"rsplab registrar", *common::parse_level(*o.log_level)};
  // Ready: one line per endpoint, ASAP first, flushed (agents wait for these).
  out << "asap " << node->asap_endpoint().to_string() << "\n"
      << "enrp " << node->enrp_endpoint().to_string() << std::endl;
  node->start();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log(Level::info, "signal %d: stopping", sig);
    node->stop(sig);
    io.stop();
  });
  io.run();
  return kExitOk;
}

int run_pe(const options::PeOptions& o, std::ostream& out, std::ostream& err) {
  asio::io_context io;
  int status = kExitOk;
  const auto node = build<PeNode>("pe", err, status, [&] {
    return std::make_unique<PeNode>(io, o, EventLog::Sink{}, [&io] { io.stop(); });
  });
  if (!node) return status;
  auto& log = pe_log();
  for (const auto& m : node->members()) out << "pe " << m->id() << " " << m->user().to_string() << "\n";
  out << std::flush;

  std::unique_ptr<StdinControl> control;
  if (!o.control->empty()) {
    try {
      control = open_control(io, node->members(), log, [&](std::size_t i) { node->restart(i); });
      node->hold(true);
      control->on_end([&] { node->hold(false); });
    } catch (const std::exception& e) {
      err << "rsplab pe: --control stdin: standard input must be a pipe or terminal: " << e.what()
          << "\n";
      return kExitUsage;
    }
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log(Level::info, "signal %d: shutting down (cookies, deregistration)", sig);
    if (control) control->close();
    node->stop();
  });
  node->start();
  io.run();
  if (node->failed()) {
    log(Level::error, "stopped: the registration cannot succeed (see the events)");
    return kExitFailed;
  }
  return kExitOk;
}

int run_pu(const options::PuOptions& o, std::ostream& out, std::ostream& err) {
  asio::io_context io;
  int status = kExitOk;
  const auto node = build<PuNode>("pu", err, status, [&] {
    return std::make_unique<PuNode>(io, o, EventLog::Sink{}, [&io] { io.stop(); });
  });
  if (!node) return status;
  auto& log = pu_log();
  std::unique_ptr<StdinControl> control;
  if (!o.control->empty()) {
    try {
      control = open_control(io, node->members(), log);
    } catch (const std::exception& e) {
      err << "rsplab pu: --control stdin: standard input must be a pipe or terminal: " << e.what()
          << "\n";
      return kExitUsage;
    }
  }
  const auto stop_all = [&] {
    if (control) control->close();
    node->stop();
  };
  asio::steady_timer runtime_timer(io);
  if (!o.runtime->empty()) {
    std::string error;
    runtime_timer.expires_after(*parse_ms(*o.runtime, false, &error));  // validated
    runtime_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      log(Level::info, "runtime over: stopping");
      stop_all();
    });
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log(Level::info, "signal %d: stopping", sig);
    stop_all();
  });
  node->start();
  io.run();

  out << node->summary().dump() << std::endl;
  if (node->unanswered()) {
    log(Level::error, "no registrar answered a handle resolution during the whole run");
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace rsplab::node
