// DESIGN.md's one grammar for values, shared by the command line and YAML experiments:
// durations with a unit (250ms, 5s, 2min, 1.5h; a bare number only where a flag names a
// default unit), counts and sizes (10, 1e6, 5M, 250k), and distributions (exp:MEAN,
// uniform:MIN,MAX, fixed:V, normal:MEAN,SD, with a unit where the value is a time).
// Pure functions; one error text per kind of mistake. Thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rserpool::values {

using Duration = std::chrono::nanoseconds;

// `default_unit`: the unit of a bare number ("ms", "s"), or empty when a unit is required.
// On failure returns nullopt and sets `error` to a message naming the value.
std::optional<Duration> parse_duration(std::string_view text, std::string_view default_unit,
                                       std::string* error);
// Counts and sizes: 10, 1e6, 2.5e3, 5M, 250k, 1G; `integer` requires a whole number.
std::optional<double> parse_amount(std::string_view text, bool integer, std::string* error);

std::string format_duration(Duration d);  // "250ms", "5s", "2min"

}  // namespace rserpool::values
