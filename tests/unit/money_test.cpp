#include <boost/test/unit_test.hpp>

#include "protocols/money.hpp"

using namespace wassally;

BOOST_AUTO_TEST_SUITE(decimal_money)

BOOST_AUTO_TEST_CASE(parse_and_format_round_trip) {
  BOOST_TEST(money::parse("12.50")->cents == 1250);
  BOOST_TEST(money::parse("12.5")->cents == 1250);
  BOOST_TEST(money::parse("12")->cents == 1200);
  BOOST_TEST(money::parse("0.01")->cents == 1);
  BOOST_TEST(money::parse("-3.10")->cents == -310);
  BOOST_TEST(money{1250}.str() == "12.50");
  BOOST_TEST(money{5}.str() == "0.05");
  BOOST_TEST(money{-5}.str() == "-0.05");
  BOOST_TEST(money{0}.str() == "0.00");
  BOOST_TEST(money::parse("9999999999999.99")->str() == "9999999999999.99");
}

BOOST_AUTO_TEST_CASE(anything_else_is_refused) {
  for (auto bad : {"", ".", "1.", ".5", "1.234", "1e3", " 1", "1 ", "+1", "1,5", "abc", "0x10",
                   "--1", "12345678901234", "NaN", "inf"})
    BOOST_TEST(!money::parse(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(discounts_round_half_up_to_cents) {
  auto p = *percent::parse("20");
  BOOST_TEST(p.basis_points == 2000);
  BOOST_TEST(p.str() == "20.00");
  BOOST_TEST(apply_discount(*money::parse("12.99"), p).str() == "10.39");  // 10.392
  BOOST_TEST(apply_discount(*money::parse("0.05"), *percent::parse("50")).str() ==
             "0.03");  // 0.025
  BOOST_TEST(apply_discount(*money::parse("10.00"), *percent::parse("100")).str() == "0.00");
  BOOST_TEST(apply_discount(*money::parse("19.99"), *percent::parse("12.5")).str() ==
             "17.49");  // 17.49125
  BOOST_TEST(apply_discount(*money::parse("1.00"), *percent::parse("33.33")).str() ==
             "0.67");  // 0.6667
}

BOOST_AUTO_TEST_CASE(no_binary_floating_point_drift) {
  // 0.1 + 0.2 == 0.3 exactly, and ten cents added a thousand times is exactly 100.00.
  BOOST_TEST((*money::parse("0.10") + *money::parse("0.20")).str() == "0.30");
  money sum{0};
  for (int i = 0; i < 1000; ++i) sum = sum + *money::parse("0.10");
  BOOST_TEST(sum.str() == "100.00");
}

BOOST_AUTO_TEST_CASE(quantities_have_three_decimals) {
  BOOST_TEST(quantity::parse("1.5")->milli == 1500);
  BOOST_TEST(quantity::parse("0.125")->milli == 125);
  BOOST_TEST(!quantity::parse("0.1255").has_value());
  BOOST_TEST(quantity::from_double(0.1)->milli == 100);
  BOOST_TEST(quantity::from_double(2.675)->milli == 2675);
  BOOST_TEST(!quantity::from_double(0.0005).has_value());
  BOOST_TEST(quantity{1500}.str() == "1.5");
  BOOST_TEST(quantity{2000}.str() == "2");
  BOOST_TEST(quantity{125}.str() == "0.125");
  BOOST_TEST(line_total(*money::parse("12.99"), *quantity::parse("0.75")).str() ==
             "9.74");  // 9.7425
  BOOST_TEST(line_total(*money::parse("3.00"), *quantity::parse("3")).str() == "9.00");
}

BOOST_AUTO_TEST_CASE(allowed_quantities_follow_minimum_and_increment) {
  auto kg = [](const char* s) { return *quantity::parse(s); };
  BOOST_TEST(quantity_allowed(kg("0.5"), kg("0.5"), kg("0.25")));
  BOOST_TEST(quantity_allowed(kg("1.25"), kg("0.5"), kg("0.25")));
  BOOST_TEST(!quantity_allowed(kg("1.3"), kg("0.5"), kg("0.25")));
  BOOST_TEST(!quantity_allowed(kg("0.25"), kg("0.5"), kg("0.25")));
  BOOST_TEST(!quantity_allowed(kg("0"), kg("1"), kg("1")));
  BOOST_TEST(!quantity_allowed(kg("-1"), kg("1"), kg("1")));
  BOOST_TEST(quantity_allowed(kg("3"), kg("1"), kg("1")));
}

// line_total narrowed an __int128 product to int64: 9999999999.99 × 999999999.999 wrapped.
BOOST_AUTO_TEST_CASE(line_totals_never_wrap_and_overflow_is_reported) {
  money max_price{max_money_cents};
  quantity max_amount{max_quantity_milli};
  BOOST_TEST(line_total(max_price, max_amount).cents == INT64_MAX);  // saturated, not wrapped
  BOOST_TEST(line_total(money{INT64_MAX}, quantity{INT64_MAX}).cents == INT64_MAX);
  BOOST_TEST(!checked_line_total(max_price, max_amount).has_value());
  // The largest line that fits, and the first that does not.
  BOOST_TEST(checked_line_total(*money::parse("9999999999.99"), *quantity::parse("1"))->str() ==
             "9999999999.99");
  BOOST_TEST(!checked_line_total(*money::parse("5000000000.00"), *quantity::parse("2")));
  BOOST_TEST(checked_line_total(*money::parse("4999999999.99"), *quantity::parse("2"))->str() ==
             "9999999999.98");
  BOOST_TEST(!checked_line_total(*money::parse("1000000.00"), *quantity::parse("10000")));
  BOOST_TEST(checked_line_total(*money::parse("12.99"), *quantity::parse("0.75"))->str() == "9.74");
}

BOOST_AUTO_TEST_CASE(column_limits) {
  BOOST_TEST(fits_money_column(*money::parse("9999999999.99")));
  BOOST_TEST(!fits_money_column(*money::parse("10000000000")));
  BOOST_TEST(!fits_money_column(*money::parse("9999999999999.99")));
  BOOST_TEST(fits_quantity_column(*quantity::parse("999999999.999")));
  BOOST_TEST(!fits_quantity_column(*quantity::parse("1000000000")));
  // Sums saturate instead of overflowing.
  BOOST_TEST((money{INT64_MAX} + money{1}).cents == INT64_MAX);
  BOOST_TEST((money{INT64_MIN} - money{1}).cents == INT64_MIN);
}

BOOST_AUTO_TEST_CASE(order_totals_must_fit_the_column) {
  auto m = [](const char* s) { return *money::parse(s); };
  auto q = [](const char* s) { return *quantity::parse(s); };
  BOOST_TEST(
      checked_order_total({{m("12.50"), q("2")}, {m("1.00"), q("0.5")}}, m("15.00"))->str() ==
      "40.50");
  BOOST_TEST(checked_order_total({}, m("0"))->str() == "0.00");
  // Each line fits, the items total does not.
  BOOST_TEST(!checked_order_total({{m("6000000000.00"), q("1")}, {m("4000000000.00"), q("1")}}));
  BOOST_TEST(
      checked_order_total({{m("6000000000.00"), q("1")}, {m("3999999999.99"), q("1")}})->str() ==
      "9999999999.99");
  // The items total fits, the fee pushes the total past the column.
  BOOST_TEST(!checked_order_total({{m("9999999999.99"), q("1")}}, m("0.01")));
  // One line overflows.
  BOOST_TEST(!checked_order_total({{m("9999999999.99"), q("999999999.999")}}, m("10.00")));
  // A fee beyond the column.
  BOOST_TEST(!checked_order_total({{m("1.00"), q("1")}}, m("10000000000.00")));
}

BOOST_AUTO_TEST_SUITE_END()
