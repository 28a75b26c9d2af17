"""Enterprise SSO: Auth0 enterprise connections (emulator, auth0-python) -> plan -> WorkOS SSO
connections (emulator, workos SDK), over real HTTP, with the real journal and run folder."""

from __future__ import annotations

import base64
import csv
import sys

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from sso_helpers import _world
from workos import WorkOSClient
from workos.sso import CreateProtocolOptionsSAML
from workos.sso.models import CreateConnectionSAMLOptions

from wizard.cli import main
from wizard.clients.auth0 import Auth0Client
from wizard.clients.errors import ApiError, ErrorKind
from wizard.clients.workos import make_sync_client
from wizard.core import documents, orgs, sso, steps
from wizard.core import plan as planning
from wizard.core.journal import Journal
from wizard.core.pacing import Budget, shared_pacer
from wizard.sandbox.demo_sso import ACME_IDP_CERT, PARTNERS_IDP_CERT, pem_body
from wizard.tasks.sso import run_sso, run_sso_rollback

pytestmark = pytest.mark.timeout(120)
CTX = sso.CutoverContext.from_domain("login.example-app.com", "example")


# ----------------------------------------------------------------------------- certificates
def _der(pem: str) -> bytes:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)


@pytest.mark.parametrize("form", ["pem", "base64_of_pem", "der", "base64_der", "pingfederate_cert",
                                  "pem_with_crlf"])
def test_every_certificate_form_becomes_the_same_pem(form):
    value = {"pem": ACME_IDP_CERT, "base64_of_pem": base64.b64encode(ACME_IDP_CERT.encode()).decode(),
             "der": _der(ACME_IDP_CERT), "base64_der": base64.b64encode(_der(ACME_IDP_CERT)).decode(),
             "pingfederate_cert": pem_body(ACME_IDP_CERT),
             "pem_with_crlf": ACME_IDP_CERT.replace("\n", "\r\n")}[form]
    pems = sso.certificate_to_pem(value)
    assert len(pems) == 1
    assert pems[0].startswith("-----BEGIN CERTIFICATE-----\n")
    assert sso.certificate_fingerprint(pems[0]) == sso.certificate_fingerprint(ACME_IDP_CERT)


def test_two_pem_certificates_in_one_value_are_both_kept():
    pems = sso.certificate_to_pem(ACME_IDP_CERT + PARTNERS_IDP_CERT)
    assert [sso.certificate_fingerprint(p) for p in pems] == [sso.certificate_fingerprint(ACME_IDP_CERT),
                                                              sso.certificate_fingerprint(PARTNERS_IDP_CERT)]


@pytest.mark.parametrize("bad", ["not a certificate at all!", base64.b64encode(b"hello world").decode(),
                                 "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", ""])
def test_a_value_that_is_not_x509_is_refused(bad):
    with pytest.raises(sso.CertificateError):
        sso.certificate_to_pem(bad)


def _conn(strategy: str, options: dict, name: str = "c1", orgs_: list[str] | None = None):
    return sso.EnterpriseConnection(id="con_TEST000000000001", name=name, display_name=name.title(),
                                    strategy=strategy, options=options, auth0_orgs=orgs_ or [])


def test_an_unparsable_certificate_is_a_finding_and_a_handoff():
    plan = sso.plan_connection(_conn("samlp", {"signInEndpoint": "https://idp.x.example/sso",
                                               "signingCert": base64.b64encode(b"garbage bytes").decode()}),
                               mode=sso.KEEP_IDP, ctx=CTX, org_names={})
    assert plan.outcome == sso.HANDOFF and "signing certificate" in plan.reason
    assert [f.code for f in plan.findings] == ["certificate_not_x509"]
    assert plan.findings[0].field == "options.signingCert"


