// The handlespace (handlespace.hpp): the pools and their PEs in the slab and the (pool, PE)
// index; per pool the selection structure of its policy (a 4-ary heap with, for LUD and
// PLUD, a sorted run beside it; a ring for round robin; a Fenwick tree for the randomized
// ones); the ownership index and checksums; the timers (a heap, and beside it a queue of
// those armed in due order).
#include "stack/handlespace/handlespace.hpp"

#include <algorithm>
#include <limits>

namespace rserpool::handlespace {

using wire::PolicyType;

std::uint64_t checksum_words(std::string_view h) {
  std::uint64_t sum = 0;
  std::size_t i = 0;
  for (; i + 1 < h.size(); i += 2)
    sum += (std::uint64_t{static_cast<std::uint8_t>(h[i])} << 8) |
           static_cast<std::uint8_t>(h[i + 1]);
  if (i < h.size()) sum += std::uint64_t{static_cast<std::uint8_t>(h[i])} << 8;
  return sum;
}

std::uint64_t checksum_contribution(std::uint64_t handle_words, PeId id) {
  return handle_words + (id >> 16) + (id & 0xffffu);
}

std::uint16_t fold_checksum(std::uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffffu);
}

namespace {

constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

// Saturates just below kNever: a huge distance penalty ranks a PE last, it does not
// make it unselectable (kNever is WRR's "weight 0" mark, where select_ordered stops).
std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) {
  constexpr std::uint64_t kMax = kNever - 1;
  return a > kMax || b > kMax - a ? kMax : a + b;
}

bool randomized(PolicyType t) {
  switch (t) {
    case PolicyType::random:
    case PolicyType::weighted_random:
    case PolicyType::randomized_least_used:
    case PolicyType::randomized_priority_least_used:
    case PolicyType::randomized_least_used_degradation:
    case PolicyType::randomized_priority_least_used_degradation:
    case PolicyType::weighted_random_dpf:
      return true;
    default:
      return false;
  }
}

// Policies whose selection adds the PE's load degradation until its next load report.
bool degrades(PolicyType t) {
  return t == PolicyType::least_used_degradation ||
         t == PolicyType::priority_least_used_degradation ||
         t == PolicyType::least_used_degradation_dpf ||
         t == PolicyType::randomized_least_used_degradation ||
         t == PolicyType::randomized_priority_least_used_degradation;
}

}  // namespace

// Lower is better. Ordered policies pick the lowest key, least recently selected first.
std::uint64_t Handlespace::primary(const Pool& pool, const Entry& e) const {
  const wire::Policy& p = e.element.policy;
  switch (pool.policy->type) {
    case PolicyType::round_robin: return 0;
    case PolicyType::priority: return 0xffffffffu - p.priority;
    case PolicyType::least_used: return p.load;
    case PolicyType::least_used_degradation: return std::uint64_t{p.load} + e.state;
    case PolicyType::priority_least_used: return std::uint64_t{p.load} + p.load_degradation;
    case PolicyType::priority_least_used_degradation:
      return std::uint64_t{p.load} + p.load_degradation + e.state;
    case PolicyType::least_used_dpf:
      return sat_add(p.load, std::uint64_t{p.distance} * p.load_dpf);
    case PolicyType::least_used_degradation_dpf:
      return sat_add(std::uint64_t{p.load} + e.state, std::uint64_t{p.distance} * p.load_dpf);
    default: return 0;  // WRR keeps its round in the heap entry itself
  }
}

