// split(): see split.hpp.
#include "stack/common/split.hpp"

namespace rsplab::common {

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> fields;
  for (;;) {
    const auto at = text.find(separator);
    fields.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) return fields;
    text.remove_prefix(at + 1);
  }
}

}  // namespace rsplab::common
