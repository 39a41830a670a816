#include "storage/lua_script.hpp"

#include <iterator>
#include <map>
#include <mutex>

#include "core/digest.hpp"

namespace motorhead::store {

namespace {

/// Scripts are registered during static initialisation, before any
/// thread runs; the mutex keeps that true for scripts made later.
struct registry {
  std::mutex mutex;
  std::map<std::string, const lua_script*, std::less<>> by_sha;
};

registry& scripts() {
  static registry instance;
  return instance;
}

} // namespace

lua_script::lua_script(std::string text)
  : text_(std::move(text)), sha_(sha1_hex(text_)) {
  auto& all = scripts();
  std::lock_guard<std::mutex> guard{all.mutex};
  all.by_sha[sha_] = this;
}

redis_command lua_script::call(redis_command keys, redis_command args) const {
  redis_command command{"EVALSHA", sha_, std::to_string(keys.size())};
  command.reserve(command.size() + keys.size() + args.size());
  std::move(keys.begin(), keys.end(), std::back_inserter(command));
  std::move(args.begin(), args.end(), std::back_inserter(command));
  return command;
}

const lua_script* lua_script::find(std::string_view sha) {
  auto& all = scripts();
  std::lock_guard<std::mutex> guard{all.mutex};
  auto it = all.by_sha.find(sha);
  return it == all.by_sha.end() ? nullptr : it->second;
}

} // namespace motorhead::store
