"""A printable PDF of a standards report, written directly (PDF 1.4, built-in Helvetica; no
dependency): a title page with the chart of calls offered/answered per interval, the totals
with every standard's target, actual, variance and trend, then the interval rows."""

from __future__ import annotations

import zlib
from typing import Any

__all__ = ["PdfCanvas", "report_pdf"]

_W, _H = 842.0, 595.0  # A4 landscape, points
_M = 36.0


def _esc(text: str) -> str:
    safe = text.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


class PdfCanvas:
    """Pages of text, lines and filled rectangles; ``bytes()`` gives the file."""

    def __init__(self) -> None:
        self.pages: list[list[str]] = []
        self.ops: list[str] = []
        self.new_page()

    def new_page(self) -> None:
        self.ops = []
        self.pages.append(self.ops)

    def text(self, x: float, y: float, s: str, size: float = 9, bold: bool = False) -> None:
        font = "F2" if bold else "F1"
        self.ops.append(f"BT /{font} {size:.1f} Tf {x:.1f} {y:.1f} Td ({_esc(s)}) Tj ET")

    def rect(self, x: float, y: float, w: float, h: float, rgb: tuple[float, float, float]) -> None:
        r, g, b = rgb
        self.ops.append(f"{r:.3f} {g:.3f} {b:.3f} rg {x:.1f} {y:.1f} {w:.1f} {h:.1f} re f 0 g")

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float = 0.5) -> None:
        self.ops.append(f"{width:.2f} w {x1:.1f} {y1:.1f} m {x2:.1f} {y2:.1f} l S")

    def bytes(self) -> bytes:
        objs: list[bytes] = []
        n = len(self.pages)
        kids = " ".join(f"{5 + 2 * i} 0 R" for i in range(n))
        objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
        objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
        objs.append(
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
        )
        objs.append(
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold "
            b"/Encoding /WinAnsiEncoding >>"
        )
        for i, ops in enumerate(self.pages):
            content = zlib.compress("\n".join(ops).encode("latin-1"))
            objs.append(
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_W:.0f} {_H:.0f}] "
                f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> "
                f"/Contents {6 + 2 * i} 0 R >>".encode()
            )
            objs.append(
                f"<< /Length {len(content)} /Filter /FlateDecode >>\nstream\n".encode()
                + content
                + b"\nendstream"
            )
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for num, body in enumerate(objs, 1):
            offsets.append(len(out))
            out += f"{num} 0 obj\n".encode() + body + b"\nendobj\n"
        xref = len(out)
        out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
        for off in offsets:
            out += f"{off:010d} 00000 n \n".encode()
        out += (
            f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
        )
        return bytes(out)


def _pct(v: Any) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def _num(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.1f}" if isinstance(v, float) else str(v)