// Randomized policies pick with probability proportional to this weight.
std::uint64_t Handlespace::weight(const Pool& pool, const Entry& e) const {
  const wire::Policy& p = e.element.policy;
  const auto headroom = [](std::uint64_t used) -> std::uint64_t {
    return used >= wire::kFractionOne ? 1 : wire::kFractionOne - used + 1;
  };
  switch (pool.policy->type) {
    case PolicyType::random: return 1;
    case PolicyType::weighted_random: return p.weight;
    case PolicyType::randomized_least_used:
    case PolicyType::randomized_priority_least_used: return headroom(p.load);
    case PolicyType::randomized_least_used_degradation:
      return headroom(std::uint64_t{p.load} + e.state);
    case PolicyType::randomized_priority_least_used_degradation:
      return headroom(std::uint64_t{p.load} + p.load_degradation + e.state);
    case PolicyType::weighted_random_dpf: {
      // weight × (1 − distance · DPF), DPF a fraction of 2^32 per ms; scaled down by
      // 2^20 so that sums over 10^5 PEs fit 64 bits.
      const std::uint64_t penalty = std::uint64_t{p.distance} * p.weight_dpf;
      if (penalty >= (std::uint64_t{1} << 32)) return 0;
      return (std::uint64_t{p.weight} * ((std::uint64_t{1} << 32) - penalty)) >> 20;
    }
    default: return 1;
  }
}

std::uint32_t Handlespace::find_pool_id(std::string_view handle) const {
  if (last_pool_ != kNone && pools_[last_pool_]->handle == handle) return last_pool_;
  const auto it = pool_index_.find(handle);
  if (it == pool_index_.end()) return kNone;
  last_pool_ = it->second;
  return it->second;
}

Handlespace::Pool* Handlespace::find_pool(std::string_view handle) const {
  const std::uint32_t id = find_pool_id(handle);
  return id == kNone ? nullptr : pools_[id].get();
}

std::uint32_t Handlespace::pool_id(std::string_view handle, const wire::PolicyInfo* policy) {
  if (const std::uint32_t known = find_pool_id(handle); known != kNone) return known;
  std::uint32_t id;
  if (!free_pools_.empty()) {
    id = free_pools_.back();
    free_pools_.pop_back();
  } else {
    id = static_cast<std::uint32_t>(pools_.size());
    pools_.emplace_back();
  }
  auto pool = std::make_unique<Pool>();
  pool->handle = std::string(handle);
  pool->handle_words = checksum_words(handle);
  pool->policy = policy;
  pool->randomized = randomized(policy->type);
  pool->rotation = policy->type == PolicyType::round_robin;
  pool->has_run = policy->type == PolicyType::least_used_degradation ||
                  policy->type == PolicyType::priority_least_used_degradation;
  pool->order = OrderHeap(OrderLess{}, OrderMoved{&order_pos_});
  pools_[id] = std::move(pool);
  pool_index_.emplace(std::string(handle), id);
  return id;
}

Handlespace::Registration Handlespace::register_pe(std::string_view handle,
                                                   const wire::PoolElement& pe) {
  const wire::PolicyInfo* info = wire::policy_info(pe.policy.type);
  if (info == nullptr) return {Outcome::unknown_policy};
  if (const Pool* existing = find_pool(handle);
      existing != nullptr && existing->policy->type != pe.policy.type)
    return {Outcome::inconsistent_policy};
  const std::uint32_t pid = pool_id(handle, info);
  Pool& pool = *pools_[pid];

  if (const auto found = pe_index_.find(index_key(pid, pe.identifier))) {
    update_pe(pool, *found, pe);
    return {Outcome::updated, *found};
  }

  const PeRef ref = entries_.allocate();
  reset_side_arrays(ref, pe);
  Entry& e = entries_[ref];  // maybe a removed PE's: every field is set here
  e.element = pe;
  e.state = 0;
  e.pool = pid;
  e.pool_pos = static_cast<std::uint32_t>(pool.members.size());
  pool.members.push_back(ref);
  pe_index_.insert(index_key(pid, pe.identifier), ref);
  ++pe_count_;
  owner_add(ref);
  if (pool.randomized) {
    pool.weights.push_back(weight(pool, e));
  } else if (pool.rotation) {
    ring_insert_before_head(pool, ref);  // the most recently selected position
  } else {
    std::uint64_t key = primary(pool, e);
    if (pool.policy->type == PolicyType::weighted_round_robin) {
      // Joins the current round with a full share of picks; weight 0 is never picked.
      set_state(ref, pe.policy.weight);
      key = pe.policy.weight == 0 ? kNever
            : pool.order.empty() || pool.order.top().primary == kNever
                ? 0
                : pool.order.top().primary;
    }
    heap_push(pool, OrderEntry{key, next_seq(pool), ref});
  }
  return {Outcome::added, ref};
}

