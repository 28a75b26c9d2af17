"""Enterprise SSO: Auth0 enterprise connections become WorkOS SSO connections, with the customer's
IdP untouched where the cutover allows it (api-facts-b2b §1–3).

Inventory (Management API with `read:connections_options`, users counted from the export) → plan
(WorkOS connection type, the exact `POST /connections` body, unknowns marked, secrets redacted) →
create (paced, idempotent by `external_id` within each organization, resumable, journalled) →
members → handoff files for what a person must do. One WorkOS connection belongs to one
organization, so a connection enabled by several Auth0 organizations becomes one per organization
unless consolidation is chosen. Secrets (OIDC client secrets) live only in memory: from the Auth0
answer, typed in, or `AUTH0_SSO_SECRET_<NAME>`; the journal and the run folder hold redactions.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import io
import json
import re
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from wizard.clients import workos as wapi
from wizard.clients.errors import ApiError, ErrorKind
from wizard.core.environment import ensure_environment
from wizard.core.exports import identity_kind, read_users
from wizard.core.findings import Finding, Severity
from wizard.core.gates import Check, GateResult
from wizard.core.journal import Journal
from wizard.core.orgs import merge_domains
from wizard.core.pacing import Pacer, Retries, RetryPolicy
from wizard.core.progress import Progress, ProgressCallback, frozen_counts
from wizard.core.records import Branch, UserStatus
from wizard.core.rundir import write_private

T = TypeVar("T")

STEP_ID = "sso"
KEEP_IDP, NEW_ENDPOINTS = "keep-idp", "new-endpoints"
MODES = (KEEP_IDP, NEW_ENDPOINTS)
MODE_LABELS = {KEEP_IDP: "Keep the IdP untouched (Auth0's SP entity id, ACS URL / redirect URI)",
               NEW_ENDPOINTS: "New WorkOS endpoints (the customer's IT admin updates the IdP)"}
CREATE, HANDOFF = "create", "handoff"
TARGET_DONE = ("created", "existing")
SECRET_ENV_PREFIX = "AUTH0_SSO_SECRET_"
PORTAL_LINK_TTL_MINUTES = 5

DOC_INVENTORY = "sso_inventory"
DOC_DRY_RUN = "sso_dry_run"
DOC_RESULT = "sso"
DOC_HANDOFF = "sso_handoff"
HANDOFF_MD = "sso-handoff.md"
CONNECTIONS_CSV = "sso-connections.csv"

WRITE_CONNECTION, WRITE_ORG, WRITE_MEMBER, WRITE_CERT = (
    "create_sso_connection", "create_sso_org", "create_sso_membership", "add_sso_idp_cert")
DELETE_KINDS = {WRITE_CONNECTION: "delete_sso_connection", WRITE_ORG: "delete_sso_org",
                WRITE_MEMBER: "delete_sso_membership", WRITE_CERT: "delete_sso_idp_cert"}

_SAML_NS = {"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": "http://www.w3.org/2000/09/xmldsig#"}
_STANDARD_FROM_AUTH0 = {"email": "email", "given_name": "first_name", "family_name": "last_name",
                        "name": "name", "user_id": "idp_id", "groups": "groups"}
_HOST_TYPES = (("okta.com", "OktaSAML"), ("oktapreview.com", "OktaSAML"), ("login.microsoftonline.com", "AzureSAML"),
               ("accounts.google.com", "GoogleSAML"), ("onelogin.com", "OneLoginSAML"),
               ("jumpcloud.com", "JumpCloudSAML"), ("pingone.com", "PingOneSAML"))


# =============================================================================== certificates
class CertificateError(ValueError):
    """A value that is not an X.509 certificate in any form Auth0 stores."""


def certificate_to_pem(value: str | bytes) -> list[str]:
    """Every certificate in `value` as PEM. Accepts PEM (one or several), base64 of a PEM (how
    Auth0 stores `signingCert`), base64 DER (PingFederate's `cert`, a PEM body) and raw DER."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    def pem_of(certs) -> list[str]:
        return [c.public_bytes(Encoding.PEM).decode("ascii") for c in certs]

    raw = value.encode("latin-1") if isinstance(value, str) else bytes(value)
    if b"-----BEGIN" in raw:
        try:
            return pem_of(x509.load_pem_x509_certificates(raw))
        except ValueError as exc:
            raise CertificateError(f"the PEM text does not parse as X.509 ({exc})") from None
    try:
        return pem_of([x509.load_der_x509_certificate(raw)])
    except ValueError:
        pass
    compact = re.sub(rb"\s+", b"", raw)
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise CertificateError("it is neither PEM, base64 nor DER") from None
    if not decoded:
        raise CertificateError("it is empty")
    if b"-----BEGIN" in decoded:
        return certificate_to_pem(decoded)
    try:
        return pem_of([x509.load_der_x509_certificate(decoded)])
    except ValueError:
        raise CertificateError("the base64 decodes to neither PEM nor DER X.509") from None


def certificate_fingerprint(pem: str) -> str:
    """SHA-256 of the DER (what two PEM texts of one certificate share)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    return x509.load_pem_x509_certificate(pem.encode("ascii")).fingerprint(hashes.SHA256()).hex()


def parse_idp_metadata(xml_text: str) -> dict[str, Any]:
    """entityID, the SSO URL (Redirect binding preferred) and the signing certificates of SAML IdP
    metadata XML (WorkOS takes no metadata XML, only a URL, so Auth0's `metadataXml` is read here)."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise ValueError(f"metadataXml is not XML ({exc})") from None
    desc = root if root.tag.endswith("EntityDescriptor") else root.find(".//md:EntityDescriptor", _SAML_NS)
    if desc is None:
        raise ValueError("metadataXml holds no EntityDescriptor")
    idp = desc.find("md:IDPSSODescriptor", _SAML_NS)
    if idp is None:
        raise ValueError("metadataXml holds no IDPSSODescriptor")
    urls = {s.get("Binding", "").rsplit(":", 1)[-1]: s.get("Location") for s in idp.findall("md:SingleSignOnService",
                                                                                          _SAML_NS)}
    certs = []
    for kd in idp.findall("md:KeyDescriptor", _SAML_NS):
        if kd.get("use") in (None, "signing"):
            for x in kd.findall(".//ds:X509Certificate", _SAML_NS):
                if x.text and x.text.strip():
                    certs.append(x.text.strip())
    return {"entity_id": desc.get("entityID"), "sso_url": urls.get("HTTP-Redirect") or urls.get("HTTP-POST"),
            "certs": certs}


# =============================================================================== inventory
@dataclass
class EnterpriseConnection:
    """One Auth0 enterprise connection as read (options in memory only: they may hold secrets)."""

    id: str
    name: str
    display_name: str | None
    strategy: str
    options: dict
    auth0_orgs: list[str] = field(default_factory=list)  # Auth0 organization ids enabling it
    users: int | None = None  # exported users signing in through it (None: no users export)


@dataclass
class SsoInventory:
    connections: list[EnterpriseConnection]
    users_counted: bool
    notes: list[str] = field(default_factory=list)


def read_inventory(auth0, journal: Journal, *, on_progress: ProgressCallback | None = None) -> SsoInventory:
    """Every enterprise connection with its options and enabling organizations; the users export
    (when recorded in this run) counts its users and lists who becomes a member where."""
    raw = auth0.list_enterprise_connections()
    conns = [EnterpriseConnection(id=c["id"], name=c.get("name") or c["id"], display_name=c.get("display_name"),
                                  strategy=(c.get("strategy") or "").lower(), options=dict(c.get("options") or {}))
             for c in raw if c.get("id")]
    by_id = {c.id: c for c in conns}
    notes: list[str] = []
    orgs = journal.orgs()
    org_ids = [o["auth0_org_id"] for o in orgs] or [o["id"] for o in auth0.list_organizations()]
    for i, oid in enumerate(org_ids, 1):
        try:
            enabled = auth0.list_org_connections(oid)
        except ApiError as exc:
            if exc.kind is not ErrorKind.AUTH:
                raise
            notes.append(f"Which organizations enable each connection was not read: {exc.message}")
            break
        for e in enabled:
            c = by_id.get(e.get("connection_id"))
            if c is not None and oid not in c.auth0_orgs:
                c.auth0_orgs.append(oid)
        if on_progress:
            on_progress(Progress(operation="sso-inventory", total=len(org_ids), counts=frozen_counts({"orgs": i}),
                                 done=i == len(org_ids)))
    users_path = journal.input_path("users")
    counted = bool(users_path and users_path.is_file())
    if counted:
        counts, pairs = _count_users(users_path, {c.name: c.id for c in conns})
        for c in conns:
            c.users = counts.get(c.id, 0)
        journal.replace_sso_members(pairs)
    else:
        notes.append("No users export is recorded in this run: users per connection are not counted and no "
                     "membership is planned (run the export step first).")
    doc = {"connections": len(conns), "by_strategy": dict(Counter(c.strategy for c in conns)),
           "users_counted": counted, "at": time.time()}
    journal.put_document(DOC_INVENTORY, doc)
    return SsoInventory(conns, counted, notes)


def _count_users(path: Path, ids_by_name: Mapping[str, str]) -> tuple[Counter, list[tuple[str, str]]]:
    counts: Counter = Counter()
    pairs: list[tuple[str, str]] = []
    for item in read_users(path):
        if isinstance(item, Finding):
            continue
        for ident in item.identities:
            if identity_kind(ident) != "enterprise":
                continue
            cid = ids_by_name.get(ident.connection or "")
            if cid:
                counts[cid] += 1
                pairs.append((item.user_id, cid))
    return counts, pairs


# =============================================================================== secrets
def secret_env_name(connection_name: str) -> str:
    """`AUTH0_SSO_SECRET_<NAME>`: the connection name upper-cased, every other character `_`."""
    return SECRET_ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", connection_name.upper())


def resolve_secret(conn: EnterpriseConnection, typed: Mapping[str, str], env: Mapping[str, str]
                   ) -> tuple[str | None, str | None]:
    """(secret, where it came from): the Auth0 answer, else typed in, else the environment."""
    if isinstance(conn.options.get("client_secret"), str) and conn.options["client_secret"]:
        return conn.options["client_secret"], "the Auth0 Management API answer"
    if typed.get(conn.name):
        return typed[conn.name], "typed in by the operator"
    name = secret_env_name(conn.name)
    if env.get(name):
        return env[name], f"the environment variable {name}"
    return None, None


def needs_secret(conn: EnterpriseConnection) -> bool:
    """An OIDC-family connection whose client secret Auth0 did not return."""
    return (conn.strategy in ("oidc", "okta", "waad", "google-apps")
            and conn.options.get("waad_protocol") != "ws-federation"
            and conn.options.get("token_endpoint_auth_method") != "private_key_jwt"
            and not conn.options.get("client_secret"))


# =============================================================================== planning
@dataclass
class Placement:
    key: str  # the Auth0 organization id, or "" for an organization of its own
    auth0_org_id: str | None
    external_id: str
    org_name: str


@dataclass
class ConnectionPlan:
    connection: EnterpriseConnection
    mode: str
    outcome: str  # create | handoff
    connection_type: str | None = None
    protocol: str | None = None  # saml | oidc
    options: dict = field(default_factory=dict)  # saml_options / oidc_options, secret included (memory only)
    attribute_maps: dict | None = None
    idp_url: str | None = None  # the IdP SSO URL / discovery endpoint / metadata URL (for verification)
    secret_source: str | None = None
    unknowns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    reason: str = ""  # why handed off
    action: str = ""  # what a person does
    domains: list[str] = field(default_factory=list)
    placements: list[Placement] = field(default_factory=list)

    def body(self, organization_id: str, placement: Placement, *, redact: bool = True) -> dict:
        """The exact `POST /connections` body; `redact` replaces the client secret (for display)."""
        opts = dict(self.options)
        if redact and "client_secret" in opts:
            opts["client_secret"] = f"<redacted: from {self.secret_source}>"
        body: dict[str, Any] = {"organization_id": organization_id, "name": self.connection.display_name
                                or self.connection.name, "external_id": placement.external_id}
        if self.connection_type:
            body["connection_type"] = self.connection_type
        if self.attribute_maps:
            body["attribute_maps"] = self.attribute_maps
        body[f"{self.protocol}_options"] = opts
        return body


@dataclass(frozen=True)
class CutoverContext:
    """What the keep-idp values are derived from: the Auth0 host the IdPs were configured with."""

    auth0_domain: str  # canonical or custom domain (the API does not say which the IdPs use)
    tenant: str  # for the default SP entity id urn:auth0:{tenant}:{connection}

    @classmethod
    def from_domain(cls, domain: str | None, tenant: str | None = None) -> CutoverContext:
        d = (domain or "").strip()
        if "://" in d:
            d = urlsplit(d).netloc
        d = d.rstrip("/")
        return cls(d, tenant or d.split(".")[0])

    @property
    def canonical_host(self) -> bool:
        return self.auth0_domain.endswith(".auth0.com")

    def acs_url(self, connection: str) -> str:
        return f"https://{self.auth0_domain}/login/callback?connection={quote(connection, safe='')}"

    @property
    def redirect_uri(self) -> str:
        return f"https://{self.auth0_domain}/login/callback"

    def sp_entity_id(self, conn: EnterpriseConnection) -> str:
        return conn.options.get("entityId") or f"urn:auth0:{self.tenant}:{conn.name}"


def _finding(conn: EnterpriseConnection, fieldname: str, code: str, message: str,
             severity: Severity = Severity.ERROR) -> Finding:
    return Finding(file=f"Auth0 connection {conn.name}", line=None, field=f"options.{fieldname}", severity=severity,
                   code=code, message=message)


def _attribute_maps(plan: ConnectionPlan, fields_map: Mapping[str, Any] | None, user_id_attr: str | None) -> None:
    standard: dict[str, str] = {}
    custom: list[str] = []
    for auth0_name, idp in (fields_map or {}).items():
        names = [idp] if isinstance(idp, str) else [n for n in idp or [] if isinstance(n, str)]
        if not names:
            continue
        target = _STANDARD_FROM_AUTH0.get(auth0_name)
        if target:
            standard[target] = names[0]
            if len(names) > 1:
                plan.notes.append(f"Auth0 maps `{auth0_name}` from several IdP attributes ({', '.join(names)}); "
                                  f"WorkOS takes one: `{names[0]}`.")
        else:
            custom.append(f"{auth0_name} ← {names[0]}")
    if user_id_attr and "idp_id" not in standard:
        standard["idp_id"] = user_id_attr
    if standard:
        plan.attribute_maps = {"standard_attributes": standard}
    if custom:
        plan.notes.append("Custom attributes are not sent (each must first exist in the WorkOS dashboard): "
                          + ", ".join(custom) + ".")


def _saml(plan: ConnectionPlan, ctx: CutoverContext) -> None:
    conn, o = plan.connection, plan.connection.options
    plan.protocol = "saml"
    plan.connection_type = "PingFederateSAML" if conn.strategy == "pingfederate" else "GenericSAML"
    opts: dict[str, Any] = {}
    meta_xml: dict[str, Any] = {}
    if o.get("metadataXml"):
        try:
            meta_xml = parse_idp_metadata(o["metadataXml"])
        except ValueError as exc:
            plan.findings.append(_finding(conn, "metadataXml", "metadata_unreadable", str(exc), Severity.WARNING))
    if o.get("metadataUrl"):
        opts["idp_metadata_url"] = o["metadataUrl"]
        plan.idp_url = o["metadataUrl"]
    else:
        sso_url = o.get("signInEndpoint") or meta_xml.get("sso_url")
        if not sso_url and o.get("pingFederateBaseUrl"):
            sso_url = o["pingFederateBaseUrl"].rstrip("/") + "/idp/SSO.saml2"
            plan.notes.append("The IdP SSO URL is PingFederate's default endpoint under `pingFederateBaseUrl` "
                              "(/idp/SSO.saml2): confirm it with the customer.")
        raw_certs = [v for v in (o.get("signingCert"), o.get("cert")) if isinstance(v, str) and v.strip()]
        raw_certs += meta_xml.get("certs") or []
        pems: list[str] = []
        for i, rc in enumerate(raw_certs):
            try:
                for pem in certificate_to_pem(rc):
                    if certificate_fingerprint(pem) not in {certificate_fingerprint(p) for p in pems}:
                        pems.append(pem)
            except CertificateError as exc:
                where = "signingCert" if i == 0 and o.get("signingCert") else "cert"
                plan.findings.append(_finding(conn, where, "certificate_not_x509",
                                              f"The IdP signing certificate is refused: {exc}."))
        if sso_url:
            opts["idp_sso_url"] = sso_url
            plan.idp_url = sso_url
        if pems:
            opts["idp_signing_certs"] = pems
        if meta_xml.get("entity_id"):
            opts["idp_entity_id"] = meta_xml["entity_id"]
        else:
            plan.unknowns.append("idp_entity_id: Auth0 stores no IdP entity id (its `entityId` is Auth0's own SP "
                                 "entity id); not sent. The customer's IdP metadata has it.")
        missing = [n for n, ok in (("the IdP SSO URL (signInEndpoint)", bool(sso_url)),
                                   ("a signing certificate that parses as X.509", bool(pems))) if not ok]
        if missing:
            plan.outcome = HANDOFF
            plan.reason = ("incomplete SAML configuration: " + " and ".join(missing) + " missing, and no metadata "
                           "URL")
            plan.action = ("Ask the customer's IT admin to set the connection up through the Admin Portal link "
                           "(intent sso), or add the missing values in Auth0 and run this step again.")
    host = urlsplit(plan.idp_url or "").netloc.lower()
    if conn.strategy == "samlp":
        plan.connection_type = next((t for h, t in _HOST_TYPES if host == h or host.endswith("." + h)),
                                    "ADFSSAML" if "/adfs/" in (plan.idp_url or "") else "GenericSAML")
    if plan.mode == KEEP_IDP:
        opts["sp_entity_id"] = ctx.sp_entity_id(conn)
        opts["acs_url"] = ctx.acs_url(conn.name)
    if o.get("signSAMLRequest"):
        plan.notes.append("Auth0 signs the AuthnRequests: the IdP may require the signature; upload WorkOS's SP "
                          "signing certificate to the IdP or switch the check off.")
    for key in ("signing_key", "decryptionKey"):
        if isinstance(o.get(key), dict) and o[key].get("key"):
            plan.notes.append(f"Auth0 holds a private key in `{key}`; it is not copied (WorkOS generates its own "
                              "SP key pairs): an IdP that encrypts to Auth0's key must switch to WorkOS's.")
    if o.get("idpinitiated", {}).get("enabled") if isinstance(o.get("idpinitiated"), dict) else False:
        plan.notes.append("IdP-initiated sign-in was enabled in Auth0; WorkOS's API has no field for it: check the "
                          "WorkOS dashboard setting.")
    plan.options = opts
    _attribute_maps(plan, o.get("fieldsMap"), o.get("user_id_attribute"))


def _discovery(conn: EnterpriseConnection) -> str | None:
    o = conn.options
    if conn.strategy == "waad":
        tenant = o.get("tenant_domain") or o.get("tenantId")
        if o.get("useCommonEndpoint"):
            tenant = "common"
        return f"https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration" if tenant else None
    if conn.strategy == "google-apps":
        return "https://accounts.google.com/.well-known/openid-configuration"
    if o.get("discovery_url"):
        return o["discovery_url"]
    issuer = o.get("issuer") or (f"https://{o['domain']}" if conn.strategy == "okta" and o.get("domain") else None)
    if issuer:
        return issuer.rstrip("/") + "/.well-known/openid-configuration"
    return None


def _oidc(plan: ConnectionPlan, ctx: CutoverContext, secret: str | None, source: str | None) -> None:
    conn, o = plan.connection, plan.connection.options
    plan.protocol = "oidc"
    plan.connection_type = {"okta": "OktaOIDC", "waad": "EntraIdOIDC", "google-apps": "GoogleOIDC"}.get(
        conn.strategy, "GenericOIDC")
    discovery = _discovery(conn)
    opts: dict[str, Any] = {}
    if discovery:
        opts["discovery_endpoint"] = discovery
        plan.idp_url = discovery
    if o.get("client_id"):
        opts["client_id"] = o["client_id"]
    method = o.get("token_endpoint_auth_method")
    if method in ("client_secret_post", "client_secret_basic"):
        opts["token_authentication_method"] = method
    if plan.mode == KEEP_IDP:
        opts["redirect_uri"] = ctx.redirect_uri
    if conn.strategy == "waad":
        if o.get("useCommonEndpoint"):
            plan.notes.append("Auth0 used Microsoft's common (multi-tenant) endpoint: review which tenants may "
                              "sign in through WorkOS.")
        if o.get("identity_api") == "azure-active-directory-v1.0":
            plan.notes.append("Auth0 used the Azure AD v1 identity API; WorkOS uses the v2.0 discovery document.")
    if conn.strategy == "google-apps" and o.get("domain"):
        plan.notes.append(f"Google Workspace domain {o['domain']} becomes a domain of the organization.")
    missing = [n for n, ok in (("a discovery / issuer URL", bool(discovery)), ("client_id", bool(o.get("client_id"))))
               if not ok]
    if method == "private_key_jwt":
        plan.outcome, plan.reason = HANDOFF, "the connection authenticates with private_key_jwt (Auth0's key pair " \
                                             "is not exportable)"
        plan.action = "Set the connection up anew through the Admin Portal link (intent sso)."
    elif missing:
        plan.outcome = HANDOFF
        plan.reason = "incomplete OIDC configuration: " + " and ".join(missing) + " missing"
        plan.action = "Set the connection up anew through the Admin Portal link (intent sso)."
    elif secret is None:
        plan.outcome = HANDOFF
        plan.reason = "the client secret was not returned by Auth0, typed in, or set in the environment"
        plan.action = (f"Type the client secret in the wizard or set {secret_env_name(conn.name)} and run this step "
                       "again; or let the customer set the connection up through the Admin Portal link.")
        if o.get("type") == "front_channel":
            plan.reason += " (a front-channel connection in Auth0 has none)"
    else:
        opts["client_secret"] = secret
        plan.secret_source = source
    plan.options = opts
    attrs = (o.get("attribute_map") or {}).get("attributes") if isinstance(o.get("attribute_map"), dict) else None
    _attribute_maps(plan, attrs, o.get("userid_attribute") if conn.strategy == "waad" else None)


def _domains(conn: EnterpriseConnection) -> list[str]:
    o = conn.options
    names = list(o.get("domain_aliases") or [])
    if conn.strategy == "google-apps" and o.get("domain"):
        names.append(o["domain"])
    return [d["domain"] for d in merge_domains([{"domain": d, "state": "pending", "source": "connection"}
                                                for d in names if isinstance(d, str) and d.strip()]) if d["valid"]]


def plan_connection(conn: EnterpriseConnection, *, mode: str, ctx: CutoverContext, org_names: Mapping[str, str],
                    consolidate: bool = False, typed_secrets: Mapping[str, str] | None = None,
                    env: Mapping[str, str] | None = None) -> ConnectionPlan:
    """The WorkOS side of one Auth0 connection: type, options, placements, or why it is handed off."""
    plan = ConnectionPlan(connection=conn, mode=mode, outcome=CREATE, domains=_domains(conn))
    o, s = conn.options, conn.strategy
    if s in ("samlp", "pingfederate"):
        _saml(plan, ctx)
    elif s in ("oidc", "okta", "google-apps") or (s == "waad" and o.get("waad_protocol") != "ws-federation"):
        secret, source = resolve_secret(conn, typed_secrets or {}, env or {})
        _oidc(plan, ctx, secret, source)
    elif s == "waad":
        plan.outcome, plan.connection_type = HANDOFF, "AzureSAML"
        plan.reason = "Entra ID (Azure AD) in WS-Federation mode: WorkOS does not speak WS-Federation"
        plan.action = ("The customer's IT admin sets up Entra ID anew (SAML or OIDC, e.g. AzureSAML) through the "
                       "Admin Portal link (intent sso).")
    elif s == "adfs":
        plan.outcome, plan.connection_type = HANDOFF, "ADFSSAML"
        server = o.get("adfs_server") or ""
        plan.reason = "ADFS through WS-Federation: WorkOS does not speak WS-Federation"
        plan.action = ("The customer's IT admin adds SAML endpoints to the ADFS relying-party trust and sets up an "
                       "ADFS SAML connection through the Admin Portal link (intent sso)"
                       + (f"; the federation metadata is at {server}" if server else "") + ".")
    else:
        plan.outcome = HANDOFF
        plan.reason = f"Auth0 strategy `{s}` has no WorkOS SSO equivalent the API can create"
        plan.action = "Choose a SAML or OIDC setup with the customer (Admin Portal link, intent sso)."
    if not o:
        plan.outcome = HANDOFF
        plan.reason = "Auth0 returned no options for this connection"
        plan.action = "Grant read:connections_options and run this step again."
    plan.placements = placements(conn, org_names, consolidate=consolidate)
    if plan.mode == KEEP_IDP and plan.outcome == CREATE and ctx.canonical_host:
        plan.notes.append(f"The IdP trusts {ctx.auth0_domain}, Auth0's canonical host: its callbacks cannot be "
                          "routed to WorkOS, so keeping the IdP untouched needs a custom domain the IdP uses.")
    return plan


def placements(conn: EnterpriseConnection, org_names: Mapping[str, str], *, consolidate: bool) -> list[Placement]:
    """One placement per enabling Auth0 organization (external id per organization when there are
    several), or one organization of its own: unattached connections, or consolidation by choice."""
    label = conn.display_name or conn.name
    if conn.auth0_orgs and not (consolidate and len(conn.auth0_orgs) > 1):
        many = len(conn.auth0_orgs) > 1
        return [Placement(oid, oid, f"{conn.id}:{oid}" if many else conn.id, org_names.get(oid, oid))
                for oid in sorted(conn.auth0_orgs, key=lambda x: org_names.get(x, x))]
    return [Placement("", None, conn.id, label)]


def build_plans(inv: SsoInventory, journal: Journal, *, ctx: CutoverContext, default_mode: str = KEEP_IDP,
                modes: Mapping[str, str] | None = None, consolidate: bool = False,
                typed_secrets: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None
                ) -> list[ConnectionPlan]:
    """Plans for every inventoried connection; a mode chosen before (journal) stands unless overridden."""
    known = {r["auth0_connection_id"]: r for r in journal.sso_connections()}
    org_names = {o["auth0_org_id"]: o["display_name"] or o["name"] for o in journal.orgs()}
    out = []
    for c in inv.connections:
        mode = (modes or {}).get(c.name) or (known.get(c.id) or {}).get("mode") or default_mode
        if mode not in MODES:
            raise ValueError(f"unknown cutover mode '{mode}' for {c.name}: use {' or '.join(MODES)}")
        out.append(plan_connection(c, mode=mode, ctx=ctx, org_names=org_names, consolidate=consolidate,
                                   typed_secrets=typed_secrets, env=env))
    return out


def save_plans(journal: Journal, plans: list[ConnectionPlan]) -> None:
    """The plans (redacted) and their placements; what was already created keeps its status."""
    for p in plans:
        c = p.connection
        shown = p.body("<WorkOS organization id>", p.placements[0]) if p.outcome == CREATE else None
        journal.upsert_sso_connection({
            "auth0_connection_id": c.id, "name": c.name, "display_name": c.display_name, "strategy": c.strategy,
            "users": c.users, "auth0_orgs_json": json.dumps(c.auth0_orgs), "domains_json": json.dumps(p.domains),
            "mode": p.mode, "outcome": p.outcome, "connection_type": p.connection_type, "idp_url": p.idp_url,
            "reason": p.reason, "action": p.action, "request_json": json.dumps(shown) if shown else None,
            "unknowns_json": json.dumps(p.unknowns), "notes_json": json.dumps(p.notes
                                                                             + [f.message for f in p.findings])})
        for pl in p.placements:
            journal.ensure_sso_target(c.id, pl.key, auth0_org_id=pl.auth0_org_id, external_id=pl.external_id,
                                      org_name=pl.org_name)
        journal.drop_planned_sso_targets(c.id, [pl.key for pl in p.placements])
        journal.clear_findings(f"Auth0 connection {c.name}")
        if p.findings:
            journal.add_findings(p.findings)
    journal.delete_sso_connection_rows([p.connection.id for p in plans])


def set_mode(journal: Journal, connection_name: str, mode: str) -> None:
    """The operator's cutover choice for one connection (applies to what is not created yet)."""
    if mode not in MODES:
        raise ValueError(f"unknown cutover mode '{mode}': use {' or '.join(MODES)}")
    if not journal.set_sso_mode(connection_name, mode):
        raise KeyError(connection_name)


# =============================================================================== WorkOS calls
async def _paced(pacer: Pacer, make: Callable[[], Awaitable[T]], *, write: bool,
                 on_wait: ProgressCallback | None = None) -> T:
    """One WorkOS call under the shared budget: 429s pause every worker, transient errors back off.
    Retrying a create is safe: `external_id` makes it idempotent within the organization."""
    retries = Retries(RetryPolicy())
    while True:
        await (pacer.write() if write else pacer.read())
        try:
            return await make()
        except ApiError as err:
            if err.kind is ErrorKind.RATE_LIMITED:
                line = pacer.pause_after_429(err.retry_after)
                if on_wait:
                    on_wait(Progress(operation="workos-wait", total=None, paused_until=pacer.paused_until,
                                     pause_cause=err.wait_cause,
                                     latest_error=line))
                if not retries.after_rate_limit():
                    raise
                continue
            if err.kind is ErrorKind.TRANSIENT:
                delay = retries.after_transient(err.retry_after)
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                continue
            raise


@dataclass
class SsoRun:
    dry_run: bool
    connections: dict[str, int] = field(default_factory=dict)  # target status -> count
    organizations: dict[str, int] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)
    certificates_added: int = 0
    handed_off: int = 0
    problems: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.connections.get("failed") and not self.members.get("failed") \
            and not self.connections.get("org_missing")

    def as_dict(self) -> dict:
        return asdict(self) | {"ok": self.ok}


async def _workos_org(journal: Journal, client, pacer: Pacer, plan: ConnectionPlan, target: dict, run: SsoRun,
                      counts: Counter, on_wait) -> str | None:
    """The WorkOS organization of one placement: the organizations step's, or one of its own."""
    if target["workos_org_id"]:
        return target["workos_org_id"]
    ext = target["auth0_org_id"] or plan.connection.id
    if target["auth0_org_id"]:
        known = next((o["workos_org_id"] for o in journal.orgs() if o["auth0_org_id"] == ext), None)
        if known:
            return known
    found = await _paced(pacer, lambda: wapi.find_organization_by_external_id(client, ext), write=False,
                         on_wait=on_wait)
    if found or target["auth0_org_id"] or run.dry_run:
        if not found and run.dry_run and not target["auth0_org_id"]:
            counts["would_create"] += 1
        return found
    org_id = await _paced(pacer, lambda: wapi.create_organization(
        client, name=target["org_name"], external_id=ext, domains=[(d, "pending") for d in plan.domains],
        metadata={"auth0_connection_id": plan.connection.id}), write=True, on_wait=on_wait)
    journal.record_write(WRITE_ORG, org_id, ext)
    counts["created"] += 1
    return org_id


async def create_connections(journal: Journal, client, plans: list[ConnectionPlan], *, pacer: Pacer,
                             dry_run: bool = False, on_progress: ProgressCallback | None = None,
                             run: SsoRun | None = None) -> SsoRun:
    """Every placement of every creatable plan: organization (own ones created), then the connection
    (in_flight committed before the POST; a resumed in_flight target re-POSTs the same external id)."""
    if not dry_run:
        await ensure_environment(journal, client, action="create SSO connections")
    run = run or SsoRun(dry_run=dry_run)
    counts: Counter = Counter()
    org_counts: Counter = Counter()
    todo = [(p, t) for p in plans for t in journal.sso_targets(p.connection.id)]
    for i, (plan, target) in enumerate(todo, 1):
        cid, key = plan.connection.id, target["placement"]
        if plan.outcome != CREATE:
            # the customer sets it up anew through the Admin Portal, which needs its organization
            org_id = await _workos_org(journal, client, pacer, plan, target, run, org_counts, on_progress)
            if not dry_run and target["status"] not in TARGET_DONE:
                journal.set_sso_target(cid, key, "handoff", workos_org_id=org_id, error_message=plan.reason)
            counts["handoff"] += 1
        elif target["status"] in TARGET_DONE and target["workos_connection_id"]:
            counts["already_done"] += 1
            if not dry_run:
                run.certificates_added += await _add_missing_certs(journal, client, pacer, plan, target,
                                                                   on_progress)
        else:
            try:
                await _create_one(journal, client, pacer, plan, target, run, counts, org_counts, on_progress)
            except ApiError as exc:
                if exc.kind is ErrorKind.AUTH:
                    raise
                counts["failed"] += 1
                if not dry_run:
                    journal.set_sso_target(cid, key, "failed", error_code=exc.code or exc.kind.value,
                                           error_message=exc.message)
                run.problems.append({"connection": plan.connection.name, "organization": target["org_name"],
                                     "status": "failed", "message": exc.message})
        if on_progress:
            on_progress(Progress(operation="sso-connections", total=len(todo), counts=frozen_counts(counts),
                                 done=i == len(todo)))
    run.connections = dict(counts)
    run.organizations = dict(org_counts)
    run.handed_off = sum(1 for p in plans if p.outcome == HANDOFF)
    return run


async def _create_one(journal: Journal, client, pacer: Pacer, plan: ConnectionPlan, target: dict, run: SsoRun,
                      counts: Counter, org_counts: Counter, on_wait) -> None:
    cid, key = plan.connection.id, target["placement"]
    org_id = await _workos_org(journal, client, pacer, plan, target, run, org_counts, on_wait)
    if not org_id:
        if run.dry_run and not target["auth0_org_id"]:
            counts["would_create"] += 1  # in an organization of its own, created first
            return
        counts["org_missing"] += 1
        message = (f"Auth0 organization {target['org_name']} is not in WorkOS yet: run the Organizations step "
                   "first (auth0-workos orgs), then this step again")
        if not run.dry_run:
            journal.set_sso_target(cid, key, "org_missing", error_code="org_missing", error_message=message)
        run.problems.append({"connection": plan.connection.name, "organization": target["org_name"],
                             "status": "org_missing", "message": message})
        return
    placement = next(p for p in plan.placements if p.key == key)
    if run.dry_run:
        counts["would_create"] += 1
        return
    resumed = target["status"] == "in_flight"
    before: set[str] = set()
    if not resumed:
        before = {c.id for c in await _paced(pacer, lambda: wapi.list_connections(client, org_id), write=False,
                                             on_wait=on_wait)}
    journal.set_sso_target(cid, key, "in_flight", workos_org_id=org_id)
    body = plan.body(org_id, placement, redact=False)
    conn = await _paced(pacer, lambda: wapi.create_connection(client, body), write=True, on_wait=on_wait)
    if conn.id in before:  # the external id was already there before this run: not ours to roll back
        journal.set_sso_target(cid, key, "existing", workos_connection_id=conn.id)
        counts["existing"] += 1
        run.certificates_added += await _add_missing_certs(journal, client, pacer, plan,
                                                           target | {"workos_connection_id": conn.id}, on_wait)
    else:
        journal.set_sso_target(cid, key, "created", workos_connection_id=conn.id, write_kind=WRITE_CONNECTION,
                               write_target=conn.id)
        counts["created"] += 1


async def _add_missing_certs(journal: Journal, client, pacer: Pacer, plan: ConnectionPlan, target: dict,
                             on_wait) -> int:
    """A connection that already existed keeps its settings (external id returns it unchanged):
    Auth0 certificates it lacks (a rotation since) are added, never replaced."""
    wanted = plan.options.get("idp_signing_certs") or []
    if plan.protocol != "saml" or not wanted:
        return 0
    conn_id = target["workos_connection_id"]
    have = await _paced(pacer, lambda: wapi.list_idp_signing_certs(client, conn_id), write=False, on_wait=on_wait)
    prints = set()
    for c in have:
        try:
            prints.add(certificate_fingerprint(c["value"]))
        except ValueError:
            continue
    added = 0
    for pem in wanted:
        if certificate_fingerprint(pem) in prints:
            continue
        cert_id = await _paced(pacer, lambda pem=pem: wapi.add_idp_signing_cert(client, conn_id, pem), write=True,
                               on_wait=on_wait)
        journal.record_write(WRITE_CERT, cert_id, conn_id)
        added += 1
    return added


async def add_members(journal: Journal, client, plans: list[ConnectionPlan], *, pacer: Pacer,
                      dry_run: bool = False, on_progress: ProgressCallback | None = None,
                      run: SsoRun | None = None) -> SsoRun:
    """Each imported sso-branch user joins their connection's organization(s) when not a member yet."""
    if not dry_run:
        await ensure_environment(journal, client, action="add SSO users to their organizations")
    run = run or SsoRun(dry_run=dry_run)
    counts: Counter = Counter()
    by_conn = {p.connection.id: p for p in plans}
    orgs_by_workos = {o["workos_org_id"]: o for o in journal.orgs() if o["workos_org_id"]}
    rows = journal.sso_members()
    pairs = list(dict.fromkeys((r["auth0_user_id"], r["auth0_connection_id"]) for r in rows))
    pending = list(dict.fromkeys((r["auth0_user_id"], r["auth0_connection_id"]) for r in rows
                                 if r["status"] not in ("created", "present")))
    counts["already_done"] = len(pairs) - len(pending)
    for i, (uid, cid) in enumerate(pending, 1):
        user = journal.user(uid)
        targets = [t for t in journal.sso_targets(cid) if t["status"] in TARGET_DONE and t["workos_org_id"]]
        if user is None or user.branch != Branch.SSO:
            counts["not_sso_branch"] += 1
        elif user.status not in UserStatus.DONE or not user.workos_user_id:
            counts["user_not_imported"] += 1
        elif cid not in by_conn or not targets:
            counts["connection_not_created"] += 1
        else:
            for org_id in _member_orgs(journal, uid, user.email, targets, orgs_by_workos):
                try:
                    await _add_member(journal, client, pacer, uid, cid, user.workos_user_id, org_id, dry_run, counts,
                                      on_progress)
                except ApiError as exc:
                    if exc.kind is ErrorKind.AUTH:
                        raise
                    counts["failed"] += 1
                    if not dry_run:
                        journal.set_sso_member(uid, cid, org_id, "failed", error_message=exc.message)
                    run.problems.append({"connection": by_conn[cid].connection.name, "user": uid,
                                         "status": "failed", "message": exc.message})
            if len(targets) > 1 and not _member_orgs(journal, uid, user.email, targets, orgs_by_workos):
                counts["no_matching_org"] += 1
                run.problems.append({"connection": by_conn[cid].connection.name, "user": uid,
                                     "status": "no_matching_org",
                                     "message": "several organizations enable this connection and the user is a "
                                                "member of none of them in Auth0 (nor matches their domains)"})
        if on_progress:
            on_progress(Progress(operation="sso-members", total=len(pending), counts=frozen_counts(counts),
                                 done=i == len(pending)))
    run.members = {k: v for k, v in counts.items() if v}
    return run


def _member_orgs(journal: Journal, uid: str, email: str | None, targets: list[dict],
                 orgs_by_workos: Mapping[str, dict]) -> list[str]:
    """Which of the connection's organizations the user joins: the only one; else those the user is
    an Auth0 member of; else those whose domains match the user's email domain."""
    ids = list(dict.fromkeys(t["workos_org_id"] for t in targets))
    if len(ids) == 1:
        return ids
    member_of = {m["auth0_org_id"] for m in journal.memberships() if m["auth0_user_id"] == uid}
    chosen = [t["workos_org_id"] for t in targets if t["auth0_org_id"] in member_of]
    if chosen:
        return list(dict.fromkeys(chosen))
    domain = (email or "").rsplit("@", 1)[-1].lower()
    return [w for w in ids if domain and any(d.get("domain") == domain
                                             for d in (orgs_by_workos.get(w) or {}).get("domains", []))]


async def _add_member(journal: Journal, client, pacer: Pacer, uid: str, cid: str, workos_user: str, org_id: str,
                      dry_run: bool, counts: Counter, on_wait) -> None:
    existing = await _paced(pacer, lambda: wapi.find_membership_id(client, workos_user, org_id), write=False,
                            on_wait=on_wait)
    if existing:
        counts["present"] += 1
        if not dry_run:
            journal.set_sso_member(uid, cid, org_id, "present", membership_id=existing)
        return
    if dry_run:
        counts["would_create"] += 1
        return
    try:
        mid = await _paced(pacer, lambda: wapi.create_membership(client, workos_user, org_id), write=True,
                           on_wait=on_wait)
    except ApiError as exc:
        if exc.kind is not ErrorKind.EXISTS and "already" not in exc.message.lower():
            raise
        counts["present"] += 1
        journal.set_sso_member(uid, cid, org_id, "present")
        return
    journal.set_sso_member(uid, cid, org_id, "created", membership_id=mid, write_kind=WRITE_MEMBER)
    counts["created"] += 1


# =============================================================================== Admin Portal
async def portal_link(journal: Journal, client, connection_name: str, *, pacer: Pacer) -> list[tuple[str, str]]:
    """Fresh Admin Portal links (intent sso) for a connection's organizations: (organization, link).
    Each expires 5 minutes after issuance, so they are generated on demand and never stored."""
    row = next((r for r in journal.sso_connections() if r["name"] == connection_name), None)
    if row is None:
        raise KeyError(connection_name)
    await ensure_environment(journal, client, action="generate Admin Portal links", bind=False)
    out = []
    for t in journal.sso_targets(row["auth0_connection_id"]):
        org_id = t["workos_org_id"] or next((o["workos_org_id"] for o in journal.orgs()
                                             if o["auth0_org_id"] == t["auth0_org_id"]), None)
        if not org_id:
            continue
        link = await _paced(pacer, lambda o=org_id: wapi.generate_portal_link(client, o, "sso"), write=True)
        out.append((t["org_name"], link))
    return out


# =============================================================================== rollback
@dataclass
class SsoRollback:
    deleted: dict[str, int] = field(default_factory=dict)
    already_gone: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def rollback_targets(journal: Journal) -> dict[str, list[dict]]:
    """What this run's SSO step wrote and has not undone yet, by write kind."""
    out: dict[str, list[dict]] = {}
    for kind, undo in DELETE_KINDS.items():
        undone = {w["target_id"] for w in journal.writes(undo)}
        out[kind] = [w for w in journal.writes(kind) if w["target_id"] and w["target_id"] not in undone]
    return out


async def rollback(journal: Journal, client, *, pacer: Pacer, on_progress: ProgressCallback | None = None
                   ) -> SsoRollback:
    """Delete exactly what the SSO step created: certificates it added to connections that existed,
    its memberships, its connections, then the organizations it created (each deletion journalled)."""
    await ensure_environment(journal, client, action="roll back the SSO step", bind=False)
    result = SsoRollback()
    todo = rollback_targets(journal)
    created_conns = {w["target_id"] for w in todo[WRITE_CONNECTION]}
    deleted: Counter = Counter()
    steps: list[tuple[str, dict, Callable[[], Awaitable[Any]]]] = []
    for w in todo[WRITE_CERT]:
        if w["auth0_id"] not in created_conns:  # a created connection takes its certificates with it
            steps.append((WRITE_CERT, w, lambda w=w: wapi.delete_idp_signing_cert(client, w["auth0_id"],
                                                                                  w["target_id"])))
    steps += [(WRITE_MEMBER, w, lambda w=w: wapi.delete_membership(client, w["target_id"])) for w in todo[WRITE_MEMBER]]
    steps += [(WRITE_CONNECTION, w, lambda w=w: wapi.delete_connection(client, w["target_id"]))
              for w in todo[WRITE_CONNECTION]]
    steps += [(WRITE_ORG, w, lambda w=w: wapi.delete_organization(client, w["target_id"])) for w in todo[WRITE_ORG]]
    for i, (kind, w, call) in enumerate(steps, 1):
        try:
            answer = await _paced(pacer, call, write=True, on_wait=on_progress)
        except ApiError as exc:
            if exc.kind is ErrorKind.NOT_FOUND:
                answer = False
            else:
                if exc.kind is ErrorKind.AUTH:
                    raise
                result.failures.append(f"{kind} {w['target_id']}: {exc.message}")
                continue
        if answer is False:
            result.already_gone += 1
        else:
            deleted[kind] += 1
        with journal.transaction():
            journal.record_write(DELETE_KINDS[kind], w["target_id"], w["auth0_id"])
            if kind == WRITE_CONNECTION and "|" in (w["auth0_id"] or ""):
                journal.clear_sso_target(*w["auth0_id"].split("|", 1))
            elif kind == WRITE_ORG:
                journal.forget_sso_org(w["target_id"])
            elif kind == WRITE_MEMBER:
                cid, uid = w["auth0_id"].split("|", 1)
                for m in journal.sso_members():
                    if m["workos_membership_id"] == w["target_id"]:
                        journal.reset_sso_member(uid, cid, m["workos_org_id"])
        if on_progress:
            on_progress(Progress(operation="sso-rollback", total=len(steps), counts=frozen_counts(deleted),
                                 done=i == len(steps)))
    result.deleted = {k.replace("create_sso_", "").replace("add_sso_", ""): v for k, v in deleted.items()}
    return result


# =============================================================================== verification
def check_connections(journal: Journal, client) -> Check:
    """Every migrated connection exists in its organization with the expected type; the IdP URL is
    not readable through the SDK (api-facts-b2b §2.3), so SAML connections are compared by their
    IdP signing certificates instead. `client` is the blocking WorkOS SDK client."""
    name = "Enterprise SSO"
    rows = {r["auth0_connection_id"]: r for r in journal.sso_connections()}
    step = journal.step(STEP_ID) or {}
    if step.get("status") == "not_applicable":
        return Check(name, True, f"not applicable: {step.get('reason') or 'marked not applicable'}")
    inv = journal.get_document(DOC_INVENTORY)
    if not rows:
        if inv and not inv.get("connections"):
            return Check(name, True, "not applicable: the inventory found no enterprise connection")
        if inv is None:
            return Check(name, True, "not applicable: the Enterprise SSO step has not run in this run")
        return Check(name, False, f"{inv.get('connections')} enterprise connection(s) inventoried, none planned",
                     "Run the Enterprise SSO step (auth0-workos sso --run-dir DIR).")
    problems, fine = [], 0
    targets = [t for t in journal.sso_targets() if rows.get(t["auth0_connection_id"], {}).get("outcome") == CREATE]
    for t in targets:
        row = rows[t["auth0_connection_id"]]
        label = f"{row['name']} in {t['org_name']}"
        if t["status"] not in TARGET_DONE or not t["workos_connection_id"]:
            problems.append(f"{label}: not created ({t['status']})")
            continue
        try:
            conn = client.sso.get_connection(t["workos_connection_id"])
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes one readable line
            err = wapi.to_api_error(exc)
            if err.kind is ErrorKind.NOT_FOUND:
                problems.append(f"{label}: {t['workos_connection_id']} no longer exists in WorkOS")
                continue
            return Check(name, False, f"could not read WorkOS: {err}", "Check WORKOS_API_KEY and the network.")
        got = wapi.RemoteConnection.from_sdk(conn)
        if got.organization_id and got.organization_id != t["workos_org_id"]:
            problems.append(f"{label}: in organization {got.organization_id}, expected {t['workos_org_id']}")
            continue
        if row["connection_type"] and got.connection_type != row["connection_type"]:
            problems.append(f"{label}: type {got.connection_type}, expected {row['connection_type']}")
            continue
        expected = (row.get("request") or {}).get("saml_options", {}).get("idp_signing_certs") or []
        if expected:
            try:
                have = {certificate_fingerprint(c.value) for c in
                        client.sso.list_connection_saml_idp_signing_certs(got.id).data}
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{label}: IdP certificates unreadable ({wapi.to_api_error(exc).message})")
                continue
            if not {certificate_fingerprint(p) for p in expected} <= have:
                problems.append(f"{label}: the IdP signing certificate from Auth0 is missing in WorkOS")
                continue
        fine += 1
    handed = sum(1 for r in rows.values() if r["outcome"] == HANDOFF)
    tail = f"; {handed} handed off (see {HANDOFF_MD})" if handed else ""
    if problems:
        return Check(name, False, f"{fine} of {len(targets)} connection(s) as planned; " + "; ".join(problems[:8])
                     + tail, "Run the Enterprise SSO step again (auth0-workos sso --run-dir DIR): it creates only "
                             "what is missing.")
    return Check(name, True, f"{fine} of {len(targets)} connection(s) in the right organization with the expected "
                             f"type (IdP URL not readable through the API; IdP certificates compared){tail}")


# =============================================================================== gate
def not_applicable_refusal(journal: Journal) -> str | None:
    """Why the step may not be marked not applicable, or None: only when the inventory found no
    enterprise connection."""
    inv = journal.get_document(DOC_INVENTORY)
    if inv is None:
        return ("Run the Enterprise SSO inventory first: the step may be marked not applicable only when it finds "
                "no enterprise connection.")
    if inv.get("connections"):
        return (f"The inventory found {inv['connections']} enterprise connection(s): migrate or hand them off; "
                "the step cannot be marked not applicable.")
    return None


def sso_gate(journal: Journal) -> GateResult:
    rows = journal.sso_connections()
    inv = journal.get_document(DOC_INVENTORY)
    targets = journal.sso_targets()
    by_id = {r["auth0_connection_id"]: r for r in rows}
    to_create = [t for t in targets if by_id.get(t["auth0_connection_id"], {}).get("outcome") == CREATE]
    done = [t for t in to_create if t["status"] in TARGET_DONE]
    handed = [r for r in rows if r["outcome"] == HANDOFF]
    members = Counter(m["status"] for m in journal.sso_members())
    handoff_doc = journal.get_document(DOC_HANDOFF) or {}
    handoff_ok = bool(handoff_doc) and Path(handoff_doc.get("markdown", "")).is_file()
    checks = [
        Check("Enterprise connections inventoried", bool(inv) and bool(inv.get("connections")),
              f"{inv.get('connections')} connection(s)" if inv else "not read yet",
              "Run the inventory (read:connections and read:connections_options)." if not inv else
              "No enterprise connection: mark this step not applicable with a reason."),
        Check("Dry run", bool(journal.get_document(DOC_DRY_RUN)), "recorded" if journal.get_document(DOC_DRY_RUN)
              else "not run yet", "Run the dry run: it reads WorkOS and sends nothing."),
        Check("Connections created", bool(journal.get_document(DOC_RESULT)) and len(done) == len(to_create),
              f"{len(done)} of {len(to_create)} created or existing"
              + "".join(f"; {t['org_name']}: {t['last_error_message']}" for t in to_create
                        if t["status"] not in TARGET_DONE and t["last_error_message"])[:400],
              "Fix what is listed and run the step again: it creates only what is missing."),
        Check("Handoff written", handoff_ok, f"{HANDOFF_MD} and {CONNECTIONS_CSV}; {len(handed)} connection(s) "
              "handed off" if handoff_ok else "not written yet", "Write the handoff files (they list every "
              "connection's outcome)."),
        Check("Members", not members["failed"], ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in
                                                          sorted(members.items())) or "none",
              "Run the step again: it adds only the missing memberships."),
    ]
    return GateResult.from_checks(checks, details={"connections": len(rows), "handed_off": len(handed),
                                                   "targets": dict(Counter(t["status"] for t in targets))})


