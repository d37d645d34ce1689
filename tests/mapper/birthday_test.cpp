// normalize_birthday: what people type into a birthday field, as "MM/DD" or
// dropped, never guessed.
#include "actors/mapper.hpp"

#include <gtest/gtest.h>
#include <optional>
#include <string>

namespace {

using ls::mapper::normalize_birthday;

struct birthday_case {
  const char* input;
  std::optional<std::string> expected;
};

std::ostream& operator<<(std::ostream& os, const birthday_case& c) {
  return os << '"' << c.input << "\" -> "
            << (c.expected ? *c.expected : std::string{"nullopt"});
}

class birthday : public testing::TestWithParam<birthday_case> {};

TEST_P(birthday, normalizes) {
  auto& c = GetParam();
  EXPECT_EQ(normalize_birthday(c.input), c.expected) << c;
}

const std::optional<std::string> dropped;

INSTANTIATE_TEST_SUITE_P(
    iso, birthday,
    testing::Values(birthday_case{"1990-03-04", "03/04"},
                    birthday_case{"1990/03/04", "03/04"},
                    birthday_case{"1990.03.04", "03/04"},
                    birthday_case{"1990-3-4", "03/04"},
                    birthday_case{"2000-12-31", "12/31"},
                    birthday_case{"1990-03-04T00:00:00Z", "03/04"},
                    birthday_case{"1990-03-04T12:30:00+02:00", "03/04"},
                    birthday_case{"1990-03-04 00:00:00", "03/04"},
                    birthday_case{"19900304", "03/04"},
                    birthday_case{"2000-02-29", "02/29"}, // a leap year
                    birthday_case{"1990-02-29", dropped}, // not one
                    birthday_case{"1900-02-29", dropped}, // not one either
                    birthday_case{"1990-13-04", dropped}, // no month 13
                    birthday_case{"1990-00-04", dropped}, // no month 0
                    birthday_case{"1990-03-00", dropped}, // no day 0
                    birthday_case{"1990-03", dropped},    // no day
                    birthday_case{"1990-03/04", dropped}, // mixed separators
                    birthday_case{"1990-03-04 foo", dropped}, // trailing junk
                    birthday_case{"19901304", dropped}));

INSTANTIATE_TEST_SUITE_P(
    numeric, birthday,
    testing::Values(
        // Clear: one part is over 12.
        birthday_case{"03/14", "03/14"}, birthday_case{"14/03", "03/14"},
        birthday_case{"3/14", "03/14"}, birthday_case{"14/3", "03/14"},
        birthday_case{"12/25/1990", "12/25"},
        birthday_case{"25/12/1990", "12/25"},
        birthday_case{"25.12.1990", "12/25"},
        birthday_case{"25-12-1990", "12/25"},
        birthday_case{"12/25/90", "12/25"}, birthday_case{"31/01", "01/31"},
        // Equal parts: the order does not matter.
        birthday_case{"05/05", "05/05"}, birthday_case{"5/5/1985", "05/05"},
        birthday_case{"12/12", "12/12"},
        // Ambiguous: never guessed.
        birthday_case{"03/04", dropped}, birthday_case{"3/4", dropped},
        birthday_case{"03/04/1990", dropped},
        birthday_case{"04.03.1990", dropped}, birthday_case{"1/12", dropped},
        birthday_case{"12/01/90", dropped},
        // Impossible.
        birthday_case{"13/13", dropped}, birthday_case{"14/15", dropped},
        birthday_case{"02/30", dropped}, birthday_case{"30/02", dropped},
        birthday_case{"04/31", dropped}, birthday_case{"31/04", dropped},
        birthday_case{"06/31", dropped}, birthday_case{"09/31", dropped},
        birthday_case{"11/31", dropped}, birthday_case{"02/32", dropped},
        birthday_case{"00/15", dropped}, birthday_case{"15/00", dropped},
        birthday_case{"0/0", dropped},
        // Feb 29 without a year is a real birthday; with a year it must exist.
        birthday_case{"02/29", "02/29"}, birthday_case{"29/02", "02/29"},
        birthday_case{"02/29/2000", "02/29"},
        birthday_case{"29.02.2001", dropped},
        // Not dates.
        birthday_case{"03 14", dropped}, birthday_case{"03//14", dropped},
        birthday_case{"03/14/199", dropped}, birthday_case{"003/14", dropped},
        birthday_case{"3/14/1990/1", dropped}, birthday_case{"14", dropped},
        birthday_case{"1990", dropped}, birthday_case{"123456789", dropped},
        birthday_case{"-03/14", dropped}, birthday_case{"03/14/", dropped}));

INSTANTIATE_TEST_SUITE_P(
    month_names, birthday,
    testing::Values(
        birthday_case{"March 4", "03/04"}, birthday_case{"4 March", "03/04"},
        birthday_case{"Mar 4th, 1990", "03/04"},
        birthday_case{"4th of March", "03/04"},
        birthday_case{"the 4th of March", "03/04"},
        birthday_case{"march 4", "03/04"}, birthday_case{"MARCH 4", "03/04"},
        birthday_case{"mAr 4", "03/04"}, birthday_case{"Mar. 4", "03/04"},
        birthday_case{"March 4, 1990", "03/04"},
        birthday_case{"4 March 1990", "03/04"},
        birthday_case{"04-Mar-1990", "03/04"}, birthday_case{"4-mar", "03/04"},
        birthday_case{"1990 March 4", "03/04"},
        birthday_case{"March 4.", "03/04"}, birthday_case{"March 04", "03/04"},
        birthday_case{"Sept 21", "09/21"}, birthday_case{"sep 21st", "09/21"},
        birthday_case{"September 21", "09/21"},
        birthday_case{"1st January", "01/01"}, birthday_case{"Jan 1", "01/01"},
        birthday_case{"February 2nd", "02/02"},
        birthday_case{"Apr 23rd", "04/23"}, birthday_case{"May 5", "05/05"},
        birthday_case{"June 30", "06/30"}, birthday_case{"Jul 31", "07/31"},
        birthday_case{"Aug 15", "08/15"}, birthday_case{"October 9", "10/09"},
        birthday_case{"Nov 11", "11/11"},
        birthday_case{"Dec 25th, 90", "12/25"},
        birthday_case{"February 29", "02/29"},
        birthday_case{"Feb 29 2000", "02/29"},
        // Impossible or unreadable.
        birthday_case{"February 30", dropped},
        birthday_case{"April 31", dropped},
        birthday_case{"Feb 29 2001", dropped},
        birthday_case{"March 0", dropped}, birthday_case{"March 32", dropped},
        birthday_case{"March", dropped}, birthday_case{"March 1990", dropped},
        birthday_case{"March 4 5", dropped},
        birthday_case{"March April 4", dropped},
        birthday_case{"Marchh 4", dropped}, birthday_case{"Ma 4", dropped},
        birthday_case{"Monday March 4", dropped},
        birthday_case{"March 4xx", dropped},
        birthday_case{"4th 5th March", dropped},
        birthday_case{"March 123", dropped}, birthday_case{"März 4", dropped}));

INSTANTIATE_TEST_SUITE_P(
    garbage_and_whitespace, birthday,
    testing::Values(
        birthday_case{"  1990-03-04  ", "03/04"},
        birthday_case{"\t14/03\n", "03/14"},
        birthday_case{" March   4 ", "03/04"},
        birthday_case{"\xC2\xA0March 4\xC2\xA0", "03/04"}, // no-break spaces
        birthday_case{"", dropped}, birthday_case{"   ", dropped},
        birthday_case{"n/a", dropped}, birthday_case{"yesterday", dropped},
        birthday_case{"of", dropped}, birthday_case{"the of", dropped},
        birthday_case{"4 of", dropped}, birthday_case{"?", dropped},
        birthday_case{"1990-03-04; DROP TABLE", dropped},
        birthday_case{"\xFF\xFE", dropped},
        birthday_case{"03/14 \xE2\x9C\x93", dropped},
        birthday_case{"99999999999999999999/1", dropped}));

TEST(birthday_limits, long_input_is_dropped) {
  EXPECT_EQ(normalize_birthday(std::string(100, '1')), std::nullopt);
  EXPECT_EQ(normalize_birthday("March 4" + std::string(100, ' ') + "x"),
            std::nullopt);
}

} // namespace
