// common::split, the one splitter: every field kept (empty ones too), as the comma lists
// of the command line and the experiment files, PATH and CSV lines rely on.
#include "stack/common/split.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rsplab::common {
namespace {

using Fields = std::vector<std::string>;

TEST(Split, EveryFieldEmptyOnesToo) {
  EXPECT_EQ(split("a,b,c", ','), (Fields{"a", "b", "c"}));
  EXPECT_EQ(split("a", ','), (Fields{"a"}));
  EXPECT_EQ(split("", ','), (Fields{""}));
  EXPECT_EQ(split(",", ','), (Fields{"", ""}));
  EXPECT_EQ(split("a,,b", ','), (Fields{"a", "", "b"}));
  EXPECT_EQ(split(",a,", ','), (Fields{"", "a", ""}));
}

TEST(Split, OnlyTheSeparatorCuts) {
  EXPECT_EQ(split("10.0.0.1:3863,10.0.0.2", ','), (Fields{"10.0.0.1:3863", "10.0.0.2"}));
  EXPECT_EQ(split("/usr/bin::/bin", ':'), (Fields{"/usr/bin", "", "/bin"}));
  EXPECT_EQ(split("l1\nl2\n", '\n'), (Fields{"l1", "l2", ""}));  // the last line's newline
  EXPECT_EQ(split("a b", ','), (Fields{"a b"}));
}

TEST(Split, FieldsOutliveTheirText) {
  // A range-for over split(temporary): the fields are copies, not views into it.
  Fields seen;
  for (const auto& f : split(std::string("x,") + std::string(100, 'y'), ',')) seen.push_back(f);
  EXPECT_EQ(seen, (Fields{"x", std::string(100, 'y')}));
}

TEST(Split, JoiningTheFieldsGivesTheTextBack) {
  for (const std::string text : {"", ",", "a", "a,b", ",,x,,", "no separator here"}) {
    const Fields fields = split(text, ',');
    std::string joined = fields.at(0);
    for (std::size_t i = 1; i < fields.size(); ++i) joined += "," + fields[i];
    EXPECT_EQ(joined, text);
  }
}

}  // namespace
}  // namespace rsplab::common
