#include "runtime/formats/checkpoint/torch_checkpoint.h"

#include <cstring>
#include <string>
#include <unordered_set>

#include "runtime/formats/checkpoint/pickle.h"
#include "runtime/formats/checkpoint/zip_reader.h"

namespace floe {

namespace {

using K = PickleValue::Kind;

// Legacy torch.save (before 1.6) files start with a pickled magic number (protocol 2: 0x80 0x02);
// the even older format is a tar archive ("ustar" at byte 257).
bool LooksLikeLegacyTorch(const uint8_t* data, size_t size) {
  if (size >= 2 && data[0] == 0x80 && data[1] >= 2 && data[1] <= 5) return true;
  return size >= 262 && std::memcmp(data + 257, "ustar", 5) == 0;
}

// `<prefix>/data.pkl` with a one-component prefix; empty when there is none.
std::string_view FindPrefix(const ZipArchive& zip) {
  constexpr std::string_view kPkl = "/data.pkl";
  for (const ZipEntry& e : zip.entries()) {
    const std::string_view n = e.name;
    if (n.size() > kPkl.size() && n.ends_with(kPkl)) {
      const std::string_view prefix = n.substr(0, n.size() - kPkl.size());
      if (prefix.find('/') == std::string_view::npos) return prefix;
    }
  }
  return {};
}

class TensorBuilder {
 public:
  TensorBuilder(const Pickle& p, const ZipArchive& zip, std::string_view prefix)
      : p_(p), zip_(zip), prefix_(prefix) {}

  // Turns a state-dict value into a tensor named `name`.
  Status Build(const std::string& name, uint32_t index, NamedTensor* out) {
    name_ = name;
    const PickleValue* v = &p_.at(index);
    if (IsCall(*v, "torch._utils._rebuild_parameter")) {
      const PickleValue& args = Args(*v);
      if (args.items.empty()) return Corrupt("_rebuild_parameter without arguments");
      v = &p_.at(args.items[0]);
    }
    if (!IsCall(*v, "torch._utils._rebuild_tensor_v2"))
      return Unsupported("torch checkpoint: value of '" + name + "' is " + Describe(*v) +
                         ", not a tensor");
    const PickleValue& args = Args(*v);
    if (args.items.size() < 4) return Corrupt("_rebuild_tensor_v2 has too few arguments");
    const PickleValue& offset = p_.at(args.items[1]);
    if (offset.kind != K::kInt || offset.i < 0)
      return Corrupt("storage offset is not a non-negative int");
    std::vector<uint64_t> size, stride;
    FLOE_RETURN_IF_ERROR(Ints(p_.at(args.items[2]), "size", &size));
    FLOE_RETURN_IF_ERROR(Ints(p_.at(args.items[3]), "stride", &stride));
    if (size.size() != stride.size()) return Corrupt("size and stride have different ranks");

    uint64_t storage_numel = 0;
    FLOE_RETURN_IF_ERROR(Storage(p_.at(args.items[0]), out, &storage_numel));
    uint64_t numel = 1, expect = 1;
    bool contiguous = true;
    for (size_t d = size.size(); d-- > 0;) {
      if (size[d] != 1 && stride[d] != expect) contiguous = false;
      if (__builtin_mul_overflow(expect, size[d], &expect)) return Corrupt("shape overflows");
    }
    numel = expect;
    if (!contiguous && numel != 0)
      return Unsupported("torch checkpoint: tensor '" + name + "' is not contiguous (strides " +
                         List(stride) + " for shape " + List(size) + ")");
    const uint64_t first = uint64_t(offset.i);
    if (numel > 0 && (first > storage_numel || numel > storage_numel - first))
      return Corrupt("elements [" + std::to_string(first) + ", +" + std::to_string(numel) +
                     ") lie outside its storage of " + std::to_string(storage_numel));
    const size_t esize = DTypeSize(out->dtype);
    out->name = name;
    out->shape = std::move(size);
    out->bytes = size_t(numel * esize);          // <= storage bytes, checked against the entry
    out->data += numel > 0 ? first * esize : 0;  // out->data: the storage's first byte
    return Status::Ok();
  }

