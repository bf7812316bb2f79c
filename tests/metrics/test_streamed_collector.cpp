#include "metrics/registry.hpp"
#include "metrics/streamed_collector.hpp"
#include "metrics/text_format.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

using namespace nodepack::metrics;

namespace {

// Families of every shape a streamed collector writes: labels needing escapes, none, empty values,
// whole and fractional values, NaN and infinities, an empty family kept and one left out.
class Sample final : public StreamedCollector {
 public:
  explicit Sample(bool omit_empty) : omit_empty_(omit_empty) {}

 protected:
  void collect(FamilyOutput& out) const override {
    if (omit_empty_) {
      out.omit_empty_families();
    }
    auto& restarts = out.gauge("x_restarts", "help with \"quotes\" and \\ backslash");
    auto& seconds = out.counter("x_seconds_total", "");
    out.gauge("x_never", "a family nothing is added to");
    const std::string pod = "web-7d4b9c-xk2p\"q\\\nz";
    const double inf = std::numeric_limits<double>::infinity();
    const double values[] = {0, 1, -2, 0.1, 1.0 / 3, 1e20, 123456789012345678.0, std::nan(""), inf, -inf, 16106127360};
    for (double v : values) {
      const LabelRef labels[] = {{"namespace", "default"}, {"pod", pod}, {"container", ""}};
      restarts.add(labels, v);
      seconds.add({{"node", "n1"}}, v * 2);
    }
    seconds.add({}, 5);
    // Labels written once and shared, with and without one more; an empty set.
    auto& shared = out.gauge("x_shared", "labels written once");
    LabelSet set;
    for (const char* container : {"app", "side\"car"}) {
      const LabelRef refs[] = {{"pod", pod}, {"container", container}};
      out.set_labels(set, refs);
      shared.add(set, 1).add(set, {"resource", "nvidia.com/gpu"}, 2);
    }
    out.set_labels(set, {});
    shared.add(set, 3).add(set, {"gpu", "GPU-0"}, 4);
  }

 private:
  bool omit_empty_;
};

std::string serialized(const prometheus::Collectable& c) {
  std::string out;
  append_text(out, c.Collect());
  return out;
}

}  // namespace

TEST_CASE("a streamed collector writes the bytes its own families serialize to") {
  for (const bool omit_empty : {false, true}) {
    Sample collector(omit_empty);
    std::string text;
    collector.append_text(text);
    CHECK(text == serialized(collector));
    CHECK((text.find("# TYPE x_never gauge\n") != std::string::npos) == !omit_empty);
    CHECK(text.find(
              "x_restarts{namespace=\"default\",pod=\"web-7d4b9c-xk2p\\\"q\\\\\\nz\",container=\"\"} 16106127360\n") !=
          std::string::npos);
    CHECK(text.find("x_seconds_total{node=\"n1\"} -Inf\n") != std::string::npos);
    CHECK(text.find("x_seconds_total 5\n") != std::string::npos);
    CHECK(text.find("x_shared{pod=\"web-7d4b9c-xk2p\\\"q\\\\\\nz\",container=\"side\\\"car\",resource=\"nvidia.com/"
                    "gpu\"} 2\n") != std::string::npos);
    CHECK(text.find("x_shared 3\nx_shared{gpu=\"GPU-0\"} 4\n") != std::string::npos);
    CHECK(text.find("x_restarts{namespace=\"default\",pod=\"web-7d4b9c-xk2p\\\"q\\\\\\nz\",container=\"\"} Nan\n") !=
          std::string::npos);

    const auto families = collector.Collect();
    REQUIRE(families.size() == (omit_empty ? 3U : 4U));
    CHECK(families.back().metric.size() == 6);
    CHECK(families.back().metric[1].label.at(2).value == "nvidia.com/gpu");
    CHECK(families[0].name == "x_restarts");
    CHECK(families[0].type == prometheus::MetricType::Gauge);
    REQUIRE(families[0].metric.size() == 11);
    CHECK(families[0].metric[1].gauge.value == 1);
    CHECK(families[0].metric[1].label.at(1).value == "web-7d4b9c-xk2p\"q\\\nz");
    CHECK(families[1].type == prometheus::MetricType::Counter);
    CHECK(families[1].metric.back().counter.value == 5);
  }
}

