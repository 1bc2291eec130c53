"""The knowledge and import routes of /api/v1 describe what they answer: every operation declares
a 2xx schema in /openapi.json (or its file's media type), and the JSON of the key routes is
exactly its declared model — nothing the model lacks, nothing it drops."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from digiden.shapes import errors as error_shapes
from digiden.shapes import imports as import_shapes
from digiden.shapes import knowledge as knowledge_shapes
from digiden.web.api import imports as imports_api
from digiden.web.api import knowledge as knowledge_api

pytestmark = pytest.mark.sqlite_only   # shapes of the JSON; the data comes from either database alike

FIX = Path(__file__).parents[1] / "fixtures"
FILES = {"text/csv", "application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def owned_operations() -> list[tuple[str, str]]:
    return sorted((m.lower(), r.path) for router in (knowledge_api.router, imports_api.router)
                  for r in router.routes if isinstance(r, APIRoute) for m in r.methods or ())


def declared_model(spec: dict[str, Any], method: str, path: str, status: str) -> type[BaseModel]:
    schema = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    ref = schema.get("items", schema)["$ref"].rsplit("/", 1)[1]
    for module in (knowledge_shapes, import_shapes, error_shapes):
        if isinstance(getattr(module, ref, None), type):
            return getattr(module, ref)  # type: ignore[no-any-return]
    raise AssertionError(f"{method} {path}: {ref} is not a model of digiden.shapes")


def test_every_operation_declares_a_2xx_schema(anon) -> None:  # type: ignore[no-untyped-def]
    spec = anon.get("/openapi.json").json()
    ops = owned_operations()
    assert len(ops) >= 27
    for method, path in ops:
        two = {k: v.get("content", {}) for k, v in spec["paths"][path][method]["responses"].items()
               if k.startswith("2")}
        assert two, (method, path)
        for status, content in two.items():
            described = "$ref" in json.dumps(content.get("application/json", {}))
            a_file = bool(set(content) & FILES)
            assert described or a_file, f"{method.upper()} {path} {status}: no schema ({content})"
    imports = spec["paths"]["/api/v1/imports"]["post"]["responses"]
    assert imports["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/ImportReport")
    assert imports["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ImportFailedOut")
    pdf = spec["paths"]["/api/v1/menubook.pdf"]["get"]["responses"]["200"]["content"]
    assert set(pdf) == {"application/pdf"}


def exactly(spec: dict[str, Any], method: str, path: str, status: str, body: Any) -> None:
    """The body is its declared model, key for key and value for value."""
    model = declared_model(spec, method, path, status)
    for item in body if isinstance(body, list) else [body]:
        assert model.model_validate(item).model_dump(mode="json") == item, f"{method} {path}"


READS = [("/api/v1/search", "/api/v1/search?q=子育て"), ("/api/v1/search", "/api/v1/search?q=の"),
         ("/api/v1/problems", "/api/v1/problems"), ("/api/v1/measures", "/api/v1/measures"),
         ("/api/v1/measures/{code}", "/api/v1/measures/transport-redesign"),
         ("/api/v1/roadmap", "/api/v1/roadmap?by=ministry"), ("/api/v1/practices", "/api/v1/practices"),
         ("/api/v1/practices/{code}", "/api/v1/practices/iide-gps-snow-removal"),
         ("/api/v1/local-governments/{code}/similar", "/api/v1/local-governments/064033/similar?w_geography=2"),
         ("/api/v1/local-governments/{code}/recommendations",
          "/api/v1/local-governments/072028/recommendations?field=P4.3"),
         ("/api/v1/partners", "/api/v1/partners?issue=P4.3"), ("/api/v1/validation", "/api/v1/validation")]


def test_key_reads_are_exactly_their_model(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json()
    for path, url in READS:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text)
        exactly(spec, "get", path, "200", r.json())
    first = client.get("/api/v1/search", params={"q": "除雪"}).json()["results"][0]
    assert set(first) == {"kind", "id", "title", "score", "snippet", "snippet_html", "url", "synthetic"}


def test_writes_and_imports_are_exactly_their_model(client_as) -> None:  # type: ignore[no-untyped-def]
    admin, aizu = client_as("admin"), client_as("aizu")
    spec = admin.get("/openapi.json").json()
    doc = {"title": "オンライン窓口", "org_units": ["072028"], "problem": "窓口の混雑", "solution": "オンライン申請",
           "figures": [{"label": "利用者数", "value": "1,200人", "fiscal_year": 2024}],
           "sources": [{"title": "市報", "url": "https://example.jp/a"}]}
    r = aizu.post("/api/v1/practices", json=doc)
    assert r.status_code == 201, r.text
    exactly(spec, "post", "/api/v1/practices", "201", r.json())
    assert r.json()["figures"] == [{"label": "利用者数", "value": 1200.0, "unit": "人", "qualifier": "exact",
                                    "fiscal_year": 2024}]
    g = aizu.post("/api/v1/collaboration-groups", json={"name": "会津の除雪DX", "issue": "P4.3",
                                                        "members": ["072028", "072087"]})
    assert g.status_code == 201, g.text
    exactly(spec, "post", "/api/v1/collaboration-groups", "201", g.json())
    exactly(spec, "get", "/api/v1/collaboration-groups", "200", admin.get("/api/v1/collaboration-groups").json())

    wide = (FIX / "wide_bom.csv").read_bytes()
    dry = admin.post("/api/v1/imports", files={"file": ("wide_bom.csv", wide)},
                     data={"kpi": "digital-promotion-talent", "dry_run": "true"})
    assert dry.status_code == 200
    exactly(spec, "post", "/api/v1/imports", "200", dry.json())
    done = admin.post("/api/v1/imports", files={"file": ("wide_bom.csv", wide)},
                      data={"kpi": "digital-promotion-talent"})
    assert done.status_code == 201
    exactly(spec, "post", "/api/v1/imports", "201", done.json())
    batch = admin.get(f"/api/v1/batches/{done.json()['batch_id']}")
    exactly(spec, "get", "/api/v1/batches/{batch_id}", "200", batch.json())
    exactly(spec, "get", "/api/v1/batches", "200", admin.get("/api/v1/batches").json())

    bad = admin.post("/api/v1/imports", files={"file": ("p.csv", (FIX / "parts_over_total.csv").read_bytes())})
    assert bad.status_code == 422
    body = bad.json()
    exactly(spec, "post", "/api/v1/imports", "422", body)      # the error shape, with every row's problems
    report = body["error"]["details"]["report"]
    assert body["error"]["code"] == "ImportFailed" and report["error_count"] == len(report["errors"]) == 1


def test_the_cli_prints_the_apis_shape(cli, anon) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("measure", "show", "telemedicine", "--json")
    assert code == 0 and json.loads(out) == anon.get("/api/v1/measures/telemedicine").json()
    code, out, _ = cli("practice", "show", "iide-gps-snow-removal", "--json")
    assert code == 0 and json.loads(out) == anon.get("/api/v1/practices/iide-gps-snow-removal").json()


def test_the_json_export_is_what_its_schema_says(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json()
    schema = spec["paths"]["/api/v1/export"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    body = client.get("/api/v1/export", params={"format": "json"}).json()
    assert set(body) == set(schema["properties"]) == {"kpis", "targets", "observations", "statuses"}
    for table, rows in body.items():
        assert rows, table
        assert set(rows[0]) == set(schema["properties"][table]["items"]["required"]), table
