// ENRP between registrar cores in memory (docs/enrp.md): the start-up download of a
// handlespace of n PEs by a fresh registrar (paged Handle Table Responses), the ENRP
// messages and bytes one PE change costs among 4 registrars, and the takeover of a dead
// registrar holding n PEs. The cores are wired directly: what one sends on a connection
// the other receives at once; no time passes but what the test injects.
//   build/release/bench/enrp_bench --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "stack/registrar/core.hpp"
#include "stack/wire/messages.hpp"

namespace {

namespace reg = rserpool::registrar;
namespace w = rserpool::wire;
using reg::ConnId;
using std::chrono::milliseconds;

const reg::TimePoint T0 = reg::TimePoint(std::chrono::hours(1000));

w::Transport enrp_at(std::uint8_t i) {
  w::Transport t;
  t.kind = w::TransportKind::tcp;
  t.port = w::kEnrpPort;
  t.addresses = {w::Address::v4(10, 1, 0, i)};
  return t;
}

// Registrar cores by index, their ENRP connections linked pairwise; PEs register over
// connection 1 of their registrar (one association for all, from 10.2.0.1).
struct Mesh {
  std::vector<std::unique_ptr<reg::Core>> cores;
  std::map<std::pair<std::size_t, ConnId>, std::pair<std::size_t, ConnId>> links;
  std::deque<std::tuple<std::size_t, ConnId, w::Bytes>> queue;
  ConnId next_conn = 100;
  std::size_t messages = 0, bytes = 0;
  reg::TimePoint now = T0;

  std::size_t add(std::uint32_t id, std::vector<std::uint8_t> peers, std::size_t page = 60000) {
    reg::Config c;
    c.identifier = id;
    c.enrp.own = {enrp_at(static_cast<std::uint8_t>(cores.size() + 1))};
    for (const auto p : peers) c.enrp.peers.push_back(enrp_at(p));
    c.enrp.max_response_bytes = page;
    c.keepalive_interval = milliseconds(1'000'000);  // keep-alives are not measured here
    cores.push_back(std::make_unique<reg::Core>(c));
    cores.back()->opened(1, reg::Peer{w::TransportKind::tcp, {w::Address::v4(10, 2, 0, 1)}, 7000});
    return cores.size() - 1;
  }
  void start(std::size_t r) {
    reg::Actions out;
    cores[r]->start(now, out);
    process(r, out);
    drain();
  }
  void process(std::size_t r, reg::Actions& out) {
    for (const auto& c : out.connects) {
      if (c.protocol != w::Protocol::enrp) continue;
      const std::size_t o = c.to.addresses[0].bytes[3] - 1;
      if (o >= cores.size() || !cores[o]) continue;
      const ConnId there = next_conn++;
      links[{r, c.conn}] = {o, there};
      links[{o, there}] = {r, c.conn};
      cores[o]->opened(there,
                       reg::Peer{w::TransportKind::tcp, {w::Address::v4(10, 1, 0, 9)}, 40000});
      cores[r]->opened(c.conn, reg::Peer{w::TransportKind::tcp, c.to.addresses, c.to.port});
    }
    for (auto& s : out.sends) {
      const auto l = links.find({r, s.conn});
      if (l == links.end()) continue;
      ++messages;
      bytes += s.message.size();
      queue.emplace_back(l->second.first, l->second.second, std::move(s.message));
    }
    out.clear();
  }
  void drain() {
    while (!queue.empty()) {
      auto [r, conn, m] = std::move(queue.front());
      queue.pop_front();
      if (!cores[r]) continue;
      reg::Actions out;
      cores[r]->received_enrp(conn, m, now, out);
      process(r, out);
    }
  }
  void tick(std::size_t r) {
    reg::Actions out;
    cores[r]->tick(now, out);
    process(r, out);
  }
  void register_pe(std::size_t r, std::uint32_t id) {
    w::asap::Registration m;
    m.pool_handle = "pool-" + std::to_string(id % 16);
    m.pool_element.identifier = id;
    m.pool_element.registration_life = 3'600'000;
    m.pool_element.user_transport.kind = w::TransportKind::tcp;
    m.pool_element.user_transport.port = 6000;
    m.pool_element.user_transport.addresses = {w::Address::v4(10, 2, 0, 1)};
    reg::Actions out;
    cores[r]->received_asap(1, w::encode(w::asap::Message{m}), now, out);
    process(r, out);
    drain();
  }
};

// A fresh registrar downloads n PEs from its mentor (pages of at most 60,000 bytes).
void BM_StartupSync(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  std::size_t pages = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Mesh m;
    m.add(1, {});
    m.start(0);
    for (std::uint32_t id = 1; id <= n; ++id) m.register_pe(0, id);
    m.add(2, {1});
    m.messages = 0;
    state.ResumeTiming();
    m.start(1);
    if (!m.cores[1]->serving() || m.cores[1]->handlespace().pe_count() != n)
      state.SkipWithError("not synchronised");
    pages = m.messages;
  }
  state.counters["messages"] = static_cast<double>(pages);
  state.counters["pes_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_StartupSync)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(5);

// One PE registration at one of 4 meshed registrars: the ENRP messages and bytes it costs,
// delivered and applied everywhere.
void BM_UpdatePerChange(benchmark::State& state) {
  Mesh m;
  for (std::uint8_t i = 1; i <= 4; ++i) {
    std::vector<std::uint8_t> peers;
    for (std::uint8_t j = 1; j < i; ++j) peers.push_back(j);
    m.add(i, peers);
  }
  for (std::size_t r = 0; r < 4; ++r) m.start(r);
  std::uint32_t id = 1;
  m.messages = m.bytes = 0;
  for (auto _ : state) m.register_pe(id % 4, id), ++id;
  state.counters["enrp_msgs_per_change"] =
      static_cast<double>(m.messages) / static_cast<double>(state.iterations());
  state.counters["enrp_bytes_per_change"] =
      static_cast<double>(m.bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_UpdatePerChange);

// Registrar 3 dies holding n PEs; registrars 1 and 2 notice; the tick that completes the
// takeover (Init Takeover, ack, Takeover Server, n adoptions with their connects, H
// keep-alives and Handle Updates, the peer moving them) is timed.
void BM_Takeover(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    Mesh m;
    m.add(1, {});
    m.add(2, {1});
    m.add(3, {1, 2});
    for (std::size_t r = 0; r < 3; ++r) m.start(r);
    for (std::uint32_t id = 1; id <= n; ++id) m.register_pe(2, id);
    m.cores[2].reset();  // dies
    // Both survivors probe at 5 s and give up at 10 s: run their timers to just before.
    for (int t = 0; t < 9; ++t) {
      m.now += milliseconds(1000);
      m.tick(0);
      m.tick(1);
      m.drain();
    }
    m.now += milliseconds(1000);
    state.ResumeTiming();
    m.tick(0);
    m.drain();
    m.tick(1);
    m.drain();
    state.PauseTiming();
    if (m.cores[0]->handlespace().owned_count(3) != 0 ||
        m.cores[1]->handlespace().owned_count(3) != 0)
      state.SkipWithError("not taken over");
    state.ResumeTiming();
  }
  state.counters["pes_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Takeover)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
