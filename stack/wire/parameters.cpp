#include "stack/wire/parameters.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace rserpool::wire {

Address Address::v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  Address r;
  r.family = Family::v4;
  r.bytes = {a, b, c, d};
  return r;
}

Address Address::v6(const std::array<std::uint8_t, 16>& b) {
  Address r;
  r.family = Family::v6;
  r.bytes = b;
  return r;
}

std::optional<Address> Address::parse(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  Address r;
  if (inet_pton(AF_INET, buf, r.bytes.data()) == 1) {
    r.family = Family::v4;
    return r;
  }
  if (inet_pton(AF_INET6, buf, r.bytes.data()) == 1) {
    r.family = Family::v6;
    return r;
  }
  return std::nullopt;
}

std::string Address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == Family::v4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

namespace {

using F = PolicyField;

// The 16 policies: wire order of their words after the type word (RFC 5356,
// RSPLIB, draft-dreibholz-rserpool-delay). PLU is accepted with Load alone, as
// RSPLIB sends it, and sent with Load and Load Degradation, as Wireshark expects.
const std::vector<PolicyInfo> kPolicies = {
    {PolicyType::round_robin, "Round Robin", "rr", 0, {}, 0},
    {PolicyType::weighted_round_robin, "Weighted Round Robin", "wrr", 1, {F::weight}, 1},
    {PolicyType::random, "Random", "random", 0, {}, 0},
    {PolicyType::weighted_random, "Weighted Random", "wrand", 1, {F::weight}, 1},
    {PolicyType::priority, "Priority", "priority", 1, {F::priority}, 1},
    {PolicyType::least_used, "Least Used", "lu", 1, {F::load}, 1},
    {PolicyType::least_used_degradation, "Least Used with Degradation", "lud", 2,
     {F::load, F::load_degradation}, 2},
    {PolicyType::priority_least_used, "Priority Least Used", "plu", 2,
     {F::load, F::load_degradation}, 1},
    {PolicyType::randomized_least_used, "Randomized Least Used", "rlu", 1, {F::load}, 1},
    {PolicyType::randomized_priority_least_used, "Randomized Priority Least Used", "rplu", 1,
     {F::load}, 1},
    {PolicyType::randomized_least_used_degradation, "Randomized Least Used with Degradation",
     "rlud", 2, {F::load, F::load_degradation}, 2},
    {PolicyType::priority_least_used_degradation, "Priority Least Used with Degradation",
     "plud", 2, {F::load, F::load_degradation}, 2},
    {PolicyType::randomized_priority_least_used_degradation,
     "Randomized Priority Least Used with Degradation", "rplud", 2,
     {F::load, F::load_degradation}, 2},
    {PolicyType::weighted_random_dpf, "Weighted Random with Distance Penalty Factor",
     "wrand-dpf", 3, {F::weight, F::weight_dpf, F::distance}, 3},
    {PolicyType::least_used_dpf, "Least Used with Distance Penalty Factor", "lu-dpf", 3,
     {F::load, F::load_dpf, F::distance}, 3},
    {PolicyType::least_used_degradation_dpf,
     "Least Used with Degradation and Distance Penalty Factor", "lud-dpf", 4,
     {F::load, F::load_degradation, F::load_dpf, F::distance}, 4},
};

}  // namespace

const std::vector<PolicyInfo>& all_policies() { return kPolicies; }

const PolicyInfo* policy_info(PolicyType type) {
  for (const auto& p : kPolicies)
    if (p.type == type) return &p;
  return nullptr;
}

const PolicyInfo* policy_by_short_name(std::string_view short_name) {
  for (const auto& p : kPolicies)
    if (p.short_name == short_name) return &p;
  return nullptr;
}

std::string_view field_name(PolicyField f) {
  switch (f) {
    case F::weight: return "Weight";
    case F::priority: return "Priority";
    case F::load: return "Load";
    case F::load_degradation: return "Load Degradation";
    case F::load_dpf: return "Load DPF";
    case F::weight_dpf: return "Weight DPF";
    case F::distance: return "Distance";
  }
  return "?";
}

std::uint32_t policy_field(const Policy& p, PolicyField f) {
  switch (f) {
    case F::weight: return p.weight;
    case F::priority: return p.priority;
    case F::load: return p.load;
    case F::load_degradation: return p.load_degradation;
    case F::load_dpf: return p.load_dpf;
    case F::weight_dpf: return p.weight_dpf;
    case F::distance: return p.distance;
  }
  return 0;
}

void set_policy_field(Policy& p, PolicyField f, std::uint32_t value) {
  switch (f) {
    case F::weight: p.weight = value; break;
    case F::priority: p.priority = value; break;
    case F::load: p.load = value; break;
    case F::load_degradation: p.load_degradation = value; break;
    case F::load_dpf: p.load_dpf = value; break;
    case F::weight_dpf: p.weight_dpf = value; break;
    case F::distance: p.distance = value; break;
  }
}

bool printable(std::string_view handle) {
  return !handle.empty() && std::all_of(handle.begin(), handle.end(), [](char c) {
    return c >= 0x20 && c < 0x7f;
  });
}

}  // namespace rserpool::wire
