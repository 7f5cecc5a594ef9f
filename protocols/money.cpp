#include "protocols/money.hpp"

#include <cmath>

namespace wassally {
namespace {

/// Parses [-]digits[.digits] with at most `scale` decimals into an integer scaled by 10^scale.
std::optional<int64_t> parse_fixed(const std::string& text, int scale, bool allow_negative) {
  if (text.empty() || text.size() > 24) return std::nullopt;
  std::size_t i = 0;
  bool negative = false;
  if (text[0] == '-') {
    if (!allow_negative) return std::nullopt;
    negative = true;
    i = 1;
  }
  int64_t whole = 0;
  std::size_t digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    if (digits >= 13) return std::nullopt;
    whole = whole * 10 + (text[i] - '0');
  }
  if (digits == 0) return std::nullopt;
  int64_t fraction = 0;
  int decimals = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (++decimals > scale) return std::nullopt;
      fraction = fraction * 10 + (text[i] - '0');
    }
    if (decimals == 0) return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  int64_t factor = 1;
  for (int k = 0; k < scale; ++k) factor *= 10;
  for (int k = decimals; k < scale; ++k) fraction *= 10;
  int64_t value = whole * factor + fraction;
  return negative ? -value : value;
}

std::string format_fixed(int64_t value, int scale, bool trim) {
  bool negative = value < 0;
  uint64_t v = negative ? static_cast<uint64_t>(-(value + 1)) + 1 : static_cast<uint64_t>(value);
  uint64_t factor = 1;
  for (int k = 0; k < scale; ++k) factor *= 10;
  std::string frac = std::to_string(v % factor);
  frac.insert(0, static_cast<std::size_t>(scale) - frac.size(), '0');
  if (trim) {
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
  }
  std::string out = (negative ? "-" : "") + std::to_string(v / factor);
  if (!frac.empty()) out += "." + frac;
  return out;
}

/// numerator / denominator rounded half up (away from zero for halves); both non-negative.
/// The result saturates at the int64 limits: an out-of-range __int128 is never narrowed.
int64_t div_half_up(__int128 numerator, __int128 denominator) {
  __int128 q = (numerator + denominator / 2) / denominator;
  if (q > static_cast<__int128>(INT64_MAX)) return INT64_MAX;
  if (q < static_cast<__int128>(INT64_MIN)) return INT64_MIN;
  return static_cast<int64_t>(q);
}

}  // namespace

std::optional<money> money::parse(const std::string& text) {
  auto v = parse_fixed(text, 2, true);
  if (!v) return std::nullopt;
  return money{*v};
}

std::string money::str() const { return format_fixed(cents, 2, false); }

std::optional<quantity> quantity::parse(const std::string& text) {
  auto v = parse_fixed(text, 3, true);
  if (!v) return std::nullopt;
  return quantity{*v};
}

std::optional<quantity> quantity::from_double(double value) {
  if (!std::isfinite(value) || std::fabs(value) > 1e12) return std::nullopt;
  double scaled = value * 1000.0;
  double rounded = std::round(scaled);
  if (std::fabs(scaled - rounded) > 1e-6 * std::max(1.0, std::fabs(scaled))) return std::nullopt;
  return quantity{static_cast<int64_t>(rounded)};
}

std::string quantity::str() const { return format_fixed(milli, 3, true); }

std::optional<percent> percent::parse(const std::string& text) {
  auto v = parse_fixed(text, 2, false);
  if (!v) return std::nullopt;
  return percent{*v};
}

std::string percent::str() const { return format_fixed(basis_points, 2, false); }

money apply_discount(money price, percent discount) {
  if (discount.basis_points <= 0) return price;
  if (discount.basis_points >= 10000) return money{0};
  return money{
      div_half_up(static_cast<__int128>(price.cents) * (10000 - discount.basis_points), 10000)};
}

money line_total(money unit_price, quantity q) {
  // |cents| and |milli| are below 2^63, so the product fits __int128.
  return money{div_half_up(static_cast<__int128>(unit_price.cents) * q.milli, 1000)};
}

bool fits_money_column(money m) {
  return m.cents >= -max_money_cents && m.cents <= max_money_cents;
}

bool fits_quantity_column(quantity q) {
  return q.milli >= -max_quantity_milli && q.milli <= max_quantity_milli;
}

std::optional<money> checked_line_total(money unit_price, quantity q) {
  auto total = line_total(unit_price, q);
  if (!fits_money_column(total)) return std::nullopt;
  return total;
}

std::optional<money> checked_order_total(const std::vector<std::pair<money, quantity>>& lines,
                                         money fee) {
  // Every term is within ±max_money_cents (< 2^40), so these int64 sums cannot overflow before
  // they are checked.
  if (!fits_money_column(fee)) return std::nullopt;
  money items{0};
  for (auto& [price, amount] : lines) {
    auto line = checked_line_total(price, amount);
    if (!line) return std::nullopt;
    items = items + *line;
    if (!fits_money_column(items)) return std::nullopt;
  }
  auto total = items + fee;
  if (!fits_money_column(total)) return std::nullopt;
  return total;
}

bool quantity_allowed(quantity q, quantity minimum, quantity increment) {
  if (q.milli <= 0 || q.milli < minimum.milli || increment.milli <= 0) return false;
  return (q.milli - minimum.milli) % increment.milli == 0;
}

}  // namespace wassally