# ----------------------------------------------------------------------------- mapping
def test_keep_idp_saml_uses_auth0s_sp_entity_id_and_acs_url():
    plan = sso.plan_connection(_conn("samlp", {"signInEndpoint": "https://acme.okta.com/app/sso/saml",
                                               "signingCert": base64.b64encode(ACME_IDP_CERT.encode()).decode(),
                                               "fieldsMap": {"email": "mail", "user_id": "uid",
                                                             "groups": ["memberOf"], "dept": "department"}},
                                     name="acme-saml"),
                               mode=sso.KEEP_IDP, ctx=CTX, org_names={})
    body = plan.body("org_1", plan.placements[0])
    opts = body["saml_options"]
    assert body["connection_type"] == "OktaSAML"  # the IdP host says Okta
    assert opts["sp_entity_id"] == "urn:auth0:example:acme-saml"
    assert opts["acs_url"] == "https://login.example-app.com/login/callback?connection=acme-saml"
    assert opts["idp_sso_url"] == "https://acme.okta.com/app/sso/saml"
    assert opts["idp_signing_certs"][0].startswith("-----BEGIN CERTIFICATE-----")
    assert "idp_entity_id" not in opts and any("idp_entity_id" in u for u in plan.unknowns)
    assert body["attribute_maps"] == {"standard_attributes": {"email": "mail", "idp_id": "uid",
                                                              "groups": "memberOf"}}
    assert any("dept" in n for n in plan.notes), "custom attributes are named, not sent"


def test_entity_id_is_auth0s_sp_override_never_the_idp_issuer():
    plan = sso.plan_connection(_conn("samlp", {"signInEndpoint": "https://idp.x.example/sso", "cert": ACME_IDP_CERT,
                                               "entityId": "urn:custom:sp"}),
                               mode=sso.KEEP_IDP, ctx=CTX, org_names={})
    opts = plan.options
    assert opts["sp_entity_id"] == "urn:custom:sp" and "idp_entity_id" not in opts


def test_new_endpoints_sends_no_auth0_overrides():
    saml = sso.plan_connection(_conn("samlp", {"metadataUrl": "https://idp.x.example/metadata"}),
                               mode=sso.NEW_ENDPOINTS, ctx=CTX, org_names={})
    assert saml.options == {"idp_metadata_url": "https://idp.x.example/metadata"}
    oidc = sso.plan_connection(_conn("oidc", {"client_id": "cid", "client_secret": "s3cr3t-value",
                                              "issuer": "https://id.x.example/"}),
                               mode=sso.NEW_ENDPOINTS, ctx=CTX, org_names={})
    assert "redirect_uri" not in oidc.options
    assert oidc.options["discovery_endpoint"] == "https://id.x.example/.well-known/openid-configuration"


