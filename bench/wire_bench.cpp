// Encode and decode throughput of the ASAP/ENRP codec on representative messages:
// a PE's registration, a handle resolution response with 3 PEs (what a PU sees), and an
// ENRP handle table response with many PEs (a registrar synchronising a peer).
// Items are messages, bytes are wire bytes.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <span>
#include <string>

#include "stack/wire/messages.hpp"

namespace {

using namespace rserpool::wire;

Transport sctp_transport(std::uint16_t port, std::uint8_t host, int addresses) {
  Transport t;
  t.kind = TransportKind::sctp;
  t.port = port;
  t.use = TransportUse::data_plus_control;
  for (int i = 0; i < addresses; ++i) {
    t.addresses.push_back(Address::v4(198, static_cast<std::uint8_t>(18 + i), 1, host));
  }
  return t;
}

PoolElement pool_element(std::uint32_t id, bool with_asap_transport) {
  PoolElement pe;
  pe.identifier = id;
  pe.home_server = 0x11223344;
  pe.registration_life = 30000;
  pe.user_transport = sctp_transport(static_cast<std::uint16_t>(20000 + id % 1000),
                                     static_cast<std::uint8_t>(id % 250 + 1), 2);
  pe.policy.type = PolicyType::least_used;
  pe.policy.load = kFractionOne / 4;
  if (with_asap_transport) {
    pe.asap_transport = sctp_transport(static_cast<std::uint16_t>(30000 + id % 1000),
                                       static_cast<std::uint8_t>(id % 250 + 1), 2);
  }
  return pe;
}

asap::Message registration() {
  return asap::Registration{"CalcAppPool", pool_element(0x1001, false)};
}

asap::Message resolution_response_3pes() {
  asap::HandleResolutionResponse r;
  r.pool_handle = "CalcAppPool";
  r.overall_policy = Policy{.type = PolicyType::least_used};
  for (std::uint32_t i = 0; i < 3; ++i) r.pool_elements.push_back(pool_element(0x2000 + i, false));
  return r;
}

enrp::Message table_response(int pes) {
  enrp::HandleTableResponse r;
  r.sender = 0x11223344;
  r.receiver = 0x55667788;
  enrp::PoolEntry pool;
  pool.pool_handle = "CalcAppPool";
  for (int i = 0; i < pes; ++i) {
    pool.pool_elements.push_back(pool_element(0x3000 + static_cast<std::uint32_t>(i), true));
  }
  r.pools.push_back(std::move(pool));
  return r;
}

Result<Decoded<asap::Message>> decode_any(std::span<const std::uint8_t> b, const asap::Message&) {
  return decode_asap(b);
}
Result<Decoded<enrp::Message>> decode_any(std::span<const std::uint8_t> b, const enrp::Message&) {
  return decode_enrp(b);
}

template <class Make>
void BM_Encode(benchmark::State& state, Make make) {
  const auto message = make();
  Bytes out;
  if (!encode(message, out)) {
    state.SkipWithError("message does not encode");
    return;
  }
  const auto size = static_cast<std::int64_t>(out.size());
  for (auto _ : state) {
    out.clear();  // keeps the capacity: measures the encoder, not the allocator
    bool ok = encode(message, out);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * size);
  state.counters["msg_bytes"] = static_cast<double>(size);
}

template <class Make>
void BM_Decode(benchmark::State& state, Make make) {
  const auto message = make();
  const Bytes wire = encode(message);
  if (wire.empty()) {
    state.SkipWithError("message does not encode");
    return;
  }
  {
    auto check = decode_any(wire, message);
    if (!check || !(check->message == message)) {
      state.SkipWithError("message does not round-trip");
      return;
    }
  }
  for (auto _ : state) {
    auto r = decode_any(wire, message);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
  state.counters["msg_bytes"] = static_cast<double>(wire.size());
}

BENCHMARK_CAPTURE(BM_Encode, asap_registration, registration);
BENCHMARK_CAPTURE(BM_Decode, asap_registration, registration);
BENCHMARK_CAPTURE(BM_Encode, asap_resolution_response_3pes, resolution_response_3pes);
BENCHMARK_CAPTURE(BM_Decode, asap_resolution_response_3pes, resolution_response_3pes);
BENCHMARK_CAPTURE(BM_Encode, enrp_table_response_128pes, [] { return table_response(128); });
BENCHMARK_CAPTURE(BM_Decode, enrp_table_response_128pes, [] { return table_response(128); });

}  // namespace

BENCHMARK_MAIN();
