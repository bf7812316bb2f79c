#include "sim/label_selector.hpp"

#include <algorithm>
#include <cctype>

namespace nodepack::sim {

namespace {

enum class Tok { ident, eq, deq, neq, bang, in, notin, lparen, rparen, comma, end };

struct Token {
  Tok kind;
  std::string text;
};

bool special(char c) { return c == '!' || c == '=' || c == '(' || c == ')' || c == ',' || c == '<' || c == '>'; }

Result<std::vector<Token>> lex(std::string_view s) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '!' && i + 1 < s.size() && s[i + 1] == '=') {
      out.push_back({Tok::neq, "!="});
      i += 2;
    } else if (c == '=' && i + 1 < s.size() && s[i + 1] == '=') {
      out.push_back({Tok::deq, "=="});
      i += 2;
    } else if (c == '=') {
      out.push_back({Tok::eq, "="});
      ++i;
    } else if (c == '!') {
      out.push_back({Tok::bang, "!"});
      ++i;
    } else if (c == '(') {
      out.push_back({Tok::lparen, "("});
      ++i;
    } else if (c == ')') {
      out.push_back({Tok::rparen, ")"});
      ++i;
    } else if (c == ',') {
      out.push_back({Tok::comma, ","});
      ++i;
    } else if (c == '<' || c == '>') {
      return fail(std::string("unsupported operator '") + c + "'");
    } else {
      std::size_t j = i;
      while (j < s.size() && !special(s[j]) && !std::isspace(static_cast<unsigned char>(s[j]))) {
        ++j;
      }
      std::string word(s.substr(i, j - i));
      if (word == "in") {
        out.push_back({Tok::in, word});
      } else if (word == "notin") {
        out.push_back({Tok::notin, word});
      } else {
        out.push_back({Tok::ident, std::move(word)});
      }
      i = j;
    }
  }
  out.push_back({Tok::end, ""});
  return out;
}

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// A label name or value segment: at most 63 characters, alphanumeric at both ends, [-_.] inside.
bool valid_segment(std::string_view s, bool allow_empty) {
  if (s.empty()) {
    return allow_empty;
  }
  if (s.size() > 63 || !alnum(s.front()) || !alnum(s.back())) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool valid_key(std::string_view key) {
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) {
    return valid_segment(key, false);
  }
  const auto prefix = key.substr(0, slash);
  if (prefix.empty() || prefix.size() > 253) {
    return false;
  }
  const bool prefix_ok = std::all_of(prefix.begin(), prefix.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
  return prefix_ok && valid_segment(key.substr(slash + 1), false);
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::string_view text) : tokens_(std::move(tokens)), text_(text) {}

  Result<std::vector<LabelRequirement>> parse() {
    std::vector<LabelRequirement> out;
    if (peek().kind == Tok::end) {
      return out;
    }
    for (;;) {
      auto requirement = parse_requirement();
      if (!requirement) {
        return requirement.error();
      }
      out.push_back(std::move(*requirement));
      const Token& next = take();
      if (next.kind == Tok::end) {
        return out;
      }
      if (next.kind != Tok::comma) {
        return error("expected ',' or end of selector, found '" + next.text + "'");
      }
    }
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  const Token& take() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  Error error(const std::string& why) const {
    return fail("invalid label selector \"" + std::string(text_) + "\": " + why);
  }

  Result<std::string> key() {
    const Token& t = take();
    if (t.kind != Tok::ident) {
      return error("expected a label key, found '" + (t.kind == Tok::end ? std::string("end") : t.text) + "'");
    }
    if (!valid_key(t.text)) {
      return error("invalid label key \"" + t.text + "\"");
    }
    return t.text;
  }

  Result<std::string> value() {
    if (peek().kind == Tok::comma || peek().kind == Tok::end || peek().kind == Tok::rparen) {
      return std::string();  // `a=` selects an empty value
    }
    const Token& t = take();
    if (t.kind != Tok::ident) {
      return error("expected a value, found '" + t.text + "'");
    }
    if (!valid_segment(t.text, true)) {
      return error("invalid label value \"" + t.text + "\"");
    }
    return t.text;
  }

  Result<LabelRequirement> parse_requirement() {
    LabelRequirement r;
    if (peek().kind == Tok::bang) {
      take();
      auto k = key();
      if (!k) {
        return k.error();
      }
      r.key = std::move(*k);
      r.op = LabelRequirement::Op::does_not_exist;
      return r;
    }
    auto k = key();
    if (!k) {
      return k.error();
    }
    r.key = std::move(*k);
    switch (peek().kind) {
      case Tok::comma:
      case Tok::end:
        r.op = LabelRequirement::Op::exists;
        return r;
      case Tok::eq:
      case Tok::deq:
      case Tok::neq: {
        r.op = take().kind == Tok::neq ? LabelRequirement::Op::not_equals : LabelRequirement::Op::equals;
        auto v = value();
        if (!v) {
          return v.error();
        }
        r.values.push_back(std::move(*v));
        return r;
      }
      case Tok::in:
      case Tok::notin: {
        r.op = take().kind == Tok::in ? LabelRequirement::Op::in : LabelRequirement::Op::not_in;
        if (take().kind != Tok::lparen) {
          return error("expected '(' after '" + std::string(r.op == LabelRequirement::Op::in ? "in" : "notin") + "'");
        }
        for (;;) {
          auto v = value();
          if (!v) {
            return v.error();
          }
          r.values.push_back(std::move(*v));
          const Token& t = take();
          if (t.kind == Tok::rparen) {
            break;
          }
          if (t.kind != Tok::comma) {
            return error("expected ',' or ')' in value set, found '" + t.text + "'");
          }
        }
        if (r.values.size() == 1 && r.values.front().empty()) {
          return error("the value set of '" + r.key + "' is empty");
        }
        std::sort(r.values.begin(), r.values.end());
        r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
        return r;
      }
      default:
        return error("expected an operator after \"" + r.key + "\", found '" + peek().text + "'");
    }
  }

  std::vector<Token> tokens_;
  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<LabelSelector> LabelSelector::parse(std::string_view text) {
  auto tokens = lex(text);
  if (!tokens) {
    return fail("invalid label selector \"" + std::string(text) + "\": " + tokens.error().message);
  }
  auto requirements = Parser(std::move(*tokens), text).parse();
  if (!requirements) {
    return requirements.error();
  }
  LabelSelector selector;
  selector.requirements_ = std::move(*requirements);
  return selector;
}

bool LabelSelector::matches(const boost::json::object* labels) const {
  for (const auto& r : requirements_) {
    const boost::json::value* found = labels != nullptr ? labels->if_contains(r.key) : nullptr;
    const bool present = found != nullptr && found->is_string();
    const std::string_view value = present ? std::string_view(found->get_string()) : std::string_view();
    bool ok = false;
    switch (r.op) {
      case LabelRequirement::Op::exists:
        ok = present;
        break;
      case LabelRequirement::Op::does_not_exist:
        ok = !present;
        break;
      case LabelRequirement::Op::equals:
        ok = present && value == r.values.front();
        break;
      case LabelRequirement::Op::not_equals:
        ok = !present || value != r.values.front();
        break;
      case LabelRequirement::Op::in:
        ok = present && std::binary_search(r.values.begin(), r.values.end(), value);
        break;
      case LabelRequirement::Op::not_in:
        ok = !present || !std::binary_search(r.values.begin(), r.values.end(), value);
        break;
    }
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace nodepack::sim
