// Stable-index storage in fixed chunks: an index stays valid while its slot is in
// use, growth never moves an element, and unused capacity is at most one chunk (a
// doubling vector would hold up to half again). Freed slots are reused first, and keep
// their value until then: the next user overwrites it, reusing what its members hold
// (a vector's buffer), so a removal frees nothing and a later addition allocates less.
// Not thread-safe; one owner.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace rserpool::handlespace {

template <class T, unsigned kChunkBits = 9>
class Slab {
 public:
  static constexpr std::uint32_t kChunk = 1u << kChunkBits;

  T& operator[](std::uint32_t i) { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }
  const T& operator[](std::uint32_t i) const {
    return chunks_[i >> kChunkBits][i & (kChunk - 1)];
  }

  // A slot to overwrite: a new one holds a value-initialized T, a reused one the value
  // it held when released.
  std::uint32_t allocate() {
    if (!free_.empty()) {
      const std::uint32_t i = free_.back();
      free_.pop_back();
      return i;
    }
    if (size_ == chunks_.size() * kChunk) chunks_.push_back(std::make_unique<T[]>(kChunk));
    return size_++;
  }

  void release(std::uint32_t i) { free_.push_back(i); }

  std::size_t memory_bytes() const {
    return chunks_.size() * kChunk * sizeof(T) + free_.capacity() * sizeof(std::uint32_t);
  }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  std::vector<std::uint32_t> free_;
  std::uint32_t size_ = 0;
};

}  // namespace rserpool::handlespace
