#include "agent/source.hpp"

namespace nodepack::agent {

boost::asio::awaitable<void> Source::run() { co_return; }

}  // namespace nodepack::agent