 private:
  Status Corrupt(const std::string& what) const {
    return CorruptData("torch checkpoint: tensor '" + name_ + "': " + what);
  }
  bool IsCall(const PickleValue& v, std::string_view fn) const {
    if (v.kind != K::kObject || v.items.size() != 2) return false;
    const PickleValue& c = p_.at(v.items[0]);
    return c.kind == K::kGlobal && c.str == fn;
  }
  const PickleValue& Args(const PickleValue& call) const {
    return p_.at(call.items[1]);
  }  // a tuple
  std::string Describe(const PickleValue& v) const {
    if (v.kind == K::kObject) return "a call of " + p_.at(v.items[0]).str;
    return std::string("a ") + PickleKindName(v.kind);
  }
  static std::string List(const std::vector<uint64_t>& xs) {
    std::string s = "(";
    for (size_t i = 0; i < xs.size(); ++i) s += (i ? ", " : "") + std::to_string(xs[i]);
    return s + ")";
  }
  Status Ints(const PickleValue& t, const char* what, std::vector<uint64_t>* out) const {
    if (t.kind != K::kTuple) return Corrupt(std::string(what) + " is not a tuple");
    // No model tensor has more than a few dimensions; a long tuple (which a hostile pickle can
    // share between every entry) is refused before it is copied per tensor.
    constexpr size_t kMaxRank = 8;
    if (t.items.size() > kMaxRank)
      return Corrupt(std::string(what) + " has " + std::to_string(t.items.size()) +
                     " dimensions (at most " + std::to_string(kMaxRank) + ")");
    out->reserve(t.items.size());
    for (uint32_t i : t.items) {
      const PickleValue& x = p_.at(i);
      if (x.kind != K::kInt || x.i < 0)
        return Corrupt(std::string(what) + " holds something other than a non-negative int");
      out->push_back(uint64_t(x.i));
    }
    return Status::Ok();
  }
  // Resolves ('storage', type, key, location, numel): sets dtype and data (the storage's first
  // byte) of *out and the storage's element count, checked against its zip entry.
  Status Storage(const PickleValue& pers, NamedTensor* out, uint64_t* numel) {
    if (pers.kind != K::kPersistent) return Corrupt("storage is not a persistent id");
    const PickleValue& pid = p_.at(pers.items[0]);
    if (pid.kind != K::kTuple || pid.items.size() < 5)
      return Corrupt("storage id is not a 5-tuple");
    const PickleValue& tag = p_.at(pid.items[0]);
    const PickleValue& type = p_.at(pid.items[1]);
    const PickleValue& key = p_.at(pid.items[2]);
    const PickleValue& count = p_.at(pid.items[4]);
    if (tag.kind != K::kString || tag.str != "storage")
      return Corrupt("persistent id is not a storage");
    if (type.kind != K::kGlobal) return Corrupt("storage type is not a global");
    if (key.kind != K::kString) return Corrupt("storage key is not a string");
    if (count.kind != K::kInt || count.i < 0)
      return Corrupt("storage size is not a non-negative int");
    if (type.str == "torch.FloatStorage")
      out->dtype = DType::kF32;
    else if (type.str == "torch.HalfStorage")
      out->dtype = DType::kF16;
    else if (type.str == "torch.BFloat16Storage")
      out->dtype = DType::kBF16;
    else
      return Unsupported("torch checkpoint: tensor '" + name_ + "' has storage type " + type.str +
                         " (only float32, float16 and bfloat16 are supported)");
    const std::string entry = std::string(prefix_) + "/data/" + key.str;
    auto view = zip_.Read(entry);
    if (!view.ok()) {  // a missing storage is corrupt data; a compressed one is unsupported
      const StatusCode code = view.status().code() == StatusCode::kNotFound
                                  ? StatusCode::kCorruptData
                                  : view.status().code();
      return Status(code, "torch checkpoint: tensor '" + name_ + "': " + view.status().message());
    }
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(uint64_t(count.i), DTypeSize(out->dtype), &bytes) ||
        bytes > view->size)
      return Corrupt("storage of " + std::to_string(count.i) + " elements does not fit entry '" +
                     entry + "' of " + std::to_string(view->size) + " bytes");
    out->data = view->data;
    *numel = uint64_t(count.i);
    return Status::Ok();
  }

