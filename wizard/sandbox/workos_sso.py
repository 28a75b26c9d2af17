"""The WorkOS emulator's SSO connections, IdP signing certificates and Admin Portal links.

Follows `workos` 10.x (`client.sso`, `client.admin_portal`) and api-facts-b2b §2–3: `POST
/connections` is idempotent by `external_id` within one organization (the existing connection is
returned unchanged), validates the SAML / OIDC options strictly, and never serves a secret back.
Answers satisfy the SDK's strict `Connection` / `SAMLIdpSigningCertificate` / `PortalLinkResponse`.
Part of `WorkOSEmulator` (its lock, ids and organizations); kept here so the SSO feature is one block.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.routing import Route

if TYPE_CHECKING:
    from wizard.sandbox.workos_emulator import WorkOSEmulator

SAML_TYPES = frozenset({"GenericSAML", "OktaSAML", "AzureSAML", "ADFSSAML", "PingFederateSAML", "PingOneSAML",
                        "GoogleSAML", "OneLoginSAML", "JumpCloudSAML", "KeycloakSAML", "ShibbolethSAML",
                        "ShibbolethGenericSAML", "CyberArkSAML", "DuoSAML", "CasSAML", "ClassLinkSAML",
                        "CloudflareSAML", "LastPassSAML", "MiniOrangeSAML", "NetIqSAML", "OracleSAML",
                        "RipplingSAML", "SalesforceSAML", "SimpleSamlPhpSAML", "VMwareSAML"})
OIDC_TYPES = frozenset({"GenericOIDC", "OktaOIDC", "EntraIdOIDC", "GoogleOIDC", "AdpOidc", "CleverOIDC",
                        "LoginGovOidc"})
TOKEN_AUTH_METHODS = ("client_secret_post", "client_secret_basic", "private_key_jwt")
PORTAL_INTENTS = ("sso", "dsync", "audit_logs", "log_streams", "domain_verification", "certificate_renewal",
                  "bring_your_own_key")
STANDARD_ATTRIBUTES = ("idp_id", "email", "first_name", "last_name", "groups", "name")


def certificate_dates(pem: str) -> tuple[str, str] | None:
    """(not_before, not_after) ISO strings of a PEM X.509 certificate, or None when it is not one."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError, TypeError):
        return None
    fmt = "%Y-%m-%dT%H:%M:%S.000Z"
    return cert.not_valid_before_utc.strftime(fmt), cert.not_valid_after_utc.strftime(fmt)