def test_metadata_xml_gives_the_idp_entity_id_sso_url_and_certificate():
    xml = f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
        xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="http://www.okta.com/exk123">
      <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
        <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{pem_body(ACME_IDP_CERT)}
        </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
        <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
            Location="https://acme.okta.com/app/exk123/sso/saml"/>
      </md:IDPSSODescriptor></md:EntityDescriptor>"""
    plan = sso.plan_connection(_conn("samlp", {"metadataXml": xml}), mode=sso.KEEP_IDP, ctx=CTX, org_names={})
    assert plan.outcome == sso.CREATE
    assert plan.options["idp_entity_id"] == "http://www.okta.com/exk123"
    assert plan.options["idp_sso_url"] == "https://acme.okta.com/app/exk123/sso/saml"
    assert len(plan.options["idp_signing_certs"]) == 1 and not plan.unknowns


@pytest.mark.parametrize(("strategy", "options", "ctype", "outcome"), [
    ("waad", {"client_id": "a", "client_secret": "b", "tenant_domain": "nw.example",
              "waad_protocol": "openid-connect"}, "EntraIdOIDC", sso.CREATE),
    ("waad", {"client_id": "a", "tenant_domain": "nw.example", "waad_protocol": "ws-federation"}, "AzureSAML",
     sso.HANDOFF),
    ("google-apps", {"client_id": "a", "client_secret": "b", "domain": "hooli.example"}, "GoogleOIDC", sso.CREATE),
    ("okta", {"client_id": "a", "client_secret": "b", "domain": "acme.okta.com"}, "OktaOIDC", sso.CREATE),
    ("adfs", {"adfs_server": "https://adfs.x.example"}, "ADFSSAML", sso.HANDOFF),
    ("pingfederate", {"pingFederateBaseUrl": "https://ping.x.example", "cert": pem_body(ACME_IDP_CERT)},
     "PingFederateSAML", sso.CREATE),
    ("oidc", {"client_id": "a", "issuer": "https://id.x.example", "type": "front_channel"}, "GenericOIDC",
     sso.HANDOFF),
    ("samlp", {"signInEndpoint": "https://idp.x.example/sso"}, "GenericSAML", sso.HANDOFF),
    ("ad", {"ips": ["10.0.0.1"]}, None, sso.HANDOFF),
])
def test_each_strategy_maps_to_its_workos_type_or_a_handoff(strategy, options, ctype, outcome):
    plan = sso.plan_connection(_conn(strategy, options), mode=sso.KEEP_IDP, ctx=CTX, org_names={})
    assert (plan.connection_type, plan.outcome) == (ctype, outcome), plan.reason
    if outcome == sso.HANDOFF:
        assert plan.reason and plan.action


def test_entra_discovery_and_redirect_uri_for_keep_idp():
    plan = sso.plan_connection(_conn("waad", {"client_id": "a", "client_secret": "b", "tenant_domain": "nw.example",
                                              "waad_protocol": "openid-connect"}),
                               mode=sso.KEEP_IDP, ctx=CTX, org_names={})
    assert plan.options["discovery_endpoint"] == \
        "https://login.microsoftonline.com/nw.example/v2.0/.well-known/openid-configuration"
    assert plan.options["redirect_uri"] == "https://login.example-app.com/login/callback"


def test_secret_sources_in_order_auth0_then_typed_then_environment():
    conn = _conn("oidc", {"client_id": "a", "issuer": "https://id.x.example"}, name="fab-oidc")
    env = {"AUTH0_SSO_SECRET_FAB_OIDC": "from-env"}
    assert sso.secret_env_name("fab-oidc") == "AUTH0_SSO_SECRET_FAB_OIDC"
    assert sso.resolve_secret(conn, {}, env) == ("from-env", "the environment variable AUTH0_SSO_SECRET_FAB_OIDC")
    assert sso.resolve_secret(conn, {"fab-oidc": "typed"}, env)[0] == "typed"
    conn.options["client_secret"] = "from-auth0"
    assert sso.resolve_secret(conn, {"fab-oidc": "typed"}, env)[0] == "from-auth0"
    plan = sso.plan_connection(conn, mode=sso.KEEP_IDP, ctx=CTX, org_names={})
    shown = plan.body("org_1", plan.placements[0])
    assert shown["oidc_options"]["client_secret"].startswith("<redacted")
    assert plan.body("org_1", plan.placements[0], redact=False)["oidc_options"]["client_secret"] == "from-auth0"


def test_placements_one_per_enabling_org_own_org_or_consolidated():
    names = {"org_a": "Alpha", "org_b": "Beta"}
    two = _conn("samlp", {}, orgs_=["org_b", "org_a"])
    per_org = sso.placements(two, names, consolidate=False)
    assert [(p.key, p.external_id) for p in per_org] == [("org_a", f"{two.id}:org_a"), ("org_b", f"{two.id}:org_b")]
    assert [(p.key, p.external_id) for p in sso.placements(two, names, consolidate=True)] == [("", two.id)]
    one = _conn("samlp", {}, orgs_=["org_a"])
    assert [(p.key, p.external_id) for p in sso.placements(one, names, consolidate=False)] == [("org_a", one.id)]
    alone = _conn("samlp", {})
    assert [(p.key, p.org_name) for p in sso.placements(alone, names, consolidate=False)] == [("", "C1")]


# ----------------------------------------------------------------------------- Auth0 side
def _auth0(sandbox_settings, **kw) -> Auth0Client:
    return Auth0Client.from_settings(sandbox_settings, **kw)


def test_enterprise_connections_are_listed_with_options_across_pages(sandbox_settings, demo_tenant):
    with _auth0(sandbox_settings, page_size=2) as client:
        items = client.list_enterprise_connections()
    names = {c["name"] for c in items}
    assert names == {c["name"] for c in demo_tenant.connections if c["strategy"] not in
                     ("auth0", "google-oauth2", "github", "windowslive")}
    assert all("options" in c for c in items)
    contoso = next(c for c in items if c["name"] == "contoso-oidc")
    assert contoso["options"]["client_secret"].startswith("demo-oidc-secret-")


@pytest.mark.parametrize("refusal", ["omit", "403"])
def test_a_missing_options_scope_is_named(sandbox_settings, auth0_emu, refusal):
    auth0_emu.emulator.scopes = auth0_emu.emulator.scopes.replace(" read:connections_options", "")
    auth0_emu.emulator.options_scope_refusal = refusal
    with _auth0(sandbox_settings) as client, pytest.raises(ApiError) as info:
        client.list_enterprise_connections()
    assert info.value.kind is ErrorKind.AUTH and info.value.code == "missing_connections_options_scope"
    assert "read:connections_options" in info.value.message


# ----------------------------------------------------------------------------- the whole step
@pytest.fixture
def world(tmp_path, sandbox_settings, demo_exports):
    journal = _world(tmp_path, sandbox_settings, demo_exports)
    yield journal
    journal.close()


def _posts(emu, path="/connections"):
    return emu.request_count("POST", path)


def test_dry_run_writes_nothing_then_the_run_creates_and_a_rerun_creates_nothing(world, sandbox_settings,
                                                                                  workos_emu, demo_tenant):
    emu = workos_emu.emulator
    orgs_before = len(emu.organizations)
    writes_before = len(world.writes())
    org_posts = emu.request_count("POST", "/organizations")
    dry = run_sso(world, sandbox_settings, dry_run=True)
    assert dry.run["connections"] == {"would_create": 7, "handoff": 3}
    assert not emu.sso.connections and len(emu.organizations) == orgs_before
    assert _posts(emu) == 0 and emu.request_count("POST", "/organizations") == org_posts
    assert len(world.writes()) == writes_before, "a dry run journals no write"

    real = run_sso(world, sandbox_settings, write=True)
    assert real.ok and real.run["connections"] == {"created": 7, "handoff": 3}
    assert len(emu.sso.connections) == 7
    # the connection two organizations enable: one WorkOS connection in each, same IdP settings
    partners = next(c for c in demo_tenant.connections if c["name"] == "partners-saml")
    by_ext = {emu.sso.external_id_of(cid): c for cid, c in emu.sso.connections.items()}
    placed = [c for ext, c in by_ext.items() if ext.startswith(partners["id"] + ":")]
    assert len(placed) == 2 and len({c["organization_id"] for c in placed}) == 2
    # the complete SAML one: keep-idp overrides, PEM certificate, in the Acme organization
    acme = next(c for c in demo_tenant.connections if c["name"] == "acme-saml")
    acme_conn = by_ext[acme["id"]]
    stored = emu.sso.options_of(acme_conn["id"])
    assert stored["acs_url"] == f"https://{sandbox_settings.auth0_domain}/login/callback?connection=acme-saml"
    assert stored["sp_entity_id"] == "urn:auth0:sandbox:acme-saml"
    assert sso.certificate_fingerprint(stored["idp_signing_certs"][0]) == sso.certificate_fingerprint(ACME_IDP_CERT)
    acme_org = next(o for o in world.orgs() if o["name"] == "acme")
    assert acme_conn["organization_id"] == acme_org["workos_org_id"]
    # the OIDC one with a returned secret was sent with it
    contoso = next(c for c in demo_tenant.connections if c["name"] == "contoso-oidc")
    assert emu.sso.options_of(by_ext[contoso["id"]]["id"])["client_secret"] == contoso["options"]["client_secret"]
    # an unattached connection got an organization of its own with its domain aliases
    own = emu.organizations[by_ext[contoso["id"]]["organization_id"]]
    assert own["external_id"] == contoso["id"] and [d["domain"] for d in own["domains"]] == ["contoso.example"]

    posts = (_posts(emu), emu.request_count("POST", "/organizations"))
    again = run_sso(world, sandbox_settings, write=True)
    assert again.run["connections"] == {"already_done": 7, "handoff": 3}
    assert (_posts(emu), emu.request_count("POST", "/organizations")) == posts, "a second run creates nothing"
    assert steps.check_step(steps.step_by_id("sso"), world, sandbox_settings).passed


def test_sso_writes_draw_on_the_runs_one_write_window_and_it_is_kept(world, sandbox_settings, workos_emu):
    """Connections and their organizations share the users' budget: each write is counted in the
    run's pacer (an hour-long window here, so nothing leaves it mid-test), and the window is kept."""
    emu = workos_emu.emulator
    pacer = shared_pacer(sandbox_settings.workos_base_url, world, write=Budget(10_000, 3600.0))

    def writes():
        return sum(1 for r in emu.requests if r[0] in ("POST", "PUT", "PATCH", "DELETE"))

    counted, sent = pacer.writes.count(pacer._clock()), writes()
    assert run_sso(world, sandbox_settings, write=True).ok
    made = writes() - sent
    assert made >= 7
    assert pacer.writes.count(pacer._clock()) - counted == made
    assert len(documents.PACER_WINDOW.read(world)["writes"]) == pacer.writes.count(pacer._clock())
    run_sso_rollback(world, sandbox_settings)
    assert pacer.writes.count(pacer._clock()) - counted == writes() - sent


