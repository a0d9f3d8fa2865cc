"""Test pages like a desk's scans, and the size each takes once normalised for the link.

A page is Vietnamese text rendered with Pillow onto an A4 sheet at 300 dpi, then made like
a phone photograph of it: turned by a degree or two, a grey cast and sensor noise, saved as
a JPEG of good quality. ``python -m bench.scanpages`` prints the size of each page before
and after :func:`commune_node.services.scans.normalise` (docs/benchmarks.md).
"""

from __future__ import annotations

import io
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

TEXT = (
    "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
    "Độc lập - Tự do - Hạnh phúc\n"
    "\n"
    "TỜ KHAI ĐĂNG KÝ KHAI SINH\n"
    "\n"
    "Kính gửi: Uỷ ban nhân dân xã Đăk Hà, tỉnh Quảng Ngãi\n"
    "Họ, chữ đệm, tên người yêu cầu: Nguyễn Thị Hồng Nhung\n"
    "Nơi cư trú: thôn Kon Rơ Wang, xã Đăk Hà\n"
    "Giấy tờ tuỳ thân: Căn cước công dân số 052190012345\n"
    "Quan hệ với người được khai sinh: mẹ\n"
    "Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:\n"
    "Họ, chữ đệm, tên: Y Thị Hoa   Giới tính: Nữ\n"
    "Ngày, tháng, năm sinh: 12/11/2026   ghi bằng chữ: ngày mười hai,\n"
    "tháng mười một, năm hai nghìn không trăm hai mươi sáu\n"
    "Nơi sinh: Trạm y tế xã Đăk Hà   Dân tộc: Xơ Đăng   Quốc tịch: Việt Nam\n"
    "Họ, chữ đệm, tên người mẹ: Nguyễn Thị Hồng Nhung   Năm sinh: 1990\n"
    "Họ, chữ đệm, tên người cha: A Tuấn   Năm sinh: 1988\n"
    "Tôi cam đoan nội dung đề nghị đăng ký khai sinh trên đây là đúng sự thật,\n"
    "được sự thoả thuận nhất trí của các bên liên quan theo quy định pháp luật.\n"
    "Tôi chịu hoàn toàn trách nhiệm trước pháp luật về nội dung cam đoan của mình.\n"
    "\n"
    "Làm tại: xã Đăk Hà, ngày 20 tháng 11 năm 2026\n"
    "Người yêu cầu (ký, ghi rõ họ, chữ đệm, tên)\n"
)
FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_PATHS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)  # Pillow's own scalable font


def a4_page(seed: int = 0, *, text: str = TEXT, photo: bool = True) -> bytes:
    """One A4 page at 300 dpi (2480 × 3508) as JPEG; with ``photo``, turned a little, on
    greyish paper with noise, as a phone photographs it."""
    rng = random.Random(seed)
    page = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(page)
    font = _font(46)  # about 11 pt at 300 dpi
    y = 260
    for line in (text * 2).splitlines()[:60]:
        draw.text((220, y), line, font=font, fill=0)
        y += 54
    if photo:
        page = page.rotate(rng.uniform(-2.0, 2.0), resample=Image.Resampling.BICUBIC, fillcolor=235)
        page = page.point(lambda v: int(40 + v * 0.78))  # grey paper, ink not black
        noise = Image.effect_noise(page.size, 14)
        page = Image.blend(page, noise, 0.12).filter(ImageFilter.GaussianBlur(0.6))
    rgb = Image.merge("RGB", (page, page, page.point(lambda v: max(0, v - 6))))
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=88)
    return out.getvalue()


def main(argv: list[str]) -> int:
    from commune_node.services import scans

    count = int(argv[0]) if argv else 5
    sizes_in, sizes_out = [], []
    for seed in range(count):
        raw = a4_page(seed)
        doc = scans.normalise([scans.Upload("files", f"page{seed}.jpg", raw)], scans.Limits())
        sizes_in.append(len(raw))
        sizes_out.append(len(doc.pdf))
        print(
            f"page {seed}: photo {len(raw) / 1024:.0f} KB -> PDF page {len(doc.pdf) / 1024:.1f} KB"
        )
    pages = [a4_page(seed) for seed in range(3)]
    three = scans.normalise(
        [scans.Upload("files", f"p{i}.jpg", p) for i, p in enumerate(pages)], scans.Limits()
    )
    mean_in, mean_out = sum(sizes_in) / count / 1024, sum(sizes_out) / count / 1024
    print(f"mean: photo {mean_in:.0f} KB -> {mean_out:.1f} KB per page (goal <= 80 KB); "
          f"largest {max(sizes_out) / 1024:.1f} KB")  # fmt: skip
    print(f"a 3-page document: {len(three.pdf) / 1024:.1f} KB, {three.pages} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
