#!/usr/bin/env python3
"""expected.py - hand-check of the sample patients' risk bands.

An independent calculation of ../shared/CLINICAL.md "Model v0.1" written
from the text of that section, not from conf/model.json or the C engine,
so the expectations in samples/README are not calcifyd's output copied
back.  For each sample it prints the score, probability and band per
outcome, and the factors that fired.  Run: python3 samples/expected.py

Facts are stated per sample below in canonical units (mg/dL, g/dL, pg/mL,
U/L, mmol/L for LDL); the bundles in this directory carry the same values
(some in SI units, converted by calcifyd with CLINICAL.md's factors).
"""
import math

ULN_PTH = 65.0          # pg/mL; "> 9 x ULN"
ULN_ALP = 120.0         # U/L
CUTS = (1.0, 10.0, 50.0)
BANDS = ("negligible", "low", "moderate", "high")


def band(p):
    pct = p * 100
    for cut, name in zip(CUTS, BANDS):
        if pct < cut:
            return name
    return BANDS[-1]


def corrected(f):
    # Albumin-corrected calcium, CLINICAL.md: Ca + 0.8 x (4.0 - albumin).
    if "albumin" in f and "calcium" in f:
        return f["calcium"] + 0.8 * (4.0 - f["albumin"])
    return f.get("calcium")


def cutaneous(f):
    s, why = -6.0, []

    def add(w, name):
        nonlocal s
        if w > 0:
            s += w
            why.append("%s +%.3f" % (name, w))
    ca = corrected(f)
    if f["sex"] == "female":
        add(0.90, "female")
    if "albumin" in f and f["albumin"] < 4.0:
        add(0.118 * min(2.0, 4.0 - f["albumin"]) / 0.1, "albumin")
    if "phosphate" in f and f["phosphate"] > 5.5:
        add(0.63 * min(4.0, f["phosphate"] - 5.5), "phosphate")
    if "pth" in f and f["pth"] > 9 * ULN_PTH:
        add(0.69, "PTH > 9xULN")
    elif "pth" not in f and f.get("shpt"):
        add(0.41, "SHPT diagnosis")
    bmi = f.get("bmi")
    if (bmi is not None and bmi >= 40) or f.get("morbid_obesity"):
        add(0.69, "BMI >= 40")
    elif bmi is not None and bmi >= 30:
        add(0.41, "BMI >= 30")
    if ca is not None and ca >= 10.2:
        add(0.41, "calcium >= 10.2")
    if ca is not None and "phosphate" in f and ca * f["phosphate"] >= 70:
        add(0.41, "CaxP >= 70")
    if f.get("diabetes"):
        add(0.41, "diabetes")
    if f["vintage"] >= 2:
        add(0.41, "vintage >= 2 y")
    if f.get("alp", 0) > ULN_ALP:
        add(0.41, "ALP > ULN")
    if f.get("ca_binder"):
        add(0.41, "calcium binder")
    if f.get("active_vitd") or f.get("vitd25", 0) > 150:
        add(0.41, "vitamin D")
    if f.get("pvd"):
        add(0.41, "vascular disease")
    if f.get("htn"):
        add(0.20, "hypertension")
    if f.get("dyslipidaemia") or f.get("ldl_mmol", 0) >= 3.4:
        add(0.20, "dyslipidaemia")
    if f["age"] > 40:
        add(0.02 * min(40, f["age"] - 40), "age")
    if f.get("warfarin"):
        add(1.22, "warfarin")
    return s, why


