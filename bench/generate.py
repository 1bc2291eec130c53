"""Seeded generator of the national-scale SYNTHETIC data set used by the benchmarks.

The 1,788 local governments are the real ones (from the packaged reference data); the 50 KPIs
and every value are synthetic and say so: the KPIs live in a strategy marked `synthetic: true`
whose names start with 【合成】, and the files carry 合成データ in their names and sources.

Files (in bench/out/):
  synthetic_strategy.yaml      50 synthetic KPIs (a strategy file the normal loader reads)
  national_5m.csv              1,788 × 50 × 60 months (FY2020–FY2024) = 5,364,000 rows, UTF-8
  monthly_100k_cp932.csv       100,000 rows, CP932, Japanese KPI names and 和暦 dates (FY2025)
  monthly_100k.xlsx            100,000 rows, .xlsx (FY2026)
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from digiden.services.common import data_path  # noqa: E402

OUT = Path(__file__).parent / "out"
SEED = 20261129
N_KPIS = 50
UNITS = ["%", "人", "件", "団体"]


def codes() -> list[str]:
    with open(data_path("local_governments.csv"), encoding="utf-8") as f:
        return [r["code"] for r in csv.DictReader(f)]


def kpi_defs() -> list[dict]:
    out = []
    for i in range(1, N_KPIS + 1):
        unit = UNITS[i % len(UNITS)]
        cumulative = i % 5 == 0 and unit in ("人", "件")   # 6 cumulative KPIs, checked for non-decrease
        k = {"code": f"synthetic-{i:02d}", "name": f"【合成】ベンチマーク指標{i:02d}", "unit": unit,
             "direction": "increase", "wording": "",
             "aggregation": {"%": "ratio", "団体": "count_org_units"}.get(unit, "sum"),
             "targets": [{"value": 95 if unit == "%" else 1_000_000, "by": "2027年度"}]}
        if unit == "団体":
            k["targets"] = [{"value": 1500, "by": "2027年度"}]
        rules = []
        if unit == "%":
            rules.append({"kind": "range", "min": 0, "max": 100})
        if cumulative:
            rules.append({"kind": "non_decreasing"})
        if rules:
            k["rules"] = rules
        out.append(k)
    return out


def write_strategy(path: Path) -> None:
    doc = {"strategy": {"code": "synthetic-benchmark", "title": "【合成データ】ベンチマーク用の戦略",
                        "period": {"from": "2023年度", "to": "2027年度"}, "synthetic": True},
           "areas": [{"code": "synthetic", "kind": "half", "name": "【合成】ベンチマーク"}],
           "kpi_blocks": [{"code": "synthetic", "name": "【合成データ】ベンチマーク用KPI", "kpis": kpi_defs()}]}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def months(fy_from: int, fy_to: int) -> list[tuple[int, int]]:
    return [(y if m >= 4 else y + 1, m) for y in range(fy_from, fy_to + 1) for m in (*range(4, 13), 1, 2, 3)]


def series_values(rng: random.Random, unit: str, cumulative: bool, n: int) -> list[str]:
    if unit == "団体":
        start = rng.random() < 0.3
        vals, on = [], start
        for _ in range(n):
            on = on or rng.random() < 0.02
            vals.append("1" if on else "0")
        return vals
    if unit == "%":
        v = rng.uniform(10, 80)
        out = []
        for _ in range(n):
            v = min(100.0, max(0.0, v + rng.gauss(0.3, 1.0)))
            out.append(f"{v:.1f}")
        return out
    v = rng.randint(0, 5000)
    out = []
    for _ in range(n):
        v = v + rng.randint(0, 80) if cumulative else max(0, v + rng.randint(-60, 80))
        out.append(str(v))
    return out


def write_national(path: Path, lgs: list[str], kpis: list[dict], rng: random.Random) -> int:
    ms = months(2020, 2024)
    labels = [f"{y:04d}-{m:02d}" for y, m in ms]
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kpi", "団体コード", "時点", "値", "出典"])
        for k in kpis:
            cum = any(r["kind"] == "non_decreasing" for r in k.get("rules", []))
            for code in lgs:
                vals = series_values(rng, k["unit"], cum, len(ms))
                src = "合成データ（ベンチマーク用）"
                w.writerows([k["code"], code, labels[i], vals[i], src] for i in range(len(ms)))
                n += len(ms)
    return n


def monthly_rows(lgs: list[str], kpis: list[dict], rng: random.Random, fy: int, n: int):  # type: ignore[no-untyped-def]
    """Rows for one later fiscal year; cumulative series continue above anything earlier."""
    ms = months(fy, fy)
    i = 0
    for k in kpis:
        cum = any(r["kind"] == "non_decreasing" for r in k.get("rules", []))
        for code in lgs:
            for j, (y, m) in enumerate(ms):
                if i >= n:
                    return
                era_year = y - 2018
                if cum:
                    v = (fy - 2023) * 20_000 + j * 100 + rng.randint(0, 50)
                elif k["unit"] == "%":
                    v = rng.randint(0, 100)
                elif k["unit"] == "団体":
                    v = rng.randint(0, 1)
                else:
                    v = rng.randint(0, 9999)
                yield k, code, y, m, era_year, str(v)
                i += 1


def write_cp932(path: Path, lgs: list[str], kpis: list[dict], rng: random.Random) -> int:
    with open(path, "w", encoding="cp932", newline="") as f:
        w = csv.writer(f)
        w.writerow(["KPI", "団体コード", "時点", "値", "出典"])
        n = 0
        for k, code, _y, m, era, v in monthly_rows(lgs, kpis, rng, 2025, 100_000):
            w.writerow([k["name"], code, f"令和{era}年{m}月", v, "合成データ（ベンチマーク用）"])
            n += 1
    return n


def write_xlsx(path: Path, lgs: list[str], kpis: list[dict], rng: random.Random) -> int:
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("合成データ")
    ws.append(["KPI", "団体コード", "時点", "値", "出典"])
    n = 0
    for k, code, y, m, _era, v in monthly_rows(lgs, kpis, rng, 2026, 100_000):  # noqa: B007
        ws.append([k["code"], code, f"{y:04d}-{m:02d}", int(v), "合成データ（ベンチマーク用）"])
        n += 1
    wb.save(path)
    return n


def main() -> None:
    OUT.mkdir(exist_ok=True)
    rng = random.Random(SEED)
    lgs = codes()
    kpis = kpi_defs()
    write_strategy(OUT / "synthetic_strategy.yaml")
    targets = {"national_5m.csv": write_national, "monthly_100k_cp932.csv": write_cp932,
               "monthly_100k.xlsx": write_xlsx}
    for name, fn in targets.items():
        rng = random.Random(f"{SEED}-{name}")   # each file reproducible on its own
        p = OUT / name
        if p.exists() and "--force" not in sys.argv:
            print(f"{name}: exists (use --force to regenerate)")
            continue
        n = fn(p, lgs, kpis, rng)
        print(f"{name}: {n:,} rows, {p.stat().st_size / 1e6:.1f} MB (synthetic)")


if __name__ == "__main__":
    main()
