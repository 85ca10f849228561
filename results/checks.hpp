// The checks `rsplab run` makes after each run, from the run's own rows, stored in
// run_checks (Store::add_check) and printed. This component owns the registered-capacity
// check: the pool's registered capacity over the measured window, read from the registrars'
// registration events, against the capacity deployed (the PE components) and what the
// applied faults explain.
//
//   registrations ─► per PE slot: when some registrar held it ─┐
//   faults ─► per PE slot: when a fault explains its absence ──┼─► registered_capacity()
//   components ─► the slots and their capacities ──────────────┘        ─► RunCheck
//
// A slot is a deployed PE: the components rows of one name (a group member keeps its name
// across restarts, under new identities). A registrar holds a PE from its registration or
// its adoption by an ENRP takeover (pe_adoptions). A registrar's registrations end with its
// deregistration events, or when the registrar was killed or restarted (a faults row).
// A fault explains a slot's absence from the time it was applied until it was undone (or
// the window's end) plus kReregistrationGrace:
//   - kill / stop of members: those members, until their restart / resume;
//   - restart of members: those members, from then;
//   - kill / stop / restart of a registrar: every slot, until its restart / resume; with
//     several registrars (ENRP peers that take over) at most kRehomeUs from the fault;
//   - link_down, loss (site/isp) and partition (a,b): the slots at those sites, or every
//     slot when a registrar is there, until link_up / loss_end / partition_end.
// Faults skipped (details.skipped) explain nothing; kinds not listed explain nothing.
//
// A PE without capacity (components.capacity NULL: the echo service's, docs/echo.md) has
// none to weigh: such PEs are checked by their registered time instead, each weighing the
// same, and their unexplained gaps count as the others' do.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "results/store.hpp"

namespace rsplab::results {

// Capacity may be missing without a fault explaining it for at most this share of the
// window; more is a warning.
inline constexpr double kMissingCapacityLimit = 0.05;
// How long after a fault is undone a PE may take to be registered again.
inline constexpr std::int64_t kReregistrationGraceUs = 5'000'000;
// In a run with several registrars (ENRP), how long a registrar's kill, stop or restart
// explains the absence of PEs: by then a peer has taken them over or they have registered
// elsewhere. ENRP's defaults (behaviour.md): max-time-last-heard 5 s + max-time-no-response
// 5 s + takeover expiry 5 s, plus the re-registration grace. Longer ENRP timers than the
// defaults make this check warn early.
inline constexpr std::int64_t kRehomeUs = 20'000'000;

struct Span {
  std::int64_t from_us = 0, to_us = 0;  // [from, to), µs since the run's start
  friend bool operator==(const Span&, const Span&) = default;
};

// One deployed PE.
struct CapacitySlot {
  std::string name;
  double capacity = 0;            // calculations/s
  std::vector<Span> registered;   // when some registrar held one of its identities
  std::vector<Span> explained;    // when a fault explains its absence
  bool without_capacity = false;  // an echo PE: checked by registered time, not capacity
};

struct CapacityFindings {
  std::size_t slots = 0;
  double deployed = 0;              // Σ capacity of the slots
  double registered_fraction = 0;   // ∫ registered capacity / (deployed × window)
  double explained_fraction = 0;    // missing while a fault explains it, same unit
  double unexplained_fraction = 0;  // missing with no fault to explain it, same unit
  std::size_t without_capacity = 0;       // slots without capacity (echo PEs)
  double registered_time_fraction = 0;    // theirs: ∫ registered / (slots × window)
  std::int64_t unexplained_us = 0;  // how long some capacity was missing unexplained
  std::int64_t window_us = 0;
  struct Gap {
    std::string slot;
    Span span;
  };
  std::vector<Gap> gaps;  // the unexplained ones, by slot then time
  bool warning() const {
    return static_cast<double>(unexplained_us) > kMissingCapacityLimit * static_cast<double>(window_us);
  }
};

// The registered capacity of `slots` over `window`. REQUIRES: window.from_us < window.to_us.
CapacityFindings registered_capacity(const std::vector<CapacitySlot>& slots, Span window);

// The slots of a run as its rows give them (components, registrations, faults), with
// `grace_us` after each fault's undo.
std::vector<CapacitySlot> capacity_slots(const Store& store, std::int64_t run_id,
                                         std::int64_t grace_us = kReregistrationGraceUs);

// The check `registered_capacity` of a run: ok or warning, value = registered fraction (of
// the registered time when no PE has capacity; NaN without PEs), the line to print, the
// findings as details.
RunCheck check_registered_capacity(const Store& store, std::int64_t run_id);

}  // namespace rsplab::results