  const Pickle& p_;
  const ZipArchive& zip_;
  std::string_view prefix_;
  std::string name_;
};

// The dict of tensors: the root, or root["state_dict"] when that is a dict.
Result<const PickleValue*> StateDict(const Pickle& p) {
  const PickleValue& root = p.root_value();
  if (root.kind != K::kDict)
    return Unsupported(std::string("torch checkpoint: top-level object is a ") +
                       PickleKindName(root.kind) + ", not a state dict");
  for (size_t i = 0; i + 1 < root.items.size(); i += 2) {
    const PickleValue& key = p.at(root.items[i]);
    const PickleValue& value = p.at(root.items[i + 1]);
    if (key.kind == K::kString && key.str == "state_dict" && value.kind == K::kDict) return &value;
  }
  return &root;
}

}  // namespace

Result<TensorSet> ReadTorchCheckpoint(const uint8_t* data, size_t size) {
  if (!LooksLikeZip(data, size)) {
    if (LooksLikeLegacyTorch(data, size))
      return Unsupported(
          "torch checkpoint: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save "
          "it "
          "with a current PyTorch or convert it to safetensors");
    return CorruptData("torch checkpoint: not a zip archive");
  }
  FLOE_ASSIGN_OR_RETURN(const ZipArchive zip, ZipArchive::Open(data, size));
  const std::string_view prefix = FindPrefix(zip);
  if (prefix.empty())
    return CorruptData("torch checkpoint: no '<prefix>/data.pkl' entry in the archive");
  if (auto order = zip.Read(std::string(prefix) + "/byteorder"); order.ok()) {
    const std::string_view bo(reinterpret_cast<const char*>(order->data), order->size);
    if (bo != "little")
      return Unsupported("torch checkpoint: byte order '" + std::string(bo) + "'");
  }
  FLOE_ASSIGN_OR_RETURN(const ZipArchive::View pkl, zip.Read(std::string(prefix) + "/data.pkl"));
  // Values in proportion to the pickle's bytes (docs/allocation-audit.md item 6): a state dict
  // makes about one value per 6-8 bytes (0.13-0.17 measured on the reference checkpoints), so
  // one per 4 bytes leaves room, and a dense hostile pickle costs at most ~30x its size.
  PickleLimits limits;
  limits.max_values = std::min(limits.max_values, kTorchPickleMinValues + pkl.size / 4);
  FLOE_ASSIGN_OR_RETURN(const Pickle pickle,
                        ParsePickle(pkl.data, pkl.size, TorchPickleGlobals(), limits));
  FLOE_ASSIGN_OR_RETURN(const PickleValue* dict, StateDict(pickle));

  TensorSet set;
  std::unordered_set<std::string> names;
  TensorBuilder builder(pickle, zip, prefix);
  for (size_t i = 0; i + 1 < dict->items.size(); i += 2) {
    const PickleValue& key = pickle.at(dict->items[i]);
    if (key.kind != K::kString)
      return CorruptData("torch checkpoint: a state dict key is not a string");
    if (!names.insert(key.str).second)
      return CorruptData("torch checkpoint: duplicate tensor name '" + key.str + "'");
    NamedTensor t;
    FLOE_RETURN_IF_ERROR(builder.Build(key.str, dict->items[i + 1], &t));
    set.tensors.push_back(std::move(t));
  }
  return set;
}

}  // namespace floe