def test_handoff_files_list_every_connection_with_its_outcome(world, sandbox_settings):
    result = run_sso(world, sandbox_settings, write=True)
    rows = {r["name"]: r for r in csv.DictReader(result.connections_csv.open())}
    assert set(rows) == {"acme-saml", "globex-saml", "partners-saml", "contoso-oidc", "fabrikam-oidc",
                         "northwind-azure", "hooli-google", "globex-adfs", "umbrella-ping"}
    assert rows["acme-saml"]["outcome"] == "created" and rows["acme-saml"]["users"] == "6"
    assert rows["globex-saml"]["outcome"] == "handed off" and "incomplete" in rows["globex-saml"]["reason"]
    assert rows["fabrikam-oidc"]["outcome"] == "handed off"
    assert "AUTH0_SSO_SECRET_FABRIKAM_OIDC" in rows["fabrikam-oidc"]["what_to_do"]
    assert "WS-Federation" in rows["globex-adfs"]["reason"]
    assert "--portal-link globex-adfs" in rows["globex-adfs"]["admin_portal"]
    assert rows["partners-saml"]["auth0_organizations"].count(";") == 1
    md = result.handoff_md.read_text()
    assert "## Globex legacy ADFS" in md and "expires 5 minutes" in md
    assert "setup.workos.local" not in md, "portal links are never written"
    assert (result.handoff_md.stat().st_mode & 0o777) == 0o600


