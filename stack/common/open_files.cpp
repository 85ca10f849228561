// Raising RLIMIT_NOFILE (open_files.hpp).
#include "stack/common/open_files.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace rsplab::common {

std::uint64_t raise_open_files(std::uint64_t want) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  if (r.rlim_max != RLIM_INFINITY && r.rlim_max < want) {
    const rlimit both{want, want};
    if (::setrlimit(RLIMIT_NOFILE, &both) == 0) return want;
  }
  if (r.rlim_cur == RLIM_INFINITY || r.rlim_cur >= want) return r.rlim_cur;
  const rlim_t before = r.rlim_cur;
  r.rlim_cur = r.rlim_max == RLIM_INFINITY ? want : std::min<rlim_t>(r.rlim_max, want);
  return ::setrlimit(RLIMIT_NOFILE, &r) == 0 ? r.rlim_cur : before;
}

}  // namespace rsplab::common