class SsoEndpoints:
    """Connections (by id, with the organization and external id kept private) and portal links."""

    def __init__(self, emu: WorkOSEmulator) -> None:
        self.emu = emu
        self.connections: dict[str, dict[str, Any]] = {}  # served body
        self.private: dict[str, dict[str, Any]] = {}  # id -> {external_id, options, certs}
        self.portal_links: list[dict[str, Any]] = []  # {organization, intent, link} (tests)

    def clear(self) -> None:
        self.connections.clear()
        self.private.clear()
        self.portal_links.clear()

    def routes(self, wrap: Callable) -> list[Route]:
        return [
            Route("/connections", wrap(self.list_connections), methods=["GET"]),
            Route("/connections", wrap(self.create_connection), methods=["POST"]),
            Route("/connections/{cid}/saml_idp_signing_certs", wrap(self.list_certs), methods=["GET"]),
            Route("/connections/{cid}/saml_idp_signing_certs", wrap(self.create_cert), methods=["POST"]),
            Route("/connections/{cid}/saml_idp_signing_certs/{cert_id}", wrap(self.delete_cert),
                  methods=["DELETE"]),
            Route("/connections/{cid}", wrap(self.get_connection), methods=["GET"]),
            Route("/connections/{cid}", wrap(self.delete_connection), methods=["DELETE"]),
            Route("/portal/generate_link", wrap(self.generate_link), methods=["POST"]),
        ]

    # ----- inspection (tests) -----
    def options_of(self, cid: str) -> dict[str, Any]:
        """What was stored for a connection (secrets included: for tests only, never served)."""
        with self.emu._lock:
            return dict(self.private[cid]["options"])

    def external_id_of(self, cid: str) -> str | None:
        with self.emu._lock:
            return self.private[cid]["external_id"]

    # ----- connections -----
    def _connection(self, cid: str) -> dict[str, Any]:
        from wizard.sandbox.workos_emulator import _not_found

        conn = self.connections.get(cid)
        if conn is None:
            raise _not_found("Connection", cid)
        return conn

    async def create_connection(self, request: Request):
        from wizard.sandbox.workos_emulator import _invalid, _not_found, now_iso

        body = await self.emu._json(request)
        org_id = body.get("organization_id")
        if not isinstance(org_id, str) or not org_id:
            raise _invalid("organization_id", "required", "organization_id is required")
        ext = body.get("external_id")
        if ext is not None and (not isinstance(ext, str) or not ext or len(ext) > 128 or not ext.isascii()):
            raise _invalid("external_id", "invalid_format", "external_id must be an ASCII string of at most "
                                                            "128 characters")
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise _invalid("name", "invalid_type", "name must be a non-empty string")
        saml, oidc = body.get("saml_options"), body.get("oidc_options")
        if (saml is None) == (oidc is None):
            raise _invalid("protocol_options", "required", "Provide exactly one of saml_options or oidc_options.")
        ctype = body.get("connection_type")
        allowed = SAML_TYPES if saml is not None else OIDC_TYPES
        if ctype is not None and ctype not in allowed:
            raise _invalid("connection_type", "invalid_enum_value",
                           f"connection_type '{ctype}' cannot be created with "
                           f"{'saml_options' if saml is not None else 'oidc_options'}")
        options = _validated_saml(saml) if saml is not None else _validated_oidc(oidc)
        _validate_attribute_maps(body.get("attribute_maps"))
        with self.emu._lock:
            org = self.emu.organizations.get(org_id)
            if org is None:
                raise _not_found("Organization", org_id)
            if ext is not None:
                for cid, priv in self.private.items():
                    if priv["external_id"] == ext and self.connections[cid]["organization_id"] == org_id:
                        return 200, dict(self.connections[cid])  # idempotent: the existing one, unchanged
            now = now_iso()
            cid = self.emu._ids.new("conn")
            conn = {"object": "connection", "id": cid,
                    "connection_type": ctype or ("GenericSAML" if saml is not None else "GenericOIDC"),
                    "name": (name or org["name"]).strip(), "state": "active", "status": "linked",
                    "domains": [{"object": "connection_domain", "id": self.emu._ids.new("conn_domain"),
                                 "domain": d["domain"]} for d in org["domains"]],
                    "organization_id": org_id, "created_at": now, "updated_at": now}
            certs = []
            for pem in options.get("idp_signing_certs") or []:
                certs.append(self._cert_record(pem, now))
            self.connections[cid] = conn
            self.private[cid] = {"external_id": ext, "options": options, "certs": certs,
                                 "protocol": "saml" if saml is not None else "oidc",
                                 "attribute_maps": body.get("attribute_maps")}
            return 201, dict(conn)

    def _cert_record(self, pem: str, now: str) -> dict[str, Any]:
        dates = certificate_dates(pem) or (None, None)
        return {"object": "saml_idp_signing_certificate", "id": self.emu._ids.new("cert"), "value": pem,
                "not_before": dates[0], "not_after": dates[1], "created_at": now}

    async def get_connection(self, request: Request):
        with self.emu._lock:
            return 200, dict(self._connection(request.path_params["cid"]))

    async def delete_connection(self, request: Request):
        cid = request.path_params["cid"]
        with self.emu._lock:
            self._connection(cid)
            del self.connections[cid]
            del self.private[cid]
        return 204, None

    async def list_connections(self, request: Request):
        from wizard.sandbox.workos_emulator import _list_body, paginate

        params = dict(request.query_params)
        with self.emu._lock:
            items = list(self.connections.values())
            if params.get("organization_id"):
                items = [c for c in items if c["organization_id"] == params["organization_id"]]
            if params.get("connection_type"):
                items = [c for c in items if c["connection_type"] == params["connection_type"]]
            if params.get("domain"):
                items = [c for c in items if any(d["domain"] == params["domain"].lower() for d in c["domains"])]
            if params.get("search"):
                items = [c for c in items if params["search"].lower() in c["name"].lower()]
            ids = sorted(c["id"] for c in items)
            page, before, after = paginate(ids, params)
            return 200, _list_body([dict(self.connections[i]) for i in page], before, after)

    # ----- IdP signing certificates -----
    def _saml(self, cid: str) -> dict[str, Any]:
        from wizard.sandbox.workos_emulator import ApiProblem

        self._connection(cid)
        priv = self.private[cid]
        if priv["protocol"] != "saml":
            raise ApiProblem(400, {"code": "invalid_connection_type",
                                   "message": "IdP signing certificates exist only on SAML connections."})
        return priv

    async def list_certs(self, request: Request):
        with self.emu._lock:
            priv = self._saml(request.path_params["cid"])
            return 200, {"object": "list", "data": [dict(c) for c in priv["certs"]]}

    async def create_cert(self, request: Request):
        from wizard.sandbox.workos_emulator import _invalid, now_iso

        body = await self.emu._json(request)
        value = body.get("value")
        if not isinstance(value, str) or not value.strip():
            raise _invalid("value", "required", "value is required")
        if certificate_dates(value) is None:
            raise _invalid("value", "invalid_certificate", "value must be a PEM-encoded X.509 certificate")
        with self.emu._lock:
            priv = self._saml(request.path_params["cid"])
            record = self._cert_record(value, now_iso())
            priv["certs"].append(record)
            return 201, dict(record)

    async def delete_cert(self, request: Request):
        from wizard.sandbox.workos_emulator import ApiProblem, _not_found

        cert_id = request.path_params["cert_id"]
        with self.emu._lock:
            priv = self._saml(request.path_params["cid"])
            found = next((c for c in priv["certs"] if c["id"] == cert_id), None)
            if found is None:
                raise _not_found("SAMLIdpSigningCertificate", cert_id)
            if len(priv["certs"]) == 1:
                raise ApiProblem(400, {"code": "last_idp_signing_certificate",
                                       "message": "The last IdP signing certificate cannot be deleted."})
            priv["certs"].remove(found)
        return 204, None

    # ----- Admin Portal -----
    async def generate_link(self, request: Request):
        from wizard.sandbox.workos_emulator import EMAIL_RE, ApiProblem, _invalid

        body = await self.emu._json(request)
        org_id = body.get("organization")
        if not isinstance(org_id, str) or not org_id:
            raise _invalid("organization", "required", "organization is required")
        intent = body.get("intent")
        if intent is not None and intent not in PORTAL_INTENTS:
            raise _invalid("intent", "invalid_enum_value", f"intent must be one of {', '.join(PORTAL_INTENTS)}")
        emails = body.get("it_contact_emails")
        if emails is not None and (not isinstance(emails, list) or len(emails) > 20
                                   or not all(isinstance(e, str) and EMAIL_RE.match(e) for e in emails)):
            raise _invalid("it_contact_emails", "invalid", "it_contact_emails takes up to 20 email addresses")
        for key in ("return_url", "success_url"):
            if body.get(key) is not None and not _is_url(body[key], https_only=False):
                raise _invalid(key, "invalid_url", f"{key} must be a URL")
        with self.emu._lock:
            if org_id not in self.emu.organizations:
                raise ApiProblem(404, {"message": f"Organization not found: '{org_id}'."})
            link = f"https://setup.workos.local/portal/launch?secret={secrets.token_urlsafe(24)}"
            self.portal_links.append({"organization": org_id, "intent": intent, "link": link})
        return 201, {"link": link}


