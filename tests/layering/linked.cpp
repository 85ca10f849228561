// Layering.LinkedHeaderCompiles (tests/layering/CMakeLists.txt): a target that links
// rsplab_results includes its header; this must build.
#include "results/store.hpp"

#include <cstddef>

std::size_t layering_linked() { return sizeof(rsplab::results::StoreError); }
