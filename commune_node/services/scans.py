"""Pages from a scanner or a phone camera, made fit for a 2G link: one PDF per document.

Each uploaded file's real type is read from its bytes (:func:`common.documents.sniff`), not
its name: PDF, JPEG or PNG; anything else is refused, naming the field. Images are turned
upright (EXIF), scaled to about 150 dpi on an A4 sheet (1240 × 1754 pixels at most),
made grayscale unless their colour carries something, and compressed: a page that is
text on paper (few mid-grey pixels once cleaned) goes as black and white (CCITT group 4,
the fax code, a few tens of KB), any other page as JPEG. The pages are put into one PDF by
``img2pdf``, without re-encoding; a PDF upload is taken as it is (``pikepdf`` counts and
joins its pages). Runs outside any database transaction (CPU only, no I/O).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import img2pdf
import pikepdf
from PIL import Image, ImageFilter, ImageOps, ImageStat, UnidentifiedImageError

from common import documents
from common.errors import ErrorList

A4_LONG, A4_SHORT = 1754, 1240  # pixels of an A4 page at 150 dpi
DPI = 150
JPEG_QUALITY = 40
COLOUR_SPREAD = 18  # mean chroma (0–255) above which a page keeps its colour
TEXT_PAGE_MID_GREY = 0.06  # share of mid-grey pixels below which a page is "text on paper"
Image.MAX_IMAGE_PIXELS = 80_000_000  # a phone photo is ~12–50 Mpx; a "pixel bomb" is refused


@dataclass(frozen=True)
class Limits:
    """Upload limits (settings ``SCAN_MAX_FILE_BYTES``, ``SCAN_MAX_PAGES``,
    ``SCAN_MAX_DOSSIER_BYTES``; docs/cli.md)."""

    file_bytes: int = 10 * 1024 * 1024  # one uploaded file, as sent
    pages: int = 20  # pages of one document
    dossier_bytes: int = 8 * 1024 * 1024  # all of a dossier's documents, as kept


@dataclass(frozen=True)
class Upload:
    field: str  # the form field or API path it came in, for error messages
    name: str  # the file's name as sent (shown in messages only)
    data: bytes


@dataclass(frozen=True)
class Normalised:
    pdf: bytes
    pages: int


def _refuse(errors: ErrorList, field: str, code: str, vi: str, en: str) -> None:
    errors.add(field, code, vi, en)


def check(uploads: list[Upload], limits: Limits) -> list[tuple[Upload, str]]:
    """Each upload with its real media type; raises ValidationError naming every bad field."""
    errors = ErrorList()
    out: list[tuple[Upload, str]] = []
    if not uploads:
        _refuse(errors, "files", "required", "Chọn ít nhất một tệp.", "Choose at least one file.")
    for up in uploads:
        kind = documents.sniff(up.data)
        if not up.data:
            _refuse(errors, up.field, "empty", f"Tệp «{up.name}» rỗng.", f"{up.name} is empty.")
        elif len(up.data) > limits.file_bytes:
            mb = limits.file_bytes // (1024 * 1024)
            _refuse(
                errors,
                up.field,
                "too_large",
                f"Tệp «{up.name}» lớn hơn {mb} MB.",
                f"{up.name} is larger than {mb} MB.",
            )
        elif kind is None:
            _refuse(
                errors,
                up.field,
                "unsupported_type",
                f"Tệp «{up.name}» không phải PDF, JPEG hay PNG (kiểm tra theo nội dung tệp).",
                f"{up.name} is not a PDF, JPEG or PNG (judged by its content, not its name).",
            )
        else:
            out.append((up, kind))
    errors.raise_if_any()
    return out


def _page_image(img: Image.Image) -> tuple[bytes, str]:
    """One page: bytes img2pdf embeds as they are, and how it was kept ("g4" or "jpeg")."""
    img = ImageOps.exif_transpose(img) or img
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    long_side, short_side = max(img.size), min(img.size)
    scale = min(1.0, A4_LONG / long_side, A4_SHORT / short_side)
    if scale < 1.0:
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.LANCZOS)
    colour = False
    if img.mode == "RGB":
        chroma = ImageStat.Stat(img.convert("HSV").getchannel("S").reduce(4)).mean[0]
        colour = chroma > COLOUR_SPREAD
    out = io.BytesIO()
    if colour:
        img.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, dpi=(DPI, DPI))
        return out.getvalue(), "jpeg"
    grey = img.convert("L").filter(ImageFilter.MedianFilter(3))  # sensor noise, dust
    grey = ImageOps.autocontrast(grey, cutoff=1)
    hist = grey.histogram()
    total = sum(hist) or 1
    mid = sum(hist[64:192]) / total
    if mid < TEXT_PAGE_MID_GREY:
        bw = grey.point(lambda v: 255 if v > 150 else 0).convert("1", dither=Image.Dither.NONE)
        bw.save(out, "TIFF", compression="group4", dpi=(DPI, DPI))
        return out.getvalue(), "g4"
    grey.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, dpi=(DPI, DPI))
    return out.getvalue(), "jpeg"


def _pdf_pages(data: bytes, field: str, name: str) -> int:
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return len(pdf.pages)
    except pikepdf.PdfError:
        errors = ErrorList()
        _refuse(
            errors,
            field,
            "unreadable",
            f"Không đọc được tệp PDF «{name}».",
            f"{name} cannot be read as a PDF.",
        )
        errors.raise_if_any()
        raise  # (unreachable: raise_if_any raised)


def normalise(uploads: list[Upload], limits: Limits) -> Normalised:
    """One PDF of all the pages, in the order given; raises ValidationError (naming the
    field) for a file of another type, too large, unreadable, or too many pages."""
    checked = check(uploads, limits)
    parts: list[bytes] = []  # PDFs, in order
    images: list[bytes] = []
    pages = 0

    def flush() -> None:
        if images:
            parts.append(  # no date: the same pages give the same bytes, kept once
                img2pdf.convert(images, rotation=img2pdf.Rotation.ifvalid, nodate=True)
            )
            images.clear()

    errors = ErrorList()
    for up, kind in checked:
        if kind == documents.PDF:
            flush()
            pages += _pdf_pages(up.data, up.field, up.name)
            parts.append(up.data)
            continue
        try:
            with Image.open(io.BytesIO(up.data)) as img:
                img.load()
                page, _how = _page_image(img)
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
            _refuse(
                errors,
                up.field,
                "unreadable",
                f"Không đọc được ảnh «{up.name}».",
                f"{up.name} cannot be read as an image.",
            )
            continue
        images.append(page)
        pages += 1
    errors.raise_if_any()
    if pages > limits.pages:
        _refuse(
            errors,
            "files",
            "too_many_pages",
            f"Một giấy tờ tối đa {limits.pages} trang (đã chọn {pages}).",
            f"A document has at most {limits.pages} pages ({pages} chosen).",
        )
        errors.raise_if_any()
    flush()
    if len(checked) == 1 and checked[0][1] == documents.PDF:  # a PDF alone: kept as it came
        return Normalised(parts[0], pages)
    # rewritten with an ID derived from the content: the same pages give the same bytes,
    # which are then kept and sent once
    sources = [pikepdf.open(io.BytesIO(part)) for part in parts]
    try:
        joined = pikepdf.Pdf.new()
        for src in sources:
            joined.pages.extend(src.pages)
        out = io.BytesIO()
        joined.save(out, compress_streams=True, deterministic_id=True)
    finally:
        for src in sources:
            src.close()
    return Normalised(out.getvalue(), pages)
