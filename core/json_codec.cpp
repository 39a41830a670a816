#include "core/json_codec.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace motorhead::json {

namespace {

using writer_type = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(writer_type& out, std::string_view text) {
  out.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

/// Parses `text` into `doc`; returns an empty string or the parse error.
std::string parse(std::string_view text, rapidjson::Document& doc) {
  doc.Parse(text.data(), text.size());
  if (!doc.HasParseError())
    return {};
  return std::string{"malformed JSON at offset "}
         + std::to_string(doc.GetErrorOffset()) + ": "
         + rapidjson::GetParseError_En(doc.GetParseError());
}

std::string as_string(const rapidjson::Value& value) {
  return {value.GetString(), value.GetStringLength()};
}

/// Reads member `name` of `object` as a string; missing is an error unless
/// `optional`, and null counts as missing.
decoded<std::string> string_member(const rapidjson::Value& object,
                                   const char* name, std::string_view where) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull())
    return decoded<std::string>::failure(std::string{where} + " needs a \""
                                         + name + "\" string");
  if (!it->value.IsString())
    return decoded<std::string>::failure(std::string{where} + " field \""
                                         + name + "\" must be a string");
  return {as_string(it->value), {}};
}

decoded<chat_message> decode_chat_message(const rapidjson::Value& value,
                                          std::size_t index) {
  auto where = "message " + std::to_string(index);
  if (!value.IsObject())
    return decoded<chat_message>::failure(where + " must be an object");
  auto role = string_member(value, "role", where);
  if (!role)
    return decoded<chat_message>::failure(role.error);
  auto content = string_member(value, "content", where);
  if (!content)
    return decoded<chat_message>::failure(content.error);
  return {chat_message{std::move(*role.value), std::move(*content.value)}, {}};
}

/// usage.total_tokens of a provider's answer; 0 when it reports none.
uint64_t total_tokens_of(const rapidjson::Document& doc) {
  auto usage = doc.FindMember("usage");
  if (usage == doc.MemberEnd() || !usage->value.IsObject())
    return 0;
  auto total = usage->value.FindMember("total_tokens");
  if (total == usage->value.MemberEnd() || !total->value.IsUint64())
    return 0;
  return total->value.GetUint64();
}

template <class Fn>
std::string write_json(Fn&& fn) {
  rapidjson::StringBuffer buffer;
  writer_type out{buffer};
  fn(out);
  return {buffer.GetString(), buffer.GetSize()};
}

} // namespace

decoded<append_request> decode_append_request(std::string_view body) {
  using result = decoded<append_request>;
  rapidjson::Document doc;
  if (auto err = parse(body, doc); !err.empty())
    return result::failure(err);
  if (!doc.IsObject())
    return result::failure("the body must be a JSON object");
  auto messages = doc.FindMember("messages");
  if (messages == doc.MemberEnd())
    return result::failure("the body needs a \"messages\" array");
  if (!messages->value.IsArray())
    return result::failure("\"messages\" must be an array");
  append_request request;
  std::size_t index = 0;
  for (const auto& item : messages->value.GetArray()) {
    auto msg = decode_chat_message(item, index++);
    if (!msg)
      return result::failure(msg.error);
    request.messages.push_back(std::move(*msg.value));
  }
  auto context = doc.FindMember("context");
  if (context != doc.MemberEnd() && !context->value.IsNull()) {
    if (!context->value.IsString())
      return result::failure("\"context\" must be a string or null");
    request.context = as_string(context->value);
  }
  return {std::move(request), {}};
}

decoded<retrieval_query> decode_retrieval_query(std::string_view body) {
  using result = decoded<retrieval_query>;
  rapidjson::Document doc;
  if (auto err = parse(body, doc); !err.empty())
    return result::failure(err);
  if (!doc.IsObject())
    return result::failure("the body must be a JSON object");
  auto text = string_member(doc, "text", "the body");
  if (!text)
    return result::failure(text.error);
  if (text.value->empty())
    return result::failure("\"text\" must not be empty");
  retrieval_query query{std::move(*text.value), 10};
  auto top_k = doc.FindMember("top_k");
  if (top_k != doc.MemberEnd() && !top_k->value.IsNull()) {
    if (!top_k->value.IsUint() || top_k->value.GetUint() < 1
        || top_k->value.GetUint() > 100)
      return result::failure("\"top_k\" must be a whole number from 1 to 100");
    query.top_k = top_k->value.GetUint();
  }
  return {std::move(query), {}};
}

