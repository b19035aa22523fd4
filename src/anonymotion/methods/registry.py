"""The methods by name (a literal registry), their construction and their strength levels.

Every surface (CLI, Python API, web page, batch) builds methods through :func:`make_method`
and checks user options with :func:`check_method_options`, so an option that no chosen
method uses is refused with a clear message instead of being silently ignored.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from anonymotion.errors import ConfigError
from anonymotion.methods.base import Method
from anonymotion.methods.basic import Block, Blur, NoChange, Pixelate
from anonymotion.methods.body import BodyBlock, BodyBlur, BodyPixelate
from anonymotion.methods.head import HeadBlur
from anonymotion.methods.lowres import LowRes
from anonymotion.methods.skeleton import Skeleton

CONTROL = "reencode"  #: the method every evaluation compares against: a plain re-encode

#: name -> method class. Heavy models load when a method is built or first applied, not here.
METHODS: dict[str, type] = {
    "blur": Blur,
    "pixelate": Pixelate,
    "block": Block,
    "head": HeadBlur,
    "body-blur": BodyBlur,
    "body-pixelate": BodyPixelate,
    "body-block": BodyBlock,
    "lowres": LowRes,
    "skeleton": Skeleton,
    CONTROL: NoChange,
}

#: AnonymizeConfig fields that are parameters of some method (None in the config = not given)
TUNING_OPTIONS = ("strength", "blocks", "kernel", "background", "size")
#: parameters every region method takes (always set: they have config defaults)
SHAPE_OPTIONS = ("shape", "mask_scale")


def method_class(name: str) -> type:
    """The class of method ``name``; ConfigError naming the known methods otherwise."""
    try:
        return METHODS[name]
    except KeyError:
        raise ConfigError(None, f"unknown method {name!r}; choose one of: {', '.join(sorted(METHODS))}") from None


def parameters(name: str) -> tuple[str, ...]:
    """Names of the constructor parameters of method ``name``."""
    return tuple(f.name for f in fields(method_class(name)) if f.init)


def make_method(name: str, **params: Any) -> Method:
    """Build method ``name`` from the parameters it declares (others, and None values, are skipped:
    use :func:`check_method_options` first to refuse options that apply to no chosen method)."""
    cls = method_class(name)
    accepted = set(parameters(name))
    return cls(**{k: v for k, v in params.items() if k in accepted and v is not None})


def check_method_options(names: list[str], given: dict[str, Any]) -> None:
    """Refuse a tuning option (``--blocks`` ...) that none of the methods ``names`` uses."""
    for option in TUNING_OPTIONS:
        if given.get(option) is None:
            continue
        users = [n for n in names if option in parameters(n)]
        if not users:
            takers = sorted(n for n in METHODS if option in parameters(n))
            flag = "--" + option.replace("_", "-")
            raise ConfigError(None, f"{flag} does not apply to {', '.join(names)} "
                                    f"(it is an option of {', '.join(takers)})")


def default_value(name: str, param: str) -> Any:
    """The default of ``param`` in method ``name``'s class."""
    for f in fields(method_class(name)):
        if f.name == param:
            return None if f.default is MISSING else f.default
    raise KeyError(param)


def level_value(name: str, level: int) -> tuple[str, Any] | None:
    """(parameter, value) of strength ``level`` (1..4) of method ``name``; None when it has no levels.

    Level 1 is the library default by construction (asserted here), so the web page's default
    choice anonymizes exactly as the CLI default does, and higher levels only cover more.
    """
    cls = method_class(name)
    if not cls.level_param:
        return None
    if level not in cls.levels:
        raise ConfigError(None, f"strength level must be one of {sorted(cls.levels)}, not {level}")
    assert cls.levels[1] == default_value(name, cls.level_param), f"{name}: level 1 must be the default"
    return cls.level_param, cls.levels[level]
