#include "numa/go_checksum.hpp"

#include "numa/cpuset.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <cstdint>
#include <map>

namespace nodepack::numa::go {

namespace json = boost::json;

std::uint32_t fnv1a32(std::string_view data) {
  std::uint32_t h = 2166136261u;
  for (const unsigned char c : data) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

namespace {

bool ascii_iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') {
      x = static_cast<char>(x - 'A' + 'a');
    }
    if (y >= 'A' && y <= 'Z') {
      y = static_cast<char>(y - 'A' + 'a');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

// strconv.ParseInt(key, 10, 64): optional sign, digits only.
bool parse_int_key(std::string_view s, std::int64_t& out) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (s.empty() || s.front() == '-') {
      return false;
    }
  }
  if (s.empty()) {
    return false;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

// base64.StdEncoding.Decode as encoding/json uses it: padded, CR/LF ignored.
bool base64_decode(std::string_view in, std::vector<unsigned char>& out) {
  std::string clean;
  clean.reserve(in.size());
  for (char c : in) {
    if (c != '\r' && c != '\n') {
      clean += c;
    }
  }
  if (clean.size() % 4 != 0) {
    return false;
  }
  for (std::size_t i = 0; i < clean.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = clean[i + k];
      if (c == '=') {
        if (i + 4 != clean.size() || k < 2) {
          return false;
        }
        v[k] = 0;
        ++pad;
      } else {
        if (pad > 0) {
          return false;
        }
        v[k] = base64_value(c);
        if (v[k] < 0) {
          return false;
        }
      }
    }
    const std::uint32_t n = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                            (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out.push_back(static_cast<unsigned char>(n >> 16));
    if (pad < 2) {
      out.push_back(static_cast<unsigned char>((n >> 8) & 0xff));
    }
    if (pad < 1) {
      out.push_back(static_cast<unsigned char>(n & 0xff));
    }
  }
  return true;
}

class Renderer {
 public:
  explicit Renderer(std::string& error) : error_(error) {}

  // `v` is null when the JSON member is absent. `show_type` is spew's !ignoreNextType.
  bool emit(const Type& t, const json::value* v, bool preallocated, bool show_type) {
    if (++depth_ > max_depth) {
      return type_error(t, "nesting too deep");
    }
    const bool ok = emit_inner(t, v, preallocated, show_type);
    --depth_;
    return ok;
  }

  std::string out;

 private:
  static constexpr int max_depth = 64;

  bool type_error(const Type& t, std::string_view what) {
    if (error_.empty()) {
      error_ = "cannot decode " + std::string(what) + " into Go value of type " + t.name;
    }
    return false;
  }

  static std::string_view kind_of(const json::value& v) {
    switch (v.kind()) {
      case json::kind::null:
        return "null";
      case json::kind::bool_:
        return "bool";
      case json::kind::int64:
      case json::kind::uint64:
      case json::kind::double_:
        return "number";
      case json::kind::string:
        return "string";
      case json::kind::array:
        return "array";
      case json::kind::object:
        return "object";
    }
    return "value";
  }

  bool emit_inner(const Type& t, const json::value* v, bool preallocated, bool show_type) {
    const bool is_null = v == nullptr || v->is_null();
    if (t.kind != Kind::ptr && show_type) {
      out += '(';
      out += t.name;
      out += ')';
    }
    switch (t.kind) {
      case Kind::string:
        if (!is_null) {
          if (!v->is_string()) {
            return type_error(t, kind_of(*v));
          }
          out.append(v->get_string().data(), v->get_string().size());
        }
        return true;
      case Kind::uint:
        if (is_null) {
          out += '0';
        } else if (v->is_uint64()) {
          out += std::to_string(v->get_uint64());
        } else if (v->is_int64() && v->get_int64() >= 0) {
          out += std::to_string(v->get_int64());
        } else {
          return type_error(t, kind_of(*v));
        }
        return true;
      case Kind::int_:
        if (is_null) {
          out += '0';
        } else if (v->is_int64()) {
          out += std::to_string(v->get_int64());
        } else {
          return type_error(t, kind_of(*v));
        }
        return true;
      case Kind::zero_checksum:
        if (!is_null && !v->is_int64() && !v->is_uint64()) {
          return type_error(t, kind_of(*v));
        }
        out += '0';
        return true;
      case Kind::bytes: {
        if (is_null) {
          out += "<nil>";
          return true;
        }
        if (!v->is_string()) {
          return type_error(t, kind_of(*v));
        }
        std::vector<unsigned char> bytes;
        const auto& s = v->get_string();
        if (!base64_decode(std::string_view(s.data(), s.size()), bytes)) {
          return type_error(t, "invalid base64");
        }
        out += '[';
        for (std::size_t i = 0; i < bytes.size(); ++i) {
          if (i > 0) {
            out += ' ';
          }
          out += std::to_string(bytes[i]);
        }
        out += ']';
        return true;
      }
      case Kind::map_string:
      case Kind::map_int:
        return emit_map(t, v, preallocated);
      case Kind::slice: {
        if (is_null) {
          out += "<nil>";
          return true;
        }
        if (!v->is_array()) {
          return type_error(t, kind_of(*v));
        }
        out += '[';
        bool first = true;
        for (const auto& e : v->get_array()) {
          if (!first) {
            out += ' ';
          }
          first = false;
          if (!emit(*t.elem, &e, false, false)) {
            return false;
          }
        }
        out += ']';
        return true;
      }
      case Kind::struct_: {
        const json::object* obj = nullptr;
        if (!is_null) {
          if (!v->is_object()) {
            return type_error(t, kind_of(*v));
          }
          obj = &v->get_object();
        }
        out += '{';
        bool first = true;
        for (const auto& f : t.fields) {
          if (!first) {
            out += ' ';
          }
          first = false;
          out += f.name;
          out += ':';
          const json::value* fv = obj != nullptr ? field(*obj, f.json) : nullptr;
          if (!emit(*f.type, fv, f.preallocated, true)) {
            return false;
          }
        }
        out += '}';
        return true;
      }
      case Kind::ptr:
        if (is_null) {
          if (show_type) {
            out += '(';
            out += t.name;
            out += ')';
          }
          out += "<nil>";
          return true;
        }
        if (show_type) {
          out += '(';
          out += t.name;
          out += ')';
        } else {
          out += "<*>";
        }
        return emit(*t.elem, v, false, false);
      case Kind::pod_cpuset: {
        std::string_view text;
        if (!is_null) {
          if (!v->is_object()) {
            return type_error(t, kind_of(*v));
          }
          const json::value* cs = field(v->get_object(), "cpuSet");
          if (cs != nullptr && !cs->is_null()) {
            if (!cs->is_string()) {
              return type_error(t, kind_of(*cs));
            }
            text = std::string_view(cs->get_string().data(), cs->get_string().size());
          }
        }
        auto parsed = CpuSet::parse(text);
        if (!parsed) {
          return type_error(t, parsed.error().message);
        }
        // spew prints every element of the Go map, so this output grows with the ids, not the
        // text: the checkpoint reader refuses podEntries naming more CPUs in total than a machine
        // can have before it asks for a checksum.
        out += "{CPUSet:(cpuset.CPUSet){elems:(map[int]struct {})map[";
        bool first = true;
        for (const auto& r : parsed->ranges()) {
          for (long long id = r.first; id <= r.last; ++id) {
            if (!first) {
              out += ' ';
            }
            first = false;
            out += std::to_string(id);
            out += ":{}";
          }
        }
        out += "]}}";
        return true;
      }
    }
    return type_error(t, "unknown kind");
  }

  bool emit_map(const Type& t, const json::value* v, bool preallocated) {
    if (v == nullptr) {
      out += preallocated ? "map[]" : "<nil>";
      return true;
    }
    if (v->is_null()) {
      out += "<nil>";
      return true;
    }
    if (!v->is_object()) {
      return type_error(t, kind_of(*v));
    }
    out += "map[";
    bool first = true;
    auto emit_entry = [&](std::string_view key_text, const json::value& value) {
      if (!first) {
        out += ' ';
      }
      first = false;
      out += key_text;
      out += ':';
      return emit(*t.elem, &value, false, false);
    };
    if (t.kind == Kind::map_string) {
      // Later duplicates win, as when encoding/json assigns into the map.
      std::map<std::string_view, const json::value*> sorted;
      for (const auto& kv : v->get_object()) {
        sorted.insert_or_assign(std::string_view(kv.key().data(), kv.key().size()), &kv.value());
      }
      for (const auto& [k, value] : sorted) {
        if (!emit_entry(k, *value)) {
          return false;
        }
      }
    } else {
      std::map<std::int64_t, const json::value*> sorted;
      for (const auto& kv : v->get_object()) {
        std::int64_t key = 0;
        if (!parse_int_key(std::string_view(kv.key().data(), kv.key().size()), key)) {
          return type_error(t, "map key \"" + std::string(kv.key()) + "\"");
        }
        sorted.insert_or_assign(key, &kv.value());
      }
      for (const auto& [k, value] : sorted) {
        if (!emit_entry(std::to_string(k), *value)) {
          return false;
        }
      }
    }
    out += ']';
    return true;
  }

  std::string& error_;
  int depth_ = 0;
};

}  // namespace

const json::value* field(const json::object& obj, std::string_view name) {
  const json::value* found = nullptr;
  for (const auto& kv : obj) {
    if (ascii_iequal(std::string_view(kv.key().data(), kv.key().size()), name)) {
      found = &kv.value();
    }
  }
  return found;
}

std::optional<std::string> render(const Type& t, const json::value& doc, std::string& error) {
  Renderer r(error);
  if (!r.emit(t, &doc, false, true)) {
    return std::nullopt;
  }
  return std::move(r.out);
}

}  // namespace nodepack::numa::go