std::string encode_retrieval_hits(const std::vector<retrieval_hit>& hits) {
  return write_json([&](writer_type& out) {
    out.StartArray();
    for (const auto& hit : hits) {
      out.StartObject();
      out.Key("role");
      write_string(out, hit.role);
      out.Key("content");
      write_string(out, hit.content);
      out.Key("dist");
      out.Double(hit.dist);
      out.EndObject();
    }
    out.EndArray();
  });
}

std::string encode_memory_view(const memory_view& view) {
  return write_json([&](writer_type& out) {
    out.StartObject();
    out.Key("messages");
    out.StartArray();
    for (const auto& msg : view.messages) {
      out.StartObject();
      out.Key("role");
      write_string(out, msg.role);
      out.Key("content");
      write_string(out, msg.content);
      out.EndObject();
    }
    out.EndArray();
    out.Key("context");
    if (view.context)
      write_string(out, *view.context);
    else
      out.Null();
    out.Key("tokens");
    out.Uint64(view.tokens);
    out.EndObject();
  });
}

std::string encode_session_ids(const std::vector<std::string>& ids) {
  return encode_string_list(ids);
}

std::string encode_cluster(const std::string& node,
                           const std::vector<std::string>& members,
                           const std::vector<std::string>& peers,
                           const std::string& owner) {
  auto write_list = [](writer_type& out, const std::vector<std::string>& items) {
    out.StartArray();
    for (const auto& item : items)
      write_string(out, item);
    out.EndArray();
  };
  return write_json([&](writer_type& out) {
    out.StartObject();
    out.Key("node");
    write_string(out, node);
    out.Key("members");
    write_list(out, members);
    out.Key("peers");
    write_list(out, peers);
    if (!owner.empty()) {
      out.Key("owner");
      write_string(out, owner);
    }
    out.EndObject();
  });
}

std::string encode_status_ok() {
  return R"({"status":"Ok"})";
}

std::string encode_health(int64_t now_ms) {
  return write_json([&](writer_type& out) {
    out.StartObject();
    out.Key("now");
    out.Int64(now_ms);
    out.EndObject();
  });
}

std::string encode_error(std::string_view message) {
  return write_json([&](writer_type& out) {
    out.StartObject();
    out.Key("error");
    write_string(out, message);
    out.EndObject();
  });
}

std::string encode_chat_request(const std::string& model,
                                const std::string& prompt,
                                uint32_t max_tokens) {
  return write_json([&](writer_type& out) {
    out.StartObject();
    out.Key("model");
    write_string(out, model);
    out.Key("messages");
    out.StartArray();
    out.StartObject();
    out.Key("role");
    out.String("user");
    out.Key("content");
    write_string(out, prompt);
    out.EndObject();
    out.EndArray();
    out.Key("temperature");
    out.Int(0);
    out.Key("max_tokens");
    out.Uint(max_tokens);
    out.EndObject();
  });
}

decoded<chat_completion> decode_chat_response(std::string_view body) {
  using result = decoded<chat_completion>;
  rapidjson::Document doc;
  if (auto err = parse(body, doc); !err.empty())
    return result::failure("provider answered " + err);
  if (!doc.IsObject())
    return result::failure("provider answered something other than an object");
  auto choices = doc.FindMember("choices");
  if (choices == doc.MemberEnd() || !choices->value.IsArray()
      || choices->value.Empty() || !choices->value[0].IsObject())
    return result::failure("provider answer has no choices");
  auto message = choices->value[0].FindMember("message");
  if (message == choices->value[0].MemberEnd() || !message->value.IsObject())
    return result::failure("provider answer has no message");
  auto content = string_member(message->value, "content", "the message");
  if (!content)
    return result::failure("provider answer: " + content.error);
  return {chat_completion{std::move(*content.value), total_tokens_of(doc)}, {}};
}

std::string encode_embedding_request(const std::string& model,
                                     const std::vector<std::string>& texts) {
  return write_json([&](writer_type& out) {
    out.StartObject();
    out.Key("model");
    write_string(out, model);
    out.Key("input");
    out.StartArray();
    for (const auto& text : texts)
      write_string(out, text);
    out.EndArray();
    out.EndObject();
  });
}

