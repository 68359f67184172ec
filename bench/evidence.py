"""What checking evidence costs on the worst files we can build: peak memory against the 256 MB
target, and time as a ratio to a floor measured in the same run (hashing the same bytes).

Each case runs in a child process of its own. Its peak resident memory is reset just before the
check (/proc/self/clear_refs) and read after it (VmHWM; ru_maxrss would not do: Linux carries it
over from the parent through fork and exec): the figure printed is that peak less what the child
held before (the interpreter, the libraries, the file's bytes), so the check's own. tracemalloc's
peak (Python's own allocations; not qpdf's or Pillow's buffers) is printed beside it.

    .venv/bin/python bench/evidence.py
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MB = 256


def _deflate_bomb_pdf(megabytes: int) -> bytes:
    from tests.unit.test_evidence import pdf_with_page

    packer = zlib.compressobj(9)
    block = b" " * (1024 * 1024)
    packed = b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()
    return pdf_with_page(
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        {4: b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed) + packed
            + b"\nendstream"})


def _object_stream_pdf(objects: int) -> bytes:
    from tests.unit.test_evidence import pdf_object_stream_bomb

    return pdf_object_stream_bomb(objects)


def _png(width: int, height: int, mode: str = "RGBA", turned: bool = False) -> bytes:
    from PIL import Image

    image = Image.new(mode, (width, height), (200, 20, 20, 255)[:len(mode)])
    exif = Image.Exif()
    if turned:
        exif[0x0112] = 6  # "turn 90 degrees": the check must write the pixels out upright
    out = io.BytesIO()
    image.save(out, format="PNG", exif=exif.tobytes(), compress_level=1)
    return out.getvalue()


def _jpeg(width: int, height: int, turned: bool = True) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    if turned:
        exif[0x0112] = 6
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 20, 200)).save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def _heic(width: int, height: int) -> bytes:
    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 200, 20)).save(out, format="HEIF",
                                                          exif=exif.tobytes(), quality=50)
    return out.getvalue()


def cases() -> dict[str, callable]:
    """The worst files: each case makes the files of one request (only when it is run)."""
    from portal.disputes import pdfs
    from tests.unit.test_evidence import png_bomb

    return {
        "PDF object-stream bomb (300,000 objects, refused)": lambda: [
            ("bomb.pdf", _object_stream_pdf(300_000))],
        "PDF object stream at the cap (accepted)": lambda: [
            ("many.pdf", _object_stream_pdf(pdfs.MAX_OBJECTS - 10))],
        "PDF deflate bomb, 1 GB of spaces (refused)": lambda: [
            ("bomb.pdf", _deflate_bomb_pdf(1024))],
        "PDF deflate, 60 MB (accepted, within 64)": lambda: [("big.pdf", _deflate_bomb_pdf(60))],
        "PDFs 2 x 60 MB in one request (accepted, within 128)": lambda: [
            (f"big-{n}.pdf", _deflate_bomb_pdf(60)) for n in range(2)],
        "PNG 49 MP (refused from its header)": lambda: [("bomb.png", png_bomb(7_000, 7_000))],
        "PNG 25 MP (refused from its header)": lambda: [("big.png", _png(5_000, 5_000))],
        "PNG 24 MP RGBA, turned (accepted)": lambda: [
            ("big.png", _png(6_000, 4_000, turned=True))],
        "JPEG 24 MP, turned (accepted)": lambda: [("big.jpg", _jpeg(6_000, 4_000))],
        "JPEG 24 MP, upright (accepted)": lambda: [
            ("big.jpg", _jpeg(6_000, 4_000, turned=False))],
        "HEIC 12 MP, turned (accepted, kept as a JPEG)": lambda: [
            ("photo.heic", _heic(4_000, 3_000))],
        "HEIC 24 MP, turned (accepted, kept as a JPEG)": lambda: [
            ("photo.heic", _heic(6_000, 4_000))],
        "ten PNGs of 49 MP in one request (refused)": lambda: [
            (f"bomb-{n}.png", png_bomb(7_000, 7_000)) for n in range(10)],
        "ten PNGs of 10 MP RGBA in one request (accepted, 100 MP)": lambda: [
            (f"page-{n}.png", _png(4_000, 2_500)) for n in range(10)],
    }


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise LookupError(field)


def _reset_peak() -> float:
    """Start the peak afresh at what is resident now; returns that."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def _measure(files, answer) -> None:
    """In the child: the floor (hash the bytes), then the check, with its peaks."""
    from portal.disputes import evidence

    floor = min(_timed(lambda: [hashlib.sha256(data).digest() for _n, data in files])
                for _ in range(5))
    before = _reset_peak()
    tracemalloc.start()
    start = time.perf_counter()
    try:
        evidence.check_all(files)
        outcome = "accepted"
    except evidence.Refused as refusal:
        outcome = f"refused: {refusal.code}"
    took = time.perf_counter() - start
    python_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    answer.send((outcome, took, floor, _status_mb("VmHWM") - before, python_peak, before))


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    """Every case, or those whose name holds the first argument (`bench/evidence.py HEIC`)."""
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    context = multiprocessing.get_context("spawn")
    print(f"{'case':58} {'outcome':28} {'MB in':>6} {'check s':>8} {'x floor':>9} "
          f"{'peak MB':>8} {'py MB':>6}")
    worst = 0.0
    worst_ratio, worst_took, worst_floor = 0.0, 0.0, 0.0
    for name, make in cases().items():
        if only not in name:
            continue
        files = make()
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_measure, args=(files, send))
        child.start()
        outcome, took, floor, peak, python_peak, _base = receive.recv()
        child.join()
        worst = max(worst, peak)
        if took / floor > worst_ratio:
            worst_ratio, worst_took, worst_floor = took / floor, took, floor
        size = sum(len(data) for _n, data in files) / 2**20
        print(f"{name:58} {outcome:28} {size:6.1f} {took:8.2f} {took / floor:9.0f} "
              f"{peak:8.0f} {python_peak:6.0f}")
    print(f"worst peak: {worst:.0f} MB of the {TARGET_MB} MB target "
          f"({'within' if worst < TARGET_MB else 'OVER'})")
    print(f"BENCH name=evidence figure={worst_took:.3f} floor={worst_floor:.4f} "
          f"ratio={worst_ratio:.0f} unit=s(slowest-check) better=lower peak_mb={worst:.0f} "
          f"target_mb={TARGET_MB}")


if __name__ == "__main__":
    main()
