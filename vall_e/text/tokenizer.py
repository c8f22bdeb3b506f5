"""Phone-token <-> integer-id vocabulary for the text side of the model.

Contract:

* ids 0..3 are the specials ``<pad>``, ``<unk>``, ``<bos>``, ``<eos>`` (``PAD_ID``, ``UNK_ID``,
  ``BOS_ID``, ``EOS_ID``); symbol ``i`` of the list passed to the constructor gets id ``4 + i``,
  so the list order *is* the id assignment (``from_phoneme_lists`` sorts it by code point so
  the same data always gives the same ids).
* ``encode`` never raises on an unseen phone: it maps to ``UNK_ID`` and warns once per distinct
  symbol per tokenizer. Punctuation the vocabulary lacks is not unknown: ``fit_marks`` puts it
  onto the pause and end marks the vocabulary has (``;`` -> ``,``; quotes dropped). ``decode`` drops pad/bos/eos and returns ``"<unk>"`` for ``UNK_ID``.
* ``save`` writes ``{"format": "vall_e.phoneme_vocab", "version": 1, "symbols": [...]}`` (UTF-8
  JSON) atomically; ``load`` raises ``CheckpointError`` for a missing or corrupt file.
"""

from __future__ import annotations

import json
import os
import secrets
import warnings
from collections.abc import Iterable
from pathlib import Path

from vall_e.errors import CheckpointError, TextError

FORMAT = "vall_e.phoneme_vocab"
WORD_BOUNDARY = " "
MARKS = frozenset(';:,.!?¡¿"(){}[]-')  # the punctuation tokens phonemize() emits
# where a mark the vocabulary lacks goes, best first (nothing fits: dropped)
_PAUSE = (",", WORD_BOUNDARY)
_MARK_FALLBACK = {**{m: _PAUSE for m in ";:(){}[]-,"}, ".": (",", WORD_BOUNDARY),
                  "!": (".", ",", WORD_BOUNDARY), "?": (".", ",", WORD_BOUNDARY)}
VERSION = 1


