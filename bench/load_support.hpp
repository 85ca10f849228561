// What bench/registrar_load and bench/enrp_load share: CPU time of a process and of this one,
// pinning to a CPU, a raised file-descriptor limit, numbers with thousands separators, and a
// simulated PE's two messages (its REGISTRATION, its answer to the registrar's keep-alive),
// encoded with the wire codec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "stack/wire/messages.hpp"

namespace rsplab::bench {

// CPU time of a process in seconds (its CPU clock, else /proc/<pid>/stat); nullopt when it
// is gone.
std::optional<double> process_cpu_seconds(int pid);
double self_cpu_seconds();
// Pins `pid` (0: this process) to `cpu`; cpu < 0: leaves it alone (true).
bool pin(int pid, int cpu);
// 12,345.6 (decimals after the point).
std::string fmt(double v, int decimals = 0);

// A PE's registration: one TCP user transport at `address`:`port`, Transport Use data-only.
struct SimulatedPe {
  std::string pool;
  std::uint32_t id = 0;
  rserpool::wire::Policy policy;
  std::uint32_t registration_life_ms = 300000;
  rserpool::wire::Address address = rserpool::wire::Address::v4(127, 0, 0, 1);
  std::uint16_t port = 0;
};
// Appends the encoded message to `out`; false when it does not encode.
bool encode_registration(const SimulatedPe& pe, rserpool::wire::Bytes& out);
// The ack of a keep-alive (its pool handle; its PE identifier, else `pe_id`).
bool encode_keep_alive_ack(const rserpool::wire::asap::EndpointKeepAlive& ka, std::uint32_t pe_id,
                           rserpool::wire::Bytes& out);

}  // namespace rsplab::bench
