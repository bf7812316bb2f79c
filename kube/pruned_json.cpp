#include "kube/pruned_json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <array>
#include <cstdint>
#include <vector>

namespace nodepack::kube {
namespace {

namespace json = boost::json;
using boost::system::error_code;

bool is_container_list(std::string_view name) {
  return name == "containers" || name == "initContainers" || name == "ephemeralContainers";
}

// A basic_parser handler that builds values with a value_stack, leaving out the pruned members.
// In `items` mode only the elements of the root object's "items" array are built, one at a time.
class PrunedBuilder {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  explicit PrunedBuilder(const std::function<void(json::value)>* each) : each_(each) {}

  json::value release() { return stack_.release(); }
  const ListHead& head() const { return head_; }
  bool root_is_object() const { return root_is_object_; }
  bool items_malformed() const { return items_malformed_; }

  bool on_document_begin(error_code&) {
    stack_.reset();
    return true;
  }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) { return open(true); }
  bool on_array_begin(error_code&) { return open(false); }
  bool on_object_end(std::size_t, error_code&) { return close(); }
  bool on_array_end(std::size_t, error_code&) { return close(); }
  bool on_key_part(std::string_view part, std::size_t, error_code&) {
    if (skipping_ == 0) {
      chars_ += part;
    }
    return true;
  }
  bool on_key(std::string_view part, std::size_t, error_code&) {
    if (skipping_ > 0) {
      return true;
    }
    chars_ += part;
    auto& parent = frames_.back();
    parent.key = chars_;
    chars_.clear();
    if (pruned(parent)) {
      skip_next_ = true;
    } else if (parent.building) {
      stack_.push_key(parent.key);
    }
    return true;
  }
  bool on_string_part(std::string_view part, std::size_t, error_code&) {
    if (skipping_ == 0 && !skip_next_) {
      chars_ += part;
    }
    return true;
  }
  bool on_string(std::string_view part, std::size_t, error_code&) {
    if (skipping_ > 0 || skip_next_) {
      return scalar([](json::value_stack&) {});
    }
    chars_ += part;
    note_head(chars_);
    const bool ok = scalar([this](json::value_stack& s) { s.push_string(chars_); });
    chars_.clear();
    return ok;
  }
  bool on_number_part(std::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t v, std::string_view, error_code&) {
    return scalar([v](json::value_stack& s) { s.push_int64(v); });
  }
  bool on_uint64(std::uint64_t v, std::string_view, error_code&) {
    return scalar([v](json::value_stack& s) { s.push_uint64(v); });
  }
  bool on_double(double v, std::string_view, error_code&) {
    return scalar([v](json::value_stack& s) { s.push_double(v); });
  }
  bool on_bool(bool v, error_code&) {
    return scalar([v](json::value_stack& s) { s.push_bool(v); });
  }
  bool on_null(error_code&) {
    if (at_items()) {
      null_items_ = true;  // "items": null, an empty list
    }
    return scalar([](json::value_stack& s) { s.push_null(); });
  }
  bool on_comment_part(std::string_view, error_code&) { return true; }
  bool on_comment(std::string_view, error_code&) { return true; }

 private:
  struct Frame {
    bool object = false;
    bool building = false;  // pushed onto the value stack
    std::string name;       // the key this container sits under in its parent ("" in an array)
    std::string key;        // an object's current key
    std::size_t built = 0;  // members or elements pushed
  };

  // Where a value is about to start: under which name, and whether it is built.
  std::string child_name() const {
    return frames_.empty() || !frames_.back().object ? std::string() : frames_.back().key;
  }
  // The root object's "items" value starts here.
  bool at_items() const { return each_ != nullptr && frames_.size() == 1 && frames_[0].key == "items"; }
  // An element of the items array starts here: it is built on a stack of its own.
  bool at_item() const {
    return each_ != nullptr && frames_.size() == 2 && !frames_[1].object && frames_[1].name == "items";
  }
  bool builds_here() const {
    if (each_ == nullptr) {
      return true;
    }
    return at_item() || (frames_.size() > 2 && frames_.back().building);
  }

  bool pruned(const Frame& parent) const {
    if (parent.name == "metadata" && parent.key == "managedFields") {
      return true;
    }
    if (parent.name == "annotations" && parent.key == "kubectl.kubernetes.io/last-applied-configuration") {
      return true;
    }
    // A container's env: an element of a containers list, so its own name is "".
    if (parent.key == "env" && parent.name.empty() && frames_.size() >= 2) {
      const auto& list = frames_[frames_.size() - 2];
      return !list.object && is_container_list(list.name);
    }
    return false;
  }

