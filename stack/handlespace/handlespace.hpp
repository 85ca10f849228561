// The handlespace: pools by pool handle, pool elements (PEs) by identifier within a
// pool, with every pool policy of RFC 5356 and RSPLIB, an ownership index by home
// registrar with incrementally kept checksums, and per-PE timers ordered by due time.
// The registrar keeps its handlespace with it; a pool user keeps its cache with it
// (entries that expire after the stale-cache time, selected with the same policies).
//
// Pure: no I/O, no clock reads (times come from the caller), randomness from a
// caller's Rng. Single-threaded: one owner, no locks. PeRef values stay valid until
// that PE is removed.
//
// Costs (n PEs in the pool, t timers): register, re-register, deregister O(log n + log t);
// select k PEs O(k log n) (k ≤ a few, as MaxHResItems); next_timer O(1). Two common cases
// are O(1): a LUD/PLUD selection under steady load, and a timer armed no earlier than the
// last one so armed (keep-alives).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stack/handlespace/fenwick.hpp"
#include "stack/handlespace/flat_index.hpp"
#include "stack/handlespace/quad_heap.hpp"
#include "stack/handlespace/rng.hpp"
#include "stack/handlespace/slab.hpp"
#include "stack/wire/parameters.hpp"

namespace rserpool::handlespace {

using PeId = std::uint32_t;
using ServerId = std::uint32_t;
using PeRef = std::uint32_t;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// Per-PE timers. A PE has at most one lifetime timer (registration expiry, or the
// stale-cache time in a PU cache) and one keep-alive timer (transmission or timeout).
enum class TimerKind : std::uint8_t { expiry, keep_alive_transmission, keep_alive_timeout };

// The PE checksum contribution of RFC 5353 / RSPLIB: 16-bit one's-complement words
// over the pool handle (odd length zero-padded) then the PE ID, unfolded.
std::uint64_t checksum_words(std::string_view pool_handle);
std::uint64_t checksum_contribution(std::uint64_t handle_words, PeId id);
// Folds an unfolded sum of words into the 16-bit checksum (complemented).
std::uint16_t fold_checksum(std::uint64_t sum);

class Handlespace {
 public:
  // One PE as the handlespace keeps it. `element` is as last registered: its policy
  // parameters (load, weight, ...) are updated in place by a re-registration, and its
  // Distance word is the distance this registrar uses for DPF policies.
  struct Entry {
    wire::PoolElement element;
    std::uint32_t pool = 0;
    // Bookkeeping; read-only for users.
    std::uint32_t pool_pos = 0;   // in the pool's member list (and weight tree)
    std::uint32_t owner_prev = kNone, owner_next = kNone;
    // Selection state: the LUD family's degradation accumulated since the last load
    // report, or WRR's picks left in the current round.
    std::uint64_t state = 0;
  };
  static constexpr std::uint32_t kNone = 0xffffffffu;

  enum class Outcome : std::uint8_t { added, updated, inconsistent_policy, unknown_policy };
  struct Registration {
    Outcome outcome;
    PeRef ref = kNone;  // valid when added or updated
  };

  // `seq_limit` bounds the selection sequence numbers before they are renumbered; only
  // tests lower it, to reach the renumbering.
  explicit Handlespace(std::uint32_t seq_limit = 0xffffffffu) : seq_limit_(seq_limit) {}
  Handlespace(const Handlespace&) = delete;
  Handlespace& operator=(const Handlespace&) = delete;

  // Adds a PE, or updates it in place when the pool already has its identifier. A PE
  // whose policy type differs from its pool's is refused (Inconsistent Pooling
  // Policy); a pool's policy is set by its first PE and goes when its last PE goes.
  Registration register_pe(std::string_view pool_handle, const wire::PoolElement& pe);
  bool deregister(std::string_view pool_handle, PeId id);
  void remove(PeRef ref);  // REQUIRES: ref valid

  std::optional<PeRef> find(std::string_view pool_handle, PeId id) const;
  const Entry& entry(PeRef ref) const { return entries_[ref]; }
  std::string_view pool_handle(PeRef ref) const { return pools_[entries_[ref].pool]->handle; }

  // Handle resolution: appends up to n distinct PEs to `out` in selection order and
  // returns how many. The first `max_increment` of them advance their selection state
  // (round robin position, degradation, WRR credits); RSPLIB's registrar uses 1.
  std::size_t select(std::string_view pool_handle, std::size_t n, Rng& rng,
                     std::vector<PeRef>& out, std::size_t max_increment = 1);