# =============================================================================== handoff files
KEEP_IDP_ROUTING = (
    "Keeping the IdP untouched works only when the IdP's callbacks reach WorkOS: the Auth0 tenant uses a custom "
    "domain you control and the IdP was configured with it; `{custom-domain}/login/callback*` is routed (HTTP 307, "
    "so the POSTed SAMLResponse survives) to `https://{workos-custom-domain}/sso/{WORKOS_CLIENT_ID}/auth0/callback`, "
    "requests carrying `fallback=auth0` go to the canonical Auth0 host; SAML connections must not sign requests or "
    "decrypt assertions with Auth0's tenant-wide keys. Traffic to the canonical `*.auth0.com` host cannot be "
    "rerouted: those IdPs must be updated. Whether WorkOS enables the Auth0 callback endpoint for every "
    "environment is uncertain: ask WorkOS support before the cutover.")


def _outcome(row: dict, targets: list[dict]) -> str:
    if row["outcome"] == HANDOFF:
        return "handed off"
    statuses = Counter(t["status"] for t in targets)
    if targets and all(t["status"] in TARGET_DONE for t in targets):
        return "created" if statuses["created"] else "existing"
    if statuses["failed"]:
        return "failed"
    if statuses["org_missing"]:
        return "waiting for its organization"
    return "planned"


