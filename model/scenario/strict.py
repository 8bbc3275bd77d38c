"""The strict pydantic base of every file tuopin reads, the ``{value, unit, source}`` parameter
type, and validation errors in a planner's words (one line naming the key).

A parameter is written in a file as ``{value: 0.08, unit: ..., source: ...}`` and validates to its
bare, typed value, so the rules read ``m.p.economy.illness_rate`` as a ``float`` (and a misspelt
attribute is a type error). Its unit and source are kept beside the value, on the model that holds
it (:meth:`Strict.unit_of`, :meth:`Strict.source_of`), and ``model_dump()`` writes the parameter
back in its file form, so a dumped scenario validates again.
"""

from __future__ import annotations

import operator
from functools import cache
from typing import Annotated, Any, TypeVar, get_args

from pydantic import (BaseModel, ConfigDict, Field, GetCoreSchemaHandler, PrivateAttr, SerializerFunctionWrapHandler,
                      ValidationError, ValidatorFunctionWrapHandler, model_serializer, model_validator)
from pydantic.fields import FieldInfo
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from tuopin.errors import UserError, interruptions_kept, short

T = TypeVar("T")


class _Parameter:
    """``Annotated`` marker: the field is written ``{value, unit, source}`` and validates to its value."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        value = handler(source)
        text = core_schema.str_schema(min_length=1)
        written = core_schema.typed_dict_schema(
            {"value": core_schema.typed_dict_field(value), "unit": core_schema.typed_dict_field(text),
             "source": core_schema.typed_dict_field(text)},
            extra_behavior="forbid", config=core_schema.CoreConfig(allow_inf_nan=False))
        return core_schema.no_info_after_validator_function(
            operator.itemgetter("value"), core_schema.no_info_before_validator_function(_written_in_full, written),
            serialization=core_schema.wrap_serializer_function_ser_schema(lambda v, h: h(v), schema=value))


def _written_in_full(data: Any) -> Any:
    """A parameter must be a mapping with its value, unit and source (not a bare value)."""
    if not isinstance(data, dict):
        raise PydanticCustomError("parameter", "a parameter is written {value: ..., unit: ..., source: ...}")
    return data


P = Annotated[T, _Parameter()]
"""A parameter of type ``T``: ``{value, unit, source}`` in a file, the bare ``T`` once validated."""


def parameter_default(value: Any, unit: str, source: str) -> Any:
    """The default of an optional parameter field, written as in a file (with its unit and source)."""
    return Field(default={"value": value, "unit": unit, "source": source}, validate_default=True)


def _is_parameter(field: FieldInfo) -> bool:
    """Whether a field is declared ``P[...]`` (or ``P[...] | None``)."""
    if any(isinstance(m, _Parameter) for m in field.metadata):
        return True
    return any(isinstance(m, _Parameter) for arg in get_args(field.annotation) for m in getattr(arg, "__metadata__", ()))


@cache
def _parameters(cls: type[Strict]) -> tuple[str, ...]:
    """The names of a model's parameter fields."""
    return tuple(name for name, field in cls.model_fields.items() if _is_parameter(field))


class Strict(BaseModel):
    """Base for every schema node: unknown keys, NaN and infinity are errors; parameters keep
    their units and sources (see the module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    _units: dict[str, tuple[str, str]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_units(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        model = handler(data)
        if isinstance(data, dict) and isinstance(model, Strict):
            units = {}
            for name in _parameters(cls):
                written = data.get(name, cls.model_fields[name].default)
                if isinstance(written, dict):  # validated: it has its unit and source
                    units[name] = (written["unit"], written["source"])
            model._units = units
        return model

    @model_serializer(mode="wrap")
    def _write_units(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        with interruptions_kept():  # nested models: each level unwraps what the one below raised
            data: dict[str, Any] = handler(self)
        for name, (unit, source) in self._units.items():
            if data.get(name) is not None:
                data[name] = {"value": data[name], "unit": unit, "source": source}
        return data

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        """pydantic's ``model_dump``; Ctrl-C or SIGTERM while it runs stays an interruption."""
        with interruptions_kept():
            return super().model_dump(**kwargs)

    def unit_of(self, name: str) -> str:
        """The unit of the parameter field ``name`` as its file gives it."""
        return self._units[name][0]

    def source_of(self, name: str) -> str:
        """The source of the parameter field ``name`` as its file gives it."""
        return self._units[name][1]


NUMBER_ERRORS = {"float_type", "int_type", "int_from_float", "float_parsing", "int_parsing"}
"""pydantic error types of a value that is not the number expected."""


def format_validation(exc: ValidationError, where_documented: str) -> tuple[str, str]:
    """(dotted key, message) of the first pydantic error, in a planner's words.

    ``where_documented`` names the document listing the valid keys (for a misspelt key).
    Whole-file checks have no key of their own; their message names the keys.
    """
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if not str(p).startswith("function-after")]
    loc = [p for p in loc if not p.startswith(("tuple[", "dict["))]
    key = ".".join(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        msg = f"unknown key; check the spelling against {where_documented}"
    elif kind == "missing":
        msg = "required key is missing"
    elif kind == "finite_number":
        msg = "NaN or infinity is not allowed; give a finite number"
    elif kind == "string_pattern_mismatch" and key == "name":
        msg = (f"not a safe folder name (got {short(repr(err.get('input')))}); use letters, digits, _ . - "
               "and start with a letter, digit or _")
    else:
        msg = err["msg"]
        value = err.get("input")
        if "input" in err and kind != "value_error" and not isinstance(value, dict | list):
            msg += f" (got {short(repr(value))})"
            if isinstance(value, bool) and kind in NUMBER_ERRORS:
                msg += "; yes/no, on/off and true/false are booleans in YAML, not numbers"
            elif isinstance(value, str) and kind in NUMBER_ERRORS:
                msg += ("; YAML reads this as text: write the number without quotes, and an exponent with a "
                        "dot (1.0e+5, not 1e5)")
            elif isinstance(value, float) and kind == "int_from_float":
                msg += "; give a whole number"
    more = len(exc.errors()) - 1
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    return key, msg.replace("Value error, ", "")


def user_error(exc: ValidationError, source: str, where_documented: str) -> UserError:
    """The one-line ``UserError`` for a file that failed validation."""
    key, msg = format_validation(exc, where_documented)
    return UserError(msg, source=source, key=key or None)