// Re-registration: update in place, keep the selection history (seq).
void Handlespace::update_pe(Pool& pool, PeRef ref, const wire::PoolElement& pe) {
  Entry& e = entries_[ref];
  const bool new_owner = e.element.home_server != pe.home_server;
  if (new_owner) owner_remove(ref);
  const bool new_load = e.element.policy.load != pe.policy.load;
  const bool new_weight = e.element.policy.weight != pe.policy.weight;
  e.element = pe;
  degradation_[ref].step = pe.policy.load_degradation;
  if (new_load && degrades(pool.policy->type)) set_state(ref, 0);
  if (new_owner) owner_add(ref);
  if (pool.randomized) {
    pool.weights.set(e.pool_pos, weight(pool, e));
  } else if (!pool.rotation) {
    if (pool.policy->type == PolicyType::weighted_round_robin) {
      if (new_weight) {
        // A weight of 0 leaves the rotation; a PE coming back joins the current round.
        OrderEntry& o = pool.order.mutable_at(order_pos_[ref]);
        set_state(ref, pe.policy.weight);
        if (pe.policy.weight == 0)
          o.primary = kNever;
        else if (o.primary == kNever)
          o.primary = pool.order.top().primary == kNever ? 0 : pool.order.top().primary;
      }
      pool.order.fix(order_pos_[ref]);
    } else if (in_run(pool, ref)) {  // stays if its key does, else back to the heap
      const Degradation d = degradation_[ref];
      const std::uint64_t key = primary(pool, e);
      if (key != d.primary) {
        run_unlink(pool, ref);
        heap_push(pool, OrderEntry{key, d.seq, ref});
      }
    } else {
      pool.order.mutable_at(order_pos_[ref]).primary = primary(pool, e);
      pool.order.fix(order_pos_[ref]);
    }
  }
}

// A PE's entries in the side arrays, fresh; they grow with the slab.
void Handlespace::reset_side_arrays(PeRef ref, const wire::PoolElement& pe) {
  Degradation d;
  d.step = pe.policy.load_degradation;
  if (ref == order_pos_.size()) {  // a new slot: the side arrays grow with the slab
    if (order_pos_.size() == order_pos_.capacity()) {
      const std::size_t cap = order_pos_.size() + order_pos_.size() / 4 + 64;
      order_pos_.reserve(cap);
      ring_prev_.reserve(cap);
      timer_pos_.reserve(cap);
      degradation_.reserve(cap);
    }
    order_pos_.push_back(0);
    ring_prev_.push_back(0);
    timer_pos_.push_back({kNone, kNone});
    degradation_.push_back(d);
  } else {
    order_pos_[ref] = 0;
    ring_prev_[ref] = 0;
    timer_pos_[ref] = {kNone, kNone};
    degradation_[ref] = d;
  }
}

bool Handlespace::deregister(std::string_view handle, PeId id) {
  const std::uint32_t pid = find_pool_id(handle);
  if (pid == kNone) return false;
  const auto found = pe_index_.find(index_key(pid, id));
  if (!found) return false;
  remove(*found);
  return true;
}

void Handlespace::remove(PeRef ref) {
  Entry& e = entries_[ref];
  const std::uint32_t pid = e.pool;
  Pool& pool = *pools_[pid];
  cancel(ref, TimerKind::expiry);
  cancel(ref, TimerKind::keep_alive_timeout);
  owner_remove(ref);
  pe_index_.erase(index_key(pid, e.element.identifier), ref);

  // Swap-remove from the member list (and the weight tree, position for position).
  const std::uint32_t pos = e.pool_pos;
  const PeRef last = pool.members.back();
  if (pool.randomized) {
    const std::size_t lastpos = pool.members.size() - 1;
    pool.weights.set(pos, pool.weights.weight(lastpos));
    pool.weights.set(lastpos, 0);
    pool.weights.pop_back();
  } else if (pool.rotation) {
    ring_unlink(pool, ref);
  } else if (in_run(pool, ref)) {
    run_unlink(pool, ref);
  } else {
    pool.order.erase(order_pos_[ref]);
  }
  pool.members[pos] = last;
  entries_[last].pool_pos = pos;
  pool.members.pop_back();

  entries_.release(ref);
  --pe_count_;
  if (pool.members.empty()) {
    if (last_pool_ == pid) last_pool_ = kNone;
    pool_index_.erase(pool_index_.find(std::string_view(pool.handle)));
    pools_[pid].reset();
    free_pools_.push_back(pid);
  }
}

