"""PDF evidence: checked whole by a real parser (qpdf, through pikepdf) within a budget of inflated
bytes, then rewritten into a new file that holds only the pages' content, so no action, script or
attached file survives even one a check missed. No Flask, no database.

The order matters. qpdf inflates object and cross-reference streams by itself when it parses, with
no limit, so every stream is first measured here from the raw bytes, chunk by chunk, before qpdf
sees the file; what cannot be measured (a filter we do not decode, an indirect /Filter) is refused.
"""

from __future__ import annotations

import base64
import io
import re
import zlib
from collections.abc import Iterable, Iterator

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

#: Bytes decoded at a time: what one step of a decoder may hold, whatever the file says.
CHUNK = 256 * 1024
#: Objects a file may declare (a 300-page scan has a few thousand, a 1,000-page report some tens
#: of thousands): qpdf keeps each in memory and the check walks each (bench/evidence.py).
MAX_OBJECTS = 100_000
#: Nesting of arrays and dictionaries the walk follows (real files stay under 20).
MAX_DEPTH = 64

#: Names that make a document act, run code, or carry another file: refused wherever they are.
ACTIVE_KEYS = {"/JS", "/JavaScript", "/AA", "/EmbeddedFile", "/EmbeddedFiles", "/EF",
               "/RichMedia", "/RichMediaContent", "/XFA", "/Launch", "/Next"}
#: Action types (an action dictionary's /S) refused wherever they are. A link to a web address
#: (/URI) is not refused: the rewrite drops every annotation, links included.
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/GoToR", "/GoToE", "/SubmitForm", "/ImportData",
                  "/RichMediaExecute", "/Rendition", "/Movie", "/Sound", "/GoTo3DView"}
#: Object types refused wherever they are.
ACTIVE_TYPES = {"/EmbeddedFile", "/Filespec", "/RichMediaContent"}
#: Keys the rewrite takes out wherever they are, besides the refused ones.
STRIPPED_KEYS = {"/A", "/OpenAction", "/URI", "/Annots", "/AcroForm", "/Names"}
#: What qpdf may say while reading a sound file: a page without its (empty) resources.
BENIGN_WARNINGS = ("Resources is missing or invalid; repairing",)
#: What a rewritten page keeps: how it looks, nothing that acts (no /Annots, /AA, /Metadata).
PAGE_KEYS = {"/Type", "/Parent", "/Contents", "/Resources", "/MediaBox", "/CropBox", "/BleedBox",
             "/TrimBox", "/ArtBox", "/Rotate", "/UserUnit", "/Group"}
#: What a rewritten page's resources keep: the standard kinds, nothing else.
RESOURCE_KEYS = {"/Font", "/XObject", "/ExtGState", "/ColorSpace", "/Pattern", "/Shading",
                 "/Properties", "/ProcSet"}
#: Filters we decode (in chunks) to measure; image codecs are measured as they are stored,
#: because neither qpdf (when it parses) nor our rewrite ever decodes them.
IMAGE_FILTERS = {"/DCTDecode", "/DCT", "/JPXDecode", "/CCITTFaxDecode", "/CCF", "/JBIG2Decode"}

STREAM = re.compile(rb"(?<!end)stream(?:\r\n|\n|\r)")
ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[^\s/\[\]<>()%]+|\d+\s+\d+\s+R)")
LENGTH = re.compile(rb"/Length\s+(\d+)\b(?!\s+\d+\s+R)")
COUNTS = re.compile(rb"/(?:Size|N)\s+(\d+)")


class Unchecked(Exception):
    """The file cannot be fully checked within the budget; `code` says why (a stable word)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# --- the budget, measured on the raw bytes -------------------------------------------------------


def _names(text: bytes) -> bytes:
    """A dictionary's text with its names' #xx escapes written out (/Fl#61teDecode is Flate)."""
    return ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), text)


def _filters(dictionary: bytes) -> list[str]:
    found = FILTER.search(dictionary)
    if found is None:
        return []
    value = found.group(1)
    if value.endswith(b"R"):
        raise Unchecked("unchecked")  # an indirect /Filter: what it is cannot be read here
    return [name.decode("latin-1") for name in re.findall(rb"/[^\s/\[\]<>()%]+", value)]


def _flate(chunks: Iterable[bytes]) -> Iterator[bytes]:
    inflater = zlib.decompressobj()
    for chunk in chunks:
        data = chunk
        while data and not inflater.eof:
            out = inflater.decompress(data, CHUNK)
            data = inflater.unconsumed_tail
            if out:
                yield out
        if inflater.eof:
            return


