"""The plain coercion of CLI parameters (vqabench/cli/coercion.py) gives every parameter of
the app the value, or the error message, that Typer's own pydantic adapter gives."""

from __future__ import annotations

from pathlib import Path

import pytest

typer_coercion = pytest.importorskip("typer._coercion")  # Typer >= 0.2x (pydantic adapters)


def _outcome(runtime, value, param, ctx):
    """("ok", type, repr of the value) or ("error", type, message) of one coercion."""
    try:
        out = runtime.coerce(value, param=param, ctx=ctx)
    except Exception as exc:  # noqa: BLE001 (the errors are what is compared)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        return ("error", type(exc).__name__, message)
    return ("ok", type(out).__name__, repr(out))  # repr: nan equals nan


def _commands(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def _samples(annotation, tmp_path: Path) -> list[object]:
    existing = tmp_path / "exists.y4m"
    existing.write_bytes(b"")
    return {
        str: ["x264:qp=22", "", " a ", "-", "é", "a\x00b"],
        int: ["0", "42", "-3", "007", "+5", " 5", "1_000", "5.0", "x", "", "1e3", 7, 2**70],
        float: ["0.5", "2", "-1.25", "007.50", "1e3", ".5", "5.", "inf", "nan", "x", "", 0.1],
        bool: [True, False, "true", "no", "maybe"],
        Path: ["a/b.y4m", "a/", "./a", "~/x", "-", "", str(existing), str(tmp_path), "a\x00b"],
    }[annotation]


@pytest.mark.slow
def test_every_plain_parameter_coerces_as_typer_does(tmp_path):
    """For each parameter of every command (``-h`` included) and values of its type, valid,
    unusual and invalid: the plain coercion's value (type and value) or error (class and
    message) equals Typer's own adapter's; and every parameter of the app is plain (pydantic
    is never needed to parse a vqabench command line)."""
    from typing import get_args, get_origin

    import typer.main

    from vqabench.cli import app
    from vqabench.cli.coercion import _is_plain, plain_coercion

    checked = 0
    for path, command in _commands(typer.main.get_command(app)):
        ctx = typer.Context(command, info_name=" ".join(("vqabench", *path)))
        params = command.get_params(ctx)
        plain_coercion(params)
        for param in params:
            descriptor = param.type_descriptor
            assert _is_plain(descriptor), (path, param.name)
            ours = param.get_runtime_param()
            theirs = typer_coercion.build_runtime_param(descriptor)
            assert type(ours).__name__ == "_PlainParam"
            annotation = descriptor.annotation
            listed = get_origin(annotation) is list
            samples = _samples(get_args(annotation)[0] if listed else annotation, tmp_path)
            values = [tuple(samples[:3]), tuple(samples[-3:]), ()] if listed else samples
            for value in [*values, None]:
                assert _outcome(ours, value, param, ctx) == _outcome(theirs, value, param, ctx), (
                    path,
                    param.name,
                    value,
                )
                checked += 1
    assert checked > 1000  # every command's parameters were seen


def test_plain_values_are_typers():
    """Hand-derived cases: what is answered without Typer's adapter, and what is left to it."""
    from vqabench.cli.coercion import UNSURE, plain_value

    assert plain_value(int, "007") == 7 and plain_value(int, "-3") == -3
    assert plain_value(float, "2") == 2.0 and type(plain_value(float, "2")) is float
    assert plain_value(str, " a ") == " a "
    assert plain_value(Path, "a/") == Path("a")
    for annotation, value in [(int, "1_000"), (int, " 5"), (float, "1e3"), (bool, "yes")]:
        assert plain_value(annotation, value) is UNSURE
    assert plain_value(Path, "") is UNSURE and plain_value(Path, "a\x00b") is UNSURE
