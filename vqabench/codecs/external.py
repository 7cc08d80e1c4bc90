"""Codec ``external``: any codec driven by command templates, or results made elsewhere.

**Command mode.** ``encode`` and ``decode`` are argument-list templates run without a
shell. Each ``{placeholder}`` is substituted inside its own argument (a value with spaces
stays one argument; nothing is ever split); ``{{`` and ``}}`` are literal braces.

================  =============================================================
placeholder       value
================  =============================================================
``{input}``       codec input (Y4M); encode only
``{bitstream}``   bitstream file to write (encode) or read (decode)
``{output}``      decoded Y4M file to write; decode only
``{width}``       ``{height}``, ``{frames}``: of the input
``{fps}``         frame rate as ``NUM/DEN``
``{pix_fmt}``     ffmpeg pixel format of the input, e.g. ``yuv420p``
``{rate}``        rate point label, e.g. ``qp=30``; encode only
``{param}``       ``{value}``: the rate point's parameter and value; encode only
``{ffmpeg}``      the ffmpeg vqabench uses (bundled, or ``VQABENCH_FFMPEG``)
================  =============================================================

The bitstream and output files exist (empty) when the commands start, so tools must
overwrite them (``-y`` for ffmpeg). The decoder must write Y4M of the input's size and
frame count.

**Import mode.** ``import_dir`` names a folder of bitstreams and decoded videos produced
elsewhere; "encoding" copies them in, so their rows land in the run's results with the
same metrics. Naming convention (``STEM = <param><value>``, e.g. ``qp30`` or ``models``)::

    IMPORT_DIR/<sequence>/STEM<extension>        bitstream (bits = 8 x its size)
    IMPORT_DIR/<sequence>/STEM.y4m               its decoded video
    IMPORT_DIR/<sequence>/STEM.json              optional {"enc_s": ..., "dec_s": ...}
    IMPORT_DIR/<sequence>/<reference>/STEM...    when the input is a reference R of the UGC
                                                 stage; <reference> is the file stem under
                                                 RUN/references/<sequence>/, e.g. x264_qp37

Options come from a TOML file (``config = "configs/external_x264.toml"``) and/or inline
keys; inline keys override the file. Keys: ``encode``, ``decode``, ``import_dir``,
``extension`` (``.264``; the dot may be left out), ``rate_param`` (default ``qp``; one
of :data:`RATE_PARAM_NAMES`),
``rate_range = [lo, hi]``, ``rate_values = [...]``, ``version``, ``description``. The
results name the codec by the ``label`` of its ``[[codecs]]`` entry.

Example (run config)::

    [[codecs]]
    name = "external"
    label = "x264-ext"
    config = "configs/external_x264.toml"
    qp = [22, 27, 32, 37]
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tomllib
from pathlib import Path
from typing import ClassVar

from vqabench.codecs.base import CODECS, Codec, RatePoint
from vqabench.errors import CodecError, ConfigError, invalid
from vqabench.io.ffmpeg import ffmpeg_version, path_arg
from vqabench.io.names import safe_name
from vqabench.io.process import run_command
from vqabench.io.video import PIX_FMTS, Video

__all__ = ["ExternalCodec", "PLACEHOLDERS", "RATE_PARAM_NAMES", "substitute", "import_stem"]

PLACEHOLDERS: tuple[str, ...] = (
    "input",
    "bitstream",
    "output",
    "width",
    "height",
    "frames",
    "fps",
    "pix_fmt",
    "rate",
    "param",
    "value",
    "ffmpeg",
)
_ENCODE_ONLY = ("input", "rate", "param", "value")
_DECODE_ONLY = ("output",)
#: rate-control names an external codec may use (the config picks one with ``rate_param``)
RATE_PARAM_NAMES: tuple[str, ...] = (
    "qp",
    "crf",
    "q",
    "quality",
    "lmbda",
    "lambda",
    "rate",
    "bitrate",
    "kbps",
    "model",
    "level",
    "index",
)
_FILE_KEYS = (
    "encode",
    "decode",
    "import_dir",
    "extension",
    "rate_param",
    "rate_range",
    "rate_values",
    "version",
    "description",
)
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[{}]")


def _names(template: str) -> list[str]:
    """Placeholder names in one argument template (ConfigError on stray braces)."""
    names = []
    for m in _TOKEN.finditer(template):
        tok = m.group(0)
        if tok in ("{{", "}}"):
            continue
        if m.group(1) is None:
            raise invalid(
                "template argument",
                template,
                "balanced {placeholder}s; write {{ or }} for a literal brace",
            )
        names.append(m.group(1))
    return names


def substitute(template: list[str], values: dict[str, object]) -> list[str]:
    """Fill each argument's placeholders; one template argument gives one argument.

    Args:
        template: argument list with ``{name}`` placeholders.
        values: placeholder values (converted with ``str``).

    Raises:
        ConfigError: a placeholder has no value.

    Example:
        >>> substitute(["x", "-o", "{bitstream}", "--q={value}"], {"bitstream": "a b", "value": 3})
        ['x', '-o', 'a b', '--q=3']
    """
    out = []
    for arg in template:

        def repl(m: re.Match[str], arg: str = arg) -> str:
            tok = m.group(0)
            if tok == "{{":
                return "{"
            if tok == "}}":
                return "}"
            if m.group(1) is None or m.group(1) not in values:
                raise invalid(
                    "placeholder", tok, f"one of {', '.join(sorted(values))} (in argument {arg!r})"
                )
            return str(values[m.group(1)])

        out.append(_TOKEN.sub(repl, arg))
    return out


def import_stem(rate: RatePoint) -> str:
    """File stem of a rate point in an import folder (``qp30``, ``models``), as the runner
    names bitstreams."""
    return safe_name(f"{rate.param}{rate.value}")


def _load_file(path: str | Path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise invalid("config", str(path), "an existing TOML file describing the codec")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"external codec config {p}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_FILE_KEYS))
    if unknown:
        raise ConfigError(
            f"external codec config {p}: unknown key(s) {unknown}; allowed: {', '.join(_FILE_KEYS)}"
        )
    if "import_dir" in data:  # relative to the file that names it
        data["import_dir"] = str((p.parent / data["import_dir"]).resolve())
    return data


@CODECS.register("external")
class ExternalCodec(Codec):
    """A codec from command templates or an import folder (see the module docstring).

    Args:
        config: TOML file with any of the keys below.
        encode: encode command template (list of arguments).
        decode: decode command template (list of arguments).
        import_dir: folder of results produced elsewhere (instead of commands).
        extension: bitstream suffix (default ``.bin``).
        rate_param: the rate-control name of the ladder (default ``qp``).
        rate_range: ``[lo, hi]`` allowed numeric values (default: any).
        rate_values: allowed values (numbers or strings), instead of a range.
        version: version text of the external codec (part of the job key).
        description: free text.

    Raises:
        ConfigError: unreadable file, unknown key, bad template, or neither/both modes.
    """

    name = "external"
    rate_params: ClassVar[dict[str, tuple[float, float]]] = {
        p: (-math.inf, math.inf) for p in RATE_PARAM_NAMES
    }
    #: The wrapped tool is given the input as it is ({pix_fmt}); its decoded output must
    #: come back in the same format (checked by the runner).
    native_pix_fmts: ClassVar[tuple[str, ...]] = tuple(PIX_FMTS)

    def __init__(
        self,
        *,
        config: str | None = None,
        encode: list[str] | None = None,
        decode: list[str] | None = None,
        import_dir: str | None = None,
        extension: str | None = None,
        rate_param: str | None = None,
        rate_range: list[float] | None = None,
        rate_values: list[object] | None = None,
        version: str | None = None,
        description: str | None = None,
    ):
        data = _load_file(config) if config is not None else {}
        inline = {
            "encode": encode,
            "decode": decode,
            "import_dir": import_dir,
            "extension": extension,
            "rate_param": rate_param,
            "rate_range": rate_range,
            "rate_values": rate_values,
            "version": version,
            "description": description,
        }
        data.update({k: v for k, v in inline.items() if v is not None})
        self.encode_template = self._template(data.get("encode"), "encode")
        self.decode_template = self._template(data.get("decode"), "decode")
        self.import_dir = Path(data["import_dir"]).resolve() if data.get("import_dir") else None
        commands = self.encode_template is not None or self.decode_template is not None
        if commands == (self.import_dir is not None):
            raise ConfigError(
                "external codec: give either encode and decode command templates "
                "or import_dir (a folder of results made elsewhere), not "
                + ("both" if commands else "neither")
            )
        if commands and (self.encode_template is None or self.decode_template is None):
            raise ConfigError("external codec: both encode and decode templates are needed")
        ext = data.get("extension", ".bin")
        if isinstance(ext, float):  # "--codec ...:extension=.264" reads as the number 0.264
            raise invalid(
                "extension",
                ext,
                "a file suffix; on the command line write it without the dot (extension=264)",
            )
        ext = str(ext) if str(ext).startswith(".") else f".{ext}"
        if not re.fullmatch(r"\.[A-Za-z0-9_.-]{1,16}", ext):
            raise invalid("extension", ext, "a file suffix such as .bin or .264")
        self.extension = ext  # type: ignore[misc]  (instance value shadows the default)
        param = str(data.get("rate_param", "qp"))
        if param not in RATE_PARAM_NAMES:
            raise invalid("rate_param", param, " | ".join(RATE_PARAM_NAMES))
        self.rate_param = param
        self.rate_range = self._range(data.get("rate_range"))
        values = data.get("rate_values")
        if values is not None and (not isinstance(values, list) or not values):
            raise invalid("rate_values", values, "a non-empty list of allowed values")
        self.rate_values = tuple(values) if values is not None else None
        self.rate_params = {param: self.rate_range}  # type: ignore[misc]
        self.user_version = str(data["version"]) if data.get("version") else None
        self.description = str(data.get("description", ""))

    @staticmethod
    def _template(value: object, which: str) -> tuple[str, ...] | None:
        if value is None:
            return None
        if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
            raise invalid(
                which, value, "a non-empty list of arguments (no shell: one string is not split)"
            )
        args = tuple(str(a) for a in value)
        used = {n for a in args for n in _names(a)}
        unknown = sorted(used - set(PLACEHOLDERS))
        if unknown:
            raise invalid(f"{which} placeholder", unknown[0], ", ".join(PLACEHOLDERS))
        banned = _DECODE_ONLY if which == "encode" else _ENCODE_ONLY
        wrong = sorted(used & set(banned))
        if wrong:
            raise invalid(
                f"{which} placeholder",
                wrong[0],
                f"placeholders available when {which[:-1]}ing (not {', '.join(banned)})",
            )
        needed = ("input", "bitstream") if which == "encode" else ("bitstream", "output")
        missing = [n for n in needed if n not in used]
        if missing:
            raise ConfigError(
                f"external codec: the {which} template must use "
                f"{', '.join('{' + n + '}' for n in missing)}: {list(args)}"
            )
        return args

    @staticmethod
    def _range(value: object) -> tuple[float, float]:
        if value is None:
            return (-math.inf, math.inf)
        if (
            not isinstance(value, list | tuple)
            or len(value) != 2
            or not all(isinstance(v, int | float) for v in value)
            or value[0] > value[1]
        ):
            raise invalid("rate_range", value, "[lo, hi] numbers with lo <= hi")
        return (float(value[0]), float(value[1]))

    def check_rate_point(self, rate: RatePoint) -> None:
        """Raise CodecError unless ``rate`` uses ``rate_param`` with an allowed value."""
        if rate.param != self.rate_param:
            raise CodecError(
                f"{self.name}: rate point {rate.label!r} is not allowed: this "
                f"codec's rate control is {self.rate_param}= (rate_param)"
            )
        if self.rate_values is not None:
            if rate.value not in self.rate_values:
                raise CodecError(
                    f"{self.name}: rate point {rate.label!r} is not allowed: "
                    f"expected one of {list(self.rate_values)}"
                )
            return
        lo, hi = self.rate_range
        if isinstance(rate.value, str):
            if (lo, hi) != (-math.inf, math.inf):
                raise CodecError(
                    f"{self.name}: rate point {rate.label!r} is not allowed: "
                    f"a number in {lo:g}..{hi:g}"
                )
            return
        if not lo <= rate.value <= hi:
            raise CodecError(
                f"{self.name}: rate point {rate.label!r} is not allowed: "
                f"{self.rate_param} must be in {lo:g}..{hi:g}"
            )

    @property
    def options(self) -> dict:
        opts: dict[str, object] = {"extension": self.extension, "rate_param": self.rate_param}
        if self.import_dir is not None:
            opts["import_dir"] = str(self.import_dir)
        else:
            opts["encode"] = list(self.encode_template or ())
            opts["decode"] = list(self.decode_template or ())
        if self.rate_values is not None:
            opts["rate_values"] = list(self.rate_values)
        elif self.rate_range != (-math.inf, math.inf):
            opts["rate_range"] = list(self.rate_range)
        return opts

    def version(self) -> str:
        text = self.user_version or ("import" if self.import_dir else "unknown")
        templates = (self.encode_template or ()) + (self.decode_template or ())
        if any("{ffmpeg}" in a for a in templates):
            text += f" ({ffmpeg_version()})"
        return text

    # -- command mode ----------------------------------------------------------------------

    @staticmethod
    def _values(video: Video) -> dict[str, object]:
        from vqabench.io.ffmpeg import ffmpeg_path

        return {
            "width": video.width,
            "height": video.height,
            "frames": video.frames,
            "fps": f"{video.fps.numerator}/{video.fps.denominator}",
            "pix_fmt": video.pix_fmt,
            "ffmpeg": ffmpeg_path(),
        }

    def encode_cmd(self, source: Video, bitstream: Path, rate: RatePoint) -> list[str]:
        if self.encode_template is None:
            raise CodecError("external codec in import mode has no encode command")
        return substitute(
            list(self.encode_template),
            {
                **self._values(source),
                "input": path_arg(source.path),
                "bitstream": path_arg(bitstream),
                "rate": rate.label,
                "param": rate.param,
                "value": rate.value,
            },
        )

    def decode_cmd(self, bitstream: Path, output: Path, source: Video) -> list[str]:
        if self.decode_template is None:
            raise CodecError("external codec in import mode has no decode command")
        return substitute(
            list(self.decode_template),
            {**self._values(source), "bitstream": path_arg(bitstream), "output": path_arg(output)},
        )

    @staticmethod
    def _run(cmd: list[str], what: str) -> float:
        def failed(cmd: list[str], returncode: int, output: str) -> CodecError:
            tail = output.strip().splitlines()
            return CodecError(
                f"external {what} command failed (exit code {returncode}): "
                f"{tail[-1] if tail else 'no output'}; command: {cmd}"
            )

        try:
            return run_command(cmd, error=failed).elapsed_s
        except OSError as exc:
            raise CodecError(f"external {what} command cannot start: {cmd[0]!r}: {exc}") from exc

    # -- import mode -----------------------------------------------------------------------

    def _import_folder(self, source: Video) -> Path:
        if self.import_dir is None:
            raise CodecError("external codec in command mode has no import folder")
        p = Path(source.path)
        candidates = [self.import_dir / p.parent.name / p.stem, self.import_dir / p.stem]
        if self.import_dir.is_dir():
            candidates += sorted(
                (
                    d
                    for d in self.import_dir.iterdir()
                    if d.is_dir() and p.stem.startswith(d.name + "_")
                ),
                key=lambda d: -len(d.name),
            )
        for folder in candidates:
            if folder.is_dir():
                return folder
        raise CodecError(
            f"external import: no folder for input {p.name} under "
            f"{self.import_dir}: looked for "
            + ", ".join(str(c.relative_to(self.import_dir)) for c in candidates[:2])
            + " and <sequence> folders whose name starts the input's name"
        )

    def _times(self, folder: Path, stem: str) -> dict[str, float]:
        side = folder / f"{stem}.json"
        if not side.is_file():
            return {}
        try:
            data = json.loads(side.read_text(encoding="utf-8"))
            return {k: float(data[k]) for k in ("enc_s", "dec_s") if k in data}
        except (ValueError, TypeError) as exc:
            raise CodecError(f"{side}: not a JSON object with enc_s/dec_s numbers") from exc

    def encode(self, source: Video, bitstream: Path, rate: RatePoint) -> float:
        """Run the encode command (or copy the imported bitstream); wall seconds."""
        if self.import_dir is None:
            return self._run(self.encode_cmd(source, bitstream, rate), "encode")
        folder = self._import_folder(source)
        stem = import_stem(rate)
        src = folder / f"{stem}{self.extension}"
        decoded = folder / f"{stem}.y4m"
        for needed in (src, decoded):
            if not needed.is_file():
                raise CodecError(f"external import: {needed} is missing")
        shutil.copyfile(src, bitstream)
        return self._times(folder, stem).get("enc_s", 0.0)

    def decode(self, bitstream: Path, output: Path, source: Video) -> float:
        """Run the decode command (or copy the imported decoded video); wall seconds."""
        if self.import_dir is None:
            return self._run(self.decode_cmd(bitstream, output, source), "decode")
        folder = self._import_folder(source)
        data = Path(bitstream).read_bytes()
        # the runner names bitstreams STEM<ext> too; otherwise find the file by its content
        named = folder / f"{Path(bitstream).stem}{self.extension}"
        matches = (
            [named]
            if named.is_file() and named.read_bytes() == data
            else [f for f in sorted(folder.glob(f"*{self.extension}")) if f.read_bytes() == data]
        )
        if not matches:
            raise CodecError(f"external import: {bitstream} matches no bitstream in {folder}")
        stem = matches[0].name[: -len(self.extension)]
        decoded = folder / f"{stem}.y4m"
        if not decoded.is_file():
            raise CodecError(f"external import: {decoded} is missing")
        shutil.copyfile(decoded, output)
        return self._times(folder, stem).get("dec_s", 0.0)
