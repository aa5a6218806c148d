#!/usr/bin/env python3
"""oracle.py - an independent reading of conf/model.json for the golden
vignettes: computes each vignette's probabilities and bands straight from
the weights, without the C engine, so tests/unit/test_assessment.c checks
the engine against arithmetic done another way.

usage: oracle.py MODEL VIGNETTES          print the table
       oracle.py MODEL VIGNETTES --update write "expect" into VIGNETTES

Rules (CLINICAL.md "Model v0.1"; see the model file's citations):
labs are used while fresh, diagnoses and medicines always; age in completed
years; vintage from the earliest dated ESRD/dialysis fact; albumin-corrected
calcium when albumin is fresh; BMI measured or from weight and height; the
band follows the percentage rounded to one decimal.
"""
import datetime
import json
import math
import sys

# CLINICAL.md "Units": value in unit x factor = canonical.
FACTORS = {
    ("calcium", "mmol/L"): 4.008, ("phosphate", "mmol/L"): 3.097,
    ("pth", "pmol/L"): 9.425, ("pth", "ng/L"): 1.0,
    ("albumin", "g/L"): 0.1, ("vitd25", "nmol/L"): 1 / 2.496,
    ("vitd125", "pmol/L"): 1 / 2.400, ("cholesterol", "mmol/L"): 1 / 0.02586,
    ("ldl", "mmol/L"): 1 / 0.02586, ("hdl", "mmol/L"): 1 / 0.02586,
    ("triglycerides", "mmol/L"): 1 / 0.01129,
}
CANONICAL = {"calcium": "mg/dL", "phosphate": "mg/dL", "pth": "pg/mL",
             "albumin": "g/dL", "alp": "U/L", "vitd25": "ng/mL",
             "vitd125": "pg/mL", "hba1c": "%", "cholesterol": "mg/dL",
             "ldl": "mg/dL", "hdl": "mg/dL", "triglycerides": "mg/dL",
             "homocysteine": "umol/L", "bmi": "kg/m2", "weight": "kg",
             "height": "cm", "systolic": "mm[Hg]", "diastolic": "mm[Hg]"}
FLAGS = {"vascular_disease", "shpt_condition", "diabetes_condition",
         "dyslipidaemia_condition", "hypertension_condition",
         "hyperhomocysteinaemia_condition", "morbid_obesity_condition",
         "hypervitaminosis_d_condition", "esrd", "dialysis",
         "active_vitamin_d", "vitamin_k_antagonist", "calcimimetic"}
DAY = 86400000


def canon(inp, value, unit):
    if unit is None or unit == CANONICAL.get(inp, unit):
        return value
    return value * FACTORS[(inp, unit)]


def conv_threshold(inp, value, unit):
    if unit is None or inp not in CANONICAL:
        return value
    return canon(inp, value, unit)


def parse_day(s):
    d = datetime.date.fromisoformat(s)
    return (d - datetime.date(1970, 1, 1)).days


def facts_of(v, at_day):
    """name -> dict(value, eff_ms or None, unknown, uln)"""
    f = {}
    if "sex" in v:
        f["sex"] = dict(value=v["sex"], eff=None)
    if "birth_date" in v:
        f["birth_date"] = dict(value=parse_day(v["birth_date"]), eff=None)
    for x in v["facts"]:
        eff = None if x.get("no_time") else (at_day - x["days_ago"]) * DAY
        f[x["input"]] = dict(value=canon(x["input"], x.get("value", 1),
                                         x.get("unit")),
                             eff=eff, unknown="value_unknown" in x.get(
                                 "flags", []), uln=x.get("uln"))
    return f