def test_new_endpoints_mode_writes_the_customer_message(world, sandbox_settings, workos_emu):
    result = run_sso(world, sandbox_settings, write=True, modes={"acme-saml": sso.NEW_ENDPOINTS})
    acme = next(r for r in result.rows if r["name"] == "acme-saml")
    assert acme["mode"] == sso.NEW_ENDPOINTS and acme["outcome"] == "created"
    cid = next(c for c in workos_emu.emulator.sso.connections)
    md = result.handoff_md.read_text()
    assert "> To the IT admin of Acme Corp:" in md and "ACS (reply) URL and the SP entity ID" in md
    acme_conn = [c for c in workos_emu.emulator.sso.connections.values() if c["name"] == "Acme Okta"][0]
    assert "acs_url" not in workos_emu.emulator.sso.options_of(acme_conn["id"]), cid
    # the portal link is generated on demand and expires: printed, not stored
    from wizard.tasks.sso import run_portal_links

    links = run_portal_links(world, sandbox_settings, "acme-saml")
    assert [org for org, _ in links] == ["Acme Corp"]
    assert workos_emu.emulator.sso.portal_links[-1]["intent"] == "sso"


def test_consolidation_is_one_connection_in_an_organization_of_its_own(world, sandbox_settings, workos_emu,
                                                                       demo_tenant):
    run_sso(world, sandbox_settings, write=True, consolidate=True)
    partners = next(c for c in demo_tenant.connections if c["name"] == "partners-saml")
    mine = [c for cid, c in workos_emu.emulator.sso.connections.items()
            if (workos_emu.emulator.sso.external_id_of(cid) or "").startswith(partners["id"])]
    assert len(mine) == 1
    assert workos_emu.emulator.organizations[mine[0]["organization_id"]]["external_id"] == partners["id"]


