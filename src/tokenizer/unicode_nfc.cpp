// NFC/NFD: full canonical decomposition, canonical ordering, canonical composition (UAX #15 and
// Unicode §3.11), with Hangul syllables handled algorithmically (Unicode §3.12).
#include "tokenizer/unicode_nfc.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tokenizer/unicode_nfc_data.h"
#include "tokenizer/unicode_utf8.h"

namespace kaiyuan::unicode {

namespace {

using namespace unicode_data;

// Unicode §3.12 Hangul syllable constants.
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr uint32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;
// U+00C0 is the first code point with a canonical decomposition (checked by the NFD test).
constexpr uint32_t kFirstDecomposable = 0xC0;

uint8_t combining_class(uint32_t cp) {
  if (cp < kNfcQuickCheckBound) return 0;
  const auto* end = kCombiningClassRanges + kCombiningClassRangeCount;
  const auto* it = std::upper_bound(kCombiningClassRanges, end, cp,
                                    [](uint32_t c, const CombiningClassRange& r) { return c < r.first; });
  if (it == kCombiningClassRanges) return 0;
  --it;
  return cp <= it->last ? it->ccc : 0;
}

const CanonicalDecomposition* find_decomposition(uint32_t cp) {
  const auto* end = kCanonicalDecompositions + kCanonicalDecompositionCount;
  const auto* it = std::lower_bound(kCanonicalDecompositions, end, cp,
                                    [](const CanonicalDecomposition& d, uint32_t c) { return d.cp < c; });
  return it != end && it->cp == cp ? it : nullptr;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const CanonicalDecomposition* d = cp < kFirstDecomposable ? nullptr : find_decomposition(cp);
  if (d == nullptr) {
    out.push_back(cp);
    return;
  }
  decompose(d->first, out);  // depth is bounded by the data (at most 4 levels)
  if (d->second != 0) decompose(d->second, out);
}

// Canonical ordering: stable sort of each run of non-starters by combining class.
void reorder(std::vector<uint32_t>& cps) {
  size_t i = 0;
  while (i < cps.size()) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j,
                     [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
}

// Returns the primary composite of (a, b) or 0.
uint32_t compose_pair(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  const auto* end = kCanonicalCompositions + kCanonicalCompositionCount;
  const auto* it = std::lower_bound(kCanonicalCompositions, end, std::make_pair(a, b),
                                    [](const CanonicalComposition& c, std::pair<uint32_t, uint32_t> key) {
                                      return std::make_pair(c.first, c.second) < key;
                                    });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

// Canonical composition algorithm (Unicode §3.11 D117).
void compose(std::vector<uint32_t>& cps) {
  if (cps.empty()) return;
  size_t starter = 0;
  bool have_starter = combining_class(cps[0]) == 0;
  size_t out = 1;
  int last_ccc = have_starter ? 0 : 256;
  for (size_t i = 1; i < cps.size(); ++i) {
    const uint32_t cp = cps[i];
    const int ccc = combining_class(cp);
    // Blocked when a character between the starter and cp has ccc 0 or ccc >= ccc(cp).
    const bool blocked = out - 1 != starter && (last_ccc == 0 || last_ccc >= ccc);
    if (have_starter && !blocked) {
      const uint32_t composite = compose_pair(cps[starter], cp);
      if (composite != 0) {
        cps[starter] = composite;
        continue;
      }
    }
    if (ccc == 0) {
      starter = out;
      have_starter = true;
    }
    last_ccc = ccc;
    cps[out++] = cp;
  }
  cps.resize(out);
}

std::vector<uint32_t> decompose_all(std::string_view text) {
  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    size_t n = utf8::decode(text, pos, &cp);
    if (n == 0) {  // not reachable for sanitized text; keep going deterministically
      cp = utf8::kReplacementChar;
      n = 1;
    }
    decompose(cp, cps);
    pos += n;
  }
  reorder(cps);
  return cps;
}

bool all_below(std::string_view text, uint32_t bound) {
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    const size_t n = utf8::decode(text, pos, &cp);
    if (n == 0 || cp >= bound) return false;
    pos += n;
  }
  return true;
}

void append_encoded(std::string& out, const std::vector<uint32_t>& cps) {
  for (uint32_t cp : cps) utf8::append(out, cp);
}

std::string encode(const std::vector<uint32_t>& cps) {
  std::string out;
  out.reserve(cps.size() * 2);
  append_encoded(out, cps);
  return out;
}

// Code points that NFC leaves alone whatever surrounds them, and that nothing before them can
// combine with: combining class 0, no canonical decomposition (below kNfcQuickCheckBound every
// character is NFC_QC=Yes, precomposed ones included), never the second of a composition pair.
// Such a character is a normalization boundary (UAX #15 §9.1; ICU's hasCompBoundaryBefore), so
// NFC of a text is NFC of the pieces between them, and runs of them are copied as they are.
class InertTable {
 public:
  InertTable() : bits_((kMaxCodePoint + 64) / 64, ~uint64_t{0}) {
    for (size_t i = 0; i < kCombiningClassRangeCount; ++i) {
      for (uint32_t cp = kCombiningClassRanges[i].first; cp <= kCombiningClassRanges[i].last; ++cp) clear(cp);
    }
    for (size_t i = 0; i < kCanonicalDecompositionCount; ++i) {
      if (kCanonicalDecompositions[i].cp >= kNfcQuickCheckBound) clear(kCanonicalDecompositions[i].cp);
    }
    for (size_t i = 0; i < kCanonicalCompositionCount; ++i) clear(kCanonicalCompositions[i].second);
    // Hangul vowel and trailing jamo compose with what precedes them (Unicode §3.12); syllables
    // themselves are starters nothing composes into, and NFC keeps a lone syllable as it is.
    for (uint32_t cp = kVBase; cp < kVBase + kVCount; ++cp) clear(cp);
    for (uint32_t cp = kTBase + 1; cp < kTBase + kTCount; ++cp) clear(cp);
  }
  bool inert(uint32_t cp) const { return cp <= kMaxCodePoint && ((bits_[cp >> 6] >> (cp & 63)) & 1) != 0; }

