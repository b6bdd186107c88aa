"""Dump the FHIR element model as JSON, from the Python models of one FHIR release.

Run under an environment holding fhir.resources: 6.1.0 gives R4 (4.0.1) structure; with
--summary-from-r4b under fhir.resources 8.x, only the R4B summary flags are dumped.
The output is data (the standard's element definitions); generate.py merges and writes it.
"""
import importlib
import inspect
import json
import pkgutil
import sys

PRIMITIVES = {
    "Id": "id", "Uri": "uri", "Url": "url", "Canonical": "canonical", "Oid": "oid", "Uuid": "uuid",
    "Code": "code", "Date": "date", "DateTime": "dateTime", "Instant": "instant", "Time": "time",
    "Decimal": "decimal", "Integer": "integer", "PositiveInt": "positiveInt", "UnsignedInt": "unsignedInt",
    "String": "string", "Markdown": "markdown", "Base64Binary": "base64Binary", "Xhtml": "xhtml",
    "Boolean": "boolean", "Integer64": "integer64",
}


def main():
    summary_mode = "--summary-from-r4b" in sys.argv
    if summary_mode:
        import fhir.resources.R4B as root
        from fhir.resources.R4B import fhirtypes
        from fhir.resources.R4B.backboneelement import BackboneElement
        from fhir.resources.R4B.resource import Resource
        from fhir.resources.R4B.element import Element
    else:
        import fhir.resources as root
        from fhir.resources import fhirtypes
        from fhir.resources.backboneelement import BackboneElement
        from fhir.resources.resource import Resource
        from fhir.resources.element import Element

    classes = {}
    for info in pkgutil.iter_modules(root.__path__):
        if info.name in ("fhirtypes", "fhirtypesvalidators", "fhirabstractmodel") or info.name.isupper():
            continue
        try:
            module = importlib.import_module(f"{root.__name__}.{info.name}")
        except Exception:
            continue
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and (issubclass(cls, Resource) or issubclass(cls, Element)):
                classes[name] = cls

    def fields_of(cls):
        fields = getattr(cls, "model_fields", None)
        if fields is not None:  # pydantic 2
            return [(n, f, f.json_schema_extra or {}) for n, f in fields.items()]
        return [(n, f, f.field_info.extra) for n, f in cls.__fields__.items()]

    def type_name(field):
        annotation = getattr(field, "annotation", None)
        if annotation is None:  # pydantic 1
            t = field.type_
            is_list = field.outer_type_ is not field.type_ and "List" in str(field.outer_type_)
        else:
            t = annotation
            text = str(annotation)
            is_list = "List[" in text or "typing.List" in text or text.startswith("list[")
            args = getattr(annotation, "__args__", None)
            while args:
                inner = [a for a in args if a is not type(None)]
                t = inner[0]
                args = getattr(t, "__args__", None)
        if t is bool:
            return "boolean", is_list
        name = getattr(t, "__name__", str(t))
        if name in PRIMITIVES:
            return PRIMITIVES[name], is_list
        resource_type = getattr(t, "__resource_type__", None) or getattr(t, "__fhir_release__", None) and None
        if name.endswith("Type"):
            name = name[:-4]
        if resource_type:
            name = resource_type
        return name, is_list

    out = {"types": {}}
    for cname, cls in sorted(classes.items()):
        kind = "resource" if issubclass(cls, Resource) else (
            "backbone" if issubclass(cls, BackboneElement) and cname != "BackboneElement" else "complex")
        elements = []
        for fname, field, extra in fields_of(cls):
            if fname.endswith("__ext") or fname in ("resource_type", "fhir_comments") or not extra.get("element_property"):
                continue
            tname, is_list = type_name(field)
            required = bool(getattr(field, "required", False) is True or extra.get("element_required"))
            try:
                required = required or bool(field.is_required())
            except Exception:
                pass
            elements.append({
                "name": getattr(field, "alias", None) or fname,
                "type": tname,
                "list": is_list,
                "required": required,
                "choice": extra.get("one_of_many"),
                "choiceRequired": bool(extra.get("one_of_many_required")),
                "summary": bool(extra.get("summary_element_property")),
                "codes": [c for c in extra.get("enum_values", []) if c != "+"],
                "codesExtensible": "+" in extra.get("enum_values", []),
                "targets": extra.get("enum_reference_types", []),
            })
        bases = [b.__name__ for b in cls.__mro__[1:] if b.__name__ in classes]
        out["types"][cname] = {"kind": kind, "base": bases[0] if bases else None, "elements": elements}
    json.dump(out, sys.stdout)


main()
