"""Files as text: the bytes of an imported file decoded, with a warning
when it had to be read as cp1252.

UTF-8 with or without a BOM, UTF-16/32 with a BOM, UTF-16 without one
(Apple's Address Book), else cp1252; `--encoding` overrides every guess.
A file that is mostly control characters is binary, not text.
"""

from minicrm.errors import UserError

SNIFF_BYTES = 32 * 1024  # how much of a file a guess looks at
_NOT_TEXT = {chr(c) for c in range(32)} - {"\t", "\n", "\r", "\f"}

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
)  # fmt: skip


def decode(data: bytes, name: str, *, encoding: str | None = None) -> tuple[str, str | None]:
    """The text of a file, and a warning when it had to be read as cp1252.
    `encoding` (the user's --encoding) overrides every guess."""
    if not data.strip():
        raise UserError(f"{name} is empty")
    if encoding:
        return _decode_as(data, name, encoding), None
    warning = None
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), None)
    if encoding:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise UserError(f"{name} starts like {encoding} text but is not: {exc}") from exc
    elif b"\x00" in data:
        encoding = _utf16_without_bom(data)
        if encoding is None:
            raise UserError(f"{name} looks like a binary file, not text")
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise UserError(f"{name} looks like a binary file, not text") from exc
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError as exc:
                raise UserError(
                    f"{name} is neither UTF-8 nor cp1252 text; name its encoding with "
                    "--encoding (e.g. shift_jis, cp1251) or save it as UTF-8"
                ) from exc
            warning = f"{name} is not UTF-8; read it as Windows cp1252 (check accented letters)"
    sample = text[:SNIFF_BYTES]
    if sum(ch in _NOT_TEXT for ch in sample) > len(sample) // 100 + 1:
        raise UserError(f"{name} looks like a binary file, not text")
    if not text.strip():
        raise UserError(f"{name} is empty")
    return text, warning


def _decode_as(data: bytes, name: str, encoding: str) -> str:
    import codecs

    try:
        codec = codecs.lookup(encoding.strip())
    except LookupError:
        raise UserError(f"unknown encoding {encoding!r}; e.g. utf-8, cp1252, shift_jis") from None
    try:
        text = data.decode(codec.name)
    except UnicodeDecodeError as exc:
        raise UserError(f"{name} is not {encoding} text: {exc.reason} at byte {exc.start}") from exc
    return text.removeprefix("\ufeff")


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 whose writer left out the byte-order mark (Apple's Address
    Book does): Latin text then has a NUL in every other byte."""
    sample = data[:4096]
    even, odd = sample[0::2], sample[1::2]
    if even.count(0) > len(even) * 0.4 and odd.count(0) < len(odd) * 0.05:
        return "utf-16-be"
    if odd.count(0) > len(odd) * 0.4 and even.count(0) < len(even) * 0.05:
        return "utf-16-le"
    return None
