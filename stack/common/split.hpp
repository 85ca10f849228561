// The one splitter of the code base: a text cut at every occurrence of one separator
// character, as the comma lists of the command line and the experiment files, PATH, and
// CSV lines are. Every field is kept, empty ones too ("a,,b" has three, "" has one: the
// empty text), so that callers decide what an empty field means. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rsplab::common {

// "a,b,,c" at ',' → {"a", "b", "", "c"}; "" → {""}; "a," → {"a", ""}. Copies: the fields
// outlive `text` (a range-for over split(temporary) is safe).
std::vector<std::string> split(std::string_view text, char separator);

}  // namespace rsplab::common
