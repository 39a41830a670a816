#include "core/extractive_summarizer.hpp"
#include "core/text_terms.hpp"

#include <gtest/gtest.h>

using namespace motorhead;

namespace {

std::vector<stored_message> conversation() {
  return {
    {1, "Human", "Hi there!"},
    {2, "AI", "Hello! How can I help you today?"},
    {3, "Human", "What are the best clubs for electronic music in Bogota?"},
    {4, "AI",
     "Baum opened in 2014 and is one of the most popular clubs for electronic "
     "music in Bogota. It is known for its sound system and its focus on "
     "underground techno and house music. Video Club opened in 1999 and hosts "
     "famous DJs. The weather is nice today."},
    {5, "Human", "ok thanks"},
    {6, "Human", "Which famous DJs come from Colombia?"},
    {7, "AI",
     "Mario Ochoa is a DJ and producer from Medellin known for techno. "
     "Erick Morillo, born to Colombian parents, is known for house music."},
  };
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(ExtractiveSummarizer, KeepsTheInformativeSentencesWithinBudget) {
  extractive_options options;
  options.max_chars = 400;
  auto summary = summarize_extractive(std::nullopt, conversation(), options);
  EXPECT_LE(summary.size(), 400u);
  EXPECT_TRUE(contains(summary, "Baum")) << summary;
  EXPECT_TRUE(contains(summary, "Mario Ochoa")) << summary;
  // Pleasantries carry no terms and never make it.
  EXPECT_FALSE(contains(summary, "ok thanks")) << summary;
  EXPECT_FALSE(contains(summary, "Hi there")) << summary;
}

TEST(ExtractiveSummarizer, IsNotAConcatenation) {
  extractive_options options;
  options.max_chars = 300;
  auto lines = conversation();
  std::size_t total = 0;
  for (const auto& line : lines)
    total += line.content.size();
  auto summary = summarize_extractive(std::nullopt, lines, options);
  EXPECT_LT(summary.size(), total);
  EXPECT_FALSE(contains(summary, "The weather is nice today")) << summary;
}

TEST(ExtractiveSummarizer, KeepsSpeakersAndOriginalOrder) {
  auto summary = summarize_extractive(std::nullopt, conversation());
  auto baum = summary.find("AI: Baum");
  auto ochoa = summary.find("AI: Mario Ochoa");
  ASSERT_NE(baum, std::string::npos) << summary;
  ASSERT_NE(ochoa, std::string::npos) << summary;
  EXPECT_LT(baum, ochoa);
}

TEST(ExtractiveSummarizer, IsProgressive) {
  std::string previous = "The user plans a trip to Cartagena in December. "
                         "They care about salsa dancing.";
  std::vector<stored_message> lines{
    {8, "Human", "Where can I dance salsa in Cartagena?"},
    {9, "AI", "Cafe Havana in Getsemani is the classic place for live salsa."}};
  auto summary = summarize_extractive(previous, lines);
  EXPECT_TRUE(contains(summary, "Cartagena in December")) << summary;
  EXPECT_TRUE(contains(summary, "Cafe Havana")) << summary;
}

TEST(ExtractiveSummarizer, DropsRedundantSentences) {
  std::vector<stored_message> lines{
    {1, "AI", "Salsa dancing in Cali is famous worldwide."},
    {2, "AI", "Salsa dancing in Cali is famous worldwide!"},
    {3, "AI", "Bogota has a large techno scene."}};
  auto summary = summarize_extractive(std::nullopt, lines);
  auto first = summary.find("Salsa dancing");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(summary.find("Salsa dancing", first + 1), std::string::npos)
    << summary;
}

TEST(ExtractiveSummarizer, MeaninglessLinesKeepThePreviousSummary) {
  std::vector<stored_message> lines{{1, "Human", "ok"}, {2, "AI", "Sure!"}};
  EXPECT_EQ(summarize_extractive(std::string{"Earlier summary."}, lines),
            "Earlier summary.");
  EXPECT_EQ(summarize_extractive(std::nullopt, lines), "");
}

TEST(ExtractiveSummarizer, ShortensASingleOverlongSentence) {
  std::string longest(50, 'x');
  for (int i = 0; i < 40; ++i)
    longest += " word" + std::to_string(i);
  std::vector<stored_message> lines{{1, "AI", longest}};
  extractive_options options;
  options.max_chars = 80;
  auto summary = summarize_extractive(std::nullopt, lines, options);
  EXPECT_LE(summary.size(), 80u);
  EXPECT_FALSE(summary.empty());
}

TEST(ContentTerms, LowerCasedWordsWithoutStopwordsInAnyCase) {
  // Stopwords are skipped whatever their case; a word that only starts
  // like one, or is longer than any, is a term; so are digits and
  // multi-byte UTF-8 letters.
  EXPECT_EQ(content_terms("The BECAUSE because, Becausex THANKSGIVING ok "
                          "okays x a1 Café niño 東京 through-throughput"),
            (std::vector<std::string>{"becausex", "thanksgiving", "okays",
                                      "a1", "café", "niño", "東京",
                                      "throughput"}));
  EXPECT_TRUE(content_terms("I am here, and you are there: ok!").empty());
}
