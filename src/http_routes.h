/*
 * http_routes.h - handlers named in http.c's route table.  Internal to the
 * http layer: http_ops.c serves operations and metadata, http_fhir.c the
 * FHIR resources.
 */
#ifndef CALCIFY_HTTP_ROUTES_H
#define CALCIFY_HTTP_ROUTES_H

#include "http.h"

/* http_ops.c */
void	ops_healthz(struct http_req *);
void	ops_readyz(struct http_req *);
void	ops_metrics(struct http_req *);
void	ops_metadata(struct http_req *);

/* http_fhir.c */
void	fhir_route_bundle(struct http_req *);
void	fhir_route_create(struct http_req *);
void	fhir_route_read(struct http_req *);
void	fhir_route_vread(struct http_req *);
void	fhir_route_update(struct http_req *);
void	fhir_route_ra_search(struct http_req *);
void	fhir_route_ra_read(struct http_req *);

#endif
