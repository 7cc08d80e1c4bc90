"""Frame-level rates: coded size, frame type and frame QP of every frame of a bitstream.

The bundled ffmpeg (imageio-ffmpeg) ships no ffprobe, so the bitstream is read with ffmpeg's
``trace_headers`` bitstream filter (``ffmpeg -f FMT -i BS -c copy -bsf:v trace_headers -f
null -``): the demuxer's parser splits the stream into packets (Annex-B access units for
H.264/HEVC/VVC, IVF frames for VP9, temporal units for AV1 low-overhead OBUs) and the coded
bitstream reader logs every header field it parses. From that log, per packet:

- ``bits``: 8 x the packet size. Packets cover the elementary stream exactly, so the sizes
  add up to the payload: the whole file for Annex-B and OBU streams, the file less the
  32-byte IVF header and 12 bytes per frame for IVF (:func:`payload_bits`).
- ``type``: ``I``, ``P`` or ``B`` from the first slice's ``slice_type`` (H.264, HEVC, VVC;
  a VVC slice without ``sh_slice_type`` is intra), from the shown frame's ``frame_type`` /
  ``intra_only`` (VP9, AV1: key and intra-only frames are ``I``, others ``P``; a packet that
  only shows an already decoded frame is ``P``).
- ``qp``: the first slice's QP on the codec's own scale, ``26 + init_qp_minus26 +
  slice_qp_delta`` (H.264, HEVC; VVC adds ``ph_qp_delta`` or ``sh_qp_delta``), and the shown
  frame's ``base_q_idx`` (0-255) for VP9 and AV1; None for a packet that only shows an
  existing frame.

Frames are returned in display order, the order of decoded frames and per-frame metric
values. VP9 and AV1 packets each show exactly one frame (hidden alt-ref frames travel inside
the packet of the next shown frame and are counted with it), so packet order is display
order. H.264, HEVC and VVC packets are reordered by picture order count: POC least
significant bits from the slice or picture header, most significant bits by the standard
derivation (H.264 8.2.1.1 for ``pic_order_cnt_type`` 0; HEVC 8.3.1 and VVC 8.3.1 with the
previous temporal-layer-0 reference picture), reset at IDR (and BLA) pictures. H.264 with
``pic_order_cnt_type`` 2 (no B-frames) is in display order already; type 1 is refused.

Example:
    >>> frames = probe_frames(Path("qp32.264"), "h264")
    >>> sum(f.bits for f in frames) == payload_bits(Path("qp32.264"), "h264")
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vqabench.errors import CodecError, invalid
from vqabench.io.ffmpeg import ffmpeg_path, path_arg
from vqabench.io.process import run_command

__all__ = [
    "CodedFrame",
    "FORMATS",
    "probe_frames",
    "payload_bits",
    "trace_packets",
    "bitstream_format",
    "record_frames",
    "cached_frames",
]

FORMATS = ("h264", "hevc", "vvc", "ivf", "obu", "cai")
_IVF_HEADER_BYTES, _IVF_FRAME_HEADER_BYTES = 32, 12

_PACKET = re.compile(r"Packet: (\d+) bytes")
_FIELD = re.compile(r"^\s*\d+\s+(\w+)(?:\[[^\]]*\])*\s+[01]*\s*=\s*(-?\d+)\s*$")


@dataclass(frozen=True)
class CodedFrame:
    """One coded frame (one packet) in display order.

    Attributes:
        bits: 8 x the packet's size in bytes.
        type: ``I``, ``P`` or ``B``.
        qp: frame QP on the codec's scale (see module docstring), or None.
        decode_index: position of the packet in the bitstream (decode order).
    """

    bits: int
    type: str
    qp: int | None
    decode_index: int


Packet = tuple[int, list[tuple[str, int]]]  # (size in bytes, header fields in order)


def trace_packets(bitstream: Path, fmt: str) -> tuple[list[tuple[str, int]], list[Packet]]:
    """Run ``trace_headers`` on ``bitstream`` (demuxer ``fmt``).

    Returns:
        The fields logged before the first packet (parameter sets of the extradata) and, per
        packet in decode order, its size in bytes and the header fields it carries.

    Raises:
        ConfigError: unknown ``fmt``; FfmpegError: ffmpeg cannot read the stream.
    """
    if fmt not in FORMATS:
        raise invalid("fmt", fmt, " | ".join(FORMATS))
    cmd = [
        ffmpeg_path(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "info",
        "-f",
        fmt,
        "-i",
        path_arg(Path(bitstream)),
        "-map",
        "0:v:0",
        "-c",
        "copy",
        "-bsf:v",
        "trace_headers",
        "-f",
        "null",
        "-",
    ]
    proc = run_command(cmd, errors="replace")  # FfmpegError with the stderr tail on failure
    head: list[tuple[str, int]] = []
    packets: list[Packet] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("[trace_headers"):
            continue
        text = line.split("] ", 1)[1] if "] " in line else ""
        if m := _PACKET.match(text):
            packets.append((int(m.group(1)), []))
        elif m := _FIELD.match(text):
            (packets[-1][1] if packets else head).append((m.group(1), int(m.group(2))))
    return head, packets


def payload_bits(bitstream: Path, fmt: str, n_packets: int | None = None) -> int:
    """Bits of the elementary stream in ``bitstream``: the file, less the IVF headers.

    Args:
        n_packets: IVF frame count (read from the file's frame headers when None).
    """
    if fmt == "cai":
        from vqabench.codecs.compressai_codec import frame_sizes

        return frame_sizes(Path(bitstream))[1]
    size = Path(bitstream).stat().st_size
    if fmt != "ivf":
        return 8 * size
    if n_packets is None:
        n_packets = len(_ivf_frame_sizes(Path(bitstream)))
    return 8 * (size - _IVF_HEADER_BYTES - _IVF_FRAME_HEADER_BYTES * n_packets)


def _ivf_frame_sizes(path: Path) -> list[int]:
    data = path.read_bytes()
    sizes, pos = [], _IVF_HEADER_BYTES
    while pos + _IVF_FRAME_HEADER_BYTES <= len(data):
        n = int.from_bytes(data[pos : pos + 4], "little")
        sizes.append(n)
        pos += _IVF_FRAME_HEADER_BYTES + n
    return sizes


def probe_frames(bitstream: Path, fmt: str) -> list[CodedFrame]:
    """Coded frames of ``bitstream`` in display order (see module docstring).

    Args:
        bitstream: raw elementary stream or IVF file.
        fmt: ffmpeg demuxer: ``h264``, ``hevc``, ``vvc``, ``ivf`` (VP9) or ``obu`` (AV1);
            or ``cai``, the ``compressai`` codec's file (read in Python: per frame its
            strings' bits, ``I``/``P``, and its quality level as ``qp``).

    Raises:
        ConfigError: unknown ``fmt``; FfmpegError: unreadable stream; CodecError: a stream
            this reader cannot order (H.264 ``pic_order_cnt_type`` 1, a packet without a
            slice).
    """
    if fmt == "cai":  # the compressai codec's container (no ffmpeg): its header says it all
        from vqabench.codecs.compressai_codec import frame_sizes

        return [CodedFrame(b, t, q, i) for i, (b, t, q) in enumerate(frame_sizes(bitstream)[0])]
    head, packets = trace_packets(Path(bitstream), fmt)
    if fmt in ("ivf", "obu"):
        return [_shown_frame(i, size, fields) for i, (size, fields) in enumerate(packets)]
    reader = {"h264": _H264, "hevc": _Hevc, "vvc": _Vvc}[fmt](head)
    keyed = [
        (reader.picture(size, fields, i, bitstream), i) for i, (size, fields) in enumerate(packets)
    ]
    keyed.sort(key=lambda kf: kf[0][0])
    return [frame for (_, frame), _ in keyed]


def _shown_frame(index: int, size: int, fields: list[tuple[str, int]]) -> CodedFrame:
    """VP9/AV1 packet: the type and base_q_idx of the frame header that shows a frame."""
    header: dict[str, int] = {}
    shown: dict[str, int] | None = None
    for name, value in fields:
        if name == "show_existing_frame":  # a new frame header starts
            if header.get("show_frame") or header.get("show_existing_frame"):
                shown = header
            header = {}
        header[name] = value
    if header.get("show_frame") or header.get("show_existing_frame"):
        shown = header
    if shown is None or shown.get("show_existing_frame"):
        return CodedFrame(8 * size, "P", None, index)
    intra = (
        shown.get("frame_type") in (0, 2)
        if "intra_only" not in shown
        else (shown.get("frame_type") == 0 or shown.get("intra_only") == 1)
    )
    return CodedFrame(8 * size, "I" if intra else "P", shown.get("base_q_idx"), index)


def _first(fields: list[tuple[str, int]], name: str, default: int | None = None) -> int | None:
    return next((v for n, v in fields if n == name), default)


class _PocReader:
    """Shared POC bookkeeping of H.264/HEVC/VVC: parameter-set state and the ordering key."""

    def __init__(self, head: list[tuple[str, int]]):
        self.params: dict[str, int] = {}
        self.update(head)
        self.cvs = -1  # coded video sequence index (IDR/BLA starts one)
        self.prev_msb = self.prev_lsb = 0

    def update(self, fields: list[tuple[str, int]]) -> None:
        """Remember parameter-set fields (the last value of each name wins)."""
        for name, value in fields:
            self.params[name] = value

    def msb(self, lsb: int, log2_max_lsb: int) -> int:
        """Standard POC MSB derivation from the previous (prev_msb, prev_lsb)."""
        half = 1 << (log2_max_lsb - 1)
        max_lsb = 1 << log2_max_lsb
        if lsb < self.prev_lsb and self.prev_lsb - lsb >= half:
            return self.prev_msb + max_lsb
        if lsb > self.prev_lsb and lsb - self.prev_lsb > half:
            return self.prev_msb - max_lsb
        return self.prev_msb


def _slice_fields(
    fields: list[tuple[str, int]], slice_nals: set[int]
) -> tuple[list[tuple[str, int]], list[tuple[str, int]], int, int]:
    """Split a packet's fields at its first slice NAL: (before, slice fields, nal type,
    temporal id plus 1)."""
    nal_starts = [i for i, (n, _) in enumerate(fields) if n == "nal_unit_type"]
    for k, start in enumerate(nal_starts):
        if fields[start][1] in slice_nals:
            end = nal_starts[k + 1] if k + 1 < len(nal_starts) else len(fields)
            if start > 0 and fields[start - 1][0] == "nal_ref_idc":  # H.264: before the type
                start -= 1
            part = fields[start:end]
            nal = _first(part, "nal_unit_type") or 0
            return fields[:start], part, nal, _first(part, "nuh_temporal_id_plus1", 1) or 1
    raise CodecError("a packet has no slice NAL unit; cannot read its frame type")


class _H264(_PocReader):
    _TYPES = {0: "P", 1: "B", 2: "I", 3: "P", 4: "I"}

    def picture(
        self, size: int, fields: list[tuple[str, int]], index: int, path: Path
    ) -> tuple[tuple[int, int], CodedFrame]:
        before, part, nal, _ = _slice_fields(fields, {1, 5})
        self.update(before)
        poc_type = self.params.get("pic_order_cnt_type", 0)
        qp = 26 + self.params.get("pic_init_qp_minus26", 0) + (_first(part, "slice_qp_delta") or 0)
        frame = CodedFrame(8 * size, self._TYPES[(_first(part, "slice_type") or 0) % 5], qp, index)
        if nal == 5:
            self.cvs += 1
            self.prev_msb = self.prev_lsb = 0
        if poc_type == 2:
            return (self.cvs, index), frame
        if poc_type != 0:
            raise CodecError(
                f"{path}: H.264 pic_order_cnt_type {poc_type} is not supported for frame ordering"
            )
        lsb = _first(part, "pic_order_cnt_lsb") or 0
        msb = 0 if nal == 5 else self.msb(lsb, self.params["log2_max_pic_order_cnt_lsb_minus4"] + 4)
        if (_first(part, "nal_ref_idc") or 0) != 0:
            self.prev_msb, self.prev_lsb = msb, lsb
        return (self.cvs, msb + lsb), frame


class _Hevc(_PocReader):
    _TYPES = {0: "B", 1: "P", 2: "I"}
    _SLICES = set(range(0, 10)) | set(range(16, 22))

    def picture(
        self, size: int, fields: list[tuple[str, int]], index: int, path: Path
    ) -> tuple[tuple[int, int], CodedFrame]:
        before, part, nal, tid1 = _slice_fields(fields, self._SLICES)
        self.update(before)
        qp = 26 + self.params.get("init_qp_minus26", 0) + (_first(part, "slice_qp_delta") or 0)
        frame = CodedFrame(8 * size, self._TYPES[_first(part, "slice_type") or 0], qp, index)
        lsb = _first(part, "slice_pic_order_cnt_lsb") or 0
        if 16 <= nal <= 20 or (nal == 21 and self.cvs < 0):  # BLA/IDR, or the first CRA
            self.cvs += 1
            msb = 0
        else:
            msb = self.msb(lsb, self.params["log2_max_pic_order_cnt_lsb_minus4"] + 4)
        sub_layer_non_ref = nal <= 14 and nal % 2 == 0
        if tid1 == 1 and not (6 <= nal <= 9) and not sub_layer_non_ref:
            self.prev_msb, self.prev_lsb = msb, lsb
        return (self.cvs, msb + lsb), frame


class _Vvc(_PocReader):
    _TYPES = {0: "B", 1: "P", 2: "I"}
    _SLICES = set(range(0, 11))

    def picture(
        self, size: int, fields: list[tuple[str, int]], index: int, path: Path
    ) -> tuple[tuple[int, int], CodedFrame]:
        before, part, nal, tid1 = _slice_fields(fields, self._SLICES)
        self.update(before)
        header = before + part  # the picture header NAL may precede the slice
        delta = _first(part, "ph_qp_delta", _first(header, "ph_qp_delta"))
        if delta is None:
            delta = _first(part, "sh_qp_delta") or 0
        qp = 26 + self.params.get("pps_init_qp_minus26", 0) + delta
        frame = CodedFrame(8 * size, self._TYPES[_first(part, "sh_slice_type", 2)], qp, index)
        lsb = _first(header, "ph_pic_order_cnt_lsb") or 0
        if nal in (7, 8) or (nal in (9, 10) and self.cvs < 0):  # IDR, or the first CRA/GDR
            self.cvs += 1
            msb = 0
        else:
            msb = self.msb(lsb, self.params["sps_log2_max_pic_order_cnt_lsb_minus4"] + 4)
        non_ref = _first(header, "ph_non_ref_pic_flag") == 1
        if tid1 == 1 and nal not in (2, 3) and not non_ref:
            self.prev_msb, self.prev_lsb = msb, lsb
        return (self.cvs, msb + lsb), frame


def bitstream_format(codec: object) -> str | None:
    """The demuxer of a codec's bitstreams (its ``muxer``) when this module reads it."""
    fmt = getattr(codec, "muxer", None)
    return fmt if fmt in FORMATS else None


