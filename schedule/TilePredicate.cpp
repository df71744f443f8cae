//===- TilePredicate.cpp - Intervals with congruences over tile boxes -----===//
#include "maskjit/schedule/TilePredicate.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <numeric>

namespace maskjit {
namespace {

using i128 = __int128;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

bool fits(i128 v) { return v >= kMin && v <= kMax; }

/// Whether b is a positive power of two: floor division and modulo are
/// then a shift and a mask (most masks' divisors are; a 64-bit division
/// costs tens of cycles, and the exact tier's time was mostly those).
bool powerOfTwo(int64_t b) { return b > 0 && (b & (b - 1)) == 0; }

int64_t divFloor(int64_t a, int64_t b) {
  if (powerOfTwo(b))
    return a >> __builtin_ctzll(static_cast<uint64_t>(b));
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
int64_t modFloor(int64_t a, int64_t b) {
  if (a >= 0 && a < b) // most calls: a residue already (no division)
    return a;
  if (powerOfTwo(b))
    return a & (b - 1); // floor modulo, two's complement
  if (b == -1)
    return 0;
  int64_t m = a % b;
  return (m != 0 && ((m < 0) != (b < 0))) ? m + b : m;
}

/// gcd of magnitudes; 0 with 0 is 0 (no constraint beyond exactness).
int64_t gcd(int64_t a, int64_t b) {
  if (a == 1 || b == 1)
    return 1;
  if (a == kMin || b == kMin)
    return 1;
  if (a == b || b == 0)
    return std::abs(a);
  if (a == 0)
    return std::abs(b);
  return std::gcd(std::abs(a), std::abs(b));
}

/// A representative of x's residue class (its value when it is one).
int64_t rep(const AbstractInt &x) { return x.mod == 0 ? x.lo : x.rem; }

AbstractInt boolean(bool canFalse, bool canTrue) {
  if (!canFalse)
    return AbstractInt::constant(1);
  if (!canTrue)
    return AbstractInt::constant(0);
  return AbstractInt::range(0, 1);
}

/// The residue class both x and y lie in (mod gcd of theirs and of their
/// representatives' difference).
void joinCongruence(const AbstractInt &x, const AbstractInt &y, int64_t &mod,
                    int64_t &rem) {
  const i128 diff = static_cast<i128>(rep(x)) - rep(y);
  int64_t m = gcd(x.mod, y.mod);
  if (!fits(diff))
    m = 1;
  else
    m = gcd(m, static_cast<int64_t>(diff));
  mod = m;
  rem = m > 0 ? modFloor(rep(x), m) : 0;
}

AbstractInt join(const AbstractInt &x, const AbstractInt &y) {
  if (x.top || y.top)
    return AbstractInt::any();
  int64_t mod, rem;
  joinCongruence(x, y, mod, rem);
  return AbstractInt::range(std::min(x.lo, y.lo), std::max(x.hi, y.hi), mod,
                            rem);
}

AbstractInt addSub(const AbstractInt &x, const AbstractInt &y, bool sub) {
  if (x.top || y.top)
    return AbstractInt::any();
  const i128 lo =
      sub ? static_cast<i128>(x.lo) - y.hi : static_cast<i128>(x.lo) + y.lo;
  const i128 hi =
      sub ? static_cast<i128>(x.hi) - y.lo : static_cast<i128>(x.hi) + y.hi;
  if (!fits(lo) || !fits(hi))
    return AbstractInt::any();
  const int64_t m = gcd(x.mod, y.mod);
  int64_t rem = 0;
  if (m > 0) {
    // Residues first: no 128-bit division.
    const int64_t a = modFloor(rep(x), m), b = modFloor(rep(y), m);
    i128 r = sub ? static_cast<i128>(a) - b : static_cast<i128>(a) + b;
    if (r >= m)
      r -= m;
    if (r < 0)
      r += m;
    rem = static_cast<int64_t>(r);
  }
  return AbstractInt::range(static_cast<int64_t>(lo), static_cast<int64_t>(hi),
                            m, rem);
}

AbstractInt mul(const AbstractInt &x, const AbstractInt &y) {
  if (x.top || y.top)
    return AbstractInt::any();
  const i128 c[4] = {
      static_cast<i128>(x.lo) * y.lo, static_cast<i128>(x.lo) * y.hi,
      static_cast<i128>(x.hi) * y.lo, static_cast<i128>(x.hi) * y.hi};
  const i128 lo = *std::min_element(c, c + 4), hi = *std::max_element(c, c + 4);
  if (!fits(lo) || !fits(hi))
    return AbstractInt::any();
  int64_t mod = 1, rem = 0;
  const AbstractInt *v = &x, *k = &y;
  if (!k->isConstant())
    std::swap(v, k);
  if (k->isConstant() && v->mod > 0) {
    const i128 m = static_cast<i128>(v->mod) * std::abs(k->lo);
    const i128 r = static_cast<i128>(v->rem) * k->lo;
    if (fits(m) && m > 0) {
      mod = static_cast<int64_t>(m);
      rem = static_cast<int64_t>(((r % m) + m) % m);
    }
  }
  return AbstractInt::range(static_cast<int64_t>(lo), static_cast<int64_t>(hi),
                            mod, rem);
}

bool mayBeZero(const AbstractInt &y) { return y.lo <= 0 && y.hi >= 0; }

AbstractInt div(const AbstractInt &x, const AbstractInt &y) {
  if (x.top || y.top)
    return AbstractInt::any();
  if (y.isConstant() && y.lo == 0)
    return AbstractInt::constant(0); // the kernels' value
  if (mayBeZero(y) || (x.lo == kMin && y.lo <= -1 && y.hi >= -1))
    return AbstractInt::any();
  // Floor division is monotone in each argument on a divisor of one sign:
  // the extremes are at the corners.
  int64_t c[4];
  c[0] = divFloor(x.lo, y.lo);
  c[1] = x.isConstant() ? c[0] : divFloor(x.hi, y.lo);
  c[2] = y.isConstant() ? c[0] : divFloor(x.lo, y.hi);
  c[3] = y.isConstant() ? c[1] : divFloor(x.hi, y.hi);
  int64_t mod = 1, rem = 0;
  if (y.isConstant() && x.mod > 0 && modFloor(x.mod, y.lo) == 0) {
    // x = r + m*t: floor(x / d) = floor(r / d) + (m / d)*t.
    mod = std::abs(x.mod / y.lo);
    rem = mod > 0 ? modFloor(divFloor(x.rem, y.lo), mod) : 0;
  }
  return AbstractInt::range(*std::min_element(c, c + 4),
                            *std::max_element(c, c + 4), mod, rem);
}

AbstractInt mod(const AbstractInt &x, const AbstractInt &y) {
  if (x.top || y.top)
    return AbstractInt::any();
  if (y.isConstant() && y.lo == 0)
    return AbstractInt::constant(0);
  if (mayBeZero(y))
    return AbstractInt::any();
  if (!y.isConstant()) {
    if (y.lo > 0) {
      if (x.lo >= 0 && x.hi < y.lo)
        return x;
      return AbstractInt::range(0, x.lo >= 0 ? std::min(x.hi, y.hi - 1)
                                             : y.hi - 1);
    }
    return AbstractInt::range(y.lo + 1, 0);
  }
  const int64_t d = y.lo;
  if (x.mod == 0 || modFloor(x.mod, d) == 0)
    return AbstractInt::constant(modFloor(rep(x), d));
  if (divFloor(x.lo, d) == divFloor(x.hi, d)) {
    // One block: x mod d = x - d*block, increasing in x.
    const int64_t shift = d * divFloor(x.lo, d);
    AbstractInt r =
        AbstractInt::range(x.lo - shift, x.hi - shift, x.mod,
                           modFloor(x.rem - modFloor(shift, x.mod), x.mod));
    return r;
  }
  const int64_t g = gcd(x.mod, d);
  const int64_t rem = g > 0 ? modFloor(x.rem, g) : 0;
  return d > 0 ? AbstractInt::range(0, d - 1, g, rem)
               : AbstractInt::range(d + 1, 0, g, rem);
}

AbstractInt minMax(const AbstractInt &x, const AbstractInt &y, bool isMin) {
  if (x.top || y.top)
    return AbstractInt::any();
  int64_t m, r;
  joinCongruence(x, y, m, r);
  if (isMin)
    return AbstractInt::range(std::min(x.lo, y.lo), std::min(x.hi, y.hi), m, r);
  return AbstractInt::range(std::max(x.lo, y.lo), std::max(x.hi, y.hi), m, r);
}

AbstractInt compare(PredOp op, const AbstractInt &x, const AbstractInt &y) {
  if (x.top || y.top)
    return AbstractInt::range(0, 1);
  switch (op) {
  case PredOp::Lt:
    return boolean(!(x.hi < y.lo), !(x.lo >= y.hi));
  case PredOp::Le:
    return boolean(!(x.hi <= y.lo), !(x.lo > y.hi));
  case PredOp::Gt:
    return boolean(!(x.lo > y.hi), !(x.hi <= y.lo));
  case PredOp::Ge:
    return boolean(!(x.lo >= y.hi), !(x.hi < y.lo));
  case PredOp::Eq:
  case PredOp::Ne: {
    bool canEqual = !(x.hi < y.lo || y.hi < x.lo);
    if (canEqual) {
      // Different residues modulo a common modulus never meet.
      const int64_t m = gcd(x.mod, y.mod);
      const i128 diff = static_cast<i128>(rep(x)) - rep(y);
      if (m > 0 && fits(diff) && static_cast<int64_t>(diff) % m != 0)
        canEqual = false;
    }
    const bool canDiffer = !(x.isConstant() && y.isConstant() && x.lo == y.lo);
    return op == PredOp::Eq ? boolean(canDiffer, canEqual)
                            : boolean(canEqual, canDiffer);
  }
  default:
    return AbstractInt::range(0, 1);
  }
}

AbstractInt logic(PredOp op, const AbstractInt &x, const AbstractInt &y) {
  auto lo = [](const AbstractInt &v) { return v.top ? 0 : v.lo != 0; };
  auto hi = [](const AbstractInt &v) { return v.top ? 1 : v.hi != 0; };
  switch (op) {
  case PredOp::And:
    return boolean(!(lo(x) && lo(y)), hi(x) && hi(y));
  case PredOp::Or:
    return boolean(!(lo(x) || lo(y)), hi(x) || hi(y));
  default: // Xor
    if (lo(x) == hi(x) && lo(y) == hi(y))
      return AbstractInt::constant(lo(x) != lo(y));
    return AbstractInt::range(0, 1);
  }
}

/// Over this many boxes, a tile is called PARTIAL without looking further
/// (sound; a 128x128 tile needs at most 32767).
constexpr int64_t kBoxBudget = int64_t{1} << 16;
/// Elements per block of an array's running minimum and maximum.
constexpr int64_t kArrayBlock = 64;

} // namespace

AbstractInt AbstractInt::range(int64_t lo, int64_t hi, int64_t mod,
                               int64_t rem) {
  AbstractInt v;
  v.lo = lo;
  v.hi = hi;
  if (mod > 1) {
    // Tighten the ends to the class.
    const i128 l =
        lo + static_cast<i128>(modFloor(rem - modFloor(lo, mod), mod));
    const i128 h =
        hi - static_cast<i128>(modFloor(modFloor(hi, mod) - rem, mod));
    if (l <= h && fits(l) && fits(h)) {
      v.lo = static_cast<int64_t>(l);
      v.hi = static_cast<int64_t>(h);
      v.mod = mod;
      v.rem = modFloor(rem, mod);
    } else {
      v.mod = 1;
    }
  } else {
    v.mod = 1;
  }
  if (v.lo == v.hi) {
    v.mod = 0;
    v.rem = 0;
  }
  return v;
}

bool PredicateProgram::wellFormed() const {
  const int32_t n = static_cast<int32_t>(code.size());
  if (result < 0 || result >= n)
    return false;
  for (int32_t i = 0; i < n; ++i) {
    const PredInstr &p = code[i];
    if (static_cast<int>(p.op) < 0 || p.op > PredOp::Last)
      return false;
    int operands = 2;
    switch (p.op) {
    case PredOp::Const:
    case PredOp::Query:
    case PredOp::Key:
    case PredOp::Symbol:
      operands = 0;
      break;
    case PredOp::Load:
    case PredOp::InArray:
      operands = 1;
      break;
    case PredOp::Select:
      operands = 3;
      break;
    default:
      break;
    }
    const int32_t ops[3] = {p.a, p.b, p.c};
    for (int j = 0; j < operands; ++j)
      if (ops[j] < 0 || ops[j] >= i)
        return false;
    const bool named = p.op == PredOp::Symbol || p.op == PredOp::Load ||
                       p.op == PredOp::InArray;
    if (named && (p.name < 0 || p.name >= static_cast<int32_t>(names.size())))
      return false;
  }
  return true;
}

std::shared_ptr<const TileMask>
TileMask::bind(const PredicateProgram &program,
               const std::map<std::string, int64_t> &values,
               const std::map<std::string, std::vector<int64_t>> &arrays,
               std::string &missing) {
  if (program.empty() || !program.wellFormed()) {
    missing = "(no program)";
    return nullptr;
  }
  auto m = std::make_shared<TileMask>();
  m->code_ = program.code;
  m->names_ = program.names;
  m->result_ = program.result;
  m->constants_.resize(program.code.size());
  m->logical_.assign(program.code.size(), 0);
  for (size_t i = 0; i < program.code.size(); ++i) {
    const PredInstr &p = program.code[i];
    // And/Or/Xor of booleans, and a select whose arms are such booleans or
    // comparisons: their undecided operands are where the blame lies.
    const bool logic =
        p.op == PredOp::And || p.op == PredOp::Or || p.op == PredOp::Xor;
    auto boolean = [&](int32_t j) {
      if (j < 0)
        return false;
      const PredOp o = program.code[j].op;
      return m->logical_[j] || (o >= PredOp::Lt && o <= PredOp::Ne) ||
             o == PredOp::InArray;
    };
    m->logical_[i] =
        logic || (p.op == PredOp::Select && boolean(p.b) && boolean(p.c));
  }
  m->arrays_.resize(program.names.size());
  for (size_t i = 0; i < program.code.size(); ++i) {
    const PredInstr &p = program.code[i];
    if (p.op == PredOp::Const) {
      m->constants_[i] = AbstractInt::constant(p.imm);
    } else if (p.op == PredOp::Symbol) {
      auto it = values.find(program.names[p.name]);
      if (it == values.end()) {
        missing = program.names[p.name];
        return nullptr;
      }
      m->constants_[i] = AbstractInt::constant(it->second);
    } else if (p.op == PredOp::Load || p.op == PredOp::InArray) {
      if (m->arrays_[p.name])
        continue;
      auto it = arrays.find(program.names[p.name]);
      if (it == arrays.end()) {
        missing = program.names[p.name];
        return nullptr;
      }
      auto a = std::make_shared<Array>();
      a->values = it->second;
      a->sorted = a->values;
      std::sort(a->sorted.begin(), a->sorted.end());
      a->sorted.erase(std::unique(a->sorted.begin(), a->sorted.end()),
                      a->sorted.end());
      const int64_t n = static_cast<int64_t>(a->values.size());
      for (int64_t b = 0; b < n; b += kArrayBlock) {
        auto first = a->values.begin() + b;
        auto last = a->values.begin() + std::min(n, b + kArrayBlock);
        a->blockMin.push_back(*std::min_element(first, last));
        a->blockMax.push_back(*std::max_element(first, last));
      }
      if (n > 0) {
        a->min = a->sorted.front();
        a->max = a->sorted.back();
      }
      m->arrays_[p.name] = std::move(a);
    }
  }
  return m;
}

std::shared_ptr<const TileMask> TileMask::mapped(PositionMap q,
                                                 PositionMap k) const {
  auto m = std::make_shared<TileMask>(*this);
  m->qMap_ = q;
  m->kMap_ = k;
  return m;
}

AbstractInt TileMask::load(const Array &a, const AbstractInt &index) const {
  const int64_t n = static_cast<int64_t>(a.values.size());
  if (index.top || n == 0)
    return AbstractInt::range(kMin, n ? std::max<int64_t>(a.max, kMin) : kMin);
  const bool outside = index.lo < 0 || index.hi >= n;
  const int64_t lo = std::max<int64_t>(index.lo, 0);
  const int64_t hi = std::min(index.hi, n - 1);
  if (lo > hi)
    return AbstractInt::constant(kMin);
  AbstractInt v;
  if (lo == hi || (index.mod == 0)) {
    v = AbstractInt::constant(a.values[lo]);
  } else {
    int64_t mn = kMax, mx = kMin;
    const int64_t b0 = lo / kArrayBlock, b1 = hi / kArrayBlock;
    if (b1 - b0 > 4096) {
      mn = a.min;
      mx = a.max;
    } else {
      for (int64_t b = b0; b <= b1; ++b) {
        const bool whole = b * kArrayBlock >= lo &&
                           std::min(n, (b + 1) * kArrayBlock) - 1 <= hi;
        if (whole) {
          mn = std::min(mn, a.blockMin[b]);
          mx = std::max(mx, a.blockMax[b]);
          continue;
        }
        for (int64_t i = std::max(lo, b * kArrayBlock);
             i <= std::min(hi, (b + 1) * kArrayBlock - 1); ++i) {
          mn = std::min(mn, a.values[i]);
          mx = std::max(mx, a.values[i]);
        }
      }
    }
    v = AbstractInt::range(mn, mx);
  }
  if (outside)
    v = join(v, AbstractInt::constant(kMin));
  return v;
}

AbstractInt TileMask::contains(const Array &a, const AbstractInt &x) {
  if (x.top)
    return AbstractInt::range(0, 1);
  auto first = std::lower_bound(a.sorted.begin(), a.sorted.end(), x.lo);
  auto last = std::upper_bound(a.sorted.begin(), a.sorted.end(), x.hi);
  const i128 members = last - first;
  if (members == 0)
    return AbstractInt::constant(0);
  if (members == static_cast<i128>(x.hi) - x.lo + 1)
    return AbstractInt::constant(1); // every integer of the range
  if (x.isConstant())
    return AbstractInt::constant(1);
  return AbstractInt::range(0, 1);
}

namespace {
/// Per-instruction values of the evaluation in progress on this thread.
std::vector<AbstractInt> &scratch() {
  thread_local std::vector<AbstractInt> v;
  return v;
}
} // namespace

AbstractInt TileMask::valueOf(int32_t instr) const {
  if (instr < 0 || instr >= static_cast<int32_t>(code_.size()))
    return AbstractInt::any();
  evaluate(0, 0, 0, 0);
  return scratch()[instr];
}

std::string TileMask::fingerprint() const {
  for (const auto &a : arrays_)
    if (a)
      return "";
  // The program is the schedule's own (one per pattern): what differs
  // between heads is the position maps and the values that reach the part
  // of the program reading q or k (`h % 8`, not h: heads 0 and 8 alike).
  std::string out =
      std::to_string(qMap_.scale) + " " + std::to_string(qMap_.offset) + " " +
      std::to_string(kMap_.scale) + " " + std::to_string(kMap_.offset) + ":";
  const size_t n = code_.size();
  std::vector<uint8_t> positional(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const PredInstr &p = code_[i];
    positional[i] = p.op == PredOp::Query || p.op == PredOp::Key;
    for (int32_t j : {p.a, p.b, p.c})
      positional[i] |= j >= 0 && positional[j];
  }
  evaluate(0, 0, 0, 0); // every value free of q and k, exactly
  const std::vector<AbstractInt> &v = scratch();
  auto value = [&](int32_t j) {
    out += std::to_string(j) + "=" +
           (v[j].isConstant() ? std::to_string(v[j].lo) : "?") + ",";
    return v[j].isConstant();
  };
  for (size_t i = 0; i < n; ++i) {
    const PredInstr &p = code_[i];
    if (!positional[i])
      continue;
    for (int32_t j : {p.a, p.b, p.c})
      if (j >= 0 && !positional[j] && !value(j))
        return "";
  }
  if (!positional[result_] && !value(result_))
    return "";
  return out;
}

AbstractInt TileMask::evaluate(int64_t q0, int64_t q1, int64_t k0,
                               int64_t k1) const {
  std::vector<AbstractInt> &v = scratch();
  v.resize(code_.size());
  auto position = [](const PositionMap &m, int64_t i0, int64_t i1) {
    const i128 lo = static_cast<i128>(m.scale) * i0 + m.offset;
    const i128 hi = static_cast<i128>(m.scale) * i1 + m.offset;
    if (!fits(lo) || !fits(hi))
      return AbstractInt::any();
    return AbstractInt::range(
        static_cast<int64_t>(lo), static_cast<int64_t>(hi), m.scale,
        modFloor(m.offset, std::max<int64_t>(m.scale, 1)));
  };
  for (size_t i = 0; i < code_.size(); ++i) {
    const PredInstr &p = code_[i];
    auto A = [&]() -> const AbstractInt & { return v[p.a]; };
    auto B = [&]() -> const AbstractInt & { return v[p.b]; };
    switch (p.op) {
    case PredOp::Const:
    case PredOp::Symbol:
      v[i] = constants_[i];
      break;
    case PredOp::Query:
      v[i] = position(qMap_, q0, q1);
      break;
    case PredOp::Key:
      v[i] = position(kMap_, k0, k1);
      break;
    case PredOp::Load:
      v[i] = load(*arrays_[p.name], A());
      break;
    case PredOp::InArray:
      v[i] = contains(*arrays_[p.name], A());
      break;
    case PredOp::Add:
    case PredOp::Sub:
      v[i] = addSub(A(), B(), p.op == PredOp::Sub);
      break;
    case PredOp::Mul:
      v[i] = mul(A(), B());
      break;
    case PredOp::Div:
      v[i] = div(A(), B());
      break;
    case PredOp::Mod:
      v[i] = mod(A(), B());
      break;
    case PredOp::Min:
    case PredOp::Max:
      v[i] = minMax(A(), B(), p.op == PredOp::Min);
      break;
    case PredOp::Lt:
    case PredOp::Le:
    case PredOp::Gt:
    case PredOp::Ge:
    case PredOp::Eq:
    case PredOp::Ne:
      v[i] = compare(p.op, A(), B());
      break;
    case PredOp::And:
    case PredOp::Or:
    case PredOp::Xor:
      v[i] = logic(p.op, A(), B());
      break;
    case PredOp::Select: {
      const AbstractInt &c = A();
      if (!c.top && c.lo == c.hi)
        v[i] = c.lo != 0 ? B() : v[p.c];
      else
        v[i] = join(B(), v[p.c]);
      break;
    }
    }
  }
  return v[result_];
}

namespace {
/// Per-instruction values of a single pair's evaluation, with whether each
/// is "any value" (an overflow or a division by zero on the way).
struct PairScratch {
  std::vector<int64_t> value;
  std::vector<uint8_t> top;
};
PairScratch &pairScratch() {
  thread_local PairScratch s;
  return s;
}
} // namespace

bool TileMask::evaluatePair(int64_t qi, int64_t ki, int64_t &out) const {
  // The abstract domain's answer on a box of one pair, on plain integers:
  // each rule below is that domain's rule for constants, at a fraction of
  // the cost (the probes and the splitting's last level are half the exact
  // tier's evaluations). Where nothing overflows or divides by zero the
  // value is the same; past such an operation this says "unknown" where the
  // domain may still narrow an interval (sound either way, and binding
  // rejects a shape where the evaluator would trap). A unit test holds the
  // two to each other.
  PairScratch &s = pairScratch();
  const size_t n = code_.size();
  s.value.resize(n);
  s.top.resize(n);
  int64_t *v = s.value.data();
  uint8_t *t = s.top.data();
  auto position = [](const PositionMap &m, int64_t i, int64_t &p) {
    const i128 x = static_cast<i128>(m.scale) * i + m.offset;
    p = static_cast<int64_t>(x);
    return !fits(x);
  };
  auto result = [&](size_t i, i128 x) {
    t[i] = !fits(x);
    v[i] = t[i] ? 0 : static_cast<int64_t>(x);
  };
  for (size_t i = 0; i < n; ++i) {
    const PredInstr &p = code_[i];
    const int32_t a = p.a, b = p.b;
    switch (p.op) {
    case PredOp::Const:
    case PredOp::Symbol:
      t[i] = !constants_[i].isConstant();
      v[i] = constants_[i].lo;
      continue;
    case PredOp::Query:
      t[i] = position(qMap_, qi, v[i]);
      continue;
    case PredOp::Key:
      t[i] = position(kMap_, ki, v[i]);
      continue;
    case PredOp::And:
    case PredOp::Or: {
      const bool isAnd = p.op == PredOp::And;
      // A known operand that decides the result decides it, whatever the
      // other one is.
      const bool decides =
          (!t[a] && (v[a] != 0) != isAnd) || (!t[b] && (v[b] != 0) != isAnd);
      t[i] = !decides && (t[a] || t[b]);
      v[i] = decides ? !isAnd : isAnd;
      continue;
    }
    case PredOp::Select:
      if (!t[a]) {
        const int32_t arm = v[a] != 0 ? b : p.c;
        t[i] = t[arm];
        v[i] = v[arm];
      } else {
        t[i] = t[b] || t[p.c] || v[b] != v[p.c];
        v[i] = v[b];
      }
      continue;
    default:
      break;
    }
    // The rest is "any value" when an operand is.
    if (t[a] || (b >= 0 && t[b])) {
      t[i] = 1;
      v[i] = 0;
      continue;
    }
    const int64_t x = v[a], y = b >= 0 ? v[b] : 0;
    t[i] = 0;
    switch (p.op) {
    case PredOp::Load: {
      const Array &arr = *arrays_[p.name];
      const int64_t size = static_cast<int64_t>(arr.values.size());
      v[i] = x >= 0 && x < size ? arr.values[x] : kMin;
      break;
    }
    case PredOp::InArray:
      v[i] = std::binary_search(arrays_[p.name]->sorted.begin(),
                                arrays_[p.name]->sorted.end(), x);
      break;
    case PredOp::Add:
      result(i, static_cast<i128>(x) + y);
      break;
    case PredOp::Sub:
      result(i, static_cast<i128>(x) - y);
      break;
    case PredOp::Mul:
      result(i, static_cast<i128>(x) * y);
      break;
    case PredOp::Div:
      if (y == 0)
        v[i] = 0; // the kernels' value
      else if (x == kMin && y == -1)
        t[i] = 1;
      else
        v[i] = divFloor(x, y);
      break;
    case PredOp::Mod:
      v[i] = y == 0 ? 0 : modFloor(x, y);
      break;
    case PredOp::Min:
      v[i] = std::min(x, y);
      break;
    case PredOp::Max:
      v[i] = std::max(x, y);
      break;
    case PredOp::Lt:
      v[i] = x < y;
      break;
    case PredOp::Le:
      v[i] = x <= y;
      break;
    case PredOp::Gt:
      v[i] = x > y;
      break;
    case PredOp::Ge:
      v[i] = x >= y;
      break;
    case PredOp::Eq:
      v[i] = x == y;
      break;
    case PredOp::Ne:
      v[i] = x != y;
      break;
    default: // Xor
      v[i] = (x != 0) != (y != 0);
      break;
    }
  }
  out = v[result_];
  return !t[result_];
}

int TileMask::split(int64_t q0, int64_t q1, int64_t k0, int64_t k1, int seen,
                    TileDecisionStats &stats, int64_t &budget) const {
  if (--budget < 0)
    return 3;
  if (q0 == q1 && k0 == k1)
    return probe(q0, k0, seen, stats, budget);
  ++stats.boxes;
  const AbstractInt r = evaluate(q0, q1, k0, k1);
  if (!r.top && r.lo == r.hi)
    return seen | (r.lo != 0 ? 1 : 2);
  // The centre pair of an undecided box: mixed boxes hold both kinds near
  // their middle far more often than at a half's border, so one exact
  // evaluation here often ends the search a few levels early.
  seen = probe(q0 + (q1 - q0) / 2, k0 + (k1 - k0) / 2, seen, stats, budget);
  if (seen == 3)
    return 3;
  return halves(q0, q1, k0, k1, seen, stats, budget);
}

int TileMask::probe(int64_t q, int64_t k, int seen, TileDecisionStats &stats,
                    int64_t &budget) const {
  --budget;
  ++stats.boxes;
  int64_t v = 0;
  if (!evaluatePair(q, k, v)) {
    ++stats.pairs;
    return 3; // a value the domain cannot know: either
  }
  return seen | (v != 0 ? 1 : 2);
}

int TileMask::halves(int64_t q0, int64_t q1, int64_t k0, int64_t k1, int seen,
                     TileDecisionStats &stats, int64_t &budget) const {
  if (q1 - q0 >= k1 - k0) {
    const int64_t mid = q0 + (q1 - q0) / 2;
    seen = split(q0, mid, k0, k1, seen, stats, budget);
    return seen == 3 ? 3 : split(mid + 1, q1, k0, k1, seen, stats, budget);
  }
  const int64_t mid = k0 + (k1 - k0) / 2;
  seen = split(q0, q1, k0, mid, seen, stats, budget);
  return seen == 3 ? 3 : split(q0, q1, mid + 1, k1, seen, stats, budget);
}

void TileDecisionStats::merge(const TileDecisionStats &o) {
  boxes += o.boxes;
  pairs += o.pairs;
  splitTiles += o.splitTiles;
  refinedTiles += o.refinedTiles;
  domainTiles += o.domainTiles;
  if (blame.size() < o.blame.size())
    blame.resize(o.blame.size());
  for (size_t i = 0; i < o.blame.size(); ++i)
    blame[i] += o.blame[i];
}

void TileMask::blameUndecided(std::vector<int64_t> &blame) const {
  const std::vector<AbstractInt> &v = scratch();
  const int32_t n = static_cast<int32_t>(code_.size());
  if (static_cast<int32_t>(blame.size()) < n)
    blame.resize(n);
  auto undecided = [&](int32_t i) {
    return i >= 0 && (v[i].top || v[i].lo != v[i].hi);
  };
  std::vector<uint8_t> seen(static_cast<size_t>(n), 0);
  std::vector<int32_t> stack{result_};
  while (!stack.empty()) {
    const int32_t i = stack.back();
    stack.pop_back();
    if (!undecided(i) || seen[i])
      continue;
    seen[i] = 1;
    const PredInstr &p = code_[i];
    if (!logical_[i]) {
      ++blame[i]; // a comparison (or a value) the domain cannot settle
      continue;
    }
    for (int32_t operand : {p.a, p.b, p.c})
      stack.push_back(operand);
  }
}

int TileMask::classify(int64_t q0, int64_t q1, int64_t k0, int64_t k1,
                       TileDecisionStats *stats) const {
  TileDecisionStats local;
  TileDecisionStats &s = stats ? *stats : local;
  int64_t budget = kBoxBudget - 1;
  ++s.boxes;
  const AbstractInt whole = evaluate(q0, q1, k0, k1);
  if (!whole.top && whole.lo == whole.hi) {
    ++s.domainTiles;
    return whole.lo != 0 ? 1 : 2;
  }
  if (!s.blame.empty())
    blameUndecided(s.blame);
  ++s.splitTiles;
  if (q0 == q1 && k0 == k1) {
    ++s.pairs;
    return 3;
  }
  // A box the domain cannot decide is most often a mixed one, and a few
  // single pairs (its centre and corners) then show an allowed and a masked
  // pair at once, where halving needs tens of evaluations to reach boxes
  // small enough to decide. (Each pair is exact: a known fact either way.)
  const int64_t qm = q0 + (q1 - q0) / 2, km = k0 + (k1 - k0) / 2;
  const int64_t probes[5][2] = {
      {qm, km}, {q0, k0}, {q1, k1}, {q0, k1}, {q1, k0}};
  int seen = 0;
  for (const auto &pair : probes) {
    seen = probe(pair[0], pair[1], seen, s, budget);
    if (seen == 3)
      return 3;
  }
  return halves(q0, q1, k0, k1, seen, s, budget);
}

} // namespace maskjit

namespace maskjit {

int32_t TileMask::firstPossibleTrap(const std::vector<AbstractInt> &v,
                                    std::string &what) const {
  const int32_t n = static_cast<int32_t>(code_.size());
  // What the evaluator reaches: operands of what it reaches, less the arms
  // a decided condition rules out.
  std::vector<uint8_t> reached(static_cast<size_t>(n), 0);
  reached[result_] = 1;
  auto decided = [&](int32_t i) { return !v[i].top && v[i].lo == v[i].hi; };
  for (int32_t i = result_; i >= 0; --i) {
    if (!reached[i])
      continue;
    const PredInstr &p = code_[i];
    switch (p.op) {
    case PredOp::Const:
    case PredOp::Query:
    case PredOp::Key:
    case PredOp::Symbol:
      break;
    case PredOp::Load:
    case PredOp::InArray:
      reached[p.a] = 1;
      break;
    case PredOp::Select:
      reached[p.a] = 1;
      if (!decided(p.a) || v[p.a].lo != 0)
        reached[p.b] = 1;
      if (!decided(p.a) || v[p.a].lo == 0)
        reached[p.c] = 1;
      break;
    case PredOp::And:
    case PredOp::Or:
      reached[p.a] = 1;
      if (!decided(p.a) || (v[p.a].lo != 0) == (p.op == PredOp::And))
        reached[p.b] = 1;
      break;
    default:
      reached[p.a] = 1;
      reached[p.b] = 1;
      break;
    }
  }
  auto text = [](const AbstractInt &x) {
    return x.isConstant()
               ? std::to_string(x.lo)
               : "[" + std::to_string(x.lo) + ", " + std::to_string(x.hi) + "]";
  };
  for (int32_t i = 0; i <= result_; ++i) {
    if (!reached[i])
      continue;
    const PredInstr &p = code_[i];
    switch (p.op) {
    case PredOp::Add:
    case PredOp::Sub:
    case PredOp::Mul: {
      const AbstractInt &x = v[p.a], &y = v[p.b];
      if (x.top || y.top)
        break; // an earlier instruction is the one that may trap
      i128 lo, hi;
      if (p.op == PredOp::Mul) {
        const i128 c[4] = {
            static_cast<i128>(x.lo) * y.lo, static_cast<i128>(x.lo) * y.hi,
            static_cast<i128>(x.hi) * y.lo, static_cast<i128>(x.hi) * y.hi};
        lo = *std::min_element(c, c + 4);
        hi = *std::max_element(c, c + 4);
      } else if (p.op == PredOp::Add) {
        lo = static_cast<i128>(x.lo) + y.lo;
        hi = static_cast<i128>(x.hi) + y.hi;
      } else {
        lo = static_cast<i128>(x.lo) - y.hi;
        hi = static_cast<i128>(x.hi) - y.lo;
      }
      if (fits(lo) && fits(hi))
        break;
      const char *sign = p.op == PredOp::Add   ? " + "
                         : p.op == PredOp::Sub ? " - "
                                               : " * ";
      what = "integer overflow (" + text(x) + sign + text(y) + ")";
      return i;
    }
    case PredOp::Div:
    case PredOp::Mod: {
      const AbstractInt &x = v[p.a], &y = v[p.b];
      if (x.top || y.top)
        break;
      if (mayBeZero(y)) {
        what = p.op == PredOp::Div ? "division by zero" : "modulo by zero";
        return i;
      }
      if (p.op == PredOp::Div && x.lo == kMin && y.lo <= -1 && y.hi >= -1) {
        what = "integer overflow (" + text(x) + " / " + text(y) + ")";
        return i;
      }
      break;
    }
    case PredOp::Load: {
      const AbstractInt &x = v[p.a];
      const int64_t size = static_cast<int64_t>(arrays_[p.name]->values.size());
      if (x.top || (x.lo >= 0 && x.hi < size))
        break;
      what = "index " + text(x) + " is out of range for `" + names_[p.name] +
             "` (it has " + std::to_string(size) + " values)";
      return i;
    }
    default:
      break;
    }
  }
  return -1;
}

int TileMask::searchTrap(int64_t q0, int64_t q1, int64_t k0, int64_t k1,
                         PredicateTrap &trap, int64_t &budget) const {
  if (--budget < 0)
    return -1;
  evaluate(q0, q1, k0, k1);
  const std::vector<AbstractInt> v = scratch(); // splitting reuses scratch
  std::string what;
  const int32_t at = firstPossibleTrap(v, what);
  if (at < 0)
    return 0;
  if (q0 == q1 && k0 == k1) {
    // One pair: every value is exact, so the trap is certain.
    trap.instr = at;
    trap.q = qMap_.scale * q0 + qMap_.offset;
    trap.k = kMap_.scale * k0 + kMap_.offset;
    trap.what = what;
    return 1;
  }
  int unknown = 0;
  auto half = [&](int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
    const int r = searchTrap(a0, a1, b0, b1, trap, budget);
    unknown |= r < 0;
    return r == 1;
  };
  if (q1 - q0 >= k1 - k0) {
    const int64_t mid = q0 + (q1 - q0) / 2;
    if (half(q0, mid, k0, k1) || half(mid + 1, q1, k0, k1))
      return 1;
  } else {
    const int64_t mid = k0 + (k1 - k0) / 2;
    if (half(q0, q1, k0, mid) || half(q0, q1, mid + 1, k1))
      return 1;
  }
  return unknown ? -1 : 0;
}

int TileMask::findTrap(int64_t q0, int64_t q1, int64_t k0, int64_t k1,
                       PredicateTrap &trap, int64_t boxBudget) const {
  if (q0 > q1 || k0 > k1)
    return 0;
  int64_t budget = boxBudget;
  return searchTrap(q0, q1, k0, k1, trap, budget);
}

} // namespace maskjit