decoded<embedding_result> decode_embedding_response(std::string_view body,
                                                    std::size_t expected) {
  using result = decoded<embedding_result>;
  rapidjson::Document doc;
  if (auto err = parse(body, doc); !err.empty())
    return result::failure("provider answered " + err);
  auto data = doc.IsObject() ? doc.FindMember("data") : doc.MemberEnd();
  if (!doc.IsObject() || data == doc.MemberEnd() || !data->value.IsArray()
      || data->value.Size() != expected)
    return result::failure("provider answer has not " + std::to_string(expected)
                           + " embeddings");
  embedding_result out;
  out.vectors.resize(expected);
  for (const auto& item : data->value.GetArray()) {
    auto index = item.IsObject() ? item.FindMember("index") : item.MemberEnd();
    auto values = item.IsObject() ? item.FindMember("embedding") : item.MemberEnd();
    if (!item.IsObject() || index == item.MemberEnd() || !index->value.IsUint()
        || index->value.GetUint() >= expected || values == item.MemberEnd()
        || !values->value.IsArray())
      return result::failure("provider answer has a malformed embedding");
    auto& vector = out.vectors[index->value.GetUint()];
    for (const auto& v : values->value.GetArray()) {
      if (!v.IsNumber())
        return result::failure("provider answer has a malformed embedding");
      vector.push_back(static_cast<float>(v.GetDouble()));
    }
  }
  for (const auto& vector : out.vectors)
    if (vector.empty() || vector.size() != out.vectors[0].size())
      return result::failure("provider answer has embeddings of unequal size");
  if (auto model = doc.FindMember("model");
      model != doc.MemberEnd() && model->value.IsString())
    out.model = as_string(model->value);
  out.tokens_used = total_tokens_of(doc);
  return {std::move(out), {}};
}

std::string provider_error_text(std::string_view body) {
  constexpr std::size_t max_length = 300;
  rapidjson::Document doc;
  if (parse(body, doc).empty() && doc.IsObject()) {
    auto error = doc.FindMember("error");
    if (error != doc.MemberEnd()) {
      if (error->value.IsString())
        return as_string(error->value);
      if (error->value.IsObject()) {
        auto message = error->value.FindMember("message");
        if (message != error->value.MemberEnd() && message->value.IsString())
          return as_string(message->value);
      }
    }
  }
  return std::string{body.substr(0, max_length)};
}

std::string encode_stored_message(const stored_message& msg) {
  return write_json([&](writer_type& out) {
    out.StartObject();
    out.Key("seq");
    out.Uint64(msg.seq);
    out.Key("role");
    write_string(out, msg.role);
    out.Key("content");
    write_string(out, msg.content);
    out.EndObject();
  });
}

decoded<stored_message> decode_stored_message(std::string_view text) {
  using result = decoded<stored_message>;
  rapidjson::Document doc;
  if (auto err = parse(text, doc); !err.empty())
    return result::failure(err);
  if (!doc.IsObject())
    return result::failure("a stored message must be a JSON object");
  auto seq = doc.FindMember("seq");
  if (seq == doc.MemberEnd() || !seq->value.IsUint64())
    return result::failure("a stored message needs an unsigned \"seq\"");
  auto msg = decode_chat_message(doc, 0);
  if (!msg)
    return result::failure(msg.error);
  return {stored_message{seq->value.GetUint64(), std::move(msg.value->role),
                         std::move(msg.value->content)},
          {}};
}

std::string encode_string_list(const std::vector<std::string>& items) {
  return write_json([&](writer_type& out) {
    out.StartArray();
    for (const auto& item : items)
      write_string(out, item);
    out.EndArray();
  });
}

decoded<std::vector<std::string>> decode_string_list(std::string_view text) {
  using result = decoded<std::vector<std::string>>;
  rapidjson::Document doc;
  if (auto err = parse(text, doc); !err.empty())
    return result::failure(err);
  if (!doc.IsArray())
    return result::failure("expected a JSON array of strings");
  std::vector<std::string> items;
  for (const auto& item : doc.GetArray()) {
    if (!item.IsString())
      return result::failure("expected a JSON array of strings");
    items.push_back(as_string(item));
  }
  return {std::move(items), {}};
}

} // namespace motorhead::json
