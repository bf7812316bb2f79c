#pragma once

// Reproduces the kubelet's checkpoint checksums: FNV-32a over go-spew's "%#v" rendering
// (ConfigState{Indent: " ", SortKeys: true, DisableMethods: true, SpewKeys: true}) of the Go
// struct json.Unmarshal would have filled from the file. We never have the Go struct, so a
// layout is described as a small Go type tree; rendering walks the JSON document through it,
// applying encoding/json's rules (case-insensitive field names, null and absent fields, maps
// the constructor pre-made) and spew's (types on struct fields only, sorted keys, <nil>, <*>).

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::numa::go {

std::uint32_t fnv1a32(std::string_view data);

enum class Kind {
  string,
  uint,           // any Go unsigned integer
  int_,           // any Go signed integer
  bytes,          // []byte: base64 in JSON, decimal bytes in spew
  zero_checksum,  // the checksum field, zeroed by the kubelet before hashing
  map_string,     // map[string]T
  map_int,        // map[int]T / map[int64]T
  slice,
  struct_,
  ptr,
  pod_cpuset,  // cpumanager PodEntry{CPUSet cpuset.CPUSet}: JSON {"cpuSet": "1-3"}
};

struct Type;

struct Field {
  std::string name;  // Go field name, printed by spew
  std::string json;  // JSON key (matched case-insensitively, like encoding/json)
  const Type* type;
  bool preallocated = false;  // the kubelet's constructor made this map before Unmarshal
};

struct Type {
  Kind kind;
  std::string name;            // what reflect.Type.String() returns, e.g. "map[string]string"
  const Type* elem = nullptr;  // map value, slice element, pointer target
  std::vector<Field> fields;   // struct fields in declaration order
};

// The last member whose key equals `name` ignoring ASCII case, as encoding/json picks it.
const boost::json::value* field(const boost::json::object& obj, std::string_view name);

// Renders `doc` as spew would print a value of type `t` decoded from it (top-level types are
// always printed). Returns nullopt with `error` set when encoding/json would have refused the
// document for this type, which means the kubelet would not have used this layout either.
std::optional<std::string> render(const Type& t, const boost::json::value& doc, std::string& error);

}  // namespace nodepack::numa::go
