#include "http/metrics.hpp"

#include <sstream>

namespace wassally::http {

const std::vector<double>& http_metrics::latency_bounds() {
  static const std::vector<double> b = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5};
  return b;
}

void http_metrics::observe(const std::string& route, const std::string& method, int status,
                           double seconds) {
  std::lock_guard<std::mutex> guard(mutex_);
  ++requests_[{route, method, status}];
  auto& h = latency_[route];
  if (h.buckets.empty()) h.buckets.assign(latency_bounds().size(), 0);
  for (std::size_t i = 0; i < latency_bounds().size(); ++i)
    if (seconds <= latency_bounds()[i]) ++h.buckets[i];
  h.sum += seconds;
  ++h.count;
}

void http_metrics::add_figure(const std::string& family, const std::string& type,
                              const std::string& help, const std::string& labels,
                              std::function<int64_t()> read) {
  std::lock_guard<std::mutex> guard(mutex_);
  figures_.push_back({family, type, help, labels, std::move(read)});
}

std::string http_metrics::render() const {
  std::lock_guard<std::mutex> guard(mutex_);
  std::ostringstream out;
  out << "# HELP wassally_http_requests_total HTTP requests by route template, method and status.\n"
         "# TYPE wassally_http_requests_total counter\n";
  for (auto& [key, n] : requests_)
    out << "wassally_http_requests_total{route=\"" << std::get<0>(key) << "\",method=\""
        << std::get<1>(key) << "\",status=\"" << std::get<2>(key) << "\"} " << n << "\n";
  out << "# HELP wassally_http_request_duration_seconds HTTP request latency by route.\n"
         "# TYPE wassally_http_request_duration_seconds histogram\n";
  for (auto& [route, h] : latency_) {
    for (std::size_t i = 0; i < latency_bounds().size(); ++i)
      out << "wassally_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\""
          << latency_bounds()[i] << "\"} " << h.buckets[i] << "\n";
    out << "wassally_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"+Inf\"} "
        << h.count << "\n";
    out << "wassally_http_request_duration_seconds_sum{route=\"" << route << "\"} " << h.sum
        << "\n";
    out << "wassally_http_request_duration_seconds_count{route=\"" << route << "\"} " << h.count
        << "\n";
  }
  std::vector<bool> written(figures_.size(), false);
  for (std::size_t i = 0; i < figures_.size(); ++i) {
    if (written[i]) continue;
    const auto& f = figures_[i];
    out << "# HELP " << f.family << " " << f.help << "\n# TYPE " << f.family << " " << f.type
        << "\n";
    for (std::size_t j = i; j < figures_.size(); ++j)
      if (!written[j] && figures_[j].family == f.family) {
        written[j] = true;
        out << f.family << (figures_[j].labels.empty() ? "" : "{" + figures_[j].labels + "}") << " "
            << figures_[j].read() << "\n";
      }
  }
  return out.str();
}

}  // namespace wassally::http