def _customer_message(row: dict, targets: list[dict], cmd_portal: str) -> list[str]:
    kind = "SAML" if row.get("request") and "saml_options" in row["request"] else "OIDC"
    orgs = ", ".join(t["org_name"] for t in targets)
    ids = ", ".join(t["workos_connection_id"] for t in targets if t["workos_connection_id"]) or "not created yet"
    lines = [f"> To the IT admin of {orgs}:", ">",
             f"> Your sign-in connection \"{row['display_name'] or row['name']}\" moves from Auth0 to WorkOS "
             f"(WorkOS connection {ids}). "]
    if kind == "SAML":
        lines[-1] += ("Please replace, in your identity provider's application, the ACS (reply) URL and the "
                      "SP entity ID (audience) with the new WorkOS values. The setup link below shows both for this "
                      "connection; the IdP's sign-in URL and certificate stay as they are.")
    else:
        lines[-1] += ("Please add the new WorkOS redirect URI to your OIDC application's allowed redirect URIs "
                      "(the setup link below shows it); the client id and secret stay as they are.")
    lines += [">", f"> Setup link: we send you a fresh one (it is valid for {PORTAL_LINK_TTL_MINUTES} minutes).", "",
              f"Generate that link when the admin is ready: `{cmd_portal}`."]
    return lines


