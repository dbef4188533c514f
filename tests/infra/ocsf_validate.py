"""Checks one OCSF 1.1.0 event against the trimmed compiled schema in shared/ocsf/ocsf-1.1.0.json (see the README
there for what it holds and how it was made).

The event is one row as pyarrow's `to_pylist()` gives it for the landed Parquet: nested dicts for objects, lists for
arrays, and None wherever a value is absent, at any depth. A None is never an error by itself; it only counts as a
missing value where the attribute is required.

What is checked, each error prefixed with the dotted path of the attribute (`actor.user.uid`, `enrichments[0].name`):
- class_uid is present and one of the fixture's classes; category_uid is that class's category; type_uid is
  class_uid * 100 + activity_id;
- every required attribute of the class, and of every object present in the event, is present;
- no attribute outside the class or object definition, except inside json_t attributes and the schema's generic
  `object` (the type of `unmapped`), whose content is free;
- every value has its attribute's base type, and arrays are lists whose items are each checked;
- a value of an attribute with an enum is one of the enum's keys;
- an `<x>_id` of 99 (Other) comes with its sibling caption attribute (`<x>`, `activity_name`, ...) where the record
  defines one;
- the constraints of the class, and of every object present (array items included): `at_least_one` - at least one
  of the listed attributes is present; `just_one` - exactly one is. The class's own are reported under `(event)`.

Profile attributes (cloud, datetime, host, ...) are accepted whether or not the event lists their profile, but they
are only required when `metadata.profiles` lists it: OCSF applies a profile's requirements only to events that use it.
"""

from __future__ import annotations

from typing import Any

# The three classification ids get their own, clearer checks below instead of the enum check.
CLASSIFICATION = {"class_uid", "category_uid", "type_uid"}
# The schema's generic object: no attributes of its own, content defined by the source (used by `unmapped`).
FREE_OBJECT = "object"


def base_type(schema: dict, type_name: str) -> str:
    return schema["types"].get(type_name, type_name)


def type_error(schema: dict, attr: dict, value: Any) -> str | None:
    """Why `value` is not of the attribute's base type, or None when it is."""
    base = base_type(schema, attr["type"])
    if base == "string_t":
        ok = isinstance(value, str)
    elif base in ("integer_t", "long_t"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif base == "float_t":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif base == "boolean_t":
        ok = isinstance(value, bool)
    elif base == "json_t":
        ok = True
    elif base == "object_t":
        if attr.get("object_type") == FREE_OBJECT:
            # A dict, JSON text, or a Parquet map (pairs) - whatever the writer chose for free-form content.
            ok = isinstance(value, (dict, str, list))
        else:
            ok = isinstance(value, dict)
    else:
        return f"has unknown schema type {attr['type']}"
    if ok:
        return None
    if base == "object_t":
        wanted = f"object_t ({attr['object_type']})"
    else:
        wanted = attr["type"] if attr["type"] == base else f"{attr['type']} ({base})"
    if attr["type"] == "timestamp_t":
        wanted += ", epoch milliseconds"
    return f"expected {wanted}, got {type(value).__name__} {value!r}"


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def check_record(
    schema: dict, definition: dict, record: dict, path: str, profiles: set[str], errors: list[str], skip_enum=()
) -> None:
    """Checks one class or object instance (`record`) against its definition, recursing into objects and arrays."""
    attrs = definition["attributes"]
    for name, attr in attrs.items():
        if attr["requirement"] != "required" or record.get(name) is not None:
            continue
        if attr.get("profile") and attr["profile"] not in profiles:
            continue
        errors.append(f"{join(path, name)}: required attribute is absent")

    constraints = definition.get("constraints", {})
    where = path or "(event)"
    at_least_one = constraints.get("at_least_one")
    if at_least_one and all(record.get(name) is None for name in at_least_one):
        errors.append(f"{where}: needs at least one of {', '.join(at_least_one)}")
    just_one = constraints.get("just_one")
    if just_one:
        present = [name for name in just_one if record.get(name) is not None]
        if len(present) != 1:
            errors.append(
                f"{where}: needs exactly one of {', '.join(just_one)}, has {', '.join(present) or 'none'}"
            )

    for name, value in record.items():
        if value is None:
            continue
        where = join(path, name)
        attr = attrs.get(name)
        if attr is None:
            errors.append(f"{where}: not an attribute of {definition['name']}")
            continue
        if attr.get("is_array"):
            if not isinstance(value, list):
                errors.append(f"{where}: expected an array of {attr['type']}, got {type(value).__name__} {value!r}")
                continue
            for i, item in enumerate(value):
                if item is not None:
                    check_value(schema, attr, item, f"{where}[{i}]", profiles, errors, name in skip_enum)
        else:
            check_value(schema, attr, value, where, profiles, errors, name in skip_enum)

        sibling = attr.get("sibling")
        if value == 99 and sibling and sibling in attrs and record.get(sibling) is None:
            errors.append(f"{where}: is 99 (Other) but {join(path, sibling)} is absent")


def check_value(
    schema: dict, attr: dict, value: Any, where: str, profiles: set[str], errors: list[str], skip_enum: bool
) -> None:
    problem = type_error(schema, attr, value)
    if problem:
        errors.append(f"{where}: {problem}")
        return
    if "enum" in attr and not skip_enum and value not in attr["enum"]:
        errors.append(f"{where}: {value!r} is not one of the enum values {attr['enum']}")
    object_type = attr.get("object_type")
    if object_type and object_type != FREE_OBJECT:
        check_record(schema, schema["objects"][object_type], value, where, profiles, errors)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(event: dict, schema: dict) -> list[str]:
    """All the ways `event` breaks the schema, as human-readable errors; an empty list means it is valid."""
    if not isinstance(event, dict):
        return [f"(event): expected a dict, got {type(event).__name__}"]
    class_uid = event.get("class_uid")
    if class_uid is None:
        return ["class_uid: required attribute is absent"]
    definition = schema["classes"].get(str(class_uid)) if is_int(class_uid) else None
    if definition is None:
        known = ", ".join(sorted(schema["classes"], key=int))
        return [f"class_uid: {class_uid!r} is not a known class (known: {known})"]

    errors: list[str] = []
    category_uid = event.get("category_uid")
    if category_uid is not None and category_uid != definition["category_uid"]:
        errors.append(
            f"category_uid: {category_uid!r} is not the category of class {class_uid} {definition['caption']}"
            f" ({definition['category_uid']})"
        )
    activity_id, type_uid = event.get("activity_id"), event.get("type_uid")
    if is_int(activity_id) and type_uid is not None and type_uid != class_uid * 100 + activity_id:
        errors.append(
            f"type_uid: {type_uid!r} is not class_uid * 100 + activity_id ({class_uid * 100 + activity_id})"
        )

    metadata = event.get("metadata")
    declared = metadata.get("profiles") if isinstance(metadata, dict) else None
    profiles = {p for p in declared if isinstance(p, str)} if isinstance(declared, list) else set()

    check_record(schema, definition, event, "", profiles, errors, skip_enum=CLASSIFICATION)
    return errors