# ----- validation -----
def _is_url(value: Any, *, https_only: bool = True) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in (("https",) if https_only else ("https", "http")) and bool(parts.netloc)


def _validated_saml(opts: Any) -> dict[str, Any]:
    from wizard.sandbox.workos_emulator import _invalid

    if not isinstance(opts, dict):
        raise _invalid("saml_options", "invalid_type", "saml_options must be an object")
    manual = [k for k in ("idp_entity_id", "idp_sso_url", "idp_signing_certs") if opts.get(k) is not None]
    if opts.get("idp_metadata_url") is not None:
        if manual:
            raise _invalid("saml_options.idp_metadata_url", "mutually_exclusive",
                           "idp_metadata_url cannot be combined with " + ", ".join(manual))
        if not _is_url(opts["idp_metadata_url"]):
            raise _invalid("saml_options.idp_metadata_url", "invalid_url", "idp_metadata_url must be an https URL")
    else:
        if not _is_url(opts.get("idp_sso_url")):
            raise _invalid("saml_options.idp_sso_url", "required",
                           "idp_sso_url (an https URL) is required without idp_metadata_url")
        certs = opts.get("idp_signing_certs")
        if not isinstance(certs, list) or not certs:
            raise _invalid("saml_options.idp_signing_certs", "required",
                           "idp_signing_certs is required without idp_metadata_url")
        for i, pem in enumerate(certs):
            if not isinstance(pem, str) or certificate_dates(pem) is None:
                raise _invalid(f"saml_options.idp_signing_certs[{i}]", "invalid_certificate",
                               "each IdP signing certificate must be a PEM-encoded X.509 certificate")
        if opts.get("idp_entity_id") is not None and not isinstance(opts["idp_entity_id"], str):
            raise _invalid("saml_options.idp_entity_id", "invalid_type", "idp_entity_id must be a string")
    if opts.get("acs_url") is not None and not _is_url(opts["acs_url"]):
        raise _invalid("saml_options.acs_url", "invalid_url", "acs_url must be an https URL")
    if opts.get("sp_entity_id") is not None and (not isinstance(opts["sp_entity_id"], str)
                                                 or not opts["sp_entity_id"].strip()):
        raise _invalid("saml_options.sp_entity_id", "invalid_type", "sp_entity_id must be a non-empty string")
    for key in ("sp_signing_key_pair",):
        if opts.get(key) is not None:
            _key_pair(opts[key], f"saml_options.{key}")
    for i, pair in enumerate(opts.get("sp_encryption_key_pairs") or []):
        _key_pair(pair, f"saml_options.sp_encryption_key_pairs[{i}]")
    return dict(opts)