def test_a_typed_secret_creates_the_connection_auth0_kept_secret(world, sandbox_settings, workos_emu):
    result = run_sso(world, sandbox_settings, write=True, typed_secrets={"fabrikam-oidc": "typed-secret-123456"})
    assert next(r for r in result.rows if r["name"] == "fabrikam-oidc")["outcome"] == "created"
    stored = [workos_emu.emulator.sso.options_of(c) for c in workos_emu.emulator.sso.connections]
    assert any(o.get("client_secret") == "typed-secret-123456" for o in stored)


def test_missing_organization_waits_for_the_organizations_step(tmp_path, sandbox_settings, demo_exports,
                                                               workos_emu):
    journal = Journal.open(tmp_path / "run")
    result = planning.build_plan(demo_exports.users_path, demo_exports.passwords_path)
    planning.save_plan(journal, result, demo_exports.users_path, demo_exports.passwords_path)
    with Auth0Client.from_settings(sandbox_settings) as a0:
        orgs.export_organizations(a0, journal)  # exported, never created in WorkOS
    out = run_sso(journal, sandbox_settings, write=True)
    assert not out.ok and out.run["connections"]["org_missing"] == 3  # acme-saml, partners-saml x2
    assert "run the Organizations step" in out.run["problems"][0]["message"]
    assert not out.gate.passed
    journal.close()


def test_resume_after_a_lost_answer_creates_no_duplicate(world, sandbox_settings, workos_emu, demo_tenant):
    """The create landed but the process died before recording it (target left in_flight): the
    re-POST with the same external id returns that connection, which counts as this run's."""
    run_sso(world, sandbox_settings, dry_run=True)
    acme = next(c for c in demo_tenant.connections if c["name"] == "acme-saml")
    org_id = next(o["workos_org_id"] for o in world.orgs() if o["name"] == "acme")
    wc = WorkOSClient(api_key=workos_emu.api_key, client_id=workos_emu.client_id, base_url=workos_emu.base_url)
    landed = wc.sso.create_connection(organization_id=org_id, external_id=acme["id"],
                                      protocol_options=CreateProtocolOptionsSAML(
                                          saml_options=CreateConnectionSAMLOptions(
                                              idp_sso_url="https://idp.acme.example/sso/saml",
                                              idp_signing_certs=[ACME_IDP_CERT])))
    world.set_sso_target(acme["id"], org_id and next(t["placement"] for t in world.sso_targets(acme["id"])),
                         "in_flight", workos_org_id=org_id)
    run_sso(world, sandbox_settings, write=True)
    target = world.sso_targets(acme["id"])[0]
    assert target["status"] == "created" and target["workos_connection_id"] == landed.id
    assert sum(1 for c in workos_emu.emulator.sso.connections.values() if c["organization_id"] == org_id) == 1
    assert landed.id in {w["target_id"] for w in world.writes(sso.WRITE_CONNECTION)}