def write_handoff(journal: Journal, run_dir: Path, ctx: CutoverContext) -> tuple[Path, Path]:
    """`sso-handoff.md` (what a person does, per connection) and `sso-connections.csv` (one row per
    Auth0 connection with its outcome). Certificates are public; no secret and no portal link is
    written (links expire in 5 minutes: they are generated on demand)."""
    rows = journal.sso_connections()
    targets = journal.sso_targets()
    by_conn: dict[str, list[dict]] = {}
    for t in targets:
        by_conn.setdefault(t["auth0_connection_id"], []).append(t)
    run = str(run_dir)
    md = ["# Enterprise SSO handoff", "",
          "What moved from Auth0 to WorkOS, and what a person still has to do. One section per Auth0 enterprise "
          "connection. No secret is written here; Admin Portal links are generated on demand because each expires "
          f"{PORTAL_LINK_TTL_MINUTES} minutes after issuance.", "", "## Cutover modes", "",
          f"- **{KEEP_IDP}**: {MODE_LABELS[KEEP_IDP]}. {KEEP_IDP_ROUTING}",
          f"- **{NEW_ENDPOINTS}**: {MODE_LABELS[NEW_ENDPOINTS]}. The customer receives the message below and a "
          "fresh Admin Portal link (intent `sso`).", ""]
    if ctx.canonical_host:
        md += [f"Note: AUTH0_DOMAIN is {ctx.auth0_domain}, Auth0's canonical host; if the IdPs use it, keep-idp "
               "cannot work for them.", ""]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["auth0_connection_id", "name", "strategy", "users", "auth0_organizations", "mode", "outcome",
                "workos_connection_type", "workos_organization_ids", "workos_connection_ids", "reason", "what_to_do",
                "admin_portal"])
    for r in rows:
        ts = by_conn.get(r["auth0_connection_id"], [])
        outcome = _outcome(r, ts)
        portal_cmd = f"auth0-workos sso --run-dir {run} --portal-link {r['name']}"
        needs_portal = r["outcome"] == HANDOFF or r["mode"] == NEW_ENDPOINTS
        reason = r["reason"] or "; ".join(t["last_error_message"] for t in ts if t["last_error_message"])
        action = r["action"]
        if not action and r["outcome"] == CREATE:
            action = ("nothing, once the Auth0 callback is routed to WorkOS" if r["mode"] == KEEP_IDP else
                      "the customer's IT admin updates the IdP (message in sso-handoff.md)")
        w.writerow([r["auth0_connection_id"], r["name"], r["strategy"], "" if r["users"] is None else r["users"],
                    "; ".join(t["org_name"] for t in ts), r["mode"], outcome, r["connection_type"] or "",
                    "; ".join(t["workos_org_id"] or "" for t in ts), "; ".join(t["workos_connection_id"] or ""
                                                                                for t in ts),
                    reason, action, portal_cmd if needs_portal else ""])
        md += [f"## {r['display_name'] or r['name']} (`{r['name']}`, {r['strategy']})", "",
               f"- Outcome: **{outcome}**" + (f": {reason}" if reason else ""),
               f"- Users signing in through it: {'not counted' if r['users'] is None else r['users']}",
               "- Organizations: " + (", ".join(f"{t['org_name']} ({t['workos_org_id'] or 'not in WorkOS yet'})"
                                                for t in ts) or "none"),
               f"- Cutover mode: {r['mode']}"]
        if r["connection_type"]:
            md.append(f"- WorkOS connection type: {r['connection_type']}")
        if action:
            md.append(f"- What to do: {action}")
        for u in r["unknowns"]:
            md.append(f"- Unknown: {u}")
        for n in r["notes"]:
            md.append(f"- Note: {n}")
        if r.get("request"):
            md += ["", "Request sent to `POST /connections` (client secret redacted):", "", "```json",
                   json.dumps(r["request"], indent=2), "```"]
        if r["outcome"] == CREATE and r["mode"] == NEW_ENDPOINTS:
            md += ["", *_customer_message(r, ts, portal_cmd)]
        elif needs_portal:
            md += ["", f"Admin Portal link for the customer (intent sso, valid {PORTAL_LINK_TTL_MINUTES} minutes): "
                       f"`{portal_cmd}`."]
        md.append("")
    md_path, csv_path = run_dir / HANDOFF_MD, run_dir / CONNECTIONS_CSV
    write_private(md_path, "\n".join(md))
    write_private(csv_path, out.getvalue())
    journal.put_document(DOC_HANDOFF, {"markdown": str(md_path), "csv": str(csv_path), "at": time.time()})
    return md_path, csv_path