TEST_CASE("a registry writes a streamed collector's text in place among the others") {
  MetricsRegistry registry;
  registry.add(std::make_shared<FunctionCollector>([] {
    std::vector<prometheus::MetricFamily> out;
    prometheus::MetricFamily before{"before", "", prometheus::MetricType::Gauge, {}};
    out.push_back(before);
    return out;
  }));
  registry.add(std::make_shared<Sample>(true));
  const auto text = registry.render();
  std::string expected;
  append_text(expected, registry.Collect());
  CHECK(text == expected);
  CHECK(text.rfind("# TYPE before gauge\n", 0) == 0);
}

namespace {

// Families whose number and sizes change from one scrape to the next.
class Changing final : public StreamedCollector {
 public:
  int series = 0;

 protected:
  void collect(FamilyOutput& out) const override {
    auto& a = out.gauge("changing_a", "grows and shrinks");
    for (int i = 0; i < series; ++i) {
      a.add({{"i", std::to_string(i)}}, i);
    }
    if (series % 2 == 1) {
      out.counter("changing_b_total", "there on odd scrapes").add({}, series);
    }
    out.gauge("changing_c", "after the others").add({{"n", std::to_string(series)}}, 1);
  }
};

}  // namespace

TEST_CASE("each scrape's text is right whatever the last scrape's family sizes were") {
  // Each family writes into the last scrape's buffer at its position: families that grow,
  // shrink, appear and disappear between scrapes must not change a byte of the text.
  Changing collector;
  for (const int series : {3, 50, 0, 7, 200, 1, 1}) {
    collector.series = series;
    std::string text;
    collector.append_text(text);
    INFO(series);
    CHECK(text == serialized(collector));
    CHECK((text.find("changing_b_total " + std::to_string(series) + "\n") != std::string::npos) == (series % 2 == 1));
  }
}

TEST_CASE("a text output hands its families' buffers back with their lines, and drops an oversized one") {
  std::vector<std::string> buffers;
  std::string text;
  auto out = FamilyOutput::text(text, &buffers);
  auto& small = out.gauge("small", "some lines");
  for (int i = 0; i < 1000; ++i) {
    small.add({{"i", std::to_string(i)}}, i);
  }
  const std::string big_value(FamilyOutput::max_spare_bytes, 'x');
  out.gauge("big", "one line longer than a spare buffer may be").add({{"v", big_value}}, 1);
  out.finish();
  REQUIRE(buffers.size() == 2);
  CHECK(buffers[0].starts_with("small{i=\"0\"} 0\n"));
  CHECK(buffers[0].ends_with("small{i=\"999\"} 999\n"));
  CHECK(buffers[1].capacity() < FamilyOutput::max_spare_bytes);
  CHECK(text.size() > FamilyOutput::max_spare_bytes);

  // The next output writes into them: the same text as from no buffers at all.
  std::string again;
  auto reused = FamilyOutput::text(again, &buffers);
  reused.gauge("small", "some lines").add({{"i", "0"}}, 0);
  reused.finish();
  CHECK(again == "# HELP small some lines\n# TYPE small gauge\nsmall{i=\"0\"} 0\n");
  // The small family's buffer was sized for its 1,000 lines (about 17 KB), and held the one.
  REQUIRE(buffers.size() == 1);
  CHECK(buffers[0] == "small{i=\"0\"} 0\n");
  CHECK(buffers[0].capacity() >= 16000);

  // Sized from that one line, the buffer shrinks: a family that shrank gives its memory back.
  std::string third;
  auto shrunk = FamilyOutput::text(third, &buffers);
  shrunk.gauge("small", "some lines").add({{"i", "0"}}, 0);
  shrunk.finish();
  CHECK(third == again);
  REQUIRE(buffers.size() == 1);
  CHECK(buffers[0].capacity() < 4096);
}