def test_rollback_removes_exactly_what_the_step_created(world, sandbox_settings, workos_emu, demo_tenant):
    emu = workos_emu.emulator
    acme = next(c for c in demo_tenant.connections if c["name"] == "acme-saml")
    org_id = next(o["workos_org_id"] for o in world.orgs() if o["name"] == "acme")
    wc = WorkOSClient(api_key=workos_emu.api_key, client_id=workos_emu.client_id, base_url=workos_emu.base_url)
    # someone created acme's connection before this run (an older certificate): it is not ours
    before = wc.sso.create_connection(organization_id=org_id, external_id=acme["id"],
                                      protocol_options=CreateProtocolOptionsSAML(
                                          saml_options=CreateConnectionSAMLOptions(
                                              idp_sso_url="https://idp.acme.example/sso/saml",
                                              idp_signing_certs=[PARTNERS_IDP_CERT])))
    # and one acme SSO user is not a member yet: the step adds them
    acme_user = next(u for u in demo_tenant.users if u["user_id"].startswith("samlp|acme-saml|"))
    workos_user = world.workos_user_id(acme_user["user_id"])
    mid = next(m["id"] for m in emu.memberships.values() if m["user_id"] == workos_user)
    wc.organization_membership.delete_organization_membership(mid)
    orgs_before = set(emu.organizations)

    result = run_sso(world, sandbox_settings, write=True)
    assert result.run["connections"]["existing"] == 1 and result.run["connections"]["created"] == 6
    assert result.run["members"]["created"] == 1 and result.run["certificates_added"] == 1
    certs = wc.sso.list_connection_saml_idp_signing_certs(before.id).data
    assert len(certs) == 2, "Auth0's certificate added next to the existing one"
    own_orgs = set(emu.organizations) - orgs_before
    assert len(own_orgs) == 6

    rb = run_sso_rollback(world, sandbox_settings)
    assert rb.ok and rb.deleted == {"connection": 6, "org": 6, "membership": 1, "idp_cert": 1}
    assert set(emu.sso.connections) == {before.id}, "the pre-existing connection stays"
    assert len(wc.sso.list_connection_saml_idp_signing_certs(before.id).data) == 1
    assert set(emu.organizations) == orgs_before
    assert all(t["status"] != "created" for t in world.sso_targets())
    assert sso.rollback_targets(world) == {k: [] for k in sso.DELETE_KINDS}
    # and the step can be run again from there
    again = run_sso(world, sandbox_settings, write=True)
    assert again.ok and again.run["connections"]["created"] == 6


def test_verification_names_a_connection_deleted_in_workos(world, sandbox_settings, workos_emu):
    run_sso(world, sandbox_settings, write=True)
    with make_sync_client(sandbox_settings) as client:
        assert sso.check_connections(world, client).ok
        gone = next(iter(workos_emu.emulator.sso.connections))
        client.sso.delete_connection(gone)
        check = sso.check_connections(world, client)
    assert not check.ok and gone in check.evidence and "auth0-workos sso" in check.fix_hint


def test_not_applicable_only_when_the_inventory_found_no_enterprise_connection(world, sandbox_settings,
                                                                              demo_tenant):
    with pytest.raises(ValueError, match="Run the Enterprise SSO inventory first"):
        steps.mark_not_applicable(world, "sso", "we have no enterprise customers")
    run_sso(world, sandbox_settings, dry_run=True)
    with pytest.raises(ValueError, match="found 9 enterprise connection"):
        steps.mark_not_applicable(world, "sso", "we have no enterprise customers")
    # a recorded decision does not stand while the inventory disagrees
    world.set_step("sso", "not_applicable", "recorded by hand")
    assert steps.evaluate(steps.step_by_id("sso"), world, sandbox_settings).status.value == "failed"
    demo_tenant.connections[:] = [c for c in demo_tenant.connections if c["strategy"] in
                                  ("auth0", "google-oauth2", "github", "windowslive")]
    result = run_sso(world, sandbox_settings, dry_run=True)
    assert result.connections == 0
    steps.mark_not_applicable(world, "sso", "we have no enterprise customers")
    assert steps.evaluate(steps.step_by_id("sso"), world, sandbox_settings).status.value == "not_applicable"


# ----------------------------------------------------------------------------- headless
@pytest.fixture
def cli_env(sandbox_settings, monkeypatch, tmp_path):
    for key, value in (("WORKOS_API_KEY", sandbox_settings.workos_api_key),
                       ("WORKOS_CLIENT_ID", sandbox_settings.workos_client_id),
                       ("WORKOS_BASE_URL", sandbox_settings.workos_base_url),
                       ("AUTH0_DOMAIN", sandbox_settings.auth0_domain),
                       ("AUTH0_CLIENT_ID", sandbox_settings.auth0_client_id),
                       ("AUTH0_CLIENT_SECRET", sandbox_settings.auth0_client_secret),
                       ("AUTH0_BASE_URL", sandbox_settings.auth0_base_url)):
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    return sandbox_settings


