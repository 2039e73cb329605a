#include "runtime/formats/checkpoint/pickle.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "platform/base/byte_reader.h"

namespace floe {

const std::vector<std::string>& TorchPickleGlobals() {
  static const std::vector<std::string> kGlobals = {
      "collections.OrderedDict",
      "torch._utils._rebuild_tensor_v2",
      "torch._utils._rebuild_parameter",
      "torch.FloatStorage",
      "torch.HalfStorage",
      "torch.BFloat16Storage",
      "torch.DoubleStorage",
      "torch.LongStorage",
      "torch.IntStorage",
      "torch.ShortStorage",
      "torch.CharStorage",
      "torch.ByteStorage",
      "torch.BoolStorage",
  };
  return kGlobals;
}

const char* PickleKindName(PickleValue::Kind kind) {
  using K = PickleValue::Kind;
  switch (kind) {
    case K::kNone:
      return "None";
    case K::kBool:
      return "bool";
    case K::kInt:
      return "int";
    case K::kFloat:
      return "float";
    case K::kString:
      return "str";
    case K::kTuple:
      return "tuple";
    case K::kList:
      return "list";
    case K::kDict:
      return "dict";
    case K::kGlobal:
      return "global";
    case K::kObject:
      return "object";
    case K::kPersistent:
      return "persistent id";
  }
  return "?";
}

namespace {

using K = PickleValue::Kind;

class Vm {
 public:
  Vm(const uint8_t* data, size_t size, const std::vector<std::string>& allowed,
     const PickleLimits& limits)
      : r_(data, size), allowed_(allowed), limits_(limits) {}

  Result<Pickle> Run() {
    while (true) {
      op_offset_ = r_.offset();
      uint8_t op = 0;
      FLOE_RETURN_IF_ERROR(r_.Read(&op, "pickle opcode (no STOP)"));
      if (op == '.') {  // STOP
        FLOE_ASSIGN_OR_RETURN(const uint32_t root, Pop());
        out_.root = root;
        return std::move(out_);
      }
      FLOE_RETURN_IF_ERROR(Step(op));
    }
  }

 private:
  Status Error(const std::string& what) const {
    return CorruptData("pickle: " + what + " at byte " + std::to_string(op_offset_));
  }
  // Where popping must stop: the newest MARK (values below it belong to the enclosing level).
  size_t Fence() const { return marks_.empty() ? 0 : marks_.back(); }

  Result<uint32_t> New(PickleValue v) {
    if (out_.values.size() >= limits_.max_values) return Error("too many values");
    out_.values.push_back(std::move(v));
    return uint32_t(out_.values.size() - 1);
  }
  Status Push(uint32_t index) {
    if (stack_.size() >= limits_.max_stack) return Error("stack too deep");
    stack_.push_back(index);
    return Status::Ok();
  }
  Status PushNew(PickleValue v) {
    FLOE_ASSIGN_OR_RETURN(const uint32_t index, New(std::move(v)));
    return Push(index);
  }
  Result<uint32_t> Pop() {
    if (stack_.size() <= Fence()) return Error("stack underflow");
    const uint32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Result<uint32_t> Top() const {
    if (stack_.size() <= Fence()) return Error("stack underflow");
    return stack_.back();
  }
  // Pops the newest MARK and returns the stack position it recorded.
  Result<size_t> PopMark() {
    if (marks_.empty()) return Error("no MARK");
    const size_t k = marks_.back();
    marks_.pop_back();
    return k;
  }
  PickleValue& At(uint32_t i) { return out_.values[i]; }

  static PickleValue Int(int64_t i) {
    PickleValue v;
    v.kind = K::kInt;
    v.i = i;
    return v;
  }
  static PickleValue Str(std::string s, K kind = K::kString) {
    PickleValue v;
    v.kind = kind;
    v.str = std::move(s);
    return v;
  }
  static PickleValue Seq(K kind, std::vector<uint32_t> items) {
    PickleValue v;
    v.kind = kind;
    v.items = std::move(items);
    return v;
  }

  Status TupleOf(size_t n) {
    if (stack_.size() - Fence() < n) return Error("stack underflow");
    std::vector<uint32_t> items(stack_.end() - ptrdiff_t(n), stack_.end());
    stack_.resize(stack_.size() - n);
    return PushNew(Seq(K::kTuple, std::move(items)));
  }
  Status String(uint64_t n) {
    if (n > r_.remaining()) return Error("string runs past the end");
    std::string s;
    FLOE_RETURN_IF_ERROR(r_.ReadString(size_t(n), &s, "pickle string"));
    return PushNew(Str(std::move(s)));
  }
  Status Global(std::string module, std::string name) {
    std::string full = module + "." + name;
    if (std::find(allowed_.begin(), allowed_.end(), full) == allowed_.end())
      return Unsupported("pickle: global '" + full + "' at byte " + std::to_string(op_offset_) +
                         " is not allowed (only tensor state dicts are supported)");
    return PushNew(Str(std::move(full), K::kGlobal));
  }
  Result<std::string> Line() {
    const uint8_t* start = r_.data() + r_.offset();
    const void* nl = std::memchr(start, '\n', r_.remaining());
    if (nl == nullptr) return Error("GLOBAL name without newline");
    const size_t n = size_t(static_cast<const uint8_t*>(nl) - start);
    std::string s;
    FLOE_RETURN_IF_ERROR(r_.ReadString(n, &s, "GLOBAL name"));
    FLOE_RETURN_IF_ERROR(r_.Skip(1, "newline"));
    return s;
  }
  Status Put(uint32_t key) {
    FLOE_ASSIGN_OR_RETURN(const uint32_t top, Top());
    if (memo_.size() >= limits_.max_memo && !memo_.count(key)) return Error("memo too large");
    memo_[key] = top;
    return Status::Ok();
  }
  Status Get(uint32_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) return Error("memo key " + std::to_string(key) + " was never stored");
    return Push(it->second);
  }
  // SETITEMS / APPENDS: moves stack[k..] into the container just below the mark.
  Status AddItems(K want, size_t k) {
    if (k == 0 || k - 1 < Fence() || k > stack_.size()) return Error("no container below MARK");
    PickleValue& c = At(stack_[k - 1]);
    if (c.kind != want)
      return Error(std::string("cannot add items to a ") + PickleKindName(c.kind));
    if (want == K::kDict && (stack_.size() - k) % 2 != 0)
      return Error("odd number of SETITEMS values");
    c.items.insert(c.items.end(), stack_.begin() + ptrdiff_t(k), stack_.end());
    stack_.resize(k);
    return Status::Ok();
  }