std::optional<PeRef> Handlespace::find(std::string_view handle, PeId id) const {
  const std::uint32_t pid = find_pool_id(handle);
  if (pid == kNone) return std::nullopt;
  return pe_index_.find(index_key(pid, id));
}

std::optional<wire::PolicyType> Handlespace::pool_policy(std::string_view handle) const {
  const Pool* pool = find_pool(handle);
  if (pool == nullptr) return std::nullopt;
  return pool->policy->type;
}

std::span<const PeRef> Handlespace::members(std::string_view handle) const {
  const Pool* pool = find_pool(handle);
  if (pool == nullptr) return {};
  return pool->members;
}

std::vector<std::string_view> Handlespace::pool_handles() const {
  std::vector<std::string_view> out;
  out.reserve(pool_index_.size());
  for (const auto& [name, id] : pool_index_) out.emplace_back(pools_[id]->handle);
  std::sort(out.begin(), out.end());
  return out;
}

// ------------------------------------------------------------------------------------
// Selection
// ------------------------------------------------------------------------------------

std::size_t Handlespace::select(std::string_view handle, std::size_t n, Rng& rng,
                                std::vector<PeRef>& out, std::size_t max_increment) {
  Pool* pool = find_pool(handle);
  if (pool == nullptr || n == 0) return 0;
  const std::size_t first = out.size();
  if (pool->randomized)
    select_randomized(*pool, n, rng, out);
  else
    select_ordered(*pool, n, out);
  const std::size_t got = out.size() - first;
  // An ordered pool's first pick is its heap's top: no position lookup for it.
  const bool ordered = !pool->randomized && !pool->rotation && !pool->has_run;
  for (std::size_t i = 0; i < std::min(got, max_increment); ++i)
    advance(*pool, out[first + i], i == 0 && ordered ? 0 : kNone);
  return got;
}

// The n lowest keys of the heap, in order: a best-first walk from the root.
void Handlespace::select_ordered(Pool& pool, std::size_t n, std::vector<PeRef>& out) {
  if (pool.rotation) {
    PeRef r = pool.head;
    for (std::size_t i = 0; i < n && r != kNone; ++i) {
      out.push_back(r);
      r = order_pos_[r];
      if (r == pool.head) break;
    }
    return;
  }
  if (pool.has_run && pool.run_head != kNone) return select_with_run(pool, n, out);
  select_heap(pool.order, n, out);
}

// The n lowest keys of the heap, in order.
void Handlespace::select_heap(const OrderHeap& h, std::size_t n, std::vector<PeRef>& out) {
  if (h.empty() || h.top().primary == kNever) return;
  if (n <= 3) return select_up_to_three(h, n, out);
  // Candidates: children of what was taken, at most 3 per pick plus the root. Small
  // requests (the usual 1–3 PEs) keep them on the stack.
  const OrderLess less;
  std::uint32_t local[64];
  std::vector<std::uint32_t> heap_frontier;
  std::uint32_t* frontier = local;
  if (3 * n + 4 > std::size(local)) {
    heap_frontier.resize(3 * n + 4);
    frontier = heap_frontier.data();
  }
  std::size_t count = 0;
  frontier[count++] = 0;
  while (n > 0 && count > 0) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < count; ++i)
      if (less(h.at(frontier[i]), h.at(frontier[best]))) best = i;
    const std::uint32_t pos = frontier[best];
    frontier[best] = frontier[--count];
    if (h.at(pos).primary == kNever) break;
    out.push_back(h.at(pos).pe);
    --n;
    const std::size_t c = OrderHeap::first_child(pos);
    for (std::size_t i = c; i < c + 4 && i < h.size(); ++i)
      frontier[count++] = static_cast<std::uint32_t>(i);
  }
}