def _chart(
    pdf: PdfCanvas, rows: list[dict[str, Any]], x: float, y: float, w: float, h: float
) -> None:
    """Bars of offered (grey) and answered (green) per interval, all keys summed."""
    per: dict[str, list[int]] = {}
    for row in rows:
        pair = per.setdefault(row["interval"], [0, 0])
        pair[0] += row["figures"]["offered"]
        pair[1] += row["figures"]["answered"]
    pdf.text(x, y + h + 8, "Calls offered (grey) and answered (green) per interval", 10, True)
    pdf.line(x, y, x + w, y)
    pdf.line(x, y, x, y + h)
    if not per:
        pdf.text(x + 10, y + h / 2, "no calls in this range", 10)
        return
    top = max(max(p[0] for p in per.values()), 1)
    slot = w / len(per)
    bar = max(1.0, min(18.0, slot * 0.4))
    for i, (label, (offered, answered)) in enumerate(per.items()):
        bx = x + i * slot + slot * 0.1
        pdf.rect(bx, y, bar, h * offered / top, (0.7, 0.7, 0.7))
        pdf.rect(bx + bar, y, bar, h * answered / top, (0.2, 0.6, 0.3))
        if len(per) <= 16 or i % max(1, len(per) // 16) == 0:
            pdf.text(bx, y - 10, label[-10:], 6)
    pdf.text(x - 24, y + h - 4, str(top), 7)


def report_pdf(report: dict[str, Any]) -> bytes:
    pdf = PdfCanvas()
    y = _H - _M
    pdf.text(_M, y, "ringwatch standards report", 16, True)
    y -= 18
    pdf.text(
        _M,
        y,
        f"{report['from']} to {report['to']} ({report['timezone']}), by {report['interval']}"
        f" and {report['breakdown']}; directions: {', '.join(report['directions'])}",
        10,
    )
    y -= 13
    pdf.text(
        _M,
        y,
        f"Service level = answered within {report['service_level_threshold']} s / (answered + "
        f"abandoned - short abandons); short abandon < {report['short_abandon_seconds']:g} s",
        8,
    )
    _chart(pdf, report["rows"], _M + 24, _H - 300, _W - 2 * _M - 24, 180)
    y = _H - 340
    cols = (
        "key",
        "offered",
        "answered",
        "abandoned",
        "short",
        "SL",
        "ASA s",
        "avg wait",
        "max wait",
        "avg talk",
        "hold s",
        "transfers",
    )
    xs = [_M + i * 62 for i in range(len(cols))]
    pdf.text(_M, y, "Totals", 11, True)
    y -= 14
    for x, c in zip(xs, cols, strict=True):
        pdf.text(x, y, c, 8, True)
    y -= 4
    pdf.line(_M, y, _W - _M, y)
    y -= 11
    p = report["promises"]["by_key"]
    for row in report["totals"]:
        if y < _M + 40:
            pdf.new_page()
            y = _H - _M
        f = row["figures"]
        vals = (
            row["key"][:12],
            f["offered"],
            f["answered"],
            f["abandoned"],
            f["short_abandoned"],
            _pct(f["service_level"]),
            _num(f["asa_seconds"]),
            _num(f["average_wait_seconds"]),
            _num(f["longest_wait_seconds"]),
            _num(f["average_talk_seconds"]),
            _num(f["hold_seconds"]),
            f["transfers"],
        )
        for x, v in zip(xs, vals, strict=True):
            pdf.text(x, y, str(v), 8)
        y -= 11
        cb = p.get(row["key"])
        if cb:
            pdf.text(
                xs[1],
                y,
                f"callbacks: {cb['kept']} kept, {cb['broken']} broken, {cb['open']} open",
                7,
            )
            y -= 10
        for s in row["standards"]:
            if not s["applicable"]:
                continue
            if y < _M + 20:
                pdf.new_page()
                y = _H - _M
            pdf.text(
                xs[1],
                y,
                f"{s['title'][:60]}: target {_pct(s['target'])}, actual {_pct(s['actual'])}, "
                f"variance {_pct(s['variance'])}, calls needed {_num(s['calls_needed'])}, "
                f"trend {_pct(s['trend'])} ({s['met']} met, {s['breached']} breached)",
                7,
            )
            y -= 10
        y -= 4
    pdf.new_page()
    y = _H - _M
    pdf.text(_M, y, "By interval", 11, True)
    y -= 14
    for row in report["rows"]:
        if y < _M:
            pdf.new_page()
            y = _H - _M
        f = row["figures"]
        pdf.text(
            _M,
            y,
            f"{row['interval']:<18} {row['key'][:16]:<16} offered {f['offered']}, answered "
            f"{f['answered']}, abandoned {f['abandoned']} (+{f['short_abandoned']} short), SL "
            f"{_pct(f['service_level'])}, ASA {_num(f['asa_seconds'])} s, longest wait "
            f"{_num(f['longest_wait_seconds'])} s",
            7.5,
        )
        y -= 10
    return pdf.bytes()