def summary_rows(journal: Journal) -> list[dict]:
    """One line per Auth0 connection for screens and the report: name, strategy, mode, outcome, why."""
    by_conn: dict[str, list[dict]] = {}
    for t in journal.sso_targets():
        by_conn.setdefault(t["auth0_connection_id"], []).append(t)
    out = []
    for r in journal.sso_connections():
        ts = by_conn.get(r["auth0_connection_id"], [])
        out.append({"name": r["name"], "display_name": r["display_name"] or r["name"], "strategy": r["strategy"],
                    "users": r["users"], "mode": r["mode"], "outcome": _outcome(r, ts),
                    "connection_type": r["connection_type"] or "", "organizations": [t["org_name"] for t in ts],
                    "reason": r["reason"] or "; ".join(t["last_error_message"] for t in ts if t["last_error_message"]),
                    "unknowns": r["unknowns"], "request": r["request"]})
    return out


def iter_secret_names(plans: Iterable[ConnectionPlan]) -> list[tuple[str, str]]:
    """(connection name, environment variable) of each connection still waiting for a client secret."""
    return [(p.connection.name, secret_env_name(p.connection.name)) for p in plans
            if p.outcome == HANDOFF and p.reason.startswith("the client secret")]


def report_section(journal: Journal) -> dict | str:
    """The report's Enterprise SSO section (no request bodies, no secrets, no portal links)."""
    rows = summary_rows(journal)
    if not rows:
        inv = journal.get_document(DOC_INVENTORY)
        return "no enterprise connection found" if inv else "not run"
    handoff = journal.get_document(DOC_HANDOFF) or {}
    return {
        "connections": len(rows),
        "by_outcome": dict(Counter(r["outcome"] for r in rows)),
        "rows": [{k: r[k] for k in ("name", "strategy", "users", "mode", "outcome", "connection_type",
                                    "organizations", "reason")} for r in rows],
        "members": dict(Counter(m["status"] for m in journal.sso_members())),
        "files": [Path(handoff[k]).name for k in ("markdown", "csv") if handoff.get(k)],
    }


def report_lines(section: dict | str) -> list[str]:
    """The section as markdown lines."""
    if not isinstance(section, dict):
        return [str(section)]
    out = [f"- enterprise connections: {section['connections']} ("
           + ", ".join(f"{n} {k}" for k, n in sorted(section["by_outcome"].items())) + ")",
           "- members: " + (", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(section["members"].items()))
                            or "none"),
           "- handoff files: " + (", ".join(section["files"]) or "not written"), "",
           "| connection | strategy | users | mode | outcome | WorkOS type | organizations | why |",
           "|---|---|---|---|---|---|---|---|"]
    for r in section["rows"]:
        cells = [r["name"], r["strategy"], "" if r["users"] is None else str(r["users"]), r["mode"], r["outcome"],
                 r["connection_type"], ", ".join(r["organizations"]) or "own organization", r["reason"]]
        out.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return out
