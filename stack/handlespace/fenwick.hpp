// A Fenwick (binary indexed) tree of 64-bit weights over dense positions, for
// weighted random selection: point update and pick-by-prefix in O(log n). Not
// thread-safe; one owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rserpool::handlespace {

class Fenwick {
 public:
  std::size_t size() const { return w_.size(); }
  std::uint64_t total() const { return total_; }
  std::uint64_t weight(std::size_t pos) const { return w_[pos]; }
  std::size_t memory_bytes() const {
    return (tree_.capacity() + w_.capacity()) * sizeof(std::uint64_t);
  }

  void push_back(std::uint64_t w) {
    w_.push_back(0);
    if (w_.size() > cap_) rebuild(cap_ == 0 ? 16 : cap_ * 2);
    set(w_.size() - 1, w);
  }

  // REQUIRES: the last weight is 0 (set it first).
  void pop_back() { w_.pop_back(); }

  void set(std::size_t pos, std::uint64_t w) {
    const std::uint64_t old = w_[pos];
    if (old == w) return;
    w_[pos] = w;
    total_ += w - old;  // modular: exact as long as the total fits
    const std::uint64_t delta = w - old;
    for (std::size_t i = pos + 1; i <= cap_; i += i & (~i + 1)) tree_[i] += delta;
  }

  // The position whose weight interval holds r; REQUIRES: r < total().
  std::size_t find(std::uint64_t r) const {
    std::size_t pos = 0;
    for (std::size_t step = cap_; step > 0; step >>= 1) {
      const std::size_t next = pos + step;
      if (next <= cap_ && tree_[next] <= r) {
        pos = next;
        r -= tree_[next];
      }
    }
    return pos;  // 0-based: the first position whose prefix exceeds r
  }

 private:
  void rebuild(std::size_t cap) {
    cap_ = cap;
    tree_.assign(cap_ + 1, 0);
    for (std::size_t i = 0; i < w_.size(); ++i) tree_[i + 1] = w_[i];
    for (std::size_t i = 1; i <= cap_; ++i) {
      const std::size_t j = i + (i & (~i + 1));
      if (j <= cap_) tree_[j] += tree_[i];
    }
  }

  std::vector<std::uint64_t> tree_;  // 1-based, cap_ + 1 entries, cap_ a power of two
  std::vector<std::uint64_t> w_;
  std::size_t cap_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace rserpool::handlespace
