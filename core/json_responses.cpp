// HTTP response bodies: a session's memory view (the body of every GET of
// a window) and record, retrieval hits, and the small answers of the API.
#include "core/json_codec.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_writer.hpp"
#include "core/rapidjson.hpp"
#include "core/session_id.hpp"
#include "core/timestamp.hpp"

namespace motorhead::json {

std::string encode_session_info(const std::string& id,
                                const session_info& info) {
  auto write_time_or_null = [](json_writer& out, int64_t ms) {
    if (ms == 0)
      out.Null();
    else
      write_time(out, ms);
  };
  return write_json([&](json_writer& out) {
    out.StartObject();
    out.Key("session_id");
    write_string(out, id);
    out.Key("metadata");
    if (info.metadata.empty())
      out.Null();
    else
      out.RawValue(info.metadata.data(), info.metadata.size(),
                   rapidjson::kObjectType);
    out.Key("created_at");
    write_time_or_null(out, info.created_at);
    out.Key("updated_at");
    write_time_or_null(out, info.updated_at);
    out.Key("message_count");
    out.Uint64(info.message_count);
    out.Key("namespaces");
    write_string_array(out, info.namespaces);
    out.EndObject();
  });
}

std::string encode_retrieval_hits(const std::vector<retrieval_hit>& hits) {
  return write_json([&](json_writer& out) {
    out.StartArray();
    for (const auto& hit : hits) {
      out.StartObject();
      out.Key("role");
      write_string(out, hit.role);
      out.Key("content");
      write_string(out, hit.content);
      out.Key("dist");
      out.Double(hit.dist);
      write_details(out, hit.details,
                    [&](int64_t time) { write_time(out, time); });
      if (!hit.session_id.empty()) {
        out.Key("session_id");
        write_string(out, hit.session_id);
      }
      out.EndObject();
    }
    out.EndArray();
  });
}

namespace {

/// A message of a window, shown as a chat_message is.
void write_packed_message(json_writer& out, const packed_message& msg) {
  out.StartObject();
  out.Key("role");
  write_string(out, msg.role());
  out.Key("content");
  write_string(out, msg.content());
  packed_message::id_buffer buffer;
  write_details(out, msg.id(buffer), msg.created_at(), msg.metadata(),
                msg.token_count(),
                [&](int64_t time) { write_time(out, time); });
  out.EndObject();
}

} // namespace

std::string encode_memory(const std::vector<packed_message>& window,
                          std::size_t shown, const std::string* context,
                          uint64_t tokens) {
  return write_json([&](json_writer& out) {
    out.StartObject();
    out.Key("messages");
    out.StartArray();
    shown = std::min(shown, window.size());
    for (auto msg = window.rbegin(); msg != window.rbegin() + shown; ++msg)
      write_packed_message(out, *msg);
    out.EndArray();
    out.Key("context");
    if (context != nullptr)
      write_string(out, *context);
    else
      out.Null();
    out.Key("tokens");
    out.Uint64(tokens);
    out.EndObject();
  });
}

std::string with_data_envelope(const std::string& object) {
  std::string out;
  out.reserve(2 * object.size() + 8);
  out.append(object, 0, object.size() - 1); // all but the closing brace
  out += ",\"data\":";
  out += object;
  out += '}';
  return out;
}

std::string encode_key_status(bool authenticated, const access_scope& scope,
                              bool retrieval) {
  return write_json([&](json_writer& out) {
    out.StartObject();
    out.Key("status");
    out.String("Ok");
    out.Key("authenticated");
    out.Bool(authenticated);
    out.Key("retrieval");
    out.Bool(retrieval);
    if (scope.restricted) {
      out.Key("namespaces");
      write_string_array(out, scope.namespaces);
    }
    out.EndObject();
  });
}

std::string encode_session_ids(const std::vector<std::string>& ids) {
  return encode_string_list(ids);
}

std::string encode_settings(std::string_view version, std::string_view commit,
                            const std::vector<shown_setting>& settings) {
  return write_json([&](json_writer& out) {
    out.StartObject();
    out.Key("version");
    write_string(out, version);
    out.Key("commit");
    write_string(out, commit);
    out.Key("settings");
    out.StartArray();
    for (const auto& setting : settings) {
      out.StartObject();
      out.Key("name");
      write_string(out, setting.name);
      out.Key("value");
      write_string(out, setting.value);
      out.Key("set");
      out.Bool(setting.set);
      out.EndObject();
    }
    out.EndArray();
    out.EndObject();
  });
}

std::string encode_session_listing(const session_listing& listing) {
  return write_json([&](json_writer& out) {
    out.StartObject();
    out.Key("sessions");
    write_string_array(out, listing.ids);
    out.Key("next_cursor");
    if (listing.next.id.empty())
      out.Null();
    else
      write_string(out, cursor_text(listing.next));
    out.EndObject();
  });
}

std::string encode_cluster(const cluster_view& view) {
  return write_json([&](json_writer& out) {
    out.StartObject();
    out.Key("node");
    write_string(out, view.node);
    out.Key("incarnation");
    write_string(out, view.incarnation);
    out.Key("version");
    out.Uint64(view.version);
    out.Key("members");
    write_string_array(out, view.members);
    out.Key("peers");
    write_string_array(out, view.seeds);
    if (!view.owner.empty()) {
      out.Key("owner");
      write_string(out, view.owner);
    }
    if (!view.waiting_for.empty()) {
      out.Key("waiting_for");
      write_string(out, view.waiting_for);
    }
    out.EndObject();
  });
}

std::string encode_status_ok() {
  return R"({"status":"Ok"})";
}

std::string encode_liveness(std::string_view version) {
  return write_json([&](json_writer& out) {
    out.StartObject();
    out.Key("status");
    out.String("Ok");
    out.Key("version");
    write_string(out, version);
    out.EndObject();
  });
}

std::string encode_namespace_deleted(uint64_t sessions) {
  return write_json([&](json_writer& out) {
    out.StartObject();
    out.Key("status");
    out.String("Ok");
    out.Key("deleted_sessions");
    out.Uint64(sessions);
    out.EndObject();
  });
}

std::string encode_health(int64_t now_ms) {
  return write_json([&](json_writer& out) {
    out.StartObject();
    out.Key("now");
    out.Int64(now_ms);
    out.EndObject();
  });
}

std::string encode_error(std::string_view message) {
  return write_json([&](json_writer& out) {
    out.StartObject();
    out.Key("error");
    write_string(out, message);
    out.EndObject();
  });
}

} // namespace motorhead::json
