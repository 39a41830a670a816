// RapidJSON, set up for untrusted input. Include this instead of RapidJSON's
// own headers: every parse is iterative, so no nesting depth can overflow
// the stack, and a broken precondition (a member access on a value of the
// wrong type) throws instead of being undefined behaviour in release builds.
#pragma once

#include <stdexcept>

#define RAPIDJSON_PARSE_DEFAULT_FLAGS kParseIterativeFlag
#define RAPIDJSON_ASSERT(x)                                                    \
  ((x) ? static_cast<void>(0)                                                  \
       : throw std::logic_error("RapidJSON precondition failed: " #x))

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