// The n lowest of the heap's and the run's: a merge of both in order.
void Handlespace::select_with_run(Pool& pool, std::size_t n, std::vector<PeRef>& out) {
  const OrderLess less;
  PeRef r = pool.run_head;
  if (n == 1) {
    const bool heap_first = !pool.order.empty() && less(pool.order.top(), order_key(pool, r));
    out.push_back(heap_first ? pool.order.top().pe : r);
    return;
  }
  scratch_.clear();
  select_heap(pool.order, n, scratch_);
  std::size_t i = 0;
  for (std::size_t taken = 0; taken < n; ++taken) {
    if (i < scratch_.size() &&
        (r == kNone || less(order_key(pool, scratch_[i]), order_key(pool, r)))) {
      out.push_back(scratch_[i++]);
    } else if (r != kNone) {
      out.push_back(r);
      r = order_pos_[r];
    } else {
      break;
    }
  }
}

Handlespace::OrderEntry Handlespace::order_key(const Pool& pool, PeRef ref) const {
  if (!in_run(pool, ref)) return pool.order.at(order_pos_[ref]);
  const Degradation& d = degradation_[ref];
  return OrderEntry{d.primary, d.seq, ref};
}

void Handlespace::heap_push(Pool& pool, const OrderEntry& o) {
  ring_prev_[o.pe] = Pool::kInHeap;
  pool.order.push(o);
}

void Handlespace::run_append(Pool& pool, PeRef ref, std::uint64_t primary, std::uint32_t seq) {
  Degradation& d = degradation_[ref];
  d.primary = primary;
  d.seq = seq;
  ring_prev_[ref] = pool.run_tail;
  order_pos_[ref] = kNone;
  if (pool.run_tail != kNone)
    order_pos_[pool.run_tail] = ref;
  else
    pool.run_head = ref;
  pool.run_tail = ref;
}

void Handlespace::run_unlink(Pool& pool, PeRef ref) {
  const PeRef prev = ring_prev_[ref], next = order_pos_[ref];
  if (prev != kNone) order_pos_[prev] = next; else pool.run_head = next;
  if (next != kNone) ring_prev_[next] = prev; else pool.run_tail = prev;
}

// LUD, PLUD: the key grows by the step; to the run's tail if it is not below it.
void Handlespace::advance_in_run_pool(Pool& pool, PeRef ref, std::uint32_t seq) {
  const bool was_in_run = in_run(pool, ref);
  const std::uint64_t key = order_key(pool, ref).primary + degradation_[ref].step;
  if (was_in_run) run_unlink(pool, ref);
  if (pool.run_tail == kNone || key >= degradation_[pool.run_tail].primary) {
    if (!was_in_run) pool.order.erase(order_pos_[ref]);
    run_append(pool, ref, key, seq);
  } else if (was_in_run) {
    heap_push(pool, OrderEntry{key, seq, ref});
  } else {
    OrderEntry& o = pool.order.mutable_at(order_pos_[ref]);
    o.primary = key;
    o.seq = seq;
    pool.order.fix(order_pos_[ref]);
  }
}

// The 1–3 lowest keys of a heap (the registrar's MaxHResItems is 3), without the general
// walk: the root; the lowest of its children; the next is the lower of the root's second
// lowest child and the lowest child of that lowest one. Stops at WRR's weight-0 mark.
void Handlespace::select_up_to_three(const OrderHeap& h, std::size_t n,
                                     std::vector<PeRef>& out) {
  out.push_back(h.top().pe);
  const std::size_t size = h.size();
  if (n == 1 || size == 1) return;
  const OrderLess less;
  const std::size_t end = std::min<std::size_t>(5, size);
  std::size_t a = 1, b = kNone;  // lowest and second lowest child of the root
  for (std::size_t i = 2; i < end; ++i) {
    if (less(h.at(i), h.at(a))) {
      b = a;
      a = i;
    } else if (b == kNone || less(h.at(i), h.at(b))) {
      b = i;
    }
  }
  if (h.at(a).primary == kNever) return;
  out.push_back(h.at(a).pe);
  if (n == 2) return;
  std::size_t third = b;
  const std::size_t c = OrderHeap::first_child(a);
  for (std::size_t i = c; i < c + 4 && i < size; ++i)
    if (third == kNone || less(h.at(i), h.at(third))) third = i;
  if (third != kNone && h.at(third).primary != kNever) out.push_back(h.at(third).pe);
}

