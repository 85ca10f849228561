// One member of a `--count` process (`rsplab pe`, `rsplab pu`): its index and identity, the
// gate through which every input reaches it (node/shell.hpp), its events tagged with its
// identity, and what `--control stdin` does to it (node/control.hpp). A subclass drops its
// connections (drop_all), re-arms its timer (rearm) and says how it shuts down cleanly.
// Single-threaded.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "stack/common/events.hpp"
#include "stack/common/log.hpp"
#include "node/control.hpp"
#include "node/event_log.hpp"
#include "node/shell.hpp"

namespace rsplab::node {

class Member {
 public:
  Member(std::size_t index, std::string id, EventLog& events, std::function<void()> on_done)
      : index_(index), id_(std::move(id)), events_(events), on_done_(std::move(on_done)) {}
  virtual ~Member() = default;
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;

  std::size_t index() const { return index_; }
  const std::string& id() const { return id_; }
  bool done() const { return done_; }

  // A crash: every connection dropped at once, no goodbye; nothing happens afterwards.
  // The event carries the work in progress at that instant (a PE's `jobs`; none when the
  // member was frozen: its `stopped` event had them).
  void kill() {
    if (gate_.dead()) return;
    common::StoppedEvent e = stopped_event("killed");
    if (!gate_.frozen()) add_progress(e);
    gate_.kill();
    write(e);
    drop_all();
    finish();
  }
  // As SIGSTOP / SIGCONT.
  void freeze() {
    if (gate_.dead() || gate_.frozen()) return;
    common::StoppedEvent e = stopped_event("stopped");
    add_progress(e);
    gate_.freeze();
    write(e);
  }
  void resume() {
    if (gate_.dead() || !gate_.frozen()) return;
    write(common::MemberResumedEvent{static_cast<std::int64_t>(index_)});
    gate_.resume();
    gate_.run([this] { rearm(); });
  }
  // As SIGTERM, for this member.
  virtual void shutdown() = 0;

 protected:
  virtual void drop_all() = 0;
  // Carries out nothing new but re-arms the timer (and handles what fell due meanwhile).
  virtual void rearm() = 0;
  // Adds to a `killed` / `stopped` event what the member had in progress just then.
  virtual void add_progress(common::StoppedEvent&) {}

  void finish() {
    if (done_) return;
    done_ = true;
    on_done_();
  }
  // A `killed` or `stopped` event of this member, no progress in it yet.
  common::StoppedEvent stopped_event(const char* kind) const {
    common::StoppedEvent e;
    e.kind = kind;
    e.id = id_;
    e.member = static_cast<std::int64_t>(index_);
    e.has_jobs = false;
    return e;
  }
  void write(nlohmann::json e) {
    e["id"] = id_;
    events_.write(e);
  }

  // Sessions with PUs (PE) or PEs (PU) by the core's number. adopt() starts the connection:
  // its messages, its end (unless this side closed it first) and its start go to the
  // callbacks, through the gate.
  using SessionId = std::uint64_t;
  using Received = std::function<void(std::uint32_t ppid, std::span<const std::uint8_t>)>;
  void adopt(SessionId s, std::shared_ptr<rserpool::transport::Connection> c, Received received,
             std::function<void()> closed, std::function<void()> opened) {
    sessions_[s] = c;
    c->start({[this, s, received](std::uint32_t ppid, std::span<const std::uint8_t> m) {
                gate_.deliver(m, [this, s, ppid, received](std::span<const std::uint8_t> b) {
                  if (sessions_.count(s)) received(ppid, b);
                });
              },
              [this, s, closed](const std::error_code&) {
                gate_.run([this, s, closed] {
                  if (sessions_.erase(s) != 0) closed();
                });
              }});
    gate_.run([this, s, opened] {
      if (sessions_.count(s)) opened();
    });
  }
  void send_to(SessionId s, std::uint32_t ppid, std::span<const std::uint8_t> message) {
    const auto it = sessions_.find(s);
    if (it != sessions_.end()) it->second->send(ppid, message);
  }
  void close_session(SessionId s) {
    const auto it = sessions_.find(s);
    if (it == sessions_.end()) return;
    it->second->close();
    sessions_.erase(it);
  }
  void close_sessions() {
    for (auto& [s, c] : sessions_) c->close();
    sessions_.clear();
  }
  // The remote end of session `s` as {"addresses": [...], "port": n}; null when gone.
  nlohmann::json peer(SessionId s) const {
    const auto it = sessions_.find(s);
    if (it == sessions_.end()) return nullptr;
    nlohmann::json addresses = nlohmann::json::array();
    for (const auto& a : it->second->peer_addresses()) addresses.push_back(a.to_string());
    return {{"addresses", addresses}, {"port", it->second->peer_port()}};
  }

  Gate gate_;

 private:
  std::size_t index_;
  std::string id_;
  EventLog& events_;
  std::function<void()> on_done_;
  bool done_ = false;
  std::map<SessionId, std::shared_ptr<rserpool::transport::Connection>> sessions_;
};

// `--control stdin` for `members` (read at each command: a member may be replaced): each
// command goes to its member; bad lines are logged. `restart` (PEs only) replaces member i
// with a fresh one; without it `restart` is refused. Throws when standard input cannot be
// watched (a regular file).
template <class M>
std::unique_ptr<StdinControl> open_control(boost::asio::io_context& io,
                                           const std::vector<std::unique_ptr<M>>& members,
                                           const common::Logger& log,
                                           std::function<void(std::size_t)> restart = {}) {
  return std::make_unique<StdinControl>(
      io, members.size(),
      [&members, &log, restart](const ControlCommand& c) {
        if (c.kind == ControlCommand::Kind::restart && !restart) {
          log(common::Level::error, "control: restart: PEs only");
          return;
        }
        Member& m = *members[c.member];
        log(common::Level::info, "control: member %zu (%s)", c.member, m.id().c_str());
        switch (c.kind) {
          case ControlCommand::Kind::kill: m.kill(); break;
          case ControlCommand::Kind::stop: m.freeze(); break;
          case ControlCommand::Kind::resume: m.resume(); break;
          case ControlCommand::Kind::shutdown: m.shutdown(); break;
          case ControlCommand::Kind::restart: restart(c.member); break;
        }
      },
      [&log](const std::string& line) { log(common::Level::error, "%s", line.c_str()); });
}

}  // namespace rsplab::node
