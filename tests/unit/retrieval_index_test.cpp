#include "core/retrieval_index.hpp"

#include <gtest/gtest.h>

#include "core/json_codec.hpp"

using namespace motorhead;

namespace {

retrieval_index sample() {
  retrieval_index index;
  index.add({1, "Human", "Should I rent a car to drive around Hokkaido?"});
  index.add({2, "AI", "Renting a car in Hokkaido works well."});
  index.add({3, "Human", "What is the best sushi restaurant in Tokyo?"});
  index.add({4, "AI", "Sushi in Tokyo: Sukiyabashi Jiro is famous."});
  index.add({5, "Human", "ok thanks"});
  return index;
}

std::vector<uint64_t> seqs(const std::vector<search_hit>& hits) {
  std::vector<uint64_t> out;
  for (const auto& hit : hits)
    out.push_back(hit.seq);
  return out;
}

} // namespace

TEST(RetrievalIndex, Bm25RanksMatchingMessagesFirst) {
  auto index = sample();
  auto hits = index.search("sushi Tokyo", {}, 10);
  ASSERT_EQ(hits.size(), 2u);
  // Both hold both terms; the shorter message ranks first (BM25's b).
  EXPECT_EQ(seqs(hits), (std::vector<uint64_t>{3, 4}));
  EXPECT_LT(hits[0].dist, hits[1].dist);
  EXPECT_GT(hits[0].dist, 0.0);
  EXPECT_LE(hits[1].dist, 1.0);
  EXPECT_TRUE(index.search("volcano", {}, 10).empty());
  EXPECT_EQ(index.search("car Hokkaido sushi", {}, 1).size(), 1u);
}

TEST(RetrievalIndex, AddingASeqTwiceKeepsOneCopy) {
  auto index = sample();
  index.add({1, "Human", "a duplicate of seq 1"});
  EXPECT_EQ(index.size(), 5u);
  EXPECT_EQ(index.message(1).content,
            "Should I rent a car to drive around Hokkaido?");
}

TEST(RetrievalIndex, HybridFusesLexicalAndSemanticRankings) {
  auto index = sample();
  // Vectors that make seq 1 the semantic match of the query vector only.
  index.set_vector(1, {1, 0, 0});
  index.set_vector(2, {0, 1, 0});
  index.set_vector(3, {0, 0, 1});
  index.set_vector(4, {0, 0.5, 0.5});
  EXPECT_EQ(index.unembedded(), (std::vector<uint64_t>{5}));
  // No word of "automobile hire" occurs: BM25 finds nothing, cosine does.
  auto hits = index.search("automobile hire", {2, 0, 0}, 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].seq, 1u);
  for (std::size_t i = 1; i < hits.size(); ++i)
    EXPECT_LE(hits[i - 1].dist, hits[i].dist);
  // A message first in both rankings gets the smallest possible dist: 0.
  auto both = index.search("rent car Hokkaido", {1, 0, 0}, 1);
  EXPECT_EQ(both[0].seq, 1u);
  EXPECT_NEAR(both[0].dist, 0.0, 1e-12);
}

TEST(RetrievalIndex, VectorsPackAsFloat32) {
  std::vector<float> values{1.5f, -2.25f, 0.0f};
  auto bytes = pack_vector(values);
  EXPECT_EQ(bytes.size(), 12u);
  EXPECT_EQ(unpack_vector(bytes), values);
  EXPECT_THROW(unpack_vector("abc"), std::invalid_argument);
  // Empty vectors have no data pointer to copy from (UBSan checks).
  EXPECT_EQ(pack_vector({}), "");
  EXPECT_TRUE(unpack_vector("").empty());
}

TEST(RetrievalIndex, SearchesTenThousandMessagesExactly) {
  retrieval_index index;
  for (uint64_t i = 1; i <= 10000; ++i)
    index.add({i, "Human", "message " + std::to_string(i) + " about topic"
                             + std::to_string(i % 97)});
  auto hits = index.search("topic42", {}, 5);
  ASSERT_EQ(hits.size(), 5u);
  for (const auto& hit : hits)
    EXPECT_EQ(hit.seq % 97, 42u);
}

TEST(RetrievalCodec, QueriesAndAnswers) {
  auto query = json::decode_retrieval_query(R"({"text":"salsa","top_k":3})");
  ASSERT_TRUE(query) << query.error;
  EXPECT_EQ(query.value->text, "salsa");
  EXPECT_EQ(query.value->top_k, 3u);
  EXPECT_EQ(json::decode_retrieval_query(R"({"text":"x"})").value->top_k, 10u);
  EXPECT_FALSE(json::decode_retrieval_query(R"({"text":"x","top_k":-1})"));
  EXPECT_EQ(json::encode_retrieval_hits({{"AI", "pong", 0.5}}),
            R"([{"role":"AI","content":"pong","dist":0.5}])");
}

TEST(EmbeddingCodec, RequestsAndAnswers) {
  EXPECT_EQ(json::encode_embedding_request("m", {"a", "b"}),
            R"({"model":"m","input":["a","b"]})");
  auto answer = json::decode_embedding_response(
    R"({"data":[{"index":1,"embedding":[3,4]},{"index":0,"embedding":[1,2]}],)"
    R"("model":"m","usage":{"total_tokens":9}})",
    2);
  ASSERT_TRUE(answer) << answer.error;
  EXPECT_EQ(answer.value->vectors[0], (std::vector<float>{1, 2}));
  EXPECT_EQ(answer.value->vectors[1], (std::vector<float>{3, 4}));
  EXPECT_EQ(answer.value->tokens_used, 9u);
  EXPECT_FALSE(json::decode_embedding_response(R"({"data":[]})", 1));
  EXPECT_FALSE(json::decode_embedding_response(
    R"({"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":[1,2]}]})", 2));
}
