// The text form of a pool member selection policy, shared by `rsplab pe --policy` and
// the `policy` of an experiment file: NAME or NAME:V1[,V2...], the values in the
// policy's field order (wire::policy_info), loads, degradations and DPFs as fractions
// 0..1 or percentages (5%), weights, priorities and distances as whole numbers. A field
// left out is 0, except a weight, which must be given: a PE of weight 0 is never
// selected, so `wrand` alone would make a pool that selects nobody. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "stack/wire/parameters.hpp"

namespace rserpool::values {

// On failure returns nullopt and sets `error` to one text naming the mistake, e.g.
// "policy wrand needs a Weight, a whole number (e.g. wrand:10): a PE of weight 0 is
// never selected".
std::optional<wire::Policy> parse_policy(std::string_view text, std::string* error);

}  // namespace rserpool::values
