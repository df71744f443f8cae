#include "maskjit/dsl/Diagnostics.h"

#include <gtest/gtest.h>

using namespace maskjit::dsl;

TEST(Diagnostics, ClangStyleWithCaretRangeAndNote) {
  SourceManager sm;
  uint32_t f = sm.addBuffer("a.mask", "pattern p {\n  q - k < windw\n}\n");
  DiagnosticEngine d(sm);
  Diagnostic &e =
      d.error(Location{{f, 2, 11}, {f, 2, 16}}, "unknown name `windw`");
  e.fixIt = "window";
  DiagnosticEngine::note(e, Location{{f, 1, 9}, {f, 1, 10}}, "pattern is here");
  EXPECT_EQ(d.str(), "a.mask:2:11: error: unknown name `windw`\n"
                     "  q - k < windw\n"
                     "          ^~~~~\n"
                     "          window\n"
                     "a.mask:1:9: note: pattern is here\n"
                     "pattern p {\n"
                     "        ^\n"
                     "1 error generated.\n");
  EXPECT_EQ(d.errorCount(), 1u);
}

TEST(Diagnostics, StopsCollectingAfterTheLimit) {
  SourceManager sm;
  uint32_t f = sm.addBuffer("a.mask", "x\n");
  DiagnosticEngine d(sm);
  for (int i = 0; i < 30; ++i)
    d.error(Location{{f, 1, 1}, {f, 1, 2}}, "bad");
  EXPECT_EQ(d.errorCount(), 30u);
  EXPECT_EQ(d.diagnostics().size(), DiagnosticEngine::kMaxErrors);
  EXPECT_NE(d.str().find("too many errors emitted (30)"), std::string::npos);
}

TEST(Diagnostics, ClosestNameSuggestsOnlyLikelyTypos) {
  std::vector<std::string> names = {"window", "sink", "stride", "q", "k"};
  EXPECT_EQ(closestName("windw", names), "window");
  EXPECT_EQ(closestName("strid", names), "stride");
  EXPECT_EQ(closestName("banana", names), std::nullopt);
  EXPECT_EQ(closestName("window", names), std::nullopt); // Exact: no hint.
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
}

TEST(Diagnostics, LineLookupHandlesCrlfAndOutOfRange) {
  SourceManager sm;
  uint32_t f = sm.addBuffer("a.mask", "one\r\ntwo\n");
  EXPECT_EQ(sm.line(f, 1), "one");
  EXPECT_EQ(sm.line(f, 2), "two");
  EXPECT_EQ(sm.line(f, 3), "");
  EXPECT_EQ(sm.line(f, 99), "");
}
