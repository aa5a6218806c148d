/*
 * assessment.c - the FHIR R4 RiskAssessment for one stored assessment
 * (FHIR.md "RiskAssessment we send", CLINICAL.md "Mapping to
 * RiskAssessment") and its deterministic identifier.
 *
 * Owns the mapping from an engine result to JSON: status, method, code,
 * contained Device performer, basis, the two predictions (probability in
 * percent with one decimal, ras-2), mitigation and notes.  Must not decide
 * delivery (sender.c) or touch the store; the JSON is rebuilt on demand
 * from the facts snapshot because the engine is deterministic.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "assessment.h"
#include "jsonw.h"
#include "sha256.h"

#define RISK_PROBABILITY_SYSTEM \
	"http://terminology.hl7.org/CodeSystem/risk-probability"
#define SNOMED_SYSTEM		"http://snomed.info/sct"
#define DEVICE_ID		"calcifyd"

/* Length-prefixed field: "a|b" + "c" and "a" + "|bc" hash differently. */
static void
id_field(struct sha256 *h, const char *s)
{
	char len[24];
	int n;

	n = snprintf(len, sizeof(len), "%zu:", strlen(s));
	sha256_update(h, len, (size_t)n);
	sha256_update(h, s, strlen(s));
}

void
assessment_identifier(const char *patient_key, const struct model *m,
    const char *snapshot, char out[ASSESSMENT_ID_LEN + 1])
{
	struct sha256 h;
	uint8_t d[SHA256_LEN];

	sha256_init(&h);
	id_field(&h, "calcifyd-assessment-1");
	id_field(&h, patient_key);
	id_field(&h, m->m_id);
	id_field(&h, m->m_version);
	id_field(&h, m->m_digest);
	id_field(&h, snapshot);
	sha256_final(&h, d);
	util_hex(d, sizeof(d), out);
}

/* --- pieces ------------------------------------------------------------- */

static void
put_coding(struct jsonw *w, const char *system, const char *version,
    const char *code, const char *display)
{
	jsonw_obj_open(w);
	jsonw_kstr(w, "system", system);
	if (version != NULL)
		jsonw_kstr(w, "version", version);
	jsonw_kstr(w, "code", code);
	if (display != NULL)
		jsonw_kstr(w, "display", display);
	jsonw_obj_close(w);
}

static void
put_instant(struct jsonw *w, const char *key, int64_t ms)
{
	char t[40];

	util_format_instant(ms, t, sizeof(t));
	jsonw_kstr(w, key, t);
}

static void
put_device(struct jsonw *w, const struct assessment_ctx *c)
{
	const char *v = c->ac_version != NULL && c->ac_version[0] != '\0' ?
	    c->ac_version : "unknown";

	jsonw_key(w, "contained");
	jsonw_arr_open(w);
	jsonw_obj_open(w);
	jsonw_kstr(w, "resourceType", "Device");
	jsonw_kstr(w, "id", DEVICE_ID);
	jsonw_key(w, "deviceName");
	jsonw_arr_open(w);
	jsonw_obj_open(w);
	jsonw_kstr(w, "name", "calcifyd");
	jsonw_kstr(w, "type", "manufacturer-name");
	jsonw_obj_close(w);
	jsonw_arr_close(w);
	jsonw_key(w, "version");
	jsonw_arr_open(w);
	jsonw_obj_open(w);
	jsonw_kstr(w, "value", v);
	jsonw_obj_close(w);
	jsonw_arr_close(w);
	jsonw_obj_close(w);
	jsonw_arr_close(w);
}

static void
put_method(struct jsonw *w, const struct model *m)
{
	struct buf d;

	buf_init(&d);
	buf_printf(&d, "%s %s", m->m_method_display, m->m_version);
	jsonw_key(w, "method");
	jsonw_obj_open(w);
	jsonw_key(w, "coding");
	jsonw_arr_open(w);
	put_coding(w, m->m_method_system, m->m_version, m->m_method_code,
	    d.b_data);
	jsonw_arr_close(w);
	jsonw_kstr(w, "text", d.b_data);
	jsonw_obj_close(w);
	buf_free(&d);
	jsonw_key(w, "code");
	jsonw_obj_open(w);
	jsonw_key(w, "coding");
	jsonw_arr_open(w);
	put_coding(w, SNOMED_SYSTEM, NULL, "225338004", "Risk assessment");
	jsonw_arr_close(w);
	jsonw_obj_close(w);
}

/* The Reference of every used fact, each once, in input order. */
static void
put_basis(struct jsonw *w, const struct facts *f,
    const struct engine_result *r)
{
	const char *ref[INPUT_COUNT];
	int i, k, n = 0;
	bool dup;

	for (i = 0; i < INPUT_COUNT; i++) {
		const char *s = r->er_used[i] ? facts_ref(f, (enum input)i) :
		    NULL;

		if (s == NULL)
			continue;
		dup = false;
		for (k = 0; k < n && !dup; k++)
			dup = strcmp(ref[k], s) == 0;
		if (!dup)
			ref[n++] = s;
	}
	if (n == 0)
		return;
	jsonw_key(w, "basis");
	jsonw_arr_open(w);
	for (i = 0; i < n; i++)
		jsonw_raw(w, ref[i], strlen(ref[i]));
	jsonw_arr_close(w);
}