def vascular(f):
    s, why = -0.85, []

    def add(w, name):
        nonlocal s
        if w > 0:
            s += w
            why.append("%s +%.3f" % (name, w))
    ca = corrected(f)
    if f["age"] > 40:
        add(0.04 * min(50, f["age"] - 40), "age")
    add(0.07 * min(20, f["vintage"]), "vintage")
    if f.get("diabetes"):
        add(0.84, "diabetes")
    if f["sex"] == "male":
        add(0.41, "male")
    if "phosphate" in f and f["phosphate"] > 4.5:
        add(0.28 * min(5, f["phosphate"] - 4.5), "phosphate")
    if ca is not None and ca > 9.5:
        add(0.41 * min(3, ca - 9.5), "calcium")
    if ca is not None and "phosphate" in f and ca * f["phosphate"] >= 55:
        add(0.20, "CaxP >= 55")
    if "pth" in f and f["pth"] > 9 * ULN_PTH:
        add(0.46, "PTH > 9xULN")
    if f.get("alp", 0) >= 120:
        add(0.80, "ALP >= 120")
    if "ldl_mmol" in f:
        add(0.65 * min(3, max(0, f["ldl_mmol"] - 2.6)), "LDL")
    elif f.get("dyslipidaemia"):
        add(0.41, "dyslipidaemia diagnosis")
    if f.get("homocysteine", 0) > 15:
        add(0.057 * min(35, f["homocysteine"] - 15), "homocysteine")
    if f.get("htn"):
        add(0.41, "hypertension")
    if f.get("ca_binder"):
        add(0.41, "calcium binder")
    if f.get("active_vitd") or f.get("vitd25", 0) > 150:
        add(0.41, "vitamin D")
    if f.get("pvd"):
        add(0.69, "vascular disease")
    if "albumin" in f and f["albumin"] < 3.5:
        add(0.20, "albumin < 3.5")
    if (f.get("bmi") or 0) >= 40 or f.get("morbid_obesity"):
        add(0.20, "BMI >= 40")
    return s, why


SAMPLES = {
    "01-young-man-short-vintage.json": dict(
        sex="male", age=28, vintage=0.25, calcium=9.2, phosphate=4.8,
        pth=250, albumin=4.1, alp=85, bmi=23.5),
    "02-woman-diabetes-low-albumin.json": dict(
        sex="female", age=62, vintage=4, calcium=8.9, phosphate=7.8,
        pth=900, albumin=2.9, alp=135, diabetes=True, htn=True),
    "03-long-vintage-hypercalcaemia-si.json": dict(
        sex="male", age=70, vintage=12, calcium=2.72 * 4.008,
        phosphate=1.95 * 3.097, pth=32 * 9.425, albumin=4.1, alp=110,
        ca_binder=True, active_vitd=True, htn=True),
    "04-morbid-obesity-warfarin.json": dict(
        sex="female", age=55, vintage=1.5, calcium=9.4, phosphate=5.9,
        pth=420, albumin=3.7, alp=100, bmi=43.2, warfarin=True,
        diabetes=True),
    "05-elderly-diabetic-pvd.json": dict(
        sex="male", age=78, vintage=6, calcium=9.6, phosphate=5.2,
        pth=480, albumin=3.4, alp=160, diabetes=True, pvd=True, htn=True,
        ldl_mmol=148 * 0.02586),
    "06-synthea-style-collection.json": dict(
        sex="female", age=47, vintage=2.5, calcium=9.4, phosphate=5.1,
        pth=310, albumin=3.9, alp=95, htn=True, diabetes=True, bmi=31.4),
    "07-si-units-homocysteine-vitd.json": dict(
        sex="female", age=66, vintage=8, calcium=2.45 * 4.008,
        phosphate=2.1 * 3.097, pth=71 * 9.425, albumin=33 / 10.0,
        alp=150, homocysteine=32, vitd25=420 / 2.496, dyslipidaemia=True),
}

# No dialysis evidence (no ESRD diagnosis, no dialysis procedure): with
# model.scope = dialysis, the default, calcifyd makes no assessment.
OUT_OF_SCOPE = ("08-no-dialysis-out-of-scope.json",)

if __name__ == "__main__":
    for name in OUT_OF_SCOPE:
        print(name)
        print("  no assessment (out of scope: no dialysis evidence)")
    for name, f in SAMPLES.items():
        print(name)
        for label, fn in (("cutaneous", cutaneous), ("vascular", vascular)):
            s, why = fn(f)
            p = 1 / (1 + math.exp(-s))
            print("  %-10s score %7.3f  p %6.2f %%  %-10s %s" % (
                label, s, p * 100, band(p), ", ".join(why)))
