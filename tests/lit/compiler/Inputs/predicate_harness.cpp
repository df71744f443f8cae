// Runs a generated predicate (maskc emit --stage cpp) on the host and
// prints its mask like `maskc eval`, so lit can compare the two.
// Build: c++ -std=c++17 -DMASKJIT_PREDICATE=<pattern>_allowed
//          -DMASKJIT_PREDICATE_FILE=\"pred.h\" predicate_harness.cpp
// Run:   ./a.out LQ LK HEAD [name=v1,v2,... for arrays and params]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#define __device__
#define __forceinline__ inline

struct maskjit_args {
  std::map<std::string, std::vector<int64_t>> values;
  const std::vector<int64_t> &get(const char *name) const {
    auto it = values.find(name);
    if (it == values.end()) {
      std::fprintf(stderr, "no value for %s\n", name);
      std::exit(2);
    }
    return it->second;
  }
  int64_t load(const char *name, int64_t i) const {
    const std::vector<int64_t> &v = get(name);
    if (i < 0 || i >= static_cast<int64_t>(v.size())) {
      std::fprintf(stderr, "index %lld out of range for %s\n", (long long)i,
                   name);
      std::exit(2);
    }
    return v[i];
  }
  bool contains(const char *name, int64_t x) const {
    auto it = values.find(name);
    if (it == values.end())
      return false;
    for (int64_t v : it->second)
      if (v == x)
        return true;
    return false;
  }
};

#define MASKJIT_PARAM(a, name) ((a)->get(#name).at(0))
#define MASKJIT_HEAD_PARAM(a, name, h) ((a)->load(#name, h))
#define MASKJIT_LOAD(a, name, i) ((a)->load(#name, i))
#define MASKJIT_IN_ARRAY(a, name, x) ((a)->contains(#name, x))
// The harness gives every head and sequence the same chosen set.
#define MASKJIT_IN_SELECTED(a, sel, x, h, b)                                   \
  ((void)(h), (void)(b), (a)->contains(#sel, x))
// topk_blocks: the chosen key blocks of query block qb as `topk_blocks.qb`.
#define MASKJIT_IN_BLOCKS(a, sel, x, q, block, h, b)                           \
  ((void)(h), (void)(b),                                                       \
   (a)->contains(                                                              \
       (std::string(#sel ".") + std::to_string((q) / (block))).c_str(), x))

static inline int64_t maskjit_floordiv(int64_t a, int64_t b) {
  if (b == 0)
    return 0;
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline int64_t maskjit_floormod(int64_t a, int64_t b) {
  if (b == 0)
    return 0;
  int64_t m = a % b;
  return (m != 0 && ((m < 0) != (b < 0))) ? m + b : m;
}

#include MASKJIT_PREDICATE_FILE

int main(int argc, char **argv) {
  if (argc < 4)
    return 2;
  int64_t lq = std::atoll(argv[1]), lk = std::atoll(argv[2]),
          h = std::atoll(argv[3]);
  maskjit_args args;
  for (int i = 4; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    std::vector<int64_t> v;
    std::stringstream ss(a.substr(eq + 1));
    std::string item;
    while (std::getline(ss, item, ','))
      v.push_back(std::atoll(item.c_str()));
    args.values[a.substr(0, eq)] = v;
  }
  for (int64_t q = 0; q < lq; ++q) {
    for (int64_t k = 0; k < lk; ++k)
      std::putchar(MASKJIT_PREDICATE(q, k, h, 0, lq, lk, &args) ? '#' : '.');
    std::putchar('\n');
  }
  return 0;
}
