// An open-addressing hash index from 64-bit keys to 32-bit values (linear probing,
// backward-shift deletion, no tombstones). Each slot holds the value and 32 bits of
// its key as a tag; the full key of a stored value comes from `KeyOf`, so a slot
// costs 8 bytes. The handlespace maps (pool, PE ID) to its entries with it.
// Not thread-safe; one owner.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace rserpool::handlespace {

// KeyOf(value) -> the 64-bit key that value was inserted with.
template <class KeyOf>
class FlatIndex {
 public:
  explicit FlatIndex(KeyOf key_of = {}) : key_of_(key_of) {}

  std::optional<std::uint32_t> find(std::uint64_t key) const {
    if (slots_.empty()) return std::nullopt;
    const auto tag = static_cast<std::uint32_t>(key);
    for (std::size_t i = home(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.value == kEmpty) return std::nullopt;
      if (s.tag == tag && key_of_(s.value) == key) return s.value;
    }
  }

  // REQUIRES: key not present, value != 0xffffffff.
  void insert(std::uint64_t key, std::uint32_t value) {
    if ((size_ + 1) * 8 > slots_.size() * 7) grow();
    std::size_t i = home(key);
    while (slots_[i].value != kEmpty) i = (i + 1) & mask_;
    slots_[i] = Slot{static_cast<std::uint32_t>(key), value};
    ++size_;
  }

  // REQUIRES: key_of(value) still answers `key` while this runs.
  bool erase(std::uint64_t key) {
    if (slots_.empty()) return false;
    const auto tag = static_cast<std::uint32_t>(key);
    std::size_t i = home(key);
    for (;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.value == kEmpty) return false;
      if (s.tag == tag && key_of_(s.value) == key) break;
    }
    // Backward shift: pull later entries of the probe run into the hole.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; slots_[j].value != kEmpty; j = (j + 1) & mask_) {
      const std::size_t h = home(key_of_(slots_[j].value));
      const bool movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
      if (movable) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{};
    --size_;
    return true;
  }

  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint32_t kEmpty = 0xffffffffu;
  struct Slot {
    std::uint32_t tag = 0;
    std::uint32_t value = kEmpty;
  };

  std::size_t home(std::uint64_t key) const {
    key ^= key >> 33;  // murmur3 finalizer: PE IDs may be anything
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return static_cast<std::size_t>(key) & mask_;
  }

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (const Slot& s : old)
      if (s.value != kEmpty) insert(key_of_(s.value), s.value);
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  [[no_unique_address]] KeyOf key_of_;
};

}  // namespace rserpool::handlespace
