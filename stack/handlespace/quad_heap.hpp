// An indexed 4-ary min-heap: entries know their position through a callback, so an
// entry can be re-keyed or removed in O(log n). Pool selection orders and the timer
// queue use it. The four children of a node share one 64-byte cache line (16-byte
// entries, the storage aligned and offset by three slots), and the smallest child is
// found without branches. Not thread-safe; one owner.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <utility>
#include <vector>

namespace rserpool::handlespace {

// Storage aligned to a cache line.
template <class T>
struct CacheAlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheAlignedAllocator() = default;
  template <class U>
  CacheAlignedAllocator(const CacheAlignedAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlign); }
  friend bool operator==(CacheAlignedAllocator, CacheAlignedAllocator) { return true; }
};

// Less(a, b): strict order. Moved(entry, pos): the entry now sits at pos.
template <class Entry, class Less, class Moved>
class QuadHeap {
 public:
  QuadHeap(Less less = {}, Moved moved = {}) : less_(less), moved_(moved) {}

  bool empty() const { return size() == 0; }
  std::size_t size() const { return v_.empty() ? 0 : v_.size() - kPad; }
  const Entry& top() const { return v_[kPad]; }
  const Entry& at(std::size_t pos) const { return v_[pos + kPad]; }
  Entry& mutable_at(std::size_t pos) { return v_[pos + kPad]; }  // then call fix(pos)
  std::span<const Entry> entries() const {
    return v_.empty() ? std::span<const Entry>{} : std::span<const Entry>(v_).subspan(kPad);
  }

  void push(Entry e) {
    // Grow by a quarter, not double: a handlespace of 10^5 PEs keeps its slack small.
    if (v_.size() == v_.capacity()) v_.reserve(v_.size() + v_.size() / 4 + 16);
    if (v_.empty()) v_.resize(kPad);
    v_.push_back(std::move(e));
    sift_up(size() - 1);
  }

  void erase(std::size_t pos) {
    const std::size_t last = size() - 1;
    if (pos != last) {
      at_(pos) = std::move(at_(last));
      v_.pop_back();
      moved_(at_(pos), pos);  // fix() reports nothing when the entry stays put
      fix(pos);
    } else {
      v_.pop_back();
    }
    if (v_.size() == kPad) v_.clear();
  }

  // Restores order after the key at pos changed (either way).
  void fix(std::size_t pos) {
    if (pos > 0 && less_(at_(pos), at_(parent(pos))))
      sift_up(pos);
    else
      sift_down(pos);
  }

  // Children of pos, for walks in key order: [first, last).
  static std::size_t first_child(std::size_t pos) { return 4 * pos + 1; }

 private:
  // Logical position p sits at v_[p + 3]: the children 4p+1 … 4p+4 at v_[4(p+1) …].
  static constexpr std::size_t kPad = 3;
  static std::size_t parent(std::size_t pos) { return (pos - 1) / 4; }
  Entry& at_(std::size_t pos) { return v_[pos + kPad]; }
  const Entry& at_(std::size_t pos) const { return v_[pos + kPad]; }

  void sift_up(std::size_t pos) {
    Entry e = std::move(at_(pos));
    while (pos > 0) {
      const std::size_t p = parent(pos);
      if (!less_(e, at_(p))) break;
      at_(pos) = std::move(at_(p));
      moved_(at_(pos), pos);
      pos = p;
    }
    at_(pos) = std::move(e);
    moved_(at_(pos), pos);
  }

  // The smallest child, the first of equals; REQUIRES: pos has a child.
  std::size_t min_child(std::size_t pos, std::size_t n) const {
    const std::size_t c = first_child(pos);
    if (c + 4 <= n) {  // a full group: a branch-free tournament
      const std::size_t a = c + static_cast<std::size_t>(less_(at_(c + 1), at_(c)));
      const std::size_t b = c + 2 + static_cast<std::size_t>(less_(at_(c + 3), at_(c + 2)));
      return less_(at_(b), at_(a)) ? b : a;
    }
    std::size_t best = c;
    for (std::size_t i = c + 1; i < n; ++i)
      if (less_(at_(i), at_(best))) best = i;
    return best;
  }

  // The descent waits on each level's children in turn; the children of pos's children,
  // four adjacent cache lines, are asked for together one level ahead.
  void prefetch_grandchildren(std::size_t pos, std::size_t n) const {
    const std::size_t g = first_child(first_child(pos));
    if (g >= n) return;
    const char* p = reinterpret_cast<const char*>(&v_[g + kPad]);
    const std::size_t bytes = (std::min(n, g + 16) - g) * sizeof(Entry);
    for (std::size_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off);
  }

  // An entry that stays put (Least Used's pick, whose load did not change) costs one
  // level. One that sinks (a timer re-armed far ahead, a degraded pick) goes the
  // bottom-up way: the hole descends along the smallest children to a leaf without
  // comparing against the entry, which then rises the little it must. It cannot rise
  // past where it started: fix() calls this only when the entry is not below its parent.
  void sift_down(std::size_t pos) {
    const std::size_t n = size();
    if (first_child(pos) >= n) return;
    std::size_t best = min_child(pos, n);
    if (!less_(at_(best), at_(pos))) return;
    Entry e = std::move(at_(pos));
    for (;;) {
      prefetch_grandchildren(best, n);
      at_(pos) = std::move(at_(best));
      moved_(at_(pos), pos);
      pos = best;
      if (first_child(pos) >= n) break;
      best = min_child(pos, n);
    }
    at_(pos) = std::move(e);
    sift_up(pos);
  }

  std::vector<Entry, CacheAlignedAllocator<Entry>> v_;
  [[no_unique_address]] Less less_;
  [[no_unique_address]] Moved moved_;
};

}  // namespace rserpool::handlespace
