"""Config files and ``--set section.key=value`` overrides shared by the task CLIs."""

from __future__ import annotations

import json
from pathlib import Path


def load_json_config(path: str | None) -> dict:
    """Read a JSON object from ``path`` (None -> {}); errors name the file."""
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"config file {path!r} not found")
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"config file {path!r} is not valid JSON: {e}") from None
    if not isinstance(d, dict):
        raise ValueError(f"config file {path!r} must hold a JSON object")
    return d


def parse_value(text: str):
    """JSON value if it parses (numbers, true/false, null, lists), else the raw string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(cfg: dict, sets: list[str] | None, sections: tuple[str, ...]) -> dict:
    """Apply ``section.key=value`` strings to the nested dict ``cfg`` (a copy is returned).

    The section must be one of ``sections``; key validity is checked later by the dataclass that consumes it.
    """
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in cfg.items()}
    for item in sets or []:
        if "=" not in item:
            raise ValueError(f"--set expects section.key=value, got {item!r}")
        key, val = item.split("=", 1)
        if "." not in key:
            raise ValueError(f"--set key must be section.key with section in {sections}, got {key!r}")
        sec, name = key.split(".", 1)
        if sec not in sections:
            raise ValueError(f"--set section {sec!r} unknown; expected one of {sections}")
        out.setdefault(sec, {})[name] = parse_value(val)
    unknown = sorted(set(out) - set(sections) - {"task", "data"})
    if unknown:
        raise ValueError(f"unknown config section(s) {unknown}; expected {sections}")
    return out