  Status Step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        uint8_t v = 0;
        FLOE_RETURN_IF_ERROR(r_.Read(&v, "protocol"));
        if (v > 5) return Unsupported("pickle: protocol " + std::to_string(v));
        return Status::Ok();
      }
      case 0x95: {  // FRAME: framing is only a buffering hint
        uint64_t n = 0;
        FLOE_RETURN_IF_ERROR(r_.Read(&n, "frame length"));
        if (n > r_.remaining()) return Error("frame runs past the end");
        return Status::Ok();
      }
      case '}':
        return PushNew(Seq(K::kDict, {}));
      case ']':
        return PushNew(Seq(K::kList, {}));
      case ')':
        return PushNew(Seq(K::kTuple, {}));
      case 0x85:
        return TupleOf(1);
      case 0x86:
        return TupleOf(2);
      case 0x87:
        return TupleOf(3);
      case 't': {
        FLOE_ASSIGN_OR_RETURN(const size_t k, PopMark());
        return TupleOf(stack_.size() - k);
      }
      case '(':
        if (marks_.size() >= limits_.max_marks) return Error("MARKs nested too deeply");
        marks_.push_back(stack_.size());
        return Status::Ok();
      case 'X': {
        uint32_t n = 0;
        FLOE_RETURN_IF_ERROR(r_.Read(&n, "string length"));
        return String(n);
      }
      case 0x8c: {
        uint8_t n = 0;
        FLOE_RETURN_IF_ERROR(r_.Read(&n, "string length"));
        return String(n);
      }
      case 0x8d: {
        uint64_t n = 0;
        FLOE_RETURN_IF_ERROR(r_.Read(&n, "string length"));
        return String(n);
      }
      case 'J': {
        int32_t v = 0;
        FLOE_RETURN_IF_ERROR(r_.Read(&v, "BININT"));
        return PushNew(Int(v));
      }
      case 'K': {
        uint8_t v = 0;
        FLOE_RETURN_IF_ERROR(r_.Read(&v, "BININT1"));
        return PushNew(Int(v));
      }
      case 'M': {
        uint16_t v = 0;
        FLOE_RETURN_IF_ERROR(r_.Read(&v, "BININT2"));
        return PushNew(Int(v));
      }
      case 0x8a: {  // LONG1: n-byte little-endian two's complement
        uint8_t n = 0;
        const uint8_t* p = nullptr;
        FLOE_RETURN_IF_ERROR(r_.Read(&n, "LONG1 length"));
        FLOE_RETURN_IF_ERROR(r_.ReadBytes(n, &p, "LONG1"));
        if (n > 8)
          return Unsupported("pickle: integer wider than 64 bits at byte " +
                             std::to_string(op_offset_));
        uint64_t u = 0;
        for (int j = n - 1; j >= 0; --j) u = (u << 8) | p[j];
        if (n > 0 && n < 8 && (p[n - 1] & 0x80)) u |= ~uint64_t(0) << (8 * n);  // sign-extend
        return PushNew(Int(int64_t(u)));
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        uint8_t b[8] = {};
        FLOE_RETURN_IF_ERROR(r_.Read(&b, "BINFLOAT"));
        uint64_t u = 0;
        for (uint8_t x : b) u = (u << 8) | x;
        PickleValue v;
        v.kind = K::kFloat;
        std::memcpy(&v.f, &u, 8);
        return PushNew(std::move(v));
      }
      case 0x88:
      case 0x89: {
        PickleValue v;
        v.kind = K::kBool;
        v.b = op == 0x88;
        return PushNew(std::move(v));
      }
      case 'N':
        return PushNew(PickleValue{});
      case 'q': {
        uint8_t k = 0;
        FLOE_RETURN_IF_ERROR(r_.Read(&k, "BINPUT"));
        return Put(k);
      }
      case 'r': {
        uint32_t k = 0;
        FLOE_RETURN_IF_ERROR(r_.Read(&k, "LONG_BINPUT"));
        return Put(k);
      }
      case 0x94:
        return Put(uint32_t(std::min<size_t>(memo_.size(), UINT32_MAX)));  // MEMOIZE
      case 'h': {
        uint8_t k = 0;
        FLOE_RETURN_IF_ERROR(r_.Read(&k, "BINGET"));
        return Get(k);
      }
      case 'j': {
        uint32_t k = 0;
        FLOE_RETURN_IF_ERROR(r_.Read(&k, "LONG_BINGET"));
        return Get(k);
      }
      case 's': {  // SETITEM
        if (stack_.size() - Fence() < 3) return Error("stack underflow");
        return AddItems(K::kDict, stack_.size() - 2);
      }
      case 'u': {
        FLOE_ASSIGN_OR_RETURN(const size_t k, PopMark());
        return AddItems(K::kDict, k);
      }
      case 'a': {  // APPEND
        if (stack_.size() - Fence() < 2) return Error("stack underflow");
        return AddItems(K::kList, stack_.size() - 1);
      }
      case 'e': {
        FLOE_ASSIGN_OR_RETURN(const size_t k, PopMark());
        return AddItems(K::kList, k);
      }
      case 'c': {  // GLOBAL "module\nname\n"
        FLOE_ASSIGN_OR_RETURN(std::string module, Line());
        FLOE_ASSIGN_OR_RETURN(std::string name, Line());
        return Global(std::move(module), std::move(name));
      }
      case 0x93: {  // STACK_GLOBAL
        FLOE_ASSIGN_OR_RETURN(const uint32_t name, Pop());
        FLOE_ASSIGN_OR_RETURN(const uint32_t module, Pop());
        if (At(name).kind != K::kString || At(module).kind != K::kString)
          return Error("STACK_GLOBAL needs two strings");
        return Global(At(module).str, At(name).str);
      }
      case 'R': {  // REDUCE: callable(*args), recorded, not called
        FLOE_ASSIGN_OR_RETURN(const uint32_t args, Pop());
        FLOE_ASSIGN_OR_RETURN(const uint32_t callable, Pop());
        if (At(callable).kind != K::kGlobal) return Error("REDUCE of a non-global");
        if (At(args).kind != K::kTuple) return Error("REDUCE arguments are not a tuple");
        if (At(callable).str == "collections.OrderedDict" && At(args).items.empty())
          return PushNew(Seq(K::kDict, {}));
        return PushNew(Seq(K::kObject, {callable, args}));
      }
      case 'b': {  // BUILD: the state (OrderedDict attributes, ...) is dropped
        FLOE_ASSIGN_OR_RETURN(const uint32_t state, Pop());
        (void)state;
        FLOE_ASSIGN_OR_RETURN(const uint32_t target, Top());
        if (At(target).kind != K::kDict && At(target).kind != K::kObject)
          return Error(std::string("BUILD on a ") + PickleKindName(At(target).kind));
        return Status::Ok();
      }
      case 'Q': {  // BINPERSID
        FLOE_ASSIGN_OR_RETURN(const uint32_t pid, Pop());
        return PushNew(Seq(K::kPersistent, {pid}));
      }
      default: {
        static const char kHex[] = "0123456789abcdef";
        return Unsupported(std::string("pickle: unsupported opcode 0x") + kHex[op >> 4] +
                           kHex[op & 15] + " at byte " + std::to_string(op_offset_));
      }
    }
  }

  ByteReader r_;
  const std::vector<std::string>& allowed_;
  const PickleLimits limits_;
  size_t op_offset_ = 0;
  Pickle out_;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, uint32_t> memo_;
};

}  // namespace

Result<Pickle> ParsePickle(const uint8_t* data, size_t size,
                           const std::vector<std::string>& allowed_globals,
                           const PickleLimits& limits) {
  return Vm(data, size, allowed_globals, limits).Run();
}

}  // namespace floe
