// An indexed 4-ary min-heap: entries know their position through a callback, so an
// entry can be re-keyed or removed in O(log n). Pool selection orders and the timer
// queue use it. A descent asks for the next level's children ahead of need. Not
// thread-safe; one owner.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace rserpool::handlespace {

// Less(a, b): strict order. Moved(entry, pos): the entry now sits at pos.
template <class Entry, class Less, class Moved>
class QuadHeap {
 public:
  QuadHeap(Less less = {}, Moved moved = {}) : less_(less), moved_(moved) {}

  bool empty() const { return v_.empty(); }
  std::size_t size() const { return v_.size(); }
  const Entry& top() const { return v_.front(); }
  const Entry& at(std::size_t pos) const { return v_[pos]; }
  Entry& mutable_at(std::size_t pos) { return v_[pos]; }  // then call fix(pos)
  const std::vector<Entry>& entries() const { return v_; }
  std::size_t memory_bytes() const { return v_.capacity() * sizeof(Entry); }
  void reserve(std::size_t n) { v_.reserve(n); }

  void push(Entry e) {
    // Grow by a quarter, not double: a handlespace of 10^5 PEs keeps its slack small.
    if (v_.size() == v_.capacity()) v_.reserve(v_.size() + v_.size() / 4 + 16);
    v_.push_back(std::move(e));
    sift_up(v_.size() - 1);
  }

  void erase(std::size_t pos) {
    const std::size_t last = v_.size() - 1;
    if (pos != last) {
      v_[pos] = std::move(v_[last]);
      v_.pop_back();
      moved_(v_[pos], pos);  // fix() reports nothing when the entry stays put
      fix(pos);
    } else {
      v_.pop_back();
    }
  }

  // Restores order after the key at pos changed (either way).
  void fix(std::size_t pos) {
    if (pos > 0 && less_(v_[pos], v_[parent(pos)]))
      sift_up(pos);
    else
      sift_down(pos);
  }

  // Children of pos, for walks in key order: [first, last).
  static std::size_t first_child(std::size_t pos) { return 4 * pos + 1; }

 private:
  static std::size_t parent(std::size_t pos) { return (pos - 1) / 4; }

  void sift_up(std::size_t pos) {
    Entry e = std::move(v_[pos]);
    while (pos > 0) {
      const std::size_t p = parent(pos);
      if (!less_(e, v_[p])) break;
      v_[pos] = std::move(v_[p]);
      moved_(v_[pos], pos);
      pos = p;
    }
    v_[pos] = std::move(e);
    moved_(v_[pos], pos);
  }

  std::size_t min_child(std::size_t pos, std::size_t n) const {
    const std::size_t c = first_child(pos);
    std::size_t best = c;
    const std::size_t end = c + 4 < n ? c + 4 : n;
    for (std::size_t i = c + 1; i < end; ++i)
      if (less_(v_[i], v_[best])) best = i;
    return best;
  }

  // The descent waits on each level's children in turn; the children of pos's children
  // (16 entries, adjacent) are asked for together one level ahead.
  void prefetch_grandchildren(std::size_t pos, std::size_t n) const {
    const std::size_t g = first_child(first_child(pos));
    if (g >= n) return;
    const char* p = reinterpret_cast<const char*>(&v_[g]);
    const std::size_t bytes = (std::min(n, g + 16) - g) * sizeof(Entry);
    for (std::size_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off);
  }

  // An entry that stays put (Least Used's pick, whose load did not change) costs one
  // level. One that sinks (a timer re-armed far ahead, a degraded pick) goes the
  // bottom-up way: the hole descends along the smallest children to a leaf without
  // comparing against the entry, which then rises the little it must. It cannot rise
  // past where it started: fix() calls this only when the entry is not below its parent.
  void sift_down(std::size_t pos) {
    const std::size_t n = v_.size();
    if (first_child(pos) >= n) return;
    std::size_t best = min_child(pos, n);
    if (!less_(v_[best], v_[pos])) return;
    Entry e = std::move(v_[pos]);
    for (;;) {
      prefetch_grandchildren(best, n);
      v_[pos] = std::move(v_[best]);
      moved_(v_[pos], pos);
      pos = best;
      if (first_child(pos) >= n) break;
      best = min_child(pos, n);
    }
    v_[pos] = std::move(e);
    sift_up(pos);
  }

  std::vector<Entry> v_;
  [[no_unique_address]] Less less_;
  [[no_unique_address]] Moved moved_;
};

}  // namespace rserpool::handlespace