static void
put_prediction(struct jsonw *w, const struct model *m, int idx,
    const struct engine_outcome *eo)
{
	const struct model_outcome *o = &m->m_outcomes[idx];
	struct buf t;
	int i;

	jsonw_obj_open(w);
	jsonw_key(w, "outcome");
	jsonw_obj_open(w);
	jsonw_key(w, "coding");
	jsonw_arr_open(w);
	for (i = 0; i < o->mo_ncodings; i++)
		put_coding(w, o->mo_codings[i].mc_system, NULL,
		    o->mo_codings[i].mc_code, o->mo_codings[i].mc_display);
	jsonw_arr_close(w);
	jsonw_kstr(w, "text", o->mo_text);
	jsonw_obj_close(w);
	/* R4 probabilityDecimal is a percentage (ras-2: <= 100). */
	jsonw_key(w, "probabilityDecimal");
	jsonw_fixed(w, eo->eo_percent, ENGINE_PROB_DECIMALS);
	jsonw_key(w, "qualitativeRisk");
	jsonw_obj_open(w);
	jsonw_key(w, "coding");
	jsonw_arr_open(w);
	put_coding(w, RISK_PROBABILITY_SYSTEM, NULL,
	    m->m_band_code[eo->eo_band], m->m_band_display[eo->eo_band]);
	jsonw_arr_close(w);
	jsonw_obj_close(w);
	jsonw_key(w, "relativeRisk");
	jsonw_fixed(w, eo->eo_relative_risk, ENGINE_RR_DECIMALS);
	buf_init(&t);
	if (eo->eo_nfactors == 0)
		buf_puts(&t, "No contributing factor present.");
	else {
		buf_puts(&t, "Contributing factors, largest first: ");
		for (i = 0; i < eo->eo_nfactors; i++)
			buf_printf(&t, "%s%s", i > 0 ? "; " : "",
			    eo->eo_factors[i].ef_text);
		buf_putc(&t, '.');
	}
	jsonw_kstr(w, "rationale", t.b_data);
	buf_free(&t);
	jsonw_obj_close(w);
}

static void
put_mitigation(struct jsonw *w, const struct model *m,
    const struct engine_result *r)
{
	struct buf t;
	int i;

	if (r->er_nmitigations == 0)
		return;
	buf_init(&t);
	for (i = 0; i < r->er_nmitigations; i++)
		buf_printf(&t, "%s%s", i > 0 ? " " : "",
		    m->m_mitigations[r->er_mitigations[i]].mm_text);
	jsonw_kstr(w, "mitigation", t.b_data);
	buf_free(&t);
}

static void
note(struct jsonw *w, const char *text)
{
	jsonw_obj_open(w);
	jsonw_kstr(w, "text", text);
	jsonw_obj_close(w);
}

/* "Observation/x" from a Reference JSON, else the JSON itself. */
static void
ref_label(struct buf *b, const char *ref_json)
{
	json_t *j = json_loads(ref_json, 0, NULL);
	const char *s = json_string_value(json_object_get(j, "reference"));
	const json_t *id = json_object_get(j, "identifier");

	if (s == NULL)
		s = json_string_value(json_object_get(id, "value"));
	buf_puts(b, s != NULL ? s : ref_json);
	json_decref(j);
}

static void
note_missing(struct jsonw *w, const struct model *m, const struct facts *f,
    const struct engine_result *r)
{
	bool miss[INPUT_COUNT];
	struct buf t;
	int i, k, absent = 0, stale = 0;

	memset(miss, 0, sizeof(miss));
	for (i = 0; i < MODEL_OUTCOMES; i++)
		for (k = 0; k < r->er_outcome[i].eo_nmissing; k++)
			miss[r->er_outcome[i].eo_missing[k]] = true;
	for (i = 0; i < m->m_nfinal; i++)
		if (!r->er_have[m->m_final_inputs[i]])
			miss[m->m_final_inputs[i]] = true;
	buf_init(&t);
	for (i = 0; i < INPUT_COUNT; i++)
		if (miss[i] && !f->fa_f[i].f_present)
			buf_printf(&t, "%s%s", absent++ > 0 ? ", " :
			    "Missing inputs (not counted): ",
			    input_label((enum input)i));
	if (absent > 0)
		buf_puts(&t, ".");
	for (i = 0; i < INPUT_COUNT; i++)
		if (miss[i] && f->fa_f[i].f_present)
			buf_printf(&t, "%s%s (older than %d days)",
			    stale++ > 0 ? ", " : absent > 0 ?
			    " Stale and not used: " : "Stale and not used: ",
			    input_label((enum input)i), m->m_fresh_days[i]);
	if (stale > 0)
		buf_puts(&t, ".");
	if (!r->er_final) {
		buf_puts(&t, absent + stale > 0 ? " " : "");
		buf_puts(&t, "Preliminary: a final assessment needs fresh ");
		for (i = 0; i < m->m_nfinal; i++)
			buf_printf(&t, "%s%s", i == 0 ? "" :
			    i + 1 == m->m_nfinal ? " and " : ", ",
			    input_label(m->m_final_inputs[i]));
		buf_puts(&t, ".");
	}
	if (t.b_len > 0)
		note(w, t.b_data);
	buf_free(&t);
}