// n distinct picks without replacement: each pick's weight is zeroed until all are made.
void Handlespace::select_randomized(Pool& pool, std::size_t n, Rng& rng,
                                    std::vector<PeRef>& out) {
  Fenwick& w = pool.weights;
  const std::size_t first = out.size();
  std::uint64_t saved[8];
  std::vector<std::uint64_t> more;
  for (std::size_t i = 0; i < n && w.total() > 0; ++i) {
    const std::size_t pos = w.find(rng.below(w.total()));
    out.push_back(pool.members[pos]);
    if (i + 1 == n) break;
    (i < 8 ? saved[i] : more.emplace_back()) = w.weight(pos);
    w.set(pos, 0);
  }
  const std::size_t zeroed = std::min(out.size() - first, n - 1);
  for (std::size_t i = 0; i < zeroed; ++i) {
    const std::size_t pos = entries_[out[first + i]].pool_pos;
    w.set(pos, i < 8 ? saved[i] : more[i - 8]);
  }
}

// Selection sequence numbers are 32 bits, which keeps heap entries at 16 bytes. Before
// they run out, they are renumbered 1..n in their order: the heap's order, and so its
// layout, stays as it is.
std::uint32_t Handlespace::next_seq(Pool& pool) {
  if (pool.seq >= seq_limit_) {  // the heap's and the run's, together
    std::vector<std::uint32_t*> by_seq;
    by_seq.reserve(pool.order.size());
    for (std::size_t pos = 0; pos < pool.order.size(); ++pos)
      by_seq.push_back(&pool.order.mutable_at(pos).seq);
    for (PeRef r = pool.has_run ? pool.run_head : kNone; r != kNone; r = order_pos_[r])
      by_seq.push_back(&degradation_[r].seq);
    std::sort(by_seq.begin(), by_seq.end(),
              [](const std::uint32_t* a, const std::uint32_t* b) { return *a < *b; });
    std::uint32_t seq = 0;
    for (std::uint32_t* s : by_seq) *s = ++seq;
    pool.seq = seq;
  }
  return ++pool.seq;
}

void Handlespace::set_state(PeRef ref, std::uint64_t state) {
  entries_[ref].state = state;
  degradation_[ref].state = state;
}

// A selected PE's state moves on: it becomes the most recently selected, accumulates
// its degradation, spends a WRR credit. `order_pos`: its heap position if known, or kNone.
// Least Used, Priority and the other ordered policies keep their key; LUD and PLUD add
// the step to it (advance_in_run_pool); only WRR and LUD-DPF read the entry.
void Handlespace::advance(Pool& pool, PeRef ref, std::uint32_t order_pos) {
  const PolicyType type = pool.policy->type;
  if (degrades(type)) {
    Degradation& d = degradation_[ref];
    d.state += d.step;
    entries_[ref].state = d.state;  // a store: the entry is not read
  }
  if (pool.randomized) {
    if (degrades(type)) {
      const Entry& e = entries_[ref];
      pool.weights.set(e.pool_pos, weight(pool, e));
    }
    return;
  }
  if (pool.rotation) {  // becomes the last of the rotation
    if (ref == pool.head) {
      pool.head = order_pos_[ref];
    } else {
      ring_unlink(pool, ref);
      ring_insert_before_head(pool, ref);
    }
    return;
  }
  const std::uint32_t seq = next_seq(pool);  // may renumber: before taking the entry
  if (pool.has_run) return advance_in_run_pool(pool, ref, seq);
  const std::uint32_t pos = order_pos != kNone ? order_pos : order_pos_[ref];
  OrderEntry& o = pool.order.mutable_at(pos);
  o.seq = seq;
  switch (type) {
    case PolicyType::weighted_round_robin: {
      Entry& e = entries_[ref];
      if (e.state > 0 && e.state - 1 == 0) {
        set_state(ref, e.element.policy.weight);
        ++o.primary;  // next round
      } else if (e.state > 0) {
        set_state(ref, e.state - 1);
      }
      break;
    }
    case PolicyType::least_used_degradation_dpf: o.primary = primary(pool, entries_[ref]); break;
    default: break;  // the key does not depend on selections
  }
  pool.order.fix(pos);
}

