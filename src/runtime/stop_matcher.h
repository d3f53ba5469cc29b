// Holds back generated text that might be the start of a stop string, so a stop string is never
// streamed to the user, and finds where the text must be cut.
#pragma once

#include <string>
#include <vector>

namespace kaiyuan {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);
  // Appends text. Returns the part that is now safe to emit. Sets stopped() when a stop string
  // appeared; the text before it is emitted, the rest discarded.
  std::string push(const std::string& text);
  std::string flush();  // the held-back remainder (at the end of generation)
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace kaiyuan