def _sidecar(bitstream: Path) -> Path:
    return Path(bitstream).with_name(Path(bitstream).name + ".frames.json")


def record_frames(bitstream: Path, fmt: str, *, frames: int | None = None) -> list[CodedFrame]:
    """Probe ``bitstream`` and keep the result next to it (``NAME.frames.json``, atomic).

    Args:
        frames: the frame count the bitstream must show (the source's), checked.

    Raises:
        CodecError: the frame count differs or the sizes do not add up to the payload;
            and what :func:`probe_frames` raises.
    """
    import json

    from vqabench.io.atomic import atomic_write_text

    coded = probe_frames(bitstream, fmt)
    if frames is not None and len(coded) != frames:
        raise CodecError(f"{bitstream}: {len(coded)} coded frames, the source has {frames}")
    payload = payload_bits(bitstream, fmt, len(coded))
    if sum(f.bits for f in coded) != payload:
        raise CodecError(
            f"{bitstream}: frame sizes add up to {sum(f.bits for f in coded)} bits, "
            f"the payload is {payload}"
        )
    data = {
        "size_bytes": Path(bitstream).stat().st_size,
        "format": fmt,
        "frames": [[f.bits, f.type, f.qp, f.decode_index] for f in coded],
    }
    atomic_write_text(_sidecar(bitstream), json.dumps(data) + "\n")
    return coded


def cached_frames(bitstream: Path, fmt: str) -> list[CodedFrame]:
    """:func:`record_frames`'s result for ``bitstream``, probing again when the kept one is
    missing or belongs to a bitstream of another size."""
    import json

    side = _sidecar(bitstream)
    if side.is_file():
        try:
            data = json.loads(side.read_text(encoding="utf-8"))
            if (
                data.get("size_bytes") == Path(bitstream).stat().st_size
                and data.get("format") == fmt
            ):
                return [
                    CodedFrame(int(b), str(t), None if q is None else int(q), int(d))
                    for b, t, q, d in data["frames"]
                ]
        except (ValueError, KeyError, TypeError):
            pass
    return record_frames(bitstream, fmt)