  // Pools.
  std::size_t pool_count() const { return pool_index_.size(); }
  std::size_t pe_count() const { return pe_count_; }
  std::optional<wire::PolicyType> pool_policy(std::string_view pool_handle) const;
  // The members of a pool, in no particular order; empty when there is no such pool.
  std::span<const PeRef> members(std::string_view pool_handle) const;
  std::vector<std::string_view> pool_handles() const;

  // Ownership by home registrar, and the checksums ENRP compares.
  std::uint16_t checksum() const { return fold_checksum(total_sum_); }
  std::uint16_t owner_checksum(ServerId owner) const;
  std::size_t owned_count(ServerId owner) const;
  std::vector<PeRef> owned_by(ServerId owner) const;
  std::vector<ServerId> owners() const;

  // Timers. schedule() replaces the PE's timer of the same slot (expiry; or keep-alive
  // transmission/timeout, which share one).
  void schedule(PeRef ref, TimerKind kind, TimePoint due);
  void cancel(PeRef ref, TimerKind kind);  // the slot's timer, whichever kind it is
  struct DueTimer {
    TimePoint due;
    PeRef pe;
    TimerKind kind;
  };
  std::optional<DueTimer> next_timer() const;
  std::optional<TimePoint> timer(PeRef ref, TimerKind kind) const;

 private:
  struct OrderEntry {
    std::uint64_t primary;  // policy key: lower first (load, round, inverted priority, ...)
    std::uint32_t seq;      // when last selected (or added): lower first; see next_seq()
    PeRef pe;
  };
  struct OrderLess {
    bool operator()(const OrderEntry& a, const OrderEntry& b) const {
      return a.primary != b.primary ? a.primary < b.primary : a.seq < b.seq;
    }
  };
  // Where each PE sits in the selection order and the timer queue, by PeRef: apart from
  // the entries and from each other, densely (4 and 8 bytes a PE): the heaps rewrite
  // these on every move, and small arrays stay in cache where the entries would not.
  using TimerSlots = std::array<std::uint32_t, 2>;  // timer queue positions: expiry, keep-alive
  // The LUD family's selection state, beside the entries for the same reason: a
  // selection adds `step` (the PE's load degradation) to `state` and to its key without
  // reading the entry. Entry::state mirrors `state`. `primary` and `seq` are the key of
  // a PE in its pool's run (see Pool::has_run).
  struct Degradation {
    std::uint64_t state = 0;
    std::uint64_t primary = 0;
    std::uint32_t step = 0;
    std::uint32_t seq = 0;
  };
  struct OrderMoved {
    std::vector<std::uint32_t>* order_pos;
    void operator()(const OrderEntry& e, std::size_t pos) const {
      (*order_pos)[e.pe] = static_cast<std::uint32_t>(pos);
    }
  };
  struct TimerEntry {
    Clock::rep due;
    PeRef pe;
    TimerKind kind;
  };
  struct TimerLess {
    bool operator()(const TimerEntry& a, const TimerEntry& b) const { return a.due < b.due; }
  };
  struct TimerMoved {
    std::vector<TimerSlots>* timer_pos;
    void operator()(const TimerEntry& e, std::size_t pos) const {
      (*timer_pos)[e.pe][e.kind == TimerKind::expiry ? 0 : 1] = static_cast<std::uint32_t>(pos);
    }
  };
  using OrderHeap = QuadHeap<OrderEntry, OrderLess, OrderMoved>;
  struct IndexKeyOf {
    const Slab<Entry>* entries;
    std::uint64_t operator()(PeRef ref) const {
      const Entry& e = (*entries)[ref];
      return index_key(e.pool, e.element.identifier);
    }
  };

