#include "agent/accounting/finished_lines.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace nodepack;
using agent::accounting::ContainerAccount;
using agent::accounting::FinishedLines;

namespace {

ContainerAccount finished(const std::string& uid, const std::string& container, int core_seconds) {
  ContainerAccount a;
  a.namespace_name = "ns";
  a.pod = "pod-" + uid;
  a.pod_uid = uid;
  a.container = container;
  a.cpu_requested.add_raw(agent::accounting::Int128(core_seconds) * agent::accounting::ExactIntegral::unit_second);
  a.ended = std::chrono::system_clock::time_point{};
  return a;
}

// One text scrape of `accounts` (in key order) through `kept`, as the accounting collector writes
// them: the families' text, and which accounts had to be written afresh.
struct Scrape {
  std::string text;
  std::vector<std::string> written;
};

Scrape scrape(FinishedLines& kept, const std::vector<ContainerAccount>& accounts) {
  Scrape out;
  auto families = metrics::FamilyOutput::text(out.text);
  FinishedLines::Streams streams{};
  const char* names[] = {"cpu_requested", "cpu_limited", "memory_requested", "memory_used", "gpu_seconds"};
  for (std::size_t i = 0; i < FinishedLines::kFamilies; ++i) {
    streams[i] = &families.counter(names[i], "help");
  }
  kept.begin();
  for (const auto& a : accounts) {
    metrics::LabelSet labels;
    const metrics::LabelRef refs[] = {{"pod", a.pod}, {"container", a.container}};
    const bool reused = kept.write(a, streams, [&] {
      families.set_labels(labels, refs);
      streams[0]->add(labels, a.cpu_requested.value());
      if (a.has_memory_used) {
        streams[3]->add(labels, a.memory_used.value());
      }
    });
    if (!reused) {
      out.written.push_back(a.pod_uid + "/" + a.container);
    }
  }
  kept.end();
  families.finish();
  return out;
}

}  // namespace

TEST_CASE("finished containers' lines are written once and then reused byte for byte") {
  FinishedLines kept;
  const std::vector<ContainerAccount> two{finished("a", "app", 10), finished("c", "app", 30)};
  const auto first = scrape(kept, two);
  CHECK(first.written == std::vector<std::string>{"a/app", "c/app"});
  CHECK(first.text.find("cpu_requested{pod=\"pod-a\",container=\"app\"} 10\n") != std::string::npos);
  CHECK(first.text.find("cpu_requested{pod=\"pod-c\",container=\"app\"} 30\n") != std::string::npos);
  CHECK(kept.size() == 2);

  const auto second = scrape(kept, two);
  CHECK(second.written.empty());
  CHECK(second.text == first.text);

  SECTION("an account whose values moved is written afresh, the others reused") {
    auto moved = two;
    moved[1].memory_used.add_raw(agent::accounting::ExactIntegral::unit_second * 4);
    moved[1].has_memory_used = true;
    const auto third = scrape(kept, moved);
    CHECK(third.written == std::vector<std::string>{"c/app"});
    CHECK(third.text.find("memory_used{pod=\"pod-c\",container=\"app\"} 4\n") != std::string::npos);
    CHECK(scrape(kept, moved).written.empty());
  }
  SECTION("a new account between two kept ones in key order is written, both others reused") {
    const std::vector<ContainerAccount> three{finished("a", "app", 10), finished("b", "app", 20),
                                              finished("c", "app", 30)};
    const auto third = scrape(kept, three);
    CHECK(third.written == std::vector<std::string>{"b/app"});
    const auto a = third.text.find("pod-a");
    const auto b = third.text.find("pod-b");
    const auto c = third.text.find("pod-c");
    CHECK((a < b && b < c));  // in the walk's order
    CHECK(kept.size() == 3);
  }
  SECTION("an account not visited is dropped; seen again later, it is written afresh") {
    const std::vector<ContainerAccount> last{two[1]};
    const auto third = scrape(kept, last);
    CHECK(third.written.empty());
    CHECK(third.text.find("pod-a") == std::string::npos);
    CHECK(kept.size() == 1);
    CHECK(scrape(kept, two).written == std::vector<std::string>{"a/app"});
  }
  SECTION("a container of the same pod with another name is another account") {
    const std::vector<ContainerAccount> same_pod{finished("a", "app", 10), finished("a", "sidecar", 10),
                                                 finished("c", "app", 30)};
    CHECK(scrape(kept, same_pod).written == std::vector<std::string>{"a/sidecar"});
  }
}
