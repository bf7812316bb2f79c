#pragma once

// JSON text for API replies, with numbers as a billing system's importer expects them: the
// shortest decimal that reads back as the same double ("99.44751381215472", "0.5", "1e+21"), not
// Boost.JSON's scientific style ("9.944751381215472E1"). Non-finite numbers become null.

#include <boost/json/value.hpp>

#include <string>

namespace nodepack::billing {

std::string to_json_text(const boost::json::value& value);

}  // namespace nodepack::billing