  struct Pool {
    std::string handle;
    std::uint64_t handle_words = 0;
    const wire::PolicyInfo* policy = nullptr;
    bool randomized = false;
    bool rotation = false;  // round robin: a ring, least recently selected first
    std::vector<PeRef> members;
    PeRef head = kNone;     // round robin: the next PE to select
    OrderHeap order;   // other ordered policies
    // LUD and PLUD: a selected PE's key grows by its step, and under steady selection
    // each new key is at least the last one. Such PEs leave the heap for a sorted list,
    // the run, appended at its tail in O(1); a selection takes the lower of the heap's
    // top and the run's head. A key lower than the run's tail goes back to the heap.
    // Members: ring_prev_ is the previous (kNone at the head; kInHeap: in the heap),
    // order_pos_ the next (kNone at the tail), their key in degradation_.
    bool has_run = false;
    PeRef run_head = kNone, run_tail = kNone;
    static constexpr std::uint32_t kInHeap = 0xfffffffeu;
    Fenwick weights;   // randomized policies, by member position
    std::uint32_t seq = 0;
  };
  struct Owner {
    PeRef head = kNone;
    std::size_t count = 0;
    std::uint64_t sum = 0;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  Pool* find_pool(std::string_view handle) const;
  std::uint32_t find_pool_id(std::string_view handle) const;  // kNone when there is none
  std::uint32_t pool_id(std::string_view handle, const wire::PolicyInfo* policy);
  static std::uint64_t index_key(std::uint32_t pool, PeId id) {
    return (std::uint64_t{pool} << 32) | id;
  }
  std::uint64_t primary(const Pool& pool, const Entry& e) const;
  std::uint64_t weight(const Pool& pool, const Entry& e) const;
  void update_pe(Pool& pool, PeRef ref, const wire::PoolElement& pe);
  void reset_side_arrays(PeRef ref, const wire::PoolElement& pe);
  void advance(Pool& pool, PeRef ref, std::uint32_t order_pos);
  void set_state(PeRef ref, std::uint64_t state);
  Owner& owner(ServerId id);
  std::uint32_t next_seq(Pool& pool);
  void owner_add(PeRef ref);
  void owner_remove(PeRef ref);
  void select_ordered(Pool& pool, std::size_t n, std::vector<PeRef>& out);
  static void select_up_to_three(const OrderHeap& h, std::size_t n, std::vector<PeRef>& out);
  void select_heap(const OrderHeap& h, std::size_t n, std::vector<PeRef>& out);
  void select_with_run(Pool& pool, std::size_t n, std::vector<PeRef>& out);
  bool in_run(const Pool& pool, PeRef ref) const {
    return pool.has_run && ring_prev_[ref] != Pool::kInHeap;
  }
  OrderEntry order_key(const Pool& pool, PeRef ref) const;
  void run_append(Pool& pool, PeRef ref, std::uint64_t primary, std::uint32_t seq);
  void run_unlink(Pool& pool, PeRef ref);
  void heap_push(Pool& pool, const OrderEntry& o);
  void advance_in_run_pool(Pool& pool, PeRef ref, std::uint32_t seq);
  void ring_insert_before_head(Pool& pool, PeRef ref);
  void ring_unlink(Pool& pool, PeRef ref);
  void select_randomized(Pool& pool, std::size_t n, Rng& rng, std::vector<PeRef>& out);

  Slab<Entry> entries_;
  // By PeRef: heap position (round robin: the next PE of the rotation), the previous PE
  // of the rotation, timer positions, degradation state.
  std::vector<std::uint32_t> order_pos_;
  std::vector<std::uint32_t> ring_prev_;
  std::vector<TimerSlots> timer_pos_;
  std::vector<Degradation> degradation_;
  std::size_t pe_count_ = 0;
  std::vector<std::unique_ptr<Pool>> pools_;
  std::vector<std::uint32_t> free_pools_;
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> pool_index_;
  FlatIndex<IndexKeyOf> pe_index_{IndexKeyOf{&entries_}};
  std::vector<PeRef> scratch_;  // select_with_run's heap candidates
  std::unordered_map<ServerId, Owner> owners_;
  // The last pool and owner looked up: a registrar's requests come in runs for one pool
  // and (its own) owner, and this spares the hash lookups.
  mutable std::uint32_t last_pool_ = kNone;
  ServerId last_owner_id_ = 0;
  Owner* last_owner_ = nullptr;
  std::uint64_t total_sum_ = 0;
  std::uint32_t seq_limit_;
  QuadHeap<TimerEntry, TimerLess, TimerMoved> timers_{TimerLess{}, TimerMoved{&timer_pos_}};
  // Timers armed in due order (keep-alives: now + the interval, each later than the last)
  // skip the heap: they queue in `v` from `head` on, in order, appended in O(1), and leave
  // from the front or as tombstones (pe = kNone; `dead` of them), dropped when the queue is
  // compacted. A timer due before the last queued goes to the heap. timer_pos_ holds
  // kInQueue | index for a queued timer.
  struct TimerQueue {
    std::vector<TimerEntry> v;
    std::size_t head = 0, dead = 0;
  };
  TimerQueue queued_;
  static constexpr std::uint32_t kInQueue = 0x80000000u;
  void queue_timer(const TimerEntry& t);
  void unqueue_timer(std::uint32_t index);
  void compact_timer_queue();
  const TimerEntry& timer_at(std::uint32_t pos) const {
    return (pos & kInQueue) != 0 ? queued_.v[pos & ~kInQueue] : timers_.at(pos);
  }
};

}  // namespace rserpool::handlespace
