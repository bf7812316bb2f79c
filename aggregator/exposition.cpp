#include "aggregator/exposition.hpp"

#include <charconv>
#include <cmath>

namespace nodepack::aggregator {
namespace {

void escape_into(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
        if (quote) {
          out += "\\\"";
        } else {
          out.push_back(c);
        }
        break;
      default:
        out.push_back(c);
    }
  }
}

}  // namespace

void ExpositionWriter::family(std::string_view name, std::string_view help, std::string_view type) {
  out_ += "# HELP ";
  out_ += name;
  out_.push_back(' ');
  escape_into(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_.push_back(' ');
  out_ += type;
  out_.push_back('\n');
}

void ExpositionWriter::sample(std::string_view name, std::initializer_list<LabelPair> labels, double v) {
  sample(name, labels.begin(), labels.size(), v);
}

void ExpositionWriter::sample(std::string_view name, const LabelPair* labels, std::size_t count, double v) {
  out_ += name;
  if (count > 0) {
    out_.push_back('{');
    for (std::size_t i = 0; i < count; ++i) {
      if (i > 0) {
        out_.push_back(',');
      }
      out_ += labels[i].first;
      out_ += "=\"";
      escape_into(out_, labels[i].second, true);
      out_.push_back('"');
    }
    out_.push_back('}');
  }
  out_.push_back(' ');
  value(v);
  out_.push_back('\n');
}

void ExpositionWriter::value(double v) {
  if (std::isnan(v)) {
    out_ += "NaN";
  } else if (std::isinf(v)) {
    out_ += v > 0 ? "+Inf" : "-Inf";
  } else {
    // Shortest text that reads back as the same double.
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, end);
  }
}

}  // namespace nodepack::aggregator