def _run_length(chunks: Iterable[bytes]) -> Iterator[bytes]:
    pending = b""
    for chunk in chunks:
        data, out, position = pending + chunk, bytearray(), 0
        while position < len(data):
            length = data[position]
            if length == 128:
                return
            if length < 128:
                if position + length + 2 > len(data):
                    break
                out += data[position + 1:position + length + 2]
                position += length + 2
            else:
                if position + 2 > len(data):
                    break
                out += data[position + 1:position + 2] * (257 - length)
                position += 2
            if len(out) >= CHUNK:
                yield bytes(out)
                out = bytearray()
        pending = data[position:]
        if out:
            yield bytes(out)


def _whole(decode) -> callable:
    """A filter whose output is at most four times its input (hex, base-85): decoded at once."""
    def run(chunks: Iterable[bytes]) -> Iterator[bytes]:
        data = b"".join(chunks)
        try:
            yield decode(data)
        except ValueError:
            raise Unchecked("damaged") from None
    return run


def _hex(data: bytes) -> bytes:
    text = re.sub(rb"\s", b"", data.split(b">", 1)[0])
    return bytes.fromhex((text + b"0" * (len(text) % 2)).decode("ascii"))


def _a85(data: bytes) -> bytes:
    text = re.sub(rb"\s", b"", data.split(b"~>", 1)[0])
    return base64.a85decode(text, adobe=False) if text else b""


DECODERS = {"/FlateDecode": _flate, "/Fl": _flate, "/RunLengthDecode": _run_length,
            "/RL": _run_length, "/ASCIIHexDecode": _whole(_hex), "/AHx": _whole(_hex),
            "/ASCII85Decode": _whole(_a85), "/A85": _whole(_a85)}


def _raw(data: bytes, start: int, dictionary: bytes) -> bytes:
    length = LENGTH.search(dictionary)
    if length is not None and start + int(length.group(1)) <= len(data):
        return data[start:start + int(length.group(1))]
    end = data.find(b"endstream", start)
    return data[start:end if end >= 0 else len(data)]