  // Starts a value; false when it is skipped (pruned, or outside what is built).
  bool begin_value(bool container, bool& build) {
    build = false;
    if (skipping_ > 0) {
      skipping_ += container ? 1 : 0;
      return false;
    }
    if (skip_next_) {
      skip_next_ = false;
      skipping_ = container ? 1 : 0;
      return false;
    }
    if (frames_.empty() && each_ != nullptr) {
      root_is_object_ = container;  // refined by open()
    }
    if (at_items() && !container && !null_items_) {
      items_malformed_ = true;
    }
    if (at_item()) {
      stack_.reset();
    }
    build = builds_here();
    if (build && !frames_.empty() && frames_.back().building) {
      ++frames_.back().built;
    }
    return true;
  }

  bool open(bool object) {
    bool build = false;
    const bool root = frames_.empty();
    const bool items = at_items();
    if (!begin_value(true, build)) {
      return true;
    }
    if (root && each_ != nullptr) {
      root_is_object_ = object;
    }
    if (items && object) {
      items_malformed_ = true;
    }
    frames_.push_back(Frame{object, build, child_name(), {}, 0});
    return true;
  }

  bool close() {
    if (skipping_ > 0) {
      --skipping_;
      return true;
    }
    Frame frame = std::move(frames_.back());
    frames_.pop_back();
    if (frame.building) {
      if (frame.object) {
        stack_.push_object(frame.built);
      } else {
        stack_.push_array(frame.built);
      }
    }
    if (at_item()) {
      (*each_)(stack_.release());
    }
    return true;
  }

  template <class Push>
  bool scalar(Push&& push) {
    bool build = false;
    if (!begin_value(false, build)) {
      return true;
    }
    if (build) {
      push(stack_);
      if (at_item()) {
        (*each_)(stack_.release());
      }
    }
    return true;
  }

  // metadata.resourceVersion and metadata.continue of a list.
  void note_head(const std::string& value) {
    if (each_ == nullptr || frames_.size() != 2 || frames_[1].name != "metadata" || !frames_[1].object) {
      return;
    }
    if (frames_[1].key == "resourceVersion") {
      head_.resource_version = value;
    } else if (frames_[1].key == "continue") {
      head_.continue_token = value;
    }
  }

  const std::function<void(json::value)>* each_;
  json::value_stack stack_;
  std::vector<Frame> frames_;
  std::string chars_;
  int skipping_ = 0;  // open containers inside a skipped value
  bool skip_next_ = false;
  bool root_is_object_ = false;
  bool items_malformed_ = false;
  bool null_items_ = false;
  ListHead head_;
};

Result<void> run(json::basic_parser<PrunedBuilder>& parser, std::string_view text) {
  error_code ec;
  const auto used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec || used != text.size()) {
    return fail("response is not a JSON object");  // what a list says; a watch event's caller says its own
  }
  return {};
}

}  // namespace

Result<json::value> parse_pruned(std::string_view text) {
  json::basic_parser<PrunedBuilder> parser(json::parse_options{}, nullptr);
  if (auto parsed = run(parser, text); !parsed) {
    return parsed.error();
  }
  return parser.handler().release();
}

struct ListStreamParser::Parser {
  explicit Parser(std::function<void(json::value)> each_item)
      : each(std::move(each_item)), parser(json::parse_options{}, &each) {}
  std::function<void(json::value)> each;  // before the parser, which points at it
  json::basic_parser<PrunedBuilder> parser;
  bool failed = false;
};

ListStreamParser::ListStreamParser(std::function<void(json::value)> each)
    : parser_(std::make_unique<Parser>(std::move(each))) {}

ListStreamParser::~ListStreamParser() = default;

Result<void> ListStreamParser::write(std::string_view piece) {
  // more=true: a piece may end anywhere, inside a key, a string or a number; the parser keeps
  // what it needs of it (a string's or number's unfinished part), never the piece itself.
  error_code ec;
  const auto used = parser_->parser.write_some(true, piece.data(), piece.size(), ec);
  if (ec || used != piece.size()) {  // malformed, or text after the document
    parser_->failed = true;
    return fail("response is not a JSON object");
  }
  return {};
}

Result<ListHead> ListStreamParser::finish() {
  auto& p = parser_->parser;
  if (parser_->failed) {
    return fail("response is not a JSON object");
  }
  // Not flushed with more=false: a list is an object, complete at its closing brace, and a flush
  // would hand on a number cut short ("-1" of "-17") as an item of a list that then fails.
  if (!p.done()) {
    return fail("response is not a JSON object");
  }
  const auto& h = p.handler();
  if (!h.root_is_object()) {
    return fail("response is not a JSON object");
  }
  if (h.items_malformed()) {
    return fail("items is not an array");
  }
  return h.head();
}

Result<ListHead> parse_list_items(std::string_view text, const std::function<void(json::value)>& each) {
  ListStreamParser parser(each);
  if (auto written = parser.write(text); !written) {
    return written.error();
  }
  return parser.finish();
}

}  // namespace nodepack::kube