def assess(model, v, at_day):
    f = facts_of(v, at_day)
    meas = [x["eff"] for k, x in f.items() if k in CANONICAL and
            x["eff"] is not None]
    at = max(meas)
    fresh = model["freshness_days"]
    have = {}
    for k, x in f.items():
        if k in CANONICAL:
            if k in fresh and at - x["eff"] > fresh[k] * DAY:
                continue
        have[k] = x["value"]
    if "birth_date" in have:
        b = datetime.date(1970, 1, 1) + datetime.timedelta(have["birth_date"])
        a = datetime.date(1970, 1, 1) + datetime.timedelta(at // DAY)
        have["age"] = a.year - b.year - ((a.month, a.day) < (b.month, b.day))
    starts = [f[k]["eff"] for k in ("esrd", "dialysis")
              if k in f and f[k]["eff"] is not None]
    if starts:
        have["vintage"] = max(0, (at - min(starts)) // DAY) / 365.25
    corrected = False
    if "calcium" in have:
        ca = have["calcium"]
        if model["calcium_correction"]["enabled"] and "albumin" in have:
            ca += 0.8 * (4.0 - have["albumin"])
            corrected = True
        have["calcium_adj"] = ca
        if "phosphate" in have:
            have["ca_x_p"] = ca * have["phosphate"]
    if "bmi" in have:
        have["bmi_eff"] = have["bmi"]
    elif "weight" in have and "height" in have:
        have["bmi_eff"] = have["weight"] / (have["height"] / 100) ** 2
    if "systolic" in have:
        have["sbp_mean"] = have["systolic"]
    if have.get("sex") in ("female", "male", "other"):
        have["female"] = 1 if have["sex"] == "female" else 0
        have["male"] = 1 if have["sex"] == "male" else 0
    out = {}
    for o in model["outcomes"]:
        fired = {}
        for t in o["terms"]:
            if any(u in have for u in t.get("unless_present", [])):
                continue
            c = 0.0
            if t["type"] == "binary":
                for p in t["predicates"]:
                    i = p["input"]
                    if i not in have:
                        continue
                    val = have[i]
                    if p.get("or_unknown") and f.get(i, {}).get("unknown"):
                        c = t["weight"]
                        break
                    if p["op"] == "present":
                        if val != 0 or f.get(i, {}).get("unknown"):
                            c = t["weight"]
                            break
                        continue
                    op = p["op"]
                    if "uln" in p:
                        uln = f[i].get("uln")
                        if uln:
                            # the lab's own limit: its comparison
                            op = p["uln"].get("lab_op", op)
                        else:
                            uln = conv_threshold(
                                i, p["uln"]["default"], p.get("unit"))
                        thr = p["uln"]["multiple"] * uln
                    else:
                        thr = conv_threshold(i, p["value"], p.get("unit"))
                    ok = {">": val > thr, ">=": val >= thr, "<": val < thr,
                          "<=": val <= thr, "==": val == thr}[op]
                    if ok:
                        c = t["weight"]
                        break
            elif t["input"] in have:
                ref = conv_threshold(t["input"], t["ref"], t.get("unit"))
                per = conv_threshold(t["input"], t["per"], t.get("unit"))
                cap = conv_threshold(t["input"], t["cap"], t.get("unit"))
                d = have[t["input"]] - ref
                if t["type"] == "per_unit_below":
                    d = -d
                if d > 0:
                    c = t["weight"] * min(d, cap) / per
            if c > 0:
                fired[t["id"]] = (c, t.get("group"))
        for g in {grp for _, grp in fired.values() if grp}:
            members = sorted((-c, tid) for tid, (c, grp) in fired.items()
                             if grp == g)
            for _, tid in members[1:]:
                del fired[tid]
        score = o["intercept"] + sum(c for c, _ in fired.values())
        p = 1 / (1 + math.exp(-score))
        pct = float("%.1f" % (p * 100))
        cuts = model["bands"]["cut_points_percent"]
        band = ["negligible", "low", "moderate", "high"][
            sum(1 for c in cuts if pct >= c)]
        out[o["key"]] = dict(band=band, percent=pct,
                             factors=sorted(fired, key=lambda k: (
                                 -fired[k][0], k)))
    final = all(i in have for i in model["final_inputs"])
    return out, final, corrected


def main():
    model = json.load(open(sys.argv[1]))
    doc = json.load(open(sys.argv[2]))
    at_day = parse_day(doc["at"][:10])
    for v in doc["vignettes"]:
        out, final, corrected = assess(model, v, at_day)
        print("%-34s %-11s cut %5.1f%% %-10s vas %5.1f%% %-8s" % (
            v["name"], "final" if final else "preliminary",
            out["cutaneous"]["percent"], out["cutaneous"]["band"],
            out["vascular"]["percent"], out["vascular"]["band"]))
        for k in ("cutaneous", "vascular"):
            print("    %s: %s" % (k, ", ".join(out[k]["factors"])))
        if "--update" in sys.argv:
            v["expect"] = {
                "status": "final" if final else "preliminary",
                "cutaneous": {"band": out["cutaneous"]["band"],
                              "percent": out["cutaneous"]["percent"]},
                "vascular": {"band": out["vascular"]["band"],
                             "percent": out["vascular"]["percent"]}}
    if "--update" in sys.argv:
        with open(sys.argv[2], "w") as fp:
            json.dump(doc, fp, indent=1, ensure_ascii=False)
            fp.write("\n")


if __name__ == "__main__":
    main()