def _measure(raw: bytes, filters: list[str], allowance: int) -> int:
    """Bytes the stream's filters produce (each stage counted), refused past `allowance`."""
    chunks: Iterable[bytes] = (raw[i:i + CHUNK] for i in range(0, len(raw), CHUNK))
    produced = [0]

    def counted(stage: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in stage:
            produced[0] += len(chunk)
            if produced[0] > allowance:
                raise Unchecked("inflates_too_much")
            yield chunk

    for position, name in enumerate(filters):
        if name in IMAGE_FILTERS and position == len(filters) - 1:
            break  # stored as it is; never decoded by the check or the rewrite
        if name not in DECODERS:
            raise Unchecked("unchecked")  # LZW, Crypt, or a name no reader knows
        chunks = counted(DECODERS[name](chunks))
    try:
        for _chunk in chunks:
            pass
    except zlib.error:
        raise Unchecked("damaged") from None
    return produced[0]


def inflated_size(data: bytes, allowance: int) -> int:
    """Every stream's decoded size, summed; Unchecked past `allowance`, or if a stream or a
    declared object count cannot be trusted. Reads only the raw bytes: nothing is parsed yet."""
    names = _names(data)
    if b"/Encrypt" in names:
        raise Unchecked("encrypted")  # its streams are ciphertext: nothing could be measured
    for count in COUNTS.finditer(names):
        if int(count.group(1)) > MAX_OBJECTS:
            raise Unchecked("too_complex")
    total = 0
    for found in STREAM.finditer(data):
        head = data.rfind(b"obj", 0, found.start())
        if head < 0:
            raise Unchecked("damaged")
        dictionary = _names(data[head:found.start()])
        raw = _raw(data, found.end(), dictionary)
        total += len(raw) + _measure(raw, _filters(dictionary), allowance - total)
        if total > allowance:
            raise Unchecked("inflates_too_much")
    return total


# --- the check, on the parsed file ---------------------------------------------------------------


def _active(obj, depth: int = 0) -> bool:
    """Whether this object, or anything written inside it (not behind a reference), acts."""
    if depth > MAX_DEPTH:
        raise Unchecked("too_complex")
    if isinstance(obj, Stream):
        return _active(obj.stream_dict, depth + 1)
    if isinstance(obj, Dictionary):
        keys = set(obj.keys())
        if keys & ACTIVE_KEYS:
            return True
        if str(obj.get("/S", "")) in ACTIVE_ACTIONS or str(obj.get("/Type", "")) in ACTIVE_TYPES:
            return True
        return any(not value.is_indirect and _active(value, depth + 1)
                   for value in obj.values() if isinstance(value, Dictionary | Array | Stream))
    if isinstance(obj, Array):
        return any(not value.is_indirect and _active(value, depth + 1)
                   for value in obj if isinstance(value, Dictionary | Array | Stream))
    return False


def _open(data: bytes) -> pikepdf.Pdf:
    try:
        document = pikepdf.open(io.BytesIO(data), attempt_recovery=False)
    except pikepdf.PasswordError:
        raise Unchecked("encrypted") from None
    except (pikepdf.PdfError, ValueError, RuntimeError, OverflowError):
        raise Unchecked("damaged") from None
    if document.is_encrypted:
        document.close()
        raise Unchecked("encrypted")
    return document


def measured(document: pikepdf.Pdf, allowance: int) -> int:
    """Every stream's decoded size, read from the parsed dictionaries (the authority), before any
    object kept in a compressed object stream is asked for."""
    total = 0
    for (number, generation), entry in document.get_xref_table().items():
        if entry.type != 1:
            continue
        obj = document.get_object(number, generation)
        if not isinstance(obj, Stream):
            continue
        chain = obj.stream_dict.get("/Filter")
        filters = ([str(chain)] if isinstance(chain, Name) else
                   [str(n) for n in chain] if isinstance(chain, Array) else [])
        raw = obj.read_raw_bytes()
        total += len(raw) + _measure(raw, filters, allowance - total)
        if total > allowance:
            raise Unchecked("inflates_too_much")
    return total


def acts(document: pikepdf.Pdf) -> bool:
    """Whether any object of the whole file (every one, however many) can act, or the file opens
    with anything but showing a page."""
    if len(document.objects) > MAX_OBJECTS:
        raise Unchecked("too_complex")
    opening = document.Root.get("/OpenAction")
    if isinstance(opening, Dictionary) and str(opening.get("/S", "/GoTo")) != "/GoTo":
        return True
    return _active(document.trailer) or any(_active(obj) for obj in document.objects)


def _damaged(document: pikepdf.Pdf) -> bool:
    return any(not warning.endswith(BENIGN_WARNINGS) for warning in document.get_warnings())


def check(data: bytes, allowance: int) -> tuple[bytes, int]:
    """The rewritten file and the bytes inflated to check it; Unchecked, or "active", if refused.

    Refused: more to inflate than `allowance`, a stream we cannot measure, encryption, a file qpdf
    can read only by repairing it (a warning while parsing), anything that acts anywhere."""
    inflated_size(data, allowance)  # before qpdf inflates anything by itself
    document = _open(data)
    try:
        try:
            inflated = measured(document, allowance)
            if acts(document):
                raise Unchecked("active")
            if _damaged(document):
                raise Unchecked("damaged")
            rewritten = rewrite(document)
        except (pikepdf.PdfError, ValueError, RuntimeError, KeyError, TypeError):
            raise Unchecked("damaged") from None
    finally:
        document.close()
    return rewritten, inflated


# --- the rewrite ---------------------------------------------------------------------------------


def _strip(obj, depth: int = 0) -> None:
    """Take out every key that acts, in this object and what is written inside it."""
    if depth > MAX_DEPTH:
        raise Unchecked("too_complex")
    target = obj.stream_dict if isinstance(obj, Stream) else obj
    if isinstance(target, Dictionary):
        for key in list(target.keys()):
            if key in ACTIVE_KEYS or key in STRIPPED_KEYS:
                del target[key]
        if "/S" in target and ("/D" in target or str(target.get("/S")) in ACTIVE_ACTIONS):
            for key in list(target.keys()):
                del target[key]  # an action dictionary, whatever it does: emptied
        children = list(target.values())
    elif isinstance(target, Array):
        children = list(target)
    else:
        return
    for child in children:
        if isinstance(child, Dictionary | Array | Stream) and not child.is_indirect:
            _strip(child, depth + 1)


def rewrite(source: pikepdf.Pdf | bytes) -> bytes:
    """A new PDF with only the pages' content: no catalog entries but the pages (no /OpenAction,
    /Names, /AcroForm, /Outlines), no annotations, and every acting key taken out of what the
    pages still reference; only what the new file's pages reach is written."""
    owned = not isinstance(source, pikepdf.Pdf)
    document = _open(source) if owned else source
    try:
        fresh = pikepdf.new()
        for page in document.pages:
            fresh.pages.append(page)
        for page in fresh.pages:
            for key in list(page.obj.keys()):
                if key not in PAGE_KEYS:
                    del page.obj[key]
            resources = page.obj.get("/Resources")
            if isinstance(resources, Dictionary):
                for key in list(resources.keys()):
                    if key not in RESOURCE_KEYS:
                        del resources[key]
        for obj in fresh.objects:
            _strip(obj)
        out = io.BytesIO()
        fresh.save(out, compress_streams=True, stream_decode_level=pikepdf.StreamDecodeLevel.none,
                   object_stream_mode=pikepdf.ObjectStreamMode.disable, fix_metadata_version=False,
                   deterministic_id=True)
        fresh.close()
        return out.getvalue()
    finally:
        if owned:
            document.close()