def _validated_oidc(opts: Any) -> dict[str, Any]:
    from wizard.sandbox.workos_emulator import _invalid

    if not isinstance(opts, dict):
        raise _invalid("oidc_options", "invalid_type", "oidc_options must be an object")
    if not _is_url(opts.get("discovery_endpoint")):
        raise _invalid("oidc_options.discovery_endpoint", "required", "discovery_endpoint (an https URL) is required")
    if not isinstance(opts.get("client_id"), str) or not opts["client_id"]:
        raise _invalid("oidc_options.client_id", "required", "client_id is required")
    method = opts.get("token_authentication_method")
    if method is not None and method not in TOKEN_AUTH_METHODS:
        raise _invalid("oidc_options.token_authentication_method", "invalid_enum_value",
                       f"token_authentication_method must be one of {', '.join(TOKEN_AUTH_METHODS)}")
    secret = opts.get("client_secret")
    if method == "private_key_jwt":
        if secret is not None:
            raise _invalid("oidc_options.client_secret", "not_allowed",
                           "client_secret is not used with private_key_jwt")
    else:
        if not isinstance(secret, str) or not secret:
            raise _invalid("oidc_options.client_secret", "required",
                           "client_secret is required for client_secret_post / client_secret_basic")
        if opts.get("jwt_signing_key_pair") is not None:
            raise _invalid("oidc_options.jwt_signing_key_pair", "not_allowed",
                           "jwt_signing_key_pair goes only with private_key_jwt")
    if opts.get("redirect_uri") is not None and not _is_url(opts["redirect_uri"]):
        raise _invalid("oidc_options.redirect_uri", "invalid_url", "redirect_uri must be an https URL")
    return dict(opts)


def _key_pair(pair: Any, field: str) -> None:
    from wizard.sandbox.workos_emulator import _invalid

    if not isinstance(pair, dict) or not isinstance(pair.get("key"), str) or not isinstance(pair.get("cert"), str):
        raise _invalid(field, "invalid_type", "a key pair needs PEM `key` and `cert`")


def _validate_attribute_maps(maps: Any) -> None:
    from wizard.sandbox.workos_emulator import _invalid

    if maps is None:
        return
    if not isinstance(maps, dict):
        raise _invalid("attribute_maps", "invalid_type", "attribute_maps must be an object")
    std = maps.get("standard_attributes")
    if std is not None:
        if not isinstance(std, dict):
            raise _invalid("attribute_maps.standard_attributes", "invalid_type", "must be an object")
        for k, v in std.items():
            if k not in STANDARD_ATTRIBUTES:
                raise _invalid(f"attribute_maps.standard_attributes.{k}", "unknown", f"'{k}' is not a standard "
                                                                                       "attribute")
            if v is not None and (not isinstance(v, str) or not v):
                raise _invalid(f"attribute_maps.standard_attributes.{k}", "invalid_type", "must be a string")
    custom = maps.get("custom_attributes")
    if custom is not None and (not isinstance(custom, dict)
                               or not all(isinstance(v, str) for v in custom.values())):
        raise _invalid("attribute_maps.custom_attributes", "invalid_type", "must map names to strings")
