// The JSON log format: one object per log line.
#include "core/json_codec.hpp"

#include <string>
#include <string_view>
#include <vector>

#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "core/rapidjson.hpp"

namespace motorhead::json {

std::string encode_log_record(std::string_view time, log_level level,
                              std::string_view component,
                              std::string_view message,
                              const std::vector<log_field>& fields) {
  return write_json([&](json_writer& out) {
    out.StartObject();
    out.Key("time");
    write_string(out, time);
    out.Key("level");
    write_string(out, to_string(level));
    out.Key("component");
    write_string(out, component);
    out.Key("message");
    write_string(out, message);
    for (const auto& field : fields) {
      out.Key(field.name.data(),
              static_cast<rapidjson::SizeType>(field.name.size()));
      if (field.is_number)
        out.RawValue(field.value.data(), field.value.size(),
                     rapidjson::kNumberType);
      else
        write_string(out, field.value);
    }
    out.EndObject();
  });
}

} // namespace motorhead::json
