// The open-files limit of a process that hosts thousands of connections: the one place that
// raises RLIMIT_NOFILE, for the rsplab binary and the load generators alike.
#pragma once

#include <cstdint>

namespace rsplab::common {

// Raises the soft limit of open files to `want`: where the hard limit is lower, tries to
// raise both (root, up to fs.nr_open), else takes the hard limit. Children inherit it.
// Returns the soft limit now in force (0 when it cannot be read).
std::uint64_t raise_open_files(std::uint64_t want);

}  // namespace rsplab::common
