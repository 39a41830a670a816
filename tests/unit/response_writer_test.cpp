#include "http/response_writer.hpp"

#include <gtest/gtest.h>

using motorhead::http::api_response;
using motorhead::http::response_framing;
using motorhead::http::write_response;

namespace {

std::string written(const api_response& answer, response_framing framing) {
  std::string out = "left over from the previous answer";
  write_response(out, answer, framing);
  return out;
}

} // namespace

TEST(ResponseWriter, WritesAJsonAnswerWithItsLengthAndRequestId) {
  EXPECT_EQ(written({200, R"({"status":"Ok"})", {}, {}}, {11, true, "r-1"}),
            "HTTP/1.1 200 OK\r\nServer: motorhead\r\n"
            "Content-Type: application/json\r\nX-Request-Id: r-1\r\n"
            "Content-Length: 15\r\n\r\n{\"status\":\"Ok\"}");
}

TEST(ResponseWriter, AnAnswersOwnContentTypeReplacesJson) {
  auto out = written({200, "# HELP", {{"content-type", "text/plain"}}, {}},
                     {11, true, "r"});
  EXPECT_EQ(out.find("application/json"), std::string::npos);
  EXPECT_NE(out.find("\r\ncontent-type: text/plain\r\n"), std::string::npos);
}

TEST(ResponseWriter, HeadersOfTheAnswerFollowInOrder) {
  auto out = written({405, "{}", {{"Allow", "GET"}, {"Vary", "Origin"}}, {}},
                     {11, true, "r"});
  EXPECT_EQ(out.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u);
  EXPECT_LT(out.find("Allow: GET"), out.find("Vary: Origin"));
}

TEST(ResponseWriter, ConnectionFieldOnlyWhereTheVersionDefaultDiffers) {
  api_response answer{200, "{}", {}, {}};
  EXPECT_EQ(written(answer, {11, true, "r"}).find("Connection"),
            std::string::npos);
  EXPECT_NE(written(answer, {11, false, "r"}).find("Connection: close\r\n"),
            std::string::npos);
  auto old = written(answer, {10, true, "r"});
  EXPECT_EQ(old.rfind("HTTP/1.0 200 OK\r\n", 0), 0u);
  EXPECT_NE(old.find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(written(answer, {10, false, "r"}).find("Connection"),
            std::string::npos);
}

TEST(ResponseWriter, NoContentHasNeitherLengthNorBody) {
  auto out = written({204, "", {{"Access-Control-Max-Age", "600"}}, {}},
                     {11, true, "r"});
  EXPECT_EQ(out.rfind("HTTP/1.1 204 No Content\r\n", 0), 0u);
  EXPECT_EQ(out.find("Content-Length"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

TEST(ResponseWriter, TheBufferKeepsItsCapacity) {
  std::string out;
  write_response(out, {200, std::string(1000, 'x'), {}, {}}, {11, true, "r"});
  auto capacity = out.capacity();
  write_response(out, {200, "{}", {}, {}}, {11, true, "r"});
  EXPECT_EQ(out.capacity(), capacity);
}