// The rotation's next PE is order_pos_, its previous ring_prev_.
void Handlespace::ring_insert_before_head(Pool& pool, PeRef ref) {
  if (pool.head == kNone) {
    order_pos_[ref] = ring_prev_[ref] = ref;
    pool.head = ref;
    return;
  }
  const PeRef tail = ring_prev_[pool.head];
  order_pos_[ref] = pool.head;
  ring_prev_[ref] = tail;
  order_pos_[tail] = ref;
  ring_prev_[pool.head] = ref;
}

void Handlespace::ring_unlink(Pool& pool, PeRef ref) {
  const PeRef next = order_pos_[ref], prev = ring_prev_[ref];
  if (next == ref) {  // the only one
    pool.head = kNone;
    return;
  }
  order_pos_[prev] = next;
  ring_prev_[next] = prev;
  if (pool.head == ref) pool.head = next;
}

// ------------------------------------------------------------------------------------
// Ownership
// ------------------------------------------------------------------------------------

Handlespace::Owner& Handlespace::owner(ServerId id) {
  if (last_owner_ == nullptr || last_owner_id_ != id) {
    last_owner_ = &owners_[id];  // map nodes stay put
    last_owner_id_ = id;
  }
  return *last_owner_;
}

void Handlespace::owner_add(PeRef ref) {
  Entry& e = entries_[ref];
  Owner& o = owner(e.element.home_server);
  e.owner_prev = kNone;
  e.owner_next = o.head;
  if (o.head != kNone) entries_[o.head].owner_prev = ref;
  o.head = ref;
  ++o.count;
  const std::uint64_t c =
      checksum_contribution(pools_[e.pool]->handle_words, e.element.identifier);
  o.sum += c;
  total_sum_ += c;
}

void Handlespace::owner_remove(PeRef ref) {
  Entry& e = entries_[ref];
  const ServerId id = e.element.home_server;
  Owner& o = owner(id);
  if (e.owner_prev != kNone)
    entries_[e.owner_prev].owner_next = e.owner_next;
  else
    o.head = e.owner_next;
  if (e.owner_next != kNone) entries_[e.owner_next].owner_prev = e.owner_prev;
  e.owner_prev = e.owner_next = kNone;
  const std::uint64_t c =
      checksum_contribution(pools_[e.pool]->handle_words, e.element.identifier);
  o.sum -= c;
  total_sum_ -= c;
  if (--o.count == 0) {
    last_owner_ = nullptr;
    owners_.erase(id);
  }
}

std::uint16_t Handlespace::owner_checksum(ServerId owner) const {
  const auto it = owners_.find(owner);
  return fold_checksum(it == owners_.end() ? 0 : it->second.sum);
}

std::size_t Handlespace::owned_count(ServerId owner) const {
  const auto it = owners_.find(owner);
  return it == owners_.end() ? 0 : it->second.count;
}

std::vector<PeRef> Handlespace::owned_by(ServerId owner) const {
  std::vector<PeRef> out;
  const auto it = owners_.find(owner);
  if (it == owners_.end()) return out;
  out.reserve(it->second.count);
  for (PeRef r = it->second.head; r != kNone; r = entries_[r].owner_next) out.push_back(r);
  return out;
}