static void
put_notes(struct jsonw *w, const struct model *m, const struct facts *f,
    const struct engine_result *r, bool withdrawn)
{
	struct buf t;
	const char *s;
	int i;

	jsonw_key(w, "note");
	jsonw_arr_open(w);
	if (withdrawn)
		note(w, "Withdrawn: a result this assessment rests on was "
		    "entered in error at its source. Do not use it; the "
		    "patient's current assessment is the newest one not "
		    "entered in error.");
	note(w, m->m_calibration_note);
	buf_init(&t);
	for (i = 0; i < MODEL_OUTCOMES; i++)
		if (m->m_outcomes[i].mo_note != NULL) {
			buf_reset(&t);
			buf_printf(&t, "%s: %s", m->m_outcomes[i].mo_text,
			    m->m_outcomes[i].mo_note);
			note(w, t.b_data);
		}
	note_missing(w, m, f, r);
	if (r->er_have[INPUT_CALCIUM]) {
		buf_reset(&t);
		if (r->er_calcium_corrected)
			buf_printf(&t, "Calcium is albumin-corrected: Ca + "
			    "0.8 x (4.0 - albumin) = %.1f mg/dL from "
			    "measured %.1f mg/dL and albumin %.1f g/dL.",
			    r->er_value[INPUT_CALCIUM_ADJ],
			    r->er_value[INPUT_CALCIUM],
			    r->er_value[INPUT_ALBUMIN]);
		else if (m->m_correct_calcium)
			buf_puts(&t, "Calcium is measured total calcium, not "
			    "albumin-corrected: no fresh albumin.");
		else
			buf_puts(&t, "Calcium is measured total calcium (the "
			    "model does not correct it for albumin).");
		note(w, t.b_data);
	}
	for (i = 0; i < INPUT_COUNT; i++) {
		if ((s = facts_skipped_ref(f, (enum input)i)) == NULL)
			continue;
		buf_reset(&t);
		buf_printf(&t, "%s: a newer result (", input_label(
		    (enum input)i));
		ref_label(&t, s);
		buf_puts(&t, ") was not used: unit not recognised.");
		note(w, t.b_data);
	}
	buf_free(&t);
	jsonw_arr_close(w);
}

/* --- the resource ------------------------------------------------------- */

int
assessment_build(const struct model *m, const struct facts *f,
    const struct engine_result *r, const struct assessment_ctx *c,
    struct buf *out)
{
	struct engine_result *own = NULL;
	struct jsonw w;
	int64_t at = facts_latest_eff(f);
	int i;

	if (at == INT64_MIN || c->ac_subject_json == NULL ||
	    c->ac_subject_json[0] == '\0')
		return -1;
	if (r == NULL) {
		own = xmalloc(sizeof(*own));
		engine_run(m, f, at, own);
		r = own;
	}
	jsonw_init(&w, out);
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "resourceType", "RiskAssessment");
	if (c->ac_id != NULL)
		jsonw_kstr(&w, "id", c->ac_id);
	jsonw_key(&w, "meta");
	jsonw_obj_open(&w);
	put_instant(&w, "lastUpdated", c->ac_recorded_ms);
	jsonw_obj_close(&w);
	put_device(&w, c);
	if (c->ac_identifier_value != NULL) {
		jsonw_key(&w, "identifier");
		jsonw_arr_open(&w);
		jsonw_obj_open(&w);
		if (c->ac_identifier_system != NULL)
			jsonw_kstr(&w, "system", c->ac_identifier_system);
		jsonw_kstr(&w, "value", c->ac_identifier_value);
		jsonw_obj_close(&w);
		jsonw_arr_close(&w);
	}
	jsonw_kstr(&w, "status", c->ac_withdrawn ? "entered-in-error" :
	    r->er_final ? "final" : "preliminary");
	put_method(&w, m);
	jsonw_key(&w, "subject");
	jsonw_raw(&w, c->ac_subject_json, strlen(c->ac_subject_json));
	put_instant(&w, "occurrenceDateTime", r->er_at);
	jsonw_key(&w, "performer");
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "reference", "#" DEVICE_ID);
	jsonw_obj_close(&w);
	put_basis(&w, f, r);
	jsonw_key(&w, "prediction");
	jsonw_arr_open(&w);
	for (i = 0; i < MODEL_OUTCOMES; i++)
		put_prediction(&w, m, i, &r->er_outcome[i]);
	jsonw_arr_close(&w);
	put_mitigation(&w, m, r);
	put_notes(&w, m, f, r, c->ac_withdrawn);
	jsonw_obj_close(&w);
	free(own);
	return 0;
}
