"""A small GGUF (v2/v3) reader and writer in plain Python + NumPy, for the RecurFormer tools.

Written from the GGUF specification (ggml/docs/gguf.md), not from floe's C++ reader: the
header, typed key/value pairs, tensor infos (dims innermost first), and the data section
aligned to general.alignment (default 32). Reads F32 and F16 tensors (others are listed in
`skipped`); writes F32 tensors. Shapes are returned in PyTorch order (outermost first).
"""
import struct

import numpy as np

# Key/value types.
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
           BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}
GGML_F32, GGML_F16 = 0, 1


class _Reader:
    def __init__(self, data):
        self.data = data
        self.at = 0

    def take(self, fmt):
        n = struct.calcsize(fmt)
        if self.at + n > len(self.data):
            raise ValueError("GGUF truncated at byte %d" % self.at)
        v = struct.unpack_from(fmt, self.data, self.at)[0]
        self.at += n
        return v

    def string(self):
        n = self.take("<Q")
        if self.at + n > len(self.data):
            raise ValueError("GGUF string runs past the end")
        s = bytes(self.data[self.at:self.at + n]).decode("utf-8", errors="replace")
        self.at += n
        return s

    def value(self, t):
        if t in _SCALAR:
            return self.take(_SCALAR[t])
        if t == STRING:
            return self.string()
        if t == ARRAY:
            et = self.take("<I")
            n = self.take("<Q")
            return (et, [self.value(et) for _ in range(n)])
        raise ValueError("unknown GGUF value type %d" % t)


class Gguf:
    """kv: {key: (type, value)} (arrays: (ARRAY, (elem_type, [values]))); tensors:
    {name: np.ndarray} in PyTorch shape order; order: tensor names in file order."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        r = _Reader(data)
        if data[:4] != b"GGUF":
            raise ValueError(path + " is not a GGUF file")
        r.at = 4
        version = r.take("<I")
        if version not in (2, 3):
            raise ValueError("GGUF version %d" % version)
        n_tensors = r.take("<Q")
        n_kv = r.take("<Q")
        self.kv = {}
        for _ in range(n_kv):
            key = r.string()
            t = r.take("<I")
            self.kv[key] = (t, r.value(t))
        infos = []
        for _ in range(n_tensors):
            name = r.string()
            nd = r.take("<I")
            dims = [r.take("<Q") for _ in range(nd)]
            t = r.take("<I")
            off = r.take("<Q")
            infos.append((name, dims, t, off))
        align = self.get("general.alignment", 32)
        base = (r.at + align - 1) // align * align
        self.tensors, self.order, self.skipped = {}, [], []
        for name, dims, t, off in infos:
            shape = tuple(reversed(dims))
            n = int(np.prod(shape)) if shape else 1
            if t == GGML_F32:
                a = np.frombuffer(data, dtype="<f4", count=n, offset=base + off)
            elif t == GGML_F16:
                a = np.frombuffer(data, dtype="<f2", count=n, offset=base + off)
            else:
                self.skipped.append(name)
                continue
            self.tensors[name] = a.reshape(shape)
            self.order.append(name)

    def get(self, key, default=None):
        if key not in self.kv:
            return default
        t, v = self.kv[key]
        return v[1] if t == ARRAY else v


class Writer:
    """Collects keys (typed as given) and F32 tensors, then writes a GGUF v3 file."""

    def __init__(self):
        self.kv = []  # (key, type, value)
        self.tensors = []  # (name, np.float32 array)

    def add(self, key, t, value):
        self.kv = [e for e in self.kv if e[0] != key]
        self.kv.append((key, t, value))

    def tensor(self, name, array):
        self.tensors.append((name, np.ascontiguousarray(array, dtype="<f4")))

    @staticmethod
    def _string(s):
        b = s.encode("utf-8")
        return struct.pack("<Q", len(b)) + b

    def _value(self, t, v):
        if t in _SCALAR:
            return struct.pack(_SCALAR[t], v)
        if t == STRING:
            return self._string(v)
        if t == ARRAY:
            et, items = v
            return struct.pack("<IQ", et, len(items)) + b"".join(self._value(et, x) for x in items)
        raise ValueError("unknown GGUF value type %d" % t)

    def write(self, path, align=32):
        out = [b"GGUF", struct.pack("<IQQ", 3, len(self.tensors), len(self.kv))]
        for key, t, v in self.kv:
            out.append(self._string(key) + struct.pack("<I", t) + self._value(t, v))
        offset = 0
        offsets = []
        for name, a in self.tensors:
            offsets.append(offset)
            dims = list(reversed(a.shape))
            out.append(self._string(name) + struct.pack("<I", len(dims)) +
                       b"".join(struct.pack("<Q", d) for d in dims) +
                       struct.pack("<IQ", GGML_F32, offset))
            offset += (a.nbytes + align - 1) // align * align
        head = b"".join(out)
        pad = (-len(head)) % align
        with open(path, "wb") as f:
            f.write(head + b"\0" * pad)
            for (name, a), off in zip(self.tensors, offsets):
                f.write(a.tobytes())
                f.write(b"\0" * ((-a.nbytes) % align))