std::vector<ServerId> Handlespace::owners() const {
  std::vector<ServerId> out;
  out.reserve(owners_.size());
  for (const auto& [id, o] : owners_) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

// ------------------------------------------------------------------------------------
// Timers
// ------------------------------------------------------------------------------------

namespace {
int timer_slot(TimerKind k) { return k == TimerKind::expiry ? 0 : 1; }
}  // namespace

// A timer goes to the queue when it is due no earlier than the last one queued, else to
// the heap; re-armed, it leaves where it was first.
void Handlespace::schedule(PeRef ref, TimerKind kind, TimePoint due) {
  const std::uint32_t pos = timer_pos_[ref][timer_slot(kind)];
  const TimerEntry t{due.time_since_epoch().count(), ref, kind};
  const bool in_order = queued_.v.empty() || t.due >= queued_.v.back().due;
  if (pos != kNone && (pos & kInQueue) != 0) {
    unqueue_timer(pos & ~kInQueue);
  } else if (pos != kNone) {
    if (!in_order) {
      timers_.mutable_at(pos) = t;
      timers_.fix(pos);
      return;
    }
    timers_.erase(pos);
  }
  const bool queue = queued_.v.empty() || t.due >= queued_.v.back().due;
  if (queue)
    queue_timer(t);
  else
    timers_.push(t);
}

void Handlespace::cancel(PeRef ref, TimerKind kind) {
  std::uint32_t& pos = timer_pos_[ref][timer_slot(kind)];
  if (pos == kNone) return;
  const std::uint32_t at = pos;
  pos = kNone;
  if ((at & kInQueue) != 0)
    unqueue_timer(at & ~kInQueue);
  else
    timers_.erase(at);
}

void Handlespace::queue_timer(const TimerEntry& t) {
  std::vector<TimerEntry>& v = queued_.v;
  if (v.size() == v.capacity()) v.reserve(v.size() + v.size() / 4 + 16);  // as the heaps grow
  timer_pos_[t.pe][timer_slot(t.kind)] = kInQueue | static_cast<std::uint32_t>(v.size());
  v.push_back(t);
}

// Leaves a tombstone; the front moves past any. When the front has gone half way, or
// tombstones outnumber the live, the live ones move to the start.
void Handlespace::unqueue_timer(std::uint32_t index) {
  TimerQueue& q = queued_;
  q.v[index].pe = kNone;
  ++q.dead;
  while (q.head < q.v.size() && q.v[q.head].pe == kNone) {
    ++q.head;
    --q.dead;
  }
  const std::size_t live = q.v.size() - q.head - q.dead;
  if (live == 0) {
    q.v.clear();
    q.head = q.dead = 0;
  } else if ((q.head >= 64 && q.head >= live) || (q.dead >= 64 && q.dead >= live)) {
    compact_timer_queue();
  }
}

void Handlespace::compact_timer_queue() {
  TimerQueue& q = queued_;
  std::size_t to = 0;
  for (std::size_t i = q.head; i < q.v.size(); ++i) {
    if (q.v[i].pe == kNone) continue;
    q.v[to] = q.v[i];
    timer_pos_[q.v[to].pe][timer_slot(q.v[to].kind)] = kInQueue | static_cast<std::uint32_t>(to);
    ++to;
  }
  q.v.resize(to);
  q.head = q.dead = 0;
}

std::optional<Handlespace::DueTimer> Handlespace::next_timer() const {
  const TimerEntry* t = timers_.empty() ? nullptr : &timers_.top();
  if (queued_.head < queued_.v.size() && (t == nullptr || queued_.v[queued_.head].due < t->due))
    t = &queued_.v[queued_.head];
  if (t == nullptr) return std::nullopt;
  return DueTimer{TimePoint(Clock::duration(t->due)), t->pe, t->kind};
}

std::optional<TimePoint> Handlespace::timer(PeRef ref, TimerKind kind) const {
  const std::uint32_t pos = timer_pos_[ref][timer_slot(kind)];
  if (pos == kNone || timer_at(pos).kind != kind) return std::nullopt;
  return TimePoint(Clock::duration(timer_at(pos).due));
}

}  // namespace rserpool::handlespace