 private:
  static constexpr uint32_t kMaxCodePoint = 0x10FFFF;
  void clear(uint32_t cp) {
    if (cp <= kMaxCodePoint) bits_[cp >> 6] &= ~(uint64_t{1} << (cp & 63));
  }
  std::vector<uint64_t> bits_;
};

const InertTable& inert_table() {
  static const InertTable kTable;
  return kTable;
}

void append_nfc_of_segment(std::string& out, std::string_view segment) {
  std::vector<uint32_t> cps = decompose_all(segment);
  compose(cps);
  append_encoded(out, cps);
}

}  // namespace

std::string to_nfc(std::string_view text) {
  if (all_below(text, kNfcQuickCheckBound)) return std::string(text);
  const InertTable& table = inert_table();
  std::string out;
  out.reserve(text.size());
  size_t flushed = 0;        // text[0, flushed) is in `out`
  size_t last_boundary = 0;  // start of the latest inert character (or of the text)
  bool dirty = false;        // text[flushed, pos) holds a character that is not inert
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    const size_t n = utf8::decode(text, pos, &cp);
    // An invalid byte (not reachable for sanitized text) goes to decompose_all, which replaces it.
    const bool inert = n != 0 && (cp < 0x80 || table.inert(cp));
    if (inert) {
      if (dirty) {
        append_nfc_of_segment(out, text.substr(flushed, pos - flushed));
        flushed = pos;
        dirty = false;
      }
      last_boundary = pos;
    } else if (!dirty) {
      // The character may combine with the inert one before it: normalise from there on.
      out.append(text.substr(flushed, last_boundary - flushed));
      flushed = last_boundary;
      dirty = true;
    }
    pos += n == 0 ? 1 : n;
  }
  if (dirty) {
    append_nfc_of_segment(out, text.substr(flushed));
  } else {
    out.append(text.substr(flushed));
  }
  return out;
}

std::string to_nfd(std::string_view text) {
  if (all_below(text, kFirstDecomposable)) return std::string(text);
  return encode(decompose_all(text));
}

}  // namespace kaiyuan::unicode
