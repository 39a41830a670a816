// Lua scripts run with EVALSHA: each script's text travels to Redis once
// per connection, not with every call (a 2 KiB script on every POST cost
// Redis its parsing, and the pipeline its bytes).
#pragma once

#include <string>
#include <string_view>

#include "storage/redis_connection.hpp"

namespace motorhead::store {

class lua_script {
public:
  /// Registers the script by its SHA-1, so that a connection can load it
  /// on a server that lacks it. Scripts live as long as the program.
  explicit lua_script(std::string text);

  lua_script(const lua_script&) = delete;
  lua_script& operator=(const lua_script&) = delete;

  const std::string& text() const { return text_; }
  const std::string& sha() const { return sha_; } // hex, as Redis names it

  /// EVALSHA sha, the number of keys, the keys, then `args`.
  redis_command call(redis_command keys, redis_command args) const;

  /// The registered script whose SHA-1 is `sha`, or null.
  static const lua_script* find(std::string_view sha);

private:
  std::string text_;
  std::string sha_;
};

} // namespace motorhead::store
