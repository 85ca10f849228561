// An open-addressing hash index from 64-bit keys to 32-bit values (linear probing,
// backward-shift deletion, no tombstones). Each slot holds the value and a 32-bit tag,
// the high half of the key's hash, whose low bits are also the slot's home: moving
// slots (deletion, growth) needs no key. The full key of a stored value comes from
// `KeyOf`, asked only when a tag matches, so a slot costs 8 bytes. The handlespace maps
// (pool, PE ID) to its entries with it. Not thread-safe; one owner.
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
    const std::uint32_t tag = tag_of(key);
    for (std::size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.value == kEmpty) return std::nullopt;
      if (s.tag == tag && key_of_(s.value) == key) {
        last_found_ = i;
        return s.value;
      }
    }
  }

  // REQUIRES: key not present, value != 0xffffffff.
  void insert(std::uint64_t key, std::uint32_t value) {
    if ((size_ + 1) * 8 > slots_.size() * 7) grow();
    place(Slot{tag_of(key), value});
  }

  // Removes `value`, stored under `key`. Values are unique: the slot is the one holding
  // it, which is often where the last find() ended (find, then remove).
  bool erase(std::uint64_t key, std::uint32_t value) {
    if (slots_.empty()) return false;
    std::size_t i = last_found_;
    if (i >= slots_.size() || slots_[i].value != value) {
      for (i = tag_of(key) & mask_;; i = (i + 1) & mask_) {
        if (slots_[i].value == kEmpty) return false;
        if (slots_[i].value == value) break;
      }
    }
    // Backward shift: pull later entries of the probe run into the hole.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; slots_[j].value != kEmpty; j = (j + 1) & mask_) {
      const std::size_t h = slots_[j].tag & mask_;
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

  // murmur3's 64-bit finalizer (PE IDs may be anything), high half. Tables stay below
  // 2^32 slots, so the tag holds every bit of the home.
  static std::uint32_t tag_of(std::uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    key *= 0xc4ceb9fe1a85ec53ULL;
    key ^= key >> 33;
    return static_cast<std::uint32_t>(key >> 32);
  }

  void place(Slot s) {
    std::size_t i = s.tag & mask_;
    while (slots_[i].value != kEmpty) i = (i + 1) & mask_;
    slots_[i] = s;
    ++size_;
  }

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (const Slot& s : old)
      if (s.value != kEmpty) place(s);
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  mutable std::size_t last_found_ = 0;
  std::size_t size_ = 0;
  [[no_unique_address]] KeyOf key_of_;
};

}  // namespace rserpool::handlespace