def test_cli_dry_run_then_yes_then_rerun_and_exit_codes(world, cli_env, workos_emu, capsys, monkeypatch):
    run_dir = str(world.run_dir)
    assert main(["sso", "--run-dir", run_dir, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Dry run, nothing written. 9 enterprise connection(s)" in out and not workos_emu.emulator.sso.connections
    assert "AUTH0_SSO_SECRET_FABRIKAM_OIDC" in out
    assert main(["sso", "--run-dir", run_dir]) == 2, "no terminal and no --yes: nothing written"
    assert not workos_emu.emulator.sso.connections
    monkeypatch.setenv("AUTH0_SSO_SECRET_FABRIKAM_OIDC", "env-secret-abcdef")
    assert main(["sso", "--run-dir", run_dir, "--yes", "--mode", "new-endpoints"]) == 0
    out = capsys.readouterr().out
    assert "fabrikam-oidc (oidc, new-endpoints): created" in out
    assert len(workos_emu.emulator.sso.connections) == 8
    posts = workos_emu.emulator.request_count("POST", "/connections")
    assert main(["sso", "--run-dir", run_dir, "--yes"]) == 0
    assert workos_emu.emulator.request_count("POST", "/connections") == posts
    assert main(["sso", "--run-dir", run_dir, "--portal-link", "globex-adfs"]) == 0
    out = capsys.readouterr().out
    assert "valid for 5 minutes" in out and "setup.workos.local" in out
    assert main(["sso", "--run-dir", run_dir, "--portal-link", "nope"]) == 2
    assert main(["sso", "--run-dir", run_dir, "--mode-for", "acme-saml=sideways"]) == 2
    assert "env-secret-abcdef" not in out


def test_cli_without_auth0_credentials_is_a_usage_error(cli_env, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("AUTH0_CLIENT_SECRET")
    assert main(["sso", "--run-dir", str(tmp_path / "r"), "--dry-run"]) == 2
    assert "read:connections_options" in capsys.readouterr().err


def test_cli_missing_options_scope_fails_naming_it(cli_env, auth0_emu, tmp_path, capsys):
    auth0_emu.emulator.scopes = auth0_emu.emulator.scopes.replace(" read:connections_options", "")
    assert main(["sso", "--run-dir", str(tmp_path / "r"), "--dry-run"]) == 1
    assert "read:connections_options" in capsys.readouterr().err


def test_rollback_command_removes_the_sso_connections(world, cli_env, workos_emu, capsys):
    run_sso(world, cli_env, write=True)
    assert workos_emu.emulator.sso.connections
    assert main(["rollback", "--run-dir", str(world.run_dir), "--yes"]) == 0
    assert "Enterprise SSO: deleted" in capsys.readouterr().out
    assert not workos_emu.emulator.sso.connections


# ----------------------------------------------------------------------------- privacy
def test_no_oidc_secret_reaches_the_run_folder_or_the_output(world, cli_env, demo_tenant, workos_emu, capsys,
                                                            monkeypatch):
    typed = "typed-oidc-secret-zq81"
    monkeypatch.setenv("AUTH0_SSO_SECRET_FABRIKAM_OIDC", typed)
    returned = [c["options"]["client_secret"] for c in demo_tenant.connections
                if (c.get("options") or {}).get("client_secret")]
    assert len(returned) == 3
    assert main(["sso", "--run-dir", str(world.run_dir), "--yes"]) == 0
    from wizard.core.report import write_report

    write_report(world)
    out = capsys.readouterr()
    sent = [workos_emu.emulator.sso.options_of(c).get("client_secret") for c in workos_emu.emulator.sso.connections]
    assert set(returned) | {typed} <= set(sent), "the secrets were used"
    world.close()  # flush the WAL into the file
    blobs = [p.read_bytes() for p in world.run_dir.rglob("*") if p.is_file()]
    for secret in [*returned, typed]:
        assert not any(secret.encode() in b for b in blobs), f"{secret[:6]}… in the run folder"
        assert secret not in out.out and secret not in out.err