class PhonemeTokenizer:
    """Maps phone tokens (from ``vall_e.text.phonemize``) to ids and back."""

    PAD = "<pad>"
    UNK = "<unk>"
    BOS = "<bos>"
    EOS = "<eos>"
    SPECIALS = (PAD, UNK, BOS, EOS)
    PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(4)

    def __init__(self, symbols: list[str]) -> None:
        symbols = list(symbols)
        for symbol in symbols:
            if not isinstance(symbol, str) or not symbol:
                raise TextError(f"phoneme symbol {symbol!r} is not a non-empty string: fix the vocab")
            if symbol in self.SPECIALS:
                raise TextError(f"phoneme symbols must not include the special {symbol!r}: drop it")
        if len(set(symbols)) != len(symbols):
            dupes = sorted({s for s in symbols if symbols.count(s) > 1})
            raise TextError(f"phoneme symbols are repeated: {dupes}: list each symbol once")
        self._symbols = symbols
        self._id_of = {s: i for i, s in enumerate(self.SPECIALS + tuple(symbols))}
        self._warned: set[str] = set()

    @classmethod
    def from_phoneme_lists(cls, lists: Iterable[list[str]]) -> PhonemeTokenizer:
        """Build a vocabulary from every token seen in ``lists``, sorted by code point."""
        seen: set[str] = set()
        for tokens in lists:
            if isinstance(tokens, str):
                raise TextError("from_phoneme_lists() takes lists of phone tokens, not strings")
            seen.update(tokens)
        return cls(sorted(seen.difference(cls.SPECIALS)))

    def encode(self, tokens: list[str], add_bos_eos: bool = True) -> list[int]:
        """Return the ids of ``tokens``, wrapped in ``<bos>``/``<eos>`` unless told otherwise."""
        if isinstance(tokens, str):
            # Iterating a str would silently encode characters, not phones.
            raise TextError("encode() takes a list of phone tokens, not a string: phonemize() it first")
        if any(token in MARKS and token not in self._id_of for token in tokens):
            tokens = self.fit_marks(tokens)
        ids = [self._id(token) for token in tokens]
        return [self.BOS_ID, *ids, self.EOS_ID] if add_bos_eos else ids

    def fit_marks(self, tokens: list[str]) -> list[str]:
        """``tokens`` with punctuation this vocabulary lacks put onto marks it has.

        A vocabulary built from data without ``; : ( ) -`` would read them as ``<unk>``:
        instead, a pause mark becomes the vocabulary's ``,`` (else a word boundary), an
        unknown end mark its ``.``, and quotes, ``¡ ¿`` are dropped (they are not heard). A
        mapped pause never doubles one already there, nor starts or ends the sequence with a
        boundary. Tokens the vocabulary knows are left exactly as they are.
        """
        out: list[tuple[str, bool]] = []  # (token, put there by this mapping)
        for token in tokens:
            mapped = token in MARKS and token not in self._id_of
            if mapped:
                token = next((f for f in _MARK_FALLBACK.get(token, ()) if f in self._id_of), None)
                if token is None:
                    continue  # quotes, "¡", "¿": nothing to hear
            if token == WORD_BOUNDARY:
                if out and out[-1][0] != WORD_BOUNDARY:  # never doubled, never first
                    out.append((token, mapped))
                continue
            if mapped:
                # a pause sits on the word before it: "a (b" -> "a, b"; none after another mark
                # ("a, (b" -> "a, b") nor at the start ("(a" -> "a")
                boundary = bool(out) and out[-1][0] == WORD_BOUNDARY
                before = out[-2][0] if boundary and len(out) > 1 else (out[-1][0] if out and not boundary else None)
                if before is None or before in MARKS:
                    continue
                if boundary:
                    out.insert(len(out) - 1, (token, True))
                    continue
            out.append((token, mapped))
        while out and (out[-1][0] == WORD_BOUNDARY or out[-1][1]):  # no pause of ours at the end
            out.pop()
        return [token for token, _ in out]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Return the tokens of ``ids``, skipping pad/bos/eos; accepts ints or 0-d tensors."""
        vocab = self.vocab
        tokens: list[str] = []
        for raw in ids:
            i = int(raw)
            if not 0 <= i < len(vocab):
                raise TextError(
                    f"token id {i} is outside the phoneme vocabulary (size {len(vocab)}): "
                    "use the vocab file saved with this checkpoint"
                )
            if i not in (self.PAD_ID, self.BOS_ID, self.EOS_ID):
                tokens.append(vocab[i])
        return tokens

    def __len__(self) -> int:
        return len(self.SPECIALS) + len(self._symbols)

    def __repr__(self) -> str:
        return f"PhonemeTokenizer({len(self)} ids: 4 specials + {len(self._symbols)} symbols)"

    @property
    def vocab(self) -> list[str]:
        """Every token by id, specials first (a copy)."""
        return [*self.SPECIALS, *self._symbols]

    @property
    def symbols(self) -> list[str]:
        """The non-special symbols in id order (a copy)."""
        return list(self._symbols)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the vocabulary as JSON; a crash mid-write never leaves a truncated file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": FORMAT, "version": VERSION, "symbols": self._symbols}
        # A unique sibling name (not mkstemp, whose 0600 mode would survive the rename) keeps
        # os.replace atomic on the same filesystem and lets the umask set the permissions.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            with open(tmp, "x", encoding="utf-8") as f:
                json.dump(payload, f, ensure_ascii=False, indent=1)
                f.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PhonemeTokenizer:
        """Read a file written by ``save``; raise CheckpointError if it is missing or corrupt."""
        path = Path(path)
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(
                f"phoneme vocab file {path} does not exist: pass the vocab.json saved with the model"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CheckpointError(
                f"phoneme vocab file {path} is unreadable or not JSON ({error}): re-create it"
            ) from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise CheckpointError(
                f"{path} is not a phoneme vocab file (no \"format\": \"{FORMAT}\"): pass vocab.json"
            )
        if payload.get("version") != VERSION:
            raise CheckpointError(
                f"phoneme vocab file {path} has version {payload.get('version')!r}, this vall_e "
                f"reads version {VERSION}: upgrade vall_e or re-create the file"
            )
        symbols = payload.get("symbols")
        if not isinstance(symbols, list):
            raise CheckpointError(f"phoneme vocab file {path} has no \"symbols\" list: re-create it")
        try:
            return cls(symbols)
        except TextError as error:
            raise CheckpointError(f"phoneme vocab file {path} is corrupt ({error})") from None

    def _id(self, token: str) -> int:
        found = self._id_of.get(token)
        if found is not None:
            return found
        if token not in self._warned:
            self._warned.add(token)
            warnings.warn(
                f"phoneme {token!r} is not in the vocabulary and was encoded as <unk>: "
                "rebuild the vocab from data that covers this language",
                stacklevel=3,
            )
        return self.UNK_ID
